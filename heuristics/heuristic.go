package heuristics

import (
	"github.com/chaintrace/chaintrace/exhibit"
)

// Finding kinds, as the exhibit's findings name them.
const (
	KindChangeOutput   = "change_output"
	KindCoinJoin       = "coinjoin"
	KindPeelChain      = "peel_chain"
	KindClusterMerge   = "cluster_merge"
	KindDepositAddress = "deposit_address"
)

// Finding is one conclusion a heuristic drew: the exhibit's findings row plus
// the heuristic that drew it. Heuristic and Version stay out of the row
// itself (the exhibit's finding object is closed); the exhibit names them in
// method.heuristics.
type Finding struct {
	Kind       string   `json:"kind"`
	Subject    string   `json:"subject"`    // what it is about: an address, a txid, or txid:vout
	Evidence   []string `json:"evidence"`   // transaction hashes supporting it
	Confidence int      `json:"confidence"` // percent, 0-100
	Heuristic  string   `json:"-"`          // Info.Name of the heuristic that drew it
	Version    string   `json:"-"`          // Info.Version of that heuristic
}

// Exhibit returns the finding as an exhibit row.
func (f Finding) Exhibit() exhibit.Finding {
	ev := f.Evidence
	if ev == nil {
		ev = []string{}
	}
	return exhibit.Finding{Kind: f.Kind, Subject: f.Subject, Evidence: ev, Confidence: clampConfidence(f.Confidence)}
}

func clampConfidence(c int) int {
	switch {
	case c < 0:
		return 0
	case c > 100:
		return 100
	}
	return c
}

// Info names a heuristic as method.heuristics records it. Params holds the
// parameters the heuristic ran with, keyed as in the configuration; values
// are strings, integers or booleans, never floating-point numbers (the
// exhibit's digest cannot represent them): a ratio is a decimal string and
// an amount is in base units.
type Info struct {
	Name    string         `json:"name"`
	Version string         `json:"version"`
	Params  map[string]any `json:"params"`
}

// Exhibit returns the info as a method.heuristics entry.
func (i Info) Exhibit() (exhibit.Heuristic, error) {
	p := i.Params
	if p == nil {
		p = map[string]any{}
	}
	raw, err := exhibit.MarshalParams(p)
	if err != nil {
		return exhibit.Heuristic{}, err
	}
	return exhibit.Heuristic{Name: i.Name, Version: i.Version, Params: raw}, nil
}

// Heuristic is anything that can name itself for method.heuristics.
type Heuristic interface {
	Info() Info
}
