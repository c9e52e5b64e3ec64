// Package esplora reads Bitcoin transactions, spends, address histories and
// blocks from an Esplora REST API (Blockstream's esplora/electrs, and
// mempool.space, which serves the same API).
//
// As with every explorer, an answer is a claim, not evidence; this package
// fetches, pages and converts the claims into the chains model.
//
// The API, as documented in
// https://github.com/Blockstream/esplora/blob/master/API.md:
//
//   - JSON over RESTful HTTP; amounts are integers in satoshi;
//   - GET /tx/:txid: txid, version, locktime, size, weight, fee, vin, vout
//     and status ({confirmed, block_height, block_hash, block_time});
//   - GET /tx/:txid/outspends: one {spent, txid, vin, status} per output;
//   - GET /address/:address/txs/chain[/:last_seen_txid]: confirmed history,
//     newest first, 25 a page; the next page is asked for with the last
//     txid seen;
//   - GET /blocks/tip/height and /block-height/:height answer in text;
//   - GET /block/:hash, /block/:hash/txids, /block/:hash/txs[/:start_index]
//     (25 a page, start_index a multiple of 25);
//   - errors are plain text with an HTTP status ("Transaction not found"
//     with 404).
package esplora

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
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/ratelimit"
	"github.com/chaintrace/chaintrace/internal/retry"
)

// Errors the client wraps; test with errors.Is.
var (
	// ErrUnavailable: the API could not be reached or kept failing (network
	// errors, HTTP 429/5xx) past the retries.
	ErrUnavailable = errors.New("esplora unavailable")
	// ErrRefused: the API refused the request for a reason a retry will not
	// mend (HTTP 400, 403, ...).
	ErrRefused = errors.New("esplora refused the request")
	// ErrNotFound: the API does not know the transaction or block (HTTP 404).
	ErrNotFound = errors.New("esplora: not found")
	// ErrInconsistent: the answer does not hold together (not JSON, a
	// script that is not hex, an address that does not match its script,
	// pages that do not join up).
	ErrInconsistent = errors.New("esplora answer inconsistent")
)

// Defaults for Options.
const (
	DefaultRequestsPerSecond = 10
	DefaultRetries           = 5
	DefaultBackoff           = 500 * time.Millisecond
	DefaultTimeout           = time.Minute
	// PageSize is the documented page size of the chain history and of
	// block transactions.
	PageSize      = 25
	maxBackoff    = 30 * time.Second
	maxRetryAfter = time.Minute
	maxBody       = 64 << 20
)

// Options tune the client. The zero value is usable (mainnet).
type Options struct {
	RequestsPerSecond float64 // default 10
	Retries           int     // attempts after the first on transient failures; default 5, negative for none
	Backoff           time.Duration
	HTTPClient        *http.Client // default: a client with a one-minute timeout
	Logger            *slog.Logger
	Net               *chaincfg.Params // default mainnet
}

func (o *Options) defaults() {
	if o.RequestsPerSecond <= 0 {
		o.RequestsPerSecond = DefaultRequestsPerSecond
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
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Net == nil {
		o.Net = &chaincfg.MainNetParams
	}
}

// Client is an Esplora API client, safe for concurrent use; its requests
// share one rate limit.
type Client struct {
	base     *url.URL
	secrets  []string
	endpoint string
	opts     Options
	limit    *ratelimit.Bucket
	requests atomic.Int64

	mu      sync.Mutex
	txidsOf map[string]map[string]uint32 // block hash -> txid -> position
}

// New makes a client for the API at baseURL ("https://blockstream.info/api",
// "https://mempool.space/api"). New makes no request.
func New(baseURL string, opts Options) *Client {
	opts.defaults()
	c := &Client{opts: opts, txidsOf: map[string]map[string]uint32{}}
	c.secrets = append(c.secrets, baseURL)
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		u = &url.URL{Scheme: "http", Host: "invalid.invalid"}
	}
	// A key in the query string (some hosted providers) is kept and sent,
	// never written down.
	for _, vs := range u.Query() {
		for _, v := range vs {
			if v != "" {
				c.secrets = append(c.secrets, v, url.QueryEscape(v))
			}
		}
	}
	if u.User != nil {
		c.secrets = append(c.secrets, u.User.String())
	}
	u.Fragment = ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c.base = u
	c.endpoint = chains.RedactURL(u.String())
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) > 3 && !strings.Contains(c.endpoint, "/"+seg) {
			c.secrets = append(c.secrets, seg) // a path segment the redaction hid
		}
	}
	c.limit = ratelimit.New(opts.RequestsPerSecond, 1)
	return c
}

