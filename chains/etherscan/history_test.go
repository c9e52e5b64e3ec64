package etherscan_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/chains/etherscan"
	"github.com/chaintrace/chaintrace/internal/etherscanreplay"
)

// Addresses are written lower-case in the records, as Etherscan does; the
// claims must carry them in EIP-55 form.
const (
	seed    = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
	bob     = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"
	carol   = "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"
	created = "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"
	usdc    = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
	nft     = "0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d"
)

func eip55(a string) string { return common.HexToAddress(a).Hex() }

func hash(i int) string { return fmt.Sprintf("0x%064x", i) }

// fast is a client that does not wait in tests: a high rate, short backoff.
func fast(url string, o etherscan.Options) *etherscan.Client {
	if o.RequestsPerSecond == 0 {
		o.RequestsPerSecond = 1000
		o.Burst = 100
	}
	if o.Backoff == 0 {
		o.Backoff = 5 * time.Millisecond
	}
	return etherscan.New(url, o)
}

func claimString(c etherscan.Claim) string {
	s := fmt.Sprintf("%d %s %s %s->%s %s %s", c.Block, c.TxHash[len(c.TxHash)-4:], c.Kind, c.From, c.To, c.Asset, c.Amount)
	if c.TokenID != nil {
		s += " id=" + c.TokenID.String()
	}
	if c.Failed {
		s += " failed"
	}
	return s + " " + c.Source
}

// TestHistoryAllActions: one record of every kind the four actions give,
// served as Etherscan and as Blockscout serve them.
func TestHistoryAllActions(t *testing.T) {
	failedTx := etherscanreplay.Native(12, hash(3), seed, bob, "5")
	failedTx.IsError, failedTx.TxReceiptStatus = "1", "0"
	creation := etherscanreplay.Native(13, hash(4), seed, "", "7")
	creation.ContractAddress = created
	zeroInternal := etherscanreplay.Internal(14, hash(5), seed, carol, "0")
	internalCreate := etherscanreplay.Internal(15, hash(6), seed, "", "9")
	internalCreate.Type, internalCreate.ContractAddress, internalCreate.TraceID = "create", created, "0_1"
	failedInternal := etherscanreplay.Internal(16, hash(7), carol, seed, "11")
	failedInternal.IsError, failedInternal.ErrCode = "1", "Reverted"
	recs := []etherscanreplay.Record{
		etherscanreplay.Native(10, hash(1), bob, seed, "1000000000000000000"),
		etherscanreplay.Native(11, hash(2), seed, carol, "0"), // zero value: kept, gas was paid
		failedTx,
		creation,
		zeroInternal,
		internalCreate,
		failedInternal,
		etherscanreplay.Internal(17, hash(8), bob, seed, "123456789012345678901234567890"),
		etherscanreplay.ERC20(18, hash(9), usdc, seed, bob, "2500000"),
		etherscanreplay.ERC721(19, hash(10), nft, bob, seed, "7804"),
		etherscanreplay.Native(20, hash(11), bob, carol, "1"),           // not the seed's
		etherscanreplay.ERC20(21, hash(12), usdc, bob, carol, "1"),      // not the seed's
		etherscanreplay.ERC721(9, hash(13), nft, seed, bob, "1"),        // before from
		etherscanreplay.Native(31, hash(14), bob, seed, "1"),            // after to
		etherscanreplay.Internal(10, hash(1), seed, carol, "300000000"), // same block as a normal tx
	}
	want := []string{
		"10 0001 native " + eip55(bob) + "->" + eip55(seed) + " ETH 1000000000000000000 txlist",
		"10 0001 internal " + eip55(seed) + "->" + eip55(carol) + " ETH 300000000 txlistinternal",
		"11 0002 native " + eip55(seed) + "->" + eip55(carol) + " ETH 0 txlist",
		"12 0003 native " + eip55(seed) + "->" + eip55(bob) + " ETH 5 failed txlist",
		"13 0004 native " + eip55(seed) + "->" + eip55(created) + " ETH 7 txlist",
		"15 0006 internal " + eip55(seed) + "->" + eip55(created) + " ETH 9 txlistinternal",
		"16 0007 internal " + eip55(carol) + "->" + eip55(seed) + " ETH 11 failed txlistinternal",
		"17 0008 internal " + eip55(bob) + "->" + eip55(seed) + " ETH 123456789012345678901234567890 txlistinternal",
		"18 0009 erc20 " + eip55(seed) + "->" + eip55(bob) + " " + eip55(usdc) + " 2500000 tokentx",
		"19 000a erc721 " + eip55(bob) + "->" + eip55(seed) + " " + eip55(nft) + " 1 id=7804 tokennfttx",
	}
	for _, tc := range []struct {
		name string
		opts etherscanreplay.Options
	}{
		{"etherscan", etherscanreplay.Options{Key: "K"}},
		{"blockscout", etherscanreplay.Options{Blockscout: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := etherscanreplay.New(t, recs, tc.opts)
			c := fast(srv.URL(), etherscan.Options{Key: tc.opts.Key})
			got, err := c.History(context.Background(), eip55(seed), 10, 30)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, g := range got {
				lines = append(lines, claimString(g))
			}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Fatalf("claims\n got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			if srv.Requests() != 4 || c.Requests() != 4 {
				t.Fatalf("%d requests (client counted %d), want one an action", srv.Requests(), c.Requests())
			}
			for _, q := range srv.Queries() {
				if q.Get("sort") != "asc" || q.Get("startblock") != "10" || q.Get("endblock") != "30" ||
					q.Get("address") != seed || q.Get("module") != "account" || q.Get("offset") != "1000" || q.Get("page") != "1" {
					t.Fatalf("query %v", q)
				}
				if q.Has("chainid") {
					t.Fatalf("chainid sent without Options.ChainID: %v", q)
				}
			}
			blocks, err := c.Blocks(context.Background(), common.HexToAddress(seed), 10, 30)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(blocks, []uint64{10, 11, 12, 13, 15, 16, 17, 18, 19}) {
				t.Fatalf("blocks %v", blocks)
			}
		})
	}
}

