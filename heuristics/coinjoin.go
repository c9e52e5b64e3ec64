package heuristics

import (
	"sort"
)

// CoinJoin detection (DESIGN.md, "Heuristics"). A CoinJoin is a boundary:
// common-input ownership is false across it, its "change" may be anyone's,
// and the tracer stops or switches to labelled inference there. Each
// detector reads only the transaction itself.

// Kinds of CoinJoin, as IsCoinJoin names them; the heuristic's name is
// "coinjoin_" + kind.
const (
	CoinJoinWhirlpool  = "whirlpool"
	CoinJoinWasabi1    = "wasabi1"
	CoinJoinWasabi2    = "wasabi2"
	CoinJoinJoinMarket = "joinmarket"
)

// BTC is 10^8 satoshi.
const BTC = 100_000_000

// Whirlpool (Samourai): MinInputs to MaxInputs inputs, as many outputs, every
// output exactly one pool's denomination.
type Whirlpool struct {
	Enabled   bool    `mapstructure:"enabled"`
	MinInputs int     `mapstructure:"min-inputs"`
	MaxInputs int     `mapstructure:"max-inputs"`
	Pools     []int64 `mapstructure:"pools"` // satoshi
}

// DefaultWhirlpool has the four pools Whirlpool ran: 0.001, 0.01, 0.05 and
// 0.5 BTC, and mixes of 5 to 10 inputs.
func DefaultWhirlpool() Whirlpool {
	return Whirlpool{Enabled: true, MinInputs: 5, MaxInputs: 10,
		Pools: []int64{BTC / 1000, BTC / 100, BTC / 20, BTC / 2}}
}

func (w Whirlpool) Info() Info {
	return Info{Name: "coinjoin_" + CoinJoinWhirlpool, Version: "1", Params: map[string]any{
		"min_inputs": w.MinInputs, "max_inputs": w.MaxInputs, "pools_sat": amounts(w.Pools),
	}}
}

func (w Whirlpool) match(tx *Tx) *CoinJoinMatch {
	n := len(tx.Inputs)
	if tx.Coinbase || n < w.MinInputs || n > w.MaxInputs || len(tx.Outputs) != n {
		return nil
	}
	v := tx.Outputs[0].Value
	if !contains64(w.Pools, v) {
		return nil
	}
	for _, o := range tx.Outputs {
		if o.Value != v {
			return nil
		}
	}
	return &CoinJoinMatch{Kind: CoinJoinWhirlpool, Denomination: v, Mixed: indices(tx, v), Confidence: 95}
}

// Wasabi1 (Wasabi Wallet 1.x, ZeroLink): at least MinEqualOutputs outputs of
// one value within Tolerance of Denomination (about 0.1 BTC; the round's
// denomination moved with fees and the coordinator's settings), and at least
// as many inputs as equal outputs (every participant brings an input).
type Wasabi1 struct {
	Enabled         bool  `mapstructure:"enabled"`
	MinEqualOutputs int   `mapstructure:"min-equal-outputs"`
	Denomination    int64 `mapstructure:"denomination"` // satoshi
	Tolerance       int64 `mapstructure:"tolerance"`    // satoshi either side
}

// DefaultWasabi1 looks for 10 or more equal outputs within 0.01 BTC of 0.1 BTC.
func DefaultWasabi1() Wasabi1 {
	return Wasabi1{Enabled: true, MinEqualOutputs: 10, Denomination: BTC / 10, Tolerance: BTC / 100}
}

func (w Wasabi1) Info() Info {
	return Info{Name: "coinjoin_" + CoinJoinWasabi1, Version: "1", Params: map[string]any{
		"min_equal_outputs": w.MinEqualOutputs, "denomination_sat": w.Denomination, "tolerance_sat": w.Tolerance,
	}}
}

func (w Wasabi1) match(tx *Tx) *CoinJoinMatch {
	if tx.Coinbase || len(tx.Outputs) < w.MinEqualOutputs {
		return nil
	}
	counts := valueCounts(tx)
	best, bestN := int64(0), 0
	for v, n := range counts {
		d := v - w.Denomination
		if d < 0 {
			d = -d
		}
		if d <= w.Tolerance && (n > bestN || n == bestN && v > best) {
			best, bestN = v, n
		}
	}
	if bestN < w.MinEqualOutputs || len(tx.Inputs) < bestN {
		return nil
	}
	return &CoinJoinMatch{Kind: CoinJoinWasabi1, Denomination: best, Mixed: indices(tx, best), Confidence: 90}
}

// Wasabi2 (Wasabi Wallet 2.x, WabiSabi): at least MinInputs inputs and more
// than MinStandardPercent percent of the outputs at standard denominations,
// with at least one denomination paid twice (no anonymity set, no mix).
//
// The standard denominations are WabiSabi's: every value 2^i, 3^i, 2*3^i,
// 10^i, 2*10^i and 5*10^i satoshi from MinDenomination (5,000 sat, the
// smallest output a round allows) up to 21e14 sat (StandardDenominations).
type Wasabi2 struct {
	Enabled            bool  `mapstructure:"enabled"`
	MinInputs          int   `mapstructure:"min-inputs"`
	MinStandardPercent int   `mapstructure:"min-standard-percent"` // more than this share of outputs
	MinDenomination    int64 `mapstructure:"min-denomination"`     // satoshi
}

