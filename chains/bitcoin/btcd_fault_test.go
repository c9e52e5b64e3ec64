package bitcoin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/faultproxy"
)

// The adapter against a real btcd behind fault-injection proxies: what it
// reads through drops, 5xx, 429s and a stall, or from a fallback while the
// primary is down, is what it reads straight from the node.

// faultyBtcd starts btcd with a few blocks of spends after the initial
// chain and returns it with the heights that hold them.
func faultyBtcd(t *testing.T) (n *btcnode.Node, from, to uint64) {
	t.Helper()
	n = btcnode.Start(t, btcnode.Options{MatureOutputs: 3})
	coins, err := n.FundKeys(btcnode.To("a", btcnode.P2WPKH, 2_000_000), btcnode.To("b", btcnode.P2PKH, 1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	_, h, err := n.Client().GetBestBlock()
	if err != nil {
		t.Fatal(err)
	}
	from = uint64(h)
	if _, err := n.Spend(coins[:1], []btcnode.Output{btcnode.To("c", btcnode.P2PKH, 1_500_000), btcnode.To("d", btcnode.P2WPKH, 490_000)}, 10_000); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(2); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Spend(coins[1:], []btcnode.Output{btcnode.To("e", btcnode.P2WPKH, 995_000)}, 5_000); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	return n, from - 3, from + 3
}

// btcdProxy starts a fault proxy in front of the node's RPC (https, with
// the node's certificate); the client talks plain HTTP to the proxy.
func btcdProxy(t *testing.T, n *btcnode.Node, seed uint64, f faultproxy.Faults) *faultproxy.Proxy {
	t.Helper()
	host, _, _, _ := n.RPCConfig()
	tc, err := n.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	p := faultproxy.New("https://"+host, faultproxy.Options{Seed: seed, Transport: tr, Faults: f})
	t.Cleanup(p.Close)
	return p
}

// readRange fetches and decodes the blocks from..to and returns them as
// JSON, one string per block.
func readRange(t *testing.T, a *bitcoin.Adapter, from, to uint64) []string {
	t.Helper()
	var nums []uint64
	for h := from; h <= to; h++ {
		nums = append(nums, h)
	}
	raws, err := a.FetchRaw(context.Background(), nums)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range raws {
		bt, err := a.Decode(&raws[i])
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(bt)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func sameBlocks(t *testing.T, what string, want, got []string) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d blocks, straight from the node %d", what, len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("%s: block %d differs:\n%s\nstraight from the node:\n%s", what, i, got[i], want[i])
		}
	}
}

func checkBtcStats(t *testing.T, s ethereum.EndpointStats, p *faultproxy.Proxy) {
	t.Helper()
	pc := p.Counts()
	if s.Total() != int64(p.Requests()) {
		t.Errorf("%s: the client counted %d requests, the proxy saw %d", s.Endpoint, s.Total(), p.Requests())
	}
	for result, o := range map[string]faultproxy.Outcome{
		ethereum.ResultHTTP429:   faultproxy.TooMany,
		ethereum.ResultHTTP5xx:   faultproxy.ServerError,
		ethereum.ResultConnError: faultproxy.Dropped,
		ethereum.ResultTimeout:   faultproxy.Abandoned,
	} {
		if s.Requests[result] != int64(pc[o]) {
			t.Errorf("%s: the client counted %s %d, the proxy %s %d", s.Endpoint, result, s.Requests[result], o, pc[o])
		}
	}
}

// TestBtcdThroughFaults: through a proxy that drops 10% of the
// connections, answers 20% of the rest 500 (without a JSON-RPC body, so not
// Bitcoin Core's error answer), every 8th request 429 with Retry-After: 1,
// and holds the first request past the client's timeout, the adapter reads
// the same blocks as straight from btcd, under a rate limit of 20 a second
// that the proxy never sees exceeded. Every 429 is retried no sooner than
// its Retry-After.
func TestBtcdThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	n, from, to := faultyBtcd(t)
	host, user, pass, _ := n.RPCConfig()
	ctx := context.Background()
	direct, err := bitcoin.Dial(ctx, "https://"+host, bitcoin.Options{User: user, Pass: pass, CertFile: n.CertFile()})
	if err != nil {
		t.Fatal(err)
	}
	want := readRange(t, direct, from, to)

	p := btcdProxy(t, n, 5, faultproxy.Faults{DropRate: 0.1, ErrorRate: 0.2, ErrorStatus: http.StatusInternalServerError, TooManyEvery: 8, RetryAfter: 1})
	p.StallNext(1, time.Minute)
	start := time.Now()
	a, err := bitcoin.Dial(ctx, p.URL(), bitcoin.Options{User: user, Pass: pass, RPC: ethereum.RPCOptions{BatchSize: 1, Concurrency: 4,
		Timeout: time.Second, Retries: 12, Backoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		RequestsPerSecond: 20, Burst: 1, BreakerCooldown: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Capabilities() != direct.Capabilities() {
		t.Errorf("capabilities through the faults %+v, straight %+v", a.Capabilities(), direct.Capabilities())
	}
	got := readRange(t, a, from, to)
	sameBlocks(t, "through the faults", want, got)
	counts := p.Counts()
	st := a.RPC().Stats()[0]
	t.Logf("%d requests in %v: %v; client %+v", p.Requests(), time.Since(start).Round(time.Millisecond), counts, st)
	for _, o := range []faultproxy.Outcome{faultproxy.Dropped, faultproxy.ServerError, faultproxy.TooMany, faultproxy.Abandoned} {
		if counts[o] == 0 {
			t.Errorf("no request was %s: the fault was not exercised", o)
		}
	}
	checkBtcStats(t, st, p)
	recs := p.Records()
	retried := 0
	for i, r := range recs {
		if r.Outcome != faultproxy.TooMany {
			continue
		}
		for _, next := range recs[i+1:] {
			if next.BodyHash == r.BodyHash {
				if gap := next.Arrival.Sub(r.Done); gap < time.Second {
					t.Errorf("request %d answered 429 with Retry-After: 1 was sent again after %v", r.Seq, gap)
				}
				retried++
				break
			}
		}
	}
	if retried != counts[faultproxy.TooMany] {
		t.Errorf("%d of %d 429s were retried", retried, counts[faultproxy.TooMany])
	}
	if max1s := faultproxy.MaxCount(p.Arrivals(), time.Second); max1s > 20 {
		t.Errorf("the node saw %d requests in one second, limit 20", max1s)
	} else {
		t.Logf("at most %d requests in any second (limit 20)", max1s)
	}
}

// TestBtcdFailsOverAndComesBack: the primary proxy goes down; after 3
// failures its circuit opens and the reads go to the fallback proxy, with
// the same blocks; when it is back and the cool-down has passed, the reads
// return to it. With both down, a read fails with one error naming both.
func TestBtcdFailsOverAndComesBack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	n, from, to := faultyBtcd(t)
	host, user, pass, _ := n.RPCConfig()
	ctx := context.Background()
	direct, err := bitcoin.Dial(ctx, "https://"+host, bitcoin.Options{User: user, Pass: pass, CertFile: n.CertFile()})
	if err != nil {
		t.Fatal(err)
	}
	want := readRange(t, direct, from, to)
	primary := btcdProxy(t, n, 1, faultproxy.Faults{})
	fallback := btcdProxy(t, n, 2, faultproxy.Faults{})
	const cooldown = 300 * time.Millisecond
	a, err := bitcoin.Dial(ctx, primary.URL()+"/wallet/secretwalletname0123", bitcoin.Options{User: user, Pass: pass, RPC: ethereum.RPCOptions{
		BatchSize: 2, Retries: 2, Backoff: time.Millisecond, BreakerFailures: 3, BreakerCooldown: cooldown,
		Fallbacks: []string{fallback.URL()}}})
	if err != nil {
		t.Fatal(err)
	}

	primary.SetDown(true)
	sameBlocks(t, "primary down", want, readRange(t, a, from, to))
	st := a.RPC().Stats()
	if st[0].BreakerOpens < 1 || st[0].Failovers == 0 || st[1].Requests[ethereum.ResultOK] == 0 {
		t.Errorf("primary down: primary %+v, fallback %+v", st[0], st[1])
	}

	primary.SetDown(false)
	time.Sleep(cooldown + 50*time.Millisecond)
	sameBlocks(t, "primary back", want, readRange(t, a, from, to))
	fbBefore, before := fallback.Requests(), primary.Requests()
	sameBlocks(t, "primary back, again", want, readRange(t, a, from, to))
	if st = a.RPC().Stats(); st[0].Breaker != ethereum.BreakerClosed || primary.Requests() == before || fallback.Requests() != fbBefore {
		t.Errorf("primary back: %d requests to it, %d to the fallback; %+v", primary.Requests()-before, fallback.Requests()-fbBefore, st[0])
	}
	checkBtcStats(t, st[0], primary)
	checkBtcStats(t, st[1], fallback)

	primary.SetDown(true)
	fallback.SetDown(true)
	_, err = a.Head(ctx)
	if !errors.Is(err, ethereum.ErrNodeUnavailable) {
		t.Fatalf("both down: want ErrNodeUnavailable, got %v", err)
	}
	msg := err.Error()
	for _, w := range []string{"every endpoint failed", primary.URL() + "/wallet/REDACTED", fallback.URL(), "getblockcount", "after 6 attempts"} {
		if !strings.Contains(msg, w) {
			t.Errorf("both down: %q does not say %q", msg, w)
		}
	}
	if strings.Contains(msg, "secretwallet") || strings.Contains(msg, pass) {
		t.Errorf("both down: the error leaks a secret: %q", msg)
	}
}
