package main

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// An exhibit may state its taint under several models side by side
// (method.taint_models, the primary first) and per seed colour
// (method.colours). verify reads every figure under every model and colour
// and checks the arithmetic they imply on both chains; this file holds what
// the two chains share. The chain-specific parts (btc: replaying each
// transaction's split from the chain's facts; eth: what a reconciliation
// entry's senders gave up) are in cmd_verify.go and cmd_verify_btc.go.

// modelView is what the exhibit's method says of its models and colours.
type modelView struct {
	names []string // primary first
	kinds []taint.Kind
	// colours names the colours when there are several (nil: one).
	colours []string
	// colourOf gives each seed (as e.Seeds spells it) its colour.
	colourOf map[string]int
	// problems are what is wrong with the method's models and colours;
	// ok is false when the models cannot be read at all.
	problems []string
	ok       bool
	// back is set for a backward exhibit: its rows are the edges found
	// back from the targets, and an edge the attribution did not reach
	// carries nothing, under poison too.
	back bool
}

func newModelView(e *exhibit.Exhibit) *modelView {
	mv := &modelView{colourOf: map[string]int{}, ok: true, back: e.Method.Direction == exhibit.DirectionBackward}
	m := e.Method
	names := m.TaintModels
	if len(names) == 0 {
		names = []string{m.TaintModel}
	} else if names[0] != m.TaintModel {
		mv.problems = append(mv.problems, fmt.Sprintf("method: taint_model %q is not the first of taint_models %v", m.TaintModel, m.TaintModels))
	}
	seen := map[taint.Kind]bool{}
	for _, n := range names {
		k, err := taint.ParseKind(n)
		if err != nil {
			mv.problems = append(mv.problems, fmt.Sprintf("method: %v", err))
			mv.ok = false
			continue
		}
		if seen[k] {
			mv.problems = append(mv.problems, fmt.Sprintf("method: taint model %s listed twice", n))
			mv.ok = false
			continue
		}
		seen[k] = true
		mv.names = append(mv.names, n)
		mv.kinds = append(mv.kinds, k)
	}
	if len(mv.names) == 0 {
		mv.ok = false
	}
	if len(m.Colours) > 1 {
		isSeed := map[string]bool{}
		for _, s := range taintOrigins(e) {
			isSeed[s] = true
		}
		named := map[string]bool{}
		for c, col := range m.Colours {
			if named[col.Name] {
				mv.problems = append(mv.problems, fmt.Sprintf("method: colour %q named twice", col.Name))
			}
			named[col.Name] = true
			mv.colours = append(mv.colours, col.Name)
			for _, s := range col.Seeds {
				switch have, dup := mv.colourOf[s]; {
				case dup:
					mv.problems = append(mv.problems, fmt.Sprintf("method: seed %s is in colours %s and %s", s, m.Colours[have].Name, col.Name))
				case !isSeed[s]:
					mv.problems = append(mv.problems, fmt.Sprintf("method: colour %s names %s, which is not a seed", col.Name, s))
				default:
					mv.colourOf[s] = c
				}
			}
		}
		for _, s := range taintOrigins(e) {
			if _, ok := mv.colourOf[s]; !ok {
				mv.problems = append(mv.problems, fmt.Sprintf("method: seed %s is in no colour", s))
			}
		}
	}
	return mv
}

// ncolours is the number of colours the arithmetic keeps apart.
func (mv *modelView) ncolours() int { return max(1, len(mv.colours)) }

// several reports whether the exhibit states more than one model.
func (mv *modelView) several() bool { return len(mv.names) > 1 }

// summary is the verdict line's note: "" for one model and one colour.
func (mv *modelView) summary() string {
	if !mv.several() && mv.colours == nil {
		return ""
	}
	s := fmt.Sprintf("%d model", len(mv.names))
	if len(mv.names) != 1 {
		s += "s"
	}
	if mv.colours != nil {
		s += fmt.Sprintf(", %d colours", len(mv.colours))
	}
	return s
}

// name names figure m, of colour c (-1: the model's total): "fifo taint",
// "colour a fifo taint".
func (mv *modelView) name(m, c int) string { return mv.prefix(m, c) + " taint" }

// prefix names model m and colour c before a field: "fifo",
// "colour a fifo".
func (mv *modelView) prefix(m, c int) string {
	if c < 0 {
		return mv.names[m]
	}
	return "colour " + mv.colours[c] + " " + mv.names[m]
}

