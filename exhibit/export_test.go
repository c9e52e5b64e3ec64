package exhibit

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/chaintrace/chaintrace/chains"
)

func TestWriteCSV(t *testing.T) {
	e := sampleExhibit(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, e); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "tx_hash,block_number,tx_index,block_hash,timestamp,position,kind,from,to,asset,amount,token_id,taint,hop\r\n") {
		t.Errorf("header: %.120q", out)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(e.Transfers)+1 {
		t.Fatalf("%d records, want %d", len(recs), len(e.Transfers)+1)
	}
	want := []string{e.Transfers[2].TxHash, "19000105", "13", e.Transfers[2].BlockHash, e.Transfers[2].Timestamp, "log:51", "erc721",
		addrHacker, addrMule, tokenBAYC, "1", "8817", "1", "1"}
	if !reflect.DeepEqual(recs[3], want) {
		t.Errorf("erc721 row\n got %q\nwant %q", recs[3], want)
	}
	if recs[1][11] != "" {
		t.Errorf("native row has token_id %q", recs[1][11])
	}
}

func TestWriteCSVQuoting(t *testing.T) {
	e := New(chains.BTC)
	tricky := []struct{ to, want string }{
		{`plain`, `plain`},
		{`comma,inside`, `"comma,inside"`},
		{`quote"inside`, `"quote""inside"`},
		{"line\nbreak", "\"line\nbreak\""},
		{` leading space`, `" leading space"`},
		{`"`, `""""`},
		{`Ω;ö`, `Ω;ö`},
	}
	for i, tc := range tricky {
		e.Transfers = append(e.Transfers, Transfer{Row: chains.Row{TxHash: "t", Position: fmt.Sprintf("out:%d", i),
			Kind: chains.KindUTXO, From: []string{"a,b", `c"d`}, To: tc.to, Asset: "BTC", Amount: "1"}, Taint: "0", Hop: 1})
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, e); err != nil {
		t.Fatal(err)
	}
	// encoding/csv writes a line break inside a quoted field as CRLF too.
	want := strings.Join(CSVHeader, ",") + "\r\n"
	for i, tc := range tricky {
		want += fmt.Sprintf(`t,0,0,,,out:%d,utxo,"a,b;c""d",%s,BTC,1,,0,1`, i, strings.ReplaceAll(tc.want, "\n", "\r\n")) + "\r\n"
	}
	if buf.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", buf.String(), want)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tricky {
		if recs[i+1][8] != tc.to || recs[i+1][7] != `a,b;c"d` {
			t.Errorf("row %d reads back as %q", i, recs[i+1])
		}
	}
}

func TestWriteDOT(t *testing.T) {
	e := sampleExhibit(t)
	var buf bytes.Buffer
	if err := WriteDOT(&buf, e); err != nil {
		t.Fatal(err)
	}
	g := parseDOT(t, buf.String())
	// One node per address, one edge per (from, to, asset).
	for _, a := range e.Addresses {
		if _, ok := g.nodes[a.Address]; !ok {
			t.Errorf("no node for %s", a.Address)
		}
	}
	if len(g.nodes) != len(e.Addresses) {
		t.Errorf("%d nodes, want %d", len(g.nodes), len(e.Addresses))
	}
	if len(g.edges) != 8 { // 9 transfers, the two mule->Binance ETH rows merged
		t.Errorf("%d edges, want 8", len(g.edges))
	}
	binanceETH := g.edge(t, addrMule, addrBinance, "ETH")
	if !strings.Contains(binanceETH["label"], `50 ETH\ntaint 48.076923076923076922 ETH\n2 transfers`) {
		t.Errorf("aggregated edge label %q", binanceETH["label"])
	}
	usdt := g.edge(t, addrMule, addrBinance, "1500000000000")
	if !strings.Contains(usdt["label"], "1500000000000 0xdAC17F95…831ec7") {
		t.Errorf("token edge label %q", usdt["label"])
	}
	nft := g.edge(t, addrHacker, addrMule, "token_id 8817")
	_ = nft
	// Styles.
	checks := []struct{ node, attr, want string }{
		{addrBinance, "shape", "box"},
		{addrTornado, "shape", "octagon"},
		{addrWormhole, "shape", "hexagon"},
		{addrHacker, "peripheries", "2"},
		{addrHacker, "color", "#d00000"},
	}
	for _, c := range checks {
		if got := g.nodes[c.node][c.attr]; got != c.want {
			t.Errorf("node %s: %s=%q, want %q", c.node, c.attr, got, c.want)
		}
	}
	if !strings.Contains(g.nodes[addrBinance]["label"], `Binance 14 (exchange)`) || !strings.Contains(g.nodes[addrBinance]["label"], `hop 2`) {
		t.Errorf("Binance label %q", g.nodes[addrBinance]["label"])
	}
	if g.nodes[addrMule]["peripheries"] != "" || g.nodes[addrMule]["shape"] != "" {
		t.Errorf("plain address styled: %v", g.nodes[addrMule])
	}

	// Deterministic, also when the addresses come in another order.
	e2 := sampleExhibit(t)
	for i, j := 0, len(e2.Addresses)-1; i < j; i, j = i+1, j-1 {
		e2.Addresses[i], e2.Addresses[j] = e2.Addresses[j], e2.Addresses[i]
	}
	var buf2 bytes.Buffer
	if err := WriteDOT(&buf2, e2); err != nil {
		t.Fatal(err)
	}
	if buf.String() != buf2.String() {
		t.Error("DOT output depends on the order of addresses")
	}
	runGraphviz(t, buf.Bytes())
}

