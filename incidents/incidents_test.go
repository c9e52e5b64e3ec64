package incidents

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/labels"
	"github.com/ethereum/go-ethereum/common"
)

const sharedLabels = "../../shared/labels/"

// sharedOrCopy reads a file of the shared labels collection, or the copy
// in testdata when the collection is not beside the repository. The copy
// must equal the collection's file when both are there.
func sharedOrCopy(t *testing.T, name string) []byte {
	t.Helper()
	local, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := os.ReadFile(sharedLabels + name)
	if err != nil {
		t.Logf("%s%s not available (%v): using testdata/%s", sharedLabels, name, err, name)
		return local
	}
	if !bytes.Equal(local, shared) {
		t.Errorf("testdata/%s differs from %s%s: refresh the copy (and the catalog)", name, sharedLabels, name)
	}
	return shared
}

func builtin(t *testing.T) *Catalog {
	t.Helper()
	c, err := Builtin()
	if err != nil {
		t.Fatalf("built-in catalog: %v", err)
	}
	return c
}

var (
	ethHexRE  = regexp.MustCompile(`0x[0-9a-fA-F]+`)
	b58AddrRE = regexp.MustCompile(`\b(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{6,87})\b`)
)

// TestBuiltinWellFormed checks every address, hash, id, date and citation
// of the built-in catalog, independently of the parser that loaded it: a
// bad address or hash added to catalog.yaml fails here.
func TestBuiltinWellFormed(t *testing.T) {
	cat := builtin(t)
	if len(cat.Incidents) == 0 {
		t.Fatal("empty built-in catalog")
	}
	ids := map[string]bool{}
	for _, inc := range cat.Incidents {
		if ids[inc.ID] {
			t.Errorf("incident %s twice", inc.ID)
		}
		ids[inc.ID] = true
		if !regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*-` + inc.Date.Value[:4] + `$`).MatchString(inc.ID) {
			t.Errorf("%s: id is not NAME-YEAR of its date %s", inc.ID, inc.Date.Value)
		}
		if inc.Name == "" || inc.Victim == "" || len(inc.Chains) == 0 || len(inc.Sources) == 0 {
			t.Errorf("%s: name, victim, chains or sources missing", inc.ID)
		}
		for _, s := range inc.Sources {
			if strings.TrimSpace(s.Title) == "" {
				t.Errorf("%s: source %s has no title", inc.ID, s.ID)
			}
		}
		inc.eachFact(func(f *Fact, what string) {
			if len(f.Sources) == 0 {
				t.Errorf("%s: %s (%s) has no source", inc.ID, what, f.Where())
			}
			for _, id := range f.Sources {
				if _, ok := inc.Source(id); !ok {
					t.Errorf("%s: %s (%s) cites %q, not a source of the incident", inc.ID, what, f.Where(), id)
				}
			}
			if f.Confirmed {
				t.Errorf("%s: %s (%s) is marked confirmed: the built-in catalog confirms nothing", inc.ID, what, f.Where())
			}
		})
		for _, a := range inc.Addresses {
			checkAddressForm(t, inc.ID, a.Chain, a.Address, a.Canonical)
			if !contains(inc.Chains, a.Chain) {
				t.Errorf("%s: address %s on chain %s, not among the incident's chains", inc.ID, a.Address, a.Chain)
			}
		}
		for _, tx := range inc.Txs {
			want := `^0x[0-9a-f]{64}$`
			if tx.Chain == ChainBTC {
				want = `^[0-9a-f]{64}$`
			}
			if !regexp.MustCompile(want).MatchString(tx.Hash) {
				t.Errorf("%s: transaction hash %q is not of the form %s", inc.ID, tx.Hash, want)
			}
			for _, a := range []string{tx.From, tx.To} {
				if a != "" {
					checkAddressForm(t, inc.ID, tx.Chain, a, a)
				}
			}
		}
		for _, a := range inc.Amounts {
			if !regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`).MatchString(a.Value) {
				t.Errorf("%s: amount %q is not an exact decimal", inc.ID, a.Value)
			}
		}
	}
	// Every 0x string of 40 hex digits in the file, in comments and notes
	// too, must be a valid checksummed (or single-case) address.
	raw, err := builtinFS.ReadFile("catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(raw), "\n") {
		for _, h := range ethHexRE.FindAllString(line, -1) {
			switch len(h) - 2 {
			case 40:
				if _, err := labels.CanonicalAddress(labels.ChainETH, h); err != nil {
					t.Errorf("catalog.yaml:%d: %v", i+1, err)
				}
			case 64:
			default:
				t.Errorf("catalog.yaml:%d: %s is neither an address nor a hash", i+1, h)
			}
		}
	}
}

