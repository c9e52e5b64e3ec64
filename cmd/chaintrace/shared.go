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

	mu sync.Mutex // guards the clients' publication to clients(), and addrIndex
	// addrIndex is what the Bitcoin node answered when asked for its
	// address index (nil error: it has one), once asked; btcHead the
	// highest best block it has reported.
	addrIndex *error
	btcHead   uint64

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
	s.ethOnce.Do(func() {
		a, err := s.dial.dialEth(context.WithoutCancel(ctx))
		s.mu.Lock()
		s.eth, s.ethErr = a, err
		s.mu.Unlock()
	})
	return s.eth, s.ethErr
}

// btcAdapter dials the Bitcoin node, or hands out the batch's client.
func (o *globalOptions) btcAdapter(ctx context.Context) (*bitcoin.Adapter, error) {
	s := o.shared
	if s == nil {
		return o.dialBtc(ctx)
	}
	s.btcOnce.Do(func() {
		a, err := s.dial.dialBtc(context.WithoutCancel(ctx))
		s.mu.Lock()
		s.btc, s.btcErr = a, err
		s.mu.Unlock()
	})
	return s.btc, s.btcErr
}

// clients are the JSON-RPC clients dialled so far, by chain.
func (s *sharedConns) clients() map[string]*ethereum.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*ethereum.Client{}
	if s.eth != nil {
		out["eth"] = s.eth.RPC()
	}
	if s.btc != nil {
		out["btc"] = s.btc.RPC()
	}
	return out
}
