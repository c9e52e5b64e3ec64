package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/internal/erigonemu"
	"github.com/chaintrace/chaintrace/internal/rpcreplay"
	"github.com/ethereum/go-ethereum/common"
)

// The recordings answer the requests their recorder sent; this package
// sends other shapes (both address lists, count and after on every
// trace_filter, chunks and pages in batches). So the tests run against
// internal/erigonemu, which computes trace_filter, ots_searchTransactions*
// and eth_getLogs answers from the recorded blocks of the erigon-dev
// fixtures and passes every other call to the replay of the recordings. Its
// own tests check it against every recorded trace_filter, ots_search* and
// eth_getLogs file.

// Heads and limits of the recorded node.
const (
	recordedHead     = erigonemu.RecordedHead
	erigonRangeLimit = erigonemu.DefaultRangeLimit
)

// fixtureDir is the erigon-dev fixtures directory.
func fixtureDir(t testing.TB) string {
	t.Helper()
	return erigonemu.Dir(t)
}

// newFront starts an emulated Erigon node on the fixtures.
func newFront(t *testing.T, opts erigonemu.Options) *erigonemu.Server {
	t.Helper()
	return erigonemu.New(t, fixtureDir(t), opts)
}

// recordedCall reads the one call of a recorded file.
func recordedCall(t testing.TB, dir, file string) rpcreplay.RecordedCall {
	t.Helper()
	rec, err := rpcreplay.ReadErigonRecording(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	calls, err := rec.Calls()
	if err != nil || len(calls) != 1 {
		t.Fatalf("%s: want one call, got %d (%v)", file, len(calls), err)
	}
	return calls[0]
}

// truth is one scenario address with the blocks it appears in, from
// scenario.json's appearances.
type truth struct {
	name   string
	addr   common.Address
	frames []uint64 // a party of a call frame: tx sender/recipient, internal from/to, reverted or not
	tokens []uint64 // a party of a Transfer log
}

// frameRoles and tokenRoles are the appearance kinds of scenario.json that
// make an address a party of a frame, or of a token log. A failed token
// transfer's intended recipient (failedTokenTransferParty) is neither: it is
// named only in calldata, and the transfer emitted no log.
var (
	frameRoles = []string{"txSender", "txRecipient", "internalFrom", "internalTo", "onlyInRevertedFrames"}
	tokenRoles = []string{"tokenTransferParty"}
	otherRoles = []string{"failedTokenTransferParty"}
)

func loadTruth(t *testing.T) []truth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir(t), "scenario.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Addresses []struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		} `json:"addresses"`
		Transactions []struct {
			Label       string `json:"label"`
			BlockNumber uint64 `json:"blockNumber"`
		} `json:"transactions"`
		Appearances map[string]map[string][]string `json:"appearances"`
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	blockOf := map[string]uint64{}
	for _, tx := range sc.Transactions {
		blockOf[tx.Label] = tx.BlockNumber
	}
	blocks := func(name string, app map[string][]string, roles []string) []uint64 {
		set := map[uint64]struct{}{}
		for _, r := range roles {
			for _, label := range app[r] {
				n, ok := blockOf[label]
				if !ok {
					t.Fatalf("%s: %s names unknown tx %q", name, r, label)
				}
				set[n] = struct{}{}
			}
		}
		return sortedBlocks(set)
	}
	var out []truth
	for _, a := range sc.Addresses {
		app, ok := sc.Appearances[a.Name]
		if !ok {
			t.Fatalf("scenario.json: no appearances for %s", a.Name)
		}
		for role := range app {
			if !slices.Contains(frameRoles, role) && !slices.Contains(tokenRoles, role) && !slices.Contains(otherRoles, role) {
				t.Fatalf("scenario.json: %s: unknown appearance kind %q", a.Name, role)
			}
		}
		out = append(out, truth{name: a.Name, addr: common.HexToAddress(a.Address),
			frames: blocks(a.Name, app, frameRoles), tokens: blocks(a.Name, app, tokenRoles)})
	}
	if len(out) != 24 {
		t.Fatalf("scenario.json has %d addresses, want 24", len(out))
	}
	return out
}

func sameBlocks(a, b []uint64) bool { return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b)) }