// TestPaging pages through lists longer than a page and longer than the
// result window, and checks that every record comes back once, in order.
func TestPaging(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n, perBlock  int
		pageSize     int
		clientWindow int // 0: the default 10,000
		serverWindow int // 0: 10,000
		wantRequests int // txlist requests; 0: not checked
	}{
		{"one page", 7, 1, 1000, 0, 0, 1},
		{"small offsets", 50, 1, 3, 0, 0, 17},
		{"offset divides exactly", 12, 2, 4, 0, 0, 4}, // the fourth page is empty
		{"small window", 57, 3, 5, 20, 20, 0},
		{"window straddles a block", 40, 7, 5, 20, 20, 0},
		{"server window smaller than configured", 57, 3, 5, 0, 20, 0},
		{"offset not dividing the window", 100, 4, 7, 30, 30, 0},
		{"10,000 window", 12345, 5, 1000, 0, 0, 13}, // 10 pages, then 3 more from the last block
	} {
		t.Run(tc.name, func(t *testing.T) {
			var recs []etherscanreplay.Record
			for i := range tc.n {
				r := etherscanreplay.Native(uint64(100+i/tc.perBlock), hash(i+1), bob, seed, strconv.Itoa(i+1))
				r.TransactionIndex = strconv.Itoa(i % tc.perBlock)
				recs = append(recs, r)
			}
			srv := etherscanreplay.New(t, recs, etherscanreplay.Options{Window: tc.serverWindow})
			c := fast(srv.URL(), etherscan.Options{PageSize: tc.pageSize, Window: tc.clientWindow})
			got, err := c.History(context.Background(), seed, 0, 1_000_000)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Fatalf("%d claims, want %d", len(got), tc.n)
			}
			for i, g := range got {
				// Every record once, in the explorer's ascending order.
				if g.TxHash != hash(i+1) || g.Amount.Int64() != int64(i+1) || g.Block != uint64(100+i/tc.perBlock) {
					t.Fatalf("claim %d: %s", i, claimString(g))
				}
			}
			txlist := 0
			for _, q := range srv.Queries() {
				if q.Get("action") == "txlist" {
					txlist++
					p, _ := strconv.Atoi(q.Get("page"))
					o, _ := strconv.Atoi(q.Get("offset"))
					if w := max(tc.serverWindow, 0); w > 0 && p*o > w && tc.clientWindow != 0 {
						t.Fatalf("asked past the window: %v", q)
					}
				}
			}
			if tc.wantRequests != 0 && txlist != tc.wantRequests {
				t.Fatalf("%d txlist requests, want %d", txlist, tc.wantRequests)
			}
		})
	}
}

