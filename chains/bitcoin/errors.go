package bitcoin

import "errors"

var (
	// ErrInconsistent means the node's answers do not fit together (a
	// block of another height, an output index out of order, a fee the
	// node states that differs from the one computed).
	ErrInconsistent = errors.New("inconsistent node data")
	// ErrMissingPrevout means the value and address of an output that an
	// input spends are known neither from the block nor from the
	// PrevoutSource.
	ErrMissingPrevout = errors.New("spent output unknown")
	// ErrBadAmount means an amount is not an exact number of satoshi in
	// the range of valid amounts.
	ErrBadAmount = errors.New("bad amount")
	// ErrBadAddress means an address string does not parse.
	ErrBadAddress = errors.New("invalid address")
	// ErrWrongNetwork means an address belongs to another network than
	// the one the node serves.
	ErrWrongNetwork = errors.New("address of another network")
	// ErrBadOutpoint means a "txid:vout" string does not parse.
	ErrBadOutpoint = errors.New("invalid outpoint")
)
