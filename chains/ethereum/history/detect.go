package history

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// Detect probes which of the three sources the endpoint answers, in one
// batch: a trace_filter on the latest block for the zero address as sender
// (cheap: an index lookup that matches nothing), ots_getApiLevel (8 or more)
// and eth_getLogs of Transfer logs from the zero address in the latest block.
// It returns the names of those that answered well, in the order
// "trace_filter", "ots", "logs". A method the node does not have (-32601,
// "does not exist/is not available"), or one that answers an error or
// something unreadable, is left out; the error is for a node that cannot be
// reached.
func Detect(ctx context.Context, c *ethereum.Client) ([]string, error) {
	var zero common.Address
	probes := []ethereum.BatchElem{
		{Method: "trace_filter", Params: []any{map[string]any{
			"fromBlock": "latest", "toBlock": "latest", "fromAddress": []common.Address{zero}, "count": 1,
		}}},
		{Method: "ots_getApiLevel", Params: []any{}},
		{Method: "eth_getLogs", Params: []any{logFilter{
			FromBlock: "latest", ToBlock: "latest", Topics: []any{TransferTopic, common.Hash{}},
		}}},
	}
	r := &rpc{c: c, log: slog.New(slog.DiscardHandler)}
	if err := r.batch(ctx, probes); err != nil {
		return nil, err
	}
	var out []string
	if isArray(probes[0]) {
		out = append(out, NameTraceFilter)
	}
	if p := probes[1]; p.Error == nil {
		var level quantity
		if json.Unmarshal(p.Result, &level) == nil && level >= MinOtterscanAPILvl {
			out = append(out, NameOtterscan)
		}
	}
	if isArray(probes[2]) {
		out = append(out, NameLogs)
	}
	return out, nil
}

// isArray reports whether a probe was answered with a JSON array (null, an
// empty answer, counts as one: no matches).
func isArray(e ethereum.BatchElem) bool {
	if e.Error != nil {
		return false
	}
	var arr []json.RawMessage
	return json.Unmarshal(e.Result, &arr) == nil
}
