package taint

import (
	"fmt"
	"math/big"
	"strings"
)

// Kind names a taint model.
type Kind uint8

// The five models of DESIGN.md.
const (
	Poison Kind = iota
	Haircut
	FIFO
	LIFO
	TIHO
)

var kindNames = [...]string{Poison: "poison", Haircut: "haircut", FIFO: "fifo", LIFO: "lifo", TIHO: "tiho"}

// Kinds lists every model.
var Kinds = []Kind{Poison, Haircut, FIFO, LIFO, TIHO}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Tape reports whether the model lays value out in order (FIFO, LIFO), so
// that a coin's taint has a place on it as well as an amount.
func (k Kind) Tape() bool { return k == FIFO || k == LIFO }

// ParseKind returns the model named s (case-insensitive).
func ParseKind(s string) (Kind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for k, n := range kindNames {
		if n == name {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown taint model %q (want poison, haircut, fifo, lifo or tiho)", s)
}

// ParseKinds parses one model or a comma list ("fifo,haircut,poison"): at
// least one, none twice, in the order given (the first is the primary).
func ParseKinds(s string) ([]Kind, error) {
	var out []Kind
	for _, part := range strings.Split(s, ",") {
		k, err := ParseKind(part)
		if err != nil {
			return nil, err
		}
		for _, have := range out {
			if have == k {
				return nil, fmt.Errorf("taint model %s named twice in %q", k, s)
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// Seg is a stretch of a coin or lot: Len base units of colour Colour, or
// clean when Colour < 0.
type Seg struct {
	Len    *big.Int
	Colour int
}

// Clean is the colour of a clean stretch.
const Clean = -1

// Taint is what one coin, transfer or fee carries under one model.
type Taint struct {
	// ByColour is the tainted amount of each colour (nil: none of any).
	ByColour []*big.Int
	// Segs lays the value out in order under FIFO and LIFO; nil means all
	// clean (and is all other models have).
	Segs []Seg
}

// Seed is a value wholly of one colour under model k.
func Seed(k Kind, colours, colour int, value *big.Int) Taint {
	t := Taint{ByColour: zeros(colours)}
	t.ByColour[colour].Set(value)
	if k.Tape() && value.Sign() > 0 {
		t.Segs = []Seg{{Len: new(big.Int).Set(value), Colour: colour}}
	}
	return t
}

func zeros(n int) []*big.Int { return Zeros(n) }

// copies returns fresh copies of xs, made in one go.
func copies(xs []*big.Int) []*big.Int {
	out := Zeros(len(xs))
	for i, x := range xs {
		out[i].Set(x)
	}
	return out
}

// newTaints returns n taints, every colour zero, their numbers made in
// one go.
func newTaints(n, colours int) []Taint {
	z := Zeros(n * colours)
	ts := make([]Taint, n)
	for i := range ts {
		ts[i].ByColour = z[i*colours : (i+1)*colours : (i+1)*colours]
	}
	return ts
}

// slabWords is the room each number of Zeros has before it must grow: four
// words hold the sums of ether amounts up to 2^128 wei and their products
// (the haircut's), and the same of bitcoin amounts with room to spare.
const slabWords = 4

// num is a number with room for slabWords words, in one allocation.
type num struct {
	i big.Int
	w [slabWords]big.Word
}

// newNum returns a zero number with room for slabWords words, made in one
// allocation where new(big.Int) and its first digits take two.
func newNum() *big.Int {
	n := new(num)
	return n.i.SetBits(n.w[:0])
}

// Zeros returns n distinct zero numbers made in three allocations, each
// with room for slabWords words, so that the sums and products the models
// make of amounts rarely allocate again. The numbers may be changed and
// grow freely; they share no digits.
func Zeros(n int) []*big.Int {
	if n == 0 {
		return nil
	}
	ints := make([]big.Int, n)
	words := make([]big.Word, n*slabWords)
	out := make([]*big.Int, n)
	for i := range out {
		lo := i * slabWords
		out[i] = ints[i].SetBits(words[lo : lo : lo+slabWords])
	}
	return out
}

// Of returns the tainted amount of colour c (zero when t has none).
func (t Taint) Of(c int) *big.Int {
	if c < len(t.ByColour) && t.ByColour[c] != nil {
		return t.ByColour[c]
	}
	return new(big.Int)
}

// Any reports whether t holds taint of any colour.
func (t Taint) Any() bool {
	for _, v := range t.ByColour {
		if v != nil && v.Sign() > 0 {
			return true
		}
	}
	return false
}

// Total is the tainted part of value under model k: the sum over colours,
// except under poison, where any colour marks the whole value.
func (t Taint) Total(k Kind, value *big.Int) *big.Int {
	if k == Poison {
		if t.Any() {
			return new(big.Int).Set(value)
		}
		return new(big.Int)
	}
	sum := new(big.Int)
	for _, v := range t.ByColour {
		if v != nil {
			sum.Add(sum, v)
		}
	}
	return sum
}

// Check verifies t against value under model k: no colour negative, the
// colours within value (each colour alone under poison), and a tape
// layout that covers value and agrees with the colours.
func (t Taint) Check(k Kind, value *big.Int) error {
	var sum *big.Int // of the colours, once a second one is tainted
	var first *big.Int
	for c, v := range t.ByColour {
		if v == nil {
			continue
		}
		if v.Sign() < 0 || v.Cmp(value) > 0 {
			return fmt.Errorf("%s: colour %d carries %s of %s", k, c, v, value)
		}
		if k == Poison && v.Sign() != 0 && v.Cmp(value) != 0 {
			return fmt.Errorf("poison: colour %d carries %s, not all or nothing of %s", c, v, value)
		}
		switch {
		case v.Sign() == 0:
		case first == nil:
			first = v
		case sum == nil:
			sum = new(big.Int).Add(first, v)
		default:
			sum.Add(sum, v)
		}
	}
	if k != Poison && sum != nil && sum.Cmp(value) > 0 {
		return fmt.Errorf("%s: taint %s exceeds the value %s", k, sum, value)
	}
	if t.Segs == nil {
		if k.Tape() && first != nil {
			return fmt.Errorf("%s: taint %s without a layout", k, t.Total(k, value))
		}
		return nil
	}
	var acc big.Int // one sum, reused: a check allocates little
	for _, s := range t.Segs {
		if s.Len.Sign() <= 0 {
			return fmt.Errorf("%s: empty or negative stretch %s", k, s.Len.String())
		}
		if s.Colour >= len(t.ByColour) {
			return fmt.Errorf("%s: stretch of colour %d, only %d colours", k, s.Colour, len(t.ByColour))
		}
		acc.Add(&acc, s.Len)
	}
	if acc.Cmp(value) != 0 {
		return fmt.Errorf("%s: layout covers %s of %s", k, acc.String(), value)
	}
	for c := range t.ByColour {
		acc.SetInt64(0)
		for _, s := range t.Segs {
			if s.Colour == c {
				acc.Add(&acc, s.Len)
			}
		}
		if acc.Cmp(t.Of(c)) != 0 {
			return fmt.Errorf("%s: layout holds %s of colour %d, the coin says %s", k, acc.String(), c, t.Of(c))
		}
	}
	return nil
}

// tape reads segments in order and cuts slices off its front.
type tape struct {
	segs []Seg
	i    int
	used big.Int // taken from segs[i]
}

// push appends a piece laid out as segs (nil: clean value) to the tape.
func (tp *tape) push(value *big.Int, segs []Seg) {
	if value.Sign() <= 0 {
		return
	}
	if segs == nil {
		tp.segs = append(tp.segs, Seg{Len: value, Colour: Clean})
		return
	}
	tp.segs = append(tp.segs, segs...)
}

// take cuts n off the tape's front into dst (zeros, one per colour): its
// layout, merged where colours repeat, and its taint per colour. Past the
// tape's end the value is clean. need is working space.
func (tp *tape) take(n, need *big.Int, dst []*big.Int) Taint {
	c := cut{t: Taint{ByColour: dst}}
	need.Set(n)
	tp.takeInto(need, &c)
	if need.Sign() > 0 {
		c.emit(newNum().Set(need), Clean)
	}
	return c.taint()
}

// done reports whether the tape is used up.
func (tp *tape) done() bool { return tp.i >= len(tp.segs) }

// takeInto cuts up to need off the tape's front into c, lowering need by
// what it took.
func (tp *tape) takeInto(need *big.Int, c *cut) {
	for need.Sign() > 0 && tp.i < len(tp.segs) {
		s := tp.segs[tp.i]
		if tp.used.Sign() == 0 && s.Len.Cmp(need) <= 0 { // the whole stretch
			c.emit(s.Len, s.Colour)
			need.Sub(need, s.Len)
			tp.i++
			continue
		}
		left := newNum().Sub(s.Len, &tp.used)
		if left.Cmp(need) <= 0 {
			c.emit(left, s.Colour)
			need.Sub(need, left)
			tp.i++
			tp.used.SetInt64(0)
			continue
		}
		c.emit(newNum().Set(need), s.Colour)
		tp.used.Add(&tp.used, need)
		need.SetInt64(0)
	}
}

// cut gathers what a take cuts: the layout and the taint per colour.
type cut struct {
	t       Taint
	segs    []Seg
	tainted bool
}

// emit appends a stretch of length l. The layout keeps l itself: l must
// not be changed afterwards (stretches are never changed in place; a
// merge makes a new length).
func (c *cut) emit(l *big.Int, colour int) {
	if colour >= 0 {
		c.t.ByColour[colour].Add(c.t.ByColour[colour], l)
		c.tainted = true
	}
	if k := len(c.segs); k > 0 && c.segs[k-1].Colour == colour {
		c.segs[k-1].Len = newNum().Add(c.segs[k-1].Len, l)
		return
	}
	c.segs = append(c.segs, Seg{Len: l, Colour: colour})
}

// taint is what was cut; the layout only when some of it is tainted.
func (c *cut) taint() Taint {
	if c.tainted {
		c.t.Segs = c.segs
	}
	return c.t
}

func minBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}
