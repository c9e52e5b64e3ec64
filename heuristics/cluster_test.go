package heuristics

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestMultiInputAdd(t *testing.T) {
	skipCJ := func(tx ClusterTx) (bool, string) {
		if strings.HasPrefix(tx.TxID, "cj") {
			return true, "coinjoin: whirlpool"
		}
		return false, ""
	}
	tests := []struct {
		name    string
		txs     []ClusterTx
		results []AddResult
		same    [][2]string
		apart   [][2]string
		unknown []string // addresses that must not be known
		skipped []Skipped
		merges  []Merge
	}{
		{
			name:    "one input merges nothing",
			txs:     []ClusterTx{{TxID: "t1", InputAddrs: []string{"a"}}},
			results: []AddResult{{}},
		},
		{
			name:    "two inputs merge once",
			txs:     []ClusterTx{{TxID: "t1", InputAddrs: []string{"a", "b"}}},
			results: []AddResult{{Merges: 1}},
			same:    [][2]string{{"a", "b"}},
			merges:  []Merge{{TxID: "t1", A: "a", B: "b", SizeA: 1, SizeB: 1}},
		},
		{
			name:    "a repeated address is one member",
			txs:     []ClusterTx{{TxID: "t1", InputAddrs: []string{"a", "a", "b", "a"}}},
			results: []AddResult{{Merges: 1}},
			merges:  []Merge{{TxID: "t1", A: "a", B: "b", SizeA: 1, SizeB: 1}},
		},
		{
			name: "a coinbase and unknown addresses take no part",
			txs: []ClusterTx{
				{TxID: "cb", Coinbase: true, InputAddrs: []string{"x", "y"}},
				{TxID: "t1", InputAddrs: []string{"", "a", ""}},
			},
			results: []AddResult{{}, {}},
			unknown: []string{"x", "y", ""},
		},
		{
			name: "a later transaction joins two clusters, sizes before logged",
			txs: []ClusterTx{
				{TxID: "t1", InputAddrs: []string{"a", "b"}},
				{TxID: "t2", InputAddrs: []string{"c", "d", "e"}},
				{TxID: "t3", InputAddrs: []string{"b", "e", "f"}},
			},
			results: []AddResult{{Merges: 1}, {Merges: 2}, {Merges: 2}},
			same:    [][2]string{{"a", "f"}, {"c", "a"}},
			merges: []Merge{
				{TxID: "t1", A: "a", B: "b", SizeA: 1, SizeB: 1},
				{TxID: "t2", A: "c", B: "d", SizeA: 1, SizeB: 1},
				{TxID: "t2", A: "c", B: "e", SizeA: 2, SizeB: 1},
				{TxID: "t3", A: "b", B: "e", SizeA: 2, SizeB: 3},
				{TxID: "t3", A: "b", B: "f", SizeA: 5, SizeB: 1},
			},
		},
		{
			name: "a CoinJoin merges nothing and is recorded",
			txs: []ClusterTx{
				{TxID: "t1", InputAddrs: []string{"a", "b"}},
				{TxID: "cj1", InputAddrs: []string{"a", "c", "d", "e", "f"}},
				{TxID: "t2", InputAddrs: []string{"c", "g"}},
			},
			results: []AddResult{{Merges: 1}, {Skipped: true, Reason: "coinjoin: whirlpool"}, {Merges: 1}},
			same:    [][2]string{{"a", "b"}, {"c", "g"}},
			apart:   [][2]string{{"a", "c"}, {"c", "d"}, {"d", "e"}, {"b", "f"}},
			skipped: []Skipped{{TxID: "cj1", Reason: "coinjoin: whirlpool"}},
			merges: []Merge{
				{TxID: "t1", A: "a", B: "b", SizeA: 1, SizeB: 1},
				{TxID: "t2", A: "c", B: "g", SizeA: 1, SizeB: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMultiInput(MultiInputOptions{SkipTx: skipCJ, SkipRule: "coinjoin/1"})
			for i, tx := range tt.txs {
				if got := m.Add(tx); got != tt.results[i] {
					t.Errorf("Add(%s) = %+v, want %+v", tx.TxID, got, tt.results[i])
				}
			}
			for _, p := range tt.same {
				if !m.Same(p[0], p[1]) {
					t.Errorf("%s and %s apart, want one cluster", p[0], p[1])
				}
			}
			for _, p := range tt.apart {
				if m.Same(p[0], p[1]) {
					t.Errorf("%s and %s in one cluster, want apart", p[0], p[1])
				}
				if m.ClusterSize(p[0]) == 0 || m.ClusterSize(p[1]) == 0 {
					t.Errorf("%s or %s not seen: every input address must be known", p[0], p[1])
				}
			}
			for _, a := range tt.unknown {
				if n := m.ClusterSize(a); n != 0 {
					t.Errorf("ClusterSize(%q) = %d, want 0 (never seen)", a, n)
				}
			}
			if got := m.Skipped(); !reflect.DeepEqual(got, tt.skipped) {
				t.Errorf("Skipped = %+v, want %+v", got, tt.skipped)
			}
			var merges []Merge
			for g := range m.Merges() {
				merges = append(merges, g)
			}
			if !reflect.DeepEqual(merges, tt.merges) {
				t.Errorf("Merges = %+v, want %+v", merges, tt.merges)
			}
			if m.NumMerges() != len(tt.merges) {
				t.Errorf("NumMerges = %d, want %d", m.NumMerges(), len(tt.merges))
			}
		})
	}
}

func TestMultiInputHold(t *testing.T) {
	m := NewMultiInput(MultiInputOptions{HoldAbove: 2})
	for _, tx := range []ClusterTx{
		{TxID: "t1", InputAddrs: []string{"a1", "a2", "a3"}},
		{TxID: "t2", InputAddrs: []string{"b1", "b2", "b3"}},
		{TxID: "t3", InputAddrs: []string{"c1", "c2"}},
	} {
		m.Add(tx)
	}
	// t4 would join the two clusters of 3 (held), and brings c1's cluster
	// of 2 and a new address into a1's (applied: 2 is not above 2).
	res := m.Add(ClusterTx{TxID: "t4", InputAddrs: []string{"a2", "b1", "c1", "b3", "n1"}})
	if want := (AddResult{Merges: 2, Held: 1}); res != want {
		t.Fatalf("Add(t4) = %+v, want %+v", res, want)
	}
	wantHeld := []Held{{TxID: "t4", A: "a2", B: "b1", SizeA: 3, SizeB: 3}}
	if got := m.Held(); !reflect.DeepEqual(got, wantHeld) {
		t.Fatalf("Held = %+v, want %+v", got, wantHeld)
	}
	if m.Same("a1", "b1") {
		t.Fatalf("a held merge was applied")
	}
	if !m.Same("a1", "c2") || !m.Same("a1", "n1") || m.ClusterSize("a1") != 6 {
		t.Fatalf("the small merges of t4 were not applied: size %d", m.ClusterSize("a1"))
	}
	if p := m.Path("a1", "b2"); p != nil {
		t.Fatalf("Path across a held merge = %+v, want nil", p)
	}
	// Review applies it: logged with t4, sizes as they are now.
	g, ok := m.Apply(wantHeld[0])
	if want := (Merge{TxID: "t4", A: "a2", B: "b1", SizeA: 6, SizeB: 3}); !ok || g != want {
		t.Fatalf("Apply = %+v, %v, want %+v, true", g, ok, want)
	}
	if !m.Same("c2", "b3") || m.ClusterSize("b2") != 9 {
		t.Fatalf("Apply did not join the clusters")
	}
	if _, ok := m.Apply(wantHeld[0]); ok {
		t.Fatalf("a second Apply of the same merge applied something")
	}
	if _, ok := m.Apply(Held{TxID: "t9", A: "a1", B: "never-seen"}); ok {
		t.Fatalf("Apply with an unknown address applied something")
	}
	path := m.Path("c2", "b2")
	var txs []string
	for _, g := range path {
		txs = append(txs, g.TxID)
	}
	if want := []string{"t3", "t4", "t4", "t2"}; !reflect.DeepEqual(txs, want) {
		t.Fatalf("Path(c2, b2) transactions = %v, want %v (%+v)", txs, want, path)
	}
}

func TestMultiInputPath(t *testing.T) {
	m := NewMultiInput(MultiInputOptions{})
	for _, tx := range []ClusterTx{
		{TxID: "t1", InputAddrs: []string{"a", "b"}},
		{TxID: "t2", InputAddrs: []string{"c", "d"}},
		{TxID: "t3", InputAddrs: []string{"x", "y"}},
		{TxID: "t4", InputAddrs: []string{"b", "c"}},
	} {
		m.Add(tx)
	}
	tests := []struct {
		name string
		a, b string
		want []string // transactions in order from a; nil: no path
	}{
		{"through three transactions", "a", "d", []string{"t1", "t4", "t2"}},
		{"the other way", "d", "a", []string{"t2", "t4", "t1"}},
		{"one merge", "c", "d", []string{"t2"}},
		{"itself", "a", "a", []string{}},
		{"other clusters", "a", "x", nil},
		{"an unknown address", "a", "zz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := m.Path(tt.a, tt.b)
			if (p == nil) != (tt.want == nil) {
				t.Fatalf("Path(%s, %s) = %+v, want %v", tt.a, tt.b, p, tt.want)
			}
			txs := []string{}
			for _, g := range p {
				txs = append(txs, g.TxID)
			}
			if tt.want != nil && !reflect.DeepEqual(txs, tt.want) {
				t.Fatalf("Path(%s, %s) = %v, want %v", tt.a, tt.b, txs, tt.want)
			}
			// Each merge must touch the address reached so far.
			at := tt.a
			for _, g := range p {
				switch at {
				case g.A:
					at = g.B
				case g.B:
					at = g.A
				default:
					t.Fatalf("merge %+v does not touch %s", g, at)
				}
			}
			if p != nil && at != tt.b {
				t.Fatalf("the path ends at %s, want %s", at, tt.b)
			}
		})
	}
	// A merge after a Path call must be seen by the next one.
	m.Add(ClusterTx{TxID: "t5", InputAddrs: []string{"y", "d"}})
	var txs []string
	for _, g := range m.Path("a", "x") {
		txs = append(txs, g.TxID)
	}
	if want := []string{"t1", "t4", "t2", "t5", "t3"}; !reflect.DeepEqual(txs, want) {
		t.Fatalf("Path(a, x) after t5 = %v, want %v", txs, want)
	}
	if got, want := m.Members("x"), []string{"a", "b", "c", "d", "x", "y"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Members(x) = %v, want %v", got, want)
	}
}

