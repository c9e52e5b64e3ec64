package tracer

import (
	"context"
	"math/big"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// memHistory is an in-memory History for unit tests of the walk's
// arithmetic; the integration tests use the store and a real node.
type memHistory struct {
	transfers []chains.Transfer
	txs       []chains.Tx
	balances  map[string]*big.Int // addr|asset -> balance before the window
}

func (m *memHistory) AddressTransfers(_ context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error {
	for i := range m.transfers {
		t := &m.transfers[i]
		if t.BlockNumber >= from && t.BlockNumber <= to && (t.From[0] == addr || t.To == addr) {
			if err := fn(t); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memHistory) SentTxs(_ context.Context, addr string, from, to uint64, fn func(*chains.Tx) error) error {
	for i := range m.txs {
		tx := &m.txs[i]
		if tx.BlockNumber >= from && tx.BlockNumber <= to && tx.From == addr {
			if err := fn(tx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memHistory) BalanceAt(_ context.Context, addr, asset string, n uint64) (*big.Int, error) {
	// Balance before the window, plus every movement up to block n.
	b := new(big.Int)
	if v := m.balances[addr+"|"+asset]; v != nil {
		b.Set(v)
	}
	for _, t := range m.transfers {
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
	if asset == "ETH" {
		for _, tx := range m.txs {
			if tx.BlockNumber <= n && tx.From == addr {
				b.Sub(b, tx.Fee)
			}
		}
	}
	return b, nil
}

type memLabels map[string][2]string

func (m memLabels) Stop(addr string) (string, string, bool) {
	l, ok := m[addr]
	return l[0], l[1], ok
}

// script builds transfers: each line is one transaction of one transfer.
type script struct {
	h   memHistory
	seq uint32
}

func (s *script) pay(block uint64, from, to string, amount, fee int64) {
	s.seq++
	hash := "0x" + big.NewInt(int64(s.seq)).Text(16)
	s.h.transfers = append(s.h.transfers, chains.Transfer{TxHash: hash, BlockNumber: block, TxIndex: s.seq, Position: "tx",
		Kind: chains.KindNative, From: []string{from}, To: to, Asset: "ETH", Amount: big.NewInt(amount)})
	s.h.txs = append(s.h.txs, chains.Tx{Hash: hash, BlockNumber: block, Index: s.seq, From: from, To: to,
		Value: big.NewInt(amount), Fee: big.NewInt(fee), Success: true})
}

func run(t *testing.T, s *script, model taint.Kind, maxHops int, labels memLabels, seeds ...string) *Result {
	t.Helper()
	res, err := Trace(context.Background(), &s.h, labels, Config{Seeds: seeds, Models: []taint.Kind{model}, MaxHops: maxHops,
		FromBlock: 1, ToBlock: 100, NativeAsset: "ETH"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func taintOf(res *Result, from, to string) string {
	for _, r := range res.Rows {
		if r.From[0] == from && r.To == to {
			return r.Taint.String()
		}
	}
	return "none"
}

// TestHaircutByHand: a thief's 600 reach A, which also holds 400 of clean
// money; A pays a fee of 10 then sends 500 to B, and B sends all 500 to an
// exchange. By hand: after the fee A holds 990 of which floor(10*600/1000)
// = 6 left with the fee, so 594 tainted; the 500 carry floor(500*594/990) =
// 300. B's 500 (300 tainted) go to the exchange whole: 300 tainted.
// Poison marks all of it: 500 and 500.
func TestHaircutByHand(t *testing.T) {
	s := &script{h: memHistory{balances: map[string]*big.Int{"C|ETH": big.NewInt(10_000), "V|ETH": big.NewInt(10_000)}}}
	s.pay(2, "V", "S", 1_000, 1) // the drain to the seed
	s.pay(3, "S", "A", 600, 1)   // tainted
	s.pay(4, "C", "A", 400, 1)   // clean
	s.pay(5, "A", "B", 500, 10)  // fee then value
	s.pay(6, "B", "EX", 500, 0)  // to the exchange
	s.pay(7, "EX", "Z", 100, 1)  // the exchange's own business: not followed
	labels := memLabels{"EX": {"Exchange 1", "exchange"}}

	res := run(t, s, taint.Haircut, 10, labels, "S")
	for _, c := range []struct{ from, to, want string }{{"S", "A", "600"}, {"A", "B", "300"}, {"B", "EX", "300"}, {"C", "A", "none"}, {"EX", "Z", "none"}} {
		if got := taintOf(res, c.from, c.to); got != c.want {
			t.Errorf("haircut %s->%s: taint %s, want %s", c.from, c.to, got, c.want)
		}
	}
	if len(res.Endpoints) != 1 || res.Endpoints[0].Amount.String() != "500" || res.Endpoints[0].Taint.String() != "300" {
		t.Fatalf("endpoints %+v", res.Endpoints)
	}
	res = run(t, s, taint.Poison, 10, labels, "S")
	for _, c := range []struct{ from, to, want string }{{"S", "A", "600"}, {"A", "B", "500"}, {"B", "EX", "500"}} {
		if got := taintOf(res, c.from, c.to); got != c.want {
			t.Errorf("poison %s->%s: taint %s, want %s", c.from, c.to, got, c.want)
		}
	}
}

// TestNeverBackwardsInTime: what an address sent before the taint reached
// it carries none, and a transfer out of the seed before the window's
// start is not seen.
func TestNeverBackwardsInTime(t *testing.T) {
	s := &script{h: memHistory{balances: map[string]*big.Int{"A|ETH": big.NewInt(50), "V|ETH": big.NewInt(1000)}}}
	s.pay(2, "A", "EARLY", 50, 0) // before A is tainted
	s.pay(3, "V", "S", 100, 0)
	s.pay(4, "S", "A", 100, 0)
	s.pay(5, "A", "LATE", 100, 0)
	res := run(t, s, taint.Haircut, 10, nil, "S")
	if got := taintOf(res, "A", "EARLY"); got != "none" {
		t.Errorf("A->EARLY carries %s", got)
	}
	if got := taintOf(res, "A", "LATE"); got != "100" {
		t.Errorf("A->LATE carries %s, want 100", got)
	}
}

// TestTaintNeverExceedsBalance: the lowest intermediate balance rule. A
// receives 100 tainted, sends 90 away, then receives 1000 clean: at most 10
// tainted remain, so a later 1000 carries at most 10.
func TestTaintNeverExceedsBalance(t *testing.T) {
	s := &script{h: memHistory{balances: map[string]*big.Int{"C|ETH": big.NewInt(10_000), "V|ETH": big.NewInt(1000)}}}
	s.pay(2, "V", "S", 100, 0)
	s.pay(3, "S", "A", 100, 0)
	s.pay(4, "A", "B", 90, 0)
	s.pay(5, "C", "A", 1000, 0)
	s.pay(6, "A", "D", 1000, 0)
	res := run(t, s, taint.Haircut, 10, nil, "S")
	if got := taintOf(res, "A", "D"); got != "9" { // floor(1000 * 10 / 1010)
		t.Errorf("A->D carries %s, want 9", got)
	}
	res = run(t, s, taint.Poison, 10, nil, "S")
	if got := taintOf(res, "A", "D"); got != "1000" {
		t.Errorf("poison A->D carries %s, want 1000", got)
	}
}

func TestHopLimitAndLeaves(t *testing.T) {
	s := &script{h: memHistory{balances: map[string]*big.Int{"V|ETH": big.NewInt(1000)}}}
	s.pay(2, "V", "S", 100, 0)
	s.pay(3, "S", "H1", 100, 0)
	s.pay(4, "H1", "H2", 100, 0)
	s.pay(5, "H2", "H3", 100, 0)
	res := run(t, s, taint.Haircut, 2, nil, "S")
	if taintOf(res, "H1", "H2") != "100" || taintOf(res, "H2", "H3") != "none" {
		t.Errorf("max-hops 2: rows %v", res.Rows)
	}
	for _, r := range res.Rows {
		if r.Hop > 2 {
			t.Errorf("row beyond the hop limit: %+v", r)
		}
	}
}

func TestNoActivity(t *testing.T) {
	s := &script{}
	s.pay(2, "X", "Y", 1, 0)
	_, err := Trace(context.Background(), &s.h, nil, Config{Seeds: []string{"S"}, Models: []taint.Kind{taint.Haircut}, MaxHops: 3, FromBlock: 1, ToBlock: 10, NativeAsset: "ETH"})
	if err == nil {
		t.Fatal("a seed with no activity traced without error")
	}
}

// TestMinValue: a transfer below the floor is not a row and is not
// followed, but it still leaves the sender's balance, so what follows is
// figured on the real balance.
func TestMinValue(t *testing.T) {
	s := &script{h: memHistory{balances: map[string]*big.Int{"V|ETH": big.NewInt(1000), "C|ETH": big.NewInt(1000)}}}
	s.pay(2, "V", "S", 100, 0)
	s.pay(3, "S", "A", 100, 0)
	s.pay(4, "A", "DUST", 10, 0) // below the floor
	s.pay(5, "DUST", "F", 10, 0)
	s.pay(6, "C", "A", 90, 0) // clean
	s.pay(7, "A", "B", 180, 0)
	res, err := Trace(context.Background(), &s.h, nil, Config{Seeds: []string{"S"}, Models: []taint.Kind{taint.Haircut}, MaxHops: 10,
		MinValue: big.NewInt(50), FromBlock: 1, ToBlock: 100, NativeAsset: "ETH"})
	if err != nil {
		t.Fatal(err)
	}
	if got := taintOf(res, "A", "DUST"); got != "none" {
		t.Errorf("a transfer below --min-value is a row: %s", got)
	}
	if got := taintOf(res, "DUST", "F"); got != "none" {
		t.Errorf("an address reached only below --min-value was followed: %s", got)
	}
	// A held 100 tainted, sent 10 (taint 10) below the floor, received 90
	// clean: 180 of which 90 tainted; all of it leaves.
	if got := taintOf(res, "A", "B"); got != "90" {
		t.Errorf("A->B carries %s, want 90", got)
	}
}
