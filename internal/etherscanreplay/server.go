// Package etherscanreplay is a test server that answers the Etherscan account
// API (module=account, actions txlist, txlistinternal, tokentx, tokennfttx)
// over an in-memory list of records, the way Etherscan does: the same
// parameters (address, startblock, endblock, page, offset, sort, apikey, and
// chainid for the V2 API), the same envelope, the result window of 10,000
// records, "No transactions found", the API-key check, and optionally its
// rate limit. Hooks corrupt a record or inject one that never happened, for
// tests of a tracer's confirmation step, and make requests fail at the HTTP
// or connection level, for tests of a client's retries.
//
// The answers follow https://docs.etherscan.io: the envelope and the error
// texts from https://docs.etherscan.io/resources/common-error-messages, the
// records as in each endpoint's page (see record.go).
package etherscanreplay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Messages the server answers with, as Etherscan words them.
const (
	MsgOK             = "OK"
	MsgNOTOK          = "NOTOK"
	MsgNoTransactions = "No transactions found"
	TextInvalidKey    = "Invalid API Key"
	TextMissingKey    = "Missing/Invalid API Key"
	TextInvalidAddr   = "Error! Invalid address format"
	TextInvalidAction = "Error! Missing Or invalid Action name"
	TextInvalidModule = "Error! Missing Or invalid Module name"
	TextMissingChain  = "Missing or unsupported chainid parameter (required for v2 api), please see https://api.etherscan.io/v2/chainlist for the list of supported chainids"
)

// WindowMessage is Etherscan's answer to page*offset past the window.
func WindowMessage(window int) string {
	return fmt.Sprintf("Result window is too large, PageNo x Offset size must be less than or equal to %d", window)
}

// Options shape the server.
type Options struct {
	Key     string // when set, apikey must be this key
	ChainID uint64 // when set, chainid must be this chain (the V2 API)
	// RateLimit is the number of calls a second the server answers; past it
	// the answer is status "0" with RateLimitText. Zero: no limit.
	RateLimit     int
	RateLimitText string        // default "Max calls per sec rate limit reached (N/sec)"
	Delay         time.Duration // before every answer
	Window        int           // page*offset limit; default 10,000
	// Blockscout answers txlistinternal in Blockscout's shape
	// ("transactionHash" for "hash") and says "No internal transactions
	// found" / "No token transfers found" for empty lists.
	Blockscout bool
}

type entry struct {
	rec   Record
	block uint64
	txIdx uint64
	seq   int // insertion order
}

type failure struct {
	code       int // HTTP status; 0 drops the connection
	retryAfter string
}

// Server is the replaying explorer. It is safe for concurrent use; the
// hooks may be called while requests are served.
type Server struct {
	srv  *httptest.Server
	tb   testing.TB
	opts Options

	mu          sync.Mutex
	entries     []entry
	seq         int
	requests    int
	rateLimited int
	queries     []url.Values
	times       []time.Time // arrival of every request
	recent      []time.Time // answered calls within the last second
	fail        []failure
}

// New starts a server over recs, closed when the test ends. Empty fields of
// a record get ordinary values (isError "0", txreceipt_status "1", a
// timestamp from the block number, ...). A record that cannot be served
// (unknown action, block number not decimal) fails the test.
func New(tb testing.TB, recs []Record, opts Options) *Server {
	tb.Helper()
	if opts.Window <= 0 {
		opts.Window = 10000
	}
	if opts.RateLimitText == "" && opts.RateLimit > 0 {
		opts.RateLimitText = fmt.Sprintf("Max calls per sec rate limit reached (%d/sec)", opts.RateLimit)
	}
	s := &Server{tb: tb, opts: opts}
	for _, r := range recs {
		s.add(r)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *Server) add(r Record) {
	s.tb.Helper()
	switch r.Action {
	case TxList, TxListInternal, TokenTx, TokenNFTTx:
	default:
		s.tb.Fatalf("etherscanreplay: record %+v: unknown action %q", r, r.Action)
	}
	b, err := strconv.ParseUint(r.BlockNumber, 10, 64)
	if err != nil {
		s.tb.Fatalf("etherscanreplay: record %+v: blockNumber %q is not decimal", r, r.BlockNumber)
	}
	r.fill(b)
	idx, _ := strconv.ParseUint(r.TransactionIndex, 10, 64)
	s.entries = append(s.entries, entry{rec: r, block: b, txIdx: idx, seq: s.seq})
	s.seq++
}

// URL is the API's base URL, http://127.0.0.1:PORT/api (the V2 path,
// /v2/api, is served too).
func (s *Server) URL() string { return s.srv.URL + "/api" }

// Requests is the number of HTTP requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// RateLimited is the number of requests answered with the rate-limit text.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited
}

// Queries returns the query parameters of every request received, in order.
func (s *Server) Queries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]url.Values, len(s.queries))
	for i, q := range s.queries {
		out[i] = cloneValues(q)
	}
	return out
}

// Times returns the arrival time of every request received, in order.
func (s *Server) Times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.times)
}

// Inject adds a record, typically one for a transfer that never happened.
func (s *Server) Inject(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(r)
}

// Corrupt sets the amount of every record of action in transaction hash to
// value (the tokenID for tokennfttx) and returns how many it changed.
func (s *Server) Corrupt(action, hash, value string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.entries {
		r := &s.entries[i].rec
		if r.Action != action || !strings.EqualFold(r.Hash, hash) {
			continue
		}
		if action == TokenNFTTx {
			r.TokenID = value
		} else {
			r.Value = value
		}
		n++
	}
	return n
}

