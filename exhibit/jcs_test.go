package exhibit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// RFC 8785 §3.2.3: sorting of properties by UTF-16 code units. The emoji
// (U+1F600, surrogates D83D DE00) sorts before U+FB33 although its code point
// is greater; U+0080 is not a control character and is written raw.
func TestCanonicalizeRFC8785KeySorting(t *testing.T) {
	in := `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`
	want := `{"\r":"Carriage Return","1":"One","` + "\u0080" + `":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","` + "\ufb33" + `":"Hebrew Letter Dalet With Dagesh"}`
	got, err := CanonicalizeJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The RFC gives the order of the values: check it independently.
	last := -1
	for _, name := range []string{"Carriage Return", "One", "Control", "Latin Small", "Euro Sign", "Emoji", "Hebrew"} {
		i := strings.Index(string(got), name)
		if i <= last {
			t.Errorf("%q out of RFC 8785 order in %s", name, got)
		}
		last = i
	}
	// And via Canonicalize on a Go map.
	m := map[string]string{"€": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
		"1": "One", "😀": "Emoji: Grinning Face", "\u0080": "Control", "ö": "Latin Small Letter O With Diaeresis"}
	got2, err := Canonicalize(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(got2) != want {
		t.Errorf("Canonicalize(map):\ngot  %s\nwant %s", got2, want)
	}
}

// RFC 8785 §3.2.2 example, without its floating-point numbers (the exhibit
// holds none, and Canonicalize rejects them; see TestCanonicalizeNumbers).
func TestCanonicalizeRFC8785Strings(t *testing.T) {
	in := `{
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`
	want := `{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	got, err := CanonicalizeJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The full RFC example has non-integer numbers: rejected, not rounded.
	full := `{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "literals": [null]}`
	if _, err := CanonicalizeJSON([]byte(full)); err == nil {
		t.Error("RFC 8785 example with floats: accepted, want an error")
	}
}

func TestCanonicalizeEscaping(t *testing.T) {
	short := map[byte]string{'\b': `\b`, '\t': `\t`, '\n': `\n`, '\f': `\f`, '\r': `\r`}
	hex := "0123456789abcdef"
	for c := 0; c < 0x20; c++ {
		want, ok := short[byte(c)]
		if !ok {
			want = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
		}
		got, err := Canonicalize(string(rune(c)))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != `"`+want+`"` {
			t.Errorf("U+%04X: got %s, want \"%s\"", c, got, want)
		}
	}
	tests := []struct{ in, want string }{
		{`"`, `"\""`},
		{`\`, `"\\"`},
		{"/", `"/"`},
		{"\x7f", "\"\x7f\""},                 // DEL is not escaped
		{"\u2028\u2029", "\"\u2028\u2029\""}, // unlike encoding/json
		{"<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`}, // no HTML escaping
		{"Ω-Börse 😀", `"Ω-Börse 😀"`},
		{"a\x00b", `"a\u0000b"`},
		{"\x1f\x1e", `"\u001f\u001e"`},
		{"bad\xffutf8", "\"bad\ufffdutf8\""}, // encoding/json replaces invalid UTF-8
	}
	for _, tc := range tests {
		got, err := Canonicalize(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("Canonicalize(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalizeNumbers(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
	}{
		{`0`, `0`},
		{`-0`, `0`},
		{`42`, `42`},
		{`-17`, `-17`},
		{`1.0`, `1`},
		{`1e3`, `1000`},
		{`-2.5E1`, `-25`},
		{`9007199254740992`, `9007199254740992`}, // 2^53
		{`-9007199254740992`, `-9007199254740992`}, // -2^53
		{`9007199254740993`, ``},                   // 2^53+1: not exact as a double
		{`18446744073709551615`, ``},
		{`1.5`, ``},
		{`0.1`, ``},
		{`1e400`, ``},
		{`1e-7`, ``},
		{`1e21`, ``},
	}
	for _, tc := range tests {
		got, err := CanonicalizeJSON([]byte(`[` + tc.in + `]`))
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s: got %s, want an error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if string(got) != "["+tc.want+"]" {
			t.Errorf("%s: got %s, want [%s]", tc.in, got, tc.want)
		}
	}
	if _, err := Canonicalize(map[string]float64{"x": 0.5}); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Errorf("float value: err = %v, want a 'not an integer' error", err)
	}
	if got, err := Canonicalize(struct{ A uint64 }{A: 19000000}); err != nil || string(got) != `{"A":19000000}` {
		t.Errorf("uint64: %s, %v", got, err)
	}
}

