package bitcoin

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/chaintrace/chaintrace/chains"
)

// txData is one transaction as extraction needs it, whatever the source
// (Core JSON or wire format).
type txData struct {
	txid      string
	coinbase  bool
	ins       []inData // none for a coinbase
	outs      []outData
	statedFee *int64 // the fee the node states, if it does
}

type inData struct {
	txid   string
	vout   uint32
	known  bool // value and script were given with the block (verbosity 3)
	value  int64
	script []byte
	addr   string
}

type outData struct {
	value  int64
	script []byte
	addr   string
}

// extract builds the chain-neutral model. Spent outputs are resolved from
// the input itself (verbosity 3), from an earlier transaction of the same
// block, or from prev, in that order.
func extract(hdr chains.Block, txs []txData, net *chaincfg.Params, prev PrevoutSource) (*chains.BlockTransfers, error) {
	out := &chains.BlockTransfers{Block: hdr, Txs: make([]chains.Tx, 0, len(txs))}
	out.Block.TxCount = uint32(len(txs))
	local := make(map[string]int, len(txs))
	nrows := 0
	for i := range txs {
		for j := range txs[i].outs {
			txs[i].outs[j].addr = scriptAddress(txs[i].outs[j].script, net)
		}
		for j := range txs[i].ins {
			if in := &txs[i].ins[j]; in.known && in.addr == "" {
				in.addr = scriptAddress(in.script, net)
			}
		}
		nrows += len(txs[i].outs)
	}
	out.Transfers = make([]chains.Transfer, 0, nrows)
	for i := range txs {
		tx := &txs[i]
		if tx.coinbase != (i == 0) {
			if tx.coinbase {
				return nil, fmt.Errorf("%w: block %d: transaction %d (%s) is a coinbase but not the first", ErrInconsistent, hdr.Number, i, tx.txid)
			}
			return nil, fmt.Errorf("%w: block %d: the first transaction (%s) is not a coinbase", ErrInconsistent, hdr.Number, tx.txid)
		}
		rec, rows, err := extractTx(&out.Block, uint32(i), tx, txs, local, prev)
		if err != nil {
			return nil, err
		}
		out.Txs = append(out.Txs, rec)
		out.Transfers = append(out.Transfers, rows...)
		if _, dup := local[tx.txid]; !dup {
			local[tx.txid] = i
		}
	}
	return out, nil
}

