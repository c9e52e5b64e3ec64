// Package btcscenario plays a Lazarus-shaped laundering case on a real
// btcd (internal/btcnode): a thief's address receives the stolen coins; one
// part is walked down a long peel chain whose peels now and then land at an
// exchange's deposit address, another is fanned out and partly consolidated
// with clean coins before it reaches a second exchange. Unrelated payments
// among other keys fill the same blocks. The package also states the truth
// the tracer must find: every transaction downstream of the seed, its
// outputs, the addresses reached and what each exchange received.
package btcscenario

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// Options shape the case.
type Options struct {
	// PeelHops is the length of the peel chain (default 55).
	PeelHops int
	// DepositEvery sends every n-th peel to exchange A's deposit address
	// (default 10).
	DepositEvery int
	// HopsPerBlock is how many peel hops share a block (default 4), so that
	// some hops spend an output of their own block.
	HopsPerBlock int
	// Noise is the number of unrelated payments per block (default 2;
	// negative: none).
	Noise int
}

func (o *Options) defaults() {
	if o.PeelHops <= 0 {
		o.PeelHops = 55
	}
	if o.DepositEvery <= 0 {
		o.DepositEvery = 10
	}
	if o.HopsPerBlock <= 0 {
		o.HopsPerBlock = 4
	}
	if o.Noise == 0 {
		o.Noise = 2
	}
}

// The CoinJoin: Whirlpool's 0.05 BTC pool, five participants, each input
// the pool's denomination plus a share of the fee.
const (
	whirlpoolSize  = 5
	whirlpoolPool  = 5_000_000
	whirlpoolInput = 5_000_600
)

// Key names of the case's parties.
const (
	Thief     = "thief"
	ExchangeA = "exchange-a"
	ExchangeB = "exchange-b"
)

// Labels are the exchanges' labels, as CSV in the import format.
func Labels(net *chaincfg.Params) (string, error) {
	a, err := btcnode.AddrFor(ExchangeA, btcnode.P2WPKH, net)
	if err != nil {
		return "", err
	}
	b, err := btcnode.AddrFor(ExchangeB, btcnode.P2PKH, net)
	if err != nil {
		return "", err
	}
	return "chain,address,label,category,source\n" +
		fmt.Sprintf("btc,%s,Exchange A deposit,exchange,case file\n", a.EncodeAddress()) +
		fmt.Sprintf("btc,%s,Exchange B deposit,exchange,case file\n", b.EncodeAddress()), nil
}

// Output is one output the trace must report: its transaction and index,
// receiving address and value.
type Output struct {
	TxID  string
	Vout  uint32
	To    string
	Value int64
}

// Truth is what the case holds.
type Truth struct {
	From, To uint64 // the heights the case spans
	Seed     string // the thief's address
	// SeedOutpoint is the output that starts the peel chain.
	SeedOutpoint string
	// Txs are the transactions downstream of the seed, with their fees.
	Txs map[string]int64
	// Outputs are every output of those transactions.
	Outputs []Output
	// Successors are the addresses those outputs pay.
	Successors map[string]bool
	// PeelTxs are the peel chain's transactions in order; PeelNext[i] is
	// the output of PeelTxs[i] that carries the chain on (its change).
	PeelTxs  []string
	PeelNext []uint32
	// Deposits sums, per exchange address, what the case paid it.
	Deposits map[string]int64
	// Consolidation is the transaction merging fanned-out coins with a
	// clean coin; its output's taint is a share of its value.
	Consolidation string
	// Mixed are the transactions whose outputs carry only a share of
	// taint: the consolidation and what spends its output.
	Mixed map[string]bool
	// CoinJoin is the Whirlpool-shaped CoinJoin the fourth fanned-out part
	// enters: a boundary, not followed; CoinJoinFeeders are the downstream
	// transactions whose outputs it spends.
	CoinJoin        string
	CoinJoinFeeders []string
	// HaircutB is exchange B's taint under haircut, worked out here by
	// plain rational arithmetic: the consolidation's tainted share, floored,
	// carried through the deposit, floored.
	HaircutB  int64
	ExchangeA string
	ExchangeB string
}

type player struct {
	n        *btcnode.Node
	truth    *Truth
	noise    []btcnode.Coin // the unrelated holders' coins
	noisePer int            // unrelated payments per block
	round    int
}

func (p *player) addr(name string, typ btcnode.ScriptType) string {
	a, err := btcnode.AddrFor(name, typ, p.n.Params())
	if err != nil {
		panic(err) // names and types are the package's own
	}
	return a.EncodeAddress()
}

