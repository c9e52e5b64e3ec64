package ethereum

import (
	"context"
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/ethereum/go-ethereum/common"
)

// balanceOfSelector is the ERC-20 balanceOf(address) selector.
const balanceOfSelector = "0x70a08231"

// BalanceAt returns addr's balance of asset ("ETH" or a token contract) at
// the end of block n: eth_getBalance for ether, balanceOf through eth_call
// for a token. Tracing needs it for the opening balance of an address that
// taint reaches, and it needs archive state for old blocks.
func (a *Adapter) BalanceAt(ctx context.Context, addr, asset string, n uint64) (*big.Int, error) {
	who := common.HexToAddress(addr)
	var q bigQuantity
	if asset == chains.AssetETH {
		if err := a.rpc.Call(ctx, &q, "eth_getBalance", who, hexQuantity(n)); err != nil {
			return nil, fmt.Errorf("%s: eth_getBalance %s at %d: %w", a.rpc.Endpoint(), addr, n, err)
		}
		return q.Big(), nil
	}
	call := map[string]any{
		"to":   common.HexToAddress(asset),
		"data": balanceOfSelector + common.Bytes2Hex(common.LeftPadBytes(who.Bytes(), 32)),
	}
	var out string
	if err := a.rpc.Call(ctx, &out, "eth_call", call, hexQuantity(n)); err != nil {
		return nil, fmt.Errorf("%s: balanceOf(%s) on token %s at %d: %w", a.rpc.Endpoint(), addr, asset, n, err)
	}
	b := common.FromHex(out)
	if len(b) == 0 {
		// An empty answer: the token may not exist yet at block n (it was
		// created later in the window). No code there means no balance; a
		// contract that answers nothing is an error.
		var code string
		if err := a.rpc.Call(ctx, &code, "eth_getCode", common.HexToAddress(asset), hexQuantity(n)); err != nil {
			return nil, fmt.Errorf("%s: eth_getCode %s at %d: %w", a.rpc.Endpoint(), asset, n, err)
		}
		if len(common.FromHex(code)) == 0 {
			return new(big.Int), nil
		}
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("%s: balanceOf(%s) on token %s at %d: answer of %d bytes, want 32", a.rpc.Endpoint(), addr, asset, n, len(b))
	}
	return new(big.Int).SetBytes(b), nil
}
