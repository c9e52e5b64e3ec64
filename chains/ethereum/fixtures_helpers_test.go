package ethereum

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/rpcreplay"
)

// Test helpers shared by the fixture tests: locating the shared fixtures,
// reading ethereum-etl's expected rows, and comparing value movements as
// multisets.

const fixturesRoot = "../../../shared/fixtures"

// fxDir returns the fixture directory, or skips the test when the
// shared fixtures are not there (the only reason these tests skip).
func fxDir(t *testing.T, rel ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{fixturesRoot}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fixture directory %s is absent (%v): these tests read ../shared/fixtures beside the repository", p, err)
	}
	return p
}

func etlDir(t *testing.T, rel ...string) string {
	t.Helper()
	return fxDir(t, append([]string{"ethereum-etl", "tests", "resources"}, rel...)...)
}

// valueMove is one value movement reduced to what both chaintrace and the
// reference can state. Pos is "" for a transaction's top-level value and
// the dotted trace address ("0.2.1") for a call frame. Addresses are lower
// case, Value is decimal.
type valueMove struct {
	Block    uint64
	Tx       int
	Pos      string
	From, To string
	Value    string
}

func (m valueMove) String() string {
	pos := m.Pos
	if pos == "" {
		pos = "tx"
	}
	return fmt.Sprintf("block %d tx %d %s: %s -> %s %s", m.Block, m.Tx, pos, m.From, m.To, m.Value)
}

// fxMovesOf turns chaintrace's native and internal rows into moves.
func fxMovesOf(t *testing.T, ts []chains.Transfer) []valueMove {
	t.Helper()
	var out []valueMove
	for _, x := range ts {
		var pos string
		switch x.Kind {
		case chains.KindNative:
			if x.Position != "tx" {
				t.Errorf("native row with position %q", x.Position)
			}
		case chains.KindInternal:
			p, ok := strings.CutPrefix(x.Position, "call:")
			if !ok {
				t.Errorf("internal row with position %q", x.Position)
			}
			pos = p
		default:
			continue
		}
		if x.Asset != chains.AssetETH || len(x.From) != 1 {
			t.Errorf("%s row: asset %q, from %v", x.Kind, x.Asset, x.From)
			continue
		}
		out = append(out, valueMove{
			Block: x.BlockNumber, Tx: int(x.TxIndex), Pos: pos,
			From: strings.ToLower(x.From[0]), To: strings.ToLower(x.To), Value: x.Amount.String(),
		})
	}
	return out
}

// fxMultisetDiff returns what want has that got lacks and the other way
// round, counting repeats.
func fxMultisetDiff[T comparable](got, want []T) (missing, extra []T) {
	n := map[T]int{}
	for _, w := range want {
		n[w]++
	}
	for _, g := range got {
		if n[g] > 0 {
			n[g]--
			continue
		}
		extra = append(extra, g)
	}
	for _, w := range want {
		if n[w] > 0 {
			n[w]--
			missing = append(missing, w)
		}
	}
	return missing, extra
}

func fxSameMultiset[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	missing, extra := fxMultisetDiff(got, want)
	for _, m := range missing {
		t.Errorf("%s: missing %v", what, m)
	}
	for _, e := range extra {
		t.Errorf("%s: unexpected %v", what, e)
	}
	if len(missing)+len(extra) == 0 && len(got) > 0 {
		t.Logf("%s: %d rows agree", what, len(got))
	}
}

// fxReadCSV reads a CSV with a header into one map per row.
func fxReadCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		return nil
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		out = append(out, m)
	}
	return out
}

// fxReadJSONLines reads ethereum-etl's newline-delimited JSON, keeping
// numbers exact (values exceed 2^53). Every value is turned into the string
// the CSV form would hold ("" for null), so both forms read alike.
func fxReadJSONLines(t *testing.T, path string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []map[string]string
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		row := map[string]string{}
		for k, v := range m {
			switch x := v.(type) {
			case nil:
				row[k] = ""
			case string:
				row[k] = x
			case json.Number:
				row[k] = x.String()
			case []any:
				parts := make([]string, len(x))
				for i, e := range x {
					parts[i] = fmt.Sprint(e)
				}
				row[k] = strings.Join(parts, ",")
			default:
				row[k] = fmt.Sprint(x)
			}
		}
		out = append(out, row)
	}
	return out
}

