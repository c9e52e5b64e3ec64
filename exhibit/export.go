package exhibit

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
)

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"tx_hash", "block_number", "tx_index", "block_hash", "timestamp", "position", "kind", "from", "to", "asset", "amount", "token_id", "taint", "hop"}

// WriteCSV writes one row per transfer, in exhibit order, under CSVHeader.
// Quoting follows RFC 4180 (encoding/csv), lines end in CRLF as RFC 4180
// says; "from" holds the sender addresses joined with ';'; token_id is empty
// except on erc721 rows. Amounts stay base-unit decimal strings. When
// several taint models ran, a column taint_MODEL per model follows hop;
// with seed colours, then taint_COLOUR_MODEL per colour and model.
func WriteCSV(w io.Writer, e *Exhibit) error {
	var b strings.Builder
	cw := csv.NewWriter(&b)
	cw.UseCRLF = true
	models := e.Method.TaintModels
	if len(models) == 0 {
		models = []string{e.Method.TaintModel}
	}
	header := append([]string{}, CSVHeader...)
	if len(e.Method.TaintModels) > 1 {
		for _, m := range models {
			header = append(header, "taint_"+m)
		}
	}
	for _, c := range e.Method.Colours {
		for _, m := range models {
			header = append(header, "taint_"+c.Name+"_"+m)
		}
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for i := range e.Transfers {
		t := &e.Transfers[i]
		rec := []string{
			t.TxHash,
			strconv.FormatUint(t.BlockNumber, 10),
			strconv.FormatUint(uint64(t.TxIndex), 10),
			t.BlockHash,
			t.Timestamp,
			t.Position,
			string(t.Kind),
			strings.Join(t.From, ";"),
			t.To,
			t.Asset,
			t.Amount,
			t.TokenID,
			t.Taint,
			strconv.Itoa(t.Hop),
		}
		if len(e.Method.TaintModels) > 1 {
			for _, m := range models {
				rec = append(rec, orZero(t.TaintByModel[m]))
			}
		}
		for _, c := range e.Method.Colours {
			for _, m := range models {
				rec = append(rec, orZero(t.TaintByColour[c.Name][m]))
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Node styles of WriteDOT by label category; other labelled addresses get
// styleLabelled; seeds get styleSeed on top.
var (
	categoryStyles = map[string]dotAttrs{
		"exchange":       {{"shape", "box"}, {"style", "filled"}, {"fillcolor", "#cfe2ff"}, {"color", "#0b4f9c"}},
		"mixing_service": {{"shape", "octagon"}, {"style", "filled"}, {"fillcolor", "#f8d7da"}, {"color", "#9c1c28"}},
		"bridge":         {{"shape", "hexagon"}, {"style", "filled"}, {"fillcolor", "#fff3cd"}, {"color", "#8a6d00"}},
	}
	styleLabelled = dotAttrs{{"shape", "box"}, {"style", "filled,rounded"}, {"fillcolor", "#e9ecef"}, {"color", "#495057"}}
	styleSeed     = dotAttrs{{"penwidth", "3"}, {"peripheries", "2"}, {"color", "#d00000"}}
	styleTx       = dotAttrs{{"shape", "box"}, {"style", "rounded,dashed"}, {"fontsize", "9"}, {"color", "#6c757d"}}
)

// dotAttrs is an attribute list in a fixed order; set replaces a key already
// present, so no attribute is written twice.
type dotAttrs [][2]string

func (a dotAttrs) set(more dotAttrs) dotAttrs {
	for _, kv := range more {
		i := slices.IndexFunc(a, func(x [2]string) bool { return x[0] == kv[0] })
		if i >= 0 {
			a[i] = kv
		} else {
			a = append(a, kv)
		}
	}
	return a
}

func (a dotAttrs) String() string {
	parts := make([]string, len(a))
	for i, kv := range a {
		parts[i] = kv[0] + "=" + dotQuote(kv[1])
	}
	return strings.Join(parts, ", ")
}

type dotNode struct {
	id       string
	lines    []string
	seed     bool
	category string
	labelled bool
	isTx     bool
}

type edgeKey struct{ from, to, asset string }

type dotEdge struct {
	amount, taint *big.Int
	count         int
	tokenIDs      []string
	inputOnly     bool // input address -> transaction node
}

// WriteDOT writes the exhibit as a Graphviz digraph: one node per address
// (short address, labels, hop; seeds drawn with a double red border;
// exchanges, mixing services and bridges as blue boxes, red octagons and
// yellow hexagons), one edge per (from, to, asset) with the summed amount
// and taint. A transfer with several senders or none (a Bitcoin transaction
// with several inputs, a coinbase) goes through a node for its transaction:
// dashed edges from the inputs to it, and the amount from it to the
// receiver, since Bitcoin does not say which input paid which output.
// Nodes and edges are sorted, so the output is deterministic.
func WriteDOT(w io.Writer, e *Exhibit) error {
	nodes := map[string]*dotNode{}
	node := func(id string) *dotNode {
		n, ok := nodes[id]
		if !ok {
			n = &dotNode{id: id}
			nodes[id] = n
		}
		return n
	}
	hops := map[string]int{}
	labels := map[string][]string{}
	for _, a := range e.Addresses {
		node(a.Address)
		hops[a.Address] = a.Hop
		for _, l := range a.Labels {
			n := nodes[a.Address]
			if !n.labelled {
				n.category = l.Category
			}
			n.labelled = true
			labels[a.Address] = appendUnique(labels[a.Address], labelText(l.Label, l.Category))
		}
	}
	endpointLines := map[string][]string{}
	for _, ep := range e.Endpoints {
		n := node(ep.Address)
		n.category, n.labelled = ep.Category, true
		labels[ep.Address] = appendUnique(labels[ep.Address], labelText(ep.Label, ep.Category))
		amt, err := parseAmount(ep.Amount)
		if err != nil {
			return fmt.Errorf("dot: endpoint %s: %v", ep.Address, err)
		}
		taint, err := parseAmount(ep.Taint)
		if err != nil {
			return fmt.Errorf("dot: endpoint %s: %v", ep.Address, err)
		}
		endpointLines[ep.Address] = append(endpointLines[ep.Address],
			fmt.Sprintf("in %s, taint %s", formatAsset(amt, ep.Asset, e.Chain), formatAsset(taint, ep.Asset, e.Chain)))
	}

	edges := map[edgeKey]*dotEdge{}
	for i := range e.Transfers {
		t := &e.Transfers[i]
		amt, err := parseAmount(t.Amount)
		if err != nil {
			return fmt.Errorf("dot: transfer %s %s: %v", t.TxHash, t.Position, err)
		}
		taint, err := parseAmount(t.Taint)
		if err != nil {
			return fmt.Errorf("dot: transfer %s %s: %v", t.TxHash, t.Position, err)
		}
		var from string
		if len(t.From) == 1 {
			from = t.From[0]
			node(from)
		} else {
			from = "tx " + t.TxHash
			n := node(from)
			n.isTx = true
			for _, in := range t.From {
				node(in)
				k := edgeKey{in, from, ""}
				if edges[k] == nil {
					edges[k] = &dotEdge{inputOnly: true}
				}
			}
		}
		node(t.To)
		k := edgeKey{from, t.To, t.Asset}
		ed := edges[k]
		if ed == nil {
			ed = &dotEdge{amount: new(big.Int), taint: new(big.Int)}
			edges[k] = ed
		}
		ed.amount.Add(ed.amount, amt)
		ed.taint.Add(ed.taint, taint)
		ed.count++
		if t.TokenID != "" {
			ed.tokenIDs = append(ed.tokenIDs, t.TokenID)
		}
	}
	for _, s := range e.Seeds {
		if txid, vout, ok := strings.Cut(s, ":"); ok && e.Chain == chains.BTC && isHex64(txid) {
			found := false
			for i := range e.Transfers {
				t := &e.Transfers[i]
				if t.TxHash == txid && t.Position == "out:"+vout {
					node(t.To).seed = true
					found = true
				}
			}
			if found {
				continue
			}
			// The seed output was created outside the exhibit's rows: show it
			// as a node of its own.
		}
		node(s).seed = true
	}

	var b strings.Builder
	b.WriteString("digraph \"chaintrace\" {\n")
	title := []string{"chaintrace exhibit " + Schema}
	if e.Case.ID != "" || e.Case.Title != "" {
		title = append(title, strings.TrimSpace(e.Case.ID+" "+e.Case.Title))
	}
	title = append(title, fmt.Sprintf("chain %s (chain id %d, %s), taint model %s, max hops %d",
		e.Chain, e.Provenance.ChainID, e.Provenance.Network, e.Method.TaintModel, e.Method.MaxHops))
	if e.Digest.Value != "" {
		title = append(title, e.Digest.Algorithm+" "+e.Digest.Value)
	}
	fmt.Fprintf(&b, "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label=%s];\n", dotLabel(title))
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")

	for _, id := range sortedKeys(nodes) {
		n := nodes[id]
		var lines []string
		var attrs dotAttrs
		if n.isTx {
			lines = []string{"tx " + shortID(strings.TrimPrefix(id, "tx "))}
			attrs = attrs.set(styleTx)
		} else {
			lines = append(lines, shortID(id))
			lines = append(lines, labels[id]...)
			lines = append(lines, endpointLines[id]...)
			if n.seed {
				lines = append(lines, "seed")
			}
			if h, ok := hops[id]; ok {
				lines = append(lines, "hop "+strconv.Itoa(h))
			}
			if s, ok := categoryStyles[n.category]; ok {
				attrs = attrs.set(s)
			} else if n.labelled {
				attrs = attrs.set(styleLabelled)
			}
			if n.seed {
				attrs = attrs.set(styleSeed)
			}
		}
		fmt.Fprintf(&b, "  %s [label=%s, tooltip=%s", dotQuote(id), dotLabel(lines), dotQuote(strings.TrimPrefix(id, "tx ")))
		if len(attrs) > 0 {
			b.WriteString(", " + attrs.String())
		}
		b.WriteString("];\n")
	}

	keys := make([]edgeKey, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y edgeKey) int {
		return cmp.Or(strings.Compare(x.from, y.from), strings.Compare(x.to, y.to), strings.Compare(x.asset, y.asset))
	})
	for _, k := range keys {
		ed := edges[k]
		if ed.inputOnly {
			fmt.Fprintf(&b, "  %s -> %s [style=\"dashed\", color=\"#6c757d\", arrowhead=\"none\", tooltip=\"input\"];\n", dotQuote(k.from), dotQuote(k.to))
			continue
		}
		lines := []string{formatAsset(ed.amount, k.asset, e.Chain), "taint " + formatAsset(ed.taint, k.asset, e.Chain)}
		if len(ed.tokenIDs) > 0 {
			lines = append(lines, tokenIDLine(ed.tokenIDs))
		}
		if ed.count > 1 {
			lines = append(lines, strconv.Itoa(ed.count)+" transfers")
		}
		color := `color="#6c757d"`
		if ed.taint.Sign() > 0 {
			color = `color="#d00000", penwidth="2"`
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s, %s];\n", dotQuote(k.from), dotQuote(k.to), dotLabel(lines), color)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func labelText(label, category string) string {
	switch {
	case category == "":
		return label
	case label == "":
		return "(" + category + ")"
	}
	return label + " (" + category + ")"
}

func tokenIDLine(ids []string) string {
	const max = 5
	if len(ids) <= max {
		return "token_id " + strings.Join(ids, ", ")
	}
	return fmt.Sprintf("token_id %s and %d more", strings.Join(ids[:max], ", "), len(ids)-max)
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// shortID abbreviates a long address or hash for a label: the full value is
// in the node's tooltip.
func shortID(s string) string {
	r := []rune(s)
	if len(r) <= 20 {
		return s
	}
	return string(r[:10]) + "…" + string(r[len(r)-6:])
}

// formatAsset renders an amount for a reader: ETH and BTC in whole units
// (exact, from base units), tokens in base units with the contract abridged.
func formatAsset(n *big.Int, asset string, chain chains.Chain) string {
	switch {
	case asset == chains.AssetETH && chain != chains.BTC:
		return formatUnits(n, 18) + " ETH"
	case asset == chains.AssetBTC:
		return formatUnits(n, 8) + " BTC"
	}
	return n.String() + " " + shortID(asset)
}

// formatUnits writes n / 10^decimals exactly, without trailing zeros.
func formatUnits(n *big.Int, decimals int) string {
	s := new(big.Int).Abs(n).String()
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	whole, frac := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
	if n.Sign() < 0 {
		whole = "-" + whole
	}
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// dotQuote quotes s as a DOT double-quoted string. Backslashes and quotes are
// escaped; line breaks become \n; other control characters become spaces.
func dotQuote(s string) string {
	return `"` + dotEscape(s) + `"`
}

// dotLabel quotes lines as one label, separated by \n.
func dotLabel(lines []string) string {
	esc := make([]string, len(lines))
	for i, l := range lines {
		esc[i] = dotEscape(l)
	}
	return `"` + strings.Join(esc, `\n`) + `"`
}

func dotEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
