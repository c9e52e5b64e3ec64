package erigonemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Options shape the emulated node.
type Options struct {
	// Head is the node's latest block (eth_blockNumber); blocks past 48 up
	// to it exist and are empty. 0: RecordedHead, the head when the
	// scenario files were recorded.
	Head uint64
	// RangeLimit is --rpc.blockrange.limit: trace_filter and eth_getLogs
	// refuse a toBlock-fromBlock above it. 0: DefaultRangeLimit (1000).
	RangeLimit uint64
	// OtsMaxPageSize is --ots.search.max.pagesize. 0: DefaultOtsMaxPage (25).
	OtsMaxPageSize int
	// TooManyResultsOver > 0 refuses a non-empty eth_getLogs answer over a
	// range of more blocks with geth's "query returned more than 10000
	// results" (no address here has enough logs for the real test).
	TooManyResultsOver uint64
	// BatchLimit > 0 refuses larger batches as a whole, as Erigon's
	// --rpc.batch.limit does.
	BatchLimit int
}

func (o *Options) defaults() {
	if o.Head == 0 {
		o.Head = RecordedHead
	}
	if o.RangeLimit == 0 {
		o.RangeLimit = DefaultRangeLimit
	}
	if o.OtsMaxPageSize == 0 {
		o.OtsMaxPageSize = DefaultOtsMaxPage
	}
}

// Error is a JSON-RPC error answer.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// Methods lists the methods the emulator answers itself (eth_getCode is
// answered only where state decides it, "0x" for an EOA or a contract not
// yet created, and otherwise replayed); the server passes
// every other call to the replay of the recordings.
var Methods = []string{
	"eth_blockNumber", "trace_filter", "ots_searchTransactionsAfter", "ots_searchTransactionsBefore",
	"eth_getLogs", "eth_getBalance", "eth_call", "eth_getBlockReceipts",
}

// Stats count what the emulator was asked that tests want to see happen.
type Stats struct {
	// RangeRefusals counts trace_filter and eth_getLogs calls refused for
	// a block range over the limit.
	RangeRefusals int
	// TraceFilterLaterPages counts trace_filter calls with after > 0.
	TraceFilterLaterPages int
	// OtsPagesWithMore counts ots_searchTransactions* answers that left
	// matches for a further page.
	OtsPagesWithMore int
	// NonNumbers lists trace_filter after/count and ots block/page-size
	// arguments that were not sent as JSON numbers (Erigon refuses them).
	NonNumbers []string
}

// Emulator answers Erigon's address-indexed methods, the head, and state
// reads (eth_getBalance, the token's balanceOf through eth_call) from a
// Chain, following the README's description of the recorded node.
type Emulator struct {
	chain *Chain
	opts  Options

	mu    sync.Mutex
	stats Stats
}

// NewEmulator makes an emulator of the chain with the given options.
func NewEmulator(c *Chain, opts Options) *Emulator {
	opts.defaults()
	return &Emulator{chain: c, opts: opts}
}

// Head is the emulated head.
func (e *Emulator) Head() uint64 { return e.opts.Head }

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.NonNumbers = append([]string(nil), e.stats.NonNumbers...)
	return s
}

func (e *Emulator) count(f func(*Stats)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.stats)
}

// Answer computes the answer to one call; handled is false for methods the
// emulator leaves to the replay server.
func (e *Emulator) Answer(method string, params json.RawMessage) (result any, rerr *Error, handled bool) {
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("[]")
	}
	switch method {
	case "eth_blockNumber":
		return hexQuantity(e.opts.Head), nil, true
	case "trace_filter":
		r, err := e.traceFilter(params)
		return r, err, true
	case "ots_searchTransactionsAfter", "ots_searchTransactionsBefore":
		r, err := e.otsSearch(params, method == "ots_searchTransactionsBefore")
		return r, err, true
	case "eth_getLogs":
		r, err := e.getLogs(params)
		return r, err, true
	case "eth_getBalance":
		r, err := e.getBalance(params)
		return r, err, true
	case "eth_call":
		r, err := e.call(params)
		return r, err, true
	case "eth_getBlockReceipts":
		r, err := e.blockReceipts(params)
		return r, err, true
	case "eth_getCode":
		return e.getCode(params)
	}
	return nil, nil, false
}

