package taint

import (
	"math/big"
	"strings"
	"testing"
)

func bi(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

// The worked example of DESIGN.md in satoshi: inputs [3 BTC tainted, 7
// clean], outputs [4, 5.9], fee 0.1.
var worked = map[Kind][3]string{
	FIFO:    {"300000000", "0", "0"},
	LIFO:    {"0", "290000000", "10000000"},
	TIHO:    {"0", "300000000", "0"},
	Haircut: {"120000000", "177000000", "3000000"},
	Poison:  {"400000000", "590000000", "10000000"},
}

func TestWorkedExampleUTXO(t *testing.T) {
	for _, k := range Kinds {
		ins := []Coin{
			{Value: bi("300000000"), Taint: Seed(k, 1, 0, bi("300000000"))},
			{Value: bi("700000000"), Taint: Taint{ByColour: zeros(1)}},
		}
		outs := []*big.Int{bi("400000000"), bi("590000000")}
		sp, err := SplitTx(k, 1, ins, outs, bi("10000000"))
		if err != nil {
			t.Fatal(err)
		}
		got := [3]string{sp.Outs[0].Total(k, outs[0]).String(), sp.Outs[1].Total(k, outs[1]).String(), sp.Fee.Total(k, bi("10000000")).String()}
		if got != worked[k] {
			t.Errorf("%s: outputs/fee %v, want %v", k, got, worked[k])
		}
	}
}

// The account-model equivalent: an address receives 3 tainted, then 7
// clean, and sends 9.9 in one transaction paying a fee of 0.1 (its whole
// balance, fee last); the receiver forwards 4, then 5.9, in one
// transaction of its own. Every model gives the table's figures.
func TestWorkedExampleLedger(t *testing.T) {
	for _, k := range Kinds {
		a := NewLedger(k, 1, new(big.Int), Clean, nil)
		a.Credit(bi("300000000"), Seed(k, 1, 0, bi("300000000")))
		a.Credit(bi("700000000"), Taint{ByColour: zeros(1)})
		sent, fee := a.Debit([]*big.Int{bi("990000000")}, bi("10000000"))
		c := NewLedger(k, 1, new(big.Int), Clean, nil)
		c.Credit(bi("990000000"), sent[0])
		outs, _ := c.Debit([]*big.Int{bi("400000000"), bi("590000000")}, nil)
		got := [3]string{outs[0].Total(k, bi("400000000")).String(), outs[1].Total(k, bi("590000000")).String(), fee.Total(k, bi("10000000")).String()}
		if got != worked[k] {
			t.Errorf("%s: outputs/fee %v, want %v", k, got, worked[k])
		}
		if a.Balance().Sign() != 0 || c.Balance().Sign() != 0 {
			t.Errorf("%s: balances left %s, %s", k, a.Balance(), c.Balance())
		}
	}
}

func TestParseKinds(t *testing.T) {
	ks, err := ParseKinds("FIFO, haircut,poison")
	if err != nil || len(ks) != 3 || ks[0] != FIFO || ks[1] != Haircut || ks[2] != Poison {
		t.Fatalf("ParseKinds = %v, %v", ks, err)
	}
	for _, bad := range []string{"", "fifo,,haircut", "fifo,fifo", "clayton"} {
		if _, err := ParseKinds(bad); err == nil {
			t.Errorf("ParseKinds(%q) accepted", bad)
		}
	}
	if _, err := ParseKinds("fifo,fifo"); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a repeated model: %v", err)
	}
}

func TestSplitRejectsUnbalanced(t *testing.T) {
	ins := []Coin{{Value: bi("10"), Taint: Taint{ByColour: zeros(1)}}}
	if _, err := SplitTx(FIFO, 1, ins, []*big.Int{bi("9")}, bi("2")); err == nil {
		t.Fatal("a transaction paying out more than it takes in was split")
	}
}

