package ethereum

import (
	"context"
	"encoding/json"

	"errors"
	"fmt"
	gojson "github.com/goccy/go-json"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/ethereum/go-ethereum/common"
)

// Raw part names of a chains.RawBlock from this adapter.
const (
	PartBlock    = "block"    // eth_getBlockByNumber(n, true)
	PartReceipts = "receipts" // JSON array of receipts in transaction order
	PartTraces   = "traces"   // one format byte ('d' callTracer, 'p' Parity) then the JSON array
)

const (
	traceFormatDebug  = 'd' // [{txHash, result: callFrame}], as debug_traceBlockByNumber answers
	traceFormatParity = 'p' // flat [parityTrace], as trace_block answers
)

// Trace methods, in order of preference.
const (
	MethodDebugTraceBlock  = "debug_traceBlockByNumber"
	MethodParityTraceBlock = "trace_block"
	MethodDebugTraceTx     = "debug_traceTransaction"
	MethodParityTraceTx    = "trace_transaction"
)

// Capabilities is what an endpoint was found to answer; it goes into an
// exhibit's provenance.
type Capabilities struct {
	ClientVersion string   `json:"client_version"`
	ChainID       uint64   `json:"chain_id"`
	BlockReceipts bool     `json:"block_receipts"`
	TraceMethods  []string `json:"trace_methods"` // every trace method that answered
}

// TraceMethod is the trace method the adapter will use, or "" for none.
func (c *Capabilities) TraceMethod() string {
	for _, m := range []string{MethodDebugTraceBlock, MethodParityTraceBlock, MethodDebugTraceTx, MethodParityTraceTx} {
		if c.has(m) {
			return m
		}
	}
	return ""
}

func (c *Capabilities) has(m string) bool {
	for _, x := range c.TraceMethods {
		if x == m {
			return true
		}
	}
	return false
}

// Options configure an Adapter.
type Options struct {
	RPC RPCOptions
	// NoInternal reads no call traces: internal transfers are then missing,
	// which the caller must state. Without it, a node with no trace API is
	// an error.
	NoInternal bool
	// TraceTimeout is passed to debug tracers (geth's default is 5s per
	// transaction, too short for heavy mainnet transactions).
	TraceTimeout string
}

// Adapter reads blocks and their value movements from one endpoint.
type Adapter struct {
	rpc  *Client
	caps Capabilities
	opts Options
}

// Dial makes a client for url and detects what the endpoint answers.
func Dial(ctx context.Context, url string, opts Options) (*Adapter, error) {
	if opts.TraceTimeout == "" {
		opts.TraceTimeout = "120s"
	}
	a := &Adapter{rpc: NewClient(url, opts.RPC), opts: opts}
	if err := a.detect(ctx); err != nil {
		return nil, err
	}
	if !opts.NoInternal && a.caps.TraceMethod() == "" {
		return nil, fmt.Errorf("%s: %w; use --no-internal to trace without internal transfers", a.rpc.Endpoint(), ErrNoTraceAPI)
	}
	return a, nil
}

// RPC is the adapter's JSON-RPC client.
func (a *Adapter) RPC() *Client { return a.rpc }

// Capabilities reports what the endpoint answers.
func (a *Adapter) Capabilities() Capabilities { return a.caps }

// Chain is chains.ETH.
func (a *Adapter) Chain() chains.Chain { return chains.ETH }

// Network names the network for the store: "eth:<chain id>".
func (a *Adapter) Network() string { return fmt.Sprintf("eth:%d", a.caps.ChainID) }

// Internal reports whether internal transfers are read.
func (a *Adapter) Internal() bool { return !a.opts.NoInternal }