func newClient(url string, batchSize int) *ethereum.Client {
	return ethereum.NewClient(url, ethereum.RPCOptions{BatchSize: batchSize})
}

// sources builds the three sources on one client.
func sources(c *ethereum.Client, opts Options) (*TraceFilter, *Otterscan, *Logs) {
	return NewTraceFilter(c, opts), NewOtterscan(c, opts), NewLogs(c, opts)
}

// want is what a source must find for an address.
func want(src Source, tr truth) []uint64 {
	if src.Name() == NameLogs {
		return tr.tokens
	}
	return tr.frames
}

// TestSourcesMatchScenario asks each source for every address's blocks in
// 37..48 and wants scenario.json's appearances: trace_filter and ots the
// blocks where the address is a party of a frame (reverted included), logs
// the blocks of its Transfer logs.
func TestSourcesMatchScenario(t *testing.T) {
	truths := loadTruth(t)
	f := newFront(t, erigonemu.Options{Head: recordedHead})
	tf, ots, logs := sources(newClient(f.URL(), 0), Options{})
	ctx := context.Background()
	for _, src := range []Source{tf, ots, logs} {
		for _, tr := range truths {
			t.Run(src.Name()+"/"+tr.name, func(t *testing.T) {
				before := src.Requests()
				got, err := src.Blocks(ctx, tr.addr, 37, 48)
				if err != nil {
					t.Fatal(err)
				}
				if w := want(src, tr); !sameBlocks(got, w) {
					t.Fatalf("blocks %v, want %v", got, w)
				}
				// trace_filter and logs: the head and the whole window in
				// one request. ots: a page per request.
				n := src.Requests() - before
				if src.Name() != NameOtterscan && n != 1 {
					t.Errorf("%d HTTP requests, want 1", n)
				}
			})
		}
	}
	// Sanity of the ground truth itself: the sources must disagree where
	// the scenario says they do.
	for _, tr := range truths {
		if tr.name == "peel1" && slices.Equal(tr.frames, tr.tokens) {
			t.Errorf("peel1: frame and token blocks should differ (46 is a token-only block)")
		}
	}
	if u := f.Replay().Unmatched(); len(u) > 0 {
		t.Errorf("calls passed to the replay server without a recording: %v", u)
	}
	if bad := f.Stats().NonNumbers; len(bad) > 0 {
		t.Errorf("numbers sent as strings: %v", bad)
	}
}

// TestPaging: trace_filter with count 3 and ots with page sizes 1, 2, 3 and
// 25 find the same blocks as in one page, and really page.
func TestPaging(t *testing.T) {
	truths := loadTruth(t)
	f := newFront(t, erigonemu.Options{Head: recordedHead})
	c := newClient(f.URL(), 0)
	ctx := context.Background()
	cases := []struct {
		name string
		src  Source
	}{
		{"trace_filter count 3", NewTraceFilter(c, Options{PageSize: 3})},
		{"trace_filter count 1", NewTraceFilter(c, Options{PageSize: 1})},
		{"ots page 25", NewOtterscan(c, Options{PageSize: 25})},
		{"ots page 3", NewOtterscan(c, Options{PageSize: 3})},
		{"ots page 1", NewOtterscan(c, Options{PageSize: 1})},
		{"ots page 500 is capped at 25", NewOtterscan(c, Options{PageSize: 500})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, tr := range truths {
				got, err := tc.src.Blocks(ctx, tr.addr, 37, 48)
				if err != nil {
					t.Fatalf("%s: %v", tr.name, err)
				}
				if !sameBlocks(got, tr.frames) {
					t.Errorf("%s: blocks %v, want %v", tr.name, got, tr.frames)
				}
			}
		})
	}
	// dev is the sender of 14 frames and the recipient of none: with
	// count 3, five pages (3, 3, 3, 3, 2), each a round trip.
	dev := truths[0]
	if dev.name != "dev" {
		t.Fatalf("first address is %s", dev.name)
	}
	tf := NewTraceFilter(c, Options{PageSize: 3})
	before, calls := tf.Requests(), f.CallsTo("trace_filter")
	if _, err := tf.Blocks(ctx, dev.addr, 37, 48); err != nil {
		t.Fatal(err)
	}
	if n := f.CallsTo("trace_filter") - calls; n != 5 {
		t.Errorf("dev with count 3: %d trace_filter calls, want 5", n)
	}
	if n := tf.Requests() - before; n != 5 {
		t.Errorf("dev with count 3: %d HTTP requests, want 5", n)
	}
	// ots with page size 3: dev's transactions are in blocks 38 (8), 44
	// (2), 45 (3) and 46 (1): pages 38 | 44+45 | 46.
	ots := NewOtterscan(c, Options{PageSize: 3})
	calls = f.CallsTo("ots_searchTransactionsAfter")
	if _, err := ots.Blocks(ctx, dev.addr, 37, 48); err != nil {
		t.Fatal(err)
	}
	if n := f.CallsTo("ots_searchTransactionsAfter") - calls; n != 3 {
		t.Errorf("dev with ots page 3: %d calls, want 3", n)
	}
	if bad := f.Stats().NonNumbers; len(bad) > 0 {
		t.Errorf("numbers sent as strings: %v", bad)
	}
}

