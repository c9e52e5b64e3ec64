package heuristics

import (
	"iter"
	"math"
)

// The multi-input (common-input ownership) heuristic as method.heuristics
// names it.
const (
	MultiInputName    = "multi-input"
	MultiInputVersion = "1"
)

// ClusterTx is what multi-input clustering reads of a transaction: a plain
// value the caller fills from its own model (for chains.Tx, InputAddrs[i]
// is Inputs[i].Address).
type ClusterTx struct {
	TxID     string
	Coinbase bool
	// InputAddrs holds the address each input spends from, in input order;
	// an address may repeat. An empty string (an input whose address is not
	// known) takes no part.
	InputAddrs []string
	// Tx is the whole transaction where the caller has it, for a SkipTx
	// that needs more than the inputs' addresses (the CoinJoin rules read
	// the outputs); clustering itself reads only the fields above.
	Tx *Tx
}

// ClusterTxOf returns what clustering reads of tx, with tx itself for
// SkipTx.
func ClusterTxOf(tx *Tx) ClusterTx {
	c := ClusterTx{TxID: tx.TxID, Coinbase: tx.Coinbase, InputAddrs: make([]string, len(tx.Inputs)), Tx: tx}
	for i, in := range tx.Inputs {
		c.InputAddrs[i] = in.Address
	}
	return c
}

// MultiInputOptions configures MultiInput.
type MultiInputOptions struct {
	// SkipTx, when set, is asked about every transaction with two or more
	// known input addresses before anything is merged; a transaction it
	// skips merges nothing and is recorded with its reason. The CoinJoin
	// detector plugs in here (func(c ClusterTx) (bool, string) { return
	// d.SkipTx(c.Tx) }): the inputs of a CoinJoin belong to different
	// people, and one merge through it would wrongly join everything
	// behind it.
	SkipTx func(ClusterTx) (skip bool, reason string)
	// SkipRule names SkipTx in the parameters (for example "coinjoin/1");
	// empty with SkipTx set reads "custom".
	SkipRule string
	// HoldAbove, when positive, holds a merge that would join two clusters
	// each larger than this many addresses: it is recorded as Held and
	// applied only by Apply, after review. Such a merge is where a single
	// misread transaction does the most damage.
	HoldAbove int
}

// Merge is one applied merge: transaction TxID spent from A and from B,
// which were in different clusters of SizeA and SizeB addresses just
// before. A is the transaction's first input address, B the first of its
// input addresses in the other cluster.
type Merge struct {
	TxID         string
	A, B         string
	SizeA, SizeB int
}

// Held is a merge that would have joined two clusters both larger than
// HoldAbove: transaction TxID spent from A and B, whose clusters then had
// SizeA and SizeB addresses.
type Held struct {
	TxID         string
	A, B         string
	SizeA, SizeB int
}

// Skipped is a transaction SkipTx kept out of clustering, and why.
type Skipped struct {
	TxID   string
	Reason string
}

// AddResult says what Add did with one transaction.
type AddResult struct {
	Merges  int    // merges applied
	Held    int    // merges held for review
	Skipped bool   // SkipTx skipped it
	Reason  string // SkipTx's reason
}

// MultiInput clusters addresses by common-input ownership: every input
// address of a non-coinbase transaction belongs to one owner. Feed it
// transactions in chain order with Add. Every applied merge is logged with
// its transaction, so Path can show which transactions link any two
// addresses of a cluster; the merge graph is a forest (each merge joins two
// clusters), so that chain is unique.
type MultiInput struct {
	opts    MultiInputOptions
	names   *Interner
	uf      UnionFind
	txids   arena       // the transactions the merge records name
	merges  mergeLog    // in the order applied
	held    []Held      // in the order met
	skipped []Skipped   // in the order met
	ids     []uint32    // scratch: this transaction's input address ids
	heldAt  []uint32    // scratch: roots held against in this transaction
	adj     *mergeGraph // built by Path, dropped when merges grows
}

// mergeRec is a Merge in 20 bytes: the transaction as its index in txids,
// the addresses as ids.
type mergeRec struct {
	tx, a, b     uint32
	sizeA, sizeB uint32
}

// mergeLog holds the merge records in fixed chunks: at millions of merges
// a growing slice would keep a quarter of its size spare and copy itself
// whole, briefly doubling, each time it grows.
type mergeLog struct {
	chunks [][]mergeRec
	n      int
}

const mergeChunk = 1 << 16

func (l *mergeLog) len() int { return l.n }

