package main

import (
	"context"
	"fmt"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/store"
	"github.com/spf13/cobra"
)

func newIndexCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index [--chain eth --eth-rpc URL | --chain btc --btc-rpc URL] --from-block N --to-block M",
		Short: "Fetch a block range from the node into the store (resumable)",
		Long: `index fetches blocks, receipts, call traces and token logs of a block range
from the node, and stores the raw answers, every transfer, and the address
index that JSON-RPC lacks. Ranges already in the store are skipped, so an
interrupted run picks up where it stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runIndex(cmd.Context(), opts)
		},
	}
	addNodeFlags(cmd)
	addWindowFlags(cmd)
	cmd.Flags().Int("chunk-size", 16, "blocks fetched per batch")
	return cmd
}

func addWindowFlags(cmd *cobra.Command) {
	cmd.Flags().String("from-block", "", "first block (inclusive)")
	cmd.Flags().String("to-block", "", "last block (inclusive)")
}

func runIndex(ctx context.Context, opts *globalOptions) error {
	chain, err := opts.chainFlag()
	if err != nil {
		return err
	}
	from, to, err := opts.blockWindow()
	if err != nil {
		return err
	}
	if chain == chains.BTC {
		return runIndexBtc(ctx, opts, from, to)
	}
	src, err := opts.dialEth(ctx)
	if err != nil {
		return err
	}
	if err := checkHead(ctx, src, to); err != nil {
		return err
	}
	st, err := opts.openStore(false)
	if err != nil {
		return err
	}
	defer st.Close()
	stats, err := indexWithProgress(ctx, opts, src, st, from, to)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "indexed blocks %d-%d: %d blocks fetched (%d from cache), %d transactions, %d transfers, %d node calls, %s\n",
		from, to, stats.BlocksDone, stats.FromCache, stats.Txs, stats.Transfers, src.RPC().Calls(), stats.Elapsed.Round(1e6))
	return nil
}

// indexWithProgress indexes what the store lacks of [from, to], showing
// progress on standard error.
func indexWithProgress(ctx context.Context, opts *globalOptions, src *ethereum.Adapter, st *store.Store, from, to uint64) (indexer.Stats, error) {
	if err := checkInternalMode(st, src); err != nil {
		return indexer.Stats{}, err
	}
	if err := recordProvenance(st, src); err != nil {
		return indexer.Stats{}, err
	}
	return indexSourceWithProgress(ctx, opts, src, st, from, to, opts.v.GetInt("eth.concurrency"))
}

// runIndexBtc is index --chain btc.
func runIndexBtc(ctx context.Context, opts *globalOptions, from, to uint64) error {
	src, err := opts.dialBtc(ctx)
	if err != nil {
		return err
	}
	if err := checkBtcHead(ctx, src, to); err != nil {
		return err
	}
	st, err := opts.openStore(false)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := recordBtcProvenance(st, src, nil); err != nil {
		return err
	}
	stats, err := indexSourceWithProgress(ctx, opts, src, st, from, to, 4)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "indexed blocks %d-%d: %d blocks fetched (%d from cache), %d transactions, %d transfers, %d node calls, %s\n",
		from, to, stats.BlocksDone, stats.FromCache, stats.Txs, stats.Transfers, src.RPC().Calls(), stats.Elapsed.Round(1e6))
	return nil
}

// indexSourceWithProgress indexes what the store lacks of [from, to] from
// any source, showing progress on standard error.
func indexSourceWithProgress(ctx context.Context, opts *globalOptions, src indexer.Source, st *store.Store, from, to uint64, workers int) (indexer.Stats, error) {
	pp := newProgressPrinter(opts.stderr)
	stats, err := indexer.Run(ctx, src, st, from, to, indexer.Options{
		ChunkSize: opts.v.GetInt("chunk-size"),
		Workers:   workers,
		Progress:  pp.Update,
		Logger:    opts.logger,
	})
	pp.Done()
	if err != nil && ctx.Err() != nil {
		return stats, fmt.Errorf("%w after %d of %d blocks; what was indexed is kept, rerun to resume", errInterrupted, stats.BlocksDone, stats.BlocksTotal)
	}
	return stats, err
}

// checkInternalMode keeps a store from mixing ranges indexed with and
// without internal transfers: a trace over such a store would silently miss
// value in the ranges indexed without.
func checkInternalMode(st *store.Store, src *ethereum.Adapter) error {
	want := "with-internal"
	if !src.Internal() {
		want = "without-internal"
	}
	got, ok, err := st.Meta("eth.mode")
	if err != nil {
		return err
	}
	if ok && string(got) != want {
		return usagef("store was indexed %s transfers and this run is %s; use another --store", string(got), want)
	}
	if !ok {
		return st.SetMeta("eth.mode", []byte(want))
	}
	return nil
}
