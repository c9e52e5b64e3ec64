package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/etherscanreplay"
	"github.com/chaintrace/chaintrace/internal/tracefilterproxy"
	"github.com/chaintrace/chaintrace/store"
)

// blocksAsked is the set of block numbers in the first parameter of the
// calls of method the proxy received.
func blocksAsked(t *testing.T, p *tracefilterproxy.Proxy, method string, into map[string]bool) {
	t.Helper()
	for _, raw := range p.Params(method) {
		var args []json.RawMessage
		if err := json.Unmarshal(raw, &args); err != nil || len(args) == 0 {
			t.Fatalf("%s params %s", method, raw)
		}
		var s string
		if err := json.Unmarshal(args[0], &s); err != nil {
			t.Fatalf("%s params %s", method, raw)
		}
		into[strings.ToLower(s)] = true
	}
}

// TestTraceThroughTraceFilter: the same trace through the debug_trace block
// scan on the in-process geth node, through trace_filter (Erigon's, served
// by a proxy in front of the same node) and through an Etherscan-compatible
// replay yields exhibits with identical transfers and digests apart from
// provenance. The trace_filter trace fetches fewer blocks than the window,
// names "history:trace_filter" in its provenance, and a second trace on its
// store makes no call at all.
func TestTraceThroughTraceFilter(t *testing.T) {
	start := time.Now()
	node, truth := playedNode(t)
	dir := t.TempDir()
	labelsPath := demoLabels(t, truth)

	// 1. The block scan, straight on the node.
	scanStore := filepath.Join(dir, "scan")
	scanOut := filepath.Join(dir, "scan.json")
	if code, _, errs := runCLI(t, nil, append(traceArgs(truth, node.URL(), scanStore, labelsPath, scanOut), "--history", "scan")...); code != 0 {
		t.Fatalf("scan trace: %s", errs)
	}
	scanned, _ := readExhibit(t, scanOut)
	wantDigest, wantRows := withoutProvenance(t, scanned)

	// 2. trace_filter through the proxy, into a fresh store.
	proxy := tracefilterproxy.New(node.URL(), tracefilterproxy.Options{})
	defer proxy.Close()
	tfStore := filepath.Join(dir, "trace_filter")
	tfOut := filepath.Join(dir, "trace_filter.json")
	code, _, errs := runCLI(t, nil, append(traceArgs(truth, proxy.URL(), tfStore, labelsPath, tfOut), "--history", "trace_filter")...)
	if code != 0 {
		t.Fatalf("trace_filter trace: exit %d: %s", code, errs)
	}
	e, data := readExhibit(t, tfOut)
	gotDigest, gotRows := withoutProvenance(t, e)
	if gotRows != wantRows {
		t.Errorf("the trace_filter exhibit's transfers differ from the block scan's:\n%s\nvs\n%s", gotRows, wantRows)
	}
	if gotDigest != wantDigest {
		t.Errorf("the trace_filter exhibit's digest apart from provenance is %s, the block scan's %s", gotDigest, wantDigest)
	}
	if e.Digest.Value == scanned.Digest.Value {
		t.Error("the exhibits' digests are equal with their provenance: provenance should tell them apart")
	}
	if !strings.Contains(string(data), `"kind": "history:trace_filter"`) {
		t.Error("provenance does not name history:trace_filter")
	}
	if proxy.CallsTo("trace_filter") == 0 {
		t.Fatal("the trace made no trace_filter call")
	}

	// Fewer blocks than the window were fetched, through the proxy and
	// into the store.
	window := truth.Last - truth.First + 1
	asked := map[string]bool{}
	for _, m := range []string{"eth_getBlockByNumber", "eth_getBlockReceipts", "debug_traceBlockByNumber"} {
		blocksAsked(t, proxy, m, asked)
	}
	getBlocks := map[string]bool{}
	blocksAsked(t, proxy, "eth_getBlockByNumber", getBlocks)
	t.Logf("window %d blocks (%d-%d); the trace_filter trace fetched %d blocks (%d by eth_getBlockByNumber) in %d HTTP requests / %d calls to the proxy (%d trace_filter, %d eth_getLogs), which made %d requests to the node",
		window, truth.First, truth.Last, len(asked), len(getBlocks), proxy.Requests(), proxy.Calls(), proxy.CallsTo("trace_filter"), proxy.CallsTo("eth_getLogs"), proxy.UpstreamRequests())
	if len(getBlocks) == 0 || uint64(len(asked)) >= window {
		t.Errorf("the trace_filter trace fetched %d blocks (%d by eth_getBlockByNumber) of a window of %d", len(asked), len(getBlocks), window)
	}
	st, err := store.Open(tfStore, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	missing, err := st.Missing(chains.ETH, truth.First, truth.Last)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) == 0 {
		t.Error("the trace_filter store holds the whole window")
	}

	// 3. An Etherscan-compatible replay of the window.
	st, err = store.Open(scanStore, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := explorerRecords(t, st, truth.First, truth.Last)
	st.Close()
	ex := etherscanreplay.New(t, recs, etherscanreplay.Options{Key: "k"})
	exOut := filepath.Join(dir, "etherscan.json")
	if code, _, errs := runCLI(t, nil, append(traceArgs(truth, node.URL(), filepath.Join(dir, "etherscan"), labelsPath, exOut),
		"--history", "etherscan", "--etherscan-url", ex.URL(), "--etherscan-key", "k", "--etherscan-rate", "1000")...); code != 0 {
		t.Fatalf("explorer trace: exit %d: %s", code, errs)
	}
	ee, _ := readExhibit(t, exOut)
	if d, rows := withoutProvenance(t, ee); d != wantDigest || rows != wantRows {
		t.Error("the explorer-backed exhibit differs from the block scan beyond provenance")
	}

	// 4. A second trace on the trace_filter store asks the proxy nothing
	// and gives the same exhibit.
	t.Run("warm store", func(t *testing.T) {
		before := proxy.Calls()
		warmOut := filepath.Join(dir, "warm.json")
		code, _, errs := runCLI(t, nil, append(traceArgs(truth, proxy.URL(), tfStore, labelsPath, warmOut), "--history", "trace_filter")...)
		if code != 0 {
			t.Fatalf("warm trace: exit %d: %s", code, errs)
		}
		if n := proxy.Calls() - before; n != 0 {
			t.Errorf("the warm trace made %d calls to the proxy", n)
		}
		w, _ := readExhibit(t, warmOut)
		if w.Digest.Value != e.Digest.Value {
			t.Errorf("warm trace digest %s, cold %s", w.Digest.Value, e.Digest.Value)
		}
	})
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}
