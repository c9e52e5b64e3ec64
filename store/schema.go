package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
)

// This file is the whole on-disk key layout of the store. Every key starts
// with a one-byte prefix naming its table; numbers are big-endian so that
// Badger's byte order is numeric order. Values are encoded by codec.go.
//
// Notation: "+" concatenates, chain is one byte (see chainByte), num is a
// block number as uint64 BE, idx a transaction index as uint32 BE, ord a
// transfer ordinal as uint32 BE.

// schemaVersion is bumped whenever a key layout or value encoding changes
// incompatibly. Open refuses a store written under another version.
const schemaVersion = 1

const (
	// prefixVersion: "v" -> uvarint(schemaVersion)
	prefixVersion byte = 'v'

	// prefixMeta: "m" + key (UTF-8, rest of key) -> caller's bytes
	prefixMeta byte = 'm'

	// prefixNetwork: "n" + chain -> network name (UTF-8)
	prefixNetwork byte = 'n'

	// prefixRaw: "r" + chain + kind (RawKind) + key (caller's bytes, rest of key) -> node response bytes
	prefixRaw byte = 'r'

	// prefixBlock: "b" + chain + num -> encodeBlock
	prefixBlock byte = 'b'

	// prefixTx: "x" + chain + num + idx -> encodeTx
	prefixTx byte = 'x'

	// prefixTxHash: "h" + chain + form (1) + hash (rest of key) -> num + idx
	// form is hashFormHex (hash is the hex string decoded, "0x" dropped, case
	// ignored) or hashFormRaw (hash is the string's bytes as they are).
	prefixTxHash byte = 'h'

	// prefixTransfer: "t" + chain + num + idx + ord -> encodeTransfer
	// The primary copy of every transfer; key order is exhibit order.
	prefixTransfer byte = 't'

	// prefixAddr: "a" + chain + dir (1) + addrLen (1) + addrKey + num + idx + ord -> empty
	// The address index. dir is addrDirIn (addrKey is Transfer.To) or
	// addrDirOut (addrKey is one of Transfer.From); the suffix num+idx+ord is
	// the primary key of the transfer after its prefix and chain. addrKey is
	// canonAddr's output: 20 raw bytes for a well-formed eth address, else
	// the address's bytes; when those exceed maxAddrKey bytes, addrLen is
	// addrLenHashed and addrKey is their SHA-256 (32 bytes).
	prefixAddr byte = 'a'

	// prefixIndexed: "i" + chain + from (uint64 BE) -> to (uint64 BE)
	// The ranges of blocks fully indexed, inclusive, kept disjoint and
	// non-adjacent by MarkIndexed.
	prefixIndexed byte = 'i'
)

// Chain bytes: the second byte of every per-chain key.
const (
	chainETH byte = 1
	chainBTC byte = 2
)

// Address-index direction bytes.
const (
	addrDirIn  byte = 1 // the address received: Transfer.To
	addrDirOut byte = 2 // the address sent: one of Transfer.From
)

// Transaction-hash key forms.
const (
	hashFormRaw byte = 0
	hashFormHex byte = 1
)

const (
	maxAddrKey    = 254  // longest address key stored as is
	addrLenHashed = 0xff // addrLen marking a SHA-256 of a longer address
	suffixLen     = 16   // num + idx + ord
)

// chainByte maps a chain to its key byte.
func chainByte(c chains.Chain) (byte, error) {
	switch c {
	case chains.ETH:
		return chainETH, nil
	case chains.BTC:
		return chainBTC, nil
	}
	return 0, fmt.Errorf("chain %q: %w", c, ErrUnknownChain)
}

func chainPrefix(p, c byte) []byte { return []byte{p, c} }

func versionKey() []byte { return []byte{prefixVersion} }

func metaKey(key string) []byte { return append([]byte{prefixMeta}, key...) }

func networkKey(c byte) []byte { return []byte{prefixNetwork, c} }

func rawKey(c byte, kind RawKind, key []byte) []byte {
	k := make([]byte, 0, 3+len(key))
	k = append(k, prefixRaw, c, byte(kind))
	return append(k, key...)
}

func blockKey(c byte, num uint64) []byte {
	k := make([]byte, 10)
	k[0], k[1] = prefixBlock, c
	binary.BigEndian.PutUint64(k[2:], num)
	return k
}

