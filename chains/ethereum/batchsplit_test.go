package ethereum

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// stdSplit is encoding/json's reading of the same answer.
func stdSplit(b []byte) ([]map[string]json.RawMessage, bool) {
	var arr []map[string]json.RawMessage
	if err := json.Unmarshal(b, &arr); err == nil {
		return arr, true
	}
	var one map[string]json.RawMessage
	if err := json.Unmarshal(b, &one); err != nil {
		return nil, false
	}
	return []map[string]json.RawMessage{one}, true
}

func checkSplit(t *testing.T, b []byte) {
	want, ok := stdSplit(b)
	if !ok {
		return // not an answer encoding/json reads; the splitter may refuse it or not
	}
	got, _, err := splitResponses(b)
	if err != nil {
		// The splitter only refuses what encoding/json refuses, except
		// error members that are not error objects.
		for _, m := range want {
			var e RPCError
			if v, ok := m["error"]; ok && string(v) != "null" && json.Unmarshal(v, &e) != nil {
				return
			}
		}
		t.Fatalf("splitter refused a valid answer %q: %v", b, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d elements, encoding/json finds %d in %q", len(got), len(want), b)
	}
	for i, m := range want {
		// encoding/json keeps the last of duplicate keys; so does the splitter.
		if !bytes.Equal(got[i].ID, m["id"]) || !bytes.Equal(got[i].Result, m["result"]) {
			t.Fatalf("element %d: id %q result %q, encoding/json says id %q result %q", i, got[i].ID, got[i].Result, m["id"], m["result"])
		}
		if (got[i].Error != nil) != (m["error"] != nil && string(m["error"]) != "null") {
			t.Fatalf("element %d: error %v, encoding/json says %q", i, got[i].Error, m["error"])
		}
	}
}

func TestSplitResponsesAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`[]`, `{"jsonrpc":"2.0","id":1,"result":null}`,
		`[{"jsonrpc":"2.0","id":1,"result":{"a":[1,2,{"b":"}]\"["}]}},{"id":2,"error":{"code":-32601,"message":"m"}}]`,
		` [ { "id" : "7" , "result" : "0x1" } ] `,
		`[{"id":1,"result":true},{"id":2,"result":-1.5e3}]`,
		`{"id":null,"error":{"code":-32600,"message":"batch too large"}}`,
	} {
		checkSplit(t, []byte(s))
	}
	// Real answers recorded from nodes.
	files, _ := filepath.Glob("../../../shared/fixtures/ethereum-etl/tests/resources/*/*/web3_response.*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkSplit(t, b)
	}
	for _, bad := range []string{``, `x`, `[{"id":1,"result":"unterminated}]`, `[{"id":1,"result":[1,2}`, `[{"id":1} {"id":2}]`, `{"id":1}x`} {
		if _, _, err := splitResponses([]byte(bad)); err == nil {
			t.Errorf("splitter accepted %q", bad)
		}
	}
}

func FuzzSplitResponses(f *testing.F) {
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"result":{"a":"\"}"}},{"id":2,"error":{"code":1,"message":"x"}}]`))
	f.Add([]byte(`{"id":1,"result":[{"x":"]"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		splitResponses(b) // must not panic
		checkSplit(t, b)
	})
}