// TestWindowContinuation follows the queries of one continuation: the second
// query starts at the last block of the first window.
func TestWindowContinuation(t *testing.T) {
	var recs []etherscanreplay.Record
	for i := range 30 {
		recs = append(recs, etherscanreplay.Native(uint64(1+i/4), hash(i+1), seed, bob, "1"))
	}
	srv := etherscanreplay.New(t, recs, etherscanreplay.Options{Window: 10})
	c := fast(srv.URL(), etherscan.Options{PageSize: 5, Window: 10})
	got, err := c.History(context.Background(), seed, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Fatalf("%d claims", len(got))
	}
	var starts []string
	for _, q := range srv.Queries() {
		if q.Get("action") == "txlist" {
			starts = append(starts, q.Get("startblock")+"/"+q.Get("page"))
		}
	}
	// Blocks hold 4 records: the first window (10) ends inside block 3, the
	// second (from block 3) inside block 5, and so on.
	want := "1/1,1/2,3/1,3/2,5/1,5/2,7/1,7/2"
	if strings.Join(starts, ",") != want {
		t.Fatalf("startblock/page sequence %s, want %s", strings.Join(starts, ","), want)
	}
}

func TestBlockTooFullForWindow(t *testing.T) {
	var recs []etherscanreplay.Record
	for i := range 25 {
		recs = append(recs, etherscanreplay.Native(5, hash(i+1), seed, bob, "1"))
	}
	srv := etherscanreplay.New(t, recs, etherscanreplay.Options{Window: 20})
	c := fast(srv.URL(), etherscan.Options{PageSize: 10, Window: 20})
	_, err := c.History(context.Background(), seed, 0, 10)
	if err == nil || !strings.Contains(err.Error(), "block 5 alone") {
		t.Fatalf("err = %v", err)
	}
}

func TestNoTransactions(t *testing.T) {
	srv := etherscanreplay.New(t, []etherscanreplay.Record{etherscanreplay.Native(1, hash(1), bob, carol, "1")}, etherscanreplay.Options{})
	c := fast(srv.URL(), etherscan.Options{})
	got, err := c.History(context.Background(), seed, 0, 100)
	if err != nil || len(got) != 0 {
		t.Fatalf("claims %v, err %v", got, err)
	}
	blocks, err := c.Blocks(context.Background(), common.HexToAddress(seed), 0, 100)
	if err != nil || len(blocks) != 0 {
		t.Fatalf("blocks %v, err %v", blocks, err)
	}
}

