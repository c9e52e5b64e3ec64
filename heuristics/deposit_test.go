package heuristics

import (
	"math/big"
	"testing"
)

func TestDepositAddress(t *testing.T) {
	eth := func(milli int64) *big.Int { return new(big.Int).Mul(big.NewInt(milli), big.NewInt(1e15)) }
	ex := func(a string) (string, bool) {
		switch a {
		case "hot1", "hot1b":
			return "Binance", true
		case "hot2":
			return "Kraken", true
		}
		return "", false
	}
	in := func(b uint64, amt *big.Int) Flow {
		return Flow{Block: b, TxHash: "in", From: "cust", To: "dep", Asset: "ETH", Amount: amt}
	}
	out := func(b uint64, to string, amt *big.Int) Flow {
		return Flow{Block: b, TxHash: "sweep" + to, From: "dep", To: to, Asset: "ETH", Amount: amt}
	}
	fee := eth(1)
	for _, tc := range []struct {
		name  string
		flows []Flow
		fees  *big.Int
		want  bool
		conf  int
	}{
		{"swept, 0.01 ETH kept less the fee", []Flow{in(100, eth(5000)), out(105, "hot1", eth(4990))}, fee, true, 80},
		{"two sweeps to two wallets of one exchange", []Flow{in(100, eth(5000)), out(105, "hot1", eth(2000)), in(110, eth(10)), out(120, "hot1b", eth(3009))}, fee, true, 90},
		{"keeps too much", []Flow{in(100, eth(5000)), out(105, "hot1", eth(4000))}, fee, false, 0},
		{"too late", []Flow{in(100, eth(5000)), out(10_101, "hot1", eth(4999))}, fee, false, 0},
		{"pays someone else too", []Flow{in(100, eth(5000)), out(105, "hot1", eth(2500)), out(106, "friend", eth(2499))}, fee, false, 0},
		{"two exchanges", []Flow{in(100, eth(5000)), out(105, "hot1", eth(2500)), out(106, "hot2", eth(2499))}, fee, false, 0},
		{"never swept", []Flow{in(100, eth(5000))}, fee, false, 0},
		{"token kept", []Flow{in(100, eth(5000)), out(105, "hot1", eth(4999)),
			{Block: 101, TxHash: "tok", From: "cust", To: "dep", Asset: "0xToken", Amount: big.NewInt(7)}}, fee, false, 0},
		{"token swept too", []Flow{in(100, eth(5000)), out(105, "hot1", eth(4999)),
			{Block: 101, TxHash: "tok", From: "cust", To: "dep", Asset: "0xToken", Amount: big.NewInt(7)},
			{Block: 106, TxHash: "toksweep", From: "dep", To: "hot1", Asset: "0xtoken", Amount: big.NewInt(7)}}, fee, true, 90},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := DefaultDepositAddress().Detect("dep", tc.flows, tc.fees, "ETH", ex)
			if (d != nil) != tc.want {
				t.Fatalf("Detect = %+v, want deposit %v", d, tc.want)
			}
			if d == nil {
				return
			}
			if d.Exchange != "Binance" || d.Finding.Kind != KindDepositAddress || d.Finding.Subject != "dep" ||
				d.Finding.Confidence != tc.conf || len(d.Finding.Evidence) == 0 {
				t.Errorf("deposit %+v", d)
			}
		})
	}
	off := DefaultDepositAddress()
	off.Enabled = false
	if off.Detect("dep", []Flow{in(100, eth(5000)), out(105, "hot1", eth(4990))}, fee, "ETH", ex) != nil {
		t.Error("a disabled heuristic decided")
	}
}
