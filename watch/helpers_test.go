package watch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/watch"
)

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// collect is a Sink that keeps every alert it is sent.
type collect struct {
	mu     sync.Mutex
	alerts []*watch.Alert
}

func (*collect) Name() string { return "collect" }

func (c *collect) Send(_ context.Context, a *watch.Alert) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := *a
	c.alerts = append(c.alerts, &cp)
	return nil
}

func (c *collect) all() []*watch.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*watch.Alert(nil), c.alerts...)
}

// ethRig is a devchain node, the adapter on it, and what a watcher sends.
type ethRig struct {
	t     *testing.T
	node  *devchain.Node
	src   watch.EthSource
	got   *collect
	lines *syncBuffer // the JSON lines sink
	logs  *syncBuffer
	log   *slog.Logger
}

func newEthRig(t *testing.T, funded ...string) *ethRig {
	t.Helper()
	node, err := devchain.Start(devchain.Config{Funded: funded})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	a, err := ethereum.Dial(context.Background(), node.URL(), ethereum.Options{RPC: ethereum.RPCOptions{Retries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	return &ethRig{t: t, node: node, src: watch.EthSource{A: a}, got: &collect{}, lines: &syncBuffer{}, logs: logs,
		log: newTextLogger(logs)}
}

func newTextLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// open makes a watcher over the rig from block from.
func (r *ethRig) open(wl *watch.Watchlist, conf uint64, from uint64, mod func(*watch.Config)) *watch.Watcher {
	r.t.Helper()
	cfg := watch.Config{Source: r.src, Watchlist: wl, Confirmations: conf, FromBlock: &from,
		Sinks: []watch.Sink{r.got, &watch.JSONLines{W: r.lines}, watch.LogSink{Logger: r.log}}, Logger: r.log}
	if mod != nil {
		mod(&cfg)
	}
	w, err := watch.Open(context.Background(), cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return w
}

// step polls once and checks how many alerts and retractions it sent.
func (r *ethRig) step(w *watch.Watcher, alerts, retractions int) watch.Result {
	r.t.Helper()
	res, err := w.Step(context.Background())
	if err != nil {
		r.t.Fatalf("step at head %d: %v\n%s", res.Head, err, r.logs.String())
	}
	if res.Alerts != alerts || res.Retractions != retractions {
		r.t.Fatalf("step at head %d: %d alerts and %d retractions, want %d and %d (pending %d)\n%s",
			res.Head, res.Alerts, res.Retractions, alerts, retractions, res.Pending, r.logs.String())
	}
	return res
}

func (r *ethRig) commit(n int) uint64 {
	r.t.Helper()
	var last uint64
	for range n {
		b, err := r.node.Commit()
		if err != nil {
			r.t.Fatal(err)
		}
		last = b
	}
	return last
}

func (r *ethRig) pay(from string, to common.Address, v *big.Int, data []byte) common.Hash {
	r.t.Helper()
	tx, err := r.node.Transact(devchain.Key(from), &to, v, data, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	return tx.Hash()
}

// jsonLines decodes the JSON lines sink's output.
func (r *ethRig) jsonLines() []map[string]any {
	r.t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.lines.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			r.t.Fatalf("alert line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func listReason(line int) watch.Reason {
	return watch.Reason{Kind: watch.ReasonList, Source: "hot.txt", Line: line}
}

func watchlist(chain chains.Chain, addrs ...string) *watch.Watchlist {
	wl := watch.NewWatchlist(chain)
	for i, a := range addrs {
		wl.Add(a, listReason(i+1))
	}
	return wl
}
