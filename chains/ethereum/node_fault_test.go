package ethereum_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/internal/faultproxy"
)

// The adapter against a real in-process geth behind a fault-injection
// proxy: what it reads through drops, 5xx, 429s and stalls is what it
// reads straight from the node.

func faultProxy(t *testing.T, target string, seed uint64, f faultproxy.Faults) *faultproxy.Proxy {
	t.Helper()
	p := faultproxy.New(target, faultproxy.Options{Seed: seed, Faults: f})
	t.Cleanup(p.Close)
	return p
}

// sameRows fails the test unless the rows are the same, in the same order.
func sameRows(t *testing.T, what string, want, got []chains.Transfer) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d rows, straight from the node %d", what, len(got), len(want))
	}
	for i := range want {
		if a, b := rowJSON(t, &want[i]), rowJSON(t, &got[i]); a != b {
			t.Fatalf("%s: row %d is\n%s\nstraight from the node\n%s", what, i, b, a)
		}
	}
}

// checkStats: the client counted, per result, what the proxy did.
func checkStats(t *testing.T, s ethereum.EndpointStats, p *faultproxy.Proxy) {
	t.Helper()
	pc := p.Counts()
	if s.Total() != int64(p.Requests()) {
		t.Errorf("%s: the client counted %d requests, the proxy saw %d", s.Endpoint, s.Total(), p.Requests())
	}
	for result, o := range map[string]faultproxy.Outcome{
		ethereum.ResultHTTP429:   faultproxy.TooMany,
		ethereum.ResultHTTP5xx:   faultproxy.ServerError,
		ethereum.ResultConnError: faultproxy.Dropped,
		ethereum.ResultTimeout:   faultproxy.Abandoned,
	} {
		if s.Requests[result] != int64(pc[o]) {
			t.Errorf("%s: the client counted %s %d, the proxy %s %d", s.Endpoint, result, s.Requests[result], o, pc[o])
		}
	}
}

// checkRetryAfter: every request answered 429 was sent again (the same
// body) no sooner than its Retry-After; it returns how many were.
func checkRetryAfter(t *testing.T, p *faultproxy.Proxy, after time.Duration) int {
	t.Helper()
	recs := p.Records()
	n := 0
	for i, r := range recs {
		if r.Outcome != faultproxy.TooMany {
			continue
		}
		for _, next := range recs[i+1:] {
			if next.BodyHash != r.BodyHash {
				continue
			}
			if gap := next.Arrival.Sub(r.Done); gap < after {
				t.Errorf("request %d answered 429 with Retry-After %v was sent again after %v", r.Seq, after, gap)
			}
			n++
			break
		}
	}
	return n
}

