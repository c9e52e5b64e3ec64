package history

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// span is an inclusive block range.
type span struct{ from, to uint64 }

// size is the number of blocks, saturating at the top of uint64.
func (s span) size() uint64 {
	if s.to-s.from == ^uint64(0) {
		return s.to - s.from
	}
	return s.to - s.from + 1
}

// task is one call of a ranged query: a span, which of the source's
// queries (eth_getLogs asks two per span) and, for trace_filter, the
// number of frames to skip.
type task struct {
	span
	kind  int
	after uint64
}

// querier is what a range-limited source asks and how it reads the answer.
type querier interface {
	method() string
	kinds() int
	elem(addr common.Address, t task) ethereum.BatchElem
	// read adds the answer's blocks to set; next is the task for the
	// following page, if the answer was a full page.
	read(raw json.RawMessage, t task, set map[uint64]struct{}) (next *task, err error)
}

// ranged runs a querier over a window: the whole window once, and on the
// node's refusal chunks of the learned limit, sent in JSON-RPC batches.
// A chunk holds limit blocks (toBlock-fromBlock = limit-1): Erigon would
// take one more, other nodes count the limit in blocks.
type ranged struct {
	rpc
	q     querier
	limit atomic.Uint64 // blocks per call; 0 until known
}

func newRanged(c *ethereum.Client, opts Options, q querier) *ranged {
	r := &ranged{rpc: rpc{c: c, log: opts.Logger}, q: q}
	r.limit.Store(opts.RangeLimit)
	return r
}

// RangeLimit is the limit in use: configured, learned, or 0 while unknown.
func (r *ranged) RangeLimit() uint64 { return r.limit.Load() }

func (r *ranged) blocks(ctx context.Context, addr common.Address, from, to uint64) ([]uint64, error) {
	if from > to {
		return nil, fmt.Errorf("%w: %s from block %d to %d", ErrRange, r.q.method(), from, to)
	}
	whole := span{from, to}
	// Round one: the head, and the whole window when it may fit one call.
	// The head matters: past it, trace_filter answers [] for the whole
	// call (matches in the blocks before the head included) and eth_getLogs
	// an error, so the window is clamped to it.
	elems := []ethereum.BatchElem{{Method: "eth_blockNumber", Params: []any{}}}
	var first []task
	if limit := r.limit.Load(); limit == 0 || whole.size() <= limit {
		first = r.tasks(whole, 0)
		for _, t := range first {
			elems = append(elems, r.q.elem(addr, t))
		}
	}
	if err := r.batch(ctx, elems); err != nil {
		return nil, err
	}
	if err := elems[0].Error; err != nil {
		return nil, fmt.Errorf("%s: eth_blockNumber: %w", r.c.Endpoint(), err)
	}
	var hq quantity
	if err := json.Unmarshal(elems[0].Result, &hq); err != nil {
		return nil, fmt.Errorf("%w: %s: eth_blockNumber: %v", ethereum.ErrInconsistent, r.c.Endpoint(), err)
	}
	head := uint64(hq)
	set := map[uint64]struct{}{}
	if from > head {
		r.log.Debug("history window starts past the head", "source", r.q.method(), "from", from, "head", head)
		return []uint64{}, nil
	}
	var pending []task
	switch {
	case first != nil && to <= head:
		var err error
		if pending, err = r.process(first, elems[1:], set); err != nil {
			return nil, err
		}
	default:
		// The answers in round one (if any) were about blocks past the
		// head and void; a refusal still teaches the limit.
		for i, t := range first {
			if kind, n := classify(elems[i+1].Error); kind == refusedRange {
				r.learn(n, t.span)
			}
		}
		pending = r.tasks(span{from, min(to, head)}, r.limit.Load())
	}
	for round := 2; len(pending) > 0; round++ {
		elems := make([]ethereum.BatchElem, len(pending))
		for i, t := range pending {
			elems[i] = r.q.elem(addr, t)
		}
		r.log.Debug("history round", "source", r.q.method(), "round", round, "calls", len(elems))
		if err := r.batch(ctx, elems); err != nil {
			return nil, err
		}
		var err error
		if pending, err = r.process(pending, elems, set); err != nil {
			return nil, err
		}
	}
	return sortedBlocks(set), nil
}

// tasks splits s into chunks of at most limit blocks (limit 0: one chunk),
// each with every kind of query.
func (r *ranged) tasks(s span, limit uint64) []task {
	var out []task
	for _, c := range chunks(s, limit) {
		for k := range r.q.kinds() {
			out = append(out, task{span: c, kind: k})
		}
	}
	return out
}

func chunks(s span, limit uint64) []span {
	if limit == 0 || s.size() <= limit {
		return []span{s}
	}
	var out []span
	for from := s.from; ; {
		to := from + limit - 1
		if to < from || to >= s.to {
			return append(out, span{from, s.to})
		}
		out = append(out, span{from, to})
		from = to + 1
	}
}

// process reads one round's answers and returns the calls still to make:
// further pages, and narrower chunks where the node refused a range.
func (r *ranged) process(tasks []task, elems []ethereum.BatchElem, set map[uint64]struct{}) ([]task, error) {
	var next []task
	for i, t := range tasks {
		e := elems[i]
		if e.Error == nil {
			nt, err := r.q.read(e.Result, t, set)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %s blocks %d-%d: %v", ethereum.ErrInconsistent, r.c.Endpoint(), r.q.method(), t.from, t.to, err)
			}
			if nt != nil {
				next = append(next, *nt)
			}
			continue
		}
		kind, n := classify(e.Error)
		switch kind {
		case refusedRange:
			if t.from == t.to {
				return nil, fmt.Errorf("%s: %s refused the single block %d: %w", r.c.Endpoint(), r.q.method(), t.from, e.Error)
			}
			for _, c := range chunks(t.span, r.learn(n, t.span)) {
				next = append(next, task{span: c, kind: t.kind})
			}
		case refusedResults:
			if t.from == t.to {
				return nil, fmt.Errorf("%s: %s: too many results in the single block %d: %w", r.c.Endpoint(), r.q.method(), t.from, e.Error)
			}
			mid := t.from + (t.to-t.from)/2
			r.log.Debug("too many results; halving the range", "source", r.q.method(), "from", t.from, "to", t.to)
			next = append(next, task{span: span{t.from, mid}, kind: t.kind}, task{span: span{mid + 1, t.to}, kind: t.kind})
		case refusedBeyondHead:
			return nil, fmt.Errorf("%w: %s: %s blocks %d-%d (the node's head moved back?): %v", ethereum.ErrBeyondHead, r.c.Endpoint(), r.q.method(), t.from, t.to, e.Error)
		default:
			return nil, fmt.Errorf("%s: %s blocks %d-%d: %w", r.c.Endpoint(), r.q.method(), t.from, t.to, e.Error)
		}
	}
	return next, nil
}

// learn takes the limit a refusal of span s named (0: none named) and
// returns the chunk size to use from now on. A number that s would already
// satisfy cannot be the limit; the span is then halved.
func (r *ranged) learn(named uint64, s span) uint64 {
	limit := named
	if limit == 0 {
		limit = DefaultRangeLimit
	}
	if limit >= s.size() {
		limit = max(1, s.size()/2)
	}
	for {
		cur := r.limit.Load()
		if cur != 0 && cur <= limit {
			return cur
		}
		if r.limit.CompareAndSwap(cur, limit) {
			r.log.Info("learned the node's block range limit", "source", r.q.method(), "endpoint", r.c.Endpoint(), "limit", limit, "message_limit", named)
			return limit
		}
	}
}
