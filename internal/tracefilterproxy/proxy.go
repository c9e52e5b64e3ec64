// Package tracefilterproxy puts Erigon's trace_filter in front of a node
// that lacks it (the in-process geth of internal/devchain), so that tests and
// benchmarks can run chaintrace's trace_filter history source against a real
// node and a real chain.
//
// The proxy is a JSON-RPC endpoint (batch-aware, echoing the caller's ids)
// that answers trace_filter itself, with the semantics of the Erigon node the
// erigon-dev fixtures were recorded from (../shared/fixtures/erigon-dev,
// "Notable format facts"):
//
//   - the answer is a flat list of Parity frames (call, create, suicide), by
//     block, then transaction position, then depth-first trace address, each
//     with blockNumber, transactionPosition (JSON numbers), blockHash,
//     transactionHash, subtraces and traceAddress;
//   - matching is per frame: fromAddress matches action.from (a suicide's
//     action.address), toAddress matches action.to (a create's
//     result.address, a suicide's refundAddress); the lists are ORed unless
//     "mode" is "intersection", which wants both in the same frame;
//   - after and count page over frames across the whole range and must be
//     JSON numbers (a hex string is refused with Erigon's -32602 text);
//   - fromBlock > toBlock is refused (-32000), a toBlock past the head gives
//     [] for the whole call, and toBlock-fromBlock over the range limit is
//     refused with -32000 "query block range exceeds server limit, narrow
//     your filter: N";
//   - a reverted frame carries "error":"Reverted" and keeps its result; its
//     children carry no error (the consumer propagates the revert).
//
// Frames are made from the target's debug_traceBlockByNumber callTracer
// output and its eth_getBlockByNumber (full transactions), both fetched once
// per block and cached by number (the cache assumes no reorgs, as on a dev
// chain; empty blocks are not traced). The head is asked once per HTTP
// request. Gas fields follow Erigon where the callTracer output
// allows it: internal frames take the callTracer's gas and gasUsed; the top
// frame subtracts the transaction's intrinsic gas (Osaka rules) from the
// gas limit and from the receipt's gasUsed, which is exact for transactions
// without gas refunds or EIP-7623 floor pricing.
//
// A frame that failed otherwise than by a revert has result null, as in
// Erigon, with geth's error text mapped to Erigon's wording where known
// ("Out of gas", "Bad instruction", ...). The one known difference comes
// from what geth's callTracer leaves out: an internal CREATE/CREATE2 that
// reverted has no result.address, so toAddress cannot match it (geth drops
// its "to"; a top-level one is recomputed from the sender and nonce).
//
// eth_getLogs is forwarded, but refused with Erigon's -32602 "query block
// range exceeds server limit, narrow your filter: N" over the same range
// limit, so that a client's range splitting is exercised; every other call
// goes to the target unchanged. In a batch, local answers and forwarded
// calls are answered together, in request order.
package tracefilterproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/internal/jsonrpcserver"
)

// DefaultRangeLimit is Erigon's default --rpc.blockrange.limit.
const DefaultRangeLimit = 1000

// Options shape the proxy.
type Options struct {
	// RangeLimit is the most toBlock-fromBlock a trace_filter or eth_getLogs
	// call may span (Erigon's --rpc.blockrange.limit; a difference of
	// exactly RangeLimit passes). 0: DefaultRangeLimit.
	RangeLimit uint64
	// Delay is added to every HTTP request the proxy serves (benchmarks).
	Delay time.Duration
	// PageLimit > 0 caps a trace_filter answer at that many frames: a call
	// that would return more (after "after" and "count") is refused with
	// -32005 "query returned more than N results", as nodes with a response
	// cap do, so that a client has to narrow its range. Erigon has no such
	// cap; 0 (the default) behaves as Erigon.
	PageLimit int
	// BlocksPerUpstreamBatch is how many blocks the proxy asks the target for
	// in one JSON-RPC batch (default 100), with up to 4 batches in flight.
	BlocksPerUpstreamBatch int
}

func (o *Options) defaults() {
	if o.RangeLimit == 0 {
		o.RangeLimit = DefaultRangeLimit
	}
	if o.BlocksPerUpstreamBatch <= 0 {
		o.BlocksPerUpstreamBatch = 100
	}
}

// Proxy is a running proxy.
type Proxy struct {
	srv    *httptest.Server
	target string
	opts   Options
	http   *http.Client

	requests atomic.Int64 // HTTP requests served
	calls    atomic.Int64 // JSON-RPC calls received
	upstream atomic.Int64 // HTTP requests sent to the target
	fetched  atomic.Int64 // blocks fetched from the target for trace_filter
	nextID   atomic.Uint64

	mu     sync.Mutex
	params map[string][]json.RawMessage // per method, the params of every call received
	cache  map[uint64]*blockEntry
}

