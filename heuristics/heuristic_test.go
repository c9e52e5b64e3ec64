package heuristics

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFindingExhibit(t *testing.T) {
	f := Finding{Kind: KindPeelChain, Subject: "s", Confidence: 120, Heuristic: NamePeelChain, Version: "1"}
	e := f.Exhibit()
	if e.Evidence == nil || e.Confidence != 100 || e.Kind != KindPeelChain {
		t.Errorf("%+v", e)
	}
	// The row holds exactly the exhibit's four keys.
	b, _ := json.Marshal(f)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 4 {
		t.Errorf("finding JSON has keys %v", m)
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		NameAddressReuse, NameAddressType, NameOptimalChange, NameRoundAmount, NameFreshAddress, NamePeelChainShape,
		"coinjoin_whirlpool", "coinjoin_wasabi2", "coinjoin_wasabi1", "coinjoin_joinmarket",
		NamePeelChain,
	}
	infos := c.Infos()
	if len(infos) != len(want) {
		t.Fatalf("%d heuristics, want %d: %+v", len(infos), len(want), infos)
	}
	for i, in := range infos {
		if in.Name != want[i] || in.Version != "1" {
			t.Errorf("heuristic %d = %s/%s, want %s/1", i, in.Name, in.Version, want[i])
		}
		// Every one renders as method.heuristics: canonical, no floats.
		h, err := in.Exhibit()
		if err != nil {
			t.Errorf("%s: %v", in.Name, err)
		}
		if len(h.Params) == 0 || h.Params[0] != '{' {
			t.Errorf("%s params %s", in.Name, h.Params)
		}
	}
	// Switching one off removes it.
	c.Change.RoundAmount.Enabled = false
	c.CoinJoin.Wasabi1.Enabled = false
	c.Change.Locktime.Enabled = true
	names := map[string]bool{}
	for _, in := range c.Infos() {
		names[in.Name] = true
	}
	if names[NameRoundAmount] || names["coinjoin_wasabi1"] || !names[NameLocktime] {
		t.Errorf("switches ignored: %v", names)
	}
	// The peel-chain-shape heuristic follows the peel-chain section.
	c.PeelChain.MinLength = 7
	for _, h := range c.ChangeDetector().Heuristics {
		if s, ok := h.(PeelChainShape); ok && s.Peel.MinLength != 7 {
			t.Errorf("peel shape uses %+v", s.Peel)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"digits":        func(c *Config) { c.Change.RoundAmount.Digits = 0 },
		"whirlpool":     func(c *Config) { c.CoinJoin.Whirlpool.MaxInputs = 1 },
		"wasabi1":       func(c *Config) { c.CoinJoin.Wasabi1.MinEqualOutputs = 1 },
		"wasabi2":       func(c *Config) { c.CoinJoin.Wasabi2.MinStandardPercent = 100 },
		"joinmarket":    func(c *Config) { c.CoinJoin.JoinMarket.MinParticipants = 1 },
		"peel-chain":    func(c *Config) { c.PeelChain.MinLength = 1 },
		"peel-chain-mx": func(c *Config) { c.PeelChain.MaxLength = 2 },
	} {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A disabled heuristic's parameters are not checked.
	c := DefaultConfig()
	c.Change.RoundAmount = RoundAmount{}
	if err := c.Validate(); err != nil {
		t.Errorf("disabled round-amount: %v", err)
	}
}

func TestSkipRuleNamesTheDetectors(t *testing.T) {
	c := DefaultConfig()
	if got := c.SkipRule(); got != "coinjoin/1" {
		t.Errorf("default: %q", got)
	}
	c.CoinJoin.Wasabi2.MinInputs = 20
	a := c.SkipRule()
	c.CoinJoin.Wasabi2.MinInputs = 21
	b := c.SkipRule()
	if !strings.HasPrefix(a, "coinjoin/1:") || a == b {
		t.Errorf("changed detectors: %q and %q", a, b)
	}
	c.MultiInput.SkipCoinJoins = false
	if got, o := c.SkipRule(), c.MultiInputOptions(5); got != "none" || o.SkipTx != nil || o.HoldAbove != 5 {
		t.Errorf("skip off: %q %+v", got, o)
	}
}
