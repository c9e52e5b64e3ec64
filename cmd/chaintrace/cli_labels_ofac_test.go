package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	sharedSDNAdvanced = "../../../shared/labels/sdn_advanced.xml.bz2"
	sdnSampleXML      = "../../labels/testdata/sdn-sample.xml"
	sdnSampleBz2      = "../../labels/testdata/sdn-sample.xml.bz2"
	sdnAdvancedSample = "../../labels/testdata/sdn-advanced-sample.xml"
)

// ofacLazarusETH are Lazarus Group's Ethereum addresses in the shared list
// (labels.TestSharedOFACAdvanced checks them against the file).
var ofacLazarusETH = []string{
	"0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
	"0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B",
	"0x3Cffd56B47B7b41c56258D9C7731ABaDc360E073",
	"0x53b6936513e738f44FB50d2b9476730C0Ab3Bfc1",
	"0x35fB6f6DB4fb05e6A4cE86f2C93691425626d4b1",
	"0xF7B31119c2682c88d88D455dBb9d5932c65Cf1bE",
	"0x3e37627dEAA754090fBFbb8bd226c1CE66D255e9",
	"0x08723392Ed15743cc38513C4925f5e6be5c17243",
}

func sharedSDN(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(sharedSDNAdvanced); err != nil {
		t.Skipf("shared label sample %s not available (%v); this test needs the repository's ../shared/labels directory", sharedSDNAdvanced, err)
	}
	return sharedSDNAdvanced
}

// showRow is the `labels show` row of a label: chain, label, category and
// source columns, in that order, on one line.
func showRow(chain, label, category, source string) *regexp.Regexp {
	q := regexp.QuoteMeta
	return regexp.MustCompile(`(?m)^` + q(chain) + ` +` + q(label) + ` +` + q(category) + ` +` + q(source) + ` +\S`)
}

// TestOFACImportShowCLI: the real sdn_advanced.xml.bz2 imports completely
// through `labels import`, and `labels show` finds Lazarus Group's Ethereum
// addresses (in any letter case), a Bitcoin address, and the currencies
// chaintrace has no chain code for.
func TestOFACImportShowCLI(t *testing.T) {
	path := sharedSDN(t)
	st := filepath.Join(t.TempDir(), "store")
	code, out, errs := runCLI(t, nil, "labels", "import", path, "--store", st)
	if code != 0 || !regexp.MustCompile(`^imported sdn_advanced\.xml\.bz2: 761 labels \(sha256 [0-9a-f]{64}\)\n$`).MatchString(out) {
		t.Fatalf("import: exit %d %q %q", code, out, errs)
	}
	lazarus := showRow("eth", "LAZARUS GROUP", "sanctioned", "OFAC SDN (DPRK3)")
	for _, a := range ofacLazarusETH {
		for _, form := range []string{a, strings.ToLower(a)} {
			code, out, errs := runCLI(t, nil, "labels", "show", form, "--store", st)
			if code != 0 || !lazarus.MatchString(out) || strings.Count(out, "\n") != 2 {
				t.Errorf("show %s: exit %d %q %q", form, code, out, errs)
			}
		}
	}
	for _, c := range []struct {
		addr string
		rows []*regexp.Regexp
	}{
		{"3F2sZ4jbhvDKQdGbHYPC6ZxFXEau2m5Lqj", []*regexp.Regexp{showRow("btc", "TIAN, Yinyin", "sanctioned", "OFAC SDN (CYBER2, DPRK3)")}},
		{"bc1qardcxz845jw83vgfvcmewhuxa0ag9gchjwmcfd", []*regexp.Regexp{showRow("btc", "VALERIAN LABS, INC.", "sanctioned", "OFAC SDN (ILLICIT-DRUGS-EO14059)")}},
		{"LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6", []*regexp.Regexp{ // one address, two parties
			showRow("ltc", "RAZA, Mujtaba Ali", "sanctioned", "OFAC SDN (CYBER2, ELECTION-EO13848)"),
			showRow("ltc", "SECONDEYE SOLUTION", "sanctioned", "OFAC SDN (CYBER2, ELECTION-EO13848)"),
		}},
		{"49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL", []*regexp.Regexp{showRow("xmr", "SOUTHFRONT", "sanctioned", "OFAC SDN (CYBER2, ELECTION-EO13848, NPWMD)")}},
		{"TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz", []*regexp.Regexp{showRow("trx", "CHEIL CREDIT BANK", "sanctioned", "OFAC SDN (DPRK4)")}},
	} {
		code, out, errs := runCLI(t, nil, "labels", "show", c.addr, "--store", st)
		if code != 0 || strings.Count(out, "\n") != 1+len(c.rows) {
			t.Errorf("show %s: exit %d %q %q", c.addr, code, out, errs)
			continue
		}
		for _, re := range c.rows {
			if !re.MatchString(out) {
				t.Errorf("show %s: %q has no row matching %s", c.addr, out, re)
			}
		}
	}
	code, out, _ = runCLI(t, nil, "labels", "list", "--store", st)
	if code != 0 || !regexp.MustCompile(`(?m)^sdn_advanced\.xml\.bz2 +761 +[0-9a-f]{64}`).MatchString(out) {
		t.Errorf("list: exit %d %q", code, out)
	}
}

