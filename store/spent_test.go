package store

import (
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
)

// utxoBlock is a block at num with a coinbase and one transaction spending
// the given outpoints (txid:vout strings).
func utxoBlock(num uint64, spends ...string) *chains.BlockTransfers {
	hash := strings.Repeat("0", 62) + "0" + string(rune('0'+num%10))
	cb := chains.Tx{Hash: strings.Repeat("c", 63) + string(rune('0'+num%10)), BlockNumber: num, Index: 0, Value: big.NewInt(50), Success: true}
	spend := chains.Tx{Hash: strings.Repeat("d", 63) + string(rune('0'+num%10)), BlockNumber: num, Index: 1, From: "bc1qsender",
		Value: big.NewInt(9), Fee: big.NewInt(1), Success: true}
	for _, op := range spends {
		txid, vout, _ := strings.Cut(op, ":")
		spend.Inputs = append(spend.Inputs, chains.Input{TxID: txid, Vout: uint32(vout[0] - '0'), Value: big.NewInt(5), Address: "bc1qsender"})
	}
	return &chains.BlockTransfers{
		Block: chains.Block{Number: num, Hash: hash, Timestamp: 1000 + num, TxCount: 2},
		Txs:   []chains.Tx{cb, spend},
	}
}

func TestSpentByIndex(t *testing.T) {
	s := openStore(t, t.TempDir())
	a := strings.Repeat("a", 64)
	b := "not-hex-txid"
	if err := s.WriteBlocks(chains.BTC, []*chains.BlockTransfers{utxoBlock(5, a+":0", b+":3")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		txid string
		vout uint32
		want SpendRef
		ok   bool
	}{
		{a, 0, SpendRef{Block: 5, TxIndex: 1, Input: 0}, true},
		{strings.ToUpper(a), 0, SpendRef{Block: 5, TxIndex: 1, Input: 0}, true},
		{b, 3, SpendRef{Block: 5, TxIndex: 1, Input: 1}, true},
		{a, 1, SpendRef{}, false},
	} {
		got, ok, err := s.Spender(chains.BTC, tc.txid, tc.vout)
		if err != nil || ok != tc.ok || got != tc.want {
			t.Errorf("Spender(%s:%d) = %+v, %v, %v; want %+v, %v", tc.txid, tc.vout, got, ok, err, tc.want, tc.ok)
		}
	}
	if _, ok, _ := s.Spender(chains.ETH, a, 0); ok {
		t.Error("the spent-by index leaks across chains")
	}
	// The inputs come back with the transaction.
	tx, ok, err := s.TxAt(chains.BTC, 5, 1)
	if err != nil || !ok {
		t.Fatalf("TxAt: %v %v", ok, err)
	}
	want := utxoBlock(5, a+":0", b+":3").Txs[1]
	if !reflect.DeepEqual(tx, want) {
		t.Errorf("TxAt = %+v\nwant %+v", tx, want)
	}
	byHash, ok, err := s.TxByHash(chains.BTC, want.Hash)
	if err != nil || !ok || !reflect.DeepEqual(byHash, want) {
		t.Errorf("TxByHash = %+v, %v, %v", byHash, ok, err)
	}
	cb, ok, err := s.TxAt(chains.BTC, 5, 0)
	if err != nil || !ok || cb.Inputs != nil {
		t.Errorf("coinbase TxAt = %+v, %v, %v", cb, ok, err)
	}
	if _, ok, _ := s.TxAt(chains.BTC, 5, 2); ok {
		t.Error("TxAt past the last transaction found one")
	}

	// A reorg rewrites block 5 spending other outputs: the old spends go.
	if err := s.WriteBlocks(chains.BTC, []*chains.BlockTransfers{utxoBlock(5, a+":1")}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Spender(chains.BTC, a, 0); ok {
		t.Error("a spend of the replaced block survived the rewrite")
	}
	if _, ok, _ := s.Spender(chains.BTC, b, 3); ok {
		t.Error("a spend of the replaced block survived the rewrite")
	}
	if got, ok, _ := s.Spender(chains.BTC, a, 1); !ok || got != (SpendRef{5, 1, 0}) {
		t.Errorf("the new spend: %+v %v", got, ok)
	}
	// Another block spending the same output (a double spend across a
	// reorg) takes the key over; rewriting the first block then must not
	// delete the second's entry.
	if err := s.WriteBlocks(chains.BTC, []*chains.BlockTransfers{utxoBlock(6, a+":1")}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBlocks(chains.BTC, []*chains.BlockTransfers{utxoBlock(5)}); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := s.Spender(chains.BTC, a, 1); !ok || got != (SpendRef{6, 1, 0}) {
		t.Errorf("block 6's spend after rewriting block 5: %+v %v", got, ok)
	}
}