func TestCanonicalizeStructure(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{ "b" : [ 1 , { "d":true, "c":null } ], "a":{} , "":[]}`, `{"":[],"a":{},"b":[1,{"c":null,"d":true}]}`},
		{` "x" `, `"x"`},
		{`[[],[[]],{}]`, `[[],[[]],{}]`},
		{`{"aa":1,"a":2,"b":3,"A":4}`, `{"A":4,"a":2,"aa":1,"b":3}`},
	}
	for _, tc := range tests {
		got, err := CanonicalizeJSON([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
	bad := []string{``, `{`, `{"a":1}{}`, `{"a":1} x`, `{"a":1,"a":2}`, `[1,]`, `nul`}
	for _, in := range bad {
		if got, err := CanonicalizeJSON([]byte(in)); err == nil {
			t.Errorf("%q: got %s, want an error", in, got)
		}
	}
	if _, err := CanonicalizeJSON([]byte(`{"a":{"k":1,"k":2}}`)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"k"`) || !strings.Contains(err.Error(), "/a") {
		t.Errorf("duplicate key: err = %v, want ErrInvalid naming \"k\" at /a", err)
	}
	// Duplicate keys can reach Canonicalize through a RawMessage.
	if _, err := Canonicalize(Heuristic{Name: "x", Params: json.RawMessage(`{"a":1,"a":1}`)}); err == nil {
		t.Error("duplicate key in params: accepted")
	}
}

// Random documents: the canonical form re-parses to the same value, is a
// fixed point, and orders keys by UTF-16 code units.
func TestCanonicalizeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune{'a', 'B', '0', ' ', '"', '\\', '/', '\n', '\x01', '\x7f', 'é', 'ö', '€', '\u2028', 'ﬀ', '😀', '𝄞', '\uFB33', '\uFFFD'}
	randString := func() string {
		n := r.IntN(6)
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	var randValue func(depth int) any
	randValue = func(depth int) any {
		k := r.IntN(7)
		if depth > 3 {
			k = r.IntN(4)
		}
		switch k {
		case 0:
			return nil
		case 1:
			return r.IntN(2) == 0
		case 2:
			return json.Number(strconv.FormatInt(r.Int64N(1<<53)-1<<52, 10))
		case 3:
			return randString()
		case 4, 5:
			m := map[string]any{}
			for i := r.IntN(5); i > 0; i-- {
				m[randString()] = randValue(depth + 1)
			}
			return m
		default:
			a := []any{}
			for i := r.IntN(4); i > 0; i-- {
				a = append(a, randValue(depth+1))
			}
			return a
		}
	}
	for i := 0; i < 500; i++ {
		v := map[string]any{"v": randValue(0), randString(): randValue(0)}
		c, err := Canonicalize(v)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(c) {
			t.Fatalf("invalid UTF-8: %q", c)
		}
		back, err := parseStrict(c)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if !reflect.DeepEqual(back, v) {
			t.Fatalf("re-parse differs:\n%#v\n%#v", back, v)
		}
		c2, err := CanonicalizeJSON(c)
		if err != nil || string(c2) != string(c) {
			t.Fatalf("not a fixed point: %s\n%s (%v)", c, c2, err)
		}
		checkKeyOrder(t, c)
	}
}

// checkKeyOrder reads the canonical text token by token and checks that the
// keys of every object come in UTF-16 code unit order (an independent
// comparison from the one Canonicalize uses).
func checkKeyOrder(t *testing.T, c []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(c))
	var walk func()
	walk = func() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch tok {
		case json.Delim('{'):
			var prev []uint16
			first := true
			for dec.More() {
				kt, _ := dec.Token()
				k := utf16.Encode([]rune(kt.(string)))
				if !first && !lessUTF16(prev, k) {
					t.Fatalf("keys out of order in %s", c)
				}
				prev, first = k, false
				walk()
			}
			dec.Token()
		case json.Delim('['):
			for dec.More() {
				walk()
			}
			dec.Token()
		}
	}
	walk()
}

func lessUTF16(a, b []uint16) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// parseStrict agrees with encoding/json: it accepts exactly the valid JSON
// texts (less those with duplicate keys) and yields the same values.
func FuzzParseStrict(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `-1E-2`, `01`, `1.`, `.5`, `-`, `+1`, `1e`, `[1,]`, `{"a":1,}`, `{"a" 1}`,
		`{"a":1,"a":2}`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\x"`, "\"\x01\"", "\"\xff\"",
		`"\/\b\f\n\r\t\"\\"`, `[true,false,null]`, `tru`, `nul`, ` [ 1 , [ ] , { } ] `, `{"":{"":[]}}`, `"\u00e9\u20AC"`, `1 2`, "\ufeff{}",
		`{"a":[1,{"b":"c"}],"d":-12.5e10}`, `"` + "\u2028" + `"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseStrict(data)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		werr := dec.Decode(&want)
		if werr == nil {
			if _, e := dec.Token(); e != io.EOF {
				werr = errors.New("trailing data")
			}
		}
		if !json.Valid(data) {
			werr = errors.New("invalid")
		}
		if werr != nil {
			if err == nil {
				t.Fatalf("%q: parseStrict accepted, encoding/json: %v", data, werr)
			}
			return
		}
		if err != nil {
			if errors.Is(err, ErrInvalid) && strings.Contains(err.Error(), "duplicate key") {
				return
			}
			t.Fatalf("%q: parseStrict: %v, encoding/json accepted", data, err)
		}
		if !reflect.DeepEqual(got, normalizeDecoded(want)) {
			t.Fatalf("%q: parseStrict %#v, encoding/json %#v", data, got, want)
		}
	})
}

// normalizeDecoded gives encoding/json's result the types parseStrict uses.
func normalizeDecoded(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, y := range x {
			out[i] = normalizeDecoded(y)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, y := range x {
			out[k] = normalizeDecoded(y)
		}
		return out
	}
	return v
}
