package tracer

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"testing"

	"github.com/chaintrace/chaintrace/tracer/taint"
)

// backCase: two hack wallets H1 and H2 and a clean exchange hot wallet E
// (through M) pay a launderer L, which already held 1,000 of its own; L
// pays 3,000 elsewhere (Y), then 9,000 into the deposit address D. D also
// receives 500 straight from H1 and 1,000 from O, an unlabelled address
// with nothing coming in. After L's payment to D, X pays L 7,000 and L
// pays Y again; after M's payment to L, Z pays M; D sweeps to the exchange
// EX at the end; V (before the window's hack) paid H1. None of those is a
// source of D's funds.
func backCase() (*script, memLabels) {
	s := &script{h: memHistory{balances: map[string]*big.Int{
		"V|ETH": big.NewInt(100_000), "E|ETH": big.NewInt(100_000), "H2|ETH": big.NewInt(10_000),
		"L|ETH": big.NewInt(1_000), "O|ETH": big.NewInt(5_000), "X|ETH": big.NewInt(7_000), "Z|ETH": big.NewInt(700),
	}}}
	s.pay(1, "V", "H1", 20_000, 0)
	s.pay(1, "E", "M", 4_000, 0)
	s.pay(2, "H1", "L", 6_000, 0)
	s.pay(3, "M", "L", 4_000, 0)
	s.pay(4, "H2", "L", 5_000, 0)
	s.pay(5, "L", "Y", 3_000, 0)
	s.pay(6, "L", "D", 9_000, 0)
	s.pay(7, "H1", "D", 500, 0)
	s.pay(7, "O", "D", 1_000, 0)
	s.pay(8, "X", "L", 7_000, 0)
	s.pay(8, "Z", "M", 700, 0)
	s.pay(9, "L", "Y", 2_000, 0)
	s.pay(10, "D", "EX", 10_000, 0)
	labels := memLabels{
		"H1": {"Lazarus 1", "hacker"}, "H2": {"Lazarus 2", "hacker"},
		"E": {"Exchange E: hot wallet", "exchange"}, "EX": {"Exchange X", "exchange"},
	}
	return s, labels
}

