package heuristics

import (
	"context"
	"errors"
)

// NamePeelChain names the peel-chain detector.
const NamePeelChain = "peel_chain"

// PeelChain detects peel chains (DESIGN.md): a run of 1-input, 2-output
// transactions in which the larger output of each is the input of the next.
// The small outputs are the "peels" (payments); the large one carries the
// rest on.
//
// A transaction is part of a peel chain (IsPeelingChain) when it has that
// shape and is linked to a neighbour of that shape through its larger
// output: its input spends the larger output of a peel-shaped transaction,
// or its larger output is spent by one. This is BlockSci's is_peeling_chain
// narrowed to the larger output (BlockSci accepts any output either way);
// the two agree on every case BlockSci's tests assert. MinLength only
// governs findings: Detect reports a run of at least MinLength
// transactions. A coinbase is never part of a run, and a transaction whose
// two outputs are equal has no larger output and ends a run.
type PeelChain struct {
	Enabled   bool `mapstructure:"enabled"`
	MinLength int  `mapstructure:"min-length"` // transactions in a run worth a finding
	MaxLength int  `mapstructure:"max-length"` // a walk stops after this many (bounds lookups)
}

// DefaultPeelChain reports runs of three or more transactions.
func DefaultPeelChain() PeelChain { return PeelChain{Enabled: true, MinLength: 3, MaxLength: 10000} }

func (p PeelChain) Info() Info {
	return Info{Name: NamePeelChain, Version: "1", Params: map[string]any{
		"min_length": p.MinLength, "max_length": p.MaxLength,
	}}
}

// PeelShaped reports the shape: not a coinbase, one input, two outputs.
func PeelShaped(tx *Tx) bool {
	return tx != nil && !tx.Coinbase && len(tx.Inputs) == 1 && len(tx.Outputs) == 2
}

// larger is the index of the larger output of a peel-shaped transaction;
// ok is false when the two are equal.
func larger(tx *Tx) (uint32, bool) {
	a, b := tx.Outputs[0].Value, tx.Outputs[1].Value
	switch {
	case a > b:
		return 0, true
	case b > a:
		return 1, true
	}
	return 0, false
}

// prev is the peel-shaped transaction whose larger output tx spends, or nil.
func (p PeelChain) prev(ctx context.Context, c Chain, tx *Tx) (*Tx, error) {
	in := tx.Inputs[0]
	t, err := c.Tx(ctx, in.PrevTxID)
	if errors.Is(err, ErrUnknownTx) {
		return nil, nil
	}
	if err != nil || !PeelShaped(t) {
		return nil, err
	}
	if l, ok := larger(t); !ok || l != in.PrevVout {
		return nil, nil
	}
	return t, nil
}

// next is the peel-shaped transaction spending tx's larger output, or nil.
func (p PeelChain) next(ctx context.Context, c Chain, tx *Tx) (*Tx, error) {
	l, ok := larger(tx)
	if !ok {
		return nil, nil
	}
	s, err := spender(ctx, c, tx, &tx.Outputs[l])
	if err != nil || !PeelShaped(s) {
		return nil, err
	}
	return s, nil
}

// IsPeelingChain reports whether tx is part of a peel chain: peel-shaped
// and linked through its larger output to a peel-shaped neighbour.
func (p PeelChain) IsPeelingChain(ctx context.Context, c Chain, tx *Tx) (bool, error) {
	if !PeelShaped(tx) || c == nil {
		return false, nil
	}
	if t, err := p.prev(ctx, c, tx); err != nil || t != nil {
		return t != nil, err
	}
	t, err := p.next(ctx, c, tx)
	return t != nil, err
}

// Run returns the run tx belongs to, in chain order: tx alone when it is
// peel-shaped but linked to nothing, nil when it is not peel-shaped.
func (p PeelChain) Run(ctx context.Context, c Chain, tx *Tx) ([]*Tx, error) {
	if !PeelShaped(tx) {
		return nil, nil
	}
	limit := p.MaxLength
	if limit <= 0 {
		limit = DefaultPeelChain().MaxLength
	}
	var back []*Tx
	for t := tx; len(back) < limit; {
		pt, err := p.prev(ctx, c, t)
		if err != nil {
			return nil, err
		}
		if pt == nil {
			break
		}
		back = append(back, pt)
		t = pt
	}
	run := make([]*Tx, 0, len(back)+1)
	for i := len(back) - 1; i >= 0; i-- {
		run = append(run, back[i])
	}
	run = append(run, tx)
	for t := tx; len(run) < limit; {
		nt, err := p.next(ctx, c, t)
		if err != nil {
			return nil, err
		}
		if nt == nil {
			break
		}
		run = append(run, nt)
		t = nt
	}
	return run, nil
}

// Detect returns the peel_chain finding for the run tx belongs to, or nil
// when the run is shorter than MinLength. The subject is the first
// transaction of the run; the evidence is every transaction of it, in
// order.
func (p PeelChain) Detect(ctx context.Context, c Chain, tx *Tx) (*Finding, error) {
	run, err := p.Run(ctx, c, tx)
	if err != nil {
		return nil, err
	}
	return p.finding(run), nil
}

func (p PeelChain) finding(run []*Tx) *Finding {
	if len(run) < max(p.MinLength, 2) {
		return nil
	}
	ev := make([]string, len(run))
	for i, t := range run {
		ev[i] = t.TxID
	}
	return &Finding{Kind: KindPeelChain, Subject: run[0].TxID, Evidence: ev,
		Confidence: peelConfidence(len(run)), Heuristic: NamePeelChain, Version: "1"}
}

// peelConfidence grows with the run: two linked 1-in-2-out transactions are
// common by chance, ten are not.
func peelConfidence(n int) int { return min(40+10*(n-2), 90) }

// Scan reports every peel chain of at least MinLength that runs through
// txs, once each (a run met again through another of its transactions is
// not repeated).
func (p PeelChain) Scan(ctx context.Context, c Chain, txs []*Tx) ([]Finding, error) {
	seen := map[string]bool{}
	var out []Finding
	for _, tx := range txs {
		if seen[tx.TxID] || !PeelShaped(tx) {
			continue
		}
		run, err := p.Run(ctx, c, tx)
		if err != nil {
			return nil, err
		}
		for _, t := range run {
			seen[t.TxID] = true
		}
		if f := p.finding(run); f != nil {
			out = append(out, *f)
		}
	}
	return out, nil
}
