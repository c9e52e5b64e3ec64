package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/store"
	"github.com/spf13/cobra"
)

func newTransfersCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transfers [--chain eth|btc] --from-block N --to-block M [--address A]",
		Short: "Print every value transfer of a block range as JSON lines",
		Long: `transfers prints one JSON object per value movement (the exhibit's transfer
row without hop and taint), in block, transaction and position order. A range
the store has indexed is served from the store without any node call;
otherwise the missing blocks are fetched from --eth-rpc (--btc-rpc with
--chain btc) and indexed first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTransfers(cmd.Context(), opts)
		},
	}
	addNodeFlags(cmd)
	addWindowFlags(cmd)
	cmd.Flags().String("address", "", "only transfers from or to this address")
	cmd.Flags().Int("chunk-size", 16, "blocks fetched per batch")
	return cmd
}

func runTransfers(ctx context.Context, opts *globalOptions) error {
	chain, err := opts.chainFlag()
	if err != nil {
		return err
	}
	from, to, err := opts.blockWindow()
	if err != nil {
		return err
	}
	addr := opts.v.GetString("address")
	if addr != "" && chain == chains.ETH {
		a, err := ethereum.ParseAddress(addr)
		if err != nil {
			return usagef("--address: %v", err)
		}
		addr = a.Hex()
	}
	st, err := opts.openStore(false)
	if err != nil {
		return err
	}
	defer st.Close()
	missing, err := st.Missing(chain, from, to)
	if err != nil {
		return err
	}
	if chain == chains.BTC {
		if addr, err = btcTransfersPrepare(ctx, opts, st, addr, missing, from, to); err != nil {
			return err
		}
		missing = nil
	}
	if len(missing) > 0 {
		if opts.v.GetString("eth.rpc") == "" {
			return usagef("blocks %d-%d are not in store %s; give --eth-rpc to fetch them", missing[0].From, missing[0].To, opts.v.GetString("store"))
		}
		src, err := opts.dialEth(ctx)
		if err != nil {
			return err
		}
		if err := checkHead(ctx, src, to); err != nil {
			return err
		}
		if _, err := indexWithProgress(ctx, opts, src, st, from, to); err != nil {
			return err
		}
	}
	w := bufio.NewWriterSize(opts.stdout, 1<<16)
	enc := json.NewEncoder(w)
	emit := func(t *chains.Transfer) error { return enc.Encode(t.Row()) }
	if addr != "" {
		err = st.AddressTransfers(chain, addr, store.Both, from, to, emit)
	} else {
		err = st.Transfers(chain, from, to, emit)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// btcTransfersPrepare indexes the blocks of [from, to] the store lacks from
// --btc-rpc (dialled only then) and returns addr in the display form rows
// use, parsed against the network the store (or else the node) serves: an
// address of another network or with a bad checksum is bad input.
func btcTransfersPrepare(ctx context.Context, opts *globalOptions, st *store.Store, addr string, missing []store.Range, from, to uint64) (string, error) {
	var src *bitcoin.Adapter
	if len(missing) > 0 {
		if opts.v.GetString("btc.rpc") == "" {
			return "", usagef("blocks %d-%d are not in store %s; give --btc-rpc to fetch them", missing[0].From, missing[0].To, opts.v.GetString("store"))
		}
		var err error
		if src, err = opts.dialBtc(ctx); err != nil {
			return "", err
		}
		if err := checkBtcHead(ctx, src, to); err != nil {
			return "", err
		}
		if _, err := indexSourceWithProgress(ctx, opts, src, st, from, to, 4); err != nil {
			return "", err
		}
	}
	if addr == "" {
		return "", nil
	}
	network, ok, err := st.Network(chains.BTC)
	if err != nil {
		return "", err
	}
	var net *chaincfg.Params
	switch {
	case ok:
		if net, err = bitcoin.ParamsOfNetwork(network); err != nil {
			return "", fmt.Errorf("store %s: %w", opts.v.GetString("store"), err)
		}
	case src != nil:
		net = src.Params()
	default:
		return "", usagef("store %s holds no bitcoin network yet; index the window first", opts.v.GetString("store"))
	}
	a, err := bitcoin.NormalizeAddress(addr, net)
	if err != nil {
		return "", usagef("--address: %v", err)
	}
	return a, nil
}
