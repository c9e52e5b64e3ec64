// Package ethereum reads Ethereum (and other EVM chains) from a JSON-RPC node
// and turns what it returns into chains.Transfer rows.
//
// Value moves on Ethereum in three places: the top-level value of a
// transaction, call frames inside it (the Ronin and Bybit drains were
// value-0 transactions whose money moved in internal calls), and token
// Transfer logs. Reading all three exactly needs blocks, receipts (status,
// fees, logs) and call traces, so the adapter detects per endpoint which of
// eth_getBlockReceipts, debug_traceBlockByNumber (callTracer), Parity
// trace_block and per-transaction tracing answer, and uses the cheapest.
//
// Rules that decide what is a transfer (CONTRACT.md, DESIGN.md):
//   - a failed transaction moves no value (its fee is still paid);
//   - a frame that reverted, or whose ancestor reverted, moved nothing: nodes
//     mark only the root of a reverted subtree, so the mark is propagated;
//   - DELEGATECALL and CALLCODE frames repeat a value that does not move
//     between the two addresses named, and STATICCALL cannot carry value;
//   - ERC-20 and ERC-721 share the Transfer topic and are told apart by the
//     number of topics.
package ethereum
