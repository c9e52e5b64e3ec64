package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/rpcproxy"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"go.yaml.in/yaml/v3"
)

// runCLI runs the command line in-process and returns its exit code and
// what it printed.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// lastLine is the one line a failing command prints to say what is wrong.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// playedNode starts a node with the demo scenario played on it.
func playedNode(t *testing.T) (*devchain.Node, *scenario.Truth) {
	t.Helper()
	node, err := devchain.Start(devchain.Config{Funded: scenario.Upbit2019Funded})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	truth, err := scenario.PlayUpbit2019(node)
	if err != nil {
		t.Fatal(err)
	}
	return node, truth
}

func window(truth *scenario.Truth) []string {
	return []string{"--from-block", "1", "--to-block", itoa(truth.Last)}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestTransfersFromStoreMakeNoNodeCall: once a range is indexed, transfers
// are served from the store; the node is shut down to prove it, and the
// rows equal those fetched straight from the node.
func TestTransfersFromStoreMakeNoNodeCall(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	indexed, fresh := filepath.Join(dir, "indexed"), filepath.Join(dir, "fresh")
	proxy := rpcproxy.New(node.URL())
	defer proxy.Close()

	code, out, errs := runCLI(t, nil, append([]string{"index", "--eth-rpc", proxy.URL(), "--store", indexed}, window(truth)...)...)
	if code != 0 {
		t.Fatalf("index: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "indexed blocks 1-") {
		t.Errorf("index summary: %q", out)
	}
	// From the node, into a store that holds nothing yet.
	code, fromNode, errs := runCLI(t, nil, append([]string{"transfers", "--eth-rpc", proxy.URL(), "--store", fresh}, window(truth)...)...)
	if code != 0 {
		t.Fatalf("transfers from node: exit %d: %s", code, errs)
	}
	// Now without the node.
	proxy.Close()
	before := proxy.Calls()
	code, fromStore, errs := runCLI(t, nil, append([]string{"transfers", "--eth-rpc", proxy.URL(), "--store", indexed}, window(truth)...)...)
	if code != 0 {
		t.Fatalf("transfers from store with the node down: exit %d: %s", code, errs)
	}
	if proxy.Calls() != before {
		t.Errorf("transfers on an indexed range made %d node calls", proxy.Calls()-before)
	}
	if fromStore != fromNode {
		t.Errorf("rows from the store differ from rows from the node")
	}
	n := strings.Count(fromStore, "\n")
	if n < len(truth.Moves) {
		t.Errorf("%d rows for %d deliberate movements", n, len(truth.Moves))
	}
	// --address is served by the address index: exactly the rows naming it.
	seed := truth.Seeds[0].Hex()
	code, mine, _ := runCLI(t, nil, append([]string{"transfers", "--store", indexed, "--address", seed}, window(truth)...)...)
	if code != 0 {
		t.Fatal("transfers --address failed")
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(fromStore), "\n") {
		if strings.Contains(l, `"`+seed+`"`) {
			want = append(want, l)
		}
	}
	got := strings.Split(strings.TrimSpace(mine), "\n")
	if !slices.Equal(got, want) || len(got) < 5 {
		t.Errorf("--address %s: %d rows, want the %d rows naming it", seed, len(got), len(want))
	}
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	badYAML := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badYAML, []byte("eth:\n  rpc: [unclosed\n"), 0o644)
	unknownKey := filepath.Join(dir, "unknown.yaml")
	os.WriteFile(unknownKey, []byte("eth:\n  rcp: http://127.0.0.1:8545\n"), 0o644)
	heurKey := filepath.Join(dir, "heur-key.yaml")
	os.WriteFile(heurKey, []byte("heuristics:\n  peel-chain:\n    min-lenght: 4\n"), 0o644)
	heurValue := filepath.Join(dir, "heur-value.yaml")
	os.WriteFile(heurValue, []byte("heuristics:\n  peel-chain:\n    min-length: 1\n"), 0o644)
	heurType := filepath.Join(dir, "heur-type.yaml")
	os.WriteFile(heurType, []byte("heuristics:\n  deposit-address:\n    within-blocks: soon\n"), 0o644)
	heurWei := filepath.Join(dir, "heur-wei.yaml")
	os.WriteFile(heurWei, []byte("heuristics:\n  deposit-address:\n    max-left: 0.01\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"malformed address", []string{"transfers", "--store", st, "--from-block", "1", "--to-block", "2", "--address", "0x1234"}, "want 40 hex digits"},
		{"wrong checksum", []string{"transfers", "--store", st, "--from-block", "1", "--to-block", "2", "--address", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}, "wrong EIP-55 checksum"},
		{"from after to", []string{"index", "--store", st, "--eth-rpc", "http://127.0.0.1:1", "--from-block", "9", "--to-block", "2"}, "--from-block 9 is after --to-block 2"},
		{"not a number", []string{"index", "--store", st, "--eth-rpc", "http://127.0.0.1:1", "--from-block", "x", "--to-block", "2"}, `--from-block "x"`},
		{"missing window", []string{"index", "--store", st, "--eth-rpc", "http://127.0.0.1:1"}, "--from-block is required"},
		{"unknown flag", []string{"index", "--frm-block", "1"}, "unknown flag: --frm-block"},
		{"unknown command", []string{"idnex"}, "unknown command"},
		{"unreadable config", []string{"--config", filepath.Join(dir, "nope.yaml"), "index"}, "nope.yaml"},
		{"malformed config", []string{"--config", badYAML, "index"}, "not valid YAML"},
		{"unknown config key", []string{"--config", unknownKey, "index"}, `unknown key "eth.rcp"`},
		{"unknown heuristics key", []string{"--config", heurKey, "index"}, `unknown key "heuristics.peel-chain.min-lenght"`},
		{"bad heuristics value", []string{"--config", heurValue, "trace", "--store", st, "--seed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}, "heuristics.peel-chain: want 2 <= min-length"},
		{"heuristics value of the wrong type", []string{"--config", heurType, "trace", "--store", st, "--seed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}, "within-blocks"},
		{"heuristics wei not an integer", []string{"--config", heurWei, "trace", "--chain", "btc", "--store", st, "--seed", "x"}, "max-left"},
		{"bad url", []string{"index", "--store", st, "--eth-rpc", "localhost:8545", "--from-block", "1", "--to-block", "2"}, "want an http:// or https:// URL"},
		{"no rpc", []string{"index", "--store", st, "--from-block", "1", "--to-block", "2"}, "--eth-rpc is required"},
		{"btc no rpc", []string{"index", "--chain", "btc", "--store", st, "--from-block", "1", "--to-block", "2"}, "--btc-rpc is required"},
		{"btc trace no seed", []string{"trace", "--chain", "btc", "--store", st}, "--seed is required"},
		{"btc trace bad checksum", []string{"trace", "--chain", "btc", "--store", st, "--from-block", "0", "--to-block", "5", "--seed", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"}, "checksum"},
		{"btc trace bad bech32", []string{"trace", "--chain", "btc", "--store", st, "--from-block", "0", "--to-block", "5", "--seed", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx"}, "checksum"},
		{"btc trace wrong network", []string{"trace", "--chain", "btc", "--store", st, "--from-block", "0", "--to-block", "5", "--seed", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"}, "testnet"},
		{"btc trace bad outpoint", []string{"trace", "--chain", "btc", "--store", st, "--from-block", "0", "--to-block", "5", "--seed", "abcd:0"}, "64 hex digits"},
		{"btc trace bad network flag", []string{"trace", "--chain", "btc", "--store", st, "--btc-network", "dogenet", "--from-block", "0", "--seed", "x"}, "--btc-network"},
		{"btc trace esplora and rpc", []string{"trace", "--chain", "btc", "--store", st, "--esplora", "http://127.0.0.1:1", "--btc-rpc", "http://127.0.0.1:1", "--from-block", "0", "--seed", "x"}, "not both"},
		{"btc trace esplora bad url", []string{"trace", "--chain", "btc", "--store", st, "--esplora", "ftp://x", "--from-block", "0", "--seed", "x"}, "--esplora"},
		{"btc not indexed, no node", []string{"transfers", "--chain", "btc", "--store", st, "--from-block", "1", "--to-block", "2"}, "give --btc-rpc"},
		{"unknown chain", []string{"index", "--chain", "doge", "--store", st, "--from-block", "1", "--to-block", "2"}, `unknown chain "doge"`},
		{"not indexed, no node", []string{"transfers", "--store", st, "--from-block", "1", "--to-block", "2"}, "not in store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, nil, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errs)
			}
			line := lastLine(errs)
			if strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(line, tc.want) {
				t.Errorf("stderr %q: want one line mentioning %q", errs, tc.want)
			}
		})
	}
}

func TestUnreachableNodeExitsOneAfterRetries(t *testing.T) {
	code, _, errs := runCLI(t, nil, "index", "--store", t.TempDir(), "--eth-rpc", "http://127.0.0.1:1/v3/secretkey0123456789abcdef",
		"--eth-retries", "2", "--from-block", "1", "--to-block", "2")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	line := lastLine(errs)
	for _, want := range []string{"node unavailable", "http://127.0.0.1:1/v3/REDACTED", "connection refused", "after 3 attempts"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q does not say %q", line, want)
		}
	}
	if strings.Contains(errs, "secretkey") {
		t.Errorf("the API key leaked to stderr: %q", errs)
	}
	if n := strings.Count(errs, "retrying"); n != 2 {
		t.Errorf("%d retry warnings, want 2", n)
	}
}

func TestNodeWithoutTracesNamesTheCapability(t *testing.T) {
	node, truth := playedNode(t)
	proxy := rpcproxy.New(node.URL(), "debug_traceBlockByNumber", "debug_traceTransaction", "trace_block", "trace_transaction")
	defer proxy.Close()
	st := filepath.Join(t.TempDir(), "store")
	code, _, errs := runCLI(t, nil, append([]string{"index", "--store", st, "--eth-rpc", proxy.URL()}, window(truth)...)...)
	if code == 0 || !strings.Contains(errs, "no trace API") || !strings.Contains(errs, "--no-internal") {
		t.Fatalf("exit %d, stderr %q: want an error naming the missing trace API and --no-internal", code, errs)
	}
	// With the explicit opt-out it works, and says so.
	code, _, errs = runCLI(t, nil, append([]string{"index", "--store", st, "--eth-rpc", proxy.URL(), "--no-internal"}, window(truth)...)...)
	if code != 0 || !strings.Contains(errs, "internal transfers are not read") {
		t.Fatalf("--no-internal: exit %d, stderr %q", code, errs)
	}
	// The store remembers: indexing the same store with internal transfers
	// would mix the two kinds of range.
	code, _, errs = runCLI(t, nil, append([]string{"index", "--store", st, "--eth-rpc", node.URL()}, window(truth)...)...)
	if code != 2 || !strings.Contains(errs, "without-internal") {
		t.Fatalf("mixing modes: exit %d, stderr %q", code, errs)
	}
}

func TestConfigFileAndEnvironment(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("eth:\n  rpc: "+node.URL()+"\n  batch-size: 7\nstore: "+filepath.Join(dir, "a")+"\n"), 0o644)
	code, out, errs := runCLI(t, nil, append([]string{"--config", cfg, "index"}, window(truth)...)...)
	if code != 0 || !strings.Contains(out, "indexed blocks") {
		t.Fatalf("config: exit %d %s %s", code, out, errs)
	}
	code, out, errs = runCLI(t, map[string]string{"CHAINTRACE_ETH_RPC": node.URL(), "CHAINTRACE_STORE": filepath.Join(dir, "b"),
		"CHAINTRACE_FROM_BLOCK": "1", "CHAINTRACE_TO_BLOCK": itoa(truth.Last)}, "index")
	if code != 0 || !strings.Contains(out, "indexed blocks") {
		t.Fatalf("environment: exit %d %s %s", code, out, errs)
	}
	// A flag beats the environment.
	code, _, errs = runCLI(t, map[string]string{"CHAINTRACE_ETH_BATCH_SIZE": "5000"}, append([]string{"index", "--eth-rpc", node.URL(), "--store", filepath.Join(dir, "c")}, window(truth)...)...)
	if code != 2 || !strings.Contains(errs, "--eth-batch-size 5000") {
		t.Fatalf("batch size from env: exit %d %s", code, errs)
	}
	code, _, errs = runCLI(t, map[string]string{"CHAINTRACE_ETH_BATCH_SIZE": "5000"}, append([]string{"index", "--eth-batch-size", "50", "--eth-rpc", node.URL(), "--store", filepath.Join(dir, "c")}, window(truth)...)...)
	if code != 0 {
		t.Fatalf("flag over env: exit %d %s", code, errs)
	}
}

// TestExampleConfigDocumentsEveryKey keeps configs/chaintrace.example.yaml
// complete: every flag of every command has its key there, and the file
// has no key that no flag knows.
func TestExampleConfigDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../configs/chaintrace.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			inFile[prefix+k] = true
		}
	}
	walk("", doc)
	keys := allConfigKeys(newRootCommand(&bytes.Buffer{}, &bytes.Buffer{}))
	delete(keys, "help")
	delete(keys, "version")
	delete(keys, "config")
	for k := range keys {
		if !inFile[k] {
			t.Errorf("flag key %q is not documented in the example config", k)
		}
	}
	for k := range inFile {
		if !keys[k] {
			t.Errorf("example config key %q matches no flag", k)
		}
	}
}
