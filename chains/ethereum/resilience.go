package ethereum

// What keeps the JSON-RPC client going against hosted providers and failing
// nodes: a rate limit per endpoint, retries with full-jitter backoff and the
// server's Retry-After, a circuit breaker per endpoint, failover to the
// fallback endpoints, and counters of all of it.
//
// The rules of one request (one HTTP request body: a single call or a batch):
//
//   - Endpoints are tried in the order given (the primary, then each
//     fallback), skipping those whose breaker is open. A request whose
//     preferred endpoint comes back goes back to it.
//   - On one endpoint a request makes at most 1+Retries attempts. Between
//     them it waits a full-jitter backoff, or the server's Retry-After
//     (which pauses every request to that endpoint, not only this one).
//   - It leaves an endpoint for the next one when its attempts there are
//     spent or the endpoint's breaker has opened; it does not wait before
//     trying the next one.
//   - When every endpoint it may still try is open, it waits for the
//     earliest cool-down to end (or its context) and then probes.
//   - When its attempts are spent everywhere, it fails with one error
//     naming every endpoint (redacted) and the last failure.
//   - Timeouts, dropped connections, 408, 429 and 5xx are retried; JSON-RPC
//     errors, other 4xx and certificate failures are not (they would fail
//     the same way again).
//   - The breaker counts timeouts, dropped connections, 408 and 5xx. A 429
//     is not a failing node but one asking to slow down, which its
//     Retry-After pause does: it neither opens the circuit nor closes it.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/ratelimit"
	"github.com/chaintrace/chaintrace/internal/retry"
)

// Defaults of the resilience options.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
	DefaultMaxRetryAfter   = time.Minute
)

// rateHeadroom is the share of RequestsPerSecond the token bucket actually
// spaces requests at. A provider counts requests as they arrive, and
// arrivals wander: the network's jitter, or a busy client machine whose
// process stalls and then sends two due requests together, moves a request
// next to the one after it. At 90% of the rate, R+1 requests span 1.11 s,
// so arrivals may be squeezed by 110 ms before the provider counts more
// than R in a second (on a loaded 2-core test machine we measured up to
// 80 ms). The cost is a tenth of the allowed throughput, far less than a
// 429's Retry-After.
const rateHeadroom = 0.9

// Results of one HTTP request to a node, as Stats counts them. Every
// request sent counts under exactly one.
const (
	ResultOK        = "ok"         // answered, no call in it failed
	ResultRPCError  = "rpc_error"  // answered, with a JSON-RPC error for a call or the whole request
	ResultBadAnswer = "bad_answer" // answered 2xx with a body that is not a JSON-RPC answer
	ResultHTTP429   = "http_429"   // too many requests
	ResultHTTP5xx   = "http_5xx"   // a server error
	ResultHTTP4xx   = "http_4xx"   // any other status (401, 403, 404...): not retried
	ResultTimeout   = "timeout"    // no answer within Timeout, or HTTP 408
	ResultConnError = "conn_error" // refused, reset, closed without an answer, TLS failure
	ResultCanceled  = "canceled"   // sent, then given up by the caller (its context ended)
)

// Results lists the result names in a fixed order (for an exporter that
// must show zero counts too).
var Results = []string{ResultOK, ResultRPCError, ResultBadAnswer, ResultHTTP429, ResultHTTP5xx, ResultHTTP4xx, ResultTimeout, ResultConnError, ResultCanceled}

type result int

const (
	resOK result = iota
	resRPCError
	resBadAnswer
	resHTTP429
	resHTTP5xx
	resHTTP4xx
	resTimeout
	resConnError
	resCanceled
	numResults
)

// Breaker states, as EndpointStats.Breaker names them.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half-open"
)

// EndpointStats is what one endpoint of a Client did since the client was
// made.
type EndpointStats struct {
	Endpoint string `json:"endpoint"` // redacted URL
	// Requests counts the HTTP requests sent to the endpoint by result
	// (the Result* names; every name is present).
	Requests map[string]int64 `json:"requests"`
	// Retries counts requests sent again to this endpoint after failing
	// on it.
	Retries int64 `json:"retries"`
	// BreakerOpens counts the times the circuit opened (a failed
	// half-open probe opens it again and counts again).
	BreakerOpens int64 `json:"breaker_opens"`
	// Failovers counts requests that left this endpoint for another after
	// failing on it.
	Failovers int64 `json:"failovers"`
	// Skipped counts requests that passed this endpoint over, without
	// trying it, because its circuit was open.
	Skipped int64 `json:"skipped"`
	// Breaker is the circuit's state now: closed, open or half-open.
	Breaker string `json:"breaker"`
}

