package heuristics

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/exhibit"
)

// Finding kinds, as the exhibit's findings name them.
const (
	KindChangeOutput   = "change_output"
	KindCoinJoin       = "coinjoin"
	KindPeelChain      = "peel_chain"
	KindClusterMerge   = "cluster_merge"
	KindDepositAddress = "deposit_address"
)

// Finding is one conclusion a heuristic drew: the exhibit's findings row plus
// the heuristic that drew it. Heuristic and Version stay out of the row
// itself (the exhibit's finding object is closed); the exhibit names them in
// method.heuristics.
type Finding struct {
	Kind       string   `json:"kind"`
	Subject    string   `json:"subject"`    // what it is about: an address, a txid, or txid:vout
	Evidence   []string `json:"evidence"`   // transaction hashes supporting it
	Confidence int      `json:"confidence"` // percent, 0-100
	Heuristic  string   `json:"-"`          // Info.Name of the heuristic that drew it
	Version    string   `json:"-"`          // Info.Version of that heuristic
}

// Exhibit returns the finding as an exhibit row.
func (f Finding) Exhibit() exhibit.Finding {
	ev := f.Evidence
	if ev == nil {
		ev = []string{}
	}
	return exhibit.Finding{Kind: f.Kind, Subject: f.Subject, Evidence: ev, Confidence: clampConfidence(f.Confidence)}
}

func clampConfidence(c int) int {
	switch {
	case c < 0:
		return 0
	case c > 100:
		return 100
	}
	return c
}

// Info names a heuristic as method.heuristics records it. Params holds the
// parameters the heuristic ran with (snake_case keys); values
// are strings, integers or booleans, never floating-point numbers (the
// exhibit's digest cannot represent them): a ratio is a decimal string and
// an amount is in base units.
type Info struct {
	Name    string         `json:"name"`
	Version string         `json:"version"`
	Params  map[string]any `json:"params"`
}

// Exhibit returns the info as a method.heuristics entry.
func (i Info) Exhibit() (exhibit.Heuristic, error) {
	p := i.Params
	if p == nil {
		p = map[string]any{}
	}
	raw, err := exhibit.MarshalParams(p)
	if err != nil {
		return exhibit.Heuristic{}, err
	}
	return exhibit.Heuristic{Name: i.Name, Version: i.Version, Params: raw}, nil
}

// Heuristic is anything that can name itself for method.heuristics.
type Heuristic interface {
	Info() Info
}

// Config switches each heuristic on or off and sets its parameters: the
// "heuristics" section of the configuration (kebab-case keys, as every
// other key; method.heuristics writes the same parameters in snake_case).
type Config struct {
	Change     ChangeConfig     `mapstructure:"change"`
	CoinJoin   CoinJoinDetector `mapstructure:"coinjoin"`
	PeelChain  PeelChain        `mapstructure:"peel-chain"`
	MultiInput MultiInputConfig `mapstructure:"multi-input"`
	Deposit    DepositAddress   `mapstructure:"deposit-address"`
}

// MultiInputConfig switches multi-input clustering in traces; the hold
// threshold is the cluster command's --hold-above.
type MultiInputConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// SkipCoinJoins keeps clustering from merging through a detected
	// CoinJoin (on by default; off only to study what it would do).
	SkipCoinJoins bool `mapstructure:"skip-coinjoins"`
}

// MultiInputOptions are the clustering options the configuration describes: the
// CoinJoin skip with the configured detector, and hold, the hold
// threshold.
func (c Config) MultiInputOptions(hold int) MultiInputOptions {
	o := MultiInputOptions{HoldAbove: hold}
	if c.MultiInput.SkipCoinJoins {
		d := c.CoinJoin
		o.SkipTx = func(t ClusterTx) (bool, string) { return d.SkipTx(t.Tx) }
		o.SkipRule = c.SkipRule()
	}
	return o
}

// SkipRule names the CoinJoin guard clustering runs with: "none" when it
// is off, "coinjoin/1" with the default detectors, and otherwise
// "coinjoin/1:" and the first 12 hex digits of the SHA-256 of the
// detectors' canonical parameters, so that a stored clustering run made
// with other detectors is never taken for this one.
func (c Config) SkipRule() string {
	if !c.MultiInput.SkipCoinJoins {
		return "none"
	}
	mine, err1 := canonicalInfos(c.CoinJoin.Infos())
	def, err2 := canonicalInfos(DefaultCoinJoinDetector().Infos())
	if err1 == nil && err2 == nil && mine == def {
		return "coinjoin/1"
	}
	sum := sha256.Sum256([]byte(mine))
	return "coinjoin/1:" + hex.EncodeToString(sum[:6])
}

func canonicalInfos(infos []Info) (string, error) {
	b, err := exhibit.Canonicalize(infos)
	return string(b), err
}

