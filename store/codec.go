package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/chaintrace/chaintrace/chains"
)

// Value encodings. Each record value starts with a one-byte codecVersion;
// the fields that the key already holds (block number) are not repeated.
// Integers are uvarints; strings and big integers are length-prefixed, as
// below. Every field round-trips exactly, including nil versus empty From,
// nil versus zero amounts, and the letter case of hashes and addresses.
//
//	string:  tag (1 byte) then
//	           tag 0 (raw):  uvarint(len) + bytes
//	           tag&1 (hex):  uvarint(n) + n bytes [+ case mask]
//	         A string that is hex (even length, optionally after "0x") is kept
//	         as its n bytes: tag&2 means a "0x" prefix, tag&4 means a case
//	         mask follows, ceil(2n/8) bytes, bit i set when hex digit i is an
//	         upper-case letter (as in EIP-55 addresses). A 66-character hash
//	         takes 34 bytes, a 42-character checksummed address 27.
//	big.Int: uvarint(h) where h == 0 means nil, else h-1 == len<<1 | negative,
//	         then len bytes of the magnitude, big-endian.
//	kind:    one byte, kindRaw followed by a string, or a known kind's code.
//
//	Transfers: version, uvarint(n), and if n > 0: BlockHash, uvarint
//	           Timestamp (both the first transfer's: the block's defaults),
//	           width (1 byte, 2 or 4), then n records strictly ascending by
//	           (TxIndex, Ordinal):
//	             uvarint TxIndex, uvarint Ordinal, flags (1 byte),
//	             uvarint(len(body)), body
//	           body: [TxHash, unless flags&xfSameTx: the previous record's]
//	                 [BlockHash if flags&xfBlockHash] [uvarint Timestamp if
//	                 flags&xfTime], Position, kind, uvarint(len(From)+1) (0
//	                 for a nil From) + each From, To, Asset, Amount, TokenID
//	           then the offset table: each record's offset from the first
//	           record's start, width bytes little-endian (2 if they all fit).
//	           A scan reads the records in order; a look-up by (TxIndex,
//	           Ordinal) binary-searches the table and decodes only the record
//	           it wants (and the TxHash of the first record of its tx).
//	Txs:       version, uvarint(n), then n records strictly ascending by
//	           Index: uvarint Index, uvarint(len(body)), body
//	           body: Hash, From, To, Created, Value, Fee, Success (1 byte)
//	Block:     version, Hash, ParentHash, uvarint Timestamp, uvarint TxCount
//	AddrRefs:  one or more of uvarint TxIndex, uvarint(Ordinal<<2 | dir),
//	           strictly ascending by (TxIndex, Ordinal); dir is addrDirIn,
//	           addrDirOut or both, or addrDirSent (with ord sentSentinel).
//	           Each pair is uvarint idx, uvarint(ord<<3 | dir). No version
//	           byte: an index value.
const codecVersion byte = 1

const (
	strRaw    byte = 0
	strHex    byte = 1 << 0
	strPrefix byte = 1 << 1
	strMixed  byte = 1 << 2
)

const kindRaw byte = 0

// Transfer record flags.
const (
	xfSameTx    byte = 1 << 0 // TxHash is the previous record's
	xfBlockHash byte = 1 << 1 // BlockHash differs from the value's default
	xfTime      byte = 1 << 2 // Timestamp differs from the value's default
	xfAll            = xfSameTx | xfBlockHash | xfTime
)

var kindCodes = map[chains.Kind]byte{
	chains.KindNative:   1,
	chains.KindInternal: 2,
	chains.KindERC20:    3,
	chains.KindERC721:   4,
	chains.KindUTXO:     5,
}

var kindByCode = func() map[byte]chains.Kind {
	m := make(map[byte]chains.Kind, len(kindCodes))
	for k, c := range kindCodes {
		m[c] = k
	}
	return m
}()

// unhex maps a byte to its value as a hex digit, with hexUpper set for
// 'A' to 'F', or to hexBad.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = hexBad
	}
	for c := 0; c < 10; c++ {
		t['0'+c] = byte(c)
	}
	for c := 0; c < 6; c++ {
		t['a'+c] = byte(10 + c)
		t['A'+c] = byte(10+c) | hexUpper
	}
	return t
}()