// txBlockPrefix is the prefix of all transaction keys of one block.
func txBlockPrefix(c byte, num uint64) []byte {
	k := make([]byte, 10, 14)
	k[0], k[1] = prefixTx, c
	binary.BigEndian.PutUint64(k[2:], num)
	return k
}

func txKey(c byte, num uint64, idx uint32) []byte {
	return binary.BigEndian.AppendUint32(txBlockPrefix(c, num), idx)
}

// txLoc is the value of a transaction-hash key: num + idx.
func txLoc(num uint64, idx uint32) []byte {
	v := make([]byte, 12)
	binary.BigEndian.PutUint64(v, num)
	binary.BigEndian.PutUint32(v[8:], idx)
	return v
}

func txHashKey(c byte, hash string) []byte {
	k := []byte{prefixTxHash, c}
	h := strings.TrimPrefix(strings.TrimPrefix(hash, "0x"), "0X")
	if len(h) > 0 && len(h)%2 == 0 {
		if b, err := hex.DecodeString(h); err == nil {
			return append(append(k, hashFormHex), b...)
		}
	}
	return append(append(k, hashFormRaw), hash...)
}

// transferBlockPrefix is the prefix of all transfer keys of one block.
func transferBlockPrefix(c byte, num uint64) []byte {
	k := make([]byte, 10, 2+suffixLen)
	k[0], k[1] = prefixTransfer, c
	binary.BigEndian.PutUint64(k[2:], num)
	return k
}

func transferTxPrefix(c byte, num uint64, idx uint32) []byte {
	return binary.BigEndian.AppendUint32(transferBlockPrefix(c, num), idx)
}

func transferKey(c byte, num uint64, idx, ord uint32) []byte {
	return binary.BigEndian.AppendUint32(transferTxPrefix(c, num, idx), ord)
}

// transferKeyFromSuffix rebuilds a primary transfer key from the trailing
// num + idx + ord of an address-index key.
func transferKeyFromSuffix(c byte, suffix []byte) []byte {
	k := make([]byte, 0, 2+suffixLen)
	k = append(k, prefixTransfer, c)
	return append(k, suffix...)
}

// splitSuffix reads num, idx and ord from the last 16 bytes of a key.
func splitSuffix(key []byte) (num uint64, idx, ord uint32) {
	s := key[len(key)-suffixLen:]
	return binary.BigEndian.Uint64(s), binary.BigEndian.Uint32(s[8:]), binary.BigEndian.Uint32(s[12:])
}

// canonAddr is the address-index form of an address: for eth, the 20 bytes
// of a well-formed hex address (case ignored), else the lower-cased string;
// for btc the string as it is (base58 is case-sensitive). nil for "".
func canonAddr(c byte, addr string) []byte {
	if addr == "" {
		return nil
	}
	if c == chainETH {
		a := strings.ToLower(addr)
		if len(a) == 42 && a[:2] == "0x" {
			if b, err := hex.DecodeString(a[2:]); err == nil {
				return b
			}
		}
		return []byte(a)
	}
	return []byte(addr)
}

// addrPrefix is the prefix of one address's entries in one direction.
func addrPrefix(c, dir byte, canon []byte) []byte {
	if len(canon) > maxAddrKey {
		sum := sha256.Sum256(canon)
		k := make([]byte, 0, 4+len(sum)+suffixLen)
		k = append(k, prefixAddr, c, dir, addrLenHashed)
		return append(k, sum[:]...)
	}
	k := make([]byte, 0, 4+len(canon)+suffixLen)
	k = append(k, prefixAddr, c, dir, byte(len(canon)))
	return append(k, canon...)
}

func addrKey(c, dir byte, canon []byte, num uint64, idx, ord uint32) []byte {
	k := addrPrefix(c, dir, canon)
	k = binary.BigEndian.AppendUint64(k, num)
	k = binary.BigEndian.AppendUint32(k, idx)
	return binary.BigEndian.AppendUint32(k, ord)
}

func indexedKey(c byte, from uint64) []byte {
	k := make([]byte, 10)
	k[0], k[1] = prefixIndexed, c
	binary.BigEndian.PutUint64(k[2:], from)
	return k
}
