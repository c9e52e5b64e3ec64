package ethereum

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// quantity is a JSON-RPC unsigned number. Nodes disagree on its spelling:
// geth writes hex strings, Erigon's Parity-style traces write plain JSON
// numbers, and some providers pad hex with leading zeros. All are accepted.
type quantity uint64

func (q *quantity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*q = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		s, err := unquote(b)
		if err != nil {
			return err
		}
		v, err := parseUint(s)
		if err != nil {
			return err
		}
		*q = quantity(v)
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("invalid quantity %s", b)
	}
	*q = quantity(v)
	return nil
}

func parseUint(s string) (uint64, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		if len(s) == 2 {
			return 0, fmt.Errorf("invalid quantity %q", s)
		}
		return strconv.ParseUint(s[2:], 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

// unquote reads a JSON string. Quantities never need escapes, so the plain
// case is a slice; anything else goes through encoding/json. These are the
// most frequent values in a block, so this shortcut matters.
func unquote(b []byte) (string, error) {
	if len(b) >= 2 && b[len(b)-1] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 && bytes.IndexByte(b[1:len(b)-1], '"') < 0 {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// bigQuantity is an arbitrary-size JSON-RPC number (wei amounts), spelled as
// a hex string, a decimal string or a JSON number.
type bigQuantity struct{ big.Int }

func (q *bigQuantity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		q.SetInt64(0)
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = unquote(b); err != nil {
			return err
		}
	}
	base := 10
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s, base = s[2:], 16
		if s == "" {
			return fmt.Errorf("invalid quantity %s", b)
		}
	}
	if _, ok := q.SetString(s, base); !ok || q.Sign() < 0 {
		return fmt.Errorf("invalid quantity %s", b)
	}
	return nil
}

// Big returns a copy of the value, or zero for a nil quantity.
func (q *bigQuantity) Big() *big.Int {
	if q == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(&q.Int)
}

// hexQuantity formats a block number the way every node accepts it.
func hexQuantity(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

// Quantity is the lenient JSON-RPC number, for the packages that read node
// answers beside the adapter (history backends, test emulators).
type Quantity = quantity

// HexQuantity formats a block number the way every node accepts it.
func HexQuantity(n uint64) string { return hexQuantity(n) }
