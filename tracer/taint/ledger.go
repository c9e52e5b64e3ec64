package taint

import "math/big"

// Ledger is one address's holding of one asset on an account chain, under
// one model: haircut and TIHO keep a balance and a tainted balance per
// colour, poison the colours ever held, FIFO a queue of lots and LIFO a
// stack of them.
//
// The balance is what the walk has seen. An outflow beyond it was paid
// from funds the walk did not see, taken to be clean (taken last on the
// tape models). The tainted balance never exceeds the balance (the lowest
// intermediate balance rule): taint that left with an outflow is gone.
type Ledger struct {
	kind    Kind
	colours int
	source  int // the colour of a seed's ledger, Clean otherwise
	bal     *big.Int
	held    []*big.Int // haircut, TIHO: tainted balance per colour
	marked  []bool     // poison: colours ever held
	lots    []*tape    // FIFO, LIFO: each credit laid out (clean included), read from its start
	head    int        // FIFO: first lot still held
	tmp     big.Int    // working space
}

// NewLedger opens a ledger on an opening balance. A seed's ledger (source
// a colour) holds and receives nothing but its colour. held is the taint
// per colour the address is known to hold at opening (nil: none), capped
// by the balance; on the tape models it lies after the clean part.
func NewLedger(k Kind, colours int, opening *big.Int, source int, held []*big.Int) *Ledger {
	l := &Ledger{kind: k, colours: colours, source: source, bal: newNum()}
	switch k {
	case Poison:
		l.marked = make([]bool, colours)
	case Haircut, TIHO:
		l.held = zeros(colours)
	}
	if source >= 0 {
		l.add(opening, Seed(k, colours, source, opening))
		return l
	}
	init := Taint{ByColour: zeros(colours)}
	room := new(big.Int).Set(opening)
	var segs []Seg
	for c := 0; c < colours && c < len(held); c++ {
		if held[c] == nil || held[c].Sign() <= 0 || room.Sign() == 0 {
			continue
		}
		x := new(big.Int).Set(minBig(held[c], room))
		room.Sub(room, x)
		init.ByColour[c].Set(x)
		segs = append(segs, Seg{Len: x, Colour: c})
	}
	if k == Poison {
		for c := range init.ByColour {
			if init.ByColour[c].Sign() > 0 {
				init.ByColour[c].Set(opening)
			}
		}
	}
	if k.Tape() && len(segs) > 0 {
		// Two lots: the clean part, then the taint, as if it came last.
		l.add(room, Taint{ByColour: zeros(colours)})
		tainted := new(big.Int).Sub(opening, room)
		init.Segs = segs
		l.add(tainted, init)
		return l
	}
	l.add(opening, init)
	return l
}

// Balance is the balance as the walk has seen it.
func (l *Ledger) Balance() *big.Int { return new(big.Int).Set(l.bal) }

// Held is the tainted balance per colour (poison: the balance for every
// colour ever held).
func (l *Ledger) Held() []*big.Int {
	out := zeros(l.colours)
	switch l.kind {
	case Poison:
		for c, m := range l.marked {
			if m {
				out[c].Set(l.bal)
			}
		}
	case Haircut, TIHO:
		for c := range out {
			out[c].Set(l.held[c])
		}
	default:
		for i := l.head; i < len(l.lots); i++ {
			tp := l.lots[i]
			for j := tp.i; j < len(tp.segs); j++ {
				s := tp.segs[j]
				if s.Colour < 0 {
					continue
				}
				out[s.Colour].Add(out[s.Colour], s.Len)
				if j == tp.i {
					out[s.Colour].Sub(out[s.Colour], &tp.used)
				}
			}
		}
	}
	return out
}

// Credit records an inflow of amount carrying t (t as the sender's debit
// under the same model gave it).
func (l *Ledger) Credit(amount *big.Int, t Taint) {
	if amount.Sign() <= 0 {
		return
	}
	if l.source >= 0 {
		t = Seed(l.kind, l.colours, l.source, amount)
	}
	l.add(amount, t)
}

func (l *Ledger) add(amount *big.Int, t Taint) {
	l.bal.Add(l.bal, amount)
	switch l.kind {
	case Poison:
		for c := range l.marked {
			if t.Of(c).Sign() > 0 {
				l.marked[c] = true
			}
		}
	case Haircut, TIHO:
		sum := &l.tmp
		sum.SetInt64(0)
		for c := range l.held {
			if c < len(t.ByColour) && t.ByColour[c] != nil {
				l.held[c].Add(l.held[c], t.ByColour[c])
			}
			sum.Add(sum, l.held[c])
		}
		l.cap(sum)
	default:
		if amount.Sign() == 0 {
			return
		}
		segs := t.Segs
		if segs == nil {
			// A stretch keeps its length, which is never changed.
			segs = []Seg{{Len: amount, Colour: Clean}}
		}
		l.lots = append(l.lots, &tape{segs: segs})
	}
}

