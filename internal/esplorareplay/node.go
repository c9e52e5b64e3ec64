package esplorareplay

import (
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// ScriptType names an output script as Esplora's scriptpubkey_type does.
func ScriptType(script []byte) string {
	switch txscript.GetScriptClass(script) {
	case txscript.PubKeyHashTy:
		return "p2pkh"
	case txscript.PubKeyTy:
		return "p2pk"
	case txscript.ScriptHashTy:
		return "p2sh"
	case txscript.WitnessV0PubKeyHashTy:
		return "v0_p2wpkh"
	case txscript.WitnessV0ScriptHashTy:
		return "v0_p2wsh"
	case txscript.WitnessV1TaprootTy:
		return "v1_p2tr"
	case txscript.NullDataTy:
		return "op_return"
	case txscript.MultiSigTy:
		return "multisig"
	}
	return "unknown"
}

// OutputOf renders a wire output as Esplora does: the address only for
// the types Esplora gives one (not P2PK, bare multisig or data).
func OutputOf(o *wire.TxOut, net *chaincfg.Params) Output {
	out := Output{ScriptPubKey: hex.EncodeToString(o.PkScript), ScriptPubKeyType: ScriptType(o.PkScript), Value: o.Value}
	if asm, err := txscript.DisasmString(o.PkScript); err == nil {
		out.ScriptPubKeyAsm = asm
	}
	switch out.ScriptPubKeyType {
	case "p2pkh", "p2sh", "v0_p2wpkh", "v0_p2wsh", "v1_p2tr":
		if _, addrs, _, err := txscript.ExtractPkScriptAddrs(o.PkScript, net); err == nil && len(addrs) == 1 {
			out.ScriptPubKeyAddress = addrs[0].EncodeAddress()
		}
	}
	return out
}

// FromNode reads blocks from..to of a btcd (or any node rpcclient speaks
// to) and renders them as the replay's blocks, with their real hashes and
// times. Inputs spending outputs of earlier blocks get their prevout from
// getrawtransaction (the node needs --txindex), so the replay answers for
// the range alone what Esplora answers for the whole chain.
func FromNode(c *rpcclient.Client, net *chaincfg.Params, from, to int64) ([]Block, error) {
	var out []Block
	known := map[string]*wire.MsgTx{}
	for h := from; h <= to; h++ {
		hash, err := c.GetBlockHash(h)
		if err != nil {
			return nil, fmt.Errorf("getblockhash %d: %w", h, err)
		}
		blk, err := c.GetBlock(hash)
		if err != nil {
			return nil, fmt.Errorf("getblock %d: %w", h, err)
		}
		b := Block{Height: uint64(h), Hash: hash.String(), Time: uint64(blk.Header.Timestamp.Unix())}
		for _, tx := range blk.Transactions {
			txid := tx.TxHash().String()
			rec := Tx{Txid: txid, Version: tx.Version, Locktime: tx.LockTime,
				Size: tx.SerializeSize(), Weight: tx.SerializeSizeStripped()*3 + tx.SerializeSize()}
			coinbase := len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex &&
				tx.TxIn[0].PreviousOutPoint.Hash == (chainhash.Hash{})
			for _, in := range tx.TxIn {
				v := Input{ScriptSig: hex.EncodeToString(in.SignatureScript), Sequence: in.Sequence, IsCoinbase: coinbase}
				for _, w := range in.Witness {
					v.Witness = append(v.Witness, hex.EncodeToString(w))
				}
				if !coinbase {
					v.Txid, v.Vout = in.PreviousOutPoint.Hash.String(), in.PreviousOutPoint.Index
					prev, ok := known[v.Txid]
					if !ok {
						raw, err := c.GetRawTransaction(&in.PreviousOutPoint.Hash)
						if err != nil {
							return nil, fmt.Errorf("getrawtransaction %s: %w", v.Txid, err)
						}
						prev = raw.MsgTx()
					}
					if int(v.Vout) >= len(prev.TxOut) {
						return nil, fmt.Errorf("tx %s spends %s:%d, which does not exist", txid, v.Txid, v.Vout)
					}
					po := OutputOf(prev.TxOut[v.Vout], net)
					v.Prevout = &po
				} else {
					v.Txid, v.Vout = "0000000000000000000000000000000000000000000000000000000000000000", wire.MaxPrevOutIndex
				}
				rec.Vin = append(rec.Vin, v)
			}
			for _, o := range tx.TxOut {
				rec.Vout = append(rec.Vout, OutputOf(o, net))
			}
			known[txid] = tx
			b.Txs = append(b.Txs, rec)
		}
		out = append(out, b)
	}
	return out, nil
}
