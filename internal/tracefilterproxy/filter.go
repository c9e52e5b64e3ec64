package tracefilterproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common"
)

// TraceFilterRequest is trace_filter's parameter, named as in Erigon so that
// encoding/json words a type error as Erigon does ("json: cannot unmarshal
// string into Go struct field TraceFilterRequest.count of type uint64").
type TraceFilterRequest struct {
	FromBlock   *blockNumber      `json:"fromBlock"`
	ToBlock     *blockNumber      `json:"toBlock"`
	FromAddress []*common.Address `json:"fromAddress"`
	ToAddress   []*common.Address `json:"toAddress"`
	Mode        string            `json:"mode"`
	After       *uint64           `json:"after"`
	Count       *uint64           `json:"count"`
}

// blockNumber is a block parameter: a hex or decimal number (quoted or
// not) or a tag.
type blockNumber struct {
	tag string // "", or earliest/latest/pending/safe/finalized
	n   uint64
}

func (b *blockNumber) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	switch s {
	case "earliest", "latest", "pending", "safe", "finalized":
		b.tag = s
		return nil
	}
	n, err := parseQuantity(s)
	if err != nil {
		return err
	}
	b.n = n
	return nil
}

// resolve is the number the parameter names, with dflt for none.
func (b *blockNumber) resolve(head, dflt uint64) uint64 {
	switch {
	case b == nil:
		return dflt
	case b.tag == "earliest":
		return 0
	case b.tag != "":
		return head
	}
	return b.n
}

