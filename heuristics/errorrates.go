package heuristics

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/chaintrace/chaintrace/exhibit"
)

// errorRatesJSON is the last measurement of the heuristics' error rates on
// labelled scenario chains, written with docs/heuristics-report.md by
// `make heuristics-report` (internal/heurlab).
//
//go:embed errorrates.json
var errorRatesJSON []byte

// ErrorRatesReport is where the measured rates are published, relative to
// the repository.
const ErrorRatesReport = "docs/heuristics-report.md"

// measuredRow is one row of errorrates.json (internal/heurlab.Row).
type measuredRow struct {
	Heuristic string          `json:"heuristic"`
	Version   string          `json:"version"`
	Params    json.RawMessage `json:"params"`
	Chain     string          `json:"chain"`
	Decision  string          `json:"decision"`
	Unit      string          `json:"unit"`
	TP        int64           `json:"TP"`
	FP        int64           `json:"FP"`
	FN        int64           `json:"FN"`
	TN        int64           `json:"TN"`
}

// ErrorRates are measured rates, looked up by heuristic.
type ErrorRates struct {
	Generated string        `json:"generated"`
	Rows      []measuredRow `json:"rows"`
	digest    string
}

// ParseErrorRates reads a rates file (the JSON internal/heurlab writes).
func ParseErrorRates(data []byte) (*ErrorRates, error) {
	var r ErrorRates
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("error rates: %w", err)
	}
	s := sha256.Sum256(data)
	r.digest = hex.EncodeToString(s[:])
	return &r, nil
}

var (
	embeddedOnce  sync.Once
	embeddedRates *ErrorRates
	embeddedErr   error
)

// EmbeddedErrorRates are the rates this build carries.
func EmbeddedErrorRates() (*ErrorRates, error) {
	embeddedOnce.Do(func() { embeddedRates, embeddedErr = ParseErrorRates(errorRatesJSON) })
	return embeddedRates, embeddedErr
}

// Digest is the SHA-256 of the rates file, as the report prints it.
func (r *ErrorRates) Digest() string { return r.digest }

// Cite returns info with its measured error rates added to its params
// under "error_rates" (a list: one entry per decision measured), when the
// rates hold a measurement of this heuristic, version and exact
// parameters; otherwise info unchanged. Rates measured with other
// parameters say nothing about these, so they are not cited.
func (r *ErrorRates) Cite(info Info) Info {
	if r == nil {
		return info
	}
	want, err := exhibit.Canonicalize(paramsOf(info))
	if err != nil {
		return info
	}
	var cites []any
	for _, row := range r.Rows {
		if row.Heuristic != info.Name || row.Version != info.Version {
			continue
		}
		got, err := exhibit.CanonicalizeJSON(row.Params)
		if err != nil || !bytes.Equal(got, want) {
			continue
		}
		cites = append(cites, map[string]any{
			"report":   ErrorRatesReport,
			"digest":   r.digest,
			"measured": r.Generated,
			"chain":    row.Chain,
			"decision": row.Decision,
			"unit":     row.Unit,
			"fpr":      fraction(row.FP, row.FP+row.TN),
			"fnr":      fraction(row.FN, row.FN+row.TP),
			"fdr":      fraction(row.FP, row.FP+row.TP),
		})
	}
	if len(cites) == 0 {
		return info
	}
	p := make(map[string]any, len(info.Params)+1)
	for k, v := range info.Params {
		p[k] = v
	}
	p["error_rates"] = cites
	info.Params = p
	return info
}

func paramsOf(i Info) map[string]any {
	if i.Params == nil {
		return map[string]any{}
	}
	return i.Params
}

// fraction is "num/den", exact.
func fraction(num, den int64) string {
	return strconv.FormatInt(num, 10) + "/" + strconv.FormatInt(den, 10)
}
