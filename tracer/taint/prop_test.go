package taint

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"testing/quick"
)

// Property tests: random transaction graphs and ledgers, all five models
// side by side. Each quick.Check case is a seed for a whole random history.

var quickConfig = &quick.Config{MaxCount: 300}

// randValue draws small values (where rounding bites), satoshi-sized ones
// and values past 2^64 (wei, token base units).
func randValue(r *rand.Rand) *big.Int {
	switch r.IntN(4) {
	case 0:
		return big.NewInt(r.Int64N(20))
	case 1:
		return big.NewInt(r.Int64N(2_100_000_000_000_000))
	case 2:
		return big.NewInt(1 + r.Int64N(1000))
	}
	v := new(big.Int).Lsh(big.NewInt(1+r.Int64N(1<<40)), uint(r.IntN(80)))
	return v.Add(v, big.NewInt(r.Int64N(1000)))
}

// partition cuts v into n parts (zeros allowed).
func partition(r *rand.Rand, v *big.Int, n int) []*big.Int {
	cuts := make([]*big.Int, 0, n+1)
	cuts = append(cuts, new(big.Int), new(big.Int).Set(v))
	for i := 1; i < n; i++ {
		// v * u / 2^64 for a random 64-bit u: a cut anywhere in [0, v].
		c := new(big.Int).Mul(v, new(big.Int).SetUint64(r.Uint64()))
		c.Rsh(c, 64)
		if r.IntN(8) == 0 {
			c.Set(v) // an empty part
		}
		cuts = append(cuts, c)
	}
	slices.SortFunc(cuts, func(a, b *big.Int) int { return a.Cmp(b) })
	parts := make([]*big.Int, n)
	for i := range parts {
		parts[i] = new(big.Int).Sub(cuts[i+1], cuts[i])
	}
	return parts
}

// multiCoin is one output with its taint under every model.
type multiCoin struct {
	value *big.Int
	t     [5]Taint
}

func sumOf(xs []*big.Int) *big.Int {
	s := new(big.Int)
	for _, x := range xs {
		s.Add(s, x)
	}
	return s
}

// checkSplit checks one model's split of one transaction.
func checkSplit(k Kind, colours int, ins []Coin, outs []*big.Int, fee *big.Int, sp Split) error {
	v := new(big.Int)
	for _, c := range ins {
		v.Add(v, c.Value)
	}
	for c := 0; c < colours; c++ {
		in := new(big.Int)
		present := false
		for _, x := range ins {
			in.Add(in, x.Taint.Of(c))
			present = present || x.Taint.Of(c).Sign() > 0
		}
		if k == Poison && present {
			in.Set(v)
		}
		if sp.In.Of(c).Cmp(in) != 0 {
			return fmt.Errorf("%s colour %d: taint in %s, the inputs carry %s", k, c, sp.In.Of(c), in)
		}
		out := new(big.Int).Set(sp.Fee.Of(c))
		for _, o := range sp.Outs {
			out.Add(out, o.Of(c))
		}
		if out.Cmp(in) != 0 {
			return fmt.Errorf("%s colour %d: taint in %s, out and fee %s", k, c, in, out)
		}
	}
	total := new(big.Int).Set(sp.Fee.Total(k, fee))
	for i, o := range sp.Outs {
		if err := o.Check(k, outs[i]); err != nil {
			return fmt.Errorf("output %d: %v", i, err)
		}
		total.Add(total, o.Total(k, outs[i]))
	}
	if err := sp.Fee.Check(k, fee); err != nil {
		return fmt.Errorf("fee: %v", err)
	}
	if in := sp.In.Total(k, v); in.Cmp(total) != 0 {
		return fmt.Errorf("%s: total taint in %s, out and fee %s", k, in, total)
	}
	if in := sp.In.Total(k, v); in.Cmp(v) > 0 {
		return fmt.Errorf("%s: taint in %s above the value %s", k, in, v)
	}
	return nil
}

