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
	Seeds       []string // canonical address forms
	Model       Model
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
	Hop   int
	Taint *big.Int
}

// Reached is an address the trace reached.
type Reached struct {
	Address  string
	Hop      int
	Taint    map[string]*big.Int // asset -> tainted value received (seeds: held and received)
	Stop     bool
	Label    string
	Category string
	Cluster  string // the cluster id, when clustering ran and found one
}

// Endpoint is a labelled service where the trace stopped, per asset.
type Endpoint struct {
	Address, Label, Category, Asset string
	Amount, Taint                   *big.Int
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

// pos orders events: block, transaction, then a transaction's fee before
// its transfers, then the transfer's ordinal.
type pos struct {
	block uint64
	tx    uint32
	sub   uint8 // 0 fee, 1 transfer
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
}

// node is an address the walk reached.
type node struct {
	r       *Reached
	source  bool
	loaded  bool // its history is in the event loop
	ledgers map[string]*Ledger
	joined  pos
	// pre holds its events in the joining block before it joined: they
	// shape the opening balance but carry no taint.
	pre []*event
}

type walker struct {
	ctx   context.Context
	h     History
	lb    Labels
	cfg   Config
	nodes map[string]*node
	queue *queue[*event]
	seen  map[pos]bool
	res   Result
	ends  map[[2]string]*Endpoint
	last  time.Time
}

// Trace walks forward from the seeds.
func Trace(ctx context.Context, h History, lb Labels, cfg Config) (*Result, error) {
	if cfg.Model == nil {
		return nil, errors.New("no taint model")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &walker{ctx: ctx, h: h, lb: lb, cfg: cfg, nodes: map[string]*node{}, seen: map[pos]bool{}, ends: map[[2]string]*Endpoint{},
		queue: newQueue(func(a, b *event) bool { return a.at.less(b.at) })}
	start := pos{block: cfg.FromBlock}
	for _, s := range cfg.Seeds {
		if _, dup := w.nodes[s]; dup {
			continue
		}
		n := w.reach(s, 0, start)
		n.source = true
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
	n := &node{r: &Reached{Address: addr, Hop: hop, Taint: map[string]*big.Int{}}, ledgers: map[string]*Ledger{}, joined: at}
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
// block before at for its opening balance.
func (w *walker) load(n *node, at pos) error {
	if n.loaded || !w.followed(n) {
		return nil
	}
	n.loaded, n.joined, n.pre = true, at, nil
	from := at.block
	add := func(e *event) {
		switch {
		case at.less(e.at):
			if !w.seen[e.at] {
				w.seen[e.at] = true
				w.queue.push(e)
			}
		case e.at.block == at.block && e.at != at:
			n.pre = append(n.pre, e)
		}
	}
	err := w.h.AddressTransfers(w.ctx, n.r.Address, from, w.cfg.ToBlock, func(t *chains.Transfer) error {
		c := *t
		add(&event{at: transferPos(&c), transfer: &c})
		return nil
	})
	if err != nil {
		return fmt.Errorf("history of %s: %w", n.r.Address, err)
	}
	err = w.h.SentTxs(w.ctx, n.r.Address, from, w.cfg.ToBlock, func(tx *chains.Tx) error {
		if tx.Fee != nil && tx.Fee.Sign() > 0 {
			add(&event{at: pos{tx.BlockNumber, tx.Index, 0, 0}, fee: new(big.Int).Set(tx.Fee), payer: n.r.Address})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("transactions of %s: %w", n.r.Address, err)
	}
	// A node reached first as a leaf (at the hop limit) and now again at a
	// lower hop received taint while the walk did not keep its ledger. Its
	// ledger starts on the real balance at this point holding that taint,
	// capped by the balance: whatever left meanwhile took taint with it.
	for _, asset := range sortedKeys(n.r.Taint) {
		l, err := w.opening(n, asset, at)
		if err != nil {
			return err
		}
		l.Taint.Set(n.r.Taint[asset])
		if l.Taint.Cmp(l.Balance) > 0 {
			l.Taint.Set(l.Balance)
		}
		n.ledgers[asset] = l
	}
	return nil
}

func sortedKeys(m map[string]*big.Int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// opening builds n's ledger for asset as it stood just before at: the
// balance at the end of the previous block plus n's earlier events in at's
// block.
func (w *walker) opening(n *node, asset string, at pos) (*Ledger, error) {
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
	return newLedger(bal, n.source), nil
}

func (w *walker) ledger(n *node, asset string, at pos) (*Ledger, error) {
	if l, ok := n.ledgers[asset]; ok {
		return l, nil
	}
	l, err := w.opening(n, asset, at)
	if err != nil {
		return nil, err
	}
	n.ledgers[asset] = l
	if n.source {
		add(n.r.Taint, asset, l.Balance) // what a seed holds is the thief's
	}
	return l, nil
}

func (w *walker) fee(e *event) error {
	n := w.nodes[e.payer]
	if n == nil || !n.loaded {
		return nil
	}
	l, err := w.ledger(n, w.cfg.NativeAsset, e.at)
	if err != nil {
		return err
	}
	w.cfg.Model.Debit(l, e.fee)
	return nil
}

func (w *walker) transfer(e *event) error {
	t := e.transfer
	taint := new(big.Int)
	hop := 0
	if s := w.nodes[t.From[0]]; s != nil && s.loaded {
		l, err := w.ledger(s, t.Asset, e.at)
		if err != nil {
			return err
		}
		taint = w.cfg.Model.Debit(l, t.Amount)
		hop = s.r.Hop + 1
	}
	follow := taint.Sign() > 0 && hop <= w.cfg.MaxHops &&
		(w.cfg.MinValue == nil || t.Amount.Cmp(w.cfg.MinValue) >= 0)
	if !follow {
		taint = new(big.Int) // below the value floor: not followed, carries nothing on
	}
	r := w.nodes[t.To]
	if follow {
		w.res.Rows = append(w.res.Rows, Row{Transfer: *t, Hop: hop, Taint: taint})
		r = w.reach(t.To, hop, e.at)
		if err := w.load(r, e.at); err != nil { // no-op when loaded or not followed
			return err
		}
		if !r.source {
			add(r.r.Taint, t.Asset, taint)
		}
		if r.r.Stop {
			addEndpoint(w.ends, r, t, taint)
		}
	}
	if r != nil && r.loaded {
		l, err := w.ledger(r, t.Asset, e.at)
		if err != nil {
			return err
		}
		w.cfg.Model.Credit(l, t.Amount, taint)
		if r.source {
			add(r.r.Taint, t.Asset, t.Amount) // a seed's every receipt counts
		}
	}
	return nil
}

// addEndpoint adds transfer t into the stop n, carrying taint, to ends.
func addEndpoint(ends map[[2]string]*Endpoint, n *node, t *chains.Transfer, taint *big.Int) {
	k := [2]string{n.r.Address, t.Asset}
	ep := ends[k]
	if ep == nil {
		ep = &Endpoint{Address: n.r.Address, Label: n.r.Label, Category: n.r.Category, Asset: t.Asset,
			Amount: new(big.Int), Taint: new(big.Int), FirstBlock: t.BlockNumber}
		ends[k] = ep
	}
	ep.Amount.Add(ep.Amount, t.Amount)
	ep.Taint.Add(ep.Taint, taint)
	ep.LastBlock = t.BlockNumber
}

func add(m map[string]*big.Int, k string, v *big.Int) {
	if m[k] == nil {
		m[k] = new(big.Int)
	}
	m[k].Add(m[k], v)
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
