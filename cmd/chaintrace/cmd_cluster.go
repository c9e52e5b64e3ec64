package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/store"
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
listed for review.`,
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
	return cmd
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
	st, err := opts.openStore(true)
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
	cj := heuristics.DefaultCoinJoinDetector()
	mi := heuristics.NewMultiInput(heuristics.MultiInputOptions{
		SkipTx:    func(c heuristics.ClusterTx) (bool, string) { return cj.SkipTx(c.Tx) },
		SkipRule:  "coinjoin/1",
		HoldAbove: hold,
	})
	txs := 0
	for n := from; n <= to; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := clusterBlock(st, mi, n, &txs); err != nil {
			return err
		}
	}
	w := opts.stdout
	fmt.Fprintf(w, "multi-input clustering over blocks %d-%d: %d transactions with several inputs, %d merges, %d CoinJoins skipped, %d merges held\n",
		from, to, txs, mi.NumMerges(), len(mi.Skipped()), len(mi.Held()))
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
	for _, h := range mi.Held() {
		fmt.Fprintf(w, "held for review: tx %s would join %s (%d addresses) and %s (%d addresses)\n", h.TxID, h.A, h.SizeA, h.B, h.SizeB)
	}
	return nil
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