// TestRecordedRequests runs sources against the plain replay server, where
// their calls are the recorded ones: the ots paging runs, one explicit
// start block, and both eth_getLogs filters of peel2 over 38..48.
func TestRecordedRequests(t *testing.T) {
	dir := fixtureDir(t)
	srv := rpcreplay.New(t)
	if _, err := srv.LoadErigonDev(dir, nil); err != nil {
		t.Fatal(err)
	}
	c := newClient(srv.URL(), 0)
	addr := func(s string) common.Address { return common.HexToAddress(s) }
	dev, peel1, peel2 := addr("0x78ef752367584ee389acb8824ceec734456402b6"), addr("0x125df34fd5ef9e58eb42a66f8dcbf2c8617ff23e"), addr("0x6fe64315b9e0372cd64e4cb63bf018d9bb8cbe79")
	cases := []struct {
		name     string
		src      Source
		addr     common.Address
		from, to uint64
		want     []uint64
		requests int64
	}{
		// ots_searchTransactionsAfter.dev.p3.page1..3: (0,3) (38,3) (45,3).
		{"ots dev p3", NewOtterscan(c, Options{PageSize: 3}), dev, 1, 48, []uint64{38, 44, 45, 46}, 3},
		// ots_searchTransactionsAfter.peel1.p2.page1..2: (0,2) (39,2).
		{"ots peel1 p2", NewOtterscan(c, Options{PageSize: 2}), peel1, 0, 48, []uint64{38, 39, 47}, 2},
		// ots_searchTransactionsAfter.dev.p25.after_block44: (44,25).
		{"ots dev from 45", NewOtterscan(c, Options{}), dev, 45, 48, []uint64{45, 46}, 1},
		// The first page already passes to: no second call.
		{"ots dev p3 to 38", NewOtterscan(c, Options{PageSize: 3}), dev, 1, 38, []uint64{38}, 1},
		// eth_blockNumber + eth_getLogs.transfer_from_peel2 + .transfer_to_peel2, one batch.
		{"logs peel2", NewLogs(c, Options{}), peel2, 38, 48, []uint64{47, 48}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.src.Blocks(context.Background(), tc.addr, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBlocks(got, tc.want) {
				t.Errorf("blocks %v, want %v", got, tc.want)
			}
			if n := tc.src.Requests(); n != tc.requests {
				t.Errorf("%d HTTP requests, want %d", n, tc.requests)
			}
		})
	}
	if u := srv.Unmatched(); len(u) > 0 {
		t.Errorf("calls without a recording: %v", u)
	}
}

