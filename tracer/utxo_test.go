package tracer

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

func bigs(xs ...int64) []*big.Int {
	out := make([]*big.Int, len(xs))
	for i, x := range xs {
		out[i] = big.NewInt(x)
	}
	return out
}

func coins(pairs ...int64) []taint.Coin {
	var out []taint.Coin
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, taint.Coin{Value: big.NewInt(pairs[i]), Taint: taint.Taint{ByColour: bigs(pairs[i+1])}})
	}
	return out
}

func strs(xs []*big.Int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, "/")
}

func TestTxModels(t *testing.T) {
	for _, tc := range []struct {
		name          string
		model         taint.Kind
		ins           []taint.Coin
		outs          []int64
		fee           int64
		wantOuts      string
		wantFee, inTT int64
	}{
		// DESIGN.md's worked example in satoshi: inputs [3 tainted, 7
		// clean], outputs [4, 5.9], fee 0.1.
		{"haircut design example", taint.Haircut, coins(300, 300, 700, 0), []int64{400, 590}, 10, "120/177", 3, 300},
		{"poison design example", taint.Poison, coins(300, 300, 700, 0), []int64{400, 590}, 10, "400/590", 10, 1000},
		{"poison clean", taint.Poison, coins(300, 0), []int64{290}, 10, "0", 0, 0},
		{"haircut clean", taint.Haircut, coins(300, 0), []int64{290}, 10, "0", 0, 0},
		{"haircut whole", taint.Haircut, coins(300, 300), []int64{100, 190}, 10, "100/190", 10, 300},
		// 1/3 each floors to 0: the remainder (1) goes to the fee.
		{"haircut remainder to fee", taint.Haircut, coins(2, 1, 1, 0), []int64{1, 1}, 1, "0/0", 1, 1},
		// No fee: the remainder goes to the largest output, the earlier of equals.
		{"haircut remainder to largest", taint.Haircut, coins(2, 1, 1, 0), []int64{1, 2}, 0, "0/1", 0, 1},
		{"haircut remainder over several", taint.Haircut, coins(3, 2, 0, 0), []int64{1, 1, 1}, 0, "1/1/0", 0, 2},
		{"haircut remainder beyond the fee", taint.Haircut, coins(7, 5, 3, 0), []int64{3, 3, 3}, 1, "2/1/1", 1, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs := bigs(tc.outs...)
			split, err := taint.SplitTx(tc.model, 1, tc.ins, outs, big.NewInt(tc.fee))
			if err != nil {
				t.Fatal(err)
			}
			vin := new(big.Int)
			for _, c := range tc.ins {
				vin.Add(vin, c.Value)
			}
			got := make([]*big.Int, len(outs))
			sum := split.Fee.Total(tc.model, big.NewInt(tc.fee))
			for i, o := range split.Outs {
				got[i] = o.Total(tc.model, outs[i])
				sum.Add(sum, got[i])
				if got[i].Cmp(outs[i]) > 0 {
					t.Errorf("output %d taint %s exceeds its value %d", i, got[i], tc.outs[i])
				}
			}
			fee, in := split.Fee.Total(tc.model, big.NewInt(tc.fee)), split.In.Total(tc.model, vin)
			if strs(got) != tc.wantOuts || fee.Int64() != tc.wantFee || in.Int64() != tc.inTT {
				t.Fatalf("split = %s fee %s in %s; want %s fee %d in %d", strs(got), fee, in, tc.wantOuts, tc.wantFee, tc.inTT)
			}
			if sum.Cmp(in) != 0 {
				t.Errorf("taint does not reconcile: %s out+fee, %s in", sum, in)
			}
		})
	}
}

// memChain is an in-memory utxo chain for walk tests: transactions are
// added in chain order, each in its own block unless stated.
type memChain struct {
	txs     map[string]*UTXOTx
	order   []string
	spentBy map[string]string
	block   uint64
	calls   int
}

func newMemChain() *memChain {
	return &memChain{txs: map[string]*UTXOTx{}, spentBy: map[string]string{}, block: 100}
}

type out struct {
	to    string
	value int64
}

