package ethereum

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNodeUnavailable means the node could not be reached, or kept
	// failing, after the configured retries.
	ErrNodeUnavailable = errors.New("node unavailable")
	// ErrNoTraceAPI means the endpoint answers none of the trace namespaces,
	// so internal transfers cannot be read (see --no-internal).
	ErrNoTraceAPI = errors.New("node answers no trace API (debug_traceBlockByNumber, trace_block, debug_traceTransaction, trace_transaction)")
	// ErrBeyondHead means a block past the node's head was asked for.
	ErrBeyondHead = errors.New("block beyond the node's head")
	// ErrInconsistent means the node's answers do not fit together (a
	// receipt or trace for another transaction, a missing block).
	ErrInconsistent = errors.New("inconsistent node data")
	// ErrIncompleteTrace means a trace leaves out where value went.
	ErrIncompleteTrace = errors.New("incomplete trace")
)

// RPCError is an error object returned by the node.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// methodMissing reports whether an error says the method does not exist or
// its namespace is not enabled. Clients word this differently: geth and
// Erigon return -32601; some providers return -32000/-32004 with text.
func methodMissing(err error) bool {
	var re *RPCError
	if !errors.As(err, &re) {
		return false
	}
	if re.Code == -32601 || re.Code == -32004 {
		return true
	}
	m := strings.ToLower(re.Message)
	for _, s := range []string{"does not exist", "not available", "not supported", "unsupported method", "method not found", "not allowed", "disabled", "unknown method"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
