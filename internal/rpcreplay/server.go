// Package rpcreplay is a JSON-RPC 2.0 test server that answers from recorded
// answers instead of a node.
//
// Answers are keyed by method and the canonical JSON of the params: object
// keys sorted, no insignificant white space, every string lower-cased (hex
// quantities, hashes, addresses, block tags and tracer names are
// case-insensitive in the protocol, and the ethereum-etl recordings keep only
// the lower-case spelling). For the debug_trace* methods the tracer options
// that do not change the answer ("timeout", "reexec") are dropped, so a
// recording made with {"tracer":"callTracer"} also answers
// {"tracer":"callTracer","timeout":"120s"}.
//
// The server is batch-aware (an array in, an array out, one answer per
// element, each echoing the incoming id) and answers the way geth and Erigon
// do when it has nothing recorded: an unknown (or disabled) method gets
// -32601 "the method X does not exist/is not available", a known method with
// params nobody recorded gets -32000 naming the method and the params.
package rpcreplay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/chaintrace/chaintrace/internal/jsonrpcserver"
)

// Error codes the server answers with when it has no recording.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeNoRecording    = -32000
)

// Error is a JSON-RPC error object.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

type answer struct {
	result json.RawMessage
	err    *Error
}

// Server is a replaying JSON-RPC server over HTTP. It is safe for
// concurrent use; Handle may be called while requests are being served.
type Server struct {
	srv *httptest.Server
	tb  testing.TB

	mu        sync.Mutex
	answers   map[string]answer // method + "\x00" + canonical params
	methods   map[string]int    // recordings per method
	disabled  map[string]bool
	calls     int
	perMethod map[string]int
	requests  int
	unmatched []string
}

// New starts a server that is closed when the test ends. Requests the server
// could not answer from a recording are logged to the test at the end, which
// makes a failing comparison easier to read.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := NewServer()
	s.tb = tb
	tb.Cleanup(func() {
		if u := s.Unmatched(); len(u) > 0 {
			tb.Logf("rpcreplay: %d call(s) had no recorded answer, e.g. %s", len(u), u[0])
		}
		s.Close()
	})
	return s
}

// NewServer starts a server; the caller must Close it.
func NewServer() *Server {
	s := &Server{
		answers:   map[string]answer{},
		methods:   map[string]int{},
		disabled:  map[string]bool{},
		perMethod: map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the endpoint, http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Handle records result as the answer to method called with params. params
// is anything that marshals to a JSON array (nil means no params); a
// json.RawMessage or []byte is taken as JSON text. A later Handle of the same
// call replaces the earlier answer. A nil result answers JSON null.
func (s *Server) Handle(method string, params any, result json.RawMessage) {
	if result == nil {
		result = json.RawMessage("null")
	}
	s.put(method, params, answer{result: slices.Clone(result)})
}

// HandleError records a JSON-RPC error as the answer to method with params.
func (s *Server) HandleError(method string, params any, code int, msg string) {
	s.put(method, params, answer{err: &Error{Code: code, Message: msg}})
}

func (s *Server) put(method string, params any, a answer) {
	key, err := Key(method, params)
	if err != nil {
		s.fail("rpcreplay: %s: %v", method, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.answers[key]; !ok {
		s.methods[method]++
	}
	s.answers[key] = a
}

func (s *Server) fail(format string, args ...any) {
	if s.tb != nil {
		s.tb.Helper()
		s.tb.Errorf(format, args...)
		return
	}
	panic(fmt.Sprintf(format, args...))
}

// Disable makes the server answer every call of method with -32601, as a
// node without that namespace does; Enable undoes it.
func (s *Server) Disable(methods ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range methods {
		s.disabled[m] = true
	}
}

// Enable undoes Disable.
func (s *Server) Enable(methods ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range methods {
		delete(s.disabled, m)
	}
}

// Calls is the number of JSON-RPC calls answered so far (a batch of n
// counts n), whatever the answer was.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// CallsTo is the number of calls of one method answered so far.
func (s *Server) CallsTo(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perMethod[method]
}

// Requests is the number of HTTP requests served so far.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Unmatched lists the calls answered -32000 (known method, params not
// recorded), as "method params".
func (s *Server) Unmatched() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unmatched)
}

// Methods lists the methods that have at least one recording, sorted.
func (s *Server) Methods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.methods))
	for m := range s.methods {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type response = jsonrpcserver.Response[Error]

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(w, "JSON-RPC wants POST", http.StatusMethodNotAllowed)
		return
	}
	body, ok := jsonrpcserver.ReadBody(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var out any
	if elems, batch, err := jsonrpcserver.Split(body); batch {
		if err != nil {
			out = errResponse(nil, CodeParseError, "parse error: "+err.Error())
		} else if len(elems) == 0 {
			out = errResponse(nil, CodeInvalidRequest, "empty batch")
		} else {
			answers := make([]response, 0, len(elems))
			for _, e := range elems {
				if a, ok := s.answerOne(e); ok {
					answers = append(answers, a)
				}
			}
			out = answers
		}
	} else {
		a, ok := s.answerOne(elems[0])
		if !ok { // a notification: no answer
			w.WriteHeader(http.StatusOK)
			return
		}
		out = a
	}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b)
}

