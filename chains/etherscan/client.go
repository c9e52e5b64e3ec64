// Package etherscan reads an address's history from an Etherscan-compatible
// account API (Etherscan V1 and the V2 multichain form, Blockscout's
// ?module=account&action=... API): normal transactions (txlist), internal
// transactions (txlistinternal), ERC-20 transfers (tokentx) and ERC-721
// transfers (tokennfttx).
//
// An explorer's answer is a claim, not evidence: the tracer confirms each
// claim against the node before it writes anything down. This package only
// fetches, pages and normalises the claims.
//
// The API, as documented at https://docs.etherscan.io:
//
//   - every answer is {"status":"1"|"0","message":...,"result":...}; an error
//     is status "0" with message "NOTOK" and the cause as the result text
//     (https://docs.etherscan.io/resources/common-error-messages);
//   - an empty list is status "0", message "No transactions found", result []
//     (Blockscout: "No internal transactions found", "No token transfers
//     found");
//   - a list is paged with page and offset, and page*offset may not exceed
//     10,000 ("Result window is too large, PageNo x Offset size must be less
//     than or equal to 10000"); records past the window are reached by
//     narrowing startblock;
//   - the rate limit is per key (https://docs.etherscan.io/resources/rate-limits);
//     past it the answer is status "0" with a result such as "Max rate limit
//     reached" or "Max calls per sec rate limit reached (5/sec)".
package etherscan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/ratelimit"
	"github.com/chaintrace/chaintrace/internal/retry"
)

// Errors the client wraps; test with errors.Is.
var (
	// ErrUnavailable: the explorer could not be reached or kept failing
	// (network errors, HTTP 429/5xx, its own rate-limit answers) past the
	// retries.
	ErrUnavailable = errors.New("explorer unavailable")
	// ErrRefused: the explorer refused the request for a reason a retry will
	// not mend ("Invalid API Key", "Error! Invalid address format", HTTP 403).
	ErrRefused = errors.New("explorer refused the request")
	// ErrInconsistent: the explorer's answer does not hold together (not
	// JSON, a record that does not parse, records out of order).
	ErrInconsistent = errors.New("explorer answer inconsistent")
)

// Defaults for Options.
const (
	DefaultRequestsPerSecond = 5
	DefaultPageSize          = 1000
	DefaultWindow            = 10000
	DefaultRetries           = 5
	DefaultBackoff           = 500 * time.Millisecond
	DefaultTimeout           = time.Minute
	maxBackoff               = 30 * time.Second
	maxRetryAfter            = time.Minute
	maxBody                  = 256 << 20
)

// Options tune the client. The zero value is usable.
type Options struct {
	Key               string  // API key, sent as apikey=; never written down
	RequestsPerSecond float64 // token-bucket rate; default 5 (Etherscan's free tier)
	Burst             int     // token-bucket size; default 1 (evenly spaced requests)
	Retries           int     // attempts after the first on transient failures; default 5, negative for none
	Backoff           time.Duration
	ChainID           uint64 // when set, sent as chainid= (the V2 multichain API)
	PageSize          int    // offset=; default 1000
	// Window is how far page*offset may reach in one query; default 10,000
	// as Etherscan documents. The client also learns a smaller window from
	// the explorer's "Result window is too large" answer.
	Window     int
	HTTPClient *http.Client // default: a client with a one-minute timeout
	Logger     *slog.Logger
}

