package exhibit

import "errors"

// Sentinel errors; test with errors.Is. The returned errors carry the detail
// (line and column, JSON pointer, the values compared).
var (
	// ErrNotJSON: the input is not one well-formed JSON value.
	ErrNotJSON = errors.New("not JSON")
	// ErrSchemaVersion: the "schema" key is missing or names another format.
	ErrSchemaVersion = errors.New("unsupported exhibit schema")
	// ErrInvalid: the input is JSON of the right version but does not fit the
	// format (unknown or duplicate key, wrong type, JSON Schema violation).
	ErrInvalid = errors.New("invalid exhibit")
	// ErrDigestMismatch: the recorded digest is not the one computed from the
	// exhibit's content, or is not a SHA-256 digest.
	ErrDigestMismatch = errors.New("exhibit digest mismatch")
)

// kindError is an error with its own message that still matches a sentinel
// under errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func newError(kind error, msg string) error { return &kindError{kind: kind, msg: msg} }