func parseQuantity(s string) (uint64, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		if len(s) == 2 {
			return 0, fmt.Errorf("hex string %q has no digits", s)
		}
		return strconv.ParseUint(s[2:], 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

func argument0(params json.RawMessage) (json.RawMessage, *rpcError) {
	var args []json.RawMessage
	if len(params) > 0 && string(params) != "null" {
		if err := json.Unmarshal(params, &args); err != nil {
			return nil, &rpcError{-32602, "non-array args"}
		}
	}
	if len(args) < 1 || string(args[0]) == "null" {
		return nil, &rpcError{-32602, "missing value for required argument 0"}
	}
	return args[0], nil
}

// filterCall is one trace_filter call, checked and ready to answer.
type filterCall struct {
	index        int
	from, to     uint64
	empty        bool // past the head, or count 0: []
	froms, tos   map[common.Address]bool
	intersection bool
	after, count uint64
}

func addressSet(xs []*common.Address) map[common.Address]bool {
	m := map[common.Address]bool{}
	for _, a := range xs {
		if a != nil {
			m[*a] = true
		}
	}
	return m
}

// planFilter checks a trace_filter call as Erigon does: the parameter, then
// fromBlock > toBlock, then a toBlock past the head ([] for the whole call),
// then the range limit.
func (c *callCtx) planFilter(params json.RawMessage) (*filterCall, *rpcError) {
	arg, rerr := argument0(params)
	if rerr != nil {
		return nil, rerr
	}
	var req TraceFilterRequest
	if err := json.Unmarshal(arg, &req); err != nil {
		return nil, &rpcError{-32602, "invalid argument 0: " + err.Error()}
	}
	head, rerr := c.headNumber()
	if rerr != nil {
		return nil, rerr
	}
	fc := &filterCall{
		from:         req.FromBlock.resolve(head, 0),
		to:           req.ToBlock.resolve(head, head),
		froms:        addressSet(req.FromAddress),
		tos:          addressSet(req.ToAddress),
		intersection: req.Mode == "intersection",
		count:        ^uint64(0),
	}
	if req.After != nil {
		fc.after = *req.After
	}
	if req.Count != nil {
		fc.count = *req.Count
	}
	if fc.from > fc.to {
		return nil, &rpcError{-32000, "invalid parameters: fromBlock cannot be greater than toBlock"}
	}
	if fc.to > head {
		fc.empty = true // Erigon: [] for the whole call, no error
		return fc, nil
	}
	if limit := c.p.opts.RangeLimit; fc.to-fc.from > limit {
		return nil, &rpcError{-32000, fmt.Sprintf("query block range exceeds server limit, narrow your filter: %d", limit)}
	}
	fc.empty = fc.count == 0
	return fc, nil
}

// blocks lists the blocks the call reads.
func (fc *filterCall) blocks() []uint64 {
	if fc.empty {
		return nil
	}
	out := make([]uint64, 0, fc.to-fc.from+1)
	for n := fc.from; ; n++ {
		out = append(out, n)
		if n == fc.to {
			return out
		}
	}
}

func (fc *filterCall) match(f *frame) bool {
	if len(fc.froms) == 0 && len(fc.tos) == 0 {
		return true
	}
	inFrom := fc.froms[f.from]
	inTo := f.hasTo && fc.tos[f.to]
	if fc.intersection {
		return (len(fc.froms) == 0 || inFrom) && (len(fc.tos) == 0 || inTo)
	}
	return inFrom || inTo
}

// answer pages through the matching frames of the range.
func (fc *filterCall) answer(blocks map[uint64]*blockData, pageLimit int) ([]json.RawMessage, *rpcError) {
	out := []json.RawMessage{}
	if fc.empty {
		return out, nil
	}
	skip := fc.after
	for _, n := range fc.blocks() {
		b := blocks[n]
		for i := range b.frames {
			f := &b.frames[i]
			if !fc.match(f) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if uint64(len(out)) >= fc.count {
				return fc.capped(out, pageLimit)
			}
			out = append(out, f.raw)
		}
	}
	return fc.capped(out, pageLimit)
}

func (fc *filterCall) capped(out []json.RawMessage, pageLimit int) ([]json.RawMessage, *rpcError) {
	if pageLimit > 0 && len(out) > pageLimit {
		return nil, &rpcError{-32005, fmt.Sprintf("query returned more than %d results", pageLimit)}
	}
	return out, nil
}

// checkLogs refuses an eth_getLogs over the range limit as Erigon does
// (-32602); anything else, including what the target refuses itself (a
// toBlock past the head, fromBlock > toBlock, blockHash with a range), is
// left to the target.
func (c *callCtx) checkLogs(params json.RawMessage) *rpcError {
	arg, rerr := argument0(params)
	if rerr != nil {
		return nil
	}
	var f struct {
		BlockHash json.RawMessage `json:"blockHash"`
		FromBlock *blockNumber    `json:"fromBlock"`
		ToBlock   *blockNumber    `json:"toBlock"`
	}
	if err := json.Unmarshal(arg, &f); err != nil || len(f.BlockHash) > 0 && string(f.BlockHash) != "null" {
		return nil
	}
	head, rerr := c.headNumber()
	if rerr != nil {
		return rerr
	}
	from, to := f.FromBlock.resolve(head, head), f.ToBlock.resolve(head, head)
	if to > head || from > to {
		return nil
	}
	if limit := c.p.opts.RangeLimit; to-from > limit {
		return &rpcError{-32602, fmt.Sprintf("query block range exceeds server limit, narrow your filter: %d", limit)}
	}
	return nil
}

// blockEntry is a cached block, or one being fetched.
type blockEntry struct {
	done chan struct{}
	data *blockData
	err  error
}

// blocks returns the frames of the numbered blocks, from the cache or
// fetched from the target.
func (p *Proxy) blocks(ctx context.Context, need []uint64) (map[uint64]*blockData, error) {
	entries := map[uint64]*blockEntry{}
	var mine []uint64
	p.mu.Lock()
	for _, n := range need {
		if _, ok := entries[n]; ok {
			continue
		}
		e, ok := p.cache[n]
		if !ok {
			e = &blockEntry{done: make(chan struct{})}
			p.cache[n] = e
			mine = append(mine, n)
		}
		entries[n] = e
	}
	p.mu.Unlock()
	if len(mine) > 0 {
		p.fetch(ctx, mine, entries)
	}
	out := make(map[uint64]*blockData, len(entries))
	for n, e := range entries {
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			return nil, e.err
		}
		out[n] = e.data
	}
	return out, nil
}

// fetch fills the entries of the blocks in nums, in batches of
// BlocksPerUpstreamBatch blocks, four at a time. A block that fails leaves
// the cache, so that a later call asks again.
func (p *Proxy) fetch(ctx context.Context, nums []uint64, entries map[uint64]*blockEntry) {
	size := p.opts.BlocksPerUpstreamBatch
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := 0; i < len(nums); i += size {
		part := nums[i:min(i+size, len(nums))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got, err := p.fetchPart(ctx, part)
			p.mu.Lock()
			for _, n := range part {
				e := entries[n]
				switch {
				case err != nil:
					e.err = err
				case got[n] == nil:
					e.err = fmt.Errorf("tracefilterproxy: block %d not fetched", n)
				default:
					e.data = got[n]
				}
				if e.err != nil {
					delete(p.cache, n)
				}
				close(e.done)
			}
			p.mu.Unlock()
		}()
	}
	wg.Wait()
}

// maxTracedTxs is about how many transactions' traces one batch asks for.
const maxTracedTxs = 200

func hexNumber(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

func (p *Proxy) fetchPart(ctx context.Context, nums []uint64) (map[uint64]*blockData, error) {
	calls := make([]*upCall, len(nums))
	for i, n := range nums {
		calls[i] = &upCall{Method: "eth_getBlockByNumber", Params: []any{hexNumber(n), true}}
	}
	if err := p.batch(ctx, calls); err != nil {
		return nil, err
	}
	blks := make([]*rpcBlock, len(nums))
	var traced []int
	for i, c := range calls {
		if c.Error != nil {
			return nil, c.Error
		}
		if len(c.Result) == 0 || string(c.Result) == "null" {
			return nil, &rpcError{-32000, fmt.Sprintf("block not found: %d", nums[i])}
		}
		var b rpcBlock
		if err := json.Unmarshal(c.Result, &b); err != nil {
			return nil, fmt.Errorf("tracefilterproxy: block %d: %w", nums[i], err)
		}
		if uint64(b.Number) != nums[i] {
			return nil, fmt.Errorf("tracefilterproxy: asked for block %d, got %d", nums[i], uint64(b.Number))
		}
		blks[i] = &b
		if len(b.Transactions) > 0 {
			traced = append(traced, i)
		}
	}
	traces := make([][]ctTx, len(nums))
	for len(traced) > 0 {
		var group []int
		txs := 0
		for len(traced) > 0 && (len(group) == 0 || txs+len(blks[traced[0]].Transactions) <= maxTracedTxs) {
			txs += len(blks[traced[0]].Transactions)
			group = append(group, traced[0])
			traced = traced[1:]
		}
		tcalls := make([]*upCall, len(group))
		for j, i := range group {
			tcalls[j] = &upCall{Method: "debug_traceBlockByNumber", Params: []any{hexNumber(nums[i]), map[string]any{"tracer": "callTracer"}}}
		}
		if err := p.batch(ctx, tcalls); err != nil {
			return nil, err
		}
		for j, i := range group {
			if tcalls[j].Error != nil {
				return nil, tcalls[j].Error
			}
			if err := json.Unmarshal(tcalls[j].Result, &traces[i]); err != nil {
				return nil, fmt.Errorf("tracefilterproxy: debug_traceBlockByNumber %d: %w", nums[i], err)
			}
		}
	}
	out := make(map[uint64]*blockData, len(nums))
	for i, n := range nums {
		d, err := convertBlock(blks[i], traces[i])
		if err != nil {
			return nil, fmt.Errorf("tracefilterproxy: %w", err)
		}
		out[n] = d
		p.fetched.Add(1)
	}
	return out, nil
}
