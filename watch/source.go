package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/ethereum"
)

// Source is a chain as the Watcher follows it.
type Source interface {
	Chain() chains.Chain
	// Network names the network ("eth:1", "btc:mainnet"); a state file is
	// bound to it.
	Network() string
	// Head is the height of the node's best block.
	Head(ctx context.Context) (uint64, error)
	// BlockHash is the hash of the node's canonical block at height n, as
	// chains.Block writes hashes; ErrNoBlock past the head.
	BlockHash(ctx context.Context, n uint64) (string, error)
	// Blocks fetches the canonical blocks at the heights nums, in order,
	// with every value movement in them.
	Blocks(ctx context.Context, nums []uint64) ([]*chains.BlockTransfers, error)
}

// rawSource is what both chain adapters offer.
type rawSource interface {
	FetchRaw(ctx context.Context, nums []uint64) ([]chains.RawBlock, error)
	Decode(raw *chains.RawBlock) (*chains.BlockTransfers, error)
}

func fetchBlocks(ctx context.Context, a rawSource, nums []uint64) ([]*chains.BlockTransfers, error) {
	raws, err := a.FetchRaw(ctx, nums)
	if err != nil {
		return nil, err
	}
	out := make([]*chains.BlockTransfers, len(raws))
	for i := range raws {
		if out[i], err = a.Decode(&raws[i]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInconsistent, err)
		}
	}
	return out, nil
}

// EthSource follows an Ethereum node through the ethereum adapter: native,
// internal (from call traces, unless the adapter reads none) and token
// transfers.
type EthSource struct{ A *ethereum.Adapter }

var _ Source = EthSource{}

func (s EthSource) Chain() chains.Chain { return chains.ETH }
func (s EthSource) Network() string     { return s.A.Network() }
func (s EthSource) Head(ctx context.Context) (uint64, error) {
	return s.A.Head(ctx)
}

func (s EthSource) BlockHash(ctx context.Context, n uint64) (string, error) {
	var hdr *struct {
		Hash string `json:"hash"`
	}
	if err := s.A.RPC().Call(ctx, &hdr, "eth_getBlockByNumber", fmt.Sprintf("0x%x", n), false); err != nil {
		return "", fmt.Errorf("%s: block %d: %w", s.A.RPC().Endpoint(), n, err)
	}
	if hdr == nil || hdr.Hash == "" {
		return "", fmt.Errorf("%s: block %d: %w", s.A.RPC().Endpoint(), n, ErrNoBlock)
	}
	return strings.ToLower(hdr.Hash), nil
}

func (s EthSource) Blocks(ctx context.Context, nums []uint64) ([]*chains.BlockTransfers, error) {
	out, err := fetchBlocks(ctx, s.A, nums)
	if errors.Is(err, ethereum.ErrBeyondHead) {
		return nil, fmt.Errorf("%w: %v", ErrNoBlock, err)
	}
	return out, err
}

// BtcSource follows a Bitcoin Core or btcd node through the bitcoin
// adapter: every output of every transaction, with its inputs' addresses.
type BtcSource struct{ A *bitcoin.Adapter }

var _ Source = BtcSource{}

func (s BtcSource) Chain() chains.Chain { return chains.BTC }
func (s BtcSource) Network() string     { return s.A.Network() }
func (s BtcSource) Head(ctx context.Context) (uint64, error) {
	return s.A.Head(ctx)
}

func (s BtcSource) BlockHash(ctx context.Context, n uint64) (string, error) {
	var h string
	if err := s.A.RPC().Call(ctx, &h, "getblockhash", n); err != nil {
		var re *ethereum.RPCError
		// Core: -8 "Block height out of range"; btcd: -1 "Block number
		// out of range".
		if errors.As(err, &re) && (re.Code == -8 || strings.Contains(re.Message, "out of range")) {
			return "", fmt.Errorf("%s: block %d: %w", s.A.RPC().Endpoint(), n, ErrNoBlock)
		}
		return "", fmt.Errorf("%s: getblockhash %d: %w", s.A.RPC().Endpoint(), n, err)
	}
	return strings.ToLower(h), nil
}

func (s BtcSource) Blocks(ctx context.Context, nums []uint64) ([]*chains.BlockTransfers, error) {
	out, err := fetchBlocks(ctx, s.A, nums)
	if errors.Is(err, bitcoin.ErrBeyondHead) {
		return nil, fmt.Errorf("%w: %v", ErrNoBlock, err)
	}
	return out, err
}
