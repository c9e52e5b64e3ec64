package main

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/spf13/cobra"
)

func newClusterCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster --chain btc ADDRESS [OTHER] --from-block N --to-block M",
		Short: "An address's cluster (multi-input heuristic) and the merges that link two members",
		Long: `cluster runs the multi-input heuristic (the inputs of one transaction share
an owner) over every transaction of the window in the store (index it first
with 'chaintrace index --chain btc'), never merging through a detected
CoinJoin, and prints the cluster of ADDRESS: its size and members. With a
second address it prints the chain of merges, transaction by transaction,
that links the two, or says they are not in one cluster. Merges that would
join two clusters each larger than --hold-above are held, not applied, and
listed for review with an id: 'chaintrace cluster review' accepts or
rejects them, and an accepted one joins the two clusters from then on.

The run is saved in the store: its window, parameters, counts, every merge
with its transaction in the order applied, and the held merges. The next
cluster over the same window with the same --hold-above, if no block of
the window was re-indexed since (the store's block headers tell), rebuilds
the clusters by replaying that merge log instead of reading every
transaction again; --recompute reads them all anyway. The first output
line says which happened. A saved run replaces the one before (one per
chain); review decisions are kept apart, keyed by the transaction and the
two addresses, so they hold for every later run that holds the same merge.
Accepted held merges are applied after the window's own merges, in the
order they were met.

A Bitcoin trace inside the saved run's window takes its exhibit's
clusters from the run (the whole window's clustering, accepted held
merges included), not only from the transactions it passed through.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCluster(cmd.Context(), opts, args)
		},
	}
	f := cmd.Flags()
	f.String("chain", "btc", "chain: btc (multi-input clustering is a utxo heuristic)")
	addWindowFlags(cmd)
	f.Int("hold-above", 10_000, "hold a merge joining two clusters each larger than this (0: never)")
	f.Int("max-members", 50, "members printed at most")
	f.Bool("recompute", false, "read every transaction of the window again even if the store holds a run of it")
	cmd.AddCommand(newClusterReviewCommand(opts))
	return cmd
}

// clusterParams are the parameters cluster runs with: the hold threshold
// and the CoinJoin guard of the configured heuristics.
func clusterParams(hold int, h heuristics.Config) store.ClusterParams {
	return store.ClusterParams{HoldAbove: hold, SkipRule: h.SkipRule(), Version: heuristics.MultiInputVersion}
}

func runCluster(ctx context.Context, opts *globalOptions, args []string) error {
	chain, err := opts.chainFlag()
	if err != nil {
		return err
	}
	if chain != chains.BTC {
		return usagef("--chain %s: multi-input clustering works on utxo chains (btc)", chain)
	}
	from, to, err := opts.blockWindow()
	if err != nil {
		return err
	}
	hold := opts.v.GetInt("hold-above")
	if hold < 0 {
		return usagef("--hold-above %d: want 0 or more", hold)
	}
	st, err := opts.openStore(false)
	if err != nil {
		return err
	}
	defer st.Close()
	net, err := storeBtcNet(st)
	if err != nil {
		return err
	}
	if net == nil {
		return usagef("store %s holds no bitcoin data; run `chaintrace index --chain btc` first", opts.v.GetString("store"))
	}
	addrs := make([]string, len(args))
	for i, a := range args {
		if addrs[i], err = btcAddressArg(a, net); err != nil {
			return err
		}
	}
	if missing, err := st.Missing(chains.BTC, from, to); err != nil {
		return err
	} else if len(missing) > 0 {
		return usagef("blocks %d-%d of btc are not in store %s: run `chaintrace index --chain btc` over the window first",
			missing[0].From, missing[0].To, opts.v.GetString("store"))
	}
	hc, err := opts.heuristicsConfig()
	if err != nil {
		return err
	}
	params := clusterParams(hold, hc)
	fp, err := st.WindowFingerprint(chains.BTC, from, to)
	if err != nil {
		return err
	}
	run, have, err := st.ClusterRun(chains.BTC)
	if err != nil {
		return err
	}
	why := ""
	switch {
	case !have:
		why = "the store holds no run"
	case opts.v.GetBool("recompute"):
		why = "--recompute"
	case run.From != from || run.To != to:
		why = fmt.Sprintf("the stored run is of blocks %d-%d", run.From, run.To)
	case run.Params != params:
		why = fmt.Sprintf("the stored run has hold-above %d, skip %s, heuristic version %s", run.Params.HoldAbove, run.Params.SkipRule, run.Params.Version)
	case run.Fingerprint != fp:
		why = "blocks of the window were re-indexed since the stored run"
	}
	w := opts.stdout
	var mi *heuristics.MultiInput
	if why == "" {
		if mi, err = replayClusterRun(ctx, st, &run); err != nil {
			return err
		}
		fmt.Fprintf(w, "clustering: replayed the stored run of blocks %d-%d made %s (%d merges; --recompute reads every transaction again)\n",
			run.From, run.To, run.Made.Format(time.RFC3339), run.Merges)
	} else {
		if mi, run, err = computeClusterRun(ctx, st, from, to, hc, params, fp); err != nil {
			return err
		}
		if err := st.SaveClusterRun(chains.BTC, &run, storeMerges(mi)); err != nil {
			return err
		}
		fmt.Fprintf(w, "clustering: computed over blocks %d-%d and saved in the store (%s)\n", from, to, why)
	}
	decisions, err := clusterDecisions(st)
	if err != nil {
		return err
	}
	accepted := applyAccepted(mi, run.Held, decisions)
	fmt.Fprintf(w, "multi-input clustering over blocks %d-%d: %d transactions with several inputs, %d merges, %d CoinJoins skipped, %d merges held\n",
		from, to, run.Txs, run.Merges, run.Skipped, len(run.Held))
	if len(run.Held) > 0 {
		fmt.Fprintf(w, "review: %s (chaintrace cluster review)\n", reviewCounts(run.Held, decisions))
	}
	if accepted > 0 {
		fmt.Fprintf(w, "applied %d held merges accepted on review\n", accepted)
	}
	a := addrs[0]
	size := mi.ClusterSize(a)
	if size <= 1 {
		fmt.Fprintf(w, "%s is in no cluster: it never spent together with another address in the window\n", a)
	} else {
		members := mi.Members(a)
		slices.Sort(members)
		fmt.Fprintf(w, "cluster of %s: %d addresses (cluster:%s)\n", a, size, members[0])
		for i, m := range members {
			if i == opts.v.GetInt("max-members") {
				fmt.Fprintf(w, "  ... %d more\n", len(members)-i)
				break
			}
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	if len(addrs) == 2 {
		b := addrs[1]
		if !mi.Same(a, b) {
			fmt.Fprintf(w, "%s and %s are not in one cluster\n", a, b)
		} else {
			fmt.Fprintf(w, "%s and %s are linked by:\n", a, b)
			for _, m := range mi.Path(a, b) {
				fmt.Fprintf(w, "  tx %s spent from %s and %s\n", m.TxID, m.A, m.B)
			}
		}
	}
	for _, h := range run.Held {
		fmt.Fprintf(w, "held for review: %s tx %s would join %s (%d addresses) and %s (%d addresses): %s\n",
			h.ID, h.TxID, h.A, h.SizeA, h.B, h.SizeB, decisionState(decisions, h.ID))
	}
	return nil
}

// computeClusterRun clusters every transaction of blocks from..to and
// describes the run for the store.
func computeClusterRun(ctx context.Context, st *store.Store, from, to uint64, hc heuristics.Config, params store.ClusterParams, fp [32]byte) (*heuristics.MultiInput, store.ClusterRun, error) {
	mi := heuristics.NewMultiInput(hc.MultiInputOptions(params.HoldAbove))
	txs := 0
	for n := from; n <= to; n++ {
		if err := ctx.Err(); err != nil {
			return nil, store.ClusterRun{}, err
		}
		if err := clusterBlock(st, mi, n, &txs); err != nil {
			return nil, store.ClusterRun{}, err
		}
	}
	run := store.ClusterRun{From: from, To: to, Params: params, Fingerprint: fp, Txs: txs, Addresses: mi.Len(),
		Skipped: len(mi.Skipped()), Made: time.Now().UTC()}
	for _, h := range mi.Held() {
		run.Held = append(run.Held, store.HeldMerge{ID: store.HeldMergeID(h.TxID, h.A, h.B), TxID: h.TxID, A: h.A, B: h.B, SizeA: h.SizeA, SizeB: h.SizeB})
	}
	return mi, run, nil
}

// storeMerges is mi's merge log as the store keeps it.
func storeMerges(mi *heuristics.MultiInput) iter.Seq[store.ClusterMerge] {
	return func(yield func(store.ClusterMerge) bool) {
		for m := range mi.Merges() {
			if !yield(store.ClusterMerge{TxID: m.TxID, A: m.A, B: m.B}) {
				return
			}
		}
	}
}

// replayClusterRun rebuilds a stored run's clustering from its merge log:
// each merge joins two clusters that were apart when it was logged, so
// feeding it as a two-input transaction to a clustering that holds and
// skips nothing applies it again, in the same order, with the same
// sizes; Path then finds the same links. Addresses no merge names (never
// co-spent) are not in the result: ClusterSize says 0 for them, not 1.
func replayClusterRun(ctx context.Context, st *store.Store, run *store.ClusterRun) (*heuristics.MultiInput, error) {
	mi := heuristics.NewMultiInput(heuristics.MultiInputOptions{})
	n := 0
	err := st.ClusterMerges(chains.BTC, run, func(m store.ClusterMerge) error {
		if n++; n%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r := mi.Add(heuristics.ClusterTx{TxID: m.TxID, InputAddrs: []string{m.A, m.B}}); r.Merges != 1 {
			return fmt.Errorf("stored merge %d (tx %s) joins %s and %s, already one cluster: %w", n, m.TxID, m.A, m.B, store.ErrCorrupt)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return mi, nil
}

// clusterDecisions reads the review decisions by held merge id.
func clusterDecisions(st *store.Store) (map[string]store.ClusterDecision, error) {
	ds, err := st.ClusterDecisions(chains.BTC)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.ClusterDecision, len(ds))
	for _, d := range ds {
		out[d.ID()] = d
	}
	return out, nil
}

// applyAccepted applies the held merges accepted on review, in the order
// they were met, and returns how many joined two clusters. In a fresh run
// both addresses are known and Apply logs the merge; in a replay an
// address that no logged merge names is unknown, and the merge is fed as
// a two-input transaction instead (the replay holds nothing).
func applyAccepted(mi *heuristics.MultiInput, held []store.HeldMerge, decisions map[string]store.ClusterDecision) int {
	n := 0
	for _, h := range held {
		if d, ok := decisions[h.ID]; !ok || !d.Accepted {
			continue
		}
		if _, ok := mi.Apply(heuristics.Held{TxID: h.TxID, A: h.A, B: h.B, SizeA: h.SizeA, SizeB: h.SizeB}); ok {
			n++
		} else if !mi.Same(h.A, h.B) && mi.Add(heuristics.ClusterTx{TxID: h.TxID, InputAddrs: []string{h.A, h.B}}).Merges > 0 {
			n++
		}
	}
	return n
}

// decisionState is a held merge's review state as output prints it.
func decisionState(decisions map[string]store.ClusterDecision, id string) string {
	d, ok := decisions[id]
	if !ok {
		return "pending"
	}
	s := "rejected"
	if d.Accepted {
		s = "accepted"
	}
	s += " " + d.At.UTC().Format(time.RFC3339)
	if d.Reason != "" {
		s += " " + strconv.Quote(d.Reason)
	}
	return s
}

// reviewCounts summarises the review of held merges.
func reviewCounts(held []store.HeldMerge, decisions map[string]store.ClusterDecision) string {
	var acc, rej int
	for _, h := range held {
		if d, ok := decisions[h.ID]; ok {
			if d.Accepted {
				acc++
			} else {
				rej++
			}
		}
	}
	return fmt.Sprintf("%d held merges: %d accepted, %d rejected, %d pending", len(held), acc, rej, len(held)-acc-rej)
}

// storedClustering is a replayed run as a trace's clustering, named for
// method.heuristics with the run's window and parameters.
type storedClustering struct {
	*heuristics.MultiInput
	info heuristics.Info
}

func (s storedClustering) Info() heuristics.Info { return s.info }

var _ tracer.Clustering = storedClustering{}

// storedClusters is the store's clustering run as a Bitcoin trace's
// clusters, if it is complete, covers blocks from..to, was made by this
// heuristic version, and no block of its window was re-indexed since;
// otherwise nil, and the trace clusters only the transactions it passes
// through (a log line says why).
func storedClusters(ctx context.Context, opts *globalOptions, st *store.Store, from, to uint64, hc heuristics.Config) (tracer.Clustering, error) {
	run, ok, err := st.ClusterRun(chains.BTC)
	if err != nil || !ok {
		return nil, err
	}
	skip := func(why string) (tracer.Clustering, error) {
		opts.logger.Info("the stored clustering run is not used: clusters from the traced transactions only",
			"reason", why, "run_from", run.From, "run_to", run.To)
		return nil, nil
	}
	if run.From > from || run.To < to {
		return skip("it does not cover the trace's window")
	}
	if run.Params.Version != heuristics.MultiInputVersion || run.Params.SkipRule != hc.SkipRule() {
		return skip("it was made by another heuristic version or skip rule")
	}
	fp, err := st.WindowFingerprint(chains.BTC, run.From, run.To)
	if err != nil {
		return nil, err
	}
	if fp != run.Fingerprint {
		return skip("blocks of its window were re-indexed since; run chaintrace cluster again")
	}
	mi, err := replayClusterRun(ctx, st, &run)
	if err != nil {
		return nil, err
	}
	decisions, err := clusterDecisions(st)
	if err != nil {
		return nil, err
	}
	accepted := applyAccepted(mi, run.Held, decisions)
	opts.logger.Info("clusters from the stored clustering run", "from", run.From, "to", run.To, "merges", run.Merges,
		"held", len(run.Held), "held_accepted", accepted)
	return storedClustering{MultiInput: mi, info: heuristics.Info{Name: heuristics.MultiInputName, Version: heuristics.MultiInputVersion,
		Params: map[string]any{
			"source":        "store",
			"from_block":    run.From,
			"to_block":      run.To,
			"hold_above":    run.Params.HoldAbove,
			"skip_tx":       run.Params.SkipRule,
			"held":          len(run.Held),
			"held_accepted": accepted,
		}}}, nil
}

// clusterBlock feeds the transactions of stored block n to mi.
func clusterBlock(st *store.Store, mi *heuristics.MultiInput, n uint64, count *int) error {
	txs, err := st.Txs(chains.BTC, n)
	if err != nil {
		return err
	}
	rows := map[uint32][]chains.Transfer{}
	err = st.Transfers(chains.BTC, n, n, func(t *chains.Transfer) error {
		rows[t.TxIndex] = append(rows[t.TxIndex], *t)
		return nil
	})
	if err != nil {
		return err
	}
	for _, tx := range txs {
		if len(tx.Inputs) < 2 {
			continue // a coinbase or a single input merges nothing
		}
		ht, err := heuristics.FromChains(tx, rows[tx.Index], 0) // it counts the outputs from the rows
		if err != nil {
			return fmt.Errorf("block %d: %w", n, err)
		}
		mi.Add(heuristics.ClusterTxOf(ht))
		*count++
	}
	return nil
}

// btcAddressArg parses an address argument on the store's network.
func btcAddressArg(s string, net *chaincfg.Params) (string, error) {
	a, err := bitcoin.NormalizeAddress(s, net)
	if err != nil {
		return "", usagef("address: %v", err)
	}
	return a, nil
}
