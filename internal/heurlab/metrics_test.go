package heurlab

import (
	"bytes"
	"strings"
	"testing"
)

func TestPairs(t *testing.T) {
	// Owners: a1 a2 a3 | b1 b2 | c1. Clusters: {a1 a2}, {a3 b1}, b2 and c1 alone.
	owner := map[string]string{"a1": "a", "a2": "a", "a3": "a", "b1": "b", "b2": "b", "c1": "c"}
	cluster := map[string]string{"a1": "x", "a2": "x", "a3": "y", "b1": "y"}
	got := Pairs(cluster, owner)
	// 15 pairs; clustered together: a1-a2 (true), a3-b1 (false);
	// same owner: a1-a2, a1-a3, a2-a3, b1-b2.
	want := Confusion{TP: 1, FP: 1, FN: 3, TN: 10}
	if got != want {
		t.Fatalf("Pairs = %+v, want %+v", got, want)
	}
	if got.FDR() != (Rate{1, 2}) || got.FNR() != (Rate{3, 4}) || got.FPR() != (Rate{1, 11}) {
		t.Errorf("rates %v %v %v", got.FDR(), got.FNR(), got.FPR())
	}
}

func TestRatePercent(t *testing.T) {
	for _, c := range []struct {
		r    Rate
		want string
	}{{Rate{1, 3}, "33.33%"}, {Rate{2, 3}, "66.67%"}, {Rate{0, 5}, "0.00%"}, {Rate{5, 5}, "100.00%"}, {Rate{1, 200000}, "0.00%"}, {Rate{1, 20000}, "0.01%"}, {Rate{0, 0}, "n/a"}} {
		if got := c.r.Percent(); got != c.want {
			t.Errorf("%v.Percent() = %s, want %s", c.r, got, c.want)
		}
	}
}

func TestConfusionAdd(t *testing.T) {
	var c Confusion
	for _, d := range [][2]bool{{true, true}, {true, false}, {false, true}, {false, false}, {false, false}} {
		c.Add(d[0], d[1])
	}
	if c != (Confusion{1, 1, 1, 2}) {
		t.Fatalf("%+v", c)
	}
}

func TestReportMarkdownCarriesEveryRow(t *testing.T) {
	r := &Report{Tool: "chaintrace test", Generated: "2026-01-02", Command: "make heuristics-report", Scenarios: []string{"Bitcoin: a"},
		Rows: []Row{{Heuristic: "peel_chain", Version: "1", Params: map[string]any{"min_length": 3}, Chain: "btc", Decision: "d", Unit: "transactions",
			Confusion: Confusion{TP: 3, FP: 1, FN: 0, TN: 6}, Note: "FP in payment 1"}}}
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.Markdown(&b, Digest(js)); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"| btc | `peel_chain` | 1 | d | transactions | 3 | 1 | 0 | 6 | 14.29% (1/7) | 0.00% (0/3) | 25.00% (1/4) | FP in payment 1 |",
		Digest(js), "`{\"min_length\":3}`"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
