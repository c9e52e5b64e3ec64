// Package faultproxy is an HTTP reverse proxy for tests that puts the
// failures of hosted nodes between a client and a real node: connections
// dropped without an answer, a share of 5xx answers, 429 with Retry-After,
// requests held past the client's timeout, an endpoint that is down. It
// records when every request arrived and what it got, so that a test can
// measure what the client did as the server saw it: the highest request
// rate over a window, the gap before a retry, how many requests met each
// fault.
//
// Random faults are drawn from a generator seeded by Options.Seed, one draw
// per request in arrival order, so the n-th request's fate is the same in
// every run. A Proxy is safe for concurrent use; faults can be changed while
// it serves.
package faultproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Outcome is what the proxy did with a request.
type Outcome string

// Outcomes, as Counts reports them.
const (
	// Forwarded: passed to the target, whose answer went back (whatever
	// its status).
	Forwarded Outcome = "forwarded"
	// Dropped: the connection was closed without an answer.
	Dropped Outcome = "dropped"
	// ServerError: answered with Faults.ErrorStatus (a 5xx) by the proxy.
	ServerError Outcome = "server_error"
	// TooMany: answered 429 with a Retry-After header.
	TooMany Outcome = "too_many"
	// Abandoned: held by a stall until the client gave up waiting.
	Abandoned Outcome = "abandoned"
	// UpstreamError: the target could not be reached; answered 502.
	UpstreamError Outcome = "upstream_error"
	// Stalled is a count only: requests a stall held, whatever their
	// outcome after it.
	Stalled Outcome = "stalled"
)

// Faults are the failures applied to requests from now on. The zero value
// forwards everything.
type Faults struct {
	// Down drops every request, as a node that has gone away (a
	// connection accepted and closed, like a load balancer with no
	// backend).
	Down bool
	// DropRate is the share of requests (0 to 1) whose connection is
	// closed without an answer.
	DropRate float64
	// ErrorRate is the share of requests answered ErrorStatus.
	ErrorRate float64
	// ErrorStatus is the status of those answers; default 503.
	ErrorStatus int
	// TooManyEvery answers every k-th request (counting every request the
	// proxy receives, from 1) with 429; 0 never.
	TooManyEvery int
	// RetryAfter is the Retry-After header of the 429 answers, in seconds;
	// negative sends no header.
	RetryAfter int
}

// Options configure a Proxy.
type Options struct {
	// Seed seeds the draws of DropRate and ErrorRate.
	Seed uint64
	// Transport reaches the target; default http.DefaultTransport. Give
	// one with the target's certificate for an https target (btcd).
	Transport http.RoundTripper
	// Faults are the faults from the start.
	Faults Faults
}

// Record is one request as the proxy saw it.
type Record struct {
	Seq      int       // 1 for the first request
	Arrival  time.Time // when the handler got it
	Done     time.Time // when the proxy began its answer (or dropped, or gave up on it): the client has seen nothing before
	Outcome  Outcome
	Status   int    // the HTTP status sent; 0 when dropped or abandoned
	BodyHash string // hex SHA-256 of the request body (a retry resends the same body)
	Calls    int    // JSON-RPC calls in the body (a batch of n counts n)
	Stalled  bool   // held by a stall before its outcome
}

// Proxy is a running fault-injection proxy.
type Proxy struct {
	srv       *httptest.Server
	target    *url.URL
	transport http.RoundTripper
	closed    chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	faults     Faults
	rng        *rand.Rand
	seq        int
	dropNext   int
	stallNext  int
	stallFor   time.Duration
	stallUntil time.Time // requests arriving before this are held until it
	records    []Record
}

// New starts a proxy in front of target (an http or https URL). The proxy
// serves plain HTTP on 127.0.0.1 and sends every request to the target URL
// as given, whatever the request's path and query: a test can give the
// client the proxy's URL with a made-up key in it (to check redaction) and
// the node still answers. It panics if target is not a URL.
func New(target string, opts Options) *Proxy {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		panic("faultproxy: bad target URL")
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	p := &Proxy{
		target:    u,
		transport: opts.Transport,
		closed:    make(chan struct{}),
		faults:    opts.Faults,
		rng:       rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// URL is the proxy's endpoint.
func (p *Proxy) URL() string { return p.srv.URL }

// Close releases held requests and stops the proxy.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
}

// SetFaults replaces the faults applied to requests that arrive from now on.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

// SetDown drops every request from now on (true) or no longer (false),
// keeping the other faults.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.faults.Down = down
	p.mu.Unlock()
}

// DropNext drops the next n requests, before any other fault.
func (p *Proxy) DropNext(n int) {
	p.mu.Lock()
	p.dropNext = n
	p.mu.Unlock()
}

// StallNext holds each of the next n requests for d (or until its client
// gives up), then treats it as any other request.
func (p *Proxy) StallNext(n int, d time.Duration) {
	p.mu.Lock()
	p.stallNext, p.stallFor = n, d
	p.mu.Unlock()
}

// StallFor holds every request that arrives in the next d until d has
// passed (or its client gives up): a node that hangs for a while.
func (p *Proxy) StallFor(d time.Duration) {
	p.mu.Lock()
	p.stallUntil = time.Now().Add(d)
	p.mu.Unlock()
}

// Records returns a copy of the requests seen so far, in arrival order.
func (p *Proxy) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Record, len(p.records))
	copy(out, p.records)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// Requests is the number of requests received so far.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq
}