// figs is one taint figure under every model (total) and, with colours,
// per model and colour.
type figs struct {
	total  []*big.Int
	colour [][]*big.Int // [model][colour]; nil without colours
}

func (mv *modelView) zero() figs {
	f := figs{total: make([]*big.Int, len(mv.names))}
	for m := range f.total {
		f.total[m] = new(big.Int)
	}
	if mv.colours != nil {
		f.colour = make([][]*big.Int, len(mv.names))
		for m := range f.colour {
			f.colour[m] = make([]*big.Int, len(mv.colours))
			for c := range f.colour[m] {
				f.colour[m][c] = new(big.Int)
			}
		}
	}
	return f
}

func (f figs) add(g figs) {
	for m := range f.total {
		f.total[m].Add(f.total[m], g.total[m])
		if f.colour != nil {
			for c := range f.colour[m] {
				f.colour[m][c].Add(f.colour[m][c], g.colour[m][c])
			}
		}
	}
}

// of is figure m (c -1) or its colour c.
func (f figs) of(m, c int) *big.Int {
	if c < 0 {
		return f.total[m]
	}
	return f.colour[m][c]
}

// each calls fn for every figure: each model's total, then its colours.
func (mv *modelView) each(fn func(m, c int)) {
	for m := range mv.names {
		fn(m, -1)
		for c := range mv.colours {
			fn(m, c)
		}
	}
}

// amountOf parses a stated amount; a bad one is a problem and reads 0.
func amountOf(s, what string, problems *[]string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 {
		*problems = append(*problems, fmt.Sprintf("%s: %q is not an amount", what, s))
		return new(big.Int)
	}
	return n
}

// readFigs reads the figures of a row or an endpoint: taint under the
// primary model, taint_by_model and taint_by_colour.
func (mv *modelView) readFigs(what, taintS string, bm exhibit.ByModel, bc exhibit.ByColour, problems *[]string) figs {
	f := mv.zero()
	primary := amountOf(taintS, what+": taint", problems)
	switch {
	case bm == nil && mv.several():
		*problems = append(*problems, fmt.Sprintf("%s: no taint_by_model, though the method runs %d models", what, len(mv.names)))
		f.total[0].Set(primary)
	case bm == nil:
		f.total[0].Set(primary)
	default:
		for m, name := range mv.names {
			s, ok := bm[name]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s: taint_by_model lacks %s", what, name))
				continue
			}
			f.total[m] = amountOf(s, what+": taint_by_model "+name, problems)
		}
		for _, name := range sortedNames(bm) {
			if !mv.hasModel(name) {
				*problems = append(*problems, fmt.Sprintf("%s: taint_by_model names %q, a model the method does not list", what, name))
			}
		}
		if f.total[0].Cmp(primary) != 0 {
			*problems = append(*problems, fmt.Sprintf("%s: taint %s, but its taint_by_model gives %s under %s, the primary model", what, primary, f.total[0], mv.names[0]))
		}
	}
	if mv.colours == nil {
		return f
	}
	if bc == nil {
		*problems = append(*problems, fmt.Sprintf("%s: no taint_by_colour, though the method names %d colours", what, len(mv.colours)))
		return f
	}
	for c, cname := range mv.colours {
		byModel, ok := bc[cname]
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour lacks colour %s", what, cname))
			continue
		}
		for m, name := range mv.names {
			s, ok := byModel[name]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour %s lacks %s", what, cname, name))
				continue
			}
			f.colour[m][c] = amountOf(s, what+": taint_by_colour "+cname+" "+name, problems)
		}
	}
	for _, cname := range sortedNames(bc) {
		if !mv.hasColour(cname) {
			*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour names %q, a colour the method does not list", what, cname))
		}
	}
	return f
}

