package exhibit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Write writes e as JSON indented by two spaces, keys in the fixed order of
// the Go types (maps sorted by key), ending in a newline. The same exhibit
// always gives the same bytes. Nothing is written if e cannot be serialised.
func Write(w io.Writer, e *Exhibit) error {
	b, err := Marshal(e)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Marshal returns the bytes Write writes.
func Marshal(e *Exhibit) ([]byte, error) {
	if e.Schema != Schema {
		return nil, newError(ErrSchemaVersion, fmt.Sprintf("exhibit schema %q, want %s", e.Schema, Schema))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil { // Encode ends with a newline
		return nil, fmt.Errorf("exhibit: %w", err)
	}
	return buf.Bytes(), nil
}

// Read parses an exhibit. See the package documentation for what it checks
// and the unknown-key policy; it does not check the JSON Schema or the
// digest (ReadVerified does).
func Read(r io.Reader) (*Exhibit, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Unmarshal(data)
}

// Unmarshal is Read for bytes.
func Unmarshal(data []byte) (*Exhibit, error) {
	v, err := parseStrict(data)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, newError(ErrInvalid, fmt.Sprintf("exhibit: the top-level JSON value is %s, want an object", jsonKind(v)))
	}
	if err := checkSchemaKey(top); err != nil {
		return nil, err
	}
	if err := checkShape(v, reflect.TypeFor[Exhibit](), ""); err != nil {
		var se *shapeError
		if errors.As(err, &se) {
			if off, ok := locate(data, se.ptr); ok {
				return nil, newError(ErrInvalid, fmt.Sprintf("%s (%s)", se.msg, lineCol(data, off)))
			}
			return nil, newError(ErrInvalid, se.msg)
		}
		return nil, err
	}
	var e Exhibit
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // checkShape has reported any; this is a backstop
	if err := dec.Decode(&e); err != nil {
		return nil, decodeError(data, err)
	}
	for i := range e.Method.Heuristics {
		h := &e.Method.Heuristics[i]
		if len(h.Params) > 0 {
			var b bytes.Buffer
			if err := json.Compact(&b, h.Params); err == nil {
				h.Params = b.Bytes()
			}
		}
	}
	return &e, nil
}

// ReadVerified reads an exhibit and also checks it against the JSON Schema
// and its digest (computed over the bytes read).
func ReadVerified(r io.Reader) (*Exhibit, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	e, err := Unmarshal(data)
	if err != nil {
		return nil, err
	}
	if err := Validate(data); err != nil {
		return nil, err
	}
	if err := checkAlgorithm(e.Digest); err != nil {
		return nil, err
	}
	got, err := DigestJSON(data)
	if err != nil {
		return nil, err
	}
	if err := compareDigest(e.Digest, got); err != nil {
		return nil, err
	}
	return e, nil
}

func checkSchemaKey(top map[string]any) error {
	s, present := top["schema"]
	if !present {
		return newError(ErrSchemaVersion, fmt.Sprintf("exhibit has no \"schema\" key, want %q: not a chaintrace exhibit", Schema))
	}
	str, ok := s.(string)
	if !ok {
		return newError(ErrSchemaVersion, fmt.Sprintf("exhibit schema is %s, want the string %q", jsonKind(s), Schema))
	}
	if str != Schema {
		return newError(ErrSchemaVersion, fmt.Sprintf("exhibit schema %q, want %s", str, Schema))
	}
	return nil
}

// checkShape walks a parsed JSON value alongside the Go type it decodes into
// and reports, with its JSON pointer, the first key the type has no field
// for, the first missing key that is not optional (omitempty), or the first
// value of the wrong JSON type (null included). Keys are visited in sorted
// order, so the report is stable. Key names must match exactly; encoding/json
// alone would also accept other letter case.
func checkShape(v any, t reflect.Type, ptr string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil // heuristic params: any JSON; the schema wants an object
	}
	want := ""
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		want = "an object"
	case reflect.Slice, reflect.Array:
		want = "an array"
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want = "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a non-negative integer"
	default:
		return nil
	}
	mismatch := func() error {
		return &shapeError{ptr, fmt.Sprintf("exhibit: %s: found %s, want %s", pointerOrRoot(ptr), describeJSON(v), want)}
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		fields, byName := jsonFields(t)
		for _, k := range sortedKeys(m) {
			f, ok := byName[k]
			if !ok {
				names := make([]string, len(fields))
				for i, f := range fields {
					names[i] = f.name
				}
				return &shapeError{ptr + "/" + escapePointer(k), fmt.Sprintf("exhibit: unknown key %q at %s (known keys: %s); this reader knows %s; a newer chaintrace may read it",
					k, pointerOrRoot(ptr), strings.Join(names, ", "), Schema)}
			}
			if err := checkShape(m[k], f.typ, ptr+"/"+escapePointer(k)); err != nil {
				return err
			}
		}
		for _, f := range fields {
			if _, ok := m[f.name]; !ok && !f.optional {
				return &shapeError{ptr, fmt.Sprintf("exhibit: missing key %q at %s", f.name, pointerOrRoot(ptr))}
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		for _, k := range sortedKeys(m) {
			if err := checkShape(m[k], t.Elem(), ptr+"/"+escapePointer(k)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		a, ok := v.([]any)
		if !ok {
			return mismatch()
		}
		for i, x := range a {
			if err := checkShape(x, t.Elem(), ptr+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return mismatch()
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return mismatch()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch()
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			return mismatch()
		}
	default: // unsigned
		n, ok := v.(json.Number)
		if !ok {
			return mismatch()
		}
		if _, err := strconv.ParseUint(string(n), 10, t.Bits()); err != nil {
			return mismatch()
		}
	}
	return nil
}

// shapeError is a checkShape finding: the pointer to locate in the input,
// and the message.
type shapeError struct {
	ptr, msg string
}

func (e *shapeError) Error() string { return e.msg }

// locate returns the byte offset at which the value at ptr starts in data
// (for an unknown key: the value of that key), scanning data again; it is
// only called on the error path.
func locate(data []byte, ptr string) (int64, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	start := func() int64 {
		off := dec.InputOffset()
		for off < int64(len(data)) && strings.IndexByte(" \t\r\n:,", data[off]) >= 0 {
			off++
		}
		return off
	}
	var walk func(cur string) (int64, bool, error)
	walk = func(cur string) (int64, bool, error) {
		off := start()
		if cur == ptr {
			return off, true, nil
		}
		if !strings.HasPrefix(ptr, cur+"/") {
			var skip json.RawMessage
			return 0, false, dec.Decode(&skip)
		}
		t, err := dec.Token()
		if err != nil {
			return 0, false, err
		}
		switch t {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return 0, false, err
				}
				if off, ok, err := walk(cur + "/" + escapePointer(k.(string))); ok || err != nil {
					return off, ok, err
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if off, ok, err := walk(cur + "/" + strconv.Itoa(i)); ok || err != nil {
					return off, ok, err
				}
			}
		default:
			return 0, false, nil
		}
		_, err = dec.Token()
		return 0, false, err
	}
	off, ok, err := walk("")
	return off, ok && err == nil
}

func describeJSON(v any) string {
	switch x := v.(type) {
	case json.Number:
		return "the number " + string(x)
	case string:
		r := []rune(x)
		if len(r) > 80 {
			x = string(r[:80]) + "…"
		}
		return "the string " + strconv.Quote(x)
	}
	return jsonKind(v)
}

type fieldInfo struct {
	name     string
	typ      reflect.Type
	optional bool // omitempty: an added key, or token_id
}

type fieldSet struct {
	list   []fieldInfo
	byName map[string]fieldInfo
}

var fieldCache sync.Map // reflect.Type -> fieldSet

// jsonFields lists the JSON keys of struct type t in field order (embedded
// structs flattened, as encoding/json does).
func jsonFields(t reflect.Type) ([]fieldInfo, map[string]fieldInfo) {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(fieldSet).list, fs.(fieldSet).byName
	}
	var list []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			sub, _ := jsonFields(f.Type)
			list = append(list, sub...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		list = append(list, fieldInfo{name: name, typ: f.Type, optional: strings.Contains(","+opts+",", ",omitempty,")})
	}
	byName := map[string]fieldInfo{}
	for _, f := range list {
		byName[f.name] = f
	}
	fieldCache.Store(t, fieldSet{list, byName})
	return list, byName
}

func decodeError(data []byte, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "value"
		}
		return newError(ErrInvalid, fmt.Sprintf("exhibit: %s: JSON %s where %s is wanted (%s)", field, te.Value, te.Type, lineCol(data, te.Offset)))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return newError(ErrNotJSON, fmt.Sprintf("not JSON: %s (%s)", strings.TrimPrefix(se.Error(), "json: "), lineCol(data, se.Offset)))
	}
	return newError(ErrInvalid, "exhibit: "+strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
