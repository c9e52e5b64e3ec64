package heurlab

import (
	"context"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/heuristics"
)

// TestBTCScenarioRates plays a small labelled scenario on btcd and checks
// the measurement: every decision is counted once, the CoinJoin skip keeps
// multi-input clustering from merging across CoinJoins (and without it the
// same chain does merge across them, so the check can fail), the only
// false merges are the PayJoins', every played CoinJoin is recognised as
// its kind and every deliberate peel hop is in a peel chain.
func TestBTCScenarioRates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd")
	}
	opts := BTCOptions{Seed: 7, Wallets: 16, Rounds: 16, TxsPerRound: 8, CoinJoins: 1, PeelChains: 2, PeelLength: 5, PayJoins: 2, Logf: t.Logf}
	res, err := RunBTC(context.Background(), opts, heuristics.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Scenario)
	truth := res.Truth
	var changeOutputs int64
	coinjoins := map[string]int64{}
	for _, tx := range truth.Txs {
		if tx.CoinJoin != "" {
			coinjoins[tx.CoinJoin]++
			coinjoins[""]++
		} else if len(tx.Own) >= 2 {
			changeOutputs += int64(len(tx.Own))
		}
	}
	for _, k := range []string{heuristics.CoinJoinWhirlpool, heuristics.CoinJoinWasabi1, heuristics.CoinJoinWasabi2, heuristics.CoinJoinJoinMarket} {
		if coinjoins[k] == 0 {
			t.Errorf("the scenario played no %s CoinJoin", k)
		}
	}
	seen := map[string]bool{}
	for _, r := range res.Rows {
		t.Logf("%-20s %-14s TP %5d FP %5d FN %5d TN %7d  %s", r.Heuristic, r.Unit, r.TP, r.FP, r.FN, r.TN, r.Note)
		seen[r.Heuristic] = true
		switch r.Unit {
		case "outputs":
			if r.Total() != changeOutputs {
				t.Errorf("%s: %d decisions, want one per output of the %d outputs of non-CoinJoin transactions with change candidates", r.Heuristic, r.Total(), changeOutputs)
			}
		case "transactions":
			if r.Total() != int64(len(truth.Txs)) {
				t.Errorf("%s: %d decisions for %d transactions", r.Heuristic, r.Total(), len(truth.Txs))
			}
		}
		if k, ok := strings.CutPrefix(r.Heuristic, "coinjoin_"); ok || r.Heuristic == heuristics.KindCoinJoin {
			if !ok {
				k = "" // every kind
			}
			if r.TP != coinjoins[k] || r.FN != 0 {
				t.Errorf("%s: %d recognised, %d missed, of %d played", r.Heuristic, r.TP, r.FN, coinjoins[k])
			}
		}
	}
	for _, h := range heuristics.DefaultConfig().Infos() {
		if !seen[h.Name] {
			t.Errorf("heuristic %s was not measured", h.Name)
		}
	}
	if res.CoinJoinMerges != 0 {
		t.Errorf("%d multi-input merges inside CoinJoins with the CoinJoin skip on", res.CoinJoinMerges)
	}
	if res.CoinJoinMergesUnskipped == 0 {
		t.Error("without the CoinJoin skip nothing merged across a CoinJoin: the scenario cannot catch a broken skip")
	}
	for kind, n := range res.FalseMerges {
		if kind != KindPayJoin {
			t.Errorf("%d false merges in %s transactions: only PayJoins join two owners' inputs", n, kind)
		}
	}
	if res.FalseMerges[KindPayJoin] != opts.PayJoins {
		t.Errorf("%d false merges in PayJoins, want one per PayJoin (%d)", res.FalseMerges[KindPayJoin], opts.PayJoins)
	}
	if res.PeelMissed != 0 {
		t.Errorf("%d deliberate peel hops not found in a peel chain", res.PeelMissed)
	}
}
