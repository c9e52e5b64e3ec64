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
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/retry"
)

// RPCOptions tune the JSON-RPC client.
type RPCOptions struct {
	BatchSize   int           // calls per HTTP request; geth refuses more than 1000
	Concurrency int           // HTTP requests in flight at once
	Timeout     time.Duration // per HTTP request
	Retries     int           // attempts after the first, on transient failures
	Backoff     time.Duration // first retry delay, doubled per attempt, with jitter
	MaxBackoff  time.Duration
	Logger      *slog.Logger
	// TLSConfig, if set, is used for https endpoints (btcd serves its RPC
	// over HTTPS with a self-signed certificate).
	TLSConfig *tls.Config
	// User and Pass, if User is set, are sent as HTTP basic auth (user info
	// in the URL is sent too, when these are empty).
	User, Pass string
	// JSONRPCVersion is the "jsonrpc" member of requests: "2.0" (default)
	// or "1.0" for Bitcoin Core and btcd. With "1.0" an error answer that
	// comes with HTTP status 404 or 500 (Bitcoin Core's way) is read as the
	// JSON-RPC error it holds, not as a transport failure.
	JSONRPCVersion string
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.JSONRPCVersion == "" {
		o.JSONRPCVersion = "2.0"
	}
}

// Client is a JSON-RPC 2.0 client over HTTP. It is safe for concurrent use.
type Client struct {
	url      string
	endpoint string // redacted, for messages and provenance
	opts     RPCOptions
	http     *http.Client
	sem      chan struct{}
	nextID   atomic.Uint64
	calls    atomic.Int64 // JSON-RPC calls sent (a batch of n counts n)
	requests atomic.Int64 // HTTP requests sent
}

// NewClient makes a client for the endpoint URL; it makes no call.
func NewClient(url string, opts RPCOptions) *Client {
	opts.defaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Keep a connection per request in flight; the default of two idle
	// connections per host would reconnect for every further request.
	tr.MaxIdleConnsPerHost = opts.Concurrency
	// Compressing answers pays off across a network, not across loopback,
	// where it only costs CPU on both sides of the same machine.
	tr.DisableCompression = isLoopback(url)
	if opts.TLSConfig != nil {
		tr.TLSClientConfig = opts.TLSConfig
	}
	return &Client{
		url:      url,
		endpoint: chains.RedactURL(url),
		opts:     opts,
		http:     &http.Client{Timeout: opts.Timeout, Transport: tr},
		sem:      make(chan struct{}, opts.Concurrency),
	}
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

// Endpoint is the redacted endpoint URL.
func (c *Client) Endpoint() string { return c.endpoint }

// Calls is the number of JSON-RPC calls sent so far.
func (c *Client) Calls() int64 { return c.calls.Load() }

// Requests is the number of HTTP requests sent so far.
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
	var resp []byte
	for attempt := 0; ; attempt++ {
		var wait time.Duration
		resp, wait, err = c.post(ctx, body)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var perm *permanentError
		if errors.As(err, &perm) || attempt >= c.opts.Retries {
			return fmt.Errorf("%w: %s: %s: %v (after %d attempts)", ErrNodeUnavailable, c.endpoint, what, err, attempt+1)
		}
		if wait == 0 {
			wait = retry.Backoff(c.opts.Backoff, c.opts.MaxBackoff, attempt)
		}
		c.opts.Logger.Warn("node request failed, retrying", "endpoint", c.endpoint, "call", what, "attempt", attempt+1, "wait", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.calls.Add(int64(len(elems)))
	return c.decode(resp, elems, ids, asBatch, what)
}

func (c *Client) decode(resp []byte, elems []BatchElem, ids map[uint64]int, asBatch bool, what string) error {
	answers, isBatch, err := splitResponses(resp)
	if err != nil {
		return fmt.Errorf("%w: %s: %s: malformed answer: %v", ErrInconsistent, c.endpoint, what, err)
	}
	if !isBatch && asBatch && len(answers) == 1 && (len(answers[0].ID) == 0 || string(answers[0].ID) == "null") && answers[0].Error != nil {
		// The whole batch was refused (too many calls, batches disabled).
		return fmt.Errorf("%s: %s refused: %w", c.endpoint, what, answers[0].Error)
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
				elems[i].Error = fmt.Errorf("%w: %s: no answer to %s", ErrInconsistent, c.endpoint, elems[i].Method)
			}
		}
	}
	return nil
}

// permanentError is an HTTP failure that a retry will not mend (4xx other
// than 408 and 429: bad credentials, wrong path).
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// post sends one HTTP request; wait is the server's Retry-After, if given.
func (c *Client) post(ctx context.Context, body []byte) (resp []byte, wait time.Duration, err error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-c.sem }()
	c.requests.Add(1)
	chains.CountCall(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, &permanentError{err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if c.opts.User != "" {
		req.SetBasicAuth(c.opts.User, c.opts.Pass)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, 0, scrub(err, c.url, c.endpoint)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, 0, scrub(err, c.url, c.endpoint)
	}
	isJSON := len(data) > 0 && (data[0] == '{' || data[0] == '[')
	switch {
	case res.StatusCode == http.StatusOK:
		return data, 0, nil
	case isJSON && c.opts.JSONRPCVersion == "1.0" && (res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusInternalServerError) &&
		bytes.Contains(data, []byte(`"error"`)) && bytes.Contains(data, []byte(`"code"`)):
		// Bitcoin Core answers a failed call with 404 (no such method)
		// or 500 (any other error) and the JSON-RPC error in the body.
		return data, 0, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout || res.StatusCode >= 500:
		return nil, retry.RetryAfter(res.Header.Get("Retry-After"), time.Minute), fmt.Errorf("HTTP %s", res.Status)
	default:
		// Some nodes answer JSON-RPC errors with a 4xx status; keep the body.
		if len(data) > 0 && (data[0] == '{' || data[0] == '[') && res.StatusCode == http.StatusBadRequest {
			return data, 0, nil
		}
		return nil, 0, &permanentError{"HTTP " + res.Status}
	}
}

// scrub removes the unredacted URL (which may hold an API key) from a
// transport error's text.
func scrub(err error, raw, redacted string) error {
	msg := err.Error()
	if raw != "" {
		msg = string(bytes.ReplaceAll([]byte(msg), []byte(raw), []byte(redacted)))
		msg = string(bytes.ReplaceAll([]byte(msg), []byte(strconv.Quote(raw)), []byte(strconv.Quote(redacted))))
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
			resp, _, err := c.post(ctx, body)
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