func extractTx(blk *chains.Block, index uint32, tx *txData, txs []txData, local map[string]int, prev PrevoutSource) (chains.Tx, []chains.Transfer, error) {
	from := []string{} // a coinbase's rows have from = []
	var inSum int64
	var inputs []chains.Input
	if len(tx.ins) > 0 {
		inputs = make([]chains.Input, len(tx.ins))
	}
	for k := range tx.ins {
		in := &tx.ins[k]
		if !in.known {
			if j, ok := local[in.txid]; ok {
				if int(in.vout) >= len(txs[j].outs) {
					return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s input %d spends %s:%d, but that transaction has %d outputs",
						ErrInconsistent, blk.Number, tx.txid, k, in.txid, in.vout, len(txs[j].outs))
				}
				o := &txs[j].outs[in.vout]
				in.value, in.addr, in.known = o.value, o.addr, true
			} else if prev != nil {
				in.value, in.addr, in.known = prev.Prevout(in.txid, in.vout)
			}
			if !in.known {
				return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s input %d spends %s:%d, whose value and address are not known (give a prevout source, or fetch the block with verbosity 3)",
					ErrMissingPrevout, blk.Number, tx.txid, k, in.txid, in.vout)
			}
		}
		if in.value < 0 || in.value > btcutil.MaxSatoshi {
			return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s input %d: value %d", ErrBadAmount, blk.Number, tx.txid, k, in.value)
		}
		inSum += in.value
		if inSum > btcutil.MaxSatoshi {
			return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s: inputs sum to more than 21 million BTC", ErrBadAmount, blk.Number, tx.txid)
		}
		if in.addr == "" {
			return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s input %d: no address for %s:%d", ErrInconsistent, blk.Number, tx.txid, k, in.txid, in.vout)
		}
		if !contains(from, in.addr) {
			from = append(from, in.addr)
		}
		inputs[k] = chains.Input{TxID: strings.ToLower(in.txid), Vout: in.vout, Value: big.NewInt(in.value), Address: in.addr}
	}
	var outSum int64
	rows := make([]chains.Transfer, 0, len(tx.outs))
	for n := range tx.outs {
		o := &tx.outs[n]
		if o.value < 0 || o.value > btcutil.MaxSatoshi {
			return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s output %d: value %d", ErrBadAmount, blk.Number, tx.txid, n, o.value)
		}
		outSum += o.value
		if outSum > btcutil.MaxSatoshi {
			return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s: outputs sum to more than 21 million BTC", ErrBadAmount, blk.Number, tx.txid)
		}
		if o.value == 0 {
			continue // zero-amount rows are left out (OP_RETURN data carriers above all)
		}
		rows = append(rows, chains.Transfer{
			TxHash:      tx.txid,
			BlockNumber: blk.Number,
			TxIndex:     index,
			BlockHash:   blk.Hash,
			Timestamp:   blk.Timestamp,
			Ordinal:     uint32(n),
			Position:    "out:" + strconv.Itoa(n),
			Kind:        chains.KindUTXO,
			From:        from,
			To:          o.addr,
			Asset:       chains.AssetBTC,
			Amount:      big.NewInt(o.value),
		})
	}
	rec := chains.Tx{
		Hash:        tx.txid,
		BlockNumber: blk.Number,
		Index:       index,
		Value:       big.NewInt(outSum),
		Success:     true,
		Inputs:      inputs,
	}
	if len(from) > 0 {
		rec.From = tx.ins[0].addr
	}
	if tx.coinbase {
		return rec, rows, nil // a coinbase has no fee
	}
	fee := inSum - outSum
	if fee < 0 {
		return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s spends %d sat but pays out %d", ErrInconsistent, blk.Number, tx.txid, inSum, outSum)
	}
	if tx.statedFee != nil && *tx.statedFee != fee {
		return chains.Tx{}, nil, fmt.Errorf("%w: block %d, transaction %s: the node states a fee of %d sat, its inputs and outputs give %d", ErrInconsistent, blk.Number, tx.txid, *tx.statedFee, fee)
	}
	rec.Fee = big.NewInt(fee)
	return rec, rows, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// scriptAddress is ScriptAddress, with the standard forms of nearly every
// output encoded here directly: btcutil's segwit encoder decodes its own
// result again to check it, which doubles the cost of the most common
// outputs.
func scriptAddress(s []byte, net *chaincfg.Params) string {
	switch {
	case len(s) == 25 && s[0] == txscript.OP_DUP && s[1] == txscript.OP_HASH160 && s[2] == txscript.OP_DATA_20 &&
		s[23] == txscript.OP_EQUALVERIFY && s[24] == txscript.OP_CHECKSIG:
		return base58.CheckEncode(s[3:23], net.PubKeyHashAddrID)
	case len(s) == 23 && s[0] == txscript.OP_HASH160 && s[1] == txscript.OP_DATA_20 && s[22] == txscript.OP_EQUAL:
		return base58.CheckEncode(s[2:22], net.ScriptHashAddrID)
	case len(s) == 22 && s[0] == txscript.OP_0 && s[1] == txscript.OP_DATA_20,
		len(s) == 34 && s[0] == txscript.OP_0 && s[1] == txscript.OP_DATA_32:
		if a, ok := segwitAddress(net.Bech32HRPSegwit, 0, s[2:]); ok {
			return a
		}
	case len(s) == 34 && s[0] == txscript.OP_1 && s[1] == txscript.OP_DATA_32:
		if a, ok := segwitAddress(net.Bech32HRPSegwit, 1, s[2:]); ok {
			return a
		}
	}
	return ScriptAddress(s, net)
}

// segwitAddress encodes a witness program as btcutil does: bech32 for
// version 0, bech32m after.
func segwitAddress(hrp string, version byte, program []byte) (string, bool) {
	conv, err := bech32.ConvertBits(program, 8, 5, true)
	if err != nil {
		return "", false
	}
	data := make([]byte, 0, 1+len(conv))
	data = append(append(data, version), conv...)
	var a string
	if version == 0 {
		a, err = bech32.Encode(hrp, data)
	} else {
		a, err = bech32.EncodeM(hrp, data)
	}
	return a, err == nil
}
