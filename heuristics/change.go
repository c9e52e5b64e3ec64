package heuristics

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Change-output heuristics (DESIGN.md, "Heuristics"). Each names the outputs
// of a transaction it cannot rule out as the change (the output paying the
// sender back); none of them decides on its own. Unique decides, and only
// when exactly one candidate remains: a heuristic that leaves two
// candidates says nothing. This is BlockSci's model (a heuristic returns a
// candidate set; unique_change takes the single element), which lets the
// results be checked against BlockSci's test chain (blocksci_test.go).
//
// Common rules: a coinbase has no change; OP_RETURN outputs are never
// candidates; Unique decides nothing for a transaction with fewer than two
// spendable outputs (the only output of a transaction is not "change": it
// is a sweep or a payment of everything, and calling it change would merge
// a payee into the payer's cluster).

// Names of the change heuristics, as configuration and method.heuristics
// spell them.
const (
	NameAddressReuse   = "address_reuse"
	NameAddressType    = "address_type"
	NameOptimalChange  = "optimal_change"
	NameRoundAmount    = "round_amount"
	NameFreshAddress   = "fresh_address"
	NamePeelChainShape = "peel_chain_shape"
	NameLocktime       = "locktime"
)

// ChangeHeuristic names the candidate change outputs of a transaction, as
// output indices in increasing order.
type ChangeHeuristic interface {
	Heuristic
	Candidates(ctx context.Context, c Chain, tx *Tx) ([]uint32, error)
}

// changeConfidence is what a change heuristic's decision is worth, in
// percent; see docs/heuristics.md. They are judgement, not measurement:
// address reuse is the strongest (a wallet that pays back to an input
// address leaves nothing to guess), the spending-behaviour heuristics the
// weakest.
type changeConfidence interface{ confidence() int }

// filter returns the indices of the spendable outputs for which keep holds.
func filter(tx *Tx, keep func(o *Output) (bool, error)) ([]uint32, error) {
	var out []uint32
	for i := range tx.Outputs {
		o := &tx.Outputs[i]
		if !o.Type.Spendable() {
			continue
		}
		ok, err := keep(o)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, o.Index)
		}
	}
	return out, nil
}

// spender is the transaction spending output o of tx: the view's SpentBy if
// set, else the chain's answer; nil when unspent.
func spender(ctx context.Context, c Chain, tx *Tx, o *Output) (*Tx, error) {
	if o.SpentBy != "" && c != nil {
		s, err := c.Tx(ctx, o.SpentBy)
		if err == nil {
			return s, nil
		}
	}
	if c == nil {
		return nil, nil
	}
	return c.Spender(ctx, tx.TxID, o.Index)
}

// AddressReuse: an output paying one of the input addresses is change (the
// wallet reused the address for its change).
type AddressReuse struct {
	Enabled bool `mapstructure:"enabled"`
}

func (AddressReuse) Info() Info {
	return Info{Name: NameAddressReuse, Version: "1", Params: map[string]any{}}
}
func (AddressReuse) confidence() int { return 80 }

func (AddressReuse) Candidates(_ context.Context, _ Chain, tx *Tx) ([]uint32, error) {
	if tx.Coinbase {
		return nil, nil
	}
	in := map[string]bool{}
	for _, i := range tx.Inputs {
		in[i.Address] = true
	}
	return filter(tx, func(o *Output) (bool, error) { return in[o.Address], nil })
}

// AddressType: when every input spends one script type, the change is of
// that type too; the candidates are the outputs of the inputs' type. P2PK
// and P2PKH are different types here, as in BlockSci (a view built from
// display addresses, FromChains, sees P2PK as P2PKH).
type AddressType struct {
	Enabled bool `mapstructure:"enabled"`
}

func (AddressType) Info() Info {
	return Info{Name: NameAddressType, Version: "1", Params: map[string]any{}}
}
func (AddressType) confidence() int { return 50 }

func (AddressType) Candidates(_ context.Context, _ Chain, tx *Tx) ([]uint32, error) {
	if tx.Coinbase || len(tx.Inputs) == 0 {
		return nil, nil
	}
	t := tx.Inputs[0].Type
	for _, in := range tx.Inputs[1:] {
		if in.Type != t {
			return nil, nil
		}
	}
	if t == TypeUnknown {
		return nil, nil
	}
	return filter(tx, func(o *Output) (bool, error) { return o.Type == t, nil })
}

// OptimalChange: an output smaller than the smallest input is change; had
// the payment been smaller than an input, the wallet would not have needed
// that input.
type OptimalChange struct {
	Enabled bool `mapstructure:"enabled"`
}

func (OptimalChange) Info() Info {
	return Info{Name: NameOptimalChange, Version: "1", Params: map[string]any{}}
}
func (OptimalChange) confidence() int { return 60 }

func (OptimalChange) Candidates(_ context.Context, _ Chain, tx *Tx) ([]uint32, error) {
	if tx.Coinbase || len(tx.Inputs) == 0 {
		return nil, nil
	}
	least := tx.Inputs[0].Value
	for _, in := range tx.Inputs[1:] {
		least = min(least, in.Value)
	}
	return filter(tx, func(o *Output) (bool, error) { return o.Value < least, nil })
}

