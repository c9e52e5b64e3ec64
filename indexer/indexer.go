package indexer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/store"
)

// Source is what the indexer needs from a chain adapter.
type Source interface {
	Chain() chains.Chain
	// Network names the network ("eth:1"); a store serves one per chain.
	Network() string
	// FetchRaw fetches the node's answers for the given blocks.
	FetchRaw(ctx context.Context, nums []uint64) ([]chains.RawBlock, error)
	// Decode turns raw answers into the chain-neutral model, without the node.
	Decode(raw *chains.RawBlock) (*chains.BlockTransfers, error)
	// RawParts names the parts a complete raw block has, so that cached
	// blocks missing a part (fetched with another mode) are fetched again.
	RawParts() []string
}

// partKinds maps raw part names to store kinds.
var partKinds = map[string]store.RawKind{
	"block":    store.RawBlock,
	"receipts": store.RawReceipts,
	"traces":   store.RawTraces,
	"prevtxs":  store.RawPrevTxs,
}

// Options tune a run.
type Options struct {
	ChunkSize int // blocks per fetch; default 16
	Workers   int // chunks in flight; default 4
	// CacheRaw keeps the node's raw answers in the store. Default on; the
	// decoded data alone suffices for tracing, raw answers allow re-decoding
	// after an upgrade without the node.
	NoRawCache bool
	// Progress, if set, is called after each chunk is written.
	Progress func(p Progress)
	Logger   *slog.Logger
}