// Haircut's rounding: 3 units of taint over three outputs of 1 out of 10
// in floor to zero each; the remainder goes to the fee (2 units of room),
// then the largest output.
func TestHaircutRounding(t *testing.T) {
	ins := []Coin{{Value: bi("7"), Taint: Taint{ByColour: []*big.Int{bi("3")}}}}
	outs := []*big.Int{bi("2"), bi("3"), bi("1")}
	sp, err := SplitTx(Haircut, 1, ins, outs, bi("1"))
	if err != nil {
		t.Fatal(err)
	}
	// floor(2*3/7)=0, floor(3*3/7)=1, floor(1*3/7)=0: remainder 2, the
	// fee takes 1, the largest output (3) the other.
	want := []string{"0", "2", "0"}
	for i := range outs {
		if got := sp.Outs[i].Of(0).String(); got != want[i] {
			t.Errorf("output %d: %s, want %s", i, got, want[i])
		}
	}
	if sp.Fee.Of(0).String() != "1" {
		t.Errorf("fee: %s, want 1", sp.Fee.Of(0))
	}
}

// Two colours stay apart: FIFO hands each output the colours on its slice.
func TestColoursApart(t *testing.T) {
	ins := []Coin{
		{Value: bi("5"), Taint: Seed(FIFO, 2, 0, bi("5"))},
		{Value: bi("5"), Taint: Seed(FIFO, 2, 1, bi("5"))},
	}
	sp, err := SplitTx(FIFO, 2, ins, []*big.Int{bi("4"), bi("6")}, new(big.Int))
	if err != nil {
		t.Fatal(err)
	}
	if sp.Outs[0].Of(0).String() != "4" || sp.Outs[0].Of(1).Sign() != 0 ||
		sp.Outs[1].Of(0).String() != "1" || sp.Outs[1].Of(1).String() != "5" {
		t.Fatalf("outputs %v %v", sp.Outs[0].ByColour, sp.Outs[1].ByColour)
	}
	// The second output's layout keeps the order: 1 of colour 0, then 5 of 1.
	if s := sp.Outs[1].Segs; len(s) != 2 || s[0].Colour != 0 || s[0].Len.String() != "1" || s[1].Colour != 1 {
		t.Fatalf("layout %v", s)
	}
}

// A ledger that is short of an outflow takes the difference as clean,
// after what it holds.
func TestLedgerShortfall(t *testing.T) {
	for _, k := range []Kind{FIFO, LIFO, Haircut, TIHO} {
		l := NewLedger(k, 1, new(big.Int), Clean, nil)
		l.Credit(bi("5"), Seed(k, 1, 0, bi("5")))
		outs, _ := l.Debit([]*big.Int{bi("8")}, nil)
		if got := outs[0].Total(k, bi("8")); got.String() != "5" {
			t.Errorf("%s: an outflow of 8 from 5 tainted carries %s, want 5", k, got)
		}
		if l.Balance().Sign() != 0 || l.Held()[0].Sign() != 0 {
			t.Errorf("%s: left %s, holding %s", k, l.Balance(), l.Held()[0])
		}
	}
}

// An address known to hold taint when its ledger opens keeps it, capped
// by the balance, after its clean part on the tape models.
func TestLedgerOpeningHeld(t *testing.T) {
	for _, k := range Kinds {
		l := NewLedger(k, 1, bi("10"), Clean, []*big.Int{bi("4")})
		if k != Poison && l.Held()[0].String() != "4" {
			t.Errorf("%s: holds %s, want 4", k, l.Held()[0])
		}
		outs, _ := l.Debit([]*big.Int{bi("6")}, nil)
		want := map[Kind]string{FIFO: "0", LIFO: "4", Haircut: "2", TIHO: "4", Poison: "6"}[k]
		if got := outs[0].Total(k, bi("6")).String(); got != want {
			t.Errorf("%s: first 6 out carries %s, want %s", k, got, want)
		}
		capped := NewLedger(k, 1, bi("3"), Clean, []*big.Int{bi("4")})
		if h := capped.Held()[0]; h.Cmp(bi("3")) > 0 {
			t.Errorf("%s: holds %s of a balance of 3", k, h)
		}
	}
}
