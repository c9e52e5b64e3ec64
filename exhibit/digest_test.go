package exhibit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDigestExcludesGeneratedAtAndDigest(t *testing.T) {
	e := sampleExhibit(t)
	d0 := e.Digest.Value
	if len(d0) != 64 || strings.ToLower(d0) != d0 {
		t.Fatalf("digest %q is not 64 lower-case hex digits", d0)
	}
	for _, ts := range []string{"2030-01-01T00:00:00Z", "", "1999-12-31T23:59:59.999+14:00"} {
		e.Provenance.GeneratedAt = ts
		d, err := ComputeDigest(e)
		if err != nil {
			t.Fatal(err)
		}
		if d != d0 {
			t.Errorf("generated_at %q changed the digest", ts)
		}
	}
	e.Digest = Digest{Algorithm: "md5", Value: "whatever"}
	if d, _ := ComputeDigest(e); d != d0 {
		t.Error("the digest field changed the digest")
	}

	// The keys are removed, not emptied: recompute independently.
	doc := toDoc(t, sampleExhibit(t))
	delete(doc, "digest")
	delete(doc["provenance"].(map[string]any), "generated_at")
	canon, err := Canonicalize(doc)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(canon, []byte("generated_at")) || bytes.Contains(canon, []byte(`"digest"`)) {
		t.Fatal("canonical text still holds generated_at or digest")
	}
	sum := sha256.Sum256(canon)
	if want := hex.EncodeToString(sum[:]); want != d0 {
		t.Errorf("digest %s, independent computation %s", d0, want)
	}
	// Emptying instead of removing would give another digest.
	doc["provenance"].(map[string]any)["generated_at"] = ""
	emptied, _ := Canonicalize(doc)
	sum = sha256.Sum256(emptied)
	if hex.EncodeToString(sum[:]) == d0 {
		t.Error("digest is the same with generated_at emptied: the key is not removed")
	}
}