func TestMultiInputInfo(t *testing.T) {
	tests := []struct {
		name string
		opts MultiInputOptions
		want map[string]any
	}{
		{"defaults", MultiInputOptions{}, map[string]any{"hold_above": 0, "skip_tx": "none"}},
		{"coinjoin guard and hold", MultiInputOptions{SkipTx: func(ClusterTx) (bool, string) { return false, "" }, SkipRule: "coinjoin/1", HoldAbove: 5000},
			map[string]any{"hold_above": 5000, "skip_tx": "coinjoin/1"}},
		{"unnamed guard", MultiInputOptions{SkipTx: func(ClusterTx) (bool, string) { return false, "" }}, map[string]any{"hold_above": 0, "skip_tx": "custom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := NewMultiInput(tt.opts).Info()
			if info.Name != "multi-input" || info.Version != "1" || !reflect.DeepEqual(info.Params, tt.want) {
				t.Fatalf("Info = %+v, want multi-input 1 %v", info, tt.want)
			}
			if _, err := info.Exhibit(); err != nil {
				t.Fatalf("Exhibit: %v", err)
			}
		})
	}
}

// TestMultiInputSyntheticCoinJoins clusters a synthetic chain whose true
// owners are known: with CoinJoins skipped no cluster holds two owners;
// without, many do (so the first half is not vacuous). Every merge joins two
// clusters, so merges = addresses - clusters.
func TestMultiInputSyntheticCoinJoins(t *testing.T) {
	s := NewSynthetic(300_000, 1)
	if s.NumCoinJoins() == 0 {
		t.Fatalf("the synthetic chain has no CoinJoin")
	}
	for _, guard := range []bool{true, false} {
		i := 0
		opts := MultiInputOptions{}
		if guard {
			opts.SkipTx = func(ClusterTx) (bool, string) { return s.IsCoinJoin(i), "coinjoin" }
		}
		m := NewMultiInput(opts)
		for ; i < s.NumTxs(); i++ {
			ids := s.TxInputs(i)
			addrs := make([]string, len(ids))
			for k, id := range ids {
				addrs[k] = s.Address(id)
			}
			m.Add(ClusterTx{TxID: s.TxID(i), InputAddrs: addrs})
		}
		if m.Len() != s.NumAddresses() {
			t.Fatalf("guard %v: %d addresses seen, the chain has %d", guard, m.Len(), s.NumAddresses())
		}
		owner := map[uint32]uint32{}
		mixed := map[uint32]bool{}
		for id := range uint32(s.NumAddresses()) {
			c, _ := m.ClusterID(s.Address(id))
			if o, ok := owner[c]; !ok {
				owner[c] = s.Owner[id]
			} else if o != s.Owner[id] {
				mixed[c] = true
			}
		}
		if got := m.NumMerges(); got != m.Len()-len(owner) {
			t.Errorf("guard %v: %d merges for %d addresses in %d clusters", guard, got, m.Len(), len(owner))
		}
		// The log reads back whole, and in a forest the path between the
		// two addresses a merge joined is that merge alone.
		n := 0
		for g := range m.Merges() {
			if n%4999 == 0 {
				if p := m.Path(g.A, g.B); len(p) != 1 || p[0] != g {
					t.Fatalf("guard %v: Path over merge %d = %+v, want only %+v", guard, n, p, g)
				}
			}
			n++
		}
		if n != m.NumMerges() || n < 2*mergeChunk {
			t.Errorf("guard %v: Merges yielded %d, NumMerges %d (want over two chunks' worth)", guard, n, m.NumMerges())
		}
		if guard {
			if len(mixed) != 0 {
				t.Errorf("with CoinJoins skipped, %d clusters hold addresses of two owners", len(mixed))
			}
			if len(m.Skipped()) != s.NumCoinJoins() {
				t.Errorf("%d skipped, the chain has %d CoinJoins", len(m.Skipped()), s.NumCoinJoins())
			}
		} else if len(mixed) == 0 {
			t.Errorf("with CoinJoins merged, no cluster holds two owners: the synthetic CoinJoins prove nothing")
		}
	}
}

