package btcbenchchain

import (
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// fakeSign builds the transaction unsigned (a txid per content is all the
// planner needs) and checks what SignTx checks: the values balance.
func fakeSign(from []btcnode.Coin, outs []btcnode.Output, fee int64) (*wire.MsgTx, error) {
	tx := wire.NewMsgTx(2)
	var in, out int64
	for _, c := range from {
		op := c.OutPoint
		tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
		in += c.Value
	}
	for _, o := range outs {
		a, err := btcnode.AddrFor(o.Key, o.Type, &chaincfg.SimNetParams)
		if err != nil {
			return nil, err
		}
		pk, err := txscript.PayToAddrScript(a)
		if err != nil {
			return nil, err
		}
		tx.AddTxOut(wire.NewTxOut(o.Value, pk))
		out += o.Value
	}
	if in != out+fee {
		return nil, fmt.Errorf("inputs %d != outputs %d + fee %d", in, out, fee)
	}
	return tx, nil
}

// TestPlanner plans a few hundred blocks without a node and checks that
// they form a valid spend graph (every input an unspent output of an earlier
// block or an earlier transaction of its own block, no output below
// MinOutput, fees at FeeRate) with every kind of traffic in it.
func TestPlanner(t *testing.T) {
	outs := FundingOutputs(1)
	funding := wire.NewMsgTx(2)
	for _, o := range outs {
		funding.AddTxOut(wire.NewTxOut(o.Value, nil))
	}
	coins := btcnode.CoinsOf(funding, outs)
	unspent := map[wire.OutPoint]int64{}
	for _, c := range coins {
		unspent[c.OutPoint] = c.Value
	}
	p := NewPlanner(coins, fakeSign, 1)
	const blocks, perBlock = 300, 10
	for b := range blocks {
		txs, err := p.Block(perBlock)
		if err != nil {
			t.Fatalf("block %d: %v", b, err)
		}
		if len(txs) != perBlock {
			t.Fatalf("block %d: %d transactions, want %d", b, len(txs), perBlock)
		}
		for _, tx := range txs {
			var in, out int64
			for _, ti := range tx.TxIn {
				v, ok := unspent[ti.PreviousOutPoint]
				if !ok {
					t.Fatalf("block %d: %s spends %v, not unspent (or not yet made)", b, tx.TxHash(), ti.PreviousOutPoint)
				}
				delete(unspent, ti.PreviousOutPoint)
				in += v
			}
			h := tx.TxHash()
			for n, o := range tx.TxOut {
				if o.Value < MinOutput {
					t.Fatalf("block %d: %s output %d is %d sat", b, h, n, o.Value)
				}
				unspent[wire.OutPoint{Hash: h, Index: uint32(n)}] = o.Value
				out += o.Value
			}
			if fee := in - out; fee <= 0 || fee > 2_000*FeeRate*int64(len(tx.TxIn)) {
				t.Fatalf("block %d: %s pays a fee of %d", b, h, fee)
			}
		}
	}
	s := p.Stats
	t.Logf("%+v", s)
	if s.Txs != blocks*perBlock {
		t.Errorf("Stats.Txs = %d, want %d", s.Txs, blocks*perBlock)
	}
	for name, n := range map[string]int{"peel hops": s.PeelHops, "fan-outs": s.FanOuts, "consolidations": s.Consolidations,
		"payments": s.Payments, "P2PKH outputs": s.P2PKH, "P2WPKH outputs": s.P2WPKH,
		"same-block spends": s.SameBlock, "earlier-block spends": s.EarlierBlock} {
		if n < s.Txs/50 {
			t.Errorf("only %d %s in %d transactions", n, name, s.Txs)
		}
	}
	if s.Inputs != s.SameBlock+s.EarlierBlock {
		t.Errorf("inputs %d != same-block %d + earlier %d", s.Inputs, s.SameBlock, s.EarlierBlock)
	}
}
