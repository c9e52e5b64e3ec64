package tracer_test

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// oracle names the blocks in which an address appears, from a store that
// holds the whole window: the answer a perfect history backend gives.
type oracle struct {
	ref     *store.Store
	queries int
}

func (o *oracle) Name() string { return "oracle" }

func (o *oracle) Blocks(_ context.Context, addr string, from, to uint64) ([]uint64, error) {
	o.queries++
	var out []uint64
	err := o.ref.AddressTransfers(chains.ETH, addr, store.Both, from, to, func(t *chains.Transfer) error {
		out = append(out, t.BlockNumber)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = o.ref.SentTxs(chains.ETH, addr, from, to, func(tx *chains.Tx) error {
		out = append(out, tx.BlockNumber)
		return nil
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

// explorer turns the oracle's rows into claims, with deliberate errors.
type explorer struct {
	oracle
	corrupt, invent bool
}

func (e *explorer) Name() string { return "explorer" }

func (e *explorer) Claims(_ context.Context, addr string, from, to uint64) ([]tracer.Claim, error) {
	var out []tracer.Claim
	err := e.ref.AddressTransfers(chains.ETH, addr, store.Both, from, to, func(t *chains.Transfer) error {
		out = append(out, tracer.Claim{Block: t.BlockNumber, TxHash: t.TxHash, Kind: t.Kind, From: t.From[0], To: t.To,
			Asset: t.Asset, Amount: t.Amount, TokenID: t.TokenID})
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	if e.corrupt {
		out[0].Amount = new(big.Int).Add(out[0].Amount, big.NewInt(1))
		e.corrupt = false
	}
	if e.invent {
		out = append(out, tracer.Claim{Block: out[0].Block, TxHash: out[0].TxHash, Kind: chains.KindNative,
			From: addr, To: "0x000000000000000000000000000000000000dEaD", Asset: "ETH", Amount: big.NewInt(12345)})
		e.invent = false
	}
	return out, nil
}

func rowsKey(res *tracer.Result) string {
	var b strings.Builder
	for _, r := range res.Rows {
		fmt.Fprintf(&b, "%s %s %s %s %d\n", r.TxHash, r.Position, r.Amount, r.Taint, r.Hop)
	}
	return b.String()
}

func TestBackedHistoryMatchesTheBlockScan(t *testing.T) {
	x := setup(t, scenario.PlayUpbit2019, scenario.Upbit2019Funded)
	want := x.trace(t, taint.Haircut, 10)

	for _, finderKind := range []string{"oracle", "explorer"} {
		t.Run(finderKind, func(t *testing.T) {
			st, err := store.Open(filepath.Join(t.TempDir(), "s"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var fetched int
			index := func(ctx context.Context, blocks []uint64) error {
				stats, err := indexer.RunBlocks(ctx, x.a, st, blocks, indexer.Options{})
				fetched += int(stats.BlocksDone)
				return err
			}
			o := &oracle{ref: x.st}
			var finder tracer.BlockFinder = o
			ex := &explorer{oracle: oracle{ref: x.st}, corrupt: true, invent: true}
			if finderKind == "explorer" {
				finder = ex
			}
			h := &tracer.BackedHistory{StoreHistory: &tracer.StoreHistory{Store: st, Chain: chains.ETH, Node: x.a},
				Finders: []tracer.BlockFinder{finder}, Index: index}
			cfg := tracer.Config{Seeds: []string{x.truth.Seeds[0].Hex()}, Models: []taint.Kind{taint.Haircut}, MaxHops: 10,
				FromBlock: x.truth.First, ToBlock: x.truth.Last, NativeAsset: "ETH"}
			res, err := tracer.Trace(context.Background(), h, newTruthLabels(x.truth), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rowsKey(res) != rowsKey(want) {
				t.Fatalf("backed trace differs from the block scan:\n%s\nvs\n%s", rowsKey(res), rowsKey(want))
			}
			checkTruth(t, x.truth, res)
			if total := int(x.truth.Last - x.truth.First + 1); fetched >= total {
				t.Errorf("fetched %d blocks of %d: no saving over the scan", fetched, total)
			}
			if finderKind == "explorer" {
				rej := h.Rejected()
				if len(rej) != 2 || !strings.Contains(strings.Join(rej, "\n"), "moves") || !strings.Contains(strings.Join(rej, "\n"), "0x000000000000000000000000000000000000dEaD") {
					t.Errorf("rejected claims: %q", rej)
				}
			}
			// Warm: coverage is remembered; neither backend nor node is asked.
			queries := h.Queries()
			fetchedBefore := fetched
			res2, err := tracer.Trace(context.Background(), h, newTruthLabels(x.truth), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if h.Queries() != queries || fetched != fetchedBefore || rowsKey(res2) != rowsKey(want) {
				t.Errorf("warm backed trace: %d more queries, %d more blocks", h.Queries()-queries, fetched-fetchedBefore)
			}
		})
	}
}
