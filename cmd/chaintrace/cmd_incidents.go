package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/chaintrace/chaintrace/incidents"
	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/spf13/cobra"
)

func newIncidentsCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "The catalog of known exchange hacks: list, show, confirm on chain, import",
		Long: `chaintrace ships a catalog of exchange hacks attributed to North Korea:
the public facts about each (date, amounts, seed addresses, transactions),
every fact with the notice or filing that states it and whether it has been
confirmed on chain. A local catalog file extends it with new incidents or
new facts; every incidents command reads the built-in catalog merged with
the local one.

The local catalog is incidents.yaml beside the store directory (with the
default store, ~/.chaintrace/incidents.yaml), or the file --catalog names.
The format is described in docs/incidents.md.`,
	}
	cmd.PersistentFlags().String("catalog", "", "local incident catalog file (default: incidents.yaml beside the --store directory)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the catalogued incidents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runIncidentsList(opts)
		},
	}
	list.Flags().Bool("json", false, "print JSON instead of a table")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show every fact of an incident with its role, chain, block, source and confirmation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIncidentsShow(opts, args[0])
		},
	}
	show.Flags().Bool("json", false, "print JSON instead of text")

	confirm := &cobra.Command{
		Use:   "confirm ID",
		Short: "Check an incident's transactions and addresses against a node",
		Long: `Check each catalogued fact of an incident against a node, and report per
fact: confirmed, wrong block (naming the block it is in), wrong amount,
wrong from-to, missing transaction, failed transaction, no internal
transfer, no activity, or unchecked.

A transaction must exist, be mined in the stated block, have succeeded, have
the stated from and to (its sender and recipient, or the sender and receiver
of any value it moved: on Ethereum value moved by an internal call counts,
as in the Ronin and Bybit drains) and move the stated amount, at the
precision the source states it. An address with a stated block must be
active at it (or within a few blocks); one without is confirmed when a
confirmed transaction of the incident moved value from or to it. The
incident's date and amounts are confirmed by its confirmed transactions
where they can be, and are otherwise unchecked, never failed.

Exit status: 0 when no fact failed, 1 when any did, 2 on bad input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIncidentsConfirm(cmd.Context(), opts, args[0])
		},
	}
	addNodeFlags(confirm)
	confirm.Flags().Bool("json", false, "print the report as JSON")

	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Validate a catalog file and add it to the local catalog",
		Long: `Validate FILE (the catalog format, docs/incidents.md) and add its incidents
and facts to the local catalog. A file with problems imports nothing: every
problem is named with its line, and the exit status is 2. So does a file
that states, about a catalogued fact, something else than the catalog
(both lines are named). The local catalog is rewritten atomically.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIncidentsImport(opts, args[0])
		},
	}
	cmd.AddCommand(list, show, confirm, imp)
	return cmd
}

