package bitcoin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/chaintrace/chaintrace/chains/ethereum"
)

// ErrNoAddressIndex means the node keeps no address index to search: btcd
// started without --addrindex, or Bitcoin Core (which has no
// searchrawtransactions at all).
var ErrNoAddressIndex = errors.New("the node has no address index (searchrawtransactions)")

// NameSearchRawTransactions names the address-index history backend.
const NameSearchRawTransactions = "searchrawtransactions"

// DefaultHistoryPageSize is the number of transactions asked of one
// searchrawtransactions call (btcd sets no upper bound; its default is 100).
const DefaultHistoryPageSize = 1000

// noIndexHint is what to do about ErrNoAddressIndex.
const noIndexHint = "start btcd with --txindex --addrindex, or build a local index with `chaintrace index --chain btc`"

// HistoryOptions configure an AddrIndexHistory.
type HistoryOptions struct {
	// PageSize is searchrawtransactions' count; 0: DefaultHistoryPageSize.
	PageSize int
}

// AddrIndexHistory finds the blocks in which an address appears through
// btcd's address index (searchrawtransactions, btcd with --addrindex
// --txindex): every transaction with an output paying the address or an
// input spending an output that paid it. The index answers oldest first and
// pages with skip/count; the heights of the blocks named by their hashes are
// read with batched getblockheader calls and remembered (a hash's height
// never changes).
type AddrIndexHistory struct {
	a        *Adapter
	pageSize int
	requests atomic.Int64

	mu      sync.Mutex
	heights map[string]uint64 // block hash → height
}

// NewAddrIndexHistory makes the searchrawtransactions backend on a.
func NewAddrIndexHistory(a *Adapter, opts HistoryOptions) *AddrIndexHistory {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultHistoryPageSize
	}
	return &AddrIndexHistory{a: a, pageSize: opts.PageSize, heights: map[string]uint64{}}
}

// Name is "searchrawtransactions".
func (h *AddrIndexHistory) Name() string { return NameSearchRawTransactions }

// Requests is the number of JSON-RPC round trips (searchrawtransactions
// pages and getblockheader batches) made so far.
func (h *AddrIndexHistory) Requests() int64 { return h.requests.Load() }

// AddressBlocks returns, ascending and without repeats, the heights of the
// blocks in [from, to] holding a transaction that pays or spends addr, from
// the node's address index (see AddrIndexHistory). A node without one gives
// an error wrapping ErrNoAddressIndex.
func (a *Adapter) AddressBlocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error) {
	return NewAddrIndexHistory(a, HistoryOptions{}).AddressBlocks(ctx, addr, from, to)
}

// srtEntry is the part of a verbose searchrawtransactions result read here;
// a mempool transaction has no block hash.
type srtEntry struct {
	TxID      string `json:"txid"`
	BlockHash string `json:"blockhash"`
}

