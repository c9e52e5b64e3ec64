// Package indexer copies a block range from a chain adapter into the store:
// raw node answers (so nothing is fetched twice), decoded blocks,
// transactions and transfers, and the address index. It is chain-neutral:
// any Source that can fetch and decode raw blocks plugs in.
//
// Work is split into chunks of consecutive blocks. A chunk is marked indexed
// only after all its data is written, so a kill at any moment loses nothing
// that was reported done, and a rerun fetches only the chunks that were not
// marked (the store's Missing ranges).
package indexer
