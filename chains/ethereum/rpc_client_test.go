package ethereum

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoNode answers every call with its own method name, failing the first
// `fail` HTTP requests with the given status.
func echoNode(t *testing.T, fail int32, status int, retryAfter string) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	t.Helper()
	var reqs, batches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := reqs.Add(1)
		if n <= fail {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			http.Error(w, "busy", status)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var batch []rpcRequest
		single := false
		if err := json.Unmarshal(body, &batch); err != nil {
			var one rpcRequest
			if err := json.Unmarshal(body, &one); err != nil {
				t.Errorf("bad request body %s", body)
				return
			}
			batch, single = []rpcRequest{one}, true
		} else {
			batches.Add(1)
		}
		out := make([]map[string]any, len(batch))
		for i, q := range batch {
			out[i] = map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": q.Method}
			if q.Method == "big" && !single {
				out[i] = map[string]any{"jsonrpc": "2.0", "id": q.ID, "error": map[string]any{"code": -32003, "message": "response too large"}}
			}
			if q.Method == "nope" {
				out[i] = map[string]any{"jsonrpc": "2.0", "id": q.ID, "error": map[string]any{"code": -32601, "message": "the method nope does not exist/is not available"}}
			}
		}
		// Answer out of order: ids, not positions, must match answers.
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		if single {
			_ = json.NewEncoder(w).Encode(out[0])
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs, &batches
}

func TestClientBatchSplitsAndMatchesIDs(t *testing.T) {
	srv, reqs, batches := echoNode(t, 0, 0, "")
	c := NewClient(srv.URL, RPCOptions{BatchSize: 3, Concurrency: 2})
	var elems []BatchElem
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	for _, n := range names {
		elems = append(elems, BatchElem{Method: n})
	}
	if err := c.Batch(context.Background(), elems); err != nil {
		t.Fatal(err)
	}
	for i, e := range elems {
		var got string
		if err := json.Unmarshal(e.Result, &got); err != nil || got != names[i] {
			t.Errorf("elem %d: got %s (%v), want %q", i, e.Result, err, names[i])
		}
	}
	if got := batches.Load(); got != 3 {
		t.Errorf("7 calls in batches of 3: got %d HTTP batches, want 3", got)
	}
	if reqs.Load() != 3 || c.Calls() != 7 {
		t.Errorf("requests %d calls %d, want 3 and 7", reqs.Load(), c.Calls())
	}
}

func TestClientPerCallErrorsAndTooLarge(t *testing.T) {
	srv, _, _ := echoNode(t, 0, 0, "")
	c := NewClient(srv.URL, RPCOptions{})
	elems := []BatchElem{{Method: "ok"}, {Method: "nope"}, {Method: "big"}}
	if err := c.Batch(context.Background(), elems); err != nil {
		t.Fatal(err)
	}
	if elems[0].Error != nil || string(elems[0].Result) != `"ok"` {
		t.Errorf("ok: %v %s", elems[0].Error, elems[0].Result)
	}
	if !methodMissing(elems[1].Error) {
		t.Errorf("nope: want a method-missing error, got %v", elems[1].Error)
	}
	// The oversized answer is asked again on its own and then succeeds.
	if elems[2].Error != nil || string(elems[2].Result) != `"big"` {
		t.Errorf("big: %v %s", elems[2].Error, elems[2].Result)
	}
}

func TestClientRetriesTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
	}{{"429", http.StatusTooManyRequests}, {"503", http.StatusServiceUnavailable}, {"502", http.StatusBadGateway}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, reqs, _ := echoNode(t, 2, tc.status, "")
			c := NewClient(srv.URL, RPCOptions{Retries: 3, Backoff: time.Millisecond})
			var got string
			if err := c.Call(context.Background(), &got, "hello"); err != nil {
				t.Fatal(err)
			}
			if got != "hello" || reqs.Load() != 3 {
				t.Errorf("got %q after %d requests, want hello after 3", got, reqs.Load())
			}
		})
	}
}

func TestClientHonoursRetryAfter(t *testing.T) {
	srv, _, _ := echoNode(t, 1, http.StatusTooManyRequests, "1")
	c := NewClient(srv.URL, RPCOptions{Retries: 1, Backoff: time.Millisecond})
	start := time.Now()
	if err := c.Call(context.Background(), nil, "x"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v, want the server's Retry-After of 1s", d)
	}
}