const (
	hexUpper = 0x10
	hexBad   = 0x80
)

// appendString appends s in the string encoding above.
func appendString(b []byte, s string) []byte {
	body, tag := s, strHex
	if len(s) >= 2 && s[0] == '0' && s[1] == 'x' {
		body, tag = s[2:], strHex|strPrefix
	}
	if len(body)%2 == 0 && (len(body) > 0 || tag&strPrefix != 0) {
		n := len(body) / 2
		start := len(b)
		b = append(b, tag)
		b = binary.AppendUvarint(b, uint64(n))
		data := len(b)
		b = slices.Grow(b, n)[:data+n]
		var seen byte // every digit's flags
		for i := 0; i < n; i++ {
			hi, lo := unhex[body[2*i]], unhex[body[2*i+1]]
			seen |= hi | lo
			b[data+i] = hi<<4 | lo&0xf
		}
		if seen&hexBad == 0 {
			if seen&hexUpper != 0 {
				b[start] |= strMixed
				m := len(b)
				b = append(b, make([]byte, (len(body)+7)/8)...)
				for i := 0; i < len(body); i++ {
					if unhex[body[i]]&hexUpper != 0 {
						b[m+i/8] |= 1 << (i % 8)
					}
				}
			}
			return b
		}
		b = b[:start] // not hex after all
	}
	b = append(b, strRaw)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendBig appends x in the big.Int encoding above.
func appendBig(b []byte, x *big.Int) []byte {
	if x == nil {
		return append(b, 0)
	}
	n := (x.BitLen() + 7) / 8
	h := uint64(n) << 1
	if x.Sign() < 0 {
		h |= 1
	}
	b = binary.AppendUvarint(b, h+1)
	b = slices.Grow(b, n)
	start := len(b)
	b = b[:start+n]
	x.FillBytes(b[start:])
	return b
}

func appendKind(b []byte, k chains.Kind) []byte {
	if c, ok := kindCodes[k]; ok {
		return append(b, c)
	}
	return appendString(append(b, kindRaw), string(k))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendLen fills in the one byte reserved at b[start] with the uvarint
// length of b[start+1:], moving the bytes up if the length needs more.
func appendLen(b []byte, start int) []byte {
	n := len(b) - start - 1
	if n < 0x80 {
		b[start] = byte(n)
		return b
	}
	var tmp [binary.MaxVarintLen64]byte
	l := binary.PutUvarint(tmp[:], uint64(n))
	b = append(b, tmp[:l-1]...)
	copy(b[start+l:], b[start+1:start+1+n])
	copy(b[start:], tmp[:l])
	return b
}

// appendTransferBody appends the body of t's record; flags says which
// fields are left out or kept.
func appendTransferBody(b []byte, t *chains.Transfer, flags byte) []byte {
	if flags&xfSameTx == 0 {
		b = appendString(b, t.TxHash)
	}
	if flags&xfBlockHash != 0 {
		b = appendString(b, t.BlockHash)
	}
	if flags&xfTime != 0 {
		b = binary.AppendUvarint(b, t.Timestamp)
	}
	b = appendString(b, t.Position)
	b = appendKind(b, t.Kind)
	if t.From == nil {
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(t.From))+1)
		for _, f := range t.From {
			b = appendString(b, f)
		}
	}
	b = appendString(b, t.To)
	b = appendString(b, t.Asset)
	b = appendBig(b, t.Amount)
	return appendBig(b, t.TokenID)
}