func (l *mergeLog) add(r mergeRec) {
	if l.n%mergeChunk == 0 {
		l.chunks = append(l.chunks, make([]mergeRec, 0, mergeChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, r)
	l.n++
}

func (l *mergeLog) at(i int) mergeRec { return l.chunks[i/mergeChunk][i%mergeChunk] }

var _ Heuristic = (*MultiInput)(nil)

// NewMultiInput returns an empty clustering.
func NewMultiInput(opts MultiInputOptions) *MultiInput {
	return &MultiInput{opts: opts, names: NewInterner(0)}
}

// Info names the heuristic and its parameters for method.heuristics.
func (m *MultiInput) Info() Info {
	skip := "none"
	if m.opts.SkipTx != nil {
		skip = m.opts.SkipRule
		if skip == "" {
			skip = "custom"
		}
	}
	return Info{Name: MultiInputName, Version: MultiInputVersion, Params: map[string]any{
		"hold_above": m.opts.HoldAbove,
		"skip_tx":    skip,
	}}
}

// Add clusters the input addresses of tx. Every input address becomes
// known (a cluster of its own if nothing joins it), including those of a
// skipped transaction; a coinbase transaction is ignored.
func (m *MultiInput) Add(tx ClusterTx) AddResult {
	if tx.Coinbase {
		return AddResult{}
	}
	ids := m.ids[:0]
	for _, a := range tx.InputAddrs {
		if a == "" {
			continue
		}
		id := m.names.Intern(a)
		if int(id) == m.uf.Len() {
			m.uf.Add()
		}
		ids = append(ids, id)
	}
	m.ids = ids
	if len(ids) < 2 {
		return AddResult{}
	}
	if m.opts.SkipTx != nil {
		if skip, reason := m.opts.SkipTx(tx); skip {
			m.skipped = append(m.skipped, Skipped{TxID: tx.TxID, Reason: reason})
			return AddResult{Skipped: true, Reason: reason}
		}
	}
	var res AddResult
	txIndex := -1 // its index in txids, once it has a record
	record := func() uint32 {
		if txIndex < 0 {
			txIndex = int(m.txids.add(tx.TxID))
		}
		return uint32(txIndex)
	}
	var hold uint32 // 0: hold nothing
	if m.opts.HoldAbove > 0 && int64(m.opts.HoldAbove) < math.MaxUint32 {
		hold = uint32(m.opts.HoldAbove)
	}
	heldAt := m.heldAt[:0]
	a := ids[0]
	acc := m.uf.Find(a)
	for _, b := range ids[1:] {
		rb := m.uf.Find(b)
		if rb == acc || heldAgainst(heldAt, rb) {
			continue
		}
		sa, sb := m.uf.size[acc], m.uf.size[rb]
		if hold > 0 && sa > hold && sb > hold {
			m.held = append(m.held, Held{TxID: tx.TxID, A: m.names.Name(a), B: m.names.Name(b), SizeA: int(sa), SizeB: int(sb)})
			heldAt = append(heldAt, rb)
			res.Held++
			continue
		}
		acc, _ = m.uf.Union(acc, rb)
		m.merges.add(mergeRec{tx: record(), a: a, b: b, sizeA: sa, sizeB: sb})
		res.Merges++
	}
	m.heldAt = heldAt
	return res
}

func heldAgainst(xs []uint32, x uint32) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Apply applies a held merge after review, logging it with the held
// transaction. It reports false, and logs nothing, when the two addresses
// are already in one cluster or one of them is unknown.
func (m *MultiInput) Apply(h Held) (Merge, bool) {
	a, okA := m.names.Lookup(h.A)
	b, okB := m.names.Lookup(h.B)
	if !okA || !okB {
		return Merge{}, false
	}
	ra, rb := m.uf.Find(a), m.uf.Find(b)
	if ra == rb {
		return Merge{}, false
	}
	rec := mergeRec{tx: m.txids.add(h.TxID), a: a, b: b, sizeA: m.uf.size[ra], sizeB: m.uf.size[rb]}
	m.uf.Union(ra, rb)
	m.merges.add(rec)
	return m.merge(rec), true
}

// Held returns the merges held for review, in the order met (applying one
// does not remove it).
func (m *MultiInput) Held() []Held { return append([]Held(nil), m.held...) }

// Skipped returns the transactions SkipTx skipped, in the order met.
func (m *MultiInput) Skipped() []Skipped { return append([]Skipped(nil), m.skipped...) }

// NumMerges is the number of merges applied.
func (m *MultiInput) NumMerges() int { return m.merges.len() }

// Merges yields the applied merges in the order applied.
func (m *MultiInput) Merges() iter.Seq[Merge] {
	return func(yield func(Merge) bool) {
		for i := range m.merges.len() {
			if !yield(m.merge(m.merges.at(i))) {
				return
			}
		}
	}
}

func (m *MultiInput) merge(r mergeRec) Merge {
	return Merge{TxID: m.txids.get(r.tx), A: m.names.Name(r.a), B: m.names.Name(r.b), SizeA: int(r.sizeA), SizeB: int(r.sizeB)}
}

// Len is the number of distinct addresses seen.
func (m *MultiInput) Len() int { return m.uf.Len() }

// ClusterID returns a number shared by every address of addr's cluster, and
// false for an address never seen. It identifies the cluster only until the
// next merge.
func (m *MultiInput) ClusterID(addr string) (uint32, bool) {
	id, ok := m.names.Lookup(addr)
	if !ok {
		return 0, false
	}
	return m.uf.Find(id), true
}

// ClusterSize is the number of addresses in addr's cluster: 0 for an
// address never seen.
func (m *MultiInput) ClusterSize(addr string) int {
	id, ok := m.names.Lookup(addr)
	if !ok {
		return 0
	}
	return m.uf.Size(id)
}

// Same reports whether a and b are in one cluster.
func (m *MultiInput) Same(a, b string) bool {
	ia, okA := m.names.Lookup(a)
	ib, okB := m.names.Lookup(b)
	return okA && okB && m.uf.Find(ia) == m.uf.Find(ib)
}

// Members returns the addresses of addr's cluster in order of first
// sight. It reads every address seen: for an exhibit, not a loop.
func (m *MultiInput) Members(addr string) []string {
	id, ok := m.names.Lookup(addr)
	if !ok {
		return nil
	}
	root := m.uf.Find(id)
	var out []string
	for i := range uint32(m.uf.Len()) {
		if m.uf.Find(i) == root {
			out = append(out, m.names.Name(i))
		}
	}
	return out
}

// Path returns the merges linking a to b, in order from a: merge i joined
// the address reached so far with the next one. It is nil when a and b are
// not in one cluster (or one is unknown), and empty when a == b.
func (m *MultiInput) Path(a, b string) []Merge {
	ia, okA := m.names.Lookup(a)
	ib, okB := m.names.Lookup(b)
	if !okA || !okB || m.uf.Find(ia) != m.uf.Find(ib) {
		return nil
	}
	if ia == ib {
		return []Merge{}
	}
	if m.adj == nil || m.adj.merges != m.merges.len() {
		m.adj = newMergeGraph(m.uf.Len(), &m.merges)
	}
	// Breadth-first from a; via[x] is the merge that reached x.
	via := map[uint32]uint32{ia: math.MaxUint32}
	queue := []uint32{ia}
	for len(queue) > 0 && !reached(via, ib) {
		x := queue[0]
		queue = queue[1:]
		for _, e := range m.adj.edges(x) {
			r := m.merges.at(int(e))
			y := r.a
			if y == x {
				y = r.b
			}
			if !reached(via, y) {
				via[y] = e
				queue = append(queue, y)
			}
		}
	}
	var rev []Merge
	for x := ib; x != ia; {
		r := m.merges.at(int(via[x]))
		rev = append(rev, m.merge(r))
		if r.a == x {
			x = r.b
		} else {
			x = r.a
		}
	}
	out := make([]Merge, len(rev))
	for i, g := range rev {
		out[len(rev)-1-i] = g
	}
	return out
}

func reached(m map[uint32]uint32, k uint32) bool {
	_, ok := m[k]
	return ok
}

// mergeGraph is the merge log as adjacency lists in compressed form: the
// merges touching address x are list[start[x]:start[x+1]].
type mergeGraph struct {
	merges int
	start  []uint32
	list   []uint32
}

func newMergeGraph(n int, merges *mergeLog) *mergeGraph {
	g := &mergeGraph{merges: merges.len(), start: make([]uint32, n+1), list: make([]uint32, 2*merges.len())}
	for i := range merges.len() {
		r := merges.at(i)
		g.start[r.a+1]++
		g.start[r.b+1]++
	}
	for i := 1; i <= n; i++ {
		g.start[i] += g.start[i-1]
	}
	fill := append([]uint32(nil), g.start[:n]...)
	for i := range merges.len() {
		r := merges.at(i)
		for _, x := range []uint32{r.a, r.b} {
			g.list[fill[x]] = uint32(i)
			fill[x]++
		}
	}
	return g
}

func (g *mergeGraph) edges(x uint32) []uint32 { return g.list[g.start[x]:g.start[x+1]] }

// Synthetic is a deterministic synthetic workload for clustering
// benchmarks (bench cluster and the Go benchmarks): transactions shaped
// like Bitcoin's, with the true owner of every address, so a run can count
// false merges. Most transactions have one or two inputs from one user's
// wallet, new or reused addresses; a few are exchanges' consolidations of
// hundreds of deposit addresses (and, rarely, of both of an exchange's two
// wallets at once, which joins two large clusters); about one in a
// thousand is a CoinJoin of 5 to 100 inputs from unrelated owners.
type Synthetic struct {
	Inputs []uint32 // input address ids, transaction after transaction
	Ends   []uint32 // Ends[i] is the end of transaction i's inputs in Inputs
	Owner  []uint32 // the entity holding each address's key
	cj     []uint64 // bit set: transactions that are CoinJoins
	nCJ    int
	prev   []uint32 // generation only: the wallet's previous address
}

// Synthetic's shape: kinds of transaction per 100,000, and percentages.
const (
	synthCoinJoin     = 90             // CoinJoins
	synthConsolidate  = 250            // exchange consolidations
	synthPayout       = 2000           // exchange hot-wallet payments
	synthExchanges    = 16             // exchanges, each with two wallets (entities 0-15)
	synthNewUser      = 45             // percent of user transactions by a new user
	synthReuse        = 25             // percent of a user's inputs from an address it used before
	synthBothWallets  = 2              // percent of consolidations that spend from both wallets
	synthNoAddress    = math.MaxUint32 // the head of a wallet with no address yet
	synthAddressBytes = 42
)

// NewSynthetic generates transactions until they hold at least inputs
// inputs; the same arguments give the same workload.
func NewSynthetic(inputs int, seed uint64) *Synthetic {
	r := splitMix(seed)
	s := &Synthetic{
		Inputs: make([]uint32, 0, inputs+1000),
		Owner:  make([]uint32, 0, inputs*3/4),
		prev:   make([]uint32, 0, inputs*3/4),
	}
	// Wallets 0..2*synthExchanges-1 are the exchanges' (wallet w is entity
	// w/2); users' wallets follow, one each, entity = wallet - synthExchanges.
	var head []uint32 // last address of each wallet
	for range 2 * synthExchanges {
		head = append(head, synthNoAddress)
	}
	entityOf := func(w uint32) uint32 {
		if w < 2*synthExchanges {
			return w / 2
		}
		return w - synthExchanges
	}
	var walletOf []uint32 // generation-only, per address
	fresh := func(w uint32) uint32 {
		id := uint32(len(s.Owner))
		s.Owner = append(s.Owner, entityOf(w))
		s.prev = append(s.prev, head[w])
		walletOf = append(walletOf, w)
		head[w] = id
		return id
	}
	// reuse returns an address wallet w used before this transaction (from
	// is its latest then), a few steps back, or a fresh one if it had none.
	reuse := func(w, from uint32) uint32 {
		a := from
		if a == synthNoAddress {
			return fresh(w)
		}
		for k := r.next() % 4; k > 0 && s.prev[a] != synthNoAddress; k-- {
			a = s.prev[a]
		}
		return a
	}
	for len(s.Inputs) < inputs {
		tx := len(s.Ends)
		u := r.next() % 100_000
		switch {
		case u < synthCoinJoin && len(s.Owner) > 1000:
			n := 5 + int(r.next()%96)
			for range n {
				s.Inputs = append(s.Inputs, uint32(r.next()%uint64(len(s.Owner))))
			}
			s.markCoinJoin(tx)
		case u < synthCoinJoin+synthConsolidate:
			// One wallet of an exchange, or now and then both of them.
			w := uint32(r.next() % (2 * synthExchanges))
			both := r.next()%100 < synthBothWallets
			n := 50 + int(r.next()%451)
			pair := w &^ 1
			from := [2]uint32{head[pair], head[pair+1]}
			for i := range n {
				wi := w
				if both {
					wi = pair + uint32(i%2)
				}
				if r.next()%100 < 15 || (both && i < 2) {
					s.Inputs = append(s.Inputs, reuse(wi, from[wi-pair]))
				} else {
					s.Inputs = append(s.Inputs, fresh(wi))
				}
			}
		case u < synthCoinJoin+synthConsolidate+synthPayout:
			w := uint32(r.next() % (2 * synthExchanges))
			for range 1 + int(r.next()%3) {
				s.Inputs = append(s.Inputs, reuse(w, head[w]))
			}
		default:
			w := uint32(len(head)) // a new user, unless a user's address is drawn
			if r.next()%100 >= synthNewUser && len(s.Owner) > 0 {
				if v := walletOf[r.next()%uint64(len(s.Owner))]; v >= 2*synthExchanges {
					w = v
				}
			}
			if w == uint32(len(head)) {
				head = append(head, synthNoAddress)
			}
			from := head[w]
			var n int
			switch v := r.next() % 100; {
			case v < 62:
				n = 1
			case v < 88:
				n = 2
			case v < 97:
				n = 3 + int(r.next()%3)
			default:
				n = 6 + int(r.next()%15)
			}
			for range n {
				if r.next()%100 < synthReuse {
					s.Inputs = append(s.Inputs, reuse(w, from))
				} else {
					s.Inputs = append(s.Inputs, fresh(w))
				}
			}
		}
		s.Ends = append(s.Ends, uint32(len(s.Inputs)))
	}
	return s
}

func (s *Synthetic) markCoinJoin(tx int) {
	for len(s.cj) <= tx/64 {
		s.cj = append(s.cj, 0)
	}
	s.cj[tx/64] |= 1 << (tx % 64)
	s.nCJ++
}

// NumTxs is the number of transactions.
func (s *Synthetic) NumTxs() int { return len(s.Ends) }

// NumAddresses is the number of distinct addresses.
func (s *Synthetic) NumAddresses() int { return len(s.Owner) }

// NumCoinJoins is the number of CoinJoin transactions.
func (s *Synthetic) NumCoinJoins() int { return s.nCJ }

// TxInputs returns the input address ids of transaction i.
func (s *Synthetic) TxInputs(i int) []uint32 {
	start := uint32(0)
	if i > 0 {
		start = s.Ends[i-1]
	}
	return s.Inputs[start:s.Ends[i]]
}

// IsCoinJoin reports whether transaction i is a CoinJoin.
func (s *Synthetic) IsCoinJoin(i int) bool {
	return i/64 < len(s.cj) && s.cj[i/64]&(1<<(i%64)) != 0
}

// Scratch returns a slice of NumAddresses() uint32s that generation no
// longer needs, for a caller's bookkeeping after a run (counting false
// merges without allocating as much again).
func (s *Synthetic) Scratch() []uint32 { return s.prev }

const bech32Chars = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// Address returns address id as a 42-character string shaped like a P2WPKH
// address: "bc1q", the id in 7 characters, then 31 characters derived from
// it. AddressID reverses it.
func (s *Synthetic) Address(id uint32) string {
	var b [synthAddressBytes]byte
	copy(b[:], "bc1q")
	for i := range 7 {
		b[4+i] = bech32Chars[(id>>(5*(6-i)))&31]
	}
	x := uint64(id)*0x9e3779b97f4a7c15 + 1
	for i := 11; i < synthAddressBytes; i++ {
		if (i-11)%12 == 0 {
			x = mix64(x)
		}
		b[i] = bech32Chars[x&31]
		x >>= 5
	}
	return string(b[:])
}

// AddressID returns the id of an address Address made.
func (s *Synthetic) AddressID(a string) uint32 {
	var id uint32
	for i := range 7 {
		id = id<<5 | uint32(bech32Pos[a[4+i]])
	}
	return id
}

var bech32Pos = func() (p [256]byte) {
	for i := range len(bech32Chars) {
		p[bech32Chars[i]] = byte(i)
	}
	return p
}()

// TxID returns transaction i's id: 64 hex digits.
func (s *Synthetic) TxID(i int) string {
	var b [64]byte
	x := uint64(i)
	for w := range 4 {
		x = mix64(x + uint64(w))
		for j := range 16 {
			b[w*16+j] = lowerHexDigits[(x>>(4*j))&15]
		}
	}
	return string(b[:])
}

// splitMix is SplitMix64: a fixed, fast generator, so that the workload
// is the same on every Go version.
type splitMixState struct{ x uint64 }

func splitMix(seed uint64) *splitMixState { return &splitMixState{x: seed} }

func (s *splitMixState) next() uint64 {
	s.x += 0x9e3779b97f4a7c15
	return mix64(s.x)
}

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
