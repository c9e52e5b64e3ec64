package tracer

import (
	"fmt"
	"math/big"
	"strings"
)

// Model is a taint model: how an address's outflows share its taint.
type Model interface {
	Name() string
	// Credit records an inflow of amount, of which taint is tainted.
	Credit(l *Ledger, amount, taint *big.Int)
	// Debit records an outflow of amount and returns the taint it carries.
	// The ledger's balance may be short of amount when funds arrived that
	// the walk could not see; the shortfall is taken to be clean.
	Debit(l *Ledger, amount *big.Int) (taint *big.Int)
}

// Ledger is one address's holding of one asset.
type Ledger struct {
	Balance *big.Int // the real balance, as far as the walk has seen it
	Taint   *big.Int // the tainted part (haircut), or what poison marks
	Source  bool     // a seed: everything it holds and receives is tainted
}

func newLedger(balance *big.Int, source bool) *Ledger {
	l := &Ledger{Balance: new(big.Int).Set(balance), Taint: new(big.Int), Source: source}
	if source {
		l.Taint.Set(balance)
	}
	return l
}

// ParseModel returns the named model. Only the models built so far are
// accepted; the others are named in the error.
func ParseModel(name string) (Model, error) {
	switch strings.ToLower(name) {
	case "haircut":
		return Haircut{}, nil
	case "poison":
		return Poison{}, nil
	case "fifo", "lifo", "tiho":
		return nil, fmt.Errorf("taint model %q is not built yet (available: haircut, poison)", name)
	}
	return nil, fmt.Errorf("unknown taint model %q (want haircut or poison)", name)
}

// Haircut gives every outflow the address's current tainted share:
// taint(out) = floor(out * tainted / balance). Flooring leaves the
// remainder with the address, so the tainted part never exceeds the
// balance and totals reconcile to the base unit.
type Haircut struct{}

func (Haircut) Name() string { return "haircut" }

func (Haircut) Credit(l *Ledger, amount, taint *big.Int) {
	l.Balance.Add(l.Balance, amount)
	if l.Source {
		taint = amount
	}
	l.Taint.Add(l.Taint, taint)
	if l.Taint.Cmp(l.Balance) > 0 {
		l.Taint.Set(l.Balance)
	}
}

func (Haircut) Debit(l *Ledger, amount *big.Int) *big.Int {
	if l.Balance.Cmp(amount) < 0 {
		// Unseen (clean) funds made up the difference.
		l.Balance.Set(amount)
	}
	t := new(big.Int)
	if l.Balance.Sign() > 0 && l.Taint.Sign() > 0 {
		t.Mul(amount, l.Taint)
		t.Quo(t, l.Balance)
	}
	l.Balance.Sub(l.Balance, amount)
	l.Taint.Sub(l.Taint, t)
	return t
}

// Poison makes every outflow of an address that ever held taint fully
// tainted. It is an upper bound, not an attribution: it answers "could any
// of this be stolen money", and overstates everything else.
type Poison struct{}

func (Poison) Name() string { return "poison" }

func (Poison) Credit(l *Ledger, amount, taint *big.Int) {
	l.Balance.Add(l.Balance, amount)
	if l.Source {
		taint = amount
	}
	l.Taint.Add(l.Taint, taint)
}

func (Poison) Debit(l *Ledger, amount *big.Int) *big.Int {
	if l.Balance.Cmp(amount) < 0 {
		l.Balance.Set(amount)
	}
	l.Balance.Sub(l.Balance, amount)
	if l.Taint.Sign() > 0 {
		return new(big.Int).Set(amount)
	}
	return new(big.Int)
}
