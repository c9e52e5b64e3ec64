package scenario_test

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// play starts a node funded for a case and plays it.
func play(t *testing.T, funded []string, fn func(*devchain.Node) (*scenario.Truth, error)) (*devchain.Node, *scenario.Truth) {
	t.Helper()
	node, err := devchain.Start(devchain.Config{Funded: funded})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	truth, err := fn(node)
	if err != nil {
		t.Fatal(err)
	}
	return node, truth
}

// checkPlayed: every movement the truth records was mined in the window
// and succeeded, and the contracts that only receive (mixers, bridges)
// hold exactly what the truth says reached them.
func checkPlayed(t *testing.T, node *devchain.Node, truth *scenario.Truth) {
	t.Helper()
	if truth.First > truth.Last {
		t.Fatalf("empty window %d-%d", truth.First, truth.Last)
	}
	for _, m := range truth.Moves {
		r, err := node.Receipt(m.Tx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			t.Errorf("movement %s -> %s in %s failed", m.From, m.To, m.Tx)
		}
		if r.BlockNumber.Uint64() < truth.First || r.BlockNumber.Uint64() > truth.Last {
			t.Errorf("movement %s outside the window %d-%d", m.Tx, truth.First, truth.Last)
		}
	}
	for _, l := range truth.Labels {
		if l.Category != "mixing_service" && l.Category != "bridge" {
			continue
		}
		bal, err := node.Balance(l.Address)
		if err != nil {
			t.Fatal(err)
		}
		if want := truth.Endpoints[l.Address]["ETH"]; want == nil || bal.Cmp(want) != 0 {
			t.Errorf("%s holds %s, truth says %v", l.Label, bal, want)
		}
	}
	// Every deposit address sweeps into a labelled exchange, and every
	// endpoint is labelled.
	labelled := map[common.Address]string{}
	for _, l := range truth.Labels {
		labelled[l.Address] = l.Category
	}
	for dep, ex := range truth.Deposits {
		if labelled[ex] != "exchange" {
			t.Errorf("deposit %s sweeps into %s, not a labelled exchange", dep.Hex(), ex.Hex())
		}
	}
	for ep := range truth.Endpoints {
		if labelled[ep] == "" {
			t.Errorf("endpoint %s is not labelled", ep.Hex())
		}
	}
}

// blocksOf counts the distinct blocks and the transactions of the moves.
func blocksOf(t *testing.T, node *devchain.Node, truth *scenario.Truth) (blocks, txs int) {
	t.Helper()
	bs, ts := map[uint64]bool{}, map[common.Hash]bool{}
	for _, m := range truth.Moves {
		r, err := node.Receipt(m.Tx)
		if err != nil {
			t.Fatal(err)
		}
		bs[r.BlockNumber.Uint64()] = true
		ts[m.Tx] = true
	}
	return len(bs), len(ts)
}

