package tracer

import (
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// LabelLookup gives every label known for an address, for the exhibit.
type LabelLookup func(addr string) []exhibit.Label

// ExhibitInfo is what an exhibit states besides the walk's result.
type ExhibitInfo struct {
	Case              exhibit.Case
	Chain             chains.Chain
	Seeds             []string
	Config            Config
	InternalTransfers bool
	StopCategories    []string
	Tool, Version     string
	ChainID           uint64
	Network           string
	// Tip is the block the window ends at: the newest block whose data the
	// exhibit relies on.
	Tip       exhibit.Tip
	Sources   []exhibit.Source
	LabelSets []exhibit.LabelSet
	Labels    LabelLookup
	// GeneratedAt is RFC 3339 UTC; it is left out of the digest.
	GeneratedAt string
	// ErrorRates are the measured error rates method.heuristics cites for
	// each heuristic that ran with the measured parameters (params key
	// "error_rates"); nil: the rates this build embeds.
	ErrorRates *heuristics.ErrorRates
}

// BuildExhibit states a walk's result as a sealed exhibit.
func BuildExhibit(res *Result, info ExhibitInfo) (*exhibit.Exhibit, error) {
	e := exhibit.New(info.Chain)
	e.Case = info.Case
	e.Seeds = append(e.Seeds, info.Seeds...)
	names := modelNames(info.Config.Models)
	if len(names) == 0 {
		return nil, fmt.Errorf("no taint model")
	}
	e.Method.TaintModel = names[0]
	if len(names) > 1 {
		e.Method.TaintModels = names
	}
	colours := info.Config.Colours
	if len(colours) > 1 {
		for c, name := range colours {
			ec := exhibit.Colour{Name: name, Seeds: []string{}}
			for i, s := range info.Config.Seeds {
				if i < len(info.Config.SeedColours) && info.Config.SeedColours[i] == c {
					ec.Seeds = append(ec.Seeds, s)
				}
			}
			e.Method.Colours = append(e.Method.Colours, ec)
		}
	} else {
		colours = nil
	}
	st := stater{models: names, colours: colours}
	e.Method.MaxHops = info.Config.MaxHops
	if info.Config.MinValue != nil {
		e.Method.MinValue = info.Config.MinValue.String()
	}
	e.Method.FromBlock, e.Method.ToBlock = info.Config.FromBlock, info.Config.ToBlock
	e.Method.InternalTransfers = info.InternalTransfers
	e.Method.StopCategories = append(e.Method.StopCategories, info.StopCategories...)
	e.Provenance = exhibit.Provenance{
		Tool: info.Tool, ToolVersion: info.Version, ChainID: info.ChainID, Network: info.Network,
		Tip: info.Tip, Sources: append([]exhibit.Source{}, info.Sources...),
		LabelSets: append([]exhibit.LabelSet{}, info.LabelSets...), GeneratedAt: info.GeneratedAt,
	}
	for i := range res.Rows {
		r := &res.Rows[i]
		et := exhibit.NewTransfer(&r.Transfer, r.Hop, r.Taint)
		et.TaintByModel, et.TaintByColour = st.amounts(r.Figures)
		e.Transfers = append(e.Transfers, et)
	}
	for _, a := range res.Addresses {
		ea := exhibit.Address{Address: a.Address, Hop: a.Hop, Taint: map[string]string{}, Labels: []exhibit.Label{}, Cluster: a.Cluster}
		for asset, v := range a.Taint {
			ea.Taint[asset] = v.String()
		}
		ea.TaintByModel, ea.TaintByColour = st.assetAmounts(a.Figures)
		if info.Labels != nil {
			ea.Labels = append(ea.Labels, info.Labels(a.Address)...)
		}
		e.Addresses = append(e.Addresses, ea)
	}
	for _, ep := range res.Endpoints {
		ee := exhibit.Endpoint{
			Address: ep.Address, Label: ep.Label, Category: ep.Category, Asset: ep.Asset,
			Amount: ep.Amount.String(), Taint: ep.Taint.String(), FirstBlock: ep.FirstBlock, LastBlock: ep.LastBlock,
		}
		ee.TaintByModel, ee.TaintByColour = st.amounts(ep.Figures)
		e.Endpoints = append(e.Endpoints, ee)
	}
	for _, rc := range res.Reconciliation {
		// Entries of one transaction (an account chain's, per asset) are
		// one exhibit entry.
		n := len(e.Reconciliation)
		if n == 0 || e.Reconciliation[n-1].TxHash != rc.TxHash {
			e.Reconciliation = append(e.Reconciliation, exhibit.Reconciliation{TxHash: rc.TxHash,
				ValueIn: map[string]string{}, ValueOut: map[string]string{}, Fee: map[string]string{},
				TaintIn: map[string]string{}, TaintOut: map[string]string{}, TaintFee: map[string]string{}})
			n++
		}
		st.reconcile(&e.Reconciliation[n-1], &rc)
	}
	rates := info.ErrorRates
	if rates == nil {
		var err error
		if rates, err = heuristics.EmbeddedErrorRates(); err != nil {
			return nil, err
		}
	}
	for _, h := range res.Heuristics {
		eh, err := rates.Cite(h).Exhibit()
		if err != nil {
			return nil, fmt.Errorf("heuristic %s: %w", h.Name, err)
		}
		e.Method.Heuristics = append(e.Method.Heuristics, eh)
	}
	for _, f := range res.Findings {
		e.Findings = append(e.Findings, f.Exhibit())
	}
	if err := exhibit.Seal(e); err != nil {
		return nil, fmt.Errorf("sealing the exhibit: %w", err)
	}
	return e, nil
}

func modelNames(kinds []taint.Kind) []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.String()
	}
	return names
}

