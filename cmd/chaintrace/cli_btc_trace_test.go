package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/btcscenario"
	"github.com/chaintrace/chaintrace/internal/esplorareplay"
)

// playBtcCase plays the Bitcoin case on n and writes its labels into a
// fresh directory.
func playBtcCase(t *testing.T, n *btcnode.Node, opts btcscenario.Options) (truth *btcscenario.Truth, dir, labelFile string) {
	t.Helper()
	truth, err := btcscenario.Play(n, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	labelsCSV, err := btcscenario.Labels(n.Params())
	if err != nil {
		t.Fatal(err)
	}
	labelFile = filepath.Join(dir, "labels.csv")
	if err := os.WriteFile(labelFile, []byte(labelsCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	return truth, dir, labelFile
}

// readExhibit reads and strictly checks an exhibit file.
func readBtcExhibit(t *testing.T, path string) *exhibit.Exhibit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e, err := exhibit.Read(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return e
}

// content is an exhibit without what legitimately differs between two
// runs over different sources: provenance and the digest.
func content(e *exhibit.Exhibit) exhibit.Exhibit {
	c := *e
	c.Provenance = exhibit.Provenance{Tip: e.Provenance.Tip, Network: e.Provenance.Network}
	c.Digest = exhibit.Digest{}
	return c
}

// TestBtcTraceAcceptance plays the Lazarus-shaped case (a 55-hop peel chain
// with deposits to an exchange, a fan-out, a consolidation with a clean
// coin, unrelated payments in every block; P2PKH and P2WPKH) on a real
// btcd with --txindex --addrindex and traces it from the thief's address
// three ways: through btcd's address index, from a local index built by
// `index --chain btc` with the node then shut down, and through an Esplora
// replay of the same blocks. Recall and precision of the seed's successors
// must be 1.0, every downstream transaction reconciled, every endpoint
// amount equal to what was paid, and the three exhibits equal.
func TestBtcTraceAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 10})
	truth, dir, labelFile := playBtcCase(t, n, btcscenario.Options{})
	t.Logf("case: blocks %d-%d, %d downstream transactions, %d outputs", truth.From, truth.To, len(truth.Txs), len(truth.Outputs))
	nodeFlags := btcNodeFlags(n)
	window := []string{"--from-block", itoa(truth.From), "--to-block", itoa(truth.To)}
	traceArgs := func(store, out string, extra ...string) []string {
		args := []string{"trace", "--chain", "btc", "--seed", truth.Seed, "--max-hops", "100", "--labels", labelFile,
			"--store", filepath.Join(dir, store), "--out", filepath.Join(dir, out)}
		return append(append(args, window...), extra...)
	}

	// 1. Through btcd's address index, into an empty store.
	code, _, errs := runCLI(t, nil, traceArgs("addrindex", "addrindex.json", nodeFlags...)...)
	if code != 0 {
		t.Fatalf("trace through the address index: exit %d: %s", code, errs)
	}
	t.Logf("trace: %s", errs)
	viaIndex := readBtcExhibit(t, filepath.Join(dir, "addrindex.json"))
	checkBtcTruth(t, viaIndex, truth)
	if len(viaIndex.Provenance.Sources) != 1 || !strings.Contains(string(mustJSON(t, viaIndex.Provenance.Sources)), "searchrawtransactions") {
		t.Errorf("provenance does not name the address index: %+v", viaIndex.Provenance.Sources)
	}

	// A second trace on the same store needs the node for nothing but the
	// head: the same exhibit.
	code, _, errs = runCLI(t, nil, traceArgs("addrindex", "again.json", nodeFlags...)...)
	if code != 0 {
		t.Fatalf("second trace: exit %d: %s", code, errs)
	}
	if again := readBtcExhibit(t, filepath.Join(dir, "again.json")); again.Digest != viaIndex.Digest {
		t.Errorf("a second trace on the warm store gave another exhibit")
	}

	// Bad seeds against the node: one line, exit 2.
	for _, tc := range []struct{ name, seed, want string }{
		{"missing output", truth.PeelTxs[0] + ":7", "no such output"},
		{"unknown transaction", strings.Repeat("ab", 32) + ":0", "not found"},
		{"mainnet address on a simnet node", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mainnet"},
		{"base58 checksum", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"trace", "--chain", "btc", "--seed", tc.seed, "--store", filepath.Join(dir, "addrindex"), "--out", filepath.Join(dir, "bad.json"), "--log-level", "warn"}, window...)
			code, _, errs := runCLI(t, nil, append(args, nodeFlags...)...)
			if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line mentioning %q", code, errs, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "bad.json")); err == nil {
				t.Error("an exhibit was written for a bad seed")
			}
		})
	}

	// The peel chain alone, from its first output.
	code, _, errs = runCLI(t, nil, append(append([]string{"trace", "--chain", "btc", "--seed", truth.SeedOutpoint, "--max-hops", "100",
		"--labels", labelFile, "--store", filepath.Join(dir, "addrindex"), "--out", filepath.Join(dir, "outpoint.json")},
		window...), nodeFlags...)...)
	if code != 0 {
		t.Fatalf("trace from an outpoint: exit %d: %s", code, errs)
	}
	op := readBtcExhibit(t, filepath.Join(dir, "outpoint.json"))
	peel := map[string]bool{}
	for _, id := range truth.PeelTxs {
		peel[id] = true
	}
	if len(op.Reconciliation) != len(truth.PeelTxs) {
		t.Errorf("from the outpoint: %d transactions, want the %d of the peel chain", len(op.Reconciliation), len(truth.PeelTxs))
	}
	for _, r := range op.Reconciliation {
		if !peel[r.TxHash] {
			t.Errorf("from the outpoint: transaction %s is not on the peel chain", r.TxHash)
		}
	}
	if got := op.Transfers[len(op.Transfers)-1].Hop; got != len(truth.PeelTxs) {
		t.Errorf("the last peel hop is hop %d, want %d", got, len(truth.PeelTxs))
	}

	// 2. A local index of the window, then the trace from the store alone.
	code, _, errs = runCLI(t, nil, append(append([]string{"index", "--chain", "btc", "--store", filepath.Join(dir, "local")}, nodeFlags...), window...)...)
	if code != 0 {
		t.Fatalf("index --chain btc: exit %d: %s", code, errs)
	}
	blocks, err := esplorareplay.FromNode(n.Client(), n.Params(), int64(truth.From), int64(truth.To))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI(t, nil, traceArgs("local", "local.json")...)
	if code != 0 {
		t.Fatalf("trace from the local index, node down: exit %d: %s", code, errs)
	}
	local := readBtcExhibit(t, filepath.Join(dir, "local.json"))
	if !reflect.DeepEqual(content(local), content(viaIndex)) {
		t.Errorf("the local index and btcd's address index give different exhibits:\n%s\n%s", mustJSON(t, content(local)), mustJSON(t, content(viaIndex)))
	}

	// Clustering over the whole indexed window (noise included): the
	// consolidation links fan-1 with the clean coin; the CoinJoin links
	// nobody.
	addr := func(name string, typ btcnode.ScriptType) string {
		a, err := btcnode.AddrFor(name, typ, n.Params())
		if err != nil {
			t.Fatal(err)
		}
		return a.EncodeAddress()
	}
	clusterArgs := append([]string{"cluster", "--chain", "btc", "--store", filepath.Join(dir, "local")}, window...)
	code, out, errs := runCLI(t, nil, append(clusterArgs, addr("fan-1", btcnode.ScriptType(1)), addr("clean", btcnode.P2PKH))...)
	if code != 0 {
		t.Fatalf("cluster: exit %d: %s", code, errs)
	}
	t.Logf("cluster:\n%s", out)
	if !strings.Contains(out, "4 addresses") || !strings.Contains(out, "tx "+truth.Consolidation+" spent from") || !strings.Contains(out, "1 CoinJoins skipped") {
		t.Errorf("cluster of fan-1 and the clean coin:\n%s", out)
	}
	code, out, errs = runCLI(t, nil, append(clusterArgs, addr("premix", btcnode.P2WPKH), addr("whirlpool-peer-1", btcnode.P2WPKH))...)
	if code != 0 || !strings.Contains(out, "is in no cluster") || !strings.Contains(out, "are not in one cluster") {
		t.Errorf("CoinJoin participants: exit %d\n%s%s", code, out, errs)
	}

	// 3. An Esplora replay of the same blocks, no node, no store data.
	srv := esplorareplay.New(t, blocks, esplorareplay.Options{})
	code, _, errs = runCLI(t, nil, traceArgs("esplora", "esplora.json", "--esplora", srv.URL, "--btc-network", "simnet")...)
	if code != 0 {
		t.Fatalf("trace through Esplora: exit %d: %s", code, errs)
	}
	viaEsplora := readBtcExhibit(t, filepath.Join(dir, "esplora.json"))
	if !reflect.DeepEqual(content(viaEsplora), content(viaIndex)) {
		t.Errorf("Esplora and btcd give different exhibits:\n%s\n%s", mustJSON(t, content(viaEsplora)), mustJSON(t, content(viaIndex)))
	}
	if viaEsplora.Provenance.Sources[0].Kind != "esplora" {
		t.Errorf("Esplora provenance: %+v", viaEsplora.Provenance.Sources)
	}
	// Again on the same store: what cannot change (transactions, block
	// txids, spends of spent outputs) comes from the store; address
	// histories (which can grow) are asked again.
	before := srv.Requests()
	txPath := "/tx/" + truth.PeelTxs[len(truth.PeelTxs)/2]
	txAsked := srv.PathRequests(txPath)
	code, _, errs = runCLI(t, nil, traceArgs("esplora", "esplora2.json", "--esplora", srv.URL)...)
	if code != 0 {
		t.Fatalf("second trace through Esplora: exit %d: %s", code, errs)
	}
	if again := readBtcExhibit(t, filepath.Join(dir, "esplora2.json")); again.Digest != viaEsplora.Digest {
		t.Error("the second Esplora trace gave another exhibit")
	}
	second := srv.Requests() - before
	t.Logf("Esplora requests: %d the first time, %d the second", before, second)
	if srv.PathRequests(txPath) != txAsked || txAsked != 1 || second >= before {
		t.Errorf("the second trace asked %s %d times (first: %d) and made %d requests (first: %d)",
			txPath, srv.PathRequests(txPath)-txAsked, txAsked, second, before)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkBtcTruth compares an exhibit of the case with its truth.
func checkBtcTruth(t *testing.T, e *exhibit.Exhibit, truth *btcscenario.Truth) {
	t.Helper()
	if err := exhibit.ValidateExhibit(e); err != nil {
		t.Errorf("schema: %v", err)
	}
	// Recall and precision of the successors (every address past the seed).
	got := map[string]bool{}
	for _, a := range e.Addresses {
		if a.Hop > 0 {
			got[a.Address] = true
		}
	}
	tp := 0
	for a := range got {
		if truth.Successors[a] {
			tp++
		} else {
			t.Errorf("precision: %s is not downstream of the seed", a)
		}
	}
	for a := range truth.Successors {
		if !got[a] {
			t.Errorf("recall: %s was not reached", a)
		}
	}
	t.Logf("successors: %d found, %d true, %d expected: recall %d/%d, precision %d/%d",
		len(got), tp, len(truth.Successors), tp, len(truth.Successors), tp, len(got))

	// Every output of every downstream transaction is a row, with its amount.
	type key struct {
		tx  string
		pos string
	}
	rows := map[key]exhibit.Transfer{}
	for _, r := range e.Transfers {
		rows[key{r.TxHash, r.Position}] = r
	}
	if len(rows) != len(truth.Outputs) {
		t.Errorf("%d rows, want %d", len(rows), len(truth.Outputs))
	}
	for _, o := range truth.Outputs {
		r, ok := rows[key{o.TxID, fmt.Sprintf("out:%d", o.Vout)}]
		if !ok {
			t.Errorf("no row for %s:%d", o.TxID, o.Vout)
			continue
		}
		if r.To != o.To || r.Amount != fmt.Sprint(o.Value) || r.Kind != "utxo" || r.Asset != "BTC" {
			t.Errorf("row %s:%d = %s %s, want %s %d", o.TxID, o.Vout, r.To, r.Amount, o.To, o.Value)
		}
		if !truth.Mixed[o.TxID] && r.Taint != r.Amount {
			t.Errorf("row %s:%d: taint %s of %s; every coin on this path is stolen", o.TxID, o.Vout, r.Taint, r.Amount)
		}
	}
	// Transactions: exactly the downstream ones, reconciled, with their fees.
	if len(e.Reconciliation) != len(truth.Txs) {
		t.Errorf("%d reconciled transactions, want %d", len(e.Reconciliation), len(truth.Txs))
	}
	for _, rc := range e.Reconciliation {
		fee, ok := truth.Txs[rc.TxHash]
		if !ok {
			t.Errorf("reconciliation of %s, not a downstream transaction", rc.TxHash)
			continue
		}
		if err := rc.Check(); err != nil {
			t.Error(err)
		}
		if rc.Fee["BTC"] != fmt.Sprint(fee) {
			t.Errorf("fee of %s: %s, want %d", rc.TxHash, rc.Fee["BTC"], fee)
		}
		in, _ := new(big.Int).SetString(rc.TaintIn["BTC"], 10)
		out, _ := new(big.Int).SetString(rc.TaintOut["BTC"], 10)
		if d := new(big.Int).Sub(in, out); d.Sign() < 0 || d.Cmp(big.NewInt(fee)) > 0 {
			t.Errorf("taint of %s: in %s out %s, fee %d", rc.TxHash, in, out, fee)
		}
		if rc.TxHash == truth.Consolidation && (out.Sign() <= 0 || rc.TaintOut["BTC"] == rc.ValueOut["BTC"]) {
			t.Errorf("the consolidation with a clean coin: taint out %s of %s", rc.TaintOut["BTC"], rc.ValueOut["BTC"])
		}
	}
	// Findings: the CoinJoin the trace stopped at, with the transaction
	// that brought the taint in, and the peel chain with every hop.
	var coinjoin, peel *exhibit.Finding
	var clusters, changes []exhibit.Finding
	for i, f := range e.Findings {
		switch f.Kind {
		case "coinjoin":
			coinjoin = &e.Findings[i]
		case "cluster_merge":
			clusters = append(clusters, f)
		case "peel_chain":
			if peel != nil {
				t.Errorf("a second peel chain: %+v", f)
			}
			peel = &e.Findings[i]
		case "change_output":
			changes = append(changes, f)
		default:
			t.Errorf("unexpected finding %+v", f)
		}
	}
	// Change outputs: only of transactions passed through, each with its
	// transaction as evidence. On the peel chain the scenario alternates
	// address types (the peel has the input's type), so address_type names
	// the peel: a wrong change, of the kind the heuristics report
	// measures. The tally is logged.
	peelAt := map[string]int{}
	for i, id := range truth.PeelTxs {
		peelAt[id] = i
	}
	right, wrong := 0, 0
	for _, f := range changes {
		txid, vout, _ := strings.Cut(f.Subject, ":")
		if _, ok := truth.Txs[txid]; !ok || len(f.Evidence) == 0 || f.Evidence[0] != txid {
			t.Errorf("change finding %+v: not of a traced transaction, or without it as evidence", f)
		}
		if i, ok := peelAt[txid]; ok {
			if vout == fmt.Sprint(truth.PeelNext[i]) {
				right++
			} else {
				wrong++
			}
		}
	}
	t.Logf("change findings: %d, on peel hops %d naming the carried-on output and %d the peel", len(changes), right, wrong)
	if coinjoin == nil || coinjoin.Subject != truth.CoinJoin || !slices.Contains(coinjoin.Evidence, truth.CoinJoin) ||
		!slices.Contains(coinjoin.Evidence, truth.CoinJoinFeeders[0]) || coinjoin.Confidence < 50 {
		t.Errorf("coinjoin finding %+v, want subject %s with %s as evidence", coinjoin, truth.CoinJoin, truth.CoinJoinFeeders[0])
	}
	if peel == nil || !slices.Equal(peel.Evidence, truth.PeelTxs) || peel.Subject != truth.PeelTxs[0] {
		t.Errorf("peel chain finding %+v, want the %d peel transactions", peel, len(truth.PeelTxs))
	}
	// Clustering over the traced transactions: the consolidation co-spent
	// three fanned-out coins with the clean coin, so they share one
	// cluster, merged by that transaction alone.
	if len(clusters) != 1 || !slices.Equal(clusters[0].Evidence, []string{truth.Consolidation}) {
		t.Errorf("cluster_merge findings %+v, want one, merged by the consolidation %s", clusters, truth.Consolidation)
	} else {
		inCluster := 0
		for _, a := range e.Addresses {
			if a.Cluster == clusters[0].Subject {
				inCluster++
			} else if a.Cluster != "" {
				t.Errorf("address %s in cluster %q, which no finding names", a.Address, a.Cluster)
			}
		}
		if inCluster != 3 { // fan-1..3; the clean coin's address was never reached
			t.Errorf("%d reached addresses in %s, want the 3 consolidated parts", inCluster, clusters[0].Subject)
		}
	}
	var names []string
	for _, h := range e.Method.Heuristics {
		names = append(names, h.Name+"/"+h.Version)
	}
	if !slices.Contains(names, "coinjoin_whirlpool/1") || !slices.Contains(names, "peel_chain/1") {
		t.Errorf("method.heuristics %v", names)
	}

	// Endpoints: the two exchanges, with what was paid to them.
	var eps []string
	for _, ep := range e.Endpoints {
		eps = append(eps, ep.Address)
		if want := truth.Deposits[ep.Address]; ep.Amount != fmt.Sprint(want) {
			t.Errorf("endpoint %s (%s): amount %s, want %d", ep.Label, ep.Address, ep.Amount, want)
		}
		if ep.Address == truth.ExchangeB && ep.Taint != fmt.Sprint(truth.HaircutB) {
			t.Errorf("exchange B's taint %s, want %d (haircut through the consolidation)", ep.Taint, truth.HaircutB)
		}
		if ep.Address == truth.ExchangeA && ep.Taint != ep.Amount {
			t.Errorf("exchange A's taint %s of %s: the peel chain is all stolen", ep.Taint, ep.Amount)
		}
		if ep.Category != "exchange" {
			t.Errorf("endpoint %s: category %q", ep.Address, ep.Category)
		}
	}
	sort.Strings(eps)
	want := []string{truth.ExchangeA, truth.ExchangeB}
	sort.Strings(want)
	if !reflect.DeepEqual(eps, want) {
		t.Errorf("endpoints %v, want %v", eps, want)
	}
}

// TestBtcTraceWithoutAddressIndex traces on a btcd started without
// --addrindex, which answers searchrawtransactions as Bitcoin Core cannot:
// trace says so, indexes the whole window from the node, and finds the
// same truth.
func TestBtcTraceWithoutAddressIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real btcd; skipped with -short")
	}
	n := btcnode.Start(t, btcnode.Options{MatureOutputs: 10, NoAddrIndex: true})
	truth, dir, labelFile := playBtcCase(t, n, btcscenario.Options{PeelHops: 12, DepositEvery: 5})
	out := filepath.Join(dir, "exhibit.json")
	code, _, errs := runCLI(t, nil, append([]string{"trace", "--chain", "btc", "--seed", truth.Seed, "--max-hops", "100", "--labels", labelFile,
		"--store", filepath.Join(dir, "store"), "--out", out, "--from-block", itoa(truth.From), "--to-block", itoa(truth.To)},
		btcNodeFlags(n)...)...)
	if code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "no address index") {
		t.Errorf("trace did not say it indexes the window for want of an address index:\n%s", errs)
	}
	e := readBtcExhibit(t, out)
	checkBtcTruth(t, e, truth)
	if strings.Contains(string(mustJSON(t, e.Provenance.Sources)), "searchrawtransactions") {
		t.Errorf("provenance names an address index the node lacks: %+v", e.Provenance.Sources)
	}

	// A label on the clean coin's address reaches the reached members of
	// its cluster, with its source and the member it came from.
	clean, err := btcnode.AddrFor("clean", btcnode.P2PKH, n.Params())
	if err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(dir, "extra.csv")
	if err := os.WriteFile(extra, []byte("chain,address,label,category,source\nbtc,"+clean.EncodeAddress()+",Clean Wallet Co,service,case file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	labelledOut := filepath.Join(dir, "labelled.json")
	code, _, errs = runCLI(t, nil, append([]string{"trace", "--chain", "btc", "--seed", truth.Seed, "--max-hops", "100", "--labels", labelFile,
		"--labels", extra, "--store", filepath.Join(dir, "store"), "--out", labelledOut, "--from-block", itoa(truth.From), "--to-block", itoa(truth.To)},
		btcNodeFlags(n)...)...)
	if code != 0 {
		t.Fatalf("trace with the extra label: exit %d: %s", code, errs)
	}
	inherited := 0
	for _, a := range readBtcExhibit(t, labelledOut).Addresses {
		for _, l := range a.Labels {
			if l.Label == "Clean Wallet Co" {
				inherited++
				if a.Cluster == "" || l.Source != "case file, via cluster member "+clean.EncodeAddress() {
					t.Errorf("%s: label %+v in cluster %q", a.Address, l, a.Cluster)
				}
			}
		}
	}
	if inherited != 3 {
		t.Errorf("%d reached addresses inherit the clean coin's label, want the 3 consolidated parts", inherited)
	}

	// Poison, from the same store with the node down: the same rows, each
	// wholly tainted, and every transaction still reconciles.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	poisonOut := filepath.Join(dir, "poison.json")
	code, _, errs = runCLI(t, nil, "trace", "--chain", "btc", "--seed", truth.Seed, "--max-hops", "100", "--labels", labelFile,
		"--store", filepath.Join(dir, "store"), "--out", poisonOut, "--from-block", itoa(truth.From), "--to-block", itoa(truth.To),
		"--taint", "poison")
	if code != 0 {
		t.Fatalf("poison trace from the store: exit %d: %s", code, errs)
	}
	p := readBtcExhibit(t, poisonOut)
	if p.Method.TaintModel != "poison" || len(p.Transfers) != len(e.Transfers) || len(p.Reconciliation) != len(e.Reconciliation) {
		t.Fatalf("poison: model %s, %d rows, %d transactions", p.Method.TaintModel, len(p.Transfers), len(p.Reconciliation))
	}
	for _, r := range p.Transfers {
		if r.Taint != r.Amount {
			t.Errorf("poison row %s %s: taint %s of %s", r.TxHash, r.Position, r.Taint, r.Amount)
		}
	}
	for _, rc := range p.Reconciliation {
		if err := rc.Check(); err != nil {
			t.Error(err)
		}
		if rc.TaintIn["BTC"] != rc.ValueIn["BTC"] || rc.TaintOut["BTC"] != rc.ValueOut["BTC"] {
			t.Errorf("poison reconciliation of %s: %+v", rc.TxHash, rc)
		}
	}
}
