package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/chaintrace/chaintrace/labels"
	"github.com/chaintrace/chaintrace/store"
	"github.com/spf13/cobra"
)

func newLabelsCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "labels",
		Short: "Import, list and look up address labels",
		Long: `Labels name the services funds reach: exchanges, mixers, bridges, and the
perpetrators themselves. Sets imported into the store are used by every
trace on that store, beside any --labels files given to the trace; each
label keeps its source and the SHA-256 of the file it came from, and the
exhibit names every set used.`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "import FILE...",
			Short: "Import label files (GraphSense TagPack YAML, CSV, OFAC SDN XML) into the store",
			Long: `Import label files into the store. The format is recognised from the content
(compression too, whatever the file is called):

  - GraphSense TagPack YAML;
  - CSV with the header chain,address,label,category,source;
  - OFAC SDN XML, sdn.xml or sdn_advanced.xml, plain or .bz2/.gz: every
    "Digital Currency Address - TAG" becomes a label named after its entry
    (e.g. LAZARUS GROUP), category sanctioned, source "OFAC SDN (PROGRAMS)".
    0x addresses are eth whatever the TAG (one key on every EVM chain), XBT
    is btc, and currencies chaintrace has no chain code for keep their tag
    in lower case (xmr, dash, ...), so that "labels show" finds them.

A file that cannot be parsed imports nothing (exit 2, one line naming the
file and line). Importing the real sdn_advanced.xml.bz2 takes some seconds:
import it once, and every trace on the store uses it.`,
			Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runLabelsImport(opts, args)
			},
		},
		&cobra.Command{
			Use:   "show ADDRESS",
			Short: "Show the labels the store holds for an address",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runLabelsShow(opts, args[0])
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the label sets in the store",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runLabelsList(opts)
			},
		},
	)
	return cmd
}

const labelSetsKey = "labels/sets"

func labelSetKey(name string) string { return "labels/set/" + name }

// storedLabelSets loads every label set imported into the store.
func storedLabelSets(st *store.Store) ([]*labels.Set, error) {
	b, ok, err := st.Meta(labelSetsKey)
	if err != nil || !ok {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("store: label set list: %w", err)
	}
	var out []*labels.Set
	for _, name := range names {
		b, ok, err := st.Meta(labelSetKey(name))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("store: label set %q is listed but missing", name)
		}
		var s labels.Set
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("store: label set %q: %w", name, err)
		}
		out = append(out, &s)
	}
	return out, nil
}

func runLabelsImport(opts *globalOptions, paths []string) error {
	// Parse every file first: a bad file imports nothing.
	var sets []*labels.Set
	for _, p := range paths {
		set, err := opts.loadLabelSet(p)
		if err != nil {
			return err
		}
		sets = append(sets, set)
	}
	st, err := opts.openStore(false)
	if err != nil {
		return err
	}
	defer st.Close()
	existing, err := storedLabelSets(st)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, s := range existing {
		names[s.Name] = true
	}
	for _, set := range sets {
		b, err := json.Marshal(set)
		if err != nil {
			return err
		}
		if err := st.SetMeta(labelSetKey(set.Name), b); err != nil {
			return err
		}
		verb := "imported"
		if names[set.Name] {
			verb = "replaced"
		}
		names[set.Name] = true
		fmt.Fprintf(opts.stdout, "%s %s: %d labels (sha256 %s)\n", verb, set.Name, set.Entries, set.SHA256)
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	b, _ := json.Marshal(list)
	return st.SetMeta(labelSetsKey, b)
}

// storeLabelIndex builds the label index of a trace: the store's sets and
// the trace's own files.
func (o *globalOptions) storeLabelIndex(st *store.Store, files []string) (*labels.Index, error) {
	ix, err := o.loadLabels(files)
	if err != nil {
		return nil, err
	}
	sets, err := storedLabelSets(st)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		if err := ix.Add(s); err != nil {
			return nil, usagef("label set %s: %v", s.Name, err)
		}
	}
	return ix, nil
}

func runLabelsShow(opts *globalOptions, addr string) error {
	st, err := opts.openStore(false)
	if err != nil {
		return err
	}
	defer st.Close()
	ix, err := opts.storeLabelIndex(st, nil)
	if err != nil {
		return err
	}
	found := ix.LookupAny(addr)
	if len(found) == 0 {
		fmt.Fprintf(opts.stdout, "%s: no label in the store's %d label set(s)\n", addr, len(ix.Sets()))
		return nil
	}
	tw := tabwriter.NewWriter(opts.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "chain\tlabel\tcategory\tsource\tset\t")
	for _, l := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", l.Chain, l.Label, l.Category, l.Source, l.LabelSet)
	}
	return tw.Flush()
}

func runLabelsList(opts *globalOptions) error {
	st, err := opts.openStore(false)
	if err != nil {
		return err
	}
	defer st.Close()
	sets, err := storedLabelSets(st)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(opts.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "set\tlabels\tsha256\t")
	for _, s := range sets {
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", s.Name, s.Entries, s.SHA256)
	}
	return tw.Flush()
}
