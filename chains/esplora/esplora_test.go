package esplora_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/esplora"
	"github.com/chaintrace/chaintrace/internal/esplorareplay"
)

var net = &chaincfg.MainNetParams

func key(i byte) *btcec.PrivateKey {
	k, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{i}, 32))
	return k
}

type addrs struct{ p2pkh, p2wpkh, p2sh, p2tr btcutil.Address }

func mkAddrs(t *testing.T) addrs {
	t.Helper()
	pk1 := key(1).PubKey().SerializeCompressed()
	a1, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(pk1), net)
	must(t, err)
	a2, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(key(2).PubKey().SerializeCompressed()), net)
	must(t, err)
	redeem, err := txscript.NewScriptBuilder().AddOp(txscript.OP_1).AddData(key(3).PubKey().SerializeCompressed()).AddOp(txscript.OP_1).AddOp(txscript.OP_CHECKMULTISIG).Script()
	must(t, err)
	a3, err := btcutil.NewAddressScriptHash(redeem, net)
	must(t, err)
	a4, err := btcutil.NewAddressTaproot(schnorr.SerializePubKey(txscript.ComputeTaprootKeyNoScript(key(4).PubKey())), net)
	must(t, err)
	return addrs{a1, a2, a3, a4}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type out struct {
	script []byte
	value  int64
}

func pay(t *testing.T, a btcutil.Address, v int64) out {
	s, err := txscript.PayToAddrScript(a)
	must(t, err)
	return out{s, v}
}

// mkTx builds a real wire transaction (so the txid is its hash) and its
// Esplora record; the server fills prevouts, fee and status.
func mkTx(t *testing.T, coinbase bool, ins []wire.OutPoint, outs []out) esplorareplay.Tx {
	t.Helper()
	m := wire.NewMsgTx(2)
	rec := esplorareplay.Tx{Version: 2}
	if coinbase {
		m.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: wire.MaxPrevOutIndex}, []byte{0x03, 0x40, 0x0d, 0x0d}, nil))
		rec.Vin = []esplorareplay.Input{{Txid: strings.Repeat("0", 64), Vout: wire.MaxPrevOutIndex, ScriptSig: "03400d0d", IsCoinbase: true, Sequence: wire.MaxTxInSequenceNum}}
	}
	for _, op := range ins {
		m.AddTxIn(wire.NewTxIn(&op, nil, nil))
		rec.Vin = append(rec.Vin, esplorareplay.Input{Txid: op.Hash.String(), Vout: op.Index, Sequence: wire.MaxTxInSequenceNum})
	}
	for _, o := range outs {
		m.AddTxOut(wire.NewTxOut(o.value, o.script))
		asm, _ := txscript.DisasmString(o.script)
		eo := esplorareplay.Output{ScriptPubKey: hex.EncodeToString(o.script), ScriptPubKeyAsm: asm, ScriptPubKeyType: esplorareplay.ScriptType(o.script), Value: o.value}
		if _, as, _, err := txscript.ExtractPkScriptAddrs(o.script, net); err == nil && len(as) == 1 {
			eo.ScriptPubKeyAddress = as[0].EncodeAddress()
		}
		rec.Vout = append(rec.Vout, eo)
	}
	rec.Txid = m.TxHash().String()
	rec.Size = m.SerializeSize()
	rec.Weight = m.SerializeSizeStripped()*3 + m.SerializeSize()
	return rec
}

func op(txid string, n uint32) wire.OutPoint {
	h, _ := chainhash.NewHashFromStr(txid)
	return wire.OutPoint{Hash: *h, Index: n}
}

type fixture struct {
	a        addrs
	blocks   []esplorareplay.Block
	cb, spnd string
	manyAddr btcutil.Address
	many     []string // txids paying manyAddr, oldest first
}

