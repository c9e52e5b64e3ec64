package watch_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/watch"
)

// TestStateResumesWithoutRepeatOrMiss: a watcher restarted from its state
// file neither repeats an alert nor misses a movement that was pending
// when it stopped, and finds a reorganisation that happened while it was
// down from the block hashes the file keeps.
func TestStateResumesWithoutRepeatOrMiss(t *testing.T) {
	r := newEthRig(t, "thief")
	thief := devchain.Addr("thief")
	path := filepath.Join(t.TempDir(), "watch-state.json")
	start := r.commit(1) + 1
	wl := watchlist(chains.ETH, thief.Hex())
	open := func() *watch.Watcher {
		return r.open(wl, 2, start, func(c *watch.Config) { c.StatePath = path })
	}

	w := open()
	first := r.pay("thief", devchain.Addr("fence"), ether(3), nil)
	r.commit(3)
	r.step(w, 1, 0)
	second := r.pay("thief", devchain.Addr("fence"), ether(4), nil)
	b2 := r.commit(1)
	if res := r.step(w, 0, 0); res.Pending != 1 {
		t.Fatalf("%d pending, want 1", res.Pending)
	}

	// Restart: the first movement is not alerted again, the second (pending
	// at the stop) is alerted once it is final.
	w = open()
	r.step(w, 0, 0)
	r.commit(2)
	r.step(w, 1, 0)
	r.step(w, 0, 0)
	w = open()
	r.step(w, 0, 0)
	got := r.got.all()
	if len(got) != 2 || !strings.Contains(got[0].ID, strings.ToLower(first.Hex())) || !strings.Contains(got[1].ID, strings.ToLower(second.Hex())) {
		t.Fatalf("alerts over three runs: %+v", got)
	}

	st, err := watch.LoadState(path)
	if err != nil || st == nil {
		t.Fatalf("state: %v", err)
	}
	if st.Start != start || st.Next != r.node.Head()-1 || len(st.Alerted) != 2 || st.Recent[len(st.Recent)-1].Number != st.Next-1 ||
		st.Chain != "eth" || st.Network != "eth:1337" {
		t.Errorf("state: start %d next %d (head %d), %d alerts kept, chain %s network %s", st.Start, st.Next, r.node.Head(),
			len(st.Alerted), st.Chain, st.Network)
	}

	// Down while the chain is reorganised below the last final block: the
	// restarted watcher finds it from the saved hashes and retracts.
	if err := r.node.Fork(b2 - 1); err != nil {
		t.Fatal(err)
	}
	if err := r.node.RollbackPool(); err != nil {
		t.Fatal(err)
	}
	r.commit(5)
	w = open()
	if res := r.step(w, 0, 1); res.Reorgs != 1 {
		t.Errorf("reorganisations %d", res.Reorgs)
	}
	if got := r.got.all(); got[2].Type != watch.TypeRetraction || got[2].ID != got[1].ID {
		t.Errorf("retraction: %+v", got[2])
	}

	// A state file of another network, or not a state file, is refused.
	b, _ := os.ReadFile(path)
	other := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(other, []byte(strings.Replace(string(b), `"eth:1337"`, `"eth:1"`, 1)), 0o644)
	_, err = watch.Open(t.Context(), watch.Config{Source: r.src, Watchlist: wl, StatePath: other, Logger: r.log})
	if !errors.Is(err, watch.ErrStateMismatch) || !strings.Contains(err.Error(), "eth:1") {
		t.Errorf("another network's state: %v", err)
	}
	os.WriteFile(other, []byte(`{"version": 1, "chain": "eth"`), 0o644)
	_, err = watch.Open(t.Context(), watch.Config{Source: r.src, Watchlist: wl, StatePath: other, Logger: r.log})
	if !errors.Is(err, watch.ErrBadState) {
		t.Errorf("a truncated state: %v", err)
	}
}
