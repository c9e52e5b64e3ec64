package exhibit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/chains"
)

// Schema is the value of the exhibit's "schema" key: the format's name and
// version.
const Schema = "chaintrace/exhibit/v1"

// DigestAlgorithm is the only digest algorithm of v1.
const DigestAlgorithm = "sha256"

// Exhibit is the whole document. Field order is the key order of the written
// JSON and must not change; keys are those of CONTRACT.md. Amounts are
// decimal strings in base units; block numbers, hops, chain id and confidence
// are JSON integers.
type Exhibit struct {
	Schema     string       `json:"schema"`
	Case       Case         `json:"case"`
	Chain      chains.Chain `json:"chain"`
	Seeds      []string     `json:"seeds"`
	Method     Method       `json:"method"`
	Provenance Provenance   `json:"provenance"`
	Transfers  []Transfer   `json:"transfers"`
	Addresses  []Address    `json:"addresses"`
	Endpoints  []Endpoint   `json:"endpoints"`
	Findings   []Finding    `json:"findings"`
	// Reconciliation is an added key (CONTRACT.md): omitted when empty, and
	// readers accept its absence.
	Reconciliation []Reconciliation `json:"reconciliation,omitempty"`
	Digest         Digest           `json:"digest"`
}

// Case identifies the investigation. Each field may be empty.
type Case struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	CreatedBy string `json:"created_by"`
	// Incident cites the catalogued incident the trace started from (an
	// added key: absent when none).
	Incident *Incident `json:"incident,omitempty"`
}

// Incident cites a known hack of the incident catalog: what it is and the
// public sources of its facts.
type Incident struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Date    string   `json:"date"`
	Sources []string `json:"sources"`
}

// Method records how the trace was run, so that it can be run again.
type Method struct {
	TaintModel        string      `json:"taint_model"`
	MaxHops           int         `json:"max_hops"`
	MinValue          string      `json:"min_value"` // base units
	FromBlock         uint64      `json:"from_block"`
	ToBlock           uint64      `json:"to_block"`
	InternalTransfers bool        `json:"internal_transfers"`
	StopCategories    []string    `json:"stop_categories"`
	Heuristics        []Heuristic `json:"heuristics"`
	// TaintModels lists every model the trace ran, the primary
	// (TaintModel) first; absent when only one ran (an added key).
	TaintModels []string `json:"taint_models,omitempty"`
	// Colours names the groups of seeds whose taint is kept apart (one per
	// theft); absent when all seeds are one (an added key).
	Colours []Colour `json:"colours,omitempty"`
	// Direction is "backward" for a trace from an address to the sources
	// of its funds; absent for the forward trace (an added key).
	Direction string `json:"direction,omitempty"`
}

// Colour is a named group of seeds whose taint is counted apart.
type Colour struct {
	Name  string   `json:"name"`
	Seeds []string `json:"seeds"`
}

// DirectionBackward is Method.Direction of a backward trace.
const DirectionBackward = "backward"

// ByModel maps a taint model's name to an amount.
type ByModel map[string]string

// ByColour maps a colour's name to its amounts per model.
type ByColour map[string]ByModel

// Heuristic names one heuristic the trace ran and its parameters.
type Heuristic struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Params is a JSON object. It holds no floating-point numbers (the digest
	// cannot represent them): write a ratio as a decimal string. Build it with
	// MarshalParams; nil is written as {}.
	Params json.RawMessage `json:"params"`
}

// Provenance records what produced the exhibit and from which data.
type Provenance struct {
	Tool        string     `json:"tool"`
	ToolVersion string     `json:"tool_version"`
	ChainID     uint64     `json:"chain_id"`
	Network     string     `json:"network"`
	Tip         Tip        `json:"tip"`
	Sources     []Source   `json:"sources"`
	LabelSets   []LabelSet `json:"label_sets"`
	// GeneratedAt is the RFC 3339 time the exhibit was written. It is the one
	// field left out of the digest.
	GeneratedAt string `json:"generated_at"`
}

