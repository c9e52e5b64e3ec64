package heuristics

import (
	"context"
	"reflect"
	"testing"
)

// peelRun builds n peel transactions: each spends the previous one's larger
// output (at position big[i]) and peels 1,000 sat off.
func peelRun(first int, height uint64, big []uint32) []*Tx {
	var txs []*Tx
	prev, prevVout, value := hash(999), uint32(0), int64(1_000_000)
	for i, pos := range big {
		b := newTx(hash(first+i), height+uint64(i), 1).in(prev, prevVout, mainnetP2PKH(byte(40+i)), value)
		rest := value - 1_000 - 100
		if pos == 0 {
			b.out(mainnetP2PKH(byte(41+i)), rest).out(mainnetP2PKH(byte(140+i)), 1_000)
		} else {
			b.out(mainnetP2PKH(byte(140+i)), 1_000).out(mainnetP2PKH(byte(41+i)), rest)
		}
		txs = append(txs, b.t)
		prev, prevVout, value = b.t.TxID, pos, rest
	}
	return txs
}

func ids(txs []*Tx) []string {
	out := make([]string, len(txs))
	for i, t := range txs {
		out[i] = t.TxID
	}
	return out
}

func TestPeelChain(t *testing.T) {
	ctx := context.Background()
	run := peelRun(1, 10, []uint32{0, 1, 1, 0})
	// A 1-in-2-out spending a peel (the small output): not part of the run.
	offPeel := newTx(hash(50), 20, 1).in(run[1].TxID, 0, mainnetP2PKH(141), 1_000).out(p2pkhA, 500).out(p2pkhB, 400).t
	// A lone 1-in-2-out.
	lone := newTx(hash(60), 20, 2).in(hash(998), 0, p2pkhC, 10_000).out(p2pkhA, 6_000).out(p2pkhB, 3_000).t
	// Equal outputs: no larger one, so nothing follows it.
	equal := newTx(hash(70), 20, 3).in(hash(997), 0, p2pkhD, 10_000).out(p2pkhA, 4_000).out(p2pkhB, 4_000).t
	afterEqual := newTx(hash(71), 21, 1).in(hash(70), 0, p2pkhA, 4_000).out(p2pkhC, 3_000).out(p2pkhD, 900).t
	all := append(append([]*Tx{}, run...), offPeel, lone, equal, afterEqual)
	m := NewMemChain(all)
	p := DefaultPeelChain()

	for _, tc := range []struct {
		name string
		tx   *Tx
		want bool
	}{
		{"first", run[0], true},
		{"middle", run[2], true},
		{"last", run[3], true},
		{"spends_a_peel_not_the_rest", offPeel, false},
		{"lone", lone, false},
		{"equal_outputs", equal, false},
		{"after_equal_outputs", afterEqual, false},
	} {
		t.Run("is_peeling_chain/"+tc.name, func(t *testing.T) {
			got, err := p.IsPeelingChain(ctx, m, tc.tx)
			if err != nil || got != tc.want {
				t.Errorf("= %v %v, want %v", got, err, tc.want)
			}
		})
	}

	got, err := p.Run(ctx, m, run[2])
	if err != nil || !reflect.DeepEqual(ids(got), ids(run)) {
		t.Errorf("Run = %v %v", ids(got), err)
	}
	f, err := p.Detect(ctx, m, run[1])
	if err != nil || f == nil || f.Subject != run[0].TxID || !reflect.DeepEqual(f.Evidence, ids(run)) ||
		f.Confidence != 60 || f.Kind != KindPeelChain {
		t.Errorf("Detect = %+v %v", f, err)
	}
	fs, err := p.Scan(ctx, m, m.Txs())
	if err != nil || len(fs) != 1 {
		t.Errorf("Scan = %+v %v", fs, err)
	}
	// Runs shorter than MinLength are no finding.
	p.MinLength = 5
	if f, _ := p.Detect(ctx, m, run[1]); f != nil {
		t.Errorf("run of 4 reported with min-length 5: %+v", f)
	}
	// MaxLength bounds the walk.
	p.MaxLength = 2
	if got, _ := p.Run(ctx, m, run[0]); len(got) != 2 {
		t.Errorf("walk past max-length: %d", len(got))
	}
	// A chain that does not know the funding transaction ends the run there.
	part := NewMemChain(run[2:])
	if got, _ := DefaultPeelChain().Run(ctx, part, run[3]); !reflect.DeepEqual(ids(got), ids(run[2:])) {
		t.Errorf("partial chain run %v", ids(got))
	}
}

func TestPeelConfidence(t *testing.T) {
	for n, want := range map[int]int{2: 40, 3: 50, 6: 80, 7: 90, 50: 90} {
		if got := peelConfidence(n); got != want {
			t.Errorf("peelConfidence(%d) = %d, want %d", n, got, want)
		}
	}
}
