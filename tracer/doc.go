// Package tracer follows funds forward from seed addresses over the
// transfers of the store, under a named taint model, until they reach
// labelled services (exchanges, mixers, bridges) or the hop limit.
//
// The walk is one event loop in chain order (block, transaction, position
// inside the transaction). An address joins the walk at the moment tainted
// value first reaches it, and only its events after that moment are read,
// so funds are never followed backwards in time: a transfer out of an
// address before the taint arrived carries none.
//
// Account chains keep, per address and asset, a ledger: the real balance
// (opening balance from the node at the block before the address joined,
// plus every transfer in and out and every fee it paid since) and the taint
// model's state. A model never lets the tainted part exceed the balance
// (the lowest intermediate balance rule): value that leaves an address
// takes taint with it, and later clean deposits do not restore it.
//
// Seeds are the thief's own addresses: their balance at the start of the
// window and everything they receive in it count as tainted.
//
// TraceBack runs the other way, from addresses to be explained (an exchange
// deposit address, a suspect's wallet) to the sources of their funds. It
// first finds the transfers that can have paid for what the targets
// received, hop by hop back, each address's inflows only up to its last
// payment into what was already found, stopping at labelled addresses (the
// sources); then it runs the forward walk from the sources, one colour each,
// confined to those transfers (Config.Within). What reaches a target of
// each colour, under each model, is the share of its receipts that source
// accounts for; the rest is unattributed.
package tracer
