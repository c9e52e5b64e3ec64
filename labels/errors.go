package labels

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error produced while reading a label file (a
// *ParseError) matches ErrMalformed with errors.Is, so a CLI can map
// "bad label input" to exit code 2 with a single check; the more specific
// sentinels below tell the kinds apart.
var (
	// ErrMalformed is matched by every error about the content of a label
	// file (bad YAML/CSV syntax, bad address, unknown chain, ...).
	ErrMalformed = errors.New("malformed label file")
	// ErrUnknownFormat: the file is none of the formats Load recognises.
	ErrUnknownFormat = errors.New("unknown label file format")
	// ErrUnsupportedFormat: the format was recognised but no loader is
	// registered for it (see Register).
	ErrUnsupportedFormat = errors.New("label file format has no loader")
	// ErrMissingAddress: a tag or row has no (or an empty) address.
	ErrMissingAddress = errors.New("missing address")
	// ErrMissingLabel: a tag or row has no (or an empty) label.
	ErrMissingLabel = errors.New("missing label")
	// ErrBadAddress: an address is not valid for its chain (eth: not 0x+40 hex).
	ErrBadAddress = errors.New("invalid address")
	// ErrBadChecksum: a mixed-case eth address whose EIP-55 checksum is wrong.
	ErrBadChecksum = errors.New("invalid EIP-55 checksum")
	// ErrFieldCount: a CSV row with a number of fields different from the header's.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrUnknownChain: a chain/currency/network that chaintrace does not know.
	ErrUnknownChain = errors.New("unknown chain")
	// ErrBadHeader: a CSV header or TagPack header that cannot be used.
	ErrBadHeader = errors.New("bad header")
	// ErrSetConflict: two different label sets with the same name were
	// added to one Index.
	ErrSetConflict = errors.New("conflicting label sets")
)

// ParseError is the error returned for bad label file content. Its message
// is a single line: "FILE:LINE: reason" (or "FILE: reason" when no line
// applies, e.g. a corrupt compressed stream).
type ParseError struct {
	File   string // path as given to Load (or name given to Parse)
	Line   int    // 1-based line number; 0 when not applicable
	Reason string // human readable, single line
	Kind   error  // one of the sentinels above (ErrMalformed if none fits)
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// Unwrap makes errors.Is match both the specific kind and ErrMalformed.
func (e *ParseError) Unwrap() []error {
	if e.Kind == nil || e.Kind == ErrMalformed {
		return []error{ErrMalformed}
	}
	return []error{e.Kind, ErrMalformed}
}

// oneLine folds any line breaks so that an error stays on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}

func perr(file string, line int, kind error, format string, args ...any) *ParseError {
	return &ParseError{File: file, Line: line, Reason: oneLine(fmt.Sprintf(format, args...)), Kind: kind}
}
