package heuristics

import (
	"fmt"
	"strings"
	"testing"
)

func TestUnionFind(t *testing.T) {
	type step struct {
		a, b   uint32
		merged bool
	}
	tests := []struct {
		name   string
		n      int
		unions []step
		same   [][2]uint32
		apart  [][2]uint32
		sizes  map[uint32]int
	}{
		{
			name:  "singletons",
			n:     3,
			apart: [][2]uint32{{0, 1}, {1, 2}},
			sizes: map[uint32]int{0: 1, 1: 1, 2: 1},
		},
		{
			name:   "a chain joins into one set",
			n:      5,
			unions: []step{{0, 1, true}, {1, 2, true}, {3, 2, true}, {0, 3, false}},
			same:   [][2]uint32{{0, 3}, {1, 2}},
			apart:  [][2]uint32{{0, 4}},
			sizes:  map[uint32]int{0: 4, 3: 4, 4: 1},
		},
		{
			name:   "self union merges nothing",
			n:      2,
			unions: []step{{1, 1, false}},
			apart:  [][2]uint32{{0, 1}},
			sizes:  map[uint32]int{1: 1},
		},
		{
			name:   "two sets joined",
			n:      6,
			unions: []step{{0, 1, true}, {2, 3, true}, {3, 4, true}, {1, 4, true}, {5, 5, false}},
			same:   [][2]uint32{{0, 2}, {1, 3}},
			apart:  [][2]uint32{{5, 0}},
			sizes:  map[uint32]int{0: 5, 5: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewUnionFind(tt.n)
			for _, s := range tt.unions {
				root, merged := u.Union(s.a, s.b)
				if merged != s.merged {
					t.Fatalf("Union(%d, %d) merged = %v, want %v", s.a, s.b, merged, s.merged)
				}
				if root != u.Find(s.a) || root != u.Find(s.b) {
					t.Fatalf("Union(%d, %d) root %d, Find gives %d and %d", s.a, s.b, root, u.Find(s.a), u.Find(s.b))
				}
			}
			for _, p := range tt.same {
				if u.Find(p[0]) != u.Find(p[1]) {
					t.Errorf("%d and %d apart, want one set", p[0], p[1])
				}
			}
			for _, p := range tt.apart {
				if u.Find(p[0]) == u.Find(p[1]) {
					t.Errorf("%d and %d in one set, want apart", p[0], p[1])
				}
			}
			for x, want := range tt.sizes {
				if got := u.Size(x); got != want {
					t.Errorf("Size(%d) = %d, want %d", x, got, want)
				}
			}
			if u.Len() != tt.n {
				t.Errorf("Len = %d, want %d", u.Len(), tt.n)
			}
		})
	}
}

// TestUnionFindMatchesMap runs the same random unions through UnionFind
// and the map baseline and checks after each batch that both hold the same
// partition: the same answer to "one set?" for every pair checked and the
// same sizes.
func TestUnionFindMatchesMap(t *testing.T) {
	const n = 2000
	r := splitMix(42)
	u := NewUnionFind(n)
	m := NewMapUnionFind()
	name := func(x uint32) string { return fmt.Sprintf("addr-%d", x) }
	for i := range uint32(n) {
		m.Find(name(i))
	}
	for batch := range 20 {
		for range 60 {
			a, b := uint32(r.next()%n), uint32(r.next()%n)
			_, mu := u.Union(a, b)
			_, mm := m.Union(name(a), name(b))
			if mu != mm {
				t.Fatalf("batch %d: Union(%d, %d) merged: array %v, map %v", batch, a, b, mu, mm)
			}
		}
		for range 2000 {
			a, b := uint32(r.next()%n), uint32(r.next()%n)
			su := u.Find(a) == u.Find(b)
			sm := m.Find(name(a)) == m.Find(name(b))
			if su != sm {
				t.Fatalf("batch %d: %d and %d one set: array %v, map %v", batch, a, b, su, sm)
			}
		}
		for x := range uint32(n) {
			if u.Size(x) != m.Size(name(x)) {
				t.Fatalf("batch %d: size of %d: array %d, map %d", batch, x, u.Size(x), m.Size(name(x)))
			}
		}
	}
	if u.Size(0) < 2 {
		t.Fatalf("the random unions joined nothing to 0: the test proves little")
	}
	if m.Len() != n {
		t.Errorf("map Len = %d, want %d", m.Len(), n)
	}
}

func TestInterner(t *testing.T) {
	long := strings.Repeat("x", 70_000) // past the arena's length field
	tests := []struct {
		name string
		hash func(string) uint64 // nil: the real one
	}{
		{"maphash", nil},
		{"every hash clashes", func(string) uint64 { return 7 }},
		{"hash by length", func(s string) uint64 { return uint64(len(s)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInterner(0)
			in.hash = tt.hash
			// Enough 42-byte names to fill more than one 1 MiB chunk when
			// the hash is real; fewer when every name shares one probe chain.
			count := 30_000
			if tt.hash != nil {
				count = 3000
			}
			var names []string
			for i := range count {
				names = append(names, fmt.Sprintf("bc1q%038d", i))
			}
			// Txids: 64 lower-case hex digits are kept as 32 bytes; upper
			// case, or one digit that is not hex, as they are.
			hex64 := strings.Repeat("0123456789abcdef", 4)
			names = append(names, long, "", hex64, strings.ToUpper(hex64), hex64[:63]+"g", hex64[:63], strings.Repeat("0", 64), hex64[1:]+"0")
			for i, a := range names {
				if id := in.Intern(a); id != uint32(i) {
					t.Fatalf("Intern(%.20q) = %d, want %d", a, id, i)
				}
			}
			for i, a := range names {
				if id := in.Intern(a); id != uint32(i) {
					t.Fatalf("second Intern(%.20q) = %d, want %d", a, id, i)
				}
				if id, ok := in.Lookup(a); !ok || id != uint32(i) {
					t.Fatalf("Lookup(%.20q) = %d, %v, want %d", a, id, ok, i)
				}
				if got := in.Name(uint32(i)); got != a {
					t.Fatalf("Name(%d) = %.20q, want %.20q", i, got, a)
				}
			}
			if in.Len() != len(names) {
				t.Errorf("Len = %d, want %d", in.Len(), len(names))
			}
			if _, ok := in.Lookup("bc1q-never-seen"); ok {
				t.Errorf("Lookup of an unseen address succeeded")
			}
		})
	}
}
