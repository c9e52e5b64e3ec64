package sparsechain_test

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/chains/ethereum/history"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/sparsechain"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/chaintrace/chaintrace/tracer/taint"
	"github.com/ethereum/go-ethereum/common"
)

const testBlocks = 100_000

func start(t *testing.T) *sparsechain.Server {
	t.Helper()
	s, err := sparsechain.New(sparsechain.Config{Blocks: testBlocks})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func dial(t *testing.T, s *sparsechain.Server) *ethereum.Adapter {
	t.Helper()
	a, err := ethereum.Dial(context.Background(), s.URL(), ethereum.Options{RPC: ethereum.RPCOptions{BatchSize: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCaseShape(t *testing.T) {
	s := start(t)
	c := s.Case()
	if c.MaxHop != 15 {
		t.Errorf("deepest deposit at hop %d, want 15", c.MaxHop)
	}
	if n := len(c.Controlled); n < 200 || n > 400 {
		t.Errorf("%d controlled addresses, want a few hundred", n)
	}
	seen := map[uint64]bool{}
	for i, tr := range c.Transfers {
		if seen[tr.Block] {
			t.Errorf("two transfers in block %d", tr.Block)
		}
		seen[tr.Block] = true
		if i > 0 && tr.Block <= c.Transfers[i-1].Block {
			t.Errorf("transfer %d in block %d, not after %d", i, tr.Block, c.Transfers[i-1].Block)
		}
	}
	if c.First > testBlocks/100 || c.Last < testBlocks-testBlocks/100 {
		t.Errorf("case spans %d-%d, want the whole 1-%d", c.First, c.Last, testBlocks)
	}
	// Every controlled address ends empty: what left the seed is at the exchanges, less fees.
	total := new(big.Int)
	for _, v := range c.Endpoints {
		total.Add(total, v)
	}
	fees := new(big.Int).Mul(sparsechain.Fee, big.NewInt(int64(len(c.Transfers)-1)))
	if got := new(big.Int).Add(total, fees); got.Cmp(c.Transfers[0].Value) != 0 {
		t.Errorf("endpoints %s + fees %s = %s, want the drain %s", total, fees, got, c.Transfers[0].Value)
	}
	for _, a := range c.Controlled {
		if b := s.BalanceAt(a, s.Head()); b.Sign() != 0 {
			t.Errorf("%s keeps %s wei", a.Hex(), b)
		}
	}
}

func TestAdapterReadsTheChain(t *testing.T) {
	ctx := context.Background()
	s := start(t)
	a := dial(t, s)
	caps := a.Capabilities()
	if caps.ChainID != sparsechain.ChainID || caps.ClientVersion != sparsechain.ClientVersion || !caps.BlockReceipts ||
		caps.TraceMethod() != ethereum.MethodDebugTraceBlock {
		t.Fatalf("capabilities %+v", caps)
	}
	c := s.Case()
	var nums []uint64
	for _, tr := range c.Transfers {
		nums = append(nums, tr.Block)
	}
	empty := c.Transfers[0].Block + 1
	raws, err := a.FetchRaw(ctx, append([]uint64{empty}, nums...))
	if err != nil {
		t.Fatal(err)
	}
	bt, err := a.Decode(&raws[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(bt.Txs) != 0 || len(bt.Transfers) != 0 || bt.Block.Hash != sparsechain.BlockHash(empty).Hex() ||
		bt.Block.ParentHash != sparsechain.BlockHash(empty-1).Hex() {
		t.Errorf("empty block %d: %+v", empty, bt.Block)
	}
	for i, raw := range raws[1:] {
		tr := c.Transfers[i]
		bt, err := a.Decode(&raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(bt.Txs) != 1 || bt.Txs[0].Fee.Cmp(sparsechain.Fee) != 0 || !bt.Txs[0].Success {
			t.Fatalf("block %d: txs %+v", tr.Block, bt.Txs)
		}
		if len(bt.Transfers) != 1 {
			t.Fatalf("block %d: %d rows, want 1", tr.Block, len(bt.Transfers))
		}
		r := bt.Transfers[0]
		if r.Kind != chains.KindNative || len(r.From) != 1 || r.From[0] != tr.From.Hex() || r.To != tr.To.Hex() ||
			r.Amount.Cmp(tr.Value) != 0 || r.TxHash != tr.Hash.Hex() || r.BlockNumber != tr.Block {
			t.Errorf("block %d: row %+v, want %s -> %s %s", tr.Block, r, tr.From.Hex(), tr.To.Hex(), tr.Value)
		}
	}
}

func TestTraceFilterFindsExactlyTheBlocks(t *testing.T) {
	ctx := context.Background()
	s := start(t)
	a := dial(t, s)
	c := s.Case()
	tf := history.NewTraceFilter(a.RPC(), history.Options{})
	// the seed, a fan-out address, the deepest peel, an exchange
	addrs := []common.Address{c.Seed, c.Controlled[7], c.Labels[0].Address}
	for _, tr := range c.Transfers {
		if tr.Hop == c.MaxHop {
			addrs = append(addrs, tr.From)
		}
	}
	for _, x := range addrs {
		var want []uint64
		for _, tr := range c.Transfers {
			if tr.From == x || tr.To == x {
				want = append(want, tr.Block)
			}
		}
		got, err := tf.Blocks(ctx, x, 0, s.Head())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s: blocks %v, want %v", x.Hex(), got, want)
		}
	}
	if tf.RangeLimit() != sparsechain.RangeLimit {
		t.Errorf("learned range limit %d", tf.RangeLimit())
	}
	// eth_getLogs: the same limit, and nothing found.
	lg := history.NewLogs(a.RPC(), history.Options{})
	if got, err := lg.Blocks(ctx, c.Seed, 0, s.Head()); err != nil || len(got) != 0 {
		t.Errorf("logs: %v %v", got, err)
	}
	if lg.RangeLimit() != sparsechain.RangeLimit {
		t.Errorf("logs learned range limit %d", lg.RangeLimit())
	}
}

func TestBalances(t *testing.T) {
	ctx := context.Background()
	s := start(t)
	a := dial(t, s)
	c := s.Case()
	check := func(x common.Address, at uint64) {
		t.Helper()
		want := new(big.Int)
		if x == c.Source {
			want.Set(c.Alloc)
		}
		for _, tr := range c.Transfers {
			if tr.Block > at {
				break
			}
			if tr.To == x {
				want.Add(want, tr.Value)
			}
			if tr.From == x {
				want.Sub(want, tr.Value)
				want.Sub(want, sparsechain.Fee)
			}
		}
		got, err := a.BalanceAt(ctx, x.Hex(), chains.AssetETH, at)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cmp(want) != 0 {
			t.Errorf("%s at %d: %s, want %s", x.Hex(), at, got, want)
		}
	}
	for _, x := range []common.Address{c.Source, c.Seed, c.Labels[1].Address, c.Controlled[20]} {
		check(x, 0)
		check(x, c.First)
		check(x, (c.First+c.Last)/2)
		check(x, c.Last)
	}
	if b := s.BalanceAt(c.Source, c.Last); b.Cmp(new(big.Int).Sub(new(big.Int).Sub(c.Alloc, c.Transfers[0].Value), sparsechain.Fee)) != 0 {
		t.Errorf("victim keeps %s", b)
	}
}

type finder struct{ src history.Source }

func (f finder) Name() string { return f.src.Name() }
func (f finder) Blocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error) {
	x, err := ethereum.ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	return f.src.Blocks(ctx, x, from, to)
}

type caseLabels map[string]sparsechain.Label

func (l caseLabels) Stop(addr string) (string, string, bool) {
	x, ok := l[strings.ToLower(addr)]
	return x.Label, x.Category, ok
}

func rowsText(res *tracer.Result) string {
	var b strings.Builder
	for _, r := range res.Rows {
		fmt.Fprintf(&b, "%d %s %s %s %s %s %d\n", r.BlockNumber, r.TxHash, r.Position, r.Amount, r.Taint, r.To, r.Hop)
	}
	return b.String()
}

// TestTraceFilterMatchesBlockScan traces the case through trace_filter and
// through the block scan: the same rows, the case's exchange amounts, and
// far fewer requests for trace_filter.
func TestTraceFilterMatchesBlockScan(t *testing.T) {
	ctx := context.Background()
	s := start(t)
	c := s.Case()
	labels := caseLabels{}
	for _, l := range c.Labels {
		labels[strings.ToLower(l.Address.Hex())] = l
	}
	cfg := tracer.Config{Seeds: []string{c.Seed.Hex()}, Models: []taint.Kind{taint.Haircut}, MaxHops: 20, FromBlock: c.First, ToBlock: s.Head(),
		NativeAsset: chains.AssetETH}
	openStore := func() *store.Store {
		st, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	checkEndpoints := func(what string, res *tracer.Result) {
		t.Helper()
		got := map[string]string{}
		for _, e := range res.Endpoints {
			got[strings.ToLower(e.Address)] = e.Amount.String()
			if e.Taint.Cmp(e.Amount) != 0 {
				t.Errorf("%s: %s taint %s of %s", what, e.Address, e.Taint, e.Amount)
			}
		}
		if len(got) != len(c.Endpoints) {
			t.Errorf("%s: %d endpoints, want %d", what, len(got), len(c.Endpoints))
		}
		for x, v := range c.Endpoints {
			if got[strings.ToLower(x.Hex())] != v.String() {
				t.Errorf("%s: %s received %s, want %s", what, x.Hex(), got[strings.ToLower(x.Hex())], v)
			}
		}
		maxHop := 0
		for _, r := range res.Rows {
			maxHop = max(maxHop, r.Hop)
		}
		if maxHop != c.MaxHop || len(res.Rows) != len(c.Transfers)-1 {
			t.Errorf("%s: %d rows to hop %d, want %d to hop %d", what, len(res.Rows), maxHop, len(c.Transfers)-1, c.MaxHop)
		}
	}

	// trace_filter
	a := dial(t, s)
	st := openStore()
	before, callsBefore := s.Requests(), totalCalls(s)
	h := &tracer.BackedHistory{StoreHistory: &tracer.StoreHistory{Store: st, Chain: chains.ETH, Node: a},
		Finders: []tracer.BlockFinder{finder{history.NewTraceFilter(a.RPC(), history.Options{})}, finder{history.NewLogs(a.RPC(), history.Options{})}},
		Index: func(ctx context.Context, blocks []uint64) error {
			_, err := indexer.RunBlocks(ctx, a, st, blocks, indexer.Options{})
			return err
		}}
	res, err := tracer.Trace(ctx, h, labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tfRequests, tfCalls := s.Requests()-before, totalCalls(s)-callsBefore
	checkEndpoints("trace_filter", res)
	tfRows := rowsText(res)

	// block scan
	a2 := dial(t, s)
	st2 := openStore()
	before, callsBefore = s.Requests(), totalCalls(s)
	// what 'chaintrace trace --history scan' does: chunks of 16 blocks
	if _, err := indexer.Run(ctx, a2, st2, c.First, s.Head(), indexer.Options{}); err != nil {
		t.Fatal(err)
	}
	res2, err := tracer.Trace(ctx, &tracer.StoreHistory{Store: st2, Chain: chains.ETH, Node: a2}, labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	scanRequests, scanCalls := s.Requests()-before, totalCalls(s)-callsBefore
	checkEndpoints("block scan", res2)
	if rowsText(res2) != tfRows {
		t.Errorf("trace_filter and block scan differ:\n%s\nvs\n%s", tfRows, rowsText(res2))
	}
	// On 100,000 blocks the scan's requests are already several times
	// trace_filter's (which are per address, not per block); at a million
	// blocks ten times as many again.
	if tfRequests*3 > scanRequests || tfCalls*3 > scanCalls {
		t.Errorf("trace_filter made %d requests (%d calls), the block scan %d (%d): want far fewer", tfRequests, tfCalls, scanRequests, scanCalls)
	}
	t.Logf("%d rows; trace_filter %d HTTP requests (%d calls), block scan %d (%d); calls %v", len(res.Rows), tfRequests, tfCalls, scanRequests, scanCalls, s.Calls())
}

func totalCalls(s *sparsechain.Server) int64 {
	var n int64
	for _, v := range s.Calls() {
		n += v
	}
	return n
}
