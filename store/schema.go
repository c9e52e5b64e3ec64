package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
)

// This file is the whole on-disk key layout of the store. Every key starts
// with a one-byte prefix naming its table; numbers are big-endian so that
// Badger's byte order is numeric order. Values are encoded by codec.go.
//
// Notation: "+" concatenates, chain is one byte (see chainByte), num is a
// block number as uint64 BE, idx a transaction index as uint32 BE.
// Transactions and transfers are not keyed one by one: each block has one
// value holding all its transactions and one holding all its transfers,
// and the address index has one entry per address and block. Badger's
// memtable costs CPU per key written, so a block costs about 3 + (its
// transactions) + (the addresses it involves) keys.

// schemaVersion is bumped whenever a key layout or value encoding changes
// incompatibly. Open refuses a store written under another version.
//
// Version 2 groups each block's transfers into one value and its
// transactions into another, and keys the address index by address and
// block rather than by address and transfer: the benchmark's block of 25
// transactions and 75 transfers takes 166 keys where version 1 wrote 276,
// and the memtable's cost grows with the number of keys.
const schemaVersion = 3

const (
	// prefixVersion: "v" -> uvarint(schemaVersion)
	prefixVersion byte = 'v'

	// prefixMeta: "m" + key (UTF-8, rest of key) -> caller's bytes
	prefixMeta byte = 'm'

	// prefixNetwork: "n" + chain -> network name (UTF-8)
	prefixNetwork byte = 'n'

	// prefixRaw: "r" + chain + kind (RawKind) + key (caller's bytes, rest of key) -> node response bytes
	//   kinds: 1 block, 2 receipts, 3 traces (Ethereum), 4 prevtxs (Bitcoin:
	//   JSON array of getrawtransaction verbose results of the transactions
	//   a block spends from, for nodes whose getblock lacks prevouts),
	//   5 explorer-tx, 6 explorer-txids, 7 explorer-outspends (an explorer
	//   API's answers: Esplora's /tx/:id, /block/:hash/txids, and
	//   /tx/:id/outspends once all are spent)
	prefixRaw byte = 'r'

	// prefixBlock: "b" + chain + num -> encodeBlock
	prefixBlock byte = 'b'

	// prefixTx: "x" + chain + num -> encodeTxs
	// Every transaction of the block, by index; no key for a block without
	// transactions.
	prefixTx byte = 'x'

	// prefixTxHash: "h" + chain + form (1) + hash (rest of key) -> num + idx
	// form is hashFormHex (hash is the hex string decoded, "0x" dropped, case
	// ignored) or hashFormRaw (hash is the string's bytes as they are).
	prefixTxHash byte = 'h'

	// prefixTransfer: "t" + chain + num -> encodeTransfers
	// The primary copy of every transfer of the block, in exhibit order
	// (idx, ord); no key for a block without transfers. Key order, then
	// order in the value, is exhibit order.
	prefixTransfer byte = 't'

	// prefixAddr: "a" + chain + addrLen (1) + addrKey + num -> AddrRefs (appendAddrRef)
	// The address index: one entry per address and block, listing (idx,
	// ord, dir) of each transfer of the block that involves the address, in
	// exhibit order. dir has addrDirIn if addrKey is Transfer.To and
	// addrDirOut if it is one of Transfer.From (both for a self-transfer).
	// A ref with dir addrDirSent and ord sentSentinel says the address sent
	// transaction idx (it paid the fee), whether or not value moved.
	// addrKey is canonAddr's output: 20 raw bytes for a well-formed eth
	// address, else the address's bytes; when those exceed maxAddrKey bytes,
	// addrLen is addrLenHashed and addrKey is their SHA-256 (32 bytes).
	prefixAddr byte = 'a'

	// prefixSpent: "s" + chain + txid (32 bytes, display byte order) + vout (uint32 BE) -> num + idx + input (uint32 BE)
	// The spent-by index of a utxo chain: which input of which transaction
	// spends an output. Written from chains.Tx.Inputs; a txid that is not
	// 64 hex digits is keyed by its bytes as they are.
	prefixSpent byte = 's'

	// prefixIndexed: "i" + chain + from (uint64 BE) -> to (uint64 BE)
	// The ranges of blocks fully indexed, inclusive, kept disjoint and
	// non-adjacent by MarkIndexed.
	prefixIndexed byte = 'i'

	// prefixCluster: "c" + chain + part (1) + ... -> the saved multi-input
	// clustering run, one per chain (clusters.go). New in schema 3 without
	// a bump: older stores simply have none.
	//   part clusterPartHead: "c" + chain + 0 -> encodeClusterHead
	//     The run's window, parameters, window fingerprint, counts, and the
	//     generation and number of its chunks. Written last, in its own
	//     transaction, after its chunks are synced: a run is complete
	//     exactly when a head names it.
	//   part clusterPartMerges: "c" + chain + 1 + gen (uint64 BE) + chunk (uint32 BE) -> count + (txid, a, b)...
	//     The merge log, clusterChunk merges per value, in the order applied.
	//   part clusterPartHeld: "c" + chain + 2 + gen + chunk -> count + (txid, a, b, uvarint sizeA, uvarint sizeB)...
	//     The merges held for review, in the order met.
	// Chunks of a generation no head names are what an interrupted save
	// or a replaced run left; the next save deletes them.
	prefixCluster byte = 'c'

	// prefixClusterDecision: "d" + chain + SHA-256(txid, a, b) (32 bytes) -> encodeDecision
	// A review decision on a held merge (accepted or rejected, reason,
	// time, and the txid and addresses hashed in the key; see
	// decisionHash). Keyed by what the merge joins, not by its place in a
	// run, so it holds for every later run that holds the same merge.
	prefixClusterDecision byte = 'd'
)

