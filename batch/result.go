package batch

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/exhibit"
)

// Result is what a job's exhibit says, as the summary needs it.
type Result struct {
	Digest    string     `json:"digest"`
	Chain     string     `json:"chain"`
	Case      string     `json:"case,omitempty"`
	Model     string     `json:"taint_model"`
	Transfers int        `json:"transfers"`
	Hops      int        `json:"hops"` // the largest
	Addresses []Reached  `json:"addresses"`
	Endpoints []Endpoint `json:"endpoints"`
}

// Reached is an address a job reached, at its hop.
type Reached struct {
	Address string `json:"address"`
	Hop     int    `json:"hop"`
	// Label is the address's first label, when it has one.
	Label string `json:"label,omitempty"`
}

// Endpoint is where a job's funds landed, with the primary model's taint.
type Endpoint struct {
	Address  string `json:"address"`
	Label    string `json:"label"`
	Category string `json:"category"`
	Asset    string `json:"asset"`
	Amount   string `json:"amount"`
	Taint    string `json:"taint"`
}

// ResultOf reads the summary's facts out of an exhibit.
func ResultOf(e *exhibit.Exhibit) *Result {
	r := &Result{Digest: e.Digest.Value, Chain: string(e.Chain), Case: e.Case.ID, Model: e.Method.TaintModel, Transfers: len(e.Transfers)}
	for _, t := range e.Transfers {
		r.Hops = max(r.Hops, t.Hop)
	}
	for _, a := range e.Addresses {
		x := Reached{Address: a.Address, Hop: a.Hop}
		if len(a.Labels) > 0 {
			x.Label = a.Labels[0].Label
		}
		r.Addresses = append(r.Addresses, x)
	}
	for _, ep := range e.Endpoints {
		r.Endpoints = append(r.Endpoints, Endpoint{Address: ep.Address, Label: ep.Label, Category: ep.Category,
			Asset: ep.Asset, Amount: ep.Amount, Taint: ep.Taint})
	}
	return r
}

// Diff is what moved in a job since its previous run: addresses and
// endpoints it reaches now and did not then, endpoints whose taint grew.
type Diff struct {
	PreviousRun  int      `json:"previous_run"`
	NewAddresses []string `json:"new_addresses,omitempty"`
	NewEndpoints []string `json:"new_endpoints,omitempty"` // "address asset"
	// TaintGrew is "address asset: before -> now" for endpoints that
	// received more taint (primary model).
	TaintGrew []string `json:"taint_grew,omitempty"`
	// Gone are addresses no longer reached (a changed window or labels).
	Gone []string `json:"gone,omitempty"`
}

// Empty reports whether nothing moved.
func (d *Diff) Empty() bool {
	return len(d.NewAddresses) == 0 && len(d.NewEndpoints) == 0 && len(d.TaintGrew) == 0 && len(d.Gone) == 0
}

// DiffOf compares a job's result now with its result in run prevRun.
func DiffOf(prev *Result, prevRun int, now *Result) *Diff {
	d := &Diff{PreviousRun: prevRun}
	had := map[string]bool{}
	for _, a := range prev.Addresses {
		had[a.Address] = true
	}
	has := map[string]bool{}
	for _, a := range now.Addresses {
		has[a.Address] = true
		if !had[a.Address] {
			d.NewAddresses = append(d.NewAddresses, a.Address)
		}
	}
	for _, a := range prev.Addresses {
		if !has[a.Address] {
			d.Gone = append(d.Gone, a.Address)
		}
	}
	before := map[string]string{}
	for _, ep := range prev.Endpoints {
		before[ep.Address+" "+ep.Asset] = ep.Taint
	}
	for _, ep := range now.Endpoints {
		k := ep.Address + " " + ep.Asset
		old, ok := before[k]
		if !ok {
			d.NewEndpoints = append(d.NewEndpoints, k)
			continue
		}
		o, ok1 := new(big.Int).SetString(old, 10)
		n, ok2 := new(big.Int).SetString(ep.Taint, 10)
		if ok1 && ok2 && n.Cmp(o) > 0 {
			d.TaintGrew = append(d.TaintGrew, fmt.Sprintf("%s: %s -> %s", k, old, ep.Taint))
		}
	}
	sort.Strings(d.NewAddresses)
	sort.Strings(d.NewEndpoints)
	sort.Strings(d.TaintGrew)
	sort.Strings(d.Gone)
	return d
}

// Link is an address reached by two or more jobs: a link between them (or
// between their cases).
type Link struct {
	Address string   `json:"address"`
	Label   string   `json:"label,omitempty"`
	Jobs    []string `json:"jobs"`
	Cases   []string `json:"cases,omitempty"`
	// Endpoint is set when the address is where the jobs' funds landed (a
	// labelled service several thefts pay into links less than a wallet
	// they share).
	Endpoint bool `json:"endpoint"`
}

