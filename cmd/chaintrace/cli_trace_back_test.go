package main

import (
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/ethereum/go-ethereum/common"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/scenario"
)

// TestTraceBackFromDeposits traces two of the demo's exchange deposit
// addresses back to the sources of their funds, with the hacker's address
// labelled as investigators label a known perpetrator. huobi-dep-1 was
// paid 9,000 ETH by l1-1, which held nothing but the hacker's 60,000: all
// 9,000 are the hacker's under haircut and FIFO alike. huobi-dep-2 was
// paid 20,000 by merge, which re-merged two hacker splits with 1,000 ETH
// of a customer's money (noise-1).
func TestTraceBackFromDeposits(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	truth.Labels = append(truth.Labels, scenario.Label{Address: truth.Seeds[0], Label: "Upbit hacker", Category: "hacker"})
	labelsPath := demoLabels(t, truth)
	hacker := truth.Seeds[0].Hex()
	dep1, dep2 := devAddr("huobi-dep-1"), devAddr("huobi-dep-2")
	out := filepath.Join(dir, "back.json")
	code, _, errs := runCLI(t, nil, "trace", "--direction", "backward", "--seed", dep1, "--seed", dep2, "--taint", "haircut,fifo",
		"--from-block", itoa(truth.First), "--to-block", itoa(truth.Last), "--eth-rpc", node.URL(),
		"--store", filepath.Join(dir, "store"), "--labels", labelsPath, "--out", out)
	if code != 0 {
		t.Fatalf("trace --direction backward: exit %d: %s", code, errs)
	}
	e, _ := readExhibit(t, out)
	if e.Method.Direction != exhibit.DirectionBackward || len(e.Seeds) != 2 || e.Seeds[0] != dep1 || e.Seeds[1] != dep2 {
		t.Fatalf("method.direction %q, seeds %v", e.Method.Direction, e.Seeds)
	}
	// Stopping at any label: the stated categories include hacker.
	if !containsString(e.Method.StopCategories, "hacker") {
		t.Errorf("stop_categories %v: no hacker", e.Method.StopCategories)
	}
	var src *exhibit.Endpoint
	for i := range e.Endpoints {
		if e.Endpoints[i].Address == hacker {
			src = &e.Endpoints[i]
		}
	}
	if src == nil || src.Category != "hacker" || src.Taint == "0" || src.Taint != src.Amount {
		t.Fatalf("the hacker is not a source wholly of its colour: %+v (endpoints %+v)", src, e.Endpoints)
	}
	for _, a := range e.Addresses {
		if a.Address == hacker && a.Hop == 0 {
			t.Errorf("a source at hop 0: %+v", a)
		}
	}
	const nineThousand = "9000000000000000000000"
	var found int
	for _, a := range e.Addresses {
		switch a.Address {
		case dep1:
			found++
			if a.Hop != 0 || a.Taint["ETH"] != nineThousand || a.TaintByModel["fifo"]["ETH"] != nineThousand {
				t.Errorf("huobi-dep-1: hop %d, taint %v, by model %v; want all 9,000 ETH the hacker's", a.Hop, a.Taint, a.TaintByModel)
			}
			if got := a.TaintByColour[hacker]["haircut"]["ETH"]; len(e.Method.Colours) > 1 && got != nineThousand {
				t.Errorf("huobi-dep-1: the hacker's haircut share %s, want %s", got, nineThousand)
			}
		case dep2:
			found++
			if a.Taint["ETH"] == "" || a.Taint["ETH"] == "0" {
				t.Errorf("huobi-dep-2: nothing attributed: %v", a.Taint)
			}
			if len(e.Method.Colours) > 1 {
				if got := a.TaintByColour[hacker]["fifo"]["ETH"]; got == "" || got == "0" {
					t.Errorf("huobi-dep-2: no fifo share of the hacker's: %v", a.TaintByColour)
				}
			}
		}
	}
	if found != 2 {
		t.Fatalf("the targets are not among the addresses")
	}
	for _, tr := range e.Transfers {
		if tr.Hop < 1 || tr.Hop > e.Method.MaxHops {
			t.Errorf("row hop %d: %+v", tr.Hop, tr)
		}
	}
	if !strings.Contains(errs, dep1+" received 9000 ETH") || !strings.Contains(errs, "Upbit hacker") {
		t.Errorf("summary does not state the attribution:\n%s", errs)
	}

	// verify re-checks a backward exhibit: the sources are where taint
	// starts, and each endpoint sums the rows out of it.
	if code, vout, verrs := runCLI(t, nil, "verify", out, "--eth-rpc", node.URL()); code != 0 {
		t.Errorf("verify of the backward exhibit: exit %d:\n%s%s", code, vout, verrs)
	} else if !strings.Contains(vout, "OK") {
		t.Errorf("verify of the backward exhibit says:\n%s", vout)
	}

	// Naming the stop categories stops only there: with only exchanges,
	// the hacker's address is passed through to the victim's hot wallet.
	out2 := filepath.Join(dir, "back-exchange.json")
	code, _, errs = runCLI(t, nil, "trace", "--direction", "backward", "--seed", dep1, "--stop-categories", "exchange",
		"--from-block", itoa(truth.First), "--to-block", itoa(truth.Last), "--eth-rpc", node.URL(),
		"--store", filepath.Join(dir, "store"), "--labels", labelsPath, "--out", out2)
	if code != 0 {
		t.Fatalf("trace --direction backward --stop-categories exchange: exit %d: %s", code, errs)
	}
	e2, _ := readExhibit(t, out2)
	upbit := devAddr("upbit-hot")
	if len(e2.Endpoints) != 1 || e2.Endpoints[0].Address != upbit {
		t.Errorf("with --stop-categories exchange: endpoints %+v, want the Upbit hot wallet alone", e2.Endpoints)
	}
}