// TestLongWindow asks for windows far wider than the node's 1000-block
// limit: the first call learns the limit from the refusal, the chunks go in
// batches, and the number of HTTP requests stays a handful.
func TestLongWindow(t *testing.T) {
	truths := loadTruth(t)
	ctx := context.Background()
	pick := []string{"dev", "peel1", "splitA", "revertSink", "side2", "factoryChild"}
	type result struct {
		name                  string
		learn, known, batches int64
	}
	var table []result
	cases := []struct {
		name      string
		head      uint64
		from, to  uint64
		batchSize int
	}{
		{"0..2,000,000 head 2,000,500", 2_000_500, 0, 2_000_000, 0},
		{"0..2,000,000 head 1,500,000 (clamped)", 1_500_000, 0, 2_000_000, 0},
		{"0..999,999 head 2,000,500", 2_000_500, 0, 999_999, 0},
		{"0..999,999 batch 1000", 2_000_500, 0, 999_999, 1000},
		{"37..1,000,036 batch 1000", 2_000_500, 37, 1_000_036, 1000},
	}
	for _, tc := range cases {
		for _, kind := range []string{NameTraceFilter, NameLogs} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				f := newFront(t, erigonemu.Options{Head: tc.head})
				c := newClient(f.URL(), tc.batchSize)
				batch := tc.batchSize
				if batch == 0 {
					batch = 100 // the client's default
				}
				var src Source
				var limit func() uint64
				perChunk := int64(1)
				switch kind {
				case NameTraceFilter:
					s := NewTraceFilter(c, Options{})
					src, limit = s, s.RangeLimit
				default:
					s := NewLogs(c, Options{})
					src, limit, perChunk = s, s.RangeLimit, 2
				}
				end := min(tc.to, tc.head)
				nChunks := int64((end - tc.from + 1 + erigonRangeLimit - 1) / erigonRangeLimit)
				// Requests for the chunks alone, in batches of the client's size.
				chunkRequests := (nChunks*perChunk + int64(batch) - 1) / int64(batch)
				var first, later int64
				for i, name := range pick {
					tr := truths[slices.IndexFunc(truths, func(x truth) bool { return x.name == name })]
					before := src.Requests()
					got, err := src.Blocks(ctx, tr.addr, tc.from, tc.to)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if w := want(src, tr); !sameBlocks(got, w) {
						t.Fatalf("%s: blocks %v, want %v", name, got, w)
					}
					n := src.Requests() - before
					if i == 0 {
						first = n
						if limit() != erigonRangeLimit {
							t.Errorf("learned limit %d, want %d", limit(), erigonRangeLimit)
						}
						// Round one (head + whole window), a second probe
						// when the window was clamped to the head, then the
						// chunks.
						maxFirst := 1 + chunkRequests
						if tc.to > tc.head {
							maxFirst++
						}
						if n > maxFirst {
							t.Errorf("first call: %d HTTP requests, want at most %d", n, maxFirst)
						}
					} else {
						later = n
						// The limit is known: the head, then the chunks.
						if n != 1+chunkRequests {
							t.Errorf("%s: %d HTTP requests, want %d", name, n, 1+chunkRequests)
						}
					}
				}
				if bad := f.Stats().NonNumbers; len(bad) > 0 {
					t.Errorf("numbers sent as strings: %v", bad[:min(3, len(bad))])
				}
				if n := f.Requests(); int64(n) != src.Requests() {
					t.Errorf("server saw %d HTTP requests, source counted %d", n, src.Requests())
				}
				table = append(table, result{tc.name + " " + kind, first, later, chunkRequests})
			})
		}
	}
	for _, r := range table {
		t.Logf("%-50s first call %3d requests, later calls %3d (chunk batches %d)", r.name, r.learn, r.known, r.batches)
	}
}

// TestOtsLongWindow: ots has no range limit; a long window costs the same
// pages as a short one.
func TestOtsLongWindow(t *testing.T) {
	truths := loadTruth(t)
	f := newFront(t, erigonemu.Options{Head: 2_000_500})
	ots := NewOtterscan(newClient(f.URL(), 0), Options{})
	for _, tr := range truths {
		before := ots.Requests()
		got, err := ots.Blocks(context.Background(), tr.addr, 0, 2_000_000)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBlocks(got, tr.frames) {
			t.Errorf("%s: blocks %v, want %v", tr.name, got, tr.frames)
		}
		if n := ots.Requests() - before; n != 1 {
			t.Errorf("%s: %d requests, want 1 (every address has fewer than 25 txs)", tr.name, n)
		}
	}
}

