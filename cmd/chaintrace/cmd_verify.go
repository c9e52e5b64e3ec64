package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/spf13/cobra"
)

func newVerifyCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify EXHIBIT.json (--eth-rpc URL | --btc-rpc URL | --esplora URL)",
		Short: "Re-check an exhibit: its digest, every transfer against a node, its taint arithmetic",
		Long: `verify re-checks an exhibit in three parts and says what failed, row by row:
  digest     the SHA-256 over the canonical exhibit (generated_at excluded)
  transfers  each row re-fetched from the node: block number and hash, position,
             kind, parties, asset, amount, token id
  taint      the arithmetic the rows imply: no row carries more taint than its
             amount, endpoint and address totals are the sums of their rows;
             under haircut no address (a seed excepted) sends on more taint
             than it received, and under poison every row is fully tainted
A Bitcoin exhibit is checked against a Bitcoin Core or btcd node (--btc-rpc)
or an Esplora API (--esplora) of the exhibit's network, and also:
  reconcile  each transaction's value in, value out and fee recomputed from
             the chain; value in = value out + fee; the taint it lost is
             between zero and the fee
  tip        the hash of the window's last block
It exits 0 only if everything holds.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), opts, args[0])
		},
	}
	addNodeFlags(cmd)
	return cmd
}

// errVerifyFailed is a finished verification that found problems: exit 1.
var errVerifyFailed = errors.New("verification failed")

func runVerify(ctx context.Context, opts *globalOptions, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return usagef("%s: %v", path, errors.Unwrap(err))
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return usagef("%s: %v", path, err)
	}
	e, err := exhibit.Unmarshal(data)
	if err != nil {
		return usagef("%s: %v", path, err)
	}
	w := opts.stdout
	var problems []string
	if err := exhibit.Validate(data); err != nil {
		problems = append(problems, "schema: "+err.Error())
	}
	if got, err := exhibit.DigestJSON(data); err != nil {
		problems = append(problems, "digest: "+err.Error())
	} else if got != e.Digest.Value {
		problems = append(problems, fmt.Sprintf("digest: the exhibit states %s, its content hashes to %s: it was altered after sealing", e.Digest.Value, got))
	}
	fmt.Fprintf(w, "digest     %s\n", verdict(len(problems) == 0))
	if e.Chain == chains.BTC {
		return runVerifyBtc(ctx, opts, path, e, problems)
	}
	if e.Chain != chains.ETH {
		return usagef("%s: chain %q exhibits cannot be verified yet", path, e.Chain)
	}
	a, err := opts.dialEth(ctx)
	if err != nil {
		return err
	}
	if caps := a.Capabilities(); caps.ChainID != e.Provenance.ChainID {
		problems = append(problems, fmt.Sprintf("network: the exhibit is of chain %d, the node serves chain %d", e.Provenance.ChainID, caps.ChainID))
	}
	rowProblems, err := verifyTransfers(ctx, a, e)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "transfers  %s (%d rows re-fetched from %s)\n", verdict(len(rowProblems) == 0), len(e.Transfers), a.RPC().Endpoint())
	taintProblems := verifyTaint(e)
	fmt.Fprintf(w, "taint      %s\n", verdict(len(taintProblems) == 0))
	problems = append(append(problems, rowProblems...), taintProblems...)
	for _, p := range problems {
		fmt.Fprintln(w, "FAIL "+p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %d problem(s) in %s", errVerifyFailed, len(problems), path)
	}
	fmt.Fprintf(w, "OK: %s holds: digest, %d transfers, taint arithmetic\n", path, len(e.Transfers))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

// verifyTransfers re-fetches the blocks the rows name and compares.
func verifyTransfers(ctx context.Context, a *ethereum.Adapter, e *exhibit.Exhibit) ([]string, error) {
	byBlock := map[uint64][]int{}
	for i, t := range e.Transfers {
		byBlock[t.BlockNumber] = append(byBlock[t.BlockNumber], i)
	}
	nums := make([]uint64, 0, len(byBlock))
	for n := range byBlock {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	var problems []string
	for start := 0; start < len(nums); start += 16 {
		chunk := nums[start:min(start+16, len(nums))]
		raws, err := a.FetchRaw(ctx, chunk)
		if err != nil {
			if errors.Is(err, ethereum.ErrBeyondHead) {
				problems = append(problems, fmt.Sprintf("blocks %v: %v", chunk, err))
				continue
			}
			return nil, err
		}
		for i := range raws {
			bt, err := ethereum.Decode(&raws[i])
			if err != nil {
				return nil, err
			}
			found := map[string]*chains.Transfer{}
			for j := range bt.Transfers {
				t := &bt.Transfers[j]
				found[strings.ToLower(t.TxHash)+" "+t.Position] = t
			}
			for _, idx := range byBlock[bt.Block.Number] {
				row := &e.Transfers[idx]
				got := found[strings.ToLower(row.TxHash)+" "+row.Position]
				if got == nil {
					problems = append(problems, fmt.Sprintf("transfer %d (tx %s, %s): the node has no such value movement in block %d", idx, row.TxHash, row.Position, row.BlockNumber))
					continue
				}
				for _, d := range compareRow(row, got) {
					problems = append(problems, fmt.Sprintf("transfer %d (tx %s, %s): %s", idx, row.TxHash, row.Position, d))
				}
			}
		}
	}
	return problems, nil
}

func compareRow(row *exhibit.Transfer, got *chains.Transfer) []string {
	g := got.Row()
	var d []string
	check := func(field, stated, actual string) {
		if !strings.EqualFold(stated, actual) {
			d = append(d, fmt.Sprintf("%s %q in the exhibit, the node says %q", field, stated, actual))
		}
	}
	check("block_hash", row.BlockHash, g.BlockHash)
	check("tx_index", fmt.Sprint(row.TxIndex), fmt.Sprint(g.TxIndex))
	check("timestamp", row.Timestamp, g.Timestamp)
	check("kind", string(row.Kind), string(g.Kind))
	check("from", strings.Join(row.From, ";"), strings.Join(g.From, ";"))
	check("to", row.To, g.To)
	check("asset", row.Asset, g.Asset)
	check("amount", row.Amount, g.Amount)
	check("token_id", row.TokenID, g.TokenID)
	return d
}

// verifyTaint checks the arithmetic the rows imply.
func verifyTaint(e *exhibit.Exhibit) []string {
	var problems []string
	num := func(s, what string) *big.Int {
		v, ok := new(big.Int).SetString(s, 10)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %q is not an amount", what, s))
			return new(big.Int)
		}
		return v
	}
	seeds := map[string]bool{}
	for _, s := range e.Seeds {
		seeds[strings.ToLower(s)] = true
	}
	type key struct{ addr, asset string }
	in, out := map[key]*big.Int{}, map[key]*big.Int{}
	endAmount, endTaint := map[key]*big.Int{}, map[key]*big.Int{}
	acc := func(m map[key]*big.Int, k key, v *big.Int) {
		if m[k] == nil {
			m[k] = new(big.Int)
		}
		m[k].Add(m[k], v)
	}
	for i, t := range e.Transfers {
		what := fmt.Sprintf("transfer %d (tx %s, %s)", i, t.TxHash, t.Position)
		amount, taint := num(t.Amount, what), num(t.Taint, what)
		if taint.Cmp(amount) > 0 {
			problems = append(problems, fmt.Sprintf("%s: taint %s exceeds the amount %s", what, taint, amount))
		}
		if e.Method.TaintModel == "poison" && taint.Cmp(amount) != 0 {
			problems = append(problems, fmt.Sprintf("%s: poison taints every row fully, the row says %s of %s", what, taint, amount))
		}
		from := key{strings.ToLower(t.From[0]), strings.ToLower(t.Asset)}
		// Poison is an upper bound that marks clean money too; only the
		// attributing models conserve taint along a path.
		if !seeds[from.addr] && e.Method.TaintModel != "poison" {
			acc(out, from, taint)
			if in[from] == nil || out[from].Cmp(in[from]) > 0 {
				problems = append(problems, fmt.Sprintf("%s: %s has sent on %s tainted, more than the %v it received before", what, t.From[0], out[from], in[from]))
			}
		}
		to := key{strings.ToLower(t.To), strings.ToLower(t.Asset)}
		acc(in, to, taint)
		acc(endAmount, to, amount)
		acc(endTaint, to, taint)
	}
	for _, ep := range e.Endpoints {
		k := key{strings.ToLower(ep.Address), strings.ToLower(ep.Asset)}
		if a := endAmount[k]; a == nil || a.String() != ep.Amount {
			problems = append(problems, fmt.Sprintf("endpoint %s %s: amount %s, the rows into it sum to %v", ep.Label, ep.Asset, ep.Amount, a))
		}
		if tt := endTaint[k]; tt == nil || tt.String() != ep.Taint {
			problems = append(problems, fmt.Sprintf("endpoint %s %s: taint %s, the rows into it sum to %v", ep.Label, ep.Asset, ep.Taint, tt))
		}
	}
	for _, a := range e.Addresses {
		if seeds[strings.ToLower(a.Address)] {
			continue
		}
		for asset, v := range a.Taint {
			k := key{strings.ToLower(a.Address), strings.ToLower(asset)}
			if got := in[k]; got == nil || got.String() != v {
				problems = append(problems, fmt.Sprintf("address %s: taint %s of %s, the rows into it sum to %v", a.Address, v, asset, got))
			}
		}
	}
	return problems
}
