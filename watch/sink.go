package watch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/chains"
)

// Sink receives alerts. The Watcher calls Send once per alert, in order,
// from one goroutine; an error is logged and does not stop the Watcher.
type Sink interface {
	Name() string
	Send(ctx context.Context, a *Alert) error
}

// LogSink writes each alert as one slog line: Info for a movement, Warn for
// a retraction.
type LogSink struct{ Logger *slog.Logger }

func (LogSink) Name() string { return "log" }

func (s LogSink) Send(ctx context.Context, a *Alert) error {
	t := &a.Transfer
	attrs := []slog.Attr{
		slog.String("id", a.ID), slog.String("chain", a.Chain), slog.Uint64("block", t.BlockNumber),
		slog.String("tx", t.TxHash), slog.String("position", t.Position), slog.Any("from", t.From), slog.String("to", t.To),
		slog.String("asset", t.Asset), slog.String("amount", t.Amount), slog.Uint64("confirmations", a.Confirmations),
	}
	for _, w := range a.Watched {
		attrs = append(attrs, slog.String("watched_"+w.Role, w.Address), slog.String("watched_because", describeReasons(w.Reasons)))
	}
	if d := a.Destination; d.Label != "" {
		attrs = append(attrs, slog.String("to_label", d.Label), slog.String("to_category", d.Category))
	}
	if a.Type == TypeRetraction {
		attrs = append(attrs, slog.String("because", a.RetractedBecause))
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "alert retracted: a reorganisation removed a movement already alerted", attrs...)
		return nil
	}
	s.Logger.LogAttrs(ctx, slog.LevelInfo, "watched funds moved", attrs...)
	return nil
}

// JSONLines writes each alert as one line of JSON.
type JSONLines struct {
	W  io.Writer
	mu sync.Mutex
}

func (*JSONLines) Name() string { return "json" }

func (s *JSONLines) Send(_ context.Context, a *Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.W.Write(append(b, '\n'))
	return err
}

// Webhook POSTs each alert's JSON to URL (Content-Type application/json,
// header X-Chaintrace-Alert-Id with the alert's ID and type, so that a
// receiver can drop a repeated delivery). An attempt that fails (no answer
// within Timeout, a network error, status 5xx, 408 or 429) is retried up
// to Retries times, waiting Backoff, then twice as long each time; any
// other status is final. An attempt under way is finished even when ctx is
// cancelled (so that an alert is not lost on shutdown); the waits between
// attempts are not.
type Webhook struct {
	URL       string
	Client    *http.Client  // nil: http.DefaultClient
	Timeout   time.Duration // per attempt; 0: 10s
	Retries   int           // attempts after the first
	Backoff   time.Duration // 0: 1s
	UserAgent string
	Logger    *slog.Logger // nil: slog.Default()
}

func (*Webhook) Name() string { return "webhook" }

// errPermanent marks an answer that a retry would not change.
var errPermanent = errors.New("refused")

func (h *Webhook) Send(ctx context.Context, a *Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	logger := h.Logger
	if logger == nil {
		logger = slog.Default()
	}
	timeout, backoff := h.Timeout, h.Backoff
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	endpoint := chains.RedactURL(h.URL)
	var last error
	for attempt := 0; attempt <= h.Retries; attempt++ {
		if attempt > 0 {
			wait := backoff << (attempt - 1)
			select {
			case <-ctx.Done():
				return fmt.Errorf("webhook %s: delivery of %s abandoned on shutdown after %d attempt(s): %w", endpoint, a.ID, attempt, last)
			case <-time.After(wait):
			}
		}
		last = h.post(ctx, body, a, timeout)
		if last == nil {
			if attempt > 0 {
				logger.Info("webhook delivered after retries", "endpoint", endpoint, "id", a.ID, "attempts", attempt+1)
			}
			return nil
		}
		if errors.Is(last, errPermanent) {
			break
		}
		if attempt < h.Retries {
			logger.Warn("webhook delivery failed; retrying", "endpoint", endpoint, "id", a.ID, "attempt", attempt+1,
				"retry_in", backoff<<attempt, "err", last)
		}
	}
	return fmt.Errorf("webhook %s: alert %s not delivered: %w", endpoint, a.ID, last)
}

func (h *Webhook) post(ctx context.Context, body []byte, a *Alert, timeout time.Duration) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Chaintrace-Alert-Id", a.Type+":"+a.ID)
	if h.UserAgent != "" {
		req.Header.Set("User-Agent", h.UserAgent)
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// The error names the URL, which may hold a secret: keep only what
		// went wrong.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("status %s", resp.Status)
	}
	return fmt.Errorf("%w: status %s", errPermanent, resp.Status)
}
