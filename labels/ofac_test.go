package labels

import (
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	sdnSample         = "testdata/sdn-sample.xml"
	sdnSampleBz2      = "testdata/sdn-sample.xml.bz2"
	sdnAdvancedSample = "testdata/sdn-advanced-sample.xml"
)

// lazarusETH are the Ethereum addresses of the Lazarus Group entry in the
// shared sdn_advanced.xml.bz2 (list of 19 Nov 2025), as the file writes
// them; TestSharedOFACAdvanced checks them against the file itself.
var lazarusETH = []string{
	"0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
	"0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B",
	"0x3Cffd56B47B7b41c56258D9C7731ABaDc360E073",
	"0x53b6936513e738f44FB50d2b9476730C0Ab3Bfc1",
	"0x35fB6f6DB4fb05e6A4cE86f2C93691425626d4b1",
	"0xF7B31119c2682c88d88D455dBb9d5932c65Cf1bE",
	"0x3e37627dEAA754090fBFbb8bd226c1CE66D255e9",
	"0x08723392Ed15743cc38513C4925f5e6be5c17243",
}

// ofacWant is what a test expects of one label.
type ofacWant struct {
	chain, canonical, label, source, currency string
}

func ofacGot(l Label) ofacWant {
	return ofacWant{l.Chain, l.Canonical, l.Label, l.Source, l.Extra["currency"]}
}

func TestOFACSDNSample(t *testing.T) {
	want := []ofacWant{
		{"eth", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "LAZARUS GROUP", "OFAC SDN (DPRK3)", "ETH"},
		{"eth", "0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B", "LAZARUS GROUP", "OFAC SDN (DPRK3)", "ETH"},
		{"btc", "3F2sZ4jbhvDKQdGbHYPC6ZxFXEau2m5Lqj", "TIAN, Yinyin", "OFAC SDN (CYBER2, DPRK3)", "XBT"},
		{"ltc", "LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6", "SECONDEYE SOLUTION", "OFAC SDN (CYBER2, ELECTION-EO13848)", "LTC"},
		{"bch", "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB", "SECONDEYE SOLUTION", "OFAC SDN (CYBER2, ELECTION-EO13848)", "BCH"},
		{"ltc", "LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6", "RAZA, Mujtaba Ali", "OFAC SDN (CYBER2, ELECTION-EO13848)", "LTC"},
		{"xvg", "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z", "RAZA, Mujtaba Ali", "OFAC SDN (CYBER2, ELECTION-EO13848)", "XVG"},
		{"btc", "bc1qardcxz845jw83vgfvcmewhuxa0ag9gchjwmcfd", "VALERIAN LABS, INC.", "OFAC SDN (ILLICIT-DRUGS-EO14059)", "XBT"},
		{"eth", "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2", "VALERIAN LABS, INC.", "OFAC SDN (ILLICIT-DRUGS-EO14059)", "ETH"},
		{"eth", "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2", "VALERIAN LABS, INC.", "OFAC SDN (ILLICIT-DRUGS-EO14059)", "USDT"},
		{"eth", "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2", "VALERIAN LABS, INC.", "OFAC SDN (ILLICIT-DRUGS-EO14059)", "USDC"},
		{"btc", "16iWn2J1McqjToYLHSsAyS6En3QA8YQ91H", "SUEX OTC, S.R.O.", "OFAC SDN (CYBER2)", "USDT"},
		{"eth", "0x19Aa5Fe80D33a56D56c78e82eA5E50E5d80b4Dff", "SUEX OTC, S.R.O.", "OFAC SDN (CYBER2)", "USDT"},
		{"trx", "TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz", "CHEIL CREDIT BANK", "OFAC SDN (DPRK4)", "USDT"},
		{"xmr", "49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL", "SOUTHFRONT", "OFAC SDN (CYBER2, ELECTION-EO13848, NPWMD)", "XMR"},
	}
	// The bz2 copy is also loaded under a name that says nothing: the
	// compression and the format are recognised from the content.
	noExt := filepath.Join(t.TempDir(), "ofac-download")
	b, err := os.ReadFile(sdnSampleBz2)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noExt, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var sets []*Set
	for _, path := range []string{sdnSample, sdnSampleBz2, noExt} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			s, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if s.Format != FormatOFACSDN || s.Entries != len(want) || s.SHA256 != fileSHA(t, path) || len(s.Warnings) != 0 {
				t.Fatalf("set: format %v, %d entries, sha %s, warnings %q", s.Format, s.Entries, s.SHA256, s.Warnings)
			}
			if s.Title != "OFAC SDN List, published 2025-11-19" {
				t.Errorf("title %q", s.Title)
			}
			for i, l := range s.Labels {
				if i >= len(want) {
					break
				}
				if got := ofacGot(l); got != want[i] {
					t.Errorf("label %d:\n got %+v\nwant %+v", i, got, want[i])
				}
				if l.Category != CategorySanctioned || l.LastMod != "2025-11-19" || l.LabelSet != s.Name || l.Line == 0 {
					t.Errorf("label %d: %+v", i, l)
				}
			}
			if l := s.Labels[0]; l.Line != 12 || l.Extra["ofac_uid"] != "27307" || l.Address != l.Canonical {
				t.Errorf("first label: %+v", l)
			}
			// Written in lower case, kept as written, checksummed as canonical.
			if l := s.Labels[1]; l.Address != "0xa0e1c89ef1a489c9c7de96311ed5ce5d32c20e4b" || l.ChecksumMismatch {
				t.Errorf("lower-case eth address: %+v", l)
			}
			sets = append(sets, s)
		})
	}
	if len(sets) == 3 {
		for i := 1; i < 3; i++ {
			for j := range sets[0].Labels {
				a, b := sets[0].Labels[j], sets[i].Labels[j]
				a.LabelSet, b.LabelSet = "", ""
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s label %d differs from the plain file's: %+v", sets[i].Name, j, b)
				}
			}
		}
	}
}