func TestSynthetic(t *testing.T) {
	a, b := NewSynthetic(50_000, 7), NewSynthetic(50_000, 7)
	if !reflect.DeepEqual(a.Inputs, b.Inputs) || !reflect.DeepEqual(a.Ends, b.Ends) || !reflect.DeepEqual(a.Owner, b.Owner) {
		t.Fatalf("two workloads from one seed differ")
	}
	if c := NewSynthetic(50_000, 8); reflect.DeepEqual(a.Inputs, c.Inputs) {
		t.Fatalf("two seeds gave one workload")
	}
	if len(a.Inputs) < 50_000 || int(a.Ends[len(a.Ends)-1]) != len(a.Inputs) {
		t.Fatalf("%d inputs, last end %d", len(a.Inputs), a.Ends[len(a.Ends)-1])
	}
	seen := map[string]bool{}
	for id := range uint32(a.NumAddresses()) {
		s := a.Address(id)
		if len(s) != 42 || !strings.HasPrefix(s, "bc1q") || seen[s] || a.AddressID(s) != id {
			t.Fatalf("Address(%d) = %q (seen %v, AddressID %d)", id, s, seen[s], a.AddressID(s))
		}
		seen[s] = true
	}
	if a.Address(1<<32-1) == a.Address(1<<31-1) || a.AddressID(a.Address(1<<32-1)) != 1<<32-1 {
		t.Fatalf("the largest ids do not round-trip")
	}
	if len(a.TxID(3)) != 64 || a.TxID(3) == a.TxID(4) {
		t.Fatalf("TxID: %q, %q", a.TxID(3), a.TxID(4))
	}
}

