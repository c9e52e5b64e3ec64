package rpcreplay

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fixtures = "../../../shared/fixtures"

func needDir(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("fixtures not available (%v): these tests replay ../shared/fixtures beside the repository", err)
	}
}

func post(t *testing.T, url, body string) []byte {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %s: %s", res.Status, b)
	}
	return b
}

type resp struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *Error          `json:"error"`
}

func one(t *testing.T, b []byte) resp {
	t.Helper()
	var r resp
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	if r.JSONRPC != "2.0" {
		t.Errorf("answer %s: jsonrpc %q", b, r.JSONRPC)
	}
	return r
}

// sameJSON compares two JSON texts by value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func TestServerSingleAndErrors(t *testing.T) {
	s := New(t)
	s.Handle("eth_chainId", nil, json.RawMessage(`"0x1"`))
	s.Handle("eth_getBlockByNumber", []any{"0x10", true}, json.RawMessage(`{"number":"0x10"}`))
	s.Handle("eth_getBlockByNumber", []any{"0x11", true}, nil)
	s.HandleError("eth_getBlockByNumber", []any{"0x12", true}, -32602, "invalid argument 0")

	tests := []struct {
		name, body string
		id         string
		result     string
		code       int
		msgHas     []string
	}{
		{"no params field", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`, `1`, `"0x1"`, 0, nil},
		{"empty params", `{"jsonrpc":"2.0","id":"abc","method":"eth_chainId","params":[]}`, `"abc"`, `"0x1"`, 0, nil},
		{"params", `{"jsonrpc":"2.0","id":7,"method":"eth_getBlockByNumber","params":["0x10",true]}`, `7`, `{"number":"0x10"}`, 0, nil},
		{"hex case ignored", `{"jsonrpc":"2.0","id":7,"method":"eth_getBlockByNumber","params":["0X10",true]}`, `7`, `{"number":"0x10"}`, 0, nil},
		{"null result", `{"jsonrpc":"2.0","id":8,"method":"eth_getBlockByNumber","params":["0x11",true]}`, `8`, `null`, 0, nil},
		{"recorded error", `{"jsonrpc":"2.0","id":9,"method":"eth_getBlockByNumber","params":["0x12",true]}`, `9`, ``, -32602, []string{"invalid argument 0"}},
		{"unknown params", `{"jsonrpc":"2.0","id":10,"method":"eth_getBlockByNumber","params":["0x13",false]}`, `10`, ``, -32000, []string{"eth_getBlockByNumber", `["0x13",false]`}},
		{"unknown method", `{"jsonrpc":"2.0","id":11,"method":"trace_block","params":["0x1"]}`, `11`, ``, -32601, []string{"the method trace_block does not exist/is not available"}},
		{"parse error", `{"jsonrpc":`, `null`, ``, -32700, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, post(t, s.URL(), tc.body))
			if string(r.ID) != tc.id {
				t.Errorf("id %s, want %s", r.ID, tc.id)
			}
			if tc.code == 0 {
				if r.Error != nil {
					t.Fatalf("error %v", r.Error)
				}
				if !sameJSON(r.Result, []byte(tc.result)) {
					t.Errorf("result %s, want %s", r.Result, tc.result)
				}
				return
			}
			if r.Error == nil || r.Error.Code != tc.code {
				t.Fatalf("got %+v, want error code %d", r, tc.code)
			}
			for _, h := range tc.msgHas {
				if !strings.Contains(r.Error.Message, h) {
					t.Errorf("message %q does not contain %q", r.Error.Message, h)
				}
			}
		})
	}
	// Every call with a method counts, answered or not; the parse error
	// has none.
	if got, want := s.Calls(), len(tests)-1; got != want {
		t.Errorf("Calls() = %d, want %d", got, want)
	}
	if got := s.CallsTo("eth_getBlockByNumber"); got != 5 {
		t.Errorf("CallsTo(eth_getBlockByNumber) = %d, want 5", got)
	}
	if u := s.Unmatched(); len(u) != 1 || !strings.HasPrefix(u[0], "eth_getBlockByNumber ") {
		t.Errorf("Unmatched() = %q", u)
	}
}

func TestServerBatch(t *testing.T) {
	s := New(t)
	s.Handle("eth_chainId", []any{}, json.RawMessage(`"0x539"`))
	s.Handle("eth_blockNumber", []any{}, json.RawMessage(`"0x52"`))
	s.Handle("trace_block", []any{"0x1"}, json.RawMessage(`[]`))
	body := `[
	 {"jsonrpc":"2.0","id":30,"method":"eth_blockNumber","params":[]},
	 {"jsonrpc":"2.0","id":"x","method":"nope_nope","params":[]},
	 {"jsonrpc":"2.0","method":"eth_chainId","params":[]},
	 {"jsonrpc":"2.0","id":31,"method":"eth_chainId"},
	 {"jsonrpc":"2.0","id":32,"method":"trace_block","params":["0x1"]}
	]`
	var got []resp
	if err := json.Unmarshal(post(t, s.URL(), body), &got); err != nil {
		t.Fatal(err)
	}
	// The notification (no id) gets no answer; the others answer in order.
	want := []struct {
		id, result string
		code       int
	}{{`30`, `"0x52"`, 0}, {`"x"`, ``, -32601}, {`31`, `"0x539"`, 0}, {`32`, `[]`, 0}}
	if len(got) != len(want) {
		t.Fatalf("%d answers, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if string(got[i].ID) != w.id {
			t.Errorf("answer %d: id %s, want %s", i, got[i].ID, w.id)
		}
		if w.code != 0 {
			if got[i].Error == nil || got[i].Error.Code != w.code {
				t.Errorf("answer %d: %+v, want code %d", i, got[i], w.code)
			}
			continue
		}
		if got[i].Error != nil || !sameJSON(got[i].Result, []byte(w.result)) {
			t.Errorf("answer %d: %+v, want %s", i, got[i], w.result)
		}
	}
	if s.Calls() != 4 || s.Requests() != 1 {
		t.Errorf("Calls %d Requests %d, want 4 (the notification is not answered) and 1", s.Calls(), s.Requests())
	}

	// A batch of one is still answered with an array.
	b := post(t, s.URL(), `[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}]`)
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		t.Errorf("batch of one answered %s", b)
	}
	// An empty batch is an invalid request.
	if r := one(t, post(t, s.URL(), `[]`)); r.Error == nil || r.Error.Code != CodeInvalidRequest {
		t.Errorf("empty batch answered %+v", r)
	}

	// Disable emulates a node without the namespace.
	s.Disable("trace_block")
	r := one(t, post(t, s.URL(), `{"jsonrpc":"2.0","id":1,"method":"trace_block","params":["0x1"]}`))
	if r.Error == nil || r.Error.Code != -32601 || r.Error.Message != "the method trace_block does not exist/is not available" {
		t.Errorf("disabled method answered %+v", r)
	}
	s.Enable("trace_block")
	if r := one(t, post(t, s.URL(), `{"jsonrpc":"2.0","id":1,"method":"trace_block","params":["0x1"]}`)); r.Error != nil {
		t.Errorf("re-enabled method answered %+v", r.Error)
	}
}

func TestKeyTraceOptions(t *testing.T) {
	must := func(m string, p any) string {
		k, err := Key(m, p)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rec := must("debug_traceBlockByNumber", []any{"0xf45bf", map[string]any{"tracer": "calltracer"}})
	for _, p := range []any{
		[]any{"0xf45bf", map[string]any{"tracer": "callTracer"}},
		[]any{"0xF45BF", map[string]any{"tracer": "callTracer", "timeout": "120s"}},
		json.RawMessage(`["0xf45bf", {"timeout":"5s","reexec":128,"tracer":"callTracer"}]`),
	} {
		if k := must("debug_traceBlockByNumber", p); k != rec {
			t.Errorf("%v: key %q, want %q", p, k, rec)
		}
	}
	for _, p := range []any{
		[]any{"0xf45bf", map[string]any{"tracer": "prestateTracer"}},
		[]any{"0xf45bf", map[string]any{"tracer": "callTracer", "tracerConfig": map[string]any{"withLog": true}}},
		[]any{"0xf45bf"},
	} {
		if k := must("debug_traceBlockByNumber", p); k == rec {
			t.Errorf("%v must not meet the plain callTracer recording", p)
		}
	}
	// Outside debug_trace*, a timeout key is a real param.
	if must("eth_call", []any{map[string]any{"to": "0x1", "timeout": "1"}}) == must("eth_call", []any{map[string]any{"to": "0x1"}}) {
		t.Error("eth_call keys must keep every object key")
	}
	if must("eth_chainId", nil) != must("eth_chainId", []any{}) || must("eth_chainId", json.RawMessage("null")) != must("eth_chainId", nil) {
		t.Error("absent, null and empty params must meet")
	}
}

func TestParseETLName(t *testing.T) {
	tests := []struct {
		name   string
		method string
		params string
	}{
		{"web3_response.eth_getBlockByNumber_0xb872_true.json", "eth_getBlockByNumber", `["0xb872",true]`},
		{"web3_response.eth_getBlockByNumber_latest_false.json", "eth_getBlockByNumber", `["latest",false]`},
		{"web3_response.debug_traceBlockByNumber_0xf45bf_tracer_calltracer.json", "debug_traceBlockByNumber", `["0xf45bf",{"tracer":"calltracer"}]`},
		{"web3_response.trace_block_0xf45bf.json", "trace_block", `["0xf45bf"]`},
		{"web3_response.eth_getTransactionReceipt_0x04cbcb236043d8fb7839e07bbc7f5eed692fb2ca55d897f1101eac3e3ad4fab8.json", "eth_getTransactionReceipt", `["0x04cbcb236043d8fb7839e07bbc7f5eed692fb2ca55d897f1101eac3e3ad4fab8"]`},
		{"web3_response.eth_chainId_.json", "eth_chainId", `[]`},
		{"web3_response.eth_getFilterLogs_0x0.json", "eth_getFilterLogs", `["0x0"]`},
		{"web3_response.eth_newFilter_fromBlock_0x76250_toBlock_0x76250_topics_0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef.json", "eth_newFilter",
			`[{"fromBlock":"0x76250","toBlock":"0x76250","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"]}]`},
		{"web3_response.eth_call_data_0x95d89b41_to_0xdbdacfc9eb9d42559ac1efbdb40460c728139e6a_latest.json", "eth_call",
			`[{"data":"0x95d89b41","to":"0xdbdacfc9eb9d42559ac1efbdb40460c728139e6a"},"latest"]`},
		{"web3_response.eth_getCode_0x06012c8cf97bead5deae237070f9587f8e7a266d_latest.json", "eth_getCode", `["0x06012c8cf97bead5deae237070f9587f8e7a266d","latest"]`},
		{"web3_response.eth_getLogs_address_0xab_topics_0x01_none_0x02.json", "eth_getLogs", `[{"address":"0xab","topics":["0x01",null,"0x02"]}]`},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			m, p, err := ParseETLName(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(p)
			if m != tc.method || !sameJSON(got, []byte(tc.params)) {
				t.Errorf("%s: got %s %s, want %s %s", tc.name, m, got, tc.method, tc.params)
			}
		})
	}
	for _, bad := range []string{"geth_traces.json", "web3_response.json", "web3_response.eth.json", "web3_response.eth_call_to.json"} {
		if _, _, err := ParseETLName(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestLoadEthereumETL serves every recording of the ethereum-etl fixtures and
// asks for each the way a client spells the call, not the way the file
// name does.
func TestLoadEthereumETL(t *testing.T) {
	root := filepath.Join(fixtures, "ethereum-etl/tests/resources")
	needDir(t, root)
	// A sample of calls as chaintrace (or any client) sends them.
	calls := []struct {
		dir    string
		file   string
		method string
		params string
	}{
		{"test_extract_geth_traces_job/block_with_error", "web3_response.debug_traceBlockByNumber_0xf45bf_tracer_calltracer.json",
			"debug_traceBlockByNumber", `["0xf45bf",{"tracer":"callTracer","timeout":"120s"}]`},
		{"test_export_traces_job/block_with_error", "web3_response.trace_block_0xf45bf.json", "trace_block", `["0xf45bf"]`},
		{"test_export_blocks_job/blocks_with_transactions", "web3_response.eth_getBlockByNumber_0xb872_true.json", "eth_getBlockByNumber", `["0xb872",true]`},
		{"test_stream/blocks_1755634_1755635", "web3_response.eth_getTransactionReceipt_0x2e3dcd051a91d3a694f6b8de2ac4b5fe7acdba55f58bcf8471ff00d4a430074d.json",
			"eth_getTransactionReceipt", `["0x2e3dcd051a91d3a694f6b8de2ac4b5fe7acdba55f58bcf8471ff00d4a430074d"]`},
		{"test_stream/blocks_2112234_2112234", "web3_response.eth_chainId_.json", "eth_chainId", `[]`},
		{"test_stream/blocks_2112234_2112234", "web3_response.eth_call_data_0x95d89b41_to_0xdbdacfc9eb9d42559ac1efbdb40460c728139e6a_latest.json",
			"eth_call", `[{"to":"0xDbDacfc9eB9D42559AC1EFbDb40460c728139E6a","data":"0x95d89b41"},"latest"]`},
		{"test_export_token_transfers_job/block_with_transfers", "web3_response.eth_newFilter_fromBlock_0x76250_toBlock_0x76250_topics_0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef.json",
			"eth_newFilter", `[{"fromBlock":"0x76250","toBlock":"0x76250","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"]}]`},
		{"test_export_token_transfers_job/block_with_transfers", "web3_response.eth_getFilterLogs_0x0.json", "eth_getFilterLogs", `["0x0"]`},
	}
	for _, c := range calls {
		t.Run(c.method+"/"+filepath.Base(c.dir), func(t *testing.T) {
			s := New(t)
			n, err := s.LoadEthereumETL(filepath.Join(root, c.dir))
			if err != nil || n == 0 {
				t.Fatalf("loaded %d: %v", n, err)
			}
			raw, err := os.ReadFile(filepath.Join(root, c.dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			var env struct{ Result json.RawMessage }
			if err := json.Unmarshal(raw, &env); err != nil {
				t.Fatal(err)
			}
			r := one(t, post(t, s.URL(), `{"jsonrpc":"2.0","id":99,"method":"`+c.method+`","params":`+c.params+`}`))
			if r.Error != nil {
				t.Fatalf("error %v", r.Error)
			}
			if string(r.ID) != "99" {
				t.Errorf("id %s, want the incoming 99", r.ID)
			}
			if !sameJSON(r.Result, env.Result) {
				t.Errorf("answer differs from %s", c.file)
			}
		})
	}
	// Every recording in the tree loads: the names all parse.
	t.Run("all", func(t *testing.T) {
		s := New(t)
		total := 0
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			n, err := s.LoadEthereumETL(p)
			total += n
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if total < 20 {
			t.Errorf("only %d recordings loaded", total)
		}
	})
}

// TestLoadErigonDev replays every erigon-dev request byte for byte and
// expects the recorded response.
func TestLoadErigonDev(t *testing.T) {
	dir := filepath.Join(fixtures, "erigon-dev")
	needDir(t, dir)
	idx, err := ReadErigonIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := New(t)
	if _, err := first.LoadErigonDev(dir, nil); err != nil {
		t.Fatal(err)
	}
	// Files that repeat an earlier file's call are shadowed; each is checked
	// on a server loaded with it alone.
	owner := map[string]string{}
	shadowed := map[string]bool{}
	for _, e := range idx {
		rec, err := ReadErigonRecording(filepath.Join(dir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		calls, err := rec.Calls()
		if err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		for _, c := range calls {
			k, err := Key(c.Method, c.Params)
			if err != nil {
				t.Fatal(err)
			}
			if o, ok := owner[k]; ok && o != e.File {
				shadowed[e.File] = true
			} else {
				owner[k] = e.File
			}
		}
	}
	if len(shadowed) == 0 {
		t.Fatal("expected the later recordings (.late, .long_chain) to repeat calls")
	}
	for _, e := range idx {
		t.Run(e.File, func(t *testing.T) {
			s := first
			if shadowed[e.File] {
				s = New(t)
				if n, err := s.LoadErigonDev(dir, func(x ErigonEntry) bool { return x.File == e.File }); err != nil || n == 0 {
					t.Fatalf("loaded %d: %v", n, err)
				}
			}
			rec, err := ReadErigonRecording(filepath.Join(dir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			got := post(t, s.URL(), string(rec.Request))
			if !sameJSON(got, rec.Response) {
				t.Errorf("request %s\nanswered %s\nrecorded %s", compact(rec.Request), got, compact(rec.Response))
			}
		})
	}
}

// TestReadErigonCall: a one-call recording gives its call; the batch
// recording (three calls) is refused by name.
func TestReadErigonCall(t *testing.T) {
	dir := filepath.Join(fixtures, "erigon-dev")
	needDir(t, dir)
	c, err := ReadErigonCall(filepath.Join(dir, "eth_getBlockByNumber.full.block45.json"))
	if err != nil || c.Method != "eth_getBlockByNumber" {
		t.Fatalf("one-call recording: %+v, %v", c, err)
	}
	if _, err := ReadErigonCall(filepath.Join(dir, "batch.eth_chainId+eth_blockNumber+unknown.json")); err == nil || !strings.Contains(err.Error(), "want one call, got 3") {
		t.Fatalf("batch recording: %v", err)
	}
}