func mkFixture(t *testing.T) *fixture {
	f := &fixture{a: mkAddrs(t)}
	a := f.a
	cb := mkTx(t, true, nil, []out{pay(t, a.p2pkh, 312_500_000), {[]byte{txscript.OP_RETURN, 0x04, 0xaa, 0x21, 0xa9, 0xed}, 0}})
	fund := mkTx(t, true, nil, []out{pay(t, a.p2wpkh, 200_000_000)})
	f.blocks = append(f.blocks, esplorareplay.Block{Height: 840000, Time: 1713571767, Txs: []esplorareplay.Tx{cb}})
	f.blocks = append(f.blocks, esplorareplay.Block{Height: 840001, Time: 1713572400, Txs: []esplorareplay.Tx{fund}})
	spend := mkTx(t, false, []wire.OutPoint{op(cb.Txid, 0), op(fund.Txid, 0)}, []out{
		pay(t, a.p2sh, 100_000_000), pay(t, a.p2tr, 250_000_000),
		{[]byte{txscript.OP_RETURN, 0x05, 'h', 'e', 'l', 'l', 'o'}, 0},
		pay(t, a.p2pkh, 162_480_000),
	})
	cb2 := mkTx(t, true, nil, []out{pay(t, a.p2tr, 312_520_000)})
	f.blocks = append(f.blocks, esplorareplay.Block{Height: 840002, Time: 1713573000, Txs: []esplorareplay.Tx{cb2, spend}})
	f.cb, f.spnd = cb.Txid, spend.Txid
	// 62 transactions paying one address, one per block, plus fillers so
	// one block holds more than 25 txs.
	f.manyAddr, _ = btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(key(9).PubKey().SerializeCompressed()), net)
	for i := 0; i < 62; i++ {
		h := uint64(840003 + i)
		txs := []esplorareplay.Tx{mkTx(t, true, nil, []out{pay(t, f.manyAddr, int64(1000+i))})}
		if i == 0 {
			for j := 0; j < 30; j++ {
				txs = append(txs, mkTx(t, false, []wire.OutPoint{op(strings.Repeat(fmt.Sprintf("%02x", j+1), 32), 0)}, []out{pay(t, a.p2wpkh, 5000)}))
				txs[len(txs)-1].Vin[0].Prevout = &esplorareplay.Output{ScriptPubKey: txs[len(txs)-1].Vout[0].ScriptPubKey, ScriptPubKeyType: "v0_p2wpkh", ScriptPubKeyAddress: a.p2wpkh.EncodeAddress(), Value: 6000}
			}
		}
		f.many = append(f.many, txs[0].Txid)
		f.blocks = append(f.blocks, esplorareplay.Block{Height: h, Time: 1713573000 + 600*uint64(i+1), Txs: txs})
	}
	return f
}

func client(srv *esplorareplay.Server, opts esplora.Options) *esplora.Client {
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	opts.RequestsPerSecond = 10000
	return esplora.New(srv.URL, opts)
}

func TestTxRows(t *testing.T) {
	f := mkFixture(t)
	srv := esplorareplay.New(t, f.blocks, esplorareplay.Options{})
	c := client(srv, esplora.Options{})
	ctx := context.Background()
	a := f.a

	rec, rows, err := c.TxRows(ctx, f.spnd)
	must(t, err)
	if rec.Index != 1 || rec.BlockNumber != 840002 || rec.Fee.Int64() != 20000 || rec.Value.Int64() != 512_480_000 || rec.From != a.p2pkh.EncodeAddress() {
		t.Fatalf("tx record %+v", rec)
	}
	want := []struct {
		pos, to string
		v       int64
	}{{"out:0", a.p2sh.EncodeAddress(), 100_000_000}, {"out:1", a.p2tr.EncodeAddress(), 250_000_000}, {"out:3", a.p2pkh.EncodeAddress(), 162_480_000}}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Position != w.pos || r.To != w.to || r.Amount.Int64() != w.v || r.Kind != chains.KindUTXO || r.Asset != "BTC" ||
			r.TxIndex != 1 || r.BlockHash != srv.BlockHash(840002) || r.Timestamp != 1713573000 ||
			strings.Join(r.From, ",") != a.p2pkh.EncodeAddress()+","+a.p2wpkh.EncodeAddress() {
			t.Errorf("row %d: %+v", i, r.Row())
		}
	}
	if !strings.HasPrefix(a.p2tr.EncodeAddress(), "bc1p") || !strings.HasPrefix(a.p2sh.EncodeAddress(), "3") || !strings.HasPrefix(a.p2pkh.EncodeAddress(), "1") || !strings.HasPrefix(a.p2wpkh.EncodeAddress(), "bc1q") {
		t.Fatal("addresses not mainnet-shaped")
	}

	// The coinbase: from [], OP_RETURN commitment left out, index 0.
	rec, rows, err = c.TxRows(ctx, f.cb)
	must(t, err)
	if rec.Fee != nil || rec.From != "" || len(rows) != 1 || len(rows[0].From) != 0 || rows[0].To != a.p2pkh.EncodeAddress() || rows[0].Amount.Int64() != 312_500_000 || rows[0].TxIndex != 0 {
		t.Fatalf("coinbase %+v %+v", rec, rows)
	}
	if js, _ := rows[0].MarshalJSON(); !strings.Contains(string(js), `"from":[]`) {
		t.Fatalf("coinbase row %s", js)
	}

	// ScriptAddress agrees with the API's scriptpubkey_address; a script
	// without an address is script:+sha256.
	tx, err := c.Tx(ctx, f.spnd)
	must(t, err)
	for i := range tx.Vout {
		got, err := c.Address(&tx.Vout[i])
		must(t, err)
		if tx.Vout[i].ScriptPubKeyAddress != "" && got != tx.Vout[i].ScriptPubKeyAddress {
			t.Errorf("vout %d: %s vs API %s", i, got, tx.Vout[i].ScriptPubKeyAddress)
		}
		if tx.Vout[i].ScriptPubKeyType == "op_return" {
			s, _ := hex.DecodeString(tx.Vout[i].ScriptPubKey)
			if got != bitcoin.ScriptHashAddress(s) || !strings.HasPrefix(got, "script:") {
				t.Errorf("op_return address %s", got)
			}
		}
	}
	// A lying scriptpubkey_address is caught.
	tx.Vout[0].ScriptPubKeyAddress = a.p2pkh.EncodeAddress()
	if _, _, err := c.Rows(tx, 1); !errors.Is(err, esplora.ErrInconsistent) {
		t.Fatalf("lying address: %v", err)
	}
	// The index cache: one /txids request per block.
	if n := srv.PathRequests("/block/" + srv.BlockHash(840002) + "/txids"); n != 1 {
		t.Fatalf("%d txids requests", n)
	}
	if _, err := c.TxIndex(ctx, srv.BlockHash(840002), f.spnd); err != nil || srv.PathRequests("/block/"+srv.BlockHash(840002)+"/txids") != 1 {
		t.Fatalf("cache: %v", err)
	}
}

