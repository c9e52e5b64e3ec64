package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/bits"
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
// 64 MiB per memtable times 5 plus a 256 MiB block cache). Values under
// 1 KiB (headers, hash look-ups, address entries, the transactions or
// transfers of a small block) live in the LSM tree, compressed with Snappy
// (ZSTD cost 7% of an index run's CPU in compactions for little gain
// here); larger ones, the transfers and transactions values of most
// blocks and raw node responses (compressed with S2 by PutRawBatch), go to
// the value log: appended once and never rewritten by compaction, which
// would otherwise recompress them at every level (RunGC reclaims the log
// after rewrites).
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
	// RawPrevTxs is the transactions whose outputs a Bitcoin block spends,
	// for a node whose getblock does not include the spent outputs: a JSON
	// array of getrawtransaction verbose results (the "prevtxs" part).
	RawPrevTxs RawKind = 4
	// RawExplorerTx is a confirmed transaction as an explorer API gave it
	// (Esplora's GET /tx/:txid), keyed by txid.
	RawExplorerTx RawKind = 5
	// RawExplorerTxids is the txids of a block in block order (Esplora's
	// GET /block/:hash/txids), keyed by block hash.
	RawExplorerTxids RawKind = 6
	// RawExplorerOutspends is the spends of a transaction's outputs (GET
	// /tx/:txid/outspends), kept only once every output is spent in a
	// confirmed block, keyed by txid.
	RawExplorerOutspends RawKind = 7
)

func (k RawKind) String() string {
	switch k {
	case RawBlock:
		return "block"
	case RawReceipts:
		return "receipts"
	case RawTraces:
		return "traces"
	case RawPrevTxs:
		return "prevtxs"
	case RawExplorerTx:
		return "explorer-tx"
	case RawExplorerTxids:
		return "explorer-txids"
	case RawExplorerOutspends:
		return "explorer-outspends"
	}
	return fmt.Sprintf("RawKind(%d)", byte(k))
}

func (k RawKind) valid() bool { return k >= RawBlock && k <= RawExplorerOutspends }

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

