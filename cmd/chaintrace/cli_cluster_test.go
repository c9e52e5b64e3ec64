package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/btcscenario"
	"github.com/chaintrace/chaintrace/store"
)

// clusterCase is the Bitcoin case played on btcd, then three transactions
// the trace never passes through (it stops at exchange A, an endpoint):
// exchange A consolidates a deposit with its hot wallet's coin (exaMerge),
// a cold wallet spends from its two addresses (coldMerge), and, a block
// later, the hot wallet spends together with the cold wallet (bridge),
// which joins two clusters of two addresses each: held with --hold-above 1.
type clusterCase struct {
	truth                       *btcscenario.Truth
	dir, labels                 string
	from, to                    uint64
	exA, hot, cold1, cold2      string
	exaMerge, coldMerge, bridge string
	window                      []string
}

func playClusterCase(t *testing.T) *clusterCase {
	t.Helper()
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 10})
	truth, dir, labelFile := playBtcCase(t, n, btcscenario.Options{PeelHops: 12, DepositEvery: 5})
	c := &clusterCase{truth: truth, dir: dir, labels: labelFile, from: truth.From, exA: truth.ExchangeA}
	addr := func(name string, typ btcnode.ScriptType) string {
		a, err := btcnode.AddrFor(name, typ, n.Params())
		if err != nil {
			t.Fatal(err)
		}
		return a.EncodeAddress()
	}
	c.hot, c.cold1, c.cold2 = addr("exa-hot", btcnode.P2WPKH), addr("cold-1", btcnode.P2PKH), addr("cold-2", btcnode.P2WPKH)

	var deposit btcnode.Coin
	for _, o := range truth.Outputs {
		if o.To == truth.ExchangeA {
			h, err := chainhash.NewHashFromStr(o.TxID)
			if err != nil {
				t.Fatal(err)
			}
			deposit = btcnode.Coin{OutPoint: wire.OutPoint{Hash: *h, Index: o.Vout}, Value: o.Value, Key: btcscenario.ExchangeA, Type: btcnode.P2WPKH}
			break
		}
	}
	if deposit.Key == "" {
		t.Fatal("the case paid exchange A nothing")
	}
	coins, err := n.FundKeys(btcnode.To("exa-hot", btcnode.P2WPKH, 10_000_000), btcnode.To("exa-hot", btcnode.P2WPKH, 10_000_000),
		btcnode.To("cold-1", btcnode.P2PKH, 10_000_000), btcnode.To("cold-1", btcnode.P2PKH, 10_000_000),
		btcnode.To("cold-2", btcnode.P2WPKH, 10_000_000))
	if err != nil {
		t.Fatal(err)
	}
	spend := func(from []btcnode.Coin, to string, typ btcnode.ScriptType) string {
		var sum int64
		for _, c := range from {
			sum += c.Value
		}
		tx, err := n.Spend(from, []btcnode.Output{btcnode.To(to, typ, sum-2_000)}, 2_000)
		if err != nil {
			t.Fatal(err)
		}
		return tx.TxHash().String()
	}
	c.exaMerge = spend([]btcnode.Coin{deposit, coins[0]}, "exa-hot", btcnode.P2WPKH)
	c.coldMerge = spend([]btcnode.Coin{coins[2], coins[4]}, "cold-1", btcnode.P2PKH)
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	c.bridge = spend([]btcnode.Coin{coins[1], coins[3]}, "exa-hot", btcnode.P2WPKH)
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	top, err := n.Client().GetBlockCount()
	if err != nil {
		t.Fatal(err)
	}
	c.to = uint64(top)
	c.window = []string{"--from-block", itoa(c.from), "--to-block", itoa(c.to)}
	code, _, errs := runCLI(t, nil, append(append([]string{"index", "--chain", "btc", "--store", c.store()}, btcNodeFlags(n)...), c.window...)...)
	if code != 0 {
		t.Fatalf("index: exit %d: %s", code, errs)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *clusterCase) store() string { return filepath.Join(c.dir, "store") }