func TestOFACAdvancedSample(t *testing.T) {
	s, err := Load(sdnAdvancedSample)
	if err != nil {
		t.Fatal(err)
	}
	want := []ofacWant{
		{"eth", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "LAZARUS GROUP", "OFAC SDN (DPRK3)", "ETH"},
		{"eth", "0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B", "LAZARUS GROUP", "OFAC SDN (DPRK3)", "ETH"},
		{"btc", "3F2sZ4jbhvDKQdGbHYPC6ZxFXEau2m5Lqj", "TIAN, Yinyin", "OFAC SDN (CYBER2, DPRK3)", "XBT"},
		{"ltc", "LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6", "SECONDEYE SOLUTION", "OFAC SDN (CYBER2, ELECTION-EO13848)", "LTC"},
		{"ltc", "LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6", "RAZA, Mujtaba Ali", "OFAC SDN (CYBER2, ELECTION-EO13848)", "LTC"},
		{"eth", "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2", "VALERIAN LABS, INC.", "OFAC SDN", "ETH"},
		{"eth", "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2", "VALERIAN LABS, INC.", "OFAC SDN", "USDT"},
		{"eth", "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2", "VALERIAN LABS, INC.", "OFAC SDN", "USDC"},
	}
	if s.Format != FormatOFACAdvanced || s.Entries != len(want) || s.Title != "OFAC SDN List (advanced), issued 2025-11-19" {
		t.Fatalf("set: format %v, %d entries, title %q", s.Format, s.Entries, s.Title)
	}
	for i, l := range s.Labels {
		if got := ofacGot(l); got != want[i] {
			t.Errorf("label %d:\n got %+v\nwant %+v", i, got, want[i])
		}
		if l.Category != CategorySanctioned || l.LastMod != "2025-11-19" || l.Extra["ofac_feature_id"] == "" {
			t.Errorf("label %d: %+v", i, l)
		}
	}
	// The name as the file writes it is kept beside the SDN-list spelling.
	if l := s.Labels[0]; l.Extra["ofac_name"] != "Lazarus Group" || l.Extra["ofac_uid"] != "27307" || l.Extra["ofac_feature_id"] != "50215" || l.Line != 86 {
		t.Errorf("Lazarus Group label: %+v", l)
	}
	if s.Labels[3].Extra["ofac_name"] != "Secondeye Solution" || s.Labels[4].Extra["ofac_name"] != "RAZA Mujtaba Ali" {
		t.Errorf("names as written: %+v, %+v", s.Labels[3], s.Labels[4])
	}
	// The empty XBT feature of TIAN is reported, not imported.
	if len(s.Warnings) != 1 || !strings.HasPrefix(s.Warnings[0], sdnAdvancedSample+":153: ") || !strings.Contains(s.Warnings[0], "feature 33695 of profile 28263 has no address") {
		t.Errorf("warnings: %q", s.Warnings)
	}

	// Both forms of the list give the same label for the same address.
	classic, err := Load(sdnSample)
	if err != nil {
		t.Fatal(err)
	}
	byAddr := map[string]ofacWant{}
	for _, l := range classic.Labels {
		byAddr[l.Chain+":"+l.Canonical+":"+l.Label] = ofacGot(l)
	}
	for _, l := range s.Labels {
		if l.Source == "OFAC SDN" {
			continue // VALERIAN LABS' entry is left out of the advanced sample
		}
		if c, ok := byAddr[l.Chain+":"+l.Canonical+":"+l.Label]; !ok || c != ofacGot(l) {
			t.Errorf("advanced %+v, classic %+v", ofacGot(l), c)
		}
	}

	// In an index: both parties of the shared LTC address are kept; one
	// party's address under three tags is one label.
	ix, err := NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Addresses() != 5 {
		t.Errorf("%d addresses, want 5", ix.Addresses())
	}
	if got := ix.Lookup("ltc", "LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6"); len(got) != 2 || got[0].Label != "RAZA, Mujtaba Ali" || got[1].Label != "SECONDEYE SOLUTION" {
		t.Errorf("shared LTC address: %+v", got)
	}
	if got := ix.Lookup("eth", "0x983a81ca6fb1e441266d2fbcb7d8e530ac2e05a2"); len(got) != 1 || got[0].Label != "VALERIAN LABS, INC." {
		t.Errorf("one address under ETH, USDT and USDC: %+v", got)
	}
	if l, ok := ix.IsStop("ETH", "0x098b716b8aaf21512996dc57eb0615e2383e2f96", []string{"sanctioned"}); !ok || l.Label != "LAZARUS GROUP" {
		t.Errorf("IsStop(sanctioned): %+v %v", l, ok)
	}
}