func traceBack(t *testing.T, s *script, labels memLabels, maxHops int, models ...taint.Kind) *BackResult {
	t.Helper()
	b, err := TraceBack(context.Background(), &s.h, labels, Config{Seeds: []string{"D"}, Models: models, MaxHops: maxHops,
		FromBlock: 1, ToBlock: 100, NativeAsset: "ETH"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// share returns what target received of ETH from each source under model
// m (an index into the models), by source.
func share(t *testing.T, b *BackResult, target string, m int) (received string, by map[string]string) {
	t.Helper()
	for _, sh := range b.Shares() {
		if sh.Target != target || sh.Asset != "ETH" {
			continue
		}
		by = map[string]string{}
		for c, src := range b.Sources {
			by[src] = sh.Figures.ByColour[m][c].String()
		}
		by["total"] = sh.Figures.Total[m].String()
		return sh.Received.String(), by
	}
	t.Fatalf("no share of %s", target)
	return "", nil
}

// TestTraceBackByHand: the shares of D's receipts, by hand.
//
// Discovery: D's inflows (hop 1) come from L, H1 and O. L paid D last at
// block 6, so its inflows before that are edges (hop 2): H1's 6,000, M's
// 4,000, H2's 5,000 (X's 7,000 at block 8 is not). M paid L at block 3:
// E's 4,000 at block 1 is an edge (hop 3), Z's 700 at block 8 not. H1, H2
// and E are labelled: the sources. O has nothing coming in: an origin.
//
// L's ledger: 1,000 of its own, then 6,000 H1, 4,000 E, 5,000 H2: 16,000.
//
// FIFO (Clayton's case): L's queue is [1,000 own][6,000 H1][4,000 E][5,000
// H2]. The 3,000 to Y take the 1,000 own and 2,000 H1; the 9,000 to D take
// the other 4,000 H1, the 4,000 E and 1,000 H2. With H1's 500 straight in,
// D's 10,500 hold H1 4,500, E 4,000, H2 1,000: 9,500 attributed.
//
// Haircut: the 3,000 to Y take floor(3,000 x share) of each: H1 1,125
// (of 6,000/16,000), E 750, H2 floor(937.5) = 937, leaving H1 4,875, E
// 3,250, H2 4,063 of 13,000. The 9,000 to D take H1 9,000 x 4,875/13,000
// = 3,375, E 2,250, H2 floor(2,812.8) = 2,812. With H1's 500: H1 3,875,
// E 2,250, H2 2,812: 8,937 attributed; the other 1,563 are L's own money
// (563) and O's 1,000.
func TestTraceBackByHand(t *testing.T) {
	s, labels := backCase()
	b := traceBack(t, s, labels, 10, taint.Haircut, taint.FIFO)
	if want := []string{"E", "H1", "H2"}; !slices.Equal(b.Sources, want) {
		t.Fatalf("sources %v, want %v", b.Sources, want)
	}
	for _, c := range []struct {
		model int
		want  map[string]string
	}{
		{0, map[string]string{"H1": "3875", "E": "2250", "H2": "2812", "total": "8937"}},
		{1, map[string]string{"H1": "4500", "E": "4000", "H2": "1000", "total": "9500"}},
	} {
		recv, got := share(t, b, "D", c.model)
		if recv != "10500" {
			t.Errorf("D received %s, want 10500", recv)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: D's share from %s is %s, want %s", b.Attribution.Models[c.model], k, got[k], v)
			}
		}
	}
	// The edges, hop counted back from D; nothing else is a row.
	type edge struct {
		from, to string
		hop      int
	}
	var got []edge
	for _, r := range b.Rows {
		got = append(got, edge{r.From[0], r.To, r.Hop})
	}
	want := []edge{{"E", "M", 3}, {"H1", "L", 2}, {"M", "L", 2}, {"H2", "L", 2}, {"L", "D", 1}, {"H1", "D", 1}, {"O", "D", 1}}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	hops := map[string]int{}
	for _, a := range b.Addresses {
		hops[a.Address] = a.Hop
	}
	wantHops := map[string]int{"D": 0, "L": 1, "H1": 1, "O": 1, "M": 2, "H2": 2, "E": 3}
	if len(hops) != len(wantHops) {
		t.Errorf("addresses %v, want %v", hops, wantHops)
	}
	for a, h := range wantHops {
		if got, ok := hops[a]; !ok || got != h {
			t.Errorf("address %s: hop %d (reached %v), want %d", a, got, ok, h)
		}
	}
	// The endpoints are the sources, with what each sent along the edges,
	// all of it its own colour.
	ends := map[string]string{}
	for _, ep := range b.Endpoints {
		ends[ep.Address] = ep.Category + " " + ep.Amount.String() + " " + ep.Taint.String()
	}
	wantEnds := map[string]string{"E": "exchange 4000 4000", "H1": "hacker 6500 6500", "H2": "hacker 5000 5000"}
	if len(ends) != len(wantEnds) {
		t.Errorf("endpoints %v, want %v", ends, wantEnds)
	}
	for a, w := range wantEnds {
		if ends[a] != w {
			t.Errorf("endpoint %s: %q, want %q", a, ends[a], w)
		}
	}
	// Every transaction with a row reconciles.
	for _, rc := range b.Reconciliation {
		if err := rc.Check(); err != nil {
			t.Errorf("reconciliation of %s: %v", rc.TxHash, err)
		}
	}
}

// TestTraceBackHopLimit: with two hops back E (three hops from D) is not
// reached: M's 4,000 are unattributed, and H1's and H2's shares stay.
// FIFO: L's queue [1,000 own][6,000 H1][4,000 unattributed][5,000 H2]; D's
// 9,000 take 4,000 H1, 4,000 unattributed and 1,000 H2. Haircut: the
// figures of the test above without E.
func TestTraceBackHopLimit(t *testing.T) {
	s, labels := backCase()
	b := traceBack(t, s, labels, 2, taint.Haircut, taint.FIFO)
	if want := []string{"H1", "H2"}; !slices.Equal(b.Sources, want) {
		t.Fatalf("sources %v, want %v", b.Sources, want)
	}
	for _, c := range []struct {
		model int
		want  map[string]string
	}{
		{0, map[string]string{"H1": "3875", "H2": "2812", "total": "6687"}},
		{1, map[string]string{"H1": "4500", "H2": "1000", "total": "5500"}},
	} {
		_, got := share(t, b, "D", c.model)
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("model %d: D's share from %s is %s, want %s", c.model, k, got[k], v)
			}
		}
	}
	for _, r := range b.Rows {
		if r.Hop > 2 {
			t.Errorf("row beyond the hop limit: %s -> %s hop %d", r.From[0], r.To, r.Hop)
		}
	}
}

// TestTraceBackStopsOnlyAtLabels: with only the hack wallets labelled, E
// is an origin like O and its 4,000 (through M) are unattributed; an
// address with no label is never a source.
func TestTraceBackStopsOnlyAtLabels(t *testing.T) {
	s, labels := backCase()
	delete(labels, "E")
	b := traceBack(t, s, labels, 10, taint.FIFO)
	if want := []string{"H1", "H2"}; !slices.Equal(b.Sources, want) {
		t.Fatalf("sources %v, want %v", b.Sources, want)
	}
	_, got := share(t, b, "D", 0)
	if got["H1"] != "4500" || got["H2"] != "1000" {
		t.Errorf("fifo shares %v", got)
	}
}

// TestTraceBackNothingReceived: a target nothing was paid into in the
// window is ErrNoActivity.
func TestTraceBackNothingReceived(t *testing.T) {
	s, labels := backCase()
	_, err := TraceBack(context.Background(), &s.h, labels, Config{Seeds: []string{"Y"}, Models: []taint.Kind{taint.Haircut},
		MaxHops: 5, FromBlock: 10, ToBlock: 100, NativeAsset: "ETH"})
	if !errors.Is(err, ErrNoActivity) {
		t.Fatalf("err %v, want ErrNoActivity", err)
	}
}