// Endpoint is the redacted base URL.
func (c *Client) Endpoint() string { return c.endpoint }

// Requests is the number of HTTP requests sent so far, retries included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// Name names the backend in provenance.
func (c *Client) Name() string { return "esplora" }

// Net is the network addresses are rendered for.
func (c *Client) Net() *chaincfg.Params { return c.opts.Net }

type transientError struct {
	msg  string
	wait time.Duration
}

func (e *transientError) Error() string { return e.msg }

type permanentError struct {
	sentinel error
	msg      string
}

func (e *permanentError) Error() string { return e.msg }

// get fetches path (already escaped, starting with "/") with retries and
// returns the body of a 200 answer. what names the call in messages.
func (c *Client) get(ctx context.Context, path, what string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		if err := c.limit.Wait(ctx); err != nil {
			return nil, err
		}
		body, err := c.once(ctx, path)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var pe *permanentError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: %s: %s: %s", pe.sentinel, c.endpoint, what, pe.msg)
		}
		var tr *transientError
		if !errors.As(err, &tr) {
			return nil, err
		}
		if attempt >= c.opts.Retries {
			return nil, fmt.Errorf("%w: %s: %s: %s (after %d attempts)", ErrUnavailable, c.endpoint, what, tr.msg, attempt+1)
		}
		wait := tr.wait
		if wait == 0 {
			wait = retry.Backoff(c.opts.Backoff, maxBackoff, attempt)
		}
		c.opts.Logger.Warn("esplora request failed, retrying", "endpoint", c.endpoint, "call", what, "attempt", attempt+1, "wait", wait, "err", tr.msg)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

func (c *Client) once(ctx context.Context, path string) ([]byte, error) {
	u := *c.base
	u.Path = c.base.Path + path
	chains.CountCall(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &permanentError{ErrRefused, c.line(err.Error())}
	}
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
		return body, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout || res.StatusCode >= 500:
		return nil, &transientError{msg: "HTTP " + res.Status + c.bodyText(body), wait: retry.RetryAfter(res.Header.Get("Retry-After"), maxRetryAfter)}
	case res.StatusCode == http.StatusNotFound:
		return nil, &permanentError{ErrNotFound, "HTTP " + res.Status + c.bodyText(body)}
	}
	return nil, &permanentError{ErrRefused, "HTTP " + res.Status + c.bodyText(body)}
}

func (c *Client) bodyText(b []byte) string {
	if len(b) > 120 {
		b = b[:120]
	}
	s := c.line(string(b))
	if s == "" {
		return ""
	}
	return ": " + strconv.Quote(s)
}

func (c *Client) transportText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return c.line(err.Error())
}

func (c *Client) line(s string) string {
	s = strings.Join(strings.Fields(c.scrub(s)), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func (c *Client) scrub(s string) string {
	for _, sec := range c.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}

func (c *Client) getJSON(ctx context.Context, path, what string, v any) error {
	body, err := c.get(ctx, path, what)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: %s: answer is not the documented JSON: %s", ErrInconsistent, c.endpoint, what, c.line(err.Error()))
	}
	return nil
}

func (c *Client) getText(ctx context.Context, path, what string) (string, error) {
	body, err := c.get(ctx, path, what)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(body)), nil
}
