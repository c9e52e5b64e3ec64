package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/batch"
	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/labels"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

func newBatchCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch JOBS.yaml [flags]",
		Short: "Run many traces from a jobs file: resumable, one exhibit per job and a summary",
		Long: `batch runs every job of a jobs file as 'chaintrace trace' would, a few at a
time, over one store and one client per node, and writes one exhibit per job
(--out-dir/ID.json) and a summary (JSON and a table): per job its status,
endpoints reached, taint that reached exchanges, time and node calls, what
moved since the job's previous run, and the addresses two jobs share.

The jobs file is YAML:

  name: lazarus-nightly            # names the batch's checkpoints (default: the file name)
  defaults:                        # trace flags every job starts from
    chain: eth
    from-block: 14000000
    taint: haircut,fifo
  jobs:
    - id: ronin-2022
      seeds: [0x098B716B8Aaf21512996dC57EB0615e2383E2f96]
      case-id: ronin-2022
    - id: sdn-lazarus              # one job per matching address of a label file
      label-set: {file: sdn_advanced.xml.bz2, match: Lazarus}
    - id: known                    # one job per catalogued incident ('chaintrace incidents list')
      incidents: [ronin-2022, bybit-2025]

or a plain list of seed addresses, one per line (# comments), each a job
with the command line's trace flags. A job may set any trace flag (see
'chaintrace trace --help', without the dashes); the command line's flags are
the defaults under the file's.

Each finished job is checkpointed in the store. A batch killed at any moment
and run again resumes its run: jobs finished are not run again, the one cut
short is run from the start (its fetched blocks are kept in the store).
Once every job of a run has finished, the next invocation starts a new run,
and each job's summary line says what moved since its previous run.

A malformed jobs file is refused whole, every problem named with its line,
and nothing runs. A job that fails (a bad seed, a node down past its
retries) is marked failed with the reason and the others go on; the exit
status is then 1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBatch(cmd.Context(), opts, args[0])
		},
	}
	addNodeFlags(cmd)
	f := cmd.Flags()
	addHistoryFlags(f)
	addTraceFlags(f)
	f.String("out-dir", "", "directory of the exhibits and the summary (default: NAME-exhibits beside the jobs file)")
	f.String("summary", "", "summary JSON path (default: OUT-DIR/summary.json)")
	f.Int("workers", 4, "jobs run at once")
	f.Int("jobs-per-node", 2, "jobs run at once against one node (the node's rate limit is shared by them)")
	f.Bool("fresh", false, "start a new run even if the last one was cut short")
	f.Bool("retry-failed", false, "when resuming a run, run its failed jobs again")
	f.StringArray("only", nil, "run only this job (repeatable)")
	f.Bool("check", false, "read and check the jobs file, run nothing")
	f.String("metrics-addr", "", "serve Prometheus metrics on this address (host:port) while the batch runs")
	return cmd
}

// batchFlags are the flags a job may set: the trace command's, but its
// output.
func batchFlags() batch.Flags {
	out := batch.Flags{}
	tc := newTraceCommand(&globalOptions{v: viper.New()})
	tc.Flags().VisitAll(func(f *pflag.Flag) {
		switch f.Name {
		case "out", "format", "help", "seed":
			return
		}
		switch f.Value.Type() {
		case "stringArray":
			out[f.Name] = batch.Repeatable
		case "stringSlice":
			out[f.Name] = batch.List
		default:
			out[f.Name] = batch.Single
		}
	})
	return out
}

type batchRunner struct {
	opts    *globalOptions
	shared  *sharedConns
	cp      *batch.Checkpoints
	run     batch.Run
	outDir  string
	jobs    []batch.Job
	specs   map[string]string
	metrics *batchMetrics

	mu      sync.Mutex
	records map[string]batch.Record
	active  map[string]*jobProgress
}

// jobProgress is a running job's state, for the progress display.
type jobProgress struct {
	started   time.Time
	transfers int
	addresses int
}

func runBatch(ctx context.Context, opts *globalOptions, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("jobs file: %v", err)
	}
	file, err := batch.Parse(path, data, batchFlags())
	if err != nil {
		return usagef("%v", err)
	}
	b := &batchRunner{opts: opts, specs: map[string]string{}, records: map[string]batch.Record{}, active: map[string]*jobProgress{}}
	if b.jobs, err = b.expand(path, file.Jobs); err != nil {
		return err
	}
	if b.jobs, err = batch.Select(b.jobs, opts.v.GetStringSlice("only")); err != nil {
		return usagef("%v", err)
	}
	if err := b.check(path); err != nil {
		return err
	}
	if n := opts.v.GetInt("workers"); n < 1 || n > 256 {
		return usagef("--workers %d: want 1 to 256", n)
	}
	if n := opts.v.GetInt("jobs-per-node"); n < 1 {
		return usagef("--jobs-per-node %d: want at least 1", n)
	}
	if opts.v.GetBool("check") {
		fmt.Fprintf(opts.stdout, "%s: %d jobs, all well formed\n", path, len(b.jobs))
		return nil
	}
	b.outDir = opts.v.GetString("out-dir")
	if b.outDir == "" {
		b.outDir = filepath.Join(filepath.Dir(path), file.Name+"-exhibits")
	}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return fmt.Errorf("--out-dir: %w", err)
	}
	st, err := opts.openStore(false)
	if err != nil {
		return err
	}
	defer st.Close()
	b.shared = &sharedConns{st: st, dial: opts}
	b.cp = batch.NewCheckpoints(st, file.Name)
	run, resumed, err := b.cp.Begin(opts.v.GetBool("fresh"), time.Now())
	if err != nil {
		return err
	}
	b.run = run
	if resumed {
		opts.logger.Info("batch: resuming a run cut short", "batch", file.Name, "run", run.Number, "attempt", run.Attempts)
	} else {
		opts.logger.Info("batch: new run", "batch", file.Name, "run", run.Number, "jobs", len(b.jobs))
	}
	if addr := opts.v.GetString("metrics-addr"); addr != "" {
		m, err := startBatchMetrics(addr, b)
		if err != nil {
			return usagef("--metrics-addr %s: %v", addr, err)
		}
		defer m.close()
		b.metrics = m
	}
	var todo []batch.Job
	for _, j := range b.jobs {
		rec, done, err := b.cp.Finished(j.ID, b.specs[j.ID], run, opts.v.GetBool("retry-failed"))
		if err != nil {
			return err
		}
		if done {
			b.records[j.ID] = rec
			continue
		}
		todo = append(todo, j)
	}
	if len(todo) < len(b.jobs) {
		opts.logger.Info("batch: jobs finished earlier in this run are not run again", "finished", len(b.jobs)-len(todo), "to_run", len(todo))
	}
	runErr := b.runAll(ctx, todo)
	sum := b.summary()
	if err := b.writeSummary(sum); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	if sum.Totals.Pending == 0 {
		if err := b.cp.Finish(run, time.Now()); err != nil {
			return err
		}
	}
	if sum.Totals.Failed > 0 {
		return fmt.Errorf("%d of %d jobs failed (see the summary)", sum.Totals.Failed, sum.Totals.Jobs)
	}
	return nil
}

// expand makes one job per address of each label-set job.
func (b *batchRunner) expand(path string, jobs []batch.Job) ([]batch.Job, error) {
	var out []batch.Job
	var problems []string
	cache := map[string]*labels.Set{}
	for _, j := range jobs {
		if len(j.Incidents) > 0 {
			for _, id := range j.Incidents {
				flags := make(map[string][]string, len(j.Flags)+1)
				for k, v := range j.Flags {
					flags[k] = v
				}
				flags["incident"] = []string{id}
				out = append(out, batch.Job{ID: j.ID + "-" + id, Line: j.Line, Flags: flags})
			}
			continue
		}
		if j.LabelSet == nil {
			out = append(out, j)
			continue
		}
		ls := j.LabelSet
		set, ok := cache[ls.File]
		if !ok {
			var err error
			set, err = labels.LoadWith(ls.File, labels.Options{BadChecksum: labels.ChecksumWarn})
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: job %s: label-set: %v", path, j.Line, j.ID, err))
				continue
			}
			cache[ls.File] = set
		}
		chain := b.jobChain(j)
		match := strings.ToLower(ls.Match)
		cat := labels.NormalizeCategory(ls.Category)
		seen := map[string]bool{}
		for _, l := range set.Labels {
			if l.Chain != string(chain) || seen[l.Canonical] {
				continue
			}
			if cat != "" && l.Category != cat {
				continue
			}
			if match != "" && !strings.Contains(strings.ToLower(l.Label+" "+l.Actor+" "+l.Abuse+" "+l.Category), match) {
				continue
			}
			seen[l.Canonical] = true
			flags := make(map[string][]string, len(j.Flags)+1)
			for k, v := range j.Flags {
				flags[k] = v
			}
			flags["seed"] = []string{l.Canonical}
			out = append(out, batch.Job{ID: j.ID + "-" + l.Canonical, Line: j.Line, Flags: flags})
		}
		if len(seen) == 0 {
			problems = append(problems, fmt.Sprintf("%s:%d: job %s: label-set matches no %s address of %s", path, j.Line, j.ID, chain, filepath.Base(ls.File)))
		}
	}
	if len(problems) > 0 {
		return nil, usagef("%v", &batch.Error{Problems: problems})
	}
	return out, nil
}

// jobChain is the chain a job runs on: its own chain flag, else the
// command line's.
func (b *batchRunner) jobChain(j batch.Job) chains.Chain {
	s := b.opts.v.GetString("chain")
	if v := j.Flags["chain"]; len(v) > 0 {
		s = v[0]
	}
	c, err := chains.ParseChain(s)
	if err != nil {
		return chains.Chain(s)
	}
	return c
}

// check validates every job as the trace command would, before any runs:
// a malformed job refuses the whole file.
func (b *batchRunner) check(path string) error {
	var problems []string
	for _, j := range b.jobs {
		b.specs[j.ID] = batch.SpecHash(j)
		jo, err := b.jobOptions(j, filepath.Join(os.TempDir(), "unused.json"))
		if err == nil {
			_, err = jo.traceParams()
		}
		if err == nil {
			for _, lf := range jo.v.GetStringSlice("labels") {
				if _, serr := os.Stat(lf); serr != nil {
					err = fmt.Errorf("labels: %v", serr)
					break
				}
			}
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: job %s: %v", path, j.Line, j.ID, err))
		}
	}
	if len(problems) > 0 {
		return usagef("%v", &batch.Error{Problems: problems})
	}
	return nil
}

// jobOptions are the options a job's trace runs with: the trace command's
// flags as the job sets them, the batch's command line (flags, config,
// environment) for what the job leaves unset, the batch's store and node
// clients.
func (b *batchRunner) jobOptions(j batch.Job, out string) (*globalOptions, error) {
	jo := &globalOptions{v: viper.New(), logger: b.opts.logger.With("job", j.ID), stderr: io.Discard, stdout: io.Discard, shared: b.shared}
	cmd := newTraceCommand(jo)
	args := []string{"--out=" + out, "--format=json"}
	keys := make([]string, 0, len(j.Flags))
	for k := range j.Flags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range j.Flags[k] {
			args = append(args, "--"+k+"="+v)
		}
	}
	if err := cmd.ParseFlags(args); err != nil {
		return nil, err
	}
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		key := configKey(f.Name)
		if err := jo.v.BindPFlag(key, f); err != nil && bindErr == nil {
			bindErr = err
		}
		if !f.Changed && b.opts.v.IsSet(key) {
			jo.v.Set(key, b.opts.v.Get(key))
		}
	})
	return jo, bindErr
}

// nodeOf names the node a job reads: its chain and endpoint.
func nodeOf(jo *globalOptions) string {
	c := jo.v.GetString("chain")
	switch {
	case c == "btc" && jo.v.GetString("esplora.url") != "" && jo.v.GetString("btc.rpc") == "":
		return "btc " + chains.RedactURL(jo.v.GetString("esplora.url"))
	case c == "btc":
		return "btc " + chains.RedactURL(jo.v.GetString("btc.rpc"))
	}
	return "eth " + chains.RedactURL(jo.v.GetString("eth.rpc"))
}

func (b *batchRunner) runAll(ctx context.Context, todo []batch.Job) error {
	workers := b.opts.v.GetInt("workers")
	perNode := b.opts.v.GetInt("jobs-per-node")
	var mu sync.Mutex
	nodes := map[string]chan struct{}{}
	slot := func(node string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if nodes[node] == nil {
			nodes[node] = make(chan struct{}, perNode)
		}
		return nodes[node]
	}
	queue := make(chan batch.Job)
	var wg sync.WaitGroup
	stopProgress := b.showProgress(ctx, len(todo))
	for range min(workers, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				out := filepath.Join(b.outDir, j.ID+".json")
				jo, err := b.jobOptions(j, out)
				if err != nil {
					b.finish(j, batch.Record{Status: batch.Failed, Error: oneLine(err.Error())})
					continue
				}
				s := slot(nodeOf(jo))
				select {
				case s <- struct{}{}:
				case <-ctx.Done():
					continue
				}
				b.runJob(ctx, j, jo, out)
				<-s
			}
		}()
	}
feed:
	for _, j := range todo {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	stopProgress()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: the run is checkpointed; run the batch again to resume it", errInterrupted)
	}
	return nil
}

// runJob runs one job's trace and checkpoints its outcome. A job cut
// short by an interrupt leaves no record: the next invocation runs it.
func (b *batchRunner) runJob(ctx context.Context, j batch.Job, jo *globalOptions, out string) {
	start := time.Now()
	var calls atomic.Int64
	jctx := chains.WithCallCounter(ctx, &calls)
	b.mu.Lock()
	prog := &jobProgress{started: start}
	b.active[j.ID] = prog
	b.mu.Unlock()
	jo.walkProgress = func(p tracer.Progress) {
		b.mu.Lock()
		prog.transfers, prog.addresses = p.Transfers, p.Addresses
		b.mu.Unlock()
	}
	b.opts.logger.Info("batch: job started", "job", j.ID, "node", nodeOf(jo))
	err := runTrace(jctx, jo)
	b.mu.Lock()
	delete(b.active, j.ID)
	b.mu.Unlock()
	if ctx.Err() != nil {
		return // interrupted: not finished, no record
	}
	rec := batch.Record{Status: batch.Done, Exhibit: out, Took: time.Since(start), NodeCalls: calls.Load()}
	if err == nil {
		var e *exhibit.Exhibit
		if e, err = readExhibitFile(out); err == nil {
			rec.Result = batch.ResultOf(e)
		}
	}
	if err != nil {
		rec.Status, rec.Error, rec.Exhibit = batch.Failed, oneLine(err.Error()), ""
	}
	b.finish(j, rec)
}

// finish checkpoints a job's outcome, then logs it (so that a job logged
// finished is never run again).
func (b *batchRunner) finish(j batch.Job, rec batch.Record) {
	rec.ID, rec.Run, rec.Spec, rec.Attempt, rec.Finished = j.ID, b.run.Number, b.specs[j.ID], b.run.Attempts, time.Now().UTC()
	if err := b.cp.Put(rec); err != nil {
		b.opts.logger.Error("batch: checkpoint not written; the job will run again", "job", j.ID, "err", err)
		return
	}
	if rec.Status == batch.Failed {
		b.opts.logger.Warn("batch: job finished", "job", j.ID, "status", rec.Status, "err", rec.Error)
	} else {
		b.opts.logger.Info("batch: job finished", "job", j.ID, "status", rec.Status, "took", rec.Took.Round(time.Millisecond),
			"node_calls", rec.NodeCalls, "endpoints", len(rec.Result.Endpoints))
	}
	if b.metrics != nil {
		b.metrics.jobFinished(rec)
	}
	// Read back: the record now carries the job's previous result.
	if r, ok, err := b.cp.Job(j.ID); err == nil && ok {
		rec = r
	}
	b.mu.Lock()
	b.records[j.ID] = rec
	b.mu.Unlock()
}

func readExhibitFile(path string) (*exhibit.Exhibit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return exhibit.Read(f)
}

func (b *batchRunner) summary() *batch.Summary {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &batch.Summary{Batch: b.cp.Name(), Run: b.run.Number, Attempts: b.run.Attempts, Started: b.run.Started}
	for _, j := range b.jobs {
		rec, ok := b.records[j.ID]
		if !ok {
			s.Jobs = append(s.Jobs, batch.JobLine{ID: j.ID, Chain: string(b.jobChain(j)), Status: batch.Pending})
			continue
		}
		s.Jobs = append(s.Jobs, batch.Line(rec, b.run.Attempts))
	}
	s.Total()
	if s.Totals.Pending == 0 {
		s.Finished = time.Now().UTC()
	}
	return s
}

func (b *batchRunner) writeSummary(s *batch.Summary) error {
	path := b.opts.v.GetString("summary")
	if path == "" {
		path = filepath.Join(b.outDir, "summary.json")
	}
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	})
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := s.WriteTable(b.opts.stdout); err != nil {
		return err
	}
	fmt.Fprintf(b.opts.stdout, "summary: %s\n", path)
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
