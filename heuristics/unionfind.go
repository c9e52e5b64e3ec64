package heuristics

import (
	"hash/maphash"
	"math"
)

// UnionFind is a disjoint-set forest over dense ids 0..Len()-1, kept in two
// flat uint32 arrays: 8 bytes an element, and nothing for the garbage
// collector to scan, where a map of strings costs over 100 bytes an address
// and is rescanned on every cycle. Union is by size, Find halves paths.
type UnionFind struct {
	parent []uint32
	size   []uint32 // meaningful at roots only
}

// NewUnionFind returns a forest of n singletons.
func NewUnionFind(n int) *UnionFind {
	u := &UnionFind{}
	u.Grow(n)
	return u
}

// Len is the number of elements.
func (u *UnionFind) Len() int { return len(u.parent) }

// Add appends a singleton and returns its id. It panics past 2^32-1
// elements, the limit of a uint32 id.
func (u *UnionFind) Add() uint32 {
	id := len(u.parent)
	if uint64(id) >= math.MaxUint32 {
		panic("heuristics: union-find holds 2^32-1 elements, its limit")
	}
	u.parent = append(u.parent, uint32(id))
	u.size = append(u.size, 1)
	return uint32(id)
}

// Grow adds singletons until Len() is at least n.
func (u *UnionFind) Grow(n int) {
	for len(u.parent) < n {
		u.Add()
	}
}

// Reset makes every element a singleton again, in the memory it has.
func (u *UnionFind) Reset() {
	for i := range u.parent {
		u.parent[i], u.size[i] = uint32(i), 1
	}
}

// Find returns the root of x's set. It halves the path as it goes: every
// node visited is pointed at its grandparent, which keeps trees flat
// without a second pass or recursion.
func (u *UnionFind) Find(x uint32) uint32 {
	p := u.parent
	for p[x] != x {
		p[x] = p[p[x]]
		x = p[x]
	}
	return x
}

// Union joins the sets of a and b and returns the root of the result, and
// whether they were two sets. The larger set's root stays root (the first's
// on a tie), so no tree grows deeper than log2 of its size.
func (u *UnionFind) Union(a, b uint32) (root uint32, merged bool) {
	ra, rb := u.Find(a), u.Find(b)
	if ra == rb {
		return ra, false
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
	return ra, true
}

// Size is the number of elements in x's set.
func (u *UnionFind) Size(x uint32) int { return int(u.size[u.Find(x)]) }

// MapUnionFind is the textbook union-find over a map of address strings to
// their parents, union by size and path halving as UnionFind does. It is
// the baseline that bench cluster and the tests hold UnionFind against; the
// heuristics do not use it.
type MapUnionFind struct {
	parent map[string]string
	size   map[string]int // roots of sets larger than one only
}

// NewMapUnionFind returns an empty forest.
func NewMapUnionFind() *MapUnionFind {
	return &MapUnionFind{parent: map[string]string{}, size: map[string]int{}}
}

// Len is the number of elements seen.
func (m *MapUnionFind) Len() int { return len(m.parent) }

// Find returns the root of a's set, adding a as a singleton if it is new.
func (m *MapUnionFind) Find(a string) string {
	p, ok := m.parent[a]
	if !ok {
		m.parent[a] = a
		return a
	}
	for p != a {
		gp := m.parent[p]
		m.parent[a] = gp
		a, p = gp, m.parent[gp]
	}
	return a
}

// Union joins the sets of a and b, as UnionFind.Union does.
func (m *MapUnionFind) Union(a, b string) (root string, merged bool) {
	ra, rb := m.Find(a), m.Find(b)
	if ra == rb {
		return ra, false
	}
	sa, sb := m.rootSize(ra), m.rootSize(rb)
	if sa < sb {
		ra, rb = rb, ra
	}
	m.parent[rb] = ra
	m.size[ra] = sa + sb
	delete(m.size, rb)
	return ra, true
}

// Size is the number of elements in a's set (1 for an address not seen).
func (m *MapUnionFind) Size(a string) int {
	if _, ok := m.parent[a]; !ok {
		return 1
	}
	return m.rootSize(m.Find(a))
}

func (m *MapUnionFind) rootSize(root string) int {
	if n, ok := m.size[root]; ok {
		return n
	}
	return 1
}

// Interner gives each address a dense id, in order of first sight, for
// UnionFind. At ten million addresses a map[string]uint32 plus a []string
// of the names costs over 100 bytes an address (the map's slot, the
// string's own allocation rounded up to its size class, the slice's
// header), all of it pointers the collector rescans every cycle. Here the
// names lie end to end in 1 MiB byte chunks, an id's name is a packed
// (chunk, offset, length) in a []uint64, and the index is an open-addressing
// table of 8-byte slots, each the top 32 bits of the name's 64-bit hash
// (which also pick its home slot, so growing rehashes nothing) and the id:
// about 70 bytes an address for 42-byte addresses, none of it scanned. A
// probe whose hash bits match compares the stored name, so two names with
// the same hash are still told apart.
type Interner struct {
	seed  maphash.Seed
	hash  func(string) uint64 // nil: maphash.String with seed; tests force collisions
	slots []uint64            // 0 empty, else hash>>32<<32 | id+1; linear probing, at most 3/4 full
	names arena
}

// NewInterner returns an empty interner sized for about hint addresses.
func NewInterner(hint int) *Interner {
	in := &Interner{seed: maphash.MakeSeed()}
	if hint > 0 {
		in.slots = make([]uint64, internerSize(hint))
	}
	return in
}

// internerSize is the smallest power of two, at least 16, that holds n
// entries at most 3/4 full.
func internerSize(n int) int {
	size := 16
	for size/4*3 < n {
		size *= 2
	}
	return size
}

// Len is the number of distinct addresses interned.
func (in *Interner) Len() int { return in.names.len() }

// Intern returns addr's id, giving it the next one if it is new. It panics
// past 2^32-1 addresses.
func (in *Interner) Intern(addr string) uint32 {
	if n := in.names.len() + 1; n > len(in.slots)/4*3 {
		in.grow(internerSize(n))
	}
	h := in.sum(addr)
	i, id, ok := in.find(h, addr)
	if ok {
		return id
	}
	id = in.names.add(addr)
	in.slots[i] = h>>32<<32 | (uint64(id) + 1)
	return id
}

// Lookup returns addr's id if it has one.
func (in *Interner) Lookup(addr string) (uint32, bool) {
	if len(in.slots) == 0 {
		return 0, false
	}
	_, id, ok := in.find(in.sum(addr), addr)
	return id, ok
}

// find returns addr's slot and id, or the empty slot where it would go.
func (in *Interner) find(h uint64, addr string) (slot int, id uint32, ok bool) {
	tag := h >> 32
	mask := uint64(len(in.slots) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		s := in.slots[i]
		if s == 0 {
			return int(i), 0, false
		}
		if s>>32 == tag && in.names.equal(uint32(s-1), addr) {
			return int(i), uint32(s - 1), true
		}
	}
}

func (in *Interner) grow(size int) {
	old := in.slots
	in.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := (s >> 32) & mask
		for in.slots[i] != 0 {
			i = (i + 1) & mask
		}
		in.slots[i] = s
	}
}

