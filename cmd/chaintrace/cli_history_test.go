package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/etherscanreplay"
	"github.com/chaintrace/chaintrace/store"
)

// explorerRecords is what an Etherscan-compatible explorer says about the
// window, built from a store that holds the node's own blocks.
func explorerRecords(t *testing.T, st *store.Store, first, last uint64) []etherscanreplay.Record {
	t.Helper()
	var recs []etherscanreplay.Record
	for n := first; n <= last; n++ {
		txs, err := st.Txs(chains.ETH, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			to := tx.To
			r := etherscanreplay.Native(n, tx.Hash, tx.From, to, tx.Value.String())
			if tx.Created != "" {
				r.ContractAddress = tx.Created
			}
			if !tx.Success {
				r.IsError, r.TxReceiptStatus = "1", "0"
			}
			recs = append(recs, r)
		}
	}
	err := st.Transfers(chains.ETH, first, last, func(tr *chains.Transfer) error {
		switch tr.Kind {
		case chains.KindInternal:
			recs = append(recs, etherscanreplay.Internal(tr.BlockNumber, tr.TxHash, tr.From[0], tr.To, tr.Amount.String()))
		case chains.KindERC20:
			recs = append(recs, etherscanreplay.ERC20(tr.BlockNumber, tr.TxHash, tr.Asset, tr.From[0], tr.To, tr.Amount.String()))
		case chains.KindERC721:
			recs = append(recs, etherscanreplay.ERC721(tr.BlockNumber, tr.TxHash, tr.Asset, tr.From[0], tr.To, tr.TokenID.String()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// withoutProvenance is an exhibit's digest recomputed without provenance.
func withoutProvenance(t *testing.T, e *exhibit.Exhibit) (string, string) {
	t.Helper()
	c := *e
	c.Provenance = exhibit.Provenance{Sources: []exhibit.Source{}, LabelSets: []exhibit.LabelSet{}}
	d, err := exhibit.ComputeDigest(&c)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := json.Marshal(e.Transfers)
	return d, string(rows)
}

// TestTraceThroughAnExplorer: the same case traced by block scan and
// through an Etherscan-compatible explorer gives the same transfers and the
// same digest apart from provenance, which names the explorer; a wrong
// amount and an invented transfer from the explorer are rejected with a
// warning and change nothing.
func TestTraceThroughAnExplorer(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	labelsPath := demoLabels(t, truth)
	scanStore := filepath.Join(dir, "scan")
	scanOut := filepath.Join(dir, "scan.json")
	if code, _, errs := runCLI(t, nil, append(traceArgs(truth, node.URL(), scanStore, labelsPath, scanOut), "--history", "scan")...); code != 0 {
		t.Fatalf("scan trace: %s", errs)
	}
	scanned, _ := readExhibit(t, scanOut)
	wantDigest, wantRows := withoutProvenance(t, scanned)

	st, err := store.Open(scanStore, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := explorerRecords(t, st, truth.First, truth.Last)
	st.Close()

	for _, tc := range []struct {
		name        string
		tamper      func(s *etherscanreplay.Server)
		wantRejects int
	}{
		{"faithful", func(*etherscanreplay.Server) {}, 0},
		{"wrong amount and invented transfer", func(s *etherscanreplay.Server) {
			if s.Corrupt(etherscanreplay.TxList, scanned.Transfers[0].TxHash, "1") != 1 {
				t.Fatal("nothing to corrupt")
			}
			s.Inject(etherscanreplay.Native(scanned.Transfers[1].BlockNumber, scanned.Transfers[1].TxHash,
				truth.Seeds[0].Hex(), "0x000000000000000000000000000000000000dEaD", "777"))
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := etherscanreplay.New(t, recs, etherscanreplay.Options{Key: "secret-key-123"})
			tc.tamper(ex)
			out := filepath.Join(t.TempDir(), "explorer.json")
			args := append(traceArgs(truth, node.URL(), filepath.Join(t.TempDir(), "s"), labelsPath, out),
				"--history", "etherscan", "--etherscan-url", ex.URL(), "--etherscan-key", "secret-key-123", "--etherscan-rate", "1000")
			code, _, errs := runCLI(t, nil, args...)
			if code != 0 {
				t.Fatalf("explorer trace: exit %d: %s", code, errs)
			}
			e, data := readExhibit(t, out)
			gotDigest, gotRows := withoutProvenance(t, e)
			if gotRows != wantRows || gotDigest != wantDigest {
				t.Errorf("the explorer-backed exhibit differs from the block scan beyond provenance")
			}
			if !strings.Contains(string(data), `"kind": "history:etherscan"`) {
				t.Error("provenance does not name the explorer")
			}
			if strings.Contains(string(data), "secret-key-123") || strings.Contains(errs, "secret-key-123") {
				t.Error("the explorer key leaked")
			}
			n := strings.Count(errs, "  explorer claim rejected:") // the summary's list
			if n != tc.wantRejects {
				t.Errorf("%d claims rejected, want %d:\n%s", n, tc.wantRejects, errs)
			}
			if tc.wantRejects > 0 && (!strings.Contains(errs, "not borne out") || !strings.Contains(errs, "0x000000000000000000000000000000000000dEaD")) {
				t.Errorf("rejections not explained:\n%s", errs)
			}
		})
	}
}