func (a *Adapter) detect(ctx context.Context) error {
	var zero common.Hash
	probes := []BatchElem{
		{Method: "web3_clientVersion"},
		{Method: "eth_chainId"},
		{Method: "eth_getBlockReceipts", Params: []any{"latest"}},
		{Method: MethodDebugTraceBlock, Params: []any{"latest", a.tracerConfig()}},
		{Method: MethodParityTraceBlock, Params: []any{"latest"}},
		{Method: MethodDebugTraceTx, Params: []any{zero, a.tracerConfig()}},
		{Method: MethodParityTraceTx, Params: []any{zero}},
	}
	if err := a.rpc.Batch(ctx, probes); err != nil {
		// Some endpoints refuse batches; ask one at a time.
		if errors.Is(err, ErrNodeUnavailable) || ctx.Err() != nil {
			return err
		}
		for i := range probes {
			probes[i].Error = a.rpc.Call(ctx, &probes[i].Result, probes[i].Method, probes[i].Params...)
		}
	}
	if probes[1].Error != nil {
		return fmt.Errorf("%s: eth_chainId: %w", a.rpc.Endpoint(), probes[1].Error)
	}
	var chainID quantity
	if err := json.Unmarshal(probes[1].Result, &chainID); err != nil {
		return fmt.Errorf("%w: %s: eth_chainId: %v", ErrInconsistent, a.rpc.Endpoint(), err)
	}
	a.caps.ChainID = uint64(chainID)
	if probes[0].Error == nil {
		_ = json.Unmarshal(probes[0].Result, &a.caps.ClientVersion)
	}
	a.caps.BlockReceipts = probes[2].Error == nil
	for _, p := range probes[3:] {
		// Any answer but "no such method" means the method exists: an error
		// about the zero hash or a busy tracer still proves the namespace.
		if p.Error == nil || !methodMissing(p.Error) {
			a.caps.TraceMethods = append(a.caps.TraceMethods, p.Method)
		}
	}
	return nil
}

func (a *Adapter) tracerConfig() map[string]any {
	return map[string]any{"tracer": "callTracer", "timeout": a.opts.TraceTimeout}
}

