package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"

	"github.com/chaintrace/chaintrace/chains"
)

// Value encodings. Each value starts with a one-byte codecVersion; the fields
// that the key already holds (block number, transaction index, ordinal) are
// not repeated. Integers are uvarints; strings and big integers are
// length-prefixed, as below. Every field round-trips exactly, including nil
// versus empty From, nil versus zero amounts, and the letter case of hashes
// and addresses.
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
//	Transfer: version, TxHash, BlockHash, uvarint Timestamp, Position, kind,
//	          uvarint(len(From)+1) (0 for a nil From) + each From, To, Asset,
//	          Amount, TokenID
//	Tx:       version, Hash, From, To, Created, Value, Fee, Success (1 byte)
//	Block:    version, Hash, ParentHash, uvarint Timestamp, uvarint TxCount
const codecVersion byte = 1

const (
	strRaw    byte = 0
	strHex    byte = 1 << 0
	strPrefix byte = 1 << 1
	strMixed  byte = 1 << 2
)

const kindRaw byte = 0

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

// hexNibble returns the value of a hex digit and whether it is one.
func hexNibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendString appends s in the string encoding above.
func appendString(b []byte, s string) []byte {
	body, tag := s, strHex
	if len(s) >= 2 && s[0] == '0' && s[1] == 'x' {
		body, tag = s[2:], strHex|strPrefix
	}
	hexOK := len(body)%2 == 0 && (len(body) > 0 || tag&strPrefix != 0)
	for i := 0; hexOK && i < len(body); i++ {
		c := body[i]
		if _, ok := hexNibble(c); !ok {
			hexOK = false
		} else if 'A' <= c && c <= 'F' {
			tag |= strMixed
		}
	}
	if !hexOK {
		b = append(b, strRaw)
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	n := len(body) / 2
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(n))
	for i := 0; i < n; i++ {
		hi, _ := hexNibble(body[2*i])
		lo, _ := hexNibble(body[2*i+1])
		b = append(b, hi<<4|lo)
	}
	if tag&strMixed != 0 {
		start := len(b)
		b = append(b, make([]byte, (len(body)+7)/8)...)
		for i := 0; i < len(body); i++ {
			if c := body[i]; 'A' <= c && c <= 'F' {
				b[start+i/8] |= 1 << (i % 8)
			}
		}
	}
	return b
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

// encodeTransfer encodes t without BlockNumber, TxIndex and Ordinal, which
// live in its key.
func encodeTransfer(t *chains.Transfer) []byte {
	b := make([]byte, 0, 160+40*len(t.From))
	b = append(b, codecVersion)
	b = appendString(b, t.TxHash)
	b = appendString(b, t.BlockHash)
	b = binary.AppendUvarint(b, t.Timestamp)
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
	b = appendBig(b, t.TokenID)
	return b
}

// encodeTx encodes tx without BlockNumber and Index, which live in its key.
func encodeTx(tx *chains.Tx) []byte {
	b := make([]byte, 0, 128)
	b = append(b, codecVersion)
	b = appendString(b, tx.Hash)
	b = appendString(b, tx.From)
	b = appendString(b, tx.To)
	b = appendString(b, tx.Created)
	b = appendBig(b, tx.Value)
	b = appendBig(b, tx.Fee)
	return appendBool(b, tx.Success)
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

// transferMemo caches the fields that repeat between neighbouring
// transfers of a scan. The zero value is ready; nil disables caching.
type transferMemo struct{ txHash, blockHash, asset strMemo }

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

// decodeTransfer decodes v into t; num, idx and ord come from the key. m,
// if not nil, caches strings repeated between calls.
func decodeTransfer(v []byte, num uint64, idx, ord uint32, t *chains.Transfer, m *transferMemo) error {
	d := decoder{b: v}
	d.version("transfer")
	t.BlockNumber, t.TxIndex, t.Ordinal = num, idx, ord
	var txHash, blockHash, asset *strMemo
	if m != nil {
		txHash, blockHash, asset = &m.txHash, &m.blockHash, &m.asset
	}
	t.TxHash = d.memoString(txHash, "transfer tx hash")
	t.BlockHash = d.memoString(blockHash, "transfer block hash")
	t.Timestamp = d.uvarint("transfer timestamp")
	t.Position = d.string("transfer position")
	t.Kind = d.kind()
	t.From = nil
	if n := d.uvarint("transfer from"); n > 0 && d.err == nil {
		if n-1 > uint64(len(d.b)) { // every entry takes at least 2 bytes
			d.fail("transfer from")
		} else {
			t.From = make([]string, n-1)
			for i := range t.From {
				t.From[i] = d.string("transfer from")
			}
		}
	}
	t.To = d.string("transfer to")
	t.Asset = d.memoString(asset, "transfer asset")
	t.Amount = d.big("transfer amount")
	t.TokenID = d.big("transfer token id")
	return d.finish("transfer")
}

// decodeTx decodes v; num and idx come from the key.
func decodeTx(v []byte, num uint64, idx uint32) (chains.Tx, error) {
	d := decoder{b: v}
	d.version("tx")
	tx := chains.Tx{BlockNumber: num, Index: idx}
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
