package main

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/exhibit"
)

// TestVerifyModelsEth traces the demo case on an in-process geth under all
// five models, with two seeds in two colours (the hacker, and one of its
// first-layer splits named as a second theft), and verifies the exhibit
// (exit 0). Then tampered and resealed copies, each caught by the taint
// arithmetic alone (the digest holds and every row matches the node) and
// named by row, endpoint or transaction and model: exit 1.
func TestVerifyModelsEth(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "exhibit.json")
	second := devAddr("l1-2")
	args := []string{"trace", "--seed", "upbit=" + truth.Seeds[0].Hex(), "--seed", "second=" + second,
		"--taint", "fifo,lifo,tiho,haircut,poison", "--from-block", itoa(truth.First), "--to-block", itoa(truth.Last),
		"--eth-rpc", node.URL(), "--store", filepath.Join(dir, "store"), "--labels", demoLabels(t, truth), "--out", out}
	if code, _, errs := runCLI(t, nil, args...); code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errs)
	}
	e, _ := readExhibit(t, out)
	if len(e.Method.TaintModels) != 5 || len(e.Method.Colours) != 2 || len(e.Reconciliation) == 0 || len(e.Endpoints) == 0 {
		t.Fatalf("exhibit: models %v, colours %v, %d reconciliation entries, %d endpoints", e.Method.TaintModels, e.Method.Colours, len(e.Reconciliation), len(e.Endpoints))
	}
	verify := func(path string) (int, string, string) {
		return runCLI(t, nil, "verify", path, "--eth-rpc", node.URL())
	}
	code, stdout, errs := verify(out)
	if code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, errs)
	}
	for _, w := range []string{"digest     ok", "transfers  ok", "taint      ok (5 models, 2 colours)", "OK: "} {
		if !strings.Contains(stdout, w) {
			t.Errorf("report lacks %q:\n%s", w, stdout)
		}
	}

	// A row both colours reach and the models tell apart: the merge's
	// outflow (l1-2, the second theft, and l1-3, the hacker's, paid it
	// alongside clean money).
	merge := strings.ToLower(devAddr("merge"))
	row := -1
	for i, r := range e.Transfers {
		if strings.ToLower(r.From[0]) == merge && r.TaintByColour["upbit"]["fifo"] != "0" && r.TaintByColour["second"]["haircut"] != "0" {
			row = i
			break
		}
	}
	if row < 0 {
		t.Fatal("no row from the merge address carries both colours")
	}
	r := e.Transfers[row]
	name := rowName(row, &r)
	ep := e.Endpoints[0]
	epName := fmt.Sprintf("endpoint %s (%s, %s)", ep.Label, ep.Address, ep.Asset)
	rec := -1
	for i, rc := range e.Reconciliation {
		if strings.EqualFold(rc.TxHash, r.TxHash) {
			rec = i
		}
	}
	if rec < 0 {
		t.Fatalf("%s: no reconciliation entry", name)
	}
	plus := func(s string, d int64) string {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("%q is not an amount", s)
		}
		return n.Add(n, big.NewInt(d)).String()
	}
	tampered := func(name string, edit func(e *exhibit.Exhibit)) string {
		t.Helper()
		e, _ := readExhibit(t, out)
		edit(e)
		if err := exhibit.Seal(e); err != nil {
			t.Fatal(err)
		}
		b, err := exhibit.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A non-seed address that sends on all the TIHO taint it received, in
	// a row TIHO leaves partly clean: one more wei of TIHO taint on that
	// row (and on everything summing it: its colour, the recipient, the
	// endpoint, the transaction's balance) keeps every sum and balance,
	// and only the rule that no address sends on more than it received
	// catches it.
	isSeed := map[string]bool{}
	for _, s := range e.Seeds {
		isSeed[strings.ToLower(s)] = true
	}
	received, sent := map[string]*big.Int{}, map[string]*big.Int{}
	add := func(m map[string]*big.Int, k, v string) {
		if m[k] == nil {
			m[k] = new(big.Int)
		}
		n, _ := new(big.Int).SetString(v, 10)
		m[k].Add(m[k], n)
	}
	for _, t := range e.Transfers {
		if from := strings.ToLower(t.From[0]) + " " + t.Asset; !isSeed[strings.ToLower(t.From[0])] {
			add(sent, from, t.TaintByModel["tiho"])
		}
		add(received, strings.ToLower(t.To)+" "+t.Asset, t.TaintByModel["tiho"])
	}
	onward := -1
	for i, t := range e.Transfers {
		k := strings.ToLower(t.From[0]) + " " + t.Asset
		if sent[k] != nil && sent[k].Sign() > 0 && sent[k].Cmp(received[k]) == 0 && t.TaintByModel["tiho"] != t.Amount && t.TaintByModel["tiho"] != "0" {
			onward = i
			break
		}
	}
	if onward < 0 {
		t.Fatal("no address sends on all the tiho taint it received in a row tiho leaves partly clean")
	}
	ow := e.Transfers[onward]
	owColour := "upbit"
	if ow.TaintByColour[owColour]["tiho"] == "0" {
		owColour = "second"
	}
	owSent := sent[strings.ToLower(ow.From[0])+" "+ow.Asset]
	moreTIHO := func(e *exhibit.Exhibit) {
		r := &e.Transfers[onward]
		r.TaintByModel["tiho"] = plus(r.TaintByModel["tiho"], 1)
		r.TaintByColour[owColour]["tiho"] = plus(r.TaintByColour[owColour]["tiho"], 1)
		for i := range e.Addresses {
			if a := &e.Addresses[i]; strings.EqualFold(a.Address, r.To) {
				a.TaintByModel["tiho"][r.Asset] = plus(a.TaintByModel["tiho"][r.Asset], 1)
				a.TaintByColour[owColour]["tiho"][r.Asset] = plus(a.TaintByColour[owColour]["tiho"][r.Asset], 1)
			}
		}
		for i := range e.Endpoints {
			if ep := &e.Endpoints[i]; strings.EqualFold(ep.Address, r.To) && ep.Asset == r.Asset {
				ep.TaintByModel["tiho"] = plus(ep.TaintByModel["tiho"], 1)
				ep.TaintByColour[owColour]["tiho"] = plus(ep.TaintByColour[owColour]["tiho"], 1)
			}
		}
		for i := range e.Reconciliation {
			if rc := &e.Reconciliation[i]; strings.EqualFold(rc.TxHash, r.TxHash) {
				for _, tb := range []exhibit.TaintBalance{rc.TaintByModel["tiho"], rc.TaintByColour[owColour]["tiho"]} {
					tb.TaintIn[r.Asset] = plus(tb.TaintIn[r.Asset], 1)
					tb.TaintOut[r.Asset] = plus(tb.TaintOut[r.Asset], 1)
				}
			}
		}
	}

	fifo, lifo := r.TaintByModel["fifo"], r.TaintByModel["lifo"]
	haircutUpbit := r.TaintByColour["upbit"]["haircut"]
	lifoOut := e.Reconciliation[rec].TaintByModel["lifo"].TaintOut["ETH"]
	for _, tc := range []struct {
		name string
		edit func(e *exhibit.Exhibit)
		want []string
	}{
		{"row-taint-by-model-primary", func(e *exhibit.Exhibit) { e.Transfers[row].TaintByModel["fifo"] = plus(fifo, -1) }, []string{
			name + ": taint " + fifo + ", but its taint_by_model gives " + plus(fifo, -1) + " under fifo, the primary model",
			name + ": its colours' fifo taint sums to " + fifo + ", its fifo taint is " + plus(fifo, -1)}},
		{"row-taint-by-model", func(e *exhibit.Exhibit) { e.Transfers[row].TaintByModel["lifo"] = plus(lifo, 1) }, []string{
			name + ": its colours' lifo taint sums to " + lifo + ", its lifo taint is " + plus(lifo, 1)}},
		{"row-taint-by-colour", func(e *exhibit.Exhibit) { e.Transfers[row].TaintByColour["upbit"]["haircut"] = plus(haircutUpbit, 1) }, []string{
			name + ": its colours' haircut taint sums to "}},
		{"endpoint-taint-by-model", func(e *exhibit.Exhibit) { e.Endpoints[0].TaintByModel["tiho"] = plus(ep.TaintByModel["tiho"], 1) }, []string{
			epName + ": tiho taint " + plus(ep.TaintByModel["tiho"], 1) + ", the rows into it sum to " + ep.TaintByModel["tiho"]}},
		{"reconciliation-taint-by-model", func(e *exhibit.Exhibit) {
			e.Reconciliation[rec].TaintByModel["lifo"].TaintOut["ETH"] = plus(lifoOut, 1)
		}, []string{fmt.Sprintf("reconciliation %d (tx %s): reconciliation of %s (lifo), ETH: taint_in", rec, r.TxHash, r.TxHash)}},
		{"sent-on-more-than-received", moreTIHO, []string{
			fmt.Sprintf("%s: %s has sent on %s of tiho taint, more than the %s it received before", rowName(onward, &ow), ow.From[0], plus(owSent.String(), 1), owSent),
			fmt.Sprintf("%s: %s has sent on %s of colour %s tiho taint", rowName(onward, &ow), ow.From[0], plus(owSent.String(), 1), owColour)}},
		{"reconciliation-below-its-rows", func(e *exhibit.Exhibit) {
			// The whole lifo balance lowered alike: it still balances, but
			// the rows its senders sent carry more than its taint_out.
			tb := e.Reconciliation[rec].TaintByModel["lifo"]
			tb.TaintIn["ETH"] = plus(tb.TaintIn["ETH"], -1)
			tb.TaintOut["ETH"] = plus(tb.TaintOut["ETH"], -1)
			for _, c := range []string{"upbit", "second"} {
				cb := e.Reconciliation[rec].TaintByColour[c]["lifo"]
				if cb.TaintOut["ETH"] != "0" {
					cb.TaintIn["ETH"] = plus(cb.TaintIn["ETH"], -1)
					cb.TaintOut["ETH"] = plus(cb.TaintOut["ETH"], -1)
					break
				}
			}
		}, []string{fmt.Sprintf("reconciliation %d (tx %s): the rows its senders (seeds excepted) sent in ETH carry ", rec, r.TxHash), "of lifo taint, more than its taint_out"}},
	} {
		t.Run("tampered/"+tc.name, func(t *testing.T) {
			code, stdout, errs := verify(tampered(tc.name, tc.edit))
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s%s", code, stdout, errs)
			}
			for _, w := range append([]string{"digest     ok", "transfers  ok", "taint      FAILED (5 models, 2 colours)"}, tc.want...) {
				if !strings.Contains(stdout, w) {
					t.Errorf("report does not say %q:\n%s", w, stdout)
				}
			}
			if strings.Contains(stdout, "OK: ") {
				t.Errorf("a tampered exhibit reported OK:\n%s", stdout)
			}
			t.Logf("%s", stdout)
		})
	}
}
