package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum/history"
	"github.com/chaintrace/chaintrace/chains/etherscan"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/pflag"
)

// History modes of --history.
const (
	historyAuto        = "auto"
	historyScan        = "scan"
	historyTraceFilter = "trace_filter"
	historyOts         = "ots"
	historyEtherscan   = "etherscan"
)

func addHistoryFlags(f *pflag.FlagSet) {
	f.String("history", historyAuto, "how to find an address's history: auto, scan (index the whole window), trace_filter (Erigon, Nethermind, reth), ots (Otterscan), etherscan")
	f.String("etherscan-url", "", "an Etherscan-compatible account API (Etherscan, Blockscout), e.g. https://api.etherscan.io/api")
	f.String("etherscan-key", "", "API key of --etherscan-url (never written anywhere)")
	f.String("etherscan-chain-id", "", "chain id for Etherscan's multichain V2 API (adds chainid=)")
	f.Float64("etherscan-rate", 5, "requests per second to --etherscan-url (free plans allow about 5)")
}

const historyMetaKey = "eth.history"

// historyBackends resolves --history to the backends a trace uses, or nil
// for the block scan. auto takes what the store used before (so a warm
// trace needs no node), else an explorer if one is configured, else what
// the node answers: trace_filter, then Otterscan, each with token logs.
func (o *globalOptions) historyBackends(ctx context.Context, st *store.Store, node *lazyNode) ([]string, error) {
	mode := o.v.GetString("history")
	switch mode {
	case historyScan:
		return nil, nil
	case historyTraceFilter, historyOts:
		return []string{mode, "logs"}, nil
	case historyEtherscan:
		if o.v.GetString("etherscan.url") == "" {
			return nil, usagef("--history etherscan needs --etherscan-url")
		}
		return []string{historyEtherscan}, nil
	case historyAuto:
	default:
		return nil, usagef("--history %q: want auto, scan, trace_filter, ots or etherscan", mode)
	}
	if b, ok, err := st.Meta(historyMetaKey); err != nil {
		return nil, err
	} else if ok {
		var names []string
		if err := json.Unmarshal(b, &names); err != nil {
			return nil, fmt.Errorf("store: %s: %w", historyMetaKey, err)
		}
		if len(names) == 0 {
			return nil, nil // the store was filled by the block scan
		}
		return names, nil
	}
	if o.v.GetString("etherscan.url") != "" {
		return []string{historyEtherscan}, nil
	}
	a, err := node.get()
	if err != nil {
		return nil, err
	}
	caps, err := history.Detect(ctx, a.RPC())
	if err != nil {
		return nil, err
	}
	for _, m := range []string{historyTraceFilter, historyOts} {
		if containsString(caps, m) {
			return []string{m, "logs"}, nil
		}
	}
	return nil, nil
}

// recordHistory remembers the backends a store was filled by; none means
// the block scan.
func recordHistory(st *store.Store, names []string) error {
	if names == nil {
		names = []string{}
	}
	b, err := json.Marshal(names)
	if err != nil {
		return err
	}
	return st.SetMeta(historyMetaKey, b)
}

// lazyFinder builds its backend on first use, so a trace whose history
// the store already covers needs neither the node nor the explorer.
type lazyFinder struct {
	name  string
	build func() (tracer.BlockFinder, error)
	once  sync.Once
	f     tracer.BlockFinder
	err   error
}

func (l *lazyFinder) Name() string { return l.name }

func (l *lazyFinder) get() (tracer.BlockFinder, error) {
	l.once.Do(func() { l.f, l.err = l.build() })
	return l.f, l.err
}

func (l *lazyFinder) Blocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error) {
	f, err := l.get()
	if err != nil {
		return nil, err
	}
	return f.Blocks(ctx, addr, from, to)
}

// lazyClaimFinder is a lazyFinder for an explorer.
type lazyClaimFinder struct{ lazyFinder }

func (l *lazyClaimFinder) Claims(ctx context.Context, addr string, from, to uint64) ([]tracer.Claim, error) {
	f, err := l.get()
	if err != nil {
		return nil, err
	}
	return f.(tracer.ClaimFinder).Claims(ctx, addr, from, to)
}

