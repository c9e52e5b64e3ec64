package history

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// TraceFilter finds an address's blocks with trace_filter: every call frame
// (top-level or internal, call, create or selfdestruct, reverted or not) of
// which the address is the sender or the recipient.
//
// One call covers at most the node's block range limit (Erigon:
// --rpc.blockrange.limit, 1000) and returns at most PageSize frames; the
// chunks of a window go in JSON-RPC batches, and only chunks whose page was
// full are asked again for the next page (after += count).
//
// The filter names the address as both fromAddress and toAddress and relies
// on the node's default mode, union (from ∨ to), as Erigon and reth have it
// (the recordings confirm Erigon's). A node that combined the two lists
// with AND would find only frames from the address to itself.
//
// The window is clamped to the head first: for a toBlock past the head
// Erigon answers [] for the whole call, matches before the head included.
type TraceFilter struct {
	*ranged
}

// NewTraceFilter makes a trace_filter source on c.
func NewTraceFilter(c *ethereum.Client, opts Options) *TraceFilter {
	opts.defaults()
	return &TraceFilter{newRanged(c, opts, traceFilterQuery{pageSize: opts.PageSize})}
}

// Name is "trace_filter".
func (t *TraceFilter) Name() string { return NameTraceFilter }

// Requests is the number of HTTP requests made so far.
func (t *TraceFilter) Requests() int64 { return t.requests.Load() }

// Blocks returns the blocks in [from, to] with a frame of which addr is a
// party, ascending.
func (t *TraceFilter) Blocks(ctx context.Context, addr common.Address, from, to uint64) ([]uint64, error) {
	return t.blocks(ctx, addr, from, to)
}

// traceFilterParams is trace_filter's one parameter. After and Count must be
// JSON numbers: Erigon refuses a hex string ("cannot unmarshal string into
// Go struct field TraceFilterRequest.count of type uint64").
type traceFilterParams struct {
	FromBlock   string           `json:"fromBlock"`
	ToBlock     string           `json:"toBlock"`
	FromAddress []common.Address `json:"fromAddress"`
	ToAddress   []common.Address `json:"toAddress"`
	After       uint64           `json:"after"`
	Count       uint64           `json:"count"`
}

type traceFilterQuery struct{ pageSize int }

func (traceFilterQuery) method() string { return "trace_filter" }
func (traceFilterQuery) kinds() int     { return 1 }

func (q traceFilterQuery) elem(addr common.Address, t task) ethereum.BatchElem {
	return ethereum.BatchElem{Method: "trace_filter", Params: []any{traceFilterParams{
		FromBlock:   hexQuantity(t.from),
		ToBlock:     hexQuantity(t.to),
		FromAddress: []common.Address{addr},
		ToAddress:   []common.Address{addr},
		After:       t.after,
		Count:       uint64(q.pageSize),
	}}}
}

// traceFrame is the part of a Parity-style trace that is read: Erigon
// writes both as JSON numbers; transactionPosition is null for a block
// reward.
type traceFrame struct {
	BlockNumber         *quantity `json:"blockNumber"`
	TransactionPosition *quantity `json:"transactionPosition"`
}

func (q traceFilterQuery) read(raw json.RawMessage, t task, set map[uint64]struct{}) (*task, error) {
	var frames []traceFrame
	if err := json.Unmarshal(raw, &frames); err != nil {
		return nil, err
	}
	for i, f := range frames {
		if f.BlockNumber == nil {
			return nil, fmt.Errorf("frame %d has no blockNumber", i)
		}
		b := uint64(*f.BlockNumber)
		if b < t.from || b > t.to {
			return nil, fmt.Errorf("frame %d is in block %d, outside the filter", i, b)
		}
		set[b] = struct{}{}
	}
	// A full page may have more behind it. A page longer than count means
	// the node ignores count and has answered everything.
	if len(frames) == q.pageSize {
		return &task{span: t.span, kind: t.kind, after: t.after + uint64(q.pageSize)}, nil
	}
	return nil, nil
}
