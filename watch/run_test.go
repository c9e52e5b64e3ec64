package watch_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/watch"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunFollowsTheChainAndStopsCleanly: Run polls by itself, alerts a
// movement once it is final, logs where it is, and on cancellation saves
// its state and returns nil.
func TestRunFollowsTheChainAndStopsCleanly(t *testing.T) {
	r := newEthRig(t, "thief")
	path := filepath.Join(t.TempDir(), "state.json")
	start := r.commit(1) + 1
	w := r.open(watchlist(chains.ETH, devchain.Addr("thief").Hex()), 2, start, func(c *watch.Config) {
		c.Poll, c.ProgressEvery, c.StatePath = 5*time.Millisecond, 10*time.Millisecond, path
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	r.pay("thief", devchain.Addr("fence"), ether(5), nil)
	b := r.commit(1)
	waitFor(t, "the pending movement to be logged", func() bool {
		return strings.Contains(r.logs.String(), "watched funds moved; alert when final")
	})
	if len(r.got.all()) != 0 {
		t.Fatal("alerted before it was final")
	}
	waitFor(t, "a progress line while waiting", func() bool {
		return strings.Contains(r.logs.String(), "waiting for confirmations")
	})
	r.commit(2)
	waitFor(t, "the alert", func() bool { return len(r.got.all()) == 1 })
	waitFor(t, "a heartbeat", func() bool { return strings.Contains(r.logs.String(), "msg=watching head=") })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after cancellation", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	st, err := watch.LoadState(path)
	if err != nil || st == nil || st.Next < b+1 || len(st.Alerted) != 1 {
		t.Fatalf("state after stop: %+v, %v", st, err)
	}
	if len(r.got.all()) != 1 {
		t.Errorf("%d alerts, want 1", len(r.got.all()))
	}
}

// lagging is a node behind a load balancer that sometimes answers from a
// replica a few blocks behind.
type lagging struct {
	watch.Source
	lag atomic.Uint64
}

func (l *lagging) Head(ctx context.Context) (uint64, error) {
	h, err := l.Source.Head(ctx)
	return h - min(h, l.lag.Load()), err
}

// TestLaggingNodeDropsNothing: a head below the blocks already held, on the
// same chain, is not a reorganisation: nothing is dropped or retracted.
func TestLaggingNodeDropsNothing(t *testing.T) {
	r := newEthRig(t, "thief")
	start := r.commit(1) + 1
	src := &lagging{Source: r.src}
	w := r.open(watchlist(chains.ETH, devchain.Addr("thief").Hex()), 1, start, func(c *watch.Config) { c.Source = src })
	r.pay("thief", devchain.Addr("fence"), ether(5), nil)
	r.commit(3)
	r.step(w, 1, 0)
	r.pay("thief", devchain.Addr("fence"), ether(1), nil)
	r.commit(1)
	r.step(w, 0, 0) // pending

	src.lag.Store(3)
	if res := r.step(w, 0, 0); res.Reorgs != 0 || res.Pending != 1 {
		t.Fatalf("behind: %+v", res)
	}
	if !strings.Contains(r.logs.String(), "the node's head is behind") {
		t.Error("the lagging node is not logged")
	}
	src.lag.Store(0)
	r.commit(1)
	r.step(w, 1, 0)
}

// TestReorgDeeperThanKeptStops: when none of the blocks held is on the
// node's chain any more, Step and Run fail with ErrReorgTooDeep instead of
// guessing.
func TestReorgDeeperThanKeptStops(t *testing.T) {
	r := newEthRig(t, "thief")
	base := r.commit(1)
	w := r.open(watchlist(chains.ETH, devchain.Addr("thief").Hex()), 0, base+1, func(c *watch.Config) { c.Keep = 2 })
	r.commit(6)
	r.step(w, 0, 0)
	if n := len(w.State().Recent); n != 2 {
		t.Fatalf("%d block hashes kept, want 2", n)
	}
	if err := r.node.Fork(base + 1); err != nil {
		t.Fatal(err)
	}
	r.commit(8)
	_, err := w.Step(context.Background())
	if !errors.Is(err, watch.ErrReorgTooDeep) {
		t.Fatalf("Step: %v, want ErrReorgTooDeep", err)
	}
	if err := w.Run(context.Background()); !errors.Is(err, watch.ErrReorgTooDeep) {
		t.Fatalf("Run: %v, want ErrReorgTooDeep", err)
	}
}

// TestCatchUpLogsProgress: a watch starting far behind the head says how
// far it has got while it catches up.
func TestCatchUpLogsProgress(t *testing.T) {
	r := newEthRig(t, "thief")
	base := r.commit(1)
	r.commit(40)
	w := r.open(watchlist(chains.ETH, devchain.Addr("thief").Hex()), 0, base, func(c *watch.Config) {
		c.Chunk, c.ProgressEvery = 4, time.Nanosecond
	})
	r.step(w, 0, 0)
	if n := strings.Count(r.logs.String(), "msg=\"catching up\""); n < 3 {
		t.Errorf("%d progress lines over a 41-block catch-up in chunks of 4:\n%s", n, r.logs.String())
	}
}
