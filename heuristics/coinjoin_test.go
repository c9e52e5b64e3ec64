package heuristics

import (
	"reflect"
	"testing"
)

// cjTx builds a transaction with n inputs from distinct addresses (value
// inValue each) and the given output values, each to a distinct address.
func cjTx(id int, n int, inValue int64, outs ...int64) *Tx {
	b := newTx(hash(id), 1, 1)
	for i := range n {
		b.in(hash(1000+i), 0, mainnetP2PKH(byte(i)), inValue)
	}
	for i, v := range outs {
		b.out(mainnetP2PKH(byte(100+i)), v)
	}
	return b.t
}

func repeat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestCoinJoinDetectors(t *testing.T) {
	wasabi2Outs := func() []int64 {
		// 19 outputs, 16 of them at standard denominations (two of those
		// repeated) and 3 not: 84% > 80%.
		outs := append(repeat(1_048_576, 6), repeat(1_000_000, 5)...) // 2^20, 10^6
		// 3^12, 2*3^12, 5*10^6, 2*10^5, 2^13; then three that are not.
		outs = append(outs, 531_441, 1_062_882, 5_000_000, 200_000, 8_192)
		return append(outs, 3_000_000, 123_457, 777_777)
	}
	for _, tc := range []struct {
		name string
		tx   *Tx
		kind string // "" for no CoinJoin
	}{
		{"whirlpool/5x5_0.01", cjTx(1, 5, 1_010_000, repeat(BTC/100, 5)...), CoinJoinWhirlpool},
		{"whirlpool/8x8_0.05", cjTx(2, 8, 5_100_000, repeat(BTC/20, 8)...), CoinJoinWhirlpool},
		{"whirlpool/not_a_pool_size", cjTx(3, 5, 2_100_000, repeat(2_000_000, 5)...), ""},
		{"whirlpool/too_few_inputs", cjTx(4, 4, 1_010_000, repeat(BTC/100, 4)...), ""},
		{"wasabi1/12_equal_near_0.1", cjTx(5, 14, 20_000_000, append(repeat(9_950_000, 12), 3_000_000, 5_000_000, 700_000)...), CoinJoinWasabi1},
		{"wasabi1/equal_but_far_from_0.1", cjTx(6, 14, 20_000_000, append(repeat(30_000_000, 12), 3_000_000)...), ""},
		{"wasabi1/one_input_payout_batch", cjTx(7, 1, 200*BTC, repeat(BTC/10, 12)...), ""},
		{"wasabi2/20_inputs_standard_outputs", cjTx(8, 20, 1_500_000, wasabi2Outs()...), CoinJoinWasabi2},
		{"wasabi2/too_few_inputs", cjTx(9, 14, 1_500_000, wasabi2Outs()...), ""},
		// 15 inputs consolidated into one 0.01 BTC output: standard value,
		// but no anonymity set.
		{"wasabi2/consolidation", cjTx(10, 15, 70_000, BTC/100), ""},
		{"joinmarket/3_equal_3_change", cjTx(11, 3, 5_000_000, 2_000_000, 2_999_000, 2_000_000, 2_998_000, 2_000_000, 2_997_000), CoinJoinJoinMarket},
		{"joinmarket/4_equal_3_change", cjTx(12, 4, 5_000_000, 2_000_000, 2_000_000, 2_000_000, 2_000_000, 1, 2, 3), CoinJoinJoinMarket},
		{"joinmarket/dust_equal_outputs", cjTx(13, 3, 5_000_000, 546, 546, 546, 100, 200), ""},
		{"joinmarket/too_few_input_addresses", func() *Tx {
			tx := cjTx(14, 3, 5_000_000, 2_000_000, 2_000_000, 2_000_000, 1, 2, 3)
			tx.Inputs[1].Address, tx.Inputs[2].Address = tx.Inputs[0].Address, tx.Inputs[0].Address
			return tx
		}(), ""},
		{"joinmarket/fan_out_one_input", cjTx(15, 1, 50*BTC, repeat(BTC, 8)...), ""},
		{"joinmarket/all_equal_is_not_joinmarket", cjTx(16, 3, 5_000_000, repeat(1_666_000, 6)...), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, kind := IsCoinJoin(tc.tx)
			if ok != (tc.kind != "") || kind != tc.kind {
				t.Errorf("IsCoinJoin = %v %q, want %q", ok, kind, tc.kind)
			}
		})
	}
}

func TestCoinJoinMatch(t *testing.T) {
	d := DefaultCoinJoinDetector()
	tx := cjTx(1, 3, 5_000_000, 2_000_000, 2_999_000, 2_000_000, 2_998_000, 2_000_000, 2_997_000)
	m := d.Match(tx)
	if m == nil || m.Denomination != 2_000_000 || !reflect.DeepEqual(m.Mixed, []uint32{0, 2, 4}) ||
		!reflect.DeepEqual(m.Other, []uint32{1, 3, 5}) || m.Confidence != 60 {
		t.Errorf("match %+v", m)
	}
	f := d.Detect(tx)
	if f == nil || f.Kind != KindCoinJoin || f.Subject != tx.TxID || f.Heuristic != "coinjoin_joinmarket" {
		t.Errorf("finding %+v", f)
	}
	skip, reason := d.SkipTx(tx)
	if !skip || reason != "coinjoin_joinmarket" {
		t.Errorf("SkipTx = %v %q", skip, reason)
	}
	// Switched off, it is not found.
	d.JoinMarket.Enabled = false
	if ok, _ := d.IsCoinJoin(tx); ok {
		t.Error("disabled detector still fires")
	}
	if len(d.Infos()) != 3 {
		t.Errorf("infos %v", d.Infos())
	}
}

func TestStandardDenominations(t *testing.T) {
	ds := StandardDenominations(5000)
	set := map[int64]bool{}
	for i, v := range ds {
		set[v] = true
		if i > 0 && ds[i-1] >= v {
			t.Fatalf("not increasing at %d", i)
		}
	}
	for _, v := range []int64{5000, 6561, 8192, 10_000, 13_122, 20_000, 50_000, 1_048_576, BTC, 2 * BTC, 5 * BTC, 1 << 40} {
		if !set[v] {
			t.Errorf("%d missing", v)
		}
	}
	for _, v := range []int64{4096, 4374, 7000, 3_000_000, 99_999} {
		if set[v] {
			t.Errorf("%d is not standard", v)
		}
	}
	// IsStandardDenomination agrees with the list, around every entry.
	for _, v := range ds {
		for _, x := range []int64{v - 1, v, v + 1} {
			if IsStandardDenomination(x, 5000) != set[x] {
				t.Errorf("IsStandardDenomination(%d) = %v", x, !set[x])
			}
		}
	}
	if ds[len(ds)-1] > maxSatoshi {
		t.Errorf("largest %d exceeds the supply", ds[len(ds)-1])
	}
}
