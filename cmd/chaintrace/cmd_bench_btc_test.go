package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/chaintrace/chaintrace/internal/btcbenchchain"
	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// TestBenchRawBtcSameCalls: the baseline of bench index --chain btc makes
// exactly the node calls of `index --chain btc` over the same blocks (index
// asks getblockcount once more, to check the window), on a few blocks of
// the benchmark's chain on a real btcd.
func TestBenchRawBtcSameCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	node := btcnode.Start(t, btcnode.Options{MatureOutputs: 10})
	res, err := btcbenchchain.Build(context.Background(), node, 4, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Stats; s.Txs != 40 || s.SameBlock == 0 || s.EarlierBlock == 0 {
		t.Fatalf("built %+v", s)
	}
	args := btcBenchNodeArgs(node, res)
	calls := func(out string) int {
		t.Helper()
		m := regexp.MustCompile(`(\d+) (?:node )?calls`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no call count in %q", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	code, rawOut, stderr := runCLI(t, nil, append([]string{"bench", "raw"}, args...)...)
	if code != 0 {
		t.Fatalf("bench raw: exit %d: %s", code, stderr)
	}
	code, idxOut, stderr := runCLI(t, nil, append([]string{"index", "--store", filepath.Join(t.TempDir(), "store")}, args...)...)
	if code != 0 {
		t.Fatalf("index: exit %d: %s", code, stderr)
	}
	if r, i := calls(rawOut), calls(idxOut); i != r+1 {
		t.Errorf("bench raw made %d calls, index %d (want raw + 1, its getblockcount)\nraw: %sindex: %s", r, i, rawOut, idxOut)
	}
	if !regexp.MustCompile(`44 transactions`).MatchString(idxOut) {
		t.Errorf("index: want 44 transactions (40 and 4 coinbases): %s", idxOut)
	}
}
