package watch_test

import (
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/chaintrace/chaintrace/watch"
)

// TestEthMovementsAlertOnceWhenFinal: on a real geth node, a native
// transfer, an ERC-20 transfer and two internal transfers out of watched
// addresses each make exactly one alert, once three blocks are on top of
// theirs and not before; transfers into a watched address alert only with
// Incoming; the alert names the destination's label.
func TestEthMovementsAlertOnceWhenFinal(t *testing.T) {
	r := newEthRig(t, "thief", "issuer", "bystander")
	token, err := r.node.Deploy(devchain.Key("issuer"), contracts.ERC20(big.NewInt(1_000_000_000)), nil)
	if err != nil {
		t.Fatal(err)
	}
	router, err := r.node.Deploy(devchain.Key("bystander"), contracts.Router(), nil)
	if err != nil {
		t.Fatal(err)
	}
	thief, deposit := devchain.Addr("thief"), devchain.Addr("binance-deposit")
	r.pay("issuer", token, nil, contracts.ERC20Transfer(thief, big.NewInt(5_000_000)))
	start := r.commit(1) + 1

	wl := watchlist(chains.ETH, thief.Hex())
	// The router is watched as a labelled hacker contract: the value it
	// pays out by internal calls is watched funds moving.
	wl.Add(router.Hex(), watch.Reason{Kind: watch.ReasonLabel, Source: "tags.yaml", Label: "Drainer contract", Category: "hacker"})
	labels := func(addr string) []watch.LabelRef {
		if strings.EqualFold(addr, deposit.Hex()) {
			return []watch.LabelRef{{Label: "Binance deposit", Category: "exchange", Source: "tags.yaml"}}
		}
		return nil
	}
	const conf = 3
	w := r.open(wl, conf, start, func(c *watch.Config) { c.Labels = labels })
	incoming := r.open(wl, conf, start, func(c *watch.Config) {
		c.Labels, c.Incoming, c.Sinks = labels, true, nil
	})
	r.step(w, 0, 0)

	native := r.pay("thief", deposit, big.NewInt(5_000_000_000_000_000_123), nil)
	erc20 := r.pay("thief", token, nil, contracts.ERC20Transfer(deposit, big.NewInt(1_234_567)))
	viaRouter := r.pay("thief", router, ether(2), contracts.RouterCall(
		contracts.Payment{To: devchain.Addr("cash-1"), Amount: big.NewInt(1_500_000_000_000_000_000)},
		contracts.Payment{To: devchain.Addr("cash-2"), Amount: big.NewInt(500_000_000_000_000_000)}))
	r.pay("bystander", deposit, ether(1), nil) // not watched
	into := r.pay("bystander", thief, ether(1), nil)
	block := r.commit(1)

	// Not final at 0, 1 and 2 confirmations.
	for k := range conf {
		res := r.step(w, 0, 0)
		if res.Pending != 5 {
			t.Fatalf("%d confirmations: %d movements pending, want 5", k, res.Pending)
		}
		r.commit(1)
	}
	r.step(w, 5, 0)
	// Never again.
	r.step(w, 0, 0)
	r.commit(4)
	r.step(w, 0, 0)

	got := r.got.all()
	byID := map[string]*watch.Alert{}
	for _, a := range got {
		if byID[a.ID] != nil {
			t.Errorf("two alerts for %s", a.ID)
		}
		byID[a.ID] = a
		if a.Type != watch.TypeMovement || a.Schema != watch.AlertSchema || a.Transfer.BlockNumber != block || a.Confirmations != conf {
			t.Errorf("alert %s: type %s, block %d, confirmations %d", a.ID, a.Type, a.Transfer.BlockNumber, a.Confirmations)
		}
	}
	id := func(tx common.Hash, pos string) string { return "eth:" + strings.ToLower(tx.Hex()) + ":" + pos }
	a := byID[id(native, "tx")]
	if a == nil {
		t.Fatalf("no alert for the native transfer; got %v", keys(byID))
	}
	if a.Transfer.Amount != "5000000000000000123" || a.Transfer.Asset != "ETH" || a.Transfer.Kind != chains.KindNative ||
		a.Transfer.To != deposit.Hex() || !slices.Equal(a.Transfer.From, []string{thief.Hex()}) {
		t.Errorf("native alert transfer: %+v", a.Transfer)
	}
	if a.Destination.Label != "Binance deposit" || a.Destination.Category != "exchange" || a.Destination.Watched {
		t.Errorf("native alert destination: %+v", a.Destination)
	}
	if len(a.Watched) != 1 || a.Watched[0].Address != thief.Hex() || a.Watched[0].Role != "from" ||
		a.Watched[0].Reasons[0] != listReason(1) {
		t.Errorf("native alert watched: %+v", a.Watched)
	}
	if !strings.Contains(a.Message, "5000000000000000123 ETH moved from watched "+thief.Hex()) ||
		!strings.Contains(a.Message, "(Binance deposit, exchange)") {
		t.Errorf("message: %s", a.Message)
	}
	var tokenAlert *watch.Alert
	for _, x := range got {
		if x.Transfer.TxHash == strings.ToLower(erc20.Hex()) {
			tokenAlert = x
		}
	}
	if tokenAlert == nil || tokenAlert.Transfer.Kind != chains.KindERC20 || tokenAlert.Transfer.Asset != token.Hex() ||
		tokenAlert.Transfer.Amount != "1234567" || !strings.HasPrefix(tokenAlert.Transfer.Position, "log:") ||
		tokenAlert.Destination.Category != "exchange" {
		t.Errorf("erc20 alert: %+v", tokenAlert)
	}
	if x := byID[id(viaRouter, "tx")]; x == nil || x.Transfer.Amount != ether(2).String() {
		t.Errorf("the payment into the router: %+v", x)
	}
	for i, want := range []string{"1500000000000000000", "500000000000000000"} {
		x := byID[id(viaRouter, "call:"+string(rune('0'+i)))]
		if x == nil || x.Transfer.Kind != chains.KindInternal || x.Transfer.Amount != want ||
			x.Watched[0].Address != router.Hex() || x.Watched[0].Reasons[0].Category != "hacker" {
			t.Errorf("internal payment %d: %+v", i, x)
		}
	}
	if byID[id(into, "tx")] != nil {
		t.Error("a transfer into a watched address alerted without Incoming")
	}

	// The JSON line of each alert: the same alerts, amounts as strings.
	lines := r.jsonLines()
	if len(lines) != 5 {
		t.Fatalf("%d JSON lines, want 5", len(lines))
	}
	for _, l := range lines {
		tr := l["transfer"].(map[string]any)
		if _, ok := tr["amount"].(string); !ok || l["schema"] != watch.AlertSchema || byID[l["id"].(string)] == nil {
			t.Errorf("JSON line: %v", l)
		}
	}
	if !strings.Contains(r.logs.String(), "watched funds moved") {
		t.Error("no log line for the alerts")
	}

	// With Incoming the payment into the thief alerts too, naming it "to".
	res, err := incoming.Step(t.Context())
	if err != nil || res.Alerts != 6 {
		t.Fatalf("incoming watcher: %d alerts (%v), want 6", res.Alerts, err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestEthReorgBeforeFinalMakesNoAlert: a movement whose block a
// reorganisation drops before it is final is never alerted; the watcher
// goes on along the new chain and alerts the next movement once.
func TestEthReorgBeforeFinalMakesNoAlert(t *testing.T) {
	r := newEthRig(t, "thief")
	thief := devchain.Addr("thief")
	start := r.commit(1) + 1
	w := r.open(watchlist(chains.ETH, thief.Hex()), 3, start, nil)

	r.pay("thief", devchain.Addr("fence"), ether(7), nil)
	b := r.commit(1)
	r.step(w, 0, 0)
	r.commit(1)
	if res := r.step(w, 0, 0); res.Pending != 1 {
		t.Fatalf("%d pending before the reorganisation, want 1", res.Pending)
	}

	// The chain is reorganised from b-1: the payment is in none of the
	// new blocks, which are more than three on top of b's height.
	if err := r.node.Fork(b - 1); err != nil {
		t.Fatal(err)
	}
	if err := r.node.RollbackPool(); err != nil {
		t.Fatal(err)
	}
	r.commit(5)
	res := r.step(w, 0, 0)
	if res.Reorgs != 1 || res.Pending != 0 || res.Next != b+2 {
		t.Fatalf("after the reorganisation: %+v, want one reorganisation, nothing pending, next block %d", res, b+2)
	}
	if !strings.Contains(r.logs.String(), "a reorganisation removed a movement before it was final") {
		t.Error("the dropped movement is not logged")
	}
	r.commit(3)
	r.step(w, 0, 0)

	// The next movement on the new chain alerts once.
	again := r.pay("thief", devchain.Addr("fence"), ether(1), nil)
	nb := r.commit(1)
	r.commit(3)
	r.step(w, 1, 0)
	a := r.got.all()[0]
	if a.Transfer.TxHash != strings.ToLower(again.Hex()) || a.Transfer.BlockNumber != nb || len(r.got.all()) != 1 {
		t.Errorf("alerts: %+v", r.got.all())
	}
}

// TestEthDeepReorgRetracts: a reorganisation deeper than the confirmation
// depth that drops an alerted movement makes one retraction; one that
// moves it into another block makes neither a retraction nor a second
// alert.
func TestEthDeepReorgRetracts(t *testing.T) {
	r := newEthRig(t, "thief")
	thief := devchain.Addr("thief")
	start := r.commit(1) + 1
	w := r.open(watchlist(chains.ETH, thief.Hex()), 1, start, nil)

	gone := r.pay("thief", devchain.Addr("fence"), ether(7), nil)
	b := r.commit(1)
	r.commit(1)
	r.step(w, 1, 0)

	if err := r.node.Fork(b - 1); err != nil {
		t.Fatal(err)
	}
	if err := r.node.RollbackPool(); err != nil {
		t.Fatal(err)
	}
	r.commit(3)
	res := r.step(w, 0, 1)
	if res.Reorgs != 1 {
		t.Fatalf("reorganisations %d", res.Reorgs)
	}
	got := r.got.all()
	if len(got) != 2 || got[1].Type != watch.TypeRetraction || got[1].ID != got[0].ID ||
		got[1].Transfer.TxHash != strings.ToLower(gone.Hex()) || !strings.Contains(got[1].RetractedBecause, "no longer on the chain") ||
		!strings.HasPrefix(got[1].Message, "RETRACTED: ") {
		t.Fatalf("alerts after the deep reorganisation: %+v", got)
	}
	if len(w.State().Alerted) != 0 {
		t.Errorf("the retracted alert is still kept: %v", w.State().Alerted)
	}
	r.commit(2)
	r.step(w, 0, 0)

	// The same again, but the payment returns to the pool and is mined
	// again on the new branch: it is the same movement, alerted already.
	moved := r.pay("thief", devchain.Addr("fence"), ether(2), nil)
	c := r.commit(1)
	r.commit(1)
	r.step(w, 1, 0)
	if err := r.node.Fork(c - 1); err != nil {
		t.Fatal(err)
	}
	r.commit(1)
	if rc, err := r.node.Receipt(moved); err != nil || rc.BlockNumber.Uint64() != c {
		t.Fatalf("the payment was not mined again at %d: %v", c, err)
	}
	// Its new block is not final yet: no retraction while it waits.
	r.step(w, 0, 0)
	r.commit(2)
	r.step(w, 0, 0)
	if len(r.got.all()) != 3 {
		t.Errorf("%d alerts in all, want 3", len(r.got.all()))
	}
	if !strings.Contains(r.logs.String(), "an alerted movement is on the chain again") {
		t.Error("the re-included movement is not logged")
	}
	rec := w.State().Alerted["eth:"+strings.ToLower(moved.Hex())+":tx"]
	if rec == nil || rec.Displaced || rec.BlockHash == "" || rec.Block != c {
		t.Errorf("record of the re-included movement: %+v", rec)
	}
}
