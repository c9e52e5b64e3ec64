package bitcoin

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	gojson "github.com/goccy/go-json"

	"github.com/chaintrace/chaintrace/chains"
)

// Raw part names of a chains.RawBlock holding Bitcoin Core answers.
const (
	// PartBlock is getblock's result at verbosity 2 (transactions with
	// vin/vout) or 3 (inputs with their prevout), as the node sent it.
	PartBlock = "block"
	// PartPrevTxs, optional, is a JSON array of getrawtransaction verbose
	// results: the transactions whose outputs the block spends, for a
	// node that answers only verbosity 2.
	PartPrevTxs = "prevtxs"
)

// unmarshal decodes node answers (goccy/go-json, as the ethereum adapter,
// for speed; json.Number fields keep the numbers' text).
var unmarshal = gojson.Unmarshal

type rpcBlock struct {
	Hash              string   `json:"hash"`
	Height            *uint64  `json:"height"`
	PreviousBlockHash string   `json:"previousblockhash"`
	Time              uint64   `json:"time"`
	NTx               *uint32  `json:"nTx"`
	Tx                []*rpcTx `json:"tx"`
	// RawTx is where btcd's getblock (verbosity 2) puts the transactions.
	RawTx []*rpcTx `json:"rawtx"`
}

type rpcTx struct {
	TxID string      `json:"txid"`
	Vin  []rpcVin    `json:"vin"`
	Vout []rpcVout   `json:"vout"`
	Fee  *jsonNumber `json:"fee"` // verbosity 2 and 3, when the node has undo data
}

// rpcPrevTx is a getrawtransaction answer as Decode reads it: the
// outputs only (the inputs are skipped unparsed).
type rpcPrevTx struct {
	TxID string    `json:"txid"`
	Vout []rpcVout `json:"vout"`
}

type outpoint struct {
	txid string // lower-case display hex
	vout uint32
}

// spentOutputs are the outputs of the PartPrevTxs transactions. An output's
// address is computed only when an input asks for it: most outputs of a
// spent transaction are not spent by the block at hand.
type spentOutputs struct {
	net  *chaincfg.Params
	outs map[outpoint]outData
}

// spentOutputs reads a PartPrevTxs part: with scanPrevTxs, or where that
// gives up, the JSON decoder.
func (d Decoder) spentOutputs(b []byte) (spentOutputs, error) {
	m := spentOutputs{net: d.Net, outs: make(map[outpoint]outData, len(b)/256)}
	if ok, err := m.scanPrevTxs(b); ok {
		return m, err
	}
	clear(m.outs)
	var arr []rpcPrevTx
	if err := unmarshal(b, &arr); err != nil {
		return m, fmt.Errorf("%w: %v", ErrInconsistent, err)
	}
	for i := range arr {
		if err := m.add(&arr[i]); err != nil {
			return m, err
		}
	}
	return m, nil
}

func (m spentOutputs) add(tx *rpcPrevTx) error {
	if !isHex(tx.TxID) || len(tx.TxID) != 64 {
		return fmt.Errorf("%w: transaction id %q", ErrInconsistent, tx.TxID)
	}
	id := strings.ToLower(tx.TxID)
	for i := range tx.Vout {
		o, err := tx.Vout[i].decode()
		if err != nil {
			return fmt.Errorf("transaction %s output %d: %w", tx.TxID, i, err)
		}
		m.outs[outpoint{id, tx.Vout[i].N}] = o
	}
	return nil
}

// Prevout looks the output up.
func (m spentOutputs) Prevout(txid string, vout uint32) (int64, string, bool) {
	o, ok := m.outs[outpoint{strings.ToLower(txid), vout}]
	if !ok {
		return 0, "", false
	}
	return o.value, scriptAddress(o.script, m.net), true
}

type rpcVin struct {
	Coinbase *string     `json:"coinbase"`
	TxID     string      `json:"txid"`
	Vout     *uint32     `json:"vout"`
	Prevout  *rpcPrevout `json:"prevout"`
}

type rpcPrevout struct {
	Value        jsonNumber `json:"value"`
	ScriptPubKey rpcScript  `json:"scriptPubKey"`
}

type rpcVout struct {
	Value        jsonNumber `json:"value"`
	N            uint32     `json:"n"`
	ScriptPubKey rpcScript  `json:"scriptPubKey"`
}

