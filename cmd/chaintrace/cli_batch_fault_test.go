package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/batchscenario"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/faultproxy"
)

// TestBatchThroughFaults runs a batch against geth through a proxy that
// drops connections, answers a fifth of the requests 503, every 25th 429
// with Retry-After, and, once the batch is under way, stalls every
// request for 30 seconds. The batch finishes with the exhibits of a run
// straight at the node, and the request rate the proxy measures over any
// second never exceeds the configured limit (rate plus burst).
func TestBatchThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("stalls the node for 30 s; skipped with -short")
	}
	t.Parallel() // mostly waiting: let the package's other tests run meanwhile
	const seeds, rate, burst = 40, 20, 4
	node, err := devchain.Start(devchain.Config{Funded: batchscenario.EthFunded(seeds)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	c, err := batchscenario.PlayEth(node, seeds)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	labelsPath := filepath.Join(dir, "labels.csv")
	if err := c.WriteLabels(labelsPath); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: faults\ndefaults:\n  from-block: %d\n  to-block: %d\n  labels: %s\n  taint: haircut,fifo\n  chunk-size: 1\njobs:\n", c.First, c.Last, labelsPath)
	for i, s := range c.Seeds {
		fmt.Fprintf(&b, "  - {id: seed-%02d, seeds: [%s]}\n", i, s)
	}
	jobs := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(jobs, []byte(b.String()), 0o644)
	args := func(name, rpc string, extra ...string) []string {
		return append([]string{"batch", jobs, "--store", filepath.Join(dir, name, "store"), "--out-dir", filepath.Join(dir, name, "out"),
			"--eth-rpc", rpc, "--workers", "4", "--eth-batch-size", "4"}, extra...)
	}
	if code, _, errs := runCLI(t, nil, args("direct", node.URL())...); code != 0 {
		t.Fatalf("batch straight at the node: exit %d: %s", code, lastLine(errs))
	}
	ref := readSummary(t, filepath.Join(dir, "direct", "out", "summary.json"))

	p := faultproxy.New(node.URL(), faultproxy.Options{Seed: 7, Faults: faultproxy.Faults{
		DropRate: 0.05, ErrorRate: 0.2, TooManyEvery: 25, RetryAfter: 1}})
	t.Cleanup(p.Close)
	// Once the batch has sent a few requests, every request is held for
	// 30 seconds (the client gives up on each after --eth-timeout and
	// tries again, until the stall is over).
	var stalled atomic.Bool
	stop := make(chan struct{})
	defer close(stop)
	// The batch's metrics, scraped while it waits out the stall.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	scraped := make(chan string, 1)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			if !stalled.Load() {
				continue
			}
			res, err := http.Get("http://" + metricsAddr + "/metrics")
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Contains(string(b), `result="timeout"} 0`) {
				continue // until the stall has cost a request
			}
			scraped <- string(b)
			return
		}
	}()
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if p.Requests() >= 10 {
				p.StallFor(30 * time.Second)
				stalled.Store(true)
				return
			}
		}
	}()
	start := time.Now()
	code, _, errs := runCLI(t, nil, args("faults", p.URL(), "--eth-rate", fmt.Sprint(rate), "--eth-burst", fmt.Sprint(burst),
		"--eth-timeout", "5s", "--eth-retries", "10", "--metrics-addr", metricsAddr)...)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("batch through the faults: exit %d: %s", code, lastLine(errs))
	}
	if !stalled.Load() {
		t.Fatal("the stall never started")
	}
	for _, line := range strings.Split(errs, "\n") {
		if strings.Contains(line, "circuit") || strings.Contains(line, "fail") {
			t.Log(line)
		}
	}
	// The same exhibits but for the node's address in their provenance.
	got := readSummary(t, filepath.Join(dir, "faults", "out", "summary.json"))
	for _, want := range ref.Jobs {
		j := summaryJob(t, got, want.ID)
		if j.Status != "done" {
			t.Errorf("job %s: %s %s", want.ID, j.Status, j.Error)
			continue
		}
		a, _ := readExhibit(t, want.Exhibit)
		b, _ := readExhibit(t, j.Exhibit)
		a.Provenance, b.Provenance = exhibit.Provenance{}, exhibit.Provenance{}
		a.Digest, b.Digest = exhibit.Digest{}, exhibit.Digest{}
		if string(mustJSON(t, a)) != string(mustJSON(t, b)) {
			t.Errorf("job %s: exhibit differs from the run straight at the node", want.ID)
		}
	}
	select {
	case m := <-scraped:
		for _, want := range []string{`chaintrace_batch_jobs{status="done"}`, `chaintrace_batch_jobs{status="running"}`, "chaintrace_store_bytes",
			`chaintrace_node_requests_total{chain="eth",endpoint="` + p.URL() + `",result="http_5xx"}`, "chaintrace_node_retries_total{", "chaintrace_node_breaker_open{"} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s:\n%s", want, m)
			}
		}
	default:
		t.Error("the metrics were never scraped during the stall")
	}
	counts := p.Counts()
	t.Logf("through the proxy: %d requests in %s: %v", p.Requests(), took.Round(time.Millisecond), counts)
	for _, o := range []faultproxy.Outcome{faultproxy.Dropped, faultproxy.ServerError, faultproxy.TooMany, faultproxy.Stalled} {
		if counts[o] == 0 {
			t.Errorf("no request was %s: the faults were not exercised", o)
		}
	}
	if took < 30*time.Second {
		t.Errorf("the batch took %s through a 30 s stall", took)
	}
	if n := faultproxy.MaxCount(p.Arrivals(), time.Second); n > rate+burst {
		t.Errorf("%d requests arrived within one second; the limit is %d a second with a burst of %d", n, rate, burst)
	} else {
		t.Logf("most requests in any second: %d (limit %d/s, burst %d)", n, rate, burst)
	}
}
