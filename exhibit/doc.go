// Package exhibit is the chaintrace exhibit: the JSON document, format
// "chaintrace/exhibit/v1", that a trace produces and that is filed in court.
// The format is fixed by CONTRACT.md ("The exhibit"); this package holds its
// Go types, its JSON Schema (exhibit.schema.json, a copy of which is
// docs/exhibit.schema.json), its digest (SHA-256 over the RFC 8785 JSON
// Canonicalization Scheme), and its CSV and Graphviz exports.
//
// # Writing
//
// Write serialises an exhibit as indented JSON with the keys in the fixed
// order of the Go types, byte for byte the same for the same exhibit. Arrays
// are never null: a nil slice is written as []. Seal sets the digest; call it
// after the exhibit is complete and before Write.
//
// # Reading, and the unknown-key policy
//
// Read checks, in this order, that the input is one JSON value without
// duplicate object keys (ErrNotJSON, ErrInvalid), that its "schema" is
// "chaintrace/exhibit/v1" (ErrSchemaVersion), and that it has the shape of
// the Go types (ErrInvalid, naming the JSON pointer): every key is one this
// package knows, spelt exactly; every key is present except the contract's
// "Added keys" (reconciliation) and token_id, which only erc721 rows have;
// every value has the JSON type of its field (amounts strings, block numbers
// integers, no null).
//
// An unknown key is an error rather than something to skip. The digest covers
// every key of the exhibit, so a reader that dropped a key it did not know
// could neither re-serialise nor verify the exhibit it was given, and would
// report a misleading digest mismatch instead. Refusing with the key's name
// tells the reader of a newer exhibit to use a newer chaintrace. Forward
// compatibility comes from the contract's rule that the format only grows:
// a newer tool reads every older exhibit, and a key that changes meaning gets
// a new schema version.
//
// Read does not check the JSON Schema or the digest: Validate and
// VerifyDigest do; ReadVerified does all three.
package exhibit
