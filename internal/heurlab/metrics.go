// Package heurlab measures the heuristics' error rates on labelled scenario
// chains: chains played on real nodes (btcd for Bitcoin, the in-process
// geth for Ethereum) by a generator that knows who owns every address and
// what every transaction is. The heuristics run on what chaintrace reads
// back from those nodes, and every decision is scored against the truth.
//
// Counts are exact integers and rates are fractions of them; the report
// (docs/heuristics-report.md, `make heuristics-report`) prints both.
package heurlab

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
)

// Confusion counts one heuristic's decisions against the truth: a decision
// is positive when the heuristic asserts what it tests (this output is the
// change, this transaction is a CoinJoin, these two addresses have one
// owner) and the truth is positive when the assertion holds.
type Confusion struct {
	TP, FP, FN, TN int64
}

// Add counts one decision.
func (c *Confusion) Add(predicted, actual bool) {
	switch {
	case predicted && actual:
		c.TP++
	case predicted:
		c.FP++
	case actual:
		c.FN++
	default:
		c.TN++
	}
}

// Plus returns the sum of two counts.
func (c Confusion) Plus(d Confusion) Confusion {
	return Confusion{TP: c.TP + d.TP, FP: c.FP + d.FP, FN: c.FN + d.FN, TN: c.TN + d.TN}
}

// Total is the number of decisions counted.
func (c Confusion) Total() int64 { return c.TP + c.FP + c.FN + c.TN }

// Rate is an exact fraction Num/Den.
type Rate struct{ Num, Den int64 }

// FPR is the false-positive rate FP / (FP + TN): of the cases where the
// assertion is false, the share the heuristic asserted anyway.
func (c Confusion) FPR() Rate { return Rate{c.FP, c.FP + c.TN} }

// FNR is the false-negative rate FN / (FN + TP): of the cases where the
// assertion is true, the share the heuristic missed.
func (c Confusion) FNR() Rate { return Rate{c.FN, c.FN + c.TP} }

// FDR is the false-discovery rate FP / (FP + TP): of the heuristic's
// assertions, the share that are wrong. It is what a reader of a finding
// should weigh.
func (c Confusion) FDR() Rate { return Rate{c.FP, c.FP + c.TP} }

// Percent renders the rate as a percentage with two decimals, rounded half
// up in exact integer arithmetic; "n/a" when nothing was counted.
func (r Rate) Percent() string {
	if r.Den == 0 {
		return "n/a"
	}
	// basis points of a percent: num * 10000 / den, rounded.
	q := new(big.Int).Mul(big.NewInt(r.Num), big.NewInt(20000))
	q.Add(q, big.NewInt(r.Den))
	q.Quo(q, big.NewInt(2*r.Den))
	v := q.Int64()
	return fmt.Sprintf("%d.%02d%%", v/100, v%100)
}

// String is "num/den".
func (r Rate) String() string {
	return strconv.FormatInt(r.Num, 10) + "/" + strconv.FormatInt(r.Den, 10)
}

// Row is one heuristic's measured rates on one chain's scenarios.
type Row struct {
	Heuristic string         `json:"heuristic"` // method.heuristics name
	Version   string         `json:"version"`
	Params    map[string]any `json:"params"` // the parameters measured with (Info.Params)
	Chain     string         `json:"chain"`  // btc, eth
	// Decision says what is scored, e.g. "output is the change".
	Decision string `json:"decision"`
	// Unit names what one decision is about: outputs, transactions,
	// addresses, address pairs.
	Unit string `json:"unit"`
	Confusion
	// Note says anything a reader needs to weigh the figures.
	Note string `json:"note,omitempty"`
}

// Pairs scores a clustering pairwise: over every pair of the addresses
// owner lists, the assertion "these two are in one cluster" (cluster gives
// each clustered address its cluster id; an address it lacks is alone)
// against "these two have one owner". It works on the contingency table
// and never enumerates pairs.
func Pairs(cluster, owner map[string]string) Confusion {
	type cell struct{ c, o string }
	cells := map[cell]int64{}
	byCluster := map[string]int64{}
	byOwner := map[string]int64{}
	var n int64
	for a, o := range owner {
		c, ok := cluster[a]
		if !ok || c == "" {
			c = "\x00alone:" + a
		}
		cells[cell{c, o}]++
		byCluster[c]++
		byOwner[o]++
		n++
	}
	pairs := func(k int64) int64 { return k * (k - 1) / 2 }
	var tp, predicted, actual int64
	for _, k := range cells {
		tp += pairs(k)
	}
	for _, k := range byCluster {
		predicted += pairs(k)
	}
	for _, k := range byOwner {
		actual += pairs(k)
	}
	fp, fn := predicted-tp, actual-tp
	return Confusion{TP: tp, FP: fp, FN: fn, TN: pairs(n) - tp - fp - fn}
}

// SortRows orders rows by chain, then heuristic, then decision.
func SortRows(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Chain != b.Chain {
			return a.Chain < b.Chain
		}
		if a.Heuristic != b.Heuristic {
			return a.Heuristic < b.Heuristic
		}
		return a.Decision < b.Decision
	})
}