// encodeTransfers encodes the transfers of one block, which the caller has
// sorted in exhibit order without two of the same (TxIndex, Ordinal).
// BlockNumber is left out: it lives in the key.
func encodeTransfers(ts []*chains.Transfer) []byte {
	size := 16 + 40
	for _, t := range ts {
		size += 104 + 28*len(t.From)
	}
	b := make([]byte, 0, size)
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(len(ts)))
	if len(ts) == 0 {
		return b
	}
	bh, tm := ts[0].BlockHash, ts[0].Timestamp
	b = appendString(b, bh)
	b = binary.AppendUvarint(b, tm)
	b = append(b, 0) // the offset width, known at the end
	widthAt, recs := len(b)-1, len(b)
	offs := make([]uint32, len(ts))
	for i, t := range ts {
		var flags byte
		if i > 0 && t.TxHash == ts[i-1].TxHash {
			flags |= xfSameTx
		}
		if t.BlockHash != bh {
			flags |= xfBlockHash
		}
		if t.Timestamp != tm {
			flags |= xfTime
		}
		offs[i] = uint32(len(b) - recs)
		b = binary.AppendUvarint(b, uint64(t.TxIndex))
		b = binary.AppendUvarint(b, uint64(t.Ordinal))
		b = append(b, flags, 0)
		start := len(b) - 1
		b = appendTransferBody(b, t, flags)
		b = appendLen(b, start)
	}
	if len(b)-recs <= math.MaxUint16 {
		b[widthAt] = 2
		for _, o := range offs {
			b = binary.LittleEndian.AppendUint16(b, uint16(o))
		}
	} else {
		b[widthAt] = 4
		for _, o := range offs {
			b = binary.LittleEndian.AppendUint32(b, o)
		}
	}
	return b
}

// appendTxBody appends the body of tx's record.
func appendTxBody(b []byte, tx *chains.Tx) []byte {
	b = appendString(b, tx.Hash)
	b = appendString(b, tx.From)
	b = appendString(b, tx.To)
	b = appendString(b, tx.Created)
	b = appendBig(b, tx.Value)
	b = appendBig(b, tx.Fee)
	b = appendBool(b, tx.Success)
	// Inputs (utxo chains) follow only when there are any, so that an
	// account-chain record, and every record written before inputs were
	// kept, ends here.
	if len(tx.Inputs) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(tx.Inputs)))
	for i := range tx.Inputs {
		in := &tx.Inputs[i]
		b = appendString(b, in.TxID)
		b = binary.AppendUvarint(b, uint64(in.Vout))
		b = appendBig(b, in.Value)
		b = appendString(b, in.Address)
	}
	return b
}

// encodeTxs encodes the transactions of one block, which the caller has
// sorted by Index without two of the same. BlockNumber is left out: it
// lives in the key.
func encodeTxs(txs []*chains.Tx) []byte {
	b := make([]byte, 0, 8+120*len(txs))
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(len(txs)))
	for _, tx := range txs {
		b = binary.AppendUvarint(b, uint64(tx.Index))
		b = append(b, 0)
		start := len(b) - 1
		b = appendTxBody(b, tx)
		b = appendLen(b, start)
	}
	return b
}

// addrRef is one entry of an AddrRefs value.
type addrRef struct {
	idx, ord uint32
	dir      byte
}

// appendAddrRef appends one entry of an AddrRefs value.
func appendAddrRef(b []byte, r addrRef) []byte {
	b = binary.AppendUvarint(b, uint64(r.idx))
	return binary.AppendUvarint(b, uint64(r.ord)<<3|uint64(r.dir))
}

// decodeAddrRefs appends to refs the entries of v whose dir shares a bit
// with want (every entry for want 0).
func decodeAddrRefs(v []byte, want byte, refs []addrRef) ([]addrRef, error) {
	d := decoder{b: v}
	var prev addrRef
	if len(v) == 0 {
		d.fail("address entry")
	}
	for i := 0; len(d.b) > 0 && d.err == nil; i++ {
		idx := d.uvarint("address entry")
		x := d.uvarint("address entry")
		r := addrRef{idx: uint32(idx), ord: uint32(x >> 3), dir: byte(x & 7)}
		if d.err == nil && (idx > math.MaxUint32 || x>>3 > math.MaxUint32 || r.dir == 0 ||
			i > 0 && !refLess(prev, r)) {
			d.fail("address entry")
		}
		if d.err == nil && (want == 0 || r.dir&want != 0) {
			refs = append(refs, r)
		}
		prev = r
	}
	return refs, d.err
}

