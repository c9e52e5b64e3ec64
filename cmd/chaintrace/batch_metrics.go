package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/batch"
	"github.com/chaintrace/chaintrace/chains/ethereum"
)

// batchMetrics serves a batch's state in the Prometheus text format on
// /metrics: jobs by status, node calls, the job time, the store's size on
// disk, and the node clients' own counters (requests by endpoint and
// result, retries).
type batchMetrics struct {
	b   *batchRunner
	srv *http.Server
	ln  net.Listener

	mu        sync.Mutex
	finished  map[batch.Status]int
	seconds   float64
	nodeCalls int64
}

func startBatchMetrics(addr string, b *batchRunner) (*batchMetrics, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	m := &batchMetrics{b: b, ln: ln, finished: map[batch.Status]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.write(w)
	})
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go m.srv.Serve(ln)
	b.opts.logger.Info("batch: metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return m, nil
}

func (m *batchMetrics) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
}

func (m *batchMetrics) jobFinished(rec batch.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished[rec.Status]++
	m.seconds += rec.Took.Seconds()
	m.nodeCalls += rec.NodeCalls
}

func (m *batchMetrics) write(w io.Writer) {
	b := m.b
	b.mu.Lock()
	total, running := len(b.jobs), len(b.active)
	byStatus := map[batch.Status]int{}
	for _, r := range b.records {
		if r.Run == b.run.Number {
			byStatus[r.Status]++
		}
	}
	b.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP chaintrace_batch_jobs Jobs of the current run by status.")
	fmt.Fprintln(w, "# TYPE chaintrace_batch_jobs gauge")
	pending := total - byStatus[batch.Done] - byStatus[batch.Failed] - running
	fmt.Fprintf(w, "chaintrace_batch_jobs{status=\"done\"} %d\n", byStatus[batch.Done])
	fmt.Fprintf(w, "chaintrace_batch_jobs{status=\"failed\"} %d\n", byStatus[batch.Failed])
	fmt.Fprintf(w, "chaintrace_batch_jobs{status=\"running\"} %d\n", running)
	fmt.Fprintf(w, "chaintrace_batch_jobs{status=\"pending\"} %d\n", max(pending, 0))
	fmt.Fprintln(w, "# HELP chaintrace_batch_jobs_finished_total Jobs this process finished, by status.")
	fmt.Fprintln(w, "# TYPE chaintrace_batch_jobs_finished_total counter")
	for _, s := range []batch.Status{batch.Done, batch.Failed} {
		fmt.Fprintf(w, "chaintrace_batch_jobs_finished_total{status=%q} %d\n", s, m.finished[s])
	}
	fmt.Fprintln(w, "# HELP chaintrace_batch_job_seconds_total Time spent in the jobs this process finished.")
	fmt.Fprintln(w, "# TYPE chaintrace_batch_job_seconds_total counter")
	fmt.Fprintf(w, "chaintrace_batch_job_seconds_total %g\n", m.seconds)
	fmt.Fprintln(w, "# HELP chaintrace_batch_node_calls_total Requests the finished jobs sent to nodes and explorers.")
	fmt.Fprintln(w, "# TYPE chaintrace_batch_node_calls_total counter")
	fmt.Fprintf(w, "chaintrace_batch_node_calls_total %d\n", m.nodeCalls)
	if size, ok := dirSize(b.opts.v.GetString("store")); ok {
		fmt.Fprintln(w, "# HELP chaintrace_store_bytes The store's size on disk.")
		fmt.Fprintln(w, "# TYPE chaintrace_store_bytes gauge")
		fmt.Fprintf(w, "chaintrace_store_bytes %d\n", size)
	}
	writeNodeMetrics(w, b.shared)
}

// writeNodeMetrics states the shared node clients' counters: requests by
// endpoint and result, retries, circuit-breaker opens, failovers, and each
// circuit's state.
func writeNodeMetrics(w io.Writer, s *sharedConns) {
	if s == nil {
		return
	}
	type row struct {
		chain string
		st    ethereum.EndpointStats
	}
	var rows []row
	for _, c := range s.clients() {
		for _, st := range c.c.Stats() {
			rows = append(rows, row{c.chain, st})
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "# HELP chaintrace_node_requests_total HTTP requests to node endpoints, by result.")
	fmt.Fprintln(w, "# TYPE chaintrace_node_requests_total counter")
	for _, r := range rows {
		results := make([]string, 0, len(r.st.Requests))
		for k := range r.st.Requests {
			results = append(results, k)
		}
		sort.Strings(results)
		for _, k := range results {
			fmt.Fprintf(w, "chaintrace_node_requests_total{chain=%s,endpoint=%s,result=%s} %d\n", promLabel(r.chain), promLabel(r.st.Endpoint), promLabel(k), r.st.Requests[k])
		}
	}
	for _, m := range []struct {
		name, help string
		v          func(ethereum.EndpointStats) int64
	}{
		{"chaintrace_node_retries_total", "Requests sent again to an endpoint after failing on it.", func(s ethereum.EndpointStats) int64 { return s.Retries }},
		{"chaintrace_node_breaker_opens_total", "Times an endpoint's circuit breaker opened.", func(s ethereum.EndpointStats) int64 { return s.BreakerOpens }},
		{"chaintrace_node_failovers_total", "Requests that left an endpoint for another after failing on it.", func(s ethereum.EndpointStats) int64 { return s.Failovers }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", m.name, m.help, m.name)
		for _, r := range rows {
			fmt.Fprintf(w, "%s{chain=%s,endpoint=%s} %d\n", m.name, promLabel(r.chain), promLabel(r.st.Endpoint), m.v(r.st))
		}
	}
	fmt.Fprintln(w, "# HELP chaintrace_node_breaker_open Whether an endpoint's circuit is open (1) or half-open (0.5).")
	fmt.Fprintln(w, "# TYPE chaintrace_node_breaker_open gauge")
	for _, r := range rows {
		v := "0"
		switch r.st.Breaker {
		case ethereum.BreakerOpen:
			v = "1"
		case ethereum.BreakerHalfOpen:
			v = "0.5"
		}
		fmt.Fprintf(w, "chaintrace_node_breaker_open{chain=%s,endpoint=%s} %s\n", promLabel(r.chain), promLabel(r.st.Endpoint), v)
	}
}

// promLabel quotes a label value.
func promLabel(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// dirSize sums the sizes of the files under dir.
func dirSize(dir string) (int64, bool) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n, err == nil
}
