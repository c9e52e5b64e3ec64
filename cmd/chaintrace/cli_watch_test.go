package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/chaintrace/chaintrace/watch"
)

// TestWatchBadInputExitsTwo: every kind of bad input exits 2 with one line
// naming it, before any node is reached.
func TestWatchBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "hot.txt")
	os.WriteFile(list, []byte("# Lazarus consolidation wallets\n"+devAddr("thief")+"  # first\n\n0x12345 # typo\n"), 0o644)
	two := filepath.Join(dir, "two.txt")
	os.WriteFile(two, []byte(devAddr("thief")+" "+devAddr("fence")+"\n"), 0o644)
	good := filepath.Join(dir, "good.txt")
	os.WriteFile(good, []byte(devAddr("thief")+"\n"), 0o644)
	base := []string{"watch", "--store", filepath.Join(dir, "store"), "--eth-rpc", "http://127.0.0.1:1"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown chain", []string{"--chain", "doge", "--addresses", good}, `unknown chain "doge"`},
		{"bad webhook URL", []string{"--addresses", good, "--webhook", "ftp://example.org/hook"}, "--webhook"},
		{"webhook without host", []string{"--addresses", good, "--webhook", "http://"}, "want an http:// or https:// URL"},
		{"negative confirmations", []string{"--addresses", good, "--confirmations", "-1"}, `--confirmations "-1": want 0 or more`},
		{"confirmations not a number", []string{"--addresses", good, "--confirmations", "twelve"}, "--confirmations"},
		{"malformed list entry", []string{"--addresses", list}, "hot.txt:4"},
		{"two addresses on a line", []string{"--addresses", two}, "two.txt:1: "},
		{"missing list", []string{"--addresses", filepath.Join(dir, "none.txt")}, "none.txt"},
		{"missing exhibit", []string{"--exhibit", filepath.Join(dir, "none.json")}, "none.json"},
		{"not an exhibit", []string{"--exhibit", list}, "--exhibit " + list},
		{"nothing to watch", nil, "nothing to watch"},
		{"categories without labels", []string{"--categories", "hacker"}, "give --labels"},
		{"bad poll", []string{"--addresses", good, "--poll", "0s"}, "--poll"},
		{"bad from-block", []string{"--addresses", good, "--from-block", "-3"}, "--from-block"},
		{"bad webhook retries", []string{"--addresses", good, "--webhook-retries", "-1"}, "--webhook-retries"},
		{"unknown flag", []string{"--addresses", good, "--follow"}, "unknown flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append(base, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("printed on stdout: %q", stdout)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(lastLine(stderr), tc.want) {
				t.Errorf("stderr %q, want one line with %q", stderr, tc.want)
			}
		})
	}
}

