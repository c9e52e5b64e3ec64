package etherscan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
)

// The account actions History reads, in the order its claims are listed
// within a block.
const (
	ActionTxList         = "txlist"
	ActionTxListInternal = "txlistinternal"
	ActionTokenTx        = "tokentx"
	ActionTokenNFTTx     = "tokennfttx"
)

// Actions lists the actions History reads.
var Actions = []string{ActionTxList, ActionTxListInternal, ActionTokenTx, ActionTokenNFTTx}

// Claim is one value movement the explorer says happened; the tracer
// confirms each against the node.
type Claim struct {
	Block   uint64
	TxHash  string // lower-case hex
	Kind    string // "native", "internal", "erc20", "erc721"
	From    string // EIP-55
	To      string // EIP-55; for a creation, the created contract
	Asset   string // "ETH" or the token contract, EIP-55
	Amount  *big.Int
	TokenID *big.Int // erc721 only
	Failed  bool     // isError=1, or txreceipt_status=0
	Source  string   // the action the claim came from
}

// record holds the fields of the four actions' records that claims are made
// of, under their documented names (all values are decimal or hex strings).
//
//	txlist          https://docs.etherscan.io/api-reference/endpoint/txlist
//	txlistinternal  https://docs.etherscan.io/api-reference/endpoint/txlistinternal
//	tokentx         https://docs.etherscan.io/api-reference/endpoint/tokentx
//	tokennfttx      https://docs.etherscan.io/api-reference/endpoint/tokennfttx
//
// Blockscout names an internal transaction's hash "transactionHash"
// (apps/block_scout_web/lib/block_scout_web/views/api/rpc/address_view.ex).
type record struct {
	BlockNumber     string `json:"blockNumber"`
	Hash            string `json:"hash"`
	TransactionHash string `json:"transactionHash"`
	From            string `json:"from"`
	To              string `json:"to"`
	Value           string `json:"value"`
	ContractAddress string `json:"contractAddress"`
	IsError         string `json:"isError"`
	TxReceiptStatus string `json:"txreceipt_status"`
	Type            string `json:"type"`
	TraceID         string `json:"traceId"`
	ErrCode         string `json:"errCode"`
	TokenDecimal    string `json:"tokenDecimal"`
	TokenID         string `json:"tokenID"`
	TokenIDs        any    `json:"tokenIDs"` // Blockscout's ERC-1155 batch form in tokentx

	block uint64
}

