package exhibit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaCompiles(t *testing.T) {
	if _, err := compiledSchema(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(SchemaJSON(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["$id"] != SchemaID {
		t.Errorf("$id %v, want %s", doc["$id"], SchemaID)
	}
}

// docs/exhibit.schema.json is a copy of exhibit/exhibit.schema.json (which is
// embedded); `go test ./exhibit -update` refreshes the copy.
func TestSchemaDocsCopy(t *testing.T) {
	docs := filepath.Join("..", "docs", "exhibit.schema.json")
	if *update {
		if err := os.WriteFile(docs, schemaJSON, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(docs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, schemaJSON) {
		t.Fatalf("%s differs from exhibit/exhibit.schema.json; run go test ./exhibit -update", docs)
	}
}

// Every object in the schema that lists properties says what each means.
func TestSchemaDescribesFields(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	defs := doc["$defs"].(map[string]any)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		m, ok := v.(map[string]any)
		if !ok || strings.Contains(path, "Rules") {
			return // the per-chain rules refine fields described elsewhere
		}
		if props, ok := m["properties"].(map[string]any); ok && m["additionalProperties"] == false {
			for name, p := range props {
				pm := p.(map[string]any)
				_, hasDesc := pm["description"]
				ref, _ := pm["$ref"].(string)
				if !hasDesc && !(ref != "" && describedDef(defs, ref)) {
					t.Errorf("%s/properties/%s has no description", path, name)
				}
				walk(path+"/properties/"+name, p)
			}
		}
		for k, sub := range m {
			if k != "properties" {
				walk(path+"/"+k, sub)
			}
		}
	}
	walk("#", doc)
}

func describedDef(defs map[string]any, ref string) bool {
	d, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	if !ok {
		return false
	}
	_, ok = d["description"]
	return ok
}

func TestValidateAccepts(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) *Exhibit{"eth": sampleExhibit, "btc": sampleBTC} {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(mk(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(b); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Without the added key.
	e := sampleExhibit(t)
	e.Reconciliation = nil
	if err := ValidateExhibit(e); err != nil {
		t.Errorf("without reconciliation: %v", err)
	}
}

func TestValidateRejects(t *testing.T) {
	type edit = func(t *testing.T, doc map[string]any)
	setTo := func(ptr string, v any) edit {
		return func(t *testing.T, doc map[string]any) { set(t, doc, ptr, v, false) }
	}
	remove := func(ptr string) edit {
		return func(t *testing.T, doc map[string]any) { set(t, doc, ptr, nil, true) }
	}
	tests := []struct {
		name    string
		btc     bool
		edit    edit
		pointer string // a reported problem is at this pointer
		msg     string // and its message contains this
	}{
		{"amount as JSON number", false, setTo("/transfers/0/amount", json.Number("250000000000000000000")), "/transfers/0/amount", "want string (found the number 250000000000000000000)"},
		{"float amount", false, setTo("/transfers/0/amount", json.Number("2.5e20")), "/transfers/0/amount", "want string"},
		{"amount with decimal point", false, setTo("/endpoints/0/amount", "50.0"), "/endpoints/0/amount", "does not match pattern"},
		{"negative taint", false, setTo("/transfers/0/taint", "-1"), "/transfers/0/taint", "does not match pattern"},
		{"zero amount row", false, setTo("/transfers/0/amount", "0"), "/transfers/0/amount", "does not match pattern"},
		{"missing required top-level key", false, remove("/findings"), "", "findings"},
		{"missing required row key", false, remove("/transfers/3/taint"), "/transfers/3", "taint"},
		{"missing method key", false, remove("/method/min_value"), "/method", "min_value"},
		{"bad position", false, setTo("/transfers/4/position", "call:0..1"), "/transfers/4/position", "does not match pattern"},
		{"position not fitting kind", false, setTo("/transfers/0/position", "log:3"), "/transfers/0/position", "tx"},
		{"bad digest value", false, setTo("/digest/value", "ABCDEF"), "/digest/value", "does not match pattern"},
		{"bad digest algorithm", false, setTo("/digest/algorithm", "md5"), "/digest/algorithm", "sha256"},
		{"unknown transfer kind", false, setTo("/transfers/1/kind", "erc1155"), "/transfers/1/kind", `must be one of 'native', 'internal', 'erc20', 'erc721' (found "erc1155")`},
		{"utxo kind on eth", false, setTo("/transfers/0/kind", "utxo"), "/transfers/0/kind", `(found "utxo")`},
		{"unknown chain", false, setTo("/chain", "sol"), "/chain", `must be one of 'eth', 'btc' (found "sol")`},
		{"unknown top-level key", false, setTo("/extra", true), "", "extra"},
		{"unknown row key", false, setTo("/transfers/0/gas_used", "21000"), "/transfers/0", "gas_used"},
		{"wrong schema", false, setTo("/schema", "chaintrace/exhibit/v2"), "/schema", "chaintrace/exhibit/v1"},
		{"token_id on a native row", false, setTo("/transfers/0/token_id", "1"), "/transfers/0", ""},
		{"erc721 without token_id", false, remove("/transfers/2/token_id"), "/transfers/2", "token_id"},
		{"erc721 amount not 1", false, setTo("/transfers/2/amount", "2"), "/transfers/2/amount", "1"},
		{"eth tx hash without 0x", false, setTo("/transfers/0/tx_hash", strings.TrimPrefix(ethHash("tx"), "0x")), "/transfers/0/tx_hash", "does not match pattern"},
		{"upper-case hash", false, setTo("/transfers/0/block_hash", strings.ToUpper(ethHash("b"))), "/transfers/0/block_hash", "does not match pattern"},
		{"short eth address", false, setTo("/transfers/0/to", "0x1234"), "/transfers/0/to", "does not match pattern"},
		{"two senders on eth", false, setTo("/transfers/0/from", []any{addrHacker, addrMule}), "/transfers/0/from", "maxItems"},
		{"hop 0 transfer", false, setTo("/transfers/0/hop", json.Number("0")), "/transfers/0/hop", "minimum"},
		{"hop as string", false, setTo("/addresses/1/hop", "1"), "/addresses/1/hop", "want integer"},
		{"timestamp not RFC 3339", false, setTo("/transfers/0/timestamp", "2024-01-11 19:06:40"), "/transfers/0/timestamp", ""},
		{"generated_at not RFC 3339", false, setTo("/provenance/generated_at", "yesterday"), "/provenance/generated_at", "date-time"},
		{"confidence above 100", false, setTo("/findings/0/confidence", json.Number("101")), "/findings/0/confidence", "maximum"},
		{"confidence as float", false, setTo("/findings/0/confidence", json.Number("90.5")), "/findings/0/confidence", "want integer"},
		{"float in heuristic params", false, setTo("/method/heuristics/1/params/max_change_ratio", json.Number("0.1")), "/method/heuristics/1/params/max_change_ratio", ""},
		{"unknown taint model", false, setTo("/method/taint_model", "magic"), "/method/taint_model", `(found "magic")`},
		{"endpoint with credentials", false, setTo("/provenance/sources/0/endpoint_redacted", "https://user:pw@node.example/"), "/provenance/sources/0/endpoint_redacted", "does not match pattern"},
		{"endpoint with query", false, setTo("/provenance/sources/0/endpoint_redacted", "https://node.example/?apikey=abc"), "/provenance/sources/0/endpoint_redacted", "does not match pattern"},
		{"label set hash", false, setTo("/provenance/label_sets/0/sha256", "xyz"), "/provenance/label_sets/0/sha256", "does not match pattern"},
		{"reconciliation amount number", false, setTo("/reconciliation/0/fee/ETH", json.Number("441000000000000")), "/reconciliation/0/fee/ETH", "want string"},
		{"reconciliation missing key", false, remove("/reconciliation/1/taint_out"), "/reconciliation/1", "taint_out"},
		{"address taint number", false, setTo("/addresses/1/taint/ETH", json.Number("1")), "/addresses/1/taint/ETH", "want string"},
		{"seeds empty", false, setTo("/seeds", []any{}), "/seeds", "minItems"},
		{"btc eth-style hash", true, setTo("/transfers/0/tx_hash", ethHash("x")), "/transfers/0/tx_hash", "does not match pattern"},
		{"btc bad script output", true, setTo("/transfers/2/to", "script:abc"), "/transfers/2/to", "does not match pattern"},
		{"btc native kind", true, setTo("/transfers/0/kind", "native"), "/transfers/0/kind", ""},
		{"btc position", true, setTo("/transfers/0/position", "tx"), "/transfers/0/position", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			if tc.btc {
				doc = toDoc(t, sampleBTC(t))
			} else {
				doc = toDoc(t, sampleExhibit(t))
			}
			tc.edit(t, doc)
			err := Validate(docBytes(t, doc))
			if err == nil {
				t.Fatal("accepted")
			}
			var se *SchemaError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not a *SchemaError / ErrInvalid", err)
			}
			found := false
			for _, p := range se.Problems {
				if p.Pointer == tc.pointer && strings.Contains(p.Message, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at %q mentioning %q in: %v", tc.pointer, tc.msg, err)
			}
			if tc.pointer != "" && !strings.Contains(err.Error(), tc.pointer+": ") {
				t.Errorf("error text does not name %s: %v", tc.pointer, err)
			}
		})
	}
}

func TestValidateNotJSON(t *testing.T) {
	if err := Validate([]byte(`{"schema":`)); !errors.Is(err, ErrNotJSON) {
		t.Errorf("got %v, want ErrNotJSON", err)
	}
}
