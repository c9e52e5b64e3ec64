package main

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/esplorareplay"
)

// verifyBtcCase is a traced Bitcoin case: the node it was played on, the
// exhibit, and the transactions of the scenario.
type verifyBtcCase struct {
	node      *btcnode.Node
	dir       string
	exhibit   string // path of the exhibit as trace wrote it
	nodeFlags []string
	from, to  uint64
	peel1     string // thief -> x1, p1
	merge     string // f1 + a clean coin -> m
	txs       map[string]string
}

// playVerifyBtcCase plays a small case on a real btcd and traces it with
// `trace --chain btc` through the node's address index: the thief's coin
// is peeled twice (the second peel paying an exchange, a labelled
// endpoint), the rest fanned out to three addresses, and one of those
// merged with a clean coin (so haircut leaves part of it clean).
func playVerifyBtcCase(t *testing.T) *verifyBtcCase {
	t.Helper()
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 5})
	c := n.Client()
	base, err := c.GetBlockCount()
	if err != nil {
		t.Fatal(err)
	}
	from := uint64(base) + 1
	// Block from: the thief's coin and a clean one.
	funded, err := n.FundKeys(btcnode.To("thief", btcnode.P2PKH, 100_000_000), btcnode.To("clean", btcnode.P2WPKH, 30_000_000))
	if err != nil {
		t.Fatal(err)
	}
	// Block from+1: two peels and a fan-out, each spending the last.
	peel1Outs := []btcnode.Output{btcnode.To("x1", btcnode.P2WPKH, 20_000_000), btcnode.To("p1", btcnode.P2PKH, 79_990_000)}
	peel1, err := n.Spend(funded[:1], peel1Outs, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	peel2Outs := []btcnode.Output{btcnode.To("exchange", btcnode.P2WPKH, 10_000_000), btcnode.To("p2", btcnode.P2WPKH, 69_980_000)}
	peel2, err := n.Spend(btcnode.CoinsOf(peel1, peel1Outs)[1:], peel2Outs, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	fanOuts := []btcnode.Output{btcnode.To("f1", btcnode.P2PKH, 30_000_000), btcnode.To("f2", btcnode.P2WPKH, 20_000_000),
		btcnode.To("f3", btcnode.P2WPKH, 19_970_000)}
	fan, err := n.Spend(btcnode.CoinsOf(peel2, peel2Outs)[1:], fanOuts, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	// Block from+2: f1 merged with the clean coin.
	merge, err := n.Spend([]btcnode.Coin{btcnode.CoinsOf(fan, fanOuts)[0], funded[1]},
		[]btcnode.Output{btcnode.To("m", btcnode.P2WPKH, 59_990_000)}, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	params := n.Params()
	addr := func(name string, typ btcnode.ScriptType) string {
		a, err := btcnode.AddrFor(name, typ, params)
		if err != nil {
			t.Fatal(err)
		}
		return a.EncodeAddress()
	}
	labels := filepath.Join(dir, "labels.csv")
	csv := "chain,address,label,category,source\nbtc," + addr("exchange", btcnode.P2WPKH) + ",Exchange X,exchange,test\n"
	if err := os.WriteFile(labels, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	vc := &verifyBtcCase{node: n, dir: dir, exhibit: filepath.Join(dir, "exhibit.json"), from: from, to: from + 2,
		nodeFlags: btcNodeFlags(n),
		peel1:     peel1.TxHash().String(), merge: merge.TxHash().String()}
	args := append([]string{"trace", "--chain", "btc", "--seed", addr("thief", btcnode.P2PKH), "--labels", labels,
		"--from-block", itoa(vc.from), "--to-block", itoa(vc.to), "--store", filepath.Join(dir, "store"), "--out", vc.exhibit}, vc.nodeFlags...)
	code, _, errs := runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("trace --chain btc: exit %d: %s", code, errs)
	}
	e := vc.read(t)
	if len(e.Transfers) != 8 || len(e.Reconciliation) != 4 || len(e.Endpoints) != 1 {
		t.Fatalf("exhibit: %d rows, %d reconciled transactions, %d endpoints; want 8, 4, 1", len(e.Transfers), len(e.Reconciliation), len(e.Endpoints))
	}
	return vc
}

func (vc *verifyBtcCase) read(t *testing.T) *exhibit.Exhibit {
	t.Helper()
	data, err := os.ReadFile(vc.exhibit)
	if err != nil {
		t.Fatal(err)
	}
	e, err := exhibit.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// tampered writes a copy of the exhibit changed by edit; reseal seals it
// again, so that only the comparison with the chain can catch the change.
func (vc *verifyBtcCase) tampered(t *testing.T, name string, reseal bool, edit func(e *exhibit.Exhibit)) string {
	t.Helper()
	e := vc.read(t)
	edit(e)
	if reseal {
		if err := exhibit.Seal(e); err != nil {
			t.Fatal(err)
		}
	}
	b, err := exhibit.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(vc.dir, name+".json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rowOf is the index of the row of tx at position.
func rowOf(t *testing.T, e *exhibit.Exhibit, tx, pos string) int {
	t.Helper()
	for i, r := range e.Transfers {
		if r.TxHash == tx && r.Position == pos {
			return i
		}
	}
	t.Fatalf("no row %s %s", tx, pos)
	return -1
}

func recOf(t *testing.T, e *exhibit.Exhibit, tx string) int {
	t.Helper()
	for i, r := range e.Reconciliation {
		if r.TxHash == tx {
			return i
		}
	}
	t.Fatalf("no reconciliation of %s", tx)
	return -1
}

// TestVerifyBtc traces a peel chain and fan-out played on a real btcd and
// verifies the exhibit against the node and against an Esplora replay of
// the same blocks (exit 0 both), then tampered copies (exit 1, each named
// by row and field, with what the source says), then bad input (exit 2,
// one line).
func TestVerifyBtc(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	vc := playVerifyBtcCase(t)
	n := vc.node
	blocks, err := esplorareplay.FromNode(n.Client(), n.Params(), int64(vc.from), int64(vc.to))
	if err != nil {
		t.Fatal(err)
	}
	replay := esplorareplay.New(t, blocks, esplorareplay.Options{})
	esploraFlags := []string{"--esplora", replay.URL, "--btc-network", "simnet"}
	verify := func(path string, flags []string) (int, string, string) {
		return runCLI(t, nil, append([]string{"verify", path}, flags...)...)
	}

	t.Run("btcd", func(t *testing.T) {
		code, out, errs := verify(vc.exhibit, vc.nodeFlags)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		for _, w := range []string{"digest     ok", "transfers  ok (8 rows re-fetched from btcd at https://127.0.0.1:",
			"reconcile  ok (4 transactions recomputed)", "taint      ok", "tip        ok", "OK: "} {
			if !strings.Contains(out, w) {
				t.Errorf("report lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("esplora", func(t *testing.T) {
		before := replay.Requests()
		code, out, errs := verify(vc.exhibit, esploraFlags)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		if !strings.Contains(out, "re-fetched from Esplora at http://127.0.0.1:") || !strings.Contains(out, "OK: ") {
			t.Errorf("report:\n%s", out)
		}
		if replay.Requests() == before {
			t.Error("verify made no request to Esplora")
		}
	})

	// Tampered copies.
	e := vc.read(t)
	peelOut0 := rowOf(t, e, vc.peel1, "out:0")
	mergeRow := rowOf(t, e, vc.merge, "out:0")
	mergeRec := recOf(t, e, vc.merge)
	peelRec := recOf(t, e, vc.peel1)
	row := e.Transfers[peelOut0]
	rowName := fmt.Sprintf("transfer %d (tx %s, out:0)", peelOut0, vc.peel1)
	mallory, err := btcnode.AddrFor("mallory", btcnode.P2WPKH, n.Params())
	if err != nil {
		t.Fatal(err)
	}
	fakeHash := strings.Repeat("0", 8) + strings.Repeat("ab", 28)
	peelFee := e.Reconciliation[peelRec].Fee["BTC"]
	for _, tc := range []struct {
		name    string
		reseal  bool
		edit    func(e *exhibit.Exhibit)
		esplora bool // also against the Esplora replay
		want    []string
	}{
		{"amount", true, func(e *exhibit.Exhibit) { e.Transfers[peelOut0].Amount = "19999000" }, true,
			[]string{"digest     ok", rowName + ": amount 19999000 in the exhibit, {says} 20000000"}},
		{"to", true, func(e *exhibit.Exhibit) { e.Transfers[peelOut0].To = mallory.EncodeAddress() }, true,
			[]string{rowName + ": to " + mallory.EncodeAddress() + " in the exhibit, {says} " + row.To}},
		{"block-hash", true, func(e *exhibit.Exhibit) { e.Transfers[peelOut0].BlockHash = fakeHash }, false,
			[]string{rowName + ": block_hash " + fakeHash + " in the exhibit, {says} " + row.BlockHash}},
		{"block-number", true, func(e *exhibit.Exhibit) { e.Transfers[peelOut0].BlockNumber++ }, false,
			[]string{fmt.Sprintf("%s: block_number %d in the exhibit, {says} %d", rowName, row.BlockNumber+1, row.BlockNumber)}},
		{"from", true, func(e *exhibit.Exhibit) { e.Transfers[peelOut0].From = []string{mallory.EncodeAddress()} }, false,
			[]string{rowName + ": from [" + mallory.EncodeAddress() + "] in the exhibit, {says} [" + row.From[0] + "]"}},
		{"no-such-output", true, func(e *exhibit.Exhibit) { e.Transfers[mergeRow].Position = "out:7" }, false,
			[]string{fmt.Sprintf("transfer %d (tx %s, out:7): {says} has transaction %s in block %d, without an output 7 carrying value", mergeRow, vc.merge, vc.merge, vc.to)}},
		{"fee", true, func(e *exhibit.Exhibit) { e.Reconciliation[peelRec].Fee["BTC"] = "9000" }, true,
			[]string{fmt.Sprintf("reconciliation %d (tx %s): fee 9000 in the exhibit, {says} %s", peelRec, vc.peel1, peelFee),
				fmt.Sprintf("reconciliation %d (tx %s): value_in ", peelRec, vc.peel1), "+ fee 9000"}},
		{"taint-in", true, func(e *exhibit.Exhibit) {
			e.Reconciliation[mergeRec].TaintIn["BTC"] = e.Reconciliation[mergeRec].ValueIn["BTC"]
		}, false, []string{fmt.Sprintf("reconciliation %d (tx %s): taint_in 60000000, but the outputs it spends carry at most 30000000 tainted", mergeRec, vc.merge)}},
		{"tip", true, func(e *exhibit.Exhibit) { e.Provenance.Tip.Hash = fakeHash }, false,
			[]string{fmt.Sprintf("tip: block %d is %s in the exhibit, {says} ", vc.to, fakeHash)}},
		{"digest", false, func(e *exhibit.Exhibit) { e.Digest.Value = strings.Repeat("0", 64) }, false,
			[]string{"digest     FAILED", "transfers  ok", "digest: the exhibit states " + strings.Repeat("0", 64), "altered after sealing"}},
	} {
		p := vc.tampered(t, tc.name, tc.reseal, tc.edit)
		for _, src := range []struct {
			name, says string
			flags      []string
		}{{"btcd", "the node says", vc.nodeFlags}, {"esplora", "Esplora says", esploraFlags}} {
			if src.name == "esplora" && !tc.esplora {
				continue
			}
			t.Run("tampered/"+tc.name+"/"+src.name, func(t *testing.T) {
				code, out, errs := verify(p, src.flags)
				if code != 1 {
					t.Errorf("exit %d, want 1\n%s%s", code, out, errs)
				}
				if strings.Contains(out, "OK: ") {
					t.Errorf("a tampered exhibit reported OK:\n%s", out)
				}
				says := strings.TrimSuffix(src.says, " says")
				for _, w := range tc.want {
					w = strings.ReplaceAll(w, "{says} has", says+" has")
					w = strings.ReplaceAll(w, "{says}", src.says)
					if !strings.Contains(out, w) {
						t.Errorf("report does not say %q:\n%s", w, out)
					}
				}
				t.Logf("%s", out)
			})
		}
	}

	// Bad input: exit 2 and one line naming what is wrong.
	mainnet := vc.tampered(t, "mainnet", true, func(e *exhibit.Exhibit) { e.Provenance.Network = "mainnet" })
	regtest := vc.tampered(t, "regtest", true, func(e *exhibit.Exhibit) { e.Provenance.Network = "regtest" })
	unknown := vc.tampered(t, "unknown-net", true, func(e *exhibit.Exhibit) { e.Provenance.Network = "dogecoin" })
	genesis, err := esplorareplay.FromNode(n.Client(), n.Params(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	genesisReplay := esplorareplay.New(t, genesis, esplorareplay.Options{})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"exhibit of another network than the node", append([]string{"verify", mainnet}, vc.nodeFlags...),
			"network mismatch: the exhibit is of mainnet, the node at https://127.0.0.1:"},
		{"exhibit of another network than the API's genesis", []string{"verify", regtest, "--esplora", genesisReplay.URL},
			"network mismatch: the exhibit is of regtest, the Esplora API at " + genesisReplay.URL + " serves simnet"},
		{"--btc-network against the exhibit", []string{"verify", vc.exhibit, "--esplora", replay.URL, "--btc-network", "mainnet"},
			"the exhibit is of simnet, --btc-network is mainnet"},
		{"unknown network in provenance", append([]string{"verify", unknown}, vc.nodeFlags...), `unknown bitcoin network "dogecoin"`},
		{"no source", []string{"verify", vc.exhibit}, "give --btc-rpc"},
		{"two sources", append([]string{"verify", vc.exhibit, "--esplora", replay.URL}, vc.nodeFlags...), "not both"},
		{"esplora not a URL", []string{"verify", vc.exhibit, "--esplora", "ftp://example.org/api"}, "want an http:// or https:// URL"},
		{"bad --btc-network", append([]string{"verify", vc.exhibit, "--btc-network", "moonnet"}, vc.nodeFlags...), "--btc-network"},
		{"unknown flag", []string{"verify", vc.exhibit, "--btc-rpcx", "x"}, "unknown flag"},
	} {
		t.Run("bad-input/"+tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, nil, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errs)
			}
			// The connection may be logged first; the error is one line, and the last.
			if strings.Count(errs, "chaintrace: ") != 1 || !strings.Contains(lastLine(errs), tc.want) {
				t.Errorf("stderr %q: want one error line mentioning %q", errs, tc.want)
			}
		})
	}
}

// playModelsBtcCase plays two thefts on a real btcd and traces them under
// all five models, each theft its own colour: thief A's coin is peeled
// (tx1), the rest merged with a clean coin and thief B's coin (tx2: clean
// first, so that FIFO and LIFO differ) into m1, an exchange deposit and
// m2; m1 is merged with a second clean coin into y1 and y2 (tx3: both
// carry part of A's FIFO taint), m2 pays the exchange again and z (tx4).
func playModelsBtcCase(t *testing.T) *verifyBtcCase {
	t.Helper()
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 5})
	base, err := n.Client().GetBlockCount()
	if err != nil {
		t.Fatal(err)
	}
	from := uint64(base) + 1
	funded, err := n.FundKeys(btcnode.To("thief-a", btcnode.P2PKH, 100_000_000), btcnode.To("thief-b", btcnode.P2WPKH, 50_000_000),
		btcnode.To("clean", btcnode.P2WPKH, 30_000_000), btcnode.To("clean2", btcnode.P2WPKH, 10_000_000))
	if err != nil {
		t.Fatal(err)
	}
	tx1Outs := []btcnode.Output{btcnode.To("x1", btcnode.P2WPKH, 20_000_000), btcnode.To("p1", btcnode.P2PKH, 79_990_000)}
	tx1, err := n.Spend(funded[:1], tx1Outs, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	tx2Outs := []btcnode.Output{btcnode.To("m1", btcnode.P2WPKH, 40_000_000), btcnode.To("exchange", btcnode.P2WPKH, 25_000_000),
		btcnode.To("m2", btcnode.P2WPKH, 94_970_000)}
	tx2, err := n.Spend([]btcnode.Coin{funded[2], btcnode.CoinsOf(tx1, tx1Outs)[1], funded[1]}, tx2Outs, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}
	tx3, err := n.Spend([]btcnode.Coin{btcnode.CoinsOf(tx2, tx2Outs)[0], funded[3]},
		[]btcnode.Output{btcnode.To("y1", btcnode.P2WPKH, 35_000_000), btcnode.To("y2", btcnode.P2WPKH, 14_990_000)}, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	tx4, err := n.Spend(btcnode.CoinsOf(tx2, tx2Outs)[2:],
		[]btcnode.Output{btcnode.To("exchange", btcnode.P2WPKH, 50_000_000), btcnode.To("z", btcnode.P2WPKH, 44_960_000)}, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Mine(1); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	addr := func(name string, typ btcnode.ScriptType) string {
		a, err := btcnode.AddrFor(name, typ, n.Params())
		if err != nil {
			t.Fatal(err)
		}
		return a.EncodeAddress()
	}
	labels := filepath.Join(dir, "labels.csv")
	csv := "chain,address,label,category,source\nbtc," + addr("exchange", btcnode.P2WPKH) + ",Exchange X,exchange,test\n"
	if err := os.WriteFile(labels, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	vc := &verifyBtcCase{node: n, dir: dir, exhibit: filepath.Join(dir, "exhibit.json"), from: from, to: from + 2,
		nodeFlags: btcNodeFlags(n), txs: map[string]string{"tx1": tx1.TxHash().String(), "tx2": tx2.TxHash().String(),
			"tx3": tx3.TxHash().String(), "tx4": tx4.TxHash().String()}}
	args := append([]string{"trace", "--chain", "btc", "--seed", "a=" + addr("thief-a", btcnode.P2PKH), "--seed", "b=" + addr("thief-b", btcnode.P2WPKH),
		"--taint", "fifo,lifo,tiho,haircut,poison", "--labels", labels,
		"--from-block", itoa(vc.from), "--to-block", itoa(vc.to), "--store", filepath.Join(dir, "store"), "--out", vc.exhibit}, vc.nodeFlags...)
	code, _, errs := runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("trace --chain btc: exit %d: %s", code, errs)
	}
	e := vc.read(t)
	if len(e.Transfers) != 9 || len(e.Reconciliation) != 4 || len(e.Endpoints) != 1 || len(e.Method.TaintModels) != 5 || len(e.Method.Colours) != 2 {
		t.Fatalf("exhibit: %d rows, %d reconciled transactions, %d endpoints, models %v, colours %v; want 9, 4, 1, 5 models, 2 colours",
			len(e.Transfers), len(e.Reconciliation), len(e.Endpoints), e.Method.TaintModels, e.Method.Colours)
	}
	return vc
}

// TestVerifyBtcModels verifies an exhibit of five models and two colours
// against the node (exit 0), then tampered and resealed copies (exit 1),
// each named by row, endpoint or transaction and model: among them one
// that keeps every sum consistent (a satoshi of FIFO taint moved between
// the two outputs of a transaction, and the addresses' figures with it),
// which only recomputing the transaction's split from the chain catches.
func TestVerifyBtcModels(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	vc := playModelsBtcCase(t)
	verify := func(path string) (int, string, string) {
		return runCLI(t, nil, append([]string{"verify", path}, vc.nodeFlags...)...)
	}
	code, out, errs := verify(vc.exhibit)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, w := range []string{"digest     ok", "transfers  ok (9 rows", "reconcile  ok (4 transactions recomputed under 5 models, 2 colours)",
		"taint      ok (5 models, 2 colours)", "tip        ok", "OK: "} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}

	// The same against an Esplora replay of the blocks.
	blocks, err := esplorareplay.FromNode(vc.node.Client(), vc.node.Params(), int64(vc.from), int64(vc.to))
	if err != nil {
		t.Fatal(err)
	}
	replay := esplorareplay.New(t, blocks, esplorareplay.Options{})
	code, out, errs = runCLI(t, nil, "verify", vc.exhibit, "--esplora", replay.URL, "--btc-network", "simnet")
	if code != 0 || !strings.Contains(out, "reconcile  ok (4 transactions recomputed under 5 models, 2 colours)") {
		t.Fatalf("verify against Esplora: exit %d\n%s%s", code, out, errs)
	}

	e := vc.read(t)
	tx2, tx3 := vc.txs["tx2"], vc.txs["tx3"]
	y1, y2 := rowOf(t, e, tx3, "out:0"), rowOf(t, e, tx3, "out:1")
	m2 := rowOf(t, e, tx2, "out:2")
	// The models differ where the case says they do: y1 and y2 each carry
	// 5000000 of A's FIFO taint (m1 is 30M clean then 10M of A).
	if got := e.Transfers[y1].TaintByColour["a"]["fifo"]; got != "5000000" || e.Transfers[y2].TaintByModel["fifo"] != "5000000" {
		t.Fatalf("y1 colour a fifo %s, y2 fifo %s; want 5000000 each", got, e.Transfers[y2].TaintByModel["fifo"])
	}
	if e.Transfers[m2].TaintByModel["fifo"] == e.Transfers[m2].TaintByModel["lifo"] {
		t.Fatalf("m2: fifo and lifo agree (%s): the case does not tell them apart", e.Transfers[m2].TaintByModel["fifo"])
	}
	plus := func(s string, d int64) string {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("%q is not an amount", s)
		}
		return n.Add(n, big.NewInt(d)).String()
	}
	addrIndex := func(e *exhibit.Exhibit, a string) int {
		for i := range e.Addresses {
			if e.Addresses[i].Address == a {
				return i
			}
		}
		t.Fatalf("no address %s", a)
		return -1
	}
	// moveFIFO moves d satoshis of colour a's FIFO taint (the primary
	// model) onto row i, with its address's figures.
	moveFIFO := func(e *exhibit.Exhibit, i int, d int64) {
		r := &e.Transfers[i]
		r.Taint = plus(r.Taint, d)
		r.TaintByModel["fifo"] = plus(r.TaintByModel["fifo"], d)
		r.TaintByColour["a"]["fifo"] = plus(r.TaintByColour["a"]["fifo"], d)
		a := &e.Addresses[addrIndex(e, r.To)]
		a.Taint["BTC"] = plus(a.Taint["BTC"], d)
		a.TaintByModel["fifo"]["BTC"] = plus(a.TaintByModel["fifo"]["BTC"], d)
		a.TaintByColour["a"]["fifo"]["BTC"] = plus(a.TaintByColour["a"]["fifo"]["BTC"], d)
	}
	y1Name, y2Name, m2Name := rowName(y1, &e.Transfers[y1]), rowName(y2, &e.Transfers[y2]), rowName(m2, &e.Transfers[m2])
	ep := e.Endpoints[0]
	epName := fmt.Sprintf("endpoint %s (%s, %s)", ep.Label, ep.Address, ep.Asset)
	rec3 := recOf(t, e, tx3)
	lifoOut := e.Reconciliation[rec3].TaintByModel["lifo"].TaintOut["BTC"]
	m2Lifo, m2Haircut := e.Transfers[m2].TaintByModel["lifo"], e.Transfers[m2].TaintByColour["b"]["haircut"]
	for _, tc := range []struct {
		name string
		edit func(e *exhibit.Exhibit)
		want []string
	}{
		{"fifo-satoshi-moved", func(e *exhibit.Exhibit) { moveFIFO(e, y1, 1); moveFIFO(e, y2, -1) }, []string{
			y1Name + ": fifo taint 5000001 in the exhibit, recomputed from the chain 5000000",
			y1Name + ": colour a fifo taint 5000001 in the exhibit, recomputed from the chain 5000000",
			y2Name + ": fifo taint 4999999 in the exhibit, recomputed from the chain 5000000",
			y2Name + ": colour a fifo taint 4999999 in the exhibit, recomputed from the chain 5000000",
			"digest     ok", "taint      ok (5 models, 2 colours)", "reconcile  FAILED"}},
		{"row-taint-by-model", func(e *exhibit.Exhibit) { e.Transfers[m2].TaintByModel["lifo"] = plus(m2Lifo, -1000) }, []string{
			m2Name + ": its colours' lifo taint sums to " + m2Lifo + ", its lifo taint is " + plus(m2Lifo, -1000),
			m2Name + ": lifo taint " + plus(m2Lifo, -1000) + " in the exhibit, recomputed from the chain " + m2Lifo,
			"taint      FAILED"}},
		{"row-taint-by-colour", func(e *exhibit.Exhibit) { e.Transfers[m2].TaintByColour["b"]["haircut"] = plus(m2Haircut, 7) }, []string{
			m2Name + ": colour b haircut taint " + plus(m2Haircut, 7) + " in the exhibit, recomputed from the chain " + m2Haircut,
			m2Name + ": its colours' haircut taint sums to "}},
		{"endpoint-taint-by-model", func(e *exhibit.Exhibit) { e.Endpoints[0].TaintByModel["tiho"] = plus(ep.TaintByModel["tiho"], 1) }, []string{
			epName + ": tiho taint " + plus(ep.TaintByModel["tiho"], 1) + ", the rows into it sum to " + ep.TaintByModel["tiho"]}},
		{"reconciliation-taint-by-model", func(e *exhibit.Exhibit) {
			e.Reconciliation[rec3].TaintByModel["lifo"].TaintOut["BTC"] = plus(lifoOut, 1)
		}, []string{
			fmt.Sprintf("reconciliation %d (tx %s): lifo taint_out %s in the exhibit, recomputed from the chain %s", rec3, tx3, plus(lifoOut, 1), lifoOut),
			fmt.Sprintf("reconciliation of %s (lifo), BTC: taint_in", tx3)}},
	} {
		t.Run("tampered/"+tc.name, func(t *testing.T) {
			p := vc.tampered(t, tc.name, true, tc.edit)
			code, out, errs := verify(p)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s%s", code, out, errs)
			}
			if strings.Contains(out, "OK: ") {
				t.Errorf("a tampered exhibit reported OK:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("report does not say %q:\n%s", w, out)
				}
			}
			t.Logf("%s", out)
		})
	}
}
