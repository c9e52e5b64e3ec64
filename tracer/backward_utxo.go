package tracer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sort"
	"strconv"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/heuristics"
)

// A backward trace on a utxo chain (TraceBackUTXO) asks what TraceBack
// asks on an account chain, and answers it in the same two passes; only
// what an edge is differs.
//
// Discovery starts from the outputs paying the targets in the window
// (hop 1). Each such output's creating transaction spent earlier outputs:
// those are edges too, one hop further back, and so on. An output is
// examined in this order:
//   - paid to a labelled address (Labels.Stop; a target never counts as
//     labelled): a source. The output is a seed of that source's colour,
//     and discovery goes no further back, wherever the output was created
//     (a labelled wallet's coin from before the window is still its money);
//   - created before the window, or at a hop past MaxHops: an origin,
//     unattributed. A coin whose transaction the history does not hold
//     (ErrUnknownTx: a store indexed over the window alone) was created
//     before the window, since a transaction in it spends the coin; what
//     that transaction's input says of it (value, address) is all the
//     trace needs of it;
//   - otherwise its creating transaction is expanded: its inputs are edges.
//
// The hop limit counts addresses back as TraceBack does: an output at hop
// h belongs to an address h-1 addresses back from the targets, so its
// creating transaction is expanded while h <= MaxHops (a labelled address
// that paid a target directly is found with MaxHops 1). Ancestry is a DAG:
// each transaction is loaded and expanded once, at its least hop
// (breadth-first). Coinbase transactions spend nothing: their outputs are
// origins. Outputs below MinValue are not edges (the forward walk would
// not follow them). With cfg.CoinJoin set, a CoinJoin is not expanded: its
// outputs are origins and the transaction a coinjoin finding.
//
// Attribution runs TraceUTXO from the seeds, one colour per source (the
// source addresses, sorted), confined by Config.Within to the outputs the
// discovered transactions spend: each transaction it passes through is
// split over all its outputs as always, but only those outputs carry the
// taint on. What reaches a target's outputs, per colour and model, is the
// part of its receipts attributable to that source.

// utxoEdge is an output discovery found.
type utxoEdge struct {
	out *chains.Transfer // the output, as its creating transaction states it
	hop int
	// spentBy is the discovered transaction spending it ("" for a
	// target's output spent outside the graph, or not at all).
	spentBy string
	// spentAt is that transaction's block.
	spentAt uint64
	source  string // the source whose seed it is
	// early marks a coin whose transaction the history does not hold:
	// created before the window (out is what the spending input says).
	early bool
}

type utxoDiscovery struct {
	ctx      context.Context
	h        UTXOHistory
	lb       Labels
	cfg      Config
	targets  map[string]bool
	txs      map[string]*UTXOTx
	expanded map[string]bool
	edges    map[string]*utxoEdge // by outpoint
	queue    []utxoStep
	sources  map[string]*Reached // source address -> its label
	findings []heuristics.Finding
	// early holds, for the attribution walk, the transactions of seeds
	// the history does not hold, as their spending inputs state them.
	early map[string]*UTXOTx
}

// seedHistory is the history the attribution walk reads: h, and the
// transactions of seeds h does not hold, stated by the inputs spending
// them (the walk reads of a seed's transaction only that output).
type seedHistory struct {
	UTXOHistory
	early map[string]*UTXOTx
}

func (h seedHistory) Tx(ctx context.Context, txid string) (*UTXOTx, error) {
	tx, err := h.UTXOHistory.Tx(ctx, txid)
	if errors.Is(err, ErrUnknownTx) {
		if e, ok := h.early[txid]; ok {
			return e, nil
		}
	}
	return tx, err
}

// utxoStep is a transaction to expand, reached through an output of hop.
type utxoStep struct {
	tx  *UTXOTx
	hop int
}

func outpointOf(t *chains.Transfer) string {
	return t.TxHash + ":" + strconv.FormatUint(uint64(t.Ordinal), 10)
}

