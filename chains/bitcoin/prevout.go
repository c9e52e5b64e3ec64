package bitcoin

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// PrevoutSource supplies the value (satoshi) and display address of an
// output that an input spends, for inputs the block itself does not
// describe. ok is false when the source does not know the output.
type PrevoutSource interface {
	Prevout(txid string, vout uint32) (value int64, address string, ok bool)
}

// PrevoutFunc adapts a function to a PrevoutSource.
type PrevoutFunc func(txid string, vout uint32) (int64, string, bool)

// Prevout calls f.
func (f PrevoutFunc) Prevout(txid string, vout uint32) (int64, string, bool) { return f(txid, vout) }

// Prevout is a spent output as a PrevoutSource reports it.
type Prevout struct {
	Value   int64
	Address string
}

// PrevoutMap is an in-memory PrevoutSource keyed by "txid:vout" (txid in
// lower-case display hex).
type PrevoutMap map[string]Prevout

func outpointKey(txid string, vout uint32) string {
	return fmt.Sprintf("%s:%d", strings.ToLower(txid), vout)
}

// Prevout looks the output up.
func (m PrevoutMap) Prevout(txid string, vout uint32) (int64, string, bool) {
	p, ok := m[outpointKey(txid, vout)]
	return p.Value, p.Address, ok
}

// Add records an output.
func (m PrevoutMap) Add(txid string, vout uint32, value int64, address string) {
	m[outpointKey(txid, vout)] = Prevout{Value: value, Address: address}
}

// AddTx records every output of a wire transaction, with addresses on net.
func (m PrevoutMap) AddTx(tx *wire.MsgTx, net *chaincfg.Params) {
	txid := tx.TxHash().String()
	for n, out := range tx.TxOut {
		m.Add(txid, uint32(n), out.Value, ScriptAddress(out.PkScript, net))
	}
}

// AddRawTx records every output of a getrawtransaction verbose result (or
// one transaction object of getblock verbosity 2), the addresses computed
// from the scripts on net, not taken from the node.
func (m PrevoutMap) AddRawTx(b []byte, net *chaincfg.Params) error {
	var tx rpcTx
	if err := unmarshal(b, &tx); err != nil {
		return fmt.Errorf("%w: transaction: %v", ErrInconsistent, err)
	}
	return m.addRPCTx(&tx, net)
}

func (m PrevoutMap) addRPCTx(tx *rpcTx, net *chaincfg.Params) error {
	if !isHex(tx.TxID) || len(tx.TxID) != 64 {
		return fmt.Errorf("%w: transaction id %q", ErrInconsistent, tx.TxID)
	}
	for i := range tx.Vout {
		o, err := tx.Vout[i].decode()
		if err != nil {
			return fmt.Errorf("transaction %s output %d: %w", tx.TxID, i, err)
		}
		m.Add(tx.TxID, tx.Vout[i].N, o.value, ScriptAddress(o.script, net))
	}
	return nil
}

// Merge returns a source that asks each of srcs in turn (nil ones skipped).
func Merge(srcs ...PrevoutSource) PrevoutSource {
	return PrevoutFunc(func(txid string, vout uint32) (int64, string, bool) {
		for _, s := range srcs {
			if s == nil {
				continue
			}
			if v, a, ok := s.Prevout(txid, vout); ok {
				return v, a, true
			}
		}
		return 0, "", false
	})
}

// jsonNumber keeps a JSON number's text.
type jsonNumber = json.Number
