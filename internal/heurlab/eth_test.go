package heurlab

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/heuristics"
)

// TestETHDepositRates plays a small scenario with and without third-party
// payments and checks the measurement against the truth it was played
// from. The heuristic's window is shortened to 200 blocks so that the late
// sweeps need a gap of a few hundred empty blocks, not of 10,000; the
// report measures the default.
func TestETHDepositRates(t *testing.T) {
	if testing.Short() {
		t.Skip("plays two scenarios on an in-process geth")
	}
	d := heuristics.DefaultDepositAddress()
	d.WithinBlocks = 200
	opts := ETHOptions{Seed: 7, Customers: 30, Deposit: &d, Logf: t.Logf}
	on, err := RunETH(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(on.Scenario)
	checkETH(t, on, d)
	if on.Truth.GapBlocks == 0 {
		t.Error("no empty blocks before the late sweeps")
	}

	off := opts
	off.ThirdPartyPayments = -1
	alone, err := RunETH(context.Background(), off)
	if err != nil {
		t.Fatal(err)
	}
	checkETH(t, alone, d)

	if got := alone.Truth.Planted[ethKindBuyer]; got != 0 {
		t.Errorf("third-party payments off, yet %d outside buyers", got)
	}
	pairsOn, pairsOff := on.Rows[1], alone.Rows[1]
	if pairsOff.FP != 0 {
		t.Errorf("no third party pays a deposit address, yet %d falsely joined pairs: %s", pairsOff.FP, pairsOff.Note)
	}
	if pairsOn.FP == 0 {
		t.Errorf("third parties paid deposit addresses, yet no falsely joined pair")
	}
	if !strings.Contains(pairsOn.Note, ethPlural[ethKindThirdParty]) && !strings.Contains(pairsOn.Note, ethKindThirdParty) {
		t.Errorf("pair note does not name the third-party payments: %q", pairsOn.Note)
	}

	again, err := RunETH(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Rows, on.Rows) || again.Scenario != on.Scenario {
		t.Errorf("one seed, two results:\n%+v\n%+v", on.Rows, again.Rows)
	}
}

// checkETH checks one measured scenario against its truth.
func checkETH(t *testing.T, res *ETHResult, d heuristics.DepositAddress) {
	t.Helper()
	if len(res.Rows) != 2 {
		t.Fatalf("%d rows", len(res.Rows))
	}
	for _, r := range res.Rows {
		t.Logf("%s: TP %d FP %d FN %d TN %d; %s", r.Decision, r.TP, r.FP, r.FN, r.TN, r.Note)
		info := d.Info()
		if r.Chain != "eth" || r.Heuristic != info.Name || r.Version != info.Version || !ParamsEqual(r.Params, info.Params) {
			t.Errorf("row %+v does not name the heuristic measured (%+v)", r, info)
		}
	}
	truth := res.Truth
	detected := map[string]bool{}
	for _, dep := range res.Deposits.Found {
		detected[dep.Address] = true
	}

	addrs := res.Rows[0]
	if addrs.Total() != int64(len(res.Candidates)) {
		t.Errorf("%d decisions over %d candidates", addrs.Total(), len(res.Candidates))
	}
	var deposits, found, wrong int64
	candidate := map[string]bool{}
	for _, a := range res.Candidates {
		candidate[a] = true
		x := truth.Addrs[a]
		if x.Kind == ethKindHotWallet {
			t.Errorf("labelled hot wallet %s is a candidate", a)
		}
		if x.Deposit {
			deposits++
		}
		switch {
		case detected[a] && x.Deposit:
			found++
		case detected[a]:
			wrong++
		}
		// The heuristic's design, checked on each kind of address.
		switch x.Kind {
		case ethKindDeposit:
			if !detected[a] {
				t.Errorf("deposit address %s swept within the window was missed", a)
			}
		case ethKindSelfEmpty:
			if !detected[a] {
				t.Errorf("personal address %s emptying itself into an exchange was not taken for a deposit address", a)
			}
		case ethKindLate, ethKindPending:
			if detected[a] {
				t.Errorf("%s %s was taken for a deposit address", x.Kind, a)
			}
		default:
			if detected[a] && !x.Deposit {
				t.Errorf("%s %s was taken for a deposit address", x.Kind, a)
			}
		}
	}
	if addrs.TP+addrs.FN != deposits || addrs.TP != found || addrs.FP != wrong {
		t.Errorf("TP %d FN %d FP %d; the truth has %d deposit addresses with activity, %d found, %d found wrongly",
			addrs.TP, addrs.FN, addrs.FP, deposits, found, wrong)
	}
	if addrs.TP == 0 || addrs.TN == 0 {
		t.Errorf("degenerate scenario: %+v", addrs.Confusion)
	}
	for _, kind := range []string{ethKindSelfEmpty, ethKindLate, ethKindPending, ethKindDirect, ethKindSplit, ethKindTwoEx} {
		n := 0
		for _, a := range res.Candidates {
			if truth.Addrs[a].Kind == kind {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no candidate is a %s: the trap was not played", kind)
		}
	}
	for a, x := range truth.Addrs {
		if (x.Kind == ethKindSelfEmpty || x.Kind == ethKindLate) && !candidate[a] {
			t.Errorf("%s %s has no activity on the chain read back", x.Kind, a)
		}
	}
	if !strings.Contains(addrs.Note, "FP: ") || !strings.Contains(addrs.Note, "empt") {
		t.Errorf("address note does not name the self-emptying addresses: %q", addrs.Note)
	}

	// Pairs: the contingency-table count equals the pairs enumerated.
	pairs := res.Rows[1]
	cluster := res.Deposits.ClusterOf()
	var want Confusion
	for i, a := range res.Senders {
		if truth.Addrs[a].Kind == ethKindHotWallet {
			t.Errorf("labelled hot wallet %s is among the senders", a)
		}
		for _, b := range res.Senders[i+1:] {
			ca, ok := cluster[a]
			want.Add(ok && ca == cluster[b], truth.Addrs[a].Owner == truth.Addrs[b].Owner)
		}
	}
	if pairs.Confusion != want {
		t.Errorf("pairs %+v, enumerated %+v", pairs.Confusion, want)
	}
	if pairs.TP == 0 {
		t.Error("no true merge: no customer paid one deposit address from two addresses")
	}
	for id, members := range res.Deposits.Clusters {
		if len(members) < 2 || !strings.HasPrefix(id, "cluster:") {
			t.Errorf("cluster %s: %v", id, members)
		}
	}
}

// TestETHScoring checks the plumbing from decisions to counts and notes on
// a hand-made truth.
func TestETHScoring(t *testing.T) {
	truth := &ETHTruth{Addrs: map[string]*ETHAddr{
		"d1": {Owner: "exchange:A", Kind: ethKindDeposit, Deposit: true},
		"d2": {Owner: "exchange:A", Kind: ethKindLate, Deposit: true},
		"d3": {Owner: "exchange:B", Kind: ethKindLate, Deposit: true},
		"p1": {Owner: "customer:1", Kind: ethKindSelfEmpty},
		"p2": {Owner: "customer:1", Kind: ethKindPersonal},
		"p3": {Owner: "customer:2", Kind: ethKindDirect},
	}}
	detected := map[string]bool{"d1": true, "p1": true}
	c, note := scoreDepositAddresses([]string{"d1", "d2", "d3", "p1", "p2", "p3"}, detected, truth)
	if c != (Confusion{TP: 1, FP: 1, FN: 2, TN: 2}) {
		t.Errorf("confusion %+v", c)
	}
	want := "FP: 1 " + ethKindSelfEmpty + "; FN: 2 " + ethPlural[ethKindLate]
	if note != want {
		t.Errorf("note %q, want %q", note, want)
	}
	if got := countList(map[string]int{"b": 1, "a": 1, ethKindShop: 3}, nil); got != "3 shops, 1 a, 1 b" {
		t.Errorf("countList: %q", got)
	}
}