// TraceBackUTXO traces the funds the targets (cfg.Seeds, addresses)
// received in the window back to their sources on a utxo chain, and
// attributes the targets' receipts to them under every model of
// cfg.Models (see above). lb names the labelled addresses where discovery
// stops: the sources. The result states, as rows, the outputs discovery
// found that were created in the window (hop counted back from the
// targets), each with the figures the attribution walk gave it (zero
// where it did not reach); as endpoints the sources, each with what its
// seeds put into the graph, all of its colour; as reconciliation the
// attribution walk's entries.
func TraceBackUTXO(ctx context.Context, h UTXOHistory, lb Labels, cfg Config) (*BackResult, error) {
	if len(cfg.Models) == 0 {
		return nil, fmt.Errorf("no taint model")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NativeAsset == "" {
		cfg.NativeAsset = chains.AssetBTC
	}
	d := &utxoDiscovery{ctx: ctx, h: h, lb: lb, cfg: cfg, targets: map[string]bool{}, txs: map[string]*UTXOTx{},
		expanded: map[string]bool{}, edges: map[string]*utxoEdge{}, sources: map[string]*Reached{}, early: map[string]*UTXOTx{}}
	b := &BackResult{}
	for _, t := range cfg.Seeds {
		if _, _, isOut, _ := ParseOutpointSeed(t); isOut {
			return nil, fmt.Errorf("target %s: a backward trace starts from addresses, not outputs", t)
		}
		if !d.targets[t] {
			d.targets[t] = true
			b.Targets = append(b.Targets, t)
		}
	}
	for _, t := range b.Targets {
		if err := d.target(t); err != nil {
			return nil, err
		}
	}
	if len(d.edges) == 0 {
		return nil, fmt.Errorf("%w (no output paying a target in blocks %d-%d)", ErrNoActivity, cfg.FromBlock, cfg.ToBlock)
	}
	if err := d.run(); err != nil {
		return nil, err
	}
	for addr := range d.sources {
		b.Sources = append(b.Sources, addr)
	}
	sort.Strings(b.Sources)
	colour := map[string]int{}
	for c, s := range b.Sources {
		colour[s] = c
	}
	var seeds []string
	for op, e := range d.edges {
		if e.source != "" {
			seeds = append(seeds, op)
		}
	}
	// Seeds by colour, then outpoint: the exhibit lists each colour's.
	slices.SortFunc(seeds, func(x, y string) int {
		if c := cmp.Compare(colour[d.edges[x].source], colour[d.edges[y].source]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	seedColours := make([]int, len(seeds))
	for i, s := range seeds {
		seedColours[i] = colour[d.edges[s].source]
	}
	cfg.Logger.Info("backward discovery", "transactions", len(d.expanded), "outputs", len(d.edges), "sources", len(b.Sources), "seeds", len(seeds))

	fcfg := attributionConfig(cfg, seeds, b.Sources, seedColours, len(d.expanded)+2, func(t *chains.Transfer) bool {
		e, ok := d.edges[outpointOf(t)]
		return ok && e.spentBy != ""
	})
	b.Attribution = fcfg
	b.Attribution.Within = nil
	run, err := newRunModels(&fcfg)
	if err != nil {
		return nil, err
	}
	var fwd *Result
	if len(seeds) > 0 {
		// No stops: the edges already end at the sources.
		fwd, err = TraceUTXO(ctx, seedHistory{UTXOHistory: h, early: d.early}, nil, fcfg)
		if err != nil && !errors.Is(err, ErrNoActivity) {
			return nil, fmt.Errorf("attribution: %w", err)
		}
	}
	d.state(b, fwd, run, colour)
	return b, nil
}

// tx loads a transaction once.
func (d *utxoDiscovery) tx(txid string) (*UTXOTx, error) {
	if tx, ok := d.txs[txid]; ok {
		return tx, nil
	}
	tx, err := d.h.Tx(d.ctx, txid)
	if err != nil {
		return nil, fmt.Errorf("transaction %s: %w", txid, err)
	}
	d.txs[txid] = tx
	return tx, nil
}

func (d *utxoDiscovery) below(v *big.Int) bool {
	return v.Sign() <= 0 || d.cfg.MinValue != nil && v.Cmp(d.cfg.MinValue) < 0
}

// target finds the outputs paying target in the window: hop 1, their
// creating transactions expanded.
func (d *utxoDiscovery) target(target string) error {
	outs, err := addressOutputs(d.ctx, d.h, target, d.cfg.FromBlock, d.cfg.ToBlock)
	if err != nil {
		return fmt.Errorf("history of %s: %w", target, err)
	}
	for i := range outs {
		o := &outs[i]
		if d.below(o.Amount) {
			continue
		}
		op := outpointOf(o)
		if _, dup := d.edges[op]; dup {
			continue
		}
		d.edges[op] = &utxoEdge{out: o, hop: 1}
		if err := d.expand(o.TxHash, 1); err != nil {
			return err
		}
	}
	return nil
}

// expand queues txid's expansion, reached through an output of hop.
func (d *utxoDiscovery) expand(txid string, hop int) error {
	if d.expanded[txid] {
		return nil
	}
	tx, err := d.tx(txid)
	if err != nil {
		return err
	}
	d.expanded[txid] = true
	d.queue = append(d.queue, utxoStep{tx: tx, hop: hop})
	return nil
}

// run expands queued transactions breadth-first: hops only grow along the
// queue, so each output and transaction is first reached at its least hop.
func (d *utxoDiscovery) run() error {
	for len(d.queue) > 0 {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		st := d.queue[0]
		d.queue = d.queue[1:]
		rec := &st.tx.Tx
		if d.cfg.CoinJoin != nil && len(rec.Inputs) > 0 {
			ht, err := heuristics.FromChains(*rec, st.tx.Outputs, st.tx.NumOutputs)
			if err != nil {
				return fmt.Errorf("transaction %s: %w", rec.Hash, err)
			}
			if f := d.cfg.CoinJoin.Detect(ht); f != nil {
				// A boundary: ownership does not pass through a CoinJoin,
				// so what it paid into the graph is unattributed.
				d.findings = append(d.findings, *f)
				d.cfg.Logger.Info("coinjoin: the trace back stops here", "tx", rec.Hash, "heuristic", f.Heuristic)
				continue
			}
		}
		hop := st.hop + 1
		for i := range rec.Inputs {
			in := &rec.Inputs[i]
			if in.Value == nil {
				return fmt.Errorf("transaction %s input %d: no value", rec.Hash, i)
			}
			if d.below(in.Value) {
				continue
			}
			op := in.Outpoint()
			if e, ok := d.edges[op]; ok { // a target's output, found at hop 1
				e.spentBy, e.spentAt = rec.Hash, rec.BlockNumber
				continue
			}
			e := &utxoEdge{hop: hop, spentBy: rec.Hash, spentAt: rec.BlockNumber}
			d.edges[op] = e
			// The label first: a source's coin is its money wherever it
			// came from.
			if !d.targets[in.Address] && d.lb != nil {
				if label, cat, ok := d.lb.Stop(in.Address); ok {
					e.source = in.Address
					if d.sources[in.Address] == nil {
						d.sources[in.Address] = &Reached{Address: in.Address, Stop: true, Label: label, Category: cat}
					}
				}
			}
			prev, err := d.tx(in.TxID)
			if errors.Is(err, ErrUnknownTx) && d.cfg.FromBlock > 0 {
				d.cfg.Logger.Debug("the history does not hold the transaction of a coin spent in the window: paid before it", "coin", op)
				e.early = true
				e.out = &chains.Transfer{TxHash: in.TxID, Ordinal: in.Vout, Position: "out:" + strconv.FormatUint(uint64(in.Vout), 10),
					Kind: chains.KindUTXO, To: in.Address, Asset: d.cfg.NativeAsset, Amount: in.Value}
				if e.source != "" {
					d.earlySeed(e.out)
				}
				continue // a source, or an origin
			}
			if err != nil {
				return fmt.Errorf("input %d of %s: %w", i, rec.Hash, err)
			}
			o, ok := prev.Output(in.Vout)
			if !ok {
				return fmt.Errorf("input %d of %s: %w: %s carries no value", i, rec.Hash, ErrUnknownOutput, op)
			}
			if o.To != in.Address {
				return fmt.Errorf("input %d of %s: spends %s, paid to %s, but names %s", i, rec.Hash, op, o.To, in.Address)
			}
			e.out = o
			if e.source != "" || prev.Tx.BlockNumber < d.cfg.FromBlock || hop > d.cfg.MaxHops {
				continue // a source, or an origin (before the window, past the hop limit)
			}
			if err := d.expand(in.TxID, hop); err != nil {
				return err
			}
		}
	}
	return nil
}

// earlySeed records seed o, of a transaction the history does not hold,
// for the attribution walk: block 0 stands for "before the window".
func (d *utxoDiscovery) earlySeed(o *chains.Transfer) {
	tx := d.early[o.TxHash]
	if tx == nil {
		tx = &UTXOTx{Tx: chains.Tx{Hash: o.TxHash}}
		d.early[o.TxHash] = tx
	}
	tx.Outputs = append(tx.Outputs, *o)
	tx.NumOutputs = max(tx.NumOutputs, int(o.Ordinal)+1)
}

// state fills b's Result from the edges and the attribution walk fwd (nil
// when there were no sources).
func (d *utxoDiscovery) state(b *BackResult, fwd *Result, run runModels, colour map[string]int) {
	figs := map[string]Figures{}
	if fwd != nil {
		for i := range fwd.Rows {
			figs[outpointOf(&fwd.Rows[i].Transfer)] = fwd.Rows[i].Figures
		}
		b.Reconciliation = fwd.Reconciliation
	}
	if d.cfg.CoinJoin != nil {
		// It ran on every transaction discovery expanded.
		b.Heuristics = append(b.Heuristics, d.cfg.CoinJoin.Infos()...)
		b.Findings = d.findings
	}
	reached := map[string]*Reached{}
	get := func(addr string, hop int) *Reached {
		r := reached[addr]
		if r == nil {
			r = &Reached{Address: addr, Hop: hop, Taint: map[string]*big.Int{}}
			if s := d.sources[addr]; s != nil {
				r.Stop, r.Label, r.Category = true, s.Label, s.Category
			}
			reached[addr] = r
			b.Addresses = append(b.Addresses, r)
		}
		r.Hop = min(r.Hop, hop)
		return r
	}
	for _, t := range b.Targets {
		get(t, 0)
	}
	var rows []*utxoEdge
	ends := map[string]*Endpoint{}
	for _, e := range d.edges {
		// An output's address is one address back from the output.
		get(e.out.To, e.hop-1)
		if !e.early && e.out.BlockNumber >= d.cfg.FromBlock && e.out.BlockNumber <= d.cfg.ToBlock {
			rows = append(rows, e)
		}
		if e.source == "" {
			continue
		}
		ep := ends[e.source]
		if ep == nil {
			s := d.sources[e.source]
			ep = &Endpoint{Address: e.source, Label: s.Label, Category: s.Category, Asset: d.cfg.NativeAsset,
				Amount: new(big.Int), FirstBlock: e.spentAt, LastBlock: e.spentAt}
			ends[e.source] = ep
		}
		ep.Amount.Add(ep.Amount, e.out.Amount)
		ep.FirstBlock, ep.LastBlock = min(ep.FirstBlock, e.spentAt), max(ep.LastBlock, e.spentAt)
	}
	slices.SortFunc(rows, func(x, y *utxoEdge) int {
		a, c := x.out, y.out
		switch {
		case a.BlockNumber != c.BlockNumber:
			return cmp.Compare(a.BlockNumber, c.BlockNumber)
		case a.TxIndex != c.TxIndex:
			return cmp.Compare(a.TxIndex, c.TxIndex)
		}
		return cmp.Compare(a.Ordinal, c.Ordinal)
	})
	for _, e := range rows {
		fig, ok := figs[outpointOf(e.out)]
		if !ok {
			fig = run.zero()
		}
		b.Rows = append(b.Rows, Row{Transfer: *e.out, Hop: e.hop, Taint: fig.Primary(), Figures: fig})
		addFigures(reached[e.out.To], e.out.Asset, fig, run)
	}
	// What each source put in: its seeds' value, all of its colour under
	// every model.
	for _, ep := range ends {
		ep.Figures = run.zero()
		c := colour[ep.Address]
		for m := range ep.Figures.Total {
			ep.Figures.Total[m].Set(ep.Amount)
			ep.Figures.ByColour[m][c].Set(ep.Amount)
		}
		ep.Taint = ep.Figures.Primary()
		b.Endpoints = append(b.Endpoints, *ep)
	}
	sortBack(&b.Result)
}
