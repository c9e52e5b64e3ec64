package heurlab

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// BTCResult is a measured Bitcoin scenario.
type BTCResult struct {
	*BTCMeasure
	Truth *BTCTruth
	// Scenario describes what was played, for the report.
	Scenario string
}

// RunBTC starts a btcd (simnet, built from the module cache on first use),
// plays the scenario, indexes it into a fresh store through chaintrace's
// Bitcoin adapter and indexer (what `chaintrace index --chain btc` runs),
// reads it back and scores cfg's heuristics.
func RunBTC(ctx context.Context, opts BTCOptions, cfg heuristics.Config) (*BTCResult, error) {
	opts.defaults()
	node, err := btcnode.New(btcnode.Options{MatureOutputs: 30})
	if err != nil {
		return nil, fmt.Errorf("starting btcd: %w", err)
	}
	defer node.Close()
	opts.Logf("btcd started; playing the scenario")
	truth, err := PlayBTC(node, opts)
	if err != nil {
		return nil, fmt.Errorf("playing the scenario: %w", err)
	}
	st, done, err := tempStore("heurlab-btc-")
	if err != nil {
		return nil, err
	}
	defer done()
	host, user, pass, _ := node.RPCConfig()
	src, err := bitcoin.Dial(ctx, "https://"+host, bitcoin.Options{User: user, Pass: pass, CertFile: node.CertFile(),
		RPC: ethereum.RPCOptions{Retries: 3}})
	if err != nil {
		return nil, err
	}
	opts.Logf("indexing blocks %d-%d", truth.From, truth.To)
	if _, err := indexer.Run(ctx, src, st, truth.From, truth.To, indexer.Options{}); err != nil {
		return nil, fmt.Errorf("indexing the scenario: %w", err)
	}
	txs, err := LoadBTC(st, truth.From, truth.To)
	if err != nil {
		return nil, err
	}
	m, err := MeasureBTC(ctx, txs, truth, cfg)
	if err != nil {
		return nil, err
	}
	return &BTCResult{BTCMeasure: m, Truth: truth, Scenario: describeBTC(opts, truth, len(txs))}, nil
}

func describeBTC(opts BTCOptions, t *BTCTruth, windowTxs int) string {
	kinds := make([]string, 0, len(t.Counts))
	for k := range t.Counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, t.Counts[k]))
	}
	cj := map[string]int{}
	for _, tx := range t.Txs {
		if tx.CoinJoin != "" {
			cj[tx.CoinJoin]++
		}
	}
	return fmt.Sprintf("btcd (simnet), blocks %d-%d, seed %d: %d wallets of six profiles (segwit, legacy, upgrading: "+
		"legacy receiving and segwit change, reuser: change back to the input address, merchant: a reused receiving address) "+
		"plus an exchange and %d launderers; %d generator transactions (%s) among %d in the window; "+
		"CoinJoins: Whirlpool %d, Wasabi 1 %d, Wasabi 2 %d, JoinMarket %d.",
		t.From, t.To, opts.Seed, opts.Wallets, opts.PeelChains, len(t.Txs), strings.Join(parts, ", "), windowTxs,
		cj[heuristics.CoinJoinWhirlpool], cj[heuristics.CoinJoinWasabi1], cj[heuristics.CoinJoinWasabi2], cj[heuristics.CoinJoinJoinMarket])
}
