package heuristics

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/chains"
)

// txb builds synthetic transactions for the unit tests: in spends
// prevTx:vout from address addr with value v.
type txb struct{ t *Tx }

func newTx(id string, height uint64, index uint32) *txb {
	return &txb{&Tx{TxID: id, Height: height, Index: index, Version: 2}}
}

func (b *txb) in(prev string, vout uint32, addr string, v int64) *txb {
	b.t.Inputs = append(b.t.Inputs, Input{PrevTxID: prev, PrevVout: vout, Address: addr, Type: TypeOfAddress(addr), Value: v, Sequence: wire.MaxTxInSequenceNum})
	return b
}

func (b *txb) out(addr string, v int64) *txb {
	typ := TypeOfAddress(addr)
	if addr == "" {
		typ = TypeNullData
	}
	b.t.Outputs = append(b.t.Outputs, Output{Index: uint32(len(b.t.Outputs)), Address: addr, Type: typ, Value: v})
	return b
}

func (b *txb) coinbase() *txb { b.t.Coinbase = true; return b }

func (b *txb) locktime(l uint32) *txb { b.t.LockTime = l; return b }

// Mainnet addresses of each type (well-known ones from BIP examples and
// block explorers' documentation).
const (
	p2pkhA = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
	p2pkhB = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	p2shA  = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
	p2wpkh = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	p2wsh  = "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"
	p2tr   = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
)

// More P2PKH addresses, from made-up key hashes.
var (
	p2pkhC = mainnetP2PKH(0xc)
	p2pkhD = mainnetP2PKH(0xd)
	p2pkhE = mainnetP2PKH(0xe)
)

func mainnetP2PKH(b byte) string {
	h := make([]byte, 20)
	for i := range h {
		h[i] = b
	}
	a, err := btcutil.NewAddressPubKeyHash(h, &chaincfg.MainNetParams)
	if err != nil {
		panic(err)
	}
	return a.EncodeAddress()
}

func hash(n int) string { return fmt.Sprintf("%064x", n) }

func TestTypeOfAddress(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want ScriptType
	}{
		{p2pkhA, TypeP2PKH},
		{p2pkhB, TypeP2PKH},
		{p2pkhC, TypeP2PKH},
		{p2pkhD, TypeP2PKH},
		{p2shA, TypeP2SH},
		{p2wpkh, TypeP2WPKH},
		{p2wsh, TypeP2WSH},
		{p2tr, TypeP2TR},
		{"mjTkW3DjgyZck4KbiRusZsqTgaYTxdSz6z", TypeP2PKH},            // testnet/regtest
		{"2Mshjw3i5VcfqCm6FaJLxLSdSQhShKJYk6d", TypeP2SH},            // testnet/regtest
		{"bcrt1qqlxxeyqj0ka4kqpzajv27l8px06neuqcwxg62e", TypeP2WPKH}, // regtest
		{"script:00", TypeNonStandard},
		{"", TypeUnknown},
		{"not an address", TypeUnknown},
	} {
		if got := TypeOfAddress(tc.addr); got != tc.want {
			t.Errorf("TypeOfAddress(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestFromWire(t *testing.T) {
	net := &chaincfg.RegressionNetParams
	addr := func(s string) []byte {
		a, err := btcutil.DecodeAddress(s, net)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := txscript.PayToAddrScript(a)
		if err != nil {
			t.Fatal(err)
		}
		return pk
	}
	payer, payee := "mjTkW3DjgyZck4KbiRusZsqTgaYTxdSz6z", "2Mshjw3i5VcfqCm6FaJLxLSdSQhShKJYk6d"
	prevHash := chainhash.Hash{1}
	prev := func(op wire.OutPoint) (*wire.TxOut, bool) {
		if op.Hash == prevHash && op.Index == 3 {
			return wire.NewTxOut(5000, addr(payer)), true
		}
		return nil, false
	}
	msg := wire.NewMsgTx(2)
	msg.LockTime = 110
	msg.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: prevHash, Index: 3}, Sequence: 0xfffffffe})
	msg.AddTxOut(wire.NewTxOut(3000, addr(payee)))
	msg.AddTxOut(wire.NewTxOut(1500, addr(payer)))
	data, _ := txscript.NullDataScript([]byte("x"))
	msg.AddTxOut(wire.NewTxOut(0, data))

	tx, err := FromWire(msg, 7, 2, net, prev)
	if err != nil {
		t.Fatal(err)
	}
	if tx.TxID != msg.TxHash().String() || tx.Height != 7 || tx.Index != 2 || tx.LockTime != 110 || tx.Version != 2 || tx.Coinbase {
		t.Errorf("header %+v", tx)
	}
	in := tx.Inputs[0]
	if in.PrevTxID != prevHash.String() || in.PrevVout != 3 || in.Address != payer || in.Type != TypeP2PKH || in.Value != 5000 || in.Sequence != 0xfffffffe {
		t.Errorf("input %+v", in)
	}
	if o := tx.Outputs[0]; o.Address != payee || o.Type != TypeP2SH || o.Value != 3000 {
		t.Errorf("output 0 %+v", o)
	}
	if o := tx.Outputs[2]; o.Type != TypeNullData || o.Type.Spendable() {
		t.Errorf("OP_RETURN output %+v", o)
	}
	if tx.Fee() != 500 || tx.InputValue() != 5000 || tx.OutputValue() != 4500 {
		t.Errorf("fee %d", tx.Fee())
	}

	missing := wire.NewMsgTx(2)
	missing.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: chainhash.Hash{9}}})
	missing.AddTxOut(wire.NewTxOut(1, addr(payee)))
	if _, err := FromWire(missing, 0, 0, net, prev); !errors.Is(err, ErrMissingPrevout) {
		t.Errorf("missing prevout: %v", err)
	}

	cb := wire.NewMsgTx(1)
	cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex}, SignatureScript: []byte{1, 1}})
	cb.AddTxOut(wire.NewTxOut(50*BTC, addr(payer)))
	ctx, err := FromWire(cb, 1, 0, net, prev)
	if err != nil || !ctx.Coinbase || len(ctx.Inputs) != 0 || ctx.Fee() != 0 {
		t.Errorf("coinbase %+v, %v", ctx, err)
	}
}