// refLess orders addrRefs (and transfers) by TxIndex, then Ordinal.
func refLess(a, b addrRef) bool {
	return a.idx < b.idx || a.idx == b.idx && a.ord < b.ord
}

// encodeBlock encodes blk without Number, which lives in its key.
func encodeBlock(blk *chains.Block) []byte {
	b := make([]byte, 0, 80)
	b = append(b, codecVersion)
	b = appendString(b, blk.Hash)
	b = appendString(b, blk.ParentHash)
	b = binary.AppendUvarint(b, blk.Timestamp)
	return binary.AppendUvarint(b, uint64(blk.TxCount))
}

// decoder reads the encodings above; the first failure sticks in err.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed %s", ErrCorrupt, what)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail(what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

const hexDigits = "0123456789abcdef"

func (d *decoder) string(what string) string {
	tag := d.byte(what)
	n := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if tag == strRaw {
		return string(d.bytes(n, what))
	}
	if tag&strHex == 0 || tag&^(strHex|strPrefix|strMixed) != 0 {
		d.fail(what)
		return ""
	}
	raw := d.bytes(n, what)
	var mask []byte
	if tag&strMixed != 0 && d.err == nil {
		mask = d.bytes((2*n+7)/8, what)
	}
	if d.err != nil {
		return ""
	}
	var stack [2 + 2*40]byte // fits hashes and addresses without a heap buffer
	out := stack[:0]
	if tag&strPrefix != 0 {
		out = append(out, '0', 'x')
	}
	start := len(out)
	for _, c := range raw {
		out = append(out, hexDigits[c>>4], hexDigits[c&0xf])
	}
	if mask != nil {
		for k, ch := range out[start:] {
			if mask[k/8]&(1<<(k%8)) != 0 && ch >= 'a' {
				out[start+k] = ch - ('a' - 'A')
			}
		}
	}
	return string(out)
}

// strMemo remembers the last string decoded for one field, so that a scan
// decoding the same block hash or transaction hash row after row builds it
// once. The string encoding is self-delimiting, hence prefix-free: if the
// input starts with the remembered encoding, the next string is that one.
type strMemo struct {
	enc []byte
	s   string
}

// memoString is string with m (which may be nil) as a cache.
func (d *decoder) memoString(m *strMemo, what string) string {
	if m == nil || d.err != nil {
		return d.string(what)
	}
	if m.enc != nil && bytes.HasPrefix(d.b, m.enc) {
		d.b = d.b[len(m.enc):]
		return m.s
	}
	before := d.b
	s := d.string(what)
	if d.err == nil {
		m.enc = append(m.enc[:0], before[:len(before)-len(d.b)]...)
		m.s = s
	}
	return s
}

func (d *decoder) big(what string) *big.Int {
	h := d.uvarint(what)
	if d.err != nil || h == 0 {
		return nil
	}
	h--
	mag := d.bytes(h>>1, what)
	if d.err != nil {
		return nil
	}
	x := new(big.Int).SetBytes(mag)
	if h&1 != 0 {
		x.Neg(x)
	}
	return x
}

func (d *decoder) kind() chains.Kind {
	c := d.byte("kind")
	if c == kindRaw {
		return chains.Kind(d.string("kind"))
	}
	k, ok := kindByCode[c]
	if !ok {
		d.fail("kind")
	}
	return k
}

func (d *decoder) version(what string) {
	if v := d.byte(what); d.err == nil && v != codecVersion {
		d.err = fmt.Errorf("%w: %s value version %d, want %d", ErrCorrupt, what, v, codecVersion)
	}
}

// finish reports trailing bytes as corruption and returns the sticky error.
func (d *decoder) finish(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes in %s", ErrCorrupt, len(d.b), what)
	}
	return d.err
}

// skipString steps over one string without building it.
func (d *decoder) skipString(what string) {
	tag := d.byte(what)
	n := d.uvarint(what)
	if d.err != nil {
		return
	}
	if tag != strRaw && (tag&strHex == 0 || tag&^(strHex|strPrefix|strMixed) != 0) {
		d.fail(what)
		return
	}
	d.bytes(n, what)
	if tag&strMixed != 0 && d.err == nil {
		d.bytes((2*n+7)/8, what)
	}
}