// tx adds a transaction spending ins ("id:vout") with outs, fee = in - out.
func (c *memChain) tx(id string, ins []string, outs ...out) string {
	c.block++
	txid := fmt.Sprintf("%064x", len(c.order)+1)
	if id != "" {
		txid = strings.Repeat(id, 64/len(id))
	}
	tx := &UTXOTx{Tx: chains.Tx{Hash: txid, BlockNumber: c.block, Index: 1, Success: true, Value: new(big.Int), Fee: new(big.Int)}, NumOutputs: len(outs)}
	from := []string{}
	inSum := int64(0)
	for _, op := range ins {
		ptxid, v, _ := strings.Cut(op, ":")
		var vout uint32
		fmt.Sscan(v, &vout)
		p := c.txs[ptxid]
		o, _ := p.Output(vout)
		tx.Tx.Inputs = append(tx.Tx.Inputs, chains.Input{TxID: ptxid, Vout: vout, Value: new(big.Int).Set(o.Amount), Address: o.To})
		if !slices.Contains(from, o.To) {
			from = append(from, o.To)
		}
		inSum += o.Amount.Int64()
		c.spentBy[op] = txid
	}
	outSum := int64(0)
	for n, o := range outs {
		outSum += o.value
		if o.value == 0 {
			continue
		}
		tx.Outputs = append(tx.Outputs, chains.Transfer{TxHash: txid, BlockNumber: c.block, TxIndex: 1, BlockHash: fmt.Sprintf("%064x", c.block),
			Timestamp: 1_600_000_000 + c.block, Ordinal: uint32(n), Position: fmt.Sprintf("out:%d", n), Kind: chains.KindUTXO,
			From: from, To: o.to, Asset: chains.AssetBTC, Amount: big.NewInt(o.value)})
	}
	tx.Tx.Value.SetInt64(outSum)
	if len(ins) > 0 {
		tx.Tx.Fee.SetInt64(inSum - outSum)
		tx.Tx.From = tx.Tx.Inputs[0].Address
	}
	c.txs[txid] = tx
	c.order = append(c.order, txid)
	return txid
}