// spend broadcasts a downstream transaction and records it in the truth.
func (p *player) spend(from []btcnode.Coin, outs []btcnode.Output, fee int64) ([]btcnode.Coin, error) {
	tx, err := p.n.Spend(from, outs, fee)
	if err != nil {
		return nil, err
	}
	id := tx.TxHash().String()
	p.truth.Txs[id] = fee
	for i, o := range outs {
		a := p.addr(o.Key, o.Type)
		p.truth.Outputs = append(p.truth.Outputs, Output{TxID: id, Vout: uint32(i), To: a, Value: o.Value})
		p.truth.Successors[a] = true
		if a == p.truth.ExchangeA || a == p.truth.ExchangeB {
			p.truth.Deposits[a] += o.Value
		}
	}
	return btcnode.CoinsOf(tx, outs), nil
}

// mine adds the round's unrelated payments and mines a block.
func (p *player) mine() error {
	for i := 0; i < p.noisePer && i < len(p.noise); i++ {
		k := (p.round + i) % len(p.noise)
		c := p.noise[k]
		if c.Value < 20_000 {
			continue
		}
		to := fmt.Sprintf("noise-%d-%d", p.round, i)
		typ := btcnode.ScriptType(p.round % 2)
		outs := []btcnode.Output{btcnode.To(to, typ, c.Value/3), btcnode.To(c.Key, c.Type, c.Value-c.Value/3-1_000)}
		tx, err := p.n.Spend([]btcnode.Coin{c}, outs, 1_000)
		if err != nil {
			return fmt.Errorf("noise: %w", err)
		}
		p.noise[k] = btcnode.CoinsOf(tx, outs)[1]
	}
	p.round++
	_, err := p.n.Mine(1)
	return err
}

