package watch

import (
	"fmt"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
)

// AlertSchema is the value of every alert's "schema" key.
const AlertSchema = "chaintrace/watch-alert/v1"

// Alert types.
const (
	// TypeMovement: watched funds moved, in a block now Confirmations deep.
	TypeMovement = "movement"
	// TypeRetraction: a movement alerted before is no longer on the chain
	// (a reorganisation deeper than the confirmation depth removed it).
	TypeRetraction = "retraction"
)

// Alert is what a Sink receives: one movement of watched funds, or the
// retraction of one. Its JSON form is the alert line and the webhook body;
// amounts are decimal strings in base units, block numbers JSON integers.
type Alert struct {
	Schema string `json:"schema"`
	Type   string `json:"type"`
	// ID names the movement: chain, transaction hash and position, joined
	// by ":" (e.g. "eth:0xab…:log:17", "btc:9f…:out:1"). A retraction has
	// the ID of the alert it retracts.
	ID      string `json:"id"`
	Chain   string `json:"chain"`
	Network string `json:"network"`
	// Transfer is the transfer row (CONTRACT.md), without hop and taint.
	Transfer chains.Row `json:"transfer"`
	// Watched are the transfer's watched parties: the senders ("from") and,
	// when incoming transfers are watched, the receiver ("to").
	Watched     []Watched   `json:"watched"`
	Destination Destination `json:"destination"`
	// Confirmations is the number of blocks on top of the transfer's block
	// when the alert was made; Head the node's head then.
	Confirmations uint64 `json:"confirmations"`
	Head          uint64 `json:"head"`
	// RetractedBecause says why a retraction was sent.
	RetractedBecause string `json:"retracted_because,omitempty"`
	// Message is the alert in one line, for people.
	Message   string `json:"message"`
	AlertedAt string `json:"alerted_at"` // RFC 3339 UTC
}

// Watched is one watched party of a transfer.
type Watched struct {
	Address string   `json:"address"`
	Role    string   `json:"role"` // "from" or "to"
	Reasons []Reason `json:"reasons"`
}

// Destination is the receiving address and what is known of it: its first
// label (the first with a category, if any has one) as Label and Category,
// every label in Labels, and whether it is itself watched.
type Destination struct {
	Address  string     `json:"address"`
	Label    string     `json:"label,omitempty"`
	Category string     `json:"category,omitempty"`
	Labels   []LabelRef `json:"labels"`
	Watched  bool       `json:"watched"`
}

// LabelRef is one label of an address and where it came from.
type LabelRef struct {
	Label    string `json:"label"`
	Category string `json:"category,omitempty"`
	Source   string `json:"source,omitempty"`
}

// MovementID is an alert's ID for a transfer.
func MovementID(t *chains.Transfer, chain chains.Chain) string {
	return string(chain) + ":" + strings.ToLower(t.TxHash) + ":" + t.Position
}

// newDestination describes t's receiver.
func newDestination(addr string, labels []LabelRef, watched bool) Destination {
	d := Destination{Address: addr, Labels: labels, Watched: watched}
	if d.Labels == nil {
		d.Labels = []LabelRef{}
	}
	for _, l := range labels {
		if l.Category != "" {
			d.Label, d.Category = l.Label, l.Category
			return d
		}
	}
	if len(labels) > 0 {
		d.Label = labels[0].Label
	}
	return d
}

// message writes the alert in one line.
func (a *Alert) message() string {
	var b strings.Builder
	t := &a.Transfer
	if a.Type == TypeRetraction {
		b.WriteString("RETRACTED: ")
	}
	fmt.Fprintf(&b, "%s %s moved", t.Amount, assetName(t.Asset))
	var from []string
	for _, w := range a.Watched {
		if w.Role == "from" {
			from = append(from, w.Address+" ("+describeReasons(w.Reasons)+")")
		}
	}
	if len(from) > 0 {
		fmt.Fprintf(&b, " from watched %s", strings.Join(from, ", "))
	} else if len(t.From) > 0 {
		fmt.Fprintf(&b, " from %s", strings.Join(t.From, ", "))
	}
	fmt.Fprintf(&b, " to %s", t.To)
	switch d := a.Destination; {
	case d.Label != "" && d.Category != "":
		fmt.Fprintf(&b, " (%s, %s)", d.Label, d.Category)
	case d.Label != "":
		fmt.Fprintf(&b, " (%s)", d.Label)
	}
	for _, w := range a.Watched {
		if w.Role == "to" {
			fmt.Fprintf(&b, " (watched: %s)", describeReasons(w.Reasons))
			break
		}
	}
	fmt.Fprintf(&b, " in %s block %d, tx %s, position %s", a.Chain, t.BlockNumber, t.TxHash, t.Position)
	if a.Type == TypeRetraction {
		fmt.Fprintf(&b, ": %s", a.RetractedBecause)
	}
	return b.String()
}

func assetName(asset string) string {
	if asset == chains.AssetETH || asset == chains.AssetBTC {
		return asset
	}
	return "of token " + asset
}

// describeReasons says in a few words why an address is watched.
func describeReasons(rs []Reason) string {
	var parts []string
	for _, r := range rs {
		var s string
		switch r.Kind {
		case ReasonExhibit:
			s = "exhibit " + r.Source
			if r.Case != "" {
				s = "case " + r.Case
			}
			if r.Detail != "" {
				s += " " + r.Detail
			}
		case ReasonList:
			s = fmt.Sprintf("list %s:%d", r.Source, r.Line)
			if r.Detail != "" {
				s += " " + r.Detail
			}
		case ReasonLabel:
			s = "label " + r.Label
			if r.Category != "" {
				s += " [" + r.Category + "]"
			}
		default:
			s = r.Kind
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
