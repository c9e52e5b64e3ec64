package watch_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/watch"
)

// TestBtcMovementsAndReorg: on a real btcd, a payment out of a watched
// address alerts once per output, two blocks deep and not before; a payment
// whose block btcd invalidates (a reorganisation onto blocks without it)
// before it is final is never alerted.
func TestBtcMovementsAndReorg(t *testing.T) {
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 4})
	ctx := context.Background()
	host, user, pass, _ := n.RPCConfig()
	a, err := bitcoin.Dial(ctx, "https://"+host, bitcoin.Options{User: user, Pass: pass, CertFile: n.CertFile()})
	if err != nil {
		t.Fatal(err)
	}
	coins, err := n.FundKeys(btcnode.To("thief", btcnode.P2WPKH, 100_000_000), btcnode.To("thief", btcnode.P2WPKH, 50_000_000))
	if err != nil {
		t.Fatal(err)
	}
	thief, exchange := n.AddrP2WPKH("thief").EncodeAddress(), n.AddrP2WPKH("exchange").EncodeAddress()
	head, err := a.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &ethRig{t: t, got: &collect{}, lines: &syncBuffer{}, logs: &syncBuffer{}}
	r.log = newTextLogger(r.logs)
	from := head + 1
	w, err := watch.Open(ctx, watch.Config{Source: watch.BtcSource{A: a}, Watchlist: watchlist(chains.BTC, thief),
		Confirmations: 2, FromBlock: &from, Sinks: []watch.Sink{r.got}, Logger: r.log,
		Labels: func(addr string) []watch.LabelRef {
			if addr == exchange {
				return []watch.LabelRef{{Label: "Exchange deposit", Category: "exchange"}}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	mine := func() []*chainhash.Hash {
		t.Helper()
		h, err := n.Mine(1)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	r.step(w, 0, 0)

	// The thief pays the exchange, change back to itself: two outputs.
	pay, err := n.Spend(coins[:1], []btcnode.Output{btcnode.To("exchange", btcnode.P2WPKH, 60_000_000),
		btcnode.To("thief", btcnode.P2WPKH, 39_990_000)}, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	mine()
	if res := r.step(w, 0, 0); res.Pending != 2 {
		t.Fatalf("%d pending, want 2", res.Pending)
	}
	mine()
	r.step(w, 0, 0)
	mine()
	r.step(w, 2, 0)
	r.step(w, 0, 0)
	got := r.got.all()
	txid := pay.TxHash().String()
	out0 := got[0]
	if out0.ID != "btc:"+txid+":out:0" || out0.Transfer.Amount != "60000000" || out0.Transfer.Asset != "BTC" ||
		out0.Transfer.Kind != chains.KindUTXO || !slices.Equal(out0.Transfer.From, []string{thief}) || out0.Transfer.To != exchange ||
		out0.Destination.Label != "Exchange deposit" || out0.Watched[0].Address != thief || out0.Network != "btc:simnet" {
		t.Errorf("alert of output 0: %+v", out0)
	}
	if got[1].ID != "btc:"+txid+":out:1" || got[1].Transfer.Amount != "39990000" || !got[1].Destination.Watched {
		t.Errorf("alert of output 1 (the change): %+v", got[1])
	}

	// A second payment, mined in a block that btcd then invalidates; three
	// blocks without it take its place.
	if _, err := n.Spend(coins[1:], []btcnode.Output{btcnode.To("exchange", btcnode.P2WPKH, 49_990_000)}, 10_000); err != nil {
		t.Fatal(err)
	}
	orphan := mine()[0]
	if res := r.step(w, 0, 0); res.Pending != 1 {
		t.Fatalf("%d pending, want 1", res.Pending)
	}
	if err := n.Client().InvalidateBlock(orphan); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := n.Harness().GenerateAndSubmitBlock(nil, -1, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	res := r.step(w, 0, 0)
	if res.Reorgs != 1 || res.Pending != 0 {
		t.Fatalf("after the reorganisation: %+v", res)
	}
	if h, err := a.Head(ctx); err != nil || res.Next != h-1 {
		t.Errorf("next block %d, head %d", res.Next, h)
	}
	if len(r.got.all()) != 2 {
		t.Errorf("%d alerts, want the 2 of the first payment", len(r.got.all()))
	}
}