// Counts is the number of finished requests by outcome, and under Stalled
// the number that a stall held (whatever came of them).
func (p *Proxy) Counts() map[Outcome]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := map[Outcome]int{}
	for _, r := range p.records {
		if r.Outcome == "" {
			continue
		}
		c[r.Outcome]++
		if r.Stalled {
			c[Stalled]++
		}
	}
	return c
}

// Arrivals are the arrival times of every request so far, in order.
func (p *Proxy) Arrivals() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]time.Time, len(p.records))
	for i, r := range p.records {
		out[i] = r.Arrival
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// MaxRate is the largest number of requests that arrived within any
// window of the given length (half-open: [t, t+window)), as a rate per
// second.
func (p *Proxy) MaxRate(window time.Duration) float64 {
	return float64(MaxCount(p.Arrivals(), window)) / window.Seconds()
}

// MaxCount is the largest number of the sorted times that fall within any
// half-open window [t, t+window). The busiest window can always be taken to
// start at one of the times, so only those starts are tried.
func MaxCount(sorted []time.Time, window time.Duration) int {
	best, j := 0, 0
	for i := range sorted {
		if j < i {
			j = i
		}
		for j < len(sorted) && sorted[j].Sub(sorted[i]) < window {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

// plan is what a request is to get, decided when it arrives.
type plan struct {
	idx        int // into records
	stallUntil time.Time
	outcome    Outcome // Dropped, ServerError, TooMany or Forwarded
	status     int
	retryAfter int
}

func (p *Proxy) decide(arrival time.Time, body []byte) plan {
	sum := sha256.Sum256(body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	rec := Record{Seq: p.seq, Arrival: arrival, BodyHash: hex.EncodeToString(sum[:8]), Calls: countCalls(body)}
	pl := plan{idx: len(p.records), outcome: Forwarded}
	if arrival.Before(p.stallUntil) {
		pl.stallUntil = p.stallUntil
	} else if p.stallNext > 0 {
		p.stallNext--
		pl.stallUntil = arrival.Add(p.stallFor)
	}
	rec.Stalled = !pl.stallUntil.IsZero()
	f := p.faults
	// One draw for each random fault on every request, taken whether or
	// not it is used, keeps the n-th request's fate fixed by the seed.
	dropDraw, errDraw := p.rng.Float64(), p.rng.Float64()
	switch {
	case f.Down:
		pl.outcome = Dropped
	case p.dropNext > 0:
		p.dropNext--
		pl.outcome = Dropped
	case f.TooManyEvery > 0 && p.seq%f.TooManyEvery == 0:
		pl.outcome, pl.status, pl.retryAfter = TooMany, http.StatusTooManyRequests, f.RetryAfter
	case dropDraw < f.DropRate:
		pl.outcome = Dropped
	case errDraw < f.ErrorRate:
		pl.outcome, pl.status = ServerError, f.ErrorStatus
		if pl.status == 0 {
			pl.status = http.StatusServiceUnavailable
		}
	}
	p.records = append(p.records, rec)
	return pl
}

func (p *Proxy) finish(idx int, o Outcome, status int) {
	p.mu.Lock()
	p.records[idx].Done = time.Now()
	p.records[idx].Outcome = o
	p.records[idx].Status = status
	p.mu.Unlock()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	arrival := time.Now()
	body, _ := io.ReadAll(r.Body)
	pl := p.decide(arrival, body)
	if !pl.stallUntil.IsZero() {
		t := time.NewTimer(time.Until(pl.stallUntil))
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			p.finish(pl.idx, Abandoned, 0)
			return
		case <-p.closed:
			t.Stop()
			p.finish(pl.idx, Abandoned, 0)
			return
		}
	}
	// Each outcome is recorded before the client can see it, so that a
	// test reading Counts after its call returned finds it there.
	switch pl.outcome {
	case Dropped:
		p.finish(pl.idx, Dropped, 0)
		p.drop(w)
	case TooMany:
		if pl.retryAfter >= 0 {
			w.Header().Set("Retry-After", strconv.Itoa(pl.retryAfter))
		}
		p.finish(pl.idx, TooMany, pl.status)
		http.Error(w, "rate limit exceeded", pl.status)
	case ServerError:
		p.finish(pl.idx, ServerError, pl.status)
		http.Error(w, "injected failure", pl.status)
	default:
		p.forward(w, r, body, pl.idx)
	}
}

// drop closes the connection without writing an answer.
func (p *Proxy) drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: the server resets the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

// forward sends the request to the target and copies the answer back,
// recording the outcome (under idx) before the client sees it.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, body []byte, idx int) {
	u := *p.target
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-p.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		p.finish(idx, UpstreamError, http.StatusBadGateway)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for _, k := range []string{"Content-Type", "Authorization", "Accept"} {
		if v := r.Header.Get(k); v != "" {
			out.Header.Set(k, v)
		}
	}
	res, err := p.transport.RoundTrip(out)
	if err != nil {
		p.finish(idx, UpstreamError, http.StatusBadGateway)
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	// Read the whole answer first: the outcome is recorded before the
	// client can have any of it.
	data, err := io.ReadAll(res.Body)
	if err != nil {
		p.finish(idx, UpstreamError, http.StatusBadGateway)
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	for _, k := range []string{"Content-Type", "Retry-After"} {
		if v := res.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	p.finish(idx, Forwarded, res.StatusCode)
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(data)
}

// countCalls is the number of JSON-RPC calls in a body: the elements of a
// batch, else 1.
func countCalls(body []byte) int {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '[' {
		return 1
	}
	var arr []json.RawMessage
	if json.Unmarshal(b, &arr) != nil {
		return 1
	}
	return len(arr)
}