func TestWriteDOTBitcoinAndEscaping(t *testing.T) {
	e := sampleBTC(t)
	// Hostile strings: quotes, backslashes, newlines in an address and label.
	e.Transfers[1].To = `weird"addr\with` + "\nnewline"
	e.Addresses = append(e.Addresses, Address{Address: e.Transfers[1].To, Hop: 1, Labels: []Label{{Label: `Label "q" \n`, Category: "service"}}})
	var buf bytes.Buffer
	if err := WriteDOT(&buf, e); err != nil {
		t.Fatal(err)
	}
	g := parseDOT(t, buf.String())
	spend := e.Transfers[0].TxHash
	txNode := "tx " + spend
	if _, ok := g.nodes[txNode]; !ok {
		t.Fatalf("no transaction node %q", txNode)
	}
	for _, in := range e.Transfers[0].From {
		if attrs := g.edge(t, in, txNode, ""); attrs["style"] != "dashed" {
			t.Errorf("input edge %s: %v", in, attrs)
		}
	}
	g.edge(t, txNode, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "1.5 BTC")
	weird := g.edge(t, txNode, `weird\"addr\\with\nnewline`, "0.4999 BTC")
	_ = weird
	// The seed output is not a row of this exhibit: it is a node of its own.
	if g.nodes[e.Seeds[0]]["peripheries"] != "2" {
		t.Errorf("unresolved seed output not shown: %v", g.nodes[e.Seeds[0]])
	}
	// A seed output that is a row is resolved to the output's address.
	e.Seeds = []string{spend + ":0"}
	buf.Reset()
	if err := WriteDOT(&buf, e); err != nil {
		t.Fatal(err)
	}
	g = parseDOT(t, buf.String())
	if g.nodes["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"]["peripheries"] != "2" {
		t.Error("seed output not highlighted")
	}
	if _, ok := g.nodes[spend+":0"]; ok {
		t.Error("resolved seed also drawn as a node of its own")
	}
	if g.nodes["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"]["shape"] != "box" {
		t.Error("exchange not styled")
	}
	if !strings.Contains(g.nodes[`weird\"addr\\with\nnewline`]["label"], `Label \"q\" \\n (service)`) {
		t.Errorf("escaped label: %v", g.nodes[`weird\"addr\\with\nnewline`])
	}
	runGraphviz(t, buf.Bytes())
}

// runGraphviz renders the graph when Graphviz is installed.
func runGraphviz(t *testing.T, dot []byte) {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		return
	}
	cmd := exec.Command(path, "-Tsvg", "-o", "/dev/null")
	cmd.Stdin = bytes.NewReader(dot)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("graphviz: %v: %s", err, out)
	}
}

// dotGraph is what parseDOT understands of a digraph. IDs are kept as
// written between the quotes (escapes not undone).
type dotGraph struct {
	nodes map[string]map[string]string
	edges []dotParsedEdge
}

type dotParsedEdge struct {
	from, to string
	attrs    map[string]string
}

// edge finds the edge from -> to whose label contains labelPart.
func (g *dotGraph) edge(t *testing.T, from, to, labelPart string) map[string]string {
	t.Helper()
	for _, e := range g.edges {
		if e.from == from && e.to == to && strings.Contains(e.attrs["label"], labelPart) {
			return e.attrs
		}
	}
	t.Fatalf("no edge %s -> %s with label containing %q", from, to, labelPart)
	return nil
}

