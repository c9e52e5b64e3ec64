package history

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// Logs finds the blocks with an ERC-20 or ERC-721 Transfer log that names
// the address as sender (topic1) or recipient (topic2), from any contract.
// Two eth_getLogs filters per chunk, since topics match by position:
//
//	{fromBlock, toBlock, topics: [Transfer, addr]}
//	{fromBlock, toBlock, topics: [Transfer, null, addr]}
//
// The window is clamped to the head (Erigon refuses a toBlock past it), cut
// to the node's block range limit as for trace_filter, and a chunk refused
// for too many results (geth: "query returned more than 10000 results") is
// halved until it passes.
type Logs struct {
	*ranged
}

// NewLogs makes an eth_getLogs source on c.
func NewLogs(c *ethereum.Client, opts Options) *Logs {
	opts.defaults()
	return &Logs{newRanged(c, opts, logsQuery{})}
}

// Name is "logs".
func (l *Logs) Name() string { return NameLogs }

// Requests is the number of HTTP requests made so far.
func (l *Logs) Requests() int64 { return l.requests.Load() }

// Blocks returns the blocks in [from, to] with a Transfer log from or to
// addr, ascending.
func (l *Logs) Blocks(ctx context.Context, addr common.Address, from, to uint64) ([]uint64, error) {
	return l.blocks(ctx, addr, from, to)
}

type logFilter struct {
	FromBlock string `json:"fromBlock"`
	ToBlock   string `json:"toBlock"`
	Topics    []any  `json:"topics"`
}

type logsQuery struct{}

func (logsQuery) method() string { return "eth_getLogs" }
func (logsQuery) kinds() int     { return 2 }

func (logsQuery) elem(addr common.Address, t task) ethereum.BatchElem {
	party := common.BytesToHash(addr.Bytes()) // left-padded to 32 bytes
	topics := []any{TransferTopic, party}
	if t.kind == 1 {
		topics = []any{TransferTopic, nil, party}
	}
	return ethereum.BatchElem{Method: "eth_getLogs", Params: []any{logFilter{
		FromBlock: hexQuantity(t.from),
		ToBlock:   hexQuantity(t.to),
		Topics:    topics,
	}}}
}

type logEntry struct {
	BlockNumber *quantity `json:"blockNumber"`
	Removed     bool      `json:"removed"`
}

func (logsQuery) read(raw json.RawMessage, t task, set map[uint64]struct{}) (*task, error) {
	var logs []logEntry
	if err := json.Unmarshal(raw, &logs); err != nil {
		return nil, err
	}
	for i, l := range logs {
		if l.Removed {
			continue
		}
		if l.BlockNumber == nil {
			return nil, fmt.Errorf("log %d has no blockNumber", i)
		}
		b := uint64(*l.BlockNumber)
		if b < t.from || b > t.to {
			return nil, fmt.Errorf("log %d is in block %d, outside the filter", i, b)
		}
		set[b] = struct{}{}
	}
	return nil, nil
}