// History returns every claim about addr with from <= block <= to, from
// txlist, txlistinternal, tokentx and tokennfttx, sorted by block (within a
// block in the order of those actions, each in the explorer's order).
// Zero-value internal transactions are dropped; a zero-value normal
// transaction is kept, since its sender paid for gas.
func (c *Client) History(ctx context.Context, addr string, from, to uint64) ([]Claim, error) {
	a, err := ethereum.ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	if from > to {
		return nil, fmt.Errorf("history of %s: from block %d is after to block %d", a.Hex(), from, to)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([][]Claim, len(Actions))
	errs := make([]error, len(Actions))
	var wg sync.WaitGroup
	for i, action := range Actions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs, err := c.list(ctx, action, a, from, to)
			if err == nil {
				results[i], err = claims(action, recs)
			}
			if err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	// Report the first failure, not a cancellation it caused.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	var out []Claim
	for _, r := range results {
		out = append(out, r...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Block < out[j].Block })
	return out, nil
}

// Blocks returns the ascending unique block numbers of History's claims.
func (c *Client) Blocks(ctx context.Context, addr common.Address, from, to uint64) ([]uint64, error) {
	cl, err := c.History(ctx, addr.Hex(), from, to)
	if err != nil {
		return nil, err
	}
	nums := make([]uint64, 0, len(cl))
	for _, x := range cl {
		nums = append(nums, x.Block)
	}
	slices.Sort(nums)
	return slices.Compact(nums), nil
}

// list reads every record of one action in [from, to], ascending. It pages
// with page/offset up to the result window; when a window is full it starts
// again at the last block seen, dropping that block's records from the
// window just read, since the new query returns all of them again.
func (c *Client) list(ctx context.Context, action string, addr common.Address, from, to uint64) ([]record, error) {
	var out []record
	start := from
	for {
		recs, full, err := c.window1(ctx, action, addr, start, to)
		if err != nil {
			return nil, err
		}
		if !full {
			return append(out, recs...), nil
		}
		first, last := recs[0].block, recs[len(recs)-1].block
		if first == last {
			return nil, fmt.Errorf("%w: %s: %s %s: block %d alone has %d or more records, more than one query can reach",
				ErrUnavailable, c.endpoint, action, addr.Hex(), last, len(recs))
		}
		cut := sort.Search(len(recs), func(i int) bool { return recs[i].block >= last })
		out = append(out, recs[:cut]...)
		c.opts.Logger.Debug("explorer result window full, narrowing", "endpoint", c.endpoint, "action", action, "startblock", last)
		start = last
	}
}

// window1 reads the pages of one query (startblock..endblock) up to the
// result window. full reports that the window was filled, so that records
// may lie past it.
func (c *Client) window1(ctx context.Context, action string, addr common.Address, start, end uint64) (recs []record, full bool, err error) {
	offset := c.opts.PageSize
	for page := 1; ; page++ {
		if int64(page*offset) > c.window.Load() {
			return recs, len(recs) > 0, nil
		}
		params := url.Values{
			"module":     {"account"},
			"action":     {action},
			"address":    {strings.ToLower(addr.Hex())},
			"startblock": {strconv.FormatUint(start, 10)},
			"endblock":   {strconv.FormatUint(end, 10)},
			"page":       {strconv.Itoa(page)},
			"offset":     {strconv.Itoa(offset)},
			"sort":       {"asc"},
		}
		what := fmt.Sprintf("%s %s blocks %d-%d page %d", action, addr.Hex(), start, end, page)
		raw, err := c.call(ctx, params, what)
		var we *windowError
		if errors.As(err, &we) {
			if page == 1 {
				return nil, false, fmt.Errorf("%w: %s: %s: %s (page size %d is past the explorer's result window)", ErrRefused, c.endpoint, what, we.msg, offset)
			}
			// The explorer's window is smaller than ours: learn it.
			c.window.Store(int64((page - 1) * offset))
			c.opts.Logger.Info("explorer result window is smaller than configured", "endpoint", c.endpoint, "window", (page-1)*offset)
			return recs, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		got, err := c.decode(raw, what)
		if err != nil {
			return nil, false, err
		}
		for _, r := range got {
			if r.block < start || r.block > end {
				return nil, false, fmt.Errorf("%w: %s: %s: record in block %d, outside the blocks asked for", ErrInconsistent, c.endpoint, what, r.block)
			}
			if n := len(recs); n > 0 && r.block < recs[n-1].block {
				return nil, false, fmt.Errorf("%w: %s: %s: records not in ascending block order (%d after %d)", ErrInconsistent, c.endpoint, what, r.block, recs[n-1].block)
			}
			recs = append(recs, r)
		}
		if len(got) > offset {
			return nil, false, fmt.Errorf("%w: %s: %s: %d records for offset %d", ErrInconsistent, c.endpoint, what, len(got), offset)
		}
		if len(got) < offset {
			return recs, false, nil
		}
	}
}

func (c *Client) decode(raw json.RawMessage, what string) ([]record, error) {
	if raw == nil {
		return nil, nil
	}
	var recs []record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %v", ErrInconsistent, c.endpoint, what, err)
	}
	for i := range recs {
		n, err := strconv.ParseUint(recs[i].BlockNumber, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s: blockNumber %q", ErrInconsistent, c.endpoint, what, recs[i].BlockNumber)
		}
		recs[i].block = n
	}
	return recs, nil
}

// claims turns one action's records into claims.
func claims(action string, recs []record) ([]Claim, error) {
	out := make([]Claim, 0, len(recs))
	for _, r := range recs {
		cl, keep, err := claim(action, &r)
		if err != nil {
			hash := r.Hash
			if hash == "" {
				hash = r.TransactionHash
			}
			return nil, fmt.Errorf("%w: %s record of tx %s in block %d: %v", ErrInconsistent, action, hash, r.block, err)
		}
		if keep {
			out = append(out, cl)
		}
	}
	return out, nil
}

func claim(action string, r *record) (Claim, bool, error) {
	hash := r.Hash
	if hash == "" {
		hash = r.TransactionHash
	}
	if !validHash(hash) {
		return Claim{}, false, fmt.Errorf("hash %q", hash)
	}
	cl := Claim{Block: r.block, TxHash: strings.ToLower(hash), Source: action, Asset: chains.AssetETH}
	var err error
	if cl.From, err = address("from", r.From, false); err != nil {
		return Claim{}, false, err
	}
	if cl.To, err = address("to", r.To, true); err != nil {
		return Claim{}, false, err
	}
	switch action {
	case ActionTxList, ActionTxListInternal:
		if cl.To == "" {
			// A creation: the value went to the contract it created.
			if cl.To, err = address("contractAddress", r.ContractAddress, false); err != nil {
				return Claim{}, false, err
			}
		}
		if cl.Amount, err = amount("value", r.Value); err != nil {
			return Claim{}, false, err
		}
		if action == ActionTxList {
			cl.Kind = string(chains.KindNative)
			cl.Failed = r.IsError == "1" || r.TxReceiptStatus == "0"
			return cl, true, nil
		}
		cl.Kind = string(chains.KindInternal)
		cl.Failed = r.IsError == "1"
		return cl, cl.Amount.Sign() != 0, nil
	case ActionTokenTx:
		if r.Value == "" && (r.TokenID != "" || r.TokenIDs != nil) {
			// Blockscout lists NFT transfers in tokentx too; tokennfttx has them.
			return Claim{}, false, nil
		}
		cl.Kind = string(chains.KindERC20)
		if cl.Asset, err = address("contractAddress", r.ContractAddress, false); err != nil {
			return Claim{}, false, err
		}
		if cl.Amount, err = amount("value", r.Value); err != nil {
			return Claim{}, false, err
		}
		return cl, true, nil
	case ActionTokenNFTTx:
		cl.Kind = string(chains.KindERC721)
		if cl.Asset, err = address("contractAddress", r.ContractAddress, false); err != nil {
			return Claim{}, false, err
		}
		if cl.TokenID, err = amount("tokenID", r.TokenID); err != nil {
			return Claim{}, false, err
		}
		cl.Amount = big.NewInt(1)
		return cl, true, nil
	}
	return Claim{}, false, fmt.Errorf("unknown action %q", action)
}

// address renders an explorer address in EIP-55 form; empty is allowed
// where the documentation allows it (to, for a creation).
func address(field, s string, emptyOK bool) (string, error) {
	if s == "" && emptyOK {
		return "", nil
	}
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") || !common.IsHexAddress(s) {
		return "", fmt.Errorf("%s %q is not an address", field, s)
	}
	return common.HexToAddress(s).Hex(), nil
}

// amount reads a decimal string as the documentation gives every quantity.
func amount(field, s string) (*big.Int, error) {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.Sign() < 0 {
		return nil, fmt.Errorf("%s %q is not a decimal quantity", field, s)
	}
	return v, nil
}

func validHash(h string) bool {
	if len(h) != 66 || h[0] != '0' || (h[1] != 'x' && h[1] != 'X') {
		return false
	}
	for _, r := range h[2:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
