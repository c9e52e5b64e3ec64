package btcnode_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// skipIfShort skips the tests that start a real btcd under -short.
func skipIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real btcd (builds it on first use); skipped with -short")
	}
}

func TestKeysAndAddresses(t *testing.T) {
	a, b := btcnode.Key("alice"), btcnode.Key("alice")
	if !a.Key.Equals(&b.Key) {
		t.Fatal("Key is not deterministic")
	}
	if c := btcnode.Key("bob"); a.Key.Equals(&c.Key) {
		t.Fatal("different names gave the same key")
	}
	p := &chaincfg.SimNetParams
	pkh, err := btcnode.AddrFor("alice", btcnode.P2PKH, p)
	if err != nil {
		t.Fatal(err)
	}
	wpkh, err := btcnode.AddrFor("alice", btcnode.P2WPKH, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pkh.(*btcutil.AddressPubKeyHash); !ok || !strings.HasPrefix(pkh.EncodeAddress(), "S") {
		t.Errorf("P2PKH simnet address = %T %s", pkh, pkh.EncodeAddress())
	}
	if _, ok := wpkh.(*btcutil.AddressWitnessPubKeyHash); !ok || !strings.HasPrefix(wpkh.EncodeAddress(), "sb1q") {
		t.Errorf("P2WPKH simnet address = %T %s", wpkh, wpkh.EncodeAddress())
	}
	if string(pkh.ScriptAddress()) != string(wpkh.ScriptAddress()) {
		t.Error("P2PKH and P2WPKH of one key should share the hash160")
	}
}

// planned is a transaction the test built, with what it must look like on chain.
type planned struct {
	name string
	tx   *wire.MsgTx
	outs []btcutil.Address
	vals []int64
	fee  int64
}

func TestScriptedPayments(t *testing.T) {
	skipIfShort(t)
	start := time.Now()
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 10})
	t.Logf("first start in this process: %v (timing %+v)", time.Since(start).Round(time.Millisecond), n.Timing())
	c := n.Client()

	// Fund a P2PKH address with Fund, and P2WPKH / mixed keys with FundKeys.
	aliceOP, err := n.Fund(n.AddrP2PKH("alice"), 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	alice := btcnode.Coin{OutPoint: aliceOP, Value: 10_000_000, Key: "alice", Type: btcnode.P2PKH}
	funded, err := n.FundKeys(
		btcnode.To("bob", btcnode.P2WPKH, 20_000_000),
		btcnode.To("c1", btcnode.P2PKH, 1_000_000),
		btcnode.To("c2", btcnode.P2WPKH, 2_000_000),
		btcnode.To("c3", btcnode.P2PKH, 3_000_000),
	)
	if err != nil {
		t.Fatal(err)
	}
	bob := funded[0]

	var txs []planned
	spend := func(name string, from []btcnode.Coin, outs []btcnode.Output, fee int64) *wire.MsgTx {
		t.Helper()
		tx, err := n.Spend(from, outs, fee)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := planned{name: name, tx: tx, fee: fee}
		for _, o := range outs {
			p.outs = append(p.outs, n.Addr(o.Key, o.Type))
			p.vals = append(p.vals, o.Value)
		}
		txs = append(txs, p)
		return tx
	}

	// A 3-hop peel chain from alice: each hop 1 input → peel + change,
	// alternating P2WPKH / P2PKH, unconfirmed chain mined at the end.
	types := []btcnode.ScriptType{btcnode.P2WPKH, btcnode.P2PKH}
	cur := alice
	fees := []int64{1_000, 1_500, 2_250}
	for i := 0; i < 3; i++ {
		peel := int64(1_000_000 + i*111)
		outs := []btcnode.Output{
			btcnode.To(fmt.Sprintf("peel%d", i), types[i%2], peel),
			btcnode.To(fmt.Sprintf("chg%d", i), types[(i+1)%2], cur.Value-peel-fees[i]),
		}
		tx := spend(fmt.Sprintf("peel hop %d", i), []btcnode.Coin{cur}, outs, fees[i])
		cur = btcnode.CoinsOf(tx, outs)[1]
	}

	// Fan-out 1 → 5 from bob (P2WPKH), mixed output types.
	var fan []btcnode.Output
	rest := bob.Value - 3_000
	for i := 0; i < 5; i++ {
		v := int64(3_000_000 + i*1_000)
		if i == 4 {
			v = rest
		}
		rest -= v
		fan = append(fan, btcnode.To(fmt.Sprintf("fan%d", i), types[i%2], v))
	}
	spend("fan-out", []btcnode.Coin{bob}, fan, 3_000)

	// Consolidation 3 → 1 (inputs P2PKH, P2WPKH, P2PKH).
	spend("consolidation", funded[1:4], []btcnode.Output{btcnode.To("sink", btcnode.P2WPKH, 6_000_000-2_500)}, 2_500)

	// An unbalanced spend is refused before it reaches the node.
	if _, err := n.Spend([]btcnode.Coin{cur}, []btcnode.Output{btcnode.To("x", btcnode.P2PKH, cur.Value)}, 1); err == nil {
		t.Error("unbalanced Spend succeeded")
	}

	hashes, err := n.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	block, err := c.GetBlock(hashes[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(block.Transactions), 1+len(txs); got != want {
		t.Fatalf("mined block has %d txs, want %d (coinbase + all scripted)", got, want)
	}

	// getrawtransaction verbose: values to the satoshi, addresses, confirmation;
	// fee from the previous outputs equals the fee that was set.
	for _, p := range txs {
		h := p.tx.TxHash()
		res, err := c.GetRawTransactionVerbose(&h)
		if err != nil {
			t.Fatalf("%s: getrawtransaction: %v", p.name, err)
		}
		if res.BlockHash != hashes[0].String() || res.Confirmations != 1 {
			t.Errorf("%s: block %s confirmations %d", p.name, res.BlockHash, res.Confirmations)
		}
		if len(res.Vout) != len(p.vals) {
			t.Fatalf("%s: %d outputs, want %d", p.name, len(res.Vout), len(p.vals))
		}
		var out int64
		for i, vo := range res.Vout {
			amt, err := btcutil.NewAmount(vo.Value)
			if err != nil {
				t.Fatal(err)
			}
			if int64(amt) != p.vals[i] {
				t.Errorf("%s: vout %d = %d sat, want %d", p.name, i, int64(amt), p.vals[i])
			}
			if vo.ScriptPubKey.Address != p.outs[i].EncodeAddress() {
				t.Errorf("%s: vout %d address %q, want %s", p.name, i, vo.ScriptPubKey.Address, p.outs[i])
			}
			out += int64(amt)
		}
		var in int64
		for i, vi := range res.Vin {
			ph, err := chainhash.NewHashFromStr(vi.Txid)
			if err != nil {
				t.Fatal(err)
			}
			if *ph != p.tx.TxIn[i].PreviousOutPoint.Hash || vi.Vout != p.tx.TxIn[i].PreviousOutPoint.Index {
				t.Errorf("%s: vin %d = %s:%d", p.name, i, vi.Txid, vi.Vout)
			}
			prev, err := c.GetRawTransaction(ph)
			if err != nil {
				t.Fatalf("%s: prev tx: %v", p.name, err)
			}
			in += prev.MsgTx().TxOut[vi.Vout].Value
		}
		if in-out != p.fee {
			t.Errorf("%s: fee on chain %d, set %d", p.name, in-out, p.fee)
		}
	}

	// searchrawtransactions (addrindex): an address's txs, with prevOut values.
	checkAddr := func(a btcutil.Address, want ...chainhash.Hash) {
		t.Helper()
		res, err := c.SearchRawTransactionsVerbose(a, 0, 100, true, false, nil)
		if err != nil {
			t.Fatalf("searchrawtransactions %s: %v", a, err)
		}
		var got, exp []string
		for _, r := range res {
			got = append(got, r.Txid)
		}
		for _, h := range want {
			exp = append(exp, h.String())
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("searchrawtransactions %s = %v, want %v", a, got, exp)
		}
	}
	hop0, hop1 := txs[0].tx.TxHash(), txs[1].tx.TxHash()
	fanTx, cons := txs[3].tx.TxHash(), txs[4].tx.TxHash()
	checkAddr(n.AddrP2PKH("alice"), aliceOP.Hash, hop0)
	checkAddr(n.Addr("chg0", btcnode.P2PKH), hop0, hop1) // received in hop 0, spent in hop 1
	checkAddr(n.Addr("peel2", btcnode.P2WPKH), txs[2].tx.TxHash())
	checkAddr(n.AddrP2WPKH("bob"), funded[0].OutPoint.Hash, fanTx)
	checkAddr(n.AddrP2WPKH("c2"), funded[2].OutPoint.Hash, cons)
	checkAddr(n.AddrP2WPKH("sink"), cons)

	// Fee via searchrawtransactions' prevOut (what an addrindex-based tracer sees).
	res, err := c.SearchRawTransactionsVerbose(n.AddrP2WPKH("sink"), 0, 10, true, false, nil)
	if err != nil || len(res) != 1 {
		t.Fatalf("search sink: %v %d", err, len(res))
	}
	var in, out float64
	for _, vi := range res[0].Vin {
		if vi.PrevOut == nil {
			t.Fatal("no prevOut in searchrawtransactions result")
		}
		in += vi.PrevOut.Value
	}
	for _, vo := range res[0].Vout {
		out += vo.Value
	}
	if fee, _ := btcutil.NewAmount(in - out); int64(fee) != 2_500 {
		t.Errorf("consolidation fee via searchrawtransactions prevOut = %d", int64(fee))
	}

	// The RPC settings chaintrace would use: a fresh HTTPS POST client with the cert.
	host, user, pass, cert := n.RPCConfig()
	if host == "" || user == "" || pass == "" || !strings.Contains(string(cert), "BEGIN CERTIFICATE") {
		t.Fatalf("RPCConfig = %q %q %q %d-byte cert", host, user, pass, len(cert))
	}
	if b, err := os.ReadFile(n.CertFile()); err != nil || string(b) != string(cert) {
		t.Errorf("CertFile: %v", err)
	}
	hc, err := n.NewHTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Shutdown()
	if h, err := hc.GetBlockCount(); err != nil || h != 300+2+1 {
		t.Errorf("http client getblockcount = %d, %v (want %d)", h, err, 300+2+1)
	}
	if n.Params().Net != wire.SimNet {
		t.Error("not simnet")
	}
}

// TestSecondStart measures a start after the first (binary built/cached) and
// that Close is idempotent.
func TestSecondStart(t *testing.T) {
	skipIfShort(t)
	start := time.Now()
	n, err := btcnode.New(btcnode.Options{MatureOutputs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start: %v (timing %+v)", time.Since(start).Round(time.Millisecond), n.Timing())
	if _, err := n.Fund(n.AddrP2WPKH("z"), 5_000); err != nil {
		t.Error(err)
	}
	t0 := time.Now()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("close: %v", time.Since(t0).Round(time.Millisecond))
	if err := n.Close(); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("second Close: %v", err)
	}
}