// Head returns the number of the node's latest block.
func (a *Adapter) Head(ctx context.Context) (uint64, error) {
	var n quantity
	if err := a.rpc.Call(ctx, &n, "eth_blockNumber"); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// blockSlots are the positions of one block's calls in a round-one batch
// (-1: not asked).
type blockSlots struct{ block, receipts, traces int }

// roundOne lists the calls that are asked by block number: the block, its
// receipts and its traces where the endpoint has block-level methods.
func (a *Adapter) roundOne(nums []uint64) ([]BatchElem, []blockSlots) {
	traceMethod := ""
	if !a.opts.NoInternal {
		traceMethod = a.caps.TraceMethod()
	}
	var elems []BatchElem
	slots := make([]blockSlots, len(nums))
	for i, n := range nums {
		s := blockSlots{-1, -1, -1}
		s.block = len(elems)
		elems = append(elems, BatchElem{Method: "eth_getBlockByNumber", Params: []any{hexQuantity(n), true}})
		if a.caps.BlockReceipts {
			s.receipts = len(elems)
			elems = append(elems, BatchElem{Method: "eth_getBlockReceipts", Params: []any{hexQuantity(n)}})
		}
		switch traceMethod {
		case MethodDebugTraceBlock:
			s.traces = len(elems)
			elems = append(elems, BatchElem{Method: traceMethod, Params: []any{hexQuantity(n), a.tracerConfig()}})
		case MethodParityTraceBlock:
			s.traces = len(elems)
			elems = append(elems, BatchElem{Method: traceMethod, Params: []any{hexQuantity(n)}})
		}
		slots[i] = s
	}
	return elems, slots
}

// FetchRawDiscard sends the same block-level calls as FetchRaw and reads
// the answers without decoding them: the node's own cost for the data,
// the baseline of the index benchmark. It returns the bytes received.
func (a *Adapter) FetchRawDiscard(ctx context.Context, nums []uint64) (int64, error) {
	elems, _ := a.roundOne(nums)
	return a.rpc.SendDiscard(ctx, elems)
}

// FetchRaw fetches the blocks numbered nums with their receipts and traces,
// in as few batched requests as the endpoint allows.
func (a *Adapter) FetchRaw(ctx context.Context, nums []uint64) ([]chains.RawBlock, error) {
	out := make([]chains.RawBlock, len(nums))
	traceMethod := ""
	if !a.opts.NoInternal {
		traceMethod = a.caps.TraceMethod()
	}
	// Round one: everything that is asked for by block number.
	elems, slots := a.roundOne(nums)
	if err := a.rpc.Batch(ctx, elems); err != nil {
		return nil, err
	}
	// Round two: per-transaction receipts and traces where the endpoint
	// has no block-level method.
	var second []BatchElem
	type txSlots struct{ receipts, traces []int }
	perTx := make([]txSlots, len(nums))
	for i, n := range nums {
		s := slots[i]
		if err := elems[s.block].Error; err != nil {
			return nil, fmt.Errorf("%s: block %d: %w", a.rpc.Endpoint(), n, err)
		}
		blk := elems[s.block].Result
		if isNull(blk) {
			return nil, fmt.Errorf("%s: block %d: %w", a.rpc.Endpoint(), n, ErrBeyondHead)
		}
		out[i] = chains.RawBlock{Number: n, Parts: map[string][]byte{PartBlock: blk}}
		for _, part := range []struct {
			idx  int
			name string
			fmt  byte
		}{{s.receipts, PartReceipts, 0}, {s.traces, PartTraces, traceByte(traceMethod)}} {
			if part.idx < 0 {
				continue
			}
			e := elems[part.idx]
			if e.Error != nil {
				return nil, fmt.Errorf("%s: %s of block %d: %w", a.rpc.Endpoint(), e.Method, n, e.Error)
			}
			if isNull(e.Result) {
				return nil, fmt.Errorf("%s: %s of block %d: %w", a.rpc.Endpoint(), e.Method, n, ErrBeyondHead)
			}
			out[i].Parts[part.name] = withFormat(part.fmt, e.Result)
		}
		needReceipts := s.receipts < 0
		needTraces := traceMethod == MethodDebugTraceTx || traceMethod == MethodParityTraceTx
		if !needReceipts && !needTraces {
			continue
		}
		var hdr struct {
			Transactions []struct {
				Hash common.Hash `json:"hash"`
			} `json:"transactions"`
		}
		if err := json.Unmarshal(blk, &hdr); err != nil {
			return nil, fmt.Errorf("%w: %s: block %d: %v", ErrInconsistent, a.rpc.Endpoint(), n, err)
		}
		for _, tx := range hdr.Transactions {
			if needReceipts {
				perTx[i].receipts = append(perTx[i].receipts, len(second))
				second = append(second, BatchElem{Method: "eth_getTransactionReceipt", Params: []any{tx.Hash}})
			}
			if needTraces {
				perTx[i].traces = append(perTx[i].traces, len(second))
				params := []any{tx.Hash}
				if traceMethod == MethodDebugTraceTx {
					params = append(params, a.tracerConfig())
				}
				second = append(second, BatchElem{Method: traceMethod, Params: params})
			}
		}
		if needReceipts {
			out[i].Parts[PartReceipts] = []byte("[]")
		}
		if needTraces {
			out[i].Parts[PartTraces] = withFormat(traceByte(traceMethod), []byte("[]"))
		}
	}
	if len(second) == 0 {
		return out, nil
	}
	if err := a.rpc.Batch(ctx, second); err != nil {
		return nil, err
	}
	for i, n := range nums {
		if idx := perTx[i].receipts; idx != nil {
			parts, err := collect(second, idx, n, a.rpc.Endpoint())
			if err != nil {
				return nil, err
			}
			out[i].Parts[PartReceipts] = joinArray(parts)
		}
		if idx := perTx[i].traces; idx != nil {
			parts, err := collect(second, idx, n, a.rpc.Endpoint())
			if err != nil {
				return nil, err
			}
			if traceMethod == MethodDebugTraceTx {
				// Wrap each callFrame as a block-level element so one
				// decoder serves both.
				for j, p := range parts {
					var h struct{ Hash common.Hash }
					h.Hash = second[idx[j]].Params[0].(common.Hash)
					parts[j] = []byte(fmt.Sprintf(`{"txHash":%q,"result":%s}`, h.Hash.Hex(), p))
				}
				out[i].Parts[PartTraces] = withFormat(traceFormatDebug, joinArray(parts))
			} else {
				// trace_transaction answers are arrays; concatenate them.
				var flat []json.RawMessage
				for _, p := range parts {
					var arr []json.RawMessage
					if err := json.Unmarshal(p, &arr); err != nil {
						return nil, fmt.Errorf("%w: %s: trace_transaction in block %d: %v", ErrInconsistent, a.rpc.Endpoint(), n, err)
					}
					flat = append(flat, arr...)
				}
				b, _ := json.Marshal(flat)
				out[i].Parts[PartTraces] = withFormat(traceFormatParity, b)
			}
		}
	}
	return out, nil
}

func collect(elems []BatchElem, idx []int, block uint64, endpoint string) ([][]byte, error) {
	parts := make([][]byte, len(idx))
	for j, k := range idx {
		e := elems[k]
		if e.Error != nil {
			return nil, fmt.Errorf("%s: %s in block %d: %w", endpoint, e.Method, block, e.Error)
		}
		if isNull(e.Result) {
			return nil, fmt.Errorf("%w: %s: %s in block %d answered null", ErrInconsistent, endpoint, e.Method, block)
		}
		parts[j] = e.Result
	}
	return parts, nil
}

func traceByte(method string) byte {
	switch method {
	case MethodParityTraceBlock, MethodParityTraceTx:
		return traceFormatParity
	}
	return traceFormatDebug
}

func withFormat(f byte, b []byte) []byte {
	if f == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+1)
	return append(append(out, f), b...)
}