// TestWindowEdges: a window past the head, across it, and reversed.
func TestWindowEdges(t *testing.T) {
	truths := loadTruth(t)
	f := newFront(t, erigonemu.Options{Head: recordedHead})
	tf, ots, logs := sources(newClient(f.URL(), 0), Options{})
	ctx := context.Background()
	peel1 := truths[1]
	for _, src := range []Source{tf, ots, logs} {
		t.Run(src.Name(), func(t *testing.T) {
			// toBlock past the head: Erigon's trace_filter answers [] for
			// the whole call and eth_getLogs an error; both are clamped.
			got, err := src.Blocks(ctx, peel1.addr, 0x26, 0xffffff)
			if err != nil {
				t.Fatal(err)
			}
			if w := want(src, peel1); !sameBlocks(got, w) {
				t.Errorf("window past the head: blocks %v, want %v", got, w)
			}
			got, err = src.Blocks(ctx, peel1.addr, recordedHead+1, recordedHead+5000)
			if err != nil || len(got) != 0 {
				t.Errorf("window after the head: %v, %v; want none", got, err)
			}
			if _, err := src.Blocks(ctx, peel1.addr, 48, 37); !errors.Is(err, ErrRange) {
				t.Errorf("from > to: %v, want ErrRange", err)
			}
			got, err = src.Blocks(ctx, peel1.addr, 40, 46)
			if err != nil {
				t.Fatal(err)
			}
			var w []uint64
			for _, b := range want(src, peel1) {
				if b >= 40 && b <= 46 {
					w = append(w, b)
				}
			}
			if !sameBlocks(got, w) {
				t.Errorf("40..46: blocks %v, want %v", got, w)
			}
		})
	}
}

// TestConfiguredLimit: with RangeLimit given, the window is cut without a
// refusal first.
func TestConfiguredLimit(t *testing.T) {
	truths := loadTruth(t)
	f := newFront(t, erigonemu.Options{Head: recordedHead})
	c := newClient(f.URL(), 0)
	for _, src := range []interface {
		Source
		RangeLimit() uint64
	}{NewTraceFilter(c, Options{RangeLimit: 5}), NewLogs(c, Options{RangeLimit: 5})} {
		for _, tr := range truths {
			got, err := src.Blocks(context.Background(), tr.addr, 37, 48)
			if err != nil {
				t.Fatal(err)
			}
			if w := want(src, tr); !sameBlocks(got, w) {
				t.Errorf("%s %s: blocks %v, want %v", src.Name(), tr.name, got, w)
			}
		}
		if src.RangeLimit() != 5 {
			t.Errorf("%s: limit %d, want 5", src.Name(), src.RangeLimit())
		}
		// Per call: the head, then the chunks 37-41, 42-46, 47-48 in one batch.
		if n := src.Requests(); n != 2*int64(len(truths)) {
			t.Errorf("%s: %d requests for %d calls, want 2 each", src.Name(), n, len(truths))
		}
	}
	// A node with a tighter limit than configured: the refusal lowers it.
	f2 := newFront(t, erigonemu.Options{Head: recordedHead, RangeLimit: 3})
	tf := NewTraceFilter(newClient(f2.URL(), 0), Options{RangeLimit: 10})
	got, err := tf.Blocks(context.Background(), truths[0].addr, 37, 48)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBlocks(got, truths[0].frames) {
		t.Errorf("dev: blocks %v, want %v", got, truths[0].frames)
	}
	if tf.RangeLimit() != 3 {
		t.Errorf("limit %d after a refusal naming 3, want 3", tf.RangeLimit())
	}
}

// TestLogsTooManyResults: a node that refuses an answer as too long (geth:
// more than 10000 logs) gets halved ranges until each passes. Here any
// non-empty answer over more than 2 blocks is refused.
func TestLogsTooManyResults(t *testing.T) {
	truths := loadTruth(t)
	f := newFront(t, erigonemu.Options{Head: recordedHead, TooManyResultsOver: 2})
	logs := NewLogs(newClient(f.URL(), 0), Options{})
	for _, tr := range truths {
		got, err := logs.Blocks(context.Background(), tr.addr, 37, 48)
		if err != nil {
			t.Fatalf("%s: %v", tr.name, err)
		}
		if !sameBlocks(got, tr.tokens) {
			t.Errorf("%s: blocks %v, want %v", tr.name, got, tr.tokens)
		}
	}
	// Two filters per address, plus halves for the token parties.
	if n := f.CallsTo("eth_getLogs"); n <= 2*len(truths) {
		t.Errorf("%d eth_getLogs calls: no range was halved", n)
	}
}

