package incidents

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every *Error matches ErrMalformed or ErrConflict with
// errors.Is, so that a CLI can map bad catalog input to exit code 2 with
// one check.
var (
	// ErrMalformed: a catalog file is not valid YAML or not a valid catalog
	// (unknown key, bad id, bad address or hash, a fact without a source,
	// ...).
	ErrMalformed = errors.New("malformed incident catalog")
	// ErrConflict: two catalogs state different things about one fact
	// (Merge).
	ErrConflict = errors.New("conflicting incident facts")
	// ErrUnknownIncident: no incident of that id in the catalog.
	ErrUnknownIncident = errors.New("unknown incident")
)

// Problem is one thing wrong with a catalog file, at a line.
type Problem struct {
	File string // the file as named to Load / Parse ("incidents/catalog.yaml" for the built-in one)
	Line int    // 1-based; 0 when no line applies
	Msg  string // one line
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Error is every problem found in a catalog (Parse names them all, not only
// the first), or the conflicts found by Merge. Its message is one line.
type Error struct {
	Problems []Problem
	Kind     error // ErrMalformed or ErrConflict
}

func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return e.Kind.Error()
	}
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	rest := make([]string, 0, len(e.Problems)-1)
	for _, p := range e.Problems[1:] {
		rest = append(rest, p.String())
	}
	return fmt.Sprintf("%s (and %d more problems: %s)", e.Problems[0], len(rest), strings.Join(rest, "; "))
}

// Unwrap lets errors.Is match the error's kind.
func (e *Error) Unwrap() error { return e.Kind }

// Lines renders each problem on a line of its own, "FILE:LINE: what".
func (e *Error) Lines() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.String()
	}
	return out
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return strings.Join(f, "; ")
}