// fxReadRows reads expected rows from path.csv or path.json, whichever exists.
func fxReadRows(t *testing.T, dir, name string) []map[string]string {
	t.Helper()
	if p := filepath.Join(dir, name+".csv"); fxExists(p) {
		return fxReadCSV(t, p)
	}
	if p := filepath.Join(dir, name+".json"); fxExists(p) {
		return fxReadJSONLines(t, p)
	}
	t.Fatalf("%s: no %s.csv or %s.json", dir, name, name)
	return nil
}

func fxExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// fxNum parses a decimal or 0x-hex integer; "" is nil.
func fxNum(t *testing.T, s string) *big.Int {
	t.Helper()
	if s == "" {
		return nil
	}
	v, ok := new(big.Int), false
	if h, isHex := strings.CutPrefix(strings.ToLower(s), "0x"); isHex {
		if h == "" {
			return v
		}
		v, ok = v.SetString(h, 16)
	} else {
		v, ok = v.SetString(s, 10)
	}
	if !ok {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

func fxInt(t *testing.T, s string) int {
	t.Helper()
	v := fxNum(t, s)
	if v == nil || !v.IsInt64() {
		t.Fatalf("not an index: %q", s)
	}
	return int(v.Int64())
}

// fxDotted normalises a trace address as ethereum-etl writes it ("", "0",
// "0,1", "[0, 1]") to chaintrace's dotted form.
func fxDotted(s string) string {
	s = strings.Trim(s, "[] ")
	if s == "" {
		return ""
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '_' || r == '.' || r == ' ' })
	return strings.Join(f, ".")
}

func fxDottedInts(a []int) string {
	parts := make([]string, len(a))
	for i, x := range a {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ".")
}

// isPrefixAddr reports whether trace address anc (dotted) is an ancestor of,
// or equal to, addr.
func isPrefixAddr(anc, addr string) bool {
	if anc == "" || anc == addr {
		return true
	}
	return strings.HasPrefix(addr, anc+".")
}

func fxCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fxDial connects an Adapter to a replay server, as chaintrace does to a
// node: detection included.
func fxDial(t *testing.T, s *rpcreplay.Server, opts Options) *Adapter {
	t.Helper()
	opts.RPC.Retries = 0
	a, err := Dial(fxCtx(t), s.URL(), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return a
}

// fxFetchDecode fetches blocks through the adapter and decodes them.
func fxFetchDecode(t *testing.T, a *Adapter, nums ...uint64) ([]*chains.BlockTransfers, error) {
	t.Helper()
	raws, err := a.FetchRaw(fxCtx(t), nums)
	if err != nil {
		return nil, fmt.Errorf("FetchRaw: %w", err)
	}
	var out []*chains.BlockTransfers
	for i := range raws {
		bt, err := Decode(&raws[i])
		if err != nil {
			return nil, fmt.Errorf("Decode block %d: %w", raws[i].Number, err)
		}
		out = append(out, bt)
	}
	return out, nil
}

func fxAllTransfers(bts []*chains.BlockTransfers) []chains.Transfer {
	var out []chains.Transfer
	for _, b := range bts {
		out = append(out, b.Transfers...)
	}
	return out
}

// fxCheckOrder checks the rows are in exhibit order (block, tx, ordinal) with
// no two rows at one place.
func fxCheckOrder(t *testing.T, ts []chains.Transfer) {
	t.Helper()
	for i := 1; i < len(ts); i++ {
		if !ts[i-1].Less(&ts[i]) {
			t.Errorf("rows out of order: %s/%d/%s before %s/%d/%s", ts[i-1].TxHash, ts[i-1].Ordinal, ts[i-1].Position, ts[i].TxHash, ts[i].Ordinal, ts[i].Position)
		}
	}
}

func fxJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tokenMove is a token row reduced to what ethereum-etl states: it writes
// the token id of an ERC-721 transfer in its value column.
type tokenMove struct {
	Block    uint64
	TxHash   string
	LogIndex int
	Token    string
	From, To string
	Value    string // amount for erc20, token id for erc721
	Kind     chains.Kind
}

func tokenMovesOf(t *testing.T, ts []chains.Transfer) []tokenMove {
	t.Helper()
	var out []tokenMove
	for _, x := range ts {
		if x.Kind != chains.KindERC20 && x.Kind != chains.KindERC721 {
			continue
		}
		li, ok := strings.CutPrefix(x.Position, "log:")
		if !ok {
			t.Errorf("token row with position %q", x.Position)
		}
		m := tokenMove{
			Block: x.BlockNumber, TxHash: strings.ToLower(x.TxHash), LogIndex: fxInt(t, li),
			Token: strings.ToLower(x.Asset), From: strings.ToLower(x.From[0]), To: strings.ToLower(x.To),
			Value: x.Amount.String(), Kind: x.Kind,
		}
		if x.Kind == chains.KindERC721 {
			if x.Amount.Cmp(big.NewInt(1)) != 0 || x.TokenID == nil {
				t.Errorf("erc721 row %v: amount %s, token id %v", m, x.Amount, x.TokenID)
				continue
			}
			m.Value = x.TokenID.String()
		} else if x.TokenID != nil {
			t.Errorf("erc20 row %v has a token id", m)
		}
		out = append(out, m)
	}
	return out
}

// logShape is what decides a Transfer log's standard.
type logShape struct {
	Topics  int
	DataLen int
}

// expectedKind states the contract independently of the code: a Transfer
// log with 3 topics and one data word is ERC-20, with 4 topics and no data
// ERC-721, with 1 topic and 3 data words the early unindexed ERC-20; any
// other shape is no row.
func expectedKind(s logShape) (chains.Kind, bool) {
	switch {
	case s.Topics == 3 && s.DataLen == 32, s.Topics == 1 && s.DataLen == 96:
		return chains.KindERC20, true
	case s.Topics == 4 && s.DataLen == 0:
		return chains.KindERC721, true
	}
	return "", false
}

type logKey struct {
	TxHash   string
	LogIndex int
}

// expectedTokenMoves turns ethereum-etl token_transfers rows into the rows
// chaintrace must give: the shapes it reads, and no zero-amount ERC-20 rows
// (CONTRACT.md: rows with a zero amount are left out; ethereum-etl keeps
// them). shapes gives each log's shape, read from the fixture's logs.
// skipped counts the rows left out, by reason.
func expectedTokenMoves(t *testing.T, rows []map[string]string, shapes map[logKey]logShape) (want []tokenMove, skipped map[string]int) {
	t.Helper()
	skipped = map[string]int{}
	for _, r := range rows {
		k := logKey{strings.ToLower(r["transaction_hash"]), fxInt(t, r["log_index"])}
		sh, ok := shapes[k]
		if !ok {
			t.Fatalf("token transfer %v: its log is not in the fixture", k)
		}
		kind, ok := expectedKind(sh)
		if !ok {
			skipped[fmt.Sprintf("log shape %d topics/%d data bytes", sh.Topics, sh.DataLen)]++
			continue
		}
		if kind == chains.KindERC20 && fxNum(t, r["value"]).Sign() == 0 {
			skipped["zero-amount erc20"]++
			continue
		}
		want = append(want, tokenMove{
			Block: uint64(fxInt(t, r["block_number"])), TxHash: k.TxHash, LogIndex: k.LogIndex,
			Token: strings.ToLower(r["token_address"]), From: strings.ToLower(r["from_address"]),
			To: strings.ToLower(r["to_address"]), Value: fxNum(t, r["value"]).String(), Kind: kind,
		})
	}
	return want, skipped
}

// fxMustInternal is internalFrames for frames that must be complete.
func fxMustInternal(t *testing.T, frames []Frame) []indexedFrame {
	t.Helper()
	out, err := internalFrames(frames)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
