package taint

import (
	"fmt"
	"math/big"
	"slices"
)

// Coin is an input of a utxo transaction: its value and its taint under
// one model.
type Coin struct {
	Value *big.Int
	Taint Taint
}

// Split is how one model shares a transaction's taint.
type Split struct {
	// In is the taint the inputs bring, as the model counts it (poison:
	// the whole value in, for each colour present).
	In Taint
	// Outs is each output's taint, Fee the miner's; per colour,
	// In = sum(Outs) + Fee.
	Outs []Taint
	Fee  Taint
}

// SplitTx shares the taint of a transaction's inputs over its outputs (in
// serialised order) and its fee under model k, with colours colours. The
// value must balance: sum(ins) = sum(outs) + fee. A walk that splits many
// transactions uses a Splitter instead, which keeps its working space.
func SplitTx(k Kind, colours int, ins []Coin, outs []*big.Int, fee *big.Int) (Split, error) {
	return NewSplitter(colours).Split(k, ins, outs, fee)
}

// Splitter splits transactions with a fixed number of colours, reusing its
// working space from one call to the next; it is not safe for concurrent
// use. The splits it returns share nothing with it or with each other.
type Splitter struct {
	colours         int
	v, out, fee     *big.Int // the value in, the value out, the fee left to fill
	give            *big.Int
	rest, room, buf []*big.Int
	order           []int
	tp              tape
	slots           []Taint
}

// NewSplitter returns a Splitter for colours colours.
func NewSplitter(colours int) *Splitter {
	z := Zeros(4 + colours)
	return &Splitter{colours: colours, v: z[0], out: z[1], fee: z[2], give: z[3], rest: z[4:]}
}

// Split shares the inputs' taint under model k, as SplitTx.
func (s *Splitter) Split(k Kind, ins []Coin, outs []*big.Int, fee *big.Int) (Split, error) {
	s.v.SetInt64(0)
	for _, c := range ins {
		s.v.Add(s.v, c.Value)
	}
	s.out.Set(fee)
	for _, o := range outs {
		s.out.Add(s.out, o)
	}
	if s.v.Cmp(s.out) != 0 {
		return Split{}, fmt.Errorf("value in %s != value out and fee %s", s.v, s.out)
	}
	switch k {
	case Poison:
		return s.poison(ins, outs, fee), nil
	case Haircut:
		return s.haircut(ins, outs, fee), nil
	case FIFO, LIFO:
		return s.lay(k, ins, outs, fee), nil
	case TIHO:
		return s.tiho(ins, outs, fee), nil
	}
	return Split{}, fmt.Errorf("unknown taint model %v", k)
}

// newSplit is a split of n outputs, every figure zero, its numbers made
// in one go; In holds the sum of the inputs' taint per colour.
func (s *Splitter) newSplit(ins []Coin, n int) Split {
	ts := newTaints(n+2, s.colours)
	sp := Split{Outs: ts[:n:n], In: ts[n], Fee: ts[n+1]}
	for _, c := range ins {
		for i, x := range c.Taint.ByColour {
			if i < s.colours && x != nil && x.Sign() != 0 {
				sp.In.ByColour[i].Add(sp.In.ByColour[i], x)
			}
		}
	}
	return sp
}

// poison: every colour present in any input marks every output, the fee
// and the whole value in.
func (s *Splitter) poison(ins []Coin, outs []*big.Int, fee *big.Int) Split {
	sp := s.newSplit(ins, len(outs))
	for c, t := range sp.In.ByColour {
		if t.Sign() == 0 {
			continue
		}
		t.Set(s.v)
		for i, o := range outs {
			sp.Outs[i].ByColour[c].Set(o)
		}
		sp.Fee.ByColour[c].Set(fee)
	}
	return sp
}

// bySize orders the indexes of values from the largest, the earlier of
// equal ones first.
func bySize(values []*big.Int) []int {
	return sortBySize(make([]int, 0, len(values)+1), values)
}

// sortBySize is bySize into order's space.
func sortBySize(order []int, values []*big.Int) []int {
	order = order[:0]
	for i := range values {
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int { return values[b].Cmp(values[a]) })
	return order
}

