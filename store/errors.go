package store

import "errors"

// Sentinel errors. The store wraps them with %w and context (the store
// directory, the chain, the block), so test for them with errors.Is.
//
// Look-ups of something that is simply absent (a block, a transaction, a
// raw response, a meta key) do not return ErrNotFound: they report it with
// their ok result, because absence is the normal case for a cache.
var (
	// ErrNotFound: something the store needs is not there, e.g. the
	// directory of a store opened read-only.
	ErrNotFound = errors.New("not found")

	// ErrLocked: the store's directory is held by another open Store, in
	// this process or another one (Badger's directory lock).
	ErrLocked = errors.New("store directory locked")

	// ErrNetworkMismatch: BindNetwork was asked to bind a chain to a network
	// other than the one the store already serves for it.
	ErrNetworkMismatch = errors.New("network mismatch")

	// ErrUnknownChain: a chain without a key byte in schema.go.
	ErrUnknownChain = errors.New("unknown chain")

	// ErrInvalidArgument: a bad argument: a range with from > to, an unknown
	// Direction or RawKind, an empty network name or address.
	ErrInvalidArgument = errors.New("invalid argument")

	// ErrInvalidBlock: WriteBlocks was given an inconsistent block: a
	// transaction or transfer whose block number is not the block's, or two
	// transactions or transfers with the same key.
	ErrInvalidBlock = errors.New("invalid block")

	// ErrCorrupt: a stored value could not be decoded, or an index entry
	// points at nothing.
	ErrCorrupt = errors.New("corrupt store")

	// ErrReadOnly: a write to a store opened with Options.ReadOnly.
	ErrReadOnly = errors.New("store is read-only")

	// ErrSchemaVersion: the store was written by a chaintrace with another
	// on-disk layout (see schemaVersion).
	ErrSchemaVersion = errors.New("unsupported store schema version")
)