// readAssetFigs reads an address's figures per asset (the asset keys
// normalised by norm).
func (mv *modelView) readAssetFigs(what string, a *exhibit.Address, norm func(string) string, problems *[]string) map[string]figs {
	out := map[string]figs{}
	get := func(asset string) figs {
		k := norm(asset)
		f, ok := out[k]
		if !ok {
			f = mv.zero()
			out[k] = f
		}
		return f
	}
	for _, asset := range sortedNames(a.Taint) {
		get(asset).total[0].Set(amountOf(a.Taint[asset], fmt.Sprintf("%s: taint of %s", what, asset), problems))
	}
	if a.TaintByModel == nil && mv.several() && len(a.Taint) > 0 {
		*problems = append(*problems, fmt.Sprintf("%s: no taint_by_model, though the method runs %d models", what, len(mv.names)))
	}
	for _, name := range sortedNames(a.TaintByModel) {
		m := mv.model(name)
		if m < 0 {
			*problems = append(*problems, fmt.Sprintf("%s: taint_by_model names %q, a model the method does not list", what, name))
			continue
		}
		for _, asset := range sortedNames(a.TaintByModel[name]) {
			f := get(asset)
			n := amountOf(a.TaintByModel[name][asset], fmt.Sprintf("%s: taint_by_model %s of %s", what, name, asset), problems)
			if m == 0 && f.total[0].Cmp(n) != 0 {
				*problems = append(*problems, fmt.Sprintf("%s: taint %s of %s, but its taint_by_model gives %s under %s, the primary model", what, f.total[0], asset, n, name))
			}
			f.total[m] = n
		}
	}
	if a.TaintByModel != nil {
		for _, asset := range sortedNames(out) {
			for _, name := range mv.names {
				if _, ok := a.TaintByModel[name][asset]; !ok && !mv.hasAssetKey(a.TaintByModel[name], asset, norm) {
					*problems = append(*problems, fmt.Sprintf("%s: taint_by_model %s lacks %s", what, name, asset))
				}
			}
		}
	}
	if mv.colours == nil {
		return out
	}
	if a.TaintByColour == nil && len(a.Taint) > 0 {
		*problems = append(*problems, fmt.Sprintf("%s: no taint_by_colour, though the method names %d colours", what, len(mv.colours)))
	}
	for _, cname := range sortedNames(a.TaintByColour) {
		c := mv.colour(cname)
		if c < 0 {
			*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour names %q, a colour the method does not list", what, cname))
			continue
		}
		for _, name := range sortedNames(a.TaintByColour[cname]) {
			m := mv.model(name)
			if m < 0 {
				*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour %s names %q, a model the method does not list", what, cname, name))
				continue
			}
			for _, asset := range sortedNames(a.TaintByColour[cname][name]) {
				get(asset).colour[m][c] = amountOf(a.TaintByColour[cname][name][asset],
					fmt.Sprintf("%s: taint_by_colour %s %s of %s", what, cname, name, asset), problems)
			}
		}
	}
	return out
}

// hasAssetKey reports whether m holds asset under another spelling.
func (mv *modelView) hasAssetKey(m map[string]string, asset string, norm func(string) string) bool {
	for k := range m {
		if norm(k) == asset {
			return true
		}
	}
	return false
}

func (mv *modelView) model(name string) int {
	for m, n := range mv.names {
		if n == name {
			return m
		}
	}
	return -1
}

func (mv *modelView) hasModel(name string) bool { return mv.model(name) >= 0 }

func (mv *modelView) colour(name string) int {
	for c, n := range mv.colours {
		if n == name {
			return c
		}
	}
	return -1
}

func (mv *modelView) hasColour(name string) bool { return mv.colour(name) >= 0 }

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkFigs checks one value's figures against each other: none above the
// amount; the colours of an attributing model summing to its figure;
// poison, the upper bound, at least every other model. row says the value
// is one transfer row's, which poison marks whole (the row exists because
// some model taints it; on a backward exhibit, whole or not at all: an
// edge the attribution did not reach is a row too), each colour all or
// nothing; a sum of several (a reconciliation entry's) need not be.
func (mv *modelView) checkFigs(what string, amount *big.Int, f figs, row bool) []string {
	var problems []string
	poison := -1
	for m, k := range mv.kinds {
		if k == taint.Poison {
			poison = m
		}
	}
	for m, k := range mv.kinds {
		t := f.total[m]
		// The single model's bound and poison rule are the checks verify
		// always made, with their wording.
		if mv.several() || !row {
			if t.Cmp(amount) > 0 {
				problems = append(problems, fmt.Sprintf("%s: %s %s exceeds the amount %s", what, mv.name(m, -1), t, amount))
			}
			if k == taint.Poison && row && t.Cmp(amount) != 0 && !(mv.back && t.Sign() == 0) {
				problems = append(problems, fmt.Sprintf("%s: poison taints every row fully, its poison taint is %s of %s", what, t, amount))
			}
		}
		if f.colour == nil {
			continue
		}
		sum := new(big.Int)
		for c, v := range f.colour[m] {
			sum.Add(sum, v)
			switch {
			case k == taint.Poison && row && v.Sign() != 0 && v.Cmp(amount) != 0:
				problems = append(problems, fmt.Sprintf("%s: %s %s, not all or nothing of %s", what, mv.name(m, c), v, amount))
			case v.Cmp(amount) > 0:
				problems = append(problems, fmt.Sprintf("%s: %s %s exceeds the amount %s", what, mv.name(m, c), v, amount))
			case k == taint.Poison && v.Cmp(t) > 0:
				problems = append(problems, fmt.Sprintf("%s: %s %s exceeds its poison taint %s", what, mv.name(m, c), v, t))
			}
		}
		if k != taint.Poison && sum.Cmp(t) != 0 {
			problems = append(problems, fmt.Sprintf("%s: its colours' %s taint sums to %s, its %s is %s", what, mv.names[m], sum, mv.name(m, -1), t))
		}
		if k == taint.Poison && (sum.Sign() == 0) != (t.Sign() == 0) {
			problems = append(problems, fmt.Sprintf("%s: poison taint %s, but its colours mark %s", what, t, colourList(mv, f, m)))
		}
	}
	if poison >= 0 {
		for m := range mv.kinds {
			if m != poison && f.total[m].Cmp(f.total[poison]) > 0 {
				problems = append(problems, fmt.Sprintf("%s: %s %s exceeds its poison taint %s, the upper bound", what, mv.name(m, -1), f.total[m], f.total[poison]))
			}
		}
	}
	return problems
}