// New starts a proxy in front of the JSON-RPC endpoint target. Close it
// when done.
func New(target string, opts Options) *Proxy {
	opts.defaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	p := &Proxy{
		target: target,
		opts:   opts,
		http:   &http.Client{Transport: tr, Timeout: 5 * time.Minute},
		params: map[string][]json.RawMessage{},
		cache:  map[uint64]*blockEntry{},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// URL is the proxy's endpoint.
func (p *Proxy) URL() string { return p.srv.URL }

// Close stops the proxy; calls to URL fail from then on.
func (p *Proxy) Close() {
	p.srv.Close()
	p.http.CloseIdleConnections()
}

// Requests is the number of HTTP requests the proxy has served.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// Calls is the number of JSON-RPC calls the proxy has received (a batch of
// n counts n), answered locally or forwarded.
func (p *Proxy) Calls() int64 { return p.calls.Load() }

// CallsTo is the number of calls of method received.
func (p *Proxy) CallsTo(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.params[method])
}

// Params returns the params of every call of method received, in arrival
// order (a copy).
func (p *Proxy) Params(method string) []json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]json.RawMessage(nil), p.params[method]...)
}

// UpstreamRequests is the number of HTTP requests the proxy has sent to the
// target: forwarded calls and its own block fetches.
func (p *Proxy) UpstreamRequests() int64 { return p.upstream.Load() }

// BlocksFetched is the number of blocks the proxy has fetched from the
// target to answer trace_filter (each at most once while cached).
func (p *Proxy) BlocksFetched() int64 { return p.fetched.Load() }

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// request is one incoming call; response is one answer.
type (
	request  = jsonrpcserver.Request
	response = jsonrpcserver.Response[rpcError]
)

func errorAnswer(id json.RawMessage, e *rpcError) json.RawMessage {
	return jsonrpcserver.ErrorAnswer(id, e)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if p.opts.Delay > 0 {
		select {
		case <-time.After(p.opts.Delay):
		case <-r.Context().Done():
			return
		}
	}
	body, ok := jsonrpcserver.ReadBody(w, r)
	if !ok {
		return
	}
	raws, batch, err := jsonrpcserver.Split(body)
	if err != nil {
		jsonrpcserver.WriteJSON(w, errorAnswer(nil, &rpcError{-32700, "parse error"}))
		return
	}
	if batch && len(raws) == 0 {
		jsonrpcserver.WriteJSON(w, errorAnswer(nil, &rpcError{-32600, "empty batch"}))
		return
	}
	reqs := make([]*request, len(raws))
	local := false
	for i, raw := range raws {
		var q request
		if err := json.Unmarshal(raw, &q); err != nil || q.Method == "" {
			continue // answered as invalid below
		}
		reqs[i] = &q
		p.record(q.Method, q.Params)
		local = local || q.Method == "trace_filter" || q.Method == "eth_getLogs"
	}
	p.calls.Add(int64(len(raws)))
	if !local {
		// Nothing for the proxy: the target sees the body as sent.
		p.passThrough(w, r.Context(), body)
		return
	}
	c := &callCtx{p: p, ctx: r.Context()}
	answers := make([]json.RawMessage, len(raws))
	var fwd []int
	// trace_filter calls are planned first so that the blocks of all of them
	// are fetched together.
	var filters []*filterCall
	for i, q := range reqs {
		switch {
		case q == nil:
			answers[i] = errorAnswer(nil, &rpcError{-32600, "invalid request"})
		case q.Method == "trace_filter":
			fc, rerr := c.planFilter(q.Params)
			if rerr != nil {
				answers[i] = errorAnswer(q.ID, rerr)
				continue
			}
			fc.index = i
			filters = append(filters, fc)
		case q.Method == "eth_getLogs":
			if rerr := c.checkLogs(q.Params); rerr != nil {
				answers[i] = errorAnswer(q.ID, rerr)
				continue
			}
			fwd = append(fwd, i)
		default:
			fwd = append(fwd, i)
		}
	}
	if len(filters) > 0 {
		var need []uint64
		for _, fc := range filters {
			need = append(need, fc.blocks()...)
		}
		blocks, err := p.blocks(r.Context(), need)
		for _, fc := range filters {
			q := reqs[fc.index]
			if err != nil {
				answers[fc.index] = errorAnswer(q.ID, toRPCError(err))
				continue
			}
			frames, rerr := fc.answer(blocks, p.opts.PageLimit)
			if rerr != nil {
				answers[fc.index] = errorAnswer(q.ID, rerr)
				continue
			}
			answers[fc.index] = jsonrpcserver.ResultAnswer(q.ID, frames)
		}
	}
	if len(fwd) > 0 {
		sub := make([]json.RawMessage, len(fwd))
		for j, i := range fwd {
			sub[j] = raws[i]
		}
		got, err := p.forward(r.Context(), sub)
		for j, i := range fwd {
			if err != nil {
				answers[i] = errorAnswer(reqs[i].ID, &rpcError{-32603, "tracefilterproxy: target: " + err.Error()})
				continue
			}
			answers[i] = got[j]
		}
	}
	if !batch {
		jsonrpcserver.WriteJSON(w, answers[0])
		return
	}
	out, _ := json.Marshal(answers)
	jsonrpcserver.WriteJSON(w, out)
}

