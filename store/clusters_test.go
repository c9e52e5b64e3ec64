package store

import (
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/chaintrace/chaintrace/chains"
)

// testMerges is a merge log of n merges with txids and addresses of the
// shapes the store sees: 64 hex digits, bech32, base58 and a string that
// looks like hex with upper-case letters (to check the string codec's
// case mask round-trips).
func testMerges(tag string, n int) []ClusterMerge {
	out := make([]ClusterMerge, n)
	for i := range out {
		out[i] = ClusterMerge{
			TxID: strings.TrimPrefix(hash32(tag, uint64(i)), "0x"),
			A:    fmt.Sprintf("bcrt1q%s%06d", tag, i),
			B:    fmt.Sprintf("mAbC%dDeF%d", i, i%7),
		}
		if i%5 == 0 {
			out[i].B = fmt.Sprintf("ABCDEF%04X", i)
		}
	}
	return out
}

func seqOf(ms []ClusterMerge) iter.Seq[ClusterMerge] { return slices.Values(ms) }

func readMerges(t *testing.T, s *Store, run *ClusterRun) []ClusterMerge {
	t.Helper()
	var got []ClusterMerge
	if err := s.ClusterMerges(chains.BTC, run, func(m ClusterMerge) error { got = append(got, m); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func testRun(from, to uint64, hold int) *ClusterRun {
	return &ClusterRun{From: from, To: to, Params: ClusterParams{HoldAbove: hold, SkipRule: "coinjoin/1", Version: "1"},
		Fingerprint: [32]byte{1, 2, 3}, Txs: 40, Addresses: 70, Skipped: 2,
		Held: []HeldMerge{
			{TxID: strings.Repeat("ab", 32), A: "bcrt1qheldA", B: "bcrt1qheldB", SizeA: 12, SizeB: 30},
			{TxID: strings.Repeat("cd", 32), A: "1HeldC", B: "bcrt1qheldD", SizeA: 11, SizeB: 11},
		},
		Made: time.Date(2026, 3, 1, 12, 0, 0, 5, time.FixedZone("CET", 3600))}
}

// clusterKeys counts the chunk keys of every generation.
func clusterKeys(t *testing.T, s *Store) int {
	t.Helper()
	keys, err := s.clusterChunkKeys(chainBTC, func(uint64) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

func TestClusterRunRoundTrip(t *testing.T) {
	s := openStore(t, t.TempDir())
	if _, ok, err := s.ClusterRun(chains.BTC); err != nil || ok {
		t.Fatalf("empty store: run ok=%v err=%v", ok, err)
	}
	merges := testMerges("m", 2*clusterChunk+17) // three chunks
	run := testRun(100, 200, 10)
	if err := s.SaveClusterRun(chains.BTC, run, seqOf(merges)); err != nil {
		t.Fatal(err)
	}
	if run.Merges != len(merges) {
		t.Errorf("run.Merges %d, want %d", run.Merges, len(merges))
	}
	got, ok, err := s.ClusterRun(chains.BTC)
	if err != nil || !ok {
		t.Fatalf("read back: ok=%v err=%v", ok, err)
	}
	if got.From != 100 || got.To != 200 || got.Params != run.Params || got.Fingerprint != run.Fingerprint ||
		got.Txs != 40 || got.Addresses != 70 || got.Merges != len(merges) || got.Skipped != 2 {
		t.Errorf("head read back %+v, saved %+v", got, run)
	}
	if !got.Made.Equal(run.Made) || got.Made.Location() != time.UTC {
		t.Errorf("made %v, want %v in UTC", got.Made, run.Made)
	}
	if !reflect.DeepEqual(got.Held, run.Held) {
		t.Errorf("held read back %+v, want %+v", got.Held, run.Held)
	}
	for _, h := range got.Held {
		if len(h.ID) != 12 || h.ID != HeldMergeID(h.TxID, h.A, h.B) {
			t.Errorf("held id %q", h.ID)
		}
	}
	if back := readMerges(t, s, &got); !slices.Equal(back, merges) {
		t.Errorf("merge log: %d read back, first diff in %d", len(back), len(merges))
	}
	if _, ok, _ := s.ClusterRun(chains.ETH); ok {
		t.Error("a btc run shows as eth's")
	}

	// An error from fn stops the read and is returned as it is.
	stop := errors.New("stop")
	n := 0
	if err := s.ClusterMerges(chains.BTC, &got, func(ClusterMerge) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn error: %v after %d merges", err, n)
	}

	// Replacing it: the new run, alone; the old chunks are gone, and a
	// reader holding the old run is told so.
	merges2 := testMerges("n", 5)
	run2 := testRun(100, 300, 0)
	run2.Held = nil
	if err := s.SaveClusterRun(chains.BTC, run2, seqOf(merges2)); err != nil {
		t.Fatal(err)
	}
	got2, ok, err := s.ClusterRun(chains.BTC)
	if err != nil || !ok || got2.To != 300 || got2.Params.HoldAbove != 0 || len(got2.Held) != 0 {
		t.Fatalf("second run: %+v ok=%v err=%v", got2, ok, err)
	}
	if back := readMerges(t, s, &got2); !slices.Equal(back, merges2) {
		t.Errorf("second merge log %v", back)
	}
	if n := clusterKeys(t, s); n != 1 {
		t.Errorf("%d chunk keys after the replacement, want the new run's 1 (no held merges)", n)
	}
	if err := s.ClusterMerges(chains.BTC, &got, func(ClusterMerge) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("reading the replaced run: %v, want ErrNotFound", err)
	}

	// An empty log is a run too.
	if err := s.SaveClusterRun(chains.BTC, testRun(1, 1, 0), seqOf(nil)); err != nil {
		t.Fatal(err)
	}
	got3, ok, err := s.ClusterRun(chains.BTC)
	if err != nil || !ok || got3.Merges != 0 || len(readMerges(t, s, &got3)) != 0 {
		t.Errorf("empty run: %+v ok=%v err=%v", got3, ok, err)
	}
}

func TestClusterRunBadInput(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveClusterRun(chains.BTC, testRun(5, 4, 0), seqOf(nil)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("from > to: %v", err)
	}
	if err := s.SaveClusterRun(chains.Chain("doge"), testRun(1, 2, 0), seqOf(nil)); !errors.Is(err, ErrUnknownChain) {
		t.Errorf("unknown chain: %v", err)
	}
	// A corrupt head is an error, not an absent run.
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(clusterHeadKey(chainBTC), []byte{clusterCodecVersion, 1}) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ClusterRun(chains.BTC); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt head: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.SaveClusterRun(chains.BTC, testRun(1, 2, 0), seqOf(nil)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only save: %v", err)
	}
	if err := ro.SetClusterDecisions(chains.BTC, []ClusterDecision{{TxID: "t", A: "a", B: "b"}}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only decision: %v", err)
	}
}

const clusterCrashEnv = "CHAINTRACE_TEST_CLUSTER_CRASH_DIR"

// TestClusterRunCrash kills a process saving a run after its chunks are
// on disk and before its head: the store then still holds the previous
// run, complete, and the next save deletes what the killed one left.
func TestClusterRunCrash(t *testing.T) {
	if dir := os.Getenv(clusterCrashEnv); dir != "" {
		s, err := Open(dir, Options{})
		if err != nil {
			fmt.Println("HELPER-ERR", err)
			os.Exit(1)
		}
		beforeClusterHead = func() { os.Exit(3) } // killed: no head, no Close
		_ = s.SaveClusterRun(chains.BTC, testRun(1, 500, 7), seqOf(testMerges("crash", 3*clusterChunk)))
		fmt.Println("HELPER-SAVED")
		os.Exit(1)
	}
	dir := t.TempDir()
	first := testMerges("first", 3)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveClusterRun(chains.BTC, testRun(1, 100, 7), seqOf(first)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterRunCrash$")
	cmd.Env = append(os.Environ(), clusterCrashEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("helper: %v\n%s", err, out)
	}

	s = openStore(t, dir)
	// The first run's two chunks (log, held), the killed save's four.
	if n := clusterKeys(t, s); n != 2+4 {
		t.Errorf("%d chunk keys after the crash, want 6: the test does not see a half-written run", n)
	}
	run, ok, err := s.ClusterRun(chains.BTC)
	if err != nil || !ok || run.To != 100 || run.Merges != 3 {
		t.Fatalf("after the crash: run %+v ok=%v err=%v, want the first run", run, ok, err)
	}
	if back := readMerges(t, s, &run); !slices.Equal(back, first) {
		t.Errorf("after the crash the first run's log reads %v", back)
	}
	second := testMerges("second", 4)
	if err := s.SaveClusterRun(chains.BTC, testRun(1, 200, 7), seqOf(second)); err != nil {
		t.Fatal(err)
	}
	if n := clusterKeys(t, s); n != 2 {
		t.Errorf("%d chunk keys after the next save, want the second run's 2", n)
	}
	run, _, _ = s.ClusterRun(chains.BTC)
	if back := readMerges(t, s, &run); !slices.Equal(back, second) {
		t.Errorf("the next save's log reads %v", back)
	}

	// A first save killed the same way leaves no run at all.
	empty := t.TempDir()
	cmd = exec.Command(os.Args[0], "-test.run=^TestClusterRunCrash$")
	cmd.Env = append(os.Environ(), clusterCrashEnv+"="+empty)
	if out, err := cmd.CombinedOutput(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	s2 := openStore(t, empty)
	if _, ok, err := s2.ClusterRun(chains.BTC); ok || err != nil {
		t.Errorf("a killed first save reads as a run: ok=%v err=%v", ok, err)
	}
}

func TestClusterDecisions(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds, err := s.ClusterDecisions(chains.BTC); err != nil || len(ds) != 0 {
		t.Fatalf("empty store: %v %v", ds, err)
	}
	at := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	d1 := ClusterDecision{TxID: strings.Repeat("ab", 32), A: "bcrt1qheldA", B: "bcrt1qheldB", Accepted: true, At: at}
	d2 := ClusterDecision{TxID: strings.Repeat("cd", 32), A: "1HeldC", B: "bcrt1qheldD", Reason: "two exchanges, not one", At: at}
	if err := s.SetClusterDecisions(chains.BTC, []ClusterDecision{d1, d2}); err != nil {
		t.Fatal(err)
	}
	// The decision outlives runs: save one, then another over a larger window.
	for _, r := range []*ClusterRun{testRun(1, 100, 10), testRun(1, 1000, 10)} {
		if err := s.SaveClusterRun(chains.BTC, r, seqOf(testMerges("x", 3))); err != nil {
			t.Fatal(err)
		}
	}
	// Overwrite d1 with a rejection; the ids match the run's held ids.
	d1.Accepted, d1.Reason = false, "on reflection"
	if err := s.SetClusterDecisions(chains.BTC, []ClusterDecision{d1}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetClusterDecisions(chains.BTC, []ClusterDecision{{TxID: "t", A: "", B: "b"}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("decision without an address: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	ds, err := s.ClusterDecisions(chains.BTC)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ClusterDecision{}
	for _, d := range ds {
		byID[d.ID()] = d
	}
	run, _, _ := s.ClusterRun(chains.BTC)
	if len(ds) != 2 || byID[run.Held[0].ID] != d1 || byID[run.Held[1].ID] != d2 {
		t.Errorf("decisions %+v, want %+v and %+v under the held ids %s, %s", ds, d1, d2, run.Held[0].ID, run.Held[1].ID)
	}
	// The id names the merge: other addresses or another order, another id.
	if HeldMergeID(d1.TxID, d1.A, d1.B) == HeldMergeID(d1.TxID, d1.B, d1.A) || HeldMergeID("ab", "c", "d") == HeldMergeID("a", "bc", "d") {
		t.Error("held ids collide on reordered or re-split fields")
	}
	if ds, _ := s.ClusterDecisions(chains.ETH); len(ds) != 0 {
		t.Errorf("btc decisions show as eth's: %v", ds)
	}
}

func TestWindowFingerprint(t *testing.T) {
	s := openStore(t, t.TempDir())
	blocks := genBlocks(10, 5, 2, 1, 9) // 10..14
	for _, b := range blocks {
		b.Txs = nil // eth-shaped blocks are fine: only headers count
	}
	if err := s.WriteBlocks(chains.BTC, blocks); err != nil {
		t.Fatal(err)
	}
	fp := func(from, to uint64) [32]byte {
		t.Helper()
		h, err := s.WindowFingerprint(chains.BTC, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base, inner := fp(10, 14), fp(11, 13)
	if base == inner || base == fp(10, 13) {
		t.Error("windows of other blocks share a fingerprint")
	}
	if fp(10, 14) != base {
		t.Error("the fingerprint is not deterministic")
	}
	// The same blocks written again: unchanged.
	if err := s.WriteBlocks(chains.BTC, blocks[2:3]); err != nil {
		t.Fatal(err)
	}
	if fp(10, 14) != base {
		t.Error("rewriting a block unchanged changed the fingerprint")
	}
	// A block outside the window: unchanged.
	if err := s.WriteBlocks(chains.BTC, genBlocks(15, 1, 1, 1, 9)); err != nil {
		t.Fatal(err)
	}
	if fp(10, 14) != base {
		t.Error("a block after the window changed its fingerprint")
	}
	// A reorg of block 12: changed, and so is every window holding it.
	reorg := block(12, hash32("reorg", 12), xfer(12, 0, 0, []string{ethAddr(1)}, ethAddr(2), bigPow2(3, 0)))
	if err := s.WriteBlocks(chains.BTC, []*chains.BlockTransfers{reorg}); err != nil {
		t.Fatal(err)
	}
	if fp(10, 14) == base || fp(11, 13) == inner {
		t.Error("a re-indexed block left the fingerprint unchanged")
	}
	if _, err := s.WindowFingerprint(chains.BTC, 3, 2); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("from > to: %v", err)
	}
}