// nodeFinder adapts a node-side history backend.
type nodeFinder struct {
	name string
	fn   func(ctx context.Context, addr common.Address, from, to uint64) ([]uint64, error)
}

func (n nodeFinder) Name() string { return n.name }

func (n nodeFinder) Blocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error) {
	return n.fn(ctx, common.HexToAddress(addr), from, to)
}

// explorerFinder adapts an Etherscan-compatible client.
type explorerFinder struct{ c *etherscan.Client }

func (e explorerFinder) Name() string { return historyEtherscan }

func (e explorerFinder) Blocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error) {
	return e.c.Blocks(ctx, common.HexToAddress(addr), from, to)
}

func (e explorerFinder) Claims(ctx context.Context, addr string, from, to uint64) ([]tracer.Claim, error) {
	cs, err := e.c.History(ctx, addr, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]tracer.Claim, len(cs))
	for i, c := range cs {
		out[i] = tracer.Claim{Block: c.Block, TxHash: c.TxHash, Kind: chains.Kind(c.Kind), From: c.From, To: c.To,
			Asset: c.Asset, Amount: c.Amount, TokenID: c.TokenID, Failed: c.Failed}
	}
	return out, nil
}

// finders builds the backends named, lazily.
func (o *globalOptions) finders(names []string, node *lazyNode) ([]tracer.BlockFinder, error) {
	var out []tracer.BlockFinder
	for _, name := range names {
		name := name
		switch name {
		case historyTraceFilter, historyOts, "logs":
			out = append(out, &lazyFinder{name: name, build: func() (tracer.BlockFinder, error) {
				a, err := node.get()
				if err != nil {
					return nil, err
				}
				opts := history.Options{Logger: o.logger}
				switch name {
				case historyTraceFilter:
					return nodeFinder{name, history.NewTraceFilter(a.RPC(), opts).Blocks}, nil
				case historyOts:
					return nodeFinder{name, history.NewOtterscan(a.RPC(), opts).Blocks}, nil
				}
				return nodeFinder{name, history.NewLogs(a.RPC(), opts).Blocks}, nil
			}})
		case historyEtherscan:
			raw := o.v.GetString("etherscan.url")
			u, err := url.Parse(raw)
			if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, usagef("--etherscan-url %q: want an http:// or https:// URL", chains.RedactURL(raw))
			}
			var chainID uint64
			if s := strings.TrimSpace(o.v.GetString("etherscan.chain-id")); s != "" {
				if _, err := fmt.Sscan(s, &chainID); err != nil {
					return nil, usagef("--etherscan-chain-id %q: want a number", s)
				}
			}
			key, rate := o.v.GetString("etherscan.key"), o.v.GetFloat64("etherscan.rate")
			out = append(out, &lazyClaimFinder{lazyFinder{name: name, build: func() (tracer.BlockFinder, error) {
				return explorerFinder{etherscan.New(raw, etherscan.Options{Key: key, ChainID: chainID, RequestsPerSecond: rate, Logger: o.logger})}, nil
			}}})
		default:
			return nil, fmt.Errorf("unknown history backend %q", name)
		}
	}
	return out, nil
}

// historyMethod is the node method behind each node-side backend.
var historyMethod = map[string]string{
	historyTraceFilter: "trace_filter",
	historyOts:         "ots_searchTransactionsAfter",
	"logs":             "eth_getLogs",
}

// historySources are the provenance entries of the backends named: the
// node's endpoint for node-side backends, the explorer's (redacted).
func (o *globalOptions) historySources(names []string, node storeProvenance) []exhibit.Source {
	var out []exhibit.Source
	for _, n := range names {
		if n == historyEtherscan {
			out = append(out, exhibit.Source{Kind: "history:etherscan", EndpointRedacted: chains.RedactURL(o.v.GetString("etherscan.url")),
				Capabilities: []string{"tokennfttx", "tokentx", "txlist", "txlistinternal"}})
			continue
		}
		for _, s := range node.Sources {
			if s.Kind == "eth-jsonrpc" {
				out = append(out, exhibit.Source{Kind: "history:" + n, EndpointRedacted: s.EndpointRedacted, ClientVersion: s.ClientVersion,
					Capabilities: []string{historyMethod[n]}})
			}
		}
	}
	return out
}
