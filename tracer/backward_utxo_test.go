package tracer_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// hackerLabels labels addresses as a hacker's.
type hackerLabels map[string]string

func (l hackerLabels) Stop(addr string) (string, string, bool) {
	label, ok := l[addr]
	return label, "hacker", ok
}

// backBtcCase is the backward case played on a real btcd: the keys' addresses, the transactions and the window.
type backBtcCase struct {
	hist               tracer.UTXOHistory
	from, to           uint64
	h1, h2, d          string
	tx                 map[string]string // tx1..tx7 -> txid
	fundH1, fundH2     string            // the hackers' coins (outpoints)
	fundO, fundN, preD string            // O's, N's and D's coins of block F
	windowOnly         tracer.UTXOHistory
}

// playBackBtc plays, on a real btcd, two labelled hack wallets H1 and H2,
// an unlabelled origin O and a clean wallet N funding a deposit address D
// (amounts in satoshi):
//
//	block F (before the window): the harness wallet pays H1 500,000,000,
//	  H2 300,000,000, O 200,000,000, N 150,000,000, and D 40,000,000
//	  (a receipt of D's before the window: not counted).
//	block F+1: tx1 H1's coin -> A 300,000,000, P 199,990,000 (fee 10,000):
//	  a peel.
//	  tx2 N's coin (clean noise), then H2's -> B 400,000,000,
//	  Y 49,990,000 (fee 10,000): Y is a spend elsewhere.
//	block F+2: tx3 A, B, O's coin -> D 600,000,000, M 299,980,000
//	  (fee 20,000).
//	  tx4 P -> D 50,000,000, P2 149,980,000 (fee 10,000): the peel's next.
//	block F+3: tx5 M -> D 100,000,000, Z 199,970,000 (fee 10,000).
//	  tx6 P2 -> W 149,970,000 (fee 10,000): a spend elsewhere.
//	block F+4 (after the window): tx7 Z -> D 100,000,000, Z2 99,960,000
//	  (fee 10,000): not counted.
//
// The window is F+1..F+3; the store holds F..F+4 (windowOnly: a store of
// F+1..F+4, without the coins' transactions of block F).
func playBackBtc(t *testing.T) *backBtcCase {
	t.Helper()
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 4})
	height := func() uint64 {
		t.Helper()
		_, h, err := n.Client().GetBestBlock()
		if err != nil {
			t.Fatal(err)
		}
		return uint64(h)
	}
	P2PKH, P2WPKH := btcnode.P2PKH, btcnode.P2WPKH
	funded, err := n.FundKeys(btcnode.To("back-h1", P2WPKH, 500_000_000), btcnode.To("back-h2", P2PKH, 300_000_000),
		btcnode.To("back-o", P2WPKH, 200_000_000), btcnode.To("back-n", P2WPKH, 150_000_000), btcnode.To("back-d", P2WPKH, 40_000_000))
	if err != nil {
		t.Fatal(err)
	}
	f := height()
	spend := func(from []btcnode.Coin, fee int64, outs ...btcnode.Output) ([]btcnode.Coin, string) {
		t.Helper()
		tx, err := n.Spend(from, outs, fee)
		if err != nil {
			t.Fatal(err)
		}
		return btcnode.CoinsOf(tx, outs), tx.TxHash().String()
	}
	mine := func() {
		t.Helper()
		if _, err := n.Mine(1); err != nil {
			t.Fatal(err)
		}
	}
	c := &backBtcCase{from: f + 1, to: f + 3, tx: map[string]string{}}
	var tx1, tx2, tx3, tx4, tx5 []btcnode.Coin
	tx1, c.tx["tx1"] = spend(funded[0:1], 10_000, btcnode.To("back-a", P2WPKH, 300_000_000), btcnode.To("back-p", P2PKH, 199_990_000))
	tx2, c.tx["tx2"] = spend([]btcnode.Coin{funded[3], funded[1]}, 10_000, btcnode.To("back-b", P2PKH, 400_000_000), btcnode.To("back-y", P2WPKH, 49_990_000))
	mine()
	tx3, c.tx["tx3"] = spend([]btcnode.Coin{tx1[0], tx2[0], funded[2]}, 20_000, btcnode.To("back-d", P2WPKH, 600_000_000), btcnode.To("back-m", P2WPKH, 299_980_000))
	tx4, c.tx["tx4"] = spend(tx1[1:2], 10_000, btcnode.To("back-d", P2WPKH, 50_000_000), btcnode.To("back-p2", P2WPKH, 149_980_000))
	mine()
	tx5, c.tx["tx5"] = spend(tx3[1:2], 10_000, btcnode.To("back-d", P2WPKH, 100_000_000), btcnode.To("back-z", P2PKH, 199_970_000))
	_, c.tx["tx6"] = spend(tx4[1:2], 10_000, btcnode.To("back-w", P2WPKH, 149_970_000))
	mine()
	_, c.tx["tx7"] = spend(tx5[1:2], 10_000, btcnode.To("back-d", P2WPKH, 100_000_000), btcnode.To("back-z2", P2WPKH, 99_960_000))
	mine()
	if got := height(); got != f+4 {
		t.Fatalf("height %d, want %d", got, f+4)
	}
	op := func(o wire.OutPoint) string { return o.String() }
	c.fundH1, c.fundH2, c.fundO, c.fundN, c.preD = op(funded[0].OutPoint), op(funded[1].OutPoint), op(funded[2].OutPoint), op(funded[3].OutPoint), op(funded[4].OutPoint)
	c.h1 = n.AddrP2WPKH("back-h1").EncodeAddress()
	c.h2 = n.AddrP2PKH("back-h2").EncodeAddress()
	c.d = n.AddrP2WPKH("back-d").EncodeAddress()

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
	if _, err := indexer.Run(ctx, a, st, f, f+4, indexer.Options{}); err != nil {
		t.Fatal(err)
	}
	c.hist = &tracer.StoreUTXO{Store: st, Chain: chains.BTC}
	ws, err := store.Open(filepath.Join(t.TempDir(), "window"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if _, err := indexer.Run(ctx, a, ws, f+1, f+4, indexer.Options{}); err != nil {
		t.Fatal(err)
	}
	c.windowOnly = &tracer.StoreUTXO{Store: ws, Chain: chains.BTC}
	return c
}

func (c *backBtcCase) trace(t *testing.T, maxHops int, models ...taint.Kind) *tracer.BackResult {
	t.Helper()
	b, err := tracer.TraceBackUTXO(context.Background(), c.hist, hackerLabels{c.h1: "Hack 1", c.h2: "Hack 2"},
		tracer.Config{Seeds: []string{c.d}, Models: models, MaxHops: maxHops, FromBlock: c.from, ToBlock: c.to, NativeAsset: chains.AssetBTC})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTraceBackUTXO traces D's receipts in the window back to H1
// and H2 on the case of playBackBtc, and checks each source's share of
// them by hand.
//
// Discovery: D's outputs in the window (hop 1) are tx3:0 (600,000,000),
// tx4:0 (50,000,000) and tx5:0 (100,000,000): D received 750,000,000 (not
// its 40,000,000 of block F, nor tx7's 100,000,000 of block F+4). Their
// transactions' inputs (hop 2): A (tx1:0), B (tx2:0), O's coin of block F
// (before the window: an origin), P (tx1:1), M (tx3:1). tx1's and tx2's
// inputs (hop 3): H1's and H2's coins (labelled: the seeds, though created
// before the window) and N's (an origin). Y (tx2:1), P2 (tx4:1), Z
// (tx5:1), tx6 and tx7 are no edges.
//
// FIFO (the inputs end to end, each output the next slice, the fee last):
//
//	tx1: A takes 300,000,000 of H1's 500,000,000, P 199,990,000.
//	tx2: tape [150,000,000 N clean][300,000,000 H2]: B takes all of N's
//	  and 250,000,000 H2, laid out in that order.
//	tx3: tape A [300,000,000 H1], B [150,000,000 clean][250,000,000 H2],
//	  O [200,000,000 clean]: D's 600,000,000 take 300,000,000 H1,
//	  150,000,000 clean, 150,000,000 H2; M's 299,980,000 take the other
//	  100,000,000 H2 and 199,980,000 clean.
//	tx4: D's 50,000,000 are all H1 (P was).
//	tx5: M's tape [100,000,000 H2][199,980,000 clean]: D's 100,000,000
//	  are H2.
//	D: H1 300,000,000 + 50,000,000 = 350,000,000;
//	   H2 150,000,000 + 100,000,000 = 250,000,000.
//
// Haircut (each output floor(value x colour's taint in / value in); the
// remainders, less than the fee each time, go to the fee):
//
//	tx1: all H1: A 300,000,000, P 199,990,000.
//	tx2: H2 300,000,000 of 450,000,000: B floor(400,000,000 x 2/3) =
//	  266,666,666.
//	tx3: in 900,000,000 holding H1 300,000,000 and H2 266,666,666:
//	  D H1 600,000,000 x 300,000,000 / 900,000,000 = 200,000,000,
//	  D H2 floor(600,000,000 x 266,666,666 / 900,000,000) = 177,777,777;
//	  M H1 floor(299,980,000 / 3) = 99,993,333,
//	  M H2 floor(299,980,000 x 266,666,666 / 900,000,000) =
//	  floor(88,882,962.74) = 88,882,962.
//	tx4: D's 50,000,000 all H1.
//	tx5: in 299,980,000: D H1 floor(100,000,000 x 99,993,333 /
//	  299,980,000) = floor(33,333,333.22) = 33,333,333, D H2
//	  floor(100,000,000 x 88,882,962 / 299,980,000) = floor(29,629,629.31)
//	  = 29,629,629.
//	D: H1 200,000,000 + 50,000,000 + 33,333,333 = 283,333,333;
//	   H2 177,777,777 + 29,629,629 = 207,407,406.
//
// Poison: all three receipts are marked; H1 marks all 750,000,000 (tx3,
// tx4 and tx5 each carry some of it), H2 tx3's and tx5's, 700,000,000.
func TestTraceBackUTXO(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	c := playBackBtc(t)
	t.Run("by hand", func(t *testing.T) { checkBackUTXOByHand(t, c) })
	// From a store of the window alone the coins of block F are known
	// only by the inputs spending them: the same trace.
	w := *c
	w.hist = c.windowOnly
	t.Run("window only", func(t *testing.T) { checkBackUTXOByHand(t, &w) })
	t.Run("hop limit", func(t *testing.T) { checkBackUTXOHopLimit(t, c) })
}

func checkBackUTXOByHand(t *testing.T, c *backBtcCase) {
	models := []taint.Kind{taint.FIFO, taint.Haircut, taint.Poison}
	b := c.trace(t, 10, models...)
	want := []string{c.h1, c.h2}
	sort.Strings(want)
	if !slices.Equal(b.Sources, want) {
		t.Fatalf("sources %v, want H1 %s and H2 %s", b.Sources, c.h1, c.h2)
	}
	colour := map[string]int{b.Sources[0]: 0, b.Sources[1]: 1}
	h1, h2 := colour[c.h1], colour[c.h2]

	// The attribution starts from the hackers' coins, of their colours.
	if !slices.Equal(b.Attribution.Colours, b.Sources) || len(b.Attribution.Seeds) != 2 {
		t.Fatalf("attribution seeds %v colours %v", b.Attribution.Seeds, b.Attribution.Colours)
	}
	for i, s := range b.Attribution.Seeds {
		wantC := map[string]int{c.fundH1: h1, c.fundH2: h2}
		if cc, ok := wantC[s]; !ok || b.Attribution.SeedColours[i] != cc {
			t.Errorf("seed %s of colour %d: want the hackers' coins %s (colour %d) and %s (colour %d)", s, b.Attribution.SeedColours[i], c.fundH1, h1, c.fundH2, h2)
		}
	}

	shares := b.Shares()
	if len(shares) != 1 || shares[0].Target != c.d || shares[0].Asset != chains.AssetBTC {
		t.Fatalf("shares %+v: want D's BTC", shares)
	}
	sh := shares[0]
	if sh.Received.Int64() != 750_000_000 {
		t.Errorf("D received %s in the window, want 750,000,000 (tx3, tx4, tx5; not block F's or tx7's)", sh.Received)
	}
	for _, tc := range []struct {
		model         int
		h1, h2, total int64
		name          string
	}{
		{0, 350_000_000, 250_000_000, 600_000_000, "fifo"},
		{1, 283_333_333, 207_407_406, 490_740_739, "haircut"},
		{2, 750_000_000, 700_000_000, 750_000_000, "poison"},
	} {
		f := sh.Figures
		if f.ByColour[tc.model][h1].Int64() != tc.h1 || f.ByColour[tc.model][h2].Int64() != tc.h2 || f.Total[tc.model].Int64() != tc.total {
			t.Errorf("%s: D's share H1 %s, H2 %s, total %s; want %d, %d, %d", tc.name, f.ByColour[tc.model][h1], f.ByColour[tc.model][h2], f.Total[tc.model], tc.h1, tc.h2, tc.total)
		}
	}

	// The rows: the edges created in the window, hop back from D.
	type rk struct {
		tx  string
		out uint32
	}
	wantRows := map[rk]int{
		{c.tx["tx1"], 0}: 2, {c.tx["tx1"], 1}: 2, {c.tx["tx2"], 0}: 2,
		{c.tx["tx3"], 0}: 1, {c.tx["tx3"], 1}: 2, {c.tx["tx4"], 0}: 1, {c.tx["tx5"], 0}: 1,
	}
	for _, r := range b.Rows {
		hop, ok := wantRows[rk{r.TxHash, r.Ordinal}]
		if !ok {
			t.Errorf("row %s:%d to %s: not an edge of D's funds", r.TxHash, r.Ordinal, r.To)
			continue
		}
		delete(wantRows, rk{r.TxHash, r.Ordinal})
		if r.Hop != hop {
			t.Errorf("row %s:%d: hop %d, want %d", r.TxHash, r.Ordinal, r.Hop, hop)
		}
		if r.Taint.Cmp(r.Figures.Total[0]) != 0 {
			t.Errorf("row %s:%d: taint %s, its FIFO figure %s", r.TxHash, r.Ordinal, r.Taint, r.Figures.Total[0])
		}
	}
	for k := range wantRows {
		t.Errorf("no row of edge %s:%d", k.tx, k.out)
	}
	// The coins of block F, before the window, are edges (O's and N's
	// origins, the hackers' seeds) but no rows; D's own coin of block F is
	// no edge at all.
	for _, r := range b.Rows {
		if r.BlockNumber < c.from || r.BlockNumber > c.to {
			t.Errorf("row %s:%d of block %d, outside the window %d-%d", r.TxHash, r.Ordinal, r.BlockNumber, c.from, c.to)
		}
	}
	// M's row carries FIFO's 100,000,000 of H2 and haircut's 99,993,333 of
	// H1 and 88,882,962 of H2 (above).
	for _, r := range b.Rows {
		if r.TxHash == c.tx["tx3"] && r.Ordinal == 1 {
			f := r.Figures
			if f.ByColour[0][h1].Sign() != 0 || f.ByColour[0][h2].Int64() != 100_000_000 || f.ByColour[1][h1].Int64() != 99_993_333 || f.ByColour[1][h2].Int64() != 88_882_962 {
				t.Errorf("M's row: fifo %v, haircut %v", f.ByColour[0], f.ByColour[1])
			}
		}
	}

	// The sources: what each put in, all of its colour.
	if len(b.Endpoints) != 2 {
		t.Fatalf("endpoints %+v: want H1 and H2", b.Endpoints)
	}
	for _, ep := range b.Endpoints {
		amount, cc := int64(500_000_000), h1
		if ep.Address == c.h2 {
			amount, cc = 300_000_000, h2
		}
		if ep.Category != "hacker" || ep.Amount.Int64() != amount || ep.FirstBlock != c.from || ep.LastBlock != c.from {
			t.Errorf("endpoint %s: %s %s, blocks %d-%d; want hacker, %d spent in block %d", ep.Address, ep.Category, ep.Amount, ep.FirstBlock, ep.LastBlock, amount, c.from)
		}
		for m := range models {
			if ep.Figures.Total[m].Int64() != amount || ep.Figures.ByColour[m][cc].Int64() != amount || ep.Figures.ByColour[m][1-cc].Sign() != 0 {
				t.Errorf("endpoint %s under %s: %s, by colour %v; want all %d of its colour", ep.Address, models[m], ep.Figures.Total[m], ep.Figures.ByColour[m], amount)
			}
		}
	}

	// Every transaction the attribution passed through reconciles: tx1 to
	// tx5, not tx6 (spending P2, no edge) nor tx7 (after the window).
	var recs []string
	for _, rc := range b.Reconciliation {
		recs = append(recs, rc.TxHash)
		if err := rc.Check(); err != nil {
			t.Error(err)
		}
	}
	wantRecs := []string{c.tx["tx1"], c.tx["tx2"], c.tx["tx3"], c.tx["tx4"], c.tx["tx5"]}
	slices.Sort(recs)
	slices.Sort(wantRecs)
	if !slices.Equal(recs, wantRecs) {
		t.Errorf("reconciled %v, want tx1-tx5 %v", recs, wantRecs)
	}

	// D's address: hop 0, its figures the attribution.
	for _, a := range b.Addresses {
		if a.Address == c.d {
			if a.Hop != 0 || a.Figures[chains.AssetBTC].Total[1].Int64() != 490_740_739 {
				t.Errorf("D: hop %d, figures %+v", a.Hop, a.Figures)
			}
		}
		if a.Address == c.h1 && (a.Hop != 2 || !a.Stop) {
			t.Errorf("H1: hop %d, stop %v; want 2 addresses back, a stop", a.Hop, a.Stop)
		}
	}
}

// checkBackUTXOHopLimit: H1 and H2 are two addresses back from D (D
// <- A <- H1, D <- B <- H2). With --max-hops 1 tx3's inputs are origins
// and nothing is attributed; with 2 both hackers are sources again.
func checkBackUTXOHopLimit(t *testing.T, c *backBtcCase) {
	b := c.trace(t, 1, taint.Haircut)
	if len(b.Sources) != 0 || len(b.Reconciliation) != 0 {
		t.Errorf("max hops 1: sources %v, %d reconciled; want none", b.Sources, len(b.Reconciliation))
	}
	if sh := b.Shares(); len(sh) != 1 || sh[0].Received.Int64() != 750_000_000 || sh[0].Figures.Total[0].Sign() != 0 {
		t.Errorf("max hops 1: shares %+v; want 750,000,000 received, none attributed", sh)
	}
	b = c.trace(t, 2, taint.Haircut)
	if len(b.Sources) != 2 {
		t.Errorf("max hops 2: sources %v, want H1 and H2", b.Sources)
	}
	if sh := b.Shares(); len(sh) != 1 || sh[0].Figures.Total[0].Int64() != 490_740_739 {
		t.Errorf("max hops 2: shares %+v; want 490,740,739 attributed under haircut", sh)
	}
	// An output, as a target, is bad input; a window with no receipt is
	// no activity.
	if _, err := tracer.TraceBackUTXO(context.Background(), c.hist, nil, tracer.Config{Seeds: []string{c.fundH1}, Models: []taint.Kind{taint.Haircut},
		MaxHops: 5, FromBlock: c.from, ToBlock: c.to}); err == nil {
		t.Error("an outpoint as a target was taken")
	}
	if _, err := tracer.TraceBackUTXO(context.Background(), c.hist, nil, tracer.Config{Seeds: []string{c.d}, Models: []taint.Kind{taint.Haircut},
		MaxHops: 5, FromBlock: c.from, ToBlock: c.from}); !errors.Is(err, tracer.ErrNoActivity) {
		t.Errorf("D received nothing in block %d: err %v, want ErrNoActivity", c.from, err)
	}
}