func TestClientGivesUpWithClearError(t *testing.T) {
	srv, reqs, _ := echoNode(t, 100, http.StatusServiceUnavailable, "")
	c := NewClient(srv.URL+"/v3/0123456789abcdef0123456789abcdef", RPCOptions{Retries: 2, Backoff: time.Millisecond})
	err := c.Call(context.Background(), nil, "eth_blockNumber")
	if !errors.Is(err, ErrNodeUnavailable) {
		t.Fatalf("want ErrNodeUnavailable, got %v", err)
	}
	if reqs.Load() != 3 {
		t.Errorf("made %d requests, want 1 + 2 retries", reqs.Load())
	}
	msg := err.Error()
	for _, want := range []string{"eth_blockNumber", "503", "after 3 attempts", "/v3/REDACTED"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "0123456789abcdef") {
		t.Errorf("error leaks the API key: %q", msg)
	}
}

func TestClientUnreachableRedactsURL(t *testing.T) {
	// A port nothing listens on: grab one and close it.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/key/supersecretapikey123456"
	srv.Close()
	c := NewClient(url, RPCOptions{Retries: 1, Backoff: time.Millisecond})
	err := c.Call(context.Background(), nil, "eth_chainId")
	if !errors.Is(err, ErrNodeUnavailable) {
		t.Fatalf("want ErrNodeUnavailable, got %v", err)
	}
	if strings.Contains(err.Error(), "supersecretapikey") {
		t.Errorf("error leaks the API key: %q", err)
	}
}

func TestClientPermanentHTTPErrorIsNotRetried(t *testing.T) {
	srv, reqs, _ := echoNode(t, 100, http.StatusUnauthorized, "")
	c := NewClient(srv.URL, RPCOptions{Retries: 5, Backoff: time.Millisecond})
	if err := c.Call(context.Background(), nil, "x"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("want a 401 error, got %v", err)
	}
	if reqs.Load() != 1 {
		t.Errorf("a 401 was retried: %d requests", reqs.Load())
	}
}

// TestClientBitcoinStyle: JSONRPCVersion "1.0" is sent as such, User/Pass go
// as basic auth, and an error answer with HTTP 500 or 404 (Bitcoin Core's
// way) is the call's own error, not a retried transport failure; with the
// default version the same 500 stays a transport failure.
func TestClientBitcoinStyle(t *testing.T) {
	var reqs atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		var req struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Method  string          `json:"method"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("request %s: %v", body, err)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch req.Method {
		case "getblockcount":
			w.Write([]byte(`{"result":7,"error":null,"id":` + string(req.ID) + `}`))
		case "nosuch":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":` + string(req.ID) + `}`))
		default:
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"result":null,"error":{"code":-8,"message":"Block height out of range (` + req.JSONRPC + `)"},"id":` + string(req.ID) + `}`))
		}
	}))
	defer srv.Close()
	c := NewClient(srv.URL, RPCOptions{JSONRPCVersion: "1.0", User: "alice", Pass: "secret", Retries: 3, Backoff: time.Millisecond})
	var n int
	if err := c.Call(context.Background(), &n, "getblockcount"); err != nil || n != 7 {
		t.Fatalf("getblockcount = %d, %v", n, err)
	}
	err := c.Call(context.Background(), nil, "getblockhash", 99)
	var re *RPCError
	if !errors.As(err, &re) || re.Code != -8 || !strings.Contains(re.Message, "(1.0)") {
		t.Errorf("getblockhash error = %v, want the node's code -8 with jsonrpc 1.0", err)
	}
	if err := c.Call(context.Background(), nil, "nosuch"); !errors.As(err, &re) || re.Code != -32601 {
		t.Errorf("nosuch error = %v", err)
	}
	if got := reqs.Load(); got != 3 {
		t.Errorf("%d HTTP requests, want 3 (no retries)", got)
	}
	// Wrong credentials: permanent, not retried.
	bad := NewClient(srv.URL, RPCOptions{JSONRPCVersion: "1.0", User: "alice", Pass: "nope", Retries: 3, Backoff: time.Millisecond})
	if err := bad.Call(context.Background(), nil, "getblockcount"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad credentials: %v", err)
	}
	// JSON-RPC 2.0 clients keep treating a 500 as a transport failure.
	v2 := NewClient(srv.URL, RPCOptions{User: "alice", Pass: "secret", Retries: 1, Backoff: time.Millisecond})
	if err := v2.Call(context.Background(), nil, "getblockhash", 99); !errors.Is(err, ErrNodeUnavailable) {
		t.Errorf("2.0 client, HTTP 500: %v", err)
	}
}