// TestAdapterThroughFaults: through a proxy that drops 10% of the
// connections, answers 20% of the rest 503, every 15th request 429 with
// Retry-After: 1, and holds the first request past the client's timeout,
// the adapter detects the node and reads the same rows as straight from it.
func TestAdapterThroughFaults(t *testing.T) {
	s := buildScenario(t)
	ctx := context.Background()
	direct, err := ethereum.Dial(ctx, s.node.URL(), ethereum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fetchAll(t, direct, s.first, s.last)

	p := faultProxy(t, s.node.URL(), 11, faultproxy.Faults{DropRate: 0.1, ErrorRate: 0.2, TooManyEvery: 15, RetryAfter: 1})
	p.StallNext(1, time.Minute)
	start := time.Now()
	a, err := ethereum.Dial(ctx, p.URL(), ethereum.Options{RPC: ethereum.RPCOptions{BatchSize: 1, Concurrency: 4,
		Timeout: time.Second, Retries: 12, Backoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		BreakerCooldown: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if caps, dcaps := a.Capabilities(), direct.Capabilities(); caps.TraceMethod() != dcaps.TraceMethod() || caps.BlockReceipts != dcaps.BlockReceipts || caps.ChainID != dcaps.ChainID {
		t.Errorf("capabilities through the faults %+v, straight %+v", caps, dcaps)
	}
	got, _ := fetchAll(t, a, s.first, s.last)
	sameRows(t, "through the faults", want, got)
	counts := p.Counts()
	t.Logf("%d requests in %v: %v; client stats %+v", p.Requests(), time.Since(start).Round(time.Millisecond), counts, a.RPC().Stats()[0])
	for _, o := range []faultproxy.Outcome{faultproxy.Dropped, faultproxy.ServerError, faultproxy.TooMany, faultproxy.Abandoned} {
		if counts[o] == 0 {
			t.Errorf("no request was %s: the fault was not exercised", o)
		}
	}
	checkStats(t, a.RPC().Stats()[0], p)
	if n := checkRetryAfter(t, p, time.Second); n != counts[faultproxy.TooMany] {
		t.Errorf("%d of %d 429s were retried", n, counts[faultproxy.TooMany])
	}
}

// TestAdapterRateLimitAtTheNode: a block range read one call per request
// at 10 requests a second: the proxy never counts more than 10 in a second.
func TestAdapterRateLimitAtTheNode(t *testing.T) {
	s := buildScenario(t)
	ctx := context.Background()
	direct, err := ethereum.Dial(ctx, s.node.URL(), ethereum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fetchAll(t, direct, s.first, s.last)
	p := faultProxy(t, s.node.URL(), 1, faultproxy.Faults{})
	a, err := ethereum.Dial(ctx, p.URL(), ethereum.Options{RPC: ethereum.RPCOptions{BatchSize: 1, Concurrency: 4, RequestsPerSecond: 10, Burst: 1}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := fetchAll(t, a, s.first, s.last)
	sameRows(t, "rate-limited", want, got)
	max1s := faultproxy.MaxCount(p.Arrivals(), time.Second)
	t.Logf("%d requests; at most %d in any second (limit 10)", p.Requests(), max1s)
	if max1s > 10 {
		t.Errorf("the node saw %d requests in one second, limit 10", max1s)
	}
	if p.Requests() < 20 {
		t.Errorf("only %d requests: too few to test a limit of 10 a second", p.Requests())
	}
}

// TestAdapterFailsOverAndComesBack: two proxies in front of the same node.
// The primary goes down: its circuit opens after 3 failures and the reads
// go to the fallback, with the same rows. It comes back: after the
// cool-down a probe closes its circuit and the reads return to it.
func TestAdapterFailsOverAndComesBack(t *testing.T) {
	s := buildScenario(t)
	ctx := context.Background()
	direct, err := ethereum.Dial(ctx, s.node.URL(), ethereum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fetchAll(t, direct, s.first, s.last)
	primary := faultProxy(t, s.node.URL(), 1, faultproxy.Faults{})
	fallback := faultProxy(t, s.node.URL(), 2, faultproxy.Faults{})
	const cooldown = 300 * time.Millisecond
	a, err := ethereum.Dial(ctx, primary.URL(), ethereum.Options{RPC: ethereum.RPCOptions{BatchSize: 2, Retries: 5, Backoff: time.Millisecond,
		BreakerFailures: 3, BreakerCooldown: cooldown, Fallbacks: []string{fallback.URL()}}})
	if err != nil {
		t.Fatal(err)
	}
	if fallback.Requests() != 0 {
		t.Errorf("the fallback was asked %d requests while the primary was up", fallback.Requests())
	}

	primary.SetDown(true)
	got, _ := fetchAll(t, a, s.first, s.last)
	sameRows(t, "primary down", want, got)
	st := a.RPC().Stats()
	t.Logf("primary down: primary %+v, fallback %+v", st[0], st[1])
	if st[0].BreakerOpens < 1 || st[0].Failovers == 0 || st[1].Requests[ethereum.ResultOK] == 0 {
		t.Errorf("primary down: primary %+v, fallback %+v", st[0], st[1])
	}
	// The 3 failures that open it, the requests already in flight then
	// (at most 3 more, concurrency 4), and one probe per later opening.
	if down := primary.Counts()[faultproxy.Dropped]; down < 3 || down > 3+3+int(st[0].BreakerOpens-1) {
		t.Errorf("the down primary was tried %d times, its circuit opened %d times", down, st[0].BreakerOpens)
	}

	primary.SetDown(false)
	time.Sleep(cooldown + 50*time.Millisecond)
	before := primary.Requests()
	got, _ = fetchAll(t, a, s.first, s.last)
	sameRows(t, "primary back", want, got)
	st = a.RPC().Stats()
	if st[0].Breaker != ethereum.BreakerClosed || primary.Requests() == before {
		t.Errorf("primary back: %d new requests to it; primary %+v", primary.Requests()-before, st[0])
	}
	// While the probe was out, other requests may have gone to the
	// fallback; now the circuit is closed, all go to the primary.
	fbBefore := fallback.Requests()
	got, _ = fetchAll(t, a, s.first, s.last)
	sameRows(t, "primary back, again", want, got)
	if fallback.Requests() != fbBefore {
		t.Errorf("with the primary's circuit closed the fallback got %d requests", fallback.Requests()-fbBefore)
	}
	st = a.RPC().Stats()
	checkStats(t, st[0], primary)
	checkStats(t, st[1], fallback)
}

// TestAdapterAllEndpointsDown: with the primary and the fallback both down,
// a read spends its retries on each and fails with one error naming both
// endpoints, redacted, and the last failure.
func TestAdapterAllEndpointsDown(t *testing.T) {
	s := buildScenario(t)
	ctx := context.Background()
	primary := faultProxy(t, s.node.URL(), 1, faultproxy.Faults{})
	fallback := faultProxy(t, s.node.URL(), 2, faultproxy.Faults{})
	a, err := ethereum.Dial(ctx, primary.URL()+"/v3/0123456789abcdef0123456789abcdef", ethereum.Options{RPC: ethereum.RPCOptions{
		Retries: 2, Backoff: time.Millisecond, BreakerFailures: 2, BreakerCooldown: 100 * time.Millisecond,
		Fallbacks: []string{fallback.URL() + "/key/supersecretapikey123456"}}})
	if err != nil {
		t.Fatal(err)
	}
	primary.SetDown(true)
	fallback.SetFaults(faultproxy.Faults{ErrorRate: 1, ErrorStatus: 502})
	start := time.Now()
	_, err = a.Head(ctx)
	if !errors.Is(err, ethereum.ErrNodeUnavailable) {
		t.Fatalf("want ErrNodeUnavailable, got %v", err)
	}
	msg := err.Error()
	t.Logf("after %v: %s", time.Since(start).Round(time.Millisecond), msg)
	for _, w := range []string{"every endpoint failed", primary.URL() + "/v3/REDACTED", fallback.URL() + "/key/REDACTED", "last failure at " + fallback.URL(), "502", "after 6 attempts"} {
		if !strings.Contains(msg, w) {
			t.Errorf("the error does not say %q", w)
		}
	}
	if strings.Contains(msg, "0123456789abcdef") || strings.Contains(msg, "supersecret") {
		t.Errorf("the error leaks a key")
	}
	if n := primary.Counts()[faultproxy.Dropped]; n != 3 {
		t.Errorf("the primary was tried %d times after going down, want 1 + 2 retries", n)
	}
}

// TestAdapterOutlastsAStall: the node hangs for 4 s, far past the client's
// 500 ms timeout. Requests time out, the circuit opens, probes time out and
// reopen it; once the node answers again a probe closes it and the read
// completes with the same rows.
func TestAdapterOutlastsAStall(t *testing.T) {
	s := buildScenario(t)
	ctx := context.Background()
	direct, err := ethereum.Dial(ctx, s.node.URL(), ethereum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fetchAll(t, direct, s.first, s.last)
	p := faultProxy(t, s.node.URL(), 1, faultproxy.Faults{})
	a, err := ethereum.Dial(ctx, p.URL(), ethereum.Options{RPC: ethereum.RPCOptions{BatchSize: 4, Timeout: 500 * time.Millisecond,
		Retries: 10, Backoff: 10 * time.Millisecond, BreakerFailures: 3, BreakerCooldown: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	const stall = 4 * time.Second
	p.StallFor(stall)
	start := time.Now()
	got, _ := fetchAll(t, a, s.first, s.last)
	took := time.Since(start)
	sameRows(t, "after the stall", want, got)
	st := a.RPC().Stats()[0]
	t.Logf("read in %v: %+v", took.Round(time.Millisecond), st)
	if took < stall {
		t.Errorf("read in %v, within the %v stall", took, stall)
	}
	if took > stall+5*time.Second {
		t.Errorf("read in %v: the client was slow to come back after the %v stall", took, stall)
	}
	if st.Requests[ethereum.ResultTimeout] < 3 || st.BreakerOpens < 1 || st.Breaker != ethereum.BreakerClosed {
		t.Errorf("stats %+v", st)
	}
	checkStats(t, st, p)
}
