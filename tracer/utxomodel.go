package tracer

import (
	"math/big"
	"sort"
)

// TxModel is a taint model on a utxo chain: how one transaction's tainted
// inputs share their taint over its outputs and its fee (the tape of
// DESIGN.md). Inputs and outputs are in serialised order.
type TxModel interface {
	Name() string
	SplitTx(ins []Coin, outs []*big.Int, fee *big.Int) Split
}

// Coin is an input of a transaction: its value and the part of it that is
// tainted.
type Coin struct {
	Value, Taint *big.Int
}

// Split is how a model attributes a transaction's taint.
type Split struct {
	// TaintIn is the taint the inputs bring in, as the model counts it.
	TaintIn *big.Int
	// Outs is the taint of each output; Fee the taint the miner takes.
	// TaintIn = sum(Outs) + Fee, and no output's taint exceeds its value.
	Outs []*big.Int
	Fee  *big.Int
}

func sumCoins(ins []Coin) (value, taint *big.Int) {
	value, taint = new(big.Int), new(big.Int)
	for _, c := range ins {
		value.Add(value, c.Value)
		taint.Add(taint, c.Taint)
	}
	return value, taint
}

// SplitTx gives every output and the fee the same tainted share as the
// inputs: taint(o) = floor(value(o) * T / V), with T the inputs' taint and
// V their value. Flooring leaves a remainder of less than one satoshi per
// output; it goes to the fee, up to the fee's value, and what the fee
// cannot take to the largest outputs first (the earlier of equal ones),
// never past an output's value. So the taint reconciles to the satoshi.
func (Haircut) SplitTx(ins []Coin, outs []*big.Int, fee *big.Int) Split {
	v, t := sumCoins(ins)
	sp := Split{TaintIn: t, Outs: make([]*big.Int, len(outs)), Fee: new(big.Int)}
	rest := new(big.Int).Set(t)
	for i, o := range outs {
		sp.Outs[i] = new(big.Int)
		if v.Sign() > 0 && t.Sign() > 0 {
			sp.Outs[i].Mul(o, t)
			sp.Outs[i].Quo(sp.Outs[i], v)
		}
		rest.Sub(rest, sp.Outs[i])
	}
	if rest.Sign() <= 0 {
		return sp
	}
	sp.Fee.Set(minBig(rest, fee))
	rest.Sub(rest, sp.Fee)
	order := make([]int, len(outs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return outs[order[a]].Cmp(outs[order[b]]) > 0 })
	for _, i := range order {
		if rest.Sign() == 0 {
			break
		}
		room := new(big.Int).Sub(outs[i], sp.Outs[i])
		give := minBig(rest, room)
		sp.Outs[i].Add(sp.Outs[i], give)
		rest.Sub(rest, give)
	}
	return sp
}

// SplitTx makes a transaction with any tainted input wholly tainted: every
// output and the fee carry their full value, and the inputs are counted as
// tainted in full (the clean ones are poisoned by the mixing), so the taint
// reconciles as the value does.
func (Poison) SplitTx(ins []Coin, outs []*big.Int, fee *big.Int) Split {
	v, t := sumCoins(ins)
	sp := Split{TaintIn: new(big.Int), Outs: make([]*big.Int, len(outs)), Fee: new(big.Int)}
	tainted := t.Sign() > 0
	for i, o := range outs {
		sp.Outs[i] = new(big.Int)
		if tainted {
			sp.Outs[i].Set(o)
		}
	}
	if tainted {
		sp.TaintIn.Set(v)
		sp.Fee.Set(fee)
	}
	return sp
}

func minBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

var (
	_ TxModel = Haircut{}
	_ TxModel = Poison{}
)
