package incidents

import (
	"fmt"
	"strings"
)

// Merge returns the catalog base extended by each local catalog in turn;
// none of them is changed.
//
// A local incident whose id is new is added (it must be a whole incident:
// name, date, victim, chains, sources). One whose id is already catalogued
// extends it: its sources, amounts, addresses, transactions and notes are
// added, and a fact both state (the same address or transaction on the same
// chain, the same amount, the same note) is kept once, with the sources of
// both and confirmed if either confirms it. Two catalogs that state
// different things about one fact (an address's role, level or block; a
// transaction's role, block, from, to, asset or amount; a source id's
// title; the incident's name, victim, date or network) are in conflict:
// Merge then returns an *Error matching ErrConflict whose problems name
// both lines.
func Merge(base *Catalog, local ...*Catalog) (*Catalog, error) {
	return merge(base, false, local...)
}

// Append is Merge for catalog files that extend the same base (a user's
// local catalog and a file imported into it): an entry that extends an
// incident neither of them holds is kept as it is, an extension, for a
// later Merge with the base to check.
func Append(local *Catalog, more ...*Catalog) (*Catalog, error) {
	return merge(local, true, more...)
}

func merge(base *Catalog, allowPartial bool, local ...*Catalog) (*Catalog, error) {
	out := &Catalog{Files: append([]string{}, base.Files...)}
	byID := map[string]*Incident{}
	for _, inc := range base.Incidents {
		c := inc.clone()
		out.Incidents = append(out.Incidents, c)
		byID[c.ID] = c
	}
	var problems []Problem
	for _, l := range local {
		out.Files = append(out.Files, l.Files...)
		for _, inc := range l.Incidents {
			have, ok := byID[inc.ID]
			if !ok {
				if inc.Name == "" && !allowPartial {
					problems = append(problems, Problem{File: inc.File, Line: inc.Line, Msg: fmt.Sprintf(
						"incident %s is not in the catalog (%s); a new incident needs name, date, victim, chains and sources", inc.ID, strings.Join(out.IDs(), ", "))})
					continue
				}
				c := inc.clone()
				out.Incidents = append(out.Incidents, c)
				byID[c.ID] = c
				continue
			}
			problems = append(problems, have.extend(inc)...)
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems, Kind: ErrConflict}
	}
	return out, nil
}

func conflict(at *Fact, what string, here, there any, other *Fact) Problem {
	return Problem{File: at.File, Line: at.Line, Msg: fmt.Sprintf("%s: %v here, but %v at %s", what, here, there, other.Where())}
}

