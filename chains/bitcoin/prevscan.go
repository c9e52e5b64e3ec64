package bitcoin

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
)

// The spent transactions of a block (PartPrevTxs) are most of the bytes a
// btcd block costs to decode, and of each only the outputs matter: txid and
// per output value, n and scriptPubKey.hex. scanPrevTxs reads just those
// and steps over everything else (hex, vin, witnesses, asm, ...) with
// bytes.IndexByte, without the JSON decoder's copy of the input and its
// reflection. It reads the plain form nodes write: a field it needs that is
// missing or has an escape in it, or anything it does not expect, makes it
// give up, and Decode falls back to the JSON decoder, which also words the
// error if the part is really malformed.

// jscan is a cursor over JSON text.
type jscan struct {
	b []byte
	i int
}

// next skips white space and returns the next byte (0 at the end).
func (s *jscan) next() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// eat consumes c if it comes next.
func (s *jscan) eat(c byte) bool {
	if s.next() == c {
		s.i++
		return true
	}
	return false
}

// str reads a string with no escapes in it and returns its contents.
func (s *jscan) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	k := bytes.IndexByte(s.b[s.i:], '"')
	if k < 0 {
		return nil, false
	}
	v := s.b[s.i : s.i+k]
	if bytes.IndexByte(v, '\\') >= 0 {
		return nil, false
	}
	s.i += k + 1
	return v, true
}

// skipStr steps over a string, escapes and all.
func (s *jscan) skipStr() bool {
	if !s.eat('"') {
		return false
	}
	for {
		k := bytes.IndexByte(s.b[s.i:], '"')
		if k < 0 {
			return false
		}
		q := s.i + k
		bs := 0
		for p := q - 1; p >= s.i && s.b[p] == '\\'; p-- {
			bs++
		}
		s.i = q + 1
		if bs%2 == 0 {
			return true
		}
	}
}

// token reads a number or a literal.
func (s *jscan) token() ([]byte, bool) {
	s.next()
	j := s.i
	for j < len(s.b) {
		c := s.b[j]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		j++
	}
	if j == s.i {
		return nil, false
	}
	v := s.b[s.i:j]
	s.i = j
	return v, true
}

// skip steps over any value.
func (s *jscan) skip() bool {
	switch s.next() {
	case '"':
		return s.skipStr()
	case '{':
		return s.object(func([]byte) bool { return s.skip() })
	case '[':
		return s.array(s.skip)
	case 0:
		return false
	}
	_, ok := s.token()
	return ok
}

// object reads an object; value is called at each member's value, which it
// must consume, with the member's key.
func (s *jscan) object(value func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.eat(':') || !value(key) {
			return false
		}
		if s.eat('}') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

// array reads an array; elem is called at each element, which it must
// consume.
func (s *jscan) array(elem func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.eat(']') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

// scanVout is one output as scanPrevTxs reads it.
type scanVout struct {
	value  []byte // the number's text
	n      uint32
	script []byte // hex
	seen   uint8  // bit 0 value, 1 n, 2 script
}

// scanPrevTxs adds the outputs of a PartPrevTxs array to m. ok false means
// the text is not in the plain form this reads (nothing is known of its
// validity then); err is an error in a value it read (an id that is not a
// txid, an amount or script that does not parse), as the JSON decoder's
// path reports it.
func (m spentOutputs) scanPrevTxs(b []byte) (ok bool, err error) {
	s := jscan{b: b}
	var outs []scanVout
	var arena []byte // decoded scripts
	ok = s.array(func() bool {
		var txid []byte
		haveID := false
		outs = outs[:0]
		if !s.object(func(key []byte) bool {
			switch string(key) {
			case "txid":
				txid, haveID = s.str()
				return haveID
			case "vout":
				return s.array(func() bool {
					var o scanVout
					if !s.object(func(key []byte) bool {
						switch string(key) {
						case "value":
							if s.next() == '"' {
								return false // a string: the JSON decoder judges it
							}
							var ok bool
							o.value, ok = s.token()
							o.seen |= 1
							return ok
						case "n":
							t, ok := s.token()
							n, err := strconv.ParseUint(string(t), 10, 32)
							o.n = uint32(n)
							o.seen |= 2
							return ok && err == nil
						case "scriptPubKey":
							return s.object(func(key []byte) bool {
								if string(key) != "hex" {
									return s.skip()
								}
								var ok bool
								o.script, ok = s.str()
								o.seen |= 4
								return ok
							})
						}
						return s.skip()
					}) || o.seen != 7 {
						return false
					}
					outs = append(outs, o)
					return true
				})
			}
			return s.skip()
		}) || !haveID {
			return false
		}
		if err == nil {
			err = m.addScanned(txid, outs, &arena)
		}
		return true
	})
	if !ok || s.next() != 0 {
		return false, nil
	}
	return true, err
}

func (m spentOutputs) addScanned(txid []byte, outs []scanVout, arena *[]byte) error {
	if len(txid) != 64 || !isHexBytes(txid) {
		return fmt.Errorf("%w: transaction id %q", ErrInconsistent, txid)
	}
	id := string(bytes.ToLower(txid))
	for i, o := range outs {
		val, err := ParseBTC(string(o.value))
		if err != nil {
			return fmt.Errorf("transaction %s output %d: %w", txid, i, err)
		}
		start := len(*arena)
		*arena, err = hex.AppendDecode(*arena, o.script)
		if err != nil {
			return fmt.Errorf("transaction %s output %d: %w: scriptPubKey hex: %v", txid, i, ErrInconsistent, err)
		}
		script := (*arena)[start:len(*arena):len(*arena)]
		m.outs[outpoint{id, o.n}] = outData{value: val, script: script}
	}
	return nil
}

func isHexBytes(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
