package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/spf13/cobra"
)

func newDemoCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo [--out DIR]",
		Short: "Trace a scripted exchange hack on an in-process node, write and verify the exhibit (no network)",
		Long: `demo is the main job on an embedded case. It starts an in-process Ethereum
node and plays an exchange hack shaped like Upbit's of 2019: a hot wallet
drained of 342,000 ETH and a stolen token to one address, a fan-out over
several layers, a peel chain through exchange deposit addresses, a contract
paying out by internal calls, a reverted attempt, a re-merge with clean
money, mixer and bridge legs, unrelated traffic around it all. Then it does
what an investigator does, with the same code as the commands:

  labels.csv     the labels an investigator holds (exchanges, mixer, bridge)
  chaintrace trace --seed HACKER --labels labels.csv ...   -> exhibit.json
  the same trace as transfers.csv and flow.dot
  chaintrace verify exhibit.json                            -> re-checked

and prints a summary: hops, addresses reached, what reached each exchange.
The store stays in DIR/store for further queries.

Then the Bitcoin leg, in DIR/btc: a real btcd (simnet, built from the Go
module cache and started here) plays the stolen coins down a 55-hop peel
chain with deposits to an exchange, a fan-out and a consolidation with
clean coins, among unrelated payments; the same trace, export and verify
run against it through its address index. When btcd cannot be built or
started, the demo says so and stops after the Ethereum leg.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), opts)
		},
	}
	cmd.Flags().String("out", "demo-out", "directory for the demo's output")
	cmd.Flags().Bool("no-btc", false, "skip the Bitcoin leg (a btcd node built from the module cache)")
	return cmd
}

func runDemo(ctx context.Context, opts *globalOptions) error {
	start := time.Now()
	out := opts.v.GetString("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return usagef("--out %s: %v", out, err)
	}
	w := opts.stdout
	fmt.Fprintln(w, "chaintrace demo: starting an in-process Ethereum node (no network)")
	node, err := devchain.Start(devchain.Config{Funded: scenario.Upbit2019Funded})
	if err != nil {
		return fmt.Errorf("starting the demo node: %w", err)
	}
	defer node.Close()
	truth, err := scenario.PlayUpbit2019(node)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "played %q in blocks %d-%d: hot wallet drained to %s\n", truth.Name, truth.First, truth.Last, truth.Seeds[0].Hex())

	labelsPath := filepath.Join(out, "labels.csv")
	if err := writeLabelsCSV(labelsPath, truth); err != nil {
		return err
	}
	storeDir := filepath.Join(out, "store")
	if err := os.RemoveAll(storeDir); err != nil { // the demo chain is new every run
		return err
	}
	exhibitPath := filepath.Join(out, "exhibit.json")
	common := []string{"--store", storeDir, "--eth-rpc", node.URL(), "--log-level", "warn"}
	traceArgs := append([]string{"trace", "--chain", "eth", "--seed", truth.Seeds[0].Hex(),
		"--from-block", fmt.Sprint(truth.First), "--to-block", fmt.Sprint(truth.Last),
		"--labels", labelsPath, "--taint", demoModels,
		"--case-id", "demo-upbit-2019", "--case-title", "Scripted exchange hack modelled on Upbit, November 2019",
		"--created-by", "chaintrace demo"}, common...)
	e, verified, err := demoTraceVerify(ctx, traceArgs, append([]string{"verify", exhibitPath}, common...), out)
	if err != nil {
		return err
	}
	printDemoSummary(w, e, truth)
	fmt.Fprintf(w, "\nverify: %s\n", verified)
	fmt.Fprintf(w, "wrote %s, %s, %s and %s in %s\n", exhibitPath, filepath.Join(out, "transfers.csv"), filepath.Join(out, "flow.dot"),
		labelsPath, time.Since(start).Round(time.Millisecond))
	if opts.v.GetBool("no-btc") {
		return nil
	}
	return runDemoBtc(ctx, opts, filepath.Join(out, "btc"))
}

// demoTraceVerify runs the trace once per export format into dir (the
// exhibit, transfers.csv, flow.dot), verifies the exhibit, and returns it
// with verify's last line.
func demoTraceVerify(ctx context.Context, traceArgs, verifyArgs []string, dir string) (*exhibit.Exhibit, string, error) {
	exhibitPath := filepath.Join(dir, "exhibit.json")
	var traceErr bytes.Buffer
	for _, f := range []struct{ format, path string }{{"json", exhibitPath}, {"csv", filepath.Join(dir, "transfers.csv")}, {"dot", filepath.Join(dir, "flow.dot")}} {
		args := append(append([]string{}, traceArgs...), "--format", f.format, "--out", f.path)
		if code := run(ctx, args, io.Discard, &traceErr); code != 0 {
			return nil, "", fmt.Errorf("demo trace (%s) failed: %s", f.format, lastLineOf(traceErr.String()))
		}
	}
	var verifyOut bytes.Buffer
	if code := run(ctx, verifyArgs, &verifyOut, &verifyOut); code != 0 {
		return nil, "", fmt.Errorf("demo verify failed:\n%s", verifyOut.String())
	}
	data, err := os.ReadFile(exhibitPath)
	if err != nil {
		return nil, "", err
	}
	e, err := exhibit.Unmarshal(data)
	if err != nil {
		return nil, "", err
	}
	return e, lastLineOf(verifyOut.String()), nil
}

func writeLabelsCSV(path string, truth *scenario.Truth) error {
	return atomicfile.Write(path, 0o644, func(f io.Writer) error {
		cw := csv.NewWriter(f)
		cw.Write([]string{"chain", "address", "label", "category", "source"})
		for _, l := range truth.Labels {
			cw.Write([]string{"eth", l.Address.Hex(), l.Label, l.Category, "chaintrace demo"})
		}
		cw.Flush()
		return cw.Error()
	})
}

func printDemoSummary(w io.Writer, e *exhibit.Exhibit, truth *scenario.Truth) {
	maxHop := 0
	for _, t := range e.Transfers {
		maxHop = max(maxHop, t.Hop)
	}
	fmt.Fprintf(w, "traced %d transfers over %d hops; %d addresses reached; taint models %s\n",
		len(e.Transfers), maxHop, len(e.Addresses), strings.Join(exhibitModels(e), ", "))
	fmt.Fprintln(w, "\nwhere the stolen funds went (amounts in base units: wei, token units), of which stolen under each model:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "endpoint\tcategory\tasset\treceived\t%s\tscript says\t\n", strings.Join(exhibitModels(e), "\t"))
	for _, ep := range e.Endpoints {
		asset := ep.Asset
		if asset != chains.AssetETH {
			asset = "token"
		}
		want := "?"
		for a, assets := range truth.Endpoints {
			if a.Hex() == ep.Address {
				if v := assets[ep.Asset]; v != nil {
					want = v.String()
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", ep.Label, ep.Category, asset, ep.Amount, strings.Join(endpointByModel(e, &ep), "\t"), want)
	}
	tw.Flush()
}

// demoModels are the taint models the demo runs side by side, haircut
// (the default) first.
const demoModels = "haircut,fifo,lifo,tiho,poison"

// exhibitModels lists the models an exhibit states, the primary first.
func exhibitModels(e *exhibit.Exhibit) []string {
	if len(e.Method.TaintModels) > 0 {
		return e.Method.TaintModels
	}
	return []string{e.Method.TaintModel}
}

// endpointByModel is an endpoint's taint under each of the exhibit's
// models.
func endpointByModel(e *exhibit.Exhibit, ep *exhibit.Endpoint) []string {
	var out []string
	for _, m := range exhibitModels(e) {
		v, ok := ep.TaintByModel[m]
		if !ok {
			v = ep.Taint
		}
		out = append(out, v)
	}
	return out
}

func lastLineOf(s string) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	return string(lines[len(lines)-1])
}
