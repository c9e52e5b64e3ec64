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
	"github.com/chaintrace/chaintrace/tracer/taint"
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
             than it received, and under poison every row is fully tainted;
             the same under every model the exhibit states (taint_models)
             and for every colour (method.colours), each model's figure at
             most poison's, each attributing model's colours summing to it;
             each reconciliation entry balances under every model and
             colour, and the rows of its transaction carry no more than
             its taint_out
A Bitcoin exhibit is checked against a Bitcoin Core or btcd node (--btc-rpc)
or an Esplora API (--esplora) of the exhibit's network, and also:
  reconcile  each transaction's value in, value out and fee recomputed from
             the chain; value in = value out + fee; the taint it lost is
             between zero and the fee; and every model's split of it
             (per colour) replayed from the seeds in chain order: each
             output's taint and the entry's taint_in, taint_out and
             taint_fee compared with the exhibit's
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
	mv := newModelView(e)
	taintProblems := append(verifyTaint(e), verifyModelsEth(e, mv)...)
	fmt.Fprintf(w, "taint      %s%s\n", verdict(len(taintProblems) == 0), note(mv.summary()))
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

// note is a verdict line's parenthesis, "" when there is nothing to say.
func note(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
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

// carriesNothing reports whether a row carries no taint under any model
// or colour (a backward exhibit's edge from an unlabelled origin): the
// attribution walk passed no taint through its transaction, so there is
// nothing to reconcile.
func carriesNothing(t *exhibit.Transfer) bool {
	zero := func(s string) bool { v, ok := new(big.Int).SetString(s, 10); return ok && v.Sign() == 0 }
	if !zero(t.Taint) {
		return false
	}
	for _, v := range t.TaintByModel {
		if !zero(v) {
			return false
		}
	}
	for _, m := range t.TaintByColour {
		for _, v := range m {
			if !zero(v) {
				return false
			}
		}
	}
	return true
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
	for _, s := range taintOrigins(e) {
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
		// A forward trace's rows are the tainted transfers: poison marks
		// each fully. A backward exhibit lists every edge discovery found,
		// and one from an unlabelled origin carries no taint at all.
		backClean := e.Method.Direction == exhibit.DirectionBackward && taint.Sign() == 0
		if e.Method.TaintModel == "poison" && taint.Cmp(amount) != 0 && !backClean {
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
		end := to // a backward exhibit's endpoints are its sources: the rows out of them
		if e.Method.Direction == exhibit.DirectionBackward {
			end = from
		}
		acc(endAmount, end, amount)
		acc(endTaint, end, taint)
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

// verifyModelsEth checks the figures under every model and colour of an
// account-chain exhibit. The per-outflow figures follow each traced
// address's balance history, which the exhibit does not list, so they are
// checked by the arithmetic they must satisfy: each row's figures against
// each other; endpoints and addresses (seeds excepted) the sums of the rows
// into them; under an attributing model no address (a seed excepted)
// sending on more taint than it received before; each reconciliation
// entry balancing, and the rows its traced senders (seeds excepted) sent
// in it carrying no more than its taint_out.
func verifyModelsEth(e *exhibit.Exhibit, mv *modelView) []string {
	problems := append([]string{}, mv.problems...)
	if !mv.ok {
		return problems
	}
	seeds := map[string]bool{}
	for _, s := range taintOrigins(e) {
		seeds[strings.ToLower(s)] = true
	}
	rows, ps := mv.checkFigures(e, strings.ToLower, func(a *exhibit.Address) bool { return seeds[strings.ToLower(a.Address)] })
	problems = append(problems, ps...)

	// Sent on: every attributing model's figure and colour but the plain
	// taint, which verifyTaint checks.
	in, out := map[addrAsset]*figs{}, map[addrAsset]*figs{}
	acc := func(m map[addrAsset]*figs, k addrAsset, f figs) *figs {
		if m[k] == nil {
			z := mv.zero()
			m[k] = &z
		}
		m[k].add(f)
		return m[k]
	}
	for i := range e.Transfers {
		t := &e.Transfers[i]
		if len(t.From) == 0 {
			continue
		}
		from := addrAsset{strings.ToLower(t.From[0]), strings.ToLower(t.Asset)}
		if !seeds[from.addr] {
			sent := acc(out, from, rows[i])
			got := in[from]
			mv.each(func(m, c int) {
				if mv.kinds[m] == taint.Poison || m == 0 && c < 0 {
					return
				}
				had := new(big.Int)
				if got != nil {
					had = got.of(m, c)
				}
				if sent.of(m, c).Cmp(had) > 0 {
					problems = append(problems, fmt.Sprintf("%s: %s has sent on %s of %s, more than the %s it received before",
						rowName(i, t), t.From[0], sent.of(m, c), mv.name(m, c), had))
				}
			})
		}
		acc(in, addrAsset{strings.ToLower(t.To), strings.ToLower(t.Asset)}, rows[i])
	}

	// Reconciliation: what the traced senders gave up in each transaction.
	type txAsset struct{ tx, asset string }
	sentIn := map[txAsset]*figs{}
	for i := range e.Transfers {
		t := &e.Transfers[i]
		if len(t.From) > 0 && !seeds[strings.ToLower(t.From[0])] {
			k := txAsset{strings.ToLower(t.TxHash), strings.ToLower(t.Asset)}
			if sentIn[k] == nil {
				z := mv.zero()
				sentIn[k] = &z
			}
			sentIn[k].add(rows[i])
		}
	}
	entry := map[string]int{}
	for i := range e.Reconciliation {
		rc := &e.Reconciliation[i]
		what := fmt.Sprintf("reconciliation %d (tx %s)", i, rc.TxHash)
		id := strings.ToLower(rc.TxHash)
		if j, dup := entry[id]; dup {
			problems = append(problems, fmt.Sprintf("%s: repeats reconciliation %d", what, j))
			continue
		}
		entry[id] = i
		valueOnly := exhibit.Reconciliation{TxHash: rc.TxHash, ValueIn: rc.ValueIn, ValueOut: rc.ValueOut, Fee: rc.Fee}
		if err := valueOnly.Check(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", what, err))
		}
		value := func(asset string) (vin, vout, vfee *big.Int) {
			get := func(m map[string]string, field string) *big.Int {
				for k, s := range m {
					if strings.ToLower(k) == asset {
						return amountOf(s, fmt.Sprintf("%s: %s of %s", what, field, k), &problems)
					}
				}
				return new(big.Int)
			}
			return get(rc.ValueIn, "value_in"), get(rc.ValueOut, "value_out"), get(rc.Fee, "fee")
		}
		byAsset := mv.readRecFigs(what, rc, strings.ToLower, &problems)
		problems = append(problems, mv.checkRecTaint(what, rc, byAsset, value, false)...)
		for _, asset := range sortedNames(byAsset) {
			sent := sentIn[txAsset{id, asset}]
			if sent == nil {
				continue
			}
			spelt := asset
			for k := range rc.TaintOut {
				if strings.ToLower(k) == asset {
					spelt = k
				}
			}
			mv.each(func(m, c int) {
				if c < 0 && m > 0 && !mv.several() {
					return
				}
				if s, o := sent.of(m, c), byAsset[asset].out.of(m, c); s.Cmp(o) > 0 {
					problems = append(problems, fmt.Sprintf("%s: the rows its senders (seeds excepted) sent in %s carry %s of %s, more than its taint_out %s",
						what, spelt, s, mv.name(m, c), o))
				}
			})
		}
	}
	if len(e.Reconciliation) > 0 {
		for i := range e.Transfers {
			t := &e.Transfers[i]
			_, ok := entry[strings.ToLower(t.TxHash)]
			if !ok && !(e.Method.Direction == exhibit.DirectionBackward && carriesNothing(t)) {
				problems = append(problems, fmt.Sprintf("%s: its transaction has no reconciliation entry", rowName(i, t)))
			}
		}
	}
	return problems
}
