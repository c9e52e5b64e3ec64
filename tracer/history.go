package tracer

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/store"
)

// BalanceSource answers balances at a block; the Ethereum adapter does.
type BalanceSource interface {
	BalanceAt(ctx context.Context, addr, asset string, n uint64) (*big.Int, error)
}

// StoreHistory serves the walk from the store, asking Node only for
// opening balances the store has not cached yet, so a second trace of the
// same case needs no node at all.
type StoreHistory struct {
	Store *store.Store
	Chain chains.Chain
	Node  BalanceSource // nil: only cached balances are available

	nodeCalls atomic.Int64
}

var _ History = (*StoreHistory)(nil)

// NodeCalls counts the balances fetched from the node.
func (h *StoreHistory) NodeCalls() int64 { return h.nodeCalls.Load() }

func (h *StoreHistory) AddressTransfers(_ context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error {
	return h.Store.AddressTransfers(h.Chain, addr, store.Both, from, to, fn)
}

func (h *StoreHistory) SentTxs(_ context.Context, addr string, from, to uint64, fn func(*chains.Tx) error) error {
	return h.Store.SentTxs(h.Chain, addr, from, to, fn)
}

// BalanceAt reads the cached balance, or asks the node and caches it.
func (h *StoreHistory) BalanceAt(ctx context.Context, addr, asset string, n uint64) (*big.Int, error) {
	key := fmt.Sprintf("balance/%s/%s/%s/%d", h.Chain, strings.ToLower(addr), strings.ToLower(asset), n)
	if v, ok, err := h.Store.Meta(key); err != nil {
		return nil, err
	} else if ok {
		b, ok := new(big.Int).SetString(string(v), 10)
		if !ok {
			return nil, fmt.Errorf("store: cached balance %s is %q", key, v)
		}
		return b, nil
	}
	if h.Node == nil {
		return nil, fmt.Errorf("balance of %s in %s at block %d is not in the store and no node is configured", addr, asset, n)
	}
	h.nodeCalls.Add(1)
	b, err := h.Node.BalanceAt(ctx, addr, asset, n)
	if err != nil {
		return nil, err
	}
	if err := h.Store.SetMeta(key, []byte(b.String())); err != nil {
		return nil, err
	}
	return b, nil
}
