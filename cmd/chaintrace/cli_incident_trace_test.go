package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTraceAndBatchFromIncidents: `trace --incident` takes its seeds and
// first block from the catalog (here a local catalog describing the demo
// case on the test's chain), and the exhibit's case cites the incident and
// its sources; a batch job naming two incidents makes one exhibit each,
// each citing its own.
func TestTraceAndBatchFromIncidents(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	labelsPath := demoLabels(t, truth)
	var mule string
	for a, role := range truth.Controlled {
		if role != "hacker" && (mule == "" || a.Hex() < mule) {
			mule = a.Hex()
		}
	}
	catalog := filepath.Join(dir, "incidents.yaml")
	os.WriteFile(catalog, []byte(fmt.Sprintf(`incidents:
  - id: demo-2019
    name: Demo exchange theft
    victim: Demo exchange
    date: {value: "2019-11-27", source: [notice], confirmed: false}
    chains: [eth]
    sources:
      - id: notice
        title: Demo police notice (2019-11-28)
      - id: filing
        title: Demo forfeiture filing
    addresses:
      - {address: "%s", role: exploiter, block: %d, source: [notice, filing], confirmed: false}
  - id: demomule-2020
    name: Demo mule theft
    victim: Demo exchange
    date: {value: "2020-01-02", source: [notice], confirmed: false}
    chains: [eth]
    sources:
      - id: notice
        title: Demo notice two
    addresses:
      - {address: "%s", role: exploiter, block: %d, source: [notice], confirmed: false}
`, strings.ToLower(truth.Seeds[0].Hex()), truth.First, mule, truth.First)), 0o644)
	common := []string{"--catalog", catalog, "--to-block", itoa(truth.Last), "--labels", labelsPath, "--eth-rpc", node.URL(),
		"--store", filepath.Join(dir, "store")}
	out := filepath.Join(dir, "incident.json")
	code, _, errs := runCLI(t, nil, append([]string{"trace", "--incident", "demo-2019", "--out", out}, common...)...)
	if code != 0 {
		t.Fatalf("trace --incident: exit %d: %s", code, errs)
	}
	e, _ := readExhibit(t, out)
	if !slices.Equal(e.Seeds, []string{truth.Seeds[0].Hex()}) || e.Method.FromBlock != truth.First {
		t.Errorf("seeds %v from block %d: want the catalog's %s from %d", e.Seeds, e.Method.FromBlock, truth.Seeds[0].Hex(), truth.First)
	}
	inc := e.Case.Incident
	if e.Case.ID != "demo-2019" || inc == nil || inc.ID != "demo-2019" || inc.Name != "Demo exchange theft" ||
		!slices.Equal(inc.Sources, []string{"Demo police notice (2019-11-28)", "Demo forfeiture filing"}) ||
		!strings.Contains(e.Case.Title, "Demo police notice") {
		t.Errorf("case %+v, incident %+v: want the incident and its sources cited", e.Case, inc)
	}
	if code, stdout, errs := runCLI(t, nil, "verify", out, "--eth-rpc", node.URL()); code != 0 {
		t.Errorf("verify of the incident's exhibit: exit %d: %s %s", code, stdout, errs)
	}
	// The same trace from the seed by hand: the same transfers.
	byHand := filepath.Join(dir, "hand.json")
	if code, _, errs := runCLI(t, nil, append([]string{"trace", "--seed", truth.Seeds[0].Hex(), "--from-block", itoa(truth.First), "--out", byHand}, common...)...); code != 0 {
		t.Fatalf("trace by hand: %s", errs)
	}
	h, _ := readExhibit(t, byHand)
	if string(mustJSON(t, h.Transfers)) != string(mustJSON(t, e.Transfers)) {
		t.Error("trace --incident found other transfers than a trace from the catalog's seed")
	}
	// Bad input: an unknown incident, one with no seed on the chain.
	code, _, errs = runCLI(t, nil, append([]string{"trace", "--incident", "nosuch-2000", "--out", out}, common...)...)
	if code != 2 || !strings.Contains(lastLine(errs), "nosuch-2000: not in the catalog") {
		t.Errorf("unknown incident: exit %d, %q", code, lastLine(errs))
	}
	code, _, errs = runCLI(t, nil, append([]string{"trace", "--chain", "btc", "--incident", "demo-2019", "--out", out}, common...)...)
	if code != 2 || !strings.Contains(lastLine(errs), "names no btc address") {
		t.Errorf("incident without btc seeds: exit %d, %q", code, lastLine(errs))
	}

	// A batch job naming both incidents.
	jobs := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(jobs, []byte("jobs:\n  - id: known\n    incidents: [demo-2019, demomule-2020]\n    taint: haircut,fifo\n"), 0o644)
	outDir := filepath.Join(dir, "out")
	code, stdout, errs := runCLI(t, nil, append([]string{"batch", jobs, "--out-dir", outDir}, common...)...)
	if code != 0 {
		t.Fatalf("batch: exit %d\n%s\n%s", code, stdout, errs)
	}
	for _, c := range []struct{ id, seed string }{{"demo-2019", truth.Seeds[0].Hex()}, {"demomule-2020", mule}} {
		e, _ := readExhibit(t, filepath.Join(outDir, "known-"+c.id+".json"))
		if e.Case.ID != c.id || e.Case.Incident == nil || e.Case.Incident.ID != c.id || !slices.Equal(e.Seeds, []string{c.seed}) {
			t.Errorf("job known-%s: case %+v seeds %v; want the incident cited and its seed %s", c.id, e.Case, e.Seeds, c.seed)
		}
	}
}
