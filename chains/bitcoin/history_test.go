package bitcoin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/integration/rpctest"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// TestAddressBlocksBtcd: on a real btcd (--addrindex) coins move among four
// scripted addresses (P2PKH and P2WPKH) over several blocks, with spends in
// which an address is only an input, a block in which an address appears in
// two transactions, empty blocks between, and an unconfirmed spend left in
// the mempool. For each address AddressBlocks equals the heights computed
// here from the blocks themselves (getblock, outputs' scripts and the
// scripts of the outputs the inputs spend), over the whole chain and over a
// window that cuts blocks off at both ends, with the default page size and
// with pages of 2 transactions.
func TestAddressBlocksBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 4})
	mine := func() uint64 {
		t.Helper()
		if _, err := n.Mine(1); err != nil {
			t.Fatal(err)
		}
		_, h, err := n.Client().GetBestBlock()
		if err != nil {
			t.Fatal(err)
		}
		return uint64(h)
	}
	spend := func(from []btcnode.Coin, outs []btcnode.Output, fee int64) []btcnode.Coin {
		t.Helper()
		tx, err := n.Spend(from, outs, fee)
		if err != nil {
			t.Fatal(err)
		}
		return btcnode.CoinsOf(tx, outs)
	}
	const fee = 2_000
	P2PKH, P2WPKH := btcnode.P2PKH, btcnode.P2WPKH

	// Block f: ha (P2PKH) twice, hb (P2WPKH) once, in one funding tx.
	funded, err := n.FundKeys(
		btcnode.To("ha", P2PKH, 5_000_000),
		btcnode.To("hb", P2WPKH, 5_000_000),
		btcnode.To("ha", P2PKH, 1_000_000),
	)
	if err != nil {
		t.Fatal(err)
	}
	ha0, hb0, ha1 := funded[0], funded[1], funded[2]
	mine() // nothing of ours
	// Next block: ha only spends (ha → hc), and hb pays ha: ha in two txs.
	hc0 := spend([]btcnode.Coin{ha0}, []btcnode.Output{btcnode.To("hc", P2WPKH, ha0.Value-fee)}, fee)[0]
	hbOut := spend([]btcnode.Coin{hb0}, []btcnode.Output{
		btcnode.To("ha", P2PKH, 2_000_000), btcnode.To("hb", P2WPKH, hb0.Value-2_000_000-fee),
	}, fee)
	mine()
	mine()
	// hc → hd (P2PKH) with change to hc.
	hcd := spend([]btcnode.Coin{hc0}, []btcnode.Output{
		btcnode.To("hd", P2PKH, 1_000_000), btcnode.To("hc", P2WPKH, hc0.Value-1_000_000-fee),
	}, fee)
	mine()
	// ha spends two coins to hb: ha only as input.
	spend([]btcnode.Coin{ha1, hbOut[0]}, []btcnode.Output{btcnode.To("hb", P2WPKH, ha1.Value+hbOut[0].Value-fee)}, fee)
	mine()
	mine()
	// hd → hc, then hc → hd in the same block (a chain of two in one block).
	back := spend([]btcnode.Coin{hcd[0]}, []btcnode.Output{btcnode.To("hc", P2WPKH, hcd[0].Value-fee)}, fee)
	spend([]btcnode.Coin{back[0]}, []btcnode.Output{btcnode.To("hd", P2PKH, back[0].Value-fee)}, fee)
	head := mine()
	// Unconfirmed: hc's change back to hb stays in the mempool.
	spend([]btcnode.Coin{hcd[1]}, []btcnode.Output{btcnode.To("hb", P2WPKH, hcd[1].Value-fee)}, fee)

	names := map[string]string{}
	for _, k := range []struct {
		name string
		typ  btcnode.ScriptType
	}{{"ha", P2PKH}, {"hb", P2WPKH}, {"hc", P2WPKH}, {"hd", P2PKH}} {
		names[n.Addr(k.name, k.typ).EncodeAddress()] = k.name
	}
	want := expectedBlocks(t, n, head, names)
	for addr, hs := range want {
		t.Logf("%s (%s): blocks %v", names[addr], addr, hs)
	}
	if len(want) != len(names) {
		t.Fatalf("expected blocks for %d addresses, want %d", len(want), len(names))
	}

	host, user, pass, _ := n.RPCConfig()
	ctx := context.Background()
	a, err := bitcoin.Dial(ctx, "https://"+host, bitcoin.Options{User: user, Pass: pass, CertFile: n.CertFile()})
	if err != nil {
		t.Fatal(err)
	}
	small := bitcoin.NewAddrIndexHistory(a, bitcoin.HistoryOptions{PageSize: 2})
	if small.Name() != "searchrawtransactions" {
		t.Errorf("Name %q", small.Name())
	}
	first := want[n.AddrP2PKH("ha").EncodeAddress()][0]
	lo, hi := first+2, head-1 // cuts the funding block and the last block off
	window := func(hs []uint64, from, to uint64) []uint64 {
		var out []uint64
		for _, h := range hs {
			if h >= from && h <= to {
				out = append(out, h)
			}
		}
		return out
	}
	cut := false
	for addr, hs := range want {
		for _, w := range []struct{ from, to uint64 }{{0, head + 10}, {lo, hi}, {first, first}, {hi + 1, hi + 1}} {
			exp := window(hs, w.from, w.to)
			if w.from == lo && len(exp) < len(hs) {
				cut = true
			}
			got, err := a.AddressBlocks(ctx, addr, w.from, w.to)
			if err != nil {
				t.Fatalf("%s [%d, %d]: %v", names[addr], w.from, w.to, err)
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("%s [%d, %d]: AddressBlocks %v, want %v", names[addr], w.from, w.to, got, exp)
			}
			got2, err := small.AddressBlocks(ctx, addr, w.from, w.to)
			if err != nil {
				t.Fatalf("%s [%d, %d] pages of 2: %v", names[addr], w.from, w.to, err)
			}
			if !reflect.DeepEqual(got2, exp) {
				t.Errorf("%s [%d, %d] pages of 2: %v, want %v", names[addr], w.from, w.to, got2, exp)
			}
		}
	}
	if !cut {
		t.Error("the window cut no block off: the test proves nothing about windows")
	}
	if small.Requests() < int64(len(want)) {
		t.Errorf("pages of 2 made only %d requests", small.Requests())
	}

	// An address never used: no blocks, no error. A bad one: ErrBadAddress.
	got, err := a.AddressBlocks(ctx, n.AddrP2WPKH("never-used").EncodeAddress(), 0, head)
	if err != nil || len(got) != 0 {
		t.Errorf("unused address: %v, %v", got, err)
	}
	if _, err := a.AddressBlocks(ctx, "not-an-address", 0, head); !errors.Is(err, bitcoin.ErrBadAddress) {
		t.Errorf("bad address: %v, want ErrBadAddress", err)
	}
	if got, err := a.AddressBlocks(ctx, n.AddrP2PKH("ha").EncodeAddress(), head, first); err != nil || len(got) != 0 {
		t.Errorf("from > to: %v, %v", got, err)
	}
}

