package heuristics

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
)

// ScriptType is the kind of an output script, as the address-type heuristic
// compares them.
type ScriptType string

const (
	TypeP2PK        ScriptType = "p2pk"
	TypeP2PKH       ScriptType = "p2pkh"
	TypeP2SH        ScriptType = "p2sh"
	TypeP2WPKH      ScriptType = "p2wpkh"
	TypeP2WSH       ScriptType = "p2wsh"
	TypeP2TR        ScriptType = "p2tr"
	TypeMultisig    ScriptType = "multisig" // bare multisig
	TypeNullData    ScriptType = "nulldata" // OP_RETURN
	TypeNonStandard ScriptType = "nonstandard"
	TypeUnknown     ScriptType = "" // not known (an input whose spent script was not given)
)

// Spendable reports whether outputs of the type can ever be spent; OP_RETURN
// outputs cannot, and no change heuristic names one as change.
func (t ScriptType) Spendable() bool { return t != TypeNullData }

// Tx is the view of a UTXO transaction the heuristics read: the facts of one
// transaction with its inputs resolved (value, address and type of the
// output each spends). Amounts are satoshi; a transaction's total never
// exceeds the 21e14 satoshi in existence, so int64 holds it.
type Tx struct {
	TxID     string // lower-case display hex
	Height   uint64 // block height
	Index    uint32 // position in its block
	Version  int32
	LockTime uint32
	Coinbase bool
	Inputs   []Input
	Outputs  []Output
}

// Input is one input and the output it spends.
type Input struct {
	PrevTxID string // the spent output's transaction; empty for a coinbase
	PrevVout uint32
	Address  string // display address of the spent output (bitcoin.ScriptAddress)
	Type     ScriptType
	Value    int64
	Sequence uint32
}

// Output is one output. SpentBy is the spending transaction's id where the
// source knows it ("" when unspent or not known); heuristics that need the
// spender ask Chain, which may know more.
type Output struct {
	Index   uint32
	Address string // display address (bitcoin.ScriptAddress)
	Type    ScriptType
	Value   int64
	SpentBy string
}

// InputValue is the sum of the input values.
func (t *Tx) InputValue() int64 {
	var s int64
	for _, in := range t.Inputs {
		s += in.Value
	}
	return s
}

// OutputValue is the sum of the output values.
func (t *Tx) OutputValue() int64 {
	var s int64
	for _, o := range t.Outputs {
		s += o.Value
	}
	return s
}

// Fee is inputs less outputs; zero for a coinbase.
func (t *Tx) Fee() int64 {
	if t.Coinbase {
		return 0
	}
	return t.InputValue() - t.OutputValue()
}

// Outpoint names output vout of the transaction as "txid:vout", the subject
// of a change_output finding.
func (t *Tx) Outpoint(vout uint32) string { return fmt.Sprintf("%s:%d", t.TxID, vout) }

// Before reports whether t comes before u in chain order (height, then
// position in the block).
func (t *Tx) Before(u *Tx) bool {
	if t.Height != u.Height {
		return t.Height < u.Height
	}
	return t.Index < u.Index
}

// ErrUnknownTx is returned by a Chain that does not hold a transaction.
var ErrUnknownTx = errors.New("heuristics: transaction not known")

// Chain is what the history-dependent heuristics need to know beyond the
// transaction itself. A store, an indexed node or an in-memory chain
// (MemChain) satisfies it.
type Chain interface {
	// Tx returns a transaction by id, or an error wrapping ErrUnknownTx.
	Tx(ctx context.Context, txid string) (*Tx, error)
	// Spender returns the transaction that spends output vout of txid, or
	// nil when the output is unspent as far as the chain knows.
	Spender(ctx context.Context, txid string, vout uint32) (*Tx, error)
	// SeenBefore reports whether address took part in (received value in)
	// any transaction before tx in chain order.
	SeenBefore(ctx context.Context, address string, tx *Tx) (bool, error)
}

// PrevoutLookup returns the output an input spends; ok is false when it is
// not known.
type PrevoutLookup func(op wire.OutPoint) (out *wire.TxOut, ok bool)

// ErrMissingPrevout is returned when an input's spent output cannot be found.
var ErrMissingPrevout = errors.New("heuristics: spent output not known")