// WriteBlocks writes each block with one bulk WriteBatch: one value
// holding its transfers, one holding its transactions, one address-index
// entry per address its transfers involve, one look-up per transaction
// hash, and its header.
//
// A block replaces whatever the store held under its number: rewriting the
// same block writes the same keys again (idempotent), and rewriting a
// number with another block (a reorg, or a block re-derived differently)
// first deletes the old block's keys that the new one does not write: the
// address entries of addresses it no longer involves, its transfers or
// transactions value if it has none, and the hash look-ups that still
// point into the old block. The old keys are derived from the old block's
// stored transfers and transactions values, two reads, so nothing else is
// scanned. If blocks holds a number twice, the last wins.
//
// Every transaction and transfer must carry the block's number, and no two
// may share a key (transaction index; transaction index and ordinal);
// otherwise nothing is written and the error wraps ErrInvalidBlock. They
// need not be in order: the store sorts them.
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
	n := 0
	for _, b := range blocks {
		n += 3 + len(b.Txs) + 2*len(b.Transfers)
		for i := range b.Txs {
			n += len(b.Txs[i].Inputs)
		}
	}
	sets := make([]kv, 0, n) // at most
	var sc blockScratch
	nums := make([]uint64, 0, len(last))
	for i, b := range blocks {
		if last[b.Block.Number] != i {
			continue
		}
		nums = append(nums, b.Block.Number)
		if sets, err = sc.appendBlockEntries(sets, c, b); err != nil {
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

// blockScratch holds appendBlockEntries' working slices from one block to
// the next.
type blockScratch struct {
	txs    []*chains.Tx
	ts     []*chains.Transfer
	refs   []partyRef
	canons []byte // the refs' canonical addresses
}

// partyRef says that the transfer at addrRef involves the address canon.
type partyRef struct {
	canon []byte
	addrRef
}

func cmpTx(a, b *chains.Tx) int { return cmp.Compare(a.Index, b.Index) }

func cmpTransfer(a, b *chains.Transfer) int {
	if c := cmp.Compare(a.TxIndex, b.TxIndex); c != 0 {
		return c
	}
	return cmp.Compare(a.Ordinal, b.Ordinal)
}

// appendBlockEntries appends every key and value of block b, in write
// order: the transfers and transactions values, then their index entries
// (address entries, hash look-ups), the header last.
func (sc *blockScratch) appendBlockEntries(sets []kv, c byte, b *chains.BlockTransfers) ([]kv, error) {
	num := b.Block.Number
	txs := sc.txs[:0]
	for i := range b.Txs {
		tx := &b.Txs[i]
		if tx.BlockNumber != num {
			return nil, fmt.Errorf("tx %d (%s) has block number %d: %w", tx.Index, tx.Hash, tx.BlockNumber, ErrInvalidBlock)
		}
		txs = append(txs, tx)
	}
	if !slices.IsSortedFunc(txs, cmpTx) {
		slices.SortStableFunc(txs, cmpTx)
	}
	for i := 1; i < len(txs); i++ {
		if txs[i].Index == txs[i-1].Index {
			return nil, fmt.Errorf("two txs with index %d: %w", txs[i].Index, ErrInvalidBlock)
		}
	}
	ts := sc.ts[:0]
	for i := range b.Transfers {
		t := &b.Transfers[i]
		if t.BlockNumber != num {
			return nil, fmt.Errorf("transfer %d/%d has block number %d: %w", t.TxIndex, t.Ordinal, t.BlockNumber, ErrInvalidBlock)
		}
		ts = append(ts, t)
	}
	if !slices.IsSortedFunc(ts, cmpTransfer) {
		slices.SortStableFunc(ts, cmpTransfer)
	}
	for i := 1; i < len(ts); i++ {
		if cmpTransfer(ts[i-1], ts[i]) == 0 {
			return nil, fmt.Errorf("two transfers with tx index %d and ordinal %d: %w", ts[i].TxIndex, ts[i].Ordinal, ErrInvalidBlock)
		}
	}
	sc.txs, sc.ts = txs, ts

	if len(ts) > 0 {
		sets = append(sets, kv{transfersKey(c, num), encodeTransfers(ts)})
	}
	if len(txs) > 0 {
		sets = append(sets, kv{txsKey(c, num), encodeTxs(txs)})
	}

	// The address entries: every (address, transfer, side), grouped by
	// address with the stable sort, so each group stays in exhibit order.
	refs, canons := sc.refs[:0], sc.canons[:0]
	party := func(addr string, r addrRef) {
		start := len(canons)
		if canons = appendCanon(canons, c, addr); len(canons) > start {
			refs = append(refs, partyRef{canons[start:len(canons):len(canons)], r})
		}
	}
	for _, t := range ts {
		r := addrRef{idx: t.TxIndex, ord: t.Ordinal, dir: addrDirOut}
		for _, f := range t.From {
			party(f, r)
		}
		r.dir = addrDirIn
		party(t.To, r)
	}
	for _, tx := range txs {
		party(tx.From, addrRef{idx: tx.Index, ord: sentSentinel, dir: addrDirSent})
	}
	slices.SortStableFunc(refs, func(a, b partyRef) int {
		if c := bytes.Compare(a.canon, b.canon); c != 0 {
			return c
		}
		switch {
		case refLess(a.addrRef, b.addrRef):
			return -1
		case refLess(b.addrRef, a.addrRef):
			return 1
		}
		return 0
	})
	// Keys and values share one buffer; Badger keeps them until Flush.
	out := make([]byte, 0, 48*len(refs))
	for i := 0; i < len(refs); {
		canon := refs[i].canon
		start := len(out)
		out = appendAddrKey(out, c, canon, num)
		key := out[start:len(out):len(out)]
		start = len(out)
		for i < len(refs) && bytes.Equal(refs[i].canon, canon) {
			r := refs[i].addrRef
			for i++; i < len(refs) && refs[i].idx == r.idx && refs[i].ord == r.ord && bytes.Equal(refs[i].canon, canon); i++ {
				r.dir |= refs[i].dir // a self-transfer, or an address twice in From
			}
			out = appendAddrRef(out, r)
		}
		sets = append(sets, kv{key, out[start:len(out):len(out)]})
	}
	clear(refs)
	sc.refs, sc.canons = refs[:0], canons[:0]

	for _, tx := range txs {
		if tx.Hash != "" {
			sets = append(sets, kv{txHashKey(c, tx.Hash), txLoc(num, tx.Index)})
		}
		for i := range tx.Inputs {
			in := &tx.Inputs[i]
			sets = append(sets, kv{spentKey(c, in.TxID, in.Vout), spentVal(num, tx.Index, uint32(i))})
		}
	}
	sets = append(sets, kv{blockKey(c, num), encodeBlock(&b.Block)})
	return sets, nil
}

// oldBlockKeys appends the keys block num holds now: the address entries
// of its transfers and its still-current hash look-ups to indexDels, its
// transfers and transactions values to primaryDels. The header is not
// included: the new block overwrites it. (The values are copied, so that
// no other read happens inside Badger's value callback.)
func oldBlockKeys(txn *badger.Txn, c byte, num uint64, indexDels, primaryDels [][]byte) ([][]byte, [][]byte, error) {
	tk := transfersKey(c, num)
	v, ok, err := get(txn, tk)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]struct{})
	add := func(addr string) {
		if canon := canonAddr(c, addr); canon != nil {
			k := addrKey(c, canon, num)
			if _, dup := seen[string(k)]; !dup {
				seen[string(k)] = struct{}{}
				indexDels = append(indexDels, k)
			}
		}
	}
	if ok {
		primaryDels = append(primaryDels, tk)
		var r transfersReader
		if err := r.reset(v, num); err != nil {
			return nil, nil, fmt.Errorf("transfers: %w", err)
		}
		for r.next() {
			from, to, err := r.parties()
			if err != nil {
				return nil, nil, fmt.Errorf("transfer %d/%d: %w", r.idx, r.ord, err)
			}
			for _, f := range from {
				add(f)
			}
			add(to)
		}
		if err := r.err(); err != nil {
			return nil, nil, fmt.Errorf("transfers: %w", err)
		}
	}
	xk := txsKey(c, num)
	if v, ok, err = get(txn, xk); err != nil || !ok {
		return indexDels, primaryDels, err
	}
	primaryDels = append(primaryDels, xk)
	var r txsReader
	if err := r.reset(v, num); err != nil {
		return nil, nil, fmt.Errorf("txs: %w", err)
	}
	for r.next() {
		tx, err := r.decode()
		if err != nil {
			return nil, nil, fmt.Errorf("tx %d: %w", r.idx, err)
		}
		add(tx.From) // its sent-transaction ref
		for i := range tx.Inputs {
			in := &tx.Inputs[i]
			sk := spentKey(c, in.TxID, in.Vout)
			loc, ok, err := get(txn, sk)
			if err != nil {
				return nil, nil, err
			}
			if ok && bytes.Equal(loc, spentVal(num, tx.Index, uint32(i))) {
				indexDels = append(indexDels, sk)
			}
		}
		if tx.Hash == "" {
			continue
		}
		hk := txHashKey(c, tx.Hash)
		loc, ok, err := get(txn, hk)
		if err != nil {
			return nil, nil, err
		}
		if ok && bytes.Equal(loc, txLoc(num, tx.Index)) {
			indexDels = append(indexDels, hk)
		}
	}
	if err := r.err(); err != nil {
		return nil, nil, fmt.Errorf("txs: %w", err)
	}
	return indexDels, primaryDels, nil
}

