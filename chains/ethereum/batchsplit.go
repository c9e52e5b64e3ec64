package ethereum

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// splitResponses reads a JSON-RPC answer, a batch array or a single object,
// into responses whose results alias b. It finds each element's members
// with a string-aware bracket scanner instead of decoding: the results are
// most of the bytes, and each is parsed by the caller anyway (Decode), so
// validating them here too would read every byte twice. Only "id" and
// "error", both small, are decoded here.
func splitResponses(b []byte) (out []rpcResponse, batch bool, err error) {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return nil, false, errors.New("empty answer")
	}
	if b[i] == '{' {
		r, j, err := splitObject(b, i)
		if err != nil {
			return nil, false, err
		}
		if k := skipSpace(b, j); k != len(b) {
			return nil, false, fmt.Errorf("trailing data at offset %d", k)
		}
		return []rpcResponse{r}, false, nil
	}
	if b[i] != '[' {
		return nil, false, fmt.Errorf("answer starts with %q", b[i])
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil, true, trailing(b, i+1)
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '{' {
			return nil, true, fmt.Errorf("batch element at offset %d is not an object", i)
		}
		r, j, err := splitObject(b, i)
		if err != nil {
			return nil, true, err
		}
		out = append(out, r)
		i = skipSpace(b, j)
		if i >= len(b) {
			return nil, true, errors.New("unterminated batch")
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return out, true, trailing(b, i+1)
		default:
			return nil, true, fmt.Errorf("unexpected %q at offset %d", b[i], i)
		}
	}
}

func trailing(b []byte, i int) error {
	if k := skipSpace(b, i); k != len(b) {
		return fmt.Errorf("trailing data at offset %d", k)
	}
	return nil
}

// splitObject reads one response object starting at b[i] == '{' and returns
// the index just past it.
func splitObject(b []byte, i int) (r rpcResponse, end int, err error) {
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return r, i + 1, nil
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return r, 0, fmt.Errorf("object key expected at offset %d", i)
		}
		keyEnd, err := skipString(b, i)
		if err != nil {
			return r, 0, err
		}
		key := b[i+1 : keyEnd-1]
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return r, 0, fmt.Errorf("':' expected at offset %d", i)
		}
		i = skipSpace(b, i+1)
		valEnd, err := skipValue(b, i)
		if err != nil {
			return r, 0, err
		}
		val := b[i:valEnd:valEnd]
		switch string(key) {
		case "id":
			r.ID = val
		case "result":
			r.Result = val
		case "error":
			if string(val) != "null" {
				r.Error = new(RPCError)
				if err := json.Unmarshal(val, r.Error); err != nil {
					return r, 0, fmt.Errorf("error member: %w", err)
				}
			}
		}
		i = skipSpace(b, valEnd)
		if i >= len(b) {
			return r, 0, errors.New("unterminated object")
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return r, i + 1, nil
		default:
			return r, 0, fmt.Errorf("unexpected %q at offset %d", b[i], i)
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
// It jumps from quote to quote with bytes.IndexByte (vectorised; answers
// are mostly long hex strings) and counts the backslashes before a quote
// to tell an escaped one from the end.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, fmt.Errorf("unterminated string at offset %d", i)
		}
		q := j + k
		slashes := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			slashes++
		}
		if slashes%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// skipValue returns the index just past the JSON value starting at b[i].
// Nested objects and arrays are matched by depth, strings skipped whole.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("value expected at end of input")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unterminated value at offset %d", i)
	}
	// A number or a literal: up to the next delimiter.
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		j++
	}
	if j == i {
		return 0, fmt.Errorf("value expected at offset %d", i)
	}
	return j, nil
}