// TestOFACChainCodeLookup: a chain known only from an OFAC currency tag is
// found by Lookup under its lower-case name; an unknown one is not.
func TestOFACChainCodeLookup(t *testing.T) {
	s, err := Load(sdnSample)
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := NewIndex(s)
	const xmr = "49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL"
	for _, c := range []string{"xmr", "XMR", " Xmr "} {
		if got := ix.Lookup(c, xmr); len(got) != 1 || got[0].Label != "SOUTHFRONT" {
			t.Errorf("Lookup(%q): %+v", c, got)
		}
	}
	if got := ix.Lookup("doge", xmr); got != nil {
		t.Errorf("Lookup(doge): %+v", got)
	}
	if got := ix.LookupAny("BC1QARDCXZ845JW83VGFVCMEWHUXA0AG9GCHJWMCFD"); len(got) != 1 || got[0].Chain != "btc" {
		t.Errorf("LookupAny(upper-case bech32): %+v", got)
	}
}

func TestOFACChain(t *testing.T) {
	for _, c := range []struct{ tag, addr, want string }{
		{"XBT", "3F2sZ4jbhvDKQdGbHYPC6ZxFXEau2m5Lqj", "btc"},
		{"XBT", "bc1qardcxz845jw83vgfvcmewhuxa0ag9gchjwmcfd", "btc"},
		{"XBT", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "btc"}, // as the file says
		{"ETH", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "eth"},
		{"ETH", "not-an-address", "eth"}, // rejected later by checkAddress
		{"ETC", "0xd882cfc20f52f2599d84b8e8d58c7fb62cfe344b", "eth"},
		{"BSC", "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c", "eth"},
		{"ARB", "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c", "eth"},
		{"USDC", "0xb6f5ec1a0a9cd1526536d3f0426c429529471f40", "eth"},
		{"USDT", "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff", "eth"},
		{"USDT", "TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz", "trx"},
		{"USDT", "1CF46Rfbp97absrs7zb7dFfZS6qBXUm9EP", "btc"},
		{"USDT", "something else", "usdt"},
		{"TRX", "TFwjPScaJRCbSWVAywE1S1WgaUgSnyYUbD", "trx"},
		{"LTC", "LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6", "ltc"},
		{"BCH", "qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq", "bch"},
		{"ZEC", "t1g7wowvQ8gn2v8jrU1biyJ26sieNqNsBJy", "zec"},
		{"XMR", "49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL", "xmr"},
		{"DASH", "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2", "dash"},
		{"BNB", "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23", "bnb"},
		{"SOL", "42RLPACwZPx3vYYmxSueqsogfynBDqXK298EDsNoyoHi", "sol"},
		{"", "somewhere", "unknown"},
	} {
		if got := OFACChain(c.tag, c.addr); got != c.want {
			t.Errorf("OFACChain(%q, %q) = %q, want %q", c.tag, c.addr, got, c.want)
		}
	}
	for name, want := range map[string]string{
		"Digital Currency Address - XBT":  "XBT",
		"Digital Currency Address - USDT": "USDT",
		"digital currency address -ETH ":  "ETH",
		"Digital Currency Address":        "",
	} {
		if got, ok := ofacCurrencyTag(name); !ok || got != want {
			t.Errorf("ofacCurrencyTag(%q) = %q, %v", name, got, ok)
		}
	}
	if _, ok := ofacCurrencyTag("Website"); ok {
		t.Error("Website is a currency tag")
	}
}