// transfersReader reads a Transfers value (see the top of this file):
// next steps to the following record reading only its head, seek jumps to
// a record by binary search over the offset table, decode decodes the
// current record. The zero value is ready for reset.
type transfersReader struct {
	num       uint64
	bad       error  // the first malformation found
	recs      []byte // the records
	table     []byte // their offsets in recs
	width     int    // bytes per offset: 2 or 4
	n         int    // how many
	blockHash string // the value's defaults
	time      uint64

	i        int  // index of the record after the current one
	off      int  // its offset in recs, if read in sequence
	cur      bool // a current record is loaded
	idx, ord uint32
	flags    byte
	body     []byte

	txSrc  int    // index of the record holding the current TxHash, -1 if none
	txBody []byte // its body, which starts with the TxHash
	txHash string // decoded from it, if txDone
	txLen  int    // its length in that record's body
	txDone bool

	asset strMemo // the asset repeats between transfers
}

// reset starts reading v, the Transfers value of block num. v must stay
// unchanged while r reads it.
func (r *transfersReader) reset(v []byte, num uint64) error {
	*r = transfersReader{num: num, txSrc: -1, asset: r.asset}
	d := decoder{b: v}
	d.version("transfers")
	n := d.uvarint("transfer count")
	if d.err == nil && n > uint64(len(d.b))/4 { // a record and its offset take 4 bytes at least
		d.fail("transfer count")
	}
	if n == 0 {
		r.bad = d.finish("transfers")
		return r.bad
	}
	r.n = int(n)
	r.blockHash = d.string("transfers block hash")
	r.time = d.uvarint("transfers timestamp")
	r.width = int(d.byte("transfers offset width"))
	if d.err == nil && (r.width != 2 && r.width != 4 || r.n*r.width > len(d.b)) {
		d.fail("transfers offset table")
	}
	if d.err == nil {
		cut := len(d.b) - r.n*r.width
		r.recs, r.table = d.b[:cut], d.b[cut:]
	}
	r.bad = d.err
	return r.bad
}

// count is the number of transfers in the value reset to.
func (r *transfersReader) count() uint64 { return uint64(r.n) }

// err is the error that ended the walk, if any.
func (r *transfersReader) err() error { return r.bad }

func (r *transfersReader) fail(what string) {
	if r.bad == nil {
		r.bad = fmt.Errorf("%w: malformed transfers %s", ErrCorrupt, what)
	}
	r.cur = false
}

// head parses the head of the record at off in recs.
func (r *transfersReader) head(off int) (idx, ord uint32, flags byte, body []byte, end int, ok bool) {
	if off < 0 || off >= len(r.recs) {
		return 0, 0, 0, nil, 0, false
	}
	b := r.recs[off:]
	i, n1 := binary.Uvarint(b)
	if n1 <= 0 {
		return 0, 0, 0, nil, 0, false
	}
	o, n2 := binary.Uvarint(b[n1:])
	if n2 <= 0 || n1+n2 >= len(b) {
		return 0, 0, 0, nil, 0, false
	}
	b = b[n1+n2:]
	flags = b[0]
	size, n3 := binary.Uvarint(b[1:])
	if n3 <= 0 || size > uint64(len(b)-1-n3) || i > math.MaxUint32 || o > math.MaxUint32 || flags&^xfAll != 0 {
		return 0, 0, 0, nil, 0, false
	}
	body = b[1+n3 : 1+n3+int(size)]
	return uint32(i), uint32(o), flags, body, len(r.recs) - len(b) + 1 + n3 + int(size), true
}

// offset is record i's offset in recs, from the table.
func (r *transfersReader) offset(i int) int {
	if r.width == 2 {
		return int(binary.LittleEndian.Uint16(r.table[2*i:]))
	}
	return int(binary.LittleEndian.Uint32(r.table[4*i:]))
}

