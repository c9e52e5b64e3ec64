package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/btcbenchchain"
	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// btcIndexWorkers is the number of chunks 'index --chain btc' keeps in
// flight (runIndexBtc); bench raw --chain btc keeps as many.
const btcIndexWorkers = 4

// runBenchIndexBtc is bench index --chain btc: a btcd simnet node with
// --txindex, filled by btcbenchchain, and the raw and index children
// against it over HTTPS.
func runBenchIndexBtc(ctx context.Context, opts *globalOptions, blocks, perBlock, rounds int) error {
	w := opts.stdout
	fmt.Fprintf(w, "bench index --chain btc: %d blocks x %d transactions on a btcd simnet node (%d CPUs, %s)\n",
		blocks, perBlock, runtime.NumCPU(), runtime.Version())
	node, res, err := startBtcBenchNode(ctx, w, blocks, perBlock)
	if err != nil {
		return err
	}
	defer node.Close()
	runs, err := runBenchRounds(ctx, w, rounds, res.Last-res.First+1, btcBenchNodeArgs(node, res))
	if err != nil {
		return err
	}
	return reportBench(w, runs)
}

// startBtcBenchNode starts btcd and builds the benchmark chain on it,
// showing progress on w.
func startBtcBenchNode(ctx context.Context, w io.Writer, blocks, perBlock int) (*btcnode.Node, *btcbenchchain.Result, error) {
	t0 := time.Now()
	node, err := btcnode.New(btcnode.Options{})
	if err != nil {
		return nil, nil, err
	}
	tm := node.Timing()
	fmt.Fprintf(w, "btcd started in %s (executable %s, built=%v; setup %s)\n", time.Since(t0).Round(time.Millisecond),
		tm.Btcd.Round(time.Millisecond), tm.Built, tm.SetUp.Round(time.Millisecond))
	start := time.Now()
	last := start
	res, err := btcbenchchain.Build(ctx, node, blocks, perBlock, func(done, total int, s btcbenchchain.Stats) {
		if done == total || time.Since(last) >= 5*time.Second {
			last = time.Now()
			fmt.Fprintf(w, "  generated %d/%d blocks, %d transactions, %s\n", done, total, s.Txs, time.Since(start).Round(time.Second))
		}
	})
	if err != nil {
		_ = node.Close()
		return nil, nil, fmt.Errorf("building the benchmark chain: %w", err)
	}
	s := res.Stats
	fmt.Fprintf(w, "built blocks %d-%d in %s: %d transactions (%d peel hops, %d fan-outs, %d consolidations, %d payments), "+
		"%d inputs (%d spending an output of the same block), %d outputs (%d P2PKH, %d P2WPKH)\n",
		res.First, res.Last, time.Since(start).Round(time.Millisecond), s.Txs, s.PeelHops, s.FanOuts, s.Consolidations, s.Payments,
		s.Inputs, s.SameBlock, s.Outputs, s.P2PKH, s.P2WPKH)
	return node, res, nil
}

// btcBenchNodeArgs are the flags that point a child at the node and the
// generated window.
func btcBenchNodeArgs(node *btcnode.Node, res *btcbenchchain.Result) []string {
	return append([]string{"--chain", string(chains.BTC), "--from-block", strconv.FormatUint(res.First, 10),
		"--to-block", strconv.FormatUint(res.Last, 10), "--log-level", "warn"}, btcNodeFlags(node)...)
}

// serveBtcBenchNode is bench node --chain btc: the benchmark chain on btcd
// until interrupted, for profiling 'chaintrace index --chain btc' by hand.
func serveBtcBenchNode(ctx context.Context, opts *globalOptions) error {
	node, res, err := startBtcBenchNode(ctx, opts.stdout, opts.v.GetInt("blocks"), benchTxsPerBlock(opts, chains.BTC))
	if err != nil {
		return err
	}
	defer node.Close()
	fmt.Fprintf(opts.stdout, "serving; index it with:\n  chaintrace index --store STORE")
	for _, a := range btcBenchNodeArgs(node, res) {
		fmt.Fprintf(opts.stdout, " %s", a)
	}
	fmt.Fprintln(opts.stdout)
	<-ctx.Done()
	return nil
}
