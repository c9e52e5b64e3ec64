package tracer

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// The cost of running every taint model side by side against one model,
// on laundering graphs held in memory with indexed lookups, so that the
// walk's own work (the arithmetic the models add) is as large a share of
// the time as it can be: with a store or a node behind the walk the
// models' share is smaller still. Compare the sub-benchmarks of one run:
//
//	go test ./tracer -run '^$' -bench Models -count 5

var benchModelSets = []struct {
	name   string
	models []taint.Kind
}{
	{"haircut", []taint.Kind{taint.Haircut}},
	{"fifo", []taint.Kind{taint.FIFO}},
	{"all5", []taint.Kind{taint.Haircut, taint.FIFO, taint.LIFO, taint.TIHO, taint.Poison}},
}

// indexedHistory is an account History with per-address indexes.
type indexedHistory struct {
	byAddr map[string][]*chains.Transfer
	sent   map[string][]*chains.Tx
}

func (h *indexedHistory) AddressTransfers(_ context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error {
	for _, t := range h.byAddr[addr] {
		if t.BlockNumber >= from && t.BlockNumber <= to {
			if err := fn(t); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *indexedHistory) SentTxs(_ context.Context, addr string, from, to uint64, fn func(*chains.Tx) error) error {
	for _, tx := range h.sent[addr] {
		if tx.BlockNumber >= from && tx.BlockNumber <= to {
			if err := fn(tx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *indexedHistory) BalanceAt(_ context.Context, addr, asset string, n uint64) (*big.Int, error) {
	b := new(big.Int)
	for _, t := range h.byAddr[addr] {
		if t.BlockNumber > n || t.Asset != asset {
			continue
		}
		if t.To == addr {
			b.Add(b, t.Amount)
		}
		if t.From[0] == addr {
			b.Sub(b, t.Amount)
		}
	}
	for _, tx := range h.sent[addr] {
		if tx.BlockNumber <= n && asset == "ETH" {
			b.Sub(b, tx.Fee)
		}
	}
	return b, nil
}

// launderingAccounts plays a seed fanning out to mules, each peeling
// through hops hops: at each hop the holder also takes in clean money now
// and then, pays part on to the next hop and part to one of a few
// exchanges (stops), with a fee; unrelated traffic runs between clean
// addresses throughout.
func launderingAccounts(mules, hops int) (*indexedHistory, memLabels) {
	r := rand.New(rand.NewPCG(1, 2))
	h := &indexedHistory{byAddr: map[string][]*chains.Transfer{}, sent: map[string][]*chains.Tx{}}
	labels := memLabels{}
	for i := 0; i < 5; i++ {
		labels[fmt.Sprintf("exchange-%d", i)] = [2]string{fmt.Sprintf("Exchange %d", i), "exchange"}
	}
	var seq uint32
	block := uint64(1)
	eth := func(x int64) *big.Int { return new(big.Int).Mul(big.NewInt(x), big.NewInt(1e15)) }
	pay := func(from, to string, amount *big.Int) {
		seq++
		hash := fmt.Sprintf("0x%064x", seq)
		t := &chains.Transfer{TxHash: hash, BlockNumber: block, TxIndex: seq, Position: "tx", Kind: chains.KindNative,
			From: []string{from}, To: to, Asset: "ETH", Amount: amount}
		tx := &chains.Tx{Hash: hash, BlockNumber: block, Index: seq, From: from, To: to, Value: amount, Fee: big.NewInt(21_000 * 1e9), Success: true}
		h.byAddr[from] = append(h.byAddr[from], t)
		if to != from {
			h.byAddr[to] = append(h.byAddr[to], t)
		}
		h.sent[from] = append(h.sent[from], tx)
	}
	// Clean wallets funded before the window.
	for i := 0; i < 50; i++ {
		pay("genesis", fmt.Sprintf("clean-%d", i), eth(1_000_000))
	}
	pay("genesis", "seed", eth(10_000_000))
	block = 10
	holders := make([]string, mules)
	for m := range holders {
		holders[m] = fmt.Sprintf("mule-%d-0", m)
		pay("seed", holders[m], eth(100_000+r.Int64N(100_000)))
	}
	bal := func(addr string) *big.Int { b, _ := h.BalanceAt(context.Background(), addr, "ETH", block); return b }
	for hop := 1; hop <= hops; hop++ {
		block++
		for m, from := range holders {
			if r.IntN(3) == 0 {
				pay(fmt.Sprintf("clean-%d", r.IntN(50)), from, eth(1_000+r.Int64N(50_000)))
			}
			if r.IntN(2) == 0 {
				pay(fmt.Sprintf("clean-%d", r.IntN(50)), fmt.Sprintf("clean-%d", r.IntN(50)), eth(1+r.Int64N(1_000)))
			}
			b := bal(from)
			cash := new(big.Int).Quo(b, big.NewInt(10))
			pay(from, fmt.Sprintf("exchange-%d", r.IntN(5)), cash)
			next := fmt.Sprintf("mule-%d-%d", m, hop)
			rest := new(big.Int).Sub(bal(from), big.NewInt(21_000*1e9))
			pay(from, next, rest)
			holders[m] = next
		}
	}
	return h, labels
}

func BenchmarkTraceModels(b *testing.B) {
	h, labels := launderingAccounts(40, 25)
	for _, set := range benchModelSets {
		b.Run(set.name, func(b *testing.B) {
			var rows int
			for b.Loop() {
				res, err := Trace(context.Background(), h, labels, Config{Seeds: []string{"seed"}, Models: set.models,
					MaxHops: 100, FromBlock: 10, ToBlock: 1000, NativeAsset: "ETH"})
				if err != nil {
					b.Fatal(err)
				}
				rows = len(res.Rows)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// launderingUTXO plays seed coins down peel chains that now and then
// merge with clean coins and pay exchanges.
func launderingUTXO(chains_, hops int) (*memChain, stopSet) {
	r := rand.New(rand.NewPCG(3, 4))
	c := newMemChain()
	stops := stopSet{}
	for i := 0; i < 5; i++ {
		stops[fmt.Sprintf("exchange-%d", i)] = fmt.Sprintf("Exchange %d", i)
	}
	var outs []out
	for i := 0; i < chains_; i++ {
		outs = append(outs, out{"seed", 5_000_000_000 + r.Int64N(1_000_000_000)})
	}
	for i := 0; i < chains_; i++ {
		outs = append(outs, out{fmt.Sprintf("clean-%d", i), 1_000_000_000})
	}
	fund := c.tx("", nil, outs...)
	heads := make([]string, chains_)
	clean := make([]string, chains_)
	for i := range heads {
		heads[i] = fmt.Sprintf("%s:%d", fund, i)
		clean[i] = fmt.Sprintf("%s:%d", fund, chains_+i)
	}
	value := func(op string) int64 {
		var vout uint32
		txid := op[:64]
		fmt.Sscan(op[65:], &vout)
		o, _ := c.txs[txid].Output(vout)
		return o.Amount.Int64()
	}
	for hop := 0; hop < hops; hop++ {
		for i := range heads {
			ins := []string{heads[i]}
			if clean[i] != "" && r.IntN(4) == 0 {
				ins = append(ins, clean[i]) // a merge with clean coins
				clean[i] = ""
			}
			v := int64(0)
			for _, op := range ins {
				v += value(op)
			}
			fee := int64(1_000 + r.Int64N(5_000))
			peel := v / 20
			txid := c.tx("", ins, out{fmt.Sprintf("peel-%d-%d", i, hop), v - peel - fee}, out{fmt.Sprintf("exchange-%d", r.IntN(5)), peel})
			heads[i] = txid + ":0"
		}
	}
	return c, stops
}

func BenchmarkTraceUTXOModels(b *testing.B) {
	c, stops := launderingUTXO(40, 50)
	for _, set := range benchModelSets {
		b.Run(set.name, func(b *testing.B) {
			var rows int
			for b.Loop() {
				res, err := TraceUTXO(context.Background(), c, stops, Config{Seeds: []string{"seed"}, Models: set.models,
					MaxHops: 1000, FromBlock: 0, ToBlock: 1 << 40})
				if err != nil {
					b.Fatal(err)
				}
				rows = len(res.Rows)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
