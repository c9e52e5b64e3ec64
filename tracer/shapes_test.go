package tracer_test

import (
	"math/big"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/chaintrace/chaintrace/tracer/taint"
	"github.com/ethereum/go-ethereum/common"
)

var models = []taint.Kind{taint.Haircut, taint.Poison}

// TestDeepPeelScenario follows a 120-hop peel chain to its end at the
// bridge, through a fresh deposit address at every hop.
func TestDeepPeelScenario(t *testing.T) {
	const hops = 120
	x := setup(t, func(n *devchain.Node) (*scenario.Truth, error) { return scenario.PlayDeepPeel(n, hops) }, scenario.DeepPeelFunded)
	for _, model := range models {
		t.Run(model.String(), func(t *testing.T) {
			res := x.trace(t, model, hops+5)
			checkTruth(t, x.truth, res)
			checkTaintBounds(t, model, res, x.truth.Seeds)
			if model.String() == "haircut" {
				checkAllTainted(t, res)
			}
			// The bridge is one hop past the last of the chain.
			for _, a := range res.Addresses {
				if a.Category == "bridge" && a.Hop != hops+1 {
					t.Errorf("bridge reached at hop %d, want %d", a.Hop, hops+1)
				}
			}
		})
	}
}

// TestWideFanOutScenario follows a 520-way fan-out (router calls and plain
// transfers) into fresh and shared deposit addresses, exchanges and a
// mixer.
func TestWideFanOutScenario(t *testing.T) {
	const width = 520
	x := setup(t, func(n *devchain.Node) (*scenario.Truth, error) { return scenario.PlayWideFanOut(n, width) }, scenario.WideFanOutFunded)
	for _, model := range models {
		t.Run(model.String(), func(t *testing.T) {
			res := x.trace(t, model, 10)
			checkTruth(t, x.truth, res)
			checkTaintBounds(t, model, res, x.truth.Seeds)
			if model.String() == "haircut" {
				checkAllTainted(t, res)
			}
			t.Logf("%d rows, %d addresses, %d endpoints", len(res.Rows), len(res.Addresses), len(res.Endpoints))
		})
	}
}

// checkAllTainted: where no clean money ever joins the launderer's
// addresses, haircut leaves every traced transfer, and so every endpoint,
// wholly tainted (a fee takes its full share, which is all of it).
func checkAllTainted(t *testing.T, res *tracer.Result) {
	t.Helper()
	for _, r := range res.Rows {
		if r.Taint.Cmp(r.Amount) != 0 {
			t.Errorf("%s %s: taint %s of %s, want all of it", r.TxHash, r.Position, r.Taint, r.Amount)
		}
	}
	for _, ep := range res.Endpoints {
		if ep.Taint.Cmp(ep.Amount) != 0 {
			t.Errorf("endpoint %s %s: taint %s of %s, want all of it", ep.Label, ep.Asset, ep.Taint, ep.Amount)
		}
	}
}