func errResponse(id json.RawMessage, code int, msg string) response {
	return response{JSONRPC: "2.0", ID: jsonrpcserver.IDOrNull(id), Error: &Error{Code: code, Message: msg}}
}

// answerOne answers one call; ok is false for a notification (no id).
func (s *Server) answerOne(raw json.RawMessage) (response, bool) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return errResponse(nil, CodeParseError, "parse error: "+err.Error()), true
	}
	if len(req.ID) == 0 {
		return response{}, false
	}
	if req.Method == "" {
		return errResponse(req.ID, CodeInvalidRequest, "invalid request: no method"), true
	}
	s.mu.Lock()
	s.calls++
	s.perMethod[req.Method]++
	disabled := s.disabled[req.Method]
	known := s.methods[req.Method] > 0
	s.mu.Unlock()
	if disabled || !known {
		return errResponse(req.ID, CodeMethodNotFound, fmt.Sprintf("the method %s does not exist/is not available", req.Method)), true
	}
	params := req.Params
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("[]")
	}
	key, err := Key(req.Method, params)
	if err != nil {
		return errResponse(req.ID, -32602, "invalid params: "+err.Error()), true
	}
	s.mu.Lock()
	a, ok := s.answers[key]
	if !ok {
		s.unmatched = append(s.unmatched, req.Method+" "+string(params))
	}
	s.mu.Unlock()
	if !ok {
		return errResponse(req.ID, CodeNoRecording, fmt.Sprintf("rpcreplay: no recorded answer to %s with params %s", req.Method, compact(params))), true
	}
	if a.err != nil {
		e := *a.err
		return response{JSONRPC: "2.0", ID: req.ID, Error: &e}, true
	}
	return response{JSONRPC: "2.0", ID: req.ID, Result: a.result}, true
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// Key is the lookup key of a call: method, NUL, canonical params. It is
// exported so that tests can check two spellings of a call meet.
func Key(method string, params any) (string, error) {
	var raw []byte
	switch p := params.(type) {
	case nil:
		raw = []byte("[]")
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return "", err
		}
		raw = b
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("params: %w", err)
	}
	if v == nil {
		v = []any{}
	}
	if _, ok := v.([]any); !ok {
		// JSON-RPC also allows by-name params; keep them as one object.
		v = []any{v}
	}
	v = canonical(v, strings.HasPrefix(method, "debug_trace"))
	b, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		return "", err
	}
	return method + "\x00" + string(b), nil
}

// ignoredTraceOptions are debug_trace* options that do not change the answer.
var ignoredTraceOptions = []string{"timeout", "reexec"}

func canonical(v any, traceOpts bool) any {
	switch x := v.(type) {
	case string:
		return strings.ToLower(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = canonical(x[i], traceOpts)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if traceOpts && slices.Contains(ignoredTraceOptions, k) {
				continue
			}
			out[k] = canonical(e, traceOpts)
		}
		return out
	}
	return v
}
