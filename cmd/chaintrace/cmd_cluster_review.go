package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/store"
)

func newClusterReviewCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review [--accept ID... | --reject ID... | --accept-all] [--reason TEXT]",
		Short: "List the merges the stored clustering run held, and accept or reject them",
		Long: `review works on the clustering run 'chaintrace cluster' saved in the store
(one per chain). Without flags it lists the merges the run held for review
(a merge that would join two clusters each larger than --hold-above), one
line each: its id, its transaction, the two addresses with the sizes of
their clusters when it was held, and the decision so far (pending, or
accepted or rejected with the time, UTC, and the reason).

--accept ID... accepts held merges, --reject ID... rejects them, and
--accept-all accepts every held merge of the run that has no decision yet;
--reason TEXT is recorded with each decision. An ID may be shortened to
any unique prefix of at least 4 digits; ids after the flag's first value
belong to that flag (--accept ID1 ID2). A later decision on the same merge
replaces the earlier one. Decisions are keyed by the transaction and the
two addresses, so a later run over the same or a larger window that holds
the same merge keeps its decision. An accepted merge joins the two
clusters from then on: in 'chaintrace cluster' (applied after the
window's own merges, in the order met) and in the clusters a Bitcoin
trace takes from the stored run.

An unknown id, no stored run, or flags that conflict (the same id accepted
and rejected, --accept-all with ids, --reason without a decision) exit 2
with one line naming what is wrong, and record nothing.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runClusterReview(cmd.Context(), opts, args)
		},
	}
	f := cmd.Flags()
	f.String("chain", "btc", "chain: btc (multi-input clustering is a utxo heuristic)")
	f.StringSlice("accept", nil, "accept these held merges (ids, repeatable or comma-separated)")
	f.StringSlice("reject", nil, "reject these held merges (ids, repeatable or comma-separated)")
	f.Bool("accept-all", false, "accept every held merge without a decision yet")
	f.String("reason", "", "the reason recorded with the decisions")
	return cmd
}

func runClusterReview(ctx context.Context, opts *globalOptions, args []string) error {
	chain, err := opts.chainFlag()
	if err != nil {
		return err
	}
	if chain != chains.BTC {
		return usagef("--chain %s: multi-input clustering works on utxo chains (btc)", chain)
	}
	accept := nonEmpty(opts.v.GetStringSlice("accept"))
	reject := nonEmpty(opts.v.GetStringSlice("reject"))
	all := opts.v.GetBool("accept-all")
	reason := strings.TrimSpace(opts.v.GetString("reason"))
	if len(args) > 0 {
		switch {
		case len(accept) > 0 && len(reject) == 0:
			accept = append(accept, args...)
		case len(reject) > 0 && len(accept) == 0:
			reject = append(reject, args...)
		case len(accept) > 0:
			return usagef("ids %s given after both --accept and --reject: give each id its own flag", strings.Join(args, " "))
		default:
			return usagef("ids %s given without --accept or --reject", strings.Join(args, " "))
		}
	}
	if all && len(accept)+len(reject) > 0 {
		return usagef("--accept-all takes no ids: give --accept-all alone, or --accept and --reject with ids")
	}
	deciding := all || len(accept)+len(reject) > 0
	if reason != "" && !deciding {
		return usagef("--reason is recorded with a decision: give --accept, --reject or --accept-all")
	}

	st, err := opts.openStore(!deciding)
	if errors.Is(err, store.ErrNotFound) { // read-only, and no store there
		return usagef("store %s holds no clustering run of btc (no store there): run `chaintrace cluster` first", opts.v.GetString("store"))
	} else if err != nil {
		return err
	}
	defer st.Close()
	run, ok, err := st.ClusterRun(chains.BTC)
	if err != nil {
		return err
	}
	if !ok {
		return usagef("store %s holds no clustering run of btc: run `chaintrace cluster --chain btc ADDRESS --from-block N --to-block M` first",
			opts.v.GetString("store"))
	}
	decisions, err := clusterDecisions(st)
	if err != nil {
		return err
	}

	// Resolve every id before recording anything.
	acc, err := resolveHeld(run.Held, accept, "--accept")
	if err != nil {
		return err
	}
	rej, err := resolveHeld(run.Held, reject, "--reject")
	if err != nil {
		return err
	}
	for _, h := range acc {
		if slices.ContainsFunc(rej, func(r store.HeldMerge) bool { return r.ID == h.ID }) {
			return usagef("held merge %s is both accepted and rejected", h.ID)
		}
	}
	if all {
		for _, h := range run.Held {
			if _, decided := decisions[h.ID]; !decided {
				acc = append(acc, h)
			}
		}
	}

	w := opts.stdout
	if fp, err := st.WindowFingerprint(chains.BTC, run.From, run.To); err != nil {
		return err
	} else if fp != run.Fingerprint {
		fmt.Fprintf(opts.stderr, "note: blocks %d-%d were re-indexed since the stored run was made; `chaintrace cluster --recompute` refreshes it\n", run.From, run.To)
	}
	if !deciding {
		fmt.Fprintf(w, "stored run: btc blocks %d-%d made %s, hold-above %d, %d merges; %s\n", run.From, run.To,
			run.Made.Format(time.RFC3339), run.Params.HoldAbove, run.Merges, reviewCounts(run.Held, decisions))
		for _, h := range run.Held {
			fmt.Fprintf(w, "held %s tx %s would join %s (%d addresses) and %s (%d addresses): %s\n",
				h.ID, h.TxID, h.A, h.SizeA, h.B, h.SizeB, decisionState(decisions, h.ID))
		}
		return nil
	}

	now := time.Now().UTC()
	var ds []store.ClusterDecision
	for _, h := range acc {
		ds = append(ds, store.ClusterDecision{TxID: h.TxID, A: h.A, B: h.B, Accepted: true, Reason: reason, At: now})
	}
	for _, h := range rej {
		ds = append(ds, store.ClusterDecision{TxID: h.TxID, A: h.A, B: h.B, Reason: reason, At: now})
	}
	if len(ds) == 0 {
		fmt.Fprintln(w, "no held merge without a decision: nothing to accept")
		return nil
	}
	if err := st.SetClusterDecisions(chains.BTC, ds); err != nil {
		return err
	}
	for _, d := range ds {
		decisions[d.ID()] = d
	}
	// The run's clusters with the decisions applied, to show what an
	// acceptance joined.
	mi, err := replayClusterRun(ctx, st, &run)
	if err != nil {
		return err
	}
	applyAccepted(mi, run.Held, decisions)
	for _, d := range ds {
		if d.Accepted {
			members := mi.Members(d.A)
			slices.Sort(members)
			fmt.Fprintf(w, "accepted %s tx %s: %s and %s are one cluster, %d addresses (cluster:%s)\n",
				d.ID(), d.TxID, d.A, d.B, len(members), members[0])
		} else {
			fmt.Fprintf(w, "rejected %s tx %s: %s and %s stay apart\n", d.ID(), d.TxID, d.A, d.B)
		}
	}
	fmt.Fprintf(w, "review: %s\n", reviewCounts(run.Held, decisions))
	return nil
}

// resolveHeld finds the held merges ids name: an id is a held merge's id
// or a unique prefix of it, at least 4 digits.
func resolveHeld(held []store.HeldMerge, ids []string, flag string) ([]store.HeldMerge, error) {
	var out []store.HeldMerge
	for _, raw := range ids {
		id := strings.ToLower(strings.TrimSpace(raw))
		if len(id) < 4 {
			return nil, usagef("%s %q: want a held merge id (at least 4 digits; chaintrace cluster review lists them)", flag, raw)
		}
		var found []store.HeldMerge
		for _, h := range held {
			if strings.HasPrefix(h.ID, id) {
				found = append(found, h)
			}
		}
		switch len(found) {
		case 0:
			return nil, usagef("%s %s: no held merge of the stored run has this id (%d held; chaintrace cluster review lists them)", flag, raw, len(held))
		case 1:
		default:
			return nil, usagef("%s %s: %d held merges have ids starting so; give more digits", flag, raw, len(found))
		}
		if !slices.ContainsFunc(out, func(h store.HeldMerge) bool { return h.ID == found[0].ID }) {
			out = append(out, found[0])
		}
	}
	return out, nil
}

// nonEmpty drops empty strings (a trailing comma in --accept a,b,).
func nonEmpty(xs []string) []string {
	return slices.DeleteFunc(slices.Clone(xs), func(s string) bool { return strings.TrimSpace(s) == "" })
}
