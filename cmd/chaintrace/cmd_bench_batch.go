package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/batch"
	"github.com/chaintrace/chaintrace/internal/batchscenario"
	"github.com/chaintrace/chaintrace/internal/benchchain"
	"github.com/chaintrace/chaintrace/internal/btcbenchchain"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/spf13/cobra"
)

func newBenchBatchCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch [--seeds N] [--chain eth|btc] [--noise-blocks B] [--rounds R]",
		Short: "Seeds a minute of a batch, on a cold store and on a warm one",
		Long: `bench batch plays --seeds small thefts (a peel to a mule, the mule to one
of four exchanges, every tenth to a shared hub) on an in-process node (geth,
or btcd with --chain btc), followed by --noise-blocks blocks of unrelated
traffic in the window, writes a jobs file with one job per seed, and
runs, as separate processes, the batch on a fresh store (cold: the blocks
are fetched from the node) and again on the same store as a new run (warm),
--rounds times. It reports seeds a minute for both, their ratio, and node
calls per seed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchBatch(cmd.Context(), opts)
		},
	}
	cmd.Flags().Int("seeds", 200, "thefts played, one job each")
	cmd.Flags().String("chain", "eth", "chain: eth (an in-process geth) or btc (a btcd simnet node)")
	cmd.Flags().Int("rounds", 3, "cold/warm rounds (figures are the medians of the rounds')")
	cmd.Flags().Int("workers", 4, "the batch's --workers")
	cmd.Flags().Int("noise-blocks", 300, "blocks of unrelated traffic after the thefts, inside the window")
	return cmd
}

func runBenchBatch(ctx context.Context, opts *globalOptions) error {
	seeds, rounds, noise := opts.v.GetInt("seeds"), opts.v.GetInt("rounds"), opts.v.GetInt("noise-blocks")
	if seeds < 1 || rounds < 1 || noise < 0 {
		return usagef("--seeds and --rounds must be at least 1, --noise-blocks at least 0")
	}
	w := opts.stdout
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "chaintrace-bench-batch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var c *batchscenario.Case
	var nodeFlags []string
	switch chain := opts.v.GetString("chain"); chain {
	case "eth":
		node, err := devchain.Start(devchain.Config{Funded: append(batchscenario.EthFunded(seeds), benchchain.Funded()...)})
		if err != nil {
			return err
		}
		defer node.Close()
		if c, err = batchscenario.PlayEth(node, seeds); err != nil {
			return err
		}
		if noise > 0 {
			res, err := benchchain.Build(node, noise, 25)
			if err != nil {
				return err
			}
			c.Last = res.Last
		}
		nodeFlags = []string{"--eth-rpc", node.URL()}
	case "btc":
		node, err := btcnode.New(btcnode.Options{MatureOutputs: 10})
		if err != nil {
			return err
		}
		defer node.Close()
		if c, err = batchscenario.PlayBtc(node, seeds); err != nil {
			return err
		}
		if noise > 0 {
			res, err := btcbenchchain.Build(ctx, node, noise, 10, nil)
			if err != nil {
				return err
			}
			c.Last = res.Last
		}
		host, user, pass, _ := node.RPCConfig()
		nodeFlags = []string{"--btc-rpc", "https://" + host, "--btc-rpc-user", user, "--btc-rpc-pass", pass, "--btc-rpc-cert", node.CertFile()}
	default:
		return usagef("--chain %q: want eth or btc", chain)
	}
	labelsPath := filepath.Join(tmp, "labels.csv")
	if err := c.WriteLabels(labelsPath); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench\ndefaults:\n  chain: %s\n  from-block: %d\n  to-block: %d\n  labels: %s\n  max-hops: 4\njobs:\n", c.Chain, c.First, c.Last, labelsPath)
	for i, s := range c.Seeds {
		fmt.Fprintf(&b, "  - {id: seed-%04d, seeds: [%s]}\n", i, s)
	}
	jobs := filepath.Join(tmp, "jobs.yaml")
	if err := os.WriteFile(jobs, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "bench batch: %d thefts on %s in blocks %d-%d, one job each, %d workers (%d CPUs)\n",
		seeds, c.Chain, c.First, c.Last, opts.v.GetInt("workers"), runtime.NumCPU())
	var coldRate, warmRate, ratios, coldCalls, warmCalls []float64
	for r := range rounds {
		store := filepath.Join(tmp, fmt.Sprintf("store-%d", r))
		out := filepath.Join(tmp, fmt.Sprintf("out-%d", r))
		args := append([]string{"batch", jobs, "--store", store, "--out-dir", out, "--workers", fmt.Sprint(opts.v.GetInt("workers")),
			"--log-level", "warn"}, nodeFlags...)
		cold, err := runChild(ctx, self, "cold batch", args)
		if err != nil {
			return err
		}
		cs, err := benchSummary(filepath.Join(out, "summary.json"), seeds)
		if err != nil {
			return err
		}
		warm, err := runChild(ctx, self, "warm batch", append(args, "--fresh"))
		if err != nil {
			return err
		}
		ws, err := benchSummary(filepath.Join(out, "summary.json"), seeds)
		if err != nil {
			return err
		}
		cr, wr := float64(seeds)/cold.wall.Minutes(), float64(seeds)/warm.wall.Minutes()
		coldRate, warmRate, ratios = append(coldRate, cr), append(warmRate, wr), append(ratios, wr/cr)
		coldCalls = append(coldCalls, float64(cs.Totals.NodeCalls)/float64(seeds))
		warmCalls = append(warmCalls, float64(ws.Totals.NodeCalls)/float64(seeds))
		fmt.Fprintf(w, "round %d: cold %.2fs (%.0f seeds/min, %.2f node calls/seed), warm %.2fs (%.0f seeds/min, %.2f node calls/seed), warm/cold %.2f\n",
			r+1, cold.wall.Seconds(), cr, coldCalls[r], warm.wall.Seconds(), wr, warmCalls[r], ratios[r])
	}
	med := func(xs []float64) float64 {
		ys := append([]float64{}, xs...)
		sort.Float64s(ys)
		return ys[len(ys)/2]
	}
	fmt.Fprintf(w, "\nmedian: cold %.0f seeds/min (%.2f node calls/seed), warm %.0f seeds/min (%.2f node calls/seed); warm is %.2fx cold\n",
		med(coldRate), med(coldCalls), med(warmRate), med(warmCalls), med(ratios))
	return nil
}

// benchSummary reads a batch summary and checks every job is done.
func benchSummary(path string, jobs int) (*batch.Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s batch.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.Totals.Done != jobs {
		return nil, fmt.Errorf("bench batch: %d of %d jobs done (%d failed)", s.Totals.Done, jobs, s.Totals.Failed)
	}
	return &s, nil
}