// TestOFACMalformed: broken files fail whole, with one line naming the file
// (and the line where there is one).
func TestOFACMalformed(t *testing.T) {
	adv, err := os.ReadFile(sdnAdvancedSample)
	if err != nil {
		t.Fatal(err)
	}
	classic, err := os.ReadFile(sdnSample)
	if err != nil {
		t.Fatal(err)
	}
	bz, err := os.ReadFile(sdnSampleBz2)
	if err != nil {
		t.Fatal(err)
	}
	a, c := string(adv), string(classic)
	cases := []struct {
		name, file, content string
		kind                error
		want                string // the message after "FILE:"
	}{
		{"truncated advanced", "sdn_advanced.xml", a[:len(a)/2], ErrMalformed, "malformed XML: unexpected EOF"},
		{"truncated classic", "sdn.xml", c[:len(c)-20], ErrMalformed, "malformed XML: unexpected EOF"},
		{"mismatched tag", "sdn.xml", strings.Replace(c, "</lastName>", "</firstName>", 1), ErrMalformed,
			"14: malformed XML: element <lastName> closed by </firstName>"},
		{"wrong root", "sdn.xml", "<?xml version=\"1.0\"?>\n<list>\n<sdnList/>\n</list>\n", ErrMalformed, "2: root element is <list>, want <sdnList>"},
		{"bad eth address", "sdn.xml", strings.Replace(c, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "0x098B716B8Aaf21512996dC57EB0615e2383E2f9", 1),
			ErrBadAddress, "12: invalid address: eth address \"0x098B716B8Aaf21512996dC57EB0615e2383E2f9\" is not 0x followed by 40 hex digits"},
		{"bad checksum", "sdn.xml", strings.Replace(c, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "0x098b716B8Aaf21512996dC57EB0615e2383E2f96", 1),
			ErrBadChecksum, "12: invalid EIP-55 checksum: eth address 0x098b716B8Aaf21512996dC57EB0615e2383E2f96 (expected 0x098B716B8Aaf21512996dC57EB0615e2383E2f96)"},
		{"start and end tags differ", "sdn_advanced.xml", strings.Replace(a, "<ReferenceValueSets>", "<ReferenceValueSetsX>", 1), ErrMalformed,
			"malformed XML: element <ReferenceValueSetsX> closed by </ReferenceValueSets>"},
		{"truncated bz2", "sdn.xml.bz2", string(bz[:len(bz)/2]), ErrMalformed, "reading content: "},
		{"undefined entity", "sdn.xml", strings.Replace(c, "<lastName>TIAN<", "<lastName>TIAN&nbsp;<", 1), ErrMalformed, "49: malformed XML: invalid character entity &nbsp;"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.file, tc.content)
			_, err := Load(path)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tc.kind) || !errors.Is(err, ErrMalformed) {
				t.Errorf("error %T %v is not a ParseError of kind %v", err, err, tc.kind)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, path+":") || !strings.Contains(msg[len(path)+1:], tc.want) {
				t.Errorf("error %q, want %q after the file name", msg, tc.want)
			}
		})
	}
	// The checksum typo is accepted with a warning on request, as in the
	// other formats.
	path := writeFile(t, "sdn.xml", strings.Replace(c, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "0x098b716B8Aaf21512996dC57EB0615e2383E2f96", 1))
	s, err := LoadWith(path, Options{BadChecksum: ChecksumWarn})
	if err != nil || len(s.Warnings) != 1 || !s.Labels[0].ChecksumMismatch || s.Labels[0].Canonical != lazarusETH[0] {
		t.Fatalf("ChecksumWarn: %v %q", err, s.Warnings)
	}
	// A Profile before the reference values that define its feature types.
	swapped := strings.Replace(a, "<ReferenceValueSets>", "<Unused>", 1)
	swapped = strings.Replace(swapped, "</ReferenceValueSets>", "</Unused>", 1)
	path = writeFile(t, "sdn_advanced.xml", swapped)
	if _, err := Load(path); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), ":54: a Profile comes before the ReferenceValueSets") {
		t.Errorf("profile before reference values: %v", err)
	}
}

