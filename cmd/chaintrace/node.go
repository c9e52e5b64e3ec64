package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/store"
	"github.com/spf13/cobra"
)

// addNodeFlags adds the flags that reach an Ethereum node.
func addNodeFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("chain", "eth", "chain: eth or btc")
	f.String("eth-rpc", "", "Ethereum JSON-RPC endpoint URL (geth, erigon, nethermind, reth, or a provider)")
	f.Int("eth-batch-size", 100, "JSON-RPC calls per HTTP request (at most 1000)")
	f.Int("eth-concurrency", 4, "HTTP requests in flight at once to the node")
	f.Duration("eth-timeout", 2*time.Minute, "timeout of one HTTP request to the node")
	f.Int("eth-retries", 5, "retries of a failed request on each endpoint (backoff doubles from 250ms, with full jitter; a server's Retry-After is honoured)")
	f.StringSlice("eth-rpc-fallback", nil, "another JSON-RPC endpoint of the same Ethereum chain, used when --eth-rpc keeps failing or its circuit is open (repeatable, or a comma list; default none)")
	f.Float64("eth-rate", 0, "requests per second to each Ethereum endpoint (a batch is one request, a retry another); default 0: unlimited")
	f.Int("eth-burst", 1, "requests that may go at once to each Ethereum endpoint before --eth-rate spaces them")
	f.String("eth-trace-timeout", "120s", "per-transaction tracer timeout passed to debug_trace* (geth's own default is 5s)")
	f.Bool("no-internal", false, "read no call traces: internal transfers are left out, and the output says so")
	f.String("btc-rpc", "", "Bitcoin JSON-RPC endpoint URL (Bitcoin Core, or btcd over https)")
	f.String("btc-rpc-user", "", "Bitcoin node RPC user (HTTP basic auth)")
	f.String("btc-rpc-pass", "", "Bitcoin node RPC password")
	f.String("btc-rpc-cert", "", "PEM certificate to trust for an https --btc-rpc (btcd's rpc.cert)")
	f.Int("btc-batch-size", 100, "JSON-RPC calls per HTTP request to the Bitcoin node")
	f.Int("btc-concurrency", 4, "HTTP requests in flight at once to the Bitcoin node (Bitcoin Core's default rpcthreads is 4; work past its queue depth is refused)")
	f.StringSlice("btc-rpc-fallback", nil, "another JSON-RPC endpoint of the same Bitcoin network, used when --btc-rpc keeps failing or its circuit is open (repeatable, or a comma list; user info in its URL overrides --btc-rpc-user; default none)")
	f.Float64("btc-rate", 0, "requests per second to each Bitcoin endpoint (a batch is one request, a retry another); default 0: unlimited")
	f.Int("btc-burst", 1, "requests that may go at once to each Bitcoin endpoint before --btc-rate spaces them")
	f.String("btc-network", "", "Bitcoin network (mainnet, testnet3, testnet4, signet, regtest, simnet); default: the node's, else the store's, else mainnet")
	f.String("esplora", "", "an Esplora REST API (mempool.space, Blockstream electrs), e.g. https://mempool.space/api")
	f.Float64("esplora-rate", 10, "requests per second to --esplora")
}

// dialBtc connects to the configured Bitcoin node. A missing or malformed
// URL is bad input; a node that cannot be reached is a runtime failure.
func (o *globalOptions) dialBtc(ctx context.Context) (*bitcoin.Adapter, error) {
	raw := o.v.GetString("btc.rpc")
	if raw == "" {
		return nil, usagef("--btc-rpc is required (a Bitcoin Core or btcd JSON-RPC URL)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--btc-rpc %q: want an http:// or https:// URL", chains.RedactURL(raw))
	}
	if n := o.v.GetInt("btc.batch-size"); n < 1 || n > 1000 {
		return nil, usagef("--btc-batch-size %d: want 1 to 1000", n)
	}
	if n := o.v.GetInt("btc.concurrency"); n < 1 || n > 64 {
		return nil, usagef("--btc-concurrency %d: want 1 to 64", n)
	}
	res, err := o.nodeResilience("btc")
	if err != nil {
		return nil, err
	}
	a, err := bitcoin.Dial(ctx, raw, bitcoin.Options{
		User:     o.v.GetString("btc.rpc-user"),
		Pass:     o.v.GetString("btc.rpc-pass"),
		CertFile: o.v.GetString("btc.rpc-cert"),
		RPC: ethereum.RPCOptions{Retries: 5, Logger: o.logger, BatchSize: o.v.GetInt("btc.batch-size"),
			Concurrency: o.v.GetInt("btc.concurrency"),
			Fallbacks:   res.fallbacks, RequestsPerSecond: res.rate, Burst: res.burst},
	})
	if err != nil {
		return nil, err
	}
	caps := a.Capabilities()
	o.logger.Info("connected", "endpoint", a.RPC().Endpoint(), "client", caps.Client, "chain", caps.Chain, "getblock_verbosity", caps.Verbosity,
		"fallbacks", len(res.fallbacks), "rate", res.rate)
	return a, nil
}

// resilience is what the --CHAIN-rpc-fallback, --CHAIN-rate and
// --CHAIN-burst flags ask for.
type resilience struct {
	fallbacks []string
	rate      float64 // requests a second per endpoint; 0 unlimited
	burst     int
}