// ChangeConfig holds the change-output heuristics.
type ChangeConfig struct {
	AddressReuse   AddressReuse   `mapstructure:"address-reuse"`
	AddressType    AddressType    `mapstructure:"address-type"`
	OptimalChange  OptimalChange  `mapstructure:"optimal-change"`
	RoundAmount    RoundAmount    `mapstructure:"round-amount"`
	FreshAddress   FreshAddress   `mapstructure:"fresh-address"`
	PeelChainShape PeelChainShape `mapstructure:"peel-chain-shape"`
	Locktime       Locktime       `mapstructure:"locktime"`
}

// DefaultConfig turns on DESIGN.md's heuristics with their documented
// parameters; locktime, which DESIGN.md does not list, is off.
func DefaultConfig() Config {
	return Config{
		Change: ChangeConfig{
			AddressReuse:   AddressReuse{Enabled: true},
			AddressType:    AddressType{Enabled: true},
			OptimalChange:  OptimalChange{Enabled: true},
			RoundAmount:    RoundAmount{Enabled: true, Digits: 6},
			FreshAddress:   FreshAddress{Enabled: true},
			PeelChainShape: PeelChainShape{Enabled: true, UnspentIsCandidate: true},
			Locktime:       Locktime{Enabled: false},
		},
		CoinJoin:   *DefaultCoinJoinDetector(),
		PeelChain:  DefaultPeelChain(),
		MultiInput: MultiInputConfig{Enabled: true, SkipCoinJoins: true},
		Deposit:    DefaultDepositAddress(),
	}
}

// Validate checks the parameters of the enabled heuristics.
func (c Config) Validate() error {
	ch := c.Change
	if ch.RoundAmount.Enabled && (ch.RoundAmount.Digits < 1 || ch.RoundAmount.Digits > 15) {
		return fmt.Errorf("heuristics.change.round-amount.digits: %d is not in 1..15", ch.RoundAmount.Digits)
	}
	w := c.CoinJoin.Whirlpool
	if w.Enabled && (w.MinInputs < 2 || w.MaxInputs < w.MinInputs || len(w.Pools) == 0) {
		return fmt.Errorf("heuristics.coinjoin.whirlpool: want 2 <= min-inputs <= max-inputs and at least one pool")
	}
	if c.CoinJoin.Wasabi1.Enabled && c.CoinJoin.Wasabi1.MinEqualOutputs < 2 {
		return fmt.Errorf("heuristics.coinjoin.wasabi1.min-equal-outputs: %d is below 2", c.CoinJoin.Wasabi1.MinEqualOutputs)
	}
	if p := c.CoinJoin.Wasabi2.MinStandardPercent; c.CoinJoin.Wasabi2.Enabled && (p < 0 || p > 99) {
		return fmt.Errorf("heuristics.coinjoin.wasabi2.min-standard-percent: %d is not in 0..99", p)
	}
	if c.CoinJoin.JoinMarket.Enabled && c.CoinJoin.JoinMarket.MinParticipants < 2 {
		return fmt.Errorf("heuristics.coinjoin.joinmarket.min-participants: %d is below 2", c.CoinJoin.JoinMarket.MinParticipants)
	}
	if c.PeelChain.Enabled && (c.PeelChain.MinLength < 2 || c.PeelChain.MaxLength < c.PeelChain.MinLength) {
		return fmt.Errorf("heuristics.peel-chain: want 2 <= min-length <= max-length")
	}
	if d := c.Deposit; d.Enabled {
		if v, ok := new(big.Int).SetString(d.MaxLeft, 10); !ok || v.Sign() < 0 {
			return fmt.Errorf("heuristics.deposit-address.max-left: %q is not a non-negative integer (wei)", d.MaxLeft)
		}
		if d.WithinBlocks == 0 {
			return fmt.Errorf("heuristics.deposit-address.within-blocks: want at least 1")
		}
	}
	return nil
}

// ChangeDetector is the change detector the configuration describes. The
// peel-chain-shape heuristic uses the peel-chain section's run rule, and
// CoinJoins (by the coinjoin section) are skipped.
func (c Config) ChangeDetector() *ChangeDetector {
	ch := c.Change
	d := &ChangeDetector{CoinJoin: &c.CoinJoin}
	add := func(on bool, h ChangeHeuristic) {
		if on {
			d.Heuristics = append(d.Heuristics, h)
		}
	}
	add(ch.AddressReuse.Enabled, ch.AddressReuse)
	add(ch.AddressType.Enabled, ch.AddressType)
	add(ch.OptimalChange.Enabled, ch.OptimalChange)
	add(ch.RoundAmount.Enabled, ch.RoundAmount)
	add(ch.FreshAddress.Enabled, ch.FreshAddress)
	shape := ch.PeelChainShape
	shape.Peel = c.PeelChain
	add(shape.Enabled, shape)
	add(ch.Locktime.Enabled, ch.Locktime)
	return d
}

// Infos names every enabled heuristic, for method.heuristics: the change
// heuristics, then the CoinJoin detectors, then the peel-chain detector.
func (c Config) Infos() []Info {
	out := c.ChangeDetector().Infos()
	out = append(out, c.CoinJoin.Infos()...)
	if c.PeelChain.Enabled {
		out = append(out, c.PeelChain.Info())
	}
	return out
}