// load makes the record at off, index i, the current one.
func (r *transfersReader) load(i, off int) bool {
	idx, ord, flags, body, end, ok := r.head(off)
	switch {
	case !ok:
		r.fail("record head")
		return false
	case i == 0 && flags&xfSameTx != 0:
		r.fail("first record")
		return false
	case i > 0 && r.cur && r.i == i && (idx < r.idx || idx == r.idx && ord <= r.ord):
		r.fail("record order")
		return false
	}
	r.cur, r.i, r.off = true, i+1, end
	r.idx, r.ord, r.flags, r.body = idx, ord, flags, body
	if flags&xfSameTx == 0 && r.txSrc != i {
		r.txSrc, r.txBody, r.txDone = i, body, false
	}
	return true
}

// next loads the next record; false at the end or on a malformed value
// (then err says so).
func (r *transfersReader) next() bool {
	if r.i >= r.n || r.bad != nil {
		r.cur = false
		return false
	}
	if !r.load(r.i, r.off) {
		return false
	}
	if r.i == r.n && r.off != len(r.recs) {
		r.fail("records: trailing bytes")
	}
	return true
}

// seek moves forward to the first record at or after (idx, ord), unless
// the current record already is, and reports whether it is that one.
func (r *transfersReader) seek(idx, ord uint32) bool {
	if r.bad != nil {
		return false
	}
	if r.cur && (r.idx > idx || r.idx == idx && r.ord >= ord) {
		return r.idx == idx && r.ord == ord
	}
	lo, hi := r.i, r.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		mi, mo, _, _, _, ok := r.head(r.offset(m))
		if !ok {
			r.fail("offset table")
			return false
		}
		if mi < idx || mi == idx && mo < ord {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == r.n {
		r.cur, r.i = false, r.n
		return false
	}
	r.cur = false // no order check against a record not next to it
	if !r.load(lo, r.offset(lo)) {
		return false
	}
	if r.flags&xfSameTx != 0 {
		// The TxHash is in the nearest record before holding its own.
		j := lo - 1
		var body []byte
		for ; j >= 0; j-- {
			_, _, f, b, _, ok := r.head(r.offset(j))
			if !ok {
				r.fail("offset table")
				return false
			}
			if f&xfSameTx == 0 {
				body = b
				break
			}
		}
		if j < 0 {
			r.fail("first record")
			return false
		}
		if j != r.txSrc {
			r.txSrc, r.txBody, r.txDone = j, body, false
		}
	}
	return r.idx == idx && r.ord == ord
}

// decode decodes the current record into t.
func (r *transfersReader) decode(t *chains.Transfer) error {
	if !r.cur {
		return fmt.Errorf("%w: no transfer record to decode", ErrCorrupt)
	}
	if !r.txDone {
		d := decoder{b: r.txBody}
		r.txHash = d.string("transfer tx hash")
		if d.err != nil {
			return d.err
		}
		r.txLen, r.txDone = len(r.txBody)-len(d.b), true
	}
	d := decoder{b: r.body}
	if r.flags&xfSameTx == 0 {
		d.b = d.b[r.txLen:]
	}
	t.TxHash = r.txHash
	t.BlockNumber, t.TxIndex, t.Ordinal = r.num, r.idx, r.ord
	t.BlockHash, t.Timestamp = r.blockHash, r.time
	if r.flags&xfBlockHash != 0 {
		t.BlockHash = d.string("transfer block hash")
	}
	if r.flags&xfTime != 0 {
		t.Timestamp = d.uvarint("transfer timestamp")
	}
	t.Position = d.string("transfer position")
	t.Kind = d.kind()
	t.From = d.from()
	t.To = d.string("transfer to")
	t.Asset = d.memoString(&r.asset, "transfer asset")
	t.Amount = d.big("transfer amount")
	t.TokenID = d.big("transfer token id")
	return d.finish("transfer")
}

// parties decodes only From and To of the current record.
func (r *transfersReader) parties() (from []string, to string, err error) {
	d := decoder{b: r.body}
	if r.flags&xfSameTx == 0 {
		d.skipString("transfer tx hash")
	}
	if r.flags&xfBlockHash != 0 {
		d.skipString("transfer block hash")
	}
	if r.flags&xfTime != 0 {
		d.uvarint("transfer timestamp")
	}
	d.skipString("transfer position")
	if d.byte("kind") == kindRaw {
		d.skipString("kind")
	}
	from = d.from()
	to = d.string("transfer to")
	return from, to, d.err
}

// from decodes a transfer's From.
func (d *decoder) from() []string {
	n := d.uvarint("transfer from")
	if n == 0 || d.err != nil {
		return nil
	}
	if n-1 > uint64(len(d.b)) { // every entry takes at least 2 bytes
		d.fail("transfer from")
		return nil
	}
	from := make([]string, n-1)
	for i := range from {
		from[i] = d.string("transfer from")
	}
	return from
}

// txsReader reads a Txs value record by record; a look-up by index steps
// over the heads of the records before it (a block has a few hundred
// transactions at most, and TxByHash reads one).
type txsReader struct {
	num  uint64
	d    decoder
	left uint64

	started bool
	idx     uint32
	body    []byte
}

// reset starts reading v, the Txs value of block num.
func (r *txsReader) reset(v []byte, num uint64) error {
	*r = txsReader{num: num, d: decoder{b: v}}
	r.d.version("txs")
	r.left = r.d.uvarint("tx count")
	if r.d.err == nil && r.left > uint64(len(r.d.b))/2 { // a record takes 2 bytes at least
		r.d.fail("tx count")
	}
	if r.left == 0 {
		r.d.finish("txs")
	}
	return r.d.err
}

// count is the number of transactions in the value reset to.
func (r *txsReader) count() uint64 { return r.left }

// next loads the next record's head; false at the end or on error.
func (r *txsReader) next() bool {
	if r.left == 0 || r.d.err != nil {
		return false
	}
	idx := r.d.uvarint("tx index")
	body := r.d.bytes(r.d.uvarint("tx length"), "tx")
	if r.d.err != nil {
		return false
	}
	if idx > math.MaxUint32 || r.started && uint32(idx) <= r.idx {
		r.d.fail("tx head")
		return false
	}
	r.started, r.idx, r.body = true, uint32(idx), body
	if r.left--; r.left == 0 {
		r.d.finish("txs")
	}
	return true
}

func (r *txsReader) err() error { return r.d.err }

// decode decodes the current record.
func (r *txsReader) decode() (chains.Tx, error) {
	d := decoder{b: r.body}
	tx := chains.Tx{BlockNumber: r.num, Index: r.idx}
	tx.Hash = d.string("tx hash")
	tx.From = d.string("tx from")
	tx.To = d.string("tx to")
	tx.Created = d.string("tx created")
	tx.Value = d.big("tx value")
	tx.Fee = d.big("tx fee")
	switch d.byte("tx success") {
	case 0:
	case 1:
		tx.Success = true
	default:
		d.fail("tx success")
	}
	if d.err == nil && len(d.b) > 0 {
		n := d.uvarint("tx input count")
		if n == 0 || n > uint64(len(d.b))/4 { // an input takes 4 bytes at least
			d.fail("tx input count")
		}
		if d.err == nil {
			tx.Inputs = make([]chains.Input, n)
			for i := range tx.Inputs {
				in := &tx.Inputs[i]
				in.TxID = d.string("input txid")
				vout := d.uvarint("input vout")
				if vout > math.MaxUint32 {
					d.fail("input vout")
				}
				in.Vout = uint32(vout)
				in.Value = d.big("input value")
				in.Address = d.string("input address")
			}
		}
	}
	return tx, d.finish("tx")
}

// decodeBlock decodes v; num comes from the key.
func decodeBlock(v []byte, num uint64) (chains.Block, error) {
	d := decoder{b: v}
	d.version("block")
	blk := chains.Block{Number: num}
	blk.Hash = d.string("block hash")
	blk.ParentHash = d.string("block parent hash")
	blk.Timestamp = d.uvarint("block timestamp")
	tc := d.uvarint("block tx count")
	if tc > 1<<32-1 {
		d.fail("block tx count")
	}
	blk.TxCount = uint32(tc)
	return blk, d.finish("block")
}