// TestClientRate: the client's token bucket keeps it under its rate: in any
// second at most rate+burst requests (the bucket's bound, which network
// jitter can reach), so a server that allows a little more never has to
// refuse it.
func TestClientRate(t *testing.T) {
	var recs []etherscanreplay.Record
	for i := range 20 {
		recs = append(recs, etherscanreplay.Native(uint64(1+i), hash(i+1), bob, seed, "1"))
	}
	srv := etherscanreplay.New(t, recs, etherscanreplay.Options{RateLimit: 10})
	const rate = 8
	c := etherscan.New(srv.URL(), etherscan.Options{RequestsPerSecond: rate, PageSize: 2})
	start := time.Now()
	got, err := c.History(context.Background(), seed, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(got) != 20 {
		t.Fatalf("%d claims", len(got))
	}
	if srv.RateLimited() != 0 {
		t.Fatalf("%d requests refused for the rate", srv.RateLimited())
	}
	n := srv.Requests() // 11 txlist pages, 1 for each other action
	if n != 14 {
		t.Fatalf("%d requests", n)
	}
	if min := time.Duration(float64(n-1) / rate * float64(time.Second) * 0.9); elapsed < min {
		t.Fatalf("%d requests in %v: faster than %d a second", n, elapsed, rate)
	}
	times := srv.Times()
	for i := range times {
		inSecond := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < time.Second; j++ {
			inSecond++
		}
		if inSecond > rate+1 {
			t.Fatalf("%d requests within a second from request %d", inSecond, i)
		}
	}
}

// TestServerRateLimitRetried: the explorer's rate-limit answers, in both
// wordings, are retried until the call succeeds.
func TestServerRateLimitRetried(t *testing.T) {
	for _, text := range []string{
		"Max rate limit reached",
		"Max calls per sec rate limit reached (5/sec)",
		"Max rate limit reached, please use API Key for higher rate limit",
	} {
		t.Run(text, func(t *testing.T) {
			t.Parallel()
			// Five requests (tokentx takes two pages) against three a second.
			var recs []etherscanreplay.Record
			for i := range 2 {
				recs = append(recs, etherscanreplay.ERC20(uint64(1+i), hash(i+1), usdc, bob, seed, "1"))
			}
			srv := etherscanreplay.New(t, recs, etherscanreplay.Options{RateLimit: 3, RateLimitText: text})
			c := fast(srv.URL(), etherscan.Options{PageSize: 2, Retries: 20, Backoff: 50 * time.Millisecond})
			got, err := c.History(context.Background(), seed, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("%d claims", len(got))
			}
			if srv.RateLimited() == 0 {
				t.Fatal("the server never refused: the test tested nothing")
			}
		})
	}
}

func TestRateLimitExhausted(t *testing.T) {
	srv := etherscanreplay.New(t, nil, etherscanreplay.Options{RateLimit: 1, RateLimitText: "Max rate limit reached"})
	c := fast(srv.URL(), etherscan.Options{Retries: 2, Backoff: time.Millisecond})
	_, err := c.History(context.Background(), seed, 0, 100)
	if !errors.Is(err, etherscan.ErrUnavailable) || !strings.Contains(err.Error(), "Max rate limit reached") {
		t.Fatalf("err = %v", err)
	}
}

// TestWrongKey: a refused key is one clear line, sent once per action, and
// the key is nowhere in it.
func TestWrongKey(t *testing.T) {
	const key = "S3CRETKEY0123456789ABCDEFGHIJKLMN"
	for _, tc := range []struct {
		name, query string
		opts        etherscan.Options
	}{
		{"key option", "", etherscan.Options{Key: key}},
		{"key in the URL", "?apikey=" + key, etherscan.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A server of its own: the other case's requests still in
			// flight when its History returned must not count here.
			srv := etherscanreplay.New(t, nil, etherscanreplay.Options{Key: "THE-RIGHT-ONE"})
			before := srv.Requests()
			c := fast(srv.URL()+tc.query, tc.opts)
			_, err := c.History(context.Background(), seed, 0, 100)
			if !errors.Is(err, etherscan.ErrRefused) {
				t.Fatalf("err = %v, want ErrRefused", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "Invalid API Key") || strings.Contains(msg, key) || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("message %q", msg)
			}
			if strings.Contains(c.Endpoint(), key) || strings.Contains(c.Endpoint(), "apikey") {
				t.Fatalf("endpoint %q", c.Endpoint())
			}
			if n := srv.Requests() - before; n > 4 {
				t.Fatalf("%d requests: a refused key was retried", n)
			}
			for _, q := range srv.Queries()[before:] {
				if q.Get("apikey") != key {
					t.Fatalf("apikey sent as %q", q.Get("apikey"))
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	srv := etherscanreplay.New(t, nil, etherscanreplay.Options{})
	c := fast(srv.URL(), etherscan.Options{})
	// Caught before any request: not an address.
	if _, err := c.History(context.Background(), "0x1234", 0, 1); err == nil {
		t.Fatal("a short address was accepted")
	}
	if _, err := c.History(context.Background(), seed, 5, 1); err == nil {
		t.Fatal("from after to was accepted")
	}
	if srv.Requests() != 0 {
		t.Fatalf("%d requests for bad arguments", srv.Requests())
	}

	// The explorer's own "NOTOK" for a request it will not serve.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"0","message":"NOTOK","result":"Error! Invalid address format"}`))
	}))
	defer refusing.Close()
	c = fast(refusing.URL+"/api", etherscan.Options{})
	_, err := c.History(context.Background(), seed, 0, 1)
	if !errors.Is(err, etherscan.ErrRefused) || !strings.Contains(err.Error(), "Invalid address format") {
		t.Fatalf("err = %v", err)
	}
}

// TestTransportFailures: connection drops, 5xx and 429 are retried (429's
// Retry-After honoured); a dead endpoint gives a clear error after the
// retries.
func TestTransportFailures(t *testing.T) {
	recs := []etherscanreplay.Record{etherscanreplay.Native(1, hash(1), bob, seed, "1")}
	for _, tc := range []struct {
		name     string
		inject   func(s *etherscanreplay.Server)
		minWait  time.Duration
		requests int
	}{
		{"connection dropped", func(s *etherscanreplay.Server) { s.DropNext(2) }, 0, 6},
		{"HTTP 502", func(s *etherscanreplay.Server) { s.FailNext(3, http.StatusBadGateway, "") }, 0, 7},
		{"HTTP 503 with Retry-After", func(s *etherscanreplay.Server) { s.FailNext(1, http.StatusServiceUnavailable, "1") }, time.Second, 5},
		{"HTTP 429 with Retry-After", func(s *etherscanreplay.Server) { s.FailNext(1, http.StatusTooManyRequests, "1") }, time.Second, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := etherscanreplay.New(t, recs, etherscanreplay.Options{})
			tc.inject(srv)
			c := fast(srv.URL(), etherscan.Options{Retries: 5})
			start := time.Now()
			got, err := c.History(context.Background(), seed, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || srv.Requests() != tc.requests {
				t.Fatalf("%d claims after %d requests, want 1 after %d", len(got), srv.Requests(), tc.requests)
			}
			if el := time.Since(start); el < tc.minWait {
				t.Fatalf("retried after %v, before Retry-After's %v", el, tc.minWait)
			}
		})
	}

	t.Run("endpoint down", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL + "/api"
		dead.Close()
		const key = "DEADBEEFKEY1234567890"
		c := fast(url, etherscan.Options{Key: key, Retries: 2, Backoff: time.Millisecond})
		_, err := c.History(context.Background(), seed, 0, 10)
		if !errors.Is(err, etherscan.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		msg := err.Error()
		if strings.Contains(msg, key) || strings.ContainsAny(msg, "\n") || !strings.Contains(msg, "after 3 attempts") ||
			!strings.Contains(msg, c.Endpoint()) {
			t.Fatalf("message %q", msg)
		}
		if c.Requests() < 3 {
			t.Fatalf("%d requests", c.Requests())
		}
	})

	t.Run("HTTP 403 is not retried", func(t *testing.T) {
		srv := etherscanreplay.New(t, recs, etherscanreplay.Options{})
		srv.FailNext(4, http.StatusForbidden, "")
		c := fast(srv.URL(), etherscan.Options{Retries: 5})
		_, err := c.History(context.Background(), seed, 0, 10)
		if !errors.Is(err, etherscan.ErrRefused) || !strings.Contains(err.Error(), "403") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestChainID: the V2 API's chainid is sent when set, on every request.
func TestChainID(t *testing.T) {
	recs := []etherscanreplay.Record{etherscanreplay.ERC20(1, hash(1), usdc, bob, seed, "1")}
	refusing := etherscanreplay.New(t, recs, etherscanreplay.Options{ChainID: 8453, Key: "K"})
	c := fast(refusing.URL(), etherscan.Options{Key: "K"})
	_, err := c.History(context.Background(), seed, 0, 10)
	if !errors.Is(err, etherscan.ErrRefused) || !strings.Contains(err.Error(), "chainid") {
		t.Fatalf("without chainid: err = %v", err)
	}

	// A server of its own: the first client's requests still in flight
	// when its History returned must not count here.
	srv := etherscanreplay.New(t, recs, etherscanreplay.Options{ChainID: 8453, Key: "K"})
	before := len(srv.Queries())
	base := strings.TrimSuffix(srv.URL(), "/api") // no path: the client adds /v2/api
	c = fast(base, etherscan.Options{Key: "K", ChainID: 8453})
	got, err := c.History(context.Background(), seed, 0, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("claims %v, err %v", got, err)
	}
	for _, q := range srv.Queries()[before:] {
		if q.Get("chainid") != "8453" {
			t.Fatalf("query without chainid: %v", q)
		}
	}
	if c.Endpoint() != base+"/v2/api" {
		t.Fatalf("endpoint %q", c.Endpoint())
	}
}

// TestHooksReachClaims: a corrupted amount and an injected transfer come
// through as claims; confirming them is the tracer's job.
func TestHooksReachClaims(t *testing.T) {
	srv := etherscanreplay.New(t, []etherscanreplay.Record{etherscanreplay.Native(1, hash(1), bob, seed, "100")}, etherscanreplay.Options{})
	srv.Corrupt(etherscanreplay.TxList, hash(1), "101")
	srv.Inject(etherscanreplay.ERC20(2, hash(99), usdc, carol, seed, "5"))
	c := fast(srv.URL(), etherscan.Options{})
	got, err := c.History(context.Background(), seed, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Amount.Cmp(big.NewInt(101)) != 0 || got[1].TxHash != hash(99) {
		t.Fatalf("claims %v", got)
	}
}

// TestInconsistentAnswers: records that do not parse are errors, not
// silently dropped claims.
func TestInconsistentAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  etherscanreplay.Record
	}{
		{"from not an address", etherscanreplay.Native(1, hash(1), "garbage", seed, "1")},
		{"value not decimal", etherscanreplay.Native(1, hash(1), bob, seed, "0x10")},
		{"hash too short", etherscanreplay.Native(1, "0x1234", bob, seed, "1")},
		{"token id missing", etherscanreplay.ERC721(1, hash(1), nft, bob, seed, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := etherscanreplay.New(t, []etherscanreplay.Record{tc.rec}, etherscanreplay.Options{})
			c := fast(srv.URL(), etherscan.Options{})
			_, err := c.History(context.Background(), seed, 0, 10)
			if !errors.Is(err, etherscan.ErrInconsistent) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestName(t *testing.T) {
	c := etherscan.New("https://api.etherscan.io/api?apikey=XYZ", etherscan.Options{})
	if c.Name() != "etherscan" || c.Endpoint() != "https://api.etherscan.io/api" {
		t.Fatalf("name %q endpoint %q", c.Name(), c.Endpoint())
	}
}
