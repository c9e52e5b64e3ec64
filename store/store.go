package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/klauspost/compress/s2"

	"github.com/chaintrace/chaintrace/chains"
)

// Options configures Open.
type Options struct {
	// Logger receives Badger's own warnings and errors (its info and debug
	// chatter is dropped). nil discards them.
	Logger *slog.Logger
	// ReadOnly opens an existing store for reading only; several read-only
	// Stores may share a directory, but not with a writer. Writes fail
	// with ErrReadOnly.
	ReadOnly bool
}

// Store is an open chaintrace store. Its methods are safe for concurrent
// use; it must not be used after Close.
type Store struct {
	db       *badger.DB
	dir      string
	readOnly bool

	// mu serialises the read-modify-write operations (WriteBlocks,
	// MarkIndexed, BindNetwork) so that what they read is still true when
	// they write.
	mu sync.Mutex

	closeMu sync.Mutex
	closed  bool
}

// badgerLockMsg is how Badger v4 says its directory flock is held. Badger
// formats the cause with %v, not %w, so the message is all there is to go
// by; TestOpenLocked fails if a Badger upgrade changes it.
const badgerLockMsg = "Another process is using this Badger database"

// Open opens the store in dir, creating dir and an empty store if needed
// (unless opts.ReadOnly). A directory held by another open Store gives an
// error wrapping ErrLocked.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("open store: empty directory: %w", ErrInvalidArgument)
	}
	if opts.ReadOnly {
		if _, err := os.Stat(filepath.Join(dir, badger.ManifestFilename)); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no store in %s to open read-only: %w", dir, ErrNotFound)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create store %s: %w", dir, err)
	}
	db, err := badger.Open(badgerOptions(dir, opts))
	if err != nil {
		if strings.Contains(err.Error(), badgerLockMsg) {
			return nil, fmt.Errorf("store %s is in use by another chaintrace process: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, readOnly: opts.ReadOnly}
	if err := s.checkVersion(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// badgerOptions tunes Badger for a command-line tool rather than a server:
// small memtables and caches keep a run that writes tens of thousands of
// transfers well under 100 MiB of Badger memory (the defaults would take
// 64 MiB per memtable times 5 plus a 256 MiB block cache). Values up to
// 1 KiB (every indexed value) live in the LSM tree, compressed with Snappy
// (ZSTD cost 7% of an index run's CPU in compactions for little gain here);
// raw node responses, compressed with S2 by PutRawBatch, go to the value
// log: appended once and never rewritten by compaction, which would
// otherwise recompress them at every level (RunGC reclaims the log).
func badgerOptions(dir string, opts Options) badger.Options {
	var lg badger.Logger // nil: Badger logs nothing
	if opts.Logger != nil {
		lg = slogAdapter{l: opts.Logger}
	}
	return badger.DefaultOptions(dir).
		WithLogger(lg).
		WithReadOnly(opts.ReadOnly).
		WithMetricsEnabled(false).
		WithMemTableSize(16 << 20).
		WithNumMemtables(3).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20).
		WithValueThreshold(1 << 10).
		WithValueLogFileSize(128 << 20).
		WithNumCompactors(2).
		WithCompression(options.Snappy)
}

// slogAdapter routes Badger's logging to slog at Warn and above.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) log(level slog.Level, format string, args []any) {
	if !a.l.Enabled(context.Background(), level) {
		return
	}
	a.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (a slogAdapter) Errorf(format string, args ...any)   { a.log(slog.LevelError, format, args) }
func (a slogAdapter) Warningf(format string, args ...any) { a.log(slog.LevelWarn, format, args) }
func (a slogAdapter) Infof(string, ...any)                {}
func (a slogAdapter) Debugf(string, ...any)               {}

// checkVersion refuses a store of another schema version and stamps a new
// (or pre-versioning) writable store with the current one.
func (s *Store) checkVersion() error {
	var have uint64
	found := false
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(versionKey())
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		found = true
		return item.Value(func(v []byte) error {
			var n int
			if have, n = binary.Uvarint(v); n <= 0 {
				return fmt.Errorf("%w: schema version value %x", ErrCorrupt, v)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store %s: read schema version: %w", s.dir, err)
	}
	if found && have != schemaVersion {
		return fmt.Errorf("store %s has schema version %d, this chaintrace reads %d: %w", s.dir, have, schemaVersion, ErrSchemaVersion)
	}
	if found || s.readOnly {
		return nil
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(versionKey(), binary.AppendUvarint(nil, schemaVersion))
	})
	if err != nil {
		return fmt.Errorf("store %s: write schema version: %w", s.dir, err)
	}
	return nil
}

// Close closes the store, releasing its directory. A second Close is a
// no-op.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.dir, err)
	}
	return nil
}

func (s *Store) writable(op string) error {
	if s.readOnly {
		return fmt.Errorf("%s: store %s: %w", op, s.dir, ErrReadOnly)
	}
	return nil
}

// get copies the value of key out of txn; ok is false if there is none.
func get(txn *badger.Txn, key []byte) (val []byte, ok bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	val, err = item.ValueCopy(nil)
	return val, err == nil, err
}

// ---- network binding -------------------------------------------------------

// BindNetwork records that the store serves network (e.g. "mainnet", or a
// chain id) for chain. The first call records it; a later call with the
// same network is a no-op and one with another network returns an error
// wrapping ErrNetworkMismatch that names both.
func (s *Store) BindNetwork(chain chains.Chain, network string) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("bind network: %w", err)
	}
	if network == "" {
		return fmt.Errorf("bind %s network: empty network name: %w", chain, ErrInvalidArgument)
	}
	if err := s.writable("bind network"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var have []byte
	err = s.db.Update(func(txn *badger.Txn) error {
		var ok bool
		var err error
		if have, ok, err = get(txn, networkKey(c)); err != nil || ok {
			return err
		}
		return txn.Set(networkKey(c), []byte(network))
	})
	if err != nil {
		return fmt.Errorf("bind %s network in store %s: %w", chain, s.dir, err)
	}
	if have != nil && string(have) != network {
		return fmt.Errorf("store %s holds %s network %q, not %q (use another store directory): %w",
			s.dir, chain, have, network, ErrNetworkMismatch)
	}
	return nil
}

// Network returns the network bound to chain, if any.
func (s *Store) Network(chain chains.Chain) (string, bool, error) {
	c, err := chainByte(chain)
	if err != nil {
		return "", false, fmt.Errorf("network: %w", err)
	}
	var v []byte
	var ok bool
	err = s.db.View(func(txn *badger.Txn) (err error) {
		v, ok, err = get(txn, networkKey(c))
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("read %s network from store %s: %w", chain, s.dir, err)
	}
	return string(v), ok, nil
}

// ---- raw cache -------------------------------------------------------------

// RawKind names what a raw cache entry holds; it is part of the key, so
// the same key may hold one response of each kind.
type RawKind byte

const (
	// RawBlock is a block as the node returned it (eth_getBlockByNumber
	// with transactions, or bitcoind getblock verbosity 2).
	RawBlock RawKind = 1
	// RawReceipts is the receipts of a block's transactions
	// (eth_getBlockReceipts).
	RawReceipts RawKind = 2
	// RawTraces is the call traces of a block's transactions
	// (debug_traceBlockByNumber with the call tracer).
	RawTraces RawKind = 3
)

func (k RawKind) String() string {
	switch k {
	case RawBlock:
		return "block"
	case RawReceipts:
		return "receipts"
	case RawTraces:
		return "traces"
	}
	return fmt.Sprintf("RawKind(%d)", byte(k))
}

func (k RawKind) valid() bool { return k >= RawBlock && k <= RawTraces }

// RawItem is one entry for PutRawBatch.
type RawItem struct {
	Kind RawKind
	Key  []byte // the caller's key, e.g. a block number as 8 bytes big-endian
	Data []byte
}

// PutRaw caches one node response.
func (s *Store) PutRaw(chain chains.Chain, kind RawKind, key []byte, data []byte) error {
	return s.PutRawBatch(chain, []RawItem{{Kind: kind, Key: key, Data: data}})
}

// PutRawBatch caches many node responses with one bulk write.
func (s *Store) PutRawBatch(chain chains.Chain, items []RawItem) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("put raw: %w", err)
	}
	if err := s.writable("put raw"); err != nil {
		return err
	}
	for _, it := range items {
		if !it.Kind.valid() {
			return fmt.Errorf("put %s raw: kind %v: %w", chain, it.Kind, ErrInvalidArgument)
		}
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, it := range items {
		if err := wb.Set(rawKey(c, it.Kind, it.Key), compressRaw(it.Data)); err != nil {
			return fmt.Errorf("put %s raw %v %x in store %s: %w", chain, it.Kind, it.Key, s.dir, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("put %s raw in store %s: %w", chain, s.dir, err)
	}
	return nil
}

// GetRaw returns a cached node response, if there is one.
func (s *Store) GetRaw(chain chains.Chain, kind RawKind, key []byte) ([]byte, bool, error) {
	c, err := chainByte(chain)
	if err != nil {
		return nil, false, fmt.Errorf("get raw: %w", err)
	}
	if !kind.valid() {
		return nil, false, fmt.Errorf("get %s raw: kind %v: %w", chain, kind, ErrInvalidArgument)
	}
	var v []byte
	var ok bool
	err = s.db.View(func(txn *badger.Txn) (err error) {
		v, ok, err = get(txn, rawKey(c, kind, key))
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("get %s raw %v %x from store %s: %w", chain, kind, key, s.dir, err)
	}
	if !ok {
		return nil, false, nil
	}
	data, err := decompressRaw(v)
	if err != nil {
		return nil, false, fmt.Errorf("get %s raw %v %x from store %s: %w", chain, kind, key, s.dir, err)
	}
	return data, true, nil
}

// Raw values start with a format byte. Node answers are JSON, which S2
// shrinks several times over at a small fraction of ZSTD's cost.
const (
	rawPlain byte = 0
	rawS2    byte = 1
)

func compressRaw(data []byte) []byte {
	buf := make([]byte, 1+s2.MaxEncodedLen(len(data)))
	buf[0] = rawS2
	enc := s2.Encode(buf[1:], data) // fits: buf[1:] is MaxEncodedLen long
	return buf[:1+len(enc)]
}

func decompressRaw(v []byte) ([]byte, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("%w: empty raw value", ErrCorrupt)
	}
	switch v[0] {
	case rawPlain:
		return v[1:], nil
	case rawS2:
		out, err := s2.Decode(nil, v[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: raw value: %v", ErrCorrupt, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: raw value format %d", ErrCorrupt, v[0])
}

// ---- writing blocks --------------------------------------------------------

type kv struct{ key, val []byte }

// WriteBlocks writes each block's header, transactions, transaction-hash
// look-ups, transfers and address-index entries with one bulk WriteBatch.
//
// A block replaces whatever the store held under its number: rewriting the
// same block writes the same keys again (idempotent), and rewriting a
// number with another block (a reorg, or a block re-derived differently)
// first deletes the old block's keys that the new one does not write:
// transfers, their address entries, transactions and the hash look-ups
// that still point into the old block. The old keys are derived from the
// old block's stored transfers and transactions, two prefix scans, so
// nothing else is scanned. If blocks holds a number twice, the last wins.
//
// Every transaction and transfer must carry the block's number, and no two
// may share a key (transaction index; transaction index and ordinal);
// otherwise nothing is written and the error wraps ErrInvalidBlock.
//
// Within the batch, deletions of index entries come before deletions of
// primary records, and primary records before their index entries, so a
// process killed mid-write leaves no index entry pointing at nothing it
// did not point at before; the rerun of the same blocks repairs the rest.
func (s *Store) WriteBlocks(chain chains.Chain, blocks []*chains.BlockTransfers) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("write blocks: %w", err)
	}
	if err := s.writable("write blocks"); err != nil {
		return err
	}
	last := make(map[uint64]int, len(blocks))
	for i, b := range blocks {
		if b == nil {
			return fmt.Errorf("write %s blocks: entry %d is nil: %w", chain, i, ErrInvalidArgument)
		}
		last[b.Block.Number] = i
	}
	var sets []kv
	nums := make([]uint64, 0, len(last))
	for i, b := range blocks {
		if last[b.Block.Number] != i {
			continue
		}
		nums = append(nums, b.Block.Number)
		if sets, err = appendBlockEntries(sets, c, b); err != nil {
			return fmt.Errorf("write %s block %d: %w", chain, b.Block.Number, err)
		}
	}
	if len(nums) == 0 {
		return nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var indexDels, primaryDels [][]byte
	err = s.db.View(func(txn *badger.Txn) error {
		for _, num := range nums {
			var err error
			if indexDels, primaryDels, err = oldBlockKeys(txn, c, num, indexDels, primaryDels); err != nil {
				return fmt.Errorf("block %d: %w", num, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write %s blocks: read old keys from store %s: %w", chain, s.dir, err)
	}
	if len(indexDels)+len(primaryDels) > 0 {
		newKeys := make(map[string]struct{}, len(sets))
		for _, e := range sets {
			newKeys[string(e.key)] = struct{}{}
		}
		rewritten := func(k []byte) bool { _, ok := newKeys[string(k)]; return ok }
		indexDels = slices.DeleteFunc(indexDels, rewritten)
		primaryDels = slices.DeleteFunc(primaryDels, rewritten)
	}

	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, dels := range [][][]byte{indexDels, primaryDels} {
		for _, k := range dels {
			if err := wb.Delete(k); err != nil {
				return fmt.Errorf("write %s blocks to store %s: delete old key: %w", chain, s.dir, err)
			}
		}
	}
	for _, e := range sets {
		if err := wb.Set(e.key, e.val); err != nil {
			return fmt.Errorf("write %s blocks to store %s: %w", chain, s.dir, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("write %s blocks to store %s: %w", chain, s.dir, err)
	}
	return nil
}

// appendBlockEntries appends every key and value of block b, in write
// order: each transfer before its address entries, each transaction
// before its hash look-up, the header last.
func appendBlockEntries(sets []kv, c byte, b *chains.BlockTransfers) ([]kv, error) {
	num := b.Block.Number
	seenTx := make(map[uint32]struct{}, len(b.Txs))
	for i := range b.Txs {
		tx := &b.Txs[i]
		if tx.BlockNumber != num {
			return nil, fmt.Errorf("tx %d (%s) has block number %d: %w", tx.Index, tx.Hash, tx.BlockNumber, ErrInvalidBlock)
		}
		if _, dup := seenTx[tx.Index]; dup {
			return nil, fmt.Errorf("two txs with index %d: %w", tx.Index, ErrInvalidBlock)
		}
		seenTx[tx.Index] = struct{}{}
		sets = append(sets, kv{txKey(c, num, tx.Index), encodeTx(tx)})
		if tx.Hash != "" {
			sets = append(sets, kv{txHashKey(c, tx.Hash), txLoc(num, tx.Index)})
		}
	}
	seen := make(map[uint64]struct{}, len(b.Transfers))
	for i := range b.Transfers {
		t := &b.Transfers[i]
		if t.BlockNumber != num {
			return nil, fmt.Errorf("transfer %d/%d has block number %d: %w", t.TxIndex, t.Ordinal, t.BlockNumber, ErrInvalidBlock)
		}
		id := uint64(t.TxIndex)<<32 | uint64(t.Ordinal)
		if _, dup := seen[id]; dup {
			return nil, fmt.Errorf("two transfers with tx index %d and ordinal %d: %w", t.TxIndex, t.Ordinal, ErrInvalidBlock)
		}
		seen[id] = struct{}{}
		sets = append(sets, kv{transferKey(c, num, t.TxIndex, t.Ordinal), encodeTransfer(t)})
		addrKeys(c, t, func(k []byte) { sets = append(sets, kv{k, nil}) })
	}
	sets = append(sets, kv{blockKey(c, num), encodeBlock(&b.Block)})
	return sets, nil
}

// addrKeys calls fn with every address-index key of t: an out entry per
// From address, an in entry for To. Empty addresses are not indexed.
func addrKeys(c byte, t *chains.Transfer, fn func([]byte)) {
	for _, f := range t.From {
		if canon := canonAddr(c, f); canon != nil {
			fn(addrKey(c, addrDirOut, canon, t.BlockNumber, t.TxIndex, t.Ordinal))
		}
	}
	if canon := canonAddr(c, t.To); canon != nil {
		fn(addrKey(c, addrDirIn, canon, t.BlockNumber, t.TxIndex, t.Ordinal))
	}
}

// oldBlockKeys appends the keys block num holds now: its address entries
// and still-current hash look-ups to indexDels, its transfers and
// transactions to primaryDels. The header is not included: the new block
// overwrites it.
func oldBlockKeys(txn *badger.Txn, c byte, num uint64, indexDels, primaryDels [][]byte) ([][]byte, [][]byte, error) {
	var t chains.Transfer
	err := scan(txn, transferBlockPrefix(c, num), func(item *badger.Item) error {
		key := item.KeyCopy(nil)
		if len(key) != 2+suffixLen {
			return fmt.Errorf("%w: transfer key %x", ErrCorrupt, key)
		}
		n, idx, ord := splitSuffix(key)
		if err := item.Value(func(v []byte) error { return decodeTransfer(v, n, idx, ord, &t, nil) }); err != nil {
			return fmt.Errorf("transfer %d/%d: %w", idx, ord, err)
		}
		primaryDels = append(primaryDels, key)
		addrKeys(c, &t, func(k []byte) { indexDels = append(indexDels, k) })
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = scan(txn, txBlockPrefix(c, num), func(item *badger.Item) error {
		key := item.KeyCopy(nil)
		if len(key) != 14 {
			return fmt.Errorf("%w: tx key %x", ErrCorrupt, key)
		}
		idx := binary.BigEndian.Uint32(key[10:])
		var tx chains.Tx
		err := item.Value(func(v []byte) (err error) {
			tx, err = decodeTx(v, num, idx)
			return err
		})
		if err != nil {
			return fmt.Errorf("tx %d: %w", idx, err)
		}
		primaryDels = append(primaryDels, key)
		if tx.Hash == "" {
			return nil
		}
		hk := txHashKey(c, tx.Hash)
		loc, ok, err := get(txn, hk)
		if err != nil {
			return err
		}
		if ok && bytes.Equal(loc, txLoc(num, idx)) {
			indexDels = append(indexDels, hk)
		}
		return nil
	})
	return indexDels, primaryDels, err
}

// scan calls fn for every item under prefix, in key order. It does not
// prefetch values: the values scanned are small and inline in the LSM
// tree, where prefetching only adds copies (it made scans 1.5x slower).
func scan(txn *badger.Txn, prefix []byte, fn func(*badger.Item) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return nil
}

// ---- indexed ranges --------------------------------------------------------

// Range is an inclusive range of block numbers.
type Range struct{ From, To uint64 }

func (r Range) String() string { return fmt.Sprintf("[%d,%d]", r.From, r.To) }

// touches reports whether r and o overlap or are adjacent.
func (r Range) touches(o Range) bool {
	return r.From <= satInc(o.To) && o.From <= satInc(r.To)
}

func satInc(x uint64) uint64 {
	if x == math.MaxUint64 {
		return x
	}
	return x + 1
}

func checkRange(op string, from, to uint64) error {
	if from > to {
		return fmt.Errorf("%s: range [%d,%d] has from > to: %w", op, from, to, ErrInvalidArgument)
	}
	return nil
}

// MarkIndexed records blocks [from,to] as fully indexed, merged with the
// ranges it overlaps or touches. Call it only after WriteBlocks of those
// blocks returned: it first syncs Badger to disk, so a recorded range
// never outlives the blocks it covers, even across a power loss.
func (s *Store) MarkIndexed(chain chains.Chain, from, to uint64) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("mark indexed: %w", err)
	}
	if err := checkRange("mark indexed", from, to); err != nil {
		return err
	}
	if err := s.writable("mark indexed"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("mark %s [%d,%d] indexed in store %s: sync: %w", chain, from, to, s.dir, err)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		ranges, err := readRanges(txn, c)
		if err != nil {
			return err
		}
		nr := Range{from, to}
		var drop []uint64
		for _, r := range ranges {
			if r.touches(nr) {
				nr = Range{min(r.From, nr.From), max(r.To, nr.To)}
				drop = append(drop, r.From)
			}
		}
		for _, f := range drop {
			if f != nr.From {
				if err := txn.Delete(indexedKey(c, f)); err != nil {
					return err
				}
			}
		}
		return txn.Set(indexedKey(c, nr.From), binary.BigEndian.AppendUint64(nil, nr.To))
	})
	if err != nil {
		return fmt.Errorf("mark %s [%d,%d] indexed in store %s: %w", chain, from, to, s.dir, err)
	}
	return nil
}

func readRanges(txn *badger.Txn, c byte) ([]Range, error) {
	var rs []Range
	err := scan(txn, chainPrefix(prefixIndexed, c), func(item *badger.Item) error {
		k := item.Key()
		if len(k) != 10 {
			return fmt.Errorf("%w: indexed-range key %x", ErrCorrupt, k)
		}
		r := Range{From: binary.BigEndian.Uint64(k[2:])}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: indexed-range value %x", ErrCorrupt, v)
			}
			r.To = binary.BigEndian.Uint64(v)
			rs = append(rs, r)
			return nil
		})
	})
	return rs, err
}

// IndexedRanges returns the ranges recorded by MarkIndexed, ascending,
// disjoint and non-adjacent.
func (s *Store) IndexedRanges(chain chains.Chain) ([]Range, error) {
	c, err := chainByte(chain)
	if err != nil {
		return nil, fmt.Errorf("indexed ranges: %w", err)
	}
	var rs []Range
	err = s.db.View(func(txn *badger.Txn) (err error) {
		rs, err = readRanges(txn, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s indexed ranges from store %s: %w", chain, s.dir, err)
	}
	return rs, nil
}

// Missing returns the sub-ranges of [from,to] not yet marked indexed,
// ascending; nil if all of it is.
func (s *Store) Missing(chain chains.Chain, from, to uint64) ([]Range, error) {
	if err := checkRange("missing", from, to); err != nil {
		return nil, err
	}
	rs, err := s.IndexedRanges(chain)
	if err != nil {
		return nil, err
	}
	return missing(rs, from, to), nil
}

// missing is the complement of the sorted, disjoint rs within [from,to].
func missing(rs []Range, from, to uint64) []Range {
	var gaps []Range
	cur := from // first block not yet known to be covered
	for _, r := range rs {
		if r.To < cur {
			continue
		}
		if r.From > to {
			break
		}
		if r.From > cur {
			gaps = append(gaps, Range{cur, r.From - 1})
		}
		if r.To >= to {
			return gaps
		}
		cur = r.To + 1
	}
	return append(gaps, Range{cur, to})
}

// ---- reading ---------------------------------------------------------------

// Block returns the header of block num, if it has been written.
func (s *Store) Block(chain chains.Chain, num uint64) (chains.Block, bool, error) {
	c, err := chainByte(chain)
	if err != nil {
		return chains.Block{}, false, fmt.Errorf("block: %w", err)
	}
	var blk chains.Block
	var ok bool
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(blockKey(c, num))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		ok = true
		return item.Value(func(v []byte) (err error) {
			blk, err = decodeBlock(v, num)
			return err
		})
	})
	if err != nil {
		return chains.Block{}, false, fmt.Errorf("read %s block %d from store %s: %w", chain, num, s.dir, err)
	}
	return blk, ok, nil
}

// Txs returns the transactions of block num by index; none if the block
// has not been written (or has no transactions). A nil Value or Fee
// written is read back as nil.
func (s *Store) Txs(chain chains.Chain, block uint64) ([]chains.Tx, error) {
	c, err := chainByte(chain)
	if err != nil {
		return nil, fmt.Errorf("txs: %w", err)
	}
	var txs []chains.Tx
	err = s.db.View(func(txn *badger.Txn) error {
		return scan(txn, txBlockPrefix(c, block), func(item *badger.Item) error {
			k := item.Key()
			if len(k) != 14 {
				return fmt.Errorf("%w: tx key %x", ErrCorrupt, k)
			}
			idx := binary.BigEndian.Uint32(k[10:])
			return item.Value(func(v []byte) error {
				tx, err := decodeTx(v, block, idx)
				if err != nil {
					return fmt.Errorf("tx %d: %w", idx, err)
				}
				txs = append(txs, tx)
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read %s txs of block %d from store %s: %w", chain, block, s.dir, err)
	}
	return txs, nil
}

// TxByHash finds a transaction by hash. For hex hashes the "0x" prefix and
// letter case do not matter.
func (s *Store) TxByHash(chain chains.Chain, hash string) (chains.Tx, bool, error) {
	c, err := chainByte(chain)
	if err != nil {
		return chains.Tx{}, false, fmt.Errorf("tx by hash: %w", err)
	}
	hk := txHashKey(c, hash)
	var tx chains.Tx
	var ok bool
	err = s.db.View(func(txn *badger.Txn) error {
		loc, found, err := get(txn, hk)
		if err != nil || !found {
			return err
		}
		if len(loc) != 12 {
			return fmt.Errorf("%w: tx location %x", ErrCorrupt, loc)
		}
		num, idx := binary.BigEndian.Uint64(loc), binary.BigEndian.Uint32(loc[8:])
		v, found, err := get(txn, txKey(c, num, idx))
		if err != nil || !found {
			return err
		}
		if tx, err = decodeTx(v, num, idx); err != nil {
			return err
		}
		// A stale look-up (its block rewritten by a killed run) is absence.
		ok = bytes.Equal(txHashKey(c, tx.Hash), hk)
		return nil
	})
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("read %s tx %s from store %s: %w", chain, hash, s.dir, err)
		}
		return chains.Tx{}, false, err
	}
	return tx, true, nil
}

// Transfers calls fn for every transfer with from <= block <= to, in
// exhibit order (block, tx index, ordinal). Each call gets a new Transfer
// that fn may keep. An error from fn stops the scan and is returned as is.
func (s *Store) Transfers(chain chains.Chain, from, to uint64, fn func(*chains.Transfer) error) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("transfers: %w", err)
	}
	if err := checkRange("transfers", from, to); err != nil {
		return err
	}
	var fnErr error
	err = s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = chainPrefix(prefixTransfer, c)
		opts.PrefetchValues = false // see scan
		it := txn.NewIterator(opts)
		defer it.Close()
		var memo transferMemo
		for it.Seek(transferBlockPrefix(c, from)); it.Valid(); it.Next() {
			t, err := readTransfer(it.Item(), &memo)
			if err != nil {
				return err
			}
			if t.BlockNumber > to {
				return nil
			}
			if fnErr = fn(t); fnErr != nil {
				return fnErr
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("scan %s transfers [%d,%d] in store %s: %w", chain, from, to, s.dir, err)
	}
	return nil
}

// readTransfer decodes the primary transfer record item.
func readTransfer(item *badger.Item, m *transferMemo) (*chains.Transfer, error) {
	k := item.Key()
	if len(k) != 2+suffixLen {
		return nil, fmt.Errorf("%w: transfer key %x", ErrCorrupt, k)
	}
	num, idx, ord := splitSuffix(k)
	t := new(chains.Transfer)
	err := item.Value(func(v []byte) error { return decodeTransfer(v, num, idx, ord, t, m) })
	if err != nil {
		return nil, fmt.Errorf("transfer %d/%d/%d: %w", num, idx, ord, err)
	}
	return t, nil
}

// TxTransfers returns the transfers of one transaction in ordinal order.
func (s *Store) TxTransfers(chain chains.Chain, block uint64, txIndex uint32) ([]chains.Transfer, error) {
	c, err := chainByte(chain)
	if err != nil {
		return nil, fmt.Errorf("tx transfers: %w", err)
	}
	var ts []chains.Transfer
	var memo transferMemo
	err = s.db.View(func(txn *badger.Txn) error {
		return scan(txn, transferTxPrefix(c, block, txIndex), func(item *badger.Item) error {
			t, err := readTransfer(item, &memo)
			if err != nil {
				return err
			}
			ts = append(ts, *t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read %s transfers of tx %d/%d from store %s: %w", chain, block, txIndex, s.dir, err)
	}
	return ts, nil
}

// Direction selects address-index entries: In (the address is To), Out
// (the address is in From) or Both.
type Direction uint8

const (
	In   Direction = 1        // transfers to the address (Transfer.To)
	Out  Direction = 2        // transfers from the address (one of Transfer.From)
	Both           = In | Out // either, each transfer once
)

func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// addrScan walks one direction of one address's index entries.
type addrScan struct {
	it   *badger.Iterator
	plen int    // length of the address prefix
	to   uint64 // last block wanted
	cur  []byte // suffix (num+idx+ord) of the current entry; nil when done
	buf  []byte
	err  error
}

func (a *addrScan) load() {
	a.cur = nil
	if !a.it.Valid() {
		return
	}
	k := a.it.Item().Key()
	if len(k) != a.plen+suffixLen {
		a.err = fmt.Errorf("%w: address-index key %x", ErrCorrupt, k)
		return
	}
	if binary.BigEndian.Uint64(k[a.plen:]) > a.to {
		return
	}
	a.buf = append(a.buf[:0], k[a.plen:]...)
	a.cur = a.buf
}

// AddressTransfers calls fn for every transfer of addr (To for In, From
// for Out, either for Both) with from <= block <= to, in exhibit order,
// each once even if addr is on both sides. For eth, addr's letter case
// does not matter; for btc it does. Each call gets a new Transfer that fn
// may keep. An error from fn stops the scan and is returned as is.
func (s *Store) AddressTransfers(chain chains.Chain, addr string, dir Direction, from, to uint64, fn func(*chains.Transfer) error) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("address transfers: %w", err)
	}
	if err := checkRange("address transfers", from, to); err != nil {
		return err
	}
	if dir != In && dir != Out && dir != Both {
		return fmt.Errorf("address transfers: direction %v: %w", dir, ErrInvalidArgument)
	}
	canon := canonAddr(c, addr)
	if canon == nil {
		return fmt.Errorf("address transfers: empty address: %w", ErrInvalidArgument)
	}
	var fnErr error
	err = s.db.View(func(txn *badger.Txn) error {
		var scans []*addrScan
		defer func() {
			for _, a := range scans {
				a.it.Close()
			}
		}()
		for _, d := range []struct {
			want Direction
			b    byte
		}{{In, addrDirIn}, {Out, addrDirOut}} {
			if dir&d.want == 0 {
				continue
			}
			p := addrPrefix(c, d.b, canon)
			opts := badger.DefaultIteratorOptions
			opts.Prefix = p
			opts.PrefetchValues = false
			a := &addrScan{it: txn.NewIterator(opts), plen: len(p), to: to}
			scans = append(scans, a)
			a.it.Seek(binary.BigEndian.AppendUint64(slices.Clip(p), from))
			a.load()
		}
		var next []byte
		var memo transferMemo
		for {
			next = next[:0]
			for _, a := range scans {
				if a.err != nil {
					return a.err
				}
				if a.cur != nil && (len(next) == 0 || bytes.Compare(a.cur, next) < 0) {
					next = append(next[:0], a.cur...)
				}
			}
			if len(next) == 0 {
				return nil
			}
			for _, a := range scans {
				if a.cur != nil && bytes.Equal(a.cur, next) {
					a.it.Next()
					a.load()
				}
			}
			item, err := txn.Get(transferKeyFromSuffix(c, next))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue // left by a killed run; the rerun rewrites it
			} else if err != nil {
				return err
			}
			t, err := readTransfer(item, &memo)
			if err != nil {
				return err
			}
			if !involves(c, t, canon, dir) {
				continue // stale entry of a rewritten block
			}
			if fnErr = fn(t); fnErr != nil {
				return fnErr
			}
		}
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("scan %s transfers of %s [%d,%d] in store %s: %w", chain, addr, from, to, s.dir, err)
	}
	return nil
}

// involves reports whether t has canon on a side dir selects.
func involves(c byte, t *chains.Transfer, canon []byte, dir Direction) bool {
	if dir&In != 0 && bytes.Equal(canonAddr(c, t.To), canon) {
		return true
	}
	if dir&Out != 0 {
		for _, f := range t.From {
			if bytes.Equal(canonAddr(c, f), canon) {
				return true
			}
		}
	}
	return false
}

// ---- meta ------------------------------------------------------------------

// SetMeta stores a store-wide value (not per chain) under key.
func (s *Store) SetMeta(key string, val []byte) error {
	if err := s.writable("set meta"); err != nil {
		return err
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(metaKey(key), slices.Clone(val))
	})
	if err != nil {
		return fmt.Errorf("set meta %q in store %s: %w", key, s.dir, err)
	}
	return nil
}

// Meta returns the value stored under key by SetMeta, if any.
func (s *Store) Meta(key string) ([]byte, bool, error) {
	var v []byte
	var ok bool
	err := s.db.View(func(txn *badger.Txn) (err error) {
		v, ok, err = get(txn, metaKey(key))
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("read meta %q from store %s: %w", key, s.dir, err)
	}
	return v, ok, nil
}

// ---- stats and maintenance -------------------------------------------------

// Stats describes a store's contents and size on disk.
type Stats struct {
	LSMBytes  int64 // bytes in the LSM tree's .sst files (as Badger counts them)
	VLogBytes int64 // bytes in the value log's .vlog files
	MetaKeys  uint64
	Chains    map[chains.Chain]ChainStats // chains with any data
}

// ChainStats counts one chain's records.
type ChainStats struct {
	Network        string
	Blocks         uint64
	Txs            uint64
	TxHashes       uint64
	Transfers      uint64
	AddressEntries uint64
	RawEntries     uint64
	RawBytes       int64 // sum of raw value sizes as stored (S2-compressed)
	Indexed        []Range
	IndexedBlocks  uint64 // blocks covered by Indexed
}

// Stats counts every record with key-only prefix scans, so it takes time
// proportional to the number of keys (about a second per few million).
func (s *Store) Stats() (Stats, error) {
	st := Stats{Chains: make(map[chains.Chain]ChainStats)}
	err := s.db.View(func(txn *badger.Txn) error {
		count := func(prefix []byte, n *uint64, size *int64) error {
			return scan(txn, prefix, func(item *badger.Item) error {
				*n++
				if size != nil {
					*size += item.ValueSize()
				}
				return nil
			})
		}
		if err := count([]byte{prefixMeta}, &st.MetaKeys, nil); err != nil {
			return err
		}
		for _, chain := range []chains.Chain{chains.ETH, chains.BTC} {
			c, _ := chainByte(chain)
			var cs ChainStats
			for _, x := range []struct {
				p    byte
				n    *uint64
				size *int64
			}{
				{prefixBlock, &cs.Blocks, nil},
				{prefixTx, &cs.Txs, nil},
				{prefixTxHash, &cs.TxHashes, nil},
				{prefixTransfer, &cs.Transfers, nil},
				{prefixAddr, &cs.AddressEntries, nil},
				{prefixRaw, &cs.RawEntries, &cs.RawBytes},
			} {
				if err := count(chainPrefix(x.p, c), x.n, x.size); err != nil {
					return err
				}
			}
			v, bound, err := get(txn, networkKey(c))
			if err != nil {
				return err
			}
			cs.Network = string(v)
			if cs.Indexed, err = readRanges(txn, c); err != nil {
				return err
			}
			for _, r := range cs.Indexed {
				n := r.To - r.From + 1 // wraps to 0 only for the whole uint64 range
				if n == 0 || cs.IndexedBlocks+n < cs.IndexedBlocks {
					n = math.MaxUint64 - cs.IndexedBlocks
				}
				cs.IndexedBlocks += n
			}
			if bound || cs.Blocks+cs.Txs+cs.Transfers+cs.RawEntries > 0 || len(cs.Indexed) > 0 {
				st.Chains[chain] = cs
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats of store %s: %w", s.dir, err)
	}
	err = filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var n *int64
		switch filepath.Ext(path) {
		case ".sst":
			n = &st.LSMBytes
		case ".vlog":
			n = &st.VLogBytes
		default:
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed by a compaction meanwhile
		} else if err != nil {
			return err
		}
		*n += info.Size()
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats of store %s: %w", s.dir, err)
	}
	return st, nil
}

// RunGC compacts the value log: it rewrites value-log files of which at
// least half is garbage, one after another, until Badger finds none.
func (s *Store) RunGC() error {
	if err := s.writable("gc"); err != nil {
		return err
	}
	for {
		err := s.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("value-log gc of store %s: %w", s.dir, err)
		}
	}
}