// FromWire builds the view of a wire transaction mined at height, position
// index, resolving its inputs with prev. Addresses are rendered as
// bitcoin.ScriptAddress renders them on net.
func FromWire(msg *wire.MsgTx, height uint64, index uint32, net *chaincfg.Params, prev PrevoutLookup) (*Tx, error) {
	t := &Tx{
		TxID:     msg.TxHash().String(),
		Height:   height,
		Index:    index,
		Version:  msg.Version,
		LockTime: msg.LockTime,
		Coinbase: blockchainIsCoinbase(msg),
		Inputs:   make([]Input, 0, len(msg.TxIn)),
		Outputs:  make([]Output, 0, len(msg.TxOut)),
	}
	if !t.Coinbase {
		for i, in := range msg.TxIn {
			out, ok := prev(in.PreviousOutPoint)
			if !ok || out == nil {
				return nil, fmt.Errorf("%w: input %d of %s spends %s", ErrMissingPrevout, i, t.TxID, in.PreviousOutPoint)
			}
			t.Inputs = append(t.Inputs, Input{
				PrevTxID: in.PreviousOutPoint.Hash.String(),
				PrevVout: in.PreviousOutPoint.Index,
				Address:  bitcoin.ScriptAddress(out.PkScript, net),
				Type:     ScriptTypeOf(out.PkScript),
				Value:    out.Value,
				Sequence: in.Sequence,
			})
		}
	}
	for n, out := range msg.TxOut {
		t.Outputs = append(t.Outputs, Output{
			Index:   uint32(n),
			Address: bitcoin.ScriptAddress(out.PkScript, net),
			Type:    ScriptTypeOf(out.PkScript),
			Value:   out.Value,
		})
	}
	return t, nil
}

// blockchainIsCoinbase is btcd's rule: one input spending the null outpoint.
func blockchainIsCoinbase(msg *wire.MsgTx) bool {
	if len(msg.TxIn) != 1 {
		return false
	}
	op := msg.TxIn[0].PreviousOutPoint
	return op.Index == wire.MaxPrevOutIndex && op.Hash == (chainhash.Hash{})
}

// ScriptTypeOf classifies an output script.
func ScriptTypeOf(pkScript []byte) ScriptType {
	switch txscript.GetScriptClass(pkScript) {
	case txscript.PubKeyTy:
		return TypeP2PK
	case txscript.PubKeyHashTy:
		return TypeP2PKH
	case txscript.ScriptHashTy:
		return TypeP2SH
	case txscript.WitnessV0PubKeyHashTy:
		return TypeP2WPKH
	case txscript.WitnessV0ScriptHashTy:
		return TypeP2WSH
	case txscript.WitnessV1TaprootTy:
		return TypeP2TR
	case txscript.MultiSigTy:
		return TypeMultisig
	case txscript.NullDataTy:
		return TypeNullData
	}
	if len(pkScript) > 0 && pkScript[0] == txscript.OP_RETURN {
		return TypeNullData
	}
	return TypeNonStandard
}

// TypeOfAddress infers the script type from a display address, for sources
// that give addresses but not scripts (the index's chains.Tx). It cannot
// tell a pay-to-pubkey output from P2PKH (both display as the P2PKH
// address), nor bare multisig from other non-standard scripts ("script:"
// addresses are all TypeNonStandard).
func TypeOfAddress(address string) ScriptType {
	if address == "" {
		return TypeUnknown
	}
	if strings.HasPrefix(address, bitcoin.ScriptPrefix) {
		return TypeNonStandard
	}
	for _, net := range bitcoin.Networks {
		a, err := btcutil.DecodeAddress(address, net)
		if err != nil || !a.IsForNet(net) {
			continue
		}
		switch a.(type) {
		case *btcutil.AddressPubKeyHash, *btcutil.AddressPubKey:
			return TypeP2PKH
		case *btcutil.AddressScriptHash:
			return TypeP2SH
		case *btcutil.AddressWitnessPubKeyHash:
			return TypeP2WPKH
		case *btcutil.AddressWitnessScriptHash:
			return TypeP2WSH
		case *btcutil.AddressTaproot:
			return TypeP2TR
		}
	}
	return TypeUnknown
}