// Play runs the case on n and returns its truth.
func Play(n *btcnode.Node, opts Options) (*Truth, error) {
	opts.defaults()
	base, err := n.Client().GetBlockCount()
	if err != nil {
		return nil, err
	}
	p := &player{n: n, noisePer: opts.Noise, truth: &Truth{From: uint64(base) + 1, Txs: map[string]int64{}, Successors: map[string]bool{},
		Deposits: map[string]int64{}, Mixed: map[string]bool{}}}
	t := p.truth
	t.Seed = p.addr(Thief, btcnode.P2WPKH)
	t.ExchangeA = p.addr(ExchangeA, btcnode.P2WPKH)
	t.ExchangeB = p.addr(ExchangeB, btcnode.P2PKH)

	// The theft: the thief's address receives two coins (block From).
	stolen, err := n.FundKeys(btcnode.To(Thief, btcnode.P2WPKH, 500_000_000), btcnode.To(Thief, btcnode.P2WPKH, 200_000_000))
	if err != nil {
		return nil, fmt.Errorf("funding the thief: %w", err)
	}
	t.SeedOutpoint = stolen[0].OutPoint.String()
	// Unrelated holders, and the clean coin mixed in later.
	var noiseOuts []btcnode.Output
	for i := 0; i < 4; i++ {
		noiseOuts = append(noiseOuts, btcnode.To(fmt.Sprintf("holder-%d", i), btcnode.ScriptType(i%2), 100_000_000))
	}
	noiseOuts = append(noiseOuts, btcnode.To("clean", btcnode.P2PKH, 50_000_000))
	for k := 1; k < whirlpoolSize; k++ { // the other CoinJoin participants
		noiseOuts = append(noiseOuts, btcnode.To(fmt.Sprintf("whirlpool-peer-%d", k), btcnode.P2WPKH, whirlpoolInput))
	}
	held, err := n.FundKeys(noiseOuts...)
	if err != nil {
		return nil, fmt.Errorf("funding the other holders: %w", err)
	}
	p.noise = held[:4]
	cleanCoin := held[4]
	peers := held[5:]

	// The peel chain: each hop peels a small payment off and passes the
	// rest to a fresh address; the order of the two outputs alternates.
	coin := stolen[0]
	for i := 1; i <= opts.PeelHops; i++ {
		fee := int64(1_000 + i)
		peel := btcnode.To(fmt.Sprintf("peel-%d", i), btcnode.ScriptType(i%2), 1_000_000+int64(i)*10_000)
		if i%opts.DepositEvery == 0 {
			peel = btcnode.To(ExchangeA, btcnode.P2WPKH, 3_000_000+int64(i)*10_000)
		}
		next := btcnode.To(fmt.Sprintf("hop-%d", i), btcnode.ScriptType((i+1)%2), coin.Value-peel.Value-fee)
		outs, nextAt := []btcnode.Output{peel, next}, 1
		if i%2 == 0 {
			outs, nextAt = []btcnode.Output{next, peel}, 0
		}
		coins, err := p.spend([]btcnode.Coin{coin}, outs, fee)
		if err != nil {
			return nil, fmt.Errorf("peel hop %d: %w", i, err)
		}
		t.PeelTxs = append(t.PeelTxs, coins[0].OutPoint.Hash.String())
		t.PeelNext = append(t.PeelNext, uint32(nextAt))
		coin = coins[nextAt]
		if i%opts.HopsPerBlock == 0 {
			if err := p.mine(); err != nil {
				return nil, err
			}
		}
	}
	if err := p.mine(); err != nil {
		return nil, err
	}

	// The fan-out of the second coin: six equal parts and a remainder.
	var fan []btcnode.Output
	for j := 1; j <= 6; j++ {
		fan = append(fan, btcnode.To(fmt.Sprintf("fan-%d", j), btcnode.ScriptType(j%2), 30_000_000))
	}
	fan = append(fan, btcnode.To("fan-rest", btcnode.P2WPKH, 200_000_000-6*30_000_000-10_000))
	fanned, err := p.spend(stolen[1:2], fan, 10_000)
	if err != nil {
		return nil, fmt.Errorf("fan-out: %w", err)
	}
	if err := p.mine(); err != nil {
		return nil, err
	}
	// Part four goes into a Whirlpool-shaped CoinJoin: a premix output of
	// the pool's size plus its fee share, mixed with four other
	// participants' into five equal outputs. The trace stops there.
	premix, err := p.spend(fanned[3:4], []btcnode.Output{btcnode.To("premix", btcnode.P2WPKH, whirlpoolInput),
		btcnode.To("premix-change", btcnode.P2WPKH, fanned[3].Value-whirlpoolInput-5_000)}, 5_000)
	if err != nil {
		return nil, fmt.Errorf("premix: %w", err)
	}
	if err := p.mine(); err != nil {
		return nil, err
	}
	var mixOuts []btcnode.Output
	for k := 0; k < whirlpoolSize; k++ {
		mixOuts = append(mixOuts, btcnode.To(fmt.Sprintf("whirlpool-out-%d", k), btcnode.P2WPKH, whirlpoolPool))
	}
	mix, err := n.Spend(append([]btcnode.Coin{premix[0]}, peers...), mixOuts, int64(whirlpoolSize)*(whirlpoolInput-whirlpoolPool))
	if err != nil {
		return nil, fmt.Errorf("coinjoin: %w", err)
	}
	t.CoinJoin = mix.TxHash().String()
	t.CoinJoinFeeders = []string{premix[0].OutPoint.Hash.String()}

	// A consolidation of three parts with a clean coin, then the deposit.
	in := []btcnode.Coin{fanned[0], fanned[1], cleanCoin, fanned[2]}
	var sum int64
	for _, c := range in {
		sum += c.Value
	}
	merged, err := p.spend(in, []btcnode.Output{btcnode.To("consolidated", btcnode.P2WPKH, sum-4_000)}, 4_000)
	if err != nil {
		return nil, fmt.Errorf("consolidation: %w", err)
	}
	t.Consolidation = merged[0].OutPoint.Hash.String()
	t.Mixed[t.Consolidation] = true
	if err := p.mine(); err != nil {
		return nil, err
	}
	deposit, err := p.spend(merged, []btcnode.Output{btcnode.To(ExchangeB, btcnode.P2PKH, merged[0].Value-2_000)}, 2_000)
	if err != nil {
		return nil, fmt.Errorf("deposit: %w", err)
	}
	t.Mixed[deposit[0].OutPoint.Hash.String()] = true
	share := func(value, taint, total int64) int64 { // floor(value * taint / total)
		q := new(big.Int).Mul(big.NewInt(value), big.NewInt(taint))
		return q.Quo(q, big.NewInt(total)).Int64()
	}
	tainted := fanned[0].Value + fanned[1].Value + fanned[2].Value
	mergedTaint := share(merged[0].Value, tainted, sum)
	t.HaircutB = share(deposit[0].Value, mergedTaint, merged[0].Value)
	if err := p.mine(); err != nil {
		return nil, err
	}
	top, err := n.Client().GetBlockCount()
	if err != nil {
		return nil, err
	}
	t.To = uint64(top)
	sort.Slice(t.Outputs, func(i, j int) bool {
		if t.Outputs[i].TxID != t.Outputs[j].TxID {
			return t.Outputs[i].TxID < t.Outputs[j].TxID
		}
		return t.Outputs[i].Vout < t.Outputs[j].Vout
	})
	return t, nil
}
