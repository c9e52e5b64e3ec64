// Package history finds the blocks in which an address appears, through a
// node's address-indexed APIs, so that the tracer fetches and decodes only
// those blocks instead of scanning a whole window.
//
// Three sources are offered, each answering a different question:
//
//   - trace_filter (Erigon, Nethermind, reth): blocks with a call frame whose
//     sender or recipient is the address (top-level or internal; calls,
//     creates and selfdestructs; reverted frames included). The node caps
//     the block range of one call (Erigon: 1000 blocks) and pages by frame
//     count; the range is split into chunks sent in JSON-RPC batches.
//   - ots (Otterscan's ots_searchTransactionsAfter, Erigon): the same set of
//     transactions, paged by whole blocks, with no range limit but at most
//     25 transactions a page and one page per round trip.
//   - logs (eth_getLogs, every node): blocks with an ERC-20/721 Transfer log
//     that names the address as sender (topic1) or recipient (topic2). Token
//     parties that never appear in a call frame (a recipient of a token
//     transfer) are found only here, so it complements either of the above.
//
// Both range-limited sources try the whole window once, learn the node's
// limit from its refusal ("query block range exceeds server limit, narrow
// your filter: 1000"), remember it, and ask the chunks in batches: a window
// of a million blocks costs a handful of HTTP requests.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// Source finds the blocks in which an address appears.
type Source interface {
	Name() string // "trace_filter", "ots", "logs"
	// Blocks returns, ascending and without repeats, the numbers of the blocks in [from, to]
	// in which addr is a party of any call frame (sender or recipient of a transaction or of an
	// internal call/create/selfdestruct, reverted or not) — for "logs": a party of an ERC-20/721
	// Transfer log (topic1 or topic2).
	Blocks(ctx context.Context, addr common.Address, from, to uint64) ([]uint64, error)
	// Requests is the number of HTTP requests made so far (for benchmarks).
	Requests() int64
}

// Source names, as Detect reports them.
const (
	NameTraceFilter = "trace_filter"
	NameOtterscan   = "ots"
	NameLogs        = "logs"
)

// TransferTopic is topic0 of ERC-20 and ERC-721 Transfer(from, to, value|id).
var TransferTopic = common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")

// Defaults.
const (
	DefaultPageSize    = 500  // trace_filter frames per call
	OtsMaxPageSize     = 25   // Erigon's --ots.search.max.pagesize default
	DefaultRangeLimit  = 1000 // when a refusal names no number
	MinOtterscanAPILvl = 8
)

// Options configure a source.
type Options struct {
	// PageSize is trace_filter's count (default 500). Otterscan uses it when
	// it is between 1 and 25, else 25, the most Erigon allows.
	PageSize int
	// RangeLimit is the most blocks one trace_filter or eth_getLogs call may
	// cover; 0 learns it from the node's first refusal.
	RangeLimit uint64
	Logger     *slog.Logger
}