func colourList(mv *modelView, f figs, m int) string {
	var parts []string
	for c, v := range f.colour[m] {
		if v.Sign() != 0 {
			parts = append(parts, mv.colours[c])
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// compareSums compares stated figures with the sums of the rows into
// them, for every model and colour (the primary total only with several
// models: the plain taint is checked apart). sum nil: no row.
func (mv *modelView) compareSums(what string, stated figs, sum *figs, whose string) []string {
	var problems []string
	mv.each(func(m, c int) {
		if c < 0 && !mv.several() {
			return
		}
		s := new(big.Int)
		if sum != nil {
			s = sum.of(m, c)
		}
		if stated.of(m, c).Cmp(s) != 0 {
			problems = append(problems, fmt.Sprintf("%s: %s %s, %s sum to %s", what, mv.name(m, c), stated.of(m, c), whose, s))
		}
	})
	return problems
}

// recFigs is a reconciliation entry's taint, in one asset, under every
// model and colour.
type recFigs struct {
	in, out, fee figs
	hasFee       bool // taint_fee stated (absent in older single-model exhibits)
}

// readRecFigs reads a reconciliation entry's taint per asset (asset keys
// normalised by norm).
func (mv *modelView) readRecFigs(what string, rc *exhibit.Reconciliation, norm func(string) string, problems *[]string) map[string]*recFigs {
	out := map[string]*recFigs{}
	get := func(asset string) *recFigs {
		k := norm(asset)
		r := out[k]
		if r == nil {
			r = &recFigs{in: mv.zero(), out: mv.zero(), fee: mv.zero(), hasFee: rc.TaintFee != nil || rc.TaintByModel != nil}
			out[k] = r
		}
		return r
	}
	for _, asset := range sortedNames(rc.TaintIn) {
		get(asset).in.total[0].Set(amountOf(rc.TaintIn[asset], fmt.Sprintf("%s: taint_in of %s", what, asset), problems))
	}
	for _, asset := range sortedNames(rc.TaintOut) {
		get(asset).out.total[0].Set(amountOf(rc.TaintOut[asset], fmt.Sprintf("%s: taint_out of %s", what, asset), problems))
	}
	for _, asset := range sortedNames(rc.TaintFee) {
		get(asset).fee.total[0].Set(amountOf(rc.TaintFee[asset], fmt.Sprintf("%s: taint_fee of %s", what, asset), problems))
	}
	if rc.TaintByModel == nil && mv.several() {
		*problems = append(*problems, fmt.Sprintf("%s: no taint_by_model, though the method runs %d models", what, len(mv.names)))
	}
	balance := func(tb exhibit.TaintBalance, m, c int, label string) {
		for _, part := range []struct {
			field string
			vals  map[string]string
			pick  func(r *recFigs) figs
		}{
			{"taint_in", tb.TaintIn, func(r *recFigs) figs { return r.in }},
			{"taint_out", tb.TaintOut, func(r *recFigs) figs { return r.out }},
			{"taint_fee", tb.TaintFee, func(r *recFigs) figs { return r.fee }},
		} {
			for _, asset := range sortedNames(part.vals) {
				n := amountOf(part.vals[asset], fmt.Sprintf("%s: %s %s of %s", what, label, part.field, asset), problems)
				f := part.pick(get(asset))
				if c >= 0 {
					f.colour[m][c] = n
					continue
				}
				if m == 0 && f.total[0].Cmp(n) != 0 && (part.field != "taint_fee" || rc.TaintFee != nil) {
					*problems = append(*problems, fmt.Sprintf("%s: %s %s of %s, but its taint_by_model gives %s under %s, the primary model", what, part.field, f.total[0], asset, n, mv.names[0]))
				}
				f.total[m] = n
			}
		}
	}
	for _, name := range sortedNames(rc.TaintByModel) {
		m := mv.model(name)
		if m < 0 {
			*problems = append(*problems, fmt.Sprintf("%s: taint_by_model names %q, a model the method does not list", what, name))
			continue
		}
		balance(rc.TaintByModel[name], m, -1, "taint_by_model "+name)
	}
	if rc.TaintByModel != nil {
		for _, name := range mv.names {
			if _, ok := rc.TaintByModel[name]; !ok {
				*problems = append(*problems, fmt.Sprintf("%s: taint_by_model lacks %s", what, name))
			}
		}
	}
	if mv.colours == nil {
		return out
	}
	if rc.TaintByColour == nil {
		*problems = append(*problems, fmt.Sprintf("%s: no taint_by_colour, though the method names %d colours", what, len(mv.colours)))
		return out
	}
	for _, cname := range sortedNames(rc.TaintByColour) {
		c := mv.colour(cname)
		if c < 0 {
			*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour names %q, a colour the method does not list", what, cname))
			continue
		}
		for _, name := range sortedNames(rc.TaintByColour[cname]) {
			m := mv.model(name)
			if m < 0 {
				*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour %s names %q, a model the method does not list", what, cname, name))
				continue
			}
			balance(rc.TaintByColour[cname][name], m, c, "taint_by_colour "+cname+" "+name)
		}
		for _, name := range mv.names {
			if _, ok := rc.TaintByColour[cname][name]; !ok {
				*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour %s lacks %s", what, cname, name))
			}
		}
	}
	for _, cname := range mv.colours {
		if _, ok := rc.TaintByColour[cname]; !ok {
			*problems = append(*problems, fmt.Sprintf("%s: taint_by_colour lacks colour %s", what, cname))
		}
	}
	return out
}

// checkRecTaint checks an entry's taint arithmetic under every model and
// colour: the balances (exhibit.Reconciliation.Check, value left to the
// caller), each figure within the value it is part of, the colours of an
// attributing model summing to its figure, and poison at least every
// other model. skipPlain leaves out the bounds of a lone model's figures,
// which the caller checks itself.
func (mv *modelView) checkRecTaint(what string, rc *exhibit.Reconciliation, figsByAsset map[string]*recFigs, value func(asset string) (in, out, fee *big.Int), skipPlain bool) []string {
	var problems []string
	taintOnly := *rc
	taintOnly.ValueIn, taintOnly.ValueOut, taintOnly.Fee = nil, nil, nil
	if err := taintOnly.Check(); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", what, err))
	}
	for _, asset := range sortedNames(figsByAsset) {
		r := figsByAsset[asset]
		vin, vout, vfee := value(asset)
		parts := []struct {
			field string
			f     figs
			v     *big.Int
		}{{"taint_in", r.in, vin}, {"taint_out", r.out, vout}}
		if r.hasFee {
			parts = append(parts, struct {
				field string
				f     figs
				v     *big.Int
			}{"taint_fee", r.fee, vfee})
		}
		for _, p := range parts {
			if skipPlain && !mv.several() && mv.colours == nil {
				continue
			}
			for _, d := range mv.checkFigs(fmt.Sprintf("%s, %s of %s", what, p.field, recSpelling(rc, asset)), p.v, p.f, false) {
				problems = append(problems, d)
			}
		}
	}
	return problems
}

func rowName(i int, t *exhibit.Transfer) string {
	return fmt.Sprintf("transfer %d (tx %s, %s)", i, t.TxHash, t.Position)
}

func endpointName(ep *exhibit.Endpoint) string {
	return fmt.Sprintf("endpoint %s (%s, %s)", ep.Label, ep.Address, ep.Asset)
}

// addrAsset keys sums by address and asset.
type addrAsset struct{ addr, asset string }

// checkFigures reads every row's figures and checks them (checkFigs), and
// the endpoints' and addresses' figures against the sums of the rows into
// them, under every model and colour. norm normalises addresses and
// assets (eth: their case); skip names the addresses whose figures are
// not sums of rows (the seeds, which hold what they held as well). It
// returns each row's figures, for the chain's own checks.
func (mv *modelView) checkFigures(e *exhibit.Exhibit, norm func(string) string, skip func(a *exhibit.Address) bool) ([]figs, []string) {
	var problems []string
	rows := make([]figs, len(e.Transfers))
	into := map[addrAsset]*figs{}
	out := map[addrAsset]*figs{} // a backward exhibit's endpoints are the sources: the rows out of them
	for i := range e.Transfers {
		t := &e.Transfers[i]
		what := rowName(i, t)
		f := mv.readFigs(what, t.Taint, t.TaintByModel, t.TaintByColour, &problems)
		rows[i] = f
		amount, ok := new(big.Int).SetString(t.Amount, 10)
		if !ok {
			continue // reported by the chain's own checks
		}
		problems = append(problems, mv.checkFigs(what, amount, f, true)...)
		k := addrAsset{norm(t.To), norm(t.Asset)}
		if into[k] == nil {
			z := mv.zero()
			into[k] = &z
		}
		into[k].add(f)
		if len(t.From) > 0 {
			k := addrAsset{norm(t.From[0]), norm(t.Asset)}
			if out[k] == nil {
				z := mv.zero()
				out[k] = &z
			}
			out[k].add(f)
		}
	}
	if !mv.several() && mv.colours == nil {
		return rows, problems // the plain taint's sums are checked as they always were
	}
	for i := range e.Endpoints {
		ep := &e.Endpoints[i]
		if mv.back && e.Chain == chains.BTC {
			// A source's coins are no rows out of it: the Bitcoin
			// verifier checks them against the inputs that spent them
			// (btcVerifier.checkBackSources).
			continue
		}
		what := endpointName(ep)
		f := mv.readFigs(what, ep.Taint, ep.TaintByModel, ep.TaintByColour, &problems)
		if e.Method.Direction == exhibit.DirectionBackward {
			problems = append(problems, mv.compareSums(what, f, out[addrAsset{norm(ep.Address), norm(ep.Asset)}], "the rows out of it")...)
			continue
		}
		problems = append(problems, mv.compareSums(what, f, into[addrAsset{norm(ep.Address), norm(ep.Asset)}], "the rows into it")...)
	}
	for i := range e.Addresses {
		a := &e.Addresses[i]
		if skip(a) {
			continue
		}
		what := "address " + a.Address
		stated := mv.readAssetFigs(what, a, norm, &problems)
		for _, asset := range sortedNames(stated) {
			problems = append(problems, mv.compareSums(what+" in "+assetSpelling(a, asset, norm), stated[asset], into[addrAsset{norm(a.Address), asset}], "the rows into it")...)
		}
	}
	return rows, problems
}

// assetSpelling is how address a spells the asset whose normal form is
// asset.
func assetSpelling(a *exhibit.Address, asset string, norm func(string) string) string {
	for k := range a.Taint {
		if norm(k) == asset {
			return k
		}
	}
	for _, m := range a.TaintByModel {
		for k := range m {
			if norm(k) == asset {
				return k
			}
		}
	}
	return asset
}

// recSpelling is how entry rc spells asset (the normal forms differ from
// the spellings in case at most).
func recSpelling(rc *exhibit.Reconciliation, asset string) string {
	for _, m := range []map[string]string{rc.ValueIn, rc.TaintIn, rc.TaintOut} {
		for k := range m {
			if strings.EqualFold(k, asset) {
				return k
			}
		}
	}
	return asset
}

// taintOrigins are the addresses taint starts from: the seeds of a forward
// exhibit; a backward exhibit's sources (its colours' seeds, and its
// endpoints, where the trace back stopped). A colour of a Bitcoin
// backward exhibit is named by its source's address and lists the
// source's coins (txid:vout): its seeds are the origins, and its endpoint
// is not one besides.
func taintOrigins(e *exhibit.Exhibit) []string {
	if e.Method.Direction != exhibit.DirectionBackward {
		return e.Seeds
	}
	var out []string
	named := map[string]bool{}
	for _, c := range e.Method.Colours {
		named[c.Name] = true
		out = append(out, c.Seeds...)
	}
	for _, ep := range e.Endpoints {
		if !slices.Contains(out, ep.Address) && !named[ep.Address] {
			out = append(out, ep.Address)
		}
	}
	return out
}
