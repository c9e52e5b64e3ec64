// Package taint holds the arithmetic of the five taint models of DESIGN.md
// (poison, haircut, FIFO, LIFO, TIHO) for both chain models: a utxo
// transaction's tape (SplitTx) and an account's per-asset ledger (Ledger).
//
// All amounts are exact integers in base units (*big.Int). Taint has
// colours, one per group of seeds (one theft each), kept apart in the
// arithmetic: a coin, transfer or fee carries a tainted amount per colour,
// and the sum over colours never exceeds its value (poison excepted, whose
// colours each mark the whole value; its total is the value once any colour
// is present).
//
// # Rounding
//
// Only haircut divides. On a utxo transaction every output takes
// floor(value * T_c / V) of each colour c, T_c being the inputs' taint of
// that colour and V their value. What flooring leaves over (less than one
// base unit per output and colour) goes to the fee, up to the fee's value,
// then to the outputs from the largest (the earlier of equal ones), never
// past an output's value; colours are served in order. So every colour
// reconciles to the base unit: T_c = sum of the outputs' taint + the fee's.
// On an account ledger each outflow takes floor(amount * T_c / balance) and
// the remainder stays with the address, which keeps it for later outflows;
// only where that would leave the address more taint than balance (several
// colours each rounding down) does the excess leave with the outflow.
//
// # The tape
//
// FIFO and LIFO lay value end to end. On a utxo transaction the tape is the
// inputs in serialised order (LIFO: reversed); each input is read from its
// own start, in the layout (Segs) its own creation gave it; the outputs take
// the next slices in order and the fee the last. On an account the ledger
// keeps each credit as a lot, laid out the same way; FIFO takes from the
// oldest lot, LIFO from the newest, each lot from its start. A sender's
// outflows of one asset in one transaction, and its fee last, are debited
// as one group, the account's tape for that transaction.
//
// TIHO (taint in, highest out) gives the tainted value to the largest
// outflows first (the earlier of equal ones), the fee last; colours are
// served in order.
package taint