// expectedBlocks computes, from the blocks 1..head, the heights at which
// each address of names appears in an output script or in the script of an
// output an input spends.
func expectedBlocks(t *testing.T, n *btcnode.Node, head uint64, names map[string]string) map[string][]uint64 {
	t.Helper()
	c := n.Client()
	spent := map[wire.OutPoint][]byte{}
	out := map[string][]uint64{}
	addrsOf := func(pk []byte) []string {
		_, as, _, err := txscript.ExtractPkScriptAddrs(pk, n.Params())
		if err != nil {
			return nil
		}
		var s []string
		for _, a := range as {
			s = append(s, a.EncodeAddress())
		}
		return s
	}
	for h := uint64(1); h <= head; h++ {
		hash, err := c.GetBlockHash(int64(h))
		if err != nil {
			t.Fatal(err)
		}
		blk, err := c.GetBlock(hash)
		if err != nil {
			t.Fatal(err)
		}
		var here []string
		for _, tx := range blk.Transactions {
			txh := tx.TxHash()
			for i, o := range tx.TxOut {
				spent[wire.OutPoint{Hash: txh, Index: uint32(i)}] = o.PkScript
				here = append(here, addrsOf(o.PkScript)...)
			}
		}
		for _, tx := range blk.Transactions[1:] {
			for _, in := range tx.TxIn {
				pk, ok := spent[in.PreviousOutPoint]
				if !ok {
					t.Fatalf("block %d: input %v spends an output not seen", h, in.PreviousOutPoint)
				}
				here = append(here, addrsOf(pk)...)
			}
		}
		for _, a := range here {
			if _, ok := names[a]; ok && !slices.Contains(out[a], h) {
				out[a] = append(out[a], h)
			}
		}
	}
	return out
}