// stater writes Figures as the exhibit's added taint_by_model and
// taint_by_colour keys: the first only when several models ran, the
// second only when the seeds have several colours.
type stater struct {
	models  []string
	colours []string // nil: one colour
}

func (s stater) amounts(f Figures) (exhibit.ByModel, exhibit.ByColour) {
	var bm exhibit.ByModel
	var bc exhibit.ByColour
	if len(f.Total) == 0 {
		return nil, nil
	}
	if len(s.models) > 1 {
		bm = exhibit.ByModel{}
		for m, name := range s.models {
			bm[name] = f.Total[m].String()
		}
	}
	if s.colours != nil {
		bc = exhibit.ByColour{}
		for c, cname := range s.colours {
			bc[cname] = exhibit.ByModel{}
			for m, name := range s.models {
				bc[cname][name] = f.ByColour[m][c].String()
			}
		}
	}
	return bm, bc
}

func (s stater) assetAmounts(fs map[string]Figures) (map[string]map[string]string, map[string]map[string]map[string]string) {
	var bm map[string]map[string]string
	var bc map[string]map[string]map[string]string
	for _, asset := range sortedKeys(fs) {
		m, c := s.amounts(fs[asset])
		for model, v := range m {
			if bm == nil {
				bm = map[string]map[string]string{}
			}
			if bm[model] == nil {
				bm[model] = map[string]string{}
			}
			bm[model][asset] = v
		}
		for colour, byModel := range c {
			if bc == nil {
				bc = map[string]map[string]map[string]string{}
			}
			if bc[colour] == nil {
				bc[colour] = map[string]map[string]string{}
			}
			for model, v := range byModel {
				if bc[colour][model] == nil {
					bc[colour][model] = map[string]string{}
				}
				bc[colour][model][asset] = v
			}
		}
	}
	return bm, bc
}

// reconcile adds one asset's balance of a transaction to its entry.
func (s stater) reconcile(er *exhibit.Reconciliation, rc *TxReconciliation) {
	a := rc.Asset
	er.ValueIn[a] = rc.ValueIn.String()
	er.ValueOut[a] = rc.ValueOut.String()
	er.Fee[a] = rc.Fee.String()
	er.TaintIn[a] = rc.TaintIn.String()
	er.TaintOut[a] = rc.TaintOut.String()
	er.TaintFee[a] = rc.TFee.String()
	balance := func(tb *exhibit.TaintBalance, in, out, fee *big.Int) {
		if tb.TaintIn == nil {
			tb.TaintIn, tb.TaintOut, tb.TaintFee = map[string]string{}, map[string]string{}, map[string]string{}
		}
		tb.TaintIn[a], tb.TaintOut[a], tb.TaintFee[a] = in.String(), out.String(), fee.String()
	}
	if len(s.models) > 1 {
		if er.TaintByModel == nil {
			er.TaintByModel = map[string]exhibit.TaintBalance{}
		}
		for m, name := range s.models {
			tb := er.TaintByModel[name]
			balance(&tb, rc.In.Total[m], rc.Out.Total[m], rc.FeeTaint.Total[m])
			er.TaintByModel[name] = tb
		}
	}
	if s.colours != nil {
		if er.TaintByColour == nil {
			er.TaintByColour = map[string]map[string]exhibit.TaintBalance{}
		}
		for c, cname := range s.colours {
			if er.TaintByColour[cname] == nil {
				er.TaintByColour[cname] = map[string]exhibit.TaintBalance{}
			}
			for m, name := range s.models {
				tb := er.TaintByColour[cname][name]
				balance(&tb, rc.In.ByColour[m][c], rc.Out.ByColour[m][c], rc.FeeTaint.ByColour[m][c])
				er.TaintByColour[cname][name] = tb
			}
		}
	}
}
