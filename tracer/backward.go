package tracer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sort"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/exhibit"
)

// A backward trace answers the opposite question to Trace: where did the
// funds an address received come from? It runs in two passes.
//
// Discovery walks the transfers backwards from the targets. Every transfer
// into a target in the window is an edge; each sender reached is expanded
// in turn: its transfers in of the same asset that came before its last
// payment into the part of the graph already found (money that arrived
// after it last paid downstream cannot have paid for it). Expansion stops
// at every labelled address (Labels says which: the cmd stops at any label
// unless the investigator names categories), at MaxHops, and at addresses
// with nothing coming in (origins).
//
// Attribution then runs the forward walk (Trace) from the labelled
// addresses reached, the sources, one colour each, under the same models,
// confined by Config.Within to the edges discovery found. Each source's
// money is followed only along paths that lead to the targets, through the
// same ledgers as a forward trace (so the lowest intermediate balance rule,
// clean money mixed in and payments elsewhere all count), and what reaches
// a target, per colour and model, is the part of its receipts attributable
// to that source. The rest (money from unlabelled origins, from beyond the
// hop limit, or held before the window) is unattributed.

// BackResult is what a backward trace found, stated for the exhibit as
// a Result: Rows are every edge discovery found (the taint each carried
// to the targets, zero when none), hop counted back from the targets (a
// transfer into a target is hop 1); Addresses every address discovery
// reached, hop its distance back from the nearest target, figures what it
// received along the edges; Endpoints the sources, with what each sent
// into the edges (all of it that source's colour). On a utxo chain
// (TraceBackUTXO) an edge is an output: Rows are the edge outputs created
// in the window, and a source's endpoint states its seed outputs, the
// coins it spent into the graph.
type BackResult struct {
	Result
	Targets []string
	// Sources are the labelled addresses the discovery stopped at, sorted:
	// colour i of the figures is Sources[i].
	Sources []string
	// Attribution is the forward walk's configuration (Seeds the sources,
	// on a utxo chain their seed outputs "txid:vout"; one colour per
	// source, named by its address), for the exhibit's method.
	Attribution Config
}

// Share is what a target received of one asset and the part of it each
// source accounts for.
type Share struct {
	Target, Asset string
	Received      *big.Int
	// Figures are the target's attributed receipts: Total per model,
	// ByColour per model and source (BackResult.Sources order).
	Figures Figures
}

// Shares states, per target and asset, what it received and what each
// source accounts for, in target order then asset.
func (b *BackResult) Shares() []Share {
	var out []Share
	for _, target := range b.Targets {
		recv := map[string]*big.Int{}
		for i := range b.Rows {
			r := &b.Rows[i]
			if r.To != target {
				continue
			}
			if recv[r.Asset] == nil {
				recv[r.Asset] = new(big.Int)
			}
			recv[r.Asset].Add(recv[r.Asset], r.Amount)
		}
		var fig map[string]Figures
		for _, a := range b.Addresses {
			if a.Address == target {
				fig = a.Figures
			}
		}
		for _, asset := range sortedKeys(recv) {
			f, ok := fig[asset]
			if !ok {
				f = newFigures(len(b.Attribution.Models), max(1, len(b.Sources)))
			}
			out = append(out, Share{Target: target, Asset: asset, Received: recv[asset], Figures: f})
		}
	}
	return out
}

// edgeKey names a transfer: its transaction, its place in it, and its ends.
type edgeKey struct{ tx, position, from, to string }

func keyOf(t *chains.Transfer) edgeKey {
	return edgeKey{t.TxHash, t.Position, t.From[0], t.To}
}

// backNode is an address discovery reached.
type backNode struct {
	addr     string
	dist     int
	target   bool
	stop     bool
	label    string
	category string
	// limit is, per asset, the position of its last payment into the
	// edges found: inflows of that asset before it are edges too.
	limit   map[string]pos
	history []*chains.Transfer // read once, when first expanded
	read    bool
	queued  bool
}

type discovery struct {
	ctx   context.Context
	h     History
	lb    Labels
	cfg   Config
	nodes map[string]*backNode
	edges map[edgeKey]*chains.Transfer
	queue []*backNode
}