func (p *Proxy) record(method string, params json.RawMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.params[method] = append(p.params[method], append(json.RawMessage(nil), params...))
}

// passThrough sends body to the target as is and copies the answer back.
func (p *Proxy) passThrough(w http.ResponseWriter, ctx context.Context, body []byte) {
	p.upstream.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := p.http.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// forward sends calls to the target in one batch under ids of the proxy's
// own, and returns the answers in the calls' order with their ids restored.
func (p *Proxy) forward(ctx context.Context, calls []json.RawMessage) ([]json.RawMessage, error) {
	type idAnswer struct {
		ID json.RawMessage `json:"id"`
	}
	sent := make([]json.RawMessage, len(calls))
	orig := make([]json.RawMessage, len(calls))
	ids := make(map[string]int, len(calls))
	for i, c := range calls {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(c, &m); err != nil {
			return nil, err
		}
		orig[i] = jsonrpcserver.IDOrNull(m["id"])
		id := strconv.FormatUint(p.nextID.Add(1), 10)
		m["id"] = json.RawMessage(id)
		ids[id] = i
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		sent[i] = b
	}
	body, _ := json.Marshal(sent)
	raw, err := p.post(ctx, body)
	if err != nil {
		return nil, err
	}
	var got []json.RawMessage
	if err := json.Unmarshal(raw, &got); err != nil {
		return nil, fmt.Errorf("batch answer is not an array: %.200s", raw)
	}
	out := make([]json.RawMessage, len(calls))
	for _, a := range got {
		var ia idAnswer
		if err := json.Unmarshal(a, &ia); err != nil {
			return nil, err
		}
		i, ok := ids[string(ia.ID)]
		if !ok {
			return nil, fmt.Errorf("answer with unknown id %s", ia.ID)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(a, &m); err != nil {
			return nil, err
		}
		m["id"] = orig[i]
		out[i], _ = json.Marshal(m)
	}
	for i := range out {
		if out[i] == nil {
			return nil, fmt.Errorf("no answer to %.200s", calls[i])
		}
	}
	return out, nil
}

// post sends one HTTP request to the target.
func (p *Proxy) post(ctx context.Context, body []byte) ([]byte, error) {
	p.upstream.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.200s", res.StatusCode, b)
	}
	return b, nil
}

// upCall is one call the proxy makes to the target on its own behalf.
type upCall struct {
	Method string
	Params []any
	Result json.RawMessage
	Error  *rpcError
}

// batch sends the calls to the target in one JSON-RPC batch.
func (p *Proxy) batch(ctx context.Context, calls []*upCall) error {
	type out struct {
		JSONRPC string `json:"jsonrpc"`
		ID      uint64 `json:"id"`
		Method  string `json:"method"`
		Params  []any  `json:"params"`
	}
	reqs := make([]out, len(calls))
	ids := make(map[uint64]int, len(calls))
	for i, c := range calls {
		id := p.nextID.Add(1)
		ids[id] = i
		params := c.Params
		if params == nil {
			params = []any{}
		}
		reqs[i] = out{"2.0", id, c.Method, params}
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		return err
	}
	raw, err := p.post(ctx, body)
	if err != nil {
		return err
	}
	var got []struct {
		ID     uint64          `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		return fmt.Errorf("batch answer is not an array: %.200s", raw)
	}
	seen := 0
	for _, g := range got {
		i, ok := ids[g.ID]
		if !ok {
			return fmt.Errorf("answer with unknown id %d", g.ID)
		}
		calls[i].Result, calls[i].Error = g.Result, g.Error
		seen++
	}
	if seen != len(calls) {
		return fmt.Errorf("%d answers to %d calls", seen, len(calls))
	}
	return nil
}

// callCtx is the state of one HTTP request: the head, asked at most once.
type callCtx struct {
	p       *Proxy
	ctx     context.Context
	head    uint64
	headErr *rpcError
	asked   bool
}

// headNumber is the target's eth_blockNumber.
func (c *callCtx) headNumber() (uint64, *rpcError) {
	if c.asked {
		return c.head, c.headErr
	}
	c.asked = true
	call := &upCall{Method: "eth_blockNumber"}
	if err := c.p.batch(c.ctx, []*upCall{call}); err != nil {
		c.headErr = &rpcError{-32603, "tracefilterproxy: target: " + err.Error()}
		return 0, c.headErr
	}
	if call.Error != nil {
		c.headErr = call.Error
		return 0, c.headErr
	}
	var s string
	if err := json.Unmarshal(call.Result, &s); err != nil {
		c.headErr = &rpcError{-32603, "tracefilterproxy: eth_blockNumber: " + err.Error()}
		return 0, c.headErr
	}
	n, err := parseQuantity(s)
	if err != nil {
		c.headErr = &rpcError{-32603, "tracefilterproxy: eth_blockNumber: " + err.Error()}
		return 0, c.headErr
	}
	c.head = n
	return n, nil
}

func toRPCError(err error) *rpcError {
	if re, ok := err.(*rpcError); ok {
		return re
	}
	return &rpcError{-32000, err.Error()}
}