// TestBatchRefused: an endpoint that refuses batches (here: more than two
// calls) still gets every call, one at a time.
func TestBatchRefused(t *testing.T) {
	truths := loadTruth(t)
	f := newFront(t, erigonemu.Options{Head: recordedHead, BatchLimit: 2})
	c := newClient(f.URL(), 0)
	tf, _, logs := sources(c, Options{})
	for _, src := range []Source{tf, logs} {
		for _, tr := range truths[:6] {
			got, err := src.Blocks(context.Background(), tr.addr, 37, 48)
			if err != nil {
				t.Fatalf("%s %s: %v", src.Name(), tr.name, err)
			}
			if w := want(src, tr); !sameBlocks(got, w) {
				t.Errorf("%s %s: blocks %v, want %v", src.Name(), tr.name, got, w)
			}
		}
	}
	got, err := Detect(context.Background(), c)
	if err != nil || !slices.Equal(got, []string{"trace_filter", "ots", "logs"}) {
		t.Errorf("Detect with batches refused: %v, %v", got, err)
	}
}

// TestBatchLimit: a client batching 1000 calls against a node that takes at
// most 100 (Erigon's default --rpc.batch.limit) halves its batches until
// they pass, and keeps that size.
func TestBatchLimit(t *testing.T) {
	truths := loadTruth(t)
	f := newFront(t, erigonemu.Options{Head: 2_000_500, BatchLimit: 100})
	tf := NewTraceFilter(newClient(f.URL(), 1000), Options{})
	var counts []int64
	for _, tr := range truths[:3] {
		before := tf.Requests()
		got, err := tf.Blocks(context.Background(), tr.addr, 0, 999_999)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBlocks(got, tr.frames) {
			t.Errorf("%s: blocks %v, want %v", tr.name, got, tr.frames)
		}
		counts = append(counts, tf.Requests()-before)
	}
	// 1000 chunks: refused as 1000, 2x500, 4x250, 8x125, then 17 batches
	// of 62 pass; later calls: the head and 17 batches.
	if tf.maxBatch.Load() != 62 {
		t.Errorf("batch size settled at %d, want 62", tf.maxBatch.Load())
	}
	if counts[1] != 18 || counts[2] != 18 {
		t.Errorf("requests per call %v, want 18 once the size is known", counts)
	}
	t.Logf("HTTP requests per call with batches refused over 100 calls: %v", counts)
}