// TestWatchOnceFromAnExhibit: the thief in a traced case moves funds to an
// exchange; `watch --once` with the case's exhibit, an address list and the
// case's labels prints exactly one alert for it once it has the
// confirmations asked for (none before), names the exchange, posts the same
// JSON to a webhook, and a second run with the same state prints nothing.
// The exhibit's endpoints are not watched.
func TestWatchOnceFromAnExhibit(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	labelsPath := demoLabels(t, truth)
	ex := filepath.Join(dir, "upbit-case.json")
	if code, _, errs := runCLI(t, nil, traceArgs(truth, node.URL(), filepath.Join(dir, "store"), labelsPath, ex)...); code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errs)
	}
	list := filepath.Join(dir, "hot.txt")
	os.WriteFile(list, []byte("# wallets to freeze\n"+strings.ToLower(truth.Seeds[0].Hex())+" # the drain address\n"), 0o644)

	var mu sync.Mutex
	var posted [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = append(posted, b)
		mu.Unlock()
	}))
	defer hook.Close()

	from := node.Head() + 1
	binance := devchain.Addr("binance-hot")
	if _, err := node.Transact(devchain.Key("hacker"), &binance, scenario.Ether(100), nil, 0); err != nil {
		t.Fatal(err)
	}
	// The exchange paying a customer: an endpoint of the exhibit, not watched.
	noise := devchain.Addr("noise-0")
	if _, err := node.Transact(devchain.Key("binance-hot"), &noise, scenario.Ether(10), nil, 0); err != nil {
		t.Fatal(err)
	}
	block, err := node.Commit()
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "watch-state.json")
	args := []string{"watch", "--once", "--eth-rpc", node.URL(), "--store", filepath.Join(dir, "store"), "--exhibit", ex,
		"--addresses", list, "--labels", labelsPath, "--from-block", itoa(from), "--confirmations", "2", "--state", state,
		"--webhook", hook.URL + "/alerts"}

	// One confirmation: not final, nothing printed.
	if _, err := node.Commit(); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, nil, args...)
	if code != 0 || out != "" {
		t.Fatalf("at 1 confirmation: exit %d, stdout %q: %s", code, out, errs)
	}
	if !strings.Contains(errs, "watched funds moved; alert when final") {
		t.Errorf("the pending movement is not logged:\n%s", errs)
	}

	if _, err := node.Commit(); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d alert lines, want 1:\n%s\n%s", len(lines), out, errs)
	}
	var a watch.Alert
	if err := json.Unmarshal([]byte(lines[0]), &a); err != nil {
		t.Fatal(err)
	}
	seed := truth.Seeds[0].Hex()
	if a.Type != "movement" || a.Chain != "eth" || a.Transfer.BlockNumber != block || a.Transfer.Amount != "100000000000000000000" ||
		a.Transfer.To != binance.Hex() || a.Destination.Label != "Binance 14" || a.Destination.Category != "exchange" ||
		a.Confirmations != 2 {
		t.Errorf("alert: %s", lines[0])
	}
	if len(a.Watched) != 1 || a.Watched[0].Address != seed || len(a.Watched[0].Reasons) != 2 ||
		a.Watched[0].Reasons[0] != (watch.Reason{Kind: "exhibit", Source: "upbit-case.json", Detail: "seed"}) ||
		a.Watched[0].Reasons[1] != (watch.Reason{Kind: "list", Source: "hot.txt", Line: 2, Detail: "the drain address"}) {
		t.Errorf("watched: %+v", a.Watched)
	}
	if !strings.Contains(errs, "watched funds moved") || !strings.Contains(errs, "Binance 14") {
		t.Errorf("no log line for the alert:\n%s", errs)
	}
	mu.Lock()
	if len(posted) != 1 || string(posted[0]) != lines[0] {
		t.Errorf("webhook received %d bodies; want the alert line", len(posted))
	}
	mu.Unlock()

	// Again with the same state: nothing new.
	if _, err := node.Commit(); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, nil, args...)
	if code != 0 || out != "" {
		t.Fatalf("second run: exit %d, stdout %q: %s", code, out, errs)
	}

}

