// Package heuristics holds the inferences chaintrace draws from chain data,
// as opposed to the facts it reads: address clustering (common-input
// ownership over a union-find), change-output detection, CoinJoin detection
// and peel-chain detection.
//
// Every heuristic is a named, versioned unit (Info) that the configuration
// can switch off or tune, and every decision it takes is a Finding carrying
// the transactions that support it and a confidence, so that an exhibit can
// show which rule drew which conclusion and why (DESIGN.md, "Heuristics").
// Renaming a heuristic or changing what it decides means a new Version: old
// exhibits name the version they ran.
//
// The heuristics read transactions through Tx, a chain-neutral view of a
// UTXO transaction with its input values and addresses resolved. FromWire
// builds it from btcd's wire.MsgTx and a prevout lookup; FromChains builds
// it from the index's chains.Tx and transfer rows. What a heuristic needs to
// know beyond the transaction itself (has an address been seen before, who
// spends an output) it asks of a small Chain interface that the caller
// satisfies.
//
// The change, CoinJoin and peel-chain detectors are checked against the
// expectations of BlockSci's tests on its regtest chain (blocksci_test.go);
// docs/heuristics.md lists each heuristic against those cases and says where
// and why chaintrace deliberately differs.
package heuristics
