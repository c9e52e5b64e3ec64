package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/sparsechain"
	"github.com/spf13/cobra"
)

// historyTarget is the bound for the trace_filter path on a
// million-block window.
const historyTarget = 2 * time.Minute

func newBenchHistoryCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history [--blocks N] [--delay 20ms] [--scan]",
		Short: "A trace over a long, sparse window: trace_filter against the block scan",
		Long: `bench history serves a synthetic chain of --blocks blocks (most of them empty)
that holds a laundering case of a few hundred addresses and 15 hops, every
transfer in its own block, spread over the whole range; each HTTP request
to it waits --delay, as a remote node would. It then runs, as a separate
process, 'chaintrace trace --history trace_filter' from the case's seed over
the whole window into a fresh store, checks that the exhibit's endpoint
amounts are the case's, and reports the time and the node requests. With
--scan it runs the same trace with --history scan (the whole window
fetched: minutes on a million blocks) and reports the ratio.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchHistory(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.Int("blocks", sparsechain.DefaultBlocks, "blocks of the synthetic chain (the window)")
	f.Duration("delay", 20*time.Millisecond, "added to every HTTP request to the synthetic node")
	f.Bool("scan", false, "also run the block scan (--history scan) on the same case")
	f.Int("eth-batch-size", 1000, "JSON-RPC calls per HTTP request of the traces (at most 1000)")
	f.Int("eth-concurrency", 4, "HTTP requests in flight at once of the traces")
	f.Int("chunk-size", 16, "blocks fetched per batch by the traces")
	return cmd
}

type historyRun struct {
	mode     string
	wall     time.Duration
	requests int64
	calls    map[string]int64
	endpoint string // "" when the endpoints match the case
}

func runBenchHistory(ctx context.Context, opts *globalOptions) error {
	v := opts.v
	blocks, delay := v.GetInt("blocks"), v.GetDuration("delay")
	if blocks < 10_000 || delay < 0 {
		return usagef("--blocks must be at least 10000 and --delay not negative")
	}
	w := opts.stdout
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv, err := sparsechain.New(sparsechain.Config{Blocks: uint64(blocks), Delay: delay})
	if err != nil {
		return err
	}
	defer srv.Close()
	c := srv.Case()
	tmp, err := os.MkdirTemp("", "chaintrace-bench-history-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	labelsPath := filepath.Join(tmp, "labels.csv")
	if err := writeSparseLabels(labelsPath, c); err != nil {
		return err
	}
	fmt.Fprintf(w, "bench history: %d blocks, %d transfers of the case in blocks %d-%d (%d addresses, deepest hop %d), %s per request (%d CPUs)\n",
		blocks, len(c.Transfers), c.First, c.Last, len(c.Controlled), c.MaxHop, delay, runtime.NumCPU())
	modes := []string{historyTraceFilter}
	if v.GetBool("scan") {
		modes = append(modes, historyScan)
	}
	var runs []historyRun
	for _, mode := range modes {
		out := filepath.Join(tmp, "exhibit-"+mode+".json")
		args := []string{"trace", "--history", mode, "--seed", c.Seed.Hex(),
			"--from-block", strconv.FormatUint(c.First, 10), "--to-block", strconv.Itoa(blocks),
			"--max-hops", "30", "--labels", labelsPath, "--store", filepath.Join(tmp, "store-"+mode),
			"--eth-rpc", srv.URL(), "--out", out, "--log-level", "warn",
			"--eth-batch-size", strconv.Itoa(v.GetInt("eth.batch-size")),
			"--eth-concurrency", strconv.Itoa(v.GetInt("eth.concurrency")),
			"--chunk-size", strconv.Itoa(v.GetInt("chunk-size"))}
		before, callsBefore := srv.Requests(), srv.Calls()
		br, err := runChild(ctx, self, mode+" trace", args)
		if err != nil {
			return err
		}
		r := historyRun{mode: mode, wall: br.wall, requests: srv.Requests() - before, calls: map[string]int64{}}
		for m, n := range srv.Calls() {
			if d := n - callsBefore[m]; d > 0 {
				r.calls[m] = d
			}
		}
		if r.endpoint, err = checkSparseEndpoints(out, c); err != nil {
			return err
		}
		runs = append(runs, r)
		fmt.Fprintf(w, "%-12s %8.2fs  %7d HTTP requests  %s\n", mode, r.wall.Seconds(), r.requests, callsText(r.calls))
		if r.endpoint != "" {
			return fmt.Errorf("%s trace: %s", mode, r.endpoint)
		}
	}
	tf := runs[0]
	verdict := "meets"
	if tf.wall >= historyTarget {
		verdict = "MISSES"
	}
	fmt.Fprintf(w, "\nendpoint amounts equal the case's (%d exchanges)\n", len(c.Endpoints))
	fmt.Fprintf(w, "trace_filter: %.2fs, %d requests; %s the target of under %s\n", tf.wall.Seconds(), tf.requests, verdict, historyTarget)
	if len(runs) > 1 {
		sc := runs[1]
		fmt.Fprintf(w, "block scan: %.2fs, %d requests; ratio scan/trace_filter: time %.1fx, requests %.1fx\n",
			sc.wall.Seconds(), sc.requests, sc.wall.Seconds()/tf.wall.Seconds(), float64(sc.requests)/float64(max(tf.requests, 1)))
	}
	return nil
}

func callsText(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func writeSparseLabels(path string, c *sparsechain.Case) error {
	return atomicfile.Write(path, 0o644, func(f io.Writer) error {
		cw := csv.NewWriter(f)
		cw.Write([]string{"chain", "address", "label", "category", "source"})
		for _, l := range c.Labels {
			cw.Write([]string{"eth", l.Address.Hex(), l.Label, l.Category, "chaintrace bench history"})
		}
		cw.Flush()
		return cw.Error()
	})
}

// checkSparseEndpoints compares the exhibit's endpoints with the case's;
// it returns a description of the first difference, or "".
func checkSparseEndpoints(path string, c *sparsechain.Case) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var e exhibit.Exhibit
	if err := json.Unmarshal(b, &e); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	got := map[string]string{}
	for _, ep := range e.Endpoints {
		got[strings.ToLower(ep.Address)] = ep.Amount
	}
	if len(got) != len(c.Endpoints) {
		return fmt.Sprintf("%d endpoints in the exhibit, the case has %d", len(got), len(c.Endpoints)), nil
	}
	for a, want := range c.Endpoints {
		if g := got[strings.ToLower(a.Hex())]; g != want.String() {
			return fmt.Sprintf("endpoint %s: exhibit %q, case %s", a.Hex(), g, want), nil
		}
	}
	return "", nil
}