// checkAddressForm checks an address without the parser: eth by go-ethereum's
// EIP-55 rendering, btc by base58check or bech32 on mainnet.
func checkAddressForm(t *testing.T, id, chain, given, canonical string) {
	t.Helper()
	switch chain {
	case ChainETH:
		if !common.IsHexAddress(given) || len(given) != 42 {
			t.Errorf("%s: %q is not an eth address", id, given)
			return
		}
		sum := common.HexToAddress(given).Hex()
		hex := given[2:]
		if hex != strings.ToLower(hex) && hex != strings.ToUpper(hex) && given != sum {
			t.Errorf("%s: %s has a wrong EIP-55 checksum (want %s)", id, given, sum)
		}
		if canonical != sum {
			t.Errorf("%s: canonical form of %s is %s, want %s", id, given, canonical, sum)
		}
	case ChainBTC:
		if !b58AddrRE.MatchString(given) {
			t.Errorf("%s: %q is not shaped as a mainnet btc address", id, given)
		}
		if _, err := CanonicalAddress(ChainBTC, given, nil); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	default:
		t.Errorf("%s: unknown chain %q", id, chain)
	}
}

// sourceRow is a row of the incidents-sources.md table.
type sourceRow struct {
	name, date, amount, facts, sources string
}

func sourceRows(t *testing.T) []sourceRow {
	t.Helper()
	data := sharedOrCopy(t, "incidents-sources.md")
	var rows []sourceRow
	sc := bufio.NewScanner(bytes.NewReader(data))
	header := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header {
			if cells[0] != "incident" {
				t.Fatalf("incidents-sources.md: table header %q: the test reads column 1 as the incident", line)
			}
			header = false
			continue
		}
		if strings.Trim(cells[0], "-") == "" {
			continue
		}
		if len(cells) != 5 {
			t.Fatalf("incidents-sources.md: row %q has %d cells, want 5", line, len(cells))
		}
		rows = append(rows, sourceRow{cells[0], cells[1], cells[2], cells[3], cells[4]})
	}
	if len(rows) == 0 {
		t.Fatal("incidents-sources.md: no incident rows")
	}
	return rows
}

// idOf maps a row of the sources to its catalog id: the incident name's
// first word, lower case, letters and digits only, and the year.
func idOf(name, date string) string {
	first := strings.Fields(name)[0]
	first = strings.ToLower(regexp.MustCompile(`\..*$`).ReplaceAllString(first, "")) // "Stake.com" -> "stake"
	first = regexp.MustCompile(`[^a-z0-9]`).ReplaceAllString(first, "")
	return first + "-" + date[:4]
}

// TestBuiltinCoversSources: every incident of incidents-sources.md is in the
// catalog, with its date, every address and transaction hash the row gives,
// and the blocks it states.
func TestBuiltinCoversSources(t *testing.T) {
	cat := builtin(t)
	rows := sourceRows(t)
	if len(rows) != len(cat.Incidents) {
		t.Errorf("incidents-sources.md has %d incidents, the catalog %d", len(rows), len(cat.Incidents))
	}
	for _, r := range rows {
		id := idOf(r.name, r.date)
		inc, err := cat.Get(id)
		if err != nil {
			t.Errorf("%s (%s): %v", r.name, id, err)
			continue
		}
		if inc.Date.Value != r.date {
			t.Errorf("%s: date %s, the sources say %s", id, inc.Date.Value, r.date)
		}
		if len(inc.Sources) == 0 {
			t.Errorf("%s: no sources", id)
		}
		have := map[string]bool{}
		for _, a := range inc.Addresses {
			have[strings.ToLower(a.Address)] = true
		}
		for _, tx := range inc.Txs {
			have[tx.Hash] = true
			if tx.To != "" {
				have[strings.ToLower(tx.To)] = true
			}
		}
		for _, h := range ethHexRE.FindAllString(r.facts, -1) {
			if !have[strings.ToLower(h)] {
				t.Errorf("%s: %s is in incidents-sources.md but not in the catalog", id, h)
			}
		}
		for _, a := range b58AddrRE.FindAllString(r.facts, -1) {
			if !have[strings.ToLower(a)] {
				t.Errorf("%s: %s is in incidents-sources.md but not in the catalog", id, a)
			}
		}
		for _, m := range regexp.MustCompile(`block ([0-9,]+)`).FindAllStringSubmatch(r.facts, -1) {
			b, _ := strconv.ParseUint(strings.ReplaceAll(m[1], ",", ""), 10, 64)
			found := false
			for _, tx := range inc.Txs {
				found = found || tx.Block == b
			}
			if !found {
				t.Errorf("%s: block %s of incidents-sources.md is no transaction's block in the catalog", id, m[1])
			}
		}
	}
}

