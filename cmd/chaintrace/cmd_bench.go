package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/benchchain"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/spf13/cobra"
)

func newBenchCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks against an in-process node",
	}
	cmd.AddCommand(newBenchIndexCommand(opts), newBenchRawCommand(opts), newBenchNodeCommand(opts), newBenchTraceCommand(opts), newBenchHistoryCommand(opts), newBenchClusterCommand(opts), newBenchHeuristicsCommand(opts), newBenchBatchCommand(opts))
	return cmd
}

func newBenchIndexCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index [--chain eth|btc] [--blocks N] [--txs-per-block M] [--rounds R]",
		Short: "Index throughput against the node's own cost for the same calls",
		Long: `bench index starts a node, fills it with blocks of mixed transactions, then in
each round runs, as separate processes against that node:

  raw    the same JSON-RPC calls 'index' makes, answers read and discarded:
         the node's own cost, with no processing on chaintrace's side;
  index  'chaintrace index' into a fresh store: fetch, decode, write.

--chain eth: an in-process Ethereum node; plain transfers of both types,
contract fan-outs paying by internal calls, reverted inner calls, ERC-20 and
ERC-721 transfers (default 25 a block).

--chain btc: a real btcd (simnet, --txindex) spoken to over HTTPS; peel
chains, fan-outs, consolidations and payments with change, P2PKH and P2WPKH
outputs, spending outputs of earlier blocks and of their own block (default
10 a block). The raw calls are getblockhash, getblock (verbosity 2) and
getrawtransaction of the transactions each chunk spends from; of the answers
raw reads only what the next calls need (the hashes, the spent txids).

It reports blocks/s, transactions/s and transfers/s of each, their ratio
(index over raw), and the peak resident memory of the index process. Rounds
alternate the two so that noise from a shared machine falls on both alike.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchIndex(cmd.Context(), opts)
		},
	}
	cmd.Flags().String("chain", "eth", "chain: eth (an in-process geth) or btc (a btcd simnet node)")
	cmd.Flags().Int("blocks", 2000, "blocks to generate")
	cmd.Flags().Int("txs-per-block", 0, "transactions per generated block (0: 25 for eth, 10 for btc)")
	cmd.Flags().Int("rounds", 3, "raw/index rounds (the order alternates; the ratio reported is the median of the rounds')")
	return cmd
}

// newBenchRawCommand is the baseline child process of bench index.
func newBenchRawCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "raw [--chain eth --eth-rpc URL | --chain btc --btc-rpc URL] --from-block N --to-block M",
		Short:  "Send index's block-level calls and discard the answers (baseline)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchRaw(cmd.Context(), opts)
		},
	}
	addNodeFlags(cmd)
	addWindowFlags(cmd)
	cmd.Flags().Int("chunk-size", 16, "blocks fetched per batch")
	return cmd
}

func runBenchRaw(ctx context.Context, opts *globalOptions) error {
	chain, err := opts.chainFlag()
	if err != nil {
		return err
	}
	from, to, err := opts.blockWindow()
	if err != nil {
		return err
	}
	var discard func(context.Context, []uint64) (int64, error)
	var calls func() int64
	var workers int
	if chain == chains.BTC {
		a, err := opts.dialBtc(ctx)
		if err != nil {
			return err
		}
		discard, calls, workers = a.FetchRawDiscard, a.RPC().Calls, btcIndexWorkers
	} else {
		a, err := opts.dialEth(ctx)
		if err != nil {
			return err
		}
		discard, calls, workers = a.FetchRawDiscard, a.RPC().Calls, max(opts.v.GetInt("eth.concurrency"), 1)
	}
	chunk := uint64(max(opts.v.GetInt("chunk-size"), 1))
	work := make(chan []uint64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bytesIn int64
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for nums := range work {
				n, err := discard(ctx, nums)
				mu.Lock()
				bytesIn += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for s := from; s <= to; s += chunk {
		var nums []uint64
		for n := s; n <= min(s+chunk-1, to); n++ {
			nums = append(nums, n)
		}
		work <- nums
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Fprintf(opts.stdout, "raw: %d blocks, %d bytes, %d calls\n", to-from+1, bytesIn, calls())
	return nil
}

type benchRun struct {
	round   int
	kind    string
	wall    time.Duration
	maxRSS  int64 // bytes
	output  string
	blocks  uint64
	xfers   uint64
	txs     uint64
	byteCnt uint64
}

func runBenchIndex(ctx context.Context, opts *globalOptions) error {
	v := opts.v
	chain, err := opts.chainFlag()
	if err != nil {
		return err
	}
	blocks, perBlock, rounds := v.GetInt("blocks"), benchTxsPerBlock(opts, chain), v.GetInt("rounds")
	if blocks < 1 || perBlock < 1 || rounds < 1 {
		return usagef("--blocks, --txs-per-block and --rounds must be at least 1")
	}
	if chain == chains.BTC {
		return runBenchIndexBtc(ctx, opts, blocks, perBlock, rounds)
	}
	w := opts.stdout
	fmt.Fprintf(w, "bench index: %d blocks x %d transactions on an in-process node (%d CPUs, %s)\n", blocks, perBlock, runtime.NumCPU(), runtime.Version())
	node, err := devchain.Start(devchain.Config{Funded: benchchain.Funded()})
	if err != nil {
		return err
	}
	defer node.Close()
	start := time.Now()
	res, err := benchchain.Build(node, blocks, perBlock)
	if err != nil {
		return fmt.Errorf("building the benchmark chain: %w", err)
	}
	fmt.Fprintf(w, "built blocks %d-%d (%d transactions) in %s; node at %s\n", res.First, res.Last, res.Txs, time.Since(start).Round(time.Millisecond), node.URL())
	window := []string{"--eth-rpc", node.URL(), "--from-block", strconv.FormatUint(res.First, 10), "--to-block", strconv.FormatUint(res.Last, 10), "--log-level", "warn"}
	runs, err := runBenchRounds(ctx, w, rounds, res.Last-res.First+1, window)
	if err != nil {
		return err
	}
	return reportBench(w, runs)
}

// benchTxsPerBlock is --txs-per-block, or the chain's default for 0.
func benchTxsPerBlock(opts *globalOptions, chain chains.Chain) int {
	if n := opts.v.GetInt("txs-per-block"); n != 0 {
		return n
	}
	if chain == chains.BTC {
		return 10
	}
	return 25
}

// runBenchRounds runs rounds of the two children of bench index, raw and
// index, against the node and window that nodeArgs name (the order
// alternates by round), each index run into a fresh store.
func runBenchRounds(ctx context.Context, w io.Writer, rounds int, blocks uint64, nodeArgs []string) ([]benchRun, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "chaintrace-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	count := func(out, what string) (uint64, error) {
		m := regexp.MustCompile(`(\d+) ` + what).FindStringSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("index printed no %s count: %q", what, out)
		}
		return strconv.ParseUint(m[1], 10, 64)
	}
	var runs []benchRun
	for r := 0; r < rounds; r++ {
		order := []string{"raw", "index"}
		if r%2 == 1 {
			order = []string{"index", "raw"} // cancel drift in the machine's load
		}
		for _, kind := range order {
			var args []string
			if kind == "raw" {
				args = append([]string{"bench", "raw"}, nodeArgs...)
			} else {
				args = append([]string{"index", "--store", filepath.Join(tmp, fmt.Sprintf("store-%d", r))}, nodeArgs...)
			}
			br, err := runChild(ctx, self, kind, args)
			if err != nil {
				return nil, err
			}
			br.blocks = blocks
			if kind == "index" {
				if br.xfers, err = count(br.output, "transfers"); err != nil {
					return nil, err
				}
				if br.txs, err = count(br.output, "transactions"); err != nil {
					return nil, err
				}
			}
			br.round = r
			runs = append(runs, br)
			fmt.Fprintf(w, "round %d %-5s %8.2fs  %8.1f blocks/s  peak RSS %4d MiB\n", r+1, kind, br.wall.Seconds(),
				float64(br.blocks)/br.wall.Seconds(), br.maxRSS>>20)
		}
	}
	return runs, nil
}

func runChild(ctx context.Context, self, kind string, args []string) (benchRun, error) {
	cmd := exec.CommandContext(ctx, self, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), peakRSSEnv+"=1")
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return benchRun{}, fmt.Errorf("bench %s child: %v: %s", kind, err, finalLine(errb.String()))
	}
	br := benchRun{kind: kind, wall: time.Since(t0), output: out.String()}
	m := regexp.MustCompile(`peak_rss_kib=(\d+)`).FindStringSubmatch(errb.String())
	if m == nil {
		return benchRun{}, fmt.Errorf("bench %s child reported no peak memory (needs /proc)", kind)
	}
	kib, _ := strconv.ParseInt(m[1], 10, 64)
	br.maxRSS = kib << 10
	return br, nil
}

func finalLine(s string) string {
	s = string(bytes.TrimSpace([]byte(s)))
	if i := bytes.LastIndexByte([]byte(s), '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// reportBench prints the medians, the per-round ratios and the verdict
// against the targets (index at least 0.8 of the node's raw throughput,
// peak memory under 500 MiB). Each round's ratio compares two runs made
// back to back, so a shared machine's changing load falls on both; the
// verdict uses the median of the rounds.
func reportBench(w io.Writer, runs []benchRun) error {
	median := func(xs []float64) float64 {
		sort.Float64s(xs)
		if len(xs)%2 == 1 {
			return xs[len(xs)/2]
		}
		return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	byRound := map[int]map[string]benchRun{}
	var rawWall, idxWall []float64
	var blocks, xfers, txs uint64
	var peak int64
	for _, r := range runs {
		if byRound[r.round] == nil {
			byRound[r.round] = map[string]benchRun{}
		}
		byRound[r.round][r.kind] = r
		if r.kind == "raw" {
			rawWall = append(rawWall, r.wall.Seconds())
		} else {
			idxWall = append(idxWall, r.wall.Seconds())
			blocks, xfers, txs = r.blocks, r.xfers, r.txs
			peak = max(peak, r.maxRSS)
		}
	}
	var ratios []float64
	var shown []string
	for round := 0; round < len(byRound); round++ {
		x := byRound[round]["raw"].wall.Seconds() / byRound[round]["index"].wall.Seconds()
		ratios = append(ratios, x)
		shown = append(shown, fmt.Sprintf("%.2f", x))
	}
	raw, idx := median(rawWall), median(idxWall)
	ratio := median(ratios)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nmedian\twall\tblocks/s\ttxs/s\ttransfers/s\t")
	fmt.Fprintf(tw, "raw (node only)\t%.2fs\t%.1f\t%.0f\t%.0f\t\n", raw, float64(blocks)/raw, float64(txs)/raw, float64(xfers)/raw)
	fmt.Fprintf(tw, "index (chaintrace)\t%.2fs\t%.1f\t%.0f\t%.0f\t\n", idx, float64(blocks)/idx, float64(txs)/idx, float64(xfers)/idx)
	tw.Flush()
	verdict := func(ok bool) string {
		if ok {
			return "meets"
		}
		return "MISSES"
	}
	fmt.Fprintf(w, "\nratio index/raw throughput, median of rounds: %.2f (rounds: %s); %s the target of >= 0.80\n", ratio, strings.Join(shown, ", "), verdict(ratio >= 0.8))
	fmt.Fprintf(w, "peak RSS of index: %d MiB; %s the target of < 500 MiB\n", peak>>20, verdict(peak < 500<<20))
	fmt.Fprintf(w, "blocks indexed: %d, transactions: %d, transfers: %d\n", blocks, txs, xfers)
	return nil
}

// newBenchNodeCommand serves the benchmark chain until interrupted, for
// profiling 'chaintrace index' against it by hand.
func newBenchNodeCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "node [--chain eth|btc] [--blocks N] [--txs-per-block M]",
		Short:  "Serve the benchmark chain until interrupted",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.v.GetString("chain") == "btc" {
				return serveBtcBenchNode(cmd.Context(), opts)
			}
			node, err := devchain.Start(devchain.Config{Funded: benchchain.Funded()})
			if err != nil {
				return err
			}
			defer node.Close()
			res, err := benchchain.Build(node, opts.v.GetInt("blocks"), benchTxsPerBlock(opts, chains.ETH))
			if err != nil {
				return err
			}
			fmt.Fprintf(opts.stdout, "serving blocks %d-%d at %s\n", res.First, res.Last, node.URL())
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().String("chain", "eth", "chain: eth or btc")
	cmd.Flags().Int("blocks", 2000, "blocks to generate")
	cmd.Flags().Int("txs-per-block", 0, "transactions per generated block (0: 25 for eth, 10 for btc)")
	return cmd
}

func newBenchTraceCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace [--noise-blocks N] [--rounds R]",
		Short: "A first trace of a case against a second one on the warm store",
		Long: `bench trace plays the demo's Upbit-shaped hack on an in-process node, follows
