package tracer

import (
	"context"
	"errors"
	"fmt"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/heuristics"
)

// historyChain is heuristics.Chain over a walk's history: transactions
// and spenders from the backend, and an address's earlier receipts from
// its outputs in [from, the transaction's block]. What the source does
// not hold (blocks before the window) reads as never seen.
type historyChain struct {
	h        UTXOHistory
	from, to uint64
	txs      map[string]*heuristics.Tx
	// first caches each asked address's first receipt from from on, so
	// that an address in many transactions is looked up once.
	first map[string]firstReceipt
}

// firstReceipt is an address's first receipt (block, index) when found;
// otherwise none was found in blocks from..upTo.
type firstReceipt struct {
	found       bool
	block, upTo uint64
	index       uint32
}

func newHistoryChain(h UTXOHistory, from, to uint64, known []*heuristics.Tx) *historyChain {
	c := &historyChain{h: h, from: from, to: to, txs: make(map[string]*heuristics.Tx, len(known)), first: map[string]firstReceipt{}}
	for _, t := range known {
		c.txs[t.TxID] = t
	}
	return c
}

var _ heuristics.Chain = (*historyChain)(nil)

// Tx implements heuristics.Chain.
func (c *historyChain) Tx(ctx context.Context, txid string) (*heuristics.Tx, error) {
	if t, ok := c.txs[txid]; ok {
		return t, nil
	}
	ut, err := c.h.Tx(ctx, txid)
	if err != nil {
		return nil, err
	}
	t, err := heuristics.FromChains(ut.Tx, ut.Outputs, ut.NumOutputs)
	if err != nil {
		return nil, err
	}
	c.txs[txid] = t
	return t, nil
}

// Spender implements heuristics.Chain.
func (c *historyChain) Spender(ctx context.Context, txid string, vout uint32) (*heuristics.Tx, error) {
	s, ok, err := c.h.Spender(ctx, txid, vout, c.to)
	if err != nil || !ok {
		return nil, err
	}
	return c.Tx(ctx, s)
}

// SeenBefore implements heuristics.Chain: was address paid by a
// transaction before tx (within the source's blocks)?
func (c *historyChain) SeenBefore(ctx context.Context, address string, tx *heuristics.Tx) (bool, error) {
	if tx.Height < c.from {
		return false, nil
	}
	f, ok := c.first[address]
	if !ok || !f.found && f.upTo < tx.Height {
		// Rows come in chain order: the first one is the first receipt.
		f = firstReceipt{upTo: tx.Height}
		err := c.h.AddressOutputs(ctx, address, c.from, tx.Height, func(t *chains.Transfer) error {
			f.found, f.block, f.index = true, t.BlockNumber, t.TxIndex
			return errStopIteration
		})
		if err != nil && !errors.Is(err, errStopIteration) {
			return false, err
		}
		c.first[address] = f
	}
	return f.found && (f.block < tx.Height || f.block == tx.Height && f.index < tx.Index), nil
}

// errStopIteration ends an iteration early.
var errStopIteration = errors.New("stop")

// changeFindings runs the change detector on every transaction the walk
// passed through (CoinJoins were boundaries and are not among them): each
// conclusion is a change_output finding (subject txid:vout).
func (w *utxoWalker) changeFindings() error {
	d := w.cfg.Change
	w.res.Heuristics = append(w.res.Heuristics, d.Infos()...)
	chain := newHistoryChain(w.h, w.cfg.FromBlock, w.cfg.ToBlock, w.done)
	for _, tx := range w.done {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		res, err := d.Detect(w.ctx, chain, tx)
		if err != nil {
			return fmt.Errorf("change output of %s: %w", tx.TxID, err)
		}
		if res.Finding != nil {
			w.res.Findings = append(w.res.Findings, *res.Finding)
		}
	}
	return nil
}
