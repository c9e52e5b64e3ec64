package indexer_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/chaintrace/chaintrace/store"
)

// flaky wraps an adapter and fails every FetchRaw after the first ok ones,
// as a node outage or a kill would cut a run short.
type flaky struct {
	*ethereum.Adapter
	ok      int64
	calls   atomic.Int64
	fetched atomic.Int64
}

var errOutage = errors.New("node went away")

func (f *flaky) FetchRaw(ctx context.Context, nums []uint64) ([]chains.RawBlock, error) {
	if f.calls.Add(1) > f.ok {
		return nil, errOutage
	}
	f.fetched.Add(int64(len(nums)))
	return f.Adapter.FetchRaw(ctx, nums)
}

func setup(t *testing.T) (*ethereum.Adapter, *scenario.Truth) {
	t.Helper()
	node, err := devchain.Start(devchain.Config{Funded: scenario.Upbit2019Funded})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	truth, err := scenario.PlayUpbit2019(node)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ethereum.Dial(context.Background(), node.URL(), ethereum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a, truth
}

func openStore(t *testing.T, name string) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), name), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func dump(t *testing.T, st *store.Store, from, to uint64) string {
	t.Helper()
	var sb strings.Builder
	err := st.Transfers(chains.ETH, from, to, func(tr *chains.Transfer) error {
		b, err := json.Marshal(tr)
		sb.Write(b)
		sb.WriteByte('\n')
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for n := from; n <= to; n++ {
		txs, err := st.Txs(chains.ETH, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			b, _ := json.Marshal(tx)
			sb.Write(b)
		}
	}
	return sb.String()
}

func TestRunResumesAfterAnOutage(t *testing.T) {
	a, truth := setup(t)
	ctx := context.Background()
	from, to := uint64(1), truth.Last
	opts := indexer.Options{ChunkSize: 2, Workers: 1}

	clean := openStore(t, "clean")
	if _, err := indexer.Run(ctx, a, clean, from, to, opts); err != nil {
		t.Fatal(err)
	}
	want := dump(t, clean, from, to)

	st := openStore(t, "resumed")
	f := &flaky{Adapter: a, ok: 3}
	stats, err := indexer.Run(ctx, f, st, from, to, opts)
	if !errors.Is(err, errOutage) {
		t.Fatalf("want the outage error, got %v", err)
	}
	if stats.BlocksDone != 6 {
		t.Errorf("3 chunks of 2 blocks done before the outage, stats say %d blocks", stats.BlocksDone)
	}
	missing, err := st.Missing(chains.ETH, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0].From != 7 || missing[0].To != to {
		t.Fatalf("after the outage the store lacks %v, want [7-%d]", missing, to)
	}
	// The rerun fetches only what is missing and ends where a clean run does.
	g := &flaky{Adapter: a, ok: 1 << 30}
	stats, err = indexer.Run(ctx, g, st, from, to, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := uint64(g.fetched.Load()); got != to-6 {
		t.Errorf("rerun fetched %d blocks, want the %d missing", got, to-6)
	}
	if got := dump(t, st, from, to); got != want {
		t.Errorf("resumed store differs from a clean run")
	}
	// A third run has nothing to do and asks the node for nothing.
	h := &flaky{Adapter: a, ok: 0}
	if _, err := indexer.Run(ctx, h, st, from, to, opts); err != nil {
		t.Fatalf("a run over an indexed range failed: %v", err)
	}
	if h.calls.Load() != 0 {
		t.Errorf("a run over an indexed range made %d fetches", h.calls.Load())
	}
}

func TestRunRefusesAnotherNetwork(t *testing.T) {
	a, truth := setup(t)
	st := openStore(t, "s")
	if err := st.BindNetwork(chains.ETH, "eth:1"); err != nil {
		t.Fatal(err)
	}
	_, err := indexer.Run(context.Background(), a, st, 1, truth.Last, indexer.Options{})
	if !errors.Is(err, store.ErrNetworkMismatch) {
		t.Fatalf("indexing chain 1337 into a mainnet store: %v", err)
	}
}

func TestRunReportsProgress(t *testing.T) {
	a, truth := setup(t)
	st := openStore(t, "s")
	var last indexer.Progress
	var calls int
	_, err := indexer.Run(context.Background(), a, st, 1, truth.Last, indexer.Options{ChunkSize: 3, Workers: 2,
		Progress: func(p indexer.Progress) { calls++; last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if calls != int((truth.Last+2)/3) || last.BlocksDone != truth.Last || last.BlocksTotal != truth.Last || last.Transfers == 0 {
		t.Errorf("%d progress calls, last %+v", calls, last)
	}
}

// TestRunBlocksIndexesOnlyTheNamedBlocks: named blocks (unordered, with
// repeats) are fetched once each, marked as single ranges, and a second
// call asks the node for nothing.
func TestRunBlocksIndexesOnlyTheNamedBlocks(t *testing.T) {
	a, truth := setup(t)
	st := openStore(t, "s")
	f := &flaky{Adapter: a, ok: 1 << 30}
	want := []uint64{9, 3, 4, 9, truth.Last}
	if _, err := indexer.RunBlocks(context.Background(), f, st, want, indexer.Options{ChunkSize: 2}); err != nil {
		t.Fatal(err)
	}
	if got := f.fetched.Load(); got != 4 {
		t.Errorf("fetched %d blocks, want 4", got)
	}
	ranges, err := st.IndexedRanges(chains.ETH)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranges) != 3 || ranges[0] != (store.Range{From: 3, To: 4}) || ranges[1] != (store.Range{From: 9, To: 9}) {
		t.Errorf("indexed ranges %v, want [3-4] [9-9] [%d-%d]", ranges, truth.Last, truth.Last)
	}
	g := &flaky{Adapter: a, ok: 0}
	if _, err := indexer.RunBlocks(context.Background(), g, st, want, indexer.Options{}); err != nil || g.calls.Load() != 0 {
		t.Errorf("second RunBlocks: %v, %d fetches", err, g.calls.Load())
	}
}