it with --noise-blocks blocks of unrelated mixed traffic, then runs, as
separate processes, a cold trace (fresh store: the window is fetched from
the node) and a warm one (the same store again: nothing to fetch), --rounds
times. It reports both times, their ratio, and the node calls of the warm
runs, which must be none.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchTrace(cmd.Context(), opts)
		},
	}
	cmd.Flags().Int("noise-blocks", 1000, "blocks of unrelated traffic after the case")
	cmd.Flags().Int("rounds", 3, "cold/warm rounds (the ratio reported is the median of the rounds')")
	return cmd
}

func runBenchTrace(ctx context.Context, opts *globalOptions) error {
	noise, rounds := opts.v.GetInt("noise-blocks"), opts.v.GetInt("rounds")
	if noise < 0 || rounds < 1 {
		return usagef("--noise-blocks must be >= 0 and --rounds >= 1")
	}
	w := opts.stdout
	self, err := os.Executable()
	if err != nil {
		return err
	}
	node, err := devchain.Start(devchain.Config{Funded: append(append([]string{}, scenario.Upbit2019Funded...), benchchain.Funded()...)})
	if err != nil {
		return err
	}
	defer node.Close()
	truth, err := scenario.PlayUpbit2019(node)
	if err != nil {
		return err
	}
	last := truth.Last
	if noise > 0 {
		res, err := benchchain.Build(node, noise, 25)
		if err != nil {
			return err
		}
		last = res.Last
	}
	tmp, err := os.MkdirTemp("", "chaintrace-bench-trace-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	labelsPath := filepath.Join(tmp, "labels.csv")
	if err := writeLabelsCSV(labelsPath, truth); err != nil {
		return err
	}
	fmt.Fprintf(w, "bench trace: the Upbit-shaped case in blocks %d-%d, then %d blocks of unrelated traffic, window %d-%d (%d CPUs)\n",
		truth.First, truth.Last, noise, truth.First, last, runtime.NumCPU())
	var cold, warm, ratios []float64
	for r := 0; r < rounds; r++ {
		storeDir := filepath.Join(tmp, fmt.Sprintf("store-%d", r))
		args := []string{"trace", "--seed", truth.Seeds[0].Hex(), "--from-block", strconv.FormatUint(truth.First, 10),
			"--to-block", strconv.FormatUint(last, 10), "--labels", labelsPath, "--store", storeDir,
			"--eth-rpc", node.URL(), "--out", filepath.Join(tmp, "exhibit.json"), "--log-level", "warn"}
		c, err := runChild(ctx, self, "cold trace", args)
		if err != nil {
			return err
		}
		// The warm run gets an endpoint nothing listens on: any node call
		// would fail it.
		warmArgs := append([]string{}, args...)
		for i := range warmArgs {
			if warmArgs[i] == node.URL() {
				warmArgs[i] = "http://127.0.0.1:1"
			}
		}
		h, err := runChild(ctx, self, "warm trace", append(warmArgs, "--eth-retries", "0"))
		if err != nil {
			return fmt.Errorf("%w (a warm trace must not need the node)", err)
		}
		cold, warm = append(cold, c.wall.Seconds()), append(warm, h.wall.Seconds())
		ratios = append(ratios, c.wall.Seconds()/h.wall.Seconds())
		fmt.Fprintf(w, "round %d: cold %.2fs, warm %.3fs (node unreachable), ratio %.1f\n", r+1, c.wall.Seconds(), h.wall.Seconds(), ratios[r])
	}
	med := func(xs []float64) float64 {
		ys := append([]float64{}, xs...)
		sort.Float64s(ys)
		return ys[len(ys)/2]
	}
	ok := "meets"
	if med(ratios) < 20 {
		ok = "MISSES"
	}
	fmt.Fprintf(w, "\nmedian: cold %.2fs, warm %.3fs; warm is %.1fx faster; %s the target of >= 20x\n", med(cold), med(warm), med(ratios), ok)
	return nil
}
