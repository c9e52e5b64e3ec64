package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/btcscenario"
)

// btcNodeFlags are the flags that reach n over HTTPS with its certificate.
func btcNodeFlags(n *btcnode.Node) []string {
	host, user, pass, _ := n.RPCConfig()
	return []string{"--btc-rpc", "https://" + host, "--btc-rpc-user", user, "--btc-rpc-pass", pass, "--btc-rpc-cert", n.CertFile()}
}

// runDemoBtc is the demo's Bitcoin leg (see the demo's help).
func runDemoBtc(ctx context.Context, opts *globalOptions, out string) error {
	start := time.Now()
	w := opts.stdout
	fmt.Fprintln(w, "\nchaintrace demo, Bitcoin leg: starting a btcd simnet node (built from the Go module cache on first use)")
	node, err := btcnode.New(btcnode.Options{MatureOutputs: 10})
	if err != nil {
		fmt.Fprintf(w, "Bitcoin leg skipped: btcd could not be built or started here: %v\n", err)
		fmt.Fprintln(w, "(the Ethereum leg above is complete; `go build github.com/btcsuite/btcd` inside this module is what is needed)")
		return nil
	}
	defer node.Close()
	truth, err := btcscenario.Play(node, btcscenario.Options{})
	if err != nil {
		return fmt.Errorf("playing the Bitcoin case: %w", err)
	}
	fmt.Fprintf(w, "played the Bitcoin case in blocks %d-%d: stolen coins paid to %s\n", truth.From, truth.To, truth.Seed)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	labelsCSV, err := btcscenario.Labels(node.Params())
	if err != nil {
		return err
	}
	labelsPath := filepath.Join(out, "labels.csv")
	if err := atomicfile.Write(labelsPath, 0o644, func(f io.Writer) error { _, err := io.WriteString(f, labelsCSV); return err }); err != nil {
		return err
	}
	storeDir := filepath.Join(out, "store")
	if err := os.RemoveAll(storeDir); err != nil { // the demo chain is new every run
		return err
	}
	common := append([]string{"--chain", "btc", "--store", storeDir, "--log-level", "warn"}, btcNodeFlags(node)...)
	exhibitPath := filepath.Join(out, "exhibit.json")
	traceArgs := append([]string{"trace", "--seed", truth.Seed,
		"--from-block", fmt.Sprint(truth.From), "--to-block", fmt.Sprint(truth.To), "--max-hops", "100",
		"--labels", labelsPath, "--taint", demoModels,
		"--case-id", "demo-btc-peel", "--case-title", "Scripted Bitcoin laundering: peel chain, fan-out, consolidation",
		"--created-by", "chaintrace demo"}, common...)
	e, verified, err := demoTraceVerify(ctx, traceArgs, append([]string{"verify", exhibitPath}, common[2:]...), out)
	if err != nil {
		return err
	}
	maxHop := 0
	for _, t := range e.Transfers {
		maxHop = max(maxHop, t.Hop)
	}
	fmt.Fprintf(w, "traced %d outputs over %d hops through %d transactions (each reconciled under every model); %d addresses reached; taint models %s\n",
		len(e.Transfers), maxHop, len(e.Reconciliation), len(e.Addresses), strings.Join(exhibitModels(e), ", "))
	for _, f := range e.Findings {
		switch f.Kind {
		case "coinjoin":
			fmt.Fprintf(w, "finding: a CoinJoin at %s (confidence %d%%): the trace stops there\n", f.Subject, f.Confidence)
		case "peel_chain":
			fmt.Fprintf(w, "finding: a peel chain of %d transactions from %s (confidence %d%%)\n", len(f.Evidence), f.Subject, f.Confidence)
		}
	}
	fmt.Fprintln(w, "\nwhere the stolen coins went (satoshi), of which stolen under each model:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "endpoint\tcategory\treceived\t%s\tscript says\t\n", strings.Join(exhibitModels(e), "\t"))
	for _, ep := range e.Endpoints {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t\n", ep.Label, ep.Category, ep.Amount, strings.Join(endpointByModel(e, &ep), "\t"), truth.Deposits[ep.Address])
	}
	tw.Flush()
	fmt.Fprintf(w, "\nverify: %s\n", verified)
	fmt.Fprintf(w, "wrote %s, %s, %s and %s in %s\n", exhibitPath, filepath.Join(out, "transfers.csv"), filepath.Join(out, "flow.dot"),
		labelsPath, time.Since(start).Round(time.Millisecond))
	return nil
}