func TestTraceBackBadInput(t *testing.T) {
	dir := t.TempDir()
	base := []string{"trace", "--seed", "0x00000000000000000000000000000000000fee15", "--from-block", "1", "--to-block", "2",
		"--store", filepath.Join(dir, "store"), "--out", filepath.Join(dir, "x.json")}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown direction", append(base, "--direction", "sideways"), `--direction "sideways"`},
		{"bitcoin output as a target", []string{"trace", "--chain", "btc", "--direction", "backward", "--seed",
			"4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b:0",
			"--from-block", "1", "--to-block", "2", "--store", filepath.Join(dir, "store")}, "is an output"},
		{"coloured seed", []string{"trace", "--direction", "backward", "--seed", "a=0x00000000000000000000000000000000000fee15",
			"--from-block", "1", "--to-block", "2", "--store", filepath.Join(dir, "store")}, "name no colours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, nil, tc.args...)
			if code != 2 || strings.Count(errs, "chaintrace: ") != 1 || !strings.Contains(lastLine(errs), tc.want) {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line mentioning %q", code, errs, tc.want)
			}
		})
	}
}

// TestTraceBackPoisonWithAnUnlabelledOrigin: a backward exhibit lists
// every edge discovery found, so with poison primary an edge from an
// unlabelled origin carries no taint at all; verify takes a backward
// exhibit's poison rows as all or nothing, not as all.
func TestTraceBackPoisonWithAnUnlabelledOrigin(t *testing.T) {
	node, err := devchain.Start(devchain.Config{Funded: []string{"bp-hacker", "bp-origin"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	hacker, origin, layer, dep := devchain.Addr("bp-hacker"), devchain.Addr("bp-origin"), devchain.Addr("bp-layer"), devchain.Addr("bp-deposit")
	eth := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
	first := node.Head() + 1
	for _, p := range []struct {
		from string
		to   common.Address
		v    *big.Int
	}{{"bp-hacker", layer, eth(3)}, {"bp-origin", layer, eth(2)}} {
		if _, err := node.Transact(devchain.Key(p.from), &p.to, p.v, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := node.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Transact(devchain.Key("bp-layer"), &dep, eth(4), nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Commit(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	labelsPath := filepath.Join(dir, "labels.csv")
	os.WriteFile(labelsPath, []byte("chain,address,label,category,source\neth,"+hacker.Hex()+",a hacker,hacker,test\n"), 0o644)
	out := filepath.Join(dir, "back.json")
	code, _, errs := runCLI(t, nil, "trace", "--direction", "backward", "--seed", dep.Hex(), "--taint", "poison,haircut",
		"--from-block", itoa(first), "--to-block", itoa(node.Head()), "--eth-rpc", node.URL(),
		"--store", filepath.Join(dir, "store"), "--labels", labelsPath, "--out", out)
	if code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errs)
	}
	e, _ := readExhibit(t, out)
	clean := 0
	for _, r := range e.Transfers {
		if strings.EqualFold(r.From[0], origin.Hex()) {
			clean++
			if r.Taint != "0" {
				t.Errorf("the unlabelled origin's edge carries %s under poison", r.Taint)
			}
		}
	}
	if clean != 1 {
		t.Fatalf("%d edges from the unlabelled origin, want 1", clean)
	}
	if code, stdout, errs := runCLI(t, nil, "verify", out, "--eth-rpc", node.URL()); code != 0 {
		t.Errorf("verify: exit %d: %s %s", code, stdout, errs)
	}
}