// FromChains builds the view of a transaction from the index: tx carries
// the inputs (with their values and addresses), outputs are its transfer
// rows (Ordinal = vout; rows of other transactions are ignored) and
// numOutputs is the transaction's output count. Outputs that have no row
// (zero-value outputs, OP_RETURN data carriers) appear with value 0 and
// type TypeNullData, so that output indices stay those of the chain and no
// heuristic names them as change. Height and Index come from tx; Version
// and LockTime are not in chains.Tx and stay zero, so the locktime
// heuristic is blind on this view.
func FromChains(tx chains.Tx, outputs []chains.Transfer, numOutputs int) (*Tx, error) {
	t := &Tx{
		TxID:     strings.ToLower(tx.Hash),
		Height:   tx.BlockNumber,
		Index:    tx.Index,
		Coinbase: len(tx.Inputs) == 0,
		Inputs:   make([]Input, 0, len(tx.Inputs)),
	}
	for _, in := range tx.Inputs {
		v, err := satoshi(in.Value)
		if err != nil {
			return nil, fmt.Errorf("input %s of %s: %w", in.Outpoint(), t.TxID, err)
		}
		t.Inputs = append(t.Inputs, Input{
			PrevTxID: strings.ToLower(in.TxID),
			PrevVout: in.Vout,
			Address:  in.Address,
			Type:     TypeOfAddress(in.Address),
			Value:    v,
		})
	}
	n := numOutputs
	for _, r := range outputs {
		if strings.EqualFold(r.TxHash, tx.Hash) && int(r.Ordinal) >= n {
			n = int(r.Ordinal) + 1
		}
	}
	t.Outputs = make([]Output, n)
	for i := range t.Outputs {
		t.Outputs[i] = Output{Index: uint32(i), Type: TypeNullData}
	}
	for _, r := range outputs {
		if !strings.EqualFold(r.TxHash, tx.Hash) || r.Kind != chains.KindUTXO {
			continue
		}
		v, err := satoshi(r.Amount)
		if err != nil {
			return nil, fmt.Errorf("output %d of %s: %w", r.Ordinal, t.TxID, err)
		}
		t.Outputs[r.Ordinal] = Output{Index: r.Ordinal, Address: r.To, Type: TypeOfAddress(r.To), Value: v}
	}
	return t, nil
}

func satoshi(v *big.Int) (int64, error) {
	if v == nil {
		return 0, nil
	}
	if !v.IsInt64() || v.Sign() < 0 {
		return 0, fmt.Errorf("amount %s is not a satoshi value", v)
	}
	return v.Int64(), nil
}

// MemChain is an in-memory Chain over a complete run of transactions (a
// test chain, or a block range with every earlier use of its addresses
// loaded). It fills each output's SpentBy.
type MemChain struct {
	txs       []*Tx
	byID      map[string]*Tx
	spender   map[outpoint]*Tx
	firstSeen map[string]*Tx // address -> first transaction paying it
}

type outpoint struct {
	txid string
	vout uint32
}

var _ Chain = (*MemChain)(nil)

// NewMemChain indexes txs, which it sorts into chain order.
func NewMemChain(txs []*Tx) *MemChain {
	sorted := append([]*Tx(nil), txs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	m := &MemChain{
		txs:       sorted,
		byID:      make(map[string]*Tx, len(sorted)),
		spender:   make(map[outpoint]*Tx),
		firstSeen: make(map[string]*Tx),
	}
	for _, t := range sorted {
		m.byID[t.TxID] = t
		for _, in := range t.Inputs {
			m.spender[outpoint{in.PrevTxID, in.PrevVout}] = t
		}
		for _, o := range t.Outputs {
			if o.Address == "" {
				continue
			}
			if _, ok := m.firstSeen[o.Address]; !ok {
				m.firstSeen[o.Address] = t
			}
		}
	}
	for _, t := range sorted {
		for _, in := range t.Inputs {
			if p, ok := m.byID[in.PrevTxID]; ok && int(in.PrevVout) < len(p.Outputs) {
				p.Outputs[in.PrevVout].SpentBy = t.TxID
			}
		}
	}
	return m
}

// Txs returns every transaction in chain order.
func (m *MemChain) Txs() []*Tx { return m.txs }

// Tx implements Chain.
func (m *MemChain) Tx(_ context.Context, txid string) (*Tx, error) {
	if t, ok := m.byID[strings.ToLower(txid)]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownTx, txid)
}

// Spender implements Chain.
func (m *MemChain) Spender(_ context.Context, txid string, vout uint32) (*Tx, error) {
	return m.spender[outpoint{strings.ToLower(txid), vout}], nil
}

// SeenBefore implements Chain.
func (m *MemChain) SeenBefore(_ context.Context, address string, tx *Tx) (bool, error) {
	f, ok := m.firstSeen[address]
	return ok && f.Before(tx), nil
}