// DefaultWasabi2 is DESIGN.md's rule: 15 or more inputs, over 80% of outputs
// at standard denominations of 5,000 sat and up.
func DefaultWasabi2() Wasabi2 {
	return Wasabi2{Enabled: true, MinInputs: 15, MinStandardPercent: 80, MinDenomination: 5000}
}

func (w Wasabi2) Info() Info {
	return Info{Name: "coinjoin_" + CoinJoinWasabi2, Version: "1", Params: map[string]any{
		"min_inputs": w.MinInputs, "min_standard_percent": w.MinStandardPercent, "min_denomination_sat": w.MinDenomination,
	}}
}

// maxSatoshi bounds the denominations: no output holds more than exists.
const maxSatoshi = 21_000_000 * BTC

// StandardDenominations lists WabiSabi's standard output values from min
// satoshi up, in increasing order.
func StandardDenominations(min int64) []int64 {
	set := map[int64]bool{}
	add := func(base, factor int64) {
		for v := factor; v <= maxSatoshi; v *= base {
			if v >= min {
				set[v] = true
			}
			if v > maxSatoshi/base {
				break
			}
		}
	}
	add(2, 1)
	add(3, 1)
	add(3, 2)
	add(10, 1)
	add(10, 2)
	add(10, 5)
	out := make([]int64, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// IsStandardDenomination reports whether v is one of
// StandardDenominations(min), without listing them.
func IsStandardDenomination(v, min int64) bool {
	if v < min || v < 1 || v > maxSatoshi {
		return false
	}
	powerOf := func(x, base int64) bool {
		for x%base == 0 {
			x /= base
		}
		return x == 1
	}
	return powerOf(v, 2) || powerOf(v, 3) || v%2 == 0 && powerOf(v/2, 3) ||
		powerOf(v, 10) || v%2 == 0 && powerOf(v/2, 10) || v%5 == 0 && powerOf(v/5, 10)
}

func (w Wasabi2) match(tx *Tx) *CoinJoinMatch {
	if tx.Coinbase || len(tx.Inputs) < w.MinInputs || len(tx.Outputs) == 0 {
		return nil
	}
	var mixed []uint32
	counts := map[int64]int{}
	for _, o := range tx.Outputs {
		if IsStandardDenomination(o.Value, w.MinDenomination) {
			mixed = append(mixed, o.Index)
			counts[o.Value]++
		}
	}
	if len(mixed)*100 <= w.MinStandardPercent*len(tx.Outputs) {
		return nil
	}
	best, bestN := int64(0), 0
	for v, n := range counts {
		if n > bestN || n == bestN && v > best {
			best, bestN = v, n
		}
	}
	if bestN < 2 {
		return nil
	}
	return &CoinJoinMatch{Kind: CoinJoinWasabi2, Denomination: best, Mixed: mixed, Confidence: 85}
}

// JoinMarket: n outputs of one value (the mixed amount, paid to the taker
// and each maker) and n or n-1 other outputs (the makers' change and, if it
// has any, the taker's), from at least n inputs at n or more addresses.
// It is the structure of any equal-output CoinJoin with change, and the
// same rule as BlockSci's is_coinjoin: the most frequent output value
// occurs (outputs+1)/2 times, from at least that many inputs and input
// addresses. The mixed value must be above DustLimit (BlockSci excludes
// exactly 546 and 2,730 sat, two historical dust values).
type JoinMarket struct {
	Enabled         bool  `mapstructure:"enabled"`
	MinParticipants int   `mapstructure:"min-participants"`
	DustLimit       int64 `mapstructure:"dust-limit"` // satoshi
}

// DefaultJoinMarket accepts two or more participants, as BlockSci does:
// missing a small CoinJoin would merge its participants into one cluster,
// which is the worse mistake.
func DefaultJoinMarket() JoinMarket {
	return JoinMarket{Enabled: true, MinParticipants: 2, DustLimit: 2730}
}

func (j JoinMarket) Info() Info {
	return Info{Name: "coinjoin_" + CoinJoinJoinMarket, Version: "1", Params: map[string]any{
		"min_participants": j.MinParticipants, "dust_limit_sat": j.DustLimit,
	}}
}

func (j JoinMarket) match(tx *Tx) *CoinJoinMatch {
	if tx.Coinbase || len(tx.Inputs) < 2 || len(tx.Outputs) < 3 {
		return nil
	}
	n := (len(tx.Outputs) + 1) / 2
	if n < j.MinParticipants || len(tx.Inputs) < n {
		return nil
	}
	addrs := map[string]bool{}
	for _, in := range tx.Inputs {
		addrs[in.Address] = true
	}
	if len(addrs) < n {
		return nil
	}
	best, bestN := int64(0), 0
	for v, c := range valueCounts(tx) {
		if c > bestN || c == bestN && v > best {
			best, bestN = v, c
		}
	}
	if bestN != n || best <= j.DustLimit {
		return nil
	}
	conf := min(50+10*(n-2), 85)
	return &CoinJoinMatch{Kind: CoinJoinJoinMarket, Denomination: best, Mixed: indices(tx, best), Confidence: conf}
}

// CoinJoinMatch is a detected CoinJoin: its kind, the mixed value, the
// outputs paying it (Mixed) and the rest (Other: change, coordinator fees).
type CoinJoinMatch struct {
	Kind         string
	Denomination int64 // the most frequent mixed value, satoshi
	Mixed        []uint32
	Other        []uint32
	Confidence   int
}

// CoinJoinDetector runs the enabled CoinJoin detectors, the most specific
// first (Whirlpool, Wasabi 2, Wasabi 1, JoinMarket); the first match names
// the kind.
type CoinJoinDetector struct {
	Whirlpool  Whirlpool  `mapstructure:"whirlpool"`
	Wasabi2    Wasabi2    `mapstructure:"wasabi2"`
	Wasabi1    Wasabi1    `mapstructure:"wasabi1"`
	JoinMarket JoinMarket `mapstructure:"joinmarket"`
}

// DefaultCoinJoinDetector has every detector on with DESIGN.md's parameters.
func DefaultCoinJoinDetector() *CoinJoinDetector {
	return &CoinJoinDetector{Whirlpool: DefaultWhirlpool(), Wasabi2: DefaultWasabi2(),
		Wasabi1: DefaultWasabi1(), JoinMarket: DefaultJoinMarket()}
}

// coinJoinRule is one detector.
type coinJoinRule interface {
	Heuristic
	match(tx *Tx) *CoinJoinMatch
}

// rules are the enabled detectors, most specific first.
func (d *CoinJoinDetector) rules() []coinJoinRule {
	var rs []coinJoinRule
	if d.Whirlpool.Enabled {
		rs = append(rs, d.Whirlpool)
	}
	if d.Wasabi2.Enabled {
		rs = append(rs, d.Wasabi2)
	}
	if d.Wasabi1.Enabled {
		rs = append(rs, d.Wasabi1)
	}
	if d.JoinMarket.Enabled {
		rs = append(rs, d.JoinMarket)
	}
	return rs
}

// Match returns the CoinJoin tx is, or nil.
func (d *CoinJoinDetector) Match(tx *Tx) *CoinJoinMatch {
	for _, r := range d.rules() {
		m := r.match(tx)
		if m == nil {
			continue
		}
		mixed := map[uint32]bool{}
		for _, i := range m.Mixed {
			mixed[i] = true
		}
		for _, o := range tx.Outputs {
			if !mixed[o.Index] {
				m.Other = append(m.Other, o.Index)
			}
		}
		return m
	}
	return nil
}

// IsCoinJoin reports whether tx is a CoinJoin, and which kind. It fits the
// clustering engine's skip rule: never merge the inputs of a CoinJoin.
func (d *CoinJoinDetector) IsCoinJoin(tx *Tx) (bool, string) {
	if m := d.Match(tx); m != nil {
		return true, m.Kind
	}
	return false, ""
}

// Detect returns the coinjoin finding for tx, or nil. The subject is the
// transaction; Heuristic is the detector's name.
func (d *CoinJoinDetector) Detect(tx *Tx) *Finding {
	m := d.Match(tx)
	if m == nil {
		return nil
	}
	return &Finding{Kind: KindCoinJoin, Subject: tx.TxID, Evidence: []string{tx.TxID},
		Confidence: m.Confidence, Heuristic: "coinjoin_" + m.Kind, Version: "1"}
}

// Infos names the enabled detectors for method.heuristics.
func (d *CoinJoinDetector) Infos() []Info {
	var out []Info
	for _, r := range d.rules() {
		out = append(out, r.Info())
	}
	return out
}

var defaultCoinJoin = DefaultCoinJoinDetector()

// IsCoinJoin applies the default detectors (DefaultCoinJoinDetector).
func IsCoinJoin(tx *Tx) (bool, string) { return defaultCoinJoin.IsCoinJoin(tx) }

func valueCounts(tx *Tx) map[int64]int {
	c := map[int64]int{}
	for _, o := range tx.Outputs {
		c[o.Value]++
	}
	return c
}

func indices(tx *Tx, v int64) []uint32 {
	var out []uint32
	for _, o := range tx.Outputs {
		if o.Value == v {
			out = append(out, o.Index)
		}
	}
	return out
}

func contains64(xs []int64, v int64) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// amounts renders satoshi values for params (integers are fine there; a
// list keeps its order).
func amounts(xs []int64) []int64 { return append([]int64{}, xs...) }

// SkipTx has the shape of a clustering skip rule: skip a CoinJoin, with
// "coinjoin_" + its kind as the reason.
func (d *CoinJoinDetector) SkipTx(tx *Tx) (skip bool, reason string) {
	if ok, kind := d.IsCoinJoin(tx); ok {
		return true, "coinjoin_" + kind
	}
	return false, ""
}