// Tip is the chain tip seen when the trace ran.
type Tip struct {
	Number uint64 `json:"number"`
	Hash   string `json:"hash"`
}

// Source is one data source the trace read from.
type Source struct {
	Kind             string `json:"kind"`
	EndpointRedacted string `json:"endpoint_redacted"`
	ClientVersion    string `json:"client_version"`
	// Capabilities is what the source was found to answer (an added key:
	// absent in exhibits written before it existed).
	Capabilities []string `json:"capabilities,omitempty"`
}

// LabelSet is one label file used, identified by its content hash.
type LabelSet struct {
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	Entries int    `json:"entries"`
}

// Transfer is a row of "transfers": the chains.Row fields (the same row the
// `transfers` command prints) followed by taint and hop. TokenID is set on
// erc721 rows only.
type Transfer struct {
	chains.Row
	Taint string `json:"taint"` // base units of Amount attributed to the seeds
	Hop   int    `json:"hop"`   // a seed's own outgoing transfers are hop 1
	// TaintByModel is the taint under every model run (added key: only
	// when several ran); TaintByColour the same per colour (only when the
	// seeds have several colours).
	TaintByModel  ByModel  `json:"taint_by_model,omitempty"`
	TaintByColour ByColour `json:"taint_by_colour,omitempty"`
}

// NewTransfer makes the exhibit row of a transfer reached at the given hop
// with the given taint (nil taint is "0").
func NewTransfer(t *chains.Transfer, hop int, taint *big.Int) Transfer {
	return Transfer{Row: t.Row(), Taint: amountString(taint), Hop: hop}
}

// Address is one address the trace reached.
type Address struct {
	Address string            `json:"address"`
	Hop     int               `json:"hop"`   // 0 for a seed
	Taint   map[string]string `json:"taint"` // asset -> base units received from the seeds
	Labels  []Label           `json:"labels"`
	Cluster string            `json:"cluster"` // cluster id, empty when none
	// TaintByModel is model -> asset -> amount (added key: only when
	// several models ran); TaintByColour is colour -> model -> asset ->
	// amount (only when the seeds have several colours).
	TaintByModel  map[string]map[string]string            `json:"taint_by_model,omitempty"`
	TaintByColour map[string]map[string]map[string]string `json:"taint_by_colour,omitempty"`
}

// Label is one label of an address and where it came from.
type Label struct {
	Label    string `json:"label"`
	Category string `json:"category"`
	Source   string `json:"source"`
}

// Endpoint is a labelled entity where the trace stopped, summed per
// (address, asset) over the exhibit's transfers into it.
type Endpoint struct {
	Address    string `json:"address"`
	Label      string `json:"label"`
	Category   string `json:"category"`
	Asset      string `json:"asset"`
	Amount     string `json:"amount"`
	Taint      string `json:"taint"`
	FirstBlock uint64 `json:"first_block"`
	LastBlock  uint64 `json:"last_block"`
	// TaintByModel and TaintByColour as on a transfer row (added keys).
	TaintByModel  ByModel  `json:"taint_by_model,omitempty"`
	TaintByColour ByColour `json:"taint_by_colour,omitempty"`
}

// Finding is a heuristic finding and the transactions that support it.
type Finding struct {
	Kind       string   `json:"kind"`
	Subject    string   `json:"subject"`
	Evidence   []string `json:"evidence"`   // transaction hashes
	Confidence int      `json:"confidence"` // percent, 0-100
}

