package exhibit

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaJSON is the JSON Schema (draft 2020-12) of the exhibit. The copy in
// docs/exhibit.schema.json is kept identical by a test.
//
//go:embed exhibit.schema.json
var schemaJSON []byte

// SchemaID is the $id of the exhibit's JSON Schema.
const SchemaID = "https://github.com/chaintrace/chaintrace/docs/exhibit.schema.json"

// SchemaJSON returns the exhibit's JSON Schema document.
func SchemaJSON() []byte { return bytes.Clone(schemaJSON) }

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("exhibit schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // date-time is checked, not just annotated
	if err := c.AddResource(SchemaID, doc); err != nil {
		return nil, fmt.Errorf("exhibit schema: %w", err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		return nil, fmt.Errorf("exhibit schema: %w", err)
	}
	return s, nil
})

// Problem is one place where a document breaks the schema.
type Problem struct {
	Pointer string // JSON pointer (RFC 6901) of the offending value; "" is the whole document
	Message string
}

func (p Problem) String() string {
	ptr := p.Pointer
	if ptr == "" {
		ptr = "/"
	}
	return ptr + ": " + p.Message
}

// SchemaError lists every schema violation found, ordered by pointer. It
// matches ErrInvalid under errors.Is.
type SchemaError struct {
	Problems []Problem
}

func (e *SchemaError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exhibit does not fit %s: ", Schema)
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *SchemaError) Unwrap() error { return ErrInvalid }

// Validate checks a serialised exhibit against the JSON Schema. A violation
// is a *SchemaError naming each failing JSON pointer; input that is not JSON
// is ErrNotJSON.
func Validate(data []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	doc, err := parseStrict(data)
	if err != nil {
		return err
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fmt.Errorf("exhibit: validate: %w", err)
	}
	seen := map[Problem]bool{}
	var probs []Problem
	collectLeaves(ve, func(p Problem) {
		p.Message += foundValue(doc, p.Pointer, p.Message)
		if !seen[p] {
			seen[p] = true
			probs = append(probs, p)
		}
	})
	sort.SliceStable(probs, func(i, j int) bool {
		if probs[i].Pointer != probs[j].Pointer {
			return probs[i].Pointer < probs[j].Pointer
		}
		return probs[i].Message < probs[j].Message
	})
	return &SchemaError{Problems: probs}
}

// ValidateExhibit serialises e and validates it.
func ValidateExhibit(e *Exhibit) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return Validate(b)
}

// collectLeaves reports the innermost errors of a validation error tree:
// those say what is wrong, the outer ones only where the rule came from.
func collectLeaves(ve *jsonschema.ValidationError, report func(Problem)) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collectLeaves(c, report)
		}
		return
	}
	ptr := ""
	for _, tok := range ve.InstanceLocation {
		ptr += "/" + escapePointer(tok)
	}
	// A leaf's Error() is "at '<pointer>': <message>"; keep the message.
	msg := ve.Error()
	if i := strings.Index(msg, "': "); strings.HasPrefix(msg, "at '") && i >= 0 {
		msg = msg[i+3:]
	}
	report(Problem{Pointer: ptr, Message: msg})
}

// foundValue describes the scalar value at ptr for an error message, unless
// the message already quotes it.
func foundValue(doc any, ptr, msg string) string {
	v := doc
	for _, tok := range strings.Split(ptr, "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	var s string
	switch x := v.(type) {
	case string:
		r := []rune(x)
		if len(r) > 80 {
			x = string(r[:80]) + "…"
		}
		s = strconv.Quote(x)
		if strings.Contains(msg, "'"+x+"'") {
			return ""
		}
	case json.Number:
		s = "the number " + string(x)
	case bool:
		s = strconv.FormatBool(x)
	case nil:
		s = "null"
	default:
		return ""
	}
	return " (found " + s + ")"
}
