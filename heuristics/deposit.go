package heuristics

import (
	"math/big"
	"sort"
	"strings"
)

// NameDepositAddress names the Ethereum deposit-address heuristic.
const NameDepositAddress = "deposit_address"

// DepositAddress recognises an exchange deposit address on an account
// chain (DESIGN.md, after Victor 2020): an address that forwards what it
// receives to one exchange's wallet soon after, keeping at most a small
// remainder. Exchanges give each customer such an address and sweep it
// into their hot wallet, so funds reaching it reached the exchange, and
// the senders to one deposit address are likely one customer.
//
// The rule, on the address's transfers in the trace's window:
//   - it received value and sent value;
//   - every transfer it sent went to addresses labelled as one exchange
//     (the same label entity, category exchange);
//   - its first sweep came within WithinBlocks of its first receipt;
//   - per asset, what it kept (received less sent, and less the fees it
//     paid for the native asset) is at most MaxLeft for the native asset
//     and nothing for tokens.
//
// Confidence: 80 for one sweep, 90 for two or more (a pattern repeated is
// less likely chance). These are judgements, not measured rates.
type DepositAddress struct {
	Enabled      bool   `mapstructure:"enabled"`
	WithinBlocks uint64 `mapstructure:"within-blocks"`
	// MaxLeft is the native-asset remainder allowed, base units as a
	// decimal string (0.01 ETH = 10000000000000000 wei).
	MaxLeft string `mapstructure:"max-left"`
}

// DefaultDepositAddress has Victor's parameters: within 10,000 blocks, at
// most 0.01 ETH left.
func DefaultDepositAddress() DepositAddress {
	return DepositAddress{Enabled: true, WithinBlocks: 10_000, MaxLeft: "10000000000000000"}
}

// Info names the heuristic for method.heuristics.
func (d DepositAddress) Info() Info {
	return Info{Name: NameDepositAddress, Version: "1", Params: map[string]any{
		"within_blocks": d.WithinBlocks, "max_left_wei": d.MaxLeft,
	}}
}

// Flow is a value movement as the detector reads it.
type Flow struct {
	Block    uint64
	TxHash   string
	From, To string
	Asset    string
	Amount   *big.Int
}

// Exchange tells whether an address is an exchange's wallet, and which
// exchange (its label).
type Exchange func(addr string) (label string, ok bool)

// Deposit is a recognised deposit address.
type Deposit struct {
	Address  string
	Exchange string   // the exchange's label
	Wallets  []string // the exchange wallets it swept into
	Finding  Finding
}

// Detect decides whether addr is a deposit address from its flows (any
// order) and the native-asset fees it paid, native named by asset.
func (d DepositAddress) Detect(addr string, flows []Flow, fees *big.Int, native string, exchange Exchange) *Deposit {
	if !d.Enabled {
		return nil
	}
	maxLeft, ok := new(big.Int).SetString(d.MaxLeft, 10)
	if !ok {
		return nil
	}
	sort.SliceStable(flows, func(i, j int) bool { return flows[i].Block < flows[j].Block })
	kept := map[string]*big.Int{}
	var firstIn, firstOut uint64
	ins, outs := 0, 0
	label := ""
	var wallets, sweeps []string
	for _, f := range flows {
		if f.Amount == nil || f.Amount.Sign() == 0 {
			continue
		}
		asset := strings.ToLower(f.Asset)
		if kept[asset] == nil {
			kept[asset] = new(big.Int)
		}
		self := strings.EqualFold(f.From, f.To)
		switch {
		case self:
			continue
		case strings.EqualFold(f.To, addr):
			if ins == 0 {
				firstIn = f.Block
			}
			ins++
			kept[asset].Add(kept[asset], f.Amount)
		case strings.EqualFold(f.From, addr):
			l, ok := exchange(f.To)
			if !ok || label != "" && l != label {
				return nil // it pays someone who is not that exchange
			}
			label = l
			if outs == 0 {
				firstOut = f.Block
			}
			outs++
			kept[asset].Sub(kept[asset], f.Amount)
			if !containsString(wallets, f.To) {
				wallets = append(wallets, f.To)
			}
			if !containsString(sweeps, f.TxHash) {
				sweeps = append(sweeps, f.TxHash)
			}
		}
	}
	if ins == 0 || outs == 0 || firstOut < firstIn || firstOut-firstIn > d.WithinBlocks {
		return nil
	}
	for asset, k := range kept {
		left := new(big.Int).Set(k)
		limit := new(big.Int)
		if asset == strings.ToLower(native) {
			if fees != nil {
				left.Sub(left, fees)
			}
			limit = maxLeft
		}
		if left.Cmp(limit) > 0 {
			return nil // it keeps more than a deposit address would
		}
	}
	conf := 80
	if len(sweeps) > 1 {
		conf = 90
	}
	return &Deposit{Address: addr, Exchange: label, Wallets: wallets, Finding: Finding{
		Kind: KindDepositAddress, Subject: addr, Evidence: sweeps, Confidence: conf,
		Heuristic: NameDepositAddress, Version: "1"}}
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
