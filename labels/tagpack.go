package labels

import (
	"io"
	"path/filepath"

	"github.com/chaintrace/chaintrace/internal/yamlerr"
	yaml "go.yaml.in/yaml/v3"
)

// packOnlyKeys are TagPack header keys that describe the pack itself and
// are not inherited by its tags.
var packOnlyKeys = map[string]bool{"title": true, "description": true, "tags": true}

// scalar is a scalar value of a TagPack key with the line it is on.
type scalar struct {
	value string
	line  int
}

// parseTagPack reads a GraphSense TagPack.
//
// The header's scalar keys (all but title, description and tags) are
// inherited by every tag unless the tag sets the same key. Per tag:
// address and label are required; the chain is the effective `network` if
// present, else the effective `currency` ("ETH" → eth, "BTC" → btc, ...; a
// currency that is no chain, e.g. a token symbol, on a 0x+40-hex address is
// an ERC-20 token and counts as eth). Non-scalar values other than tags are
// ignored (e.g. newer packs' `concepts` lists).
func parseTagPack(name string, r io.Reader, opt Options) (*Set, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, reason := yamlerr.Line(err.Error(), data)
		return nil, perr(name, line, ErrMalformed, "malformed YAML: %s", reason)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, perr(name, 1, ErrBadHeader, "empty TagPack")
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, perr(name, root.Line, ErrBadHeader, "TagPack top level is not a mapping of header keys and tags")
	}

	header := map[string]scalar{}
	var tags *yaml.Node
	var tagsLine int
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, perr(name, k.Line, ErrBadHeader, "header key is not a scalar")
		}
		if prev, dup := seen[k.Value]; dup {
			return nil, perr(name, k.Line, ErrBadHeader, "header key %q already defined at line %d", k.Value, prev)
		}
		seen[k.Value] = k.Line
		if k.Value == "tags" {
			tags, tagsLine = v, k.Line
			continue
		}
		if k.Value == "<<" {
			return nil, perr(name, k.Line, ErrBadHeader, "YAML merge keys are not supported in a TagPack")
		}
		if v.Kind == yaml.ScalarNode && !isNull(v) {
			header[k.Value] = scalar{v.Value, v.Line}
		}
	}
	if tags == nil {
		return nil, perr(name, root.Line, ErrBadHeader, "TagPack has no tags list")
	}
	set := &Set{Title: header["title"].value}
	if isNull(tags) {
		return set, nil
	}
	if tags.Kind != yaml.SequenceNode {
		return nil, perr(name, tagsLine, ErrBadHeader, "tags is not a list")
	}
	base := filepath.Base(name)
	set.Labels = make([]Label, 0, len(tags.Content))
	for _, t := range tags.Content {
		t = deref(t)
		if t.Kind != yaml.MappingNode {
			return nil, perr(name, t.Line, ErrMalformed, "tag is not a mapping")
		}
		eff := make(map[string]scalar, len(header)+len(t.Content)/2)
		for k, v := range header {
			if !packOnlyKeys[k] {
				eff[k] = v
			}
		}
		own := map[string]int{}
		for i := 0; i+1 < len(t.Content); i += 2 {
			k, v := t.Content[i], deref(t.Content[i+1])
			if k.Kind != yaml.ScalarNode {
				return nil, perr(name, k.Line, ErrMalformed, "tag key is not a scalar")
			}
			if prev, dup := own[k.Value]; dup {
				return nil, perr(name, k.Line, ErrMalformed, "tag key %q already defined at line %d", k.Value, prev)
			}
			own[k.Value] = k.Line
			if packOnlyKeys[k.Value] {
				continue
			}
			if v.Kind != yaml.ScalarNode {
				if k.Value == "address" || k.Value == "label" {
					return nil, perr(name, v.Line, ErrMalformed, "tag %s is not a scalar", k.Value)
				}
				delete(eff, k.Value)
				continue
			}
			if isNull(v) {
				// An explicit null clears an inherited value.
				delete(eff, k.Value)
				continue
			}
			eff[k.Value] = scalar{v.Value, v.Line}
		}
		l, err := tagLabel(name, t.Line, eff, opt, &set.Warnings)
		if err != nil {
			return nil, err
		}
		if l.Source == "" {
			l.Source = set.Title
		}
		if l.Source == "" {
			l.Source = base
		}
		set.Labels = append(set.Labels, l)
	}
	return set, nil
}

// tagLabel builds the Label of one tag from its effective (inherited +
// own) scalar fields. line is the tag's first line.
func tagLabel(name string, line int, eff map[string]scalar, opt Options, warns *[]string) (Label, error) {
	addr, ok := eff["address"]
	if !ok || addr.value == "" {
		return Label{}, perr(name, line, ErrMissingAddress, "tag without address")
	}
	lbl, ok := eff["label"]
	if !ok || lbl.value == "" {
		return Label{}, perr(name, line, ErrMissingLabel, "tag without label (address %s)", addr.value)
	}

	var chain string
	if nw, ok := eff["network"]; ok {
		c, known := NormalizeChain(nw.value)
		if !known {
			return Label{}, perr(name, nw.line, ErrUnknownChain, "unknown chain: network %q", nw.value)
		}
		chain = c
	} else if cur, ok := eff["currency"]; ok {
		c, known := NormalizeChain(cur.value)
		switch {
		case known:
			chain = c
		case isEthShaped(addr.value):
			chain = ChainETH // a token on Ethereum (ERC-20 symbol as currency)
		default:
			return Label{}, perr(name, cur.line, ErrUnknownChain, "unknown chain: currency %q for address %s", cur.value, addr.value)
		}
	} else {
		return Label{}, perr(name, line, ErrUnknownChain, "unknown chain: tag has neither currency nor network (address %s)", addr.value)
	}

	l := Label{
		Chain:   chain,
		Address: addr.value,
		Label:   lbl.value,
		Line:    line,
	}
	if err := checkAddress(name, addr.line, opt, &l, warns); err != nil {
		return Label{}, err
	}
	for k, v := range eff {
		switch k {
		case "address", "label", "currency", "network":
		case "category":
			l.Category = NormalizeCategory(v.value)
			if l.Category != v.value {
				l.CategoryRaw = v.value
			}
		case "abuse":
			l.Abuse = v.value
		case "actor":
			l.Actor = v.value
		case "source":
			l.Source = v.value
		case "confidence":
			l.Confidence = v.value
		case "creator":
			l.Creator = v.value
		case "lastmod":
			l.LastMod = v.value
		default:
			if l.Extra == nil {
				l.Extra = map[string]string{}
			}
			l.Extra[k] = v.value
		}
	}
	return l, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