// RoundAmount: people pay round amounts; coin selection leaves change that
// is not round. The candidates are the outputs whose value is not a
// multiple of 10^Digits satoshi (BlockSci's power_of_ten_value(digits);
// Digits 6 is a multiple of 0.01 BTC).
type RoundAmount struct {
	Enabled bool `mapstructure:"enabled"`
	Digits  int  `mapstructure:"digits"`
}

func (r RoundAmount) Info() Info {
	return Info{Name: NameRoundAmount, Version: "1", Params: map[string]any{"digits": r.Digits}}
}
func (RoundAmount) confidence() int { return 50 }

func (r RoundAmount) Candidates(_ context.Context, _ Chain, tx *Tx) ([]uint32, error) {
	if tx.Coinbase {
		return nil, nil
	}
	if r.Digits < 1 || r.Digits > 15 {
		return nil, fmt.Errorf("%s: digits %d out of range 1..15", NameRoundAmount, r.Digits)
	}
	unit := int64(1)
	for range r.Digits {
		unit *= 10
	}
	return filter(tx, func(o *Output) (bool, error) { return o.Value%unit != 0, nil })
}

// FreshAddress: wallets pay change to a new address, so the candidates are
// the outputs whose address had never been paid before this transaction
// (BlockSci's client_change_address_behavior). Needs the chain's history.
type FreshAddress struct {
	Enabled bool `mapstructure:"enabled"`
}

func (FreshAddress) Info() Info {
	return Info{Name: NameFreshAddress, Version: "1", Params: map[string]any{}}
}
func (FreshAddress) confidence() int { return 50 }

func (FreshAddress) Candidates(ctx context.Context, c Chain, tx *Tx) ([]uint32, error) {
	if tx.Coinbase || c == nil {
		return nil, nil
	}
	in := map[string]bool{}
	for _, i := range tx.Inputs {
		in[i.Address] = true
	}
	return filter(tx, func(o *Output) (bool, error) {
		if o.Address == "" || in[o.Address] {
			return false, nil
		}
		seen, err := c.SeenBefore(ctx, o.Address, tx)
		return !seen, err
	})
}

// Locktime: Bitcoin Core and wallets copying it set the locktime to the tip
// height (against fee sniping), and a wallet spends its change the way it
// built the transaction. The candidates are the outputs that are unspent,
// or spent by a transaction that, like this one, has (or has not) a
// non-zero locktime. Needs the spenders; off by default (most wallets now
// set a locktime, which leaves it little to tell apart).
type Locktime struct {
	Enabled bool `mapstructure:"enabled"`
}

func (Locktime) Info() Info      { return Info{Name: NameLocktime, Version: "1", Params: map[string]any{}} }
func (Locktime) confidence() int { return 40 }
func (Locktime) usesSpender()    {}

func (Locktime) Candidates(ctx context.Context, c Chain, tx *Tx) ([]uint32, error) {
	if tx.Coinbase {
		return nil, nil
	}
	set := tx.LockTime > 0
	return filter(tx, func(o *Output) (bool, error) {
		s, err := spender(ctx, c, tx, o)
		if err != nil || s == nil {
			return true, err
		}
		return (s.LockTime > 0) == set, nil
	})
}

// PeelChainShape: in a peel chain the change is the output that carries the
// chain on. If tx is part of a peel chain (PeelChain's run rule), the
// candidates are the outputs spent by a transaction that is itself part of
// a peel chain and, with UnspentIsCandidate, the unspent outputs (which may
// yet carry it on; BlockSci's peeling_chain counts them). Without
// UnspentIsCandidate it is BlockSci's "peeling_chain and spent".
type PeelChainShape struct {
	Enabled            bool      `mapstructure:"enabled"`
	UnspentIsCandidate bool      `mapstructure:"unspent-is-candidate"`
	Peel               PeelChain `mapstructure:"-"`
}

func (p PeelChainShape) Info() Info {
	return Info{Name: NamePeelChainShape, Version: "1", Params: map[string]any{
		"unspent_is_candidate": p.UnspentIsCandidate,
	}}
}
func (PeelChainShape) confidence() int { return 70 }
func (PeelChainShape) usesSpender()    {}

func (p PeelChainShape) Candidates(ctx context.Context, c Chain, tx *Tx) ([]uint32, error) {
	if c == nil {
		return nil, nil
	}
	in, err := p.Peel.IsPeelingChain(ctx, c, tx)
	if err != nil || !in {
		return nil, err
	}
	return filter(tx, func(o *Output) (bool, error) {
		s, err := spender(ctx, c, tx, o)
		if err != nil {
			return false, err
		}
		if s == nil {
			return p.UnspentIsCandidate, nil
		}
		return p.Peel.IsPeelingChain(ctx, c, s)
	})
}