// extend adds the facts of x (an incident of the same id) to inc.
func (inc *Incident) extend(x *Incident) []Problem {
	var ps []Problem
	incFact := &Fact{File: inc.File, Line: inc.Line}
	xFact := &Fact{File: x.File, Line: x.Line}
	what := "incident " + inc.ID
	for _, f := range []struct {
		name      string
		mine, new string
	}{{"name", inc.Name, x.Name}, {"victim", inc.Victim, x.Victim}, {"network", inc.Network, x.Network}} {
		if f.new != "" && f.mine != "" && f.new != f.mine {
			ps = append(ps, conflict(xFact, what+": "+f.name, fmt.Sprintf("%q", f.new), fmt.Sprintf("%q", f.mine), incFact))
		}
	}
	if inc.Network == "" {
		inc.Network = x.Network
	}
	if x.Date.Value != "" {
		if inc.Date.Value != "" && x.Date.Value != inc.Date.Value {
			ps = append(ps, conflict(&x.Date.Fact, what+": date", x.Date.Value, inc.Date.Value, &inc.Date.Fact))
		} else if inc.Date.Value == "" {
			inc.Date = x.Date
		} else {
			inc.Date.Sources = union(inc.Date.Sources, x.Date.Sources)
			inc.Date.Confirmed = inc.Date.Confirmed || x.Date.Confirmed
		}
	}
	for _, s := range x.Sources {
		if have, ok := inc.Source(s.ID); ok {
			if have.Title != s.Title {
				ps = append(ps, conflict(&Fact{File: s.File, Line: s.Line}, what+": source "+s.ID, fmt.Sprintf("%q", s.Title), fmt.Sprintf("%q", have.Title), &Fact{File: have.File, Line: have.Line}))
			}
			continue
		}
		inc.Sources = append(inc.Sources, s)
	}
	for _, c := range x.Chains {
		if !contains(inc.Chains, c) {
			inc.Chains = append(inc.Chains, c)
		}
	}
	addChain := func(c string) {
		if !contains(inc.Chains, c) {
			inc.Chains = append(inc.Chains, c)
		}
	}
	for _, a := range x.Amounts {
		i := inc.findAmount(&a)
		if i < 0 {
			inc.Amounts = append(inc.Amounts, a)
			continue
		}
		h := &inc.Amounts[i]
		h.Sources = union(h.Sources, a.Sources)
		h.Confirmed = h.Confirmed || a.Confirmed
	}
	for _, a := range x.Addresses {
		addChain(a.Chain)
		i := inc.findAddress(a.Chain, a.Canonical)
		if i < 0 {
			inc.Addresses = append(inc.Addresses, a)
			continue
		}
		h := &inc.Addresses[i]
		w := what + ": address " + a.Address
		n := len(ps)
		if a.Role != h.Role {
			ps = append(ps, conflict(&a.Fact, w+": role", fmt.Sprintf("%q", a.Role), fmt.Sprintf("%q", h.Role), &h.Fact))
		}
		if a.Level != 0 && h.Level != 0 && a.Level != h.Level {
			ps = append(ps, conflict(&a.Fact, w+": level", a.Level, h.Level, &h.Fact))
		}
		if a.Block != 0 && h.Block != 0 && a.Block != h.Block {
			ps = append(ps, conflict(&a.Fact, w+": block", a.Block, h.Block, &h.Fact))
		}
		if len(ps) > n {
			continue
		}
		h.Level = firstInt(h.Level, a.Level)
		h.Block = firstUint(h.Block, a.Block)
		h.Label = firstStr(h.Label, a.Label)
		h.SDN = firstStr(h.SDN, a.SDN)
		h.Note = firstStr(h.Note, a.Note)
		h.Sources = union(h.Sources, a.Sources)
		h.Confirmed = h.Confirmed || a.Confirmed
	}
	for _, t := range x.Txs {
		addChain(t.Chain)
		i := inc.findTx(t.Chain, t.Hash)
		if i < 0 {
			inc.Txs = append(inc.Txs, t)
			continue
		}
		h := &inc.Txs[i]
		w := what + ": transaction " + t.Hash
		n := len(ps)
		if t.Role != h.Role {
			ps = append(ps, conflict(&t.Fact, w+": role", fmt.Sprintf("%q", t.Role), fmt.Sprintf("%q", h.Role), &h.Fact))
		}
		if t.Block != 0 && h.Block != 0 && t.Block != h.Block {
			ps = append(ps, conflict(&t.Fact, w+": block", t.Block, h.Block, &h.Fact))
		}
		for _, f := range []struct{ name, mine, new string }{
			{"from", h.From, t.From}, {"to", h.To, t.To}, {"asset", h.Asset, t.Asset},
		} {
			if f.new != "" && f.mine != "" && f.new != f.mine {
				ps = append(ps, conflict(&t.Fact, w+": "+f.name, f.new, f.mine, &h.Fact))
			}
		}
		if t.Amount != nil && h.Amount != nil && (t.Amount.Value != h.Amount.Value || t.Amount.Unit != h.Amount.Unit) {
			ps = append(ps, conflict(&t.Fact, w+": amount", t.Amount.String(), h.Amount.String(), &h.Fact))
		}
		if len(ps) > n {
			continue
		}
		h.Block = firstUint(h.Block, t.Block)
		h.From = firstStr(h.From, t.From)
		h.To = firstStr(h.To, t.To)
		h.Asset = firstStr(h.Asset, t.Asset)
		h.Note = firstStr(h.Note, t.Note)
		if h.Amount == nil {
			h.Amount = t.Amount
		}
		h.Internal = h.Internal || t.Internal
		h.Sources = union(h.Sources, t.Sources)
		h.Confirmed = h.Confirmed || t.Confirmed
		if h.Amount != nil {
			h.Amount.Sources, h.Amount.Confirmed = h.Sources, h.Confirmed
		}
	}
	for _, nt := range x.Notes {
		found := false
		for i := range inc.Notes {
			if inc.Notes[i].Text == nt.Text {
				inc.Notes[i].Sources = union(inc.Notes[i].Sources, nt.Sources)
				inc.Notes[i].Confirmed = inc.Notes[i].Confirmed || nt.Confirmed
				found = true
			}
		}
		if !found {
			inc.Notes = append(inc.Notes, nt)
		}
	}
	// The extension's facts may cite the catalogued incident's sources;
	// now that both are known, every citation must resolve.
	if inc.Name == "" {
		return ps // an extension itself: Merge with the base checks it
	}
	inc.eachFact(func(f *Fact, what string) {
		for _, id := range f.Sources {
			if _, ok := inc.Source(id); !ok {
				ps = append(ps, Problem{File: f.File, Line: f.Line, Msg: fmt.Sprintf("incident %s: %s: source %q is not among the incident's sources", inc.ID, what, id)})
			}
		}
	})
	return ps
}