func joinArray(parts [][]byte) []byte {
	var sb strings.Builder
	sb.WriteByte('[')
	for i, p := range parts {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.Write(p)
	}
	sb.WriteByte(']')
	return []byte(sb.String())
}

func isNull(b []byte) bool { return len(b) == 0 || string(b) == "null" }

// unmarshal decodes the node's answers. goccy/go-json reads them in about
// half the CPU time of encoding/json (BenchmarkDecodeJSON measures both in
// one run), and decoding is most of what indexing costs on our side.
var unmarshal = gojson.Unmarshal

// Decode turns a fetched (or cached) raw block into the chain-neutral model.
// It needs no node.
func Decode(raw *chains.RawBlock) (*chains.BlockTransfers, error) {
	var in blockInput
	in.Block = new(rpcBlock)
	if err := unmarshal(raw.Parts[PartBlock], in.Block); err != nil {
		return nil, fmt.Errorf("%w: block %d: %v", ErrInconsistent, raw.Number, err)
	}
	if uint64(in.Block.Number) != raw.Number {
		return nil, fmt.Errorf("%w: asked for block %d, got %d", ErrInconsistent, raw.Number, in.Block.Number)
	}
	rc, ok := raw.Parts[PartReceipts]
	if !ok {
		return nil, fmt.Errorf("%w: block %d has no receipts", ErrInconsistent, raw.Number)
	}
	if err := unmarshal(rc, &in.Receipts); err != nil {
		return nil, fmt.Errorf("%w: receipts of block %d: %v", ErrInconsistent, raw.Number, err)
	}
	for i := range in.Receipts {
		if in.Receipts[i].BlockHash != (common.Hash{}) && in.Receipts[i].BlockHash != in.Block.Hash {
			return nil, fmt.Errorf("%w: receipts of block %d are from block %s, not %s (a reorganisation while fetching?)",
				ErrInconsistent, raw.Number, in.Receipts[i].BlockHash.Hex(), in.Block.Hash.Hex())
		}
	}
	if tr, ok := raw.Parts[PartTraces]; ok {
		traces, err := decodeTraces(tr, len(in.Block.Transactions))
		if err != nil {
			return nil, fmt.Errorf("%w: traces of block %d: %v", ErrInconsistent, raw.Number, err)
		}
		in.Traces = traces
	}
	return extract(&in)
}

// decodeTraces reads a stored traces part into per-transaction traces.
func decodeTraces(b []byte, txCount int) ([]TxTrace, error) {
	if len(b) == 0 {
		return nil, errors.New("empty traces")
	}
	switch b[0] {
	case traceFormatDebug:
		var arr []debugTxTrace
		if err := unmarshal(b[1:], &arr); err != nil {
			return nil, err
		}
		return debugTraces(arr)
	case traceFormatParity:
		var arr []parityTrace
		if err := unmarshal(b[1:], &arr); err != nil {
			return nil, err
		}
		return groupParity(arr, txCount)
	}
	return nil, fmt.Errorf("unknown trace format %q", b[0])
}

func debugTraces(arr []debugTxTrace) ([]TxTrace, error) {
	out := make([]TxTrace, len(arr))
	for i, t := range arr {
		if t.Error != "" {
			return nil, fmt.Errorf("transaction %d could not be traced: %s", i, t.Error)
		}
		if t.Result == nil {
			return nil, fmt.Errorf("transaction %d has no trace", i)
		}
		if t.TxHash != nil {
			out[i].TxHash = *t.TxHash
		}
		out[i].Frames = flattenCallFrame(t.Result)
	}
	return out, nil
}

// Decode is the package's Decode, as a method for the indexer's interface.
func (a *Adapter) Decode(raw *chains.RawBlock) (*chains.BlockTransfers, error) { return Decode(raw) }

// RawParts names the parts FetchRaw returns in this adapter's mode.
func (a *Adapter) RawParts() []string {
	if a.opts.NoInternal {
		return []string{PartBlock, PartReceipts}
	}
	return []string{PartBlock, PartReceipts, PartTraces}
}
