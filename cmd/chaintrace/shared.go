package main

import (
	"context"
	"sync"

	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/store"
)

// sharedConns is what the jobs of a batch share: one store, and one client
// per node, so that a node's rate limit and circuit breaker see every
// job's requests. The batch's own options dial the nodes, once each, on
// first use.
type sharedConns struct {
	st   *store.Store
	dial *globalOptions

	ethOnce sync.Once
	eth     *ethereum.Adapter
	ethErr  error
	btcOnce sync.Once
	btc     *bitcoin.Adapter
	btcErr  error
}

// traceStore opens the store a trace runs on: the batch's, when the trace
// is one of a batch's jobs.
func (o *globalOptions) traceStore() (*store.Store, error) {
	if o.shared != nil {
		return o.shared.st, nil
	}
	return o.openStore(false)
}

// closeStore closes st unless it is a batch's (the batch closes it).
func (o *globalOptions) closeStore(st *store.Store) {
	if o.shared == nil {
		st.Close()
	}
}

// ethAdapter dials the Ethereum node, or hands out the batch's client.
func (o *globalOptions) ethAdapter(ctx context.Context) (*ethereum.Adapter, error) {
	s := o.shared
	if s == nil {
		return o.dialEth(ctx)
	}
	s.ethOnce.Do(func() { s.eth, s.ethErr = s.dial.dialEth(context.WithoutCancel(ctx)) })
	return s.eth, s.ethErr
}

// btcAdapter dials the Bitcoin node, or hands out the batch's client.
func (o *globalOptions) btcAdapter(ctx context.Context) (*bitcoin.Adapter, error) {
	s := o.shared
	if s == nil {
		return o.dialBtc(ctx)
	}
	s.btcOnce.Do(func() { s.btc, s.btcErr = s.dial.dialBtc(context.WithoutCancel(ctx)) })
	return s.btc, s.btcErr
}