func (c *memChain) AddressOutputs(_ context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error {
	c.calls++
	for _, id := range c.order {
		tx := c.txs[id]
		if tx.Tx.BlockNumber < from || tx.Tx.BlockNumber > to {
			continue
		}
		for i := range tx.Outputs {
			if tx.Outputs[i].To == addr {
				if err := fn(&tx.Outputs[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *memChain) Spender(_ context.Context, txid string, vout uint32, to uint64) (string, bool, error) {
	c.calls++
	s, ok := c.spentBy[fmt.Sprintf("%s:%d", txid, vout)]
	if !ok || c.txs[s].Tx.BlockNumber > to {
		return "", false, nil
	}
	return s, true, nil
}

func (c *memChain) Tx(_ context.Context, txid string) (*UTXOTx, error) {
	c.calls++
	tx, ok := c.txs[txid]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTx, txid)
	}
	return tx, nil
}

type stopSet map[string]string

func (s stopSet) Stop(addr string) (string, string, bool) {
	l, ok := s[addr]
	return l, "exchange", ok
}

func rowsOf(res *Result) []string {
	var out []string
	for _, r := range res.Rows {
		out = append(out, fmt.Sprintf("%s %s %s taint %s hop %d", r.Position, r.To, r.Amount, r.Taint, r.Hop))
	}
	return out
}

func addrsOf(res *Result) map[string]string {
	out := map[string]string{}
	for _, a := range res.Addresses {
		out[a.Address] = fmt.Sprintf("hop %d taint %s", a.Hop, a.Taint[chains.AssetBTC])
	}
	return out
}

func TestTraceUTXO(t *testing.T) {
	ctx := context.Background()
	c := newMemChain()
	fund := c.tx("", nil, out{"thief", 100_000}, out{"other", 5_000})               // block 101 (coinbase-like)
	clean := c.tx("", nil, out{"clean", 50_000})                                    // 102
	peel1 := c.tx("", []string{fund + ":0"}, out{"ex1", 10_000}, out{"p1", 89_000}) // 103
	peel2 := c.tx("", []string{peel1 + ":1"}, out{"p2", 80_000}, out{"ex2", 8_000}) // 104
	// Consolidation with a clean input: haircut halves... 80,000 tainted of 130,000.
	merge := c.tx("", []string{peel2 + ":0", clean + ":0"}, out{"m", 129_000}, out{"", 0})          // 105, with an OP_RETURN-like zero output
	fan := c.tx("", []string{merge + ":0"}, out{"f1", 60_000}, out{"f2", 60_000}, out{"f3", 8_000}) // 106
	_ = c.tx("", []string{fund + ":1"}, out{"unrelated", 4_000})                                    // 107: spends the clean sibling
	labels := stopSet{"ex1": "Exchange One", "ex2": "Exchange Two"}

	cfg := Config{Seeds: []string{"thief"}, Models: []taint.Kind{taint.Haircut}, MaxHops: 10, FromBlock: 0, ToBlock: 1000}
	res, err := TraceUTXO(ctx, c, labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"out:0 ex1 10000 taint 10000 hop 1",
		"out:1 p1 89000 taint 89000 hop 1",
		"out:0 p2 80000 taint 80000 hop 2",
		"out:1 ex2 8000 taint 8000 hop 2",
		// 80,000 of 130,000 in: 129,000 * 8/13 = 79,384.6 -> 79,384; the
		// fee 1,000 takes the rest, 616.
		"out:0 m 129000 taint 79384 hop 3",
		"out:0 f1 60000 taint 36922 hop 4",
		"out:1 f2 60000 taint 36922 hop 4",
		"out:2 f3 8000 taint 4923 hop 4",
	}
	if got := rowsOf(res); !slices.Equal(got, want) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantAddrs := map[string]string{
		"thief": "hop 0 taint 100000", "ex1": "hop 1 taint 10000", "p1": "hop 1 taint 89000",
		"p2": "hop 2 taint 80000", "ex2": "hop 2 taint 8000", "m": "hop 3 taint 79384",
		"f1": "hop 4 taint 36922", "f2": "hop 4 taint 36922", "f3": "hop 4 taint 4923",
	}
	if got := addrsOf(res); fmt.Sprint(got) != fmt.Sprint(wantAddrs) {
		t.Errorf("addresses %v\nwant %v", got, wantAddrs)
	}
	if len(res.Endpoints) != 2 || res.Endpoints[0].Address != "ex1" || res.Endpoints[0].Taint.Int64() != 10_000 ||
		res.Endpoints[1].Address != "ex2" || res.Endpoints[1].Amount.Int64() != 8_000 {
		t.Errorf("endpoints %+v", res.Endpoints)
	}
	// Every transaction passed through reconciles, and the list is the
	// four spending ones in chain order.
	var rcs []string
	for _, rc := range res.Reconciliation {
		if err := rc.Check(); err != nil {
			t.Error(err)
		}
		rcs = append(rcs, fmt.Sprintf("%s in %s/%s out %s/%s fee %s/%s", rc.TxHash[60:], rc.ValueIn, rc.TaintIn, rc.ValueOut, rc.TaintOut, rc.Fee, rc.TFee))
	}
	wantRC := []string{
		peel1[60:] + " in 100000/100000 out 99000/99000 fee 1000/1000",
		peel2[60:] + " in 89000/89000 out 88000/88000 fee 1000/1000",
		merge[60:] + " in 130000/80000 out 129000/79384 fee 1000/616",
		fan[60:] + " in 129000/79384 out 128000/78767 fee 1000/617",
	}
	if !slices.Equal(rcs, wantRC) {
		t.Errorf("reconciliation:\n%s\nwant:\n%s", strings.Join(rcs, "\n"), strings.Join(wantRC, "\n"))
	}

	t.Run("poison", func(t *testing.T) {
		cfg := cfg
		cfg.Models = []taint.Kind{taint.Poison}
		res, err := TraceUTXO(ctx, c, labels, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOf(res)[4]; got != "out:0 m 129000 taint 129000 hop 3" {
			t.Errorf("poison row %s", got)
		}
		for _, rc := range res.Reconciliation {
			if err := rc.Check(); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("max hops", func(t *testing.T) {
		cfg := cfg
		cfg.MaxHops = 2
		res, err := TraceUTXO(ctx, c, labels, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOf(res); len(got) != 4 || !strings.HasSuffix(got[3], "hop 2") {
			t.Errorf("rows with max hops 2: %v", got)
		}
	})
	t.Run("min value", func(t *testing.T) {
		cfg := cfg
		cfg.MinValue = big.NewInt(50_000)
		res, err := TraceUTXO(ctx, c, labels, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rows {
			if r.Amount.Int64() < 50_000 {
				t.Errorf("row below the value floor: %s %s", r.To, r.Amount)
			}
		}
		if len(res.Rows) != 5 {
			t.Errorf("rows: %v", rowsOf(res))
		}
	})
	t.Run("outpoint seed", func(t *testing.T) {
		cfg := cfg
		cfg.Seeds = []string{peel2 + ":0"}
		res, err := TraceUTXO(ctx, c, labels, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := rowsOf(res)
		if len(got) != 4 || got[0] != "out:0 m 129000 taint 79384 hop 1" {
			t.Errorf("rows from the output seed: %v", got)
		}
		if a := addrsOf(res)["p2"]; a != "hop 0 taint 80000" {
			t.Errorf("the seed output's address: %q", a)
		}
	})
	t.Run("window", func(t *testing.T) {
		cfg := cfg
		cfg.ToBlock = 104 // the merge (105) is past the window
		res, err := TraceUTXO(ctx, c, labels, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOf(res); len(got) != 4 {
			t.Errorf("rows in blocks up to 104: %v", got)
		}
		// The thief was paid in 101: from 102 it still holds the coin, and
		// the trace is the same; from 104 the coin was spent (in 103)
		// before the window opened.
		cfg.FromBlock, cfg.ToBlock = 102, 1000
		res, err = TraceUTXO(ctx, c, labels, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOf(res); len(got) != 8 || addrsOf(res)["thief"] != "hop 0 taint 100000" {
			t.Errorf("from block 102, the coin held: %v %v", got, addrsOf(res))
		}
		cfg.FromBlock = 104
		if _, err := TraceUTXO(ctx, c, labels, cfg); !errors.Is(err, ErrNoActivity) {
			t.Errorf("a seed whose coin was spent before the window: %v", err)
		}
	})
	t.Run("script seed", func(t *testing.T) {
		// An output to a non-standard script is shown as script: and the
		// SHA-256 of the script; as a seed it is an address, not an outpoint.
		script := "script:" + strings.Repeat("5a", 32)
		sc := newMemChain()
		paid := sc.tx("", nil, out{script, 40_000})
		sc.tx("", []string{paid + ":0"}, out{"next", 39_000})
		cfg := cfg
		cfg.Seeds = []string{script}
		res, err := TraceUTXO(ctx, sc, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOf(res); len(got) != 1 || got[0] != "out:0 next 39000 taint 39000 hop 1" {
			t.Errorf("rows from a script seed: %v", got)
		}
	})
	t.Run("bad seeds", func(t *testing.T) {
		for seed, want := range map[string]error{
			peel2 + ":7":                   ErrUnknownOutput,
			strings.Repeat("e", 64) + ":0": ErrUnknownTx,
		} {
			cfg := cfg
			cfg.Seeds = []string{seed}
			if _, err := TraceUTXO(ctx, c, labels, cfg); !errors.Is(err, want) {
				t.Errorf("seed %s: %v, want %v", seed, err, want)
			}
		}
		cfg := cfg
		cfg.Seeds = []string{"abc:1"}
		if _, err := TraceUTXO(ctx, c, labels, cfg); err == nil || !strings.Contains(err.Error(), "txid:vout") {
			t.Errorf("malformed outpoint: %v", err)
		}
	})
	// The result is deterministic: addresses sorted by hop, then address.
	if !sort.SliceIsSorted(res.Addresses, func(i, j int) bool {
		a, b := res.Addresses[i], res.Addresses[j]
		return a.Hop < b.Hop || a.Hop == b.Hop && a.Address < b.Address
	}) {
		t.Error("addresses are not sorted")
	}
}
