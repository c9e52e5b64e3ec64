package heuristics

import (
	"sync"
	"testing"
)

// The Go benchmarks cluster one synthetic workload of a million inputs
// (bench cluster runs ten million, each configuration in its own process,
// with peak memory); the address strings are made once, outside the
// timing, so these measure the clustering alone.
var benchWork = sync.OnceValues(func() (*Synthetic, []string) {
	s := NewSynthetic(1_000_000, 1)
	names := make([]string, s.NumAddresses())
	for id := range names {
		names[id] = s.Address(uint32(id))
	}
	return s, names
})

func reportInputs(b *testing.B, s *Synthetic) {
	b.ReportMetric(float64(len(s.Inputs))*float64(b.N)/b.Elapsed().Seconds(), "inputs/s")
}

// BenchmarkUnionFindIDs is the array union-find on the generator's ids.
func BenchmarkUnionFindIDs(b *testing.B) {
	s, _ := benchWork()
	for b.Loop() {
		u := NewUnionFind(s.NumAddresses())
		for i := range s.NumTxs() {
			if s.IsCoinJoin(i) {
				continue
			}
			ids := s.TxInputs(i)
			for _, x := range ids[1:] {
				u.Union(ids[0], x)
			}
		}
	}
	reportInputs(b, s)
}

// BenchmarkUnionFindInterned is the array union-find behind the interner,
// on address strings: the counterpart of BenchmarkMapUnionFind.
func BenchmarkUnionFindInterned(b *testing.B) {
	s, names := benchWork()
	for b.Loop() {
		in := NewInterner(0)
		var u UnionFind
		for i := range s.NumTxs() {
			ids := s.TxInputs(i)
			first := in.Intern(names[ids[0]])
			u.Grow(in.Len())
			for _, x := range ids[1:] {
				id := in.Intern(names[x])
				u.Grow(in.Len())
				if !s.IsCoinJoin(i) {
					u.Union(first, id)
				}
			}
		}
	}
	reportInputs(b, s)
}

// BenchmarkMapUnionFind is the map[string]string baseline.
func BenchmarkMapUnionFind(b *testing.B) {
	s, names := benchWork()
	for b.Loop() {
		m := NewMapUnionFind()
		for i := range s.NumTxs() {
			ids := s.TxInputs(i)
			m.Find(names[ids[0]])
			for _, x := range ids[1:] {
				if s.IsCoinJoin(i) {
					m.Find(names[x])
				} else {
					m.Union(names[ids[0]], names[x])
				}
			}
		}
	}
	reportInputs(b, s)
}

// BenchmarkMultiInput is the heuristic as the tracer runs it: interner,
// union-find, merge log and the CoinJoin guard.
func BenchmarkMultiInput(b *testing.B) {
	s, names := benchWork()
	txids := make([]string, s.NumTxs())
	for i := range txids {
		txids[i] = s.TxID(i)
	}
	addrs := make([]string, 0, 512)
	for b.Loop() {
		i := 0
		m := NewMultiInput(MultiInputOptions{
			SkipTx:    func(ClusterTx) (bool, string) { return s.IsCoinJoin(i), "coinjoin" },
			HoldAbove: 10_000,
		})
		for ; i < s.NumTxs(); i++ {
			addrs = addrs[:0]
			for _, x := range s.TxInputs(i) {
				addrs = append(addrs, names[x])
			}
			m.Add(ClusterTx{TxID: txids[i], InputAddrs: addrs})
		}
	}
	reportInputs(b, s)
}
