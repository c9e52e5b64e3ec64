package incidents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
)

// EthNode checks facts against an Ethereum node through the adapter: a
// transaction is found with eth_getTransactionByHash, and its movements
// (internal calls included, unless the adapter was dialled with
// NoInternal) are those the adapter decodes from its block.
func EthNode(a *ethereum.Adapter) Node { return ethNode{a} }

type ethNode struct{ a *ethereum.Adapter }

var _ Node = ethNode{}

func (e ethNode) Tx(ctx context.Context, hash string) (*NodeTx, bool, error) {
	var res json.RawMessage
	if err := e.a.RPC().Call(ctx, &res, "eth_getTransactionByHash", hash); err != nil {
		return nil, false, fmt.Errorf("eth_getTransactionByHash %s: %w", hash, err)
	}
	if len(res) == 0 || string(res) == "null" {
		return nil, false, nil
	}
	var tx struct {
		BlockNumber *string `json:"blockNumber"`
	}
	if err := json.Unmarshal(res, &tx); err != nil {
		return nil, false, fmt.Errorf("%w: eth_getTransactionByHash %s: %v", ethereum.ErrInconsistent, hash, err)
	}
	if tx.BlockNumber == nil {
		return nil, false, nil // pending
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(*tx.BlockNumber, "0x"), 16, 64)
	if err != nil {
		return nil, false, fmt.Errorf("%w: eth_getTransactionByHash %s: block number %q", ethereum.ErrInconsistent, hash, *tx.BlockNumber)
	}
	blk, err := e.Block(ctx, n)
	if err != nil {
		return nil, false, err
	}
	nt, ok := TxOf(blk, hash)
	if !ok {
		return nil, false, fmt.Errorf("%w: transaction %s is not in block %d, where the node says it is (a reorganisation?)", ethereum.ErrInconsistent, hash, n)
	}
	return nt, true, nil
}

func (e ethNode) Block(ctx context.Context, n uint64) (*chains.BlockTransfers, error) {
	raws, err := e.a.FetchRaw(ctx, []uint64{n})
	if errors.Is(err, ethereum.ErrBeyondHead) {
		return nil, fmt.Errorf("block %d: %w", n, ErrBeyondTip)
	}
	if err != nil {
		return nil, err
	}
	return e.a.Decode(&raws[0])
}

// BtcNode checks facts against a Bitcoin node (Bitcoin Core or btcd with a
// transaction index) through the adapter.
func BtcNode(a *bitcoin.Adapter) Node { return btcNode{a} }

type btcNode struct{ a *bitcoin.Adapter }

var _ Node = btcNode{}

func (b btcNode) Tx(ctx context.Context, hash string) (*NodeTx, bool, error) {
	h, ok, err := b.a.TxBlock(ctx, hash)
	if errors.Is(err, bitcoin.ErrUnknownTx) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, nil // in the mempool
	}
	blk, err := b.Block(ctx, h)
	if err != nil {
		return nil, false, err
	}
	nt, found := TxOf(blk, hash)
	if !found {
		return nil, false, fmt.Errorf("%w: transaction %s is not in block %d, where the node says it is", bitcoin.ErrInconsistent, hash, h)
	}
	return nt, true, nil
}

func (b btcNode) Block(ctx context.Context, n uint64) (*chains.BlockTransfers, error) {
	raws, err := b.a.FetchRaw(ctx, []uint64{n})
	if errors.Is(err, bitcoin.ErrBeyondHead) {
		return nil, fmt.Errorf("block %d: %w", n, ErrBeyondTip)
	}
	if err != nil {
		return nil, err
	}
	return b.a.Decode(&raws[0])
}
