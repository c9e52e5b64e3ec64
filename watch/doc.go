// Package watch follows new blocks of one chain and alerts the moment funds
// move from (or, optionally, to) watched addresses: thieves' addresses from
// exhibits, address lists, labelled sets such as the OFAC SDN list.
//
// A Watcher polls a Source (EthSource and BtcSource adapt the chain
// adapters). It fetches every block from its start to the node's head and
// remembers the hashes of the blocks it holds; a movement becomes final, and
// is alerted, once Confirmations blocks are on top of its block. Before that
// it is pending: a reorganisation that drops its block drops it too, and no
// alert is ever sent for it. A reorganisation is found by comparing the
// parent hash of each new block, and the hash of the last block held, with
// what the Watcher remembers; it walks back to the fork point and forgets
// what the orphaned blocks held. A reorganisation deeper than Confirmations
// can orphan a block whose movements were already alerted: each such
// movement that the new chain does not hold again gets a retraction alert.
//
// Every movement is alerted once: alerts are keyed by chain, transaction
// hash and position (the transfer row's position: "tx", "call:0.1",
// "log:17", "out:2"), and the keys already alerted are kept in the state
// file together with the next block to finalise and the recent block
// hashes, so a restart neither repeats nor misses an alert. The state is
// saved after each block that produced alerts: a process killed between
// sending a block's alerts and saving may send that block's alerts again
// when restarted (never fewer).
//
// Alerts go to Sinks: a slog line (LogSink), a JSON line (JSONLines) and an
// HTTP POST of the same JSON (Webhook, with a timeout and a few retries). A
// failing sink is logged and never stops the Watcher.
package watch
