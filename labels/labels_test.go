package labels

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

const sharedDir = "../../shared/labels"

const (
	tagPackFile = "graphsense-tagpack-etherscan-label-word-cloud.yaml"
	upbitFile   = "upbit-2019-etherscan-labels.csv"
	sdnFile     = "sdn_advanced.xml.bz2"
)

// shared returns the path of a shared sample file, skipping the test when
// the shared directory is not present (the only allowed skip).
func shared(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(sharedDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared label sample %s not available (%v); these tests need the repository's ../shared/labels directory", p, err)
	}
	return p
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func findLabel(t *testing.T, s *Set, canonical string) Label {
	t.Helper()
	for _, l := range s.Labels {
		if strings.EqualFold(l.Canonical, canonical) {
			return l
		}
	}
	t.Fatalf("%s: no label for %s", s.Name, canonical)
	return Label{}
}

func TestSharedTagPack(t *testing.T) {
	path := shared(t, tagPackFile)

	// Strict (default) loading rejects the real pack: it holds two mixed-case
	// addresses whose EIP-55 checksum is wrong (Fake_Phishing529 at line 15954
	// and one at line 16198). The error names the file and the first line.
	_, err := Load(path)
	if !errors.Is(err, ErrBadChecksum) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("strict Load: want ErrBadChecksum, got %v", err)
	}
	if want := path + ":15954: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("strict Load error %q does not start with %q", err, want)
	}

	s, err := LoadWith(path, Options{BadChecksum: ChecksumWarn})
	if err != nil {
		t.Fatal(err)
	}
	if s.Entries != 8453 || len(s.Labels) != 8453 {
		t.Errorf("entries = %d (labels %d), want 8453", s.Entries, len(s.Labels))
	}
	if s.Format != FormatTagPack || s.Name != tagPackFile || s.Title != "EtherScan Label Word Cloud Tags" {
		t.Errorf("set header = %v %q %q", s.Format, s.Name, s.Title)
	}
	if got, want := s.SHA256, fileSHA(t, path); got != want {
		t.Errorf("sha256 = %s, want %s", got, want)
	}
	if len(s.Warnings) != 2 {
		t.Errorf("warnings = %q, want 2", s.Warnings)
	}
	for _, w := range s.Warnings {
		if !strings.HasPrefix(w, path+":") || strings.Contains(w, "\n") {
			t.Errorf("warning %q is not one line naming the file", w)
		}
	}

	perCategory := map[string]int{}
	perChain := map[string]int{}
	perActor := map[string]int{}
	mismatches := 0
	for _, l := range s.Labels {
		perCategory[l.Category]++
		perChain[l.Chain]++
		if l.Actor != "" {
			perActor[l.Actor]++
		}
		if l.ChecksumMismatch {
			mismatches++
		}
		// Inherited header fields on every tag.
		if l.Source != "https://etherscan.io/labelcloud" || l.Confidence != "web_crawl" ||
			l.Creator != "GraphSense Core Team" || l.LastMod != "2021-11-04" || l.LabelSet != tagPackFile {
			t.Fatalf("tag at line %d lacks inherited header fields: %+v", l.Line, l)
		}
	}
	t.Logf("tags: %d; per category: %v; per chain: %v; with actor: %v", len(s.Labels), perCategory, perChain, perActor)
	// The pack assigns no category at all (neither header nor tags).
	if !reflect.DeepEqual(perCategory, map[string]int{"": 8453}) {
		t.Errorf("per category = %v, want all 8453 uncategorised", perCategory)
	}
	if !reflect.DeepEqual(perChain, map[string]int{"eth": 8453}) {
		t.Errorf("per chain = %v", perChain)
	}
	if mismatches != 2 {
		t.Errorf("checksum mismatches = %d, want 2", mismatches)
	}

	tests := []struct {
		name      string
		canonical string
		label     string
		actor     string
		line      int
		mismatch  bool
	}{
		{"exchange hot wallet", "0xF977814e90dA44bFA03b6295A0616a897441aceC", "Binance 8", "", 320, false},
		{"exchange with actor", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e", "Bitfinex 2", "bitfinex", 679, false},
		{"hack seed", "0xa09871AEadF4994Ca12f5c0b6056BBd1d343c029", "Upbit Hacker 1", "", 2768, false},
		{"hack funds", "0x84f4bcC4E841AFDfDE7899662F8bbd7D6a71C112", "Compromised: Upbit Hack Funds", "", 963, false},
		{"exchange hacker", "0xc8B759860149542a98a3eB57C14AADf59D6d89b9", "Cryptopia Hacker 1", "", 1188, false},
		{"mixer pool", "0xA160cdAB225685dA1d56aa342Ad8841c3b53f291", "Tornado.Cash: 100 ETH", "", 5848, false},
		{"bad checksum accepted", "0xA0DF9CA52e8aB5DDe22C55D9B3C2CDF814B9B773", "Fake_Phishing529", "", 15954, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := findLabel(t, s, tc.canonical)
			if l.Canonical != tc.canonical {
				t.Errorf("canonical = %s, want %s", l.Canonical, tc.canonical)
			}
			if l.Label != tc.label || l.Actor != tc.actor || l.Line != tc.line || l.ChecksumMismatch != tc.mismatch {
				t.Errorf("got label %q actor %q line %d mismatch %v; want %q %q %d %v",
					l.Label, l.Actor, l.Line, l.ChecksumMismatch, tc.label, tc.actor, tc.line, tc.mismatch)
			}
			if l.Chain != "eth" || l.Category != "" {
				t.Errorf("chain %q category %q, want eth and no category", l.Chain, l.Category)
			}
		})
	}

	// A mixed-case address with a correct checksum is kept exactly as given.
	l := findLabel(t, s, "0xa6E71Bdc40952eb1C083E5Ae4940d70886296724")
	if l.Address != l.Canonical || l.Label != "Fake_Phishing100" {
		t.Errorf("mixed-case valid address: %+v", l)
	}
}

