package tracer_test

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/chains/ethereum/history"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/erigonemu"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// The erigon-dev fixtures are a real Erigon node's answers for a scripted
// scenario (peel chain, splitter, reverts at two depths, a token, a
// DELEGATECALL proxy, SELFDESTRUCT, CREATE with value); internal/erigonemu
// serves them as a node that answers trace_filter, ots_search*, eth_getLogs,
// eth_getBalance and the token's balanceOf for any parameters. These tests
// trace the scenario from its funded account through each address-indexed
// backend and want exactly the transfers scenario.json says moved.

// sourceFinder adapts a history.Source (common.Address) to the tracer's
// BlockFinder (the store's address strings).
type sourceFinder struct{ src history.Source }

func (f sourceFinder) Name() string { return f.src.Name() }

func (f sourceFinder) Blocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error) {
	a, err := ethereum.ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	return f.src.Blocks(ctx, a, from, to)
}

// wantRow is a row reduced to what scenario.json states, addresses and
// assets lower-case.
type wantRow struct {
	Block    uint64
	TxIndex  uint32
	TxHash   string
	Kind     chains.Kind
	From, To string
	Asset    string
	Amount   string
	Hop      int
}

func (r wantRow) String() string {
	return fmt.Sprintf("%d/%d %s %s %s -> %s %s %s hop %d", r.Block, r.TxIndex, r.TxHash[:10], r.Kind, r.From, r.To, r.Asset, r.Amount, r.Hop)
}

// erigonTruth is what the acceptance test derives from scenario.json alone.
type erigonTruth struct {
	seed  string // lower-case
	names map[string]string
	want  []wantRow
	// every moved transfer, reachable or not, and the ones left out
	moved, notMoved int
}