// TraceBack traces the funds the targets (cfg.Seeds) received back to
// their sources, and attributes the targets' receipts to them under every
// model of cfg.Models (see above). lb names the labelled addresses where
// discovery stops: the sources. Account chains; TraceBackUTXO is the utxo
// chains' backward trace.
func TraceBack(ctx context.Context, h History, lb Labels, cfg Config) (*BackResult, error) {
	if len(cfg.Models) == 0 {
		return nil, fmt.Errorf("no taint model")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &discovery{ctx: ctx, h: h, lb: lb, cfg: cfg, nodes: map[string]*backNode{}, edges: map[edgeKey]*chains.Transfer{}}
	var targets []string
	for _, t := range cfg.Seeds {
		if _, dup := d.nodes[t]; dup {
			continue
		}
		targets = append(targets, t)
		n := &backNode{addr: t, target: true, limit: map[string]pos{}}
		d.nodes[t] = n
		d.enqueue(n)
	}
	if err := d.run(); err != nil {
		return nil, err
	}
	received := false
	for _, e := range d.edges {
		if d.nodes[e.To].target && e.From[0] != e.To {
			received = true
			break
		}
	}
	if !received {
		return nil, fmt.Errorf("%w (no transfer into a target in blocks %d-%d)", ErrNoActivity, cfg.FromBlock, cfg.ToBlock)
	}
	b := &BackResult{Targets: targets}
	for _, n := range d.nodes {
		if n.stop {
			b.Sources = append(b.Sources, n.addr)
		}
	}
	sort.Strings(b.Sources)
	cfg.Logger.Info("backward discovery", "addresses", len(d.nodes), "edges", len(d.edges), "sources", len(b.Sources))

	var seedColours []int
	for i := range b.Sources {
		seedColours = append(seedColours, i)
	}
	fcfg := attributionConfig(cfg, b.Sources, b.Sources, seedColours, len(d.nodes)+1,
		func(t *chains.Transfer) bool { _, ok := d.edges[keyOf(t)]; return ok })
	b.Attribution = fcfg
	b.Attribution.Within = nil
	run, err := newRunModels(&fcfg)
	if err != nil {
		return nil, err
	}
	var fwd *Result
	if len(b.Sources) > 0 {
		// No stops: the edges already end at the sources, and a target
		// that is itself labelled may pass funds on to another target.
		fwd, err = Trace(ctx, h, nil, fcfg)
		if err != nil && !errors.Is(err, ErrNoActivity) {
			return nil, fmt.Errorf("attribution: %w", err)
		}
	}
	d.state(b, fwd, run)
	return b, nil
}

// attributionConfig is the forward walk of a backward trace: from the
// sources' seeds (colours the sources, seedColours each seed's), under
// cfg's models, window and value floor, confined by within to the edges
// discovery found. The edges bound the walk, so its hop limit (maxHops)
// is only a backstop; no heuristic runs (discovery's own findings, if
// any, are the backward trace's).
func attributionConfig(cfg Config, seeds, colours []string, seedColours []int, maxHops int, within func(*chains.Transfer) bool) Config {
	f := cfg
	f.Seeds, f.Colours, f.SeedColours = seeds, colours, seedColours
	f.MaxHops = maxHops
	f.Within = within
	f.Deposit, f.CoinJoin, f.PeelChain, f.Change, f.Cluster, f.Clusters = nil, nil, nil, nil, nil, nil
	return f
}

// sortBack puts a backward result's addresses in hop then address order
// and its endpoints in address then asset order, as a forward walk's.
func sortBack(r *Result) {
	sort.Slice(r.Addresses, func(i, j int) bool {
		x, y := r.Addresses[i], r.Addresses[j]
		if x.Hop != y.Hop {
			return x.Hop < y.Hop
		}
		return x.Address < y.Address
	})
	sort.Slice(r.Endpoints, func(i, j int) bool {
		x, y := r.Endpoints[i], r.Endpoints[j]
		if x.Address != y.Address {
			return x.Address < y.Address
		}
		return x.Asset < y.Asset
	})
}

func (d *discovery) enqueue(n *backNode) {
	if !n.queued {
		n.queued = true
		d.queue = append(d.queue, n)
	}
}

// expands reports whether discovery reads n's inflows.
func (d *discovery) expands(n *backNode) bool {
	return n.target || !n.stop && n.dist < d.cfg.MaxHops
}

// run expands queued addresses until none is left. An address is queued
// again when a later payment of it into the edges, or a shorter distance,
// is found: its limit only grows and its distance only shrinks, so this
// ends.
func (d *discovery) run() error {
	for len(d.queue) > 0 {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		n := d.queue[0]
		d.queue = d.queue[1:]
		n.queued = false
		if !d.expands(n) {
			continue
		}
		if err := d.read(n); err != nil {
			return err
		}
		for _, t := range n.history {
			if t.To != n.addr || t.Amount.Sign() <= 0 || d.cfg.MinValue != nil && t.Amount.Cmp(d.cfg.MinValue) < 0 {
				continue
			}
			at := transferPos(t)
			if !n.target {
				lim, ok := n.limit[t.Asset]
				if !ok || !at.less(lim) {
					continue
				}
			}
			d.edges[keyOf(t)] = t
			if t.From[0] == n.addr {
				continue // a self-transfer: in the edges (the ledger sees it), no new sender
			}
			s := d.nodes[t.From[0]]
			if s == nil {
				s = &backNode{addr: t.From[0], dist: n.dist + 1, limit: map[string]pos{}}
				if d.lb != nil {
					s.label, s.category, s.stop = d.lb.Stop(s.addr)
				}
				d.nodes[s.addr] = s
				d.enqueue(s)
			} else if n.dist+1 < s.dist {
				s.dist = n.dist + 1
				d.enqueue(s)
			}
			if lim, ok := s.limit[t.Asset]; !ok || lim.less(at) {
				s.limit[t.Asset] = at
				d.enqueue(s)
			}
		}
	}
	return nil
}

// read loads n's transfers in the window once.
func (d *discovery) read(n *backNode) error {
	if n.read {
		return nil
	}
	n.read = true
	err := d.h.AddressTransfers(d.ctx, n.addr, d.cfg.FromBlock, d.cfg.ToBlock, func(t *chains.Transfer) error {
		c := *t
		n.history = append(n.history, &c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("history of %s: %w", n.addr, err)
	}
	return nil
}

// state fills b's Result from the edges and the attribution walk fwd
// (nil when there were no sources).
func (d *discovery) state(b *BackResult, fwd *Result, run runModels) {
	figs := map[edgeKey]Figures{}
	if fwd != nil {
		for i := range fwd.Rows {
			figs[keyOf(&fwd.Rows[i].Transfer)] = fwd.Rows[i].Figures
		}
		b.Reconciliation = fwd.Reconciliation
	}
	edges := make([]*chains.Transfer, 0, len(d.edges))
	for _, t := range d.edges {
		edges = append(edges, t)
	}
	slices.SortFunc(edges, func(a, b *chains.Transfer) int {
		pa, pb := transferPos(a), transferPos(b)
		switch {
		case pa.less(pb):
			return -1
		case pb.less(pa):
			return 1
		}
		return exhibit.ComparePosition(a.Position, b.Position)
	})
	reached := map[string]*Reached{}
	for _, n := range d.nodes {
		r := &Reached{Address: n.addr, Hop: n.dist, Taint: map[string]*big.Int{}, Stop: n.stop, Label: n.label, Category: n.category}
		reached[n.addr] = r
		b.Addresses = append(b.Addresses, r)
	}
	ends := map[[2]string]*Endpoint{}
	for _, t := range edges {
		fig, ok := figs[keyOf(t)]
		if !ok {
			fig = run.zero()
		}
		to := d.nodes[t.To]
		b.Rows = append(b.Rows, Row{Transfer: *t, Hop: to.dist + 1, Taint: fig.Primary(), Figures: fig})
		if !to.stop {
			addFigures(reached[t.To], t.Asset, fig, run)
		}
		if from := d.nodes[t.From[0]]; from.stop {
			k := [2]string{from.addr, t.Asset}
			ep := ends[k]
			if ep == nil {
				ep = &Endpoint{Address: from.addr, Label: from.label, Category: from.category, Asset: t.Asset,
					Amount: new(big.Int), Figures: run.zero(), FirstBlock: t.BlockNumber}
				ends[k] = ep
			}
			ep.Amount.Add(ep.Amount, t.Amount)
			ep.Figures.Add(fig)
			ep.Taint = ep.Figures.Primary()
			ep.LastBlock = t.BlockNumber
		}
	}
	for _, ep := range ends {
		b.Endpoints = append(b.Endpoints, *ep)
	}
	sortBack(&b.Result)
}

// BuildBackExhibit states a backward trace as a sealed exhibit: seeds the
// targets, method.direction "backward", method.colours the sources (when
// there are two or more; with one, the taint is that source's share), each
// colour named by its source's address and listing its seeds (on a utxo
// chain the seed outputs, txid:vout, which verify replays from),
// method.max_hops discovery's limit. info.Config gives the models, window
// and limits; its seeds and colours are replaced by b's.
func BuildBackExhibit(b *BackResult, info ExhibitInfo) (*exhibit.Exhibit, error) {
	cfg := info.Config
	cfg.Seeds, cfg.Colours, cfg.SeedColours = b.Attribution.Seeds, b.Attribution.Colours, b.Attribution.SeedColours
	info.Config = cfg
	info.Seeds = b.Targets
	e, err := BuildExhibit(&b.Result, info)
	if err != nil {
		return nil, err
	}
	e.Method.Direction = exhibit.DirectionBackward
	if err := exhibit.Seal(e); err != nil {
		return nil, fmt.Errorf("sealing the exhibit: %w", err)
	}
	return e, nil
}
