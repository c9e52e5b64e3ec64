package tracer_test

import (
	"context"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// workedModels are the five models of DESIGN.md's worked example, run side
// by side in one walk, in this order.
var workedModels = []taint.Kind{taint.FIFO, taint.LIFO, taint.TIHO, taint.Haircut, taint.Poison}

// workedFigures is the worked example's table in units of a hundredth of
// the example's unit (1 BTC; U on geth): per model (workedModels order)
// what the 4 and the 5.9 output carry, and the fee of 0.1.
var workedFigures = [][3]int64{
	{300, 0, 0},    // FIFO
	{0, 290, 10},   // LIFO
	{0, 300, 0},    // TIHO
	{120, 177, 3},  // haircut
	{400, 590, 10}, // poison
}

// TestWorkedExampleBtcd plays DESIGN.md's worked example on a real btcd:
// one transaction spends a 3 BTC output paid to the seed address and a
// 7 BTC output of a clean wallet (in that order) into 4 BTC to X and
// 5.9 BTC to Y (in that order), paying a fee of exactly 0.1 BTC. Indexed
// into a store and walked from the seed with all five models at once,
// the rows to X and Y, and the transaction's fee, carry exactly the
// table's figures under each model, and the transaction reconciles.
func TestWorkedExampleBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	const btc = 100_000_000 // sat
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 4})
	height := func() uint64 {
		t.Helper()
		_, h, err := n.Client().GetBestBlock()
		if err != nil {
			t.Fatal(err)
		}
		return uint64(h)
	}
	// The theft: 3 BTC to the seed S (its only output). Then 7 BTC to a
	// clean wallet K, in a later block.
	stolen, err := n.FundKeys(btcnode.To("worked-seed", btcnode.P2WPKH, 3*btc))
	if err != nil {
		t.Fatal(err)
	}
	from := height()
	clean, err := n.FundKeys(btcnode.To("worked-clean", btcnode.P2PKH, 7*btc))
	if err != nil {
		t.Fatal(err)
	}
	// The worked example: inputs [3 tainted, 7 clean], outputs [4, 5.9],
	// fee 0.1.
	const fee = btc / 10
	outs := []btcnode.Output{btcnode.To("worked-x", btcnode.P2WPKH, 4*btc), btcnode.To("worked-y", btcnode.P2PKH, 59*btc/10)}
	tx, err := n.Spend([]btcnode.Coin{stolen[0], clean[0]}, outs, fee)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	to := height()
	txid := tx.TxHash().String()
	seed := n.AddrP2WPKH("worked-seed").EncodeAddress()
	x := n.AddrP2WPKH("worked-x").EncodeAddress()
	y := n.AddrP2PKH("worked-y").EncodeAddress()

	ctx := context.Background()
	host, user, pass, _ := n.RPCConfig()
	a, err := bitcoin.Dial(ctx, "https://"+host, bitcoin.Options{User: user, Pass: pass, CertFile: n.CertFile()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := indexer.Run(ctx, a, st, from, to, indexer.Options{}); err != nil {
		t.Fatal(err)
	}
	hist := &tracer.StoreUTXO{Store: st, Chain: chains.BTC}

	// The seed as an address, and as the outpoint of the 3 BTC output:
	// the same walk.
	for _, sd := range []struct{ name, seed string }{{"address", seed}, {"outpoint", stolen[0].OutPoint.String()}} {
		s := sd.seed
		t.Run(sd.name, func(t *testing.T) {
			res, err := tracer.TraceUTXO(ctx, hist, nil, tracer.Config{Seeds: []string{s}, Models: workedModels, MaxHops: 5,
				FromBlock: from, ToBlock: to, NativeAsset: chains.AssetBTC})
			if err != nil {
				t.Fatal(err)
			}
			unit := big.NewInt(btc / 100)
			if len(res.Rows) != 2 {
				t.Errorf("%d rows, want the 4 and the 5.9 only", len(res.Rows))
			}
			checkWorkedRows(t, res.Rows, txid, map[string]int{x: 0, y: 1}, unit)
			if len(res.Reconciliation) != 1 || res.Reconciliation[0].TxHash != txid {
				t.Fatalf("reconciliation: %d entries, want the one of %s", len(res.Reconciliation), txid)
			}
			rc := res.Reconciliation[0]
			if err := rc.Check(); err != nil {
				t.Error(err)
			}
			if rc.ValueIn.Int64() != 10*btc || rc.ValueOut.Int64() != 99*btc/10 || rc.Fee.Int64() != fee ||
				rc.InputsTainted != 1 || rc.NumInputs != 2 {
				t.Errorf("reconciliation: in %s out %s fee %s, %d of %d inputs tainted", rc.ValueIn, rc.ValueOut, rc.Fee, rc.InputsTainted, rc.NumInputs)
			}
			checkWorkedFee(t, rc, unit)
			// What came in: the 3 BTC, wholly tainted (poison: the whole
			// 10 BTC the inputs hold).
			for m, k := range workedModels {
				want := int64(3 * btc)
				if k == taint.Poison {
					want = 10 * btc
				}
				if rc.In.Total[m].Int64() != want {
					t.Errorf("%s: taint in %s, want %d", k, rc.In.Total[m], want)
				}
			}
		})
	}
}

// checkWorkedRows: the rows are exactly the two outflows of the worked
// example's transaction txid, to the addresses of want (0: the 4, 1: the
// 5.9), each carrying the table's figures (times unit) under each model,
// all of the one colour, the primary model's figure as its Taint.
func checkWorkedRows(t *testing.T, rows []tracer.Row, txid string, want map[string]int, unit *big.Int) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		if r.TxHash != txid {
			continue
		}
		i, ok := want[r.To]
		if !ok {
			t.Errorf("a row of %s to %s, not the 4 or the 5.9", txid, r.To)
			continue
		}
		seen[r.To] = true
		amount := []int64{400, 590}[i]
		if r.Amount.Cmp(new(big.Int).Mul(big.NewInt(amount), unit)) != 0 {
			t.Errorf("row to %s: amount %s, want %d x %s", r.To, r.Amount, amount, unit)
		}
		if r.Taint.Cmp(r.Figures.Total[0]) != 0 {
			t.Errorf("row to %s: Taint %s, the primary model's figure %s", r.To, r.Taint, r.Figures.Total[0])
		}
		for m, k := range workedModels {
			w := new(big.Int).Mul(big.NewInt(workedFigures[m][i]), unit)
			got := r.Figures.Total[m]
			t.Logf("%-7s -> %s: %s of %s", k, r.To, got, r.Amount)
			if got.Cmp(w) != 0 {
				t.Errorf("%s: the %d output to %s carries %s, want %s", k, amount, r.To, got, w)
			}
			if k != taint.Poison && r.Figures.ByColour[m][0].Cmp(w) != 0 {
				t.Errorf("%s: the %d output to %s carries %s of the seed's colour, want %s", k, amount, r.To, r.Figures.ByColour[m][0], w)
			}
		}
	}
	for addr := range want {
		if !seen[addr] {
			t.Errorf("no row of %s to %s", txid, addr)
		}
	}
}

// checkWorkedFee: the fee of the worked example's transaction carries the
// table's figure (times unit) under each model.
func checkWorkedFee(t *testing.T, rc tracer.TxReconciliation, unit *big.Int) {
	t.Helper()
	for m, k := range workedModels {
		w := new(big.Int).Mul(big.NewInt(workedFigures[m][2]), unit)
		t.Logf("%-7s fee taint %s of %s", k, rc.FeeTaint.Total[m], rc.Fee)
		if rc.FeeTaint.Total[m].Cmp(w) != 0 {
			t.Errorf("%s: the fee carries %s, want %s", k, rc.FeeTaint.Total[m], w)
		}
	}
}