// Parts of a clustering run (prefixCluster).
const (
	clusterPartHead   byte = 0
	clusterPartMerges byte = 1
	clusterPartHeld   byte = 2

	clusterChunkKeyLen = 3 + 8 + 4 // prefix + chain + part, gen, chunk
)

// Chain bytes: the second byte of every per-chain key.
const (
	chainETH byte = 1
	chainBTC byte = 2
)

// Address-index direction bits (the same bits as Direction's In and Out).
const (
	addrDirIn   byte = 1 // the address received: Transfer.To
	addrDirOut  byte = 2 // the address sent: one of Transfer.From
	addrDirSent byte = 4 // the address sent transaction idx: Tx.From

	// sentSentinel is the ord of a sent-transaction ref: after every
	// transfer of the transaction, so refs stay in (idx, ord) order.
	sentSentinel uint32 = 1<<32 - 1
)

// Transaction-hash key forms.
const (
	hashFormRaw byte = 0
	hashFormHex byte = 1
)

const (
	maxAddrKey    = 254  // longest address key stored as is
	addrLenHashed = 0xff // addrLen marking a SHA-256 of a longer address
	blockKeyLen   = 10   // prefix + chain + num
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

// numKey is the key of block num in the per-block table p.
func numKey(p, c byte, num uint64) []byte {
	k := make([]byte, blockKeyLen)
	k[0], k[1] = p, c
	binary.BigEndian.PutUint64(k[2:], num)
	return k
}

func blockKey(c byte, num uint64) []byte { return numKey(prefixBlock, c, num) }

func txsKey(c byte, num uint64) []byte { return numKey(prefixTx, c, num) }

func transfersKey(c byte, num uint64) []byte { return numKey(prefixTransfer, c, num) }

// keyNum reads num from a per-block key (numKey), or reports it malformed.
func keyNum(k []byte) (uint64, bool) {
	if len(k) != blockKeyLen {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[2:]), true
}

// txLoc is the value of a transaction-hash key: num + idx.
func txLoc(num uint64, idx uint32) []byte {
	v := make([]byte, 12)
	binary.BigEndian.PutUint64(v, num)
	binary.BigEndian.PutUint32(v[8:], idx)
	return v
}

func txHashKey(c byte, hash string) []byte {
	h := strings.TrimPrefix(strings.TrimPrefix(hash, "0x"), "0X")
	if len(h) > 0 && len(h)%2 == 0 {
		k := make([]byte, 3+len(h)/2)
		k[0], k[1], k[2] = prefixTxHash, c, hashFormHex
		if _, err := hex.Decode(k[3:], []byte(h)); err == nil {
			return k
		}
	}
	k := make([]byte, 0, 3+len(hash))
	k = append(k, prefixTxHash, c, hashFormRaw)
	return append(k, hash...)
}

// canonAddr is the address-index form of an address: for eth, the 20 bytes
// of a well-formed hex address (case ignored), else the lower-cased string;
// for btc the string as it is (base58 is case-sensitive). nil for "".
func canonAddr(c byte, addr string) []byte { return appendCanon(nil, c, addr) }

// appendCanon appends canonAddr(c, addr) to b.
func appendCanon(b []byte, c byte, addr string) []byte {
	if addr == "" {
		return b
	}
	if c != chainETH {
		return append(b, addr...)
	}
	if len(addr) == 42 && addr[0] == '0' && (addr[1] == 'x' || addr[1] == 'X') {
		start := len(b)
		b = slices.Grow(b, 20)[:start+20]
		var seen byte // every digit's flags
		for i := 0; i < 20; i++ {
			hi, lo := unhex[addr[2+2*i]], unhex[addr[3+2*i]]
			seen |= hi | lo
			b[start+i] = hi<<4 | lo&0xf
		}
		if seen&hexBad == 0 {
			return b
		}
		b = b[:start]
	}
	return append(b, strings.ToLower(addr)...)
}

// appendAddrPrefix appends the prefix of one address's index entries.
func appendAddrPrefix(b []byte, c byte, canon []byte) []byte {
	if len(canon) > maxAddrKey {
		sum := sha256.Sum256(canon)
		b = append(b, prefixAddr, c, addrLenHashed)
		return append(b, sum[:]...)
	}
	b = append(b, prefixAddr, c, byte(len(canon)))
	return append(b, canon...)
}

// addrPrefix is the prefix of one address's index entries.
func addrPrefix(c byte, canon []byte) []byte {
	return appendAddrPrefix(make([]byte, 0, 3+min(len(canon), 32)+8), c, canon)
}

// appendAddrKey appends the key of one address's entry for block num.
func appendAddrKey(b []byte, c byte, canon []byte, num uint64) []byte {
	return binary.BigEndian.AppendUint64(appendAddrPrefix(b, c, canon), num)
}

func addrKey(c byte, canon []byte, num uint64) []byte { return appendAddrKey(nil, c, canon, num) }

// spentKey is the spent-by key of output txid:vout.
func spentKey(c byte, txid string, vout uint32) []byte {
	k := make([]byte, 2, 2+32+4)
	k[0], k[1] = prefixSpent, c
	if len(txid) == 64 {
		var raw [32]byte
		if _, err := hex.Decode(raw[:], []byte(strings.ToLower(txid))); err == nil {
			k = append(k, raw[:]...)
			return binary.BigEndian.AppendUint32(k, vout)
		}
	}
	k = append(k, txid...)
	return binary.BigEndian.AppendUint32(k, vout)
}

// spentVal is the value of a spent-by key.
func spentVal(num uint64, idx, input uint32) []byte {
	return binary.BigEndian.AppendUint32(txLoc(num, idx), input)
}

func indexedKey(c byte, from uint64) []byte {
	k := make([]byte, 10)
	k[0], k[1] = prefixIndexed, c
	binary.BigEndian.PutUint64(k[2:], from)
	return k
}

func clusterHeadKey(c byte) []byte { return []byte{prefixCluster, c, clusterPartHead} }

// clusterChunkKey is the key of chunk i of a run's part under generation gen.
func clusterChunkKey(c, part byte, gen uint64, i uint32) []byte {
	k := make([]byte, 3, clusterChunkKeyLen)
	k[0], k[1], k[2] = prefixCluster, c, part
	k = binary.BigEndian.AppendUint64(k, gen)
	return binary.BigEndian.AppendUint32(k, i)
}

// decisionKey is the key of the review decision on the held merge of txid
// joining a and b.
func decisionKey(c byte, txid, a, b string) []byte {
	h := decisionHash(txid, a, b)
	return append([]byte{prefixClusterDecision, c}, h[:]...)
}