// nodeResilience reads and checks the fallback endpoints, rate and burst of
// a chain ("eth" or "btc"). Values may come from a flag, the environment
// or the config file, so each is parsed here rather than trusted to viper's
// silent conversions (a rate of "fast" must not read as 0, unlimited).
func (o *globalOptions) nodeResilience(chain string) (resilience, error) {
	var r resilience
	for _, item := range o.v.GetStringSlice(chain + ".rpc-fallback") {
		for _, raw := range strings.Split(item, ",") {
			raw = strings.TrimSpace(raw)
			if raw == "" {
				continue
			}
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return r, usagef("--%s-rpc-fallback %q: want an http:// or https:// URL", chain, chains.RedactURL(raw))
			}
			r.fallbacks = append(r.fallbacks, raw)
		}
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(fmt.Sprint(o.v.Get(chain+".rate"))), 64)
	if err != nil || math.IsNaN(rate) || math.IsInf(rate, 0) || rate < 0 {
		return r, usagef("--%s-rate %v: want requests per second, 0 (unlimited) or more", chain, o.v.Get(chain+".rate"))
	}
	burst, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(o.v.Get(chain + ".burst"))))
	if err != nil || burst < 1 {
		return r, usagef("--%s-burst %v: want a whole number of requests, 1 or more", chain, o.v.Get(chain+".burst"))
	}
	r.rate, r.burst = rate, burst
	return r, nil
}

// checkBtcHead refuses a window past the node's best block.
func checkBtcHead(ctx context.Context, a *bitcoin.Adapter, to uint64) error {
	head, err := a.Head(ctx)
	if err != nil {
		return err
	}
	if to > head {
		return usagef("--to-block %d is beyond the node's best block %d", to, head)
	}
	return nil
}

// ethOptions collects the adapter options from the merged configuration.
func (o *globalOptions) ethOptions() (ethereum.Options, error) {
	v := o.v
	res, err := o.nodeResilience("eth")
	if err != nil {
		return ethereum.Options{}, err
	}
	return ethereum.Options{
		RPC: ethereum.RPCOptions{
			BatchSize:         v.GetInt("eth.batch-size"),
			Concurrency:       v.GetInt("eth.concurrency"),
			Timeout:           v.GetDuration("eth.timeout"),
			Retries:           v.GetInt("eth.retries"),
			Logger:            o.logger,
			Fallbacks:         res.fallbacks,
			RequestsPerSecond: res.rate,
			Burst:             res.burst,
		},
		NoInternal:   v.GetBool("no-internal"),
		TraceTimeout: v.GetString("eth.trace-timeout"),
	}, nil
}

// dialEth connects to the configured Ethereum node. A missing or malformed
// URL is bad input; a node that cannot be reached is a runtime failure.
func (o *globalOptions) dialEth(ctx context.Context) (*ethereum.Adapter, error) {
	raw := o.v.GetString("eth.rpc")
	if raw == "" {
		return nil, usagef("--eth-rpc is required (an Ethereum JSON-RPC URL)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--eth-rpc %q: want an http:// or https:// URL", chains.RedactURL(raw))
	}
	if n := o.v.GetInt("eth.batch-size"); n < 1 || n > 1000 {
		return nil, usagef("--eth-batch-size %d: want 1 to 1000", n)
	}
	opts, err := o.ethOptions()
	if err != nil {
		return nil, err
	}
	a, err := ethereum.Dial(ctx, raw, opts)
	if err != nil {
		return nil, err
	}
	caps := a.Capabilities()
	o.logger.Info("connected", "endpoint", a.RPC().Endpoint(), "client", caps.ClientVersion, "chain_id", caps.ChainID,
		"block_receipts", caps.BlockReceipts, "trace", caps.TraceMethod(), "fallbacks", len(opts.RPC.Fallbacks), "rate", opts.RPC.RequestsPerSecond)
	if !a.Internal() {
		o.logger.Warn("internal transfers are not read (--no-internal): value moved inside contract calls is missing")
	}
	return a, nil
}

// openStore opens the configured store.
func (o *globalOptions) openStore(readOnly bool) (*store.Store, error) {
	dir := o.v.GetString("store")
	if dir == "" {
		return nil, usagef("--store is empty")
	}
	if dir == "~" || strings.HasPrefix(dir, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, dir[1:])
		}
	}
	st, err := store.Open(dir, store.Options{Logger: o.logger, ReadOnly: readOnly})
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", dir, err)
	}
	return st, nil
}

// blockWindow reads --from-block and --to-block.
func (o *globalOptions) blockWindow() (from, to uint64, err error) {
	if from, err = o.uintFlag("from-block"); err != nil {
		return
	}
	if to, err = o.uintFlag("to-block"); err != nil {
		return
	}
	if from > to {
		return 0, 0, usagef("--from-block %d is after --to-block %d", from, to)
	}
	return from, to, nil
}

// chainFlag reads --chain (eth or btc).
func (o *globalOptions) chainFlag() (chains.Chain, error) {
	c, err := chains.ParseChain(o.v.GetString("chain"))
	if err != nil {
		return "", usagef("--chain: %v", err)
	}
	return c, nil
}

// checkHead refuses a window past the node's head.
func checkHead(ctx context.Context, a *ethereum.Adapter, to uint64) error {
	head, err := a.Head(ctx)
	if err != nil {
		return err
	}
	if to > head {
		return usagef("--to-block %d is beyond the node's head %d", to, head)
	}
	return nil
}

var errInterrupted = errors.New("interrupted")