// TestBybitFBIAddresses: the 51 addresses of FBI PSA 250226, all of them.
func TestBybitFBIAddresses(t *testing.T) {
	inc, err := builtin(t).Get("bybit-2025")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(sharedOrCopy(t, "fbi-psa250226-bybit-eth.txt")), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			want = append(want, l)
		}
	}
	if len(want) != 51 {
		t.Fatalf("the PSA list has %d addresses, want 51", len(want))
	}
	named := inc.AddressesOn(ChainETH, RoleNamedFBI)
	if len(named) != len(want) {
		t.Errorf("bybit-2025 has %d addresses named by the PSA, want %d", len(named), len(want))
	}
	for i, w := range want {
		if i < len(named) && named[i].Address != w {
			t.Errorf("PSA address %d: catalog has %s, the PSA %s", i+1, named[i].Address, w)
		}
	}
	if got := inc.Seeds(ChainETH); len(got) != 2 || got[0] != "0x0fa09C3A328792253f8dee7116848723b72a6d2e" || got[1] != "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2" {
		t.Errorf("bybit seeds %v: want the exploiter and the first hop", got)
	}
	if b, ok := inc.StartBlock(ChainETH); !ok || b != 21895251 {
		t.Errorf("bybit start block %d %v", b, ok)
	}
	if c := inc.Citation(); !strings.Contains(c, "FBI IC3 PSA 250226") || !strings.Contains(c, "bybit-2025") {
		t.Errorf("citation %q", c)
	}
}

// TestUpbitHopLevels: the catalog's per-level counts are those of the
// Etherscan labels file, counted here by a reader of its own; the
// embedded copy equals the shared file; every label's N is its level.
func TestUpbitHopLevels(t *testing.T) {
	embedded, err := builtinFS.ReadFile("upbit-2019-etherscan-labels.csv")
	if err != nil {
		t.Fatal(err)
	}
	data := embedded
	if shared, err := os.ReadFile(sharedLabels + "upbit-2019-etherscan-labels.csv"); err == nil {
		if !bytes.Equal(shared, embedded) {
			t.Error("the embedded upbit-2019-etherscan-labels.csv differs from the shared one")
		}
		data = shared
	} else {
		t.Logf("shared labels not available (%v): counting the embedded copy", err)
	}
	want := map[int]int{}
	labelRE := regexp.MustCompile(`^Upbit Hacker ([0-9]+)(\.[0-9]+)?$`)
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(data), "\r\n", "\n")), "\n")
	for i, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != 3 {
			t.Fatalf("line %d: %q", i+2, l)
		}
		lv := 0
		if f[2] != "" {
			lv, err = strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("line %d: level %q", i+2, f[2])
			}
		}
		if m := labelRE.FindStringSubmatch(f[1]); m != nil && m[1] != f[2] {
			t.Errorf("line %d: label %q but level %q", i+2, f[1], f[2])
		}
		want[lv]++
	}
	inc, err := builtin(t).Get("upbit-2019")
	if err != nil {
		t.Fatal(err)
	}
	got := inc.HopLevels()
	var levels []int
	for l := range want {
		levels = append(levels, l)
	}
	sort.Ints(levels)
	if len(got) != len(want) {
		t.Fatalf("hop levels %v, the file has %v", got, want)
	}
	total := 0
	for _, lc := range got {
		if want[lc.Level] != lc.Count {
			t.Errorf("level %d: %d addresses, the file has %d", lc.Level, lc.Count, want[lc.Level])
		}
		total += lc.Count
	}
	if total != len(lines)-1 || len(inc.Addresses) != total {
		t.Errorf("%d counted, %d addresses, the file has %d rows", total, len(inc.Addresses), len(lines)-1)
	}
	// The first levels as Etherscan labels them (a change of the file
	// would show here first).
	for i, w := range []LevelCount{{1, 1}, {2, 3}, {3, 6}, {4, 26}} {
		if got[i] != w {
			t.Errorf("level %d: %+v, want %+v", i+1, got[i], w)
		}
	}
	h1 := inc.AddressesOn(ChainETH, RoleExploiter)
	if len(h1) != 1 || h1[0].Level != 1 || h1[0].Label != "Upbit Hacker 1" || !contains(h1[0].Sources, "etherscan-labels") {
		t.Errorf("hacker 1: %+v", h1)
	}
}