// reachable computes, from scenario.json alone, the transfers a poison
// trace from the seed must report: in time order (block, transaction, then
// the frames depth-first and the logs after them), a transfer that moved
// (valueMoved / moved: no reverted frame, no DELEGATECALL's repeated value,
// no reverted token transfer) is reached when its sender is the seed or has
// already received a reached transfer of the same asset. Hops: the seed is
// 0, a row's hop is its sender's + 1, and an address's hop is the lowest of
// the rows that reached it.
func reachable(t *testing.T, dir string) *erigonTruth {
	t.Helper()
	sc, err := erigonemu.ReadScenario(dir)
	if err != nil {
		t.Fatal(err)
	}
	resolve := sc.Resolver()
	must := func(name string) string {
		a, err := resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if len(sc.Addresses) == 0 || sc.Addresses[0].Name != "dev" {
		t.Fatal("scenario.json: the first address should be dev, the funded account")
	}
	tr := &erigonTruth{seed: strings.ToLower(sc.Addresses[0].Address), names: map[string]string{}}
	for _, a := range sc.Addresses {
		tr.names[strings.ToLower(a.Address)] = a.Name
	}
	token := must(sc.Token.Name)
	txs := slices.Clone(sc.Transactions)
	sort.SliceStable(txs, func(i, j int) bool {
		if txs[i].BlockNumber != txs[j].BlockNumber {
			return txs[i].BlockNumber < txs[j].BlockNumber
		}
		return txs[i].TransactionIndex < txs[j].TransactionIndex
	})
	tainted := map[[2]string]bool{} // address, asset
	hop := map[string]int{tr.seed: 0}
	isTainted := func(addr, asset string) bool { return addr == tr.seed || tainted[[2]string{addr, asset}] }
	reach := func(row wantRow) {
		tr.want = append(tr.want, row)
		tainted[[2]string{row.To, row.Asset}] = true
		if h, ok := hop[row.To]; !ok || row.Hop < h {
			hop[row.To] = row.Hop
		}
	}
	for _, tx := range txs {
		for _, vt := range tx.ValueTransfers {
			if !vt.Moved {
				tr.notMoved++
				continue
			}
			tr.moved++
			from, to := must(vt.From), must(vt.To)
			if !isTainted(from, "eth") {
				continue
			}
			kind := chains.KindInternal
			if vt.Kind == "top-level" {
				kind = chains.KindNative
			}
			reach(wantRow{tx.BlockNumber, uint32(tx.TransactionIndex), tx.Hash, kind, from, to, "eth", vt.ValueWei, hop[from] + 1})
		}
		for _, tt := range tx.TokenTransfers {
			if !tt.Moved {
				tr.notMoved++
				continue
			}
			tr.moved++
			from, to := must(tt.From), must(tt.To)
			if must(tt.Token) != token {
				t.Fatalf("%s: a transfer of an unknown token %s", tx.Label, tt.Token)
			}
			if !isTainted(from, token) {
				continue
			}
			reach(wantRow{tx.BlockNumber, uint32(tx.TransactionIndex), tx.Hash, chains.KindERC20, from, to, token, tt.Amount, hop[from] + 1})
		}
	}
	return tr
}

// gotRows reduces a trace's rows for the comparison, and checks what
// poison promises: every row fully tainted.
func gotRows(t *testing.T, res *tracer.Result) []wantRow {
	t.Helper()
	var out []wantRow
	for _, r := range res.Rows {
		if len(r.From) != 1 {
			t.Errorf("%s %s: %d senders", r.TxHash, r.Position, len(r.From))
			continue
		}
		if r.Taint == nil || r.Taint.Cmp(r.Amount) != 0 {
			t.Errorf("%s %s: poison taint %v of %s", r.TxHash, r.Position, r.Taint, r.Amount)
		}
		out = append(out, wantRow{r.BlockNumber, r.TxIndex, strings.ToLower(r.TxHash), r.Kind, strings.ToLower(r.From[0]),
			strings.ToLower(r.To), strings.ToLower(r.Asset), r.Amount.String(), r.Hop})
	}
	return out
}

// sameRows wants the two lists to hold the same rows, each as often.
func sameRows(t *testing.T, what string, got, want []wantRow, names map[string]string) {
	t.Helper()
	key := func(rs []wantRow) map[string]int {
		m := map[string]int{}
		for _, r := range rs {
			s := r.String()
			for a, n := range names {
				s = strings.ReplaceAll(s, a, n)
			}
			m[s]++
		}
		return m
	}
	g, w := key(got), key(want)
	var missing, extra []string
	for k, n := range w {
		for range n - g[k] {
			missing = append(missing, k)
		}
	}
	for k, n := range g {
		for range n - w[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, k := range missing {
		t.Errorf("%s: missing %s", what, k)
	}
	for _, k := range extra {
		t.Errorf("%s: unexpected %s", what, k)
	}
}

// rowsText is the rows in the walk's order with hop and taint, for
// comparing two traces exactly.
func rowsText(res *tracer.Result) string {
	var b strings.Builder
	for _, r := range res.Rows {
		fmt.Fprintf(&b, "%s %s %s %s %s %s %d\n", r.TxHash, r.Position, r.Asset, r.Amount, r.Taint, r.To, r.Hop)
	}
	return b.String()
}

// TestErigonBackendsTraceTheScenario: tracing from the scenario's first
// address (dev, the funded account) through the trace_filter backend and
// through the ots backend, each with logs, gives the scenario's transfers
// exactly, the same rows as the block scan, and a second trace on the same
// store asks the node nothing. Windows: 38..48 with pages of 2 (paging),
// and 0..2,000,000 on a node whose head is 1,500,000 (the 1000-block range
// limit, clamped to the head).
func TestErigonBackendsTraceTheScenario(t *testing.T) {
	dir := erigonemu.Dir(t)
	truth := reachable(t, dir)
	if truth.moved == 0 || len(truth.want) == 0 {
		t.Fatal("scenario.json gives no moved transfers")
	}
	traceScenario(t, dir, truth)
}

func traceScenario(t *testing.T, dir string, truth *erigonTruth) {
	ctx := context.Background()
	seed := ethereumHex(t, truth.seed)
	const maxHops = 1000

	openStore := func(t *testing.T) *store.Store {
		t.Helper()
		st, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	dial := func(t *testing.T, s *erigonemu.Server) *ethereum.Adapter {
		t.Helper()
		a, err := ethereum.Dial(ctx, s.URL(), ethereum.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg := func(from, to uint64) tracer.Config {
		return tracer.Config{Seeds: []string{seed}, Models: []taint.Kind{taint.Poison}, MaxHops: maxHops, FromBlock: from, ToBlock: to,
			NativeAsset: chains.AssetETH}
	}

	// The block scan: every block of 38..48 indexed, the walk served from
	// the store.
	var scanRows string
	t.Run("block scan", func(t *testing.T) {
		s := erigonemu.New(t, dir, erigonemu.Options{})
		a := dial(t, s)
		st := openStore(t)
		if _, err := indexer.Run(ctx, a, st, 38, 48, indexer.Options{}); err != nil {
			t.Fatal(err)
		}
		h := &tracer.StoreHistory{Store: st, Chain: chains.ETH, Node: a}
		res, err := tracer.Trace(ctx, h, nil, cfg(38, 48))
		if err != nil {
			t.Fatal(err)
		}
		sameRows(t, "block scan vs scenario.json", gotRows(t, res), truth.want, truth.names)
		scanRows = rowsText(res)
		t.Logf("block scan: %d rows, %d balances asked of the node, %d HTTP requests", len(res.Rows), h.NodeCalls(), s.Requests())
	})

	cases := []struct {
		name     string
		backend  string // "trace_filter" or "ots", each with logs
		head     uint64 // 0: the recorded head
		from, to uint64
		pageSize int
	}{
		{"trace_filter+logs/38..48 page 2", history.NameTraceFilter, 0, 38, 48, 2},
		{"ots+logs/38..48 page 2", history.NameOtterscan, 0, 38, 48, 2},
		{"trace_filter+logs/0..2,000,000 head 1,500,000", history.NameTraceFilter, 1_500_000, 0, 2_000_000, 0},
		{"ots+logs/0..2,000,000 head 1,500,000", history.NameOtterscan, 1_500_000, 0, 2_000_000, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := erigonemu.New(t, dir, erigonemu.Options{Head: tc.head})
			a := dial(t, s)
			st := openStore(t)
			opts := history.Options{PageSize: tc.pageSize}
			var primary history.Source = history.NewTraceFilter(a.RPC(), opts)
			if tc.backend == history.NameOtterscan {
				primary = history.NewOtterscan(a.RPC(), opts)
			}
			logs := history.NewLogs(a.RPC(), opts)
			var fetched []uint64
			index := func(ctx context.Context, blocks []uint64) error {
				fetched = append(fetched, blocks...)
				_, err := indexer.RunBlocks(ctx, a, st, blocks, indexer.Options{})
				return err
			}
			h := &tracer.BackedHistory{StoreHistory: &tracer.StoreHistory{Store: st, Chain: chains.ETH, Node: a},
				Finders: []tracer.BlockFinder{sourceFinder{primary}, sourceFinder{logs}}, Index: index}
			before := s.Requests()
			res, err := tracer.Trace(ctx, h, nil, cfg(tc.from, tc.to))
			if err != nil {
				t.Fatal(err)
			}
			requests := s.Requests() - before
			got := gotRows(t, res)
			sameRows(t, "backed trace vs scenario.json", got, truth.want, truth.names)
			if scanRows != "" && rowsText(res) != scanRows {
				t.Errorf("backed trace differs from the block scan:\n%s\nvs\n%s", rowsText(res), scanRows)
			}
			slices.Sort(fetched)
			fetched = slices.Compact(fetched)
			for _, b := range fetched {
				if b < 38 || b > 48 {
					t.Errorf("fetched block %d, outside the scenario", b)
				}
			}

			// What the emulator saw: paging, or the range limit.
			stats := s.Stats()
			if len(stats.NonNumbers) > 0 {
				t.Errorf("numbers sent as strings: %v", stats.NonNumbers[:min(3, len(stats.NonNumbers))])
			}
			if u := s.Replay().Unmatched(); len(u) > 0 {
				for _, c := range u {
					// Only detection's probes (latest block, zero hash) may miss.
					if !strings.Contains(c, `"latest"`) && !strings.Contains(c, "0x"+strings.Repeat("0", 64)) {
						t.Errorf("call without a recording: %s", c)
					}
				}
			}
			if tc.pageSize > 0 {
				switch tc.backend {
				case history.NameTraceFilter:
					if stats.TraceFilterLaterPages == 0 {
						t.Error("trace_filter with count 2 never asked a second page")
					}
				case history.NameOtterscan:
					if stats.OtsPagesWithMore == 0 {
						t.Error("ots with page size 2 never answered a page with more behind it")
					}
				}
			}
			if tc.to-tc.from > erigonemu.DefaultRangeLimit {
				if stats.RangeRefusals == 0 {
					t.Error("a window over the range limit was never refused")
				}
				if l := logs.RangeLimit(); l != erigonemu.DefaultRangeLimit {
					t.Errorf("logs learned limit %d, want %d", l, erigonemu.DefaultRangeLimit)
				}
				if tf, ok := primary.(*history.TraceFilter); ok && tf.RangeLimit() != erigonemu.DefaultRangeLimit {
					t.Errorf("trace_filter learned limit %d, want %d", tf.RangeLimit(), erigonemu.DefaultRangeLimit)
				}
			}

			// The same trace again on the same store: nothing is asked.
			queries := h.Queries()
			before = s.Requests()
			res2, err := tracer.Trace(ctx, h, nil, cfg(tc.from, tc.to))
			if err != nil {
				t.Fatal(err)
			}
			if n := s.Requests() - before; n != 0 {
				t.Errorf("second trace: %d requests to the node, want 0 (%v)", n, s.CallsPerMethod())
			}
			if h.Queries() != queries {
				t.Errorf("second trace: %d backend queries, want 0", h.Queries()-queries)
			}
			if rowsText(res2) != rowsText(res) {
				t.Errorf("second trace differs:\n%s\nvs\n%s", rowsText(res2), rowsText(res))
			}
			t.Logf("%d rows (of %d moved transfers, %d that moved nothing left out); %d blocks fetched %v; "+
				"first trace %d HTTP requests (%d backend queries, %d balances, %d range refusals, %d later trace_filter pages, %d ots pages with more); second trace 0",
				len(got), truth.moved, truth.notMoved, len(fetched), fetched, requests, queries, h.NodeCalls(),
				stats.RangeRefusals, stats.TraceFilterLaterPages, stats.OtsPagesWithMore)
		})
	}
}

// ethereumHex is an address in the store's canonical (EIP-55) form.
func ethereumHex(t *testing.T, addr string) string {
	t.Helper()
	a, err := ethereum.ParseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	return a.Hex()
}

// TestErigonTruthIsReachable pins what the acceptance test expects, so that
// a change in scenario.json or in its reading shows: from dev, every
// transfer that moved is reached except the token's mint (from 0x0).
func TestErigonTruthIsReachable(t *testing.T) {
	truth := reachable(t, erigonemu.Dir(t))
	if len(truth.want) != truth.moved-1 {
		t.Errorf("%d rows reachable of %d moved transfers, want all but the mint", len(truth.want), truth.moved)
	}
	eth, tok := new(big.Int), new(big.Int)
	for _, r := range truth.want {
		v, _ := new(big.Int).SetString(r.Amount, 10)
		if r.Asset == "eth" {
			eth.Add(eth, v)
		} else {
			tok.Add(tok, v)
		}
	}
	t.Logf("%d rows: %s wei, %s token units; %d transfers that moved nothing (reverted frames, a DELEGATECALL, a failed token transfer)", len(truth.want), eth, tok, truth.notMoved)
}
