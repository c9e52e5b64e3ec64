// Package bitcoin turns Bitcoin blocks into chains.Transfer rows: address
// extraction from output scripts, address and outpoint parsing, and decoding
// of Bitcoin Core's getblock JSON and of wire-format (btcd) blocks. The
// network clients (Bitcoin Core, btcd, Esplora) share this code.
//
// Rules (CONTRACT.md, "What is and is not a transfer row"):
//   - every output with a non-zero value is a row of kind "utxo", asset
//     "BTC", position "out:N" (Ordinal N), amount in satoshi;
//   - from lists the addresses of the transaction's inputs in input order
//     without repeats; a coinbase's outputs have from = [];
//   - the address of a script is its standard address on the network
//     (P2PKH, P2SH, P2WPKH, P2WSH, P2TR); a pay-to-pubkey script is shown as
//     the P2PKH address of its key, as Bitcoin Core's legacy "addresses" and
//     block explorers do; anything else (bare multisig, OP_RETURN carrying
//     value, unknown witness versions, non-standard scripts) is
//     "script:" + the hex SHA-256 of the script;
//   - zero-value outputs (OP_RETURN data carriers and the rare zero-value
//     payment) are not rows: rows with a zero amount are left out.
//
// Input values and addresses are never invented: they come from the block
// itself (getblock verbosity 3, or an output created earlier in the same
// block), from the raw part PartPrevTxs, or from a PrevoutSource the caller
// supplies (a store, getrawtransaction). A missing one is ErrMissingPrevout.
// Amounts are converted from Bitcoin Core's BTC numbers to satoshi from the
// number's decimal text, never through a float.
package bitcoin
