package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/rpcproxy"
	"github.com/chaintrace/chaintrace/internal/scenario"
)

// traceArgs are the flags of a trace of the demo case.
func traceArgs(truth *scenario.Truth, rpc, storeDir, labelsPath, out string) []string {
	return []string{"trace", "--seed", truth.Seeds[0].Hex(), "--from-block", itoa(truth.First), "--to-block", itoa(truth.Last),
		"--eth-rpc", rpc, "--store", storeDir, "--labels", labelsPath, "--out", out}
}

func demoLabels(t *testing.T, truth *scenario.Truth) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "labels.csv")
	if err := writeLabelsCSV(p, truth); err != nil {
		t.Fatal(err)
	}
	return p
}

func readExhibit(t *testing.T, path string) (*exhibit.Exhibit, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := exhibit.Validate(data); err != nil {
		t.Fatalf("%s fails the exhibit schema: %v", path, err)
	}
	e, err := exhibit.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return e, data
}

func TestTraceVerifyAndTampering(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	labelsPath := demoLabels(t, truth)
	out := filepath.Join(dir, "exhibit.json")
	code, _, errs := runCLI(t, nil, traceArgs(truth, node.URL(), filepath.Join(dir, "store"), labelsPath, out)...)
	if code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errs)
	}
	e, data := readExhibit(t, out)
	if len(e.Endpoints) != 6 || len(e.Transfers) < 50 || e.Provenance.ChainID != 1337 || len(e.Provenance.LabelSets) != 1 {
		t.Fatalf("exhibit: %d endpoints, %d transfers, provenance %+v", len(e.Endpoints), len(e.Transfers), e.Provenance)
	}
	if !strings.Contains(string(data), `"endpoint_redacted": "http://127.0.0.1:`) {
		t.Error("provenance does not name the node")
	}
	code, stdout, errs := runCLI(t, nil, "verify", out, "--eth-rpc", node.URL())
	if code != 0 || !strings.Contains(stdout, "OK") {
		t.Fatalf("verify of a fresh exhibit: exit %d\n%s%s", code, stdout, errs)
	}

	// Tampered copies: each alteration is caught and named by row.
	tamper := func(name string, edit func(m map[string]any)) (int, string) {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, _ := json.MarshalIndent(m, "", "  ")
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, b, 0o644)
		code, stdout, _ := runCLI(t, nil, "verify", p, "--eth-rpc", node.URL())
		return code, stdout
	}
	row := func(m map[string]any, i int) map[string]any { return m["transfers"].([]any)[i].(map[string]any) }
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want []string
	}{
		{"amount", func(m map[string]any) { row(m, 3)["amount"] = "1" }, []string{"transfer 3", "amount", "digest"}},
		{"block-hash", func(m map[string]any) {
			row(m, 5)["block_hash"] = "0x" + strings.Repeat("ab", 32)
		}, []string{"transfer 5", "block_hash"}},
		{"address", func(m map[string]any) {
			row(m, 7)["to"] = "0x000000000000000000000000000000000000dEaD"
		}, []string{"transfer 7", "to"}},
		{"digest", func(m map[string]any) {
			m["digest"].(map[string]any)["value"] = strings.Repeat("0", 64)
		}, []string{"digest", "altered"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout := tamper(tc.name, tc.edit)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s", code, stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("report does not mention %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// TestTraceIsDeterministicAndWarmStoreNeedsNoNode: the same trace into two
// fresh stores gives the same digest and the same bytes apart from
// generated_at; a second trace on a warm store makes no node call.
func TestTraceIsDeterministicAndWarmStoreNeedsNoNode(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	labelsPath := demoLabels(t, truth)
	proxy := rpcproxy.New(node.URL())
	defer proxy.Close()
	var digests []string
	var bodies [][]byte
	for i, storeName := range []string{"a", "b"} {
		out := filepath.Join(dir, storeName+".json")
		if code, _, errs := runCLI(t, nil, traceArgs(truth, proxy.URL(), filepath.Join(dir, storeName), labelsPath, out)...); code != 0 {
			t.Fatalf("trace %d: %s", i, errs)
		}
		e, data := readExhibit(t, out)
		digests = append(digests, e.Digest.Value)
		bodies = append(bodies, stripGeneratedAt(data))
	}
	if digests[0] != digests[1] || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("two fresh stores give different exhibits: %s vs %s", digests[0], digests[1])
	}
	// Warm: the node is gone, and the trace still gives the same exhibit.
	proxy.Close()
	before := proxy.Calls()
	out := filepath.Join(dir, "warm.json")
	code, _, errs := runCLI(t, nil, traceArgs(truth, proxy.URL(), filepath.Join(dir, "a"), labelsPath, out)...)
	if code != 0 {
		t.Fatalf("warm trace with the node down: exit %d: %s", code, errs)
	}
	if proxy.Calls() != before {
		t.Errorf("warm trace made %d node calls", proxy.Calls()-before)
	}
	if e, _ := readExhibit(t, out); e.Digest.Value != digests[0] {
		t.Errorf("warm trace digest %s, cold %s", e.Digest.Value, digests[0])
	}
}

func stripGeneratedAt(b []byte) []byte {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, `"generated_at"`) {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\n"))
}

func TestTraceAndVerifyBadInput(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	labelsPath := demoLabels(t, truth)
	badLabels := filepath.Join(dir, "bad.csv")
	os.WriteFile(badLabels, []byte("chain,address,label,category,source\neth,0x1234,Some Exchange,exchange,x\n"), 0o644)
	notJSON := filepath.Join(dir, "not.json")
	os.WriteFile(notJSON, []byte("this is not an exhibit\n"), 0o644)
	otherSchema := filepath.Join(dir, "v9.json")
	os.WriteFile(otherSchema, []byte(`{"schema":"chaintrace/exhibit/v9"}`), 0o644)
	quiet := "0x00000000000000000000000000000000000fee15"
	base := func(seed string) []string {
		return []string{"trace", "--seed", seed, "--from-block", itoa(truth.First), "--to-block", itoa(truth.Last),
			"--eth-rpc", node.URL(), "--store", st, "--out", filepath.Join(dir, "x.json")}
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown seed format", base("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"), "--seed"},
		{"seed without activity", base(quiet), "no seed has activity"},
		{"malformed label file", append(base(truth.Seeds[0].Hex()), "--labels", badLabels), "bad.csv:2"},
		{"missing label file", append(base(truth.Seeds[0].Hex()), "--labels", filepath.Join(dir, "none.csv")), "none.csv"},
		{"unknown taint model", append(base(truth.Seeds[0].Hex()), "--taint", "magic"), `unknown taint model "magic"`},
		{"taint model twice", append(base(truth.Seeds[0].Hex()), "--taint", "fifo,haircut,fifo"), "named twice"},
		{"colour name with a space", base("theft a=" + truth.Seeds[0].Hex()), `colour name "theft a"`},
		{"some seeds coloured, some not", append(base("a="+truth.Seeds[0].Hex()), "--seed", quiet), "name its colour"},
		{"a seed in two colours", append(base("a="+truth.Seeds[0].Hex()), "--seed", "b="+truth.Seeds[0].Hex()), "two colours, a and b"},
		{"exhibit not JSON", []string{"verify", notJSON, "--eth-rpc", node.URL()}, "not JSON"},
		{"exhibit of another schema", []string{"verify", otherSchema, "--eth-rpc", node.URL()}, "chaintrace/exhibit/v9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, nil, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (%s)", code, errs)
			}
			// Progress may come first; the error is one line, and the last.
			if strings.Count(errs, "chaintrace: ") != 1 || !strings.Contains(lastLine(errs), tc.want) {
				t.Errorf("stderr %q: want one error line mentioning %q", errs, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
		t.Error("a failed trace wrote an exhibit")
	}
	_ = labelsPath
}

// TestInterruptedTraceLeavesNoExhibit: a trace cancelled while it fetches
// (SIGINT cancels the same context) writes nothing to --out, leaves no
// temporary file, and a rerun completes.
func TestInterruptedTraceLeavesNoExhibit(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	target, _ := url.Parse(node.URL())
	slow := httputil.NewSingleHostReverseProxy(target)
	slowSrv := newSlowServer(t, slow, 300*time.Millisecond)
	out := filepath.Join(dir, "exhibit.json")
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var o, e bytes.Buffer
	code := run(ctx, traceArgs(truth, slowSrv, filepath.Join(dir, "store"), demoLabels(t, truth), out), &o, &e)
	if code == 0 {
		t.Fatal("the interrupted trace succeeded; make the node slower")
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an interrupted trace left an exhibit")
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.Contains(en.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", en.Name())
		}
	}
	if code, _, errs := runCLI(t, nil, traceArgs(truth, node.URL(), filepath.Join(dir, "store"), demoLabels(t, truth), out)...); code != 0 {
		t.Fatalf("rerun after the interruption: %s", errs)
	}
	readExhibit(t, out)
}

// newSlowServer serves h, delaying every request.
func newSlowServer(t *testing.T, h http.Handler, delay time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLabelsImportShowAndTraceUseTheStore(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	labelsPath := demoLabels(t, truth)
	code, out, errs := runCLI(t, nil, "labels", "import", labelsPath, "--store", st)
	if code != 0 || !strings.Contains(out, "imported labels.csv: 7 labels (sha256 ") {
		t.Fatalf("import: exit %d %q %q", code, out, errs)
	}
	binance := devAddr("binance-hot")
	code, out, _ = runCLI(t, nil, "labels", "show", binance, "--store", st)
	if code != 0 || !strings.Contains(out, "Binance 14") || !strings.Contains(out, "exchange") {
		t.Fatalf("show: exit %d %q", code, out)
	}
	code, out, _ = runCLI(t, nil, "labels", "show", "0x000000000000000000000000000000000000dEaD", "--store", st)
	if code != 0 || !strings.Contains(out, "no label") {
		t.Fatalf("show of an unlabelled address: exit %d %q", code, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("title: x\ntags:\n  - label: no address here\n"), 0o644)
	code, _, errs = runCLI(t, nil, "labels", "import", bad, labelsPath, "--store", st)
	if code != 2 || !strings.Contains(errs, "bad.yaml:3") {
		t.Fatalf("bad import: exit %d %q", code, errs)
	}
	// A trace with no --labels uses the store's sets, and says so.
	exOut := filepath.Join(dir, "e.json")
	args := []string{"trace", "--seed", truth.Seeds[0].Hex(), "--from-block", itoa(truth.First), "--to-block", itoa(truth.Last),
		"--eth-rpc", node.URL(), "--store", st, "--out", exOut}
	if code, _, errs := runCLI(t, nil, args...); code != 0 {
		t.Fatalf("trace: %s", errs)
	}
	e, _ := readExhibit(t, exOut)
	if len(e.Endpoints) != 6 || len(e.Provenance.LabelSets) != 1 || e.Provenance.LabelSets[0].Name != "labels.csv" {
		t.Fatalf("trace on stored labels: %d endpoints, label sets %+v", len(e.Endpoints), e.Provenance.LabelSets)
	}
}

func devAddr(name string) string { return devchain.Addr(name).Hex() }