func TestSharedUpbitCSV(t *testing.T) {
	path := shared(t, upbitFile)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Entries != 813 || s.Format != FormatCSV || s.Name != upbitFile {
		t.Fatalf("entries %d format %v name %q, want 813 csv %q", s.Entries, s.Format, s.Name, upbitFile)
	}
	if got, want := s.SHA256, fileSHA(t, path); got != want {
		t.Errorf("sha256 = %s, want %s", got, want)
	}
	levels := map[string]int{}
	for _, l := range s.Labels {
		if l.Chain != "eth" || l.Source != upbitFile || l.Category != "" {
			t.Fatalf("line %d: %+v", l.Line, l)
		}
		levels[l.Extra["level"]]++
	}
	if levels["1"] != 1 || levels["15"] != 2 || levels[""] != 1 {
		t.Errorf("levels = %v", levels)
	}
	first := s.Labels[0]
	if first.Label != "Upbit Hacker 1" || first.Line != 2 || first.Canonical != "0xa09871AEadF4994Ca12f5c0b6056BBd1d343c029" {
		t.Errorf("first row: %+v", first)
	}
	last := s.Labels[len(s.Labels)-1]
	if last.Label != "Compromised: Upbit Hack Funds" || last.Line != 814 || last.Extra != nil {
		t.Errorf("last row: %+v", last)
	}
}

func TestSharedOFACDetected(t *testing.T) {
	path := shared(t, sdnFile)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head, _ := bufio.NewReaderSize(bzip2.NewReader(f), 4096).Peek(4096)
	if got := Detect(path, head); got != FormatOFACAdvanced {
		t.Errorf("Detect(sdn_advanced) = %v", got)
	}
	if !Registered(FormatOFACAdvanced) {
		_, err := Load(path)
		if !errors.Is(err, ErrUnsupportedFormat) || !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("Load(sdn_advanced) without loader: %v", err)
		}
	}
}

