package exhibit

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
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
			wantProblem(t, Validate(docBytes(t, doc)), tc.pointer, tc.msg)
		})
	}
}

// wantProblem checks that err is a *SchemaError with a problem at pointer
// whose message contains msg, and that the error text names the pointer.
func wantProblem(t *testing.T, err error, pointer, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted")
	}
	var se *SchemaError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v is not a *SchemaError / ErrInvalid", err)
	}
	found := false
	for _, p := range se.Problems {
		if p.Pointer == pointer && strings.Contains(p.Message, msg) {
			found = true
		}
	}
	if !found {
		t.Errorf("no problem at %q mentioning %q in: %v", pointer, msg, err)
	}
	if pointer != "" && !strings.Contains(err.Error(), pointer+": ") {
		t.Errorf("error text does not name %s: %v", pointer, err)
	}
}

func TestValidateNotJSON(t *testing.T) {
	if err := Validate([]byte(`{"schema":`)); !errors.Is(err, ErrNotJSON) {
		t.Errorf("got %v, want ErrNotJSON", err)
	}
}

// The added keys of a trace run under several taint models, with the seeds
// split into colours, backwards.
var (
	addedModels  = []string{"haircut", "poison", "fifo"} // after the sample's own taint_model, the primary
	addedColours = []string{"theft-a", "theft.b_2"}
)

