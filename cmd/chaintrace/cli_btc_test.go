package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// btcRow is what the test checks of a transfer row.
type btcRow struct {
	TxHash   string   `json:"tx_hash"`
	Block    uint64   `json:"block_number"`
	Position string   `json:"position"`
	Kind     string   `json:"kind"`
	From     []string `json:"from"`
	To       string   `json:"to"`
	Asset    string   `json:"asset"`
	Amount   string   `json:"amount"`
}

func (r btcRow) String() string {
	return fmt.Sprintf("%d %s %s %s %v -> %s %s", r.Block, r.TxHash[:8], r.Position, r.Kind, r.From, r.To, r.Amount)
}

func parseBtcRows(t *testing.T, out string) []btcRow {
	t.Helper()
	var rows []btcRow
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r btcRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("row %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestBtcIndexAndTransfers plays a peel chain and a fan-out with P2PKH and
// P2WPKH outputs on a real btcd (simnet), indexes those heights with
// `index --chain btc` over HTTPS with the node's certificate, shuts the node
// down, and checks `transfers --chain btc` against rows computed
// independently from the node's wire blocks (btcd's rpcclient and txscript,
// not the package decoder): every output, to the satoshi, with the input
// addresses as from, coinbases from [].
func TestBtcIndexAndTransfers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 5})
	c := n.Client()
	base, err := c.GetBlockCount()
	if err != nil {
		t.Fatal(err)
	}
	from := uint64(base) + 1

	// Block from+0: the funding transaction (wallet inputs) to a (P2PKH) and b (P2WPKH).
	funded, err := n.FundKeys(btcnode.To("a", btcnode.P2PKH, 50_000_000), btcnode.To("b", btcnode.P2WPKH, 30_000_000))
	if err != nil {
		t.Fatal(err)
	}
	// Block from+1: a peel chain a -> (c, a2) -> (d, a3), the second hop
	// spending an output of the same block; and a fan-out b -> e1, e2, e3.
	peel1Outs := []btcnode.Output{btcnode.To("c", btcnode.P2WPKH, 10_000_000), btcnode.To("a2", btcnode.P2PKH, 39_990_000)}
	peel1, err := n.Spend(funded[:1], peel1Outs, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	p1 := btcnode.CoinsOf(peel1, peel1Outs)
	peel2Outs := []btcnode.Output{btcnode.To("d", btcnode.P2WPKH, 5_000_000), btcnode.To("a3", btcnode.P2WPKH, 34_980_000)}
	peel2, err := n.Spend(p1[1:], peel2Outs, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	p2 := btcnode.CoinsOf(peel2, peel2Outs)
	fanOuts := []btcnode.Output{btcnode.To("e1", btcnode.P2PKH, 10_000_000), btcnode.To("e2", btcnode.P2WPKH, 10_000_000), btcnode.To("e3", btcnode.P2WPKH, 9_990_001)}
	if _, err := n.Spend(funded[1:], fanOuts, 9_999); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	// Block from+2: c and d (outputs of an earlier block) merge into f.
	merge, err := n.Spend([]btcnode.Coin{p1[0], p2[0]}, []btcnode.Output{btcnode.To("f", btcnode.P2PKH, 14_995_000)}, 5_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	top, err := c.GetBlockCount()
	if err != nil {
		t.Fatal(err)
	}
	to := uint64(top)

	// The expected rows, from the node's wire blocks.
	params := n.Params()
	addrOf := func(script []byte) string {
		_, addrs, _, err := txscript.ExtractPkScriptAddrs(script, params)
		if err != nil || len(addrs) != 1 {
			t.Fatalf("script %x: %v %v", script, addrs, err)
		}
		return addrs[0].EncodeAddress()
	}
	prevOut := func(op wire.OutPoint) *wire.TxOut {
		tx, err := c.GetRawTransaction(&op.Hash)
		if err != nil {
			t.Fatalf("getrawtransaction %s: %v", op.Hash, err)
		}
		return tx.MsgTx().TxOut[op.Index]
	}
	var want []btcRow
	for h := from; h <= to; h++ {
		hash, err := c.GetBlockHash(int64(h))
		if err != nil {
			t.Fatal(err)
		}
		blk, err := c.GetBlock(hash)
		if err != nil {
			t.Fatal(err)
		}
		for i, tx := range blk.Transactions {
			fromAddrs := []string{}
			if i > 0 {
				for _, ti := range tx.TxIn {
					po := prevOut(ti.PreviousOutPoint)
					if a := addrOf(po.PkScript); !slices.Contains(fromAddrs, a) {
						fromAddrs = append(fromAddrs, a)
					}
				}
			}
			for k, o := range tx.TxOut {
				if o.Value == 0 {
					continue
				}
				want = append(want, btcRow{TxHash: tx.TxHash().String(), Block: h, Position: fmt.Sprintf("out:%d", k),
					Kind: "utxo", From: fromAddrs, To: addrOf(o.PkScript), Asset: "BTC", Amount: fmt.Sprint(o.Value)})
			}
		}
	}

	dir := t.TempDir()
	window := []string{"--from-block", itoa(from), "--to-block", itoa(to)}
	nodeArgs := append([]string{"--chain", "btc", "--store", dir}, btcNodeFlags(n)...)
	code, out, errs := runCLI(t, nil, append(append([]string{"index"}, nodeArgs...), window...)...)
	if code != 0 {
		t.Fatalf("index --chain btc: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, fmt.Sprintf("indexed blocks %d-%d: 3 blocks fetched", from, to)) {
		t.Errorf("index summary: %q", out)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	storeArgs := []string{"transfers", "--chain", "btc", "--store", dir}
	code, out, errs = runCLI(t, nil, append(storeArgs, window...)...)
	if code != 0 {
		t.Fatalf("transfers --chain btc (node down): exit %d: %s", code, errs)
	}
	got := parseBtcRows(t, out)
	t.Logf("%d rows from the store:\n%s", len(got), joinRows(got))
	if !slices.EqualFunc(got, want, func(a, b btcRow) bool { return a.String() == b.String() && a.Asset == b.Asset }) {
		t.Errorf("transfers:\n got  %d rows:\n%s\n want %d rows:\n%s", len(got), joinRows(got), len(want), joinRows(want))
	}

	// Spot checks of the scripted payments, independent of the wire walk.
	addr := func(name string, typ btcnode.ScriptType) string {
		a, err := btcnode.AddrFor(name, typ, params)
		if err != nil {
			t.Fatal(err)
		}
		return a.EncodeAddress()
	}
	find := func(txid chainhash.Hash, pos string) btcRow {
		for _, r := range got {
			if r.TxHash == txid.String() && r.Position == pos {
				return r
			}
		}
		t.Fatalf("no row %s %s", txid, pos)
		return btcRow{}
	}
	aP2PKH, cP2WPKH := addr("a", btcnode.P2PKH), addr("c", btcnode.P2WPKH)
	if r := find(peel1.TxHash(), "out:0"); r.Block != from+1 || r.To != cP2WPKH || r.Amount != "10000000" || !slices.Equal(r.From, []string{aP2PKH}) {
		t.Errorf("peel hop 1: %v", r)
	}
	if r := find(peel2.TxHash(), "out:1"); r.To != addr("a3", btcnode.P2WPKH) || r.Amount != "34980000" || !slices.Equal(r.From, []string{addr("a2", btcnode.P2PKH)}) {
		t.Errorf("peel hop 2 (spends an output of its own block): %v", r)
	}
	if r := find(merge.TxHash(), "out:0"); r.Block != from+2 || r.To != addr("f", btcnode.P2PKH) || r.Amount != "14995000" ||
		!slices.Equal(r.From, []string{cP2WPKH, addr("d", btcnode.P2WPKH)}) {
		t.Errorf("merge: %v", r)
	}
	coinbases := 0
	for _, r := range got {
		if len(r.From) == 0 {
			coinbases++
		}
	}
	if coinbases != 3 {
		t.Errorf("%d rows with from [], want the 3 coinbase outputs", coinbases)
	}

	// --address with a P2WPKH address: exactly its rows (c received once, spent once).
	code, out, errs = runCLI(t, nil, append(append(storeArgs, window...), "--address", strings.ToUpper(cP2WPKH))...)
	if code != 0 {
		t.Fatalf("transfers --address: exit %d: %s", code, errs)
	}
	var wantC []btcRow
	for _, r := range want {
		if r.To == cP2WPKH || slices.Contains(r.From, cP2WPKH) {
			wantC = append(wantC, r)
		}
	}
	gotC := parseBtcRows(t, out)
	if len(wantC) != 2 || !slices.EqualFunc(gotC, wantC, func(a, b btcRow) bool { return a.String() == b.String() }) {
		t.Errorf("--address %s:\n got:\n%s\n want:\n%s", cP2WPKH, joinRows(gotC), joinRows(wantC))
	}

	// Bad addresses: one line, exit 2.
	badSum := cP2WPKH[:len(cP2WPKH)-1] + "q"
	if strings.HasSuffix(cP2WPKH, "q") {
		badSum = cP2WPKH[:len(cP2WPKH)-1] + "p"
	}
	for _, tc := range []struct{ name, addr, want string }{
		{"bech32 checksum", badSum, "checksum"},
		{"mainnet address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "is for mainnet, the node serves simnet"},
		{"mainnet bech32", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "is for mainnet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, nil, append(append(storeArgs, window...), "--address", tc.addr)...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errs)
			}
			t.Logf("stderr: %s", errs)
			if strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tc.want) {
				t.Errorf("stderr %q: want one line mentioning %q", errs, tc.want)
			}
		})
	}
}

func joinRows(rs []btcRow) string {
	var sb strings.Builder
	for _, r := range rs {
		sb.WriteString("  " + r.String() + "\n")
	}
	return sb.String()
}
