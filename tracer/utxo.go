package tracer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// UTXOHistory is the chain data a walk on a utxo chain reads. The store
// (after `index`, or filled on demand from a node's address index) and an
// Esplora API implement it.
type UTXOHistory interface {
	// AddressOutputs yields the outputs paying addr (as transfer rows,
	// Ordinal = vout) created in blocks from..to, in chain order.
	AddressOutputs(ctx context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error
	// Spender names the transaction that spends output txid:vout, if one
	// in a block at or below to does.
	Spender(ctx context.Context, txid string, vout uint32, to uint64) (spender string, ok bool, err error)
	// Tx returns a confirmed transaction: its record with Inputs (value and
	// address of each spent output) and its output rows. A txid the
	// backend does not know gives an error wrapping ErrUnknownTx.
	Tx(ctx context.Context, txid string) (*UTXOTx, error)
}

// UTXOTx is one transaction as the walk reads it.
type UTXOTx struct {
	Tx chains.Tx
	// Outputs are its rows: one per output of non-zero value, Ordinal = vout.
	Outputs []chains.Transfer
	// NumOutputs counts the outputs: every one where the backend knows
	// them all, else up to the last of non-zero value (zero-value outputs
	// carry no taint either way).
	NumOutputs int
}

// Block is where the transaction was mined.
func (t *UTXOTx) Block() chains.Block {
	b := chains.Block{Number: t.Tx.BlockNumber}
	if len(t.Outputs) > 0 {
		b.Hash, b.Timestamp = t.Outputs[0].BlockHash, t.Outputs[0].Timestamp
	}
	return b
}

// Output returns the row of output vout, if it has one.
func (t *UTXOTx) Output(vout uint32) (*chains.Transfer, bool) {
	for i := range t.Outputs {
		if t.Outputs[i].Ordinal == vout {
			return &t.Outputs[i], true
		}
	}
	return nil, false
}

// Errors of the UTXO walk.
var (
	ErrUnknownTx     = errors.New("transaction not found")
	ErrUnknownOutput = errors.New("no such output")
)

// TxReconciliation balances one transaction the walk passed through, in
// one asset: ValueIn = ValueOut + Fee, and under every model TaintIn =
// TaintOut + the fee's taint. On a utxo chain it is the whole
// transaction; on an account chain what the walk's loaded senders gave up
// in it (their outflows and fees), whether followed or not.
type TxReconciliation struct {
	TxHash                   string
	Asset                    string
	ValueIn, ValueOut, Fee   *big.Int
	TaintIn, TaintOut, TFee  *big.Int // under the primary model
	In, Out, FeeTaint        Figures  // under every model
	BlockNumber              uint64
	TxIndex                  uint32
	InputsTainted, NumInputs int
}

func (r *TxReconciliation) setPrimary() {
	r.TaintIn, r.TaintOut, r.TFee = r.In.Primary(), r.Out.Primary(), r.FeeTaint.Primary()
}

// Check verifies the balances, under every model and colour.
func (r *TxReconciliation) Check() error {
	sum := new(big.Int)
	if sum.Add(r.ValueOut, r.Fee).Cmp(r.ValueIn) != 0 {
		return fmt.Errorf("transaction %s: value in %s != value out %s + fee %s", r.TxHash, r.ValueIn, r.ValueOut, r.Fee)
	}
	for m := range r.In.Total {
		if sum.Add(r.Out.Total[m], r.FeeTaint.Total[m]).Cmp(r.In.Total[m]) != 0 {
			return fmt.Errorf("transaction %s: model %d: taint in %s != taint out %s + fee taint %s", r.TxHash, m, r.In.Total[m], r.Out.Total[m], r.FeeTaint.Total[m])
		}
		for c := range r.In.ByColour[m] {
			if sum.Add(r.Out.ByColour[m][c], r.FeeTaint.ByColour[m][c]).Cmp(r.In.ByColour[m][c]) != 0 {
				return fmt.Errorf("transaction %s: model %d colour %d: taint in %s != taint out %s + fee taint %s", r.TxHash, m, c, r.In.ByColour[m][c], r.Out.ByColour[m][c], r.FeeTaint.ByColour[m][c])
			}
		}
	}
	return nil
}

// ParseOutpointSeed splits a "txid:vout" seed; ok is false for an address
// (the "script:" form of a non-standard output script included).
func ParseOutpointSeed(seed string) (txid string, vout uint32, ok bool, err error) {
	if !strings.Contains(seed, ":") || strings.HasPrefix(seed, bitcoin.ScriptPrefix) {
		return "", 0, false, nil
	}
	op, err := bitcoin.ParseOutpoint(seed)
	if err != nil {
		return "", 0, true, fmt.Errorf("seed %q: want txid:vout (64 hex digits, a colon, an output number): %w", seed, err)
	}
	return op.Hash.String(), op.Index, true, nil
}

// coin is a tainted output waiting to be spent: its taint per model.
type coin struct {
	taint []taint.Taint
	hop   int
}

// txBefore orders transactions in chain order.
func txBefore(a, b *UTXOTx) bool {
	if a.Tx.BlockNumber != b.Tx.BlockNumber {
		return a.Tx.BlockNumber < b.Tx.BlockNumber
	}
	return a.Tx.Index < b.Tx.Index
}

type utxoWalker struct {
	done   []*heuristics.Tx // the transactions passed through, for the peel-chain scan
	ctx    context.Context
	h      UTXOHistory
	lb     Labels
	cfg    Config
	run    runModels
	split  *taint.Splitter // shares every model's taint, one transaction at a time
	splits []taint.Split   // its splits of the transaction at hand, one per model
	coins  map[string]coin // "txid:vout" -> tainted, unspent as far as the walk got
	queued map[string]bool // txids queued or done
	queue  *queue[*UTXOTx]
	nodes  map[string]*node
	ends   map[[2]string]*Endpoint
	res    Result
	last   time.Time
}

// TraceUTXO walks forward from the seeds on a utxo chain: a seed address's
// outputs (what it holds when the window opens and what it receives in
// it), or a seed output, are tainted in full; a
// hop follows a tainted output to the transaction that spends it, where the
// model shares the inputs' taint over the outputs and the fee. Every such
// transaction is reconciled (value and taint) before its rows are kept.
func TraceUTXO(ctx context.Context, h UTXOHistory, lb Labels, cfg Config) (*Result, error) {
	run, err := newRunModels(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NativeAsset == "" {
		cfg.NativeAsset = chains.AssetBTC
	}
	w := &utxoWalker{ctx: ctx, h: h, lb: lb, cfg: cfg, run: run, split: taint.NewSplitter(run.colours), coins: map[string]coin{}, queue: newQueue(txBefore),
		queued: map[string]bool{}, nodes: map[string]*node{}, ends: map[[2]string]*Endpoint{}}
	for _, s := range cfg.Seeds {
		if err := w.seed(s); err != nil {
			return nil, err
		}
	}
	if len(w.coins) == 0 {
		return nil, fmt.Errorf("%w (blocks %d-%d)", ErrNoActivity, cfg.FromBlock, cfg.ToBlock)
	}
	for w.queue.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tx := w.queue.pop()
		if err := w.spend(tx); err != nil {
			return nil, err
		}
		w.progress(tx.Tx.BlockNumber)
	}
	return w.finishUTXO()
}

func (w *utxoWalker) progress(block uint64) {
	if w.cfg.Progress == nil || time.Since(w.last) < 200*time.Millisecond {
		return
	}
	w.last = time.Now()
	w.cfg.Progress(Progress{Addresses: len(w.nodes), Transfers: len(w.res.Rows), Block: block})
}

func (w *utxoWalker) reach(addr string, hop int) *node {
	if n, ok := w.nodes[addr]; ok {
		if hop < n.r.Hop {
			n.r.Hop = hop
		}
		return n
	}
	n := &node{r: &Reached{Address: addr, Hop: hop, Taint: map[string]*big.Int{}}}
	if w.lb != nil {
		if label, cat, ok := w.lb.Stop(addr); ok {
			n.r.Stop, n.r.Label, n.r.Category = true, label, cat
		}
	}
	w.nodes[addr] = n
	return n
}

func (w *utxoWalker) seed(s string) error {
	txid, vout, isOut, err := ParseOutpointSeed(s)
	if err != nil {
		return err
	}
	if isOut {
		tx, err := w.h.Tx(w.ctx, txid)
		if err != nil {
			return fmt.Errorf("seed %s: %w", s, err)
		}
		if int(vout) >= tx.NumOutputs {
			return fmt.Errorf("seed %s: %w: transaction %s has %d outputs", s, ErrUnknownOutput, txid, tx.NumOutputs)
		}
		if tx.Tx.BlockNumber > w.cfg.ToBlock {
			return fmt.Errorf("seed %s: mined in block %d, after the window's end %d", s, tx.Tx.BlockNumber, w.cfg.ToBlock)
		}
		o, ok := tx.Output(vout)
		if !ok {
			return fmt.Errorf("seed %s: %w: output %d of %s carries no value", s, ErrUnknownOutput, vout, txid)
		}
		n := w.reach(o.To, 0)
		n.source = true
		ts := w.run.seed(w.run.colour[s], o.Amount)
		addFigures(n.r, w.cfg.NativeAsset, w.run.figures(ts, o.Amount), w.run)
		return w.taint(o, ts, 0)
	}
	n := w.reach(s, 0)
	n.source = true
	// What the address holds when the window opens (outputs paid to it
	// earlier and not spent before then) and what it receives in it.
	outs, err := addressOutputs(w.ctx, w.h, s, 0, w.cfg.ToBlock)
	if err != nil {
		return fmt.Errorf("history of seed %s: %w", s, err)
	}
	for i := range outs {
		t := &outs[i]
		if t.BlockNumber < w.cfg.FromBlock {
			spent, err := w.spentBefore(t, w.cfg.FromBlock)
			if err != nil {
				return err
			}
			if spent {
				continue // gone before the window opened
			}
		}
		ts := w.run.seed(w.run.colour[s], t.Amount)
		addFigures(n.r, w.cfg.NativeAsset, w.run.figures(ts, t.Amount), w.run)
		if err := w.taint(t, ts, 0); err != nil {
			return err
		}
	}
	return nil
}

// addressOutputs collects the outputs paying addr created in blocks
// from..to, checking that the history yields none paying another address.
func addressOutputs(ctx context.Context, h UTXOHistory, addr string, from, to uint64) ([]chains.Transfer, error) {
	var outs []chains.Transfer
	err := h.AddressOutputs(ctx, addr, from, to, func(t *chains.Transfer) error {
		if t.To != addr {
			return fmt.Errorf("history of %s yielded an output paying %s", addr, t.To)
		}
		outs = append(outs, *t)
		return nil
	})
	return outs, err
}

// spentBefore reports whether output t was spent in a block before n.
func (w *utxoWalker) spentBefore(t *chains.Transfer, n uint64) (bool, error) {
	if n == 0 {
		return false, nil
	}
	spender, ok, err := w.h.Spender(w.ctx, t.TxHash, t.Ordinal, n-1)
	if err != nil {
		return false, fmt.Errorf("spender of %s:%d: %w", t.TxHash, t.Ordinal, err)
	}
	return ok && spender != "", nil
}

// taint records output t as carrying taint at hop, and queues its spender
// if the walk follows it.
func (w *utxoWalker) taint(t *chains.Transfer, ts []taint.Taint, hop int) error {
	key := t.TxHash + ":" + strconv.FormatUint(uint64(t.Ordinal), 10)
	if c, ok := w.coins[key]; ok { // a seed named twice (as address and as output)
		if hop < c.hop {
			c.hop = hop
			w.coins[key] = c
		}
		return nil
	}
	n := w.nodes[t.To]
	if n != nil && n.r.Stop || hop >= w.cfg.MaxHops ||
		w.cfg.MinValue != nil && t.Amount.Cmp(w.cfg.MinValue) < 0 {
		return nil // an endpoint, or the walk's limits: not followed
	}
	// Confined to a subgraph (a backward trace's edges), the walk follows
	// only the outputs in it. spend has already shared the transaction's
	// taint over all its outputs (the models need every one, and the
	// reconciliation states them), so an output outside keeps its row and
	// figures; it only carries no taint on.
	if w.cfg.Within != nil && !w.cfg.Within(t) {
		return nil
	}
	w.coins[key] = coin{taint: ts, hop: hop}
	spender, ok, err := w.h.Spender(w.ctx, t.TxHash, t.Ordinal, w.cfg.ToBlock)
	if err != nil {
		return fmt.Errorf("spender of %s: %w", key, err)
	}
	if !ok || w.queued[spender] {
		return nil
	}
	tx, err := w.h.Tx(w.ctx, spender)
	if err != nil {
		return fmt.Errorf("transaction %s spending %s: %w", spender, key, err)
	}
	if tx.Tx.BlockNumber > w.cfg.ToBlock {
		return nil
	}
	if tx.Tx.BlockNumber < w.cfg.FromBlock {
		return nil // spent before the window opened
	}
	if tx.Tx.BlockNumber < t.BlockNumber || tx.Tx.BlockNumber == t.BlockNumber && tx.Tx.Index <= t.TxIndex {
		return fmt.Errorf("transaction %s (block %d, index %d) is said to spend %s, created later", spender, tx.Tx.BlockNumber, tx.Tx.Index, key)
	}
	w.queued[spender] = true
	w.queue.push(tx)
	return nil
}

// spend processes a transaction spending tainted outputs.
func (w *utxoWalker) spend(tx *UTXOTx) error {
	rec := &tx.Tx
	kinds := w.run.kinds
	nIn := len(rec.Inputs)
	coins := make([]taint.Coin, len(kinds)*nIn)
	ins := make([][]taint.Coin, len(kinds)) // per model
	for m := range ins {
		ins[m] = coins[m*nIn : (m+1)*nIn : (m+1)*nIn]
	}
	hop := -1
	tainted := 0
	fromCoin := make([]bool, len(rec.Inputs)) // spends an output the walk follows
	valueIn := new(big.Int)
	for i := range rec.Inputs {
		in := &rec.Inputs[i]
		if in.Value == nil {
			return fmt.Errorf("transaction %s input %d: no value", rec.Hash, i)
		}
		valueIn.Add(valueIn, in.Value)
		key := in.Outpoint()
		c, ok := w.coins[key]
		for m := range ins {
			ins[m][i] = taint.Coin{Value: in.Value}
			if ok {
				ins[m][i].Taint = c.taint[m]
			}
		}
		if ok {
			delete(w.coins, key)
			fromCoin[i] = true
			tainted++
			if hop < 0 || c.hop+1 < hop {
				hop = c.hop + 1
			}
		}
	}
	if tainted == 0 {
		return nil // queued for an output the walk then stopped following
	}
	var ht *heuristics.Tx
	if w.cfg.CoinJoin != nil || w.cfg.PeelChain != nil || w.cfg.Change != nil || w.cfg.Cluster != nil {
		var err error
		if ht, err = heuristics.FromChains(*rec, tx.Outputs, tx.NumOutputs); err != nil {
			return fmt.Errorf("transaction %s: %w", rec.Hash, err)
		}
	}
	if w.cfg.CoinJoin != nil {
		if f := w.cfg.CoinJoin.Detect(ht); f != nil {
			// A boundary: the taint entered a CoinJoin and is not followed
			// through it; the transactions that brought it are evidence.
			for i, in := range rec.Inputs {
				if fromCoin[i] && !slices.Contains(f.Evidence, in.TxID) {
					f.Evidence = append(f.Evidence, in.TxID)
				}
			}
			w.res.Findings = append(w.res.Findings, *f)
			w.cfg.Logger.Info("coinjoin: the trace stops here", "tx", rec.Hash, "heuristic", f.Heuristic)
			return nil
		}
	}
	if ht != nil {
		w.done = append(w.done, ht)
	}
	outs := make([]*big.Int, tx.NumOutputs)
	for i := range outs {
		outs[i] = zero // an output the history does not list (SplitTx changes none)
	}
	valueOut := new(big.Int)
	for i := range tx.Outputs {
		o := &tx.Outputs[i]
		if int(o.Ordinal) >= len(outs) {
			return fmt.Errorf("transaction %s: output %d of %d", rec.Hash, o.Ordinal, len(outs))
		}
		outs[o.Ordinal] = o.Amount
		valueOut.Add(valueOut, o.Amount)
	}
	fee := new(big.Int)
	if rec.Fee != nil {
		fee.Set(rec.Fee)
	}
	if new(big.Int).Add(valueOut, fee).Cmp(valueIn) != 0 {
		return fmt.Errorf("reconciliation: transaction %s: value in %s != value out %s + fee %s", rec.Hash, valueIn, valueOut, fee)
	}
	// One split per model (into the walker's buffer: the splits' taints
	// are copied out of it below).
	splits := w.splits[:0]
	for m, k := range kinds {
		sp, err := w.split.Split(k, ins[m], outs, fee)
		if err != nil {
			return fmt.Errorf("transaction %s under %s: %w", rec.Hash, k, err)
		}
		for i, t := range sp.Outs {
			if err := t.Check(k, outs[i]); err != nil {
				return fmt.Errorf("transaction %s output %d: %w", rec.Hash, i, err)
			}
		}
		splits = append(splits, sp)
	}
	w.splits = splits
	defer clear(w.splits)
	rc := TxReconciliation{TxHash: rec.Hash, Asset: w.cfg.NativeAsset, ValueIn: valueIn, ValueOut: valueOut, Fee: fee,
		In:          w.run.figuresAt(valueIn, func(m int) taint.Taint { return splits[m].In }),
		FeeTaint:    w.run.figuresAt(fee, func(m int) taint.Taint { return splits[m].Fee }),
		BlockNumber: rec.BlockNumber, TxIndex: rec.Index, InputsTainted: tainted, NumInputs: len(rec.Inputs)}
	figs := make([]Figures, len(outs))
	for i := range outs {
		figs[i] = w.run.figuresAt(outs[i], func(m int) taint.Taint { return splits[m].Outs[i] })
	}
	rc.Out = w.run.sum(figs...)
	rc.setPrimary()
	if err := rc.Check(); err != nil {
		return fmt.Errorf("reconciliation: %w", err)
	}
	w.res.Reconciliation = append(w.res.Reconciliation, rc)
	for i := range tx.Outputs {
		o := &tx.Outputs[i]
		fig := figs[o.Ordinal]
		if !fig.Any() || w.cfg.MinValue != nil && o.Amount.Cmp(w.cfg.MinValue) < 0 {
			continue
		}
		w.res.Rows = append(w.res.Rows, Row{Transfer: *o, Hop: hop, Taint: fig.Primary(), Figures: fig})
		n := w.reach(o.To, hop)
		if !n.source {
			addFigures(n.r, o.Asset, fig, w.run)
		}
		if n.r.Stop {
			addEndpoint(w.ends, n, o, fig)
		}
		ts := make([]taint.Taint, len(kinds))
		for m := range ts {
			ts[m] = splits[m].Outs[o.Ordinal]
		}
		if err := w.taint(o, ts, hop); err != nil {
			return err
		}
	}
	return nil
}

func (w *utxoWalker) finishUTXO() (*Result, error) {
	if w.cfg.CoinJoin != nil {
		w.res.Heuristics = append(w.res.Heuristics, w.cfg.CoinJoin.Infos()...)
	}
	if w.cfg.PeelChain != nil && w.cfg.PeelChain.Enabled {
		w.res.Heuristics = append(w.res.Heuristics, w.cfg.PeelChain.Info())
		fs, err := w.cfg.PeelChain.Scan(w.ctx, heuristics.NewMemChain(w.done), w.done)
		if err != nil {
			return nil, fmt.Errorf("peel chains: %w", err)
		}
		w.res.Findings = append(w.res.Findings, fs...)
	}
	if w.cfg.Change != nil {
		if err := w.changeFindings(); err != nil {
			return nil, err
		}
	}
	if w.cfg.Cluster != nil {
		w.cluster()
	}
	fw := &walker{nodes: w.nodes, ends: w.ends, res: w.res}
	return fw.finish(), nil
}

// Clustering is a multi-input clustering made before the walk, over a
// window covering it (*heuristics.MultiInput satisfies it; Info names the
// run for method.heuristics). Members is called once per cluster the walk
// reached, Path once per reached member.
type Clustering interface {
	Info() heuristics.Info
	ClusterID(addr string) (uint32, bool)
	Members(addr string) []string
	Path(a, b string) []heuristics.Merge
}

var _ Clustering = (*heuristics.MultiInput)(nil)

// cluster states the multi-input clusters of the reached addresses: from
// cfg.Clusters when set, else from clustering the transactions passed
// through. A cluster's id is "cluster:" and its least member address; its
// finding names the transactions that merged it.
func (w *utxoWalker) cluster() {
	if w.cfg.Clusters != nil {
		w.clusterFrom(w.cfg.Clusters)
		return
	}
	mi := heuristics.NewMultiInput(*w.cfg.Cluster)
	w.res.Heuristics = append(w.res.Heuristics, mi.Info())
	for _, tx := range w.done {
		mi.Add(heuristics.ClusterTxOf(tx))
	}
	evidence := map[uint32][]string{}
	member := map[uint32]string{} // an address of each merged cluster
	for m := range mi.Merges() {
		id, _ := mi.ClusterID(m.A)
		member[id] = m.A
		if !slices.Contains(evidence[id], m.TxID) {
			evidence[id] = append(evidence[id], m.TxID)
		}
	}
	names := map[uint32]string{}
	for id := range evidence {
		members := mi.Members(member[id])
		names[id] = clusterName(members)
		if w.res.Clusters == nil {
			w.res.Clusters = map[string][]string{}
		}
		w.res.Clusters[names[id]] = members
		w.res.Findings = append(w.res.Findings, heuristics.Finding{Kind: heuristics.KindClusterMerge, Subject: names[id],
			Evidence: evidence[id], Confidence: 90, Heuristic: mi.Info().Name, Version: mi.Info().Version})
	}
	for addr, n := range w.nodes {
		if id, ok := mi.ClusterID(addr); ok && names[id] != "" {
			n.r.Cluster = names[id]
		}
	}
	w.sortFindings()
}

// clusterFrom states the clusters c gives the reached addresses. A
// cluster of the whole store may hold millions of addresses and its merge
// log as many transactions, so a finding's evidence is bounded by what
// the exhibit shows: the merges on the paths from the cluster's name (its
// least member) to each of its reached members, which together link
// every reached member to every other. A cluster with one reached member
// still gets its finding: the path from its name to that member (or, if
// it is the name, to the next least member).
func (w *utxoWalker) clusterFrom(c Clustering) {
	info := c.Info()
	w.res.Heuristics = append(w.res.Heuristics, info)
	reached := map[uint32][]string{}
	for addr := range w.nodes {
		if id, ok := c.ClusterID(addr); ok {
			reached[id] = append(reached[id], addr)
		}
	}
	for _, addrs := range reached {
		members := c.Members(addrs[0])
		if len(members) < 2 {
			continue
		}
		name := clusterName(members) // sorts members
		slices.Sort(addrs)
		var evidence []string
		seen := map[string]bool{}
		for _, a := range addrs {
			for _, m := range c.Path(members[0], a) {
				if !seen[m.TxID] {
					seen[m.TxID] = true
					evidence = append(evidence, m.TxID)
				}
			}
			w.nodes[a].r.Cluster = name
		}
		if len(evidence) == 0 { // the one reached member is the name: what joined it to the next
			for _, m := range c.Path(members[0], members[1]) {
				evidence = append(evidence, m.TxID)
			}
		}
		if w.res.Clusters == nil {
			w.res.Clusters = map[string][]string{}
		}
		w.res.Clusters[name] = members
		w.res.Findings = append(w.res.Findings, heuristics.Finding{Kind: heuristics.KindClusterMerge, Subject: name,
			Evidence: evidence, Confidence: 90, Heuristic: info.Name, Version: info.Version})
	}
	w.sortFindings()
}

func (w *utxoWalker) sortFindings() {
	sort.SliceStable(w.res.Findings, func(i, j int) bool {
		a, b := w.res.Findings[i], w.res.Findings[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Subject < b.Subject
	})
}
