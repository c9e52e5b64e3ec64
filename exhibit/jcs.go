package exhibit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonicalize serialises v by the JSON Canonicalization Scheme, RFC 8785:
// v is marshalled with encoding/json, parsed again (numbers kept as their
// literals), and written with object keys sorted by their UTF-16 code units,
// no white space between tokens, strings escaped minimally (only '"', '\' and
// the control characters U+0000-U+001F; \b \t \n \f \r in short form, the
// others as \u00xx in lower-case hex; everything else as raw UTF-8), and
// numbers as ECMAScript writes them.
//
// The exhibit holds no floating-point numbers, so Canonicalize accepts only
// numbers with an integer value of magnitude at most 2^53 (where an IEEE 754
// double, which RFC 8785 assumes, is exact) and returns an error for any
// other number rather than round it. Duplicate object keys are an error too
// (RFC 8785 requires I-JSON input).
func Canonicalize(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return CanonicalizeJSON(data)
}

// CanonicalizeJSON is Canonicalize for a JSON text.
func CanonicalizeJSON(data []byte) ([]byte, error) {
	v, err := parseStrict(data)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	if err := writeCanonical(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCanonical(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		if v {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case string:
		writeCanonicalString(buf, v)
	case json.Number:
		s, err := canonicalNumber(string(v))
		if err != nil {
			return err
		}
		buf.WriteString(s)
	case []any:
		buf.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, x); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonicalString(buf, k)
			buf.WriteByte(':')
			if err := writeCanonical(buf, v[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("canonicalize: unexpected %T", v)
	}
	return nil
}

// writeCanonicalString writes s per RFC 8785 §3.2.2.2. s is valid UTF-8 (the
// JSON decoder replaces invalid sequences with U+FFFD), and every byte of a
// multi-byte sequence is >= 0x80, so a byte-wise scan is exact.
func writeCanonicalString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf.WriteString(s[start:i])
		switch c {
		case '"':
			buf.WriteString(`\"`)
		case '\\':
			buf.WriteString(`\\`)
		case '\b':
			buf.WriteString(`\b`)
		case '\t':
			buf.WriteString(`\t`)
		case '\n':
			buf.WriteString(`\n`)
		case '\f':
			buf.WriteString(`\f`)
		case '\r':
			buf.WriteString(`\r`)
		default:
			buf.WriteString(`\u00`)
			buf.WriteByte(hex[c>>4])
			buf.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// maxExact is 2^53: every integer of magnitude up to it is an exact double.
var maxExact = new(big.Int).Lsh(big.NewInt(1), 53)

// canonicalNumber renders a JSON number literal as ECMAScript would, for the
// integers the exhibit holds; anything else is an error.
func canonicalNumber(lit string) (string, error) {
	if !strings.ContainsAny(lit, ".eE") {
		n, ok := new(big.Int).SetString(lit, 10)
		if !ok {
			return "", fmt.Errorf("canonicalize: bad number %q", lit)
		}
		if new(big.Int).Abs(n).Cmp(maxExact) > 0 {
			return "", fmt.Errorf("canonicalize: integer %s is beyond 2^53, which RFC 8785 (IEEE 754 doubles) cannot represent exactly", lit)
		}
		return n.String(), nil // also turns -0 into 0
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return "", fmt.Errorf("canonicalize: number %s is not an integer: the exhibit holds no floating-point numbers (write it as a decimal string)", lit)
	}
	return strconv.FormatInt(int64(f), 10), nil
}

// compareUTF16 orders strings by their UTF-16 code units (RFC 8785 §3.2.3).
func compareUTF16(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return strings.Compare(a, b)
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// parseStrict parses exactly one JSON value (RFC 8259): objects as
// map[string]any, arrays as []any, numbers as json.Number holding the
// literal. A syntax error or trailing data is ErrNotJSON (with line and
// column); a duplicate object key is ErrInvalid (with its JSON pointer).
// Invalid UTF-8 and lone surrogates in strings become U+FFFD, as with
// encoding/json. It is a hand-written scanner because exhibits can be large
// and encoding/json's token API is an order of magnitude slower.
func parseStrict(data []byte) (any, error) {
	p := &parser{data: data}
	p.skipSpace()
	if p.pos == len(data) {
		return nil, newError(ErrNotJSON, "not JSON: empty input")
	}
	v, err := p.value("", 0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(data) {
		return nil, newError(ErrNotJSON, fmt.Sprintf("not JSON: data after the top-level value (%s)", lineCol(data, int64(p.pos))))
	}
	return v, nil
}

type parser struct {
	data []byte
	pos  int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) fail(what string) error {
	if p.pos >= len(p.data) {
		return newError(ErrNotJSON, fmt.Sprintf("not JSON: unexpected end of input (%s)", lineCol(p.data, int64(len(p.data)))))
	}
	return newError(ErrNotJSON, fmt.Sprintf("not JSON: invalid character %s %s (%s)", quoteChar(p.data[p.pos:]), what, lineCol(p.data, int64(p.pos))))
}

func quoteChar(b []byte) string {
	r, _ := utf8.DecodeRune(b)
	return strconv.QuoteRune(r)
}

// value parses the value starting at p.pos (white space already skipped).
func (p *parser) value(ptr string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, newError(ErrNotJSON, fmt.Sprintf("not JSON: nesting deeper than %d at %s", maxDepth, pointerOrRoot(ptr)))
	}
	if p.pos >= len(p.data) {
		return nil, p.fail("")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		m := map[string]any{}
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return m, nil
		}
		for {
			p.skipSpace()
			keyAt := p.pos
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return nil, p.fail("looking for the beginning of an object key")
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				return nil, newError(ErrInvalid, fmt.Sprintf("duplicate key %q at %s (%s)", k, pointerOrRoot(ptr), lineCol(p.data, int64(keyAt))))
			}
			p.skipSpace()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return nil, p.fail("after an object key")
			}
			p.pos++
			p.skipSpace()
			v, err := p.value(ptr+"/"+escapePointer(k), depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = v
			p.skipSpace()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == '}' {
				p.pos++
				return m, nil
			}
			return nil, p.fail("after an object value")
		}
	case c == '[':
		p.pos++
		a := []any{}
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return a, nil
		}
		for {
			p.skipSpace()
			v, err := p.value(ptr+"/"+strconv.Itoa(len(a)), depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			p.skipSpace()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == ']' {
				p.pos++
				return a, nil
			}
			return nil, p.fail("after an array element")
		}
	case c == '"':
		return p.str()
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.fail("looking for the beginning of a value")
}

func (p *parser) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if p.pos >= len(p.data) || p.data[p.pos] != lit[i] {
			return p.fail("in literal " + lit)
		}
		p.pos++
	}
	return nil
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *parser) number() (json.Number, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return "", p.fail("in a number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return "", p.fail("after a decimal point")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return "", p.fail("in the exponent of a number")
		}
	}
	return json.Number(p.data[start:p.pos]), nil
}

// str scans a string starting at the opening quote.
func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes, valid UTF-8.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := p.data[start:p.pos]
			if utf8.Valid(s) {
				p.pos++
				return string(s), nil
			}
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	p.pos = start
	var b []byte
	for {
		if p.pos >= len(p.data) {
			return "", p.fail("")
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(b), nil
		case c < 0x20:
			return "", p.fail("in a string (control characters must be escaped)")
		case c == '\\':
			p.pos++
			if p.pos >= len(p.data) {
				return "", p.fail("")
			}
			e := p.data[p.pos]
			p.pos++
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.fail("in a \\u escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := unicode.ReplacementChar
					save := p.pos
					if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
						p.pos += 2
						if lo, ok := p.hex4(); ok {
							r2 = utf16.DecodeRune(r, lo)
						}
					}
					if r2 == unicode.ReplacementChar {
						p.pos = save // a lone surrogate; what follows is read on its own
						r = unicode.ReplacementChar
					} else {
						r = r2
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				p.pos--
				return "", p.fail("in a string escape")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			b = utf8.AppendRune(b, r) // invalid UTF-8 becomes U+FFFD
			p.pos += size
		}
	}
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

// escapePointer escapes one JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}

func pointerOrRoot(ptr string) string {
	if ptr == "" {
		return "/ (the top level)"
	}
	return ptr
}

// lineCol renders a byte offset as a 1-based line and column (in bytes).
func lineCol(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}