type rpcScript struct {
	Hex string `json:"hex"`
}

func (v *rpcVout) decode() (outData, error) {
	val, err := ParseBTC(v.Value.String())
	if err != nil {
		return outData{}, err
	}
	script, err := hex.DecodeString(v.ScriptPubKey.Hex)
	if err != nil {
		return outData{}, fmt.Errorf("%w: scriptPubKey hex: %v", ErrInconsistent, err)
	}
	return outData{value: val, script: script}, nil
}

// Decoder decodes blocks of one network: the network fixes how scripts are
// shown as addresses.
type Decoder struct {
	Net *chaincfg.Params
}

// Decode turns a fetched (or cached) getblock answer into the chain-neutral
// model without the node. Input values and addresses come from the block
// (verbosity 3 prevouts, outputs of earlier transactions in the block), the
// PartPrevTxs part, and prev (may be nil), in that order; an input none of
// them knows is ErrMissingPrevout.
func (d Decoder) Decode(raw *chains.RawBlock, prev PrevoutSource) (*chains.BlockTransfers, error) {
	if d.Net == nil {
		return nil, errors.New("bitcoin decoder without a network")
	}
	b, ok := raw.Parts[PartBlock]
	if !ok {
		return nil, fmt.Errorf("%w: block %d has no %q part", ErrInconsistent, raw.Number, PartBlock)
	}
	var blk rpcBlock
	if err := unmarshal(b, &blk); err != nil {
		return nil, fmt.Errorf("%w: block %d: %v", ErrInconsistent, raw.Number, err)
	}
	if blk.Height == nil || *blk.Height != raw.Number {
		got := "none"
		if blk.Height != nil {
			got = fmt.Sprint(*blk.Height)
		}
		return nil, fmt.Errorf("%w: asked for block %d, got height %s", ErrInconsistent, raw.Number, got)
	}
	if pt, ok := raw.Parts[PartPrevTxs]; ok {
		m, err := d.spentOutputs(pt)
		if err != nil {
			return nil, fmt.Errorf("spent transactions of block %d: %w", raw.Number, err)
		}
		prev = Merge(m, prev)
	}
	return d.decodeRPC(&blk, prev)
}

// DecodeBlockJSON decodes one getblock answer (verbosity 2 or 3) whatever
// its height.
func (d Decoder) DecodeBlockJSON(b []byte, prev PrevoutSource) (*chains.BlockTransfers, error) {
	var blk rpcBlock
	if err := unmarshal(b, &blk); err != nil {
		return nil, fmt.Errorf("%w: block: %v", ErrInconsistent, err)
	}
	if blk.Height == nil {
		return nil, fmt.Errorf("%w: block %s has no height", ErrInconsistent, blk.Hash)
	}
	return d.Decode(&chains.RawBlock{Number: *blk.Height, Parts: map[string][]byte{PartBlock: b}}, prev)
}

func (d Decoder) decodeRPC(blk *rpcBlock, prev PrevoutSource) (*chains.BlockTransfers, error) {
	h := *blk.Height
	if len(blk.Tx) == 0 && len(blk.RawTx) > 0 {
		blk.Tx = blk.RawTx
	}
	if blk.NTx != nil && int(*blk.NTx) != len(blk.Tx) {
		return nil, fmt.Errorf("%w: block %d says nTx %d but lists %d transactions (fetch it with verbosity 2)", ErrInconsistent, h, *blk.NTx, len(blk.Tx))
	}
	if len(blk.Hash) != 64 || !isHex(blk.Hash) {
		return nil, fmt.Errorf("%w: block %d: hash %q", ErrInconsistent, h, blk.Hash)
	}
	hdr := chains.Block{
		Number:     h,
		Hash:       strings.ToLower(blk.Hash),
		ParentHash: strings.ToLower(blk.PreviousBlockHash), // "" for the genesis block
		Timestamp:  blk.Time,
	}
	txs := make([]txData, len(blk.Tx))
	for i, t := range blk.Tx {
		if t == nil {
			return nil, fmt.Errorf("%w: block %d: transaction %d is null", ErrInconsistent, h, i)
		}
		td, err := rpcTxData(t)
		if err != nil {
			return nil, fmt.Errorf("block %d, transaction %d: %w", h, i, err)
		}
		txs[i] = td
	}
	return extract(hdr, txs, d.Net, prev)
}

