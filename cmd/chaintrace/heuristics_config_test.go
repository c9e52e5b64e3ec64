package main

import (
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// TestHeuristicsConfigOverDefaults: keys in the file replace their
// defaults, keys left out keep them, and the CoinJoin guard's name follows
// the detectors.
func TestHeuristicsConfigOverDefaults(t *testing.T) {
	v := viper.New()
	v.SetConfigType("yaml")
	yaml := "heuristics:\n  peel-chain:\n    min-length: 5\n  coinjoin:\n    wasabi2:\n      min-inputs: 30\n  change:\n    locktime: {enabled: true}\n  deposit-address:\n    max-left: \"0\"\n"
	if err := v.ReadConfig(strings.NewReader(yaml)); err != nil {
		t.Fatal(err)
	}
	cfg, err := (&globalOptions{v: v}).heuristicsConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PeelChain.MinLength != 5 || cfg.PeelChain.MaxLength != 10000 || !cfg.PeelChain.Enabled {
		t.Errorf("peel-chain %+v", cfg.PeelChain)
	}
	if cfg.CoinJoin.Wasabi2.MinInputs != 30 || cfg.CoinJoin.Wasabi2.MinStandardPercent != 80 || !cfg.CoinJoin.Whirlpool.Enabled {
		t.Errorf("coinjoin %+v", cfg.CoinJoin)
	}
	if !cfg.Change.Locktime.Enabled || !cfg.Change.AddressReuse.Enabled || cfg.Deposit.MaxLeft != "0" || cfg.Deposit.WithinBlocks != 10000 {
		t.Errorf("change %+v deposit %+v", cfg.Change, cfg.Deposit)
	}
	if r := cfg.SkipRule(); !strings.HasPrefix(r, "coinjoin/1:") {
		t.Errorf("skip rule %q with other detectors", r)
	}
	def, err := (&globalOptions{v: viper.New()}).heuristicsConfig()
	if err != nil || def.SkipRule() != "coinjoin/1" || def.PeelChain.MinLength != 3 {
		t.Errorf("no section: %+v %v", def.PeelChain, err)
	}
}
