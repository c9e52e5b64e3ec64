package tracer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sort"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// History is the chain data the walk reads. The store (filled from a node
// on demand) implements it; the walk asks only for the addresses it reaches.
type History interface {
	// AddressTransfers yields every transfer from or to addr with
	// from <= block <= to, in exhibit order, each once.
	AddressTransfers(ctx context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error
	// SentTxs yields the transactions addr sent with from <= block <= to,
	// in order; their fees are debits of the native asset.
	SentTxs(ctx context.Context, addr string, from, to uint64, fn func(*chains.Tx) error) error
	// BalanceAt returns addr's balance of asset at the end of block n.
	BalanceAt(ctx context.Context, addr, asset string, n uint64) (*big.Int, error)
}

// Labels tells the walk where to stop.
type Labels interface {
	// Stop reports whether addr is a labelled service in one of the stop
	// categories, and its label.
	Stop(addr string) (label, category string, ok bool)
}

// Config is one trace's parameters.
type Config struct {
	Seeds []string // canonical address forms
	// SeedColours gives each seed's colour, an index into Colours,
	// parallel to Seeds (nil: all of colour 0). Colours names them (nil or
	// one name: the seeds are one). Taint of different colours is kept
	// apart in the arithmetic.
	SeedColours []int
	Colours     []string
	// Models are the taint models the walk runs side by side, the primary
	// first. An address or output is followed when any model taints it.
	Models      []taint.Kind
	MaxHops     int
	MinValue    *big.Int // transfers below it are not followed (nil: none)
	FromBlock   uint64
	ToBlock     uint64
	NativeAsset string // "ETH"
	Logger      *slog.Logger
	// Progress, if set, is called now and then with the walk's state.
	Progress func(Progress)
	// CoinJoin, if set, makes every CoinJoin a utxo walk reaches a
	// boundary: a coinjoin finding, and no taint followed through it.
	CoinJoin *heuristics.CoinJoinDetector
	// PeelChain, if set, reports the peel chains among the transactions a
	// utxo walk passed through.
	PeelChain *heuristics.PeelChain
	// Change, if set, names the change output of every transaction a utxo
	// walk passed through where its heuristics agree (change_output
	// findings); SeenBefore reads the history's blocks from FromBlock.
	Change *heuristics.ChangeDetector
	// Cluster, if set, runs multi-input clustering over the transactions a
	// utxo walk passed through (CoinJoins, which are boundaries, never
	// among them): addresses co-spent in one transaction share a cluster,
	// stated on the exhibit's addresses, each with a cluster_merge finding
	// whose evidence is the merging transactions.
	Cluster *heuristics.MultiInputOptions
	// Clusters, with Cluster set, is a clustering made beforehand over a
	// window covering the walk's (the store's saved run, held merges
	// accepted on review included): the exhibit's addresses take their
	// clusters from it, not only from the transactions the walk passed
	// through, and each cluster_merge finding's evidence is the merges
	// linking the cluster's reached members (see Clustering).
	Clusters Clustering
	// Deposit, if set, checks on an account chain every address the trace
	// saw pay an exchange: a deposit address of that exchange is a
	// deposit_address finding (the exchange stays the endpoint).
	Deposit *heuristics.DepositAddress
	// Within, if set, confines a walk to a subgraph: a transfer it
	// rejects is not followed, like one below MinValue. On an account
	// chain it still leaves the sender's ledger, taking its taint with
	// it, and carries none on. On a utxo chain it is an output: the
	// spending transaction's split still covers every output (each keeps
	// its row and figures), but the walk queues the spender of only the
	// outputs Within accepts. The backward traces (TraceBack, TraceBackUTXO)
	// set it to the transfers, or outputs, they found leading to their
	// targets.
	Within func(t *chains.Transfer) bool
}

// Progress reports a walk's state.
type Progress struct {
	Addresses int // reached so far
	Transfers int // tainted transfers so far
	Block     uint64
}

// Row is a transfer the trace reached, with its hop and taint.
type Row struct {
	chains.Transfer
	Hop     int
	Taint   *big.Int // under the primary model
	Figures Figures  // under every model
}

// Reached is an address the trace reached.
type Reached struct {
	Address  string
	Hop      int
	Taint    map[string]*big.Int // asset -> tainted value received (seeds: held and received), primary model
	Figures  map[string]Figures  // the same under every model
	Stop     bool
	Label    string
	Category string
	Cluster  string // the cluster id, when clustering ran and found one
}

// Endpoint is a labelled service where the trace stopped, per asset.
type Endpoint struct {
	Address, Label, Category, Asset string
	Amount, Taint                   *big.Int
	Figures                         Figures
	FirstBlock, LastBlock           uint64
}

// Result is what a walk found.
type Result struct {
	Rows      []Row
	Addresses []*Reached // sorted by hop, then address
	Endpoints []Endpoint // sorted by address, then asset
	// Reconciliation has one entry per transaction a utxo walk passed
	// through, in chain order.
	Reconciliation []TxReconciliation
	// Heuristics are the heuristics that ran; Findings what they found.
	Heuristics []heuristics.Info
	Findings   []heuristics.Finding
	// Clusters lists each cluster's members (sorted) by cluster id.
	Clusters map[string][]string
}

// ErrNoActivity means no seed moved anything in the window.
var ErrNoActivity = errors.New("no seed has activity in the block window")

// pos orders events: block, transaction, then a transaction's transfers in
// order, then its fee (the last slice of the sender's tape).
type pos struct {
	block uint64
	tx    uint32
	sub   uint8 // 1 transfer, 2 fee
	ord   uint32
}

func (a pos) less(b pos) bool {
	if a.block != b.block {
		return a.block < b.block
	}
	if a.tx != b.tx {
		return a.tx < b.tx
	}
	if a.sub != b.sub {
		return a.sub < b.sub
	}
	return a.ord < b.ord
}

func transferPos(t *chains.Transfer) pos {
	return pos{t.BlockNumber, t.TxIndex, 1, t.Ordinal}
}

type event struct {
	at       pos
	transfer *chains.Transfer // nil for a fee
	fee      *big.Int
	payer    string
	txHash   string
	// group is the sender's debit group of this outflow (or fee), set
	// once the sender is loaded; idx is its place in it (-1: the fee).
	group *debitGroup
	idx   int
}

// debitGroup is one sender's outflows of one asset in one transaction, and
// its fee last when the asset is the native one: the account's tape for
// that transaction, debited together when the first of them is reached.
type debitGroup struct {
	sender *node
	asset  string
	outs   []*event
	fee    *event
	done   bool
	at     pos             // where it was debited
	taints [][]taint.Taint // per outflow, per model
	feeT   []taint.Taint
}

// node is an address the walk reached.
type node struct {
	r       *Reached
	source  bool
	colour  int                        // a seed's colour
	loaded  bool                       // its history is in the event loop
	ledgers map[string][]*taint.Ledger // per asset, per model
	joined  pos
	// pre holds its events in the joining block before it joined: they
	// shape the opening balance but carry no taint.
	pre []*event
}

type walker struct {
	ctx    context.Context
	h      History
	lb     Labels
	cfg    Config
	run    runModels
	nodes  map[string]*node
	queue  *queue[*event]
	events map[pos]*event // every event queued
	res    Result
	ends   map[[2]string]*Endpoint
	recon  map[[2]string][]*debitGroup // (tx hash, asset) -> its groups
	order  [][2]string                 // recon keys in chain order
	rowTx  map[string]bool             // txs with a row
	last   time.Time
}

// Trace walks forward from the seeds.
func Trace(ctx context.Context, h History, lb Labels, cfg Config) (*Result, error) {
	run, err := newRunModels(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &walker{ctx: ctx, h: h, lb: lb, cfg: cfg, run: run, nodes: map[string]*node{}, events: map[pos]*event{},
		ends: map[[2]string]*Endpoint{}, recon: map[[2]string][]*debitGroup{}, rowTx: map[string]bool{},
		queue: newQueue(func(a, b *event) bool { return a.at.less(b.at) })}
	start := pos{block: cfg.FromBlock}
	for _, s := range cfg.Seeds {
		if _, dup := w.nodes[s]; dup {
			continue
		}
		n := w.reach(s, 0, start)
		n.source, n.colour = true, run.colour[s]
		if err := w.load(n, start); err != nil {
			return nil, err
		}
	}
	if w.queue.Len() == 0 {
		return nil, fmt.Errorf("%w (blocks %d-%d)", ErrNoActivity, cfg.FromBlock, cfg.ToBlock)
	}
	for w.queue.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := w.queue.pop()
		var err error
		if e.transfer == nil {
			err = w.fee(e)
		} else {
			err = w.transfer(e)
		}
		if err != nil {
			return nil, err
		}
		w.progress(e.at.block)
	}
	if cfg.Deposit != nil && cfg.Deposit.Enabled {
		if err := w.deposits(); err != nil {
			return nil, err
		}
	}
	for _, k := range w.order {
		if w.rowTx[k[0]] {
			w.res.Reconciliation = append(w.res.Reconciliation, w.reconcile(k, w.recon[k]))
		}
	}
	return w.finish(), nil
}

// deposits runs the deposit-address heuristic on every address the trace
// saw pay an exchange endpoint (DetectDeposits), and names the reached
// senders' clusters.
func (w *walker) deposits() error {
	w.res.Heuristics = append(w.res.Heuristics, w.cfg.Deposit.Info())
	checked := map[string]bool{}
	var candidates []string
	for _, r := range w.res.Rows {
		to := w.nodes[r.To]
		d := r.From[0]
		if to == nil || !to.r.Stop || to.r.Category != "exchange" || checked[d] {
			continue
		}
		checked[d] = true
		if n := w.nodes[d]; n == nil || n.source || n.r.Stop {
			continue
		}
		candidates = append(candidates, d)
	}
	found, err := DetectDeposits(w.ctx, w.h, w.lb, candidates, w.cfg.FromBlock, w.cfg.ToBlock, *w.cfg.Deposit, w.cfg.NativeAsset)
	if err != nil {
		return err
	}
	w.res.Findings = append(w.res.Findings, found.Findings...)
	for id, members := range found.Clusters {
		for _, m := range members {
			if n := w.nodes[m]; n != nil {
				n.r.Cluster = id
			}
		}
	}
	sort.SliceStable(w.res.Findings, func(i, j int) bool {
		a, b := w.res.Findings[i], w.res.Findings[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Subject < b.Subject
	})
	return nil
}

// clusterName sorts a cluster's members and names the cluster by the least:
// "cluster:" + that address, the id exhibits and findings use.
func clusterName(members []string) string {
	slices.Sort(members)
	return "cluster:" + members[0]
}

func (w *walker) progress(block uint64) {
	if w.cfg.Progress == nil || time.Since(w.last) < 200*time.Millisecond {
		return
	}
	w.last = time.Now()
	w.cfg.Progress(Progress{Addresses: len(w.nodes), Transfers: len(w.res.Rows), Block: block})
}

// reach records addr as reached at hop, returning its node.
func (w *walker) reach(addr string, hop int, at pos) *node {
	if n, ok := w.nodes[addr]; ok {
		if hop < n.r.Hop {
			n.r.Hop = hop
		}
		return n
	}
	n := &node{r: &Reached{Address: addr, Hop: hop, Taint: map[string]*big.Int{}}, ledgers: map[string][]*taint.Ledger{}, joined: at}
	if label, cat, ok := w.stop(addr); ok {
		n.r.Stop, n.r.Label, n.r.Category = true, label, cat
	}
	w.nodes[addr] = n
	return n
}

// followed reports whether the walk reads n's history: not a stop, and
// its outflows would still be within the hop limit.
func (w *walker) followed(n *node) bool {
	return !n.r.Stop && n.r.Hop < w.cfg.MaxHops
}

// load puts n's events after at into the loop, and keeps those of the same
// block before at for its opening balance. Its outflows (and fees) after
// at are grouped per transaction and asset into debit groups.
func (w *walker) load(n *node, at pos) error {
	if n.loaded || !w.followed(n) {
		return nil
	}
	n.loaded, n.joined, n.pre = true, at, nil
	from := at.block
	var mine []*event
	add := func(e *event) {
		switch {
		case at.less(e.at):
			if have, ok := w.events[e.at]; ok {
				e = have
			} else {
				w.events[e.at] = e
				w.queue.push(e)
			}
			mine = append(mine, e)
		case e.at.block == at.block && e.at != at:
			n.pre = append(n.pre, e)
		}
	}
	err := w.h.AddressTransfers(w.ctx, n.r.Address, from, w.cfg.ToBlock, func(t *chains.Transfer) error {
		c := *t
		add(&event{at: transferPos(&c), transfer: &c, txHash: c.TxHash})
		return nil
	})
	if err != nil {
		return fmt.Errorf("history of %s: %w", n.r.Address, err)
	}
	err = w.h.SentTxs(w.ctx, n.r.Address, from, w.cfg.ToBlock, func(tx *chains.Tx) error {
		if tx.Fee != nil && tx.Fee.Sign() > 0 {
			add(&event{at: pos{tx.BlockNumber, tx.Index, 2, 0}, fee: new(big.Int).Set(tx.Fee), payer: n.r.Address, txHash: tx.Hash})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("transactions of %s: %w", n.r.Address, err)
	}
	w.group(n, mine)
	// A node reached first as a leaf (at the hop limit) and now again at a
	// lower hop received taint while the walk did not keep its ledger. Its
	// ledgers start on the real balance at this point holding that taint,
	// capped by the balance: whatever left meanwhile took taint with it.
	for _, asset := range sortedKeys(n.r.Taint) {
		if _, err := w.openLedger(n, asset, at, true); err != nil {
			return err
		}
	}
	return nil
}

// group sorts n's events after its join into debit groups.
func (w *walker) group(n *node, mine []*event) {
	slices.SortFunc(mine, func(a, b *event) int {
		if a.at.less(b.at) {
			return -1
		}
		if b.at.less(a.at) {
			return 1
		}
		return 0
	})
	type key struct {
		block uint64
		tx    uint32
		asset string
	}
	groups := map[key]*debitGroup{}
	get := func(e *event, asset string) *debitGroup {
		k := key{e.at.block, e.at.tx, asset}
		g := groups[k]
		if g == nil {
			g = &debitGroup{sender: n, asset: asset}
			groups[k] = g
		}
		return g
	}
	for _, e := range mine {
		switch {
		case e.transfer != nil && e.transfer.From[0] == n.r.Address:
			g := get(e, e.transfer.Asset)
			e.group, e.idx = g, len(g.outs)
			g.outs = append(g.outs, e)
		case e.transfer == nil && e.payer == n.r.Address:
			g := get(e, w.cfg.NativeAsset)
			e.group, e.idx = g, -1
			g.fee = e
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// opening is n's balance of asset as it stood just before at: the balance
// at the end of the previous block plus n's earlier events in at's block.
func (w *walker) opening(n *node, asset string, at pos) (*big.Int, error) {
	bal := new(big.Int)
	if at.block > 0 {
		b, err := w.h.BalanceAt(w.ctx, n.r.Address, asset, at.block-1)
		if err != nil {
			return nil, fmt.Errorf("balance of %s in %s at block %d: %w", n.r.Address, asset, at.block-1, err)
		}
		bal.Set(b)
	}
	if at.block == n.joined.block {
		for _, e := range n.pre {
			if !e.at.less(at) {
				continue
			}
			switch {
			case e.transfer == nil && asset == w.cfg.NativeAsset:
				bal.Sub(bal, e.fee)
			case e.transfer != nil && e.transfer.Asset == asset:
				if e.transfer.To == n.r.Address {
					bal.Add(bal, e.transfer.Amount)
				}
				if e.transfer.From[0] == n.r.Address {
					bal.Sub(bal, e.transfer.Amount)
				}
			}
		}
		if bal.Sign() < 0 {
			bal.SetInt64(0)
		}
	}
	return bal, nil
}

// ledger returns n's ledgers of asset, one per model, opening them at at.
func (w *walker) ledger(n *node, asset string, at pos) ([]*taint.Ledger, error) {
	return w.openLedger(n, asset, at, false)
}

// openLedger is ledger; with held, a ledger it opens holds the taint n
// received before it was loaded.
func (w *walker) openLedger(n *node, asset string, at pos, held bool) ([]*taint.Ledger, error) {
	if ls, ok := n.ledgers[asset]; ok {
		return ls, nil
	}
	bal, err := w.opening(n, asset, at)
	if err != nil {
		return nil, err
	}
	source := taint.Clean
	if n.source {
		source = n.colour
	}
	got, had := n.r.Figures[asset]
	ls := make([]*taint.Ledger, len(w.run.kinds))
	for m, k := range w.run.kinds {
		var h []*big.Int
		if held && had && !n.source {
			h = got.ByColour[m]
		}
		ls[m] = taint.NewLedger(k, w.run.colours, bal, source, h)
	}
	n.ledgers[asset] = ls
	if n.source {
		addFigures(n.r, asset, w.run.figures(w.run.seed(n.colour, bal), bal), w.run) // what a seed holds is the thief's
	}
	return ls, nil
}

// debit returns the taint, per model, of outflow (or fee) e of a loaded
// sender, debiting its whole group when e is the group's first.
func (w *walker) debit(e *event) ([]taint.Taint, error) {
	g := e.group
	if !g.done {
		g.done = true
		first := e.at
		if len(g.outs) > 0 {
			first = g.outs[0].at
		}
		ls, err := w.ledger(g.sender, g.asset, first)
		if err != nil {
			return nil, err
		}
		amounts := make([]*big.Int, len(g.outs))
		for i, o := range g.outs {
			amounts[i] = o.transfer.Amount
		}
		var fee *big.Int
		if g.fee != nil {
			fee = g.fee.fee
		}
		per := make([]taint.Taint, (len(g.outs)+1)*len(ls))
		g.taints = make([][]taint.Taint, len(g.outs))
		for i := range g.taints {
			g.taints[i] = per[i*len(ls) : (i+1)*len(ls) : (i+1)*len(ls)]
		}
		g.feeT = per[len(g.outs)*len(ls):]
		for m, l := range ls {
			outs, ft := l.Debit(amounts, fee)
			for i := range outs {
				g.taints[i][m] = outs[i]
			}
			g.feeT[m] = ft
		}
		g.at = e.at
		k := [2]string{e.txHash, g.asset}
		if w.recon[k] == nil {
			w.order = append(w.order, k)
		}
		w.recon[k] = append(w.recon[k], g)
	}
	if e.idx < 0 {
		return g.feeT, nil
	}
	return g.taints[e.idx], nil
}

// reconcile balances one transaction in one asset: what its debit
// groups' senders gave up (outflows and fee), in value and in taint.
func (w *walker) reconcile(k [2]string, groups []*debitGroup) TxReconciliation {
	rc := TxReconciliation{TxHash: k[0], Asset: k[1], ValueIn: new(big.Int), ValueOut: new(big.Int), Fee: new(big.Int),
		BlockNumber: groups[0].at.block, TxIndex: groups[0].at.tx}
	var outs, fees []Figures
	for _, g := range groups {
		for i, o := range g.outs {
			a := o.transfer.Amount
			rc.ValueIn.Add(rc.ValueIn, a)
			rc.ValueOut.Add(rc.ValueOut, a)
			outs = append(outs, w.run.figures(g.taints[i], a))
		}
		if g.fee != nil {
			fee := g.fee.fee
			rc.ValueIn.Add(rc.ValueIn, fee)
			rc.Fee.Add(rc.Fee, fee)
			fees = append(fees, w.run.figures(g.feeT, fee))
		}
	}
	rc.Out, rc.FeeTaint = w.run.sum(outs...), w.run.sum(fees...)
	rc.In = w.run.sum(append(outs, fees...)...)
	rc.setPrimary()
	return rc
}

func (w *walker) fee(e *event) error {
	if e.group == nil || !e.group.sender.loaded {
		return nil
	}
	_, err := w.debit(e)
	return err
}

func (w *walker) transfer(e *event) error {
	t := e.transfer
	ts := w.run.clean()
	hop := 0
	if s := w.nodes[t.From[0]]; s != nil && s.loaded && e.group != nil {
		var err error
		if ts, err = w.debit(e); err != nil {
			return err
		}
		hop = s.r.Hop + 1
	}
	fig := w.run.figures(ts, t.Amount)
	follow := fig.Any() && hop <= w.cfg.MaxHops &&
		(w.cfg.MinValue == nil || t.Amount.Cmp(w.cfg.MinValue) >= 0) &&
		(w.cfg.Within == nil || w.cfg.Within(t))
	if !follow {
		ts = w.run.clean() // below the value floor or outside the subgraph: not followed, carries nothing on
	}
	r := w.nodes[t.To]
	if follow {
		w.res.Rows = append(w.res.Rows, Row{Transfer: *t, Hop: hop, Taint: fig.Primary(), Figures: fig})
		w.rowTx[t.TxHash] = true
		r = w.reach(t.To, hop, e.at)
		if err := w.load(r, e.at); err != nil { // no-op when loaded or not followed
			return err
		}
		if !r.source {
			addFigures(r.r, t.Asset, fig, w.run)
		}
		if r.r.Stop {
			addEndpoint(w.ends, r, t, fig)
		}
	}
	if r != nil && r.loaded {
		ls, err := w.ledger(r, t.Asset, e.at)
		if err != nil {
			return err
		}
		for m, l := range ls {
			l.Credit(t.Amount, ts[m])
		}
		if r.source {
			addFigures(r.r, t.Asset, w.run.figures(w.run.seed(r.colour, t.Amount), t.Amount), w.run) // a seed's every receipt counts
		}
	}
	return nil
}

// addFigures adds what r received (fig) in asset to its figures, and keeps
// its primary taint in step.
func addFigures(r *Reached, asset string, fig Figures, run runModels) {
	if r.Figures == nil {
		r.Figures = map[string]Figures{}
	}
	f, ok := r.Figures[asset]
	switch {
	case !ok && !fig.owned:
		// The first figures are shared until a second comes: most
		// addresses of a laundering graph receive once.
		r.Figures[asset] = fig
		r.Taint[asset] = fig.Primary()
		return
	case !ok:
		f = run.zero()
	case !f.owned:
		g := run.zero()
		g.Add(f)
		f = g
	}
	r.Figures[asset] = f
	f.Add(fig)
	r.Taint[asset] = f.Primary()
}

// addEndpoint adds transfer t into the stop n, carrying fig, to ends.
func addEndpoint(ends map[[2]string]*Endpoint, n *node, t *chains.Transfer, fig Figures) {
	k := [2]string{n.r.Address, t.Asset}
	ep := ends[k]
	if ep == nil {
		ep = &Endpoint{Address: n.r.Address, Label: n.r.Label, Category: n.r.Category, Asset: t.Asset,
			Amount: new(big.Int), FirstBlock: t.BlockNumber}
		ep.Figures = newFigures(len(fig.Total), len(fig.ByColour[0]))
		ends[k] = ep
	}
	ep.Amount.Add(ep.Amount, t.Amount)
	ep.Figures.Add(fig)
	ep.Taint = ep.Figures.Primary()
	ep.LastBlock = t.BlockNumber
}

func (w *walker) finish() *Result {
	for _, n := range w.nodes {
		w.res.Addresses = append(w.res.Addresses, n.r)
	}
	sort.Slice(w.res.Addresses, func(i, j int) bool {
		a, b := w.res.Addresses[i], w.res.Addresses[j]
		if a.Hop != b.Hop {
			return a.Hop < b.Hop
		}
		return a.Address < b.Address
	})
	for _, ep := range w.ends {
		w.res.Endpoints = append(w.res.Endpoints, *ep)
	}
	sort.Slice(w.res.Endpoints, func(i, j int) bool {
		a, b := w.res.Endpoints[i], w.res.Endpoints[j]
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.Asset < b.Asset
	})
	return &w.res
}

func (w *walker) stop(addr string) (string, string, bool) {
	if w.lb == nil {
		return "", "", false
	}
	return w.lb.Stop(addr)
}