func TestCorruptedAmount(t *testing.T) {
	f := mkFixture(t)
	srv := esplorareplay.New(t, f.blocks, esplorareplay.Options{Corrupt: func(txid string, vout int, v int64) int64 {
		if txid == f.spnd && vout == 1 {
			return v + 1
		}
		return v
	}})
	_, _, err := client(srv, esplora.Options{}).TxRows(context.Background(), f.spnd)
	if !errors.Is(err, esplora.ErrInconsistent) || !strings.Contains(err.Error(), "fee") {
		t.Fatalf("corrupt amount: %v", err)
	}
}

func TestOutspends(t *testing.T) {
	f := mkFixture(t)
	srv := esplorareplay.New(t, f.blocks, esplorareplay.Options{})
	c := client(srv, esplora.Options{})
	os, err := c.Outspends(context.Background(), f.cb)
	must(t, err)
	if len(os) != 2 || !os[0].Spent || os[0].Txid != f.spnd || os[0].Vin != 0 || os[0].Status == nil || os[0].Status.BlockHeight != 840002 || os[1].Spent {
		t.Fatalf("outspends %+v", os)
	}
	os, err = c.Outspends(context.Background(), f.spnd)
	must(t, err)
	if len(os) != 4 || os[0].Spent || os[3].Spent {
		t.Fatalf("outspends %+v", os)
	}
}

func TestAddressPaging(t *testing.T) {
	f := mkFixture(t)
	srv := esplorareplay.New(t, f.blocks, esplorareplay.Options{})
	c := client(srv, esplora.Options{})
	var got []string
	must(t, c.AddressTxs(context.Background(), f.manyAddr.EncodeAddress(), func(tx *esplora.Tx) error {
		got = append(got, tx.Txid)
		return nil
	}))
	if len(got) != 62 {
		t.Fatalf("%d txs, want 62", len(got))
	}
	for i := range got {
		if got[i] != f.many[61-i] {
			t.Fatalf("tx %d is %s, want %s (newest first)", i, got[i], f.many[61-i])
		}
	}
	if srv.Requests() != 3 {
		t.Fatalf("%d requests, want 3 pages", srv.Requests())
	}
	if srv.PathRequests("/address/"+f.manyAddr.EncodeAddress()+"/txs/chain/"+f.many[61-24]) != 1 {
		t.Fatal("second page not asked with the last seen txid")
	}
	// A dropped page is an early end the client cannot tell from the last
	// page; the count shows it.
	srv2 := esplorareplay.New(t, f.blocks, esplorareplay.Options{DropPage: func(_ string, p int) bool { return p == 1 }})
	n := 0
	must(t, client(srv2, esplora.Options{}).AddressTxs(context.Background(), f.manyAddr.EncodeAddress(), func(*esplora.Tx) error { n++; return nil }))
	if n != 25 {
		t.Fatalf("dropped page: %d", n)
	}
}