// Total is the number of HTTP requests sent to the endpoint.
func (s EndpointStats) Total() int64 {
	var n int64
	for _, v := range s.Requests {
		n += v
	}
	return n
}

// Stats reports, per endpoint (the primary first, then the fallbacks in
// order), the requests by result, retries, breaker openings and failovers.
// It is safe to call at any time, from any goroutine.
func (c *Client) Stats() []EndpointStats {
	out := make([]EndpointStats, len(c.eps))
	for i, ep := range c.eps {
		s := EndpointStats{
			Endpoint:     ep.redacted,
			Requests:     make(map[string]int64, numResults),
			Retries:      ep.retries.Load(),
			BreakerOpens: ep.br.opens.Load(),
			Failovers:    ep.failovers.Load(),
			Skipped:      ep.skipped.Load(),
			Breaker:      ep.br.State(),
		}
		for r := range numResults {
			s.Requests[Results[r]] = ep.counts[r].Load()
		}
		out[i] = s
	}
	return out
}

// Endpoints are the redacted URLs of the client's endpoints, the primary
// first.
func (c *Client) Endpoints() []string {
	out := make([]string, len(c.eps))
	for i, ep := range c.eps {
		out[i] = ep.redacted
	}
	return out
}

// endpoint is one node URL with its own connections, rate limit, breaker
// and counters.
type endpoint struct {
	url      string
	redacted string
	http     *http.Client
	basic    bool // send User/Pass (the URL holds no credentials of its own)
	sem      chan struct{}
	limit    *ratelimit.Bucket // nil: unlimited
	br       *breaker

	pauseMu   sync.Mutex
	notBefore time.Time // the server's Retry-After, for every request

	counts                      [numResults]atomic.Int64
	retries, failovers, skipped atomic.Int64
}

func newEndpoint(raw string, opts *RPCOptions, notify func()) *endpoint {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Keep a connection per request in flight; the default of two idle
	// connections per host would reconnect for every further request.
	tr.MaxIdleConnsPerHost = opts.Concurrency
	// Compressing answers pays off across a network, not across loopback,
	// where it only costs CPU on both sides of the same machine.
	tr.DisableCompression = isLoopback(raw)
	if opts.TLSConfig != nil {
		tr.TLSClientConfig = opts.TLSConfig
	}
	ep := &endpoint{
		url:      raw,
		redacted: chains.RedactURL(raw),
		// No client timeout: each attempt has its own context deadline,
		// which tells a stall (retried) from the caller giving up (not).
		http: &http.Client{Transport: tr},
		sem:  make(chan struct{}, opts.Concurrency),
	}
	ep.basic = opts.User != "" && !hasUserInfo(raw)
	if opts.RequestsPerSecond > 0 {
		ep.limit = ratelimit.New(opts.RequestsPerSecond*rateHeadroom, opts.Burst)
	}
	ep.br = &breaker{
		threshold: opts.BreakerFailures,
		cooldown:  opts.BreakerCooldown,
		endpoint:  ep.redacted,
		log:       opts.Logger,
		notify:    notify,
	}
	return ep
}