// withValue calls fn with the value of key, valid only during the call,
// if there is one. fn must not read from txn: Badger may hold a
// value-log file's read lock during the call.
func withValue(txn *badger.Txn, key []byte, fn func([]byte) error) (ok bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, item.Value(fn)
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
// never outlives the blocks it covers, even across a power loss. The sync
// runs before the store's write lock is taken, so that other writers go
// on meanwhile (an index run's workers used to queue behind each fsync).
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
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("mark %s [%d,%d] indexed in store %s: sync: %w", chain, from, to, s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
		_, err := withValue(txn, txsKey(c, block), func(v []byte) error {
			var r txsReader
			if err := r.reset(v, block); err != nil {
				return err
			}
			txs = make([]chains.Tx, 0, r.count())
			for r.next() {
				tx, err := r.decode()
				if err != nil {
					return fmt.Errorf("tx %d: %w", r.idx, err)
				}
				txs = append(txs, tx)
			}
			return r.err()
		})
		return err
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
		if tx, found, err = txAt(txn, c, num, idx); err != nil {
			return err
		}
		// A stale look-up (its block rewritten by a killed run) is absence.
		ok = found && bytes.Equal(txHashKey(c, tx.Hash), hk)
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

// SpendRef locates the input that spends an output.
type SpendRef struct {
	Block   uint64
	TxIndex uint32
	Input   uint32
}

// Spender finds the input spending output txid:vout among the blocks
// written (utxo chains); ok is false when none of them spends it.
func (s *Store) Spender(chain chains.Chain, txid string, vout uint32) (SpendRef, bool, error) {
	c, err := chainByte(chain)
	if err != nil {
		return SpendRef{}, false, fmt.Errorf("spender: %w", err)
	}
	var ref SpendRef
	var ok bool
	err = s.db.View(func(txn *badger.Txn) error {
		v, found, err := get(txn, spentKey(c, txid, vout))
		if err != nil || !found {
			return err
		}
		if len(v) != 16 {
			return fmt.Errorf("%w: spent-by value %x", ErrCorrupt, v)
		}
		ref = SpendRef{Block: binary.BigEndian.Uint64(v), TxIndex: binary.BigEndian.Uint32(v[8:]), Input: binary.BigEndian.Uint32(v[12:])}
		ok = true
		return nil
	})
	if err != nil {
		return SpendRef{}, false, fmt.Errorf("read %s spender of %s:%d from store %s: %w", chain, txid, vout, s.dir, err)
	}
	return ref, ok, nil
}

// TxAt returns transaction idx of block num, if written.
func (s *Store) TxAt(chain chains.Chain, num uint64, idx uint32) (chains.Tx, bool, error) {
	c, err := chainByte(chain)
	if err != nil {
		return chains.Tx{}, false, fmt.Errorf("tx at: %w", err)
	}
	var tx chains.Tx
	var ok bool
	err = s.db.View(func(txn *badger.Txn) (err error) {
		tx, ok, err = txAt(txn, c, num, idx)
		return err
	})
	if err != nil {
		return chains.Tx{}, false, fmt.Errorf("read %s tx %d/%d from store %s: %w", chain, num, idx, s.dir, err)
	}
	return tx, ok, nil
}

// txAt reads transaction idx of block num.
func txAt(txn *badger.Txn, c byte, num uint64, idx uint32) (tx chains.Tx, ok bool, err error) {
	_, err = withValue(txn, txsKey(c, num), func(v []byte) error {
		var r txsReader
		if err := r.reset(v, num); err != nil {
			return err
		}
		for r.next() && r.idx <= idx {
			if r.idx < idx {
				continue
			}
			var err error
			if tx, err = r.decode(); err != nil {
				return fmt.Errorf("tx %d/%d: %w", num, idx, err)
			}
			ok = true
			return nil
		}
		return r.err()
	})
	return tx, ok, err
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
		var r transfersReader
		var buf []byte
		for it.Seek(transfersKey(c, from)); it.Valid(); it.Next() {
			item := it.Item()
			num, ok := keyNum(item.Key())
			if !ok {
				return fmt.Errorf("%w: transfers key %x", ErrCorrupt, item.Key())
			}
			if num > to {
				return nil
			}
			// A copy, so that fn runs outside Badger's value callback
			// (which may hold a value-log lock) and may use the store.
			var err error
			if buf, err = item.ValueCopy(buf[:0]); err != nil {
				return err
			}
			if err := r.reset(buf, num); err != nil {
				return fmt.Errorf("transfers of block %d: %w", num, err)
			}
			for r.next() {
				t := new(chains.Transfer)
				if err := r.decode(t); err != nil {
					return fmt.Errorf("transfer %d/%d/%d: %w", num, r.idx, r.ord, err)
				}
				if fnErr = fn(t); fnErr != nil {
					return fnErr
				}
			}
			if err := r.err(); err != nil {
				return fmt.Errorf("transfers of block %d: %w", num, err)
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

// TxTransfers returns the transfers of one transaction in ordinal order.
func (s *Store) TxTransfers(chain chains.Chain, block uint64, txIndex uint32) ([]chains.Transfer, error) {
	c, err := chainByte(chain)
	if err != nil {
		return nil, fmt.Errorf("tx transfers: %w", err)
	}
	var ts []chains.Transfer
	err = s.db.View(func(txn *badger.Txn) error {
		_, err := withValue(txn, transfersKey(c, block), func(v []byte) error {
			var r transfersReader
			if err := r.reset(v, block); err != nil {
				return err
			}
			r.seek(txIndex, 0)
			for r.cur && r.idx == txIndex {
				var t chains.Transfer
				if err := r.decode(&t); err != nil {
					return fmt.Errorf("transfer %d/%d/%d: %w", block, r.idx, r.ord, err)
				}
				ts = append(ts, t)
				r.next()
			}
			return r.err()
		})
		return err
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

// AddressTransfers calls fn for every transfer of addr (To for In, From
// for Out, either for Both) with from <= block <= to, in exhibit order,
// each once even if addr is on both sides. For eth, addr's letter case
// does not matter; for btc it does. Each call gets a new Transfer that fn
// may keep. An error from fn stops the scan and is returned as is.
//
// The address index has one entry per block, so each block's transfers
// value is read once per call, and only the transfers the entry lists are
// decoded.
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
		var r transfersReader
		var pending []*chains.Transfer
		return scanAddrIndex(txn, c, canon, from, to, byte(dir), func(num uint64, refs []addrRef) error {
			// Decode the listed transfers in Badger's value callback, then
			// call fn outside it (it may hold a value-log lock).
			found, err := withValue(txn, transfersKey(c, num), func(v []byte) error {
				if err := r.reset(v, num); err != nil {
					return err
				}
				for _, ref := range refs {
					if !r.seek(ref.idx, ref.ord) {
						if r.err() != nil {
							return r.err()
						}
						continue // left by a killed run
					}
					t := new(chains.Transfer)
					if err := r.decode(t); err != nil {
						return fmt.Errorf("transfer %d/%d: %w", r.idx, r.ord, err)
					}
					if !involves(c, t, canon, dir) {
						continue // stale entry of a rewritten block
					}
					pending = append(pending, t)
				}
				return r.err()
			})
			if err != nil {
				return fmt.Errorf("transfers of block %d: %w", num, err)
			}
			if !found {
				return nil // left by a killed run; the rerun rewrites it
			}
			for i, t := range pending {
				pending[i] = nil
				if fnErr = fn(t); fnErr != nil {
					return fnErr
				}
			}
			pending = pending[:0]
			return nil
		})
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("scan %s transfers of %s [%d,%d] in store %s: %w", chain, addr, from, to, s.dir, err)
	}
	return nil
}

// scanAddrIndex walks the address index entries of canon for blocks from
// to to, in order, and calls visit with each block's refs whose direction
// shares a bit with want; blocks with none are skipped. visit runs inside
// txn, so it may read the block's values.
func scanAddrIndex(txn *badger.Txn, c byte, canon []byte, from, to uint64, want byte, visit func(num uint64, refs []addrRef) error) error {
	p := addrPrefix(c, canon)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = p
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	var refs []addrRef
	for it.Seek(binary.BigEndian.AppendUint64(slices.Clip(p), from)); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) != len(p)+8 {
			return fmt.Errorf("%w: address-index key %x", ErrCorrupt, k)
		}
		num := binary.BigEndian.Uint64(k[len(p):])
		if num > to {
			return nil
		}
		err := item.Value(func(v []byte) (err error) {
			refs, err = decodeAddrRefs(v, want, refs[:0])
			return err
		})
		if err != nil {
			return fmt.Errorf("address entry of block %d: %w", num, err)
		}
		if len(refs) == 0 {
			continue
		}
		if err := visit(num, refs); err != nil {
			return err
		}
	}
	return nil
}

// SentTxs calls fn for every transaction addr sent (it paid the fee) with
// from <= block <= to, in order, whether or not it moved value: a tracer
// needs every fee to keep an address's balance exact. Like
// AddressTransfers it reads the address index, one entry per block, and
// skips entries a killed or rewritten run left behind.
func (s *Store) SentTxs(chain chains.Chain, addr string, from, to uint64, fn func(*chains.Tx) error) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("sent txs: %w", err)
	}
	if err := checkRange("sent txs", from, to); err != nil {
		return err
	}
	canon := canonAddr(c, addr)
	if canon == nil {
		return fmt.Errorf("sent txs: empty address: %w", ErrInvalidArgument)
	}
	var fnErr error
	err = s.db.View(func(txn *badger.Txn) error {
		var pending []chains.Tx
		return scanAddrIndex(txn, c, canon, from, to, addrDirSent, func(num uint64, refs []addrRef) error {
			found, err := withValue(txn, txsKey(c, num), func(v []byte) error {
				var r txsReader
				if err := r.reset(v, num); err != nil {
					return err
				}
				want := 0
				for r.next() && want < len(refs) {
					for want < len(refs) && refs[want].idx < r.idx {
						want++ // left by a killed run
					}
					if want == len(refs) || refs[want].idx != r.idx {
						continue
					}
					tx, err := r.decode()
					if err != nil {
						return fmt.Errorf("tx %d: %w", r.idx, err)
					}
					if bytes.Equal(canonAddr(c, tx.From), canon) {
						pending = append(pending, tx)
					}
					want++
				}
				return r.err()
			})
			if err != nil {
				return fmt.Errorf("transactions of block %d: %w", num, err)
			}
			if !found {
				return nil // left by a killed run
			}
			for i := range pending {
				if fnErr = fn(&pending[i]); fnErr != nil {
					return fnErr
				}
			}
			pending = pending[:0]
			return nil
		})
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("scan %s transactions sent by %s [%d,%d] in store %s: %w", chain, addr, from, to, s.dir, err)
	}
	return nil
}

// involves reports whether t has canon on a side dir selects.
func involves(c byte, t *chains.Transfer, canon []byte, dir Direction) bool {
	var buf [64]byte
	if dir&In != 0 && bytes.Equal(appendCanon(buf[:0], c, t.To), canon) {
		return true
	}
	if dir&Out != 0 {
		for _, f := range t.From {
			if bytes.Equal(appendCanon(buf[:0], c, f), canon) {
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

// ChainStats counts one chain's records. Transactions and transfers are
// stored one value per block and the address index one entry per address
// and block, so Txs, Transfers and AddressEntries count what those values
// hold, not keys.
type ChainStats struct {
	Network        string
	Blocks         uint64 // block headers
	Txs            uint64 // transactions in the blocks' transactions values
	TxHashes       uint64 // transaction-hash look-ups
	Transfers      uint64 // transfers in the blocks' transfers values
	AddressEntries uint64 // (address, direction, transfer) references of the address index
	RawEntries     uint64
	RawBytes       int64 // sum of raw value sizes as stored (S2-compressed)
	Indexed        []Range
	IndexedBlocks  uint64 // blocks covered by Indexed
}

// Stats counts every record with prefix scans: keys alone for headers,
// hash look-ups, raw entries and meta keys, and the head of each block's
// transactions and transfers value and each address entry for the others.
// It takes time proportional to the number of keys (about a second per
// few million).
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
		// countIn adds what each value under prefix holds, as counted by
		// fn, which sees the value only during the call.
		countIn := func(prefix []byte, n *uint64, fn func(num uint64, v []byte) (uint64, error)) error {
			return scan(txn, prefix, func(item *badger.Item) error {
				num, _ := keyNum(item.Key()) // only the transfers and txs keys have one
				return item.Value(func(v []byte) error {
					m, err := fn(num, v)
					if err != nil {
						return fmt.Errorf("key %x: %w", item.Key(), err)
					}
					*n += m
					return nil
				})
			})
		}
		var tr transfersReader
		var xr txsReader
		var refs []addrRef
		countTransfers := func(num uint64, v []byte) (uint64, error) {
			err := tr.reset(v, num)
			return tr.count(), err
		}
		countTxs := func(num uint64, v []byte) (uint64, error) {
			err := xr.reset(v, num)
			return xr.count(), err
		}
		countRefs := func(_ uint64, v []byte) (uint64, error) {
			var err error
			refs, err = decodeAddrRefs(v, addrDirIn|addrDirOut, refs[:0])
			var n uint64
			for _, r := range refs {
				n += uint64(bits.OnesCount8(r.dir)) // sent-transaction refs are not counted
			}
			return n, err
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
				{prefixTxHash, &cs.TxHashes, nil},
				{prefixRaw, &cs.RawEntries, &cs.RawBytes},
			} {
				if err := count(chainPrefix(x.p, c), x.n, x.size); err != nil {
					return err
				}
			}
			for _, x := range []struct {
				p  byte
				n  *uint64
				fn func(uint64, []byte) (uint64, error)
			}{
				{prefixTx, &cs.Txs, countTxs},
				{prefixTransfer, &cs.Transfers, countTransfers},
				{prefixAddr, &cs.AddressEntries, countRefs},
			} {
				if err := countIn(chainPrefix(x.p, c), x.n, x.fn); err != nil {
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
