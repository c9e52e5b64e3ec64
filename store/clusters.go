package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"iter"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/chaintrace/chaintrace/chains"
)

// ---- multi-input clustering runs -------------------------------------------
//
// A clustering run is what `chaintrace cluster` computed over a block
// window: the merge log (every merge with its transaction, in the order
// applied) and the merges it held for review. The store keeps one run per
// chain, the last one saved, so that the next `cluster` over the same
// window, and a trace inside it, rebuild the clusters by replaying the log
// instead of reading every transaction again. Review decisions on held
// merges are kept apart from the run, keyed by what the merge joins, so
// they outlive the run: a later run over the same or a larger window that
// holds the same merge finds its decision.

// ClusterParams are the parameters a run was made with; a run is reused
// only for the same ones.
type ClusterParams struct {
	HoldAbove int    // merges joining two clusters each larger than this were held (0: none)
	SkipRule  string // the rule keeping transactions out, e.g. "coinjoin/1"
	Version   string // the heuristic's version (heuristics.MultiInputVersion)
}

// ClusterMerge is one entry of a run's merge log: transaction TxID spent
// from A and from B, then in different clusters.
type ClusterMerge struct {
	TxID, A, B string
}

// HeldMerge is a merge a run held for review: transaction TxID spent from
// A and B, whose clusters then had SizeA and SizeB addresses.
type HeldMerge struct {
	ID           string // HeldMergeID(TxID, A, B)
	TxID, A, B   string
	SizeA, SizeB int
}

// ClusterRun is a saved clustering run without its merge log (read that
// with ClusterMerges).
type ClusterRun struct {
	From, To uint64 // the window, inclusive
	Params   ClusterParams
	// Fingerprint is WindowFingerprint of the window when the run was
	// made: another value now means blocks of the window were rewritten
	// since (re-indexed after a reorg), and the run is stale.
	Fingerprint [32]byte
	Txs         int         // transactions read with two or more input addresses
	Addresses   int         // distinct input addresses seen
	Merges      int         // entries of the merge log (SaveClusterRun counts them)
	Skipped     int         // transactions the skip rule kept out
	Held        []HeldMerge // in the order met
	Made        time.Time   // when it was saved, UTC

	gen         uint64 // the generation its chunks are keyed under
	mergeChunks uint32
	heldChunks  uint32
}

// ClusterDecision is a review decision on a held merge.
type ClusterDecision struct {
	TxID, A, B string
	Accepted   bool // false: rejected
	Reason     string
	At         time.Time // UTC
}

// ID is the decision's held merge's id.
func (d ClusterDecision) ID() string { return HeldMergeID(d.TxID, d.A, d.B) }

// HeldMergeID is the short, stable id of a held merge: the first 12 hex
// digits of the SHA-256 that keys its decision. It depends only on the
// transaction and the two addresses, not on the run or the merge's place
// in it.
func HeldMergeID(txid, a, b string) string {
	sum := decisionHash(txid, a, b)
	return hex.EncodeToString(sum[:6])
}

