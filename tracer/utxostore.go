package tracer

import (
	"context"
	"fmt"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/store"
)

// StoreUTXO serves a utxo walk from the store: the address index for the
// outputs paying an address, the spent-by index for spenders, and the
// stored transactions with their inputs. Without hooks it relies on the
// window having been indexed (`index --chain btc`); with them it fills the
// store from a node on demand, so a second trace of the same case asks the
// node nothing.
type StoreUTXO struct {
	Store *store.Store
	Chain chains.Chain
	// Ensure, if set, makes the store hold every block in from..to in
	// which addr appears (BackedHistory.Ensure over a node's address
	// index).
	Ensure func(ctx context.Context, addr string, from, to uint64) error
	// Locate, if set, fetches into the store the block holding txid, for
	// a transaction the store does not have yet (a txid:vout seed); ok is
	// false when the node does not know the transaction.
	Locate func(ctx context.Context, txid string) (ok bool, err error)
}

var _ UTXOHistory = (*StoreUTXO)(nil)

func (h *StoreUTXO) AddressOutputs(ctx context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error {
	if h.Ensure != nil {
		if err := h.Ensure(ctx, addr, from, to); err != nil {
			return err
		}
	}
	return h.Store.AddressTransfers(h.Chain, addr, store.In, from, to, func(t *chains.Transfer) error {
		if t.To != addr {
			return nil
		}
		return fn(t)
	})
}

func (h *StoreUTXO) Spender(ctx context.Context, txid string, vout uint32, to uint64) (string, bool, error) {
	if h.Ensure != nil {
		// The spender has the output's address among its inputs, so it is
		// in one of the blocks the address appears in after the output's.
		tx, err := h.Tx(ctx, txid)
		if err != nil {
			return "", false, err
		}
		o, ok := tx.Output(vout)
		if !ok {
			return "", false, nil // a zero-value output: nothing to follow
		}
		if o.BlockNumber <= to {
			if err := h.Ensure(ctx, o.To, o.BlockNumber, to); err != nil {
				return "", false, err
			}
		}
	}
	ref, ok, err := h.Store.Spender(h.Chain, txid, vout)
	if err != nil || !ok || ref.Block > to {
		return "", false, err
	}
	tx, ok, err := h.Store.TxAt(h.Chain, ref.Block, ref.TxIndex)
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, fmt.Errorf("store: the spender of %s:%d, transaction %d of block %d, is missing", txid, vout, ref.TxIndex, ref.Block)
	}
	return tx.Hash, true, nil
}

func (h *StoreUTXO) Tx(ctx context.Context, txid string) (*UTXOTx, error) {
	tx, ok, err := h.Store.TxByHash(h.Chain, txid)
	if err != nil {
		return nil, err
	}
	if !ok && h.Locate != nil {
		found, err := h.Locate(ctx, txid)
		if err != nil {
			return nil, err
		}
		if found {
			if tx, ok, err = h.Store.TxByHash(h.Chain, txid); err != nil {
				return nil, err
			}
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s is in no block the store holds", ErrUnknownTx, txid)
	}
	rows, err := h.Store.TxTransfers(h.Chain, tx.BlockNumber, tx.Index)
	if err != nil {
		return nil, err
	}
	ut := &UTXOTx{Tx: tx, Outputs: rows}
	for i := range rows {
		ut.NumOutputs = max(ut.NumOutputs, int(rows[i].Ordinal)+1)
	}
	return ut, nil
}