func TestDetect(t *testing.T) {
	dir := fixtureDir(t)
	cases := []struct {
		name    string
		emulate bool
		disable []string
		want    []string
	}{
		{"replay with trace_filter, ots and getLogs answered", true, nil, []string{"trace_filter", "ots", "logs"}},
		{"no ots namespace", true, []string{"ots_getApiLevel"}, []string{"trace_filter", "logs"}},
		{"no trace namespace", true, []string{"trace_filter"}, []string{"ots", "logs"}},
		{"replay with the three disabled", false, []string{"trace_filter", "ots_getApiLevel", "eth_getLogs"}, nil},
		// The plain replay server has no recording of the probes: an error
		// that is not "method not found" is not support either.
		{"replay without recordings of the probes", false, nil, []string{"ots"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var url string
			if tc.emulate {
				f := newFront(t, erigonemu.Options{Head: recordedHead})
				f.Disable(tc.disable...)
				url = f.URL()
			} else {
				srv := rpcreplay.New(t)
				if _, err := srv.LoadErigonDev(dir, nil); err != nil {
					t.Fatal(err)
				}
				srv.Disable(tc.disable...)
				url = srv.URL()
			}
			c := newClient(url, 0)
			got, err := Detect(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Detect = %v, want %v", got, tc.want)
			}
			if n := c.Requests(); n != 1 {
				t.Errorf("%d HTTP requests, want 1 batch", n)
			}
		})
	}
	t.Run("ots below level 8", func(t *testing.T) {
		srv := rpcreplay.New(t)
		srv.Handle("ots_getApiLevel", nil, json.RawMessage("7"))
		got, err := Detect(context.Background(), newClient(srv.URL(), 0))
		if err != nil || len(got) != 0 {
			t.Errorf("Detect = %v, %v; want none", got, err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := rpcreplay.New(t)
		url := srv.URL()
		srv.Close()
		if _, err := Detect(context.Background(), newClient(url, 0)); !errors.Is(err, ethereum.ErrNodeUnavailable) {
			t.Errorf("Detect on a closed server: %v, want ErrNodeUnavailable", err)
		}
	})
}

// TestClassify reads the refusals recorded from Erigon and some that other
// nodes and providers send.
func TestClassify(t *testing.T) {
	dir := fixtureDir(t)
	recorded := func(file string) error {
		c := recordedCall(t, dir, file)
		if c.Error == nil {
			t.Fatalf("%s: recorded no error", file)
		}
		return &ethereum.RPCError{Code: c.Error.Code, Message: c.Error.Message}
	}
	cases := []struct {
		name  string
		err   error
		kind  refusal
		limit uint64
	}{
		{"erigon trace_filter", recorded("trace_filter.from_peel1.range_too_large.json"), refusedRange, 1000},
		{"erigon trace_filter long chain", recorded("trace_filter.from_peel1.no_block_range.long_chain.json"), refusedRange, 1000},
		{"erigon eth_getLogs", recorded("eth_getLogs.range_too_large.json"), refusedRange, 1000},
		{"erigon eth_getLogs beyond head", recorded("eth_getLogs.toBlock_beyond_head.json"), refusedBeyondHead, 0},
		{"erigon from > to", recorded("trace_filter.from_peel1.fromBlock_gt_toBlock.json"), refusedOther, 0},
		{"erigon count as hex string", recorded("trace_filter.from_dev.count_hex_string.json"), refusedOther, 0},
		{"erigon ots page size", recorded("ots_searchTransactionsBefore.page_size_too_large.json"), refusedOther, 0},
		{"erigon unknown method", recorded("chaintrace_noSuchMethod.unknown_method.json"), refusedOther, 0},
		{"geth", &ethereum.RPCError{Code: -32005, Message: "query returned more than 10000 results"}, refusedResults, 0},
		{"infura", &ethereum.RPCError{Code: -32005, Message: "query returned more than 10000 results. Try with this block range [0x1, 0x3e9]."}, refusedResults, 0},
		{"alchemy", &ethereum.RPCError{Code: -32602, Message: "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response."}, refusedResults, 0},
		{"block range too wide", &ethereum.RPCError{Code: -32000, Message: "block range is too wide"}, refusedRange, 0},
		{"exceed maximum block range", &ethereum.RPCError{Code: -32000, Message: "exceed maximum block range: 5000"}, refusedRange, 5000},
		{"10,000 range", &ethereum.RPCError{Code: -32614, Message: "eth_getLogs is limited to a 10,000 range"}, refusedRange, 10000},
		{"transport", fmt.Errorf("%w: connection refused", ethereum.ErrNodeUnavailable), refusedOther, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind, limit := classify(tc.err)
			if kind != tc.kind || limit != tc.limit {
				t.Errorf("classify(%v) = %d, %d; want %d, %d", tc.err, kind, limit, tc.kind, tc.limit)
			}
		})
	}
}

func TestChunks(t *testing.T) {
	cases := []struct {
		s     span
		limit uint64
		want  []span
	}{
		{span{0, 2000}, 1000, []span{{0, 999}, {1000, 1999}, {2000, 2000}}},
		{span{37, 48}, 5, []span{{37, 41}, {42, 46}, {47, 48}}},
		{span{37, 48}, 12, []span{{37, 48}}},
		{span{37, 48}, 0, []span{{37, 48}}},
		{span{5, 5}, 1, []span{{5, 5}}},
		{span{math.MaxUint64 - 5, math.MaxUint64}, 4, []span{{math.MaxUint64 - 5, math.MaxUint64 - 2}, {math.MaxUint64 - 1, math.MaxUint64}}},
	}
	for _, tc := range cases {
		if got := chunks(tc.s, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("chunks(%v, %d) = %v, want %v", tc.s, tc.limit, got, tc.want)
		}
	}
	// The chunks of a long window cover it exactly.
	got := chunks(span{3, 2_000_000}, 1000)
	sort.Slice(got, func(i, j int) bool { return got[i].from < got[j].from })
	next := uint64(3)
	for _, c := range got {
		if c.from != next || c.size() > 1000 {
			t.Fatalf("chunk %v after %d", c, next)
		}
		next = c.to + 1
	}
	if next != 2_000_001 {
		t.Fatalf("chunks end at %d", next-1)
	}
}
