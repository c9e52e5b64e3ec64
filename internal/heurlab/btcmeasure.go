package heurlab

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/store"
)

// LoadBTC reads blocks [from, to] of the store as the heuristics read
// transactions, in chain order.
func LoadBTC(st *store.Store, from, to uint64) ([]*heuristics.Tx, error) {
	var out []*heuristics.Tx
	for n := from; n <= to; n++ {
		txs, err := st.Txs(chains.BTC, n)
		if err != nil {
			return nil, err
		}
		rows := map[uint32][]chains.Transfer{}
		err = st.Transfers(chains.BTC, n, n, func(t *chains.Transfer) error {
			rows[t.TxIndex] = append(rows[t.TxIndex], *t)
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, tx := range txs {
			ht, err := heuristics.FromChains(tx, rows[tx.Index], 0)
			if err != nil {
				return nil, fmt.Errorf("block %d: %w", n, err)
			}
			out = append(out, ht)
		}
	}
	return out, nil
}

// BTCMeasure is what MeasureBTC scored.
type BTCMeasure struct {
	Rows []Row
	// CoinJoinMerges counts multi-input merges made inside a true CoinJoin
	// with the CoinJoin skip on (it must be zero), and
	// CoinJoinMergesUnskipped the same with the skip off.
	CoinJoinMerges, CoinJoinMergesUnskipped int
	// FalseMerges counts merges joining two owners' addresses, by the kind
	// of the transaction that made them (skip on).
	FalseMerges map[string]int
	// Txs is how many of the generator's transactions were found in the
	// store (all of them, or MeasureBTC fails).
	Txs int
	// PeelMissed counts hops of the deliberate peel chains the detector
	// did not place in a peel chain.
	PeelMissed int
}

// MeasureBTC scores cfg's heuristics on txs (the played window read back
// from the store) against the truth.
func MeasureBTC(ctx context.Context, txs []*heuristics.Tx, truth *BTCTruth, cfg heuristics.Config) (*BTCMeasure, error) {
	chain := heuristics.NewMemChain(txs)
	var lab []*heuristics.Tx
	for _, t := range chain.Txs() {
		if truth.Txs[t.TxID] != nil {
			lab = append(lab, t)
		}
	}
	if len(lab) != len(truth.Txs) {
		return nil, fmt.Errorf("heurlab: %d of the generator's %d transactions are in the window", len(lab), len(truth.Txs))
	}
	m := &BTCMeasure{FalseMerges: map[string]int{}, Txs: len(lab)}
	rows, err := measureChange(ctx, chain, lab, truth, cfg)
	if err != nil {
		return nil, err
	}
	m.Rows = append(m.Rows, rows...)
	m.Rows = append(m.Rows, measureCoinJoin(lab, truth, cfg)...)
	row, err := measurePeel(ctx, chain, lab, truth, cfg, &m.PeelMissed)
	if err != nil {
		return nil, err
	}
	m.Rows = append(m.Rows, row)
	m.Rows = append(m.Rows, m.measureMultiInput(chain.Txs(), lab, truth, cfg)...)
	return m, nil
}

// tally counts the kinds of the transactions behind a row's errors, for
// its note.
type tally struct{ fp, fn map[string]int }

func newTally() *tally { return &tally{fp: map[string]int{}, fn: map[string]int{}} }

func (t *tally) add(predicted, actual bool, kind string) {
	switch {
	case predicted && !actual:
		t.fp[kind]++
	case actual && !predicted:
		t.fn[kind]++
	}
}

func (t *tally) note() string {
	part := func(name string, m map[string]int) string {
		if len(m) == 0 {
			return ""
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
		var b strings.Builder
		b.WriteString(name + " in ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + " " + strconv.Itoa(m[k]))
		}
		return b.String()
	}
	var parts []string
	for _, p := range []string{part("FP", t.fp), part("FN", t.fn)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "; ")
}

func kindOf(t *BTCTx) string {
	if t.CoinJoin != "" {
		return "coinjoin_" + t.CoinJoin
	}
	return t.Kind
}

// measureChange scores every change heuristic alone (its unique
// candidate) and the detector (they agree), output by output, over the
// generator's non-CoinJoin transactions with two or more outputs.
func measureChange(ctx context.Context, chain heuristics.Chain, lab []*heuristics.Tx, truth *BTCTruth, cfg heuristics.Config) ([]Row, error) {
	det := cfg.ChangeDetector()
	var rows []Row
	score := func(info heuristics.Info, decision string, decide func(tx *heuristics.Tx) (uint32, bool, error)) error {
		r := Row{Heuristic: info.Name, Version: info.Version, Params: info.Params, Chain: "btc", Decision: decision, Unit: "outputs"}
		tl := newTally()
		for _, tx := range lab {
			tt := truth.Txs[tx.TxID]
			if tt.CoinJoin != "" || len(tx.Outputs) < 2 {
				continue
			}
			v, ok, err := decide(tx)
			if err != nil {
				return err
			}
			for _, o := range tx.Outputs {
				p := ok && v == o.Index
				r.Add(p, tt.Own[o.Index])
				tl.add(p, tt.Own[o.Index], tt.Kind)
			}
		}
		r.Note = tl.note()
		rows = append(rows, r)
		return nil
	}
	for _, h := range det.Heuristics {
		h := h
		err := score(h.Info(), "output is the change (its only candidate)", func(tx *heuristics.Tx) (uint32, bool, error) {
			return heuristics.Unique(ctx, h, chain, tx)
		})
		if err != nil {
			return nil, err
		}
	}
	info := heuristics.Info{Name: heuristics.KindChangeOutput, Version: "1", Params: map[string]any{"heuristics": len(det.Heuristics)}}
	err := score(info, "output is the change (every deciding heuristic agrees)", func(tx *heuristics.Tx) (uint32, bool, error) {
		res, err := det.Detect(ctx, chain, tx)
		if err != nil || res.Finding == nil {
			return 0, false, err
		}
		for _, v := range res.Decisions {
			return v, true, nil
		}
		return 0, false, nil
	})
	return rows, err
}

// measureCoinJoin scores the CoinJoin detector transaction by transaction:
// per kind (the kind it names) and as a whole (any kind).
func measureCoinJoin(lab []*heuristics.Tx, truth *BTCTruth, cfg heuristics.Config) []Row {
	det := cfg.CoinJoin
	infos := map[string]heuristics.Info{}
	for _, i := range det.Infos() {
		infos[strings.TrimPrefix(i.Name, "coinjoin_")] = i
	}
	kinds := []string{heuristics.CoinJoinWhirlpool, heuristics.CoinJoinWasabi1, heuristics.CoinJoinWasabi2, heuristics.CoinJoinJoinMarket}
	var rows []Row
	for _, k := range append(kinds, "") {
		info, ok := infos[k]
		decision := "transaction is a " + k + " CoinJoin"
		if k == "" {
			info = heuristics.Info{Name: heuristics.KindCoinJoin, Version: "1", Params: map[string]any{"detectors": len(infos)}}
			decision = "transaction is a CoinJoin (any detector)"
		} else if !ok {
			continue // switched off
		}
		r := Row{Heuristic: info.Name, Version: info.Version, Params: info.Params, Chain: "btc", Decision: decision, Unit: "transactions"}
		tl := newTally()
		for _, tx := range lab {
			tt := truth.Txs[tx.TxID]
			is, kind := det.IsCoinJoin(tx)
			p := is && (k == "" || kind == k)
			a := tt.CoinJoin != "" && (k == "" || tt.CoinJoin == k)
			r.Add(p, a)
			tl.add(p, a, kindOf(tt))
		}
		r.Note = tl.note()
		rows = append(rows, r)
	}
	return rows
}

// truePeels are the generator's transactions in a true peel chain: one
// input, two outputs, one of them the sender's, in a run of at least min
// such transactions of one sender each spending the previous one's
// change. Deliberate peel chains are such runs; so is an ordinary wallet
// paying from one coin again and again.
func truePeels(truth *BTCTruth, min int) map[string]bool {
	shaped := func(t *BTCTx) bool {
		if t == nil || t.CoinJoin != "" || len(t.Inputs) != 1 || len(t.Own) != 2 {
			return false
		}
		return t.Own[0] != t.Own[1]
	}
	change := func(t *BTCTx) string {
		for i, own := range t.Own {
			if own {
				return t.TxID + ":" + strconv.Itoa(i)
			}
		}
		return ""
	}
	spentBy := map[string]*BTCTx{}
	for _, t := range truth.Txs {
		for _, in := range t.Inputs {
			spentBy[in] = t
		}
	}
	prev := func(t *BTCTx) *BTCTx {
		txid, _, _ := strings.Cut(t.Inputs[0], ":")
		p := truth.Txs[txid]
		if shaped(p) && p.Sender == t.Sender && change(p) == t.Inputs[0] {
			return p
		}
		return nil
	}
	out := map[string]bool{}
	for _, t := range truth.Txs {
		if !shaped(t) || prev(t) != nil {
			continue // not the head of a run
		}
		run := []*BTCTx{t}
		for cur := t; ; {
			next := spentBy[change(cur)]
			if !shaped(next) || next.Sender != cur.Sender {
				break
			}
			run = append(run, next)
			cur = next
		}
		if len(run) >= min {
			for _, r := range run {
				out[r.TxID] = true
			}
		}
	}
	return out
}

// measurePeel scores the peel-chain detector: a transaction is asserted to
// be in a peel chain when its run has at least min-length transactions
// (what a peel_chain finding says).
func measurePeel(ctx context.Context, chain heuristics.Chain, lab []*heuristics.Tx, truth *BTCTruth, cfg heuristics.Config, missed *int) (Row, error) {
	p := cfg.PeelChain
	info := p.Info()
	r := Row{Heuristic: info.Name, Version: info.Version, Params: info.Params, Chain: "btc",
		Decision: "transaction is part of a peel chain", Unit: "transactions"}
	want := truePeels(truth, p.MinLength)
	tl := newTally()
	for _, tx := range lab {
		run, err := p.Run(ctx, chain, tx)
		if err != nil {
			return r, err
		}
		pred, act := p.Enabled && len(run) >= p.MinLength, want[tx.TxID]
		r.Add(pred, act)
		if !pred && truth.Txs[tx.TxID].Kind == KindPeel {
			*missed++
		}
		tl.add(pred, act, kindOf(truth.Txs[tx.TxID]))
	}
	r.Note = tl.note()
	return r, nil
}

// measureMultiInput clusters every transaction of the window (the node's
// own funding transactions too) and scores the clusters pairwise over the
// addresses the generator's transactions spend from, once with the
// CoinJoin skip and once without it.
func (m *BTCMeasure) measureMultiInput(all, lab []*heuristics.Tx, truth *BTCTruth, cfg heuristics.Config) []Row {
	owner := map[string]string{}
	for _, tx := range lab {
		for _, in := range tx.Inputs {
			if o, ok := truth.Owner[in.Address]; ok {
				owner[in.Address] = o
			}
		}
	}
	var rows []Row
	for _, skip := range []bool{true, false} {
		opts := heuristics.MultiInputOptions{}
		if skip {
			det := cfg.CoinJoin
			opts.SkipTx = func(c heuristics.ClusterTx) (bool, string) { return det.SkipTx(c.Tx) }
			opts.SkipRule = "coinjoin/1"
		}
		mi := heuristics.NewMultiInput(opts)
		for _, tx := range all {
			mi.Add(heuristics.ClusterTxOf(tx))
		}
		cluster := map[string]string{}
		for a := range owner {
			if id, ok := mi.ClusterID(a); ok {
				cluster[a] = strconv.FormatUint(uint64(id), 10)
			}
		}
		info := mi.Info()
		r := Row{Heuristic: info.Name, Version: info.Version, Params: info.Params, Chain: "btc",
			Decision: "two input addresses have one owner", Unit: "address pairs", Confusion: Pairs(cluster, owner)}
		cj, falseMerges := 0, map[string]int{}
		for mg := range mi.Merges() {
			tt := truth.Txs[mg.TxID]
			if tt == nil {
				continue
			}
			if tt.CoinJoin != "" {
				cj++
			}
			if oa, ob := truth.Owner[mg.A], truth.Owner[mg.B]; oa != ob {
				falseMerges[kindOf(tt)]++
			}
		}
		tl := &tally{fp: falseMerges, fn: map[string]int{}}
		r.Note = fmt.Sprintf("%d merges, %d inside CoinJoins", mi.NumMerges(), cj)
		if n := tl.note(); n != "" {
			r.Note += "; merges joining two owners: " + strings.TrimPrefix(n, "FP in ")
		}
		if skip {
			m.CoinJoinMerges, m.FalseMerges = cj, falseMerges
			r.Note += fmt.Sprintf("; %d CoinJoins skipped", len(mi.Skipped()))
		} else {
			m.CoinJoinMergesUnskipped = cj
			r.Decision += " (CoinJoin skip off, for comparison)"
		}
		rows = append(rows, r)
	}
	return rows
}
