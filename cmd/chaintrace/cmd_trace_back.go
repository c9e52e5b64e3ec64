package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/labels"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
)

// The directions of `trace --direction`.
const (
	directionForward  = "forward"
	directionBackward = "backward"
)

// directionUsage is the --direction flag's help.
const directionUsage = `forward: where the seeds' funds went; backward: where the funds the seeds received came from, ` +
	`hop by hop back to labelled addresses (any label unless --stop-categories is given), and the share of each`

// checkDirection reads --direction into p and checks what the backward
// trace cannot take. With --direction backward and no --stop-categories
// (flag, config or environment), p.stopAny is set: every labelled address
// is a source.
func (o *globalOptions) checkDirection(p *traceParams) error {
	switch p.direction = strings.TrimSpace(o.v.GetString("direction")); p.direction {
	case directionForward:
		return nil
	case directionBackward:
	default:
		return usagef("--direction %q: want forward or backward", p.direction)
	}
	if len(p.colour) > 0 && p.colour[0] != "" {
		return usagef("--direction backward: the seeds are the addresses traced back from; name no colours (the sources found are the colours)")
	}
	if p.chain == chains.BTC {
		for _, s := range p.seeds {
			if _, _, isOut, _ := tracer.ParseOutpointSeed(s); isOut {
				return usagef("--direction backward: seed %s is an output; trace back from addresses (the outputs they received in the window are found)", s)
			}
		}
	}
	p.stopAny = !o.v.IsSet("stop-categories")
	return nil
}

// backStopLabels says where the backward trace stops: at any address with
// a categorised label, or only in the given categories.
type backStopLabels struct {
	ix    *labels.Index
	chain chains.Chain
	stops []string
	any   bool
}

func (s backStopLabels) Stop(addr string) (string, string, bool) {
	if !s.any {
		return stopLabels{ix: s.ix, chain: s.chain, stops: s.stops}.Stop(addr)
	}
	for _, l := range s.ix.Lookup(string(s.chain), addr) {
		if l.Category != "" {
			return l.Label, l.Category, true
		}
	}
	return "", "", false
}

// taxonomy is every category chaintrace names (labels' GraphSense names).
var taxonomy = []string{labels.CategoryExchange, labels.CategoryMixingService, labels.CategoryBridge, labels.CategoryDefiDex,
	labels.CategoryPerpetrator, labels.CategorySanctioned, labels.CategoryHacker, labels.CategoryScam, labels.CategoryMiner,
	labels.CategoryService}

// runTraceBack runs `trace --direction backward` over the history the
// forward trace would read, and writes its exhibit and summary.
func runTraceBack(ctx context.Context, opts *globalOptions, st *store.Store, p *traceParams, hist tracer.History,
	storeHist *tracer.StoreHistory, backed *tracer.BackedHistory, start time.Time) error {
	cfg := tracer.Config{Seeds: p.seeds, Models: p.models, MaxHops: p.maxHops, MinValue: p.minValue,
		FromBlock: p.from, ToBlock: p.to, NativeAsset: chains.AssetETH, Logger: opts.logger}
	b, err := tracer.TraceBack(ctx, hist, backStopLabels{ix: p.labelIx, chain: p.chain, stops: p.stops, any: p.stopAny}, cfg)
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
	return writeBack(opts, p, b, info, start, storeHist.NodeCalls(), backed)
}

// writeBack states a backward trace's result b (of either chain) as an
// exhibit, writes it and prints the shares.
func writeBack(opts *globalOptions, p *traceParams, b *tracer.BackResult, info tracer.ExhibitInfo, start time.Time,
	nodeCalls int64, backed *tracer.BackedHistory) error {
	if p.stopAny {
		// Every category stopped the trace: the taxonomy's, and any other
		// a source was labelled with (a rerun naming these stops at the
		// same addresses).
		cats := slices.Clone(taxonomy)
		for _, ep := range b.Endpoints {
			cats = append(cats, ep.Category)
		}
		sort.Strings(cats)
		info.StopCategories = slices.Compact(cats)
	}
	e, err := tracer.BuildBackExhibit(b, info)
	if err != nil {
		return err
	}
	if err := writeExhibit(opts, e, p.format, p.out); err != nil {
		return err
	}
	printBackSummary(opts.stderr, e, b, time.Since(start), nodeCalls)
	reportRejected(opts, backed)
	return nil
}

