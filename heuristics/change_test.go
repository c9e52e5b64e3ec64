package heuristics

import (
	"context"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
)

func TestChangeHeuristics(t *testing.T) {
	ctx := context.Background()
	// History: p2pkhD was paid before; everything else is fresh.
	old := newTx(hash(1), 1, 1).in(hash(100), 0, p2pkhA, 50_000_000).out(p2pkhD, 1_000_000).out(p2pkhA, 48_990_000).t

	reuse := newTx(hash(10), 5, 1).in(hash(1), 1, p2pkhA, 48_990_000).
		out(p2pkhB, 10_000_000).out(p2pkhA, 38_980_000).t
	mixedTypes := newTx(hash(11), 5, 2).in(hash(50), 0, p2pkhA, 3_000_000).in(hash(51), 0, p2shA, 3_000_000).
		out(p2pkhB, 1_000_000).out(p2pkhC, 4_990_000).t
	oneType := newTx(hash(12), 5, 3).in(hash(52), 0, p2wpkh, 3_000_000).
		out(p2pkhB, 1_000_000).out(p2wsh, 1_000_000).out(mainnetWPKH(7), 990_000).t
	optimal := newTx(hash(13), 5, 4).in(hash(53), 0, p2pkhA, 1_000_000).in(hash(54), 0, p2pkhE, 2_000_000).
		out(p2pkhB, 2_500_000).out(p2pkhC, 490_000).t
	round := newTx(hash(14), 5, 5).in(hash(55), 0, p2pkhA, 9_000_000).
		out(p2pkhB, 5_000_000).out(p2pkhC, 3_987_654).t
	fresh := newTx(hash(15), 5, 6).in(hash(56), 0, p2pkhA, 9_000_000).
		out(p2pkhD, 5_000_000).out(mainnetP2PKH(0x21), 3_990_000).t
	withData := newTx(hash(16), 5, 7).in(hash(57), 0, p2pkhA, 9_000_000).
		out("", 0).out(p2pkhB, 5_000_000).out(p2pkhC, 3_990_000).t
	coinbase := newTx(hash(17), 5, 0).coinbase().out(p2pkhA, 50*BTC).t
	m := NewMemChain([]*Tx{old, reuse, mixedTypes, oneType, optimal, round, fresh, withData, coinbase})

	for _, tc := range []struct {
		name string
		h    ChangeHeuristic
		tx   *Tx
		want []uint32
	}{
		{"address_reuse/reused", AddressReuse{}, reuse, []uint32{1}},
		{"address_reuse/none", AddressReuse{}, round, nil},
		{"address_type/mixed_inputs", AddressType{}, mixedTypes, nil},
		{"address_type/one_type", AddressType{}, oneType, []uint32{2}},
		{"address_type/all_match", AddressType{}, round, []uint32{0, 1}},
		{"optimal_change/smaller_than_every_input", OptimalChange{}, optimal, []uint32{1}},
		{"optimal_change/single_input", OptimalChange{}, round, []uint32{0, 1}},
		{"round_amount/digits6", RoundAmount{Digits: 6}, round, []uint32{1}},
		{"round_amount/digits4_both_round", RoundAmount{Digits: 4}, fresh, nil},
		{"fresh_address/one_fresh", FreshAddress{}, fresh, []uint32{1}},
		{"fresh_address/input_address_is_not_fresh", FreshAddress{}, reuse, []uint32{0}},
		{"op_return_never_a_candidate", RoundAmount{Digits: 6}, withData, []uint32{2}},
		{"op_return_never_a_candidate/address_type", AddressType{}, withData, []uint32{1, 2}},
		{"coinbase/address_reuse", AddressReuse{}, coinbase, nil},
		{"coinbase/fresh_address", FreshAddress{}, coinbase, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.h.Candidates(ctx, m, tc.tx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("candidates %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := (RoundAmount{Digits: 0}).Candidates(ctx, m, round); err == nil {
		t.Error("digits 0 accepted")
	}
	// FreshAddress without a chain cannot tell, and says nothing.
	if got, _ := (FreshAddress{}).Candidates(ctx, nil, fresh); got != nil {
		t.Errorf("fresh_address without history: %v", got)
	}
}

func mainnetWPKH(b byte) string {
	h := make([]byte, 20)
	for i := range h {
		h[i] = b
	}
	a, err := btcutil.NewAddressWitnessPubKeyHash(h, &chaincfg.MainNetParams)
	if err != nil {
		panic(err)
	}
	return a.EncodeAddress()
}

func TestLocktimeAndPeelShape(t *testing.T) {
	ctx := context.Background()
	// tx pays 0 to a payee whose wallet spends it with locktime 0, and 1 to
	// itself, spent with a locktime like tx's own.
	tx := newTx(hash(1), 10, 1).locktime(9).in(hash(100), 0, p2pkhA, 10_000).out(p2pkhB, 3_000).out(p2pkhC, 6_000).t
	s0 := newTx(hash(2), 11, 1).in(hash(1), 0, p2pkhB, 3_000).out(p2pkhD, 2_000).t
	s1 := newTx(hash(3), 11, 2).locktime(10).in(hash(1), 1, p2pkhC, 6_000).out(p2pkhE, 1_000).out(p2pkhA, 4_000).t
	// s1's larger output continues a peel chain.
	s2 := newTx(hash(4), 12, 1).in(hash(3), 1, p2pkhA, 4_000).out(p2pkhB, 500).out(p2pkhD, 3_000).t
	m := NewMemChain([]*Tx{tx, s0, s1, s2})

	got, err := (Locktime{}).Candidates(ctx, m, tx)
	if err != nil || !reflect.DeepEqual(got, []uint32{1}) {
		t.Errorf("locktime: %v, %v", got, err)
	}
	// s2's outputs are unspent: both remain.
	if got, _ := (Locktime{}).Candidates(ctx, m, s2); !reflect.DeepEqual(got, []uint32{0, 1}) {
		t.Errorf("locktime, unspent outputs: %v", got)
	}

	// tx -> s1 -> s2 is a peel chain (larger output each time).
	shape := PeelChainShape{UnspentIsCandidate: true, Peel: DefaultPeelChain()}
	if got, _ := shape.Candidates(ctx, m, tx); !reflect.DeepEqual(got, []uint32{1}) {
		t.Errorf("peel shape on tx: %v (output 0 is spent by a 1-in-1-out)", got)
	}
	if got, _ := shape.Candidates(ctx, m, s1); !reflect.DeepEqual(got, []uint32{0, 1}) {
		t.Errorf("peel shape on s1: %v (output 0 unspent, output 1 continues)", got)
	}
	shape.UnspentIsCandidate = false
	if got, _ := shape.Candidates(ctx, m, s1); !reflect.DeepEqual(got, []uint32{1}) {
		t.Errorf("peel shape on s1 without unspent: %v", got)
	}
	if got, _ := shape.Candidates(ctx, m, s0); got != nil {
		t.Errorf("peel shape on a 1-in-1-out: %v", got)
	}

	d := &ChangeDetector{Heuristics: []ChangeHeuristic{shape}}
	r, err := d.Detect(ctx, m, tx)
	if err != nil || r.Finding == nil {
		t.Fatalf("detect: %+v, %v", r, err)
	}
	// The spender of the change is evidence too: it is what the rule read.
	if f := r.Finding; f.Subject != hash(1)+":1" || !reflect.DeepEqual(f.Evidence, []string{hash(1), hash(3)}) || f.Confidence != 70 {
		t.Errorf("finding %+v", f)
	}
}

func TestUnique(t *testing.T) {
	ctx := context.Background()
	single := newTx(hash(1), 1, 1).in(hash(100), 0, p2pkhA, 10_000).out(p2pkhB, 9_000).t
	withData := newTx(hash(2), 1, 2).in(hash(100), 1, p2pkhA, 10_000).out(p2pkhB, 9_000).out("", 0).t
	two := newTx(hash(3), 1, 3).in(hash(100), 2, p2pkhA, 10_000).out(p2pkhB, 5_000).out(p2pkhA, 4_321).t
	m := NewMemChain([]*Tx{single, withData, two})
	for _, tc := range []struct {
		name string
		tx   *Tx
		ok   bool
		want uint32
	}{
		{"one_output_is_no_change", single, false, 0},
		{"one_spendable_output_is_no_change", withData, false, 0},
		{"decides_when_one_remains", two, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// AddressType names every p2pkh output, OptimalChange the
			// smaller ones; on single both name output 0.
			v, ok, err := Unique(ctx, Intersect(AddressType{}, OptimalChange{}, AddressReuse{}), m, tc.tx)
			if tc.tx == single {
				v, ok, err = Unique(ctx, AddressType{}, m, tc.tx)
			}
			if err != nil || ok != tc.ok || ok && v != tc.want {
				t.Errorf("Unique = %d %v %v", v, ok, err)
			}
		})
	}
	// Two candidates decide nothing.
	if _, ok, _ := Unique(ctx, AddressType{}, m, two); ok {
		t.Error("decided between two candidates")
	}
	u := Union(AddressReuse{}, RoundAmount{Digits: 3})
	if got, _ := u.Candidates(ctx, m, two); !reflect.DeepEqual(got, []uint32{1}) {
		t.Errorf("union %v", got)
	}
	if n := Intersect(AddressReuse{}, OptimalChange{}).Info().Name; n != "address_reuse&optimal_change" {
		t.Errorf("intersect name %q", n)
	}
}

func TestChangeDetector(t *testing.T) {
	ctx := context.Background()
	// p2pkhB was paid before, so fresh_address does not name it.
	paid := newTx(hash(9), 0, 1).in(hash(99), 0, p2pkhE, 10_000_000).out(p2pkhB, 1_000).t
	agree := newTx(hash(1), 1, 1).in(hash(100), 0, p2pkhA, 10_000_000).out(p2pkhB, 5_000_000).out(p2pkhA, 4_987_654).t
	// Reuse names output 1, round amount output 0: no conclusion.
	conflict := newTx(hash(2), 1, 2).in(hash(101), 0, p2pkhA, 10_000_000).out(p2pkhB, 4_987_654).out(p2pkhA, 5_000_000).t
	// Three participants, three equal outputs and change: a CoinJoin.
	cj := newTx(hash(3), 1, 3).
		in(hash(102), 0, p2pkhA, 2_000_000).in(hash(103), 0, p2pkhB, 3_000_000).in(hash(104), 0, p2pkhC, 4_000_000).
		out(p2pkhD, 1_000_000).out(p2pkhA, 987_000).out(p2pkhE, 1_000_000).out(p2pkhB, 1_990_000).out(p2shA, 1_000_000).out(p2pkhC, 2_990_000).t
	m := NewMemChain([]*Tx{paid, agree, conflict, cj})
	d := DefaultConfig().ChangeDetector()

	r, err := d.Detect(ctx, m, agree)
	if err != nil || r.Finding == nil {
		t.Fatalf("agree: %+v %v", r, err)
	}
	f := r.Finding
	// address_reuse 80, round_amount 50: 1 - 0.2*0.5 = 90.
	if f.Kind != KindChangeOutput || f.Subject != hash(1)+":1" || f.Confidence != 90 ||
		f.Heuristic != "address_reuse+round_amount" || !reflect.DeepEqual(f.Evidence, []string{hash(1)}) {
		t.Errorf("finding %+v, decisions %v", f, r.Decisions)
	}

	r, err = d.Detect(ctx, m, conflict)
	if err != nil || r.Finding != nil || !r.Conflict {
		t.Errorf("conflict: %+v %v", r, err)
	}

	r, err = d.Detect(ctx, m, cj)
	if err != nil || r.Finding != nil || r.CoinJoin != "coinjoin_joinmarket" {
		t.Errorf("coinjoin: %+v %v", r, err)
	}
	// Without the CoinJoin check, address reuse would name three outputs and
	// decide nothing anyway; the skip is what the result records.
	if got, _ := (AddressReuse{}).Candidates(ctx, m, cj); len(got) != 3 {
		t.Errorf("reuse on the coinjoin: %v", got)
	}
}