// Reconciliation balances one transaction the trace passed through. Each map
// is keyed by asset ("ETH", "BTC" or a token contract) and holds base-unit
// decimal strings; an asset absent from a map counts as zero. For every
// asset, value_in = value_out + fee (see Check).
type Reconciliation struct {
	TxHash   string            `json:"tx_hash"`
	ValueIn  map[string]string `json:"value_in"`
	ValueOut map[string]string `json:"value_out"`
	Fee      map[string]string `json:"fee"`
	TaintIn  map[string]string `json:"taint_in"`
	TaintOut map[string]string `json:"taint_out"`
	// TaintFee is the fee's taint per asset, so that taint_in = taint_out
	// + taint_fee (added key: absent in exhibits written before it).
	TaintFee map[string]string `json:"taint_fee,omitempty"`
	// TaintByModel is the taint balance under every model run (only when
	// several ran); TaintByColour per colour and model (only when the
	// seeds have several colours).
	TaintByModel  map[string]TaintBalance            `json:"taint_by_model,omitempty"`
	TaintByColour map[string]map[string]TaintBalance `json:"taint_by_colour,omitempty"`
}

// TaintBalance is one model's (and colour's) taint through a transaction,
// per asset: taint_in = taint_out + taint_fee.
type TaintBalance struct {
	TaintIn  map[string]string `json:"taint_in"`
	TaintOut map[string]string `json:"taint_out"`
	TaintFee map[string]string `json:"taint_fee"`
}

// Digest seals the exhibit; see ComputeDigest.
type Digest struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

// New returns an empty exhibit of the current schema for a chain.
func New(chain chains.Chain) *Exhibit {
	return &Exhibit{
		Schema: Schema,
		Chain:  chain,
		Seeds:  []string{},
		Method: Method{
			MinValue:       "0",
			StopCategories: []string{},
			Heuristics:     []Heuristic{},
		},
		Provenance: Provenance{Sources: []Source{}, LabelSets: []LabelSet{}},
		Transfers:  []Transfer{},
		Addresses:  []Address{},
		Endpoints:  []Endpoint{},
		Findings:   []Finding{},
	}
}

// MarshalParams renders heuristic parameters as a canonical (RFC 8785) JSON
// object. v must marshal to an object holding no non-integer numbers.
func MarshalParams(v any) (json.RawMessage, error) {
	b, err := Canonicalize(v)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("heuristic params must be a JSON object, got %s", b)
	}
	return b, nil
}

// Check verifies value_in = value_out + fee for every asset.
func (r *Reconciliation) Check() error {
	assets := map[string]bool{}
	for _, m := range []map[string]string{r.ValueIn, r.ValueOut, r.Fee} {
		for a := range m {
			assets[a] = true
		}
	}
	for _, a := range sortedKeys(assets) {
		in, err1 := parseAmount(r.ValueIn[a])
		out, err2 := parseAmount(r.ValueOut[a])
		fee, err3 := parseAmount(r.Fee[a])
		for _, err := range []error{err1, err2, err3} {
			if err != nil {
				return fmt.Errorf("reconciliation of %s, %s: %v", r.TxHash, a, err)
			}
		}
		if in.Cmp(new(big.Int).Add(out, fee)) != 0 {
			return fmt.Errorf("reconciliation of %s, %s: value_in %s != value_out %s + fee %s",
				r.TxHash, a, in, out, fee)
		}
	}
	if r.TaintFee != nil {
		if err := (TaintBalance{r.TaintIn, r.TaintOut, r.TaintFee}).check(r.TxHash, ""); err != nil {
			return err
		}
	}
	for _, m := range sortedKeys(r.TaintByModel) {
		if err := r.TaintByModel[m].check(r.TxHash, m); err != nil {
			return err
		}
	}
	for _, c := range sortedKeys(r.TaintByColour) {
		for _, m := range sortedKeys(r.TaintByColour[c]) {
			if err := r.TaintByColour[c][m].check(r.TxHash, c+" "+m); err != nil {
				return err
			}
		}
	}
	return nil
}

