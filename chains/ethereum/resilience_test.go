package ethereum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/faultproxy"
)

// logRecorder is a slog handler that keeps every message.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// count is the number of messages that contain s.
func (l *logRecorder) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

// proxied starts a fault proxy in front of a healthy echo node.
func proxied(t *testing.T, seed uint64, f faultproxy.Faults) *faultproxy.Proxy {
	t.Helper()
	srv, _, _ := echoNode(t, 0, 0, "")
	p := faultproxy.New(srv.URL, faultproxy.Options{Seed: seed, Faults: f})
	t.Cleanup(p.Close)
	return p
}

// calls makes n single calls from conc goroutines; each must answer its
// own method name.
func calls(t *testing.T, c *Client, n, conc int) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var got string
				m := fmt.Sprintf("m%d", i)
				if err := c.Call(context.Background(), &got, m); err != nil || got != m {
					t.Errorf("call %d: %q %v", i, got, err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// checkStatsMatchProxy: what the client counted per result is what the
// proxy did, request for request.
func checkStatsMatchProxy(t *testing.T, s EndpointStats, p *faultproxy.Proxy) {
	t.Helper()
	pc := p.Counts()
	if got, want := s.Total(), int64(p.Requests()); got != want {
		t.Errorf("%s: client counted %d requests, the proxy saw %d", s.Endpoint, got, want)
	}
	for _, tc := range []struct {
		result string
		want   int
	}{
		{ResultHTTP429, pc[faultproxy.TooMany]},
		{ResultHTTP5xx, pc[faultproxy.ServerError]},
		{ResultConnError, pc[faultproxy.Dropped]},
		{ResultTimeout, pc[faultproxy.Abandoned]},
	} {
		if got := s.Requests[tc.result]; got != int64(tc.want) {
			t.Errorf("%s: client counted %s %d, the proxy %d (%v)", s.Endpoint, tc.result, got, tc.want, pc)
		}
	}
}

// TestRateLimitHoldsAtTheServer: 60 calls from 6 goroutines at 20/s with a
// burst of 1, through a proxy failing 30% of requests (so retries take
// tokens too): no second at the server holds more than 20 requests, and the
// limit was the bottleneck (the busiest second is near 20; the client
// spaces requests at 90% of the limit, 18 a second).
func TestRateLimitHoldsAtTheServer(t *testing.T) {
	p := proxied(t, 1, faultproxy.Faults{ErrorRate: 0.3})
	c := NewClient(p.URL(), RPCOptions{RequestsPerSecond: 20, Burst: 1, Concurrency: 4, Retries: 10, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, BreakerFailures: -1})
	calls(t, c, 60, 6)
	max1s := p.MaxRate(time.Second)
	t.Logf("%d requests (%d answered 503); busiest second at the server: %.0f requests, limit 20", p.Requests(), p.Counts()[faultproxy.ServerError], max1s)
	if max1s > 20 {
		t.Errorf("the server saw %.0f requests in one second, limit 20", max1s)
	}
	if max1s < 16 {
		t.Errorf("the busiest second had only %.0f requests: the test did not load the limit", max1s)
	}
	if p.Counts()[faultproxy.ServerError] == 0 {
		t.Error("no request failed: retries were not exercised")
	}
	checkStatsMatchProxy(t, c.Stats()[0], p)
}

// TestBurstThenRate: with a burst of 5 at 10/s the first 5 requests arrive
// together, and after them no second holds more than 10.
func TestBurstThenRate(t *testing.T) {
	p := proxied(t, 1, faultproxy.Faults{})
	c := NewClient(p.URL(), RPCOptions{RequestsPerSecond: 10, Burst: 5, Concurrency: 8})
	calls(t, c, 25, 8)
	arr := p.Arrivals()
	if spread := arr[4].Sub(arr[0]); spread > 80*time.Millisecond {
		t.Errorf("the burst of 5 arrived over %v", spread)
	}
	if n := faultproxy.MaxCount(arr[5:], time.Second); n > 10 {
		t.Errorf("after the burst, %d requests arrived in one second, limit 10", n)
	}
	if n := faultproxy.MaxCount(arr, time.Second); n > 15 {
		t.Errorf("%d requests in the first second, burst 5 + rate 10 allows at most 15", n)
	}
}

// TestRetryAfterIsHonoured: every second request is answered 429 with
// Retry-After: 1; the retry of that request (the same body) arrives at
// least a second after the 429 went out. A Retry-After beyond
// MaxRetryAfter is cut to it.
func TestRetryAfterIsHonoured(t *testing.T) {
	p := proxied(t, 1, faultproxy.Faults{TooManyEvery: 2, RetryAfter: 1})
	c := NewClient(p.URL(), RPCOptions{Concurrency: 2, Retries: 3, Backoff: time.Millisecond})
	calls(t, c, 4, 2)
	recs := p.Records()
	checked := 0
	for i, r := range recs {
		if r.Outcome != faultproxy.TooMany {
			continue
		}
		for _, next := range recs[i+1:] {
			if next.BodyHash == r.BodyHash {
				gap := next.Arrival.Sub(r.Done)
				t.Logf("429 at request %d, its retry %v later", r.Seq, gap.Round(time.Millisecond))
				if gap < time.Second {
					t.Errorf("request %d retried %v after a 429 with Retry-After: 1", r.Seq, gap)
				}
				checked++
				break
			}
		}
	}
	if checked < 2 {
		t.Fatalf("only %d 429s were retried: %+v", checked, recs)
	}
	checkStatsMatchProxy(t, c.Stats()[0], p)

	capped := proxied(t, 1, faultproxy.Faults{TooManyEvery: 1, RetryAfter: 3600})
	c = NewClient(capped.URL(), RPCOptions{Retries: 1, MaxRetryAfter: 300 * time.Millisecond})
	start := time.Now()
	err := c.Call(context.Background(), nil, "x")
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("Retry-After 3600 capped at 300ms: the call took %v", d)
	}
	if !errors.Is(err, ErrNodeUnavailable) || !strings.Contains(err.Error(), "429") {
		t.Errorf("two 429s: %v", err)
	}
}

// TestStallPastTimeoutIsCancelledAndRetried: a request held far longer than
// Timeout is given up after Timeout and sent again; the caller gets its
// answer, and the stall counts as a timeout. A caller that gives up during
// a stall is not a node failure.
func TestStallPastTimeoutIsCancelledAndRetried(t *testing.T) {
	p := proxied(t, 1, faultproxy.Faults{})
	p.StallNext(1, time.Hour)
	c := NewClient(p.URL(), RPCOptions{Timeout: 200 * time.Millisecond, Retries: 2, Backoff: time.Millisecond})
	start := time.Now()
	var got string
	if err := c.Call(context.Background(), &got, "eth_blockNumber"); err != nil || got != "eth_blockNumber" {
		t.Fatalf("%q %v", got, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
		t.Errorf("answered after %v; the stall should cost the 200ms timeout", d)
	}
	waitUntil(t, func() bool { return p.Counts()[faultproxy.Abandoned] == 1 })
	s := c.Stats()[0]
	if s.Requests[ResultTimeout] != 1 || s.Requests[ResultOK] != 1 || s.Retries != 1 {
		t.Errorf("stats %+v", s)
	}
	checkStatsMatchProxy(t, s, p)

	p.StallNext(1, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, nil, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the caller's deadline during a stall: %v", err)
	}
	s = c.Stats()[0]
	if s.Requests[ResultCanceled] != 1 || s.Requests[ResultTimeout] != 1 {
		t.Errorf("a caller's give-up counted as %+v", s.Requests)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDeterministicFailuresAreNotRetried: a JSON-RPC error is the call's
// answer (one request), and a 401 ends the request at once.
func TestDeterministicFailuresAreNotRetried(t *testing.T) {
	srv, reqs, _ := echoNode(t, 0, 0, "")
	fb := proxied(t, 1, faultproxy.Faults{})
	c := NewClient(srv.URL, RPCOptions{Retries: 5, Fallbacks: []string{fb.URL()}})
	err := c.Call(context.Background(), nil, "nope")
	if !methodMissing(err) || reqs.Load() != 1 || fb.Requests() != 0 {
		t.Errorf("a JSON-RPC error: %v after %d requests (%d to the fallback)", err, reqs.Load(), fb.Requests())
	}
	if s := c.Stats()[0]; s.Requests[ResultRPCError] != 1 || s.Retries != 0 {
		t.Errorf("stats %+v", s)
	}

	srv, reqs, _ = echoNode(t, 100, http.StatusForbidden, "")
	c = NewClient(srv.URL, RPCOptions{Retries: 5, Fallbacks: []string{fb.URL()}})
	if err := c.Call(context.Background(), nil, "x"); !errors.Is(err, ErrNodeUnavailable) || !strings.Contains(err.Error(), "403") {
		t.Errorf("403: %v", err)
	}
	if reqs.Load() != 1 || fb.Requests() != 0 {
		t.Errorf("a 403 was retried: %d requests, %d to the fallback", reqs.Load(), fb.Requests())
	}
	if s := c.Stats()[0]; s.Requests[ResultHTTP4xx] != 1 || s.Breaker != BreakerClosed {
		t.Errorf("stats %+v", s)
	}
}

// TestBreakerOpensFailsOverAndComesBack: the primary goes down; after 3
// failures its circuit opens and the request goes to the fallback; further
// requests skip the primary without touching it; once it is back and the
// cool-down has passed, one probe closes the circuit and requests return to
// the primary. Each state change is logged once.
func TestBreakerOpensFailsOverAndComesBack(t *testing.T) {
	primary := proxied(t, 1, faultproxy.Faults{Down: true})
	fallback := proxied(t, 2, faultproxy.Faults{})
	logs := &logRecorder{}
	c := NewClient(primary.URL(), RPCOptions{Retries: 5, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		BreakerFailures: 3, BreakerCooldown: 300 * time.Millisecond, Fallbacks: []string{fallback.URL()}, Logger: slog.New(logs)})
	var got string
	if err := c.Call(context.Background(), &got, "first"); err != nil || got != "first" {
		t.Fatalf("%q %v", got, err)
	}
	st := c.Stats()
	if primary.Requests() != 3 || st[0].Requests[ResultConnError] != 3 || st[0].BreakerOpens != 1 || st[0].Failovers != 1 || st[0].Breaker != BreakerOpen {
		t.Errorf("primary after 3 drops: %d requests, stats %+v", primary.Requests(), st[0])
	}
	if st[1].Requests[ResultOK] != 1 || fallback.Requests() != 1 {
		t.Errorf("fallback: %+v", st[1])
	}
	calls(t, c, 5, 2)
	if primary.Requests() != 3 {
		t.Errorf("the open primary got %d more requests", primary.Requests()-3)
	}
	if st = c.Stats(); st[0].Skipped != 5 || st[1].Requests[ResultOK] != 6 {
		t.Errorf("while open: primary %+v fallback %+v", st[0], st[1])
	}

	primary.SetDown(false)
	time.Sleep(350 * time.Millisecond)
	calls(t, c, 4, 1)
	st = c.Stats()
	if primary.Requests() != 7 || st[0].Breaker != BreakerClosed || st[0].Requests[ResultOK] != 4 || st[1].Requests[ResultOK] != 6 {
		t.Errorf("after the cool-down: primary %d requests %+v, fallback %+v", primary.Requests(), st[0], st[1])
	}
	for _, msg := range []string{"circuit opened", "circuit half-open", "circuit closed", "trying the next endpoint"} {
		if n := logs.count(msg); n != 1 {
			t.Errorf("%q logged %d times, want once", msg, n)
		}
	}
	checkStatsMatchProxy(t, st[0], primary)
	checkStatsMatchProxy(t, st[1], fallback)
}

// TestFailedProbeReopens: a primary still down after the cool-down fails
// its probe; the circuit opens again and the request goes on to the
// fallback.
func TestFailedProbeReopens(t *testing.T) {
	primary := proxied(t, 1, faultproxy.Faults{Down: true})
	fallback := proxied(t, 2, faultproxy.Faults{})
	c := NewClient(primary.URL(), RPCOptions{Retries: 5, Backoff: time.Millisecond, BreakerFailures: 2,
		BreakerCooldown: 100 * time.Millisecond, Fallbacks: []string{fallback.URL()}})
	calls(t, c, 1, 1)
	time.Sleep(150 * time.Millisecond)
	calls(t, c, 1, 1)
	st := c.Stats()
	if primary.Requests() != 3 || st[0].BreakerOpens != 2 || st[0].Breaker != BreakerOpen || st[1].Requests[ResultOK] != 2 {
		t.Errorf("primary %d requests %+v; fallback %+v", primary.Requests(), st[0], st[1])
	}
}

// TestAllOpenWaitsForTheCoolDown: a lone endpoint whose circuit opens is
// waited for, not given up on: the request probes it after the cool-down
// and succeeds. A caller's deadline ends the wait.
func TestAllOpenWaitsForTheCoolDown(t *testing.T) {
	p := proxied(t, 1, faultproxy.Faults{})
	p.DropNext(2)
	c := NewClient(p.URL(), RPCOptions{Retries: 3, Backoff: time.Millisecond, BreakerFailures: 2, BreakerCooldown: 300 * time.Millisecond})
	start := time.Now()
	var got string
	if err := c.Call(context.Background(), &got, "x"); err != nil || got != "x" {
		t.Fatalf("%q %v", got, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answered after %v, before the 300ms cool-down", d)
	}
	if s := c.Stats()[0]; s.Requests[ResultConnError] != 2 || s.Requests[ResultOK] != 1 || s.BreakerOpens != 1 || s.Breaker != BreakerClosed {
		t.Errorf("stats %+v", s)
	}

	p.SetDown(true)
	c = NewClient(p.URL(), RPCOptions{Retries: 3, Backoff: time.Millisecond, BreakerFailures: 2, BreakerCooldown: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := c.Call(ctx, nil, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an open endpoint with an hour's cool-down and a 200ms deadline: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the wait outlived the caller's deadline: %v", d)
	}
}

// TestAllEndpointsDownGivesOneClearError: with every endpoint down the
// request spends its retries on each (waiting out the cool-downs its
// failures open) and fails with one error that names every endpoint,
// redacted, and the last failure.
func TestAllEndpointsDownGivesOneClearError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
	}{{"breakers stay closed", 10}, {"breakers open", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			a := proxied(t, 1, faultproxy.Faults{Down: true})
			b := proxied(t, 2, faultproxy.Faults{ErrorRate: 1})
			c := NewClient(a.URL()+"/v3/0123456789abcdef0123456789abcdef", RPCOptions{Retries: 2, Backoff: time.Millisecond,
				BreakerFailures: tc.failures, BreakerCooldown: 100 * time.Millisecond,
				Fallbacks: []string{b.URL() + "/key/supersecretapikey123456"}})
			start := time.Now()
			err := c.Call(context.Background(), nil, "eth_getBlockByNumber")
			d := time.Since(start)
			if !errors.Is(err, ErrNodeUnavailable) {
				t.Fatalf("want ErrNodeUnavailable, got %v", err)
			}
			msg := err.Error()
			t.Logf("after %v: %s", d.Round(time.Millisecond), msg)
			for _, want := range []string{"every endpoint failed", a.URL() + "/v3/REDACTED", b.URL() + "/key/REDACTED",
				"eth_getBlockByNumber", "last failure at " + b.URL() + "/key/REDACTED", "503", "after 6 attempts"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not say %q", want)
				}
			}
			if strings.Contains(msg, "0123456789abcdef") || strings.Contains(msg, "supersecret") {
				t.Errorf("the error leaks a key: %q", msg)
			}
			if a.Requests() != 3 || b.Requests() != 3 {
				t.Errorf("requests: %d and %d, want 3 each (1 + 2 retries)", a.Requests(), b.Requests())
			}
			if d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestStatsUnderConcurrentUse: batches from many goroutines through faulty
// proxies, with Stats read all the while (run with -race); at the end every
// request the proxies saw is counted once, under its result.
func TestStatsUnderConcurrentUse(t *testing.T) {
	primary := proxied(t, 3, faultproxy.Faults{DropRate: 0.1, ErrorRate: 0.2, TooManyEvery: 9, RetryAfter: 0})
	fallback := proxied(t, 4, faultproxy.Faults{ErrorRate: 0.1})
	c := NewClient(primary.URL(), RPCOptions{BatchSize: 3, Concurrency: 3, Retries: 8, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		BreakerFailures: 3, BreakerCooldown: 50 * time.Millisecond, Fallbacks: []string{fallback.URL()}})
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				for _, s := range c.Stats() {
					_ = s.Total()
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 10; round++ {
				elems := []BatchElem{{Method: "a"}, {Method: "b"}, {Method: "c"}, {Method: "d"}, {Method: "e"}, {Method: "f"}, {Method: "g"}}
				if err := c.Batch(context.Background(), elems); err != nil {
					t.Errorf("batch: %v", err)
					return
				}
				for i, e := range elems {
					if want := `"` + string(rune('a'+i)) + `"`; string(e.Result) != want {
						t.Errorf("elem %d: %s", i, e.Result)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	st := c.Stats()
	t.Logf("primary %+v\nfallback %+v", st[0], st[1])
	checkStatsMatchProxy(t, st[0], primary)
	checkStatsMatchProxy(t, st[1], fallback)
	if ok := st[0].Requests[ResultOK] + st[1].Requests[ResultOK]; ok != 120 {
		t.Errorf("%d requests answered, want 120 (40 batches of 7 in requests of 3)", ok)
	}
	if st[0].Retries == 0 {
		t.Error("no retries on the faulty primary")
	}
}

// TestTooManyRequestsDoNotOpenTheCircuit: an endpoint answering nothing but
// 429 is asked again after each pause, never skipped as failing; the
// request fails after its retries with the 429 named.
func TestTooManyRequestsDoNotOpenTheCircuit(t *testing.T) {
	p := proxied(t, 1, faultproxy.Faults{TooManyEvery: 1, RetryAfter: 0})
	c := NewClient(p.URL(), RPCOptions{Retries: 6, Backoff: time.Millisecond, BreakerFailures: 2, BreakerCooldown: time.Hour})
	err := c.Call(context.Background(), nil, "x")
	if !errors.Is(err, ErrNodeUnavailable) || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "after 7 attempts") {
		t.Errorf("seven 429s: %v", err)
	}
	if s := c.Stats()[0]; s.BreakerOpens != 0 || s.Breaker != BreakerClosed || s.Requests[ResultHTTP429] != 7 {
		t.Errorf("stats %+v", s)
	}
}