// FailNext answers the next n requests with HTTP status code (and the
// Retry-After header, if not empty) instead of an answer.
func (s *Server) FailNext(n, code int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, failure{code: code, retryAfter: retryAfter})
	}
}

// DropNext closes the connection of the next n requests without an answer.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, failure{})
	}
}

// envelope is every answer's shape, in the documented key order.
type envelope struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Result  any    `json:"result"`
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		// Etherscan takes GET and POST alike.
		if err := r.ParseForm(); err == nil {
			q = r.Form
		}
	}
	s.mu.Lock()
	s.requests++
	s.queries = append(s.queries, cloneValues(q))
	s.times = append(s.times, time.Now())
	var f *failure
	if len(s.fail) > 0 {
		f = &s.fail[0]
		s.fail = s.fail[1:]
	}
	s.mu.Unlock()

	if s.opts.Delay > 0 {
		select {
		case <-time.After(s.opts.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f != nil {
		if f.code == 0 {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			f.code = http.StatusBadGateway
		}
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		http.Error(w, http.StatusText(f.code), f.code)
		return
	}
	writeJSON(w, s.answer(q))
}

func writeJSON(w http.ResponseWriter, e envelope) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(e)
}

func notok(text string) envelope { return envelope{Status: "0", Message: MsgNOTOK, Result: text} }

// answer is the API proper: checks in the order Etherscan makes them, then
// the list.
func (s *Server) answer(q url.Values) envelope {
	if s.opts.RateLimit > 0 && !s.admit() {
		return notok(s.opts.RateLimitText)
	}
	if s.opts.ChainID != 0 && q.Get("chainid") != strconv.FormatUint(s.opts.ChainID, 10) {
		return notok(TextMissingChain)
	}
	if s.opts.Key != "" {
		switch q.Get("apikey") {
		case s.opts.Key:
		case "":
			return notok(TextMissingKey)
		default:
			return notok(TextInvalidKey)
		}
	}
	if q.Get("module") != "account" {
		return notok(TextInvalidModule)
	}
	action := q.Get("action")
	switch action {
	case TxList, TxListInternal, TokenTx, TokenNFTTx:
	default:
		return notok(TextInvalidAction)
	}
	addr := strings.ToLower(q.Get("address"))
	if !isAddress(addr) {
		return notok(TextInvalidAddr)
	}
	contract := strings.ToLower(q.Get("contractaddress"))
	if contract != "" && !isAddress(contract) {
		return notok(TextInvalidAddr)
	}
	start, ok1 := blockParam(q.Get("startblock"), 0)
	end, ok2 := blockParam(q.Get("endblock"), ^uint64(0))
	if !ok1 || !ok2 {
		return notok("Error! Invalid block number")
	}
	page, ok1 := intParam(q.Get("page"), 1)
	offset, ok2 := intParam(q.Get("offset"), s.opts.Window)
	if !ok1 || !ok2 {
		return notok("Error! Invalid page or offset")
	}
	desc := false
	switch q.Get("sort") {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return notok("Error! Invalid sort order")
	}
	if page*offset > s.opts.Window {
		return envelope{Status: "0", Message: WindowMessage(s.opts.Window), Result: nil}
	}

	s.mu.Lock()
	var list []entry
	for _, e := range s.entries {
		if e.rec.Action == action && e.block >= start && e.block <= end && matches(&e.rec, addr, contract) {
			list = append(list, e)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.block != b.block {
			return a.block < b.block
		}
		if a.txIdx != b.txIdx {
			return a.txIdx < b.txIdx
		}
		return a.seq < b.seq
	})
	if desc {
		slices.Reverse(list)
	}
	lo := min((page-1)*offset, len(list))
	hi := min(lo+offset, len(list))
	items := make([]any, 0, hi-lo)
	for i, e := range list[lo:hi] {
		items = append(items, e.rec.item(s.opts.Blockscout, lo+i))
	}
	if len(items) == 0 {
		return envelope{Status: "0", Message: s.emptyMessage(action), Result: []any{}}
	}
	return envelope{Status: "1", Message: MsgOK, Result: items}
}

func (s *Server) emptyMessage(action string) string {
	if !s.opts.Blockscout {
		return MsgNoTransactions
	}
	switch action {
	case TxListInternal:
		return "No internal transactions found"
	case TokenTx, TokenNFTTx:
		return "No token transfers found"
	}
	return MsgNoTransactions
}

// admit counts a call against the rate limit: at most RateLimit answered
// calls in any second.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	keep := s.recent[:0]
	for _, t := range s.recent {
		if now.Sub(t) < time.Second {
			keep = append(keep, t)
		}
	}
	s.recent = keep
	if len(s.recent) >= s.opts.RateLimit {
		s.rateLimited++
		return false
	}
	s.recent = append(s.recent, now)
	return true
}

// matches reports whether the record is about addr: sender or recipient,
// or (txlist, txlistinternal) the contract a creation made.
func matches(r *Record, addr, contract string) bool {
	if contract != "" && (r.Action == TokenTx || r.Action == TokenNFTTx) && strings.ToLower(r.ContractAddress) != contract {
		return false
	}
	if strings.ToLower(r.From) == addr || strings.ToLower(r.To) == addr {
		return true
	}
	return (r.Action == TxList || r.Action == TxListInternal) && r.To == "" && strings.ToLower(r.ContractAddress) == addr
}

func isAddress(a string) bool {
	if len(a) != 42 || !strings.HasPrefix(a, "0x") {
		return false
	}
	for _, c := range a[2:] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func blockParam(v string, def uint64) (uint64, bool) {
	switch v {
	case "":
		return def, true
	case "latest":
		return ^uint64(0), true
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

func intParam(v string, def int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n > 0
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}