// ---- the real list ----

// sdnScan is an independent count of the shared sdn_advanced.xml.bz2: a
// line scan with regular expressions, sharing no code with the importer.
type sdnScan struct {
	tags     map[string]string   // FeatureType ID -> currency tag
	features int                 // Digital Currency Address features
	perTag   map[string]int      // tag -> features
	pairs    map[string]int      // "tag address" -> features
	lazarus  map[string][]string // tag -> addresses of the Lazarus Group party
}

var (
	scanFeatureType = regexp.MustCompile(`<FeatureType ID="(\d+)"[^>]*>Digital Currency Address - ([^<]+)</FeatureType>`)
	scanParty       = regexp.MustCompile(`<DistinctParty `)
	scanNamePart    = regexp.MustCompile(`<NamePartValue [^>]*>([^<]*)</NamePartValue>`)
	scanFeature     = regexp.MustCompile(`<Feature ID="\d+" FeatureTypeID="(\d+)"`)
	scanDetail      = regexp.MustCompile(`<VersionDetail [^>]*>([^<]*)</VersionDetail>`)
)

func scanSDNAdvanced(t testing.TB, path string) *sdnScan {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(bzip2.NewReader(bufio.NewReader(f)))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	s := &sdnScan{tags: map[string]string{}, perTag: map[string]int{}, pairs: map[string]int{}, lazarus: map[string][]string{}}
	partyName, tag := "", ""
	for sc.Scan() {
		line := sc.Text()
		if m := scanFeatureType.FindStringSubmatch(line); m != nil {
			s.tags[m[1]] = strings.TrimSpace(m[2])
			continue
		}
		if scanParty.MatchString(line) {
			partyName = ""
			continue
		}
		if m := scanNamePart.FindStringSubmatch(line); m != nil && partyName == "" {
			partyName = m[1] // the first name part of a party: its primary name
			continue
		}
		if m := scanFeature.FindStringSubmatch(line); m != nil {
			tag = s.tags[m[1]]
			if tag != "" {
				s.features++
				s.perTag[tag]++
			}
			continue
		}
		if m := scanDetail.FindStringSubmatch(line); m != nil && tag != "" {
			s.pairs[tag+" "+m[1]]++
			if partyName == "Lazarus Group" {
				s.lazarus[tag] = append(s.lazarus[tag], m[1])
			}
			tag = ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

var sharedSDN struct {
	once sync.Once
	set  *Set
	scan *sdnScan
	err  error
	took time.Duration
}

// loadSharedSDN imports and scans the shared file once for all tests.
func loadSharedSDN(t *testing.T) (*Set, *sdnScan) {
	t.Helper()
	path := shared(t, sdnFile)
	sharedSDN.once.Do(func() {
		start := time.Now()
		sharedSDN.set, sharedSDN.err = Load(path)
		sharedSDN.took = time.Since(start)
		if sharedSDN.err == nil {
			sharedSDN.scan = scanSDNAdvanced(t, path)
		}
	})
	if sharedSDN.err != nil {
		t.Fatal(sharedSDN.err)
	}
	return sharedSDN.set, sharedSDN.scan
}

// TestSharedOFACAdvanced: the real sdn_advanced.xml.bz2 imports completely.
// Every Digital Currency Address feature of the file (counted by a separate
// line scan) is one label, with its currency, and its entry's name.
func TestSharedOFACAdvanced(t *testing.T) {
	s, scan := loadSharedSDN(t)
	t.Logf("imported %s in %v: %d labels", s.Name, sharedSDN.took.Round(time.Millisecond), s.Entries)

	if scan.features == 0 || len(scan.tags) == 0 {
		t.Fatalf("the scan found no currency features (%d feature types)", len(scan.tags))
	}
	if s.Format != FormatOFACAdvanced || s.SHA256 != fileSHA(t, shared(t, sdnFile)) || len(s.Warnings) != 0 {
		t.Errorf("set: format %v, sha %s, warnings %q", s.Format, s.SHA256, s.Warnings)
	}
	if s.Entries != scan.features {
		t.Errorf("imported %d labels, the file has %d Digital Currency Address features", s.Entries, scan.features)
	}

	perTag := map[string]int{}
	pairs := map[string]int{}
	for _, l := range s.Labels {
		perTag[l.Extra["currency"]]++
		pairs[l.Extra["currency"]+" "+l.Address]++
		if l.Label == "" || l.Category != CategorySanctioned || !strings.HasPrefix(l.Source, "OFAC SDN (") || l.Canonical == "" {
			t.Errorf("label %+v", l)
		}
		if want := OFACChain(l.Extra["currency"], l.Address); l.Chain != want {
			t.Errorf("%s %s: chain %s, want %s", l.Extra["currency"], l.Address, l.Chain, want)
		}
	}
	if !reflect.DeepEqual(perTag, scan.perTag) {
		t.Errorf("per currency: imported %v, the file has %v", perTag, scan.perTag)
	}
	if !reflect.DeepEqual(pairs, scan.pairs) {
		t.Errorf("(currency, address) pairs differ: imported %d, the file has %d", len(pairs), len(scan.pairs))
	}
	var tags []string
	for tag := range scan.perTag {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	var b strings.Builder
	for _, tag := range tags {
		fmt.Fprintf(&b, " %s %d", tag, scan.perTag[tag])
	}
	t.Logf("Digital Currency Address features per currency:%s (total %d, %d currency feature types)", b.String(), scan.features, len(scan.tags))

	// Distinct addresses: every (chain, address) of the file is one index
	// key (0x and bech32 addresses compared in lower case).
	distinct := map[string]bool{}
	for pair := range scan.pairs {
		addr := pair[strings.IndexByte(pair, ' ')+1:]
		if l := strings.ToLower(addr); strings.HasPrefix(l, "0x") || strings.HasPrefix(l, "bc1") {
			addr = l
		}
		distinct[addr] = true
	}
	ix, err := NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Addresses() != len(distinct) {
		t.Errorf("index holds %d addresses, the file has %d distinct ones", ix.Addresses(), len(distinct))
	}
	chains := map[string]int{}
	for _, l := range s.Labels {
		chains[l.Chain]++
	}
	t.Logf("labels per chain: %v; %d distinct addresses", chains, len(distinct))

	// Lazarus Group's Ethereum addresses: the file's, and the importer's.
	if !reflect.DeepEqual(scan.lazarus["ETH"], lazarusETH) {
		t.Errorf("the file's Lazarus Group ETH addresses are %q, the test expects %q", scan.lazarus["ETH"], lazarusETH)
	}
	for _, a := range lazarusETH {
		got := ix.Lookup("eth", strings.ToLower(a))
		if len(got) != 1 || got[0].Label != "LAZARUS GROUP" || got[0].Source != "OFAC SDN (DPRK3)" || got[0].Canonical != a || got[0].Extra["ofac_name"] != "Lazarus Group" {
			t.Errorf("Lazarus Group address %s: %+v", a, got)
		}
	}
	if got := ix.Lookup("btc", "3F2sZ4jbhvDKQdGbHYPC6ZxFXEau2m5Lqj"); len(got) != 1 || got[0].Label != "TIAN, Yinyin" || got[0].Source != "OFAC SDN (CYBER2, DPRK3)" {
		t.Errorf("TIAN's Bitcoin address: %+v", got)
	}
	if got := ix.Lookup("ltc", "LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6"); len(got) != 2 {
		t.Errorf("the LTC address of two parties: %+v", got)
	}
	// A name the file already writes as the SDN list prints it has no
	// ofac_name.
	if got := ix.Lookup("eth", "0x6F1cA141A28907F78Ebaa64fb83A9088b02A8352"); len(got) != 1 || got[0].Label != "CHATEX" || got[0].Extra["ofac_name"] != "" {
		t.Errorf("CHATEX: %+v", got)
	}
}

// BenchmarkImportSDNAdvanced times importing the real list, bz2 as
// published and plain (decompressed once beforehand), and reports the peak
// live heap seen during an import. MB/s is of the 121 MB of XML in both.
//
//	go test ./labels -run '^$' -bench ImportSDNAdvanced -benchtime 3x
func BenchmarkImportSDNAdvanced(b *testing.B) {
	p := filepath.Join(sharedDir, sdnFile)
	if _, err := os.Stat(p); err != nil {
		b.Skipf("shared label sample %s not available (%v)", p, err)
	}
	plain := filepath.Join(b.TempDir(), "sdn_advanced.xml")
	func() {
		in, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		out, err := os.Create(plain)
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		if _, err := io.Copy(out, bzip2.NewReader(bufio.NewReader(in))); err != nil {
			b.Fatal(err)
		}
	}()
	xml, err := os.Stat(plain)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{{"bz2", p}, {"plain", plain}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(xml.Size()) // MB/s of XML, compressed or not
			b.ReportAllocs()
			peak := watchHeap()
			entries := 0
			for i := 0; i < b.N; i++ {
				s, err := Load(c.path)
				if err != nil {
					b.Fatal(err)
				}
				entries = s.Entries
			}
			b.StopTimer()
			b.ReportMetric(float64(entries), "labels")
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
		})
	}
}

// watchHeap samples the live heap every few milliseconds until stop is
// called, which returns the highest value seen.
func watchHeap() (stop func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var max uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > max {
				max = v
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return max
	}
}