// runTraceBackBtc runs `trace --chain btc --direction backward` over the
// history the forward trace would read (bk), and writes its exhibit and
// summary as runTraceBack does. done ends cfg.Progress's status line.
func runTraceBackBtc(ctx context.Context, opts *globalOptions, p *traceParams, bk *btcBackend, cfg tracer.Config, start time.Time, done func()) error {
	// Discovery stops at the labels; no heuristic but the CoinJoin
	// boundary runs (the attribution walk is confined to what discovery
	// found).
	cfg.PeelChain, cfg.Change, cfg.Cluster, cfg.Clusters = nil, nil, nil, nil
	b, err := tracer.TraceBackUTXO(ctx, bk.hist, backStopLabels{ix: p.labelIx, chain: p.chain, stops: p.stops, any: p.stopAny}, cfg)
	done()
	if err != nil {
		return btcTraceError(err)
	}
	info, err := btcExhibitInfo(ctx, p, bk, cfg)
	if err != nil {
		return err
	}
	return writeBack(opts, p, b, info, start, 0, bk.backed)
}

// printBackSummary says, per target and asset, what it received and the
// share of it each source accounts for under every model run.
func printBackSummary(w io.Writer, e *exhibit.Exhibit, b *tracer.BackResult, took time.Duration, nodeCalls int64) {
	maxHop := 0
	for _, t := range e.Transfers {
		maxHop = max(maxHop, t.Hop)
	}
	models := e.Method.TaintModels
	if len(models) == 0 {
		models = []string{e.Method.TaintModel}
	}
	fmt.Fprintf(w, "traced back %d transfers over %d hops, %d addresses reached, %d labelled sources, taint %s, %s (%d balance lookups at the node)\n",
		len(e.Transfers), maxHop, len(e.Addresses), len(b.Sources), strings.Join(models, ", "), took.Round(time.Millisecond), nodeCalls)
	ends := map[string]exhibit.Endpoint{}
	for _, ep := range e.Endpoints {
		ends[ep.Address] = ep
	}
	for _, sh := range b.Shares() {
		fmt.Fprintf(w, "\n%s received %s in blocks %d-%d; attributable to each source:\n", sh.Target, amountText(sh.Received, sh.Asset),
			e.Method.FromBlock, e.Method.ToBlock)
		if len(b.Sources) == 0 {
			fmt.Fprintf(w, "  none: no labelled address within %d hops back, all of it unattributed\n", e.Method.MaxHops)
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  source\tlabel\tcategory\t%s\t\n", strings.Join(models, "\t"))
		none := 0
		for c, src := range b.Sources {
			ep := ends[src]
			row := []string{src, ep.Label, ep.Category}
			any := false
			for m := range models {
				row = append(row, amountText(sh.Figures.ByColour[m][c], sh.Asset))
				any = any || sh.Figures.ByColour[m][c].Sign() > 0
			}
			if !any {
				none++ // a source of another target's funds, or of this one's under no model
				continue
			}
			fmt.Fprintf(tw, "  %s\t\n", strings.Join(row, "\t"))
		}
		row := []string{"unattributed", "", ""}
		for m := range models {
			rest := new(big.Int).Sub(sh.Received, sh.Figures.Total[m])
			if rest.Sign() < 0 {
				rest.SetInt64(0)
			}
			row = append(row, amountText(rest, sh.Asset))
		}
		fmt.Fprintf(tw, "  %s\t\n", strings.Join(row, "\t"))
		tw.Flush()
		if none > 0 {
			fmt.Fprintf(w, "  (%d other source(s) of the trace: nothing of this)\n", none)
		}
	}
}

// amountText writes an amount of ETH in ether and of BTC in bitcoin
// (exact, no trailing zeros), any other asset in its base units.
func amountText(v *big.Int, asset string) string {
	var unit *big.Int
	digits := 0
	switch asset {
	case chains.AssetETH:
		unit, digits = big.NewInt(1e18), 18
	case chains.AssetBTC:
		unit, digits = big.NewInt(1e8), 8
	default:
		return v.String() + " of token " + asset
	}
	base := new(big.Int).Abs(v)
	whole, frac := new(big.Int).QuoRem(base, unit, new(big.Int))
	s := whole.String()
	if frac.Sign() > 0 {
		f := frac.String()
		s += "." + strings.TrimRight(strings.Repeat("0", digits-len(f))+f, "0")
	}
	if v.Sign() < 0 {
		s = "-" + s
	}
	return s + " " + asset
}
