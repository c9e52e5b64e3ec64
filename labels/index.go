package labels

import (
	"fmt"
	"sort"
	"strings"
)

// Index is an in-memory label lookup built from one or more Sets. It is not
// safe for concurrent Add; concurrent lookups without Add are safe.
type Index struct {
	sets   map[string]SetInfo
	byAddr map[string][]Label // lookupKey -> labels, kept sorted
	chains map[string]bool
}

// NewIndex returns an Index holding the given sets (see Add for the
// conflict rule). The result does not depend on the order of sets.
func NewIndex(sets ...*Set) (*Index, error) {
	ix := &Index{sets: map[string]SetInfo{}, byAddr: map[string][]Label{}, chains: map[string]bool{}}
	for _, s := range sets {
		if err := ix.Add(s); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// Add adds a set. Adding a set whose name and SHA-256 are already present is
// a no-op; a different set under an existing name is ErrSetConflict.
// Identical labels (same set, label, category and source for one address)
// are kept once.
func (ix *Index) Add(s *Set) error {
	if prev, ok := ix.sets[s.Name]; ok {
		if prev.SHA256 == s.SHA256 {
			return nil
		}
		return fmt.Errorf("%w: two label sets named %q (sha256 %s and %s)", ErrSetConflict, s.Name, prev.SHA256, s.SHA256)
	}
	ix.sets[s.Name] = s.Info()
	touched := map[string]bool{}
	for _, l := range s.Labels {
		if l.LabelSet == "" {
			l.LabelSet = s.Name
		}
		k := lookupKey(l.Chain, l.Canonical)
		dup := false
		for _, o := range ix.byAddr[k] {
			if o.LabelSet == l.LabelSet && o.Label == l.Label && o.Category == l.Category && o.Source == l.Source {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		ix.byAddr[k] = append(ix.byAddr[k], l)
		ix.chains[l.Chain] = true
		touched[k] = true
	}
	for k := range touched {
		sortLabels(ix.byAddr[k])
	}
	return nil
}

// sortLabels orders labels of one address by set name, then label, then
// category (then source and line, to make the order total).
func sortLabels(ls []Label) {
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := ls[i], ls[j]
		if a.LabelSet != b.LabelSet {
			return a.LabelSet < b.LabelSet
		}
		if a.Label != b.Label {
			return a.Label < b.Label
		}
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Line < b.Line
	})
}

// chainCode maps a chain name to the code the index keys it under: the
// NormalizeChain code, or else, for a chain the index holds labels for under
// its own lower-case name (OFAC currency tags such as "xmr" or "dash", see
// ofac.go), that name.
func (ix *Index) chainCode(chain string) (string, bool) {
	if c, ok := NormalizeChain(chain); ok {
		return c, true
	}
	c := strings.ToLower(strings.TrimSpace(chain))
	return c, ix.chains[c]
}

// Lookup returns the labels of an address on a chain ("eth", "ETH",
// "bitcoin", ... are accepted, and any other chain the index holds labels
// for, by its lower-case name), in deterministic order (set name, label,
// category). Eth addresses match case-insensitively (checksummed, lower or
// upper case); bech32 addresses too; other addresses exactly. The result is
// a copy; nil when nothing is known.
func (ix *Index) Lookup(chain, address string) []Label {
	c, ok := ix.chainCode(chain)
	if !ok {
		return nil
	}
	ls := ix.byAddr[lookupKey(c, address)]
	if len(ls) == 0 {
		return nil
	}
	return append([]Label(nil), ls...)
}

// LookupAny returns the labels of an address on every chain the index holds
// labels for (for `labels show ADDRESS`, where no chain is given), ordered
// by chain, then as Lookup.
func (ix *Index) LookupAny(address string) []Label {
	chains := make([]string, 0, len(ix.chains))
	for c := range ix.chains {
		chains = append(chains, c)
	}
	sort.Strings(chains)
	var out []Label
	for _, c := range chains {
		out = append(out, ix.byAddr[lookupKey(c, address)]...)
	}
	return out
}

// IsStop reports the first label (in Lookup order) of the address whose
// category is one of categories (compared after NormalizeCategory), i.e.
// whether a trace should stop at this address.
func (ix *Index) IsStop(chain, addr string, categories []string) (Label, bool) {
	if len(categories) == 0 {
		return Label{}, false
	}
	want := make(map[string]bool, len(categories))
	for _, c := range categories {
		want[NormalizeCategory(c)] = true
	}
	c, ok := ix.chainCode(chain)
	if !ok {
		return Label{}, false
	}
	for _, l := range ix.byAddr[lookupKey(c, addr)] {
		if l.Category != "" && want[l.Category] {
			return l, true
		}
	}
	return Label{}, false
}

// Sets returns the provenance of every set in the index, sorted by name.
func (ix *Index) Sets() []SetInfo {
	out := make([]SetInfo, 0, len(ix.sets))
	for _, s := range ix.sets {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Addresses returns the number of distinct (chain, address) keys held.
func (ix *Index) Addresses() int { return len(ix.byAddr) }

// String summarises the index, e.g. for logs.
func (ix *Index) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "labels.Index{%d addresses", len(ix.byAddr))
	for _, s := range ix.Sets() {
		fmt.Fprintf(&b, "; %s: %d entries", s.Name, s.Entries)
	}
	b.WriteString("}")
	return b.String()
}