// cap keeps the tainted balance within the balance, taking the excess off
// the last colours first.
func (l *Ledger) cap(sum *big.Int) {
	if sum.Cmp(l.bal) <= 0 {
		return
	}
	over := new(big.Int).Sub(sum, l.bal)
	for c := len(l.held) - 1; c >= 0 && over.Sign() > 0; c-- {
		x := new(big.Int).Set(minBig(over, l.held[c]))
		l.held[c].Sub(l.held[c], x)
		over.Sub(over, x)
	}
}

// Debit records the address's outflows of this asset in one transaction,
// in exhibit order, and its fee (nil when it pays none in this asset),
// and returns the taint each carries.
func (l *Ledger) Debit(amounts []*big.Int, fee *big.Int) (outs []Taint, feeTaint Taint) {
	all := amounts
	if fee != nil {
		all = append(append(make([]*big.Int, 0, len(amounts)+1), amounts...), fee)
	}
	total := l.tmp.SetInt64(0)
	for _, a := range all {
		total.Add(total, a)
	}
	if l.bal.Cmp(total) < 0 {
		l.bal.Set(total) // unseen clean funds paid the difference
	}
	// One more than all: the fee's, zero, when there is no fee.
	got := newTaints(len(amounts)+1, l.colours)
	switch l.kind {
	case Poison:
		for i, a := range all {
			for c, m := range l.marked {
				if m {
					got[i].ByColour[c].Set(a)
				}
			}
		}
		l.bal.Sub(l.bal, total)
	case Haircut:
		for i, a := range all {
			if l.bal.Sign() > 0 {
				for c := range l.held {
					if l.held[c].Sign() == 0 {
						continue
					}
					x := got[i].ByColour[c]
					x.Mul(a, l.held[c])
					x.Quo(x, l.bal)
					l.held[c].Sub(l.held[c], x)
				}
			}
			l.bal.Sub(l.bal, a)
			if len(l.held) < 2 {
				continue // one colour's floor never leaves more than the balance
			}
			// With several colours the floors can leave the ledger a unit
			// or so more taint than balance: that excess leaves with the
			// outflow (it has the room: its clean part is at least the
			// ledger's clean balance before it).
			over := new(big.Int).Neg(l.bal)
			for _, h := range l.held {
				over.Add(over, h)
			}
			for c := 0; c < len(l.held) && over.Sign() > 0; c++ {
				x := new(big.Int).Set(minBig(over, l.held[c]))
				l.held[c].Sub(l.held[c], x)
				got[i].ByColour[c].Add(got[i].ByColour[c], x)
				over.Sub(over, x)
			}
		}
	case TIHO:
		room := copies(all)
		order := bySize(amounts)
		if fee != nil {
			order = append(order, len(amounts))
		}
		fill(l.held, order, room, got)
		for c := range l.held {
			for i := range all {
				l.held[c].Sub(l.held[c], got[i].ByColour[c])
			}
		}
		l.bal.Sub(l.bal, total)
	default:
		l.takeLots(all, got)
	}
	return got[:len(amounts):len(amounts)], got[len(amounts)]
}

// takeLots cuts each amount off the lots: the oldest first under FIFO, the
// newest first under LIFO, each lot from its start. Past the last lot the
// value is clean (funds the walk did not see).
func (l *Ledger) takeLots(all []*big.Int, got []Taint) {
	for i, a := range all {
		c := cut{t: got[i]}
		need := l.tmp.Set(a)
		for need.Sign() > 0 {
			tp := l.top()
			if tp == nil {
				break
			}
			tp.takeInto(need, &c)
			if tp.done() {
				l.drop()
			}
		}
		if need.Sign() > 0 {
			c.emit(newNum().Set(need), Clean)
		}
		got[i] = c.taint()
		l.bal.Sub(l.bal, a)
	}
}

// top is the lot the next outflow takes from (nil: none left).
func (l *Ledger) top() *tape {
	if l.head >= len(l.lots) {
		return nil
	}
	if l.kind == FIFO {
		return l.lots[l.head]
	}
	return l.lots[len(l.lots)-1]
}

// drop removes the used-up top lot.
func (l *Ledger) drop() {
	if l.kind == FIFO {
		l.lots[l.head] = nil
		l.head++
		if l.head == len(l.lots) {
			l.lots, l.head = l.lots[:0], 0
		} else if l.head > 64 && l.head*2 > len(l.lots) {
			l.lots = append(l.lots[:0], l.lots[l.head:]...)
			l.head = 0
		}
		return
	}
	l.lots[len(l.lots)-1] = nil
	l.lots = l.lots[:len(l.lots)-1]
}