// parseDOT parses the subset of DOT that WriteDOT writes, strictly: a
// digraph with balanced braces holding attribute statements, node statements
// and edge statements, each ending in ';', every edge's endpoints declared as
// nodes, no node declared twice.
func parseDOT(t *testing.T, src string) *dotGraph {
	t.Helper()
	toks := tokenizeDOT(t, src)
	g := &dotGraph{nodes: map[string]map[string]string{}}
	i := 0
	next := func() string {
		if i >= len(toks) {
			t.Fatalf("unexpected end of DOT")
		}
		i++
		return toks[i-1]
	}
	expect := func(want string) {
		if got := next(); got != want {
			t.Fatalf("DOT: got %q, want %q (token %d)", got, want, i)
		}
	}
	attrList := func() map[string]string {
		attrs := map[string]string{}
		expect("[")
		for {
			k := next()
			if k == "]" {
				return attrs
			}
			expect("=")
			attrs[unquote(k)] = unquote(next())
			switch s := next(); s {
			case ",":
			case "]":
				return attrs
			default:
				t.Fatalf("DOT: %q in attribute list", s)
			}
		}
	}
	expect("digraph")
	if name := next(); !strings.HasPrefix(name, `"`) {
		t.Fatalf("graph name %q", name)
	}
	expect("{")
	depth := 1
	for depth > 0 {
		tok := next()
		switch {
		case tok == "}":
			depth--
		case tok == "graph" || tok == "node" || tok == "edge":
			attrList()
			expect(";")
		case strings.HasPrefix(tok, `"`):
			id := unquote(tok)
			if toks[i] == "->" {
				next()
				to := next()
				if !strings.HasPrefix(to, `"`) {
					t.Fatalf("edge target %q", to)
				}
				g.edges = append(g.edges, dotParsedEdge{from: id, to: unquote(to), attrs: attrList()})
			} else {
				if _, dup := g.nodes[id]; dup {
					t.Fatalf("node %q declared twice", id)
				}
				g.nodes[id] = attrList()
			}
			expect(";")
		default:
			t.Fatalf("DOT: unexpected %q", tok)
		}
	}
	if i != len(toks) {
		t.Fatalf("DOT: %d tokens after the closing brace", len(toks)-i)
	}
	for _, e := range g.edges {
		for _, end := range []string{e.from, e.to} {
			if _, ok := g.nodes[end]; !ok {
				t.Errorf("edge endpoint %q is not a declared node", end)
			}
		}
	}
	return g
}

func unquote(s string) string {
	if strings.HasPrefix(s, `"`) {
		return s[1 : len(s)-1]
	}
	return s
}

func tokenizeDOT(t *testing.T, src string) []string {
	t.Helper()
	var toks []string
	r := []rune(src)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '"':
			j := i + 1
			for ; j < len(r) && r[j] != '"'; j++ {
				if r[j] == '\\' {
					j++
				}
				if j < len(r) && r[j] == '\n' {
					t.Fatalf("raw newline inside a quoted string at rune %d", j)
				}
			}
			if j >= len(r) {
				t.Fatal("unterminated string")
			}
			toks = append(toks, string(r[i:j+1]))
			i = j + 1
		case c == '-' && i+1 < len(r) && r[i+1] == '>':
			toks = append(toks, "->")
			i += 2
		case strings.ContainsRune("{}[]=;,", c):
			toks = append(toks, string(c))
			i++
		case unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '.':
			j := i
			for j < len(r) && (unicode.IsLetter(r[j]) || unicode.IsDigit(r[j]) || r[j] == '_' || r[j] == '.') {
				j++
			}
			toks = append(toks, string(r[i:j]))
			i = j
		default:
			t.Fatalf("DOT: unexpected character %q", c)
		}
	}
	return toks
}

// With several models and colours, each gets its column after hop.
func TestWriteCSVModels(t *testing.T) {
	e := New(chains.BTC)
	e.Method.TaintModel = "fifo"
	e.Method.TaintModels = []string{"fifo", "haircut"}
	e.Method.Colours = []Colour{{Name: "a", Seeds: []string{"s1"}}, {Name: "b", Seeds: []string{"s2"}}}
	e.Transfers = append(e.Transfers, Transfer{Row: chains.Row{TxHash: "t", Position: "out:0", Kind: chains.KindUTXO,
		From: []string{"x"}, To: "y", Asset: "BTC", Amount: "10"}, Taint: "3", Hop: 1,
		TaintByModel:  ByModel{"fifo": "3", "haircut": "4"},
		TaintByColour: ByColour{"a": {"fifo": "3", "haircut": "1"}, "b": {"haircut": "3"}}})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, e); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := strings.Join(recs[0][len(CSVHeader):], ",")
	row := strings.Join(recs[1][len(CSVHeader):], ",")
	if head != "taint_fifo,taint_haircut,taint_a_fifo,taint_a_haircut,taint_b_fifo,taint_b_haircut" || row != "3,4,3,1,0,3" {
		t.Fatalf("extra columns %q, values %q", head, row)
	}
}