func TestFromChains(t *testing.T) {
	tx := chains.Tx{
		Hash: "AB" + hash(1)[2:], BlockNumber: 100, Index: 4,
		Inputs: []chains.Input{{TxID: hash(9), Vout: 1, Value: big.NewInt(10_000), Address: p2wpkh}},
	}
	rows := []chains.Transfer{
		{TxHash: tx.Hash, Ordinal: 0, Kind: chains.KindUTXO, To: p2pkhA, Amount: big.NewInt(6_000)},
		{TxHash: tx.Hash, Ordinal: 2, Kind: chains.KindUTXO, To: p2wpkh, Amount: big.NewInt(3_000)},
		{TxHash: hash(5), Ordinal: 0, Kind: chains.KindUTXO, To: p2shA, Amount: big.NewInt(1)}, // another tx
	}
	v, err := FromChains(tx, rows, 3)
	if err != nil {
		t.Fatal(err)
	}
	if v.TxID != "ab"+hash(1)[2:] || v.Height != 100 || v.Index != 4 || v.Coinbase {
		t.Errorf("header %+v", v)
	}
	if in := v.Inputs[0]; in.PrevTxID != hash(9) || in.PrevVout != 1 || in.Value != 10_000 || in.Type != TypeP2WPKH {
		t.Errorf("input %+v", in)
	}
	if len(v.Outputs) != 3 {
		t.Fatalf("%d outputs", len(v.Outputs))
	}
	if o := v.Outputs[1]; o.Index != 1 || o.Type != TypeNullData || o.Value != 0 {
		t.Errorf("rowless output %+v", o)
	}
	if o := v.Outputs[2]; o.Address != p2wpkh || o.Value != 3_000 || o.Type != TypeP2WPKH {
		t.Errorf("output 2 %+v", o)
	}
	if v.Fee() != 1_000 {
		t.Errorf("fee %d", v.Fee())
	}
	// A row past numOutputs widens the view rather than being dropped.
	if v, _ := FromChains(tx, rows, 1); len(v.Outputs) != 3 {
		t.Errorf("%d outputs with numOutputs 1", len(v.Outputs))
	}
	bad := tx
	bad.Inputs = []chains.Input{{TxID: hash(9), Value: big.NewInt(-1)}}
	if _, err := FromChains(bad, nil, 0); err == nil {
		t.Error("negative input value accepted")
	}
}

func TestMemChain(t *testing.T) {
	ctx := context.Background()
	fund := newTx(hash(1), 1, 1).in(hash(100), 0, p2pkhA, 10_000).out(p2pkhB, 9_000).t
	spend := newTx(hash(2), 2, 1).in(hash(1), 0, p2pkhB, 9_000).out(p2pkhC, 8_000).out(p2pkhB, 500).t
	// Given out of order: NewMemChain sorts.
	m := NewMemChain([]*Tx{spend, fund})
	if m.Txs()[0] != fund {
		t.Error("not in chain order")
	}
	if fund.Outputs[0].SpentBy != hash(2) {
		t.Errorf("SpentBy %q", fund.Outputs[0].SpentBy)
	}
	if s, _ := m.Spender(ctx, hash(1), 0); s != spend {
		t.Errorf("Spender = %v", s)
	}
	if s, _ := m.Spender(ctx, hash(2), 0); s != nil {
		t.Errorf("unspent output has spender %v", s)
	}
	if _, err := m.Tx(ctx, hash(3)); !errors.Is(err, ErrUnknownTx) {
		t.Errorf("unknown tx: %v", err)
	}
	for _, tc := range []struct {
		addr string
		tx   *Tx
		want bool
	}{
		{p2pkhB, fund, false}, // first paid by fund itself
		{p2pkhB, spend, true},
		{p2pkhC, spend, false},
		{p2pkhA, spend, false}, // only ever an input here: never paid on this chain
	} {
		if got, _ := m.SeenBefore(ctx, tc.addr, tc.tx); got != tc.want {
			t.Errorf("SeenBefore(%s, %s) = %v", tc.addr, tc.tx.TxID[60:], got)
		}
	}
}
