// Package erigonemu emulates the Erigon node of the erigon-dev fixtures
// (../shared/fixtures/erigon-dev) for tests: a JSON-RPC endpoint that
// computes the answers of Erigon's address-indexed methods and state reads
// for any parameters, and passes every other call to a replay of the
// recordings (internal/rpcreplay).
//
// The recordings answer only the requests their recorder sent; chaintrace
// sends other shapes (both address lists, count and after on every
// trace_filter, chunks and pages in batches, balances at the blocks a walk
// reaches). So the emulator computes, following the fixtures' README:
//
//   - trace_filter, ots_searchTransactionsAfter/Before and eth_getLogs from
//     the recorded trace_block, eth_getBlockByNumber and eth_getBlockReceipts
//     answers of blocks 37-48 (blocks outside that span are empty, as on the
//     dev chain), with Erigon's range limit, page rules and error messages;
//   - eth_blockNumber: the head the options give (blocks past 48 are empty);
//   - eth_getBalance for the scenario's 24 addresses at any block from 37 to
//     the head: scenario.json's balance at 37 plus the moved value transfers
//     and minus the fees of blocks 38..n;
//   - eth_call of the token's balanceOf(address), from scenario.json's token
//     transfers that moved, and "0x" for a call to an address that has no
//     code at that block;
//   - eth_getBlockReceipts for any block or tag up to the head.
//
// The package's tests check every one of these against every recording of
// the method (trace_filter, ots_search*, eth_getLogs, eth_blockNumber,
// eth_getBalance, eth_getBlockReceipts), and the balances at every block
// against the recorded blocks decoded by chains/ethereum.
package erigonemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chaintrace/chaintrace/internal/jsonrpcserver"
	"github.com/chaintrace/chaintrace/internal/rpcreplay"
)

// Dir finds the erigon-dev fixtures: shared/fixtures/erigon-dev in the
// working directory or one of its parents (the fixtures live beside the
// repository). The test is skipped when there are none.
func Dir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for d := wd; ; {
		p := filepath.Join(d, "shared", "fixtures", "erigon-dev")
		if _, err := os.Stat(filepath.Join(p, "index.json")); err == nil {
			return p
		}
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	tb.Skipf("erigon-dev fixtures (shared/fixtures/erigon-dev) not found above %s; these tests replay that recorded Erigon node", wd)
	return ""
}

// Server is the emulated node over HTTP.
type Server struct {
	srv    *httptest.Server
	replay *rpcreplay.Server
	emu    *Emulator

	mu         sync.Mutex
	requests   int
	calls      int
	perMethod  map[string]int
	disabled   map[string]bool
	batchLimit int
}

// New starts an emulated node on the fixtures in dir (Dir finds them),
// closed when the test ends.
func New(tb testing.TB, dir string, opts Options) *Server {
	tb.Helper()
	chain, err := LoadChain(dir)
	if err != nil {
		tb.Fatal(err)
	}
	replay := rpcreplay.New(tb)
	if _, err := replay.LoadErigonDev(dir, nil); err != nil {
		tb.Fatal(err)
	}
	s := &Server{replay: replay, emu: NewEmulator(chain, opts), perMethod: map[string]int{}, disabled: map[string]bool{}, batchLimit: opts.BatchLimit}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the endpoint.
func (s *Server) URL() string { return s.srv.URL }

// Emulator is the emulator behind the server.
func (s *Server) Emulator() *Emulator { return s.emu }

// Chain is the chain the server emulates.
func (s *Server) Chain() *Chain { return s.emu.chain }

// Replay is the replay server that answers the calls not emulated.
func (s *Server) Replay() *rpcreplay.Server { return s.replay }

// Stats returns the emulator's counters.
func (s *Server) Stats() Stats { return s.emu.Stats() }

// Disable makes the methods answer -32601, here and in the replay server,
// as a node without that namespace does.
func (s *Server) Disable(methods ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range methods {
		s.disabled[m] = true
	}
	s.replay.Disable(methods...)
}

// Requests is the number of HTTP requests served so far.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Calls is the number of JSON-RPC calls received so far (a batch of n
// counts n), emulated or passed on.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// CallsTo is the number of calls of one method received so far.
func (s *Server) CallsTo(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perMethod[method]
}

// CallsPerMethod is a copy of the calls received so far, per method.
func (s *Server) CallsPerMethod() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.perMethod))
	for k, v := range s.perMethod {
		out[k] = v
	}
	return out
}

type response = jsonrpcserver.Response[Error]

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	limit := s.batchLimit
	s.mu.Unlock()
	body, ok := jsonrpcserver.ReadBody(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	elems, batch, err := jsonrpcserver.Split(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var out any
	if !batch {
		out = s.one(elems[0])
	} else if limit > 0 && len(elems) > limit {
		out = response{JSONRPC: "2.0", ID: jsonrpcserver.Null, Error: &Error{-32600, fmt.Sprintf("batch limit %d exceeded", limit)}}
	} else {
		answers := make([]json.RawMessage, len(elems))
		for i, e := range elems {
			answers[i] = s.one(e)
		}
		out = answers
	}
	b, _ := json.Marshal(out)
	_, _ = w.Write(b)
}

func (s *Server) one(raw json.RawMessage) json.RawMessage {
	var req jsonrpcserver.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return jsonrpcserver.ErrorAnswer(nil, &Error{-32700, "parse error"})
	}
	s.mu.Lock()
	s.calls++
	s.perMethod[req.Method]++
	disabled := s.disabled[req.Method]
	s.mu.Unlock()
	if disabled {
		return jsonrpcserver.ErrorAnswer(req.ID, &Error{-32601, fmt.Sprintf("the method %s does not exist/is not available", req.Method)})
	}
	if res, rerr, ok := s.emu.Answer(req.Method, req.Params); ok {
		if rerr != nil {
			return jsonrpcserver.ErrorAnswer(req.ID, rerr)
		}
		return jsonrpcserver.ResultAnswer(req.ID, res)
	}
	// Everything else: the recorded answer.
	hr, err := http.Post(s.replay.URL(), "application/json", bytes.NewReader(raw))
	if err != nil {
		return jsonrpcserver.ErrorAnswer(req.ID, &Error{-32603, err.Error()})
	}
	defer hr.Body.Close()
	b, _ := io.ReadAll(hr.Body)
	return b
}