// TestBlockSciMultiInput holds the clustering to BlockSci's
// test_clustering.py on its regtest chain (EXPECTED_ASSERTIONS.md): the
// cluster of merge-addr-1 is exactly merge-addr-1..3; every other
// transaction with more than one input has its inputs in one cluster; with
// the CoinJoin detector as SkipTx the first input of simple-coinjoin-tx is
// a cluster of one, and without it all that transaction's inputs share one.
func TestBlockSciMultiInput(t *testing.T) {
	c := loadBlockSci(t)
	d := DefaultCoinJoinDetector()
	cj := c.str(t, "simple-coinjoin-tx")
	for _, guard := range []bool{true, false} {
		opts := MultiInputOptions{}
		if guard {
			opts.SkipTx = func(ct ClusterTx) (bool, string) { return d.SkipTx(ct.Tx) }
			opts.SkipRule = "coinjoin"
		}
		m := NewMultiInput(opts)
		for _, tx := range c.chain.Txs() {
			m.Add(ClusterTxOf(tx))
		}
		cjTx := c.tx(t, "simple-coinjoin-tx")
		cjIn := ClusterTxOf(cjTx).InputAddrs
		if !guard {
			for _, a := range cjIn[1:] {
				if !m.Same(cjIn[0], a) {
					t.Errorf("without the guard, CoinJoin inputs %s and %s apart", cjIn[0], a)
				}
			}
			continue
		}
		if n := m.ClusterSize(cjIn[0]); n != 1 {
			t.Errorf("with the guard, the cluster of the CoinJoin's input 0 has %d addresses, want 1", n)
		}
		if got := m.Skipped(); len(got) != 1 || got[0].TxID != cj {
			t.Errorf("Skipped = %+v, want only %s", got, cj)
		}
		m1, m2, m3 := c.str(t, "merge-addr-1"), c.str(t, "merge-addr-2"), c.str(t, "merge-addr-3")
		got := m.Members(m1)
		sort.Strings(got)
		want := []string{m1, m2, m3}
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("cluster of merge-addr-1 = %v, want %v", got, want)
		}
		for _, g := range m.Path(m1, m3) {
			if g.TxID != c.str(t, "merge-final-tx") {
				t.Errorf("Path(merge-addr-1, merge-addr-3) names %s, want merge-final-tx", g.TxID)
			}
		}
		for _, tx := range c.chain.Txs() {
			in := ClusterTxOf(tx).InputAddrs
			if tx.Coinbase || tx.TxID == cj || len(in) < 2 {
				continue
			}
			for _, a := range in[1:] {
				if !m.Same(in[0], a) {
					t.Errorf("%s: inputs %s and %s apart", tx.TxID, in[0], a)
				}
			}
		}
	}
}