// TestBuiltinSDNEntries: every address the catalog says an SDN entry names
// is listed by that entry in the real sdn_advanced.xml, and every Ethereum
// address of the LAZARUS GROUP entry is in ronin-2022.
func TestBuiltinSDNEntries(t *testing.T) {
	path := sharedLabels + "sdn_advanced.xml.bz2"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not available (%v): this test needs the shared labels collection", path, err)
	}
	set, err := labels.LoadWith(path, labels.Options{BadChecksum: labels.ChecksumWarn})
	if err != nil {
		t.Fatal(err)
	}
	type entry struct{ name, uid, programs string }
	byAddr := map[string][]entry{}
	for _, l := range set.Labels {
		byAddr[strings.ToLower(l.Address)] = append(byAddr[strings.ToLower(l.Address)],
			entry{l.Label, l.Extra["ofac_uid"], strings.TrimSuffix(strings.TrimPrefix(l.Source, "OFAC SDN ("), ")")})
	}
	sdnRE := regexp.MustCompile(`^(.+) \(uid ([0-9]+), (.+)\)$`)
	cat := builtin(t)
	n := 0
	for _, inc := range cat.Incidents {
		for _, a := range inc.Addresses {
			if a.SDN == "" {
				continue
			}
			n++
			m := sdnRE.FindStringSubmatch(a.SDN)
			if m == nil {
				t.Errorf("%s: sdn %q: want NAME (uid N, PROGRAMS)", inc.ID, a.SDN)
				continue
			}
			ok := false
			for _, e := range byAddr[strings.ToLower(a.Address)] {
				ok = ok || (e == entry{m[1], m[2], m[3]})
			}
			if !ok {
				t.Errorf("%s: %s: the SDN list has %v, the catalog says %q", inc.ID, a.Address, byAddr[strings.ToLower(a.Address)], a.SDN)
			}
		}
	}
	ronin, _ := cat.Get("ronin-2022")
	lazarus := 0
	for _, l := range set.Labels {
		if l.Label != "LAZARUS GROUP" || l.Chain != labels.ChainETH {
			continue
		}
		lazarus++
		if ronin.findAddress(ChainETH, l.Canonical) < 0 {
			t.Errorf("LAZARUS GROUP's %s is not in ronin-2022", l.Address)
		}
	}
	if lazarus != 8 || n != 8 {
		t.Errorf("%d LAZARUS GROUP eth addresses in the list, %d catalogued with an SDN entry; want 8 and 8", lazarus, n)
	}
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is no *Error", err, err)
	}
	return e.Lines()
}