func rpcTxData(t *rpcTx) (txData, error) {
	if len(t.TxID) != 64 || !isHex(t.TxID) {
		return txData{}, fmt.Errorf("%w: txid %q (fetch the block with verbosity 2)", ErrInconsistent, t.TxID)
	}
	td := txData{txid: strings.ToLower(t.TxID), outs: make([]outData, len(t.Vout))}
	if len(t.Vin) == 0 {
		return txData{}, fmt.Errorf("%w: %s has no inputs", ErrInconsistent, t.TxID)
	}
	for k := range t.Vin {
		in := &t.Vin[k]
		if in.Coinbase != nil {
			if len(t.Vin) != 1 {
				return txData{}, fmt.Errorf("%w: %s has a coinbase input among %d", ErrInconsistent, t.TxID, len(t.Vin))
			}
			td.coinbase = true
			continue
		}
		if len(in.TxID) != 64 || !isHex(in.TxID) || in.Vout == nil {
			return txData{}, fmt.Errorf("%w: %s input %d names no outpoint", ErrInconsistent, t.TxID, k)
		}
		id := inData{txid: strings.ToLower(in.TxID), vout: *in.Vout}
		if p := in.Prevout; p != nil {
			v, err := ParseBTC(p.Value.String())
			if err != nil {
				return txData{}, fmt.Errorf("input %d prevout: %w", k, err)
			}
			script, err := hex.DecodeString(p.ScriptPubKey.Hex)
			if err != nil {
				return txData{}, fmt.Errorf("%w: input %d prevout scriptPubKey hex: %v", ErrInconsistent, k, err)
			}
			id.value, id.known, id.script = v, true, script
		}
		td.ins = append(td.ins, id)
	}
	for n := range t.Vout {
		if t.Vout[n].N != uint32(n) {
			return txData{}, fmt.Errorf("%w: %s output %d is numbered %d", ErrInconsistent, t.TxID, n, t.Vout[n].N)
		}
		o, err := t.Vout[n].decode()
		if err != nil {
			return txData{}, fmt.Errorf("output %d: %w", n, err)
		}
		td.outs[n] = o
	}
	if t.Fee != nil && !td.coinbase {
		fee, err := ParseBTC(t.Fee.String())
		if err != nil {
			return txData{}, fmt.Errorf("fee: %w", err)
		}
		td.statedFee = &fee
	}
	return td, nil
}

// DecodeWire turns a wire-format block at height into the chain-neutral
// model. Spent outputs come from earlier transactions of the block and from
// prev.
func (d Decoder) DecodeWire(msg *wire.MsgBlock, height uint64, prev PrevoutSource) (*chains.BlockTransfers, error) {
	if d.Net == nil {
		return nil, errors.New("bitcoin decoder without a network")
	}
	hdr := chains.Block{
		Number:    height,
		Hash:      msg.BlockHash().String(),
		Timestamp: uint64(msg.Header.Timestamp.Unix()),
	}
	if height > 0 {
		hdr.ParentHash = msg.Header.PrevBlock.String()
	}
	txs := make([]txData, len(msg.Transactions))
	for i, tx := range msg.Transactions {
		td := txData{txid: tx.TxHash().String(), outs: make([]outData, len(tx.TxOut))}
		if len(tx.TxIn) == 0 {
			return nil, fmt.Errorf("%w: block %d, transaction %s has no inputs", ErrInconsistent, height, td.txid)
		}
		if blockchainIsCoinbase(tx) {
			td.coinbase = true
		} else {
			td.ins = make([]inData, len(tx.TxIn))
			for k, in := range tx.TxIn {
				td.ins[k] = inData{txid: in.PreviousOutPoint.Hash.String(), vout: in.PreviousOutPoint.Index}
			}
		}
		for n, o := range tx.TxOut {
			td.outs[n] = outData{value: o.Value, script: o.PkScript}
		}
		txs[i] = td
	}
	return extract(hdr, txs, d.Net, prev)
}

// blockchainIsCoinbase is the consensus test: one input spending the null
// outpoint.
func blockchainIsCoinbase(tx *wire.MsgTx) bool {
	return len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex &&
		tx.TxIn[0].PreviousOutPoint.Hash == (chainhash.Hash{})
}