func TestDeepPeelPlaysAsRecorded(t *testing.T) {
	const hops = 120
	node, truth := play(t, scenario.DeepPeelFunded, func(n *devchain.Node) (*scenario.Truth, error) {
		return scenario.PlayDeepPeel(n, hops)
	})
	checkPlayed(t, node, truth)
	if got, want := truth.Last-truth.First+1, uint64(hops+3); got != want {
		t.Errorf("%d blocks, designed %d", got, want)
	}
	if len(truth.Controlled) != hops+1 || len(truth.Deposits) != hops {
		t.Errorf("%d controlled, %d deposits; designed %d and %d", len(truth.Controlled), len(truth.Deposits), hops+1, hops)
	}
	// Each hop is its own block: hop k+1 pays out a block after hop k.
	first := map[common.Address]uint64{}
	for _, m := range truth.Moves {
		if _, ok := truth.Controlled[m.From]; !ok {
			continue
		}
		r, err := node.Receipt(m.Tx)
		if err != nil {
			t.Fatal(err)
		}
		if b, ok := first[m.From]; !ok || r.BlockNumber.Uint64() < b {
			first[m.From] = r.BlockNumber.Uint64()
		}
	}
	for k := 1; k <= hops; k++ {
		prev, this := devchain.Addr("dp-thief"), devchain.Addr(fmt.Sprintf("dp-hop-%d", k))
		if k > 1 {
			prev = devchain.Addr(fmt.Sprintf("dp-hop-%d", k-1))
		}
		if first[this] != first[prev]+1 {
			t.Errorf("hop %d pays out in block %d, hop %d in %d", k, first[this], k-1, first[prev])
		}
	}
	// Every peel was swept: the two exchanges got the peels less sweepKeep.
	total := new(big.Int)
	for ex, assets := range truth.Endpoints {
		if truth.Deposits[ex] == (common.Address{}) && assets["ETH"] != nil {
			total.Add(total, assets["ETH"])
		}
	}
	want := new(big.Int)
	for k := range hops {
		want.Add(want, scenario.Milli(int64(250+17*k-10)))
	}
	var bridge common.Address
	for _, l := range truth.Labels {
		if l.Category == "bridge" {
			bridge = l.Address
		}
	}
	want.Add(want, truth.Endpoints[bridge]["ETH"])
	if total.Cmp(want) != 0 {
		t.Errorf("endpoints total %s, want %s", total, want)
	}
	blocks, txs := blocksOf(t, node, truth)
	t.Logf("deep peel: %d blocks with moves, %d txs, %d controlled, %d deposits", blocks, txs, len(truth.Controlled), len(truth.Deposits))
}

func TestWideFanOutPlaysAsRecorded(t *testing.T) {
	const width = 520
	node, truth := play(t, scenario.WideFanOutFunded, func(n *devchain.Node) (*scenario.Truth, error) {
		return scenario.PlayWideFanOut(n, width)
	})
	checkPlayed(t, node, truth)
	if len(truth.Controlled) != width+1 {
		t.Errorf("%d controlled, designed %d", len(truth.Controlled), width+1)
	}
	if want := width/4 + 7; len(truth.Deposits) != want {
		t.Errorf("%d deposits, designed %d", len(truth.Deposits), want)
	}
	// Every fan-out address got its share, by a router's internal call or
	// a plain transfer, and paid all of it but the gas money on.
	recv := map[common.Address]int{}
	in, out := map[common.Address]*big.Int{}, map[common.Address]*big.Int{}
	add := func(m map[common.Address]*big.Int, a common.Address, v *big.Int) {
		if m[a] == nil {
			m[a] = new(big.Int)
		}
		m[a].Add(m[a], v)
	}
	var internal int
	routerCalls := map[common.Hash]bool{}
	for _, m := range truth.Moves {
		if _, ok := truth.Controlled[m.To]; ok && m.To != truth.Seeds[0] {
			recv[m.To]++
			add(in, m.To, m.Amount)
		}
		if _, ok := truth.Controlled[m.From]; ok && m.From != truth.Seeds[0] {
			add(out, m.From, m.Amount)
		}
		if m.Internal {
			internal++
			routerCalls[m.Tx] = true
			if truth.Conduits[m.From] == "" {
				t.Errorf("internal payment from %s, not a conduit", m.From.Hex())
			}
		}
	}
	if len(recv) != width {
		t.Errorf("%d fan-out addresses paid, want %d", len(recv), width)
	}
	for a, got := range in {
		if want := new(big.Int).Sub(got, scenario.Milli(10)); out[a] == nil || out[a].Cmp(want) != 0 {
			t.Errorf("%s received %s and passed on %v", a.Hex(), got, out[a])
		}
	}
	if internal != width-width%60 || len(routerCalls) != width/60 {
		t.Errorf("%d payments in %d router calls", internal, len(routerCalls))
	}
	for _, m := range truth.Moves {
		if m.Internal {
			r, err := node.Receipt(m.Tx)
			if err != nil {
				t.Fatal(err)
			}
			if r.GasUsed >= 16_777_216 {
				t.Errorf("router call %s used %d gas", m.Tx, r.GasUsed)
			}
		}
	}
	blocks, txs := blocksOf(t, node, truth)
	t.Logf("wide fan-out: %d blocks with moves (%d-%d), %d txs, %d controlled, %d deposits",
		blocks, truth.First, truth.Last, txs, len(truth.Controlled), len(truth.Deposits))
}