func (o *Options) defaults() {
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// ErrRange is returned for a window whose from is past its to.
var ErrRange = errors.New("history: from is past to")

// rpc wraps the client and counts the HTTP requests made on a source's
// behalf (the client's count before and after each exchange; exact unless
// the client is used concurrently elsewhere).
type rpc struct {
	c        *ethereum.Client
	log      *slog.Logger
	requests atomic.Int64
	// maxBatch is the most calls per batch once the endpoint has refused a
	// batch: 0 while none was refused (the client's BatchSize), 1 for no
	// batches at all. Erigon refuses batches over --rpc.batch.limit (100
	// by default) as a whole.
	maxBatch atomic.Int64
}

// maxClientBatch is the most calls the client puts in one request.
const maxClientBatch = 1000

func (r *rpc) count(before int64) { r.requests.Add(r.c.Requests() - before) }

func (r *rpc) call(ctx context.Context, result any, method string, params ...any) error {
	defer r.count(r.c.Requests())
	return r.c.Call(ctx, result, method, params...)
}

// batch sends the calls in JSON-RPC batches of the client's BatchSize. When
// the endpoint refuses a batch, the batches are halved until it takes them
// (down to one call at a time), and that size is kept.
func (r *rpc) batch(ctx context.Context, elems []ethereum.BatchElem) error {
	defer r.count(r.c.Requests())
	for {
		size := int(r.maxBatch.Load())
		if size == 1 {
			return r.single(ctx, elems)
		}
		err := r.groups(ctx, elems, size)
		if err == nil || errors.Is(err, ethereum.ErrNodeUnavailable) || ctx.Err() != nil {
			return err
		}
		tried := size
		if tried == 0 {
			tried = min(len(elems), maxClientBatch)
		}
		next := max(1, tried/2)
		if r.maxBatch.CompareAndSwap(int64(size), int64(next)) {
			r.log.Warn("endpoint refused a JSON-RPC batch; sending smaller ones", "endpoint", r.c.Endpoint(), "calls", tried, "now", next, "err", err)
		}
		for i := range elems {
			elems[i].Result, elems[i].Error = nil, nil
		}
	}
}

// groups sends the calls in batches of at most size (0: the client's).
func (r *rpc) groups(ctx context.Context, elems []ethereum.BatchElem, size int) error {
	if size == 0 || len(elems) <= size {
		return r.c.Batch(ctx, elems)
	}
	n := (len(elems) + size - 1) / size
	errs := make(chan error, n)
	for i := 0; i < len(elems); i += size {
		part := elems[i:min(i+size, len(elems))]
		go func() { errs <- r.c.Batch(ctx, part) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && (first == nil || errors.Is(err, ethereum.ErrNodeUnavailable)) {
			first = err
		}
	}
	return first
}

func (r *rpc) single(ctx context.Context, elems []ethereum.BatchElem) error {
	const workers = 4
	next := atomic.Int64{}
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(elems) {
					errs <- nil
					return
				}
				e := &elems[i]
				var raw json.RawMessage
				err := r.c.Call(ctx, &raw, e.Method, e.Params...)
				var re *ethereum.RPCError
				switch {
				case err == nil:
					e.Result, e.Error = raw, nil
				case errors.As(err, &re):
					e.Result, e.Error = nil, err
				default:
					errs <- err
					return
				}
			}
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// head asks the node for its latest block number.
func (r *rpc) head(ctx context.Context) (uint64, error) {
	var q quantity
	if err := r.call(ctx, &q, "eth_blockNumber"); err != nil {
		return 0, fmt.Errorf("%s: eth_blockNumber: %w", r.c.Endpoint(), err)
	}
	return uint64(q), nil
}

// quantity and hexQuantity are the adapter's lenient JSON-RPC number.
type quantity = ethereum.Quantity

func hexQuantity(n uint64) string { return ethereum.HexQuantity(n) }

// refusal is how a node turned down a ranged query.
type refusal int

const (
	refusedOther      refusal = iota
	refusedRange              // the block range is over the node's limit
	refusedResults            // too many results: a narrower range may pass
	refusedBeyondHead         // toBlock past the head (eth_getLogs)
)

// classify reads a ranged query's error. For refusedRange, limit is the
// number the message names (Erigon: "... narrow your filter: 1000"), or 0.
func classify(err error) (kind refusal, limit uint64) {
	var re *ethereum.RPCError
	if !errors.As(err, &re) {
		return refusedOther, 0
	}
	m := strings.ToLower(re.Message)
	switch {
	case strings.Contains(m, "beyond current head"):
		return refusedBeyondHead, 0
	// geth and Infura: "query returned more than 10000 results"; Alchemy:
	// "log response size exceeded"; others: "too many results/logs".
	case strings.Contains(m, "more than") && strings.Contains(m, "result"),
		strings.Contains(m, "response size"),
		strings.Contains(m, "too many results"), strings.Contains(m, "too many logs"),
		strings.Contains(m, "results limit"):
		return refusedResults, 0
	case strings.Contains(m, "exceeds server limit"),
		strings.Contains(m, "range") && (strings.Contains(m, "limit") || strings.Contains(m, "exceed") ||
			strings.Contains(m, "too large") || strings.Contains(m, "too wide") || strings.Contains(m, "too big") ||
			strings.Contains(m, "maximum") || strings.Contains(m, "max ")):
		return refusedRange, lastNumber(re.Message)
	}
	return refusedOther, 0
}

// lastNumber is the last decimal number in s ("1000", "10,000", "10k"), or
// 0. Hex words (a suggested range "[0x1, 0x2]") are skipped.
func lastNumber(s string) uint64 {
	var out uint64
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && (isWordByte(s[j]) || s[j] == ',' && j+1 < len(s) && j > i && isDigit(s[j-1]) && isDigit(s[j+1])) {
			j++
		}
		word := strings.ReplaceAll(s[i:j], ",", "")
		mul := uint64(1)
		if n := len(word); n > 1 && (word[n-1] == 'k' || word[n-1] == 'K') {
			word, mul = word[:n-1], 1000
		}
		if v, err := strconv.ParseUint(word, 10, 64); err == nil {
			out = v * mul
		}
		i = j
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// sortedBlocks returns the set's members ascending.
func sortedBlocks(set map[uint64]struct{}) []uint64 {
	out := make([]uint64, 0, len(set))
	for b := range set {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