// eachFact calls fn with every fact of the incident.
func (inc *Incident) eachFact(fn func(f *Fact, what string)) {
	if inc.Date.Value != "" {
		fn(&inc.Date.Fact, "date")
	}
	for i := range inc.Amounts {
		fn(&inc.Amounts[i].Fact, "amount "+inc.Amounts[i].String())
	}
	for i := range inc.Addresses {
		fn(&inc.Addresses[i].Fact, "address "+inc.Addresses[i].Address)
	}
	for i := range inc.Txs {
		fn(&inc.Txs[i].Fact, "transaction "+inc.Txs[i].Hash)
	}
	for i := range inc.Notes {
		fn(&inc.Notes[i].Fact, "note")
	}
}

func (inc *Incident) findAmount(a *Amount) int {
	for i := range inc.Amounts {
		h := &inc.Amounts[i]
		if h.Value == a.Value && h.Unit == a.Unit && h.Approximate == a.Approximate {
			return i
		}
	}
	return -1
}

func (inc *Incident) findAddress(chain, canonical string) int {
	for i := range inc.Addresses {
		if inc.Addresses[i].Chain == chain && strings.EqualFold(inc.Addresses[i].Canonical, canonical) {
			return i
		}
	}
	return -1
}

func (inc *Incident) findTx(chain, hash string) int {
	for i := range inc.Txs {
		if inc.Txs[i].Chain == chain && inc.Txs[i].Hash == hash {
			return i
		}
	}
	return -1
}

// clone is a deep copy.
func (inc *Incident) clone() *Incident {
	c := *inc
	c.Chains = append([]string(nil), inc.Chains...)
	c.Sources = append([]Source(nil), inc.Sources...)
	c.Date.Sources = append([]string(nil), inc.Date.Sources...)
	c.Amounts = make([]Amount, len(inc.Amounts))
	for i, a := range inc.Amounts {
		c.Amounts[i] = a.clone()
	}
	c.Addresses = make([]Address, len(inc.Addresses))
	for i, a := range inc.Addresses {
		a.Sources = append([]string(nil), a.Sources...)
		c.Addresses[i] = a
	}
	c.Txs = make([]Tx, len(inc.Txs))
	for i, t := range inc.Txs {
		t.Sources = append([]string(nil), t.Sources...)
		if t.Amount != nil {
			a := t.Amount.clone()
			t.Amount = &a
		}
		c.Txs[i] = t
	}
	c.Notes = make([]Note, len(inc.Notes))
	for i, n := range inc.Notes {
		n.Sources = append([]string(nil), n.Sources...)
		c.Notes[i] = n
	}
	return &c
}

func (a Amount) clone() Amount {
	a.Sources = append([]string(nil), a.Sources...)
	if a.Decimals != nil {
		d := *a.Decimals
		a.Decimals = &d
	}
	return a
}

func firstStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func firstUint(a, b uint64) uint64 {
	if a != 0 {
		return a
	}
	return b
}