// fill hands out taint per colour over slots in the given order, each slot
// up to its room.
func fill(t []*big.Int, order []int, room []*big.Int, slots []Taint) {
	left, give := new(big.Int), new(big.Int)
	for c := range t {
		left.Set(t[c])
		for _, i := range order {
			if left.Sign() == 0 {
				break
			}
			give.Set(minBig(left, room[i]))
			slots[i].ByColour[c].Add(slots[i].ByColour[c], give)
			room[i].Sub(room[i], give)
			left.Sub(left, give)
		}
	}
}

// roomFor sets s.room to copies of xs.
func (s *Splitter) roomFor(xs ...[]*big.Int) []*big.Int {
	n := 0
	for _, x := range xs {
		n += len(x)
	}
	if len(s.buf) < n {
		s.buf = Zeros(max(n, 2*len(s.buf)))
	}
	s.room = s.buf[:0]
	for _, x := range xs {
		for _, v := range x {
			s.room = append(s.room, s.buf[len(s.room)].Set(v))
		}
	}
	return s.room
}

// haircut: floor per output and colour; the remainder to the fee, then to
// the largest outputs (see the package comment).
func (s *Splitter) haircut(ins []Coin, outs []*big.Int, fee *big.Int) Split {
	sp := s.newSplit(ins, len(outs))
	t := sp.In.ByColour
	if !sp.In.Any() {
		return sp
	}
	room := s.roomFor(outs)
	for c := range t {
		rest := s.rest[c].Set(t[c])
		if t[c].Sign() == 0 {
			continue
		}
		for i, o := range outs {
			x := sp.Outs[i].ByColour[c]
			x.Mul(o, t[c])
			x.Quo(x, s.v)
			rest.Sub(rest, x)
			room[i].Sub(room[i], x)
		}
	}
	s.fee.Set(fee)
	var order []int
	give := s.give
	for c := range t {
		rest := s.rest[c]
		if rest.Sign() == 0 {
			continue
		}
		give.Set(minBig(rest, s.fee))
		sp.Fee.ByColour[c].Add(sp.Fee.ByColour[c], give)
		s.fee.Sub(s.fee, give)
		rest.Sub(rest, give)
		if order == nil && rest.Sign() > 0 {
			s.order = sortBySize(s.order, outs)
			order = s.order
		}
		for _, i := range order {
			if rest.Sign() == 0 {
				break
			}
			give.Set(minBig(rest, room[i]))
			sp.Outs[i].ByColour[c].Add(sp.Outs[i].ByColour[c], give)
			room[i].Sub(room[i], give)
			rest.Sub(rest, give)
		}
	}
	return sp
}

// lay lays the inputs end to end on a tape (reversed for LIFO); the
// outputs take the next slices, the fee the last.
func (s *Splitter) lay(k Kind, ins []Coin, outs []*big.Int, fee *big.Int) Split {
	sp := s.newSplit(ins, len(outs))
	if !sp.In.Any() {
		return sp
	}
	tp := &s.tp
	tp.segs, tp.i = tp.segs[:0], 0
	tp.used.SetInt64(0)
	for i := range ins {
		c := ins[i]
		if k == LIFO {
			c = ins[len(ins)-1-i]
		}
		tp.push(c.Value, c.Taint.Segs)
	}
	for i, o := range outs {
		sp.Outs[i] = tp.take(o, s.give, sp.Outs[i].ByColour)
	}
	sp.Fee = tp.take(fee, s.give, sp.Fee.ByColour)
	clear(tp.segs) // hold on to no coin's layout
	return sp
}

// tiho gives the tainted value to the largest outputs first and the fee
// last.
func (s *Splitter) tiho(ins []Coin, outs []*big.Int, fee *big.Int) Split {
	sp := s.newSplit(ins, len(outs))
	t := sp.In.ByColour
	if !sp.In.Any() {
		return sp
	}
	s.slots = append(append(s.slots[:0], sp.Outs...), sp.Fee)
	room := s.roomFor(outs, []*big.Int{fee})
	s.order = append(sortBySize(s.order, outs), len(outs))
	fill(t, s.order, room, s.slots)
	clear(s.slots)
	return sp
}
