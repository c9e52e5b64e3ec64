package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/batch"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/faultproxy"
	"github.com/chaintrace/chaintrace/labels"
)

func readSummary(t *testing.T, path string) batch.Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s batch.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func summaryJob(t *testing.T, s batch.Summary, id string) batch.JobLine {
	t.Helper()
	for _, j := range s.Jobs {
		if j.ID == id {
			return j
		}
	}
	t.Fatalf("summary has no job %s", id)
	return batch.JobLine{}
}

// TestBatchOnTheDemoCase runs a batch of three jobs on the demo case: the
// hacker's address, an intermediate of the same laundering (so the two
// link), and a seed with no activity, which fails while the others go
// on. Each exhibit is the one `trace` writes for the same flags (same
// digest). Run again, the batch starts a new run, runs every job again
// and finds that nothing moved; a failed job is named with its reason.
func TestBatchOnTheDemoCase(t *testing.T) {
	node, truth := playedNode(t)
	dir := t.TempDir()
	labelsPath := demoLabels(t, truth)
	var mid string
	var roles []string
	for a, role := range truth.Controlled {
		roles = append(roles, role+" "+a.Hex())
	}
	sort.Strings(roles)
	for _, r := range roles {
		if a := strings.Fields(r); a[0] != "hacker" && mid == "" {
			mid = a[len(a)-1]
		}
	}
	// The mule job names a node of its own (the same chain, behind a
	// counting proxy): it must be asked.
	own := faultproxy.New(node.URL(), faultproxy.Options{})
	t.Cleanup(own.Close)
	jobs := fmt.Sprintf(`name: demo
defaults:
  from-block: %d
  to-block: %d
  labels: %s
  taint: haircut,poison
jobs:
  - id: hacker
    seeds: [%s]
    case-id: upbit-2019
  - id: mule
    seeds: %s
    max-hops: 4
    eth-rpc: %s
  - id: quiet
    seeds: [0x00000000000000000000000000000000000000a1]
`, truth.First, truth.Last, labelsPath, truth.Seeds[0].Hex(), mid, own.URL())
	jobsPath := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(jobsPath, []byte(jobs), 0o644); err != nil {
		t.Fatal(err)
	}
	storeDir, outDir := filepath.Join(dir, "store"), filepath.Join(dir, "out")
	args := []string{"batch", jobsPath, "--eth-rpc", node.URL(), "--store", storeDir, "--out-dir", outDir, "--workers", "2"}
	code, stdout, stderr := runCLI(t, nil, args...)
	if code != 1 {
		t.Fatalf("batch with a failing job: exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(lastLine(stderr), "1 of 3 jobs failed") {
		t.Errorf("last line %q does not say one job failed", lastLine(stderr))
	}
	s := readSummary(t, filepath.Join(outDir, "summary.json"))
	if s.Run != 1 || s.Totals.Done != 2 || s.Totals.Failed != 1 || s.Totals.Pending != 0 {
		t.Fatalf("summary: run %d, totals %+v", s.Run, s.Totals)
	}
	quiet := summaryJob(t, s, "quiet")
	if quiet.Status != batch.Failed || !strings.Contains(quiet.Error, "no activity") && !strings.Contains(quiet.Error, "check the seed") {
		t.Errorf("quiet job: %s %q, want failed for want of activity", quiet.Status, quiet.Error)
	}
	hacker := summaryJob(t, s, "hacker")
	if hacker.Status != batch.Done || hacker.Result == nil || len(hacker.Result.Endpoints) == 0 || hacker.NodeCalls == 0 {
		t.Fatalf("hacker job: %+v", hacker)
	}
	if len(hacker.TaintToExchanges) == 0 {
		t.Errorf("hacker job: no taint to exchanges stated")
	}
	// The hacker job's exhibit is trace's own.
	single := filepath.Join(dir, "single.json")
	code, _, stderr = runCLI(t, nil, "trace", "--seed", truth.Seeds[0].Hex(), "--from-block", itoa(truth.First), "--to-block", itoa(truth.Last),
		"--labels", labelsPath, "--taint", "haircut,poison", "--case-id", "upbit-2019", "--eth-rpc", node.URL(), "--store", filepath.Join(dir, "store2"), "--out", single)
	if code != 0 {
		t.Fatalf("trace: exit %d: %s", code, stderr)
	}
	// Provenance aside: the batch's store was also filled through the mule
	// job's own node, and every exhibit on it names each node that did.
	want, _ := readExhibit(t, single)
	got, _ := readExhibit(t, filepath.Join(outDir, "hacker.json"))
	srcs := got.Provenance.Sources
	want.Provenance, got.Provenance = exhibit.Provenance{}, exhibit.Provenance{}
	want.Digest, got.Digest = exhibit.Digest{}, exhibit.Digest{}
	if string(mustJSON(t, got)) != string(mustJSON(t, want)) {
		t.Error("the batch's exhibit of the hacker job is not trace's")
	}
	if len(srcs) == 0 || !strings.Contains(string(mustJSON(t, srcs)), node.URL()) {
		t.Errorf("provenance sources %+v do not name the node", srcs)
	}
	if own.Requests() == 0 {
		t.Error("the mule job's own node was never asked")
	}
	// The mule is on the hacker's path: the two jobs link there.
	linked := false
	for _, l := range s.Links {
		if l.Address == mid && strings.Join(l.Jobs, ",") == "hacker,mule" {
			linked = true
		}
	}
	if !linked {
		t.Errorf("no link between hacker and mule at %s: %+v", mid, s.Links)
	}
	// A second invocation: a new run, every job again, nothing moved.
	code, stdout, stderr = runCLI(t, nil, args...)
	if code != 1 {
		t.Fatalf("second run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	s = readSummary(t, filepath.Join(outDir, "summary.json"))
	if s.Run != 2 {
		t.Fatalf("second invocation ran run %d, want 2", s.Run)
	}
	hacker = summaryJob(t, s, "hacker")
	if hacker.Earlier || hacker.Diff == nil || !hacker.Diff.Empty() || hacker.Diff.PreviousRun != 1 {
		t.Errorf("second run's hacker line: earlier %v, diff %+v; want run again, nothing moved since run 1", hacker.Earlier, hacker.Diff)
	}
	if !strings.Contains(stdout, "nothing moved") {
		t.Errorf("the table does not say nothing moved:\n%s", stdout)
	}
}

// TestBatchMalformedJobsFile: every problem is named with its line, the
// exit status is 2 and nothing runs (no store, no exhibits).
func TestBatchMalformedJobsFile(t *testing.T) {
	dir := t.TempDir()
	jobsPath := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(jobsPath, []byte(`defaults:
  chain: eth
  from-block: 1
jobs:
  - id: ok
    seeds: [0x00000000000000000000000000000000000000a1]
  - id: typo
    seeds: [0x00000000000000000000000000000000000000a2]
    max-hop: 3
  - seeds: [0x00000000000000000000000000000000000000a3]
  - id: badseed
    seeds: [0xnothex]
  - id: ok
    seeds: [0x00000000000000000000000000000000000000a4]
`), 0o644)
	storeDir, outDir := filepath.Join(dir, "store"), filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, nil, "batch", jobsPath, "--eth-rpc", "http://127.0.0.1:1", "--store", storeDir, "--out-dir", outDir)
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, stderr)
	}
	line := lastLine(stderr)
	for _, want := range []string{"jobs.yaml:9: unknown key \"max-hop\"", "jobs.yaml:10: job 3: no id", "jobs.yaml:13: job id \"ok\" repeats the job on line 5"} {
		if !strings.Contains(line, want) {
			t.Errorf("error %q does not hold %q", line, want)
		}
	}
	for _, p := range []string{storeDir, outDir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists: a malformed jobs file must run nothing", p)
		}
	}
	// Once the structure is right, a job's trace flags are checked as the
	// trace command checks them, with the job's line.
	os.WriteFile(jobsPath, []byte(`jobs:
  - id: ok
    seeds: [0x00000000000000000000000000000000000000a1]
    from-block: 1
  - id: badseed
    seeds: [0xnothex]
    from-block: 1
  - id: badtaint
    seeds: [0x00000000000000000000000000000000000000a1]
    from-block: 1
    taint: fifo,fifo
`), 0o644)
	code, _, stderr = runCLI(t, nil, "batch", jobsPath, "--eth-rpc", "http://127.0.0.1:1", "--store", storeDir, "--out-dir", outDir)
	line = lastLine(stderr)
	if code != 2 || !strings.Contains(line, "jobs.yaml:5: job badseed: --seed") || !strings.Contains(line, "jobs.yaml:8: job badtaint: --taint") {
		t.Errorf("exit %d, %q: want 2 naming both jobs with their lines", code, line)
	}
	if _, err := os.Stat(storeDir); err == nil {
		t.Errorf("the store was opened for a malformed jobs file")
	}
}