func TestBlocks(t *testing.T) {
	f := mkFixture(t)
	srv := esplorareplay.New(t, f.blocks, esplorareplay.Options{})
	c := client(srv, esplora.Options{})
	ctx := context.Background()
	tip, err := c.TipHeight(ctx)
	must(t, err)
	if tip != 840064 {
		t.Fatalf("tip %d", tip)
	}
	h, err := c.BlockHash(ctx, 840003)
	must(t, err)
	if h != srv.BlockHash(840003) {
		t.Fatalf("hash %s", h)
	}
	ids, err := c.BlockTxids(ctx, h)
	must(t, err)
	txs, err := c.BlockTxs(ctx, h)
	must(t, err)
	if len(ids) != 31 || len(txs) != 31 {
		t.Fatalf("%d txids, %d txs", len(ids), len(txs))
	}
	for i := range ids {
		if txs[i].Txid != ids[i] {
			t.Fatalf("tx %d: %s vs %s", i, txs[i].Txid, ids[i])
		}
	}
	if srv.PathRequests("/block/"+h+"/txs/25") != 1 {
		t.Fatal("second block page not fetched at 25")
	}
	if _, err := c.BlockHash(ctx, 999999); !errors.Is(err, esplora.ErrNotFound) {
		t.Fatalf("unknown height: %v", err)
	}
}

func TestRetries(t *testing.T) {
	f := mkFixture(t)
	for _, code := range []int{429, 503} {
		srv := esplorareplay.New(t, f.blocks, esplorareplay.Options{Fail: func(_ *http.Request, n int64) (int, string) {
			if n <= 2 {
				return code, "0"
			}
			return 0, ""
		}})
		c := client(srv, esplora.Options{})
		if _, err := c.Tx(context.Background(), f.cb); err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		if c.Requests() != 3 {
			t.Fatalf("%d: %d requests", code, c.Requests())
		}
	}
	// Retry-After is honoured (1 s), and retries end in ErrUnavailable.
	srv := esplorareplay.New(t, f.blocks, esplorareplay.Options{Fail: func(_ *http.Request, n int64) (int, string) { return 429, "1" }})
	c := client(srv, esplora.Options{Retries: 1})
	start := time.Now()
	_, err := c.Tx(context.Background(), f.cb)
	if !errors.Is(err, esplora.ErrUnavailable) || time.Since(start) < time.Second || c.Requests() != 2 {
		t.Fatalf("err %v after %v, %d requests", err, time.Since(start), c.Requests())
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("multi-line error %q", err)
	}
}

func TestNotFoundAndRedaction(t *testing.T) {
	f := mkFixture(t)
	srv := esplorareplay.New(t, f.blocks, esplorareplay.Options{})
	const secret = "k3yS3cr3tT0k3nValue"
	// A prefix path holding a key; the replay serves under /, so answers
	// are 404 "Not found" — what matters is what the error shows.
	c := esplora.New(srv.URL+"/"+secret+"/api?apikey="+secret, esplora.Options{Retries: -1})
	if strings.Contains(c.Endpoint(), secret) || !strings.HasSuffix(c.Endpoint(), "/REDACTED/api") {
		t.Fatalf("endpoint %s", c.Endpoint())
	}
	unknown := strings.Repeat("ab", 32)
	_, err := c.Tx(context.Background(), unknown)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("leak: %v", err)
	}
	c = client(srv, esplora.Options{})
	_, err = c.Tx(context.Background(), unknown)
	if !errors.Is(err, esplora.ErrNotFound) || !strings.Contains(err.Error(), "Transaction not found") || !strings.Contains(err.Error(), unknown) {
		t.Fatalf("unknown tx: %v", err)
	}
	if c.Requests() != 1 {
		t.Fatalf("404 retried: %d requests", c.Requests())
	}
	if _, err := c.Tx(context.Background(), "not-a-txid"); !errors.Is(err, esplora.ErrRefused) || c.Requests() != 1 {
		t.Fatalf("bad txid: %v", err)
	}
	// Transport errors name no URL path.
	dead := esplora.New("http://127.0.0.1:1/"+secret, esplora.Options{Retries: -1})
	if _, err := dead.TipHeight(context.Background()); err == nil || strings.Contains(err.Error(), secret) || !errors.Is(err, esplora.ErrUnavailable) {
		t.Fatalf("dead: %v", err)
	}
}
