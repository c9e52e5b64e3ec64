package bitcoin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// TestDialBtcd: against a real btcd (HTTPS, self-signed certificate) Dial
// finds simnet and btcd (getblock verbosity 2, so spent transactions are
// fetched into the prevtxs part), FetchRaw returns blocks that decode, a
// block spending an output of an earlier block carries that transaction,
// a height past the head is ErrBeyondHead, and a wrong expected network or
// bad credentials fail with the endpoint's password-free URL.
func TestDialBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 2})
	coins, err := n.FundKeys(btcnode.To("x", btcnode.P2WPKH, 1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	spend, err := n.Spend(coins, []btcnode.Output{btcnode.To("y", btcnode.P2PKH, 990_000)}, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	host, user, pass, _ := n.RPCConfig()
	ctx := context.Background()
	a, err := bitcoin.Dial(ctx, "https://"+host, bitcoin.Options{User: user, Pass: pass, CertFile: n.CertFile()})
	if err != nil {
		t.Fatal(err)
	}
	if caps := a.Capabilities(); caps.Client != "btcd" || caps.Chain != "simnet" || caps.Verbosity != 2 {
		t.Errorf("capabilities %+v", caps)
	}
	if a.Network() != "btc:simnet" || a.Chain() != chains.BTC {
		t.Errorf("network %q chain %q", a.Network(), a.Chain())
	}
	head, err := a.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raws, err := a.FetchRaw(ctx, []uint64{head - 1, head})
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range raws {
		if _, ok := raw.Parts[bitcoin.PartPrevTxs]; !ok {
			t.Errorf("block %d has no prevtxs part", raw.Number)
		}
		bt, err := a.Decode(&raws[i])
		if err != nil {
			t.Fatalf("decode block %d: %v", raw.Number, err)
		}
		if raw.Number == head {
			if !strings.Contains(string(raw.Parts[bitcoin.PartPrevTxs]), coins[0].OutPoint.Hash.String()) {
				t.Errorf("prevtxs of block %d lacks the funding transaction", head)
			}
			found := false
			for _, tr := range bt.Transfers {
				if tr.TxHash == spend.TxHash().String() && tr.Amount.Int64() == 990_000 && len(tr.From) == 1 && tr.From[0] == n.AddrP2WPKH("x").EncodeAddress() {
					found = true
				}
			}
			if !found {
				t.Errorf("block %d: no 990000 sat row from x's P2WPKH address: %+v", head, bt.Transfers)
			}
		}
	}
	if _, err := a.FetchRaw(ctx, []uint64{head + 5}); !errors.Is(err, bitcoin.ErrBeyondHead) {
		t.Errorf("past the head: %v", err)
	}
	if _, err := bitcoin.Dial(ctx, "https://"+host, bitcoin.Options{User: user, Pass: pass, CertFile: n.CertFile(), Net: &chaincfg.MainNetParams}); !errors.Is(err, bitcoin.ErrWrongNetwork) {
		t.Errorf("expected mainnet: %v", err)
	}
	_, err = bitcoin.Dial(ctx, "https://u:hunter2@"+host, bitcoin.Options{CertFile: n.CertFile()})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad credentials: %v", err)
	}
}
