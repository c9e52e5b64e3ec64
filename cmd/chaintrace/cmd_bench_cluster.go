package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/spf13/cobra"
)

const (
	clusterBenchInputs = 10_000_000
	clusterBenchSeed   = 1
	// clusterBenchHold is the multi-input configuration's HoldAbove: the
	// synthetic exchanges' two wallets reach tens of thousands of
	// addresses each before a consolidation spends from both.
	clusterBenchHold = 10_000
)

// clusterBenchConfigs are bench cluster's children, in the order of the
// table, with what each one measures.
var clusterBenchConfigs = []struct{ name, what string }{
	{"strings", "make the address strings only: the floor under map and array"},
	{"map", "baseline: map[string]string parents, union by size"},
	{"array", "Interner + UnionFind over the same strings"},
	{"ids", "UnionFind over the synthetic ids: no strings, no interner"},
	{"multi-input", fmt.Sprintf("MultiInput: interner, union-find, merge log, txids, holds above %d", clusterBenchHold)},
}

func newBenchClusterCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster [INPUTS] [--rounds R]",
		Short: "Multi-input clustering throughput: the array union-find against a map-based one",
		Long: `bench cluster generates a synthetic Bitcoin-like chain of INPUTS inputs
(default 10,000,000; deterministic): mostly one- and two-input payments from
users' wallets with address reuse, exchanges' consolidations of hundreds of
deposit addresses (a few of them spending from both of an exchange's
wallets, which joins two large clusters), and about one transaction in a
thousand a CoinJoin of 5 to 100 unrelated inputs. Every address's true
owner is known.

Each round then clusters it by common-input ownership, skipping the
CoinJoins, once in each of these configurations, each a separate process
(so that each has its own peak resident memory):

  strings      builds each input's address string (42 bytes, as a decoder
               would) and nothing else: the floor under map and array;
  map          the baseline: a map[string]string of parents, union by size;
  array        heuristics.Interner and heuristics.UnionFind on the same
               strings: the comparison with map is this one;
  ids          heuristics.UnionFind on the generator's own dense ids;
  multi-input  heuristics.MultiInput, as the tracer runs it: interner,
               union-find, the merge log with each merge's txid, the
               CoinJoin guard as its SkipTx, merges of two clusters above
               10,000 addresses held.

It reports, as medians of the rounds, the inputs clustered per second of
wall time and per second of CPU time charged to the child (steadier than
wall time on a shared machine), each with its ratio to map; peak RSS
(VmHWM), and the live heap once the run's garbage is collected; the
clusters found, and the clusters holding addresses of two owners (false
merges), which must be none, with how many there would be without the
guard. Generating the workload is not timed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inputs := clusterBenchInputs
			if len(args) == 1 {
				n, err := strconv.Atoi(args[0])
				if err != nil || n < 1000 {
					return usagef("INPUTS %q: want a number of inputs, at least 1000", args[0])
				}
				inputs = n
			}
			return runBenchCluster(cmd.Context(), opts, inputs)
		},
	}
	cmd.Flags().Int("rounds", 3, "rounds of all configurations (the order rotates; figures are medians of the rounds)")
	cmd.AddCommand(&cobra.Command{
		Use:    "run CONFIG INPUTS",
		Short:  "One configuration of bench cluster (its child process)",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 1 {
				return usagef("INPUTS %q: want a positive number", args[1])
			}
			return runClusterConfig(opts.stdout, args[0], n)
		},
	})
	return cmd
}

func runBenchCluster(ctx context.Context, opts *globalOptions, inputs int) error {
	rounds := opts.v.GetInt("rounds")
	if rounds < 1 {
		return usagef("--rounds must be at least 1")
	}
	w := opts.stdout
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "bench cluster: %d synthetic inputs (seed %d), %d configurations x %d rounds, each a separate process (%d CPUs, %s)\n",
		inputs, clusterBenchSeed, len(clusterBenchConfigs), rounds, runtime.NumCPU(), runtime.Version())
	results := map[string][]clusterResult{}
	for r := range rounds {
		n := len(clusterBenchConfigs)
		for k := range n {
			c := clusterBenchConfigs[(k+r)%n] // rotate: drift in the machine's load falls on all alike
			br, err := runChild(ctx, self, "cluster "+c.name, []string{"bench", "cluster", "run", c.name, strconv.Itoa(inputs), "--log-level", "warn"})
			if err != nil {
				return err
			}
			res, err := parseClusterResult(br)
			if err != nil {
				return fmt.Errorf("bench cluster %s: %w", c.name, err)
			}
			results[c.name] = append(results[c.name], res)
			fmt.Fprintf(w, "round %d %-12s %7.2fs (%6.2f CPU-s) clustering: %10.0f inputs/s, %10.0f inputs/CPU-s; peak RSS %5d MiB\n",
				r+1, c.name, res.seconds, res.cpu, res.rate(), res.cpuRate(), res.maxRSS>>20)
		}
	}
	return reportBenchCluster(w, results, rounds)
}

// clusterResult is what one child printed.
type clusterResult struct {
	kv      map[string]int64
	seconds float64 // wall time of the clustering
	cpu     float64 // CPU time of the same, all threads
	maxRSS  int64
}

func (c clusterResult) rate() float64 { return float64(c.kv["inputs"]) / c.seconds }

func (c clusterResult) cpuRate() float64 { return float64(c.kv["inputs"]) / c.cpu }

func parseClusterResult(br benchRun) (clusterResult, error) {
	res := clusterResult{kv: map[string]int64{}, maxRSS: br.maxRSS}
	for _, m := range regexp.MustCompile(`(\w+)=(\d+)`).FindAllStringSubmatch(br.output, -1) {
		res.kv[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
	}
	for _, k := range []string{"inputs", "nanos", "cpu_nanos", "clusters"} {
		if _, ok := res.kv[k]; !ok {
			return res, fmt.Errorf("the child printed no %s: %q", k, br.output)
		}
	}
	res.seconds = time.Duration(res.kv["nanos"]).Seconds()
	// /proc counts in hundredths of a second: never let a short run read 0.
	res.cpu = max(time.Duration(res.kv["cpu_nanos"]).Seconds(), 0.01)
	return res, nil
}

func median(xs []float64) float64 {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	if len(ys)%2 == 1 {
		return ys[len(ys)/2]
	}
	return (ys[len(ys)/2-1] + ys[len(ys)/2]) / 2
}

func reportBenchCluster(w io.Writer, results map[string][]clusterResult, rounds int) error {
	first := results["ids"][0].kv
	fmt.Fprintf(w, "\nworkload: %d inputs in %d transactions, %d addresses of %d owners, %d CoinJoins (%d inputs)\n",
		first["inputs"], first["txs"], first["addresses"], first["owners"], first["coinjoins"], first["coinjoin_inputs"])
	// ratios returns config's per-round ratios to map, by wall and CPU time.
	ratios := func(config string) (wall, cpu []float64) {
		for r, res := range results[config] {
			m := results["map"][r]
			wall = append(wall, res.rate()/m.rate())
			cpu = append(cpu, res.cpuRate()/m.cpuRate())
		}
		return wall, cpu
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tinputs/s\tx map\tinputs/CPU-s\tx map\tpeak RSS\tlive heap\tclusters\tlargest\tfalse merges\tmerges logged\theld\t")
	for _, c := range clusterBenchConfigs {
		rs := results[c.name]
		var rates, cpuRates []float64
		for _, res := range rs {
			rates, cpuRates = append(rates, res.rate()), append(cpuRates, res.cpuRate())
		}
		wall, cpu := ratios(c.name)
		kv := rs[0].kv
		cell := func(k string) string {
			if v, ok := kv[k]; ok {
				return strconv.FormatInt(v, 10)
			}
			return "-"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.0f\t%.2f\t%d MiB\t%d MiB\t%s\t%s\t%s\t%s\t%s\t\n", c.name,
			median(rates), median(wall), median(cpuRates), median(cpu), maxRSS(rs)>>20, kv["heap_live"]>>20,
			cell("clusters"), cell("largest"), cell("mixed"), cell("merges"), cell("held"))
	}
	tw.Flush()
	fmt.Fprintln(w, "(medians of the rounds; peak RSS the largest of the rounds; live heap after a collection, once the run is done)")
	fmt.Fprintln(w)
	for _, c := range clusterBenchConfigs {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.what)
	}
	show := func(xs []float64) string {
		var parts []string
		for _, x := range xs {
			parts = append(parts, fmt.Sprintf("%.2f", x))
		}
		return strings.Join(parts, ", ")
	}
	wall, cpu := ratios("array")
	fmt.Fprintf(w, "\narray/map throughput on the same strings, median of %d rounds: %.2f by wall time (rounds: %s), %.2f by CPU time (rounds: %s)\n",
		rounds, median(wall), show(wall), median(cpu), show(cpu))
	fmt.Fprintf(w, "peak RSS: map %d MiB, array %d MiB (the strings floor, the workload and its strings alone: %d MiB)\n",
		maxRSS(results["map"])>>20, maxRSS(results["array"])>>20, maxRSS(results["strings"])>>20)
	// Every configuration must find the same partition (multi-input
	// may differ by its held merges), and none may mix owners.
	var bad []string
	for _, c := range clusterBenchConfigs[1:] {
		for _, res := range results[c.name] {
			kv := res.kv
			same := kv["clusters"] == first["clusters"] && kv["largest"] == first["largest"]
			if (!same && kv["held"] == 0) || kv["mixed"] != 0 {
				bad = append(bad, fmt.Sprintf("%s: %d clusters (largest %d), %d mixed", c.name, kv["clusters"], kv["largest"], kv["mixed"]))
			}
		}
	}
	fmt.Fprintf(w, "clusters mixing two owners' addresses (false merges across CoinJoins): %d in every configuration; without the guard: %d, holding %d addresses\n",
		first["mixed"], first["unguarded_mixed"], first["unguarded_mixed_addresses"])
	if len(bad) > 0 {
		return fmt.Errorf("bench cluster: the configurations disagree or merged across owners: %s", strings.Join(bad, "; "))
	}
	return nil
}

func maxRSS(rs []clusterResult) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, r.maxRSS)
	}
	return m
}

// runClusterConfig is one child of bench cluster: it generates the
// workload, times one clustering pass in configuration config, then
// (untimed) counts the clusters and those holding two owners' addresses,
// and prints key=value pairs.
func runClusterConfig(w io.Writer, config string, inputs int) error {
	known := false
	for _, c := range clusterBenchConfigs {
		known = known || c.name == config
	}
	if !known {
		return usagef("bench cluster run: unknown configuration %q", config)
	}
	s := heuristics.NewSynthetic(inputs, clusterBenchSeed)
	out := map[string]int64{
		"inputs": int64(len(s.Inputs)), "txs": int64(s.NumTxs()), "addresses": int64(s.NumAddresses()),
		"coinjoins": int64(s.NumCoinJoins()),
	}
	var owners, cjInputs int64
	for _, o := range s.Owner {
		owners = max(owners, int64(o)+1)
	}
	for i := range s.NumTxs() {
		if s.IsCoinJoin(i) {
			cjInputs += int64(len(s.TxInputs(i)))
		}
	}
	out["owners"], out["coinjoin_inputs"] = owners, cjInputs
	addrs := make([]string, 0, 512) // one transaction's, reused
	txStrings := func(i int) []string {
		addrs = addrs[:0]
		for _, id := range s.TxInputs(i) {
			addrs = append(addrs, s.Address(id))
		}
		return addrs
	}
	runtime.GC()
	var start time.Time
	cpu0 := cpuTime()
	var stats func(id uint32) (root uint32, size int)
	switch config {
	case "strings":
		var n int
		start = time.Now()
		for i := range s.NumTxs() {
			for _, a := range txStrings(i) {
				n += len(a)
			}
		}
		out["nanos"] = int64(time.Since(start))
		out["bytes"] = int64(n)
		out["clusters"] = 0
	case "map":
		m := heuristics.NewMapUnionFind()
		start = time.Now()
		for i := range s.NumTxs() {
			a := txStrings(i)
			if s.IsCoinJoin(i) {
				for _, x := range a {
					m.Find(x)
				}
				continue
			}
			m.Find(a[0])
			for _, x := range a[1:] {
				m.Union(a[0], x)
			}
		}
		out["nanos"] = int64(time.Since(start))
		stats = func(id uint32) (uint32, int) {
			a := s.Address(id)
			return s.AddressID(m.Find(a)), m.Size(a)
		}
	case "array":
		in := heuristics.NewInterner(0)
		var u heuristics.UnionFind
		start = time.Now()
		for i := range s.NumTxs() {
			a := txStrings(i)
			first := in.Intern(a[0])
			u.Grow(in.Len())
			cj := s.IsCoinJoin(i)
			for _, x := range a[1:] {
				id := in.Intern(x)
				u.Grow(in.Len())
				if !cj {
					u.Union(first, id)
				}
			}
		}
		out["nanos"] = int64(time.Since(start))
		stats = func(id uint32) (uint32, int) {
			x, _ := in.Lookup(s.Address(id))
			return u.Find(x), u.Size(x)
		}
	case "ids":
		u := heuristics.NewUnionFind(0)
		pass := func(guard bool) {
			for i := range s.NumTxs() {
				ids := s.TxInputs(i)
				u.Grow(int(ids[0]) + 1) // ids are dense in order of first use
				if guard && s.IsCoinJoin(i) {
					for _, x := range ids {
						u.Grow(int(x) + 1)
					}
					continue
				}
				for _, x := range ids[1:] {
					u.Grow(int(x) + 1)
					u.Union(ids[0], x)
				}
			}
		}
		start = time.Now()
		pass(true)
		out["nanos"] = int64(time.Since(start))
		stats = func(id uint32) (uint32, int) { return u.Find(id), u.Size(id) }
		defer func() {
			// The same without the guard, in the same memory: how many
			// clusters the CoinJoins would have mixed.
			u.Reset()
			pass(false)
			_, _, out["unguarded_mixed"], out["unguarded_mixed_addresses"] = clusterStats(s, func(id uint32) (uint32, int) { return u.Find(id), u.Size(id) })
			printKV(w, config, out)
		}()
	case "multi-input":
		i := 0
		m := heuristics.NewMultiInput(heuristics.MultiInputOptions{
			SkipTx:    func(heuristics.ClusterTx) (bool, string) { return s.IsCoinJoin(i), "coinjoin" },
			SkipRule:  "synthetic-coinjoin",
			HoldAbove: clusterBenchHold,
		})
		start = time.Now()
		for ; i < s.NumTxs(); i++ {
			m.Add(heuristics.ClusterTx{TxID: s.TxID(i), InputAddrs: txStrings(i)})
		}
		out["nanos"] = int64(time.Since(start))
		out["merges"], out["held"], out["skipped"] = int64(m.NumMerges()), int64(len(m.Held())), int64(len(m.Skipped()))
		stats = func(id uint32) (uint32, int) {
			a := s.Address(id)
			c, _ := m.ClusterID(a)
			return c, m.ClusterSize(a)
		}
	default:
		return usagef("bench cluster run: unknown configuration %q", config)
	}
	out["cpu_nanos"] = int64(cpuTime() - cpu0)
	// What the structures hold once the garbage of the run is collected
	// (peak RSS also counts the garbage the collector had not yet freed).
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out["heap_live"] = int64(ms.HeapAlloc)
	if stats != nil {
		out["clusters"], out["largest"], out["mixed"], out["mixed_addresses"] = clusterStats(s, stats)
	}
	if config != "ids" {
		printKV(w, config, out)
	}
	return nil
}

// clusterStats counts the clusters, the largest one's size, the clusters
// holding addresses of more than one owner and the addresses in those, given each address's
// cluster root (an id below NumAddresses) and size. It keeps its
// bookkeeping in the workload's scratch space.
func clusterStats(s *heuristics.Synthetic, root func(id uint32) (uint32, int)) (clusters, largest, mixed, inMixed int64) {
	const mixedBit = 1 << 31
	seen := s.Scratch() // per root: owner+1, with mixedBit once mixed; 0 unseen
	clear(seen)
	for id := range uint32(s.NumAddresses()) {
		r, size := root(id)
		o := s.Owner[id] + 1
		switch v := seen[r]; {
		case v == 0:
			seen[r] = o
			clusters++
			largest = max(largest, int64(size))
		case v&mixedBit == 0 && v != o:
			seen[r] |= mixedBit
			mixed++
			inMixed += int64(size)
		}
	}
	return clusters, largest, mixed, inMixed
}

// cpuTime is the CPU time the kernel has charged this process, user and
// system, on all its threads (the collector's included), from
// /proc/self/stat; 0 where there is no /proc. On a loaded machine it moves
// less than wall time does: a process waiting for a CPU is not charged.
func cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const userHZ = 100 // clock ticks a second in /proc, fixed by the kernel's ABI
	return time.Duration(utime+stime) * time.Second / userHZ
}

func printKV(w io.Writer, config string, out map[string]int64) {
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := []string{"config=" + config}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, out[k]))
	}
	fmt.Fprintln(w, strings.Join(parts, " "))
}
