package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/incidents"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/labels"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/chaintrace/chaintrace/tracer/taint"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newTraceCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace --chain eth|btc --seed ADDRESS [--seed ADDRESS|TXID:VOUT]... --from-block N [flags]",
		Short: "Follow funds from seed addresses and write an exhibit",
		Long: `trace follows funds forward from the seed addresses (the thief's own: what
they hold at --from-block and receive after counts as stolen) hop by hop over
native, internal and token transfers, under a taint model, until they reach
addresses labelled in a stop category (exchanges, mixers, bridges by default)
or --max-hops. Blocks of the window the store lacks are fetched from the node
first. The exhibit (CONTRACT.md) states the facts, the method and the
arithmetic; 'chaintrace verify' re-checks it against any node.

On Bitcoin (--chain btc) the walk follows outputs: a seed is an address
(what it holds at --from-block and receives after) or one output txid:vout;
a hop follows a tainted output to the transaction spending it, the model
shares the inputs' taint over its outputs and fee, and every transaction
passed through is reconciled in the exhibit. Data comes from a btcd with
--addrindex (only the blocks the reached addresses appear in), any node
after the window is indexed (Bitcoin Core), the store alone, or --esplora.

With --direction backward the seeds are addresses to explain, an
exchange deposit for one: the trace goes back from them to the sources of
the funds they received, stopping at labelled addresses (any label, unless
--stop-categories is given), and states the share of their receipts each
source accounts for under every --taint model.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTrace(cmd.Context(), opts)
		},
	}
	addNodeFlags(cmd)
	f := cmd.Flags()
	addHistoryFlags(f)
	f.StringArray("seed", nil, "seed address, or on btc an output txid:vout (repeatable); NAME=SEED puts it in a taint colour, one per theft, kept apart in the figures")
	addTraceFlags(f)
	f.String("out", "-", "exhibit path; - writes to standard output")
	f.String("format", "json", "output format: json (the exhibit), csv, dot")
	return cmd
}

// addTraceFlags adds what a trace is run with, seeds and output aside:
// the window, the models, the limits, labels and stops, and the case. A
// batch takes the same flags as defaults for its jobs.
func addTraceFlags(f *pflag.FlagSet) {
	f.String("from-block", "", "first block of the window: the block of the theft")
	f.String("to-block", "", "last block of the window (default: the node's head less --confirmations)")
	f.Int("confirmations", 12, "blocks kept back from the head when --to-block is not given (btc: 6 unless set)")
	f.String("taint", "haircut", "taint model, or a comma list run side by side, the first the primary: poison, haircut, fifo, lifo, tiho")
	f.Int("max-hops", 10, "stop after this many hops from a seed")
	f.String("min-value", "0", "ignore transfers below this amount, in the asset's base units")
	f.StringArray("labels", nil, "label file for this trace: GraphSense TagPack YAML, CSV, or OFAC sdn.xml / sdn_advanced.xml (plain or .bz2) (repeatable)")
	f.StringSlice("stop-categories", labels.DefaultStopCategories, "label categories where the trace stops")
	f.String("direction", directionForward, directionUsage)
	f.String("incident", "", "a known hack of the incident catalog ('chaintrace incidents list'): its seeds on --chain and its first block are the trace's (--seed adds more, --from-block overrides), and the exhibit's case cites it")
	f.String("catalog", "", "a local incident catalog extending the built-in one, for --incident (default: incidents.yaml beside the store directory)")
	f.String("case-id", "", "case identifier stated in the exhibit")
	f.String("case-title", "", "case title stated in the exhibit")
	f.String("created-by", "", "investigator stated in the exhibit")
	f.Int("chunk-size", 16, "blocks fetched per batch")
}

type traceParams struct {
	chain    chains.Chain
	seeds    []string
	colour   []string // each seed's colour name, parallel to seeds ("": none)
	models   []taint.Kind
	maxHops  int
	minValue *big.Int
	from     uint64
	to       uint64
	toGiven  bool
	stops    []string
	format   string
	out      string
	labelIx  *labels.Index
	caseInfo exhibit.Case
	// heur is the config file's heuristics section over the defaults.
	heur heuristics.Config
	// direction is --direction; stopAny (backward, no --stop-categories
	// given) stops at every labelled address (cmd_trace_back.go).
	direction string
	stopAny   bool
	// incident is the catalogued hack --incident names (nil: none).
	incident *incidents.Incident
}

func (o *globalOptions) traceParams() (*traceParams, error) {
	v := o.v
	p := &traceParams{format: v.GetString("format"), out: v.GetString("out")}
	var err error
	if p.chain, err = o.chainFlag(); err != nil {
		return nil, err
	}
	if p.heur, err = o.heuristicsConfig(); err != nil {
		return nil, err
	}
	var raw, names []string
	for _, s := range v.GetStringSlice("seed") {
		name, seed, err := splitSeed(s)
		if err != nil {
			return nil, err
		}
		if seed == "" {
			continue
		}
		raw, names = append(raw, seed), append(names, name)
	}
	if p.chain == chains.BTC {
		// Parsed once the network is known (runTraceBtc).
		p.seeds, p.colour = raw, names
	} else if p.seeds, p.colour, err = normalizeSeeds(raw, names, func(s string) (string, error) {
		a, err := ethereum.ParseAddress(s)
		if err != nil {
			return "", err
		}
		return a.Hex(), nil
	}); err != nil {
		return nil, err
	}
	if err := o.incidentSeeds(p); err != nil {
		return nil, err
	}
	if len(p.seeds) == 0 {
		return nil, usagef("--seed is required (the address the stolen funds were sent to; on btc also txid:vout), or --incident")
	}
	if p.models, err = taint.ParseKinds(v.GetString("taint")); err != nil {
		return nil, usagef("--taint: %v", err)
	}
	if p.maxHops = v.GetInt("max-hops"); p.maxHops < 1 {
		return nil, usagef("--max-hops %d: want at least 1", p.maxHops)
	}
	mv, ok := new(big.Int).SetString(strings.TrimSpace(v.GetString("min-value")), 10)
	if !ok || mv.Sign() < 0 {
		return nil, usagef("--min-value %q: want a non-negative integer in base units (wei, satoshi)", v.GetString("min-value"))
	}
	if mv.Sign() > 0 {
		p.minValue = mv
	}
	if p.incident == nil || strings.TrimSpace(v.GetString("from-block")) != "" {
		if p.from, err = o.uintFlag("from-block"); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(v.GetString("to-block")) != "" {
		if p.to, err = o.uintFlag("to-block"); err != nil {
			return nil, err
		}
		if p.from > p.to {
			return nil, usagef("--from-block %d is after --to-block %d", p.from, p.to)
		}
		p.toGiven = true
	}
	switch p.format {
	case "json", "csv", "dot":
	case "gexf", "html":
		return nil, usagef("--format %s: not built yet (json, csv and dot are)", p.format)
	default:
		return nil, usagef("--format %q: want json, csv or dot", p.format)
	}
	for _, c := range v.GetStringSlice("stop-categories") {
		p.stops = append(p.stops, labels.NormalizeCategory(c))
	}
	sort.Strings(p.stops)
	if err := o.checkDirection(p); err != nil {
		return nil, err
	}
	p.caseInfo = exhibit.Case{ID: v.GetString("case-id"), Title: v.GetString("case-title"), CreatedBy: v.GetString("created-by")}
	if inc := p.incident; inc != nil {
		// The exhibit cites the incident; the investigator's case id and
		// title, when given, stand.
		if p.caseInfo.ID == "" {
			p.caseInfo.ID = inc.ID
		}
		if p.caseInfo.Title == "" {
			p.caseInfo.Title = inc.Citation()
		}
		c := &exhibit.Incident{ID: inc.ID, Name: inc.Name, Date: inc.Date.Value}
		for _, src := range inc.Sources {
			c.Sources = append(c.Sources, src.Title)
		}
		p.caseInfo.Incident = c
	}
	return p, nil
}

// incidentSeeds takes the seeds and the first block of the incident
// --incident names: the catalog's seeds on the trace's chain come first,
// then any --seed given.
func (o *globalOptions) incidentSeeds(p *traceParams) error {
	id := strings.TrimSpace(o.v.GetString("incident"))
	if id == "" {
		return nil
	}
	cat, err := o.incidentCatalog()
	if err != nil {
		return err
	}
	inc, err := cat.Get(id)
	if err != nil {
		return usagef("--incident %s: not in the catalog (see 'chaintrace incidents list')", id)
	}
	seeds := inc.Seeds(string(p.chain))
	if len(seeds) == 0 {
		return usagef("--incident %s: the catalog names no %s address to start from (its chains: %s)", id, p.chain, strings.Join(inc.Chains, ", "))
	}
	if strings.TrimSpace(o.v.GetString("from-block")) == "" {
		b, ok := inc.StartBlock(string(p.chain))
		if !ok {
			return usagef("--incident %s: the catalog states no %s block to start from; give --from-block", id, p.chain)
		}
		p.from = b
	}
	var names []string
	for range seeds {
		names = append(names, "")
	}
	for i, s := range p.seeds {
		if !slices.Contains(seeds, s) {
			seeds, names = append(seeds, s), append(names, p.colour[i])
		}
	}
	if slices.ContainsFunc(names, func(n string) bool { return n != "" }) {
		return usagef("--incident %s: its seeds have no colour; name none for the seeds added", id)
	}
	p.seeds, p.colour, p.incident = seeds, names, inc
	return nil
}

// loadLabels reads label files; a file that cannot be read or parsed is
// bad input, named with its line.
func (o *globalOptions) loadLabels(paths []string) (*labels.Index, error) {
	ix, err := labels.NewIndex()
	if err != nil {
		return nil, err
	}
	for _, path := range paths {
		set, err := o.loadLabelSet(path)
		if err != nil {
			return nil, err
		}
		if err := ix.Add(set); err != nil {
			return nil, usagef("labels %s: %v", path, err)
		}
	}
	return ix, nil
}

// loadLabelSet reads one label file; one that cannot be read or parsed is
// bad input, named with its line. Addresses whose EIP-55 checksum is wrong
// (real label data has such typos) are kept and reported.
func (o *globalOptions) loadLabelSet(path string) (*labels.Set, error) {
	set, err := labels.LoadWith(path, labels.Options{BadChecksum: labels.ChecksumWarn})
	if err != nil {
		if errors.Is(err, labels.ErrMalformed) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, usagef("labels: %v", err)
		}
		return nil, usagef("labels %s: %v", path, err)
	}
	for _, w := range set.Warnings {
		o.logger.Warn("label file", "warning", w)
	}
	return set, nil
}

// splitSeed splits a --seed value NAME=SEED into its colour name (empty
// when none) and the seed.
func splitSeed(s string) (name, seed string, err error) {
	s = strings.TrimSpace(s)
	i := strings.Index(s, "=")
	if i < 0 {
		return "", s, nil
	}
	name, seed = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	if err := tracer.ValidColourName(name); err != nil {
		return "", "", usagef("--seed %s: %v", s, err)
	}
	if seed == "" {
		return "", "", usagef("--seed %s: no seed after the colour name", s)
	}
	return name, seed, nil
}

// normalizeSeeds puts seeds into canonical form (norm), drops repeats and
// checks the colours: either every seed names one or none does, and no
// seed is named in two.
func normalizeSeeds(raw, names []string, norm func(string) (string, error)) (seeds, colours []string, err error) {
	for i, s := range raw {
		n, err := norm(s)
		if err != nil {
			return nil, nil, usagef("--seed: %v", err)
		}
		if (names[i] == "") != (names[0] == "") {
			return nil, nil, usagef("--seed %s: name its colour (NAME=SEED) as the other seeds do, or name none", s)
		}
		if j := slices.Index(seeds, n); j >= 0 {
			if colours[j] != names[i] {
				return nil, nil, usagef("--seed %s: given in two colours, %s and %s", s, colours[j], names[i])
			}
			continue
		}
		seeds, colours = append(seeds, n), append(colours, names[i])
	}
	return seeds, colours, nil
}

// colouring is the seeds' colours as tracer.Config states them: the
// names in order of first use, and each seed's index (nil when no seed
// names a colour).
func (p *traceParams) colouring() (names []string, seedColours []int) {
	if len(p.colour) == 0 || p.colour[0] == "" {
		return nil, nil
	}
	for _, name := range p.colour {
		c := slices.Index(names, name)
		if c < 0 {
			c = len(names)
			names = append(names, name)
		}
		seedColours = append(seedColours, c)
	}
	return names, seedColours
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// lazyNode dials the node on first use, so that a trace over data already
// in the store makes no node call at all.
type lazyNode struct {
	opts *globalOptions
	ctx  context.Context
	once sync.Once
	a    *ethereum.Adapter
	err  error
}

func (l *lazyNode) get() (*ethereum.Adapter, error) {
	l.once.Do(func() {
		if l.opts.v.GetString("eth.rpc") == "" {
			l.err = usagef("the store lacks data this trace needs; give --eth-rpc to fetch it")
			return
		}
		l.a, l.err = l.opts.ethAdapter(l.ctx)
	})
	return l.a, l.err
}

func (l *lazyNode) BalanceAt(ctx context.Context, addr, asset string, n uint64) (*big.Int, error) {
	a, err := l.get()
	if err != nil {
		return nil, err
	}
	return a.BalanceAt(ctx, addr, asset, n)
}

// stopLabels adapts a label index to the walk.
type stopLabels struct {
	ix    *labels.Index
	chain chains.Chain
	stops []string
}

func (s stopLabels) Stop(addr string) (string, string, bool) {
	l, ok := s.ix.IsStop(string(s.chain), addr, s.stops)
	return l.Label, l.Category, ok
}

func runTrace(ctx context.Context, opts *globalOptions) error {
	start := time.Now()
	p, err := opts.traceParams()
	if err != nil {
		return err
	}
	st, err := opts.traceStore()
	if err != nil {
		return err
	}
	defer opts.closeStore(st)
	if p.labelIx, err = opts.storeLabelIndex(st, opts.v.GetStringSlice("labels")); err != nil {
		return err
	}
	if p.chain == chains.BTC {
		return runTraceBtc(ctx, opts, p, st, start)
	}
	node := &lazyNode{opts: opts, ctx: ctx}
	if !p.toGiven {
		a, err := node.get()
		if err != nil {
			return err
		}
		head, err := a.Head(ctx)
		if err != nil {
			return err
		}
		conf := uint64(max(opts.v.GetInt("confirmations"), 0))
		if head < conf || head-conf < p.from {
			return usagef("--from-block %d is past the node's head %d less %d confirmations", p.from, head, conf)
		}
		p.to = head - conf
	}
	backends, err := opts.historyBackends(ctx, st, node)
	if err != nil {
		return err
	}
	// Without a history backend the whole window is indexed (the block
	// scan); with one, only its last block (the exhibit's tip) and the
	// blocks the backend names as the walk reaches addresses.
	first := p.from
	if backends != nil {
		first = p.to
	}
	missing, err := st.Missing(p.chain, first, p.to)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		a, err := node.get()
		if err != nil {
			return err
		}
		if err := checkHead(ctx, a, p.to); err != nil {
			return err
		}
		if _, err := indexWithProgress(ctx, opts, a, st, first, p.to); err != nil {
			return err
		}
	}
	if err := recordHistory(st, backends); err != nil {
		return err
	}
	var hist tracer.History
	storeHist := &tracer.StoreHistory{Store: st, Chain: p.chain, Node: node}
	var backed *tracer.BackedHistory
	if backends == nil {
		hist = storeHist
	} else {
		finders, err := opts.finders(backends, node)
		if err != nil {
			return err
		}
		backed = &tracer.BackedHistory{StoreHistory: storeHist, Finders: finders, Logger: opts.logger,
			Index: func(ctx context.Context, blocks []uint64) error {
				a, err := node.get()
				if err != nil {
					return err
				}
				if err := checkInternalMode(st, a); err != nil {
					return err
				}
				if err := recordProvenance(st, a); err != nil {
					return err
				}
				_, err = indexer.RunBlocks(ctx, a, st, blocks, indexer.Options{ChunkSize: opts.v.GetInt("chunk-size"),
					Workers: opts.v.GetInt("eth.concurrency"), Logger: opts.logger})
				return err
			}}
		hist = backed
		prov, err := loadProvenance(st, p.chain)
		if err != nil {
			return err
		}
		if err := addSources(st, chains.ETH, 0, opts.historySources(backends, prov)...); err != nil {
			return err
		}
		opts.logger.Info("history", "backends", strings.Join(backends, ","))
	}
	if p.direction == directionBackward {
		return runTraceBack(ctx, opts, st, p, hist, storeHist, backed, start)
	}
	colours, seedColours := p.colouring()
	cfg := tracer.Config{Seeds: p.seeds, SeedColours: seedColours, Colours: colours, Models: p.models, MaxHops: p.maxHops, MinValue: p.minValue,
		FromBlock: p.from, ToBlock: p.to, NativeAsset: chains.AssetETH, Logger: opts.logger, Deposit: &p.heur.Deposit,
		Progress: opts.walkProgress}
	res, err := tracer.Trace(ctx, hist, stopLabels{ix: p.labelIx, chain: p.chain, stops: p.stops}, cfg)
	if errors.Is(err, tracer.ErrNoActivity) {
		return usagef("%v: check the seed and --from-block", err)
	}
	if err != nil {
		return err
	}
	info, err := exhibitInfo(opts, st, p, cfg)
	if err != nil {
		return err
	}
	e, err := tracer.BuildExhibit(res, info)
	if err != nil {
		return err
	}
	if err := writeExhibit(opts, e, p.format, p.out); err != nil {
		return err
	}
	printTraceSummary(opts.stderr, e, res, time.Since(start), storeHist.NodeCalls())
	reportRejected(opts, backed)
	return nil
}

// exhibitInfo gathers provenance: the network and node that indexed the
// data (recorded in the store), the window's last block, the label sets.
func exhibitInfo(opts *globalOptions, st *store.Store, p *traceParams, cfg tracer.Config) (tracer.ExhibitInfo, error) {
	info := tracer.ExhibitInfo{Case: p.caseInfo, Chain: p.chain, Seeds: p.seeds, Config: cfg, StopCategories: p.stops,
		Tool: "chaintrace", Version: version, GeneratedAt: time.Now().UTC().Format(time.RFC3339)}
	mode, _, err := st.Meta("eth.mode")
	if err != nil {
		return info, err
	}
	info.InternalTransfers = string(mode) != "without-internal"
	prov, err := loadProvenance(st, p.chain)
	if err != nil {
		return info, err
	}
	info.ChainID, info.Network, info.Sources = prov.ChainID, networkName(prov.ChainID), prov.Sources
	blk, ok, err := st.Block(p.chain, p.to)
	if err != nil {
		return info, err
	}
	if !ok {
		return info, fmt.Errorf("store lacks block %d, the end of the window", p.to)
	}
	info.Tip = exhibit.Tip{Number: blk.Number, Hash: strings.ToLower(blk.Hash)}
	info.LabelSets, info.Labels = exhibitLabels(p)
	return info, nil
}

// exhibitLabels states the trace's label sets and looks addresses up in
// them, for the exhibit.
func exhibitLabels(p *traceParams) ([]exhibit.LabelSet, tracer.LabelLookup) {
	var sets []exhibit.LabelSet
	for _, s := range p.labelIx.Sets() {
		sets = append(sets, exhibit.LabelSet{Name: s.Name, SHA256: s.SHA256, Entries: s.Entries})
	}
	return sets, func(addr string) []exhibit.Label {
		var out []exhibit.Label
		for _, l := range p.labelIx.Lookup(string(p.chain), addr) {
			out = append(out, exhibit.Label{Label: l.Label, Category: l.Category, Source: l.Source})
		}
		return out
	}
}

// storeProvenance is what the store remembers of the nodes that filled it.
type storeProvenance struct {
	ChainID uint64           `json:"chain_id"`
	Sources []exhibit.Source `json:"sources"`
}

func provenanceKey(chain chains.Chain) string { return string(chain) + ".provenance" }

func loadProvenance(st *store.Store, chain chains.Chain) (storeProvenance, error) {
	var p storeProvenance
	b, ok, err := st.Meta(provenanceKey(chain))
	if err != nil || !ok {
		return p, err
	}
	return p, json.Unmarshal(b, &p)
}

// recordProvenance adds the node that indexes into the store to the list
// of sources the store's data came from.
func recordProvenance(st *store.Store, a *ethereum.Adapter) error {
	caps := a.Capabilities()
	var found []string
	if caps.BlockReceipts {
		found = append(found, "eth_getBlockReceipts")
	}
	found = append(found, caps.TraceMethods...)
	sort.Strings(found)
	return addSources(st, chains.ETH, caps.ChainID, exhibit.Source{Kind: "eth-jsonrpc", EndpointRedacted: a.RPC().Endpoint(),
		ClientVersion: caps.ClientVersion, Capabilities: found})
}

func sameSource(a, b exhibit.Source) bool {
	return a.Kind == b.Kind && a.EndpointRedacted == b.EndpointRedacted && a.ClientVersion == b.ClientVersion &&
		slices.Equal(a.Capabilities, b.Capabilities)
}

// addSources records sources (nodes, history backends) of the store's
// data; chainID 0 keeps the recorded one. Recorded once, they are stated
// by every later trace on the store, warm or cold alike.
func addSources(st *store.Store, chain chains.Chain, chainID uint64, srcs ...exhibit.Source) error {
	p, err := loadProvenance(st, chain)
	if err != nil {
		return err
	}
	if chainID != 0 {
		p.ChainID = chainID
	}
	changed := false
	for _, src := range srcs {
		if slices.ContainsFunc(p.Sources, func(x exhibit.Source) bool { return sameSource(x, src) }) {
			continue
		}
		changed = true
		// The same endpoint found to answer more: one entry, with every
		// capability seen.
		i := slices.IndexFunc(p.Sources, func(x exhibit.Source) bool {
			return x.Kind == src.Kind && x.EndpointRedacted == src.EndpointRedacted && x.ClientVersion == src.ClientVersion
		})
		if i < 0 {
			p.Sources = append(p.Sources, src)
			continue
		}
		caps := append(slices.Clone(p.Sources[i].Capabilities), src.Capabilities...)
		sort.Strings(caps)
		p.Sources[i].Capabilities = slices.Compact(caps)
	}
	if !changed && chainID == 0 {
		return nil
	}
	sort.Slice(p.Sources, func(i, j int) bool {
		a, b := p.Sources[i], p.Sources[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.EndpointRedacted < b.EndpointRedacted
	})
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return st.SetMeta(provenanceKey(chain), b)
}

func networkName(chainID uint64) string {
	switch chainID {
	case 1:
		return "mainnet"
	case 11155111:
		return "sepolia"
	case 17000:
		return "holesky"
	case 560048:
		return "hoodi"
	case 1337:
		return "dev"
	}
	return fmt.Sprintf("chain-%d", chainID)
}

// writeExhibit writes the exhibit in the chosen format, atomically: a
// reader of --out sees the old file or the whole new one, never a part.
func writeExhibit(opts *globalOptions, e *exhibit.Exhibit, format, out string) error {
	fill := func(w io.Writer) error {
		switch format {
		case "csv":
			return exhibit.WriteCSV(w, e)
		case "dot":
			return exhibit.WriteDOT(w, e)
		}
		return exhibit.Write(w, e)
	}
	if out == "-" || out == "" {
		return fill(opts.stdout)
	}
	return atomicfile.Write(out, 0o644, fill)
}

func printTraceSummary(w io.Writer, e *exhibit.Exhibit, res *tracer.Result, took time.Duration, nodeCalls int64) {
	maxHop := 0
	for _, t := range e.Transfers {
		maxHop = max(maxHop, t.Hop)
	}
	fmt.Fprintf(w, "traced %d transfers over %d hops, %d addresses reached, %d endpoints, taint model %s, %s (%d balance lookups at the node)\n",
		len(e.Transfers), maxHop, len(e.Addresses), len(e.Endpoints), e.Method.TaintModel, took.Round(time.Millisecond), nodeCalls)
	if len(e.Endpoints) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\tcategory\tasset\tamount\ttaint\t")
	for _, ep := range e.Endpoints {
		asset := ep.Asset
		if asset != chains.AssetETH && asset != chains.AssetBTC {
			asset = "token " + asset
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", ep.Label, ep.Category, asset, ep.Amount, ep.Taint)
	}
	tw.Flush()
}

// reportRejected lists on standard error the explorer claims the node's
// blocks did not bear out (left out of the exhibit).
func reportRejected(opts *globalOptions, backed *tracer.BackedHistory) {
	if backed == nil {
		return
	}
	if rej := backed.Rejected(); len(rej) > 0 {
		fmt.Fprintf(opts.stderr, "%d explorer claim(s) were not borne out by the node's blocks and were left out:\n", len(rej))
		for _, r := range rej {
			fmt.Fprintln(opts.stderr, "  "+r)
		}
	}
}
