package batch

import (
	"errors"
	"strings"
	"testing"
)

var testFlags = Flags{"chain": Single, "from-block": Single, "labels": Repeatable, "stop-categories": List, "incident": Single}

func TestParseReportsEveryProblemWithItsLine(t *testing.T) {
	_, err := Parse("jobs.yaml", []byte(`name: nightly
defaults:
  chain: eth
  seeds: [0x1]
jobs:
  - id: a
    seeds: [0xa]
    from-block: [1, 2]
  - id: a
    seeds: [0xb]
  - id: b
    seeds: [0xc]
    incidents: [x-2020]
  - id: c
  - id: "bad id"
    seeds: [0xd]
`), testFlags)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want *Error", err)
	}
	want := []string{
		`jobs.yaml:4: "seeds" belongs to a job, not to defaults`,
		`jobs.yaml:8: from-block takes one value`,
		`jobs.yaml:9: job id "a" repeats the job on line 6`,
		`jobs.yaml:11: job b: give one of seeds (or an incident), incidents and a label-set`,
		`jobs.yaml:14: job c: no seeds`,
		`jobs.yaml:15: job id "bad id"`,
	}
	if len(e.Problems) != len(want) {
		t.Fatalf("problems %q, want %d", e.Problems, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(e.Problems[i], w) {
			t.Errorf("problem %d: %q, want it to start %q", i, e.Problems[i], w)
		}
	}
}

func TestParseMergesDefaultsAndLists(t *testing.T) {
	f, err := Parse("dir/jobs.yaml", []byte(`defaults:
  chain: btc
  labels: [a.csv, /abs/b.csv]
  stop-categories: [exchange, mixing_service]
jobs:
  - {id: one, seeds: [x], chain: eth}
  - {id: two, incidents: [r-2022, b-2025]}
`), testFlags)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "jobs" || len(f.Jobs) != 2 {
		t.Fatalf("%+v", f)
	}
	one := f.Jobs[0]
	if one.Flags["chain"][0] != "eth" || one.Flags["labels"][0] != "dir/a.csv" || one.Flags["labels"][1] != "/abs/b.csv" ||
		one.Flags["stop-categories"][0] != "exchange,mixing_service" || one.Flags["seed"][0] != "x" {
		t.Errorf("job one: %+v", one.Flags)
	}
	if two := f.Jobs[1]; two.Flags["chain"][0] != "btc" || strings.Join(two.Incidents, ",") != "r-2022,b-2025" {
		t.Errorf("job two: %+v", two)
	}
	if SpecHash(f.Jobs[0]) == SpecHash(f.Jobs[1]) {
		t.Error("two jobs share a spec hash")
	}
}

func TestParsePlainListAndYAMLSyntax(t *testing.T) {
	f, err := Parse("seeds.txt", []byte("# Lazarus\n0xaa\n\nbc1qzz # a note\ntxid:0\n"), testFlags)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Jobs) != 3 || f.Jobs[1].ID != "bc1qzz" || f.Jobs[1].Line != 4 || f.Jobs[2].ID != "txid_0" {
		t.Errorf("plain list: %+v", f.Jobs)
	}
	_, err = Parse("bad.yaml", []byte("jobs:\n  - id: a\n    seeds: [x\n"), testFlags)
	if err == nil || !strings.HasPrefix(err.Error(), "bad.yaml:") || strings.HasPrefix(err.Error(), "bad.yaml:1:") {
		t.Errorf("YAML syntax error: %v; want it located past line 1", err)
	}
}

func TestDiffAndLinks(t *testing.T) {
	prev := &Result{Addresses: []Reached{{Address: "s"}, {Address: "m"}}, Endpoints: []Endpoint{{Address: "x", Asset: "ETH", Taint: "5"}}}
	now := &Result{Addresses: []Reached{{Address: "s"}, {Address: "n"}, {Address: "x"}, {Address: "y"}},
		Endpoints: []Endpoint{{Address: "x", Asset: "ETH", Taint: "7"}, {Address: "y", Asset: "ETH", Taint: "1"}}}
	d := DiffOf(prev, 3, now)
	if strings.Join(d.NewAddresses, ",") != "n,x,y" || strings.Join(d.NewEndpoints, ",") != "y ETH" ||
		strings.Join(d.TaintGrew, ",") != "x ETH: 5 -> 7" || strings.Join(d.Gone, ",") != "m" || d.Empty() {
		t.Errorf("diff %+v", d)
	}
	if !DiffOf(now, 4, now).Empty() {
		t.Error("a result differs from itself")
	}
	links := Links(map[string]*Result{
		"a": {Case: "c1", Addresses: []Reached{{Address: "w"}, {Address: "ex", Label: "Exchange"}}, Endpoints: []Endpoint{{Address: "ex"}}},
		"b": {Case: "c2", Addresses: []Reached{{Address: "w"}, {Address: "ex"}}, Endpoints: []Endpoint{{Address: "ex"}}},
		"c": {Addresses: []Reached{{Address: "z"}}},
	})
	if len(links) != 2 || links[0].Address != "w" || links[0].Endpoint || strings.Join(links[0].Cases, ",") != "c1,c2" ||
		links[1].Address != "ex" || !links[1].Endpoint || links[1].Label != "Exchange" {
		t.Errorf("links %+v: want the wallet w first, then the endpoint ex", links)
	}
}

func TestSummaryTotalsTaintPerExchange(t *testing.T) {
	r := func(eps ...Endpoint) *Result { return &Result{Endpoints: eps} }
	s := &Summary{Jobs: []JobLine{
		Line(Record{ID: "a", Status: Done, Result: r(Endpoint{Label: "Binance", Category: "exchange", Asset: "ETH", Taint: "5"},
			Endpoint{Label: "Tornado", Category: "mixing_service", Asset: "ETH", Taint: "9"})}, 1),
		Line(Record{ID: "b", Status: Done, Result: r(Endpoint{Label: "Binance", Category: "exchange", Asset: "ETH", Taint: "18446744073709551616"},
			Endpoint{Label: "OKX", Category: "exchange", Asset: "ETH", Taint: "7"})}, 1),
		{ID: "c", Status: Failed},
	}}
	s.Total()
	if s.Totals.TaintToExchanges["ETH"] != "18446744073709551628" {
		t.Errorf("taint to exchanges %v", s.Totals.TaintToExchanges)
	}
	want := []ExchangeTaint{{"Binance", "ETH", "18446744073709551621"}, {"OKX", "ETH", "7"}}
	if len(s.Totals.Exchanges) != 2 || s.Totals.Exchanges[0] != want[0] || s.Totals.Exchanges[1] != want[1] {
		t.Errorf("per exchange %+v, want %+v", s.Totals.Exchanges, want)
	}
	if s.Totals.Done != 2 || s.Totals.Failed != 1 {
		t.Errorf("totals %+v", s.Totals)
	}
}