// withAddedKeys adds to a sample document (toDoc of sampleExhibit or
// sampleBTC) every added key: method.taint_models, method.colours (a second
// seed makes the second colour), method.direction, and taint_by_model and
// taint_by_colour on every transfer, address, endpoint and reconciliation
// entry, with taint_fee on every reconciliation entry (the btc sample gets
// one). The figures are the sample's taint for every model except poison,
// which takes the whole amount; the first colour has all of it, the second
// none.
func withAddedKeys(t *testing.T, doc map[string]any, btc bool) map[string]any {
	t.Helper()
	method := doc["method"].(map[string]any)
	primary := method["taint_model"].(string)
	models := []string{primary}
	for _, m := range addedModels {
		if m != primary {
			models = append(models, m)
		}
	}
	second := "0x00000000219ab540356cBB839Cbe05303d7705Fa"
	if btc {
		second = fakeHash("", "btc second theft") + ":0"
	}
	first := doc["seeds"].([]any)[0]
	doc["seeds"] = append(doc["seeds"].([]any), second)
	method["taint_models"] = strs(models...)
	method["colours"] = []any{
		map[string]any{"name": addedColours[0], "seeds": []any{first}},
		map[string]any{"name": addedColours[1], "seeds": []any{second}},
	}
	method["direction"] = "backward"

	// byModel gives poison whole, the others taint; byColour gives the
	// first colour byModel and the second zero.
	byModel := func(taint, whole any) map[string]any {
		m := map[string]any{}
		for _, k := range models {
			if k == "poison" {
				m[k] = whole
			} else {
				m[k] = taint
			}
		}
		return m
	}
	byColour := func(taint, whole, zero any) map[string]any {
		return map[string]any{addedColours[0]: byModel(taint, whole), addedColours[1]: byModel(zero, zero)}
	}
	for _, r := range doc["transfers"].([]any) {
		row := r.(map[string]any)
		row["taint_by_model"] = byModel(row["taint"], row["amount"])
		row["taint_by_colour"] = byColour(row["taint"], row["amount"], "0")
	}
	for _, e := range doc["endpoints"].([]any) {
		row := e.(map[string]any)
		row["taint_by_model"] = byModel(row["taint"], row["amount"])
		row["taint_by_colour"] = byColour(row["taint"], row["amount"], "0")
	}
	for _, a := range doc["addresses"].([]any) {
		row := a.(map[string]any)
		zero := map[string]any{}
		for asset := range row["taint"].(map[string]any) {
			zero[asset] = "0"
		}
		row["taint_by_model"] = byModel(row["taint"], row["taint"])
		row["taint_by_colour"] = byColour(row["taint"], row["taint"], zero)
	}
	if btc {
		spend := at(t, doc, "/transfers/0/tx_hash")
		doc["reconciliation"] = []any{map[string]any{
			"tx_hash":   spend,
			"value_in":  map[string]any{"BTC": "200000000"},
			"value_out": map[string]any{"BTC": "199991000"},
			"fee":       map[string]any{"BTC": "9000"},
			"taint_in":  map[string]any{"BTC": "100000000"},
			"taint_out": map[string]any{"BTC": "100000000"},
		}}
	}
	for _, r := range doc["reconciliation"].([]any) {
		rec := r.(map[string]any)
		in, out := rec["taint_in"].(map[string]any), rec["taint_out"].(map[string]any)
		fee, zero := map[string]any{}, map[string]any{}
		for asset, v := range in {
			o, _ := out[asset].(string)
			fee[asset] = new(big.Int).Sub(wei(v.(string)), wei(or0(o))).String()
			zero[asset] = "0"
		}
		rec["taint_fee"] = fee
		bal := map[string]any{"taint_in": in, "taint_out": out, "taint_fee": fee}
		none := map[string]any{"taint_in": zero, "taint_out": zero, "taint_fee": zero}
		rec["taint_by_model"] = byModel(bal, bal)
		rec["taint_by_colour"] = byColour(bal, bal, none)
	}
	// The edits above share maps between keys; a copy through JSON makes
	// every value its own, so that a test's edit changes one place only.
	v, err := parseStrict(docBytes(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func strs(ss ...string) []any {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	return a
}

func or0(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func addedKeysDoc(t *testing.T, btc bool) map[string]any {
	t.Helper()
	if btc {
		return withAddedKeys(t, toDoc(t, sampleBTC(t)), true)
	}
	return withAddedKeys(t, toDoc(t, sampleExhibit(t)), false)
}

func TestValidateAcceptsAddedKeys(t *testing.T) {
	for name, btc := range map[string]bool{"eth": false, "btc": true} {
		t.Run(name, func(t *testing.T) {
			doc := addedKeysDoc(t, btc)
			// The keys are there.
			for _, ptr := range []string{
				"/method/taint_models/1", "/method/colours/1/seeds/0", "/method/direction",
				"/transfers/0/taint_by_model/poison", "/transfers/0/taint_by_colour/theft.b_2/fifo",
				"/addresses/0/taint_by_model/haircut", "/addresses/0/taint_by_colour/theft-a/poison",
				"/endpoints/0/taint_by_model/poison", "/endpoints/0/taint_by_colour/theft-a/haircut",
				"/reconciliation/0/taint_fee", "/reconciliation/0/taint_by_model/fifo/taint_fee",
				"/reconciliation/0/taint_by_colour/theft-a/poison/taint_in",
			} {
				if at(t, doc, ptr) == nil {
					t.Fatalf("sample has nothing at %s", ptr)
				}
			}
			if err := Validate(docBytes(t, doc)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidateRejectsAddedKeys(t *testing.T) {
	type edit = func(t *testing.T, doc map[string]any)
	setTo := func(ptr string, v any) edit {
		return func(t *testing.T, doc map[string]any) { set(t, doc, ptr, v, false) }
	}
	remove := func(ptr string) edit {
		return func(t *testing.T, doc map[string]any) { set(t, doc, ptr, nil, true) }
	}
	// rename moves the value at ptr to the key name of the same object.
	rename := func(ptr, name string) edit {
		return func(t *testing.T, doc map[string]any) {
			v := at(t, doc, ptr)
			set(t, doc, ptr, nil, true)
			toks := splitPointer(ptr)
			toks[len(toks)-1] = name
			set(t, doc, "/"+joinPointer(toks), v, false)
		}
	}
	tests := []struct {
		name    string
		btc     bool
		edit    edit
		pointer string // a reported problem is at this pointer
		msg     string // and its message contains this
	}{
		// The cases of the brief.
		{"unknown model in transfer taint_by_model", false, rename("/transfers/0/taint_by_model/fifo", "magic"), "/transfers/0/taint_by_model", "additional properties 'magic' not allowed"},
		{"non-decimal amount in transfer taint_by_colour", false, setTo("/transfers/1/taint_by_colour/theft-a/haircut", "1.5"), "/transfers/1/taint_by_colour/theft-a/haircut", "does not match pattern"},
		{"direction sideways", false, setTo("/method/direction", "sideways"), "/method/direction", "backward"},
		{"reconciliation taint_by_model without taint_fee", false, remove("/reconciliation/0/taint_by_model/haircut/taint_fee"), "/reconciliation/0/taint_by_model/haircut", "taint_fee"},
		{"colour name with a space", false, setTo("/method/colours/0/name", "theft a"), "/method/colours/0/name", "does not match pattern"},

		// More of the same kinds.
		{"unknown model in address taint_by_model", false, rename("/addresses/1/taint_by_model/poison", "Poison"), "/addresses/1/taint_by_model", "additional properties 'Poison' not allowed"},
		{"unknown model in endpoint taint_by_colour", false, rename("/endpoints/0/taint_by_colour/theft-a/haircut", "average"), "/endpoints/0/taint_by_colour/theft-a", "additional properties 'average' not allowed"},
		{"unknown model in reconciliation taint_by_colour", false, rename("/reconciliation/1/taint_by_colour/theft.b_2/fifo", "fofi"), "/reconciliation/1/taint_by_colour/theft.b_2", "additional properties 'fofi' not allowed"},
		{"colour key with a space", false, rename("/transfers/0/taint_by_colour/theft-a", "theft a"), "/transfers/0/taint_by_colour", "additional properties 'theft a' not allowed"},
		{"colour key starting with a dot", false, rename("/reconciliation/0/taint_by_colour/theft-a", ".hidden"), "/reconciliation/0/taint_by_colour", "additional properties '.hidden' not allowed"},
		{"non-decimal amount in address taint_by_colour", false, setTo("/addresses/1/taint_by_colour/theft-a/fifo/ETH", "0x10"), "/addresses/1/taint_by_colour/theft-a/fifo/ETH", "does not match pattern"},
		{"number in endpoint taint_by_model", false, setTo("/endpoints/1/taint_by_model/haircut", json.Number("1")), "/endpoints/1/taint_by_model/haircut", "want string"},
		{"negative taint_fee", false, setTo("/reconciliation/0/taint_fee/ETH", "-1"), "/reconciliation/0/taint_fee/ETH", "does not match pattern"},
		{"unknown key in a taint balance", false, setTo("/reconciliation/0/taint_by_model/poison/fee", map[string]any{}), "/reconciliation/0/taint_by_model/poison", "fee"},
		{"one taint model listed", false, setTo("/method/taint_models", strs("haircut")), "/method/taint_models", "minItems"},
		{"taint model listed twice", false, setTo("/method/taint_models", strs("haircut", "fifo", "haircut")), "/method/taint_models", "are equal"},
		{"unknown taint model listed", false, setTo("/method/taint_models/2", "magic"), "/method/taint_models/2", `(found "magic")`},
		{"one colour", false, func(t *testing.T, doc map[string]any) {
			set(t, doc, "/method/colours", []any{at(t, doc, "/method/colours/0")}, false)
		}, "/method/colours", "minItems"},
		{"colour without seeds", false, setTo("/method/colours/1/seeds", []any{}), "/method/colours/1/seeds", "minItems"},
		{"colour with an empty seed", false, setTo("/method/colours/1/seeds/0", ""), "/method/colours/1/seeds/0", "minLength"},
		{"unknown key in a colour", false, setTo("/method/colours/0/taint", "1"), "/method/colours/0", "taint"},
		{"direction forward", false, setTo("/method/direction", "forward"), "/method/direction", "backward"},

		// The chain's asset forms apply to the added asset maps.
		{"BTC in eth reconciliation taint_fee", false, rename("/reconciliation/0/taint_fee/ETH", "BTC"), "/reconciliation/0/taint_fee", "additional properties 'BTC' not allowed"},
		{"BTC in eth address taint_by_model", false, rename("/addresses/1/taint_by_model/haircut/ETH", "BTC"), "/addresses/1/taint_by_model/haircut", "additional properties 'BTC' not allowed"},
		{"BTC in eth address taint_by_colour", false, rename("/addresses/1/taint_by_colour/theft-a/haircut/ETH", "BTC"), "/addresses/1/taint_by_colour/theft-a/haircut", "additional properties 'BTC' not allowed"},
		{"BTC in eth reconciliation taint_by_model", false, rename("/reconciliation/0/taint_by_model/fifo/taint_out/ETH", "BTC"), "/reconciliation/0/taint_by_model/fifo/taint_out", "additional properties 'BTC' not allowed"},
		{"ETH in btc reconciliation taint_fee", true, rename("/reconciliation/0/taint_fee/BTC", "ETH"), "/reconciliation/0/taint_fee", "additional properties 'ETH' not allowed"},
		{"ETH in btc address taint_by_model", true, rename("/addresses/0/taint_by_model/fifo/BTC", "ETH"), "/addresses/0/taint_by_model/fifo", "additional properties 'ETH' not allowed"},
		{"BTC in eth address taint (an old key)", false, rename("/addresses/1/taint/ETH", "BTC"), "/addresses/1/taint", "additional properties 'BTC' not allowed"},
		{"ETH in btc reconciliation taint_by_colour", true, rename("/reconciliation/0/taint_by_colour/theft-a/poison/taint_in/BTC", "ETH"), "/reconciliation/0/taint_by_colour/theft-a/poison/taint_in", "additional properties 'ETH' not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := addedKeysDoc(t, tc.btc)
			tc.edit(t, doc)
			wantProblem(t, Validate(docBytes(t, doc)), tc.pointer, tc.msg)
		})
	}
}

// The maps keyed by model or colour list their keys as a pattern, which must
// accept the names of $defs/modelName and the form of $defs/colourName.
func TestSchemaKeyPatterns(t *testing.T) {
	var doc struct {
		Defs map[string]struct {
			Enum              []string       `json:"enum"`
			Pattern           string         `json:"pattern"`
			PatternProperties map[string]any `json:"patternProperties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	models := "^(" + strings.Join(doc.Defs["modelName"].Enum, "|") + ")$"
	colours := doc.Defs["colourName"].Pattern
	for def, want := range map[string]string{
		"modelAmounts": models, "modelAssetAmounts": models, "modelTaintBalances": models,
		"colourModelAmounts": colours, "colourModelAssetAmounts": colours, "colourModelTaintBalances": colours,
	} {
		pp := doc.Defs[def].PatternProperties
		if _, ok := pp[want]; !ok || len(pp) != 1 {
			t.Errorf("$defs/%s: patternProperties %v, want the one key %s", def, pp, want)
		}
	}
}