func TestTagPackInheritance(t *testing.T) {
	const pack = `title: Test Pack
creator: Tester
description: not inherited
currency: ETH
confidence: 50
lastmod: 2024-01-02
source: https://example.org/pack
category: Exchange
is_public: true
tags:
- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'
  label: inherits everything
- address: '0xF977814E90DA44BFA03B6295A0616A897441ACEC'
  label: overrides
  category: Mixer
  source: https://example.org/tag
  confidence: ownership
  lastmod: 2025-05-06
  actor: somebody
  abuse: ransomware
- address: 1Archive1n2C579dMsAu3iC6tWzuQJz8dN
  label: bitcoin tag
  currency: BTC
  category: ~
- address: '0xdAC17F958D2ee523a2206206994597C13D831ec7'
  label: token on eth
  currency: USDT
- address: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t
  label: network decides
  network: TRX
  currency: USDT
`
	path := writeFile(t, "pack.yaml", pack)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Title != "Test Pack" || s.Entries != 5 {
		t.Fatalf("title %q entries %d", s.Title, s.Entries)
	}
	tests := []struct {
		i                                    int
		chain, canonical, category, catRaw   string
		source, confidence, lastmod, creator string
		actor, abuse                         string
		extra                                map[string]string
	}{
		{0, "eth", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e", "exchange", "Exchange",
			"https://example.org/pack", "50", "2024-01-02", "Tester", "", "", map[string]string{"is_public": "true"}},
		{1, "eth", "0xF977814e90dA44bFA03b6295A0616a897441aceC", "mixing_service", "Mixer",
			"https://example.org/tag", "ownership", "2025-05-06", "Tester", "somebody", "ransomware", map[string]string{"is_public": "true"}},
		{2, "btc", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN", "", "",
			"https://example.org/pack", "50", "2024-01-02", "Tester", "", "", map[string]string{"is_public": "true"}},
		{3, "eth", "0xdAC17F958D2ee523a2206206994597C13D831ec7", "exchange", "Exchange",
			"https://example.org/pack", "50", "2024-01-02", "Tester", "", "", map[string]string{"is_public": "true"}},
		{4, "trx", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "exchange", "Exchange",
			"https://example.org/pack", "50", "2024-01-02", "Tester", "", "", map[string]string{"is_public": "true"}},
	}
	for _, tc := range tests {
		l := s.Labels[tc.i]
		got := []string{l.Chain, l.Canonical, l.Category, l.CategoryRaw, l.Source, l.Confidence, l.LastMod, l.Creator, l.Actor, l.Abuse}
		want := []string{tc.chain, tc.canonical, tc.category, tc.catRaw, tc.source, tc.confidence, tc.lastmod, tc.creator, tc.actor, tc.abuse}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(l.Extra, tc.extra) || l.LabelSet != "pack.yaml" {
			t.Errorf("tag %d (%s):\n got %q %v\nwant %q %v", tc.i, l.Label, got, l.Extra, want, tc.extra)
		}
	}

	// Without source anywhere, the title is the source; without a title, the file name.
	s, err = Load(writeFile(t, "nosrc.yaml", "title: Only Title\ncurrency: BTC\ntags:\n- address: 1abc\n  label: x\n"))
	if err != nil || s.Labels[0].Source != "Only Title" {
		t.Errorf("source from title: %v %+v", err, s)
	}
	s, err = Load(writeFile(t, "notitle.yaml", "currency: BTC\ntags:\n- address: 1abc\n  label: x\n"))
	if err != nil || s.Labels[0].Source != "notitle.yaml" {
		t.Errorf("source from file name: %v %+v", err, s)
	}
	// An empty tags list is an empty set, not an error.
	s, err = Load(writeFile(t, "empty.yaml", "title: Empty\ncurrency: ETH\ntags: []\n"))
	if err != nil || s.Entries != 0 {
		t.Errorf("empty tags: %v %+v", err, s)
	}
}

