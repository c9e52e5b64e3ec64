package tracefilterproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/chaintrace/chaintrace/internal/erigonemu"
	"github.com/chaintrace/chaintrace/internal/rpcreplay"
)

// The erigon-dev fixtures: a real Erigon node's answers, among them the
// callTracer output, the full blocks and trace_block of blocks 37-48, and 44
// trace_filter calls. They check the conversion and the filter against what
// Erigon itself answered.

const (
	recordedHead     = 0x52  // eth_blockNumber when the fixtures were recorded
	recordedLateHead = 0x3fc // when the range-limit files were recorded
	firstRecorded    = 37
	lastRecorded     = 48
)

func fixturesDir(tb testing.TB) string { return erigonemu.Dir(tb) }

func recorded(t *testing.T, dir, file string) rpcreplay.RecordedCall {
	t.Helper()
	c, err := rpcreplay.ReadErigonCall(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func canonical(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %.200s: %v", b, err)
	}
	return v
}

// recordedBlock is block n as the fixtures hold it: the full block and the
// callTracer output.
func recordedBlock(t *testing.T, dir string, n int) (block, traces json.RawMessage) {
	t.Helper()
	b := recorded(t, dir, fmt.Sprintf("eth_getBlockByNumber.full.block%d.json", n))
	tr := recorded(t, dir, fmt.Sprintf("debug_traceBlockByNumber.callTracer.block%d.json", n))
	return b.Result, tr.Result
}

// TestConvertsRecordedBlocks: every block of the recorded scenario, made from
// Erigon's own callTracer output, equals Erigon's trace_block of it, field
// by field, gas included: calls, a delegatecall proxy, reverted frames
// (error on the root of the reverted subtree only), a failed transaction,
// creations top-level and internal, and a selfdestruct.
func TestConvertsRecordedBlocks(t *testing.T) {
	dir := fixturesDir(t)
	frames := 0
	kinds := map[string]int{}
	for n := firstRecorded; n <= lastRecorded; n++ {
		t.Run(fmt.Sprintf("block%d", n), func(t *testing.T) {
			rawBlock, rawTraces := recordedBlock(t, dir, n)
			var blk rpcBlock
			var traces []ctTx
			if err := json.Unmarshal(rawBlock, &blk); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(rawTraces, &traces); err != nil {
				t.Fatal(err)
			}
			d, err := convertBlock(&blk, traces)
			if err != nil {
				t.Fatal(err)
			}
			want := recorded(t, dir, fmt.Sprintf("trace_block.block%d.json", n))
			var wantFrames []json.RawMessage
			if err := json.Unmarshal(want.Result, &wantFrames); err != nil {
				t.Fatal(err)
			}
			if len(d.frames) != len(wantFrames) {
				t.Fatalf("%d frames, Erigon has %d", len(d.frames), len(wantFrames))
			}
			for i, f := range d.frames {
				if !reflect.DeepEqual(canonical(t, f.raw), canonical(t, wantFrames[i])) {
					t.Errorf("frame %d differs:\n got: %s\nwant: %s", i, f.raw, wantFrames[i])
				}
				var k struct {
					Type   string `json:"type"`
					Error  string `json:"error"`
					Action struct {
						CallType string `json:"callType"`
					} `json:"action"`
				}
				json.Unmarshal(f.raw, &k)
				kinds[k.Type+"/"+k.Action.CallType+"/"+k.Error]++
			}
			frames += len(d.frames)
		})
	}
	t.Logf("%d frames compared; kinds %v", frames, kinds)
	for _, k := range []string{"call/call/", "call/call/Reverted", "call/delegatecall/", "create//", "suicide//"} {
		if kinds[k] == 0 && !t.Failed() {
			t.Errorf("the recordings have no frame of kind %s: the test does not cover it", k)
		}
	}
}

// recordedNode is a target that answers as the recorded node would:
// eth_blockNumber with the given head, and eth_getBlockByNumber(n, true) and
// debug_traceBlockByNumber callTracer from the recordings for blocks 37-48,
// empty blocks up to the head (the dev chain had no transactions outside
// the scenario) and null / an error past it. It answers nothing else.
type recordedNode struct {
	srv     *httptest.Server
	mu      sync.Mutex
	methods map[string]int
}

func (rn *recordedNode) calls(method string) int {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.methods[method]
}

func newRecordedNode(t *testing.T, dir string, head uint64) *recordedNode {
	t.Helper()
	blocks := map[uint64][2]json.RawMessage{}
	for n := firstRecorded; n <= lastRecorded; n++ {
		b, tr := recordedBlock(t, dir, n)
		blocks[uint64(n)] = [2]json.RawMessage{b, tr}
	}
	rn := &recordedNode{methods: map[string]int{}}
	answer := func(q request) response {
		rn.mu.Lock()
		rn.methods[q.Method]++
		rn.mu.Unlock()
		var args []json.RawMessage
		json.Unmarshal(q.Params, &args)
		num := func() uint64 {
			var s string
			json.Unmarshal(args[0], &s)
			n, err := parseQuantity(s)
			if err != nil {
				t.Errorf("%s: bad block %s", q.Method, args[0])
			}
			return n
		}
		a := response{JSONRPC: "2.0", ID: q.ID}
		switch q.Method {
		case "eth_blockNumber":
			a.Result = json.RawMessage(fmt.Sprintf("%q", hexNumber(head)))
		case "eth_getBlockByNumber":
			n := num()
			switch rb, ok := blocks[n]; {
			case ok:
				a.Result = rb[0]
			case n <= head:
				a.Result = json.RawMessage(fmt.Sprintf(`{"number":%q,"hash":"0x%064x","transactions":[]}`, hexNumber(n), n))
			default:
				a.Result = json.RawMessage("null")
			}
		case "debug_traceBlockByNumber":
			n := num()
			if !strings.Contains(string(args[1]), `"callTracer"`) {
				t.Errorf("debug_traceBlockByNumber with %s", args[1])
			}
			switch rb, ok := blocks[n]; {
			case ok:
				a.Result = rb[1]
			case n <= head:
				a.Result = json.RawMessage("[]")
			default:
				a.Error = &rpcError{-32000, fmt.Sprintf("block #%d not found", n)}
			}
		default:
			a.Error = &rpcError{-32601, fmt.Sprintf("the method %s does not exist/is not available", q.Method)}
		}
		return a
	}
	rn.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		body = bytes.TrimSpace(body)
		var out any
		if body[0] == '[' {
			var qs []request
			json.Unmarshal(body, &qs)
			as := make([]response, len(qs))
			for i, q := range qs {
				as[i] = answer(q)
			}
			out = as
		} else {
			var q request
			json.Unmarshal(body, &q)
			out = answer(q)
		}
		b, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(rn.srv.Close)
	return rn
}

// lateFile reports whether a recording was made after the chain had passed
// 1000 blocks (the README's range-limit files).
func lateFile(name string) bool {
	for _, s := range []string{".long_chain.", ".range_too_large.", ".range_1000_ok."} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// TestReproducesRecordedTraceFilter sends every recorded trace_filter call
// (and the eth_getLogs calls Erigon refused for their range) through a
// proxy in front of the recorded node and wants Erigon's answer: the same
// frames in the same order, or the same error code and message. That covers
// from/to filters, union and intersection, several addresses, every frame
// kind, after/count paging, a hex count, block tags, a missing range, a
// toBlock past the head, fromBlock > toBlock and the range limit.
func TestReproducesRecordedTraceFilter(t *testing.T) {
	dir := fixturesDir(t)
	idx, err := rpcreplay.ReadErigonIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[uint64]*recordedNode{}
	proxies := map[uint64]*Proxy{}
	checked := 0
	parent := t
	for _, e := range idx {
		isLogsRange := e.Method == "eth_getLogs" && lateFile(e.File)
		if e.Method != "trace_filter" && !isLogsRange {
			continue
		}
		t.Run(e.File, func(t *testing.T) {
			call := recorded(t, dir, e.File)
			head := uint64(recordedHead)
			if lateFile(e.File) {
				head = recordedLateHead
			}
			p := proxies[head]
			if p == nil {
				nodes[head] = newRecordedNode(parent, dir, head)
				p = New(nodes[head].srv.URL, Options{})
				parent.Cleanup(p.Close)
				proxies[head] = p
			}
			body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": call.ID, "method": call.Method, "params": call.Params})
			res, err := http.Post(p.URL(), "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var got response
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if string(got.ID) != string(call.ID) {
				t.Errorf("id %s, sent %s", got.ID, call.ID)
			}
			switch {
			case call.Error != nil && got.Error == nil:
				t.Fatalf("Erigon answered error %d %q, the proxy a result %.300s", call.Error.Code, call.Error.Message, got.Result)
			case call.Error == nil && got.Error != nil:
				t.Fatalf("Erigon answered a result, the proxy error %d %q", got.Error.Code, got.Error.Message)
			case call.Error != nil:
				if call.Error.Code != got.Error.Code || call.Error.Message != got.Error.Message {
					t.Fatalf("error: Erigon %d %q, proxy %d %q", call.Error.Code, call.Error.Message, got.Error.Code, got.Error.Message)
				}
			default:
				if !reflect.DeepEqual(canonical(t, got.Result), canonical(t, call.Result)) {
					t.Fatalf("result differs:\nErigon: %.800s\n proxy: %.800s", call.Result, got.Result)
				}
			}
			checked++
		})
	}
	if checked < 44 && !t.Failed() {
		t.Errorf("only %d recordings checked", checked)
	}
	for head, n := range nodes {
		if c := n.calls("eth_getLogs"); c != 0 {
			t.Errorf("head %d: %d eth_getLogs over the limit reached the node", head, c)
		}
	}
}