// Links finds the addresses reached by two or more of the jobs' results
// (keyed by job id), unlabelled wallets first, then by address.
func Links(results map[string]*Result) []Link {
	type acc struct {
		label    string
		jobs     map[string]bool
		cases    map[string]bool
		endpoint bool
	}
	by := map[string]*acc{}
	for id, r := range results {
		if r == nil {
			continue
		}
		ends := map[string]bool{}
		for _, ep := range r.Endpoints {
			ends[ep.Address] = true
		}
		for _, a := range r.Addresses {
			x := by[a.Address]
			if x == nil {
				x = &acc{jobs: map[string]bool{}, cases: map[string]bool{}}
				by[a.Address] = x
			}
			x.jobs[id] = true
			if r.Case != "" {
				x.cases[r.Case] = true
			}
			if a.Label != "" {
				x.label = a.Label
			}
			x.endpoint = x.endpoint || ends[a.Address]
		}
	}
	var out []Link
	for addr, x := range by {
		if len(x.jobs) < 2 {
			continue
		}
		l := Link{Address: addr, Label: x.label, Endpoint: x.endpoint}
		for j := range x.jobs {
			l.Jobs = append(l.Jobs, j)
		}
		for c := range x.cases {
			l.Cases = append(l.Cases, c)
		}
		sort.Strings(l.Jobs)
		sort.Strings(l.Cases)
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Endpoint != out[j].Endpoint {
			return !out[i].Endpoint
		}
		return out[i].Address < out[j].Address
	})
	return out
}

