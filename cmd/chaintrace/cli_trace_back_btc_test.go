package main

import (
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// backBtcCase is the backward case of tracer's TestTraceBackUTXO, played on
// a real btcd: two hack wallets H1 and H2 (labelled hacker), an unlabelled
// origin O and a clean wallet N fund, before the window, the coins that
// reach the deposit address D through a peel (tx1: H1 -> A, P; tx4: P ->
// D, P2), a merge with the clean coin (tx2: N, H2 -> B, Y) and a merge of
// A, B and O's coin (tx3 -> D, M; tx5: M -> D, Z). Y, P2 (tx6) and Z are
// spent elsewhere; tx7 pays D after the window.
type backBtcCase struct {
	node               *btcnode.Node
	dir                string
	from, to           uint64
	h1, h2, d          string
	fundH1, fundH2     string
	tx                 map[string]string
	nodeFlags, window  []string
	labels, labelsOnly string // labels of both hackers; of H1 alone
}

func playBackBtcCase(t *testing.T) *backBtcCase {
	t.Helper()
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 4})
	base, err := n.Client().GetBlockCount()
	if err != nil {
		t.Fatal(err)
	}
	P2PKH, P2WPKH := btcnode.P2PKH, btcnode.P2WPKH
	funded, err := n.FundKeys(btcnode.To("back-h1", P2WPKH, 500_000_000), btcnode.To("back-h2", P2PKH, 300_000_000),
		btcnode.To("back-o", P2WPKH, 200_000_000), btcnode.To("back-n", P2WPKH, 150_000_000), btcnode.To("back-d", P2WPKH, 40_000_000))
	if err != nil {
		t.Fatal(err)
	}
	f := uint64(base) + 1
	c := &backBtcCase{node: n, dir: t.TempDir(), from: f + 1, to: f + 3, tx: map[string]string{}, nodeFlags: btcNodeFlags(n)}
	spend := func(name string, from []btcnode.Coin, fee int64, outs ...btcnode.Output) []btcnode.Coin {
		t.Helper()
		tx, err := n.Spend(from, outs, fee)
		if err != nil {
			t.Fatal(err)
		}
		c.tx[name] = tx.TxHash().String()
		return btcnode.CoinsOf(tx, outs)
	}
	mine := func() {
		t.Helper()
		if _, err := n.Mine(1); err != nil {
			t.Fatal(err)
		}
	}
	tx1 := spend("tx1", funded[0:1], 10_000, btcnode.To("back-a", P2WPKH, 300_000_000), btcnode.To("back-p", P2PKH, 199_990_000))
	tx2 := spend("tx2", []btcnode.Coin{funded[3], funded[1]}, 10_000, btcnode.To("back-b", P2PKH, 400_000_000), btcnode.To("back-y", P2WPKH, 49_990_000))
	mine()
	tx3 := spend("tx3", []btcnode.Coin{tx1[0], tx2[0], funded[2]}, 20_000, btcnode.To("back-d", P2WPKH, 600_000_000), btcnode.To("back-m", P2WPKH, 299_980_000))
	tx4 := spend("tx4", tx1[1:2], 10_000, btcnode.To("back-d", P2WPKH, 50_000_000), btcnode.To("back-p2", P2WPKH, 149_980_000))
	mine()
	tx5 := spend("tx5", tx3[1:2], 10_000, btcnode.To("back-d", P2WPKH, 100_000_000), btcnode.To("back-z", P2PKH, 199_970_000))
	spend("tx6", tx4[1:2], 10_000, btcnode.To("back-w", P2WPKH, 149_970_000))
	mine()
	spend("tx7", tx5[1:2], 10_000, btcnode.To("back-d", P2WPKH, 100_000_000), btcnode.To("back-z2", P2WPKH, 99_960_000))
	mine()
	c.fundH1, c.fundH2 = funded[0].OutPoint.String(), funded[1].OutPoint.String()
	c.h1 = n.AddrP2WPKH("back-h1").EncodeAddress()
	c.h2 = n.AddrP2PKH("back-h2").EncodeAddress()
	c.d = n.AddrP2WPKH("back-d").EncodeAddress()
	c.window = []string{"--from-block", itoa(c.from), "--to-block", itoa(c.to)}
	c.labels = filepath.Join(c.dir, "labels.csv")
	csv := "chain,address,label,category,source\nbtc," + c.h1 + ",Hack 1,hacker,case file\nbtc," + c.h2 + ",Hack 2,hacker,case file\n"
	if err := os.WriteFile(c.labels, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	c.labelsOnly = filepath.Join(c.dir, "labels-h1.csv")
	csv = "chain,address,label,category,source\nbtc," + c.h1 + ",Hack 1,hacker,case file\n"
	if err := os.WriteFile(c.labelsOnly, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// traceBack runs trace --direction backward from D into out.
func (c *backBtcCase) traceBack(t *testing.T, labels, out string, extra ...string) string {
	t.Helper()
	args := append([]string{"trace", "--chain", "btc", "--direction", "backward", "--seed", c.d, "--labels", labels,
		"--store", filepath.Join(c.dir, "store"), "--out", out}, c.window...)
	args = append(append(args, extra...), c.nodeFlags...)
	code, _, errs := runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("trace --chain btc --direction backward: exit %d: %s", code, errs)
	}
	return errs
}

// TestTraceBackBtc traces D's receipts back to the two hackers with
// `trace --chain btc --direction backward` against btcd, under FIFO,
// haircut and poison: the exhibit passes the schema, names the hackers as
// its colours with their coins as seeds, and states D's shares as worked
// by hand in tracer's TestTraceBackUTXO (FIFO H1 350,000,000, H2
// 250,000,000; haircut H1 283,333,333, H2 207,407,406; of 750,000,000
// received). verify recomputes it from the node (exit 0); a copy with one
// figure of a row changed and resealed fails (exit 1), naming the row and
// the model. With H1 alone labelled, the one source's exhibit verifies too.
func TestTraceBackBtc(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	c := playBackBtcCase(t)
	out := filepath.Join(c.dir, "back.json")
	errs := c.traceBack(t, c.labels, out, "--taint", "fifo,haircut,poison")
	e, _ := readExhibit(t, out) // validates against the schema
	if e.Method.Direction != exhibit.DirectionBackward || !slices.Equal(e.Seeds, []string{c.d}) {
		t.Fatalf("method.direction %q, seeds %v; want backward from %s", e.Method.Direction, e.Seeds, c.d)
	}
	if !containsString(e.Method.StopCategories, "hacker") {
		t.Errorf("stop_categories %v: no hacker", e.Method.StopCategories)
	}
	// The colours: each hacker, with its coin as its seed.
	seedOf := map[string]string{c.h1: c.fundH1, c.h2: c.fundH2}
	if len(e.Method.Colours) != 2 {
		t.Fatalf("colours %+v: want H1 and H2", e.Method.Colours)
	}
	for _, col := range e.Method.Colours {
		if want, ok := seedOf[col.Name]; !ok || !slices.Equal(col.Seeds, []string{want}) {
			t.Errorf("colour %s seeds %v; want a hacker's coin (%s: %s, %s: %s)", col.Name, col.Seeds, c.h1, c.fundH1, c.h2, c.fundH2)
		}
	}
	// D's shares, by hand (tracer's TestTraceBackUTXO).
	var d *exhibit.Address
	for i := range e.Addresses {
		if e.Addresses[i].Address == c.d {
			d = &e.Addresses[i]
		}
	}
	if d == nil || d.Hop != 0 {
		t.Fatalf("D is not among the addresses at hop 0: %+v", d)
	}
	for _, w := range []struct{ model, h1, h2, total string }{
		{"fifo", "350000000", "250000000", "600000000"},
		{"haircut", "283333333", "207407406", "490740739"},
		{"poison", "750000000", "700000000", "750000000"},
	} {
		bc := d.TaintByColour
		if bc[c.h1][w.model]["BTC"] != w.h1 || bc[c.h2][w.model]["BTC"] != w.h2 || d.TaintByModel[w.model]["BTC"] != w.total {
			t.Errorf("D under %s: H1 %s, H2 %s, total %s; want %s, %s, %s", w.model, bc[c.h1][w.model]["BTC"], bc[c.h2][w.model]["BTC"],
				d.TaintByModel[w.model]["BTC"], w.h1, w.h2, w.total)
		}
	}
	// The summary: D's receipts and each hacker's share, in BTC.
	for _, w := range []string{c.d + " received 7.5 BTC", "2.83333333 BTC", "2.07407406 BTC", "3.5 BTC", "unattributed"} {
		if !strings.Contains(errs, w) {
			t.Errorf("summary lacks %q:\n%s", w, errs)
		}
	}
	for _, r := range e.Transfers {
		if r.TxHash == c.tx["tx6"] || r.TxHash == c.tx["tx7"] {
			t.Errorf("a row of %s, a spend elsewhere or after the window", r.TxHash)
		}
	}

	verify := func(path string) (int, string, string) {
		return runCLI(t, nil, append([]string{"verify", path}, c.nodeFlags...)...)
	}
	code, vout, verrs := verify(out)
	if code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, vout, verrs)
	}
	for _, w := range []string{"reconcile  ok (5 transactions recomputed under 3 models, 2 colours)", "taint      ok", "OK: "} {
		if !strings.Contains(vout, w) {
			t.Errorf("verify report lacks %q:\n%s", w, vout)
		}
	}

	// Tampered copies, sealed again so that only recomputing can tell:
	// one figure of M's row (tx3 output 1), H2's haircut share one satoshi
	// more (the model's total with it, so the row's own sums hold), which
	// only the replay from the hackers' coins catches; a row's hop; what a
	// source put in.
	row := -1
	for i, r := range e.Transfers {
		if r.TxHash == c.tx["tx3"] && r.Position == "out:1" {
			row = i
		}
	}
	if row < 0 {
		t.Fatal("no row of M (tx3 out:1)")
	}
	plus1 := func(s string) string {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("%q is not an amount", s)
		}
		return n.Add(n, big.NewInt(1)).String()
	}
	name := rowName(row, &e.Transfers[row])
	for _, tc := range []struct {
		name  string
		edit  func(e *exhibit.Exhibit)
		words []string // a FAIL line has them all
	}{
		{"row figure", func(e *exhibit.Exhibit) {
			r := &e.Transfers[row]
			r.TaintByColour[c.h2]["haircut"] = plus1(r.TaintByColour[c.h2]["haircut"])
			r.TaintByModel["haircut"] = plus1(r.TaintByModel["haircut"])
		}, []string{"FAIL " + name, "haircut", "recomputed from the chain"}},
		{"row hop", func(e *exhibit.Exhibit) { e.Transfers[row].Hop = 1 }, []string{"FAIL " + name, "hop 1 in the exhibit, counted back from the targets 2"}},
		{"source amount", func(e *exhibit.Exhibit) {
			ep := &e.Endpoints[0]
			ep.Amount, ep.Taint = plus1(ep.Amount), plus1(ep.Taint)
		}, []string{"FAIL endpoint", "amount", "the coins of it the reconciled transactions spend sum to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := readExhibit(t, out)
			tc.edit(e)
			if err := exhibit.Seal(e); err != nil {
				t.Fatal(err)
			}
			b, err := exhibit.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			bad := filepath.Join(c.dir, "tampered.json")
			if err := os.WriteFile(bad, b, 0o644); err != nil {
				t.Fatal(err)
			}
			code, vout, verrs := verify(bad)
			if code != 1 || !strings.Contains(vout, "digest     ok") {
				t.Fatalf("exit %d (want 1, the digest holding)\n%s%s", code, vout, verrs)
			}
			for _, l := range strings.Split(vout, "\n") {
				all := true
				for _, w := range tc.words {
					all = all && strings.Contains(l, w)
				}
				if all {
					return
				}
			}
			t.Errorf("no FAIL line with %q:\n%s", tc.words, vout)
		})
	}

	// One source: H1 alone labelled. No colours; verify finds H1's coin
	// from the endpoint.
	one := filepath.Join(c.dir, "one.json")
	c.traceBack(t, c.labelsOnly, one, "--taint", "haircut,fifo")
	e1, _ := readExhibit(t, one)
	if len(e1.Method.Colours) != 0 || len(e1.Endpoints) != 1 || e1.Endpoints[0].Address != c.h1 || e1.Endpoints[0].Amount != "500000000" {
		t.Fatalf("one source: colours %+v, endpoints %+v; want none and H1's 500000000", e1.Method.Colours, e1.Endpoints)
	}
	for _, a := range e1.Addresses {
		if a.Address == c.d && (a.Taint["BTC"] != "283333333" || a.TaintByModel["fifo"]["BTC"] != "350000000") {
			t.Errorf("one source: D's taint %v, by model %v; want H1's shares 283333333 (haircut) and 350000000 (fifo)", a.Taint, a.TaintByModel)
		}
	}
	if code, vout, verrs := verify(one); code != 0 {
		t.Fatalf("verify, one source: exit %d\n%s%s", code, vout, verrs)
	}
}

// TestTraceBackBtcBadInput: a backward trace from an output, or with
// colours named, exits 2 with one line, before any node is asked.
func TestTraceBackBtcBadInput(t *testing.T) {
	dir := t.TempDir()
	op := strings.Repeat("ab", 32) + ":0"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"outpoint", []string{"--seed", op}, "is an output"},
		{"coloured seed", []string{"--seed", "a=bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"}, "name no colours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"trace", "--chain", "btc", "--direction", "backward", "--from-block", "1", "--to-block", "2",
				"--store", filepath.Join(dir, "store"), "--out", filepath.Join(dir, "x.json")}, tc.args...)
			code, _, errs := runCLI(t, nil, args...)
			if code != 2 || strings.Count(errs, "chaintrace: ") != 1 || !strings.Contains(lastLine(errs), tc.want) {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line mentioning %q", code, errs, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
				t.Error("an exhibit was written for bad input")
			}
		})
	}
}
