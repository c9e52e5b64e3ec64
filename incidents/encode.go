package incidents

import (
	"io"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// Encode writes the catalog in the catalog file format (Parse reads it
// back to an equal catalog). Addresses that came from an address file are
// written out one by one; comments are not kept.
func (c *Catalog) Encode(w io.Writer) error {
	if _, err := io.WriteString(w, "# chaintrace incident catalog (see docs/incidents.md)\n"); err != nil {
		return err
	}
	list := seqNode(false)
	for _, inc := range c.Incidents {
		list.Content = append(list.Content, inc.node())
	}
	root := mapNode(false)
	addKV(root, "schema", strNode(Schema))
	addKV(root, "incidents", list)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}

func (inc *Incident) node() *yaml.Node {
	m := mapNode(false)
	addKV(m, "id", strNode(inc.ID))
	if inc.Name != "" {
		addKV(m, "name", strNode(inc.Name))
	}
	if inc.Victim != "" {
		addKV(m, "victim", strNode(inc.Victim))
	}
	if inc.Date.Value != "" {
		d := mapNode(true)
		addKV(d, "value", strNode(inc.Date.Value))
		addFact(d, &inc.Date.Fact)
		addKV(m, "date", d)
	}
	if len(inc.Chains) > 0 {
		addKV(m, "chains", strsNode(inc.Chains))
	}
	if inc.Network != "" {
		addKV(m, "network", strNode(inc.Network))
	}
	if len(inc.Sources) > 0 {
		s := seqNode(false)
		for _, src := range inc.Sources {
			e := mapNode(false)
			addKV(e, "id", strNode(src.ID))
			addKV(e, "title", strNode(src.Title))
			s.Content = append(s.Content, e)
		}
		addKV(m, "sources", s)
	}
	if len(inc.Amounts) > 0 {
		s := seqNode(false)
		for i := range inc.Amounts {
			a := inc.Amounts[i].node()
			addFact(a, &inc.Amounts[i].Fact)
			s.Content = append(s.Content, a)
		}
		addKV(m, "amounts", s)
	}
	if len(inc.Addresses) > 0 {
		s := seqNode(false)
		for _, a := range inc.Addresses {
			e := mapNode(true)
			addKV(e, "chain", strNode(a.Chain))
			addKV(e, "address", strNode(a.Address))
			addKV(e, "role", strNode(a.Role))
			optStr(e, "label", a.Label)
			if a.Level > 0 {
				addKV(e, "level", intNode(uint64(a.Level)))
			}
			if a.Block > 0 {
				addKV(e, "block", intNode(a.Block))
			}
			optStr(e, "sdn", a.SDN)
			optStr(e, "note", a.Note)
			addFact(e, &a.Fact)
			s.Content = append(s.Content, e)
		}
		addKV(m, "addresses", s)
	}
	if len(inc.Txs) > 0 {
		s := seqNode(false)
		for _, t := range inc.Txs {
			e := mapNode(true)
			addKV(e, "chain", strNode(t.Chain))
			addKV(e, "hash", strNode(t.Hash))
			addKV(e, "role", strNode(t.Role))
			if t.Block > 0 {
				addKV(e, "block", intNode(t.Block))
			}
			optStr(e, "from", t.From)
			optStr(e, "to", t.To)
			optStr(e, "asset", t.Asset)
			if t.Amount != nil {
				addKV(e, "amount", t.Amount.node())
			}
			if t.Internal {
				addKV(e, "internal", boolNode(true))
			}
			optStr(e, "note", t.Note)
			addFact(e, &t.Fact)
			s.Content = append(s.Content, e)
		}
		addKV(m, "transactions", s)
	}
	if len(inc.Notes) > 0 {
		s := seqNode(false)
		for _, n := range inc.Notes {
			e := mapNode(true)
			addKV(e, "text", strNode(n.Text))
			addFact(e, &n.Fact)
			s.Content = append(s.Content, e)
		}
		addKV(m, "notes", s)
	}
	return m
}

func (a *Amount) node() *yaml.Node {
	e := mapNode(true)
	addKV(e, "value", strNode(a.Value))
	addKV(e, "unit", strNode(a.Unit))
	optStr(e, "precision", a.Precision)
	optStr(e, "stated", a.Stated)
	if a.Approximate {
		addKV(e, "approximate", boolNode(true))
	}
	optStr(e, "token", a.Token)
	if a.Decimals != nil {
		addKV(e, "decimals", intNode(uint64(*a.Decimals)))
	}
	optStr(e, "note", a.Note)
	return e
}

func addFact(m *yaml.Node, f *Fact) {
	if len(f.Sources) == 1 {
		addKV(m, "source", strNode(f.Sources[0]))
	} else if len(f.Sources) > 1 {
		addKV(m, "source", strsNode(f.Sources))
	}
	addKV(m, "confirmed", boolNode(f.Confirmed))
}

func mapNode(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func seqNode(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

// strNode is a string scalar; it is quoted whenever it would otherwise
// read back as something else (a number, a date, a boolean).
func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func strsNode(ss []string) *yaml.Node {
	n := seqNode(true)
	for _, s := range ss {
		n.Content = append(n.Content, strNode(s))
	}
	return n
}

func intNode(v uint64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(v, 10)}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func addKV(m *yaml.Node, k string, v *yaml.Node) {
	m.Content = append(m.Content, strNode(k), v)
}

func optStr(m *yaml.Node, k, v string) {
	if v != "" {
		addKV(m, k, strNode(v))
	}
}