// TestOFACSampleImportCLI: the classic sdn.xml, plain and bz2, and a small
// sdn_advanced.xml import through the CLI without ../shared.
func TestOFACSampleImportCLI(t *testing.T) {
	st := filepath.Join(t.TempDir(), "store")
	code, out, errs := runCLI(t, nil, "labels", "import", sdnSampleXML, sdnSampleBz2, sdnAdvancedSample, "--store", st)
	if code != 0 || !strings.Contains(out, "imported sdn-sample.xml: 15 labels") || !strings.Contains(out, "imported sdn-sample.xml.bz2: 15 labels") ||
		!strings.Contains(out, "imported sdn-advanced-sample.xml: 8 labels") {
		t.Fatalf("import: exit %d %q %q", code, out, errs)
	}
	// The same label from three files is three rows, one per set.
	code, out, _ = runCLI(t, nil, "labels", "show", "0x098b716b8aaf21512996dc57eb0615e2383e2f96", "--store", st)
	if code != 0 || strings.Count(out, "LAZARUS GROUP") != 3 || strings.Count(out, "\n") != 4 || !showRow("eth", "LAZARUS GROUP", "sanctioned", "OFAC SDN (DPRK3)").MatchString(out) {
		t.Fatalf("show: exit %d %q", code, out)
	}
	code, out, _ = runCLI(t, nil, "labels", "show", "0x0000000000000000000000000000000000000001", "--store", st)
	if code != 0 || !strings.Contains(out, "no label in the store's 3 label set(s)") {
		t.Fatalf("show of an unlabelled address: exit %d %q", code, out)
	}
}

// TestOFACMalformedCLI: a broken OFAC file is bad input: exit 2, one line
// naming the file and line, and nothing is imported.
func TestOFACMalformedCLI(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(sdnSampleXML)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "broken-sdn.xml")
	if err := os.WriteFile(bad, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(dir, "store")
	code, out, errs := runCLI(t, nil, "labels", "import", sdnSampleXML, bad, "--store", st)
	line := lastLine(errs)
	if code != 2 || out != "" || !strings.Contains(line, bad+":") || !strings.Contains(line, "malformed XML: unexpected EOF") {
		t.Fatalf("import of a truncated file: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = runCLI(t, nil, "labels", "list", "--store", st)
	if code != 0 || strings.Contains(out, "sdn-sample.xml") {
		t.Fatalf("a failed import left sets behind: %q", out)
	}
}

// TestOFACTraceLabelsCLI: `trace --labels` takes the OFAC file through the
// same loader: the exhibit names it with its digest and entry count, and the
// trace is otherwise the same; a broken OFAC file is exit 2.
func TestOFACTraceLabelsCLI(t *testing.T) {
	path := sharedSDN(t)
	node, truth := playedNode(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "e.json")
	args := append(traceArgs(truth, node.URL(), filepath.Join(dir, "store"), demoLabels(t, truth), out), "--labels", path)
	if code, _, errs := runCLI(t, nil, args...); code != 0 {
		t.Fatalf("trace: %s", errs)
	}
	e, _ := readExhibit(t, out)
	var names []string
	for _, s := range e.Provenance.LabelSets {
		names = append(names, s.Name)
		if s.Name == "sdn_advanced.xml.bz2" && (s.Entries != 761 || len(s.SHA256) != 64) {
			t.Errorf("label set %+v", s)
		}
	}
	if strings.Join(names, ",") != "labels.csv,sdn_advanced.xml.bz2" || len(e.Endpoints) != 6 {
		t.Fatalf("label sets %v, %d endpoints", names, len(e.Endpoints))
	}

	bad := filepath.Join(dir, "broken-sdn.xml")
	if err := os.WriteFile(bad, []byte("<?xml version=\"1.0\"?>\n<sdnList>\n<sdnEntry>\n</sdnList>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args = traceArgs(truth, node.URL(), filepath.Join(dir, "store"), bad, filepath.Join(dir, "e2.json"))
	code, _, errs := runCLI(t, nil, args...)
	if line := lastLine(errs); code != 2 || !strings.Contains(line, bad+":4: malformed XML: element <sdnEntry> closed by </sdnList>") {
		t.Fatalf("trace with a broken OFAC file: exit %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "e2.json")); err == nil {
		t.Error("a failed trace wrote its exhibit")
	}
}