// Unique is the change output h decides for tx: ok only when exactly one
// candidate remains and tx has at least two spendable outputs.
func Unique(ctx context.Context, h ChangeHeuristic, c Chain, tx *Tx) (vout uint32, ok bool, err error) {
	if spendableOutputs(tx) < 2 {
		return 0, false, nil
	}
	cand, err := h.Candidates(ctx, c, tx)
	if err != nil || len(cand) != 1 {
		return 0, false, err
	}
	return cand[0], true, nil
}

func spendableOutputs(tx *Tx) int {
	n := 0
	for _, o := range tx.Outputs {
		if o.Type.Spendable() {
			n++
		}
	}
	return n
}

// Intersect is a change heuristic whose candidates are those every one of
// hs names (BlockSci's h1 & h2). It is named after its parts.
func Intersect(hs ...ChangeHeuristic) ChangeHeuristic { return combined{hs: hs, and: true} }

// Union is a change heuristic whose candidates are those any of hs names
// (BlockSci's h1 | h2).
func Union(hs ...ChangeHeuristic) ChangeHeuristic { return combined{hs: hs} }

type combined struct {
	hs  []ChangeHeuristic
	and bool
}

func (m combined) Info() Info {
	names := make([]string, len(m.hs))
	params := map[string]any{}
	for i, h := range m.hs {
		in := h.Info()
		names[i] = in.Name
		params[in.Name] = map[string]any{"version": in.Version, "params": in.Params}
	}
	op := "|"
	if m.and {
		op = "&"
	}
	return Info{Name: strings.Join(names, op), Version: "1", Params: params}
}

func (m combined) Candidates(ctx context.Context, c Chain, tx *Tx) ([]uint32, error) {
	count := map[uint32]int{}
	for _, h := range m.hs {
		cand, err := h.Candidates(ctx, c, tx)
		if err != nil {
			return nil, err
		}
		for _, v := range cand {
			count[v]++
		}
	}
	var out []uint32
	for v, n := range count {
		if !m.and || n == len(m.hs) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// ChangeDetector runs the enabled change heuristics on a transaction and
// concludes only when at least one decides and every one that decides
// names the same output; heuristics that decide different outputs cancel
// each other out (Conflict). CoinJoins are skipped: their "change" is
// another participant's as often as the sender's.
type ChangeDetector struct {
	Heuristics []ChangeHeuristic
	CoinJoin   *CoinJoinDetector // nil: no CoinJoin check
}

// ChangeResult is what the detector concluded about one transaction.
type ChangeResult struct {
	Finding   *Finding          // nil when nothing was concluded
	Decisions map[string]uint32 // heuristic name -> the output it decided
	Conflict  bool              // heuristics decided different outputs
	CoinJoin  string            // the CoinJoin kind that made it skip the tx, if any
}

// Detect applies the detector to tx.
func (d *ChangeDetector) Detect(ctx context.Context, c Chain, tx *Tx) (ChangeResult, error) {
	var res ChangeResult
	if tx.Coinbase {
		return res, nil
	}
	if d.CoinJoin != nil {
		if f := d.CoinJoin.Detect(tx); f != nil {
			res.CoinJoin = f.Heuristic
			return res, nil
		}
	}
	res.Decisions = map[string]uint32{}
	var names []string
	var deciding []ChangeHeuristic
	for _, h := range d.Heuristics {
		v, ok, err := Unique(ctx, h, c, tx)
		if err != nil {
			return res, fmt.Errorf("change heuristic %s on %s: %w", h.Info().Name, tx.TxID, err)
		}
		if ok {
			name := h.Info().Name
			res.Decisions[name] = v
			names = append(names, name)
			deciding = append(deciding, h)
		}
	}
	if len(deciding) == 0 {
		return res, nil
	}
	vout := res.Decisions[names[0]]
	for _, n := range names[1:] {
		if res.Decisions[n] != vout {
			res.Conflict = true
			return res, nil
		}
	}
	evidence := []string{tx.TxID}
	doubt := 100 // percent chance that every deciding heuristic is wrong, x100 per step
	useSpender := false
	for _, h := range deciding {
		conf := 50
		if cc, ok := h.(changeConfidence); ok {
			conf = cc.confidence()
		}
		doubt = doubt * (100 - conf) / 100
		if _, ok := h.(interface{ usesSpender() }); ok {
			useSpender = true
		}
	}
	if useSpender {
		if s, err := spender(ctx, c, tx, &tx.Outputs[vout]); err == nil && s != nil {
			evidence = append(evidence, s.TxID)
		}
	}
	sort.Strings(names)
	res.Finding = &Finding{
		Kind:       KindChangeOutput,
		Subject:    tx.Outpoint(vout),
		Evidence:   evidence,
		Confidence: min(100-doubt, maxChangeConfidence),
		Heuristic:  strings.Join(names, "+"),
		Version:    "1",
	}
	return res, nil
}

// maxChangeConfidence caps agreeing heuristics: however many agree, they
// read the same few facts, and none of them is proof.
const maxChangeConfidence = 95

// Infos names the detector's heuristics for method.heuristics.
func (d *ChangeDetector) Infos() []Info {
	out := make([]Info, 0, len(d.Heuristics))
	for _, h := range d.Heuristics {
		out = append(out, h.Info())
	}
	return out
}
