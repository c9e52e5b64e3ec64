package ethereum

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/retry"
)

// RPCOptions tune the JSON-RPC client.
type RPCOptions struct {
	BatchSize   int           // calls per HTTP request; geth refuses more than 1000
	Concurrency int           // HTTP requests in flight at once, per endpoint
	Timeout     time.Duration // per HTTP request: one that stalls longer is cancelled and retried
	// Retries is the number of attempts after the first that a request
	// makes on each endpoint, on transient failures (timeouts, dropped
	// connections, HTTP 408, 429, 5xx). Deterministic failures (JSON-RPC
	// errors, other 4xx) are not retried.
	Retries    int
	Backoff    time.Duration // first retry's backoff step, doubled per attempt, full jitter
	MaxBackoff time.Duration
	// MaxRetryAfter caps a server's Retry-After; default 1 minute.
	MaxRetryAfter time.Duration
	Logger        *slog.Logger
	// TLSConfig, if set, is used for https endpoints (btcd serves its RPC
	// over HTTPS with a self-signed certificate).
	TLSConfig *tls.Config
	// User and Pass, if User is set, are sent as HTTP basic auth to every
	// endpoint whose URL holds no user info of its own (an endpoint's own
	// user info is its credentials).
	User, Pass string
	// JSONRPCVersion is the "jsonrpc" member of requests: "2.0" (default)
	// or "1.0" for Bitcoin Core and btcd. With "1.0" an error answer that
	// comes with HTTP status 404 or 500 (Bitcoin Core's way) is read as the
	// JSON-RPC error it holds, not as a transport failure.
	JSONRPCVersion string

	// Fallbacks are more endpoints of the same chain (and the same kind of
	// node: the adapter detects capabilities on whichever answers). A
	// request that fails on one endpoint, after its retries there or
	// because the endpoint's circuit is open, goes to the next.
	Fallbacks []string
	// RequestsPerSecond limits the HTTP requests sent to each endpoint (a
	// JSON-RPC batch is one request, a retry is another); 0: unlimited.
	// Requests are spaced at 90% of it, so that jitter on the way does not
	// make the provider count more than the limit in a second.
	RequestsPerSecond float64
	// Burst is how many requests may go at once before the rate applies;
	// default 1.
	Burst int
	// BreakerFailures is the number of consecutive transport failures
	// after which an endpoint's circuit opens: it is skipped for
	// BreakerCooldown, then one probe request decides whether it is back.
	// Default 5; negative: never open.
	BreakerFailures int
	// BreakerCooldown defaults to 30 s.
	BreakerCooldown time.Duration
}

