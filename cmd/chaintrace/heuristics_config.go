package main

import (
	"reflect"
	"strings"

	"github.com/chaintrace/chaintrace/heuristics"
)

// heuristicsConfigKeys are the config file's keys of the heuristics
// section ("heuristics.peel-chain.min-length", ...), read off the
// mapstructure tags of heuristics.Config. The section is file-only: no
// flag or environment variable sets it.
func heuristicsConfigKeys() []string {
	var keys []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(prefix+tag+".", f.Type)
				continue
			}
			keys = append(keys, prefix+tag)
		}
	}
	walk("heuristics.", reflect.TypeOf(heuristics.Config{}))
	return keys
}

// heuristicsConfig is the heuristics section of the config over the
// defaults (a key left out keeps its default), validated.
func (o *globalOptions) heuristicsConfig() (heuristics.Config, error) {
	cfg := heuristics.DefaultConfig()
	if o.v.IsSet("heuristics") {
		if err := o.v.UnmarshalKey("heuristics", &cfg); err != nil {
			return cfg, usagef("config: heuristics: %s", strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usagef("config: %v", err)
	}
	return cfg, nil
}