// Name returns the address with id id (a new string each call).
func (in *Interner) Name(id uint32) string { return in.names.get(id) }

func (in *Interner) sum(s string) uint64 {
	if in.hash != nil {
		return in.hash(s)
	}
	return maphash.String(in.seed, s)
}

// arena holds strings end to end in fixed chunks that are never
// reallocated, so growing it copies nothing, and it holds no pointers but
// the chunks'. A string of 64 lower-case hex digits (a txid) is kept as
// the 32 bytes it spells. A string of 64 KiB or more (never an address or
// a txid) is kept whole in long.
type arena struct {
	chunks [][]byte
	spans  []uint64 // chunk<<40 | spanHex? | offset<<16 | length, or index<<16 | spanLong
	long   []string
}

const (
	arenaChunk     = 1 << 20
	spanLong       = 1<<16 - 1 // the length field of a span naming long[index]
	spanHex        = 1 << 39   // above any offset: the bytes are a hex string's
	lowerHexDigits = "0123456789abcdef"
)

func (a *arena) len() int { return len(a.spans) }

func (a *arena) add(s string) uint32 {
	id := len(a.spans)
	if uint64(id) >= math.MaxUint32 {
		panic("heuristics: 2^32-1 strings interned, the limit of a uint32 id")
	}
	if len(s) >= spanLong {
		a.spans = append(a.spans, uint64(len(a.long))<<16|spanLong)
		a.long = append(a.long, s)
		return uint32(id)
	}
	var packed [32]byte
	hexed := len(s) == 64 && decodeLowerHex(packed[:], s)
	size := len(s)
	if hexed {
		size = len(packed)
	}
	n := len(a.chunks)
	if n == 0 || len(a.chunks[n-1])+size > arenaChunk {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
		n++
	}
	c := a.chunks[n-1]
	off := len(c)
	sp := uint64(n-1)<<40 | uint64(off)<<16 | uint64(size)
	if hexed {
		c = append(c, packed[:]...)
		sp |= spanHex
	} else {
		c = append(c, s...)
	}
	a.chunks[n-1] = c
	a.spans = append(a.spans, sp)
	return uint32(id)
}

// decodeLowerHex decodes s into dst if s is exactly 2*len(dst) lower-case
// hex digits (upper case would not survive the round trip).
func decodeLowerHex(dst []byte, s string) bool {
	nibble := func(c byte) (byte, bool) {
		switch {
		case '0' <= c && c <= '9':
			return c - '0', true
		case 'a' <= c && c <= 'f':
			return c - 'a' + 10, true
		}
		return 0, false
	}
	for i := range dst {
		hi, ok1 := nibble(s[2*i])
		lo, ok2 := nibble(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// raw returns the stored bytes of id and whether they are a hex string's,
// or, for a long string, nil and the string.
func (a *arena) raw(id uint32) (b []byte, hexed bool, long string) {
	sp := a.spans[id]
	n := sp & 0xffff
	if n == spanLong {
		return nil, false, a.long[sp>>16]
	}
	off := (sp >> 16) & (arenaChunk - 1)
	return a.chunks[sp>>40][off : off+n], sp&spanHex != 0, ""
}

func (a *arena) get(id uint32) string {
	b, hexed, long := a.raw(id)
	switch {
	case b == nil:
		return long
	case hexed:
		out := make([]byte, 2*len(b))
		for i, x := range b {
			out[2*i], out[2*i+1] = lowerHexDigits[x>>4], lowerHexDigits[x&15]
		}
		return string(out)
	}
	return string(b)
}

func (a *arena) equal(id uint32, s string) bool {
	b, hexed, long := a.raw(id)
	switch {
	case b == nil:
		return long == s
	case hexed:
		if len(s) != 2*len(b) {
			return false
		}
		for i, x := range b {
			if s[2*i] != lowerHexDigits[x>>4] || s[2*i+1] != lowerHexDigits[x&15] {
				return false
			}
		}
		return true
	}
	return string(b) == s // compared in place, not allocated
}
