package taint

import (
	"fmt"
	"math/big"
	"sort"
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
// value must balance: sum(ins) = sum(outs) + fee.
func SplitTx(k Kind, colours int, ins []Coin, outs []*big.Int, fee *big.Int) (Split, error) {
	v := new(big.Int)
	for _, c := range ins {
		v.Add(v, c.Value)
	}
	out := new(big.Int).Set(fee)
	for _, o := range outs {
		out.Add(out, o)
	}
	if v.Cmp(out) != 0 {
		return Split{}, fmt.Errorf("value in %s != value out and fee %s", v, out)
	}
	switch k {
	case Poison:
		return splitPoison(colours, ins, outs, fee, v), nil
	case Haircut:
		return splitHaircut(colours, ins, outs, fee, v), nil
	case FIFO, LIFO:
		return splitTape(k, colours, ins, outs, fee), nil
	case TIHO:
		return splitTIHO(colours, ins, outs, fee), nil
	}
	return Split{}, fmt.Errorf("unknown taint model %v", k)
}

func sumTaint(colours int, ins []Coin) []*big.Int {
	t := zeros(colours)
	for _, c := range ins {
		for i := range t {
			t[i].Add(t[i], c.Taint.Of(i))
		}
	}
	return t
}

func newSplit(colours, n int) Split {
	sp := Split{In: Taint{ByColour: zeros(colours)}, Outs: make([]Taint, n), Fee: Taint{ByColour: zeros(colours)}}
	for i := range sp.Outs {
		sp.Outs[i] = Taint{ByColour: zeros(colours)}
	}
	return sp
}

// splitPoison: every colour present in any input marks every output, the
// fee and the whole value in.
func splitPoison(colours int, ins []Coin, outs []*big.Int, fee, v *big.Int) Split {
	sp := newSplit(colours, len(outs))
	t := sumTaint(colours, ins)
	for c := range t {
		if t[c].Sign() == 0 {
			continue
		}
		sp.In.ByColour[c].Set(v)
		for i, o := range outs {
			sp.Outs[i].ByColour[c].Set(o)
		}
		sp.Fee.ByColour[c].Set(fee)
	}
	return sp
}

// bySize orders indexes of values from the largest, the earlier of equal
// ones first.
func bySize(values []*big.Int) []int {
	order := make([]int, len(values))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return values[order[a]].Cmp(values[order[b]]) > 0 })
	return order
}

// splitHaircut: floor per output and colour; the remainder to the fee,
// then to the largest outputs (see the package comment).
func splitHaircut(colours int, ins []Coin, outs []*big.Int, fee, v *big.Int) Split {
	sp := newSplit(colours, len(outs))
	t := sumTaint(colours, ins)
	rest := zeros(colours)
	room := make([]*big.Int, len(outs))
	for i, o := range outs {
		room[i] = new(big.Int).Set(o)
	}
	for c := range t {
		sp.In.ByColour[c].Set(t[c])
		if t[c].Sign() == 0 {
			continue
		}
		rest[c].Set(t[c])
		for i, o := range outs {
			x := sp.Outs[i].ByColour[c]
			x.Mul(o, t[c])
			x.Quo(x, v)
			rest[c].Sub(rest[c], x)
			room[i].Sub(room[i], x)
		}
	}
	feeRoom := new(big.Int).Set(fee)
	order := bySize(outs)
	for c := range t {
		if rest[c].Sign() == 0 {
			continue
		}
		give := new(big.Int).Set(minBig(rest[c], feeRoom))
		sp.Fee.ByColour[c].Add(sp.Fee.ByColour[c], give)
		feeRoom.Sub(feeRoom, give)
		rest[c].Sub(rest[c], give)
		for _, i := range order {
			if rest[c].Sign() == 0 {
				break
			}
			give := new(big.Int).Set(minBig(rest[c], room[i]))
			sp.Outs[i].ByColour[c].Add(sp.Outs[i].ByColour[c], give)
			room[i].Sub(room[i], give)
			rest[c].Sub(rest[c], give)
		}
	}
	return sp
}

// splitTape lays the inputs end to end (reversed for LIFO); the outputs
// take the next slices, the fee the last.
func splitTape(k Kind, colours int, ins []Coin, outs []*big.Int, fee *big.Int) Split {
	sp := Split{In: Taint{ByColour: sumTaint(colours, ins)}, Outs: make([]Taint, len(outs))}
	tp := newTape()
	for i := range ins {
		c := ins[i]
		if k == LIFO {
			c = ins[len(ins)-1-i]
		}
		tp.push(c.Value, c.Taint.Segs)
	}
	for i, o := range outs {
		sp.Outs[i] = tp.take(o, colours)
	}
	sp.Fee = tp.take(fee, colours)
	return sp
}

// fill hands out taint per colour over slots in the given order, each slot
// up to its room.
func fill(t []*big.Int, order []int, room []*big.Int, slots []Taint) {
	for c := range t {
		left := new(big.Int).Set(t[c])
		for _, i := range order {
			if left.Sign() == 0 {
				break
			}
			give := new(big.Int).Set(minBig(left, room[i]))
			slots[i].ByColour[c].Add(slots[i].ByColour[c], give)
			room[i].Sub(room[i], give)
			left.Sub(left, give)
		}
	}
}

// splitTIHO gives the tainted value to the largest outputs first and the
// fee last.
func splitTIHO(colours int, ins []Coin, outs []*big.Int, fee *big.Int) Split {
	sp := newSplit(colours, len(outs))
	t := sumTaint(colours, ins)
	for c := range t {
		sp.In.ByColour[c].Set(t[c])
	}
	slots := append(append([]Taint{}, sp.Outs...), sp.Fee)
	room := make([]*big.Int, 0, len(outs)+1)
	for _, o := range outs {
		room = append(room, new(big.Int).Set(o))
	}
	room = append(room, new(big.Int).Set(fee))
	order := append(bySize(outs), len(outs))
	fill(t, order, room, slots)
	return sp
}