// TestWatchLabelledAddresses: `--labels` an OFAC SDN file `--label-match
// lazarus` watches Lazarus Group's addresses and no other entry's; with
// --incoming a payment into one alerts, naming the label that chose it;
// `--categories sanctioned` watches every sanctioned address.
func TestWatchLabelledAddresses(t *testing.T) {
	node, err := devchain.Start(devchain.Config{Funded: []string{"payer"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	lazarus := ofacLazarusETH[0]                          // in the sample, entry "LAZARUS GROUP"
	other := "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2" // in the sample, another entry
	from := node.Head() + 1
	for _, to := range []string{lazarus, other} {
		a := devchainAddress(t, to)
		if _, err := node.Transact(devchain.Key("payer"), &a, scenario.Ether(1), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	block, err := node.Commit()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := []string{"watch", "--once", "--eth-rpc", node.URL(), "--store", filepath.Join(dir, "store"), "--labels", sdnAdvancedSample,
		"--incoming", "--from-block", itoa(from), "--confirmations", "0"}

	code, out, errs := runCLI(t, nil, append(base, "--label-match", "lazarus")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d alerts, want 1:\n%s\n%s", len(lines), out, errs)
	}
	var a watch.Alert
	if err := json.Unmarshal([]byte(lines[0]), &a); err != nil {
		t.Fatal(err)
	}
	if a.Transfer.To != lazarus || a.Transfer.BlockNumber != block || len(a.Watched) != 1 || a.Watched[0].Role != "to" ||
		a.Watched[0].Reasons[0].Kind != "label" || a.Watched[0].Reasons[0].Label != "LAZARUS GROUP" ||
		a.Watched[0].Reasons[0].Category != "sanctioned" || a.Destination.Label != "LAZARUS GROUP" || !a.Destination.Watched {
		t.Errorf("alert: %s", lines[0])
	}

	code, out, errs = runCLI(t, nil, append(base, "--categories", "sanctioned")...)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("--categories sanctioned: exit %d, %d alerts, want 2:\n%s\n%s", code, strings.Count(out, "\n"), out, errs)
	}
	// A category nothing has: nothing to watch, bad input.
	code, _, errs = runCLI(t, nil, append(base, "--categories", "mixing_service")...)
	if code != 2 || !strings.Contains(lastLine(errs), "nothing to watch") {
		t.Errorf("an empty selection: exit %d: %s", code, errs)
	}
}

func devchainAddress(t *testing.T, s string) common.Address {
	t.Helper()
	if !common.IsHexAddress(s) {
		t.Fatalf("not an address: %s", s)
	}
	return common.HexToAddress(s)
}

// TestWatchBtcOnce: `watch --chain btc --once` on a real btcd alerts a
// payment out of a listed address once it is one block deep; a listed
// address of another network is bad input naming its line.
func TestWatchBtcOnce(t *testing.T) {
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 3})
	coins, err := n.FundKeys(btcnode.To("thief", btcnode.P2PKH, 100_000_000))
	if err != nil {
		t.Fatal(err)
	}
	thief := n.AddrP2PKH("thief").EncodeAddress()
	dir := t.TempDir()
	list := filepath.Join(dir, "btc.txt")
	os.WriteFile(list, []byte(thief+" # the thief\n"), 0o644)
	pay, err := n.Spend(coins, []btcnode.Output{btcnode.To("fence", btcnode.P2WPKH, 99_990_000)}, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := n.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := n.Client().GetBlockHeaderVerbose(hashes[0])
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"watch", "--once", "--chain", "btc", "--store", filepath.Join(dir, "store"), "--addresses", list,
		"--from-block", itoa(uint64(hdr.Height)), "--confirmations", "1", "--state", filepath.Join(dir, "state.json")}, btcNodeFlags(n)...)
	code, out, errs := runCLI(t, nil, args...)
	if code != 0 || out != "" {
		t.Fatalf("at 0 confirmations: exit %d, stdout %q: %s", code, out, errs)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var a watch.Alert
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &a); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if a.ID != "btc:"+pay.TxHash().String()+":out:0" || a.Network != "btc:simnet" || a.Transfer.Amount != "99990000" ||
		a.Transfer.To != n.AddrP2WPKH("fence").EncodeAddress() || a.Watched[0].Reasons[0].Detail != "the thief" {
		t.Errorf("alert: %s", out)
	}

	// A mainnet address on a simnet node.
	os.WriteFile(list, []byte(thief+"\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n"), 0o644)
	code, _, errs = runCLI(t, nil, args...)
	if code != 2 || !strings.Contains(lastLine(errs), "btc.txt:2: ") || !strings.Contains(lastLine(errs), "simnet") {
		t.Errorf("a mainnet address: exit %d: %s", code, lastLine(errs))
	}
}
