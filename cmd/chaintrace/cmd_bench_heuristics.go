package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/heurlab"
	"github.com/spf13/cobra"
)

func newBenchHeuristicsCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "heuristics [--report docs/heuristics-report.md] [--rates heuristics/errorrates.json]",
		Short: "Measure every heuristic's error rates on labelled scenario chains (make heuristics-report)",
		Long: `bench heuristics plays labelled scenario chains with known ownership on
real nodes, a btcd it starts (simnet, built from the Go module cache on
first use) and the in-process geth, indexes them through chaintrace's own
adapters into a fresh store, runs every heuristic with its default
parameters and scores each decision against the truth: false-positive,
false-negative and false-discovery rates per heuristic, as exact counts.

It prints the table; with --report it writes it as Markdown (the
repository keeps it in docs/heuristics-report.md) and with --rates the
JSON the tool embeds (heuristics/errorrates.json), from which an exhibit's
method.heuristics cites the rates of each heuristic that ran with the
measured parameters. 'make heuristics-report' writes both; rebuild
afterwards so that the binary carries the new rates.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchHeuristics(cmd.Context(), opts, cmd)
		},
	}
	f := cmd.Flags()
	f.String("report", "", "write the Markdown report here")
	f.String("rates", "", "write the rates JSON the tool embeds here")
	f.Uint64("lab-seed", 1, "the generators' random seed")
	f.Int("lab-wallets", 0, "Bitcoin scenario: ordinary wallets (0: default 30)")
	f.Int("lab-rounds", 0, "Bitcoin scenario: blocks of everyday activity (0: default 100)")
	f.Int("lab-coinjoins", 0, "Bitcoin scenario: CoinJoins of each kind (0: default 4)")
	return cmd
}

func runBenchHeuristics(ctx context.Context, opts *globalOptions, cmd *cobra.Command) error {
	f := cmd.Flags()
	report, _ := f.GetString("report")
	rates, _ := f.GetString("rates")
	seed, _ := f.GetUint64("lab-seed")
	wallets, _ := f.GetInt("lab-wallets")
	rounds, _ := f.GetInt("lab-rounds")
	cjs, _ := f.GetInt("lab-coinjoins")
	if seed == 0 {
		return usagef("--lab-seed 0: want a positive seed")
	}
	for _, p := range []string{report, rates} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(filepath.Dir(p)); err != nil || !st.IsDir() {
			return usagef("%s: directory %s does not exist", p, filepath.Dir(p))
		}
	}
	start := time.Now()
	cfg := heuristics.DefaultConfig()
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.stderr, "  "+format+"\n", args...)
	}
	rep := &heurlab.Report{Tool: "chaintrace " + version, Generated: time.Now().UTC().Format("2006-01-02"),
		Command: "make heuristics-report"}
	if seed != 1 || wallets != 0 || rounds != 0 || cjs != 0 {
		rep.Command = "chaintrace " + strings.Join(os.Args[1:], " ")
	}
	fmt.Fprintln(opts.stderr, "Bitcoin scenario on btcd:")
	btc, err := heurlab.RunBTC(ctx, heurlab.BTCOptions{Seed: seed, Wallets: wallets, Rounds: rounds, CoinJoins: cjs, Logf: logf}, cfg)
	if err != nil {
		return fmt.Errorf("bitcoin scenario: %w", err)
	}
	rep.Scenarios = append(rep.Scenarios, "Bitcoin: "+btc.Scenario)
	rep.Rows = append(rep.Rows, btc.Rows...)
	if btc.CoinJoinMerges != 0 {
		return fmt.Errorf("bitcoin scenario: %d multi-input merges inside CoinJoins: the CoinJoin skip failed", btc.CoinJoinMerges)
	}
	fmt.Fprintln(opts.stderr, "Ethereum scenario on the in-process geth:")
	eth, err := heurlab.RunETH(ctx, heurlab.ETHOptions{Seed: seed, Logf: logf, Deposit: &cfg.Deposit})
	if err != nil {
		return fmt.Errorf("ethereum scenario: %w", err)
	}
	rep.Scenarios = append(rep.Scenarios, "Ethereum: "+eth.Scenario)
	rep.Rows = append(rep.Rows, eth.Rows...)
	heurlab.SortRows(rep.Rows)
	js, err := rep.JSON()
	if err != nil {
		return err
	}
	digest := heurlab.Digest(js)
	var md bytes.Buffer
	if err := rep.Markdown(&md, digest); err != nil {
		return err
	}
	if rates != "" {
		if err := atomicfile.Write(rates, 0o644, func(w io.Writer) error { _, err := w.Write(js); return err }); err != nil {
			return err
		}
	}
	if report != "" {
		if err := atomicfile.Write(report, 0o644, func(w io.Writer) error { _, err := w.Write(md.Bytes()); return err }); err != nil {
			return err
		}
	}
	printRates(opts.stdout, rep.Rows)
	fmt.Fprintf(opts.stdout, "multi-input merges inside CoinJoins: %d (CoinJoin skip off: %d)\n", btc.CoinJoinMerges, btc.CoinJoinMergesUnskipped)
	fmt.Fprintf(opts.stdout, "measured in %s; rates digest %s\n", time.Since(start).Round(time.Millisecond), digest)
	return nil
}

// printRates prints the rows as a plain table.
func printRates(w io.Writer, rows []heurlab.Row) {
	fmt.Fprintf(w, "%-4s %-20s %-14s %7s %7s %7s %9s  %-20s %-20s %-20s %s\n", "", "heuristic", "unit", "TP", "FP", "FN", "TN", "FPR", "FNR", "FDR", "decision")
	for _, r := range rows {
		fmt.Fprintf(w, "%-4s %-20s %-14s %7d %7d %7d %9d  %-20s %-20s %-20s %s\n", r.Chain, r.Heuristic, r.Unit, r.TP, r.FP, r.FN, r.TN,
			rateCell(r.FPR()), rateCell(r.FNR()), rateCell(r.FDR()), r.Decision)
	}
}

func rateCell(r heurlab.Rate) string {
	if r.Den == 0 {
		return "n/a"
	}
	return r.Percent() + " " + r.String()
}