// Every change to sealed content changes the digest, and VerifyDigest says so.
func TestDigestSensitivity(t *testing.T) {
	tests := []struct {
		name string
		f    func(e *Exhibit)
	}{
		{"amount", func(e *Exhibit) { e.Transfers[0].Amount = "250000000000000000001" }},
		{"taint", func(e *Exhibit) { e.Transfers[3].Taint = "0" }},
		{"tx hash", func(e *Exhibit) { e.Transfers[1].TxHash = ethHash("other") }},
		{"block hash", func(e *Exhibit) { e.Transfers[1].BlockHash = ethHash("other") }},
		{"block number", func(e *Exhibit) { e.Transfers[1].BlockNumber++ }},
		{"to address", func(e *Exhibit) { e.Transfers[6].To = addrTornado }},
		{"from address", func(e *Exhibit) { e.Transfers[6].From = []string{addrHacker} }},
		{"address case", func(e *Exhibit) { e.Addresses[1].Address = strings.ToLower(e.Addresses[1].Address) }},
		{"position", func(e *Exhibit) { e.Transfers[4].Position = "call:0.0" }},
		{"token id", func(e *Exhibit) { e.Transfers[2].TokenID = "8818" }},
		{"transfer hop", func(e *Exhibit) { e.Transfers[5].Hop = 4 }},
		{"address hop", func(e *Exhibit) { e.Addresses[2].Hop = 1 }},
		{"address taint", func(e *Exhibit) { e.Addresses[1].Taint[tokenUSDT] = "1" }},
		{"label", func(e *Exhibit) { e.Addresses[5].Labels[0].Label = "Binance 15" }},
		{"label category", func(e *Exhibit) { e.Addresses[5].Labels[0].Category = "service" }},
		{"cluster", func(e *Exhibit) { e.Addresses[2].Cluster = "c-0001" }},
		{"endpoint amount", func(e *Exhibit) { e.Endpoints[0].Amount = "1" }},
		{"finding confidence", func(e *Exhibit) { e.Findings[0].Confidence = 91 }},
		{"finding evidence order", func(e *Exhibit) { ev := e.Findings[0].Evidence; ev[0], ev[1] = ev[1], ev[0] }},
		{"taint model", func(e *Exhibit) { e.Method.TaintModel = "poison" }},
		{"max hops", func(e *Exhibit) { e.Method.MaxHops = 9 }},
		{"min value", func(e *Exhibit) { e.Method.MinValue = "0" }},
		{"to block", func(e *Exhibit) { e.Method.ToBlock = 19100001 }},
		{"internal transfers", func(e *Exhibit) { e.Method.InternalTransfers = false }},
		{"stop categories", func(e *Exhibit) { e.Method.StopCategories = e.Method.StopCategories[:2] }},
		{"heuristic version", func(e *Exhibit) { e.Method.Heuristics[1].Version = "2" }},
		{"heuristic params", func(e *Exhibit) { e.Method.Heuristics[1].Params = json.RawMessage(`{"min_length":4}`) }},
		{"seeds", func(e *Exhibit) { e.Seeds = []string{addrMule} }},
		{"case title", func(e *Exhibit) { e.Case.Title = "x" }},
		{"chain id", func(e *Exhibit) { e.Provenance.ChainID = 10 }},
		{"tip hash", func(e *Exhibit) { e.Provenance.Tip.Hash = ethHash("tip2") }},
		{"source", func(e *Exhibit) { e.Provenance.Sources[0].ClientVersion = "Geth/v1.17.9" }},
		{"label set hash", func(e *Exhibit) { e.Provenance.LabelSets[0].SHA256 = fakeHash("", "x") }},
		{"reconciliation fee", func(e *Exhibit) { e.Reconciliation[0].Fee["ETH"] = "1" }},
		{"reconciliation removed", func(e *Exhibit) { e.Reconciliation = nil }},
		{"transfer removed", func(e *Exhibit) { e.Transfers = e.Transfers[1:] }},
	}
	base := sampleExhibit(t).Digest.Value
	seen := map[string]string{base: "unchanged"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := sampleExhibit(t)
			tc.f(e)
			if err := VerifyDigest(e); !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("VerifyDigest after change: %v, want ErrDigestMismatch", err)
			}
			d, err := ComputeDigest(e)
			if err != nil {
				t.Fatal(err)
			}
			if prev, dup := seen[d]; dup {
				t.Errorf("digest same as for %q", prev)
			}
			seen[d] = tc.name
		})
	}
}

func TestSealVerify(t *testing.T) {
	e := sampleExhibit(t)
	if e.Digest.Algorithm != "sha256" {
		t.Errorf("algorithm %q", e.Digest.Algorithm)
	}
	if err := VerifyDigest(e); err != nil {
		t.Fatal(err)
	}
	first := e.Digest
	if err := Seal(e); err != nil || e.Digest != first {
		t.Errorf("sealing twice changed the digest: %v %v", e.Digest, err)
	}
	// The digest of the written file equals the digest of the struct.
	b, _ := Marshal(e)
	if d, err := DigestJSON(b); err != nil || d != first.Value {
		t.Errorf("DigestJSON(file) = %s, %v; want %s", d, err, first.Value)
	}
	// Indentation and key order of the file do not matter.
	var compact bytes.Buffer
	json.Compact(&compact, b)
	if d, _ := DigestJSON(compact.Bytes()); d != first.Value {
		t.Error("compacting the file changed its digest")
	}
	e.Digest.Algorithm = "sha512"
	if err := VerifyDigest(e); !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "sha512") {
		t.Errorf("wrong algorithm: %v", err)
	}
	e.Digest = Digest{Algorithm: "sha256"}
	if err := VerifyDigest(e); !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "(none)") {
		t.Errorf("no digest: %v", err)
	}
	// A float smuggled into params cannot be sealed.
	e.Method.Heuristics[0].Params = json.RawMessage(`{"ratio":0.5}`)
	if err := Seal(e); err == nil {
		t.Error("sealed an exhibit holding a float")
	}
}
