package heuristics

import (
	"encoding/json"
	"testing"
)

func TestCiteErrorRates(t *testing.T) {
	data := []byte(`{"generated":"2026-01-02","rows":[
	 {"heuristic":"peel_chain","version":"1","params":{"max_length":10000,"min_length":3},"chain":"btc","decision":"in a peel chain","unit":"transactions","TP":8,"FP":2,"FN":1,"TN":89},
	 {"heuristic":"peel_chain","version":"1","params":{"max_length":10000,"min_length":4},"chain":"btc","decision":"other params","unit":"transactions","TP":1,"FP":1,"FN":1,"TN":1},
	 {"heuristic":"peel_chain","version":"2","params":{"max_length":10000,"min_length":3},"chain":"btc","decision":"other version","unit":"transactions","TP":1,"FP":1,"FN":1,"TN":1}]}`)
	r, err := ParseErrorRates(data)
	if err != nil {
		t.Fatal(err)
	}
	info := r.Cite(DefaultPeelChain().Info())
	cites, ok := info.Params["error_rates"].([]any)
	if !ok || len(cites) != 1 {
		t.Fatalf("cited %v", info.Params["error_rates"])
	}
	c := cites[0].(map[string]any)
	want := map[string]any{"fpr": "2/91", "fnr": "1/9", "fdr": "2/10", "decision": "in a peel chain", "unit": "transactions",
		"report": ErrorRatesReport, "digest": r.Digest(), "measured": "2026-01-02", "chain": "btc"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if _, err := info.Exhibit(); err != nil {
		t.Fatalf("the cited params do not make an exhibit entry: %v", err)
	}
	// Other parameters: nothing cited, and the caller's params untouched.
	p := DefaultPeelChain()
	p.MinLength = 5
	if got := r.Cite(p.Info()); got.Params["error_rates"] != nil {
		t.Errorf("rates cited for parameters never measured: %v", got.Params)
	}
	orig := DefaultPeelChain().Info()
	r.Cite(orig)
	if orig.Params["error_rates"] != nil {
		t.Error("Cite changed its argument's params")
	}
}

func TestEmbeddedErrorRatesParse(t *testing.T) {
	r, err := EmbeddedErrorRates()
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(errorRatesJSON, &raw); err != nil {
		t.Fatal(err)
	}
	if len(r.Digest()) != 64 {
		t.Errorf("digest %q", r.Digest())
	}
}

// TestEmbeddedRatesCoverDefaults: the rates this build embeds measure
// every heuristic at its default parameters, so every default heuristic's
// method.heuristics entry cites them. It fails when a default changes and
// `make heuristics-report` was not run again.
func TestEmbeddedRatesCoverDefaults(t *testing.T) {
	r, err := EmbeddedErrorRates()
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	infos := append(c.Infos(), c.Deposit.Info(), NewMultiInput(c.MultiInputOptions(0)).Info())
	for _, info := range infos {
		if info.Name == NameLocktime {
			continue // off by default: not measured
		}
		cited := r.Cite(info)
		rates, ok := cited.Params["error_rates"].([]any)
		if !ok || len(rates) == 0 {
			t.Errorf("%s %s with its default parameters has no measured rates: run make heuristics-report", info.Name, info.Version)
			continue
		}
		if _, err := cited.Exhibit(); err != nil {
			t.Errorf("%s: %v", info.Name, err)
		}
	}
}
