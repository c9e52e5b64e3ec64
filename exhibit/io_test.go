package exhibit

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
)

func TestRoundTrip(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) *Exhibit{"eth": sampleExhibit, "btc": sampleBTC} {
		t.Run(name, func(t *testing.T) {
			e := mk(t)
			var buf bytes.Buffer
			if err := Write(&buf, e); err != nil {
				t.Fatal(err)
			}
			got, err := Read(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, e) {
				a, _ := json.MarshalIndent(got, "", " ")
				b, _ := json.MarshalIndent(e, "", " ")
				t.Fatalf("Read(Write(e)) != e\n got: %s\nwant: %s", a, b)
			}
			var again bytes.Buffer
			if err := Write(&again, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), buf.Bytes()) {
				t.Fatal("Write(Read(Write(e))) differs from Write(e)")
			}
			if err := VerifyDigest(got); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWriteFormat(t *testing.T) {
	e := sampleExhibit(t)
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("}\n")) || bytes.HasSuffix(b, []byte("\n\n")) {
		t.Error("output does not end in exactly one newline")
	}
	if !bytes.HasPrefix(b, []byte("{\n  \"schema\": \"chaintrace/exhibit/v1\",\n  \"case\": {\n    \"id\": ")) {
		t.Errorf("output does not start with 2-space indented schema, case: %.80s", b)
	}
	// Top-level keys in the fixed order.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token()
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"schema", "case", "chain", "seeds", "method", "provenance", "transfers", "addresses", "endpoints", "findings", "reconciliation", "digest"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("top-level keys %v, want %v", keys, want)
	}
	// A transfer row's keys in contract order, token_id only on erc721.
	for _, tc := range []struct {
		i    int
		want string
	}{
		{0, `"tx_hash","block_number","tx_index","block_hash","timestamp","position","kind","from","to","asset","amount","taint","hop"`},
		{2, `"tx_hash","block_number","tx_index","block_hash","timestamp","position","kind","from","to","asset","amount","token_id","taint","hop"`},
	} {
		row, _ := json.Marshal(e.Transfers[tc.i])
		if got := strings.Join(objectKeys(t, row), ","); got != strings.ReplaceAll(tc.want, `"`, "") {
			t.Errorf("row %d keys %s, want %s", tc.i, got, tc.want)
		}
	}
	// No HTML escaping, readable non-ASCII; amounts are strings.
	for _, s := range []string{`<hot wallet> & co\tQ1`, `Ω-Börse`, `"amount": "250000000000000000000"`, `"block_number": 19000100`, `"token_id": "8817"`, `"confidence": 90`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("output lacks %s", s)
		}
	}
}

func objectKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token()
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestWriteDeterministic(t *testing.T) {
	a, err := Marshal(sampleExhibit(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		// A fresh exhibit each time: new maps, filled in another order.
		e := sampleExhibit(t)
		for j := range e.Addresses {
			m := map[string]string{}
			keys := sortedKeys(e.Addresses[j].Taint)
			for k := len(keys) - 1; k >= 0; k-- {
				m[keys[k]] = e.Addresses[j].Taint[keys[k]]
			}
			e.Addresses[j].Taint = m
		}
		b, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("run %d: output differs", i)
		}
	}
}

func TestWriteNeverNull(t *testing.T) {
	e := &Exhibit{Schema: Schema, Chain: chains.ETH}
	e.Addresses = []Address{{Address: addrMule}}
	e.Transfers = []Transfer{{Row: chains.Row{Kind: chains.KindNative}}}
	e.Findings = []Finding{{Kind: "peel_chain"}}
	e.Method.Heuristics = []Heuristic{{Name: "peel_chain"}}
	e.Reconciliation = []Reconciliation{{TxHash: "0x00"}}
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("null")) {
		t.Errorf("output has null:\n%s", b)
	}
	for _, s := range []string{`"seeds": []`, `"stop_categories": []`, `"sources": []`, `"label_sets": []`, `"endpoints": []`, `"from": []`, `"labels": []`, `"taint": {}`, `"evidence": []`, `"params": {}`, `"fee": {}`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("output lacks %s", s)
		}
	}
	// An exhibit without reconciliation omits the key, and reads back.
	e.Reconciliation = nil
	b, _ = Marshal(e)
	if bytes.Contains(b, []byte("reconciliation")) {
		t.Error("empty reconciliation is written")
	}
	if _, err := Unmarshal(b); err != nil {
		t.Errorf("exhibit without reconciliation: %v", err)
	}
	// Write refuses an exhibit of another (or no) schema.
	e.Schema = ""
	if err := Write(&bytes.Buffer{}, e); !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("Write without schema: %v, want ErrSchemaVersion", err)
	}
}