// cluster runs `cluster` on the case's store and window.
func (c *clusterCase) cluster(t *testing.T, extra ...string) string {
	t.Helper()
	args := append([]string{"cluster", "--chain", "btc", "--store", c.store(), "--log-level", "warn"}, c.window...)
	code, out, errs := runCLI(t, nil, append(args, extra...)...)
	if code != 0 {
		t.Fatalf("cluster %v: exit %d: %s", extra, code, errs)
	}
	t.Logf("cluster %v:\n%s", extra, out)
	return out
}

// review runs `cluster review`.
func (c *clusterCase) review(t *testing.T, extra ...string) (int, string, string) {
	t.Helper()
	code, out, errs := runCLI(t, nil, append([]string{"cluster", "review", "--store", c.store(), "--log-level", "warn"}, extra...)...)
	t.Logf("cluster review %v: exit %d\n%s%s", extra, code, out, errs)
	return code, out, errs
}

// trace traces the case from the thief's address from the store and
// returns the exhibit.
func (c *clusterCase) trace(t *testing.T, name string, labels ...string) *exhibit.Exhibit {
	t.Helper()
	out := filepath.Join(c.dir, name)
	args := []string{"trace", "--chain", "btc", "--seed", c.truth.Seed, "--max-hops", "100", "--labels", c.labels,
		"--store", c.store(), "--out", out}
	for _, l := range labels {
		args = append(args, "--labels", l)
	}
	code, _, errs := runCLI(t, nil, append(args, c.window...)...)
	if code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errs)
	}
	return readBtcExhibit(t, out)
}

func exhibitAddress(t *testing.T, e *exhibit.Exhibit, addr string) exhibit.Address {
	t.Helper()
	for _, a := range e.Addresses {
		if a.Address == addr {
			return a
		}
	}
	t.Fatalf("the exhibit does not reach %s", addr)
	return exhibit.Address{}
}

func clusterFinding(e *exhibit.Exhibit, subject string) *exhibit.Finding {
	for i, f := range e.Findings {
		if f.Kind == "cluster_merge" && f.Subject == subject {
			return &e.Findings[i]
		}
	}
	return nil
}

func least(xs ...string) string { return slices.Min(xs) }

