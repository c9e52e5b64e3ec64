package tracer

import (
	"context"
	"slices"
	"testing"

	"github.com/chaintrace/chaintrace/heuristics"
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
	cfg := Config{Seeds: []string{"a"}, Model: Haircut{}, MaxHops: 10, FromBlock: 0, ToBlock: 1000, Change: det}
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