func TestReadErrors(t *testing.T) {
	good, err := Marshal(sampleExhibit(t))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(doc map[string]any)) string {
		doc := toDoc(t, sampleExhibit(t))
		f(doc)
		return string(docBytes(t, doc))
	}
	tests := []struct {
		name  string
		in    string
		kind  error
		wants []string // substrings of the message
	}{
		{"empty", "", ErrNotJSON, []string{"not JSON", "empty"}},
		{"garbage", "exhibit", ErrNotJSON, []string{"not JSON", "line 1, column"}},
		{"truncated", string(good[:len(good)/2]), ErrNotJSON, []string{"not JSON", "end of input"}},
		{"syntax error on line 3", "{\n  \"schema\": \"chaintrace/exhibit/v1\",\n  \"case\" {}\n}", ErrNotJSON, []string{"not JSON: ", "line 3, column"}},
		{"trailing data", string(good) + "{}", ErrNotJSON, []string{"not JSON", "after the top-level value"}},
		{"array", `[]`, ErrInvalid, []string{"an array, want an object"}},
		{"no schema", `{"case":{}}`, ErrSchemaVersion, []string{`no "schema" key`}},
		{"schema not string", `{"schema":1}`, ErrSchemaVersion, []string{"a number"}},
		{"wrong schema", strings.Replace(string(good), "chaintrace/exhibit/v1", "chaintrace/exhibit/v2", 1), ErrSchemaVersion,
			[]string{`exhibit schema "chaintrace/exhibit/v2", want chaintrace/exhibit/v1`}},
		{"unknown top-level key", edit(func(d map[string]any) { d["comment"] = "x" }), ErrInvalid, []string{`unknown key "comment" at / (the top level)`}},
		{"unknown nested key", edit(func(d map[string]any) { at(t, d, "/transfers/4").(map[string]any)["gas"] = "21000" }), ErrInvalid,
			[]string{`unknown key "gas" at /transfers/4`, "line "}},
		{"wrong-case key", edit(func(d map[string]any) {
			m := at(t, d, "/provenance").(map[string]any)
			m["Chain_ID"] = m["chain_id"]
			delete(m, "chain_id")
		}), ErrInvalid, []string{`unknown key "Chain_ID" at /provenance`}},
		{"duplicate key", strings.Replace(string(good), `"chain": "eth",`, `"chain": "eth", "chain": "btc",`, 1), ErrInvalid, []string{`duplicate key "chain"`}},
		{"number as string", edit(func(d map[string]any) { set(t, d, "/transfers/1/block_number", "19000105", false) }), ErrInvalid,
			[]string{"block_number", "string", "line "}},
		{"amount as number", edit(func(d map[string]any) { set(t, d, "/transfers/1/amount", json.Number("1500000000000"), false) }), ErrInvalid,
			[]string{"/transfers/1/amount: found the number 1500000000000, want a string (line "}},
		{"float confidence", edit(func(d map[string]any) { set(t, d, "/findings/1/confidence", json.Number("75.5"), false) }), ErrInvalid,
			[]string{"/findings/1/confidence: found the number 75.5, want an integer"}},
		{"negative block", edit(func(d map[string]any) { set(t, d, "/endpoints/0/first_block", json.Number("-1"), false) }), ErrInvalid,
			[]string{"/endpoints/0/first_block: found the number -1, want a non-negative integer"}},
		{"null array", edit(func(d map[string]any) { set(t, d, "/seeds", nil, false) }), ErrInvalid,
			[]string{"/seeds: found null, want an array"}},
		{"missing key", edit(func(d map[string]any) { set(t, d, "/transfers/0/taint", nil, true) }), ErrInvalid,
			[]string{`missing key "taint" at /transfers/0 (line `}},
		{"missing top-level key", edit(func(d map[string]any) { delete(d, "digest") }), ErrInvalid,
			[]string{`missing key "digest" at / (the top level)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Read(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error; read %+v", e.Case)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("error %q is not %v", err, tc.kind)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestReadVerified(t *testing.T) {
	e := sampleExhibit(t)
	good, _ := Marshal(e)
	if _, err := ReadVerified(bytes.NewReader(good)); err != nil {
		t.Fatalf("sample: %v", err)
	}
	// One digit of one amount changed, the file still fits the schema.
	tampered := bytes.Replace(good, []byte(`"amount": "30000000000000000000"`), []byte(`"amount": "20000000000000000000"`), 1)
	if bytes.Equal(tampered, good) {
		t.Fatal("tamper target not found")
	}
	if _, err := ReadVerified(bytes.NewReader(tampered)); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("tampered: %v, want ErrDigestMismatch", err)
	}
	// generated_at is not sealed.
	regen := bytes.Replace(good, []byte(e.Provenance.GeneratedAt), []byte("2030-01-01T00:00:00Z"), 1)
	if _, err := ReadVerified(bytes.NewReader(regen)); err != nil {
		t.Errorf("changed generated_at: %v", err)
	}
	invalid := bytes.Replace(good, []byte(`"confidence": 90`), []byte(`"confidence": 900`), 1)
	var se *SchemaError
	if _, err := ReadVerified(bytes.NewReader(invalid)); !errors.As(err, &se) {
		t.Errorf("invalid: %v, want a *SchemaError", err)
	}
}

func TestNewTransfer(t *testing.T) {
	tr := &chains.Transfer{
		TxHash: ethHash("x"), BlockNumber: 5, TxIndex: 1, BlockHash: ethHash("b"), Timestamp: 1700000000,
		Position: "log:3", Kind: chains.KindERC721, From: []string{addrHacker}, To: addrMule,
		Asset: tokenBAYC, Amount: big.NewInt(1), TokenID: new(big.Int).Lsh(big.NewInt(1), 200),
	}
	row := NewTransfer(tr, 4, nil)
	if row.Taint != "0" || row.Hop != 4 || row.TokenID != "1606938044258990275541962092341162602522202993782792835301376" || row.Timestamp != "2023-11-14T22:13:20Z" {
		t.Errorf("row = %+v", row)
	}
	b, _ := json.Marshal(row)
	if !bytes.Contains(b, []byte(`"token_id":"1606938044258990275541962092341162602522202993782792835301376","taint":"0","hop":4}`)) {
		t.Errorf("json %s", b)
	}
	tr.Kind, tr.TokenID, tr.Position = chains.KindNative, nil, "tx"
	b, _ = json.Marshal(NewTransfer(tr, 1, big.NewInt(7)))
	if bytes.Contains(b, []byte("token_id")) || !bytes.Contains(b, []byte(`"taint":"7","hop":1`)) {
		t.Errorf("native json %s", b)
	}
}

func TestSortTransfers(t *testing.T) {
	e := sampleExhibit(t)
	want := append([]Transfer(nil), e.Transfers...)
	got := append([]Transfer(nil), e.Transfers...)
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	SortTransfers(got)
	if !reflect.DeepEqual(got, want) {
		t.Error("SortTransfers does not restore exhibit order")
	}
	ordered := []string{"tx", "call:0", "call:0.0", "call:0.0.5", "call:0.1", "call:0.10", "call:2", "call:10", "log:0", "log:2", "log:10", "log:100"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := ComparePosition(ordered[i], ordered[j]); got != want {
				t.Errorf("ComparePosition(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if ComparePosition("out:2", "out:10") != -1 {
		t.Error("out:2 must come before out:10")
	}
}

func TestReconciliationCheck(t *testing.T) {
	e := sampleExhibit(t)
	for _, r := range e.Reconciliation {
		if err := r.Check(); err != nil {
			t.Error(err)
		}
	}
	r := e.Reconciliation[0]
	r.Fee = map[string]string{"ETH": "1"}
	if err := r.Check(); err == nil || !strings.Contains(err.Error(), "value_in") {
		t.Errorf("unbalanced: %v", err)
	}
	r.Fee = map[string]string{"ETH": "-5"}
	if err := r.Check(); err == nil {
		t.Error("negative fee accepted")
	}
}