// TestClusterStoredRunAndReview: cluster saves its run and replays it the
// next time (--recompute computes again); a merge joining two clusters
// above --hold-above is held, listed by `cluster review`, and joins them
// only once accepted, a decision that survives a recomputed run and can be
// reversed; bad review input exits 2 with one line; and a trace inside the
// stored run's window states exchange A's whole-store cluster, which the
// transactions the trace passes through never show.
func TestClusterStoredRunAndReview(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	c := playClusterCase(t)

	// Without a stored run: the trace alone does not cluster exchange A.
	before := c.trace(t, "before.json")
	checkBtcTruth(t, before, c.truth)
	if a := exhibitAddress(t, before, c.exA); a.Cluster != "" {
		t.Fatalf("without a stored run exchange A is in %q: the case does not test what it should", a.Cluster)
	}

	// A review before any run: exit 2, one line.
	if code, _, errs := c.review(t); code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "no clustering run") {
		t.Errorf("review without a run: exit %d, %q", code, errs)
	}

	// The first run computes and saves; the held merge is the bridge.
	heldID := store.HeldMergeID(c.bridge, c.hot, c.cold1)
	out := c.cluster(t, c.exA, c.hot, "--hold-above", "1")
	for _, want := range []string{
		"clustering: computed over blocks", "saved in the store (the store holds no run)",
		"1 merges held", "cluster of " + c.exA + ": 2 addresses",
		"tx " + c.exaMerge + " spent from",
		"held for review: " + heldID + " tx " + c.bridge + " would join " + c.hot + " (2 addresses) and " + c.cold1 + " (2 addresses): pending",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first cluster run lacks %q", want)
		}
	}
	// The same window and parameters: replayed, with the same answer.
	again := c.cluster(t, c.exA, c.hot, "--hold-above", "1")
	if !strings.HasPrefix(again, "clustering: replayed the stored run of blocks "+itoa(c.from)+"-"+itoa(c.to)) {
		t.Errorf("second run not replayed:\n%s", again)
	}
	if tail(out) != tail(again) {
		t.Errorf("the replayed run answers otherwise:\n%s\nvs\n%s", tail(out), tail(again))
	}
	// --recompute, and another --hold-above, compute again.
	if out := c.cluster(t, c.exA, "--hold-above", "1", "--recompute"); !strings.Contains(out, "clustering: computed") || !strings.Contains(out, "(--recompute)") {
		t.Errorf("--recompute did not compute")
	}

	// review lists the held merge.
	code, out, _ := c.review(t)
	if code != 0 || !regexp.MustCompile(`(?m)^held `+heldID+` tx `+c.bridge+` would join `+c.hot+` \(2 addresses\) and `+c.cold1+` \(2 addresses\): pending$`).MatchString(out) ||
		!strings.Contains(out, "1 held merges: 0 accepted, 0 rejected, 1 pending") {
		t.Errorf("review listing: exit %d\n%s", code, out)
	}

	// Bad input: exit 2, one line, nothing recorded.
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown id", []string{"--accept", "ffffffffffff"}, "no held merge"},
		{"short id", []string{"--reject", "ab"}, "at least 4"},
		{"accepted and rejected", []string{"--accept", heldID, "--reject", heldID[:6]}, "both accepted and rejected"},
		{"accept-all with ids", []string{"--accept-all", "--reject", heldID}, "--accept-all"},
		{"reason alone", []string{"--reason", "why not"}, "--reason"},
		{"ids without a flag", []string{heldID}, "without --accept or --reject"},
		{"eth", []string{"--chain", "eth"}, "utxo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := c.review(t, tc.args...)
			if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line mentioning %q", code, errs, tc.want)
			}
		})
	}
	if _, out, _ := c.review(t); !strings.Contains(out, ": pending") {
		t.Errorf("bad input recorded a decision:\n%s", out)
	}

	// Accept it (by a prefix): the two clusters are one, in review's
	// answer and in cluster's, with the merge path through the bridge.
	code, out, _ = c.review(t, "--accept", heldID[:8], "--reason", "same operator: shared change pattern")
	if code != 0 || !strings.Contains(out, "accepted "+heldID+" tx "+c.bridge+": "+c.hot+" and "+c.cold1+" are one cluster, 4 addresses") {
		t.Errorf("accept: exit %d\n%s", code, out)
	}
	linked := "are linked by:\n  tx " + c.exaMerge + " spent from " + c.exA + " and " + c.hot + "\n  tx " + c.bridge + " spent from " + c.hot + " and " + c.cold1 +
		"\n  tx " + c.coldMerge + " spent from " + c.cold1 + " and " + c.cold2 + "\n"
	for _, extra := range [][]string{nil, {"--recompute"}} { // replayed, then the decision outlives a fresh run
		out := c.cluster(t, append([]string{c.exA, c.cold2, "--hold-above", "1"}, extra...)...)
		if !strings.Contains(out, "cluster of "+c.exA+": 4 addresses") || !strings.Contains(out, linked) ||
			!strings.Contains(out, "applied 1 held merges accepted on review") ||
			!strings.Contains(out, `: accepted `) || !strings.Contains(out, `"same operator: shared change pattern"`) {
			t.Errorf("cluster %v after the acceptance:\n%s", extra, out)
		}
	}
	if _, out, _ := c.review(t); !strings.Contains(out, "1 held merges: 1 accepted, 0 rejected, 0 pending") {
		t.Errorf("review after the acceptance:\n%s", out)
	}

	// A trace inside the run's window: exchange A's cluster is the whole
	// store's, accepted merge included; its finding's evidence is the
	// merges linking it to the cluster's name, and a label on the cold
	// wallet reaches it through the cluster.
	extra := filepath.Join(c.dir, "cold.csv")
	if err := os.WriteFile(extra, []byte("chain,address,label,category,source\nbtc,"+c.cold2+",Cold Storage Co,service,case file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := c.trace(t, "stored.json", extra)
	if err := exhibit.ValidateExhibit(e); err != nil {
		t.Errorf("schema: %v", err)
	}
	name := "cluster:" + least(c.exA, c.hot, c.cold1, c.cold2)
	a := exhibitAddress(t, e, c.exA)
	if a.Cluster != name {
		t.Errorf("exchange A in cluster %q, want the stored run's %q", a.Cluster, name)
	}
	f := clusterFinding(e, name)
	if f == nil {
		t.Fatalf("no cluster_merge finding for %s: %+v", name, e.Findings)
	}
	for _, tx := range f.Evidence {
		if tx != c.exaMerge && tx != c.bridge && tx != c.coldMerge {
			t.Errorf("evidence of %s names %s, not a merge linking exchange A to %s", name, tx, name)
		}
	}
	if len(f.Evidence) == 0 {
		t.Errorf("finding %s has no evidence", name)
	}
	inherited := false
	for _, l := range a.Labels {
		if l.Label == "Cold Storage Co" && l.Source == "case file, via cluster member "+c.cold2 {
			inherited = true
		}
	}
	if !inherited {
		t.Errorf("exchange A's labels %+v lack the cold wallet's, via the cluster", a.Labels)
	}
	// The consolidation's cluster is as before: what the trace passed
	// through and the whole store agree on it.
	for _, b := range before.Findings {
		if b.Kind == "cluster_merge" {
			if got := clusterFinding(e, b.Subject); got == nil || !slices.Equal(got.Evidence, b.Evidence) {
				t.Errorf("cluster %s: %+v with the stored run, %+v without", b.Subject, got, b)
			}
		}
	}
	var stored bool
	for _, h := range e.Method.Heuristics {
		stored = stored || h.Name == "multi-input" && strings.Contains(string(h.Params), `"source":"store"`) &&
			strings.Contains(string(h.Params), `"held_accepted":1`)
	}
	if !stored {
		t.Errorf("method.heuristics does not name the stored run: %+v", e.Method.Heuristics)
	}

	// Reject it: apart again, in cluster and in the next trace, where
	// exchange A keeps the cluster of its consolidation with the hot
	// wallet, which the trace alone never sees.
	code, out, _ = c.review(t, "--reject", heldID, "--reason", "two owners after all")
	if code != 0 || !strings.Contains(out, "rejected "+heldID+" tx "+c.bridge+": "+c.hot+" and "+c.cold1+" stay apart") {
		t.Errorf("reject: exit %d\n%s", code, out)
	}
	out = c.cluster(t, c.exA, c.cold2, "--hold-above", "1")
	if !strings.Contains(out, c.exA+" and "+c.cold2+" are not in one cluster") || !strings.Contains(out, `: rejected `) {
		t.Errorf("cluster after the rejection:\n%s", out)
	}
	e = c.trace(t, "rejected.json", extra)
	if a := exhibitAddress(t, e, c.exA); a.Cluster != "cluster:"+least(c.exA, c.hot) {
		t.Errorf("after the rejection exchange A is in %q, want cluster:%s", a.Cluster, least(c.exA, c.hot))
	}
	if f := clusterFinding(e, "cluster:"+least(c.exA, c.hot)); f == nil || !slices.Equal(f.Evidence, []string{c.exaMerge}) {
		t.Errorf("finding of exchange A's cluster after the rejection: %+v", f)
	}

	// A run over another window replaces the stored one; a trace whose
	// window it does not cover clusters only what it passes through.
	narrow := []string{"cluster", "--chain", "btc", "--store", c.store(), "--log-level", "warn", "--from-block", itoa(c.from), "--to-block", itoa(c.to - 1), c.exA}
	if code, out, errs := runCLI(t, nil, narrow...); code != 0 || !strings.Contains(out, "the stored run is of blocks "+itoa(c.from)+"-"+itoa(c.to)) {
		t.Errorf("a narrower window: exit %d\n%s%s", code, out, errs)
	}
	if a := exhibitAddress(t, c.trace(t, "uncovered.json"), c.exA); a.Cluster != "" {
		t.Errorf("a run not covering the trace's window gave exchange A cluster %q", a.Cluster)
	}
}

// tail is cluster's output from its summary line on: what a replay must
// answer as the computation did.
func tail(out string) string {
	if i := strings.Index(out, "multi-input clustering over"); i >= 0 {
		return out[i:]
	}
	return out
}
