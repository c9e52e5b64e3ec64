package watch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/watch"
)

// recorder is a webhook receiver that answers each request with the next
// status of a script (the last one repeats).
type recorder struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.bodies = append(rec.bodies, b)
	rec.headers = append(rec.headers, r.Header.Clone())
	status := rec.statuses[min(len(rec.bodies), len(rec.statuses))-1]
	rec.mu.Unlock()
	w.WriteHeader(status)
}

func (rec *recorder) got() ([][]byte, []http.Header) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([][]byte(nil), rec.bodies...), append([]http.Header(nil), rec.headers...)
}

func newReceiver(t *testing.T, statuses ...int) (*recorder, string) {
	rec := &recorder{statuses: statuses}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

// TestWebhookPostsTheAlertJSON: a movement's alert reaches a webhook as an
// HTTP POST of exactly the JSON line printed.
func TestWebhookPostsTheAlertJSON(t *testing.T) {
	r := newEthRig(t, "thief")
	rec, url := newReceiver(t, http.StatusNoContent)
	start := r.commit(1) + 1
	hook := &watch.Webhook{URL: url + "/hooks/chaintrace", Retries: 2, Backoff: time.Millisecond, UserAgent: "chaintrace-test", Logger: r.log}
	w := r.open(watchlist(chains.ETH, devchain.Addr("thief").Hex()), 0, start, func(c *watch.Config) {
		c.Sinks = append(c.Sinks, hook)
	})
	tx := r.pay("thief", devchain.Addr("exchange"), ether(9), nil)
	r.commit(1)
	r.step(w, 1, 0)

	bodies, headers := rec.got()
	if len(bodies) != 1 {
		t.Fatalf("webhook received %d requests, want 1", len(bodies))
	}
	if line := strings.TrimSpace(r.lines.String()); string(bodies[0]) != line {
		t.Errorf("webhook body differs from the JSON line:\n%s\n%s", bodies[0], line)
	}
	var a map[string]any
	if err := json.Unmarshal(bodies[0], &a); err != nil {
		t.Fatal(err)
	}
	tr := a["transfer"].(map[string]any)
	if a["schema"] != "chaintrace/watch-alert/v1" || a["type"] != "movement" || a["chain"] != "eth" ||
		tr["tx_hash"] != strings.ToLower(tx.Hex()) || tr["amount"] != "9000000000000000000" || tr["asset"] != "ETH" ||
		a["id"] != "eth:"+strings.ToLower(tx.Hex())+":tx" {
		t.Errorf("webhook JSON: %s", bodies[0])
	}
	h := headers[0]
	if h.Get("Content-Type") != "application/json" || h.Get("X-Chaintrace-Alert-Id") != "movement:"+a["id"].(string) ||
		h.Get("User-Agent") != "chaintrace-test" {
		t.Errorf("headers: %v", h)
	}
}

func testAlert() *watch.Alert {
	return &watch.Alert{Schema: watch.AlertSchema, Type: watch.TypeMovement, ID: "eth:0xab:tx", Chain: "eth",
		Transfer: chains.Row{TxHash: "0xab", Amount: "1", From: []string{"0x1"}, To: "0x2"}}
}

// TestWebhookRetries: a failing receiver is retried with backoff; a
// refusal (4xx) is not; a receiver that does not answer in time counts
// as a failure.
func TestWebhookRetries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		statuses []int
		wantReqs int
		wantErr  string
	}{
		{"two failures then success", []int{503, 502, 200}, 3, ""},
		{"always failing", []int{500}, 4, "status 500"},
		{"rate limited then success", []int{429, 201}, 2, ""},
		{"refused", []int{400}, 1, "refused: status 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, url := newReceiver(t, tc.statuses...)
			hook := &watch.Webhook{URL: url, Retries: 3, Backoff: time.Millisecond}
			err := hook.Send(ctx, testAlert())
			bodies, _ := rec.got()
			if len(bodies) != tc.wantReqs {
				t.Errorf("%d requests, want %d", len(bodies), tc.wantReqs)
			}
			for _, b := range bodies {
				if !bytes.Equal(b, bodies[0]) {
					t.Errorf("a retry sent another body")
				}
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
	t.Run("no answer in time", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // so that the server notices the client hanging up
			select {
			case <-r.Context().Done(): // the client gave up
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		hook := &watch.Webhook{URL: srv.URL, Retries: 1, Backoff: time.Millisecond, Timeout: 50 * time.Millisecond}
		began := time.Now()
		err := hook.Send(ctx, testAlert())
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Errorf("error %v, want a deadline", err)
		}
		if time.Since(began) > 5*time.Second {
			t.Errorf("took %v", time.Since(began))
		}
	})
}

// TestFailingWebhookIsNotFatal: with the webhook down, the watcher still
// alerts on its other sinks, logs the failure, and goes on.
func TestFailingWebhookIsNotFatal(t *testing.T) {
	r := newEthRig(t, "thief")
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL + "/hook?token=secret"
	srv.Close()
	start := r.commit(1) + 1
	hook := &watch.Webhook{URL: dead, Retries: 2, Backoff: time.Millisecond, Timeout: time.Second, Logger: r.log}
	w := r.open(watchlist(chains.ETH, devchain.Addr("thief").Hex()), 1, start, func(c *watch.Config) {
		c.Sinks = append(c.Sinks, hook)
	})
	r.pay("thief", devchain.Addr("exchange"), ether(1), nil)
	r.commit(2)
	r.step(w, 1, 0)
	r.pay("thief", devchain.Addr("exchange"), ether(2), nil)
	r.commit(2)
	r.step(w, 1, 0)
	logs := r.logs.String()
	if len(r.jsonLines()) != 2 || strings.Count(logs, "alert not delivered") != 2 || strings.Count(logs, "webhook delivery failed; retrying") != 4 {
		t.Errorf("JSON lines %d; logs:\n%s", len(r.jsonLines()), logs)
	}
	if strings.Contains(logs, "secret") {
		t.Error("the webhook's query string is in the log")
	}
}