// decisionHash is SHA-256 of the three strings, each length-prefixed so
// that no two triples share an input.
func decisionHash(txid, a, b string) [32]byte {
	var buf []byte
	for _, s := range []string{txid, a, b} {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	return sha256.Sum256(buf)
}

// clusterChunk is the number of merges (or held merges) per chunk value:
// about 100 KiB of log, so a run of millions of merges is thousands of
// keys, written with a WriteBatch, each value in the value log.
const clusterChunk = 1024

const clusterCodecVersion byte = 1

// WindowFingerprint is the SHA-256 of the stored headers of blocks
// from..to (number and encoded header, hash and parent hash included), in
// order; blocks not stored are left out. A rewrite of any block of the
// window with another block (a reorg re-indexed) changes it. It reads one
// small header per block: for a window of 100,000 blocks, well under a
// second, where replaying a run saves reading every transaction.
func (s *Store) WindowFingerprint(chain chains.Chain, from, to uint64) ([32]byte, error) {
	c, err := chainByte(chain)
	if err != nil {
		return [32]byte{}, fmt.Errorf("window fingerprint: %w", err)
	}
	if err := checkRange("window fingerprint", from, to); err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	err = s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = chainPrefix(prefixBlock, c)
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		var buf []byte
		for it.Seek(blockKey(c, from)); it.Valid(); it.Next() {
			item := it.Item()
			num, ok := keyNum(item.Key())
			if !ok {
				return fmt.Errorf("%w: block key %x", ErrCorrupt, item.Key())
			}
			if num > to {
				break
			}
			err := item.Value(func(v []byte) error {
				buf = binary.BigEndian.AppendUint64(buf[:0], num)
				buf = binary.AppendUvarint(buf, uint64(len(v)))
				buf = append(buf, v...)
				h.Write(buf)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return [32]byte{}, fmt.Errorf("fingerprint %s blocks %d-%d in store %s: %w", chain, from, to, s.dir, err)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// SaveClusterRun replaces chain's stored run with run and the merge log
// merges (in the order applied); run.Held are its held merges (their ID is
// recomputed) and run.Merges is set to the number of merges written.
//
// The write is atomic for readers: the log and the held merges go into
// chunks under a new generation with a WriteBatch, synced to disk, and
// only then the run's head, in a transaction of its own, names that
// generation. A save cut short leaves chunks no head names (the next save
// deletes them) and the previous run, complete, still in place. The
// previous run's chunks are deleted once the new head is written.
func (s *Store) SaveClusterRun(chain chains.Chain, run *ClusterRun, merges iter.Seq[ClusterMerge]) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("save cluster run: %w", err)
	}
	if err := checkRange("save cluster run", run.From, run.To); err != nil {
		return err
	}
	if run.Params.HoldAbove < 0 {
		return fmt.Errorf("save cluster run: hold above %d: %w", run.Params.HoldAbove, ErrInvalidArgument)
	}
	if err := s.writable("save cluster run"); err != nil {
		return err
	}
	wrap := func(err error) error {
		return fmt.Errorf("save %s cluster run of blocks %d-%d in store %s: %w", chain, run.From, run.To, s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	var old ClusterRun
	var hadOld bool
	err = s.db.View(func(txn *badger.Txn) (err error) {
		old, hadOld, err = readClusterHead(txn, c)
		return err
	})
	if err != nil {
		return wrap(err)
	}
	// Leftovers of an interrupted save: chunks of any generation but the
	// current run's.
	var stale [][]byte
	if stale, err = s.clusterChunkKeys(c, func(gen uint64) bool { return !hadOld || gen != old.gen }); err != nil {
		return wrap(err)
	}
	if err := s.deleteKeys(stale); err != nil {
		return wrap(err)
	}

	gen := uint64(1)
	if hadOld {
		gen = old.gen + 1
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	var chunk []byte
	n, chunks := 0, uint32(0)
	flush := func(part byte, count int) error {
		v := binary.AppendUvarint([]byte{clusterCodecVersion}, uint64(count))
		v = append(v, chunk...)
		chunk = chunk[:0]
		err := wb.Set(clusterChunkKey(c, part, gen, chunks), v)
		chunks++
		return err
	}
	inChunk := 0
	for m := range merges {
		chunk = appendString(chunk, m.TxID)
		chunk = appendString(chunk, m.A)
		chunk = appendString(chunk, m.B)
		n++
		if inChunk++; inChunk == clusterChunk {
			if err := flush(clusterPartMerges, inChunk); err != nil {
				return wrap(err)
			}
			inChunk = 0
		}
	}
	if inChunk > 0 {
		if err := flush(clusterPartMerges, inChunk); err != nil {
			return wrap(err)
		}
	}
	run.Merges, run.mergeChunks = n, chunks
	chunks, inChunk = 0, 0
	for i := range run.Held {
		h := &run.Held[i]
		h.ID = HeldMergeID(h.TxID, h.A, h.B)
		chunk = appendString(chunk, h.TxID)
		chunk = appendString(chunk, h.A)
		chunk = appendString(chunk, h.B)
		chunk = binary.AppendUvarint(chunk, uint64(max(h.SizeA, 0)))
		chunk = binary.AppendUvarint(chunk, uint64(max(h.SizeB, 0)))
		if inChunk++; inChunk == clusterChunk {
			if err := flush(clusterPartHeld, inChunk); err != nil {
				return wrap(err)
			}
			inChunk = 0
		}
	}
	if inChunk > 0 {
		if err := flush(clusterPartHeld, inChunk); err != nil {
			return wrap(err)
		}
	}
	run.heldChunks = chunks
	if err := wb.Flush(); err != nil {
		return wrap(err)
	}
	// The chunks reach the disk before the head that names them.
	if err := s.db.Sync(); err != nil {
		return wrap(fmt.Errorf("sync: %w", err))
	}
	beforeClusterHead()
	run.gen = gen
	if run.Made.IsZero() {
		run.Made = time.Now()
	}
	run.Made = run.Made.UTC()
	head := encodeClusterHead(run)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(clusterHeadKey(c), head) }); err != nil {
		return wrap(err)
	}
	if hadOld {
		if stale, err = s.clusterChunkKeys(c, func(g uint64) bool { return g == old.gen }); err != nil {
			return wrap(err)
		}
		if err := s.deleteKeys(stale); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// beforeClusterHead runs between a save's synced chunks and its head: a
// test kills the process there.
var beforeClusterHead = func() {}

// clusterChunkKeys returns the keys of the chunks of every generation drop
// says yes to.
func (s *Store) clusterChunkKeys(c byte, drop func(gen uint64) bool) ([][]byte, error) {
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		for _, part := range []byte{clusterPartMerges, clusterPartHeld} {
			err := scan(txn, []byte{prefixCluster, c, part}, func(item *badger.Item) error {
				k := item.Key()
				if len(k) != clusterChunkKeyLen {
					return fmt.Errorf("%w: cluster chunk key %x", ErrCorrupt, k)
				}
				if drop(binary.BigEndian.Uint64(k[3:])) {
					keys = append(keys, item.KeyCopy(nil))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return keys, err
}

func (s *Store) deleteKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// ClusterRun returns chain's stored run, with its held merges, if there is
// a complete one.
func (s *Store) ClusterRun(chain chains.Chain) (ClusterRun, bool, error) {
	c, err := chainByte(chain)
	if err != nil {
		return ClusterRun{}, false, fmt.Errorf("cluster run: %w", err)
	}
	var run ClusterRun
	var ok bool
	err = s.db.View(func(txn *badger.Txn) error {
		var err error
		if run, ok, err = readClusterHead(txn, c); err != nil || !ok {
			return err
		}
		return readChunks(txn, c, clusterPartHeld, run.gen, run.heldChunks, func(d *decoder) {
			var h HeldMerge
			h.TxID, h.A, h.B = d.string("held txid"), d.string("held address"), d.string("held address")
			h.SizeA, h.SizeB = int(d.uvarint("held size")), int(d.uvarint("held size"))
			h.ID = HeldMergeID(h.TxID, h.A, h.B)
			run.Held = append(run.Held, h)
		})
	})
	if err != nil {
		return ClusterRun{}, false, fmt.Errorf("read %s cluster run from store %s: %w", chain, s.dir, err)
	}
	return run, ok, nil
}

// ClusterMerges calls fn with each merge of run's log, in the order
// applied. run must come from ClusterRun; if a later save has replaced it
// meanwhile, the error wraps ErrNotFound.
func (s *Store) ClusterMerges(chain chains.Chain, run *ClusterRun, fn func(ClusterMerge) error) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("cluster merges: %w", err)
	}
	var fnErr error
	n := 0
	err = s.db.View(func(txn *badger.Txn) error {
		return readChunks(txn, c, clusterPartMerges, run.gen, run.mergeChunks, func(d *decoder) {
			if fnErr != nil {
				return
			}
			m := ClusterMerge{TxID: d.string("merge txid"), A: d.string("merge address"), B: d.string("merge address")}
			if d.err == nil {
				n++
				fnErr = fn(m)
			}
		})
	})
	if fnErr != nil {
		return fnErr
	}
	if err == nil && n != run.Merges {
		err = fmt.Errorf("%w: %d merges in the log, the run's head says %d", ErrCorrupt, n, run.Merges)
	}
	if err != nil {
		return fmt.Errorf("read %s cluster merges of blocks %d-%d from store %s: %w", chain, run.From, run.To, s.dir, err)
	}
	return nil
}

// readChunks decodes chunks 0..n-1 of part and gen, calling each for
// every record (it reads one record from d; the first failure sticks in
// d.err). A missing chunk is ErrNotFound: the run was replaced.
func readChunks(txn *badger.Txn, c, part byte, gen uint64, n uint32, each func(d *decoder)) error {
	for i := range n {
		ok, err := withValue(txn, clusterChunkKey(c, part, gen, i), func(v []byte) error {
			d := decoder{b: v}
			if ver := d.byte("cluster chunk"); d.err == nil && ver != clusterCodecVersion {
				return fmt.Errorf("%w: cluster chunk version %d, want %d", ErrCorrupt, ver, clusterCodecVersion)
			}
			for k := d.uvarint("cluster chunk"); k > 0 && d.err == nil; k-- {
				each(&d)
			}
			return d.finish("cluster chunk")
		})
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("chunk %d of run generation %d is gone (a later run replaced it): %w", i, gen, ErrNotFound)
		}
	}
	return nil
}

// readClusterHead reads chain c's run head, if any.
func readClusterHead(txn *badger.Txn, c byte) (ClusterRun, bool, error) {
	var run ClusterRun
	ok, err := withValue(txn, clusterHeadKey(c), func(v []byte) (err error) {
		run, err = decodeClusterHead(v)
		return err
	})
	return run, ok, err
}

// Head encoding: version, uvarint From, To, HoldAbove, string SkipRule,
// Version, 32 bytes Fingerprint, uvarint Txs, Addresses, Merges, Skipped,
// len(Held), gen, mergeChunks, heldChunks, varint Made (Unix nanoseconds).
func encodeClusterHead(r *ClusterRun) []byte {
	b := []byte{clusterCodecVersion}
	b = binary.AppendUvarint(b, r.From)
	b = binary.AppendUvarint(b, r.To)
	b = binary.AppendUvarint(b, uint64(r.Params.HoldAbove))
	b = appendString(b, r.Params.SkipRule)
	b = appendString(b, r.Params.Version)
	b = append(b, r.Fingerprint[:]...)
	for _, n := range []int{r.Txs, r.Addresses, r.Merges, r.Skipped, len(r.Held)} {
		b = binary.AppendUvarint(b, uint64(max(n, 0)))
	}
	b = binary.AppendUvarint(b, r.gen)
	b = binary.AppendUvarint(b, uint64(r.mergeChunks))
	b = binary.AppendUvarint(b, uint64(r.heldChunks))
	return binary.AppendVarint(b, r.Made.UnixNano())
}

func decodeClusterHead(v []byte) (ClusterRun, error) {
	d := decoder{b: v}
	if ver := d.byte("cluster run"); d.err == nil && ver != clusterCodecVersion {
		return ClusterRun{}, fmt.Errorf("%w: cluster run version %d, want %d", ErrCorrupt, ver, clusterCodecVersion)
	}
	var r ClusterRun
	r.From, r.To = d.uvarint("cluster run"), d.uvarint("cluster run")
	r.Params.HoldAbove = int(d.uvarint("cluster run"))
	r.Params.SkipRule, r.Params.Version = d.string("cluster run"), d.string("cluster run")
	copy(r.Fingerprint[:], d.bytes(32, "cluster run"))
	r.Txs, r.Addresses = int(d.uvarint("cluster run")), int(d.uvarint("cluster run"))
	r.Merges, r.Skipped = int(d.uvarint("cluster run")), int(d.uvarint("cluster run"))
	held := d.uvarint("cluster run")
	r.gen = d.uvarint("cluster run")
	r.mergeChunks, r.heldChunks = uint32(d.uvarint("cluster run")), uint32(d.uvarint("cluster run"))
	var made int64
	if d.err == nil {
		var n int
		if made, n = binary.Varint(d.b); n <= 0 {
			d.fail("cluster run")
		} else {
			d.b = d.b[n:]
		}
	}
	if err := d.finish("cluster run"); err != nil {
		return ClusterRun{}, err
	}
	r.Made = time.Unix(0, made).UTC()
	if held > uint64(r.heldChunks)*clusterChunk {
		return ClusterRun{}, fmt.Errorf("%w: cluster run has %d held merges in %d chunks", ErrCorrupt, held, r.heldChunks)
	}
	r.Held = make([]HeldMerge, 0, held)
	return r, nil
}

// ---- review decisions ------------------------------------------------------

// SetClusterDecisions records decisions on held merges, each replacing any
// earlier decision on the same merge. They are written with one
// WriteBatch: each decision stands alone, so one cut short leaves some
// recorded and none half-written.
func (s *Store) SetClusterDecisions(chain chains.Chain, ds []ClusterDecision) error {
	c, err := chainByte(chain)
	if err != nil {
		return fmt.Errorf("set cluster decisions: %w", err)
	}
	if err := s.writable("set cluster decisions"); err != nil {
		return err
	}
	for _, d := range ds {
		if d.TxID == "" || d.A == "" || d.B == "" {
			return fmt.Errorf("set cluster decisions: decision without txid or addresses: %w", ErrInvalidArgument)
		}
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, d := range ds {
		if err := wb.Set(decisionKey(c, d.TxID, d.A, d.B), encodeDecision(&d)); err != nil {
			return fmt.Errorf("set %s cluster decisions in store %s: %w", chain, s.dir, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("set %s cluster decisions in store %s: %w", chain, s.dir, err)
	}
	return nil
}

// ClusterDecisions returns every review decision recorded for chain, in
// key order.
func (s *Store) ClusterDecisions(chain chains.Chain) ([]ClusterDecision, error) {
	c, err := chainByte(chain)
	if err != nil {
		return nil, fmt.Errorf("cluster decisions: %w", err)
	}
	var ds []ClusterDecision
	err = s.db.View(func(txn *badger.Txn) error {
		return scan(txn, chainPrefix(prefixClusterDecision, c), func(item *badger.Item) error {
			return item.Value(func(v []byte) error {
				d, err := decodeDecision(v)
				if err != nil {
					return err
				}
				if want := decisionKey(c, d.TxID, d.A, d.B); string(want) != string(item.Key()) {
					return fmt.Errorf("%w: cluster decision under key %x names another merge", ErrCorrupt, item.Key())
				}
				ds = append(ds, d)
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read %s cluster decisions from store %s: %w", chain, s.dir, err)
	}
	return ds, nil
}

// Decision encoding: version, accepted (1 byte), string Reason, varint At
// (Unix nanoseconds), strings TxID, A, B.
func encodeDecision(d *ClusterDecision) []byte {
	b := []byte{clusterCodecVersion}
	b = appendBool(b, d.Accepted)
	b = appendString(b, d.Reason)
	b = binary.AppendVarint(b, d.At.UnixNano())
	b = appendString(b, d.TxID)
	b = appendString(b, d.A)
	return appendString(b, d.B)
}

func decodeDecision(v []byte) (ClusterDecision, error) {
	d := decoder{b: v}
	if ver := d.byte("cluster decision"); d.err == nil && ver != clusterCodecVersion {
		return ClusterDecision{}, fmt.Errorf("%w: cluster decision version %d, want %d", ErrCorrupt, ver, clusterCodecVersion)
	}
	var out ClusterDecision
	switch d.byte("cluster decision") {
	case 0:
	case 1:
		out.Accepted = true
	default:
		d.fail("cluster decision")
	}
	out.Reason = d.string("cluster decision")
	if d.err == nil {
		at, n := binary.Varint(d.b)
		if n <= 0 {
			d.fail("cluster decision")
		} else {
			d.b = d.b[n:]
			out.At = time.Unix(0, at).UTC()
		}
	}
	out.TxID, out.A, out.B = d.string("cluster decision"), d.string("cluster decision"), d.string("cluster decision")
	if err := d.finish("cluster decision"); err != nil {
		return ClusterDecision{}, err
	}
	return out, nil
}