// getCode answers eth_getCode where the state decides it without the
// bytecode: "0x" for an externally owned account, and for a contract at a
// block before the one that created it. Other questions (a contract's code
// once it exists) go to the replay server, which has them recorded.
func (e *Emulator) getCode(params json.RawMessage) (any, *Error, bool) {
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil || len(args) < 1 {
		return nil, &Error{-32602, "missing value for required argument 0"}, true
	}
	var addr string
	if err := json.Unmarshal(args[0], &addr); err != nil {
		return nil, &Error{-32602, "invalid argument 0: " + err.Error()}, true
	}
	n, rerr := e.stateBlock(args, 1)
	if rerr != nil {
		return nil, rerr, true
	}
	addr = strings.ToLower(addr)
	born, isContract := e.chain.born[addr]
	if e.chain.eoa[addr] || isContract && n < born {
		return "0x", nil, true
	}
	return nil, nil, false
}

func (e *Emulator) blockArg(s *string, dflt uint64) (uint64, *Error) {
	if s == nil {
		return dflt, nil
	}
	switch strings.ToLower(*s) {
	case "earliest":
		return 0, nil
	case "latest", "pending", "safe", "finalized":
		return e.opts.Head, nil
	}
	var q quantity
	if err := json.Unmarshal([]byte(strconv.Quote(*s)), &q); err != nil {
		return 0, &Error{-32602, "invalid argument 0: " + err.Error()}
	}
	return uint64(q), nil
}

