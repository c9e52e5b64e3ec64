package watch

import (
	"slices"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
)

// Reason kinds: why an address is watched.
const (
	ReasonExhibit = "exhibit" // a seed or reached address of an exhibit
	ReasonList    = "list"    // a line of an address list
	ReasonLabel   = "label"   // a label of a watched category
)

// Reason says why an address is watched: where it came from, so that an
// alert names the case or list an investigator put it on.
type Reason struct {
	Kind   string `json:"kind"`   // ReasonExhibit, ReasonList or ReasonLabel
	Source string `json:"source"` // the file's base name
	// Case is the exhibit's case id (else its title), for ReasonExhibit.
	Case string `json:"case,omitempty"`
	// Detail says more: "seed" or "hop N" for an exhibit, the comment on
	// the list's line, the label's source for a label.
	Detail string `json:"detail,omitempty"`
	// Label and Category are the label that put the address on watch.
	Label    string `json:"label,omitempty"`
	Category string `json:"category,omitempty"`
	// Line is the line of the list or label file, when known.
	Line int `json:"line,omitempty"`
}

// Watchlist is the set of watched addresses of one chain and why each is
// watched. Addresses are given in their canonical display form (EIP-55 on
// eth, as the chain adapters write transfer rows); look-ups on eth ignore
// case.
type Watchlist struct {
	chain   chains.Chain
	entries map[string]*watchEntry
}

type watchEntry struct {
	address string
	reasons []Reason
}

// NewWatchlist returns an empty watchlist for chain.
func NewWatchlist(chain chains.Chain) *Watchlist {
	return &Watchlist{chain: chain, entries: map[string]*watchEntry{}}
}

// Key is the form an address is compared in: lower case on eth (where case
// is only a checksum) and for bech32 addresses, as given otherwise (base58
// is case-sensitive).
func Key(chain chains.Chain, addr string) string {
	if chain == chains.ETH {
		return strings.ToLower(addr)
	}
	l := strings.ToLower(addr)
	for _, hrp := range []string{"bc1", "tb1", "bcrt1", "sb1"} {
		if strings.HasPrefix(l, hrp) {
			return l
		}
	}
	return addr
}

// Chain is the watchlist's chain.
func (l *Watchlist) Chain() chains.Chain { return l.chain }

// Add puts addr on watch for reason r; the same reason twice is kept once.
func (l *Watchlist) Add(addr string, r Reason) {
	k := Key(l.chain, addr)
	e := l.entries[k]
	if e == nil {
		e = &watchEntry{address: addr}
		l.entries[k] = e
	}
	if !slices.Contains(e.reasons, r) {
		e.reasons = append(e.reasons, r)
	}
}

// Lookup returns the reasons addr is watched, and whether it is.
func (l *Watchlist) Lookup(addr string) ([]Reason, bool) {
	e := l.entries[Key(l.chain, addr)]
	if e == nil {
		return nil, false
	}
	return e.reasons, true
}

// Len is the number of watched addresses.
func (l *Watchlist) Len() int { return len(l.entries) }

// Counts is the number of addresses watched for each kind of reason (an
// address with several kinds counts under each).
func (l *Watchlist) Counts() map[string]int {
	out := map[string]int{}
	for _, e := range l.entries {
		seen := map[string]bool{}
		for _, r := range e.reasons {
			if !seen[r.Kind] {
				seen[r.Kind] = true
				out[r.Kind]++
			}
		}
	}
	return out
}
