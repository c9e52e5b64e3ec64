package exhibit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// ComputeDigest returns the exhibit's digest value: the lower-case hex
// SHA-256 of the RFC 8785 canonical JSON of the exhibit with two keys
// removed:
//
//   - the top-level "digest" key, and
//   - the "generated_at" key inside "provenance".
//
// Both keys are deleted from the document, not set to "" or null: the hashed
// text has no "digest" and no "generated_at" at all. Everything else,
// including reconciliation when present, is covered, so changing any amount,
// hash, address, hop, label or method field changes the digest, while
// writing the same trace at another time does not.
func ComputeDigest(e *Exhibit) (string, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	return DigestJSON(data)
}

// DigestJSON computes the digest value of a serialised exhibit, as
// ComputeDigest does for a parsed one. Verifying a file this way hashes
// exactly what the file holds.
func DigestJSON(data []byte) (string, error) {
	v, err := parseStrict(data)
	if err != nil {
		return "", err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return "", newError(ErrInvalid, "exhibit: the top-level value is not an object")
	}
	delete(top, "digest") // the key itself, not an emptied value
	if prov, ok := top["provenance"].(map[string]any); ok {
		delete(prov, "generated_at") // likewise removed, not emptied
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	if err := writeCanonical(&buf, top); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// Seal computes the digest and records it in e.Digest.
func Seal(e *Exhibit) error {
	v, err := ComputeDigest(e)
	if err != nil {
		return err
	}
	e.Digest = Digest{Algorithm: DigestAlgorithm, Value: v}
	return nil
}

// VerifyDigest checks that e.Digest is the digest of e's content. It returns
// an error wrapping ErrDigestMismatch if not.
func VerifyDigest(e *Exhibit) error {
	if err := checkAlgorithm(e.Digest); err != nil {
		return err
	}
	got, err := ComputeDigest(e)
	if err != nil {
		return err
	}
	return compareDigest(e.Digest, got)
}

func checkAlgorithm(d Digest) error {
	if d.Algorithm != DigestAlgorithm {
		return newError(ErrDigestMismatch, fmt.Sprintf("exhibit digest algorithm %q, want %q", d.Algorithm, DigestAlgorithm))
	}
	return nil
}

func compareDigest(d Digest, computed string) error {
	if d.Value == computed {
		return nil
	}
	recorded := d.Value
	if recorded == "" {
		recorded = "(none)"
	}
	return newError(ErrDigestMismatch, fmt.Sprintf("exhibit digest mismatch: recorded %s, computed %s: the content is not what was sealed", recorded, computed))
}