// TestPropertyUTXO plays random transaction graphs: seed coins of up to
// three colours, clean coins, and transactions spending any of them. Per
// transaction and model the taint is conserved per colour and in total,
// never above any value, laid out consistently; poison is at least every
// other model on every output; LIFO is FIFO on the inputs reversed.
func TestPropertyUTXO(t *testing.T) {
	txs := 0
	prop := func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 7))
		colours := 1 + r.IntN(3)
		var pool []multiCoin
		for i := 0; i < 2+r.IntN(6); i++ {
			c := multiCoin{value: randValue(r)}
			colour := r.IntN(colours+1) - 1
			for _, k := range Kinds {
				if colour >= 0 {
					c.t[k] = Seed(k, colours, colour, c.value)
				} else {
					c.t[k] = Taint{ByColour: zeros(colours)}
				}
			}
			pool = append(pool, c)
		}
		for step := 0; step < 12 && len(pool) > 0; step++ {
			r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
			n := 1 + r.IntN(min(4, len(pool)))
			spent := pool[:n]
			pool = append([]multiCoin{}, pool[n:]...)
			v := new(big.Int)
			for _, c := range spent {
				v.Add(v, c.value)
			}
			parts := partition(r, v, 2+r.IntN(5))
			fee, outs := parts[0], parts[1:]
			if r.IntN(3) == 0 { // a fee of zero, as block-filling transactions have
				outs[0].Add(outs[0], fee)
				fee = new(big.Int)
			}
			var got [5]Split
			for _, k := range Kinds {
				ins := make([]Coin, n)
				for i, c := range spent {
					ins[i] = Coin{Value: c.value, Taint: c.t[k]}
				}
				sp, err := SplitTx(k, colours, ins, outs, fee)
				if err != nil {
					t.Errorf("seed %d: %v", seed, err)
					return false
				}
				if err := checkSplit(k, colours, ins, outs, fee, sp); err != nil {
					t.Errorf("seed %d step %d: %v", seed, step, err)
					return false
				}
				got[k] = sp
				if k == LIFO {
					rev := slices.Clone(ins)
					slices.Reverse(rev)
					mirror, err := SplitTx(FIFO, colours, rev, outs, fee)
					if err != nil || !reflect.DeepEqual(mirror.Outs, sp.Outs) || !reflect.DeepEqual(mirror.Fee, sp.Fee) {
						t.Errorf("seed %d step %d: LIFO is not FIFO on the inputs reversed", seed, step)
						return false
					}
				}
			}
			for i, o := range outs {
				p := got[Poison].Outs[i].Total(Poison, o)
				for _, k := range Kinds {
					if x := got[k].Outs[i].Total(k, o); x.Cmp(p) > 0 {
						t.Errorf("seed %d: output %d carries %s under %s, more than poison's %s", seed, i, x, k, p)
						return false
					}
				}
				c := multiCoin{value: o}
				for _, k := range Kinds {
					c.t[k] = got[k].Outs[i]
				}
				pool = append(pool, c)
			}
			txs++
		}
		return true
	}
	if err := quick.Check(prop, quickConfig); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d random transactions, 5 models each", txs)
}

// account is one address under every model.
type account struct {
	l [5]*Ledger
}

func (a *account) held(k Kind) []*big.Int { return a.l[k].Held() }