func (o *RPCOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.BatchSize > 1000 {
		o.BatchSize = 1000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.JSONRPCVersion == "" {
		o.JSONRPCVersion = "2.0"
	}
	if o.RequestsPerSecond < 0 {
		o.RequestsPerSecond = 0
	}
	if o.Burst <= 0 {
		o.Burst = 1
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = DefaultBreakerFailures
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = DefaultBreakerCooldown
	}
}

// Client is a JSON-RPC 2.0 client over HTTP, to one endpoint and its
// fallbacks (see resilience.go). It is safe for concurrent use.
type Client struct {
	eps      []*endpoint // the primary, then the fallbacks
	endpoint string      // the primary, redacted, for messages and provenance
	opts     RPCOptions
	nextID   atomic.Uint64
	calls    atomic.Int64 // JSON-RPC calls sent (a batch of n counts n)
	requests atomic.Int64 // HTTP requests sent

	chMu    sync.Mutex
	changed chan struct{} // closed at a breaker's state change
}

// NewClient makes a client for the endpoint URL and opts.Fallbacks; it makes
// no call.
func NewClient(url string, opts RPCOptions) *Client {
	opts.defaults()
	c := &Client{
		endpoint: chains.RedactURL(url),
		opts:     opts,
		changed:  make(chan struct{}),
	}
	for _, u := range append([]string{url}, opts.Fallbacks...) {
		c.eps = append(c.eps, newEndpoint(u, &c.opts, c.notify))
	}
	return c
}

func isLoopback(raw string) bool {
	u, err := neturl.Parse(raw)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Endpoint is the primary endpoint's redacted URL.
func (c *Client) Endpoint() string { return c.endpoint }

// Calls is the number of JSON-RPC calls sent so far.
func (c *Client) Calls() int64 { return c.calls.Load() }

// Requests is the number of HTTP requests sent so far, to every endpoint.
func (c *Client) Requests() int64 { return c.requests.Load() }

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

// rpcResponse is one answer as splitResponses finds it; ID and Result
// alias the HTTP body they were read from.
type rpcResponse struct {
	ID     []byte
	Result []byte
	Error  *RPCError
}

// BatchElem is one call of a batch. After Batch returns, Result holds the
// raw result (JSON null stays "null") or Error the call's own error.
type BatchElem struct {
	Method string
	Params []any
	Result json.RawMessage
	Error  error
}

// Call makes one call and decodes its result into result (if not nil).
func (c *Client) Call(ctx context.Context, result any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	elems := []BatchElem{{Method: method, Params: params}}
	if err := c.batch(ctx, elems, false); err != nil {
		return err
	}
	if elems[0].Error != nil {
		return elems[0].Error
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(elems[0].Result, result); err != nil {
		return fmt.Errorf("%s: decoding %s result: %w", c.endpoint, method, err)
	}
	return nil
}

// Batch sends the calls in batches of at most BatchSize, concurrently up to
// Concurrency requests. The returned error is a transport failure; per-call
// errors are in the elements.
func (c *Client) Batch(ctx context.Context, elems []BatchElem) error {
	return c.batch(ctx, elems, true)
}

func (c *Client) batch(ctx context.Context, elems []BatchElem, asBatch bool) error {
	if len(elems) == 0 {
		return nil
	}
	if len(elems) == 1 && !asBatch {
		return c.send(ctx, elems, false)
	}
	chunks := (len(elems) + c.opts.BatchSize - 1) / c.opts.BatchSize
	errs := make(chan error, chunks)
	for i := 0; i < len(elems); i += c.opts.BatchSize {
		part := elems[i:min(i+c.opts.BatchSize, len(elems))]
		go func() { errs <- c.send(ctx, part, true) }()
	}
	var first error
	for range chunks {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	// A node caps the size of a batch's answer (geth: 25 MB) and answers
	// the calls past the cap with an error; those are asked again alone.
	for i := range elems {
		if tooLarge(elems[i].Error) && asBatch {
			elems[i].Error = nil
			if err := c.send(ctx, elems[i:i+1], false); err != nil {
				return err
			}
		}
	}
	return nil
}

func tooLarge(err error) bool {
	var re *RPCError
	return errors.As(err, &re) && (re.Code == -32003 || re.Message == "response too large")
}

// send performs one HTTP request (a batch, or a single call) with retries.
func (c *Client) send(ctx context.Context, elems []BatchElem, asBatch bool) error {
	reqs := make([]rpcRequest, len(elems))
	ids := make(map[uint64]int, len(elems))
	for i, e := range elems {
		id := c.nextID.Add(1)
		params := e.Params
		if params == nil {
			params = []any{}
		}
		reqs[i] = rpcRequest{JSONRPC: c.opts.JSONRPCVersion, ID: id, Method: e.Method, Params: params}
		ids[id] = i
	}
	var body []byte
	var err error
	if asBatch {
		body, err = json.Marshal(reqs)
	} else {
		body, err = json.Marshal(reqs[0])
	}
	if err != nil {
		return fmt.Errorf("encoding request: %w", err)
	}
	what := elems[0].Method
	if len(elems) > 1 {
		what = fmt.Sprintf("batch of %d calls (%s, ...)", len(elems), what)
	}
	resp, ep, err := c.do(ctx, body, what)
	if err != nil {
		return err
	}
	c.calls.Add(int64(len(elems)))
	err = c.decode(resp, elems, ids, asBatch, what, ep.redacted)
	res := resOK
	switch {
	case errors.Is(err, ErrInconsistent):
		res = resBadAnswer
	case err != nil:
		res = resRPCError
	default:
		for i := range elems {
			if elems[i].Error != nil {
				res = resRPCError
				break
			}
		}
	}
	ep.counts[res].Add(1)
	return err
}

func (c *Client) decode(resp []byte, elems []BatchElem, ids map[uint64]int, asBatch bool, what, endpoint string) error {
	answers, isBatch, err := splitResponses(resp)
	if err != nil {
		return fmt.Errorf("%w: %s: %s: malformed answer: %v", ErrInconsistent, endpoint, what, err)
	}
	if !isBatch && asBatch && len(answers) == 1 && (len(answers[0].ID) == 0 || string(answers[0].ID) == "null") && answers[0].Error != nil {
		// The whole batch was refused (too many calls, batches disabled).
		return fmt.Errorf("%s: %s refused: %w", endpoint, what, answers[0].Error)
	}
	seen := 0
	for _, a := range answers {
		id, err := strconv.ParseUint(string(bytes.Trim(a.ID, `"`)), 10, 64)
		if err != nil {
			continue
		}
		i, ok := ids[id]
		if !ok {
			continue
		}
		seen++
		if a.Error != nil {
			elems[i].Error = a.Error
			continue
		}
		if len(a.Result) == 0 {
			a.Result = []byte("null")
		}
		elems[i].Result = json.RawMessage(a.Result)
	}
	if seen != len(elems) {
		for i := range elems {
			if elems[i].Result == nil && elems[i].Error == nil {
				elems[i].Error = fmt.Errorf("%w: %s: no answer to %s", ErrInconsistent, endpoint, elems[i].Method)
			}
		}
	}
	return nil
}

// attempt sends one HTTP request to ep, once: it waits for a connection
// slot, the end of a Retry-After pause and the rate limit, then gives the
// node Timeout to answer. A failure is an *attemptError, or the caller's
// context error, or errCircuitMoved (not sent: the circuit opened while
// it queued); sent says whether the request went out.
func (c *Client) attempt(ctx context.Context, ep *endpoint, body []byte, tk ticket) (data []byte, sent bool, err error) {
	select {
	case ep.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	defer func() { <-ep.sem }()
	if err := ep.waitPause(ctx); err != nil {
		return nil, false, err
	}
	if ep.limit != nil {
		if err := ep.limit.Wait(ctx); err != nil {
			return nil, false, err
		}
	}
	if !ep.br.still(tk) {
		return nil, false, errCircuitMoved
	}
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return nil, false, &attemptError{result: resConnError, permanent: true, msg: scrub(err, ep.url, ep.redacted).Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if ep.basic {
		req.SetBasicAuth(c.opts.User, c.opts.Pass)
	}
	c.requests.Add(1)
	chains.CountCall(ctx) // a batch's per-job count of node calls
	res, err := ep.http.Do(req)
	if err == nil {
		defer res.Body.Close()
		if data, err = io.ReadAll(res.Body); err == nil {
			data, err = c.answer(res, data)
			return data, true, err
		}
	}
	if ctx.Err() != nil {
		return nil, true, ctx.Err()
	}
	return nil, true, classify(err, c.opts.Timeout, ep)
}

// answer sorts an HTTP answer: the body to decode, or the failure.
func (c *Client) answer(res *http.Response, data []byte) ([]byte, error) {
	isJSON := len(data) > 0 && (data[0] == '{' || data[0] == '[')
	code := res.StatusCode
	switch {
	case code >= 200 && code < 300:
		return data, nil
	case isJSON && c.opts.JSONRPCVersion == "1.0" && (code == http.StatusNotFound || code == http.StatusInternalServerError) &&
		bytes.Contains(data, []byte(`"error"`)) && bytes.Contains(data, []byte(`"code"`)):
		// Bitcoin Core answers a failed call with 404 (no such method)
		// or 500 (any other error) and the JSON-RPC error in the body.
		return data, nil
	case code == http.StatusTooManyRequests:
		return nil, &attemptError{result: resHTTP429, wait: retry.RetryAfter(res.Header.Get("Retry-After"), c.opts.MaxRetryAfter), msg: "HTTP " + res.Status}
	case code == http.StatusRequestTimeout:
		return nil, &attemptError{result: resTimeout, msg: "HTTP " + res.Status}
	case code >= 500:
		return nil, &attemptError{result: resHTTP5xx, wait: retry.RetryAfter(res.Header.Get("Retry-After"), c.opts.MaxRetryAfter), msg: "HTTP " + res.Status}
	case isJSON && code == http.StatusBadRequest:
		// Some nodes answer JSON-RPC errors with a 4xx status; keep the body.
		return data, nil
	default:
		// Bad credentials, a wrong path: a retry will not mend it.
		return nil, &attemptError{result: resHTTP4xx, permanent: true, msg: "HTTP " + res.Status}
	}
}

// scrub removes the unredacted URL (which may hold an API key) from a
// transport error's text.
func scrub(err error, raw, redacted string) error {
	msg := err.Error()
	if raw == "" {
		return errors.New(msg)
	}
	forms := []string{raw}
	// net/http writes a URL with user info as user:***@host.
	if u, perr := neturl.Parse(raw); perr == nil && u.User != nil {
		forms = append(forms, u.Redacted())
	}
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, strconv.Quote(f), strconv.Quote(redacted))
		msg = strings.ReplaceAll(msg, f, redacted)
	}
	return errors.New(msg)
}

// SendDiscard sends the calls in the batches Batch would, reads every answer
// and throws it away. It measures what the node costs without any decoding
// on this side; it returns the number of bytes received.
func (c *Client) SendDiscard(ctx context.Context, elems []BatchElem) (int64, error) {
	var total atomic.Int64
	errs := make(chan error, (len(elems)+c.opts.BatchSize-1)/c.opts.BatchSize)
	n := 0
	for i := 0; i < len(elems); i += c.opts.BatchSize {
		part := elems[i:min(i+c.opts.BatchSize, len(elems))]
		reqs := make([]rpcRequest, len(part))
		for j, e := range part {
			params := e.Params
			if params == nil {
				params = []any{}
			}
			reqs[j] = rpcRequest{JSONRPC: c.opts.JSONRPCVersion, ID: c.nextID.Add(1), Method: e.Method, Params: params}
		}
		body, err := json.Marshal(reqs)
		if err != nil {
			return 0, err
		}
		n++
		go func() {
			resp, ep, err := c.do(ctx, body, "discarded batch")
			if ep != nil {
				ep.counts[resOK].Add(1)
			}
			total.Add(int64(len(resp)))
			c.calls.Add(int64(len(part)))
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return total.Load(), first
}
