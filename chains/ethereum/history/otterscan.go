package history

import (
	"context"
	"fmt"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// Otterscan finds an address's blocks with ots_searchTransactionsAfter
// (Erigon's Otterscan API, level 8): the transactions in which the address
// is the sender or recipient of any call frame, reverted ones included. It
// does not see an address that is only a party of a token log (a token
// recipient); Logs does.
//
// A call names an exclusive lower bound and a page size of at most 25 and
// returns the oldest matching transactions above the bound, whole blocks
// (so a page can hold more), newest first. The next page starts at the
// block of the newest transaction returned. There is no range limit, but
// each page is a round trip.
type Otterscan struct {
	rpc
	pageSize int
}

// NewOtterscan makes an Otterscan source on c.
func NewOtterscan(c *ethereum.Client, opts Options) *Otterscan {
	size := opts.PageSize
	if size <= 0 || size > OtsMaxPageSize {
		size = OtsMaxPageSize
	}
	opts.defaults()
	return &Otterscan{rpc: rpc{c: c, log: opts.Logger}, pageSize: size}
}

// Name is "ots".
func (o *Otterscan) Name() string { return NameOtterscan }

// Requests is the number of HTTP requests made so far.
func (o *Otterscan) Requests() int64 { return o.requests.Load() }

// otsPage is the part of an ots_searchTransactions* answer that is read.
type otsPage struct {
	Txs []struct {
		BlockNumber *quantity `json:"blockNumber"`
	} `json:"txs"`
	FirstPage bool `json:"firstPage"`
	LastPage  bool `json:"lastPage"`
}

// Blocks returns the blocks in [from, to] with a transaction in which addr
// is a party of a call frame, ascending.
func (o *Otterscan) Blocks(ctx context.Context, addr common.Address, from, to uint64) ([]uint64, error) {
	if from > to {
		return nil, fmt.Errorf("%w: ots_searchTransactionsAfter from block %d to %d", ErrRange, from, to)
	}
	set := map[uint64]struct{}{}
	// The bound is exclusive; 0 means "from genesis", which has no
	// transactions, so from 0 and from 1 both start there.
	bound := uint64(0)
	if from > 0 {
		bound = from - 1
	}
	for {
		var page otsPage
		// Both numbers must be JSON numbers: Erigon refuses hex strings.
		if err := o.call(ctx, &page, "ots_searchTransactionsAfter", addr, bound, o.pageSize); err != nil {
			return nil, fmt.Errorf("%s: ots_searchTransactionsAfter(%s, %d, %d): %w", o.c.Endpoint(), addr.Hex(), bound, o.pageSize, err)
		}
		if len(page.Txs) == 0 {
			break
		}
		newest := uint64(0)
		for i, tx := range page.Txs {
			if tx.BlockNumber == nil {
				return nil, fmt.Errorf("%w: %s: ots_searchTransactionsAfter: tx %d has no blockNumber", ethereum.ErrInconsistent, o.c.Endpoint(), i)
			}
			b := uint64(*tx.BlockNumber)
			if b <= bound && !(bound == 0 && b == 0) {
				return nil, fmt.Errorf("%w: %s: ots_searchTransactionsAfter(%d) returned a tx of block %d", ethereum.ErrInconsistent, o.c.Endpoint(), bound, b)
			}
			newest = max(newest, b)
			if b >= from && b <= to {
				set[b] = struct{}{}
			}
		}
		// firstPage: no newer match remains. Past to: nothing more wanted.
		if page.FirstPage || newest >= to {
			break
		}
		if newest <= bound {
			return nil, fmt.Errorf("%w: %s: ots_searchTransactionsAfter does not advance past block %d", ethereum.ErrInconsistent, o.c.Endpoint(), bound)
		}
		bound = newest
	}
	return sortedBlocks(set), nil
}