// Summary is a batch run's report (written as JSON beside the exhibits,
// and as a table).
type Summary struct {
	Batch    string    `json:"batch"`
	Run      int       `json:"run"`
	Attempts int       `json:"attempts"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Jobs     []JobLine `json:"jobs"`
	Links    []Link    `json:"links"`
	Totals   Totals    `json:"totals"`
}

// ExchangeTaint is the taint (primary model) that reached one exchange,
// named by its label, in one asset, over its endpoints.
type ExchangeTaint struct {
	Label string `json:"label"`
	Asset string `json:"asset"`
	Taint string `json:"taint"`
}

// exchanges sums r's exchange endpoints by label and asset, the largest
// first.
func exchanges(rs ...*Result) []ExchangeTaint {
	sum := map[[2]string]*big.Int{}
	for _, r := range rs {
		for _, ep := range r.Endpoints {
			v, ok := new(big.Int).SetString(ep.Taint, 10)
			if ep.Category != ExchangeCategory || !ok {
				continue
			}
			k := [2]string{ep.Label, ep.Asset}
			if sum[k] == nil {
				sum[k] = new(big.Int)
			}
			sum[k].Add(sum[k], v)
		}
	}
	keys := make([][2]string, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a[1] != b[1] {
			return a[1] < b[1]
		}
		if c := sum[a].Cmp(sum[b]); c != 0 {
			return c > 0
		}
		return a[0] < b[0]
	})
	out := make([]ExchangeTaint, len(keys))
	for i, k := range keys {
		out[i] = ExchangeTaint{Label: k[0], Asset: k[1], Taint: sum[k].String()}
	}
	return out
}

// Totals counts the run's jobs.
type Totals struct {
	Jobs      int   `json:"jobs"`
	Done      int   `json:"done"`
	Failed    int   `json:"failed"`
	Pending   int   `json:"pending"`
	NodeCalls int64 `json:"node_calls"`
	// TaintToExchanges is, per asset, the primary model's taint that
	// reached endpoints in the exchange category, over every job.
	TaintToExchanges map[string]string `json:"taint_to_exchanges"`
	// Exchanges is the same per exchange (label) and asset, largest first.
	Exchanges []ExchangeTaint `json:"exchanges"`
}

// JobLine is one job in the summary.
type JobLine struct {
	ID      string  `json:"id"`
	Chain   string  `json:"chain,omitempty"`
	Status  Status  `json:"status"`
	Error   string  `json:"error,omitempty"`
	Exhibit string  `json:"exhibit,omitempty"`
	Result  *Result `json:"result,omitempty"`
	// TaintToExchanges is per asset what reached exchanges (primary model).
	TaintToExchanges map[string]string `json:"taint_to_exchanges,omitempty"`
	// Exchanges is what reached each exchange, by label and asset.
	Exchanges []ExchangeTaint `json:"exchanges,omitempty"`
	Seconds   float64         `json:"seconds"`
	NodeCalls int64           `json:"node_calls"`
	// Earlier is set when an earlier, interrupted invocation of this run
	// finished the job (it was not run again).
	Earlier bool  `json:"earlier"`
	Diff    *Diff `json:"diff,omitempty"`
}

// ExchangeCategory is the category whose endpoints the summary totals.
const ExchangeCategory = "exchange"

// Line states a job's record as a summary line.
func Line(rec Record, thisAttempt int) JobLine {
	l := JobLine{ID: rec.ID, Status: rec.Status, Error: rec.Error, Exhibit: rec.Exhibit, Result: rec.Result,
		Seconds: rec.Took.Seconds(), NodeCalls: rec.NodeCalls, Earlier: rec.Attempt != thisAttempt}
	if rec.Result != nil {
		l.Chain = rec.Result.Chain
		l.TaintToExchanges = toExchanges(rec.Result)
		l.Exchanges = exchanges(rec.Result)
		if rec.Previous != nil {
			l.Diff = DiffOf(rec.Previous, rec.PreviousRun, rec.Result)
		}
	}
	return l
}

func toExchanges(r *Result) map[string]string {
	sum := map[string]*big.Int{}
	for _, ep := range r.Endpoints {
		if ep.Category != ExchangeCategory {
			continue
		}
		v, ok := new(big.Int).SetString(ep.Taint, 10)
		if !ok {
			continue
		}
		if sum[ep.Asset] == nil {
			sum[ep.Asset] = new(big.Int)
		}
		sum[ep.Asset].Add(sum[ep.Asset], v)
	}
	out := map[string]string{}
	for a, v := range sum {
		out[a] = v.String()
	}
	return out
}

// Total fills s.Totals and s.Links from its job lines.
func (s *Summary) Total() {
	t := Totals{Jobs: len(s.Jobs), TaintToExchanges: map[string]string{}}
	sum := map[string]*big.Int{}
	results := map[string]*Result{}
	for _, j := range s.Jobs {
		switch j.Status {
		case Done:
			t.Done++
		case Failed:
			t.Failed++
		default:
			t.Pending++
		}
		if !j.Earlier {
			t.NodeCalls += j.NodeCalls
		}
		for a, v := range j.TaintToExchanges {
			x, _ := new(big.Int).SetString(v, 10)
			if sum[a] == nil {
				sum[a] = new(big.Int)
			}
			sum[a].Add(sum[a], x)
		}
		if j.Result != nil {
			results[j.ID] = j.Result
		}
	}
	for a, v := range sum {
		t.TaintToExchanges[a] = v.String()
	}
	var all []*Result
	for _, j := range s.Jobs {
		if j.Result != nil {
			all = append(all, j.Result)
		}
	}
	t.Exchanges = exchanges(all...)
	s.Totals = t
	s.Links = Links(results)
}

// WriteTable writes the summary as a table: a line per job, the totals,
// the links.
func (s *Summary) WriteTable(w interface{ Write([]byte) (int, error) }) error {
	fmt.Fprintf(w, "batch %s, run %d (attempt %d): %d jobs, %d done, %d failed, %d pending; %d node calls\n",
		s.Batch, s.Run, s.Attempts, s.Totals.Jobs, s.Totals.Done, s.Totals.Failed, s.Totals.Pending, s.Totals.NodeCalls)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "job\tchain\tstatus\thops\taddresses\tendpoints\ttaint to exchanges\tseconds\tnode calls\tsince last run")
	for _, j := range s.Jobs {
		hops, addrs, ends := "-", "-", "-"
		if j.Result != nil {
			hops, addrs, ends = fmt.Sprint(j.Result.Hops), fmt.Sprint(len(j.Result.Addresses)), fmt.Sprint(len(j.Result.Endpoints))
		}
		status := string(j.Status)
		if j.Earlier {
			status += " (earlier)"
		}
		if j.Error != "" {
			status += ": " + j.Error
		}
		since := "-"
		if j.Diff != nil {
			since = "nothing moved"
			if !j.Diff.Empty() {
				since = fmt.Sprintf("+%d addresses, +%d endpoints, %d endpoints with more taint", len(j.Diff.NewAddresses), len(j.Diff.NewEndpoints), len(j.Diff.TaintGrew))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%d\t%s\n", j.ID, j.Chain, status, hops, addrs, ends,
			assetAmounts(j.TaintToExchanges), j.Seconds, j.NodeCalls, since)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Totals.TaintToExchanges) > 0 {
		fmt.Fprintf(w, "taint to exchanges, every job: %s\n", assetAmounts(s.Totals.TaintToExchanges))
		for _, x := range s.Totals.Exchanges {
			fmt.Fprintf(w, "  %s: %s %s\n", x.Label, x.Taint, x.Asset)
		}
	}
	for _, l := range s.Links {
		kind := "wallet"
		if l.Endpoint {
			kind = "endpoint"
		}
		label := ""
		if l.Label != "" {
			label = " (" + l.Label + ")"
		}
		fmt.Fprintf(w, "link: %s %s%s reached by jobs %s\n", kind, l.Address, label, strings.Join(l.Jobs, ", "))
	}
	return nil
}

func assetAmounts(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = m[k] + " " + k
	}
	return strings.Join(parts, ", ")
}