// check verifies taint_in = taint_out + taint_fee for every asset.
func (b TaintBalance) check(tx, what string) error {
	assets := map[string]bool{}
	for _, m := range []map[string]string{b.TaintIn, b.TaintOut, b.TaintFee} {
		for a := range m {
			assets[a] = true
		}
	}
	if what != "" {
		what = " (" + what + ")"
	}
	for _, a := range sortedKeys(assets) {
		in, err1 := parseAmount(b.TaintIn[a])
		out, err2 := parseAmount(b.TaintOut[a])
		fee, err3 := parseAmount(b.TaintFee[a])
		for _, err := range []error{err1, err2, err3} {
			if err != nil {
				return fmt.Errorf("reconciliation of %s%s, %s: %v", tx, what, a, err)
			}
		}
		if in.Cmp(new(big.Int).Add(out, fee)) != 0 {
			return fmt.Errorf("reconciliation of %s%s, %s: taint_in %s != taint_out %s + taint_fee %s", tx, what, a, in, out, fee)
		}
	}
	return nil
}

func parseAmount(s string) (*big.Int, error) {
	if s == "" {
		return new(big.Int), nil
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 {
		return nil, fmt.Errorf("amount %q is not a non-negative decimal integer", s)
	}
	return n, nil
}

func amountString(a *big.Int) string {
	if a == nil {
		return "0"
	}
	return a.String()
}

// JSON marshalling. Each type holding a slice or map marshals a copy with
// nil replaced by an empty value, so that arrays are never null in output.
// The `plain` conversions drop these methods to avoid recursion.

func (e Exhibit) MarshalJSON() ([]byte, error) {
	type plain Exhibit
	e.Seeds = nonNil(e.Seeds)
	e.Transfers = nonNil(e.Transfers)
	e.Addresses = nonNil(e.Addresses)
	e.Endpoints = nonNil(e.Endpoints)
	e.Findings = nonNil(e.Findings)
	return marshalPlain(plain(e))
}

func (m Method) MarshalJSON() ([]byte, error) {
	type plain Method
	m.StopCategories = nonNil(m.StopCategories)
	m.Heuristics = nonNil(m.Heuristics)
	return marshalPlain(plain(m))
}

func (h Heuristic) MarshalJSON() ([]byte, error) {
	type plain Heuristic
	if len(bytes.TrimSpace(h.Params)) == 0 {
		h.Params = json.RawMessage("{}")
	}
	return marshalPlain(plain(h))
}

func (p Provenance) MarshalJSON() ([]byte, error) {
	type plain Provenance
	p.Sources = nonNil(p.Sources)
	p.LabelSets = nonNil(p.LabelSets)
	return marshalPlain(plain(p))
}

func (t Transfer) MarshalJSON() ([]byte, error) {
	type plain Transfer
	t.From = nonNil(t.From)
	return marshalPlain(plain(t))
}

func (a Address) MarshalJSON() ([]byte, error) {
	type plain Address
	a.Taint = nonNilMap(a.Taint)
	a.Labels = nonNil(a.Labels)
	return marshalPlain(plain(a))
}

func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	f.Evidence = nonNil(f.Evidence)
	return marshalPlain(plain(f))
}

func (r Reconciliation) MarshalJSON() ([]byte, error) {
	type plain Reconciliation
	r.ValueIn = nonNilMap(r.ValueIn)
	r.ValueOut = nonNilMap(r.ValueOut)
	r.Fee = nonNilMap(r.Fee)
	r.TaintIn = nonNilMap(r.TaintIn)
	r.TaintOut = nonNilMap(r.TaintOut)
	return marshalPlain(plain(r))
}

func (b TaintBalance) MarshalJSON() ([]byte, error) {
	type plain TaintBalance
	b.TaintIn = nonNilMap(b.TaintIn)
	b.TaintOut = nonNilMap(b.TaintOut)
	b.TaintFee = nonNilMap(b.TaintFee)
	return marshalPlain(plain(b))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// marshalPlain is json.Marshal without HTML escaping, so that labels such as
// "A & B <x>" stay readable in the file. (Escaping does not change the
// digest: the canonical form is computed from the parsed values.)
func marshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