// TestPropertyLedger plays random transfers between a few addresses, some
// of them seeds of different colours, every model side by side. Each
// debit group's taint equals what its ledger lost (conservation per
// colour, so nothing is created or destroyed on the way), no outflow
// carries more than its amount, no ledger holds more taint than its
// balance, and poison is at least every other model on every outflow.
func TestPropertyLedger(t *testing.T) {
	moves := 0
	prop := func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 11))
		colours := 1 + r.IntN(3)
		accts := make([]*account, 3+r.IntN(4))
		for i := range accts {
			src := Clean
			if i < colours && r.IntN(2) == 0 {
				src = i
			}
			opening := randValue(r)
			a := &account{}
			for _, k := range Kinds {
				a.l[k] = NewLedger(k, colours, opening, src, nil)
			}
			accts[i] = a
		}
		for step := 0; step < 30; step++ {
			from := accts[r.IntN(len(accts))]
			n := 1 + r.IntN(3)
			amounts := make([]*big.Int, n)
			for i := range amounts {
				amounts[i] = randValue(r)
			}
			var fee *big.Int
			if r.IntN(2) == 0 {
				fee = big.NewInt(r.Int64N(1000))
			}
			to := make([]*account, n)
			for i := range to {
				to[i] = accts[r.IntN(len(accts))]
			}
			var outs [5][]Taint
			for _, k := range Kinds {
				l := from.l[k]
				before := from.held(k)
				o, f := l.Debit(amounts, fee)
				outs[k] = o
				after := from.held(k)
				for i, x := range o {
					if err := x.Check(k, amounts[i]); err != nil {
						t.Errorf("seed %d step %d: %v", seed, step, err)
						return false
					}
				}
				if fee != nil {
					if err := f.Check(k, fee); err != nil {
						t.Errorf("seed %d step %d: fee: %v", seed, step, err)
						return false
					}
				}
				if k != Poison && l.source < 0 {
					for c := 0; c < colours; c++ {
						lost := new(big.Int).Sub(before[c], after[c])
						gone := new(big.Int).Set(f.Of(c))
						for _, x := range o {
							gone.Add(gone, x.Of(c))
						}
						if lost.Cmp(gone) != 0 {
							t.Errorf("seed %d step %d: %s colour %d: the ledger lost %s, the outflows carry %s", seed, step, k, c, lost, gone)
							return false
						}
					}
				}
				sum := new(big.Int)
				for _, h := range after {
					sum.Add(sum, h)
				}
				if k != Poison && sum.Cmp(l.Balance()) > 0 {
					t.Errorf("seed %d step %d: %s holds %s tainted of a balance of %s", seed, step, k, sum, l.Balance())
					return false
				}
			}
			for i := range amounts {
				p := outs[Poison][i].Total(Poison, amounts[i])
				for _, k := range Kinds {
					if x := outs[k][i].Total(k, amounts[i]); x.Cmp(p) > 0 {
						t.Errorf("seed %d step %d: outflow %d carries %s under %s, more than poison's %s", seed, step, i, x, k, p)
						return false
					}
				}
			}
			for i, dst := range to {
				for _, k := range Kinds {
					before := dst.held(k)
					dst.l[k].Credit(amounts[i], outs[k][i])
					if k == Poison || dst.l[k].source >= 0 {
						continue
					}
					after := dst.held(k)
					for c := 0; c < colours; c++ {
						if new(big.Int).Sub(after[c], before[c]).Cmp(outs[k][i].Of(c)) != 0 {
							t.Errorf("seed %d step %d: %s colour %d: a credit of %s taint moved the ledger from %s to %s", seed, step, k, c, outs[k][i].Of(c), before[c], after[c])
							return false
						}
					}
				}
			}
			moves++
		}
		return true
	}
	if err := quick.Check(prop, quickConfig); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d random debit groups, 5 models each", moves)
}

// TestPropertyLedgerMirror: lots credited in one order and read LIFO give
// what they give read FIFO when credited in the reverse order.
func TestPropertyLedgerMirror(t *testing.T) {
	prop := func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 13))
		colours := 1 + r.IntN(3)
		type credit struct {
			amount *big.Int
			t      Taint
		}
		var credits []credit
		total := new(big.Int)
		for i := 0; i < 1+r.IntN(6); i++ {
			a := randValue(r)
			var tt Taint
			if c := r.IntN(colours+1) - 1; c >= 0 {
				tt = Seed(FIFO, colours, c, a)
			} else {
				tt = Taint{ByColour: zeros(colours)}
			}
			credits = append(credits, credit{a, tt})
			total.Add(total, a)
		}
		lifo := NewLedger(LIFO, colours, new(big.Int), Clean, nil)
		fifo := NewLedger(FIFO, colours, new(big.Int), Clean, nil)
		for i := range credits {
			lifo.Credit(credits[i].amount, credits[i].t)
			c := credits[len(credits)-1-i]
			fifo.Credit(c.amount, c.t)
		}
		amounts := partition(r, total, 1+r.IntN(4))
		a, af := lifo.Debit(amounts, nil)
		b, bf := fifo.Debit(amounts, nil)
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(af, bf) {
			t.Errorf("seed %d: LIFO %v, FIFO reversed %v", seed, a, b)
			return false
		}
		return true
	}
	if err := quick.Check(prop, quickConfig); err != nil {
		t.Fatal(err)
	}
}
