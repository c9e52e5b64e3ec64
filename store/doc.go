// Package store is chaintrace's on-disk database: one Badger v4 key-value
// store per working directory.
//
// Why a local store: a trace walks the same blocks again and again (every
// hop re-reads the transfers of the addresses it reaches), and node RPC is
// slow, rate-limited and sometimes paid for. So chaintrace fetches each
// node response once (the raw cache: PutRaw, GetRaw), turns each block
// into the chain-neutral model once (WriteBlocks) and from then on answers
// every question from local prefix scans: transfers of a block window in
// exhibit order (Transfers), of one transaction (TxTransfers), of one
// address (AddressTransfers, through an address index), transactions by
// block or hash, and which blocks are done (MarkIndexed, Missing), so an
// interrupted run resumes where it stopped and a rerun fetches nothing.
//
// Why Badger: it is pure Go (no cgo, one static binary), its LSM tree keeps
// keys sorted so the schema's big-endian keys make every query a bounded
// prefix scan, and its WriteBatch writes tens of thousands of index entries
// at bulk speed.
//
// Why a fixed network per chain: the index of mainnet and of a testnet must
// never mix in one store, since block numbers and hashes would collide
// silently; BindNetwork records the first network and refuses any other.
//
// The key layout is entirely in schema.go and the value encoding in
// codec.go; a change to either that old stores cannot read must bump
// schemaVersion.
package store
