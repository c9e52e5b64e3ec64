package tracer

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// TestTraceUTXOChangeFindings: the walk names the change of the
// transactions it passes through where the change heuristics agree, reading
// address history (fresh_address) and spenders from the walk's source.
func TestTraceUTXOChangeFindings(t *testing.T) {
	c := newMemChain()
	_ = c.tx("", nil, out{"shop", 1_000}, out{"cafe", 1_000}) // both paid before the case
	fund := c.tx("", nil, out{"a", 100_000})
	// pay1: the shop was paid before, a2 is fresh: fresh_address names a2.
	pay1 := c.tx("", []string{fund + ":0"}, out{"shop", 30_555}, out{"a2", 69_000})
	// pay2: pays back to its input address a2 (address_reuse) and to the
	// cafe, paid before: only address_reuse decides.
	pay2 := c.tx("", []string{pay1 + ":1"}, out{"a2", 40_123}, out{"cafe", 28_000})
	// pay3: both outputs fresh and no reuse: nothing decides.
	_ = c.tx("", []string{pay2 + ":0"}, out{"x", 20_000}, out{"y", 19_000})

	det := heuristics.DefaultConfig().ChangeDetector()
	cfg := Config{Seeds: []string{"a"}, Models: []taint.Kind{taint.Haircut}, MaxHops: 10, FromBlock: 0, ToBlock: 1000, Change: det}
	res, err := TraceUTXO(context.Background(), c, stopSet{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		if f.Kind == heuristics.KindChangeOutput {
			got = append(got, f.Subject+" by "+f.Heuristic)
			if len(f.Evidence) == 0 || f.Evidence[0] != f.Subject[:64] {
				t.Errorf("finding %s: evidence %v does not start with its transaction", f.Subject, f.Evidence)
			}
		}
	}
	want := []string{pay1 + ":1 by " + heuristics.NameFreshAddress, pay2 + ":0 by " + heuristics.NameAddressReuse}
	if !slices.Equal(got, want) {
		t.Errorf("change findings %v, want %v", got, want)
	}
	names := map[string]bool{}
	for _, h := range res.Heuristics {
		names[h.Name] = true
	}
	for _, h := range det.Infos() {
		if !names[h.Name] {
			t.Errorf("method.heuristics lacks %s", h.Name)
		}
	}
}

// TestExhibitCitesErrorRates: method.heuristics carries the measured rates
// of a heuristic run with the measured parameters, and not of one run with
// others; the exhibit stays valid against its schema.
func TestExhibitCitesErrorRates(t *testing.T) {
	rates, err := heuristics.ParseErrorRates([]byte(`{"generated":"2026-01-02","rows":[{"heuristic":"peel_chain","version":"1",
		"params":{"max_length":10000,"min_length":3},"chain":"btc","decision":"d","unit":"transactions","TP":8,"FP":2,"FN":1,"TN":89}]}`))
	if err != nil {
		t.Fatal(err)
	}
	other := heuristics.DefaultPeelChain()
	other.MinLength = 4
	res := &Result{Heuristics: []heuristics.Info{heuristics.DefaultPeelChain().Info(), other.Info()}}
	e, err := BuildExhibit(res, ExhibitInfo{Chain: "btc", Seeds: []string{"a"}, Config: Config{Models: []taint.Kind{taint.Haircut}, MaxHops: 1},
		Tool: "chaintrace", Version: "test", Network: "btc:simnet", GeneratedAt: "2026-01-01T00:00:00Z", ErrorRates: rates,
		Tip: exhibit.Tip{Number: 1, Hash: strings.Repeat("ab", 32)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Method.Heuristics) != 2 {
		t.Fatalf("method.heuristics %+v", e.Method.Heuristics)
	}
	cited, plain := string(e.Method.Heuristics[0].Params), string(e.Method.Heuristics[1].Params)
	if !strings.Contains(cited, `"error_rates":[{`) || !strings.Contains(cited, `"fdr":"2/10"`) || !strings.Contains(cited, rates.Digest()) {
		t.Errorf("measured parameters, params %s", cited)
	}
	if strings.Contains(plain, "error_rates") {
		t.Errorf("other parameters cite rates: %s", plain)
	}
	var buf bytes.Buffer
	if err := exhibit.Write(&buf, e); err != nil {
		t.Fatal(err)
	}
	if err := exhibit.Validate(buf.Bytes()); err != nil {
		t.Errorf("exhibit with cited rates: %v", err)
	}
}