// TestParseProblems: a malformed catalog names every problem with its file
// and line.
func TestParseProblems(t *testing.T) {
	good := `schema: chaintrace/incidents/v1
incidents:
  - id: test-2024
    name: Test theft
    victim: Test exchange
    date: 2024-05-01
    chains: [eth, btc]
    sources:
      - {id: doc, title: A public notice}
    addresses:
      - {chain: eth, address: "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2", role: exploiter, source: doc}
      - {chain: btc, address: 3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG, role: exploiter, source: doc}
    transactions:
      - {chain: eth, hash: "0xb61413c495fdad6114a7aa863a00b2e3c28945979a10885b12b30316ea9f072c", role: drain, block: 5, amount: {value: "1.5", unit: ETH}, source: doc}
`
	cat, err := Parse("good.yaml", []byte(good))
	if err != nil {
		t.Fatalf("good catalog: %v", err)
	}
	if inc := cat.Incidents[0]; len(inc.Date.Sources) != 1 || inc.Txs[0].Amount.Value != "1.5" {
		t.Fatalf("parsed %+v", inc)
	}
	for _, c := range []struct {
		name, old, new string
		want           []string
	}{
		{"bad checksum", "0x47666Fab8bd0Ac", "0x47666fAb8bd0Ac", []string{"bad.yaml:11: ", "EIP-55"}},
		{"bad base58", "3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG", "3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiH", []string{"bad.yaml:12: ", "checksum"}},
		{"testnet address on mainnet", "3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", []string{"bad.yaml:12: ", "testnet"}},
		{"short hash", `"0xb61413c495fdad`, `"0xb61413c495fda`, []string{"bad.yaml:14: ", "0x and 64 hex digits"}},
		{"no source", ", source: doc}\n    transactions", "}\n    transactions", []string{"bad.yaml:12: ", "no source"}},
		{"unknown source", "role: drain, block: 5, amount: {value: \"1.5\", unit: ETH}, source: doc", "role: drain, block: 5, amount: {value: \"1.5\", unit: ETH}, source: fbi", []string{"bad.yaml:14: ", `source "fbi" is not among`}},
		{"bad date", "date: 2024-05-01", "date: 2024-13-01", []string{"bad.yaml:6: ", "ISO date"}},
		{"id year", "id: test-2024", "id: test-2023", []string{"bad.yaml:3: ", "not the year"}},
		{"bad id", "id: test-2024", "id: Test_2024", []string{"bad.yaml:3: ", "NAME-YEAR"}},
		{"float amount", `value: "1.5"`, `value: 1.5e3`, []string{"bad.yaml:14: ", "exact decimal"}},
		{"unknown key", "    chains: [eth, btc]", "    chain: [eth, btc]", []string{"bad.yaml:7: ", `unknown key "chain"`}},
		{"block zero", "block: 5", "block: 0", []string{"bad.yaml:14: ", "genesis"}},
		{"yaml syntax", "    sources:\n", "    sources: [\n", []string{"bad.yaml:", "malformed YAML"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.old) {
				t.Fatalf("%q is not in the good catalog", c.old)
			}
			_, err := Parse("bad.yaml", []byte(strings.Replace(good, c.old, c.new, 1)))
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
			got := strings.Join(problems(t, err), "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems %q do not say %q", got, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
	// Several problems: all named, each with its line.
	bad := strings.Replace(strings.Replace(good, "0x47666Fab8bd0Ac", "0x47666fAb8bd0Ac", 1), "block: 5", "block: -5", 1)
	bad += "  - id: test-2024\n    name: Again\n    victim: x\n    date: 2024-01-01\n    chains: [eth]\n    sources: [{id: doc, title: t}]\n"
	_, err = Parse("bad.yaml", []byte(bad))
	ps := problems(t, err)
	if len(ps) != 3 || !strings.HasPrefix(ps[0], "bad.yaml:11: ") || !strings.HasPrefix(ps[1], "bad.yaml:14: ") || !strings.HasPrefix(ps[2], "bad.yaml:15: incident test-2024 is already defined at line 3") {
		t.Errorf("problems %q", ps)
	}
}

// TestMerge: a local catalog adds incidents and facts; a fact stated
// differently is a conflict naming both lines; a confirmation is kept.
func TestMerge(t *testing.T) {
	base := builtin(t)
	local, err := Parse("local.yaml", []byte(`schema: chaintrace/incidents/v1
incidents:
  - id: bybit-2025
    sources:
      - {id: mine, title: My own check}
    addresses:
      - {chain: eth, address: "0x1111111111111111111111111111111111111111", role: laundering intermediary, block: 21895300, source: mine}
      - {chain: eth, address: "0x0fa09c3a328792253f8dee7116848723b72a6d2e", role: exploiter, source: mine, confirmed: true}
  - id: new-2024
    name: New theft
    victim: Someone
    date: 2024-02-03
    chains: [eth]
    sources: [{id: doc, title: A notice}]
    addresses:
      - {address: "0x2222222222222222222222222222222222222222", role: exploiter, source: doc}
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Merge(base, local)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Incidents) != len(base.Incidents)+1 {
		t.Errorf("%d incidents after merge", len(m.Incidents))
	}
	by, _ := m.Get("bybit-2025")
	baseBy, _ := base.Get("bybit-2025")
	if len(by.Addresses) != len(baseBy.Addresses)+1 || len(by.Sources) != 2 {
		t.Errorf("bybit after merge: %d addresses, %d sources", len(by.Addresses), len(by.Sources))
	}
	ex := by.Addresses[by.findAddress(ChainETH, "0x0fa09C3A328792253f8dee7116848723b72a6d2e")]
	if !ex.Confirmed || !contains(ex.Sources, "mine") || !contains(ex.Sources, "fbi-psa-250226") {
		t.Errorf("merged exploiter %+v", ex)
	}
	if baseEx := baseBy.Addresses[baseBy.findAddress(ChainETH, ex.Canonical)]; baseEx.Confirmed {
		t.Error("Merge changed its base")
	}
	if b, ok := by.StartBlock(ChainETH); !ok || b != 21895251 {
		t.Errorf("start block %d", b)
	}

	for _, c := range []struct {
		name, doc string
		want      []string
	}{
		{"role", `incidents:
  - id: bybit-2025
    addresses:
      - {chain: eth, address: "0x0fa09c3a328792253f8dee7116848723b72a6d2e", role: victim, source: fbi-psa-250226}
`, []string{"conflict.yaml:4: ", `role: "victim" here, but "exploiter" at ` + BuiltinName + ":"}},
		{"block", `incidents:
  - id: ronin-2022
    transactions:
      - {chain: eth, hash: "0xc28fad5e8d5e0ce6a2eaf67b6687be5d58113e16be590824d6cfa1a94467d0b7", role: drain, block: 14442836, source: fbi-2022-04-14}
`, []string{"conflict.yaml:4: ", "block: 14442836 here, but 14442835 at " + BuiltinName + ":"}},
		{"date", `incidents:
  - id: upbit-2019
    date: {value: 2019-11-28, source: us-v-113}
`, []string{"conflict.yaml:3: ", "date: 2019-11-28 here, but 2019-11-27 at " + BuiltinName + ":"}},
		{"unknown incident", `incidents:
  - id: nothere-2020
    addresses:
      - {chain: eth, address: "0x2222222222222222222222222222222222222222", role: exploiter, source: x}
`, []string{"conflict.yaml:2: ", "not in the catalog"}},
		{"unknown source", `incidents:
  - id: kucoin-2020
    addresses:
      - {chain: eth, address: "0x2222222222222222222222222222222222222222", role: exploiter, source: nosuch}
`, []string{"conflict.yaml:4: ", `source "nosuch" is not among`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := Parse("conflict.yaml", []byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Merge(base, l)
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("error %v, want ErrConflict", err)
			}
			got := strings.Join(problems(t, err), "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not say %q", got, w)
				}
			}
		})
	}
}

// TestEncodeRoundTrip: Encode writes what Parse reads back as the same
// catalog.
func TestEncodeRoundTrip(t *testing.T) {
	cat := builtin(t)
	var buf bytes.Buffer
	if err := cat.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Parse("roundtrip.yaml", buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String()[:2000])
	}
	a, _ := json.Marshal(cat.Incidents)
	b, _ := json.Marshal(back.Incidents)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip differs:\n%s\n%s", a[:400], b[:400])
	}
}

func TestAmountMatches(t *testing.T) {
	eth := func(s string) *big.Int {
		v, err := ToBase(s, 18)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		a      Amount
		actual string
		want   bool
	}{
		{Amount{Value: "401346.77", Unit: "ETH"}, "401346.769", true},
		{Amount{Value: "401346.77", Unit: "ETH"}, "401346.775", true},
		{Amount{Value: "401346.77", Unit: "ETH"}, "401346.7751", false},
		{Amount{Value: "342000", Unit: "ETH"}, "342000", true},
		{Amount{Value: "342000", Unit: "ETH"}, "341999", false},
		{Amount{Value: "1.000000000000000001", Unit: "ETH"}, "1", false},
		{Amount{Value: "25500000", Unit: "USDC", Precision: "100000"}, "25549999.99", true},
		{Amount{Value: "25500000", Unit: "USDC", Precision: "100000"}, "25550000.01", false},
	} {
		got, err := c.a.Matches(eth(c.actual), 18)
		if err != nil || got != c.want {
			t.Errorf("%s (precision %q) vs %s: %v %v, want %v", c.a.String(), c.a.Precision, c.actual, got, err, c.want)
		}
	}
	if _, err := ToBase("0.123456789", 8); err == nil {
		t.Error("9 decimals of BTC accepted")
	}
	if s := FromBase(eth("1.5"), 18); s != "1.5" {
		t.Errorf("FromBase %s", s)
	}
	if _, _, ok := (&Amount{Value: "100000000", Unit: "USD", Approximate: true}).OnChain(ChainETH); ok {
		t.Error("an approximate USD amount is comparable on chain")
	}
}
