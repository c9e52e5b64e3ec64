package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/batchscenario"
	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/faultproxy"
)

// mainEnv makes the test binary run the command line instead of the tests,
// so that a test can run chaintrace as a process of its own (and kill it).
const mainEnv = "CHAINTRACE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// chaintraceProcess is the command line as a process of its own.
func chaintraceProcess(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	return cmd
}

// batchCase is a batch of thefts on both chains: n seeds on geth and n on
// btcd, a jobs file naming every seed, and the flags that reach the nodes.
type batchCase struct {
	jobs      string
	nodeFlags []string   // through counting proxies
	calls     func() int // requests the proxies passed on so far
	ids       []string
}

func playBatchCase(t *testing.T, perChain int) batchCase {
	t.Helper()
	dir := t.TempDir()
	eth, err := devchain.Start(devchain.Config{Funded: batchscenario.EthFunded(perChain)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eth.Close() })
	ec, err := batchscenario.PlayEth(eth, perChain)
	if err != nil {
		t.Fatal(err)
	}
	bn := btcnode.Start(t, btcnode.Options{MatureOutputs: 10})
	bc, err := batchscenario.PlayBtc(bn, perChain)
	if err != nil {
		t.Fatal(err)
	}
	ethLabels, btcLabels := filepath.Join(dir, "eth-labels.csv"), filepath.Join(dir, "btc-labels.csv")
	if err := ec.WriteLabels(ethLabels); err != nil {
		t.Fatal(err)
	}
	if err := bc.WriteLabels(btcLabels); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: thefts\ndefaults:\n  taint: haircut,fifo,poison\n  max-hops: 4\n  labels: [%s, %s]\njobs:\n", ethLabels, btcLabels)
	var ids []string
	for i, s := range ec.Seeds {
		id := fmt.Sprintf("eth-%03d", i)
		ids = append(ids, id)
		fmt.Fprintf(&b, "  - {id: %s, chain: eth, seeds: [%s], from-block: %d, to-block: %d}\n", id, s, ec.First, ec.Last)
	}
	for i, s := range bc.Seeds {
		id := fmt.Sprintf("btc-%03d", i)
		ids = append(ids, id)
		fmt.Fprintf(&b, "  - {id: %s, chain: btc, seeds: [%s], from-block: %d, to-block: %d}\n", id, s, bc.First, bc.Last)
	}
	jobs := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(jobs, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Counting proxies (no faults), so that the nodes' requests can be
	// told apart run by run.
	tc, err := bn.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	host, user, pass, _ := bn.RPCConfig()
	ep, bp := faultproxy.New(eth.URL(), faultproxy.Options{}), faultproxy.New("https://"+host, faultproxy.Options{Transport: tr})
	t.Cleanup(ep.Close)
	t.Cleanup(bp.Close)
	return batchCase{jobs: jobs, ids: ids,
		nodeFlags: []string{"--eth-rpc", ep.URL(), "--btc-rpc", bp.URL(), "--btc-rpc-user", user, "--btc-rpc-pass", pass},
		calls:     func() int { return ep.Requests() + bp.Requests() },
	}
}

var jobDoneLine = regexp.MustCompile(`batch: job finished.* job=(\S+) status=done`)

// TestBatchSurvivesKills: a batch of 200 seeds over geth and btcd, killed
// with SIGKILL three times at random moments and run again until it
// finishes, ends with every exhibit's digest equal to an uninterrupted
// run's, and no finished job run twice: every job is logged finished
// exactly once over all the invocations (the log line follows the
// checkpoint), and the final summary says which were finished earlier.
func TestBatchSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 200 thefts on geth and btcd; skipped with -short")
	}
	t.Parallel() // mostly waiting: let the package's other tests run meanwhile
	bc := playBatchCase(t, 100)
	dir := t.TempDir()
	args := func(name string) []string {
		return append([]string{"batch", bc.jobs, "--store", filepath.Join(dir, name, "store"), "--out-dir", filepath.Join(dir, name, "out"),
			"--workers", "4", "--log-format", "text"}, bc.nodeFlags...)
	}
	ctx := context.Background()

	// The uninterrupted run, timed.
	start := time.Now()
	var ref bytes.Buffer
	cmd := chaintraceProcess(ctx, args("ref")...)
	cmd.Stderr, cmd.Stdout = &ref, &ref
	if err := cmd.Run(); err != nil {
		t.Fatalf("uninterrupted batch: %v\n%s", err, ref.String())
	}
	took := time.Since(start)
	refCalls := bc.calls()
	refSum := readSummary(t, filepath.Join(dir, "ref", "out", "summary.json"))
	if refSum.Totals.Done != len(bc.ids) {
		t.Fatalf("uninterrupted batch: %+v", refSum.Totals)
	}
	t.Logf("uninterrupted: %d jobs in %s, %d node calls", refSum.Totals.Done, took.Round(time.Millisecond), refSum.Totals.NodeCalls)

	// Killed three times at random moments, then run to the end: each
	// kill comes a random few milliseconds after a random number of jobs
	// (between 5 and 40) has finished in that invocation.
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("kill moments from seed %d", seed)
	var logs []string
	for kill := 1; kill <= 3; kill++ {
		cmd := chaintraceProcess(ctx, args("killed")...)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr, cmd.Stdout = pw, pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		after, delay := 5+rng.IntN(36), time.Duration(rng.IntN(50))*time.Millisecond
		var out strings.Builder
		sc := bufio.NewScanner(pr)
		seen := 0
		killed := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if jobDoneLine.MatchString(sc.Text()) {
				seen++
			}
			if seen == after && !killed {
				time.Sleep(delay)
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		pr.Close()
		err = cmd.Wait()
		logs = append(logs, out.String())
		if !killed {
			t.Fatalf("invocation %d ended (%v) before %d jobs finished in it:\n%s", kill, err, after, out.String())
		}
		t.Logf("invocation %d killed %s after job %d of it finished", kill, delay, after)
	}
	var out bytes.Buffer
	cmd = chaintraceProcess(ctx, args("killed")...)
	cmd.Stderr, cmd.Stdout = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("final invocation: %v\n%s", err, out.String())
	}
	logs = append(logs, out.String())
	sum := readSummary(t, filepath.Join(dir, "killed", "out", "summary.json"))
	if sum.Totals.Done != len(bc.ids) || sum.Run != 1 {
		t.Fatalf("after the kills: run %d, %+v", sum.Run, sum.Totals)
	}
	finished := map[string]int{}
	for _, l := range logs {
		for _, m := range jobDoneLine.FindAllStringSubmatch(l, -1) {
			finished[m[1]]++
		}
	}
	earlier := 0
	for _, id := range bc.ids {
		if finished[id] != 1 {
			t.Errorf("job %s finished %d times over the invocations", id, finished[id])
		}
		got, want := summaryJob(t, sum, id), summaryJob(t, refSum, id)
		if got.Result == nil || got.Result.Digest != want.Result.Digest {
			t.Errorf("job %s: exhibit digest differs from the uninterrupted run's", id)
		}
		if got.Earlier {
			earlier++
		}
	}
	t.Logf("%d invocations (3 killed); %d jobs finished before the last, which made %d node calls (the uninterrupted run %d)",
		len(logs), earlier, sum.Totals.NodeCalls, refSum.Totals.NodeCalls)
	// The nodes' own count: every invocation together asked them little
	// more than the uninterrupted run (the jobs cut short, started again,
	// and each invocation's connecting); a rerun of finished jobs would
	// add as many requests again as those jobs took.
	killedCalls := bc.calls() - refCalls
	t.Logf("requests at the nodes: uninterrupted %d, killed three times %d (%.2fx)", refCalls, killedCalls, float64(killedCalls)/float64(refCalls))
	if float64(killedCalls) > 1.5*float64(refCalls) {
		t.Errorf("the interrupted batch asked the nodes %d requests, the uninterrupted one %d: finished work was done again", killedCalls, refCalls)
	}
	if earlier < 15 {
		t.Errorf("only %d jobs were finished before the last invocation: the kills did not test resuming", earlier)
	}
}