func TestContractCSV(t *testing.T) {
	const data = "\ufeffchain,address,label,category,source\n" +
		"# a comment line\n" +
		"eth,0x742d35cc6634c0532925a3b844bc454e4438f44e,Bitfinex 2,Exchange,https://etherscan.io\n" +
		"\n" +
		"ETH, 0xA160CDAB225685DA1D56AA342AD8841C3B53F291 ,\"Tornado.Cash: 100 ETH\",mixer,\n" +
		"btc,bc1qm34lsc65zpw79lxes69zkqmk6ee3ewf0j77s3h,\"Quoted, with comma\",DeFi,src\n" +
		"bitcoin,1Archive1n2C579dMsAu3iC6tWzuQJz8dN,Internet Archive,Donation Address,\n"
	path := writeFile(t, "contract.csv", data)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		chain, canonical, label, category, source string
		line                                      int
	}{
		{"eth", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e", "Bitfinex 2", "exchange", "https://etherscan.io", 3},
		{"eth", "0xA160cdAB225685dA1d56aa342Ad8841c3b53f291", "Tornado.Cash: 100 ETH", "mixing_service", "contract.csv", 5},
		{"btc", "bc1qm34lsc65zpw79lxes69zkqmk6ee3ewf0j77s3h", "Quoted, with comma", "defi_dex", "src", 6},
		{"btc", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN", "Internet Archive", "donation_address", "contract.csv", 7},
	}
	if len(s.Labels) != len(want) || s.Entries != len(want) {
		t.Fatalf("got %d labels, want %d", len(s.Labels), len(want))
	}
	for i, w := range want {
		l := s.Labels[i]
		if l.Chain != w.chain || l.Canonical != w.canonical || l.Label != w.label || l.Category != w.category || l.Source != w.source || l.Line != w.line {
			t.Errorf("row %d: %+v, want %+v", i, l, w)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		line    int
		kind    error
		reason  string
	}{
		{"yaml unclosed flow sequence", "bad.yaml", "title: x\ncurrency: ETH\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'\n  label: [unclosed\n", 5, ErrMalformed, "malformed YAML: did not find expected ',' or ']'"},
		{"yaml list item in mapping", "item.yaml", "title: x\ncurrency: ETH\n- address: a\ntags: []\n", 3, ErrMalformed, "malformed YAML: did not find expected key"},
		{"yaml error on line 1", "first.yaml", "- a\ntitle: x\n", 2, ErrMalformed, "malformed YAML: did not find expected '-' indicator"},
		{"yaml tab", "tab.yaml", "title: x\n\tcurrency: ETH\n", 2, ErrMalformed, "malformed YAML: found a tab character"},
		{"yaml unterminated string", "str.yaml", "title: x\ncurrency: ETH\ntags:\n- address: \"0xabc\n", 4, ErrMalformed, "malformed YAML: found unexpected end of stream"},
		{"yaml unknown alias", "alias.yaml", "title: x\ncurrency: ETH\ntags:\n- address: *nope\n  label: x\n", 4, ErrMalformed, "malformed YAML: unknown anchor 'nope' referenced"},
		{"yaml bad indentation", "indent.yaml", "title: x\ncurrency: ETH\ntags:\n- address: a\n   label: b\n  x: y\n", 5, ErrMalformed, "malformed YAML: mapping values are not allowed"},
		{"tag without address", "noaddr.yaml", "title: x\ncurrency: ETH\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'\n  label: ok\n- label: no address here\n", 6, ErrMissingAddress, "tag without address"},
		{"tag without label", "nolabel.yaml", "currency: ETH\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'\n", 3, ErrMissingLabel, "tag without label"},
		{"eth address too short", "short.yaml", "currency: ETH\ntags:\n- label: short\n  address: '0x742d35cc6634c0532925a3b844bc454e4438f4'\n", 4, ErrBadAddress, "not 0x followed by 40 hex digits"},
		{"eth address not hex", "nothex.yaml", "currency: ETH\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44g'\n  label: x\n", 3, ErrBadAddress, "is not 0x followed by 40 hex digits"},
		{"eth address wrong checksum", "sum.yaml", "currency: ETH\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'\n  label: ok\n- address: '0x742d35Cc6634C0532925a3b844Bc454e4438f44E'\n  label: bad\n", 5, ErrBadChecksum, "invalid EIP-55 checksum: eth address 0x742d35Cc6634C0532925a3b844Bc454e4438f44E (expected 0x742d35Cc6634C0532925a3b844Bc454e4438f44e)"},
		{"unknown currency", "doge.yaml", "currency: DOGE\ntags:\n- address: DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L\n  label: x\n", 1, ErrUnknownChain, `unknown chain: currency "DOGE"`},
		{"unknown network", "net.yaml", "currency: ETH\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'\n  label: x\n  network: Solana\n", 5, ErrUnknownChain, `unknown chain: network "Solana"`},
		{"no chain at all", "nochain.yaml", "title: t\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'\n  label: x\n", 3, ErrUnknownChain, "neither currency nor network"},
		{"no tags", "notags.yaml", "title: t\ncurrency: ETH\n", 1, ErrBadHeader, "no tags list"},
		{"tags not a list", "tagsmap.yaml", "title: t\ncurrency: ETH\ntags:\n  a: b\n", 3, ErrBadHeader, "tags is not a list"},
		{"tag not a mapping", "tagscalar.yaml", "title: t\ncurrency: ETH\ntags:\n- just a string\n", 4, ErrMalformed, "tag is not a mapping"},
		{"duplicate tag key", "dup.yaml", "currency: ETH\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'\n  label: x\n  label: y\n", 5, ErrMalformed, `tag key "label" already defined at line 4`},
		{"top level list", "list.yaml", "- a\n- b\n", 1, ErrBadHeader, "not a mapping"},

		{"csv too many fields", "many.csv", "chain,address,label,category,source\neth,0x742d35cc6634c0532925a3b844bc454e4438f44e,a,exchange,s\neth,0x742d35cc6634c0532925a3b844bc454e4438f44e,a,exchange,s,extra\n", 3, ErrFieldCount, "wrong number of fields: 6, header has 5"},
		{"csv too few fields", "few.csv", "chain,address,label,category,source\n\n# comment\neth,0x742d35cc6634c0532925a3b844bc454e4438f44e,a\n", 4, ErrFieldCount, "wrong number of fields: 3, header has 5"},
		{"csv unknown chain", "chain.csv", "chain,address,label,category,source\ndoge,DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L,x,scam,s\n", 2, ErrUnknownChain, `unknown chain "doge"`},
		{"csv bad checksum", "sum.csv", "chain,address,label,category,source\neth,0x742d35Cc6634C0532925a3b844Bc454e4438f44E,x,,\n", 2, ErrBadChecksum, "invalid EIP-55 checksum"},
		{"csv bad address", "addr.csv", "chain,address,label,category,source\neth,742d35cc6634c0532925a3b844bc454e4438f44e,x,,\n", 2, ErrBadAddress, "not 0x followed by 40 hex digits"},
		{"csv empty address", "empty.csv", "chain,address,label,category,source\neth,,x,,\n", 2, ErrMissingAddress, "row without address"},
		{"csv bare quote", "quote.csv", "chain,address,label,category,source\neth,0x742d35cc6634c0532925a3b844bc454e4438f44e,a \"b\" c,,\n", 2, ErrMalformed, "malformed CSV"},
		{"csv no chain column", "nochain.csv", "address,label\n0x742d35cc6634c0532925a3b844bc454e4438f44e,x\n", 1, ErrBadHeader, "header has no chain column"},
		{"csv no address column", "noaddr.csv", "chain,label,category\neth,x,y\n", 1, ErrBadHeader, "header has no address column"},

		{"unknown format", "notes.txt", "0x742d35cc6634c0532925a3b844bc454e4438f44e\n", 0, ErrUnknownFormat, "unknown label file format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.file, tc.content)
			_, err := Load(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, tc.kind) {
				t.Errorf("error %q does not match %v and ErrMalformed", err, tc.kind)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != path || pe.Line != tc.line {
				t.Errorf("ParseError = %+v, want file %s line %d", pe, path, tc.line)
			}
			msg := err.Error()
			prefix := path + ": "
			if tc.line > 0 {
				prefix = path + ":" + itoa(tc.line) + ": "
			}
			if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.reason) {
				t.Errorf("error %q: want prefix %q and reason %q", msg, prefix, tc.reason)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}

	// I/O errors are not ErrMalformed.
	_, err := Load(filepath.Join(t.TempDir(), "missing.csv"))
	if err == nil || errors.Is(err, ErrMalformed) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestChecksumPolicyCSV(t *testing.T) {
	path := writeFile(t, "warn.csv", "chain,address,label,category,source\neth,0x742d35Cc6634C0532925a3b844Bc454e4438f44E,x,,\n")
	s, err := LoadWith(path, Options{BadChecksum: ChecksumWarn})
	if err != nil {
		t.Fatal(err)
	}
	l := s.Labels[0]
	if !l.ChecksumMismatch || l.Canonical != "0x742d35Cc6634C0532925a3b844Bc454e4438f44e" || l.Address != "0x742d35Cc6634C0532925a3b844Bc454e4438f44E" {
		t.Errorf("label %+v", l)
	}
	if len(s.Warnings) != 1 || !strings.HasPrefix(s.Warnings[0], path+":2: invalid EIP-55 checksum") {
		t.Errorf("warnings %q", s.Warnings)
	}
}

func TestCanonicalAddress(t *testing.T) {
	tests := []struct {
		chain, in, want string
		err             error
	}{
		{"eth", "0x742d35cc6634c0532925a3b844bc454e4438f44e", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e", nil},
		{"eth", "0x742D35CC6634C0532925A3B844BC454E4438F44E", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e", nil},
		{"eth", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e", nil},
		{"eth", " 0x742d35cc6634c0532925a3b844bc454e4438f44e ", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e", nil},
		{"eth", "0x0000000000000000000000000000000000000000", "0x0000000000000000000000000000000000000000", nil},
		{"eth", "0x742d35Cc6634C0532925a3b844Bc454e4438f44E", "", ErrBadChecksum},
		{"eth", "0x742d35cC6634C0532925a3b844Bc454e4438f44e", "", ErrBadChecksum},
		{"eth", "742d35cc6634c0532925a3b844bc454e4438f44e", "", ErrBadAddress},
		{"eth", "0X742d35cc6634c0532925a3b844bc454e4438f44e", "", ErrBadAddress},
		{"eth", "0x742d35cc6634c0532925a3b844bc454e4438f44", "", ErrBadAddress},
		{"eth", "0x742d35cc6634c0532925a3b844bc454e4438f44e00", "", ErrBadAddress},
		{"eth", "", "", ErrMissingAddress},
		{"btc", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN", nil},
		{"btc", "BC1QM34LSC65ZPW79LXES69ZKQMK6EE3EWF0J77S3H", "BC1QM34LSC65ZPW79LXES69ZKQMK6EE3EWF0J77S3H", nil},
	}
	for _, tc := range tests {
		got, err := CanonicalAddress(tc.chain, tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("CanonicalAddress(%s, %q) error = %v, want %v", tc.chain, tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CanonicalAddress(%s, %q) = %q, %v; want %q", tc.chain, tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeCategory(t *testing.T) {
	tests := map[string]string{
		"":                       "",
		"exchange":               "exchange",
		"Exchange":               "exchange",
		"  EXCHANGES ":           "exchange",
		"CEX":                    "exchange",
		"defi":                   "defi_dex",
		"DEX":                    "defi_dex",
		"defi_dex":               "defi_dex",
		"Decentralized Exchange": "defi_dex",
		"mixer":                  "mixing_service",
		"Mixing Service":         "mixing_service",
		"mixing-service":         "mixing_service",
		"tumbler":                "mixing_service",
		"defi_bridge":            "bridge",
		"Bridge":                 "bridge",
		"perpetrator":            "perpetrator",
		"OFAC":                   "sanctioned",
		"sanctions":              "sanctioned",
		"hack":                   "hacker",
		"Exploiter":              "hacker",
		"phishing":               "scam",
		"Ponzi Scheme":           "scam",
		"mining pool":            "miner",
		"miner":                  "miner",
		"services":               "service",
		"Wallet Service":         "wallet_service",
		"ICO  Wallet":            "ico_wallet",
		"Gambling":               "gambling",
	}
	for in, want := range tests {
		if got := NormalizeCategory(in); got != want {
			t.Errorf("NormalizeCategory(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeChain(t *testing.T) {
	for in, want := range map[string]string{"ETH": "eth", "Ethereum": "eth", "btc": "btc", "XBT": "btc", "Bitcoin": "btc", "LTC": "ltc", "bitcoin cash": "bch", "tron": "trx"} {
		if got, ok := NormalizeChain(in); !ok || got != want {
			t.Errorf("NormalizeChain(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "doge", "USDT", "solana"} {
		if got, ok := NormalizeChain(in); ok {
			t.Errorf("NormalizeChain(%q) = %q, want unknown", in, got)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, head string
		want       Format
	}{
		{"pack.yaml", "title: x\ntags:\n", FormatTagPack},
		{"pack.txt", "# comment\n\ntitle: x\n", FormatTagPack},
		{"pack", "---\ntitle: x\n", FormatTagPack},
		{"x.csv", "chain,address,label,category,source\n", FormatCSV},
		{"noext", "\ufeffchain,address,label,category,source\r\n", FormatCSV},
		{"upbit", "address,etherscan_label,level\r\n", FormatCSV},
		{"x.yml", "", FormatTagPack},
		{"x.csv.bz2", "", FormatCSV},
		{"x.CSV", "address\n", FormatCSV},
		{"sdn.xml", "<?xml version=\"1.0\"?>\n<sdnList xmlns=\"x\">", FormatOFACSDN},
		{"whatever", "  <?xml version=\"1.0\"?><Sanctions xmlns=\"x\">", FormatOFACAdvanced},
		{"other.xml", "<html>", FormatUnknown},
		{"list.txt", "0x742d35cc6634c0532925a3b844bc454e4438f44e\n", FormatUnknown},
	}
	for _, tc := range tests {
		if got := Detect(tc.name, []byte(tc.head)); got != tc.want {
			t.Errorf("Detect(%q, %q) = %v, want %v", tc.name, tc.head, got, tc.want)
		}
	}
}

func TestCompressedAndSHA256(t *testing.T) {
	// bzip2: testdata/small-csv.bz2 (made with bzip2 -9; no .csv in its
	// name, so the format comes from the content).
	path := filepath.Join("testdata", "small-csv.bz2")
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Format != FormatCSV || s.Entries != 2 || s.SHA256 != fileSHA(t, path) || s.Name != "small-csv.bz2" {
		t.Errorf("bz2 set: %v %d %s %s", s.Format, s.Entries, s.SHA256, s.Name)
	}
	if s.Labels[1].Category != "mixing_service" || s.Labels[1].Chain != "btc" {
		t.Errorf("bz2 label: %+v", s.Labels[1])
	}

	// gzip, with the SHA-256 of the compressed bytes, not the content.
	content := "currency: ETH\ntags:\n- address: '0x742d35cc6634c0532925a3b844bc454e4438f44e'\n  label: x\n"
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(content))
	zw.Close()
	gz := filepath.Join(t.TempDir(), "pack.yaml.gz")
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Load(gz)
	if err != nil {
		t.Fatal(err)
	}
	plain := sha256.Sum256([]byte(content))
	if s.Format != FormatTagPack || s.Entries != 1 || s.SHA256 != fileSHA(t, gz) || s.SHA256 == hex.EncodeToString(plain[:]) {
		t.Errorf("gz set: %v %d %s", s.Format, s.Entries, s.SHA256)
	}

	// Corrupt compressed data: one line naming the file.
	bad := writeFile(t, "bad.csv.bz2", "BZh9 this is not bzip2")
	_, err = Load(bad)
	if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), bad+": ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("corrupt bz2: %v", err)
	}
}

func mkSet(name string, ls ...Label) *Set {
	for i := range ls {
		ls[i].LabelSet = name
		if ls[i].Canonical == "" {
			c, err := CanonicalAddress(ls[i].Chain, ls[i].Address)
			if err != nil {
				panic(err)
			}
			ls[i].Canonical = c
		}
	}
	sum := sha256.Sum256([]byte(name))
	return &Set{Name: name, SHA256: hex.EncodeToString(sum[:]), Entries: len(ls), Labels: ls}
}

func TestIndex(t *testing.T) {
	const a = "0x742d35cc6634c0532925a3b844bc454e4438f44e"
	const b = "0xf977814e90da44bfa03b6295a0616a897441acec"
	s1 := mkSet("b-set.csv",
		Label{Chain: "eth", Address: a, Label: "Zeta", Category: "scam"},
		Label{Chain: "eth", Address: a, Label: "Alpha", Category: "service"},
		Label{Chain: "eth", Address: a, Label: "Alpha", Category: "exchange"},
		Label{Chain: "eth", Address: a, Label: "Alpha", Category: "exchange"}, // duplicate, kept once
		Label{Chain: "btc", Address: "BC1QM34LSC65ZPW79LXES69ZKQMK6EE3EWF0J77S3H", Label: "bech32"},
		Label{Chain: "btc", Address: "1Archive1n2C579dMsAu3iC6tWzuQJz8dN", Label: "base58"},
	)
	s2 := mkSet("a-set.yaml",
		Label{Chain: "eth", Address: "0x742D35CC6634C0532925A3B844BC454E4438F44E", Label: "Omega", Category: "mixing_service"},
		Label{Chain: "eth", Address: b, Label: "Binance 8", Category: "exchange"},
	)
	ix1, err := NewIndex(s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	ix2, err := NewIndex(s2, s1)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ set, label, cat string }
	keys := func(ls []Label) []key {
		var out []key
		for _, l := range ls {
			out = append(out, key{l.LabelSet, l.Label, l.Category})
		}
		return out
	}
	want := []key{{"a-set.yaml", "Omega", "mixing_service"}, {"b-set.csv", "Alpha", "exchange"}, {"b-set.csv", "Alpha", "service"}, {"b-set.csv", "Zeta", "scam"}}
	for _, q := range []struct{ chain, addr string }{
		{"eth", a},
		{"ETH", strings.ToUpper("0x" + a[2:])},
		{"ethereum", "0x742d35Cc6634C0532925a3b844Bc454e4438f44e"},
		{"eth", " 0x742d35Cc6634C0532925a3b844Bc454e4438f44E "}, // wrong checksum still finds it: lookups are case-insensitive
	} {
		for _, ix := range []*Index{ix1, ix2} {
			if got := keys(ix.Lookup(q.chain, q.addr)); !reflect.DeepEqual(got, want) {
				t.Errorf("Lookup(%q, %q) = %v, want %v", q.chain, q.addr, got, want)
			}
		}
	}
	if got := ix1.Lookup("btc", "bc1qm34lsc65zpw79lxes69zkqmk6ee3ewf0j77s3h"); len(got) != 1 || got[0].Label != "bech32" {
		t.Errorf("bech32 lookup: %v", got)
	}
	if got := ix1.Lookup("btc", "1archive1n2c579dmsau3ic6twzuqjz8dn"); got != nil {
		t.Errorf("base58 lookup must be case-sensitive: %v", got)
	}
	if got := ix1.Lookup("btc", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN"); len(got) != 1 {
		t.Errorf("base58 lookup: %v", got)
	}
	if ix1.Lookup("eth", "0x0000000000000000000000000000000000000000") != nil || ix1.Lookup("doge", a) != nil || ix1.Lookup("btc", a) != nil {
		t.Error("lookup of unknown address/chain must be nil")
	}
	if got := ix1.LookupAny(a); len(got) != 4 {
		t.Errorf("LookupAny = %v", got)
	}
	// Lookup returns a copy.
	ix1.Lookup("eth", a)[0].Label = "changed"
	if ix1.Lookup("eth", a)[0].Label != "Omega" {
		t.Error("Lookup result aliases the index")
	}

	wantSets := []SetInfo{s2.Info(), s1.Info()}
	if !reflect.DeepEqual(ix1.Sets(), wantSets) || !reflect.DeepEqual(ix2.Sets(), wantSets) {
		t.Errorf("Sets() = %v, want %v", ix1.Sets(), wantSets)
	}
	if ix1.Addresses() != 4 {
		t.Errorf("Addresses() = %d", ix1.Addresses())
	}

	// IsStop: first matching label in lookup order.
	if l, ok := ix1.IsStop("eth", strings.ToUpper(a), DefaultStopCategories); !ok || l.Label != "Omega" {
		t.Errorf("IsStop default = %+v %v", l, ok)
	}
	if l, ok := ix1.IsStop("eth", a, []string{"Exchange"}); !ok || l.Label != "Alpha" || l.Category != "exchange" {
		t.Errorf("IsStop exchange = %+v %v", l, ok)
	}
	if l, ok := ix1.IsStop("eth", a, []string{"mixer"}); !ok || l.Label != "Omega" {
		t.Errorf("IsStop synonym = %+v %v", l, ok)
	}
	if _, ok := ix1.IsStop("eth", a, []string{"bridge"}); ok {
		t.Error("IsStop bridge: want false")
	}
	if _, ok := ix1.IsStop("eth", a, nil); ok {
		t.Error("IsStop with no categories: want false")
	}
	if _, ok := ix1.IsStop("btc", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN", DefaultStopCategories); ok {
		t.Error("IsStop of uncategorised label: want false")
	}

	// Same set twice is a no-op; a different set under the same name conflicts.
	if err := ix1.Add(s1); err != nil {
		t.Errorf("re-adding the same set: %v", err)
	}
	other := mkSet("b-set.csv", Label{Chain: "eth", Address: b, Label: "x"})
	other.SHA256 = strings.Repeat("0", 64)
	if err := ix1.Add(other); !errors.Is(err, ErrSetConflict) {
		t.Errorf("conflicting set: %v", err)
	}
}

func TestIndexSharedSets(t *testing.T) {
	pack := shared(t, tagPackFile)
	upbit := shared(t, upbitFile)
	ix, err := LoadIndex(Options{BadChecksum: ChecksumWarn}, upbit, pack)
	if err != nil {
		t.Fatal(err)
	}
	sets := ix.Sets()
	if len(sets) != 2 || sets[0].Name != tagPackFile || sets[0].Entries != 8453 || sets[1].Name != upbitFile || sets[1].Entries != 813 ||
		sets[0].SHA256 != fileSHA(t, pack) || sets[1].SHA256 != fileSHA(t, upbit) {
		t.Errorf("Sets() = %+v", sets)
	}
	// The Upbit seed is in both sets; order is by set name.
	got := ix.Lookup("eth", "0xA09871AEADF4994CA12F5C0B6056BBD1D343C029")
	if len(got) != 2 || got[0].LabelSet != tagPackFile || got[1].LabelSet != upbitFile || got[0].Label != "Upbit Hacker 1" || got[1].Label != "Upbit Hacker 1" {
		t.Errorf("Lookup(upbit seed) = %+v", got)
	}
	// Every upbit CSV address is also in the TagPack (it was extracted from it).
	u, _ := Load(upbit)
	missing := 0
	for _, l := range u.Labels {
		if len(ix.Lookup("eth", l.Address)) != 2 {
			missing++
		}
	}
	if missing != 0 {
		t.Errorf("%d upbit addresses not labelled by both sets", missing)
	}
	// Nothing in these sets has a category, so nothing stops a trace.
	if _, ok := ix.IsStop("eth", "0xf977814e90da44bfa03b6295a0616a897441acec", DefaultStopCategories); ok {
		t.Error("IsStop(Binance 8) with uncategorised sample data: want false")
	}
}

func TestSetJSON(t *testing.T) {
	s := mkSet("x.csv", Label{Chain: "eth", Address: "0x742d35cc6634c0532925a3b844bc454e4438f44e", Label: "L", Category: "exchange", Source: "s", Extra: map[string]string{"level": "1"}})
	s.Format = FormatCSV
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"entries", "format", "labels", "name", "sha256"}) || m["format"] != "csv" {
		t.Errorf("set JSON keys %v format %v", keys, m["format"])
	}
	l := m["labels"].([]any)[0].(map[string]any)
	for _, k := range []string{"chain", "address", "canonical", "label", "category", "source", "label_set", "extra"} {
		if _, ok := l[k]; !ok {
			t.Errorf("label JSON lacks %q: %s", k, b)
		}
	}
	var back Set
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, s) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, back, *s)
	}
}
