package tracer

import (
	"fmt"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/heuristics"
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
	e.Method.TaintModel = info.Config.Model.Name()
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
		e.Transfers = append(e.Transfers, exhibit.NewTransfer(&r.Transfer, r.Hop, r.Taint))
	}
	for _, a := range res.Addresses {
		ea := exhibit.Address{Address: a.Address, Hop: a.Hop, Taint: map[string]string{}, Labels: []exhibit.Label{}, Cluster: a.Cluster}
		for asset, v := range a.Taint {
			ea.Taint[asset] = v.String()
		}
		if info.Labels != nil {
			ea.Labels = append(ea.Labels, info.Labels(a.Address)...)
		}
		e.Addresses = append(e.Addresses, ea)
	}
	for _, ep := range res.Endpoints {
		e.Endpoints = append(e.Endpoints, exhibit.Endpoint{
			Address: ep.Address, Label: ep.Label, Category: ep.Category, Asset: ep.Asset,
			Amount: ep.Amount.String(), Taint: ep.Taint.String(), FirstBlock: ep.FirstBlock, LastBlock: ep.LastBlock,
		})
	}
	for _, rc := range res.Reconciliation {
		a := rc.Asset
		e.Reconciliation = append(e.Reconciliation, exhibit.Reconciliation{
			TxHash:   rc.TxHash,
			ValueIn:  map[string]string{a: rc.ValueIn.String()},
			ValueOut: map[string]string{a: rc.ValueOut.String()},
			Fee:      map[string]string{a: rc.Fee.String()},
			TaintIn:  map[string]string{a: rc.TaintIn.String()},
			TaintOut: map[string]string{a: rc.TaintOut.String()},
		})
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