func (o *Options) defaults() {
	if o.ChunkSize <= 0 {
		o.ChunkSize = 16
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Progress reports a run's state.
type Progress struct {
	BlocksDone, BlocksTotal uint64
	Transfers, Txs          uint64
	FromCache               uint64 // blocks decoded from the raw cache, not fetched
	Elapsed                 time.Duration
}

// Stats summarise a finished (or interrupted) run.
type Stats = Progress

// Run indexes [from, to] (inclusive) from src into st, skipping ranges the
// store already holds.
func Run(ctx context.Context, src Source, st *store.Store, from, to uint64, opts Options) (Stats, error) {
	if from > to {
		return Stats{}, fmt.Errorf("from block %d is after to block %d", from, to)
	}
	opts.defaults()
	chain := src.Chain()
	if err := st.BindNetwork(chain, src.Network()); err != nil {
		return Stats{}, err
	}
	missing, err := st.Missing(chain, from, to)
	if err != nil {
		return Stats{}, err
	}
	var nums []uint64
	for _, r := range missing {
		for n := r.From; ; n++ {
			nums = append(nums, n)
			if n == r.To {
				break
			}
		}
	}
	if len(nums) > 0 {
		opts.Logger.Info("indexing", "chain", chain, "from", from, "to", to, "blocks", len(nums))
	}
	return runChunks(ctx, src, st, nums, opts)
}

// RunBlocks indexes the given blocks (any order, repeats allowed), skipping
// those the store already holds. History backends name the few blocks in
// which an address appears; this fetches just those.
func RunBlocks(ctx context.Context, src Source, st *store.Store, blocks []uint64, opts Options) (Stats, error) {
	opts.defaults()
	chain := src.Chain()
	if err := st.BindNetwork(chain, src.Network()); err != nil {
		return Stats{}, err
	}
	ranges, err := st.IndexedRanges(chain)
	if err != nil {
		return Stats{}, err
	}
	sorted := slices.Clone(blocks)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var nums []uint64
	for _, n := range sorted {
		i := sort.Search(len(ranges), func(i int) bool { return ranges[i].To >= n })
		if i < len(ranges) && ranges[i].From <= n {
			continue // indexed already
		}
		nums = append(nums, n)
	}
	return runChunks(ctx, src, st, nums, opts)
}

// runChunks fetches, decodes and writes the blocks nums (ascending) in
// chunks of ChunkSize, Workers at a time; each chunk is marked indexed only
// after its data is written.
func runChunks(ctx context.Context, src Source, st *store.Store, nums []uint64, opts Options) (Stats, error) {
	var chunks [][]uint64
	for i := 0; i < len(nums); i += opts.ChunkSize {
		chunks = append(chunks, nums[i:min(i+opts.ChunkSize, len(nums))])
	}
	total := uint64(len(nums))
	start := time.Now()
	var done, transfers, txs, cached atomic.Uint64
	report := func() Progress {
		return Progress{BlocksDone: done.Load(), BlocksTotal: total, Transfers: transfers.Load(),
			Txs: txs.Load(), FromCache: cached.Load(), Elapsed: time.Since(start)}
	}
	if len(chunks) == 0 {
		return report(), nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan []uint64)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	var progressMu sync.Mutex
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range min(opts.Workers, len(chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				n, nt, ntx, err := indexChunk(ctx, src, st, c, opts)
				if err != nil {
					fail(err)
					return
				}
				done.Add(uint64(len(c)))
				transfers.Add(nt)
				txs.Add(ntx)
				cached.Add(n)
				if opts.Progress != nil {
					progressMu.Lock()
					opts.Progress(report())
					progressMu.Unlock()
				}
			}
		}()
	}
feed:
	for _, c := range chunks {
		select {
		case work <- c:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return report(), firstErr
}

// indexChunk fetches (or reads from the raw cache), decodes and writes one
// chunk, then marks it indexed. It returns how many blocks came from the
// cache and how many transfers and transactions were written.
func indexChunk(ctx context.Context, src Source, st *store.Store, c []uint64, opts Options) (fromCache, nTransfers, nTxs uint64, err error) {
	chain := src.Chain()
	raws := make([]chains.RawBlock, 0, len(c))
	var fetch []uint64
	for _, n := range c {
		raw, ok, err := cachedRaw(st, chain, n, src.RawParts())
		if err != nil {
			return 0, 0, 0, err
		}
		if ok {
			raws = append(raws, raw)
			fromCache++
		} else {
			fetch = append(fetch, n)
		}
	}
	var items []store.RawItem
	if len(fetch) > 0 {
		fetched, err := src.FetchRaw(ctx, fetch)
		if err != nil {
			return 0, 0, 0, err
		}
		for _, raw := range fetched {
			raws = append(raws, raw)
			if opts.NoRawCache {
				continue
			}
			key := blockKey(raw.Number)
			for name, data := range raw.Parts {
				kind, ok := partKinds[name]
				if !ok {
					return 0, 0, 0, fmt.Errorf("block %d: raw part %q has no store kind", raw.Number, name)
				}
				items = append(items, store.RawItem{Kind: kind, Key: key, Data: data})
			}
		}
	}
	blocks := make([]*chains.BlockTransfers, 0, len(raws))
	for i := range raws {
		b, err := src.Decode(&raws[i])
		if err != nil {
			return 0, 0, 0, err
		}
		nTransfers += uint64(len(b.Transfers))
		nTxs += uint64(len(b.Txs))
		blocks = append(blocks, b)
	}
	if err := checkLinks(blocks); err != nil {
		return 0, 0, 0, err
	}
	if len(items) > 0 {
		if err := st.PutRawBatch(chain, items); err != nil {
			return 0, 0, 0, err
		}
	}
	if err := st.WriteBlocks(chain, blocks); err != nil {
		return 0, 0, 0, err
	}
	// Mark consecutive runs: a chunk of named blocks may have gaps.
	for i := 0; i < len(c); {
		j := i
		for j+1 < len(c) && c[j+1] == c[j]+1 {
			j++
		}
		if err := st.MarkIndexed(chain, c[i], c[j]); err != nil {
			return 0, 0, 0, err
		}
		i = j + 1
	}
	return fromCache, nTransfers, nTxs, nil
}

// ErrBrokenChain means consecutive blocks of a chunk do not link by parent
// hash: the node reorganised while we fetched. A rerun fetches them again.
var ErrBrokenChain = errors.New("blocks do not link (reorganisation during fetch?)")

func checkLinks(blocks []*chains.BlockTransfers) error {
	byNum := make(map[uint64]*chains.Block, len(blocks))
	for _, b := range blocks {
		byNum[b.Block.Number] = &b.Block
	}
	for _, b := range blocks {
		if p, ok := byNum[b.Block.Number-1]; ok && b.Block.Number > 0 && p.Hash != b.Block.ParentHash {
			return fmt.Errorf("%w: block %d's parent is %s, but block %d is %s", ErrBrokenChain, b.Block.Number, b.Block.ParentHash, p.Number, p.Hash)
		}
	}
	return nil
}

func blockKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// cachedRaw assembles a raw block from the store's cache if every part the
// source needs is there.
func cachedRaw(st *store.Store, chain chains.Chain, n uint64, parts []string) (chains.RawBlock, bool, error) {
	raw := chains.RawBlock{Number: n, Parts: make(map[string][]byte, len(parts))}
	for _, name := range parts {
		data, ok, err := st.GetRaw(chain, partKinds[name], blockKey(n))
		if err != nil || !ok {
			return chains.RawBlock{}, false, err
		}
		raw.Parts[name] = data
	}
	return raw, true, nil
}