func TestRemergePlaysAsRecorded(t *testing.T) {
	node, truth := play(t, scenario.RemergeFunded, scenario.PlayRemerge)
	checkPlayed(t, node, truth)
	if len(truth.Controlled) != 25 || len(truth.Deposits) != 2 {
		t.Errorf("%d controlled, %d deposits; designed 25 and 2", len(truth.Controlled), len(truth.Deposits))
	}
	// The token merge points and deposit address end up empty: all the
	// stolen and clean tokens left through the exits.
	for _, name := range []string{"rm-tok-merge", "rm-tok-merge-1", "rm-gemini-tok-dep"} {
		if bal := tokenBalance(t, node, truth.Token, devchain.Addr(name)); bal.Sign() != 0 {
			t.Errorf("%s still holds %s tokens", name, bal)
		}
	}
	// Stolen and clean amounts as designed.
	stolenIn, cleanIn := new(big.Int), new(big.Int)
	merge := devchain.Addr("rm-merge")
	for _, m := range truth.Moves {
		if m.To != merge || m.Asset != "ETH" {
			continue
		}
		if _, ok := truth.Controlled[m.From]; ok {
			stolenIn.Add(stolenIn, m.Amount)
		} else {
			cleanIn.Add(cleanIn, m.Amount)
		}
	}
	if stolenIn.Cmp(scenario.RemergeTainted) != 0 || cleanIn.Cmp(scenario.RemergeClean) != 0 {
		t.Errorf("merge received %s stolen and %s clean", stolenIn, cleanIn)
	}
	// The clean money arrives where the case says: ETH first in the block
	// the stolen ETH starts to arrive, tokens a block before the stolen
	// ones.
	first := func(to common.Address, asset string, clean bool) (block, index uint64) {
		block, index = ^uint64(0), ^uint64(0)
		for _, m := range truth.Moves {
			if _, stolen := truth.Controlled[m.From]; m.To != to || m.Asset != asset || stolen == clean {
				continue
			}
			r, err := node.Receipt(m.Tx)
			if err != nil {
				t.Fatal(err)
			}
			if b, i := r.BlockNumber.Uint64(), uint64(r.TransactionIndex); b < block || b == block && i < index {
				block, index = b, i
			}
		}
		return block, index
	}
	cb, ci := first(merge, "ETH", true)
	sb, si := first(merge, "ETH", false)
	if cb != sb || ci >= si {
		t.Errorf("clean ETH reaches the merge at %d/%d, stolen first at %d/%d", cb, ci, sb, si)
	}
	tokMerge, tok := devchain.Addr("rm-tok-merge"), truth.Token.Hex()
	cb, _ = first(tokMerge, tok, true)
	sb, _ = first(tokMerge, tok, false)
	if cb+1 != sb {
		t.Errorf("clean tokens reach the token merge in block %d, stolen first in %d", cb, sb)
	}
	blocks, txs := blocksOf(t, node, truth)
	t.Logf("re-merge: %d blocks with moves, %d txs, %d controlled, %d deposits", blocks, txs, len(truth.Controlled), len(truth.Deposits))
}

func tokenBalance(t *testing.T, node *devchain.Node, token, holder common.Address) *big.Int {
	t.Helper()
	st, err := node.Backend().BlockChain().State()
	if err != nil {
		t.Fatal(err)
	}
	// The minimal ERC-20 keeps balance[holder] in the slot named by the
	// holder's address.
	return st.GetState(token, common.BytesToHash(holder.Bytes())).Big()
}
