package main

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/store"
)

// sharedConns is what the jobs of a batch share: one store, and one client
// per node, so that a node's rate limit and circuit breaker see every
// job's requests. A node is dialled on the first use by a job, with that
// job's node flags (most jobs inherit the batch's; a job may name its own
// node); a dial that fails is tried again by the next job.
type sharedConns struct {
	st   *store.Store
	dial *globalOptions // the batch's own options

	mu  sync.Mutex // guards everything below; held while dialling
	eth map[string]*ethereum.Adapter
	btc map[string]*bitcoin.Adapter
	// addrIndex is, per Bitcoin node, what it answered when asked for
	// its address index (nil error: it has one), once asked; btcHead the
	// highest best block it has reported.
	addrIndex map[string]error
	btcHead   map[string]uint64
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

// ethAdapter dials the Ethereum node, or hands out the batch's client of
// the node o names.
func (o *globalOptions) ethAdapter(ctx context.Context) (*ethereum.Adapter, error) {
	s := o.shared
	if s == nil {
		return o.dialEth(ctx)
	}
	key := o.v.GetString("eth.rpc")
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.eth[key]; ok {
		return a, nil
	}
	a, err := o.dialEth(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	if s.eth == nil {
		s.eth = map[string]*ethereum.Adapter{}
	}
	s.eth[key] = a
	return a, nil
}

// btcAdapter dials the Bitcoin node, or hands out the batch's client of
// the node o names.
func (o *globalOptions) btcAdapter(ctx context.Context) (*bitcoin.Adapter, error) {
	s := o.shared
	if s == nil {
		return o.dialBtc(ctx)
	}
	key := o.v.GetString("btc.rpc")
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.btc[key]; ok {
		return a, nil
	}
	a, err := o.dialBtc(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	if s.btc == nil {
		s.btc = map[string]*bitcoin.Adapter{}
	}
	s.btc[key] = a
	return a, nil
}

// chainClient is a node client of a batch, with its chain.
type chainClient struct {
	chain string
	c     *ethereum.Client
}

// clients are the JSON-RPC clients dialled so far, eth first.
func (s *sharedConns) clients() []chainClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []chainClient
	for _, k := range slices.Sorted(maps.Keys(s.eth)) {
		out = append(out, chainClient{"eth", s.eth[k].RPC()})
	}
	for _, k := range slices.Sorted(maps.Keys(s.btc)) {
		out = append(out, chainClient{"btc", s.btc[k].RPC()})
	}
	return out
}
