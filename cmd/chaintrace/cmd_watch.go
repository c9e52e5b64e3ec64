package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/labels"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/watch"
	"github.com/spf13/cobra"
)

func newWatchCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch --chain eth|btc [--exhibit FILE]... [--addresses FILE]... [--labels FILE --categories LIST] [flags]",
		Short: "Alert the moment watched funds move",
		Long: `watch follows the chain's new blocks and alerts every movement of funds out
of a watched address (and into one, with --incoming) once --confirmations
blocks are on top of it: a JSON line on standard output, a log line, and
with --webhook an HTTP POST of the same JSON.

Watched addresses come from exhibits (the seeds and every address the trace
reached that is not an endpoint: where the stolen funds still are), from
address lists (one address a line, # starts a comment), and from label files
(every address whose label is in --categories, or whose name contains a
--label-match text: e.g. --labels sdn_advanced.xml.bz2 --label-match lazarus).
Destinations are named from --labels and the store's imported label sets,
so a movement into an exchange deposit says so.

A movement a reorganisation removes before it is final is never alerted; one
alerted and then removed by a deeper reorganisation is retracted with a
"retraction" alert. With --state the watch resumes where it stopped, without
repeating or missing an alert; --once processes what is final now and exits
(for cron). See docs/watch.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWatch(cmd.Context(), opts)
		},
	}
	addNodeFlags(cmd)
	f := cmd.Flags()
	f.StringArray("exhibit", nil, "exhibit whose seeds and reached addresses (not its endpoints) to watch (repeatable)")
	f.StringArray("addresses", nil, "file of addresses to watch, one a line, # starts a comment (repeatable)")
	f.StringArray("labels", nil, "label file (TagPack YAML, CSV, OFAC sdn.xml / sdn_advanced.xml, plain or .bz2): names destinations, and with --categories or --label-match chooses addresses to watch (repeatable)")
	f.StringSlice("categories", nil, "watch every --labels address of these categories, e.g. hacker,sanctioned")
	f.StringArray("label-match", nil, "watch every --labels address whose label contains this text, case ignored, e.g. lazarus (repeatable; with --categories both must hold)")
	f.String("from-block", "", "first block to watch when there is no state yet (default: the node's head at start)")
	f.String("confirmations", "", "blocks on top of a movement's block before it is alerted (default: eth 12, btc 6)")
	f.Duration("poll", watch.DefaultPoll, "wait between polls of the node")
	f.Bool("incoming", false, "also alert transfers into watched addresses")
	f.String("webhook", "", "URL to POST each alert's JSON to")
	f.Duration("webhook-timeout", 10*time.Second, "time one webhook attempt may take")
	f.Int("webhook-retries", 3, "retries of a failed webhook delivery (waits 1s, 2s, 4s, ...)")
	f.String("state", "", "state file: the last final block, alerts sent and recent block hashes, so that a restart neither repeats nor misses an alert")
	f.Bool("once", false, "process what is final now, then exit (for cron; use with --state)")
	return cmd
}

// watchParams are the watch command's options, checked.
type watchParams struct {
	chain       chains.Chain
	conf        uint64
	from        *uint64
	poll        time.Duration
	webhook     string
	hookTimeout time.Duration
	hookRetries int
	categories  []string
	matches     []string
	incoming    bool
	once        bool
	state       string
}

func (o *globalOptions) watchParams() (*watchParams, error) {
	v := o.v
	p := &watchParams{incoming: v.GetBool("incoming"), once: v.GetBool("once"), state: v.GetString("state")}
	var err error
	if p.chain, err = o.chainFlag(); err != nil {
		return nil, err
	}
	p.conf = 12
	if p.chain == chains.BTC {
		p.conf = 6
	}
	if s := strings.TrimSpace(v.GetString("confirmations")); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, usagef("--confirmations %q: want 0 or more blocks", s)
		}
		p.conf = uint64(n)
	}
	if strings.TrimSpace(v.GetString("from-block")) != "" {
		n, err := o.uintFlag("from-block")
		if err != nil {
			return nil, err
		}
		p.from = &n
	}
	if p.poll = v.GetDuration("poll"); p.poll <= 0 {
		return nil, usagef("--poll %q: want a positive duration such as 5s", v.GetString("poll"))
	}
	if p.webhook = strings.TrimSpace(v.GetString("webhook")); p.webhook != "" {
		u, err := url.Parse(p.webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usagef("--webhook %q: want an http:// or https:// URL", chains.RedactURL(p.webhook))
		}
	}
	if p.hookTimeout = v.GetDuration("webhook-timeout"); p.hookTimeout <= 0 {
		return nil, usagef("--webhook-timeout %q: want a positive duration such as 10s", v.GetString("webhook-timeout"))
	}
	if p.hookRetries = v.GetInt("webhook-retries"); p.hookRetries < 0 || p.hookRetries > 10 {
		return nil, usagef("--webhook-retries %d: want 0 to 10", p.hookRetries)
	}
	for _, c := range v.GetStringSlice("categories") {
		if c = strings.TrimSpace(c); c != "" {
			p.categories = append(p.categories, labels.NormalizeCategory(c))
		}
	}
	for _, m := range v.GetStringSlice("label-match") {
		if m = strings.TrimSpace(m); m != "" {
			p.matches = append(p.matches, strings.ToLower(m))
		}
	}
	hasLabels := len(v.GetStringSlice("labels")) > 0
	if (len(p.categories) > 0 || len(p.matches) > 0) && !hasLabels {
		return nil, usagef("--categories and --label-match choose among --labels files: give --labels")
	}
	if len(v.GetStringSlice("exhibit")) == 0 && len(v.GetStringSlice("addresses")) == 0 && len(p.categories) == 0 && len(p.matches) == 0 {
		return nil, usagef("nothing to watch: give --exhibit, --addresses, or --labels with --categories or --label-match")
	}
	return p, nil
}

// watchEntry is an address to watch as read, before it is put in the form
// of the node's network.
type watchEntry struct {
	addr   string
	reason watch.Reason
	where  string // "FILE:LINE", for a malformed entry
	strict bool   // a malformed entry is an error (lists), not skipped (labels, exhibits)
}

func runWatch(ctx context.Context, opts *globalOptions) error {
	p, err := opts.watchParams()
	if err != nil {
		return err
	}
	var entries []watchEntry
	for _, path := range opts.v.GetStringSlice("exhibit") {
		es, err := exhibitWatchEntries(path, p.chain)
		if err != nil {
			return err
		}
		entries = append(entries, es...)
	}
	for _, path := range opts.v.GetStringSlice("addresses") {
		es, err := listWatchEntries(path, p.chain)
		if err != nil {
			return err
		}
		entries = append(entries, es...)
	}
	ix, err := labels.NewIndex()
	if err != nil {
		return err
	}
	for _, path := range opts.v.GetStringSlice("labels") {
		set, err := opts.loadLabelSet(path)
		if err != nil {
			return err
		}
		if err := ix.Add(set); err != nil {
			return usagef("labels %s: %v", path, err)
		}
		entries = append(entries, labelWatchEntries(set, p)...)
	}
	for _, set := range opts.watchStoreLabelSets() {
		if err := ix.Add(set); err != nil {
			opts.logger.Warn("store label set left out", "set", set.Name, "err", err)
		}
	}

	var src watch.Source
	var norm func(string) (string, error)
	switch p.chain {
	case chains.BTC:
		a, err := opts.dialBtc(ctx)
		if err != nil {
			return err
		}
		src, norm = watch.BtcSource{A: a}, func(s string) (string, error) { return bitcoin.NormalizeAddress(s, a.Params()) }
	default:
		a, err := opts.dialEth(ctx)
		if err != nil {
			return err
		}
		src, norm = watch.EthSource{A: a}, func(s string) (string, error) {
			addr, err := ethereum.ParseAddress(s)
			return addr.Hex(), err
		}
	}
	wl := watch.NewWatchlist(p.chain)
	skipped := 0
	for _, e := range entries {
		addr, err := norm(e.addr)
		if err != nil {
			if e.strict {
				return usagef("%s: %v", e.where, err)
			}
			skipped++
			opts.logger.Debug("not watched: not an address of this network", "where", e.where, "address", e.addr, "err", err)
			continue
		}
		wl.Add(addr, e.reason)
	}
	if skipped > 0 {
		opts.logger.Warn("entries left out: not addresses of the node's network", "entries", skipped, "network", src.Network())
	}
	if wl.Len() == 0 {
		return usagef("nothing to watch: no %s address in the exhibits, lists or labels given", p.chain)
	}

	sinks := []watch.Sink{watch.LogSink{Logger: opts.logger}, &watch.JSONLines{W: opts.stdout}}
	if p.webhook != "" {
		sinks = append(sinks, &watch.Webhook{URL: p.webhook, Timeout: p.hookTimeout, Retries: p.hookRetries,
			UserAgent: "chaintrace/" + version, Logger: opts.logger})
	}
	if p.state == "" {
		opts.logger.Info("no --state: alerts sent are not remembered after this run")
	}
	w, err := watch.Open(ctx, watch.Config{
		Source: src, Watchlist: wl, Labels: destinationLabels(ix, p.chain), Confirmations: p.conf,
		Incoming: p.incoming, FromBlock: p.from, StatePath: p.state, Sinks: sinks, Logger: opts.logger, Poll: p.poll,
	})
	if errors.Is(err, watch.ErrBadState) || errors.Is(err, watch.ErrStateMismatch) {
		return usagef("--state: %v", err)
	}
	if err != nil {
		return err
	}
	if !p.once {
		return w.Run(ctx)
	}
	res, err := w.Step(ctx)
	if err != nil {
		return err
	}
	opts.logger.Info("watch --once done", "head", res.Head, "final_through", int64(res.Next)-1, "alerts", res.Alerts,
		"retractions", res.Retractions, "pending", res.Pending)
	if res.Pending > 0 {
		if p.state != "" {
			opts.logger.Info("movements not final yet: a later run with this --state alerts them once final", "pending", res.Pending)
		} else {
			opts.logger.Warn("movements not final yet, and no --state: a later run will not alert them", "pending", res.Pending)
		}
	}
	return nil
}

// exhibitWatchEntries lists an exhibit's seeds and the addresses its trace
// reached that are not endpoints: where the traced funds may still sit.
func exhibitWatchEntries(path string, chain chains.Chain) ([]watchEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--exhibit %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	e, err := exhibit.Read(f)
	if err != nil {
		return nil, usagef("--exhibit %s: %v", path, err)
	}
	if e.Chain != chain {
		return nil, usagef("--exhibit %s is a %s exhibit; this watch is on %s (--chain)", path, e.Chain, chain)
	}
	name := filepath.Base(path)
	caseName := e.Case.ID
	if caseName == "" {
		caseName = e.Case.Title
	}
	endpoints := map[string]bool{}
	for _, ep := range e.Endpoints {
		endpoints[watch.Key(chain, ep.Address)] = true
	}
	var out []watchEntry
	add := func(addr, detail string) {
		out = append(out, watchEntry{addr: addr, where: name,
			reason: watch.Reason{Kind: watch.ReasonExhibit, Source: name, Case: caseName, Detail: detail}})
	}
	for _, s := range e.Seeds {
		if chain == chains.BTC && strings.Contains(s, ":") {
			continue // an outpoint: its address is among the addresses reached
		}
		add(s, "seed")
	}
	for _, a := range e.Addresses {
		if endpoints[watch.Key(chain, a.Address)] || strings.HasPrefix(a.Address, bitcoin.ScriptPrefix) {
			continue
		}
		if a.Hop == 0 {
			add(a.Address, "seed")
		} else {
			add(a.Address, fmt.Sprintf("hop %d", a.Hop))
		}
	}
	return out, nil
}

// listWatchEntries reads an address list: one address a line, blank lines
// and everything from a # on ignored (the comment on an address's line is
// kept as the reason's detail). An entry that is no address of the chain
// is bad input, named by its line.
func listWatchEntries(path string, chain chains.Chain) ([]watchEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--addresses %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	name := filepath.Base(path)
	var out []watchEntry
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text, note, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		where := fmt.Sprintf("--addresses %s:%d", path, line)
		if len(fields) > 1 {
			return nil, usagef("%s: %q: want one address a line (a note goes after #)", where, strings.TrimSpace(text))
		}
		if err := checkAddressShape(chain, fields[0]); err != nil {
			return nil, usagef("%s: %v", where, err)
		}
		out = append(out, watchEntry{addr: fields[0], where: where, strict: true,
			reason: watch.Reason{Kind: watch.ReasonList, Source: name, Line: line, Detail: strings.TrimSpace(note)}})
	}
	if err := sc.Err(); err != nil {
		return nil, usagef("--addresses %s: %v", path, err)
	}
	return out, nil
}

// checkAddressShape refuses what is no address of the chain on any network,
// before the node is reached (the network itself is checked once it is).
func checkAddressShape(chain chains.Chain, s string) error {
	if chain == chains.ETH {
		_, err := ethereum.ParseAddress(s)
		return err
	}
	var first error
	for _, net := range bitcoin.Networks {
		_, err := bitcoin.NormalizeAddress(s, net)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// labelWatchEntries are a label set's addresses on the chain that the
// categories and match texts choose.
func labelWatchEntries(set *labels.Set, p *watchParams) []watchEntry {
	if len(p.categories) == 0 && len(p.matches) == 0 {
		return nil
	}
	var out []watchEntry
	for _, l := range set.Labels {
		if l.Chain != string(p.chain) {
			continue
		}
		if len(p.categories) > 0 && !containsString(p.categories, l.Category) {
			continue
		}
		if len(p.matches) > 0 {
			name, hit := strings.ToLower(l.Label), false
			for _, m := range p.matches {
				hit = hit || strings.Contains(name, m)
			}
			if !hit {
				continue
			}
		}
		addr := l.Canonical
		if addr == "" {
			addr = l.Address
		}
		out = append(out, watchEntry{addr: addr, where: fmt.Sprintf("%s:%d", set.Name, l.Line),
			reason: watch.Reason{Kind: watch.ReasonLabel, Source: set.Name, Label: l.Label, Category: l.Category, Line: l.Line, Detail: l.Source}})
	}
	return out
}

// watchStoreLabelSets reads the label sets imported into the store (to name
// destinations), opening it read-only for that moment only: a watch runs
// for days and must not hold the store other commands use.
func (o *globalOptions) watchStoreLabelSets() []*labels.Set {
	st, err := o.openStore(true)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			o.logger.Debug("no store: destinations are named from --labels only")
		} else {
			o.logger.Warn("store labels not read: destinations are named from --labels only", "err", err)
		}
		return nil
	}
	defer st.Close()
	sets, err := storedLabelSets(st)
	if err != nil {
		o.logger.Warn("store labels not read: destinations are named from --labels only", "err", err)
		return nil
	}
	return sets
}

// destinationLabels names an address from the label index.
func destinationLabels(ix *labels.Index, chain chains.Chain) func(string) []watch.LabelRef {
	return func(addr string) []watch.LabelRef {
		var out []watch.LabelRef
		for _, l := range ix.Lookup(string(chain), addr) {
			src := l.Source
			if src == "" {
				src = l.LabelSet
			}
			out = append(out, watch.LabelRef{Label: l.Label, Category: l.Category, Source: src})
		}
		return out
	}
}