// TestBatchLabelSetJobs: a job naming a label set is one job per matching
// address: every Lazarus Group Ethereum address of the real SDN list, as
// the labels package reads it; a label set matching nothing is refused
// with its line.
func TestBatchLabelSetJobs(t *testing.T) {
	t.Parallel() // reads the SDN list three times (about 10 s each here)
	set, err := labels.Load(sharedSDNAdvanced)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, l := range set.Labels {
		if l.Chain == "eth" && strings.Contains(strings.ToLower(l.Label+" "+l.Actor+" "+l.Abuse+" "+l.Category), "lazarus") {
			want[l.Canonical] = true
		}
	}
	if len(want) == 0 {
		t.Fatal("the SDN list names no Lazarus Ethereum address")
	}
	dir := t.TempDir()
	sdn, err := filepath.Abs(sharedSDNAdvanced)
	if err != nil {
		t.Fatal(err)
	}
	jobsPath := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(jobsPath, []byte(fmt.Sprintf(`jobs:
  - id: lazarus
    chain: eth
    from-block: 14442835
    label-set: {file: %s, match: lazarus}
`, sdn)), 0o644)
	code, stdout, stderr := runCLI(t, nil, "batch", jobsPath, "--check", "--store", filepath.Join(dir, "store"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, fmt.Sprintf("%d jobs, all well formed", len(want))) {
		t.Errorf("check says %q, want %d jobs (one per Lazarus eth address)", strings.TrimSpace(stdout), len(want))
	}
	os.WriteFile(jobsPath, []byte(fmt.Sprintf(`jobs:
  - id: nobody
    chain: eth
    from-block: 1
    label-set: {file: %s, match: no-such-actor}
`, sdn)), 0o644)
	code, _, stderr = runCLI(t, nil, "batch", jobsPath, "--check", "--store", filepath.Join(dir, "store"))
	if code != 2 || !strings.Contains(lastLine(stderr), "jobs.yaml:2: job nobody: label-set matches no eth address") {
		t.Errorf("exit %d, %q: want 2 naming the job's line", code, lastLine(stderr))
	}
}