func (o *Options) defaults() {
	if o.RequestsPerSecond <= 0 {
		o.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if o.Burst <= 0 {
		o.Burst = 1
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.PageSize > o.Window {
		o.PageSize = o.Window
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Client is an Etherscan-compatible account API client. It is safe for
// concurrent use; all its requests share one rate limit.
type Client struct {
	base     *url.URL   // without the key
	fixed    url.Values // query parameters the base URL carried (apikey removed)
	secrets  []string   // strings never to be written down: the key, the raw base URL
	endpoint string     // redacted
	opts     Options
	limit    *ratelimit.Bucket
	window   atomic.Int64 // learned page*offset limit
	requests atomic.Int64
}

// New makes a client for the API at baseURL ("https://api.etherscan.io/api",
// "https://api.etherscan.io/v2/api" with Options.ChainID,
// "https://eth.blockscout.com/api"). A base URL without a path gets "/api"
// ("/v2/api" when ChainID is set). An apikey= in the base URL is used when
// Options.Key is empty, and is redacted like the key. New makes no request.
func New(baseURL string, opts Options) *Client {
	opts.defaults()
	c := &Client{opts: opts, fixed: url.Values{}}
	c.secrets = append(c.secrets, baseURL)
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		u = &url.URL{Scheme: "http", Host: "invalid.invalid", Path: "/api"}
	}
	q := u.Query()
	if k := q.Get("apikey"); k != "" && c.opts.Key == "" {
		c.opts.Key = k
	}
	q.Del("apikey")
	for k, v := range q {
		c.fixed[k] = v
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api"
		if opts.ChainID != 0 {
			u.Path = "/v2/api"
		}
	}
	c.base = u
	c.endpoint = chains.RedactURL(u.String())
	if c.opts.Key != "" {
		c.secrets = append(c.secrets, c.opts.Key, url.QueryEscape(c.opts.Key))
	}
	c.limit = ratelimit.New(opts.RequestsPerSecond, opts.Burst)
	c.window.Store(int64(opts.Window))
	return c
}

// Endpoint is the redacted base URL: no key, no query, no secret-looking
// path segment.
func (c *Client) Endpoint() string { return c.endpoint }

// Requests is the number of HTTP requests sent so far, retries included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// Name names the backend in provenance.
func (c *Client) Name() string { return "etherscan" }

// answer is the explorer's envelope. Status and message are strings in
// every documented answer; result is a list, a string or null.
type answer struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Result  json.RawMessage `json:"result"`
}

// transientError is a failure a retry may mend; wait is the server's
// Retry-After, if it gave one.
type transientError struct {
	msg  string
	wait time.Duration
}

func (e *transientError) Error() string { return e.msg }

// refusal is the explorer's own permanent "no".
type refusal struct{ msg string }

func (e *refusal) Error() string { return e.msg }

// windowError is the explorer's "Result window is too large" answer.
type windowError struct{ msg string }

func (e *windowError) Error() string { return e.msg }

// call makes one API call with retries and returns the result list (nil for
// an empty one). what names the call in messages.
func (c *Client) call(ctx context.Context, params url.Values, what string) (json.RawMessage, error) {
	for attempt := 0; ; attempt++ {
		if err := c.limit.Wait(ctx); err != nil {
			return nil, err
		}
		res, err := c.once(ctx, params)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ref *refusal
		if errors.As(err, &ref) {
			return nil, fmt.Errorf("%w: %s: %s: %s", ErrRefused, c.endpoint, what, ref.msg)
		}
		var tr *transientError
		if !errors.As(err, &tr) {
			return nil, err // the window answer, for the pager
		}
		if attempt >= c.opts.Retries {
			return nil, fmt.Errorf("%w: %s: %s: %s (after %d attempts)", ErrUnavailable, c.endpoint, what, tr.msg, attempt+1)
		}
		wait := tr.wait
		if wait == 0 {
			wait = retry.Backoff(c.opts.Backoff, maxBackoff, attempt)
		}
		c.opts.Logger.Warn("explorer request failed, retrying", "endpoint", c.endpoint, "call", what, "attempt", attempt+1, "wait", wait, "err", tr.msg)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// once sends one GET request and classifies the answer.
func (c *Client) once(ctx context.Context, params url.Values) (json.RawMessage, error) {
	q := url.Values{}
	for k, v := range c.fixed {
		q[k] = v
	}
	for k, v := range params {
		q[k] = v
	}
	if c.opts.ChainID != 0 {
		q.Set("chainid", strconv.FormatUint(c.opts.ChainID, 10))
	}
	if c.opts.Key != "" {
		q.Set("apikey", c.opts.Key)
	}
	u := *c.base
	u.RawQuery = q.Encode()
	chains.CountCall(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &refusal{c.scrub(err.Error())}
	}
	req.Header.Set("Accept", "application/json")
	c.requests.Add(1)
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, &transientError{msg: c.transportText(err)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, &transientError{msg: c.transportText(err)}
	}
	switch {
	case res.StatusCode == http.StatusOK:
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout || res.StatusCode >= 500:
		return nil, &transientError{msg: "HTTP " + res.Status, wait: retry.RetryAfter(res.Header.Get("Retry-After"), maxRetryAfter)}
	default:
		return nil, &refusal{"HTTP " + res.Status}
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil || a.Status == "" {
		// A proxy's error page in place of the API's answer: worth a retry.
		return nil, &transientError{msg: "answer is not the API's JSON envelope: " + c.snippet(body)}
	}
	trimmed := strings.TrimSpace(string(a.Result))
	if strings.HasPrefix(trimmed, "[") {
		if trimmed == "[]" {
			return nil, nil // "No transactions found" and its relatives
		}
		return a.Result, nil
	}
	// Not a list: an error, whatever the status says.
	var text string
	if err := json.Unmarshal(a.Result, &text); err != nil {
		text = ""
	}
	msg := c.line(strings.TrimSpace(a.Message + ": " + text))
	if text == "" {
		msg = c.line(a.Message)
	}
	low := strings.ToLower(a.Message + " " + text)
	switch {
	case strings.Contains(low, "result window is too large"):
		return nil, &windowError{msg}
	case strings.Contains(low, "invalid api key"), strings.Contains(low, "missing/invalid api key"):
		return nil, &refusal{msg}
	case strings.Contains(low, "rate limit"),
		strings.Contains(low, "timeout"), strings.Contains(low, "timed out"),
		strings.Contains(low, "unexpected error"), strings.Contains(low, "try again"):
		return nil, &transientError{msg: msg}
	case a.Status == "1" && (trimmed == "null" || trimmed == `""`),
		text == "" && strings.HasPrefix(a.Message, "No ") && strings.HasSuffix(a.Message, " found"):
		return nil, nil
	}
	return nil, &refusal{msg}
}

// transportText renders a transport error without the request URL, which
// holds the key.
func (c *Client) transportText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return c.line(err.Error())
}

// line makes text fit one line of a message: secrets replaced, white space
// folded, length capped.
func (c *Client) line(s string) string {
	s = strings.Join(strings.Fields(c.scrub(s)), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func (c *Client) snippet(body []byte) string {
	if len(body) > 120 {
		body = body[:120]
	}
	return strconv.Quote(c.line(string(body)))
}

// scrub replaces every secret in s by "REDACTED".
func (c *Client) scrub(s string) string {
	for _, sec := range c.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}
