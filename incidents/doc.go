// Package incidents is chaintrace's catalog of known exchange hacks: public
// facts an investigator would otherwise copy by hand out of FBI notices,
// court filings and the OFAC SDN list, each with the source that states it
// and whether it has been confirmed on chain.
//
// The built-in catalog (catalog.yaml, embedded; Builtin) was compiled only
// from the public material in the shared labels collection
// (incidents-sources.md, the FBI PSA 250226 address list, the Etherscan
// "Upbit Hacker N.M" labels and the OFAC SDN list). A user's local catalog
// file (Load, Parse) of the same shape extends it (Merge): new incidents,
// or new facts about an incident already catalogued.
//
// A fact is a date, an amount, an address or a transaction. Every fact
// names its sources (ids declared in its incident's sources list) and says
// whether it was confirmed on chain. "Confirmed" is only ever set by a
// person or a test that checked it; Check compares the catalogued
// transactions and addresses with a node and reports, per fact, what holds.
//
// Amounts are exact decimal strings in the unit stated (never floats), and
// are compared with the chain at the precision stated: "401346.77 ETH"
// matches any amount that rounds to it at two decimals (see Amount).
//
// The catalog's file format and the commands built on it are described in
// docs/incidents.md.
package incidents