// blockRef reads a block parameter of a state or block method: a number, a
// tag, or an EIP-1898 object {blockNumber} / {blockHash}.
func (e *Emulator) blockRef(raw json.RawMessage, arg int) (uint64, *Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return e.opts.Head, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		n, rerr := e.blockArg(&s, e.opts.Head)
		if rerr != nil {
			rerr.Message = strings.Replace(rerr.Message, "argument 0", fmt.Sprintf("argument %d", arg), 1)
		}
		return n, rerr
	}
	var obj struct {
		BlockNumber *string `json:"blockNumber"`
		BlockHash   *string `json:"blockHash"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return 0, &Error{-32602, fmt.Sprintf("invalid argument %d: %v", arg, err)}
	}
	switch {
	case obj.BlockHash != nil:
		for _, n := range e.chain.nums {
			if e.chain.blocks[n].hash == strings.ToLower(*obj.BlockHash) {
				return n, nil
			}
		}
		return 0, &Error{-32000, fmt.Sprintf("block %s not found", *obj.BlockHash)}
	case obj.BlockNumber != nil:
		return e.blockArg(obj.BlockNumber, e.opts.Head)
	}
	return 0, &Error{-32602, fmt.Sprintf("invalid argument %d: neither blockNumber nor blockHash", arg)}
}

// TraceFilterRequest is named as in Erigon, so that encoding/json words a
// type error exactly as Erigon does.
type TraceFilterRequest struct {
	FromBlock   *string  `json:"fromBlock"`
	ToBlock     *string  `json:"toBlock"`
	FromAddress []string `json:"fromAddress"`
	ToAddress   []string `json:"toAddress"`
	Mode        string   `json:"mode"`
	After       *uint64  `json:"after"`
	Count       *uint64  `json:"count"`
}

func (e *Emulator) traceFilter(params json.RawMessage) (any, *Error) {
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil || len(args) < 1 {
		return nil, &Error{-32602, "missing value for required argument 0"}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(args[0], &members); err == nil {
		for _, k := range []string{"after", "count"} {
			if v, ok := members[k]; ok && (len(v) == 0 || v[0] < '0' || v[0] > '9') {
				e.count(func(s *Stats) { s.NonNumbers = append(s.NonNumbers, "trace_filter "+k+"="+string(v)) })
			}
		}
	}
	var req TraceFilterRequest
	if err := json.Unmarshal(args[0], &req); err != nil {
		return nil, &Error{-32602, "invalid argument 0: " + err.Error()}
	}
	from, rerr := e.blockArg(req.FromBlock, 0)
	if rerr != nil {
		return nil, rerr
	}
	to, rerr := e.blockArg(req.ToBlock, e.opts.Head)
	if rerr != nil {
		return nil, rerr
	}
	if from > to {
		return nil, &Error{-32000, "invalid parameters: fromBlock cannot be greater than toBlock"}
	}
	if to > e.opts.Head {
		return []json.RawMessage{}, nil // Erigon: [] for the whole call, no error
	}
	if to-from > e.opts.RangeLimit {
		e.count(func(s *Stats) { s.RangeRefusals++ })
		return nil, &Error{-32000, fmt.Sprintf("query block range exceeds server limit, narrow your filter: %d", e.opts.RangeLimit)}
	}
	if req.After != nil && *req.After > 0 {
		e.count(func(s *Stats) { s.TraceFilterLaterPages++ })
	}
	froms, tos := lowerSet(req.FromAddress), lowerSet(req.ToAddress)
	intersection := req.Mode == "intersection"
	match := func(f frame) bool {
		if len(froms) == 0 && len(tos) == 0 {
			return true
		}
		inFrom, inTo := froms[f.from], tos[f.to]
		if intersection {
			return (len(froms) == 0 || inFrom) && (len(tos) == 0 || inTo)
		}
		return inFrom || inTo
	}
	out := []json.RawMessage{}
	skip := uint64(0)
	if req.After != nil {
		skip = *req.After
	}
	for _, n := range e.chain.nums {
		if n < from || n > to {
			continue
		}
		for _, f := range e.chain.blocks[n].frames {
			if !match(f) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if req.Count != nil && uint64(len(out)) >= *req.Count {
				return out, nil
			}
			out = append(out, f.raw)
		}
	}
	return out, nil
}

func lowerSet(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[strings.ToLower(x)] = true
	}
	return m
}

// otsTx is a matching transaction: block and position.
type otsTx struct {
	block uint64
	pos   int
}

// otsMatches lists the address's transactions in block n, ascending: those
// with a frame of which it is the sender or the recipient.
func (e *Emulator) otsMatches(addr string, n uint64) []otsTx {
	blk := e.chain.blocks[n]
	var out []otsTx
	seen := map[int]bool{}
	for _, f := range blk.frames {
		if f.txPos >= 0 && !seen[f.txPos] && (f.from == addr || f.to == addr) {
			seen[f.txPos] = true
			out = append(out, otsTx{n, f.txPos})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pos < out[j].pos })
	return out
}

func (e *Emulator) otsSearch(params json.RawMessage, before bool) (any, *Error) {
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil || len(args) != 3 {
		return nil, &Error{-32602, "want [address, blockNumber, pageSize]"}
	}
	var addr string
	if err := json.Unmarshal(args[0], &addr); err != nil {
		return nil, &Error{-32602, "invalid argument 0: " + err.Error()}
	}
	addr = strings.ToLower(addr)
	var bound uint64
	var size int
	for i, dst := range []any{&bound, &size} {
		if v := args[i+1]; len(v) == 0 || v[0] < '0' || v[0] > '9' {
			e.count(func(s *Stats) { s.NonNumbers = append(s.NonNumbers, fmt.Sprintf("ots argument %d=%s", i+1, v)) })
		}
		if err := json.Unmarshal(args[i+1], dst); err != nil {
			return nil, &Error{-32602, fmt.Sprintf("invalid argument %d: %v", i+1, err)}
		}
	}
	if size > e.opts.OtsMaxPageSize {
		return nil, &Error{-32000, fmt.Sprintf("max allowed page size: %d", e.opts.OtsMaxPageSize)}
	}
	// Blocks to visit, in search order.
	var order []uint64
	for _, n := range e.chain.nums {
		if n > e.opts.Head {
			continue
		}
		if before && (bound == 0 || n < bound) || !before && n > bound {
			order = append(order, n)
		}
	}
	if before {
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	var sel []otsTx
	more := false
	for i, n := range order {
		if len(sel) >= size {
			// Whole blocks only: stop between blocks, and say whether
			// another match remains further on.
			for _, m := range order[i:] {
				if len(e.otsMatches(addr, m)) > 0 {
					more = true
					break
				}
			}
			break
		}
		sel = append(sel, e.otsMatches(addr, n)...)
	}
	if more {
		e.count(func(s *Stats) { s.OtsPagesWithMore++ })
	}
	// Newest first, in both directions.
	sort.Slice(sel, func(i, j int) bool {
		if sel[i].block != sel[j].block {
			return sel[i].block > sel[j].block
		}
		return sel[i].pos > sel[j].pos
	})
	txs := []json.RawMessage{}
	receipts := []any{}
	for _, s := range sel {
		blk := e.chain.blocks[s.block]
		txs = append(txs, blk.txs[s.pos])
		var rc map[string]any
		dec := json.NewDecoder(bytes.NewReader(blk.receipts[s.pos]))
		dec.UseNumber()
		if err := dec.Decode(&rc); err != nil {
			return nil, &Error{-32000, err.Error()}
		}
		// ots receipts carry the block's timestamp as a number, and their
		// logs leave out blockTimestamp.
		rc["timestamp"] = blk.timestamp
		if logs, ok := rc["logs"].([]any); ok {
			for _, l := range logs {
				if m, ok := l.(map[string]any); ok {
					delete(m, "blockTimestamp")
				}
			}
		}
		receipts = append(receipts, rc)
	}
	first, last := bound == 0, !more
	if !before {
		first, last = !more, bound == 0
	}
	if len(sel) == 0 {
		first, last = true, true
	}
	return map[string]any{"txs": txs, "receipts": receipts, "firstPage": first, "lastPage": last}, nil
}

type logFilter struct {
	BlockHash *string         `json:"blockHash"`
	FromBlock *string         `json:"fromBlock"`
	ToBlock   *string         `json:"toBlock"`
	Address   json.RawMessage `json:"address"`
	Topics    []any           `json:"topics"`
}

func (e *Emulator) getLogs(params json.RawMessage) (any, *Error) {
	var args []logFilter
	if err := json.Unmarshal(params, &args); err != nil || len(args) != 1 {
		return nil, &Error{-32602, "invalid argument 0"}
	}
	f := args[0]
	var from, to uint64
	if f.BlockHash != nil {
		if f.FromBlock != nil || f.ToBlock != nil {
			return nil, &Error{-32602, "invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"}
		}
		found := false
		for _, n := range e.chain.nums {
			if e.chain.blocks[n].hash == strings.ToLower(*f.BlockHash) {
				from, to, found = n, n, true
			}
		}
		if !found {
			return nil, &Error{-32000, "block not found"}
		}
	} else {
		var rerr *Error
		if from, rerr = e.blockArg(f.FromBlock, e.opts.Head); rerr != nil {
			return nil, rerr
		}
		if to, rerr = e.blockArg(f.ToBlock, e.opts.Head); rerr != nil {
			return nil, rerr
		}
		if to > e.opts.Head {
			return nil, &Error{-32602, "block range extends beyond current head block"}
		}
		if from > to {
			return nil, &Error{-32602, "invalid block range params"}
		}
		if to-from > e.opts.RangeLimit {
			e.count(func(s *Stats) { s.RangeRefusals++ })
			return nil, &Error{-32602, fmt.Sprintf("query block range exceeds server limit, narrow your filter: %d", e.opts.RangeLimit)}
		}
	}
	var addrs []string
	if len(f.Address) > 0 && string(f.Address) != "null" {
		var one string
		if json.Unmarshal(f.Address, &one) == nil {
			addrs = []string{one}
		} else if err := json.Unmarshal(f.Address, &addrs); err != nil {
			return nil, &Error{-32602, "invalid argument 0: address"}
		}
	}
	addrSet := lowerSet(addrs)
	out := []json.RawMessage{}
	for _, n := range e.chain.nums {
		if n < from || n > to {
			continue
		}
		for _, l := range e.chain.blocks[n].logs {
			if len(addrSet) > 0 && !addrSet[l.address] {
				continue
			}
			if topicsMatch(f.Topics, l.topics) {
				out = append(out, l.raw)
			}
		}
	}
	if e.opts.TooManyResultsOver > 0 && to-from+1 > e.opts.TooManyResultsOver && len(out) > 0 {
		return nil, &Error{-32005, "query returned more than 10000 results"}
	}
	return out, nil
}

// topicsMatch is eth_getLogs's position-based matching: null is a
// wildcard, an array is an OR.
func topicsMatch(filter []any, topics []string) bool {
	if len(filter) > len(topics) {
		return false
	}
	for i, f := range filter {
		switch x := f.(type) {
		case nil:
		case string:
			if strings.ToLower(x) != topics[i] {
				return false
			}
		case []any:
			if len(x) == 0 {
				continue
			}
			ok := false
			for _, y := range x {
				if s, isStr := y.(string); isStr && strings.ToLower(s) == topics[i] {
					ok = true
				}
			}
			if !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// stateBlock reads a state method's block parameter and checks the state
// is known there: at most the head, at least block 37.
func (e *Emulator) stateBlock(args []json.RawMessage, i int) (uint64, *Error) {
	var raw json.RawMessage
	if len(args) > i {
		raw = args[i]
	}
	n, rerr := e.blockRef(raw, i)
	if rerr != nil {
		return 0, rerr
	}
	if n > e.opts.Head {
		return 0, &Error{-32000, fmt.Sprintf("block not found: %d", n)}
	}
	if n < FirstBlock {
		return 0, &Error{-32000, fmt.Sprintf("erigonemu: the state before block %d is not known", FirstBlock)}
	}
	return n, nil
}

// getBalance answers eth_getBalance for the scenario's addresses at any
// block from 37 to the head.
func (e *Emulator) getBalance(params json.RawMessage) (any, *Error) {
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil || len(args) < 1 {
		return nil, &Error{-32602, "missing value for required argument 0"}
	}
	var addr string
	if err := json.Unmarshal(args[0], &addr); err != nil {
		return nil, &Error{-32602, "invalid argument 0: " + err.Error()}
	}
	n, rerr := e.stateBlock(args, 1)
	if rerr != nil {
		return nil, rerr
	}
	b, ok := e.chain.Balance(addr, n)
	if !ok {
		return nil, &Error{-32000, fmt.Sprintf("erigonemu: the balance of %s is not known (not a scenario address)", addr)}
	}
	return "0x" + b.Text(16), nil
}

// balanceOfSelector is the ERC-20 balanceOf(address) selector.
const balanceOfSelector = "70a08231"

// call answers eth_call: the token's balanceOf(address) from its block on
// (the token reads slot = holder address), and "0x" for a call to an
// address that has no code at that block (an EOA, or a contract not yet
// created), as a node does. Other calls are not emulated.
func (e *Emulator) call(params json.RawMessage) (any, *Error) {
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil || len(args) < 1 {
		return nil, &Error{-32602, "missing value for required argument 0"}
	}
	var msg struct {
		To    *string `json:"to"`
		Data  *string `json:"data"`
		Input *string `json:"input"`
	}
	if err := json.Unmarshal(args[0], &msg); err != nil {
		return nil, &Error{-32602, "invalid argument 0: " + err.Error()}
	}
	n, rerr := e.stateBlock(args, 1)
	if rerr != nil {
		return nil, rerr
	}
	if msg.To == nil {
		return nil, &Error{-32000, "erigonemu: eth_call without to (a creation) is not emulated"}
	}
	to := strings.ToLower(*msg.To)
	data := ""
	switch {
	case msg.Input != nil:
		data = *msg.Input
	case msg.Data != nil:
		data = *msg.Data
	}
	data = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(data, "0x"), "0X"))
	born, isContract := e.chain.born[to]
	if e.chain.eoa[to] || isContract && n < born {
		return "0x", nil // no code there: the call returns nothing
	}
	if to != e.chain.token {
		return nil, &Error{-32000, fmt.Sprintf("erigonemu: eth_call to %s is not emulated", to)}
	}
	if len(data) != 8+64 || data[:8] != balanceOfSelector || strings.Trim(data[8:32], "0") != "" {
		return nil, &Error{-32000, fmt.Sprintf("erigonemu: token call 0x%.8s is not emulated (only balanceOf(address))", data)}
	}
	holder := "0x" + data[32:]
	b, ok := e.chain.TokenBalance(holder, n)
	if !ok {
		b = new(big.Int) // an address the scenario does not name never held the token
	}
	return fmt.Sprintf("0x%064x", b), nil
}

// blockReceipts answers eth_getBlockReceipts: the recorded receipts for
// blocks 37-48, [] for the empty blocks up to the head, null past it.
func (e *Emulator) blockReceipts(params json.RawMessage) (any, *Error) {
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil || len(args) < 1 {
		return nil, &Error{-32602, "missing value for required argument 0"}
	}
	n, rerr := e.blockRef(args[0], 0)
	if rerr != nil {
		return nil, rerr
	}
	if n > e.opts.Head {
		return nil, nil
	}
	if blk, ok := e.chain.blocks[n]; ok {
		return blk.rawRcpts, nil
	}
	return []json.RawMessage{}, nil
}