// AddressBlocks returns, ascending and without repeats, the heights of the
// blocks in [from, to] holding a transaction that pays or spends addr.
// Unconfirmed transactions are left out; an address the index has never
// seen gives no blocks and no error.
func (h *AddrIndexHistory) AddressBlocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error) {
	a, err := ParseAddress(addr, h.a.net)
	if err != nil {
		return nil, err
	}
	enc := a.EncodeAddress()
	if from > to {
		return nil, nil
	}
	ep := h.a.rpc.Endpoint()
	var out []uint64
	for skip := 0; ; {
		var page []srtEntry
		// address, verbose, skip, count, vinextra, reverse: oldest first.
		h.requests.Add(1)
		err := h.a.rpc.Call(ctx, &page, "searchrawtransactions", enc, 1, skip, h.pageSize, 0, false)
		if err != nil {
			switch {
			case noTxInfo(err):
				page = nil // no (more) transactions
			case noAddressIndex(err):
				return nil, fmt.Errorf("%s: searchrawtransactions: %w: %v; %s", ep, ErrNoAddressIndex, err, noIndexHint)
			default:
				return nil, fmt.Errorf("%s: searchrawtransactions %s (skip %d): %w", ep, enc, skip, err)
			}
		}
		hs, err := h.blockHeights(ctx, page)
		if err != nil {
			return nil, err
		}
		past := false
		for i, e := range page {
			if e.BlockHash == "" {
				// The mempool comes after every confirmed transaction.
				past = true
				break
			}
			switch n := hs[i]; {
			case n > to:
				past = true
			case n >= from:
				out = append(out, n)
			}
			if past {
				break
			}
		}
		if past || len(page) < h.pageSize {
			break
		}
		skip += len(page)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// blockHeights returns the height of each entry's block (0 for a mempool
// entry), asking getblockheader, in one batch, for the hashes not yet known.
func (h *AddrIndexHistory) blockHeights(ctx context.Context, page []srtEntry) ([]uint64, error) {
	ep := h.a.rpc.Endpoint()
	var ask []ethereum.BatchElem
	asked := map[string]bool{}
	h.mu.Lock()
	for _, e := range page {
		hash := strings.ToLower(e.BlockHash)
		if hash == "" || asked[hash] {
			continue
		}
		if _, ok := h.heights[hash]; ok {
			continue
		}
		if len(hash) != 64 {
			h.mu.Unlock()
			return nil, fmt.Errorf("%w: %s: searchrawtransactions names block %q for %s", ErrInconsistent, ep, e.BlockHash, e.TxID)
		}
		asked[hash] = true
		ask = append(ask, ethereum.BatchElem{Method: "getblockheader", Params: []any{hash, true}})
	}
	h.mu.Unlock()
	if len(ask) > 0 {
		h.requests.Add(1)
		if err := h.a.rpc.Batch(ctx, ask); err != nil {
			return nil, err
		}
		found := make(map[string]uint64, len(ask))
		for _, el := range ask {
			hash := el.Params[0].(string)
			if el.Error != nil {
				return nil, fmt.Errorf("%s: getblockheader %s: %w", ep, hash, el.Error)
			}
			var hdr struct {
				Hash   string `json:"hash"`
				Height *int64 `json:"height"`
			}
			if err := json.Unmarshal(el.Result, &hdr); err != nil || hdr.Height == nil || *hdr.Height < 0 ||
				!strings.EqualFold(hdr.Hash, hash) {
				return nil, fmt.Errorf("%w: %s: getblockheader %s answered %.200s", ErrInconsistent, ep, hash, el.Result)
			}
			found[hash] = uint64(*hdr.Height)
		}
		h.mu.Lock()
		for k, v := range found {
			h.heights[k] = v
		}
		h.mu.Unlock()
	}
	out := make([]uint64, len(page))
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, e := range page {
		if e.BlockHash != "" {
			out[i] = h.heights[strings.ToLower(e.BlockHash)]
		}
	}
	return out, nil
}

// noTxInfo reports btcd's answer for an address without (further)
// transactions: -5 "No information available about address" (a skip past
// the last transaction answers the same). Older btcd said "No Txns
// available".
func noTxInfo(err error) bool {
	var re *ethereum.RPCError
	if !errors.As(err, &re) {
		return false
	}
	return strings.Contains(re.Message, "No information available about address") ||
		strings.Contains(re.Message, "No Txns available")
}

// noAddressIndex reports an answer meaning the node keeps no address index:
// btcd without --addrindex (-1 "Address index must be enabled
// (--addrindex)"), or a node without the method (Core: -32601 "Method not
// found").
func noAddressIndex(err error) bool {
	var re *ethereum.RPCError
	if !errors.As(err, &re) {
		return false
	}
	return re.Code == -32601 || strings.Contains(re.Message, "--addrindex") ||
		strings.Contains(strings.ToLower(re.Message), "address index")
}

// Blocks is AddressBlocks under the name the tracer's BlockFinder uses.
func (h *AddrIndexHistory) Blocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error) {
	return h.AddressBlocks(ctx, addr, from, to)
}

// ErrUnknownTx means the node knows no transaction of that id (or keeps no
// transaction index to find it by).
var ErrUnknownTx = errors.New("transaction not found")

// TxBlock returns the height of the block holding txid, from
// getrawtransaction (btcd with --txindex, Core with -txindex) and
// getblockheader. A transaction the node does not know gives an error
// wrapping ErrUnknownTx; one in the mempool reports ok false.
func (a *Adapter) TxBlock(ctx context.Context, txid string) (height uint64, ok bool, err error) {
	ep := a.rpc.Endpoint()
	var tx struct {
		TxID      string `json:"txid"`
		BlockHash string `json:"blockhash"`
	}
	if err := a.rpc.Call(ctx, &tx, "getrawtransaction", txid, 1); err != nil {
		var re *ethereum.RPCError
		if errors.As(err, &re) && (re.Code == -5 || strings.Contains(strings.ToLower(re.Message), "no information")) {
			return 0, false, fmt.Errorf("%s: %w: %s (%s)", ep, ErrUnknownTx, txid, re.Message)
		}
		return 0, false, fmt.Errorf("%s: getrawtransaction %s: %w", ep, txid, err)
	}
	if !strings.EqualFold(tx.TxID, txid) {
		return 0, false, fmt.Errorf("%w: %s: getrawtransaction %s answered tx %q", ErrInconsistent, ep, txid, tx.TxID)
	}
	if tx.BlockHash == "" {
		return 0, false, nil
	}
	hs, err := NewAddrIndexHistory(a, HistoryOptions{}).blockHeights(ctx, []srtEntry{{TxID: txid, BlockHash: tx.BlockHash}})
	if err != nil {
		return 0, false, err
	}
	return hs[0], true, nil
}