// TestRemergeScenario follows paths of 2 to 5 hops that re-merge in two
// stages, with clean money joining at the last merge, for ETH and for a
// token, and checks the haircut figures of the merge points' outflows by
// hand.
func TestRemergeScenario(t *testing.T) {
	x := setup(t, scenario.PlayRemerge, scenario.RemergeFunded)
	results := map[string]*tracer.Result{}
	for _, model := range models {
		t.Run(model.String(), func(t *testing.T) {
			res := x.trace(t, model, 10)
			results[model.String()] = res
			checkTruth(t, x.truth, res)
			checkTaintBounds(t, model, res, x.truth.Seeds)
		})
	}
	res := results["haircut"]
	if res == nil {
		t.Fatal("no haircut trace")
	}

	// ETH. rm-merge opens empty, then receives RemergeTainted stolen ETH
	// (merge-1, c3, d4 only ever held stolen money, so all of it is
	// tainted) and RemergeClean clean ETH. It then sends RemergeToGemini
	// to its Gemini deposit address and the rest but gas money to
	// Bitfinex, paying a fee with each, debited after the transfer (the
	// fee is the last slice of the sender's tape): a fee takes the
	// address's tainted share with it, like any outflow.
	merge := devchain.Addr("rm-merge").Hex()
	out := rowsFrom(res, merge, chains.AssetETH)
	if len(out) != 2 {
		t.Fatalf("rm-merge: %d ETH outflows traced, want 2", len(out))
	}
	tainted := new(big.Int).Set(scenario.RemergeTainted)
	balance := new(big.Int).Add(scenario.RemergeTainted, scenario.RemergeClean)
	if out[0].Amount.Cmp(scenario.RemergeToGemini) != 0 {
		t.Fatalf("rm-merge's first outflow is %s, want %s", out[0].Amount, scenario.RemergeToGemini)
	}
	for i, r := range out {
		want := haircut(r.Amount, tainted, balance)
		if r.Taint.Cmp(want) != 0 {
			t.Errorf("haircut rm-merge outflow %d (%s of %s): %s, by hand %s", i, r.To, r.Amount, r.Taint, want)
		}
		t.Logf("rm-merge -> %s: %s of %s wei tainted", r.To, r.Taint, r.Amount)
		tainted.Sub(tainted, want)
		balance.Sub(balance, r.Amount)
		fee := x.fee(t, r.TxHash)
		tainted.Sub(tainted, haircut(fee, tainted, balance))
		balance.Sub(balance, fee)
	}
	// What is left at rm-merge is exactly its real balance.
	if bal, err := x.node.Balance(devchain.Addr("rm-merge")); err != nil || bal.Cmp(balance) != 0 {
		t.Errorf("rm-merge holds %v, the hand ledger %s (%v)", bal, balance, err)
	}
	// The Gemini deposit address passes its tainted share on in full
	// (less the share of its fee and of what it keeps).
	dep := devchain.Addr("rm-gemini-dep").Hex()
	sweep := rowsFrom(res, dep, chains.AssetETH)
	if len(sweep) != 1 {
		t.Fatalf("rm-gemini-dep: %d outflows traced, want 1", len(sweep))
	}
	depTaint, depBal := new(big.Int).Set(out[0].Taint), new(big.Int).Set(out[0].Amount)
	fee := x.fee(t, sweep[0].TxHash)
	depTaint.Sub(depTaint, haircut(fee, depTaint, depBal))
	depBal.Sub(depBal, fee)
	if want := haircut(sweep[0].Amount, depTaint, depBal); sweep[0].Taint.Cmp(want) != 0 {
		t.Errorf("haircut Gemini sweep: %s, by hand %s", sweep[0].Taint, want)
	}

	// The token: no fees in the token, so just the two shares.
	tok := x.truth.Token.Hex()
	tokOut := rowsFrom(res, devchain.Addr("rm-tok-merge").Hex(), tok)
	if len(tokOut) != 2 {
		t.Fatalf("rm-tok-merge: %d token outflows traced, want 2", len(tokOut))
	}
	tainted = new(big.Int).Set(scenario.RemergeStolenTokens)
	balance = new(big.Int).Add(scenario.RemergeStolenTokens, scenario.RemergeCleanTokens)
	for i, r := range tokOut {
		want := haircut(r.Amount, tainted, balance)
		if r.Taint.Cmp(want) != 0 {
			t.Errorf("haircut rm-tok-merge outflow %d (%s of %s): %s, by hand %s", i, r.To, r.Amount, r.Taint, want)
		}
		tainted.Sub(tainted, want)
		balance.Sub(balance, r.Amount)
	}
	if balance.Sign() != 0 {
		t.Errorf("rm-tok-merge keeps %s tokens by the hand ledger, want none", balance)
	}
}

// haircut is floor(amount * tainted / balance).
func haircut(amount, tainted, balance *big.Int) *big.Int {
	t := new(big.Int).Mul(amount, tainted)
	return t.Quo(t, balance)
}

// rowsFrom returns the traced rows leaving addr in asset, in chain order.
func rowsFrom(res *tracer.Result, addr, asset string) []tracer.Row {
	var out []tracer.Row
	for _, r := range res.Rows {
		if r.From[0] == addr && r.Asset == asset {
			out = append(out, r)
		}
	}
	return out
}

// fee reads a transaction's fee from the store and checks it against the
// node's receipt.
func (x *traced) fee(t *testing.T, hash string) *big.Int {
	t.Helper()
	tx, ok, err := x.st.TxByHash(chains.ETH, hash)
	if err != nil || !ok {
		t.Fatalf("tx %s: %v", hash, err)
	}
	rc, err := x.node.Receipt(common.HexToHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	if want := new(big.Int).Mul(new(big.Int).SetUint64(rc.GasUsed), rc.EffectiveGasPrice); tx.Fee.Cmp(want) != 0 {
		t.Fatalf("tx %s: the store's fee %s, the node's %s", hash, tx.Fee, want)
	}
	return tx.Fee
}
