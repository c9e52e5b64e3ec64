package incidents

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/internal/yamlerr"
	"github.com/chaintrace/chaintrace/labels"
	yaml "go.yaml.in/yaml/v3"
)

// Load reads a catalog file. Address files it references (address_files)
// are read relative to the file's directory. A file that cannot be read
// gives the os error (errors.Is(err, fs.ErrNotExist) ...); bad content an
// *Error matching ErrMalformed that names every problem with its line.
func Load(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a catalog from data. name names it in errors ("FILE:LINE:
// what"), and address files it references are read relative to name's
// directory.
func Parse(name string, data []byte) (*Catalog, error) {
	dir := filepath.Dir(name)
	return parse(name, data, func(rel string) (string, []byte, error) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		b, err := os.ReadFile(p)
		return p, b, err
	})
}

// opener reads a referenced file: it returns the name to use in errors.
type opener func(rel string) (name string, data []byte, err error)

var (
	idRE       = regexp.MustCompile(`^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-([0-9]{4})$`)
	sourceIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	decimalRE  = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?$`)
	unitRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	ethHashRE  = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)
	btcHashRE  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

type parser struct {
	file     string
	open     opener
	problems []Problem
}

func (p *parser) errf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Msg: oneLine(fmt.Sprintf(format, args...))})
}

func parse(name string, data []byte, open opener) (*Catalog, error) {
	p := &parser{file: name, open: open}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, reason := yamlerr.Line(err.Error(), data)
		p.errf(line, "malformed YAML: %s", reason)
		return nil, p.err()
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.errf(1, "empty catalog: want a mapping with schema: %s and an incidents list", Schema)
		return nil, p.err()
	}
	root := doc.Content[0]
	m := p.mapping(root, "the catalog", "schema", "incidents")
	if m == nil {
		return nil, p.err()
	}
	if v, ok := m["schema"]; ok {
		if s, ok := p.str(v, "schema"); ok && s != Schema {
			p.errf(v.Line, "schema %q: want %q", s, Schema)
		}
	}
	list, ok := m["incidents"]
	if !ok {
		p.errf(root.Line, "no incidents list")
		return nil, p.err()
	}
	cat := &Catalog{Files: []string{name}}
	if isNull(list) {
		return cat, p.err()
	}
	if list.Kind != yaml.SequenceNode {
		p.errf(list.Line, "incidents: want a list of incidents")
		return nil, p.err()
	}
	seen := map[string]int{}
	for _, n := range list.Content {
		inc := p.incident(n)
		if inc == nil {
			continue
		}
		if prev, dup := seen[inc.ID]; dup {
			p.errf(inc.Line, "incident %s is already defined at line %d", inc.ID, prev)
			continue
		}
		seen[inc.ID] = inc.Line
		cat.Incidents = append(cat.Incidents, inc)
	}
	return cat, p.err()
}

func (p *parser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	return &Error{Problems: p.problems, Kind: ErrMalformed}
}

// mapping checks that n is a mapping with only the allowed keys, each
// once, and returns its values by key.
func (p *parser) mapping(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errf(n.Line, "%s: want a mapping", what)
		return nil
	}
	out := map[string]*yaml.Node{}
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errf(k.Line, "%s: a key is not a scalar", what)
			continue
		}
		if prev, dup := lines[k.Value]; dup {
			p.errf(k.Line, "%s: key %q is already given at line %d", what, k.Value, prev)
			continue
		}
		lines[k.Value] = k.Line
		if !contains(allowed, k.Value) {
			p.errf(k.Line, "%s: unknown key %q (want one of %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out[k.Value] = v
	}
	return out
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errf(n.Line, "%s: want a single value", what)
		return "", false
	}
	s := strings.TrimSpace(n.Value)
	if s == "" {
		p.errf(n.Line, "%s is empty", what)
		return "", false
	}
	return s, true
}

func (p *parser) strList(n *yaml.Node, what string) ([]string, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := p.str(n, what)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	case yaml.SequenceNode:
		var out []string
		for _, e := range n.Content {
			s, ok := p.str(deref(e), what)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			p.errf(n.Line, "%s is empty", what)
			return nil, false
		}
		return out, true
	}
	p.errf(n.Line, "%s: want a value or a list of values", what)
	return nil, false
}

func (p *parser) uint(n *yaml.Node, what string) (uint64, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.errf(n.Line, "%s %q: want a whole number (digits only)", what, s)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.errf(n.Line, "%s %q: want true or false", what, n.Value)
		return false, false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
}

var incidentKeys = []string{"id", "name", "victim", "date", "chains", "network", "sources", "amounts", "addresses", "transactions", "notes", "address_files"}

// incident reads one incident; nil when it has no usable id.
func (p *parser) incident(n *yaml.Node) *Incident {
	n = deref(n)
	m := p.mapping(n, "incident", incidentKeys...)
	if m == nil {
		return nil
	}
	inc := &Incident{File: p.file, Line: n.Line}
	idNode, ok := m["id"]
	if !ok {
		p.errf(n.Line, "incident without id")
		return nil
	}
	id, ok := p.str(idNode, "id")
	if !ok {
		return nil
	}
	if !idRE.MatchString(id) {
		p.errf(idNode.Line, "incident id %q: want NAME-YEAR in lower case (letters, digits, hyphens), e.g. bybit-2025", id)
		return nil
	}
	inc.ID = id
	what := "incident " + id
	_, full := m["name"]
	if full {
		for _, k := range []string{"date", "victim", "chains", "sources"} {
			if _, ok := m[k]; !ok {
				p.errf(n.Line, "%s: no %s (a new incident needs name, date, victim, chains and sources)", what, k)
			}
		}
	}
	if v, ok := m["name"]; ok {
		inc.Name, _ = p.str(v, what+": name")
	}
	if v, ok := m["victim"]; ok {
		inc.Victim, _ = p.str(v, what+": victim")
	}
	if v, ok := m["chains"]; ok {
		if cs, ok := p.strList(v, what+": chains"); ok {
			for _, c := range cs {
				if c != ChainETH && c != ChainBTC {
					p.errf(v.Line, "%s: chain %q: want eth or btc", what, c)
					continue
				}
				if contains(inc.Chains, c) {
					p.errf(v.Line, "%s: chain %s is listed twice", what, c)
					continue
				}
				inc.Chains = append(inc.Chains, c)
			}
		}
	}
	net := &chaincfg.MainNetParams
	if v, ok := m["network"]; ok {
		if s, ok := p.str(v, what+": network"); ok {
			if params, err := bitcoin.NetworkByName(s); err != nil {
				p.errf(v.Line, "%s: network: %v", what, err)
			} else {
				net, inc.Network = params, params.Name
			}
		}
	}
	if v, ok := m["sources"]; ok {
		p.sources(inc, v)
	}
	if v, ok := m["date"]; ok {
		p.date(inc, v, full)
	}
	defChain := ""
	if len(inc.Chains) == 1 {
		defChain = inc.Chains[0]
	}
	fc := factContext{inc: inc, what: what, defChain: defChain, net: net, full: full}
	if v, ok := m["amounts"]; ok {
		for _, e := range p.items(v, what+": amounts") {
			if a, ok := p.amount(fc, e, true); ok {
				inc.Amounts = append(inc.Amounts, *a)
			}
		}
	}
	if v, ok := m["addresses"]; ok {
		for _, e := range p.items(v, what+": addresses") {
			if a, ok := p.address(fc, e); ok {
				inc.Addresses = append(inc.Addresses, a)
			}
		}
	}
	if v, ok := m["transactions"]; ok {
		for _, e := range p.items(v, what+": transactions") {
			if t, ok := p.tx(fc, e); ok {
				inc.Txs = append(inc.Txs, t)
			}
		}
	}
	if v, ok := m["notes"]; ok {
		for _, e := range p.items(v, what+": notes") {
			if nt, ok := p.note(fc, e); ok {
				inc.Notes = append(inc.Notes, nt)
			}
		}
	}
	if v, ok := m["address_files"]; ok {
		for _, e := range p.items(v, what+": address_files") {
			p.addressFile(fc, e)
		}
	}
	p.checkDuplicates(inc)
	if !full && len(inc.Amounts)+len(inc.Addresses)+len(inc.Txs)+len(inc.Notes) == 0 && len(inc.Sources) == 0 && inc.Date.Value == "" {
		p.errf(n.Line, "%s: no name and no facts (a new incident needs name, date, victim, chains and sources; an entry that extends a catalogued incident needs facts)", what)
	}
	if inc.Date.Value != "" {
		if m := idRE.FindStringSubmatch(id); m != nil && m[1] != inc.Date.Value[:4] {
			p.errf(idNode.Line, "incident id %q: its year %s is not the year of its date %s", id, m[1], inc.Date.Value)
		}
	}
	return inc
}

// factContext is what reading a fact needs to know of its incident.
type factContext struct {
	inc      *Incident
	what     string
	defChain string
	net      *chaincfg.Params
	full     bool // a new incident: its facts may cite only its own sources
}

func (p *parser) items(n *yaml.Node, what string) []*yaml.Node {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n.Line, "%s: want a list", what)
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		out[i] = deref(e)
	}
	return out
}

func (p *parser) sources(inc *Incident, n *yaml.Node) {
	what := "incident " + inc.ID + ": sources"
	items := p.items(n, what)
	if len(items) == 0 && !isNull(n) && n.Kind == yaml.SequenceNode {
		p.errf(n.Line, "%s is empty", what)
	}
	seen := map[string]int{}
	for _, e := range items {
		m := p.mapping(e, what, "id", "title")
		if m == nil {
			continue
		}
		s := Source{Line: e.Line, File: p.file}
		idn, ok1 := m["id"]
		tn, ok2 := m["title"]
		if !ok1 || !ok2 {
			p.errf(e.Line, "%s: a source needs an id and a title", what)
			continue
		}
		if s.ID, ok1 = p.str(idn, what+": id"); !ok1 {
			continue
		}
		if !sourceIDRE.MatchString(s.ID) {
			p.errf(idn.Line, "%s: id %q: want lower-case letters, digits, '.', '_' or '-'", what, s.ID)
			continue
		}
		if s.Title, ok2 = p.str(tn, what+": title"); !ok2 {
			continue
		}
		if prev, dup := seen[s.ID]; dup {
			p.errf(idn.Line, "%s: id %s is already defined at line %d", what, s.ID, prev)
			continue
		}
		seen[s.ID] = idn.Line
		inc.Sources = append(inc.Sources, s)
	}
}

// date reads "date: 2019-11-27" (stated by every source of the incident)
// or "date: {value: 2019-11-27, source: [...], confirmed: false}".
func (p *parser) date(inc *Incident, n *yaml.Node, full bool) {
	what := "incident " + inc.ID + ": date"
	d := Date{Fact: Fact{Line: n.Line, File: p.file}}
	valNode := n
	if n.Kind == yaml.MappingNode {
		m := p.mapping(n, what, "value", "source", "confirmed")
		if m == nil {
			return
		}
		v, ok := m["value"]
		if !ok {
			p.errf(n.Line, "%s: no value", what)
			return
		}
		valNode = v
		if s, ok := m["source"]; ok {
			d.Sources, _ = p.strList(s, what+": source")
		}
		if c, ok := m["confirmed"]; ok {
			d.Confirmed, _ = p.boolean(c, what+": confirmed")
		}
	}
	s, ok := p.str(valNode, what)
	if !ok {
		return
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		p.errf(valNode.Line, "%s %q: want an ISO date, YYYY-MM-DD", what, s)
		return
	}
	d.Value = s
	if d.Sources == nil {
		for _, src := range inc.Sources {
			d.Sources = append(d.Sources, src.ID)
		}
	}
	if len(d.Sources) == 0 {
		p.errf(n.Line, "%s has no source", what)
	}
	p.checkSources(factContext{inc: inc, what: what, full: full}, d.Sources, n.Line)
	inc.Date = d
}

// fact reads the source and confirmed keys of a fact.
func (p *parser) fact(fc factContext, m map[string]*yaml.Node, line int, what string) Fact {
	f := Fact{Line: line, File: p.file}
	if s, ok := m["source"]; ok {
		f.Sources, _ = p.strList(s, what+": source")
		p.checkSources(fc, f.Sources, s.Line)
	} else {
		p.errf(line, "%s has no source (every fact names the notice or filing that states it)", what)
	}
	if c, ok := m["confirmed"]; ok {
		f.Confirmed, _ = p.boolean(c, what+": confirmed")
	}
	return f
}

// checkSources checks that a new incident's facts cite its own sources
// (an extension's may cite the catalogued incident's: Merge checks those).
func (p *parser) checkSources(fc factContext, ids []string, line int) {
	for _, id := range ids {
		if !sourceIDRE.MatchString(id) {
			p.errf(line, "%s: source %q: want a source id", fc.what, id)
			continue
		}
		if _, ok := fc.inc.Source(id); !ok && fc.full {
			p.errf(line, "%s: source %q is not among the incident's sources", fc.what, id)
		}
	}
}

func (p *parser) chainOf(fc factContext, m map[string]*yaml.Node, line int, what string) (string, bool) {
	v, ok := m["chain"]
	if !ok {
		if fc.defChain == "" {
			p.errf(line, "%s: no chain (the incident has more than one, or none)", what)
			return "", false
		}
		return fc.defChain, true
	}
	c, ok := p.str(v, what+": chain")
	if !ok {
		return "", false
	}
	if c != ChainETH && c != ChainBTC {
		p.errf(v.Line, "%s: chain %q: want eth or btc", what, c)
		return "", false
	}
	if len(fc.inc.Chains) > 0 && !contains(fc.inc.Chains, c) {
		p.errf(v.Line, "%s: chain %s is not among the incident's chains (%s)", what, c, strings.Join(fc.inc.Chains, ", "))
		return "", false
	}
	return c, true
}

// canonicalAddress validates an address for its chain and returns its
// canonical form.
func canonicalAddress(chain, addr string, net *chaincfg.Params) (string, error) {
	switch chain {
	case ChainETH:
		c, err := labels.CanonicalAddress(labels.ChainETH, addr)
		if err != nil {
			return "", err
		}
		return c, nil
	case ChainBTC:
		a, err := bitcoin.ParseAddress(addr, net)
		if err != nil {
			return "", err
		}
		return a.EncodeAddress(), nil
	}
	return "", fmt.Errorf("unknown chain %q", chain)
}

// CanonicalHash validates a transaction hash for its chain and returns it
// in lower case: 0x and 64 hex digits on eth, 64 hex digits on btc.
func CanonicalHash(chain, h string) (string, error) {
	switch chain {
	case ChainETH:
		if !ethHashRE.MatchString(h) {
			return "", fmt.Errorf("eth transaction hash %q: want 0x and 64 hex digits", h)
		}
	case ChainBTC:
		if !btcHashRE.MatchString(h) {
			return "", fmt.Errorf("btc txid %q: want 64 hex digits (no 0x)", h)
		}
	default:
		return "", fmt.Errorf("unknown chain %q", chain)
	}
	return strings.ToLower(h), nil
}

// CanonicalAddress validates an address of chain ("eth" or "btc") and
// returns its canonical form: EIP-55 for eth (mixed case must carry a
// correct checksum; all-lower and all-upper are accepted), the standard
// encoding on network (nil: mainnet) for btc.
func CanonicalAddress(chain, addr string, network *chaincfg.Params) (string, error) {
	if network == nil {
		network = &chaincfg.MainNetParams
	}
	return canonicalAddress(chain, addr, network)
}

var addressKeys = []string{"chain", "address", "role", "label", "level", "block", "sdn", "note", "source", "confirmed"}

func (p *parser) address(fc factContext, n *yaml.Node) (Address, bool) {
	what := fc.what + ": address"
	m := p.mapping(n, what, addressKeys...)
	if m == nil {
		return Address{}, false
	}
	a := Address{}
	chain, okc := p.chainOf(fc, m, n.Line, what)
	a.Chain = chain
	v, ok := m["address"]
	if !ok {
		p.errf(n.Line, "%s: no address", what)
		return Address{}, false
	}
	if a.Address, ok = p.str(v, what); !ok {
		return Address{}, false
	}
	what = fc.what + ": address " + a.Address
	if okc {
		c, err := canonicalAddress(chain, a.Address, fc.net)
		if err != nil {
			p.errf(v.Line, "%s: %v", fc.what, err)
			okc = false
		}
		a.Canonical = c
	}
	if r, ok := m["role"]; ok {
		a.Role, _ = p.str(r, what+": role")
	} else {
		p.errf(n.Line, "%s: no role", what)
	}
	if l, ok := m["label"]; ok {
		a.Label, _ = p.str(l, what+": label")
	}
	if l, ok := m["level"]; ok {
		if lv, ok := p.uint(l, what+": level"); ok {
			if lv == 0 || lv > 1000 {
				p.errf(l.Line, "%s: level %d: want a hop level from 1", what, lv)
			}
			a.Level = int(lv)
		}
	}
	if b, ok := m["block"]; ok {
		a.Block = p.block(b, what)
	}
	if s, ok := m["sdn"]; ok {
		a.SDN, _ = p.str(s, what+": sdn")
	}
	if s, ok := m["note"]; ok {
		a.Note, _ = p.str(s, what+": note")
	}
	a.Fact = p.fact(fc, m, n.Line, what)
	return a, okc
}

func (p *parser) block(n *yaml.Node, what string) uint64 {
	b, ok := p.uint(n, what+": block")
	if ok && b == 0 {
		p.errf(n.Line, "%s: block 0 is the genesis block; leave block out when the source states none", what)
	}
	return b
}

var amountKeys = []string{"value", "unit", "precision", "stated", "approximate", "token", "decimals", "note"}

// amount reads an amount; asFact: one of the incident's amounts (with
// source and confirmed), else a transaction's.
func (p *parser) amount(fc factContext, n *yaml.Node, asFact bool) (*Amount, bool) {
	what := fc.what + ": amount"
	keys := amountKeys
	if asFact {
		keys = append(append([]string{}, amountKeys...), "source", "confirmed")
	}
	m := p.mapping(n, what, keys...)
	if m == nil {
		return nil, false
	}
	a := &Amount{}
	good := true
	v, ok := m["value"]
	u, ok2 := m["unit"]
	if !ok || !ok2 {
		p.errf(n.Line, "%s: an amount needs a value and a unit", what)
		return nil, false
	}
	if a.Value, ok = p.str(v, what+": value"); ok && !decimalRE.MatchString(a.Value) {
		p.errf(v.Line, "%s: value %q: want an exact decimal number, digits with an optional fraction (no commas, signs or exponents)", what, a.Value)
		good = false
	}
	good = good && ok
	if a.Unit, ok = p.str(u, what+": unit"); ok && !unitRE.MatchString(a.Unit) {
		p.errf(u.Line, "%s: unit %q: want a currency code such as ETH, BTC, USDC or USD", what, a.Unit)
		good = false
	}
	good = good && ok
	if x, ok := m["precision"]; ok {
		if a.Precision, ok = p.str(x, what+": precision"); ok && (!decimalRE.MatchString(a.Precision) || isZeroDecimal(a.Precision)) {
			p.errf(x.Line, "%s: precision %q: want a positive decimal number", what, a.Precision)
			good = false
		}
	}
	if x, ok := m["stated"]; ok {
		a.Stated, _ = p.str(x, what+": stated")
	}
	if x, ok := m["approximate"]; ok {
		a.Approximate, _ = p.boolean(x, what+": approximate")
	}
	if x, ok := m["note"]; ok {
		a.Note, _ = p.str(x, what+": note")
	}
	if x, ok := m["token"]; ok {
		if s, ok := p.str(x, what+": token"); ok {
			c, err := labels.CanonicalAddress(labels.ChainETH, s)
			if err != nil {
				p.errf(x.Line, "%s: token: %v", what, err)
				good = false
			}
			a.Token = c
		}
	}
	if x, ok := m["decimals"]; ok {
		if d, ok := p.uint(x, what+": decimals"); ok {
			if d > 77 {
				p.errf(x.Line, "%s: decimals %d: want 0 to 77", what, d)
			}
			di := int(d)
			a.Decimals = &di
		}
	}
	if (a.Token == "") != (a.Decimals == nil) && good {
		p.errf(n.Line, "%s: token and decimals go together (a token amount is compared with Transfer logs of that contract)", what)
	}
	if asFact {
		a.Fact = p.fact(fc, m, n.Line, what)
	} else {
		a.Fact = Fact{Line: n.Line, File: p.file}
	}
	return a, good
}

var txKeys = []string{"chain", "hash", "role", "block", "from", "to", "asset", "amount", "internal", "note", "source", "confirmed"}

func (p *parser) tx(fc factContext, n *yaml.Node) (Tx, bool) {
	what := fc.what + ": transaction"
	m := p.mapping(n, what, txKeys...)
	if m == nil {
		return Tx{}, false
	}
	t := Tx{}
	chain, okc := p.chainOf(fc, m, n.Line, what)
	t.Chain = chain
	v, ok := m["hash"]
	if !ok {
		p.errf(n.Line, "%s: no hash", what)
		return Tx{}, false
	}
	h, ok := p.str(v, what+": hash")
	if !ok {
		return Tx{}, false
	}
	t.Hash = h
	what = fc.what + ": transaction " + h
	if okc {
		c, err := CanonicalHash(chain, h)
		if err != nil {
			p.errf(v.Line, "%s: %v", fc.what, err)
			okc = false
		}
		t.Hash = c
	}
	if r, ok := m["role"]; ok {
		t.Role, _ = p.str(r, what+": role")
	} else {
		p.errf(n.Line, "%s: no role", what)
	}
	if b, ok := m["block"]; ok {
		t.Block = p.block(b, what)
	}
	for _, k := range []string{"from", "to"} {
		x, ok := m[k]
		if !ok {
			continue
		}
		s, ok := p.str(x, what+": "+k)
		if !ok || !okc {
			continue
		}
		c, err := canonicalAddress(chain, s, fc.net)
		if err != nil {
			p.errf(x.Line, "%s: %s: %v", what, k, err)
			continue
		}
		if k == "from" {
			t.From = c
		} else {
			t.To = c
		}
	}
	if x, ok := m["asset"]; ok {
		t.Asset, _ = p.str(x, what+": asset")
	}
	if x, ok := m["amount"]; ok {
		if a, ok := p.amount(factContext{inc: fc.inc, what: what, net: fc.net, full: fc.full}, x, false); ok {
			t.Amount = a
		}
	}
	if x, ok := m["internal"]; ok {
		t.Internal, _ = p.boolean(x, what+": internal")
	}
	if x, ok := m["note"]; ok {
		t.Note, _ = p.str(x, what+": note")
	}
	t.Fact = p.fact(fc, m, n.Line, what)
	if t.Amount != nil {
		t.Amount.Sources, t.Amount.Confirmed = t.Sources, t.Confirmed
	}
	return t, okc
}

func (p *parser) note(fc factContext, n *yaml.Node) (Note, bool) {
	what := fc.what + ": note"
	m := p.mapping(n, what, "text", "source", "confirmed")
	if m == nil {
		return Note{}, false
	}
	v, ok := m["text"]
	if !ok {
		p.errf(n.Line, "%s: no text", what)
		return Note{}, false
	}
	nt := Note{}
	if nt.Text, ok = p.str(v, what+": text"); !ok {
		return Note{}, false
	}
	nt.Fact = p.fact(fc, m, n.Line, what)
	return nt, true
}

// addressFile reads an address_files entry: a CSV of addresses, each
// becoming an address fact with the entry's chain, role and sources.
//
// The CSV's header names its columns: "address" (required), "label" or
// "etherscan_label", and "level" (a hop level, may be empty). An address
// the incident already lists gets the row's label, level and sources.
func (p *parser) addressFile(fc factContext, n *yaml.Node) {
	what := fc.what + ": address_files"
	m := p.mapping(n, what, "file", "chain", "role", "source", "confirmed")
	if m == nil {
		return
	}
	fv, ok := m["file"]
	if !ok {
		p.errf(n.Line, "%s: no file", what)
		return
	}
	rel, ok := p.str(fv, what+": file")
	if !ok {
		return
	}
	if filepath.IsAbs(rel) || path.IsAbs(filepath.ToSlash(rel)) {
		p.errf(fv.Line, "%s: file %q: want a path relative to the catalog file", what, rel)
		return
	}
	chain, okc := p.chainOf(fc, m, n.Line, what)
	role := ""
	if r, ok := m["role"]; ok {
		role, _ = p.str(r, what+": role")
	} else {
		p.errf(n.Line, "%s: no role", what)
	}
	f := p.fact(fc, m, n.Line, what)
	if !okc || role == "" || len(f.Sources) == 0 {
		return
	}
	name, data, err := p.open(rel)
	if err != nil {
		p.errf(fv.Line, "%s: %s: %v", what, rel, errors.Unwrap(err))
		return
	}
	rows, problems := readAddressCSV(name, data)
	p.problems = append(p.problems, problems...)
	index := map[string]int{}
	for i, a := range fc.inc.Addresses {
		index[a.Chain+":"+strings.ToLower(a.Canonical)] = i
	}
	for _, r := range rows {
		c, err := canonicalAddress(chain, r.address, fc.net)
		if err != nil {
			p.problems = append(p.problems, Problem{File: name, Line: r.line, Msg: oneLine(err.Error())})
			continue
		}
		key := chain + ":" + strings.ToLower(c)
		if i, ok := index[key]; ok {
			a := &fc.inc.Addresses[i]
			if a.File == name {
				p.problems = append(p.problems, Problem{File: name, Line: r.line, Msg: fmt.Sprintf("address %s is already listed at line %d", r.address, a.Line)})
				continue
			}
			if a.Level == 0 {
				a.Level = r.level
			} else if r.level != 0 && r.level != a.Level {
				p.problems = append(p.problems, Problem{File: name, Line: r.line, Msg: fmt.Sprintf("address %s: level %d, but %s gives level %d", r.address, r.level, a.Where(), a.Level)})
			}
			if a.Label == "" {
				a.Label = r.label
			}
			a.Sources = union(a.Sources, f.Sources)
			continue
		}
		index[key] = len(fc.inc.Addresses)
		fc.inc.Addresses = append(fc.inc.Addresses, Address{
			Chain: chain, Address: r.address, Canonical: c, Role: role, Label: r.label, Level: r.level,
			Fact: Fact{Sources: f.Sources, Confirmed: f.Confirmed, Line: r.line, File: name},
		})
	}
}

type csvRow struct {
	address, label string
	level          int
	line           int
}

// readAddressCSV reads an address CSV (see addressFile).
func readAddressCSV(name string, data []byte) ([]csvRow, []Problem) {
	var problems []Problem
	bad := func(line int, format string, args ...any) {
		problems = append(problems, Problem{File: name, Line: line, Msg: oneLine(fmt.Sprintf(format, args...))})
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		bad(1, "no CSV header: %v", err)
		return nil, problems
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	ai, ok := col["address"]
	if !ok {
		bad(1, "CSV header %q has no address column", strings.Join(header, ","))
		return nil, problems
	}
	li, hasLabel := col["label"]
	if !hasLabel {
		li, hasLabel = col["etherscan_label"]
	}
	vi, hasLevel := col["level"]
	var rows []csvRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(pe.Line, "malformed CSV: %v", pe.Err)
			} else {
				bad(line, "malformed CSV: %v", err)
			}
			break
		}
		if len(rec) != len(header) {
			bad(line, "%d fields, the header has %d", len(rec), len(header))
			continue
		}
		row := csvRow{address: strings.TrimSpace(rec[ai]), line: line}
		if hasLabel {
			row.label = strings.TrimSpace(rec[li])
		}
		if hasLevel {
			if s := strings.TrimSpace(rec[vi]); s != "" {
				lv, err := strconv.Atoi(s)
				if err != nil || lv < 1 {
					bad(line, "level %q: want a hop level from 1, or nothing", s)
					continue
				}
				row.level = lv
			}
		}
		rows = append(rows, row)
	}
	return rows, problems
}

// checkDuplicates finds an address or transaction listed twice.
func (p *parser) checkDuplicates(inc *Incident) {
	seenA := map[string]*Address{}
	for i := range inc.Addresses {
		a := &inc.Addresses[i]
		key := a.Chain + ":" + strings.ToLower(a.Canonical)
		if prev, dup := seenA[key]; dup {
			p.problems = append(p.problems, Problem{File: a.File, Line: a.Line, Msg: fmt.Sprintf("incident %s: address %s is already listed at %s", inc.ID, a.Address, prev.Where())})
			continue
		}
		seenA[key] = a
	}
	seenT := map[string]*Tx{}
	for i := range inc.Txs {
		t := &inc.Txs[i]
		key := t.Chain + ":" + t.Hash
		if prev, dup := seenT[key]; dup {
			p.problems = append(p.problems, Problem{File: t.File, Line: t.Line, Msg: fmt.Sprintf("incident %s: transaction %s is already listed at %s", inc.ID, t.Hash, prev.Where())})
			continue
		}
		seenT[key] = t
	}
}

func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, s := range b {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func isZeroDecimal(s string) bool { return strings.Trim(s, "0.") == "" }

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