// TestAddressBlocksNoIndex: btcd started without --addrindex (through
// rpctest directly: btcnode always passes it) answers searchrawtransactions
// with an error that AddressBlocks reports as ErrNoAddressIndex.
func TestAddressBlocksNoIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	exe, err := btcnode.BtcdExecutable("")
	if err != nil {
		t.Skipf("no btcd executable to start one without --addrindex: %v", err)
	}
	h, err := rpctest.New(&chaincfg.SimNetParams, nil, []string{"--txindex"}, exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetUp(false, 0); err != nil {
		_ = h.TearDown()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.TearDown() })
	cfg := h.RPCConfig()
	cert := filepath.Join(t.TempDir(), "rpc.cert")
	if err := os.WriteFile(cert, cfg.Certificates, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := bitcoin.Dial(ctx, "https://"+cfg.Host, bitcoin.Options{User: cfg.User, Pass: cfg.Pass, CertFile: cert})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := btcnode.AddrFor("ha", btcnode.P2PKH, &chaincfg.SimNetParams)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.AddressBlocks(ctx, addr.EncodeAddress(), 0, 100)
	if !errors.Is(err, bitcoin.ErrNoAddressIndex) {
		t.Fatalf("AddressBlocks without --addrindex: %v, want ErrNoAddressIndex", err)
	}
	if !strings.Contains(err.Error(), "chaintrace index --chain btc") {
		t.Errorf("error %q suggests no remedy", err)
	}
	t.Logf("error: %v", err)
}

// TestAddressBlocksCore: Bitcoin Core has no searchrawtransactions; its
// "Method not found" (-32601) is ErrNoAddressIndex. A fake Core endpoint.
func TestAddressBlocksCore(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		answer := func(req map[string]any) map[string]any {
			out := map[string]any{"id": req["id"], "result": nil, "error": nil}
			switch req["method"] {
			case "getblockchaininfo":
				out["result"] = map[string]any{"chain": "regtest"}
			case "getnetworkinfo":
				out["result"] = map[string]any{"version": 270000, "subversion": "/Satoshi:27.0.0/"}
			default:
				out["error"] = map[string]any{"code": -32601, "message": "Method not found"}
			}
			return out
		}
		var batch []map[string]any
		if json.Unmarshal(body, &batch) == nil {
			var outs []map[string]any
			for _, req := range batch {
				outs = append(outs, answer(req))
			}
			_ = json.NewEncoder(w).Encode(outs)
			return
		}
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(answer(req))
	}))
	defer srv.Close()
	ctx := context.Background()
	a, err := bitcoin.Dial(ctx, srv.URL, bitcoin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := btcnode.AddrFor("ha", btcnode.P2WPKH, &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.AddressBlocks(ctx, addr.EncodeAddress(), 0, 10)
	if !errors.Is(err, bitcoin.ErrNoAddressIndex) {
		t.Fatalf("Core: %v, want ErrNoAddressIndex", err)
	}
	t.Logf("error: %v", err)
}