// localCatalogPath is --catalog, or incidents.yaml beside the store
// directory. explicit tells which.
func (o *globalOptions) localCatalogPath() (path string, explicit bool, err error) {
	if p := strings.TrimSpace(o.v.GetString("catalog")); p != "" {
		return expandHome(p), true, nil
	}
	dir := strings.TrimSpace(o.v.GetString("store"))
	if dir == "" {
		return "", false, usagef("--store is empty (the local incident catalog lives beside it; or give --catalog)")
	}
	dir = filepath.Clean(expandHome(dir))
	return filepath.Join(filepath.Dir(dir), "incidents.yaml"), false, nil
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// catalogError maps a catalog problem to bad input (exit 2).
func catalogError(err error) error {
	if errors.Is(err, incidents.ErrMalformed) || errors.Is(err, incidents.ErrConflict) {
		return usagef("%v", err)
	}
	return err
}

// loadLocalCatalog reads the local catalog; nil when there is none. A
// --catalog that does not exist is bad input unless creating is true
// (import creates it).
func (o *globalOptions) loadLocalCatalog(creating bool) (*incidents.Catalog, string, error) {
	path, explicit, err := o.localCatalogPath()
	if err != nil {
		return nil, "", err
	}
	local, err := incidents.Load(path)
	switch {
	case err == nil:
		return local, path, nil
	case errors.Is(err, fs.ErrNotExist) && (!explicit || creating):
		return nil, path, nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil, path, usagef("--catalog %s: %v", path, errors.Unwrap(errors.Unwrap(err)))
	}
	return nil, path, catalogError(err)
}

// incidentCatalog is the built-in catalog merged with the local one.
func (o *globalOptions) incidentCatalog() (*incidents.Catalog, error) {
	builtin, err := incidents.Builtin()
	if err != nil {
		return nil, fmt.Errorf("built-in incident catalog: %w", err)
	}
	local, _, err := o.loadLocalCatalog(false)
	if err != nil {
		return nil, err
	}
	if local == nil {
		return builtin, nil
	}
	merged, err := incidents.Merge(builtin, local)
	if err != nil {
		return nil, catalogError(err)
	}
	return merged, nil
}

func (o *globalOptions) incident(id string) (*incidents.Incident, error) {
	cat, err := o.incidentCatalog()
	if err != nil {
		return nil, err
	}
	inc, err := cat.Get(id)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return inc, nil
}

// amountsText renders an incident's amounts as stated.
func amountsText(inc *incidents.Incident) string {
	parts := make([]string, 0, len(inc.Amounts))
	for _, a := range inc.Amounts {
		if a.Stated != "" {
			parts = append(parts, a.Stated)
		} else {
			parts = append(parts, a.String())
		}
	}
	return strings.Join(parts, " + ")
}

type incidentSummary struct {
	ID           string              `json:"id"`
	Name         string              `json:"name"`
	Date         string              `json:"date"`
	Victim       string              `json:"victim"`
	Chains       []string            `json:"chains"`
	Amounts      []incidents.Amount  `json:"amounts"`
	Addresses    int                 `json:"addresses"`
	Transactions int                 `json:"transactions"`
	Facts        int                 `json:"facts"`
	Confirmed    int                 `json:"confirmed"`
	Sources      []incidents.Source  `json:"sources"`
	Seeds        map[string][]string `json:"seeds"`
	StartBlocks  map[string]uint64   `json:"start_blocks,omitempty"`
}

func runIncidentsList(opts *globalOptions) error {
	cat, err := opts.incidentCatalog()
	if err != nil {
		return err
	}
	if opts.v.GetBool("json") {
		out := make([]incidentSummary, 0, len(cat.Incidents))
		for _, inc := range cat.Incidents {
			c := inc.Counts()
			s := incidentSummary{ID: inc.ID, Name: inc.Name, Date: inc.Date.Value, Victim: inc.Victim, Chains: inc.Chains,
				Amounts: inc.Amounts, Addresses: c.Addresses, Transactions: c.Txs, Facts: c.Facts, Confirmed: c.Confirmed,
				Sources: inc.Sources, Seeds: map[string][]string{}}
			if s.Amounts == nil {
				s.Amounts = []incidents.Amount{}
			}
			for _, ch := range inc.Chains {
				s.Seeds[ch] = inc.Seeds(ch)
				if b, ok := inc.StartBlock(ch); ok {
					if s.StartBlocks == nil {
						s.StartBlocks = map[string]uint64{}
					}
					s.StartBlocks[ch] = b
				}
			}
			out = append(out, s)
		}
		return writeJSON(opts.stdout, out)
	}
	tw := tabwriter.NewWriter(opts.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDATE\tVICTIM\tCHAINS\tAMOUNT\tADDRESSES\tTXS\tCONFIRMED\t")
	for _, inc := range cat.Incidents {
		c := inc.Counts()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d/%d\t\n", inc.ID, inc.Date.Value, inc.Victim,
			strings.Join(inc.Chains, ","), amountsText(inc), c.Addresses, c.Txs, c.Confirmed, c.Facts)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func blockText(b uint64) string {
	if b == 0 {
		return "-"
	}
	return strconv.FormatUint(b, 10)
}

func runIncidentsShow(opts *globalOptions, id string) error {
	inc, err := opts.incident(id)
	if err != nil {
		return err
	}
	if opts.v.GetBool("json") {
		return writeJSON(opts.stdout, struct {
			*incidents.Incident
			Counts    incidents.Counts       `json:"counts"`
			HopLevels []incidents.LevelCount `json:"hop_levels,omitempty"`
		}{inc, inc.Counts(), inc.HopLevels()})
	}
	w := opts.stdout
	src := func(ids []string) string { return strings.Join(ids, ",") }
	fmt.Fprintf(w, "%s: %s\n", inc.ID, inc.Name)
	fmt.Fprintf(w, "victim: %s\n", inc.Victim)
	fmt.Fprintf(w, "date: %s (source %s; confirmed: %s)\n", inc.Date.Value, src(inc.Date.Sources), yesNo(inc.Date.Confirmed))
	fmt.Fprintf(w, "chains: %s\n", strings.Join(inc.Chains, ", "))
	if inc.Network != "" {
		fmt.Fprintf(w, "bitcoin network: %s\n", inc.Network)
	}
	fmt.Fprintln(w, "\nsources:")
	for _, s := range inc.Sources {
		fmt.Fprintf(w, "  %s: %s\n", s.ID, s.Title)
	}
	if len(inc.Amounts) > 0 {
		fmt.Fprintln(w, "\namounts:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  AMOUNT\tAS STATED\tSOURCE\tCONFIRMED\tNOTE\t")
		for _, a := range inc.Amounts {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t\n", a.String(), orDash(a.Stated), src(a.Sources), yesNo(a.Confirmed), orDash(a.Note))
		}
		tw.Flush()
	}
	if len(inc.Txs) > 0 {
		fmt.Fprintln(w, "\ntransactions:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  CHAIN\tHASH\tROLE\tBLOCK\tFROM\tTO\tAMOUNT\tINTERNAL\tSOURCE\tCONFIRMED\tNOTE\t")
		for _, t := range inc.Txs {
			amount := t.Asset
			if t.Amount != nil {
				amount = t.Amount.String()
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", t.Chain, t.Hash, t.Role, blockText(t.Block),
				orDash(t.From), orDash(t.To), orDash(amount), yesNo(t.Internal), src(t.Sources), yesNo(t.Confirmed), orDash(t.Note))
		}
		tw.Flush()
	}
	if len(inc.Addresses) > 0 {
		fmt.Fprintln(w, "\naddresses:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  CHAIN\tADDRESS\tROLE\tLEVEL\tBLOCK\tSOURCE\tCONFIRMED\tLABEL / SDN / NOTE\t")
		for _, a := range inc.Addresses {
			level := "-"
			if a.Level > 0 {
				level = strconv.Itoa(a.Level)
			}
			var extra []string
			for _, s := range []string{a.Label, a.SDN, a.Note} {
				if s != "" {
					extra = append(extra, s)
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", a.Chain, a.Canonical, a.Role, level, blockText(a.Block),
				src(a.Sources), yesNo(a.Confirmed), orDash(strings.Join(extra, "; ")))
		}
		tw.Flush()
	}
	if len(inc.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range inc.Notes {
			fmt.Fprintf(w, "  %s (source %s; confirmed: %s)\n", n.Text, src(n.Sources), yesNo(n.Confirmed))
		}
	}
	if levels := inc.HopLevels(); len(levels) > 0 {
		fmt.Fprintln(w, "\naddresses per hop level (as labelled; compare a trace's hops level by level):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  LEVEL\tCOUNT\t")
		total := 0
		for _, l := range levels {
			name := strconv.Itoa(l.Level)
			if l.Level == 0 {
				name = "none"
			}
			fmt.Fprintf(tw, "  %s\t%d\t\n", name, l.Count)
			total += l.Count
		}
		fmt.Fprintf(tw, "  total\t%d\t\n", total)
		tw.Flush()
	}
	c := inc.Counts()
	fmt.Fprintf(w, "\n%d facts, %d confirmed on chain\n", c.Facts, c.Confirmed)
	return nil
}

func runIncidentsConfirm(ctx context.Context, opts *globalOptions, id string) error {
	inc, err := opts.incident(id)
	if err != nil {
		return err
	}
	// Dial a node for each chain on which something can be checked.
	need := map[string]bool{}
	for _, t := range inc.Txs {
		need[t.Chain] = true
	}
	for _, a := range inc.Addresses {
		if a.Block > 0 {
			need[a.Chain] = true
		}
	}
	nodes := map[string]incidents.Node{}
	var endpoints []string
	if need[incidents.ChainETH] || opts.v.GetString("eth.rpc") != "" {
		if opts.v.GetString("eth.rpc") == "" {
			return usagef("incident %s has facts to check on eth: --eth-rpc is required", inc.ID)
		}
		a, err := opts.dialEth(ctx)
		if err != nil {
			return err
		}
		nodes[incidents.ChainETH] = incidents.EthNode(a)
		caps := a.Capabilities()
		endpoints = append(endpoints, fmt.Sprintf("eth %s (chain id %d)", a.RPC().Endpoint(), caps.ChainID))
	}
	if need[incidents.ChainBTC] || opts.v.GetString("btc.rpc") != "" {
		if opts.v.GetString("btc.rpc") == "" {
			return usagef("incident %s has facts to check on btc: --btc-rpc is required", inc.ID)
		}
		a, err := opts.dialBtc(ctx)
		if err != nil {
			return err
		}
		nodes[incidents.ChainBTC] = incidents.BtcNode(a)
		endpoints = append(endpoints, fmt.Sprintf("btc %s (%s)", a.RPC().Endpoint(), a.Network()))
	}
	rep, err := incidents.Check(ctx, inc, nodes)
	if err != nil {
		return err
	}
	if opts.v.GetBool("json") {
		if err := writeJSON(opts.stdout, rep); err != nil {
			return err
		}
	} else {
		printConfirmReport(opts.stdout, inc, rep, endpoints)
	}
	if !rep.OK() {
		return fmt.Errorf("incident %s: %d of %d facts failed the check", inc.ID, rep.Failed, len(rep.Results))
	}
	return nil
}

// printConfirmReport prints one line per fact; unchecked addresses that
// share a reason are counted on one line (Upbit has 813).
func printConfirmReport(w io.Writer, inc *incidents.Incident, rep *incidents.Report, endpoints []string) {
	fmt.Fprintf(w, "%s: %s\n", inc.ID, inc.Name)
	for _, e := range endpoints {
		fmt.Fprintf(w, "node: %s\n", e)
	}
	if len(endpoints) == 0 {
		fmt.Fprintln(w, "node: none (nothing of this incident can be checked on chain)")
	}
	grouped := map[string]int{}
	var order []string
	for _, r := range rep.Results {
		if r.Kind == "address" && r.Status == incidents.StatusUnchecked {
			if grouped[r.Detail] == 0 {
				order = append(order, r.Detail)
			}
			grouped[r.Detail]++
			continue
		}
		status := string(r.Status)
		if len(r.Failures) > 1 {
			fs := make([]string, len(r.Failures))
			for i, f := range r.Failures {
				fs[i] = string(f)
			}
			status = strings.Join(fs, ", ")
		}
		subject := r.Kind + " " + r.Subject
		if r.Role != "" {
			subject += " (" + r.Role + ")"
		}
		fmt.Fprintf(w, "%s: %s: %s [%s]\n", status, subject, r.Detail, r.Where)
	}
	for _, d := range order {
		noun := "addresses"
		if grouped[d] == 1 {
			noun = "address"
		}
		fmt.Fprintf(w, "unchecked: %d %s: %s\n", grouped[d], noun, d)
	}
	fmt.Fprintf(w, "%d confirmed, %d failed, %d unchecked\n", rep.Confirmed, rep.Failed, rep.Unchecked)
}

func runIncidentsImport(opts *globalOptions, file string) error {
	add, err := incidents.Load(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return usagef("incidents import: %v", errors.Unwrap(err))
		}
		return catalogError(err)
	}
	local, path, err := opts.loadLocalCatalog(true)
	if err != nil {
		return err
	}
	if local == nil {
		local = &incidents.Catalog{}
	}
	before := map[string]bool{}
	for _, id := range local.IDs() {
		before[id] = true
	}
	builtin, err := incidents.Builtin()
	if err != nil {
		return fmt.Errorf("built-in incident catalog: %w", err)
	}
	for _, id := range builtin.IDs() {
		before[id] = true
	}
	next, err := incidents.Append(local, add)
	if err != nil {
		return catalogError(err)
	}
	// The result must merge with the built-in catalog: every extension
	// names a catalogued incident, and no fact contradicts it.
	if _, err := incidents.Merge(builtin, next); err != nil {
		return catalogError(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("local incident catalog: %w", err)
	}
	if err := atomicfile.Write(path, 0o644, next.Encode); err != nil {
		return err
	}
	var added, extended []string
	for _, inc := range add.Incidents {
		if before[inc.ID] {
			extended = append(extended, inc.ID)
		} else {
			added = append(added, inc.ID)
		}
	}
	fmt.Fprintf(opts.stdout, "imported %s into %s: %d new incident(s)%s, %d extended%s\n", file, path,
		len(added), listSuffix(added), len(extended), listSuffix(extended))
	return nil
}

func listSuffix(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return " (" + strings.Join(ids, ", ") + ")"
}