func hasUserInfo(raw string) bool {
	i := strings.Index(raw, "://")
	if i < 0 {
		return false
	}
	rest := raw[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	return strings.Contains(rest, "@")
}

// pause holds every request to the endpoint until t (a Retry-After).
func (ep *endpoint) pause(t time.Time) {
	ep.pauseMu.Lock()
	if t.After(ep.notBefore) {
		ep.notBefore = t
	}
	ep.pauseMu.Unlock()
}

func (ep *endpoint) waitPause(ctx context.Context) error {
	for {
		ep.pauseMu.Lock()
		d := time.Until(ep.notBefore)
		ep.pauseMu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errCircuitMoved: the endpoint's circuit opened while the request waited
// for a connection slot or the rate limit; it was not sent.
var errCircuitMoved = errors.New("circuit opened while the request queued")

// attemptError is one failed attempt.
type attemptError struct {
	result    result
	wait      time.Duration // the server's Retry-After, if any
	permanent bool          // a retry would fail the same way
	msg       string        // with the URL redacted
}

func (e *attemptError) Error() string { return e.msg }

// classify sorts a transport error (from sending, or reading the answer).
// ctx is the caller's context, whose end is not the node's failure.
func classify(err error, timeout time.Duration, ep *endpoint) *attemptError {
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &attemptError{result: resTimeout, msg: fmt.Sprintf("no answer within %v (timeout)", timeout)}
	case errors.As(err, &ne) && ne.Timeout():
		return &attemptError{result: resTimeout, msg: scrub(err, ep.url, ep.redacted).Error()}
	case errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci):
		return &attemptError{result: resConnError, permanent: true, msg: scrub(err, ep.url, ep.redacted).Error()}
	default:
		return &attemptError{result: resConnError, msg: scrub(err, ep.url, ep.redacted).Error()}
	}
}

// do sends one request body under the rules at the top of this file and
// returns the answer and the endpoint that gave it.
func (c *Client) do(ctx context.Context, body []byte, what string) ([]byte, *endpoint, error) {
	n := len(c.eps)
	tries := make([]int, n)
	skipped := make([]bool, n)
	total := 0
	var lastErr error
	lastEp := -1
	for {
		changed := c.changes() // before looking, so no change is missed
		pick, tk, wake, left := -1, ticket{}, time.Time{}, false
		now := time.Now()
		for i, ep := range c.eps {
			if tries[i] > c.opts.Retries {
				continue
			}
			left = true
			t, ok, until := ep.br.allow(now)
			if ok {
				pick, tk = i, t
				break
			}
			if !skipped[i] && tries[i] == 0 {
				skipped[i] = true
				ep.skipped.Add(1)
			}
			if !until.IsZero() && (wake.IsZero() || until.Before(wake)) {
				wake = until
			}
		}
		if !left {
			return nil, nil, c.exhausted(what, lastEp, lastErr, total)
		}
		if pick < 0 {
			c.opts.Logger.Debug("every node endpoint is open, waiting for a cool-down", "call", what, "until", wake)
			if err := waitChange(ctx, wake, changed); err != nil {
				return nil, nil, err
			}
			continue
		}
		ep := c.eps[pick]
		data, sent, err := c.attempt(ctx, ep, body, tk)
		if errors.Is(err, errCircuitMoved) {
			continue // the circuit opened while this request queued: choose again
		}
		if tries[pick] > 0 {
			ep.retries.Add(1)
		}
		tries[pick]++
		total++
		if err == nil {
			ep.br.done(tk, verdictSuccess, "")
			return data, ep, nil
		}
		var ae *attemptError
		if ctx.Err() != nil || !errors.As(err, &ae) {
			ep.br.done(tk, verdictNone, "")
			if sent {
				ep.counts[resCanceled].Add(1)
			}
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, err
		}
		if sent {
			ep.counts[ae.result].Add(1)
		}
		if ae.permanent {
			// The endpoint answered (or is misconfigured): the breaker
			// learns nothing from it.
			ep.br.done(tk, verdictNone, "")
			return nil, nil, fmt.Errorf("%w: %s: %s: %v (after %d attempts)", ErrNodeUnavailable, ep.redacted, what, ae, total)
		}
		if ae.result == resHTTP429 {
			// Alive, and asking us to slow down: the Retry-After pause
			// does that; it is no sign of a failing node.
			ep.br.done(tk, verdictNone, "")
		} else {
			ep.br.done(tk, verdictFailure, ae.msg)
		}
		lastErr, lastEp = ae, pick
		if ae.wait > 0 {
			ep.pause(time.Now().Add(ae.wait))
		}
		if tries[pick] <= c.opts.Retries && ep.br.State() == BreakerClosed {
			wait := ae.wait
			if wait == 0 {
				wait = retry.FullJitter(c.opts.Backoff, c.opts.MaxBackoff, tries[pick]-1)
			}
			c.opts.Logger.Warn("node request failed, retrying", "endpoint", ep.redacted, "call", what, "attempt", tries[pick], "wait", wait, "err", ae.msg)
			if ae.wait == 0 { // a Retry-After is waited out in attempt, by every request
				if err := sleep(ctx, wait); err != nil {
					return nil, nil, err
				}
			}
			continue
		}
		for j := range c.eps {
			if j != pick && tries[j] <= c.opts.Retries {
				ep.failovers.Add(1)
				c.opts.Logger.Warn("node request failed, trying the next endpoint", "endpoint", ep.redacted, "call", what, "attempts", tries[pick], "breaker", ep.br.State(), "err", ae.msg)
				break
			}
		}
	}
}

// exhausted is the error of a request whose attempts are spent everywhere.
func (c *Client) exhausted(what string, last int, err error, total int) error {
	if len(c.eps) == 1 {
		return fmt.Errorf("%w: %s: %s: %v (after %d attempts)", ErrNodeUnavailable, c.eps[0].redacted, what, err, total)
	}
	at := "?"
	if last >= 0 {
		at = c.eps[last].redacted
	}
	return fmt.Errorf("%w: every endpoint failed (%s): %s: last failure at %s: %v (after %d attempts)",
		ErrNodeUnavailable, strings.Join(c.Endpoints(), ", "), what, at, err, total)
}

// waitChange waits until wake (if set), a breaker's state changes, or ctx
// ends; at most a second, so that nothing can be missed for long.
func waitChange(ctx context.Context, wake time.Time, changed <-chan struct{}) error {
	d := time.Second
	if !wake.IsZero() {
		d = min(d, max(time.Until(wake), time.Millisecond))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-changed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// changes is a channel closed at the next breaker state change.
func (c *Client) changes() <-chan struct{} {
	c.chMu.Lock()
	defer c.chMu.Unlock()
	return c.changed
}

func (c *Client) notify() {
	c.chMu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.chMu.Unlock()
}

// breaker is a circuit breaker for one endpoint. Closed: requests go. After
// threshold consecutive failures it opens: requests skip the endpoint until
// the cool-down ends. Then half-open: one request goes as a probe; its
// success closes the circuit, its failure opens it for another cool-down.
// A request that was let through before the state changed does not move
// the circuit when it ends (its generation is stale): only failures seen in
// the closed state count, and only the probe decides.
type breaker struct {
	threshold int // < 0: never opens
	cooldown  time.Duration
	endpoint  string
	log       *slog.Logger
	notify    func()

	mu        sync.Mutex
	state     string
	failures  int // consecutive, in the closed state
	gen       uint64
	openUntil time.Time
	probing   bool
	opens     atomic.Int64
}

// ticket is a request's leave to go: the generation it went in, and
// whether it is the half-open probe.
type ticket struct {
	gen   uint64
	probe bool
}

type verdict int

const (
	verdictNone    verdict = iota // no news of the endpoint (caller gave up, or a deterministic refusal)
	verdictSuccess                // the endpoint answered
	verdictFailure                // a transport failure
)

// State is the circuit's state now.
func (b *breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == "" {
		return BreakerClosed
	}
	return b.state
}

// allow says whether a request may go to the endpoint now; when not,
// until is when the cool-down ends (zero while a probe is under way).
func (b *breaker) allow(now time.Time) (t ticket, ok bool, until time.Time) {
	if b.threshold < 0 {
		return ticket{}, true, time.Time{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		if now.Before(b.openUntil) {
			return ticket{}, false, b.openUntil
		}
		b.state, b.probing = BreakerHalfOpen, true
		b.gen++
		b.log.Info("node endpoint circuit half-open: one probe request decides", "endpoint", b.endpoint)
		return ticket{gen: b.gen, probe: true}, true, time.Time{}
	case BreakerHalfOpen:
		if b.probing {
			return ticket{}, false, time.Time{}
		}
		b.probing = true
		return ticket{gen: b.gen, probe: true}, true, time.Time{}
	default:
		return ticket{gen: b.gen}, true, time.Time{}
	}
}

// still says whether a request that allow let through may still go, after
// queueing for a connection slot and the rate limit: the probe may; any
// other only if the circuit has not moved since (requests queued behind
// the failures that opened it must not hit the endpoint anyway).
func (b *breaker) still(t ticket) bool {
	if b.threshold < 0 || t.probe {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return t.gen == b.gen
}

// done records how a request that allow let through ended.
func (b *breaker) done(t ticket, v verdict, failure string) {
	if b.threshold < 0 {
		return
	}
	b.mu.Lock()
	changed := false
	switch {
	case t.probe:
		if t.gen != b.gen || b.state != BreakerHalfOpen {
			break
		}
		b.probing = false
		changed = true // a waiting request may probe, or the circuit moved
		switch v {
		case verdictSuccess:
			b.state, b.failures = BreakerClosed, 0
			b.gen++
			b.log.Info("node endpoint circuit closed: the probe succeeded", "endpoint", b.endpoint)
		case verdictFailure:
			b.open(failure, "node endpoint circuit opened again: the probe failed")
		}
	case t.gen != b.gen:
		// Let through before the circuit last moved: stale news.
	case v == verdictSuccess:
		b.failures = 0
	case v == verdictFailure:
		b.failures++
		if b.failures >= b.threshold {
			b.open(failure, "node endpoint circuit opened: requests skip it until the cool-down ends")
			changed = true
		}
	}
	b.mu.Unlock()
	if changed && b.notify != nil {
		b.notify()
	}
}

// open opens the circuit for a cool-down; b.mu is held.
func (b *breaker) open(failure, msg string) {
	b.state = BreakerOpen
	b.openUntil = time.Now().Add(b.cooldown)
	b.gen++
	b.opens.Add(1)
	b.log.Warn(msg, "endpoint", b.endpoint, "consecutive_failures", b.failures, "cooldown", b.cooldown, "last_err", failure)
}
