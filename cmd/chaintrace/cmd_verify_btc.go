package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/esplora"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/labels"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/chaintrace/chaintrace/tracer/taint"
)

// A Bitcoin exhibit is re-checked against a node (--btc-rpc) or an Esplora
// API (--esplora): every row against the transaction output it names, every
// reconciliation entry against the transaction's inputs and outputs, the
// taint arithmetic the rows and entries imply, and the tip. Nothing is read
// from the store: the point is a second, independent reading of the chain.

// btcFacts is what the source says of one transaction.
type btcFacts struct {
	tx        chains.Tx
	blockHash string
	time      uint64
	outs      map[string]*chains.Transfer // by position, "out:N"; outputs of value only
}

// btcVerifySource is where verify re-reads the chain.
type btcVerifySource interface {
	// says names the source in a report line ("the node says ...").
	says() string
	// describe names the source and its redacted endpoint.
	describe() string
	// txs fetches the transactions ids (lower-case hex). hint holds the
	// block the exhibit places a transaction in, where it places it.
	// Transactions the source does not know (or holds unconfirmed) are
	// absent from the answer.
	txs(ctx context.Context, ids []string, hint map[string]uint64) (map[string]*btcFacts, error)
	// blockHash is the hash of the block at height n; ok is false when the
	// source has no block there.
	blockHash(ctx context.Context, n uint64) (hash string, ok bool, err error)
}

var (
	_ btcVerifySource = (*btcNodeVerify)(nil)
	_ btcVerifySource = (*btcEsploraVerify)(nil)
)

// btcNodeVerify reads a Bitcoin Core or btcd node: each block the exhibit
// names is fetched once (getblock, with getrawtransaction for the outputs it
// spends); a transaction not in the block the exhibit names, or named by no
// row, is located with getrawtransaction and getblockheader.
type btcNodeVerify struct {
	a    *bitcoin.Adapter
	head uint64
}

func (s *btcNodeVerify) says() string { return "the node" }

func (s *btcNodeVerify) describe() string {
	return fmt.Sprintf("%s at %s", s.a.Capabilities().Client, s.a.RPC().Endpoint())
}

func (s *btcNodeVerify) txs(ctx context.Context, ids []string, hint map[string]uint64) (map[string]*btcFacts, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	found := map[string]*btcFacts{}
	fetched := map[uint64]bool{}
	fetch := func(heights []uint64) error {
		sort.Slice(heights, func(i, j int) bool { return heights[i] < heights[j] })
		for start := 0; start < len(heights); start += 16 {
			chunk := heights[start:min(start+16, len(heights))]
			raws, err := s.a.FetchRaw(ctx, chunk)
			if err != nil {
				return err
			}
			for i := range raws {
				fetched[raws[i].Number] = true
				bt, err := s.a.Decode(&raws[i])
				if err != nil {
					return err
				}
				byTx := map[string]*btcFacts{}
				for j := range bt.Txs {
					id := strings.ToLower(bt.Txs[j].Hash)
					if !want[id] {
						continue
					}
					f := &btcFacts{tx: bt.Txs[j], blockHash: strings.ToLower(bt.Block.Hash), time: bt.Block.Timestamp,
						outs: map[string]*chains.Transfer{}}
					byTx[id] = f
					found[id] = f
				}
				for j := range bt.Transfers {
					t := &bt.Transfers[j]
					if f := byTx[strings.ToLower(t.TxHash)]; f != nil {
						f.outs[t.Position] = t
					}
				}
			}
		}
		return nil
	}
	var heights []uint64
	seen := map[uint64]bool{}
	for _, id := range ids {
		if h, ok := hint[id]; ok && h <= s.head && !seen[h] {
			seen[h] = true
			heights = append(heights, h)
		}
	}
	if err := fetch(heights); err != nil {
		return nil, err
	}
	var more []uint64
	for _, id := range ids {
		if found[id] != nil {
			continue
		}
		h, ok, err := s.a.TxBlock(ctx, id)
		switch {
		case errors.Is(err, bitcoin.ErrUnknownTx):
			continue
		case err != nil:
			return nil, err
		case !ok: // in the mempool: not the confirmed transaction an exhibit names
			continue
		}
		if !fetched[h] && !seen[h] {
			seen[h] = true
			more = append(more, h)
		}
	}
	if err := fetch(more); err != nil {
		return nil, err
	}
	return found, nil
}

func (s *btcNodeVerify) blockHash(ctx context.Context, n uint64) (string, bool, error) {
	if n > s.head {
		return "", false, nil
	}
	var h string
	if err := s.a.RPC().Call(ctx, &h, "getblockhash", n); err != nil {
		return "", false, fmt.Errorf("%s: getblockhash %d: %w", s.a.RPC().Endpoint(), n, err)
	}
	return strings.ToLower(h), true, nil
}

// btcEsploraVerify reads an Esplora API, one transaction at a time (and the
// txids of each block once, for the transaction's index).
type btcEsploraVerify struct {
	c *esplora.Client
}

func (s *btcEsploraVerify) says() string { return "Esplora" }

func (s *btcEsploraVerify) describe() string { return "Esplora at " + s.c.Endpoint() }

func (s *btcEsploraVerify) txs(ctx context.Context, ids []string, _ map[string]uint64) (map[string]*btcFacts, error) {
	found := map[string]*btcFacts{}
	for _, id := range ids {
		tx, err := s.c.Tx(ctx, id)
		if errors.Is(err, esplora.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !tx.Status.Confirmed {
			continue
		}
		idx, err := s.c.TxIndex(ctx, tx.Status.BlockHash, id)
		if err != nil {
			return nil, err
		}
		rec, rows, err := s.c.Rows(tx, idx)
		if err != nil {
			return nil, err
		}
		f := &btcFacts{tx: rec, blockHash: strings.ToLower(tx.Status.BlockHash), time: tx.Status.BlockTime,
			outs: make(map[string]*chains.Transfer, len(rows))}
		for j := range rows {
			f.outs[rows[j].Position] = &rows[j]
		}
		found[id] = f
	}
	return found, nil
}

func (s *btcEsploraVerify) blockHash(ctx context.Context, n uint64) (string, bool, error) {
	h, err := s.c.BlockHash(ctx, n)
	if errors.Is(err, esplora.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.ToLower(h), true, nil
}

// btcExhibitNetwork is the network provenance names.
func btcExhibitNetwork(e *exhibit.Exhibit) (*chaincfg.Params, error) {
	name := strings.TrimSpace(e.Provenance.Network)
	if name == "" {
		return nil, usagef("provenance.network is empty: the exhibit names no bitcoin network to verify against")
	}
	if strings.HasPrefix(name, "btc:") {
		if net, err := bitcoin.ParamsOfNetwork(name); err == nil {
			return net, nil
		}
	}
	net, err := bitcoin.NetworkByName(name)
	if err != nil {
		return nil, usagef("provenance.network: %v", err)
	}
	return net, nil
}

// btcVerifySource picks the source from the flags and refuses one of
// another network than the exhibit's.
func (o *globalOptions) btcVerifySource(ctx context.Context, net *chaincfg.Params) (btcVerifySource, error) {
	flag, err := o.btcNetFlag()
	if err != nil {
		return nil, err
	}
	if flag != nil && flag.Name != net.Name {
		return nil, usagef("network mismatch: the exhibit is of %s, --btc-network is %s", net.Name, flag.Name)
	}
	esploraURL := strings.TrimSpace(o.v.GetString("esplora.url"))
	rpcURL := strings.TrimSpace(o.v.GetString("btc.rpc"))
	switch {
	case esploraURL != "" && rpcURL != "":
		return nil, usagef("give --esplora or --btc-rpc, not both")
	case esploraURL != "":
		u, err := url.Parse(esploraURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usagef("--esplora %q: want an http:// or https:// URL", chains.RedactURL(esploraURL))
		}
		c := esplora.New(esploraURL, esplora.Options{Net: net, Logger: o.logger, RequestsPerSecond: o.v.GetFloat64("esplora.rate")})
		// The genesis block tells the API's network. An API (or a replay)
		// that serves no block 0 is taken on --btc-network's word.
		g, err := c.BlockHash(ctx, 0)
		switch {
		case errors.Is(err, esplora.ErrNotFound):
		case err != nil:
			return nil, err
		case g != net.GenesisHash.String():
			serves := "a chain whose genesis block is " + g
			for _, n := range bitcoin.Networks {
				if n.GenesisHash.String() == g {
					serves = n.Name
				}
			}
			return nil, usagef("network mismatch: the exhibit is of %s, the Esplora API at %s serves %s", net.Name, c.Endpoint(), serves)
		}
		return &btcEsploraVerify{c: c}, nil
	case rpcURL != "":
		a, err := o.dialBtc(ctx)
		if err != nil {
			return nil, err
		}
		if got := a.Params(); got.Name != net.Name {
			return nil, usagef("network mismatch: the exhibit is of %s, the node at %s serves %s", net.Name, a.RPC().Endpoint(), got.Name)
		}
		head, err := a.Head(ctx)
		if err != nil {
			return nil, err
		}
		return &btcNodeVerify{a: a, head: head}, nil
	}
	return nil, usagef("a btc exhibit is verified against a node or an API: give --btc-rpc (with --btc-rpc-user, --btc-rpc-pass, --btc-rpc-cert) or --esplora")
}

// runVerifyBtc continues runVerify for a Bitcoin exhibit; problems are
// those found so far (schema, digest).
func runVerifyBtc(ctx context.Context, opts *globalOptions, path string, e *exhibit.Exhibit, problems []string) error {
	net, err := btcExhibitNetwork(e)
	if err != nil {
		return err
	}
	src, err := opts.btcVerifySource(ctx, net)
	if err != nil {
		return err
	}
	v := newBtcVerifier(e, src)
	facts, err := src.txs(ctx, v.ids, v.hint)
	if err != nil {
		return err
	}
	v.facts = facts
	w := opts.stdout
	rows := v.checkRows()
	fmt.Fprintf(w, "transfers  %s (%d rows re-fetched from %s)\n", verdict(len(rows) == 0), len(e.Transfers), src.describe())
	recs := v.checkReconciliation()
	under := ""
	if sum := v.mv.summary(); sum != "" {
		under = " under " + sum
	}
	fmt.Fprintf(w, "reconcile  %s (%d transactions recomputed%s)\n", verdict(len(recs) == 0), len(e.Reconciliation), under)
	taint := v.checkTaint()
	fmt.Fprintf(w, "taint      %s%s\n", verdict(len(taint) == 0), note(v.mv.summary()))
	tip, err := v.checkTip(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "tip        %s (block %d)\n", verdict(len(tip) == 0), e.Provenance.Tip.Number)
	problems = append(append(append(append(append(problems, v.pre...), rows...), recs...), taint...), tip...)
	for _, p := range problems {
		fmt.Fprintln(w, "FAIL "+p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %d problem(s) in %s", errVerifyFailed, len(problems), path)
	}
	fmt.Fprintf(w, "OK: %s holds: digest, %d transfers, %d reconciled transactions, taint arithmetic, tip\n",
		path, len(e.Transfers), len(e.Reconciliation))
	return nil
}

// btcVerifier holds one verification's state.
type btcVerifier struct {
	e     *exhibit.Exhibit
	src   btcVerifySource
	ids   []string          // every transaction to fetch
	hint  map[string]uint64 // txid -> the block its first row names
	facts map[string]*btcFacts
	pre   []string // problems found before fetching (malformed hashes, seeds)
	// seedOuts are the outpoint seeds, seedAddrs the address seeds.
	seedOuts  map[string]bool
	seedAddrs map[string]bool
	// seeds are both, in the exhibit's order, with their colours.
	seeds []btcSeed
	// mv reads the figures under every model and colour; rowFigs are
	// each row's, figProblems what reading and checking them found.
	mv          *modelView
	rowFigs     []figs
	figProblems []string
	// rowAt indexes the rows by outpoint ("txid:vout"); txFigs sums the
	// rows' figures per transaction.
	rowAt  map[string]int
	txFigs map[string]figs
	// back is set for a backward exhibit (method.direction): its seeds
	// are the targets traced back from; the taint starts at its sources,
	// the endpoints, whose coins spent by its reconciled transactions are
	// the attribution's seeds.
	back    bool
	targets map[string]bool
}

// btcSeed is a seed as the walk starts from it: an output (out,
// "txid:vout") or an address's outputs (addr), of a colour.
type btcSeed struct {
	out, addr string
	colour    int
}

func newBtcVerifier(e *exhibit.Exhibit, src btcVerifySource) *btcVerifier {
	v := &btcVerifier{e: e, src: src, hint: map[string]uint64{}, seedOuts: map[string]bool{}, seedAddrs: map[string]bool{},
		back: e.Method.Direction == exhibit.DirectionBackward, targets: map[string]bool{}}
	v.mv = newModelView(e)
	v.rowAt, v.txFigs = map[string]int{}, map[string]figs{}
	if v.mv.ok {
		// A forward exhibit's seeds (hop 0) hold what they held besides
		// the rows into them; a backward exhibit's targets (hop 0) hold
		// just what the rows into them attribute.
		v.rowFigs, v.figProblems = v.mv.checkFigures(e, func(s string) string { return s }, func(a *exhibit.Address) bool { return a.Hop == 0 && !v.back })
	}
	for i := range e.Transfers {
		t := &e.Transfers[i]
		id, ok := btcTxid(t.TxHash)
		if !ok {
			continue
		}
		if vout, isOut := strings.CutPrefix(t.Position, "out:"); isOut {
			if _, dup := v.rowAt[id+":"+vout]; !dup {
				v.rowAt[id+":"+vout] = i
			}
		}
		if v.rowFigs != nil {
			f, ok := v.txFigs[id]
			if !ok {
				f = v.mv.zero()
				v.txFigs[id] = f
			}
			f.add(v.rowFigs[i])
		}
	}
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			v.ids = append(v.ids, id)
		}
	}
	for i, t := range e.Transfers {
		id, ok := btcTxid(t.TxHash)
		if !ok {
			v.pre = append(v.pre, fmt.Sprintf("%s: tx_hash %q is not a transaction id (64 hex digits)", btcRowName(i, &t), t.TxHash))
			continue
		}
		if _, ok := v.hint[id]; !ok {
			v.hint[id] = t.BlockNumber
		}
		add(id)
	}
	for i, rc := range e.Reconciliation {
		id, ok := btcTxid(rc.TxHash)
		if !ok {
			v.pre = append(v.pre, fmt.Sprintf("reconciliation %d: tx_hash %q is not a transaction id (64 hex digits)", i, rc.TxHash))
			continue
		}
		add(id)
	}
	if v.back {
		v.backSeeds()
		sort.Strings(v.ids)
		return v
	}
	for _, s := range e.Seeds {
		txid, vout, isOut, err := tracer.ParseOutpointSeed(s)
		switch {
		case err != nil:
			v.pre = append(v.pre, fmt.Sprintf("seed %q: %v", s, err))
		case isOut:
			op := txid + ":" + strconv.FormatUint(uint64(vout), 10)
			v.seedOuts[op] = true
			v.seeds = append(v.seeds, btcSeed{out: op, colour: v.mv.colourOf[s]})
			add(txid)
		default:
			v.seedAddrs[s] = true
			v.seeds = append(v.seeds, btcSeed{addr: s, colour: v.mv.colourOf[s]})
		}
	}
	sort.Strings(v.ids)
	return v
}

// backSeeds reads a backward exhibit's origins: the targets (its seeds),
// which must be addresses, and its sources (the endpoints), each of the
// colour its address names (the one colour when there are none). Every
// coin of a source that a reconciled transaction spends is a seed of the
// attribution (TraceBackUTXO): the replay starts from them.
func (v *btcVerifier) backSeeds() {
	e := v.e
	for _, s := range e.Seeds {
		if _, _, isOut, _ := tracer.ParseOutpointSeed(s); isOut {
			v.pre = append(v.pre, fmt.Sprintf("seed %s: a backward exhibit traces back from addresses, not outputs", s))
			continue
		}
		v.targets[s] = true
	}
	for _, ep := range e.Endpoints {
		c := 0
		if v.mv.colours != nil {
			if c = v.mv.colour(ep.Address); c < 0 {
				v.pre = append(v.pre, fmt.Sprintf("%s: a source, but no colour of method.colours is named by its address", endpointName(&ep)))
				c = 0
			}
		}
		if v.seedAddrs[ep.Address] {
			continue
		}
		v.seedAddrs[ep.Address] = true
		v.seeds = append(v.seeds, btcSeed{addr: ep.Address, colour: c})
	}
}

// btcTxid normalises a transaction id; ok is false if it is none.
func btcTxid(s string) (string, bool) {
	s = strings.ToLower(s)
	if len(s) != 64 {
		return "", false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return s, true
}

func btcRowName(i int, t *exhibit.Transfer) string {
	return fmt.Sprintf("transfer %d (tx %s, %s)", i, t.TxHash, t.Position)
}

// checkRows compares every row with the output it names.
func (v *btcVerifier) checkRows() []string {
	var problems []string
	m := v.e.Method
	first := map[string]int{}
	for i := range v.e.Transfers {
		row := &v.e.Transfers[i]
		what := btcRowName(i, row)
		id, ok := btcTxid(row.TxHash)
		if !ok {
			continue // reported already
		}
		key := id + " " + row.Position
		if j, dup := first[key]; dup {
			problems = append(problems, fmt.Sprintf("%s: repeats transfer %d", what, j))
			continue
		}
		first[key] = i
		if row.BlockNumber < m.FromBlock || row.BlockNumber > m.ToBlock {
			problems = append(problems, fmt.Sprintf("%s: block %d is outside the traced window %d-%d", what, row.BlockNumber, m.FromBlock, m.ToBlock))
		}
		f := v.facts[id]
		if f == nil {
			problems = append(problems, fmt.Sprintf("%s: %s knows no such confirmed transaction", what, v.src.says()))
			continue
		}
		got := f.outs[row.Position]
		if got == nil {
			if n, ok := strings.CutPrefix(row.Position, "out:"); !ok || n == "" || strings.TrimLeft(n, "0123456789") != "" {
				problems = append(problems, fmt.Sprintf("%s: position %q is not an output (want out:N)", what, row.Position))
			} else {
				problems = append(problems, fmt.Sprintf("%s: %s has transaction %s in block %d, without an output %s carrying value",
					what, v.src.says(), id, f.tx.BlockNumber, n))
			}
			continue
		}
		for _, d := range compareBtcRow(row, got, v.src.says()) {
			problems = append(problems, what+": "+d)
		}
	}
	return problems
}

// compareBtcRow lists the fields where the row and the source differ.
func compareBtcRow(row *exhibit.Transfer, got *chains.Transfer, says string) []string {
	g := got.Row()
	var d []string
	check := func(field, stated, actual string, same bool) {
		if !same {
			d = append(d, fmt.Sprintf("%s %s in the exhibit, %s says %s", field, showValue(stated), says, showValue(actual)))
		}
	}
	str := func(field, stated, actual string) { check(field, stated, actual, stated == actual) }
	check("block_number", fmt.Sprint(row.BlockNumber), fmt.Sprint(g.BlockNumber), row.BlockNumber == g.BlockNumber)
	check("block_hash", row.BlockHash, g.BlockHash, strings.EqualFold(row.BlockHash, g.BlockHash))
	check("tx_index", fmt.Sprint(row.TxIndex), fmt.Sprint(g.TxIndex), row.TxIndex == g.TxIndex)
	str("timestamp", row.Timestamp, g.Timestamp)
	str("kind", string(row.Kind), string(g.Kind))
	from, gfrom := "["+strings.Join(row.From, ", ")+"]", "["+strings.Join(g.From, ", ")+"]"
	str("from", from, gfrom)
	str("to", row.To, g.To)
	str("asset", row.Asset, g.Asset)
	str("amount", row.Amount, g.Amount)
	str("token_id", row.TokenID, g.TokenID)
	return d
}

func showValue(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// btcAmount reads one asset map of a reconciliation entry: BTC only.
func btcAmount(m map[string]string, field, what string, problems *[]string) (*big.Int, bool) {
	ok := true
	for a := range m {
		if a != chains.AssetBTC {
			*problems = append(*problems, fmt.Sprintf("%s: %s names asset %q; a bitcoin transaction moves BTC only", what, field, a))
			ok = false
		}
	}
	s, present := m[chains.AssetBTC]
	if !present {
		return new(big.Int), ok
	}
	n, good := new(big.Int).SetString(s, 10)
	if !good || n.Sign() < 0 {
		*problems = append(*problems, fmt.Sprintf("%s: %s %q is not an amount", what, field, s))
		return new(big.Int), false
	}
	return n, ok
}

// rowTaints sums the exhibit's row taints per transaction and keeps each
// row's taint by outpoint.
func (v *btcVerifier) rowTaints() (perTx map[string]*big.Int, perOut map[string]*big.Int) {
	perTx, perOut = map[string]*big.Int{}, map[string]*big.Int{}
	for _, t := range v.e.Transfers {
		id, ok := btcTxid(t.TxHash)
		n, good := new(big.Int).SetString(t.Taint, 10)
		if !ok || !good {
			continue
		}
		if perTx[id] == nil {
			perTx[id] = new(big.Int)
		}
		perTx[id].Add(perTx[id], n)
		if vout, ok := strings.CutPrefix(t.Position, "out:"); ok {
			perOut[id+":"+vout] = n
		}
	}
	return perTx, perOut
}

// checkReconciliation recomputes each entry from its transaction and
// checks the arithmetic.
func (v *btcVerifier) checkReconciliation() []string {
	var problems []string
	says := v.src.says()
	perTx, perOut := v.rowTaints()
	entry := map[string]int{}
	var replay []btcReplayTx
	for i, rc := range v.e.Reconciliation {
		what := fmt.Sprintf("reconciliation %d (tx %s)", i, rc.TxHash)
		id, ok := btcTxid(rc.TxHash)
		if !ok {
			continue // reported already
		}
		if j, dup := entry[id]; dup {
			problems = append(problems, fmt.Sprintf("%s: repeats reconciliation %d", what, j))
			continue
		}
		entry[id] = i
		vin, ok1 := btcAmount(rc.ValueIn, "value_in", what, &problems)
		vout, ok2 := btcAmount(rc.ValueOut, "value_out", what, &problems)
		fee, ok3 := btcAmount(rc.Fee, "fee", what, &problems)
		tin, ok4 := btcAmount(rc.TaintIn, "taint_in", what, &problems)
		tout, ok5 := btcAmount(rc.TaintOut, "taint_out", what, &problems)
		f := v.facts[id]
		switch {
		case f == nil:
			problems = append(problems, fmt.Sprintf("%s: %s knows no such confirmed transaction", what, says))
		case len(f.tx.Inputs) == 0:
			problems = append(problems, fmt.Sprintf("%s: %s says it is a coinbase, which spends no outputs a trace could follow", what, says))
		default:
			actualIn := new(big.Int)
			for _, in := range f.tx.Inputs {
				if in.Value != nil {
					actualIn.Add(actualIn, in.Value)
				}
			}
			actualOut, actualFee := new(big.Int), new(big.Int)
			if f.tx.Value != nil {
				actualOut.Set(f.tx.Value)
			}
			if f.tx.Fee != nil {
				actualFee.Set(f.tx.Fee)
			}
			for _, c := range []struct {
				field          string
				ok             bool
				stated, actual *big.Int
			}{{"value_in", ok1, vin, actualIn}, {"value_out", ok2, vout, actualOut}, {"fee", ok3, fee, actualFee}} {
				if c.ok && c.stated.Cmp(c.actual) != 0 {
					problems = append(problems, fmt.Sprintf("%s: %s %s in the exhibit, %s says %s", what, c.field, c.stated, says, c.actual))
				}
			}
			// The most taint the inputs can carry in: what the exhibit's
			// rows put on the outputs spent, and the seeds in full.
			bound := new(big.Int)
			for _, in := range f.tx.Inputs {
				op := in.Outpoint()
				switch {
				case v.seedOuts[op] || v.seedAddrs[in.Address]:
					bound.Add(bound, in.Value)
				case perOut[op] != nil:
					bound.Add(bound, perOut[op])
				}
			}
			// Poison marks the whole value in, clean inputs included.
			if ok4 && tin.Cmp(bound) > 0 && v.e.Method.TaintModel != "poison" {
				problems = append(problems, fmt.Sprintf("%s: taint_in %s, but the outputs it spends carry at most %s tainted (the exhibit's rows and the seeds)", what, tin, bound))
			}
		}
		if ok1 && ok2 && ok3 && vin.Cmp(new(big.Int).Add(vout, fee)) != 0 {
			problems = append(problems, fmt.Sprintf("%s: value_in %s != value_out %s + fee %s", what, vin, vout, fee))
		}
		if ok4 && ok5 {
			d := new(big.Int).Sub(tin, tout)
			switch {
			case d.Sign() < 0:
				problems = append(problems, fmt.Sprintf("%s: taint_out %s exceeds taint_in %s", what, tout, tin))
			case ok3 && d.Cmp(fee) > 0:
				problems = append(problems, fmt.Sprintf("%s: taint_in %s less taint_out %s leaves %s for the fee, which is %s", what, tin, tout, d, fee))
			}
		}
		if ok2 && ok5 && tout.Cmp(vout) > 0 {
			problems = append(problems, fmt.Sprintf("%s: taint_out %s exceeds value_out %s", what, tout, vout))
		}
		if ok1 && ok4 && tin.Cmp(vin) > 0 {
			problems = append(problems, fmt.Sprintf("%s: taint_in %s exceeds value_in %s", what, tin, vin))
		}
		if s := perTx[id]; ok5 && s != nil && s.Cmp(tout) > 0 {
			problems = append(problems, fmt.Sprintf("%s: the exhibit's rows of it carry %s tainted, more than its taint_out %s", what, s, tout))
		}
		if f != nil && (f.tx.BlockNumber < v.e.Method.FromBlock || f.tx.BlockNumber > v.e.Method.ToBlock) {
			problems = append(problems, fmt.Sprintf("%s: %s has it in block %d, outside the traced window %d-%d", what, says, f.tx.BlockNumber, v.e.Method.FromBlock, v.e.Method.ToBlock))
		}
		if v.mv.ok {
			r, ps := v.checkRecModels(what, id, &v.e.Reconciliation[i], f, vin, vout, fee)
			problems = append(problems, ps...)
			if f != nil && len(f.tx.Inputs) > 0 {
				replay = append(replay, btcReplayTx{entry: i, id: id, f: f, figs: r})
			}
		}
	}
	problems = append(problems, v.replay(replay)...)
	for i := range v.e.Transfers {
		row := &v.e.Transfers[i]
		if id, ok := btcTxid(row.TxHash); ok {
			if _, has := entry[id]; !has && !(v.back && v.carriesNothing(i)) {
				problems = append(problems, fmt.Sprintf("%s: its transaction has no reconciliation entry", btcRowName(i, row)))
			}
		}
	}
	return problems
}

// carriesNothing reports whether row i states no taint under any model or
// colour: on a backward exhibit, an edge the attribution did not reach,
// whose transaction it need not have passed through.
func (v *btcVerifier) carriesNothing(i int) bool {
	if v.rowFigs == nil {
		return v.e.Transfers[i].Taint == "0"
	}
	f, none := v.rowFigs[i], true
	v.mv.each(func(m, c int) { none = none && f.of(m, c).Sign() == 0 })
	return none
}

// seedOf reports whether input in spends a seed's output (a seed output,
// or an output paid to a seed address), and the seed's colour: the first
// seed that names it, as the walk takes them.
func (v *btcVerifier) seedOf(in *chains.Input) (colour int, ok bool) {
	for _, s := range v.seeds {
		if s.out != "" && s.out == in.Outpoint() || s.addr != "" && s.addr == in.Address {
			return s.colour, true
		}
	}
	return 0, false
}

// checkRecModels checks a reconciliation entry under every model and
// colour: its balances and bounds (checkRecTaint), the rows of its
// transaction within its taint_out, and under every attributing model its
// taint_in within what the outputs it spends carry (the exhibit's rows of
// them, and the seeds in full). The single model's plain figures are
// checked by checkReconciliation as they always were. It returns the
// entry's figures in BTC.
func (v *btcVerifier) checkRecModels(what, id string, rc *exhibit.Reconciliation, f *btcFacts, vin, vout, fee *big.Int) (*recFigs, []string) {
	var problems []string
	mv := v.mv
	same := func(s string) string { return s }
	byAsset := mv.readRecFigs(what, rc, same, &problems)
	problems = append(problems, mv.checkRecTaint(what, rc, byAsset, func(string) (*big.Int, *big.Int, *big.Int) { return vin, vout, fee }, true)...)
	r := byAsset[chains.AssetBTC]
	if r == nil {
		r = &recFigs{in: mv.zero(), out: mv.zero(), fee: mv.zero(), hasFee: rc.TaintFee != nil || rc.TaintByModel != nil}
	}
	plain := func(m, c int) bool { return c < 0 && !mv.several() }
	sum, ok := v.txFigs[id]
	if !ok {
		sum = mv.zero()
	}
	mv.each(func(m, c int) {
		if !plain(m, c) && sum.of(m, c).Cmp(r.out.of(m, c)) > 0 {
			problems = append(problems, fmt.Sprintf("%s: the exhibit's rows of it carry %s of %s, more than its taint_out %s", what, sum.of(m, c), mv.name(m, c), r.out.of(m, c)))
		}
	})
	if f == nil || len(f.tx.Inputs) == 0 || v.rowFigs == nil {
		return r, problems
	}
	bound := mv.zero()
	for j := range f.tx.Inputs {
		in := &f.tx.Inputs[j]
		if colour, ok := v.seedOf(in); ok && in.Value != nil {
			for m := range mv.names {
				bound.total[m].Add(bound.total[m], in.Value)
				if bound.colour != nil {
					bound.colour[m][colour].Add(bound.colour[m][colour], in.Value)
				}
			}
			continue
		}
		if k, ok := v.rowAt[in.Outpoint()]; ok {
			bound.add(v.rowFigs[k])
		}
	}
	mv.each(func(m, c int) {
		if plain(m, c) || mv.kinds[m] == taint.Poison {
			return
		}
		if r.in.of(m, c).Cmp(bound.of(m, c)) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s taint_in %s, but the outputs it spends carry at most %s (the exhibit's rows and the seeds)", what, mv.prefix(m, c), r.in.of(m, c), bound.of(m, c)))
		}
	})
	return r, problems
}

// btcReplayTx is a reconciled transaction to replay: its entry, its facts
// from the source and the entry's figures.
type btcReplayTx struct {
	entry int
	id    string
	f     *btcFacts
	figs  *recFigs
}

// replay recomputes every model's split of every reconciled transaction
// from the chain's facts, in chain order, as the walk makes it: the seeds'
// outputs are wholly of their colour; an input spending an output an
// earlier transaction left tainted (under any model, not below min_value,
// not paying an endpoint, below max_hops) carries the taint recomputed for
// it, its layout included (FIFO, LIFO); every other input is clean. It
// compares each output's recomputed figures with the exhibit's row, and
// the entry's taint_in, taint_out and taint_fee, under every model and
// colour. The figures the exhibit states are never fed back in.
func (v *btcVerifier) replay(txs []btcReplayTx) []string {
	if !v.mv.ok || len(txs) == 0 {
		return nil
	}
	var problems []string
	mv, e := v.mv, v.e
	minValue, ok := new(big.Int).SetString(e.Method.MinValue, 10)
	if !ok || minValue.Sign() < 0 {
		return []string{fmt.Sprintf("method: min_value %q is not an amount; the taint cannot be recomputed", e.Method.MinValue)}
	}
	stops := v.stops()
	colours := mv.ncolours()
	type coin struct {
		ts  []taint.Taint // per model
		hop int
	}
	coins := map[string]coin{}
	seedTaint := func(colour int, value *big.Int) []taint.Taint {
		ts := make([]taint.Taint, len(mv.kinds))
		for m, k := range mv.kinds {
			ts[m] = taint.Seed(k, colours, colour, value)
		}
		return ts
	}
	sort.SliceStable(txs, func(a, b int) bool {
		x, y := txs[a].f.tx, txs[b].f.tx
		if x.BlockNumber != y.BlockNumber {
			return x.BlockNumber < y.BlockNumber
		}
		return x.Index < y.Index
	})
	for _, tx := range txs {
		f := tx.f
		what := fmt.Sprintf("reconciliation %d (tx %s)", tx.entry, f.tx.Hash)
		ins := make([][]taint.Coin, len(mv.kinds))
		for m := range ins {
			ins[m] = make([]taint.Coin, len(f.tx.Inputs))
		}
		hop, tainted := -1, 0
		valueIn := new(big.Int)
		bad := false
		for j := range f.tx.Inputs {
			in := &f.tx.Inputs[j]
			if in.Value == nil {
				problems = append(problems, fmt.Sprintf("%s: %s gives no value for input %d", what, v.src.says(), j))
				bad = true
				break
			}
			valueIn.Add(valueIn, in.Value)
			var ts []taint.Taint
			h := 0
			key := in.Outpoint()
			// A seed's output is the thief's whole, unless the walk would
			// not follow it (an endpoint's, below min_value, no hops).
			// A backward exhibit's attribution stops nowhere and has no
			// hop limit: the edges (its rows) bound it.
			if colour, isSeed := v.seedOf(in); isSeed && (v.back || !stops[in.Address] && e.Method.MaxHops > 0) && in.Value.Cmp(minValue) >= 0 {
				ts = seedTaint(colour, in.Value)
				delete(coins, key)
			} else if c, ok := coins[key]; ok {
				ts, h = c.ts, c.hop
				delete(coins, key)
			}
			for m := range ins {
				ins[m][j] = taint.Coin{Value: in.Value}
				if ts != nil {
					ins[m][j].Taint = ts[m]
				}
			}
			if ts != nil {
				tainted++
				if hop < 0 || h+1 < hop {
					hop = h + 1
				}
			}
		}
		if bad {
			continue
		}
		if tainted == 0 {
			problems = append(problems, fmt.Sprintf("%s: recomputed from the chain and the seeds, none of its inputs spends an output the trace follows (a seed's, or a tainted output of an earlier transaction)", what))
			continue
		}
		n := 0
		for pos := range f.outs {
			if k, err := strconv.Atoi(strings.TrimPrefix(pos, "out:")); err == nil && k+1 > n {
				n = k + 1
			}
		}
		outs := make([]*big.Int, n)
		for k := range outs {
			outs[k] = new(big.Int)
			if o := f.outs["out:"+strconv.Itoa(k)]; o != nil {
				outs[k] = o.Amount
			}
		}
		fee := new(big.Int)
		if f.tx.Fee != nil {
			fee.Set(f.tx.Fee)
		}
		splits := make([]taint.Split, len(mv.kinds))
		for m, k := range mv.kinds {
			sp, err := taint.SplitTx(k, colours, ins[m], outs, fee)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s's split cannot be recomputed: %v", what, k, err))
				bad = true
				break
			}
			splits[m] = sp
		}
		if bad {
			continue
		}
		// The entry, under every model and colour.
		got := struct{ in, out, fee figs }{mv.zero(), mv.zero(), mv.zero()}
		for m, k := range mv.kinds {
			sp := splits[m]
			got.in.total[m] = sp.In.Total(k, valueIn)
			got.fee.total[m] = sp.Fee.Total(k, fee)
			for o := range outs {
				got.out.total[m].Add(got.out.total[m], sp.Outs[o].Total(k, outs[o]))
			}
			for c := range mv.colours {
				got.in.colour[m][c].Set(sp.In.Of(c))
				got.fee.colour[m][c].Set(sp.Fee.Of(c))
				for o := range outs {
					got.out.colour[m][c].Add(got.out.colour[m][c], sp.Outs[o].Of(c))
				}
			}
		}
		for _, part := range []struct {
			field          string
			stated, recomp figs
			skip           bool
		}{{"taint_in", tx.figs.in, got.in, false}, {"taint_out", tx.figs.out, got.out, false}, {"taint_fee", tx.figs.fee, got.fee, !tx.figs.hasFee}} {
			if part.skip {
				continue
			}
			mv.each(func(m, c int) {
				if s, r := part.stated.of(m, c), part.recomp.of(m, c); s.Cmp(r) != 0 {
					problems = append(problems, fmt.Sprintf("%s: %s %s %s in the exhibit, recomputed from the chain %s", what, mv.prefix(m, c), part.field, s, r))
				}
			})
		}
		// Each output: its row, and whether the walk follows it.
		for o := range outs {
			out := f.outs["out:"+strconv.Itoa(o)]
			if out == nil {
				continue
			}
			fig := mv.zero()
			carries := false
			for m, k := range mv.kinds {
				fig.total[m] = splits[m].Outs[o].Total(k, outs[o])
				carries = carries || fig.total[m].Sign() > 0
				for c := range mv.colours {
					fig.colour[m][c].Set(splits[m].Outs[o].Of(c))
				}
			}
			isRow := carries && outs[o].Cmp(minValue) >= 0
			key := tx.id + ":" + strconv.Itoa(o)
			r, hasRow := v.rowAt[key]
			if v.back {
				// A backward exhibit's rows are the edges found back from
				// the targets: the attribution carries taint on through
				// those only. An output of no row is no edge (it took its
				// share of the split, and carries it nowhere the exhibit
				// goes); an edge may carry nothing. Hops count back from
				// the targets (checkBackHops).
				if !hasRow {
					continue
				}
				if v.rowFigs != nil {
					row := &e.Transfers[r]
					mv.each(func(m, c int) {
						if s, g := v.rowFigs[r].of(m, c), fig.of(m, c); s.Cmp(g) != 0 {
							problems = append(problems, fmt.Sprintf("%s: %s %s in the exhibit, recomputed from the chain %s", rowName(r, row), mv.name(m, c), s, g))
						}
					})
				}
				if !isRow {
					continue
				}
				ts := make([]taint.Taint, len(mv.kinds))
				for m := range mv.kinds {
					ts[m] = splits[m].Outs[o]
				}
				coins[key] = coin{ts: ts, hop: hop}
				continue
			}
			switch {
			case isRow && !hasRow:
				problems = append(problems, fmt.Sprintf("tx %s output %d: recomputed from the chain it carries %s, but the exhibit has no row of it", tx.id, o, v.figsText(fig)))
			case !isRow && hasRow && !carries:
				problems = append(problems, fmt.Sprintf("%s: recomputed from the chain it carries no taint under any model", rowName(r, &e.Transfers[r])))
			case !isRow && hasRow:
				problems = append(problems, fmt.Sprintf("%s: its amount %s is below min_value %s: no row", rowName(r, &e.Transfers[r]), outs[o], minValue))
			case hasRow:
				row := &e.Transfers[r]
				if v.rowFigs != nil {
					mv.each(func(m, c int) {
						if s, g := v.rowFigs[r].of(m, c), fig.of(m, c); s.Cmp(g) != 0 {
							problems = append(problems, fmt.Sprintf("%s: %s %s in the exhibit, recomputed from the chain %s", rowName(r, row), mv.name(m, c), s, g))
						}
					})
				}
				if row.Hop != hop {
					problems = append(problems, fmt.Sprintf("%s: hop %d in the exhibit, recomputed from the chain %d", rowName(r, row), row.Hop, hop))
				}
			}
			if !isRow || stops[out.To] || hop >= e.Method.MaxHops {
				continue
			}
			ts := make([]taint.Taint, len(mv.kinds))
			for m := range mv.kinds {
				ts[m] = splits[m].Outs[o]
			}
			if c, ok := coins[key]; ok && c.hop <= hop {
				continue
			}
			coins[key] = coin{ts: ts, hop: hop}
		}
	}
	return problems
}

// figsText states an output's recomputed figures under every model.
func (v *btcVerifier) figsText(f figs) string {
	parts := make([]string, len(v.mv.names))
	for m, name := range v.mv.names {
		parts[m] = fmt.Sprintf("%s %s", f.total[m], name)
	}
	return strings.Join(parts, ", ")
}

// stops are the addresses where the walk stopped: the endpoints, and any
// address the exhibit labels with a stop category (a seed's own label
// makes its outputs no coin to follow).
func (v *btcVerifier) stops() map[string]bool {
	cats := map[string]bool{}
	for _, c := range v.e.Method.StopCategories {
		cats[labels.NormalizeCategory(c)] = true
	}
	stop := map[string]bool{}
	for _, ep := range v.e.Endpoints {
		stop[ep.Address] = true
	}
	for _, a := range v.e.Addresses {
		for _, l := range a.Labels {
			if l.Category != "" && cats[labels.NormalizeCategory(l.Category)] {
				stop[a.Address] = true
			}
		}
	}
	return stop
}

// checkTaint checks the arithmetic the rows imply: no row carries more
// taint than its amount (poison: exactly its amount), endpoint and address
// totals are the sums of the rows into them, and an address of hop 0 is a
// seed.
func (v *btcVerifier) checkTaint() []string {
	problems := append(append([]string{}, v.mv.problems...), v.figProblems...)
	e := v.e
	num := func(s, what string) *big.Int {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok || n.Sign() < 0 {
			problems = append(problems, fmt.Sprintf("%s: %q is not an amount", what, s))
			return new(big.Int)
		}
		return n
	}
	type key struct{ addr, asset string }
	amount, taint := map[key]*big.Int{}, map[key]*big.Int{}
	firstB, lastB := map[key]uint64{}, map[key]uint64{}
	acc := func(m map[key]*big.Int, k key, n *big.Int) {
		if m[k] == nil {
			m[k] = new(big.Int)
		}
		m[k].Add(m[k], n)
	}
	for i := range e.Transfers {
		t := &e.Transfers[i]
		what := btcRowName(i, t)
		a, tt := num(t.Amount, what+": amount"), num(t.Taint, what+": taint")
		if tt.Cmp(a) > 0 {
			problems = append(problems, fmt.Sprintf("%s: taint %s exceeds the amount %s", what, tt, a))
		}
		if e.Method.TaintModel == "poison" && tt.Cmp(a) != 0 && !(v.back && tt.Sign() == 0) {
			problems = append(problems, fmt.Sprintf("%s: poison taints every row fully, the row says %s of %s", what, tt, a))
		}
		if t.Hop < 1 {
			problems = append(problems, fmt.Sprintf("%s: hop %d; a seed's own outgoing transfers are hop 1", what, t.Hop))
		}
		k := key{t.To, t.Asset}
		acc(amount, k, a)
		acc(taint, k, tt)
		if _, ok := firstB[k]; !ok || t.BlockNumber < firstB[k] {
			firstB[k] = t.BlockNumber
		}
		lastB[k] = max(lastB[k], t.BlockNumber)
	}
	if v.back {
		problems = append(problems, v.checkBack()...)
		return problems
	}
	for _, ep := range e.Endpoints {
		k := key{ep.Address, ep.Asset}
		what := fmt.Sprintf("endpoint %s (%s, %s)", ep.Label, ep.Address, ep.Asset)
		if a := amount[k]; a == nil || a.String() != ep.Amount {
			problems = append(problems, fmt.Sprintf("%s: amount %s, the rows into it sum to %v", what, ep.Amount, sumText(a)))
		}
		if tt := taint[k]; tt == nil || tt.String() != ep.Taint {
			problems = append(problems, fmt.Sprintf("%s: taint %s, the rows into it sum to %v", what, ep.Taint, sumText(tt)))
		}
		if _, ok := firstB[k]; ok && (ep.FirstBlock != firstB[k] || ep.LastBlock != lastB[k]) {
			problems = append(problems, fmt.Sprintf("%s: blocks %d-%d, the rows into it span %d-%d", what, ep.FirstBlock, ep.LastBlock, firstB[k], lastB[k]))
		}
	}
	// Where a seed is an output, its address holds the output's amount.
	seedOutTo := map[string]*big.Int{}
	for op := range v.seedOuts {
		txid, vout, _ := strings.Cut(op, ":")
		f := v.facts[txid]
		if f == nil {
			problems = append(problems, fmt.Sprintf("seed %s: %s knows no such confirmed transaction", op, v.src.says()))
			continue
		}
		o := f.outs["out:"+vout]
		if o == nil {
			problems = append(problems, fmt.Sprintf("seed %s: %s has no output %s of value in that transaction", op, v.src.says(), vout))
			continue
		}
		if seedOutTo[o.To] == nil {
			seedOutTo[o.To] = new(big.Int)
		}
		seedOutTo[o.To].Add(seedOutTo[o.To], o.Amount)
	}
	for _, a := range e.Addresses {
		if a.Hop == 0 {
			switch {
			case v.seedAddrs[a.Address]:
			case seedOutTo[a.Address] != nil:
				if got := a.Taint[chains.AssetBTC]; got != seedOutTo[a.Address].String() {
					problems = append(problems, fmt.Sprintf("address %s: taint %s of BTC, the seed outputs paid to it hold %s", a.Address, showValue(got), seedOutTo[a.Address]))
				}
				problems = append(problems, v.checkSeedOutModels(&a)...)
			default:
				problems = append(problems, fmt.Sprintf("address %s: hop 0 marks a seed, but it is no seed and receives no seed output", a.Address))
			}
			continue
		}
		for asset, s := range a.Taint {
			if got := taint[key{a.Address, asset}]; got == nil || got.String() != s {
				problems = append(problems, fmt.Sprintf("address %s: taint %s of %s, the rows into it sum to %v", a.Address, s, asset, sumText(got)))
			}
		}
	}
	return problems
}

// checkBack checks what is particular to a backward exhibit: its
// addresses (the targets at hop 0 and no other; each address's taint the
// sum of the rows into it, the targets' being their attributed receipts),
// the rows' hops counted back from the targets, and the sources.
func (v *btcVerifier) checkBack() []string {
	var problems []string
	e := v.e
	into := map[[2]string]*big.Int{}
	for _, t := range e.Transfers {
		n, ok := new(big.Int).SetString(t.Taint, 10)
		if !ok {
			continue // reported already
		}
		k := [2]string{t.To, t.Asset}
		if into[k] == nil {
			into[k] = new(big.Int)
		}
		into[k].Add(into[k], n)
	}
	listed := map[string]bool{}
	for _, a := range e.Addresses {
		switch {
		case v.targets[a.Address] && a.Hop != 0:
			problems = append(problems, fmt.Sprintf("address %s: a target traced back from, at hop %d; a target is hop 0", a.Address, a.Hop))
		case !v.targets[a.Address] && a.Hop == 0:
			problems = append(problems, fmt.Sprintf("address %s: hop 0 marks a target, but it is none of the seeds", a.Address))
		}
		if a.Hop == 0 {
			listed[a.Address] = true
		}
		for _, asset := range sortedNames(a.Taint) {
			if got := into[[2]string{a.Address, asset}]; got == nil || got.String() != a.Taint[asset] {
				problems = append(problems, fmt.Sprintf("address %s: taint %s of %s, the rows into it sum to %v", a.Address, a.Taint[asset], asset, sumText(got)))
			}
		}
	}
	for _, s := range e.Seeds {
		if v.targets[s] && !listed[s] {
			problems = append(problems, fmt.Sprintf("seed %s: a target traced back from, not among the addresses at hop 0", s))
		}
	}
	problems = append(problems, v.checkBackHops()...)
	return append(problems, v.checkBackSources()...)
}

// checkBackHops counts each row's hop back from the targets over the
// exhibit's own rows, as discovery counted it: a row paying a target is
// hop 1; any other is an output a transaction of the exhibit spends, one
// hop further back than that transaction's nearest row. A row neither
// paying a target nor so spent is no edge back from the targets.
func (v *btcVerifier) checkBackHops() []string {
	var problems []string
	e := v.e
	spender := map[string]string{} // outpoint -> the transaction spending it
	for id, f := range v.facts {
		for _, in := range f.tx.Inputs {
			spender[in.Outpoint()] = id
		}
	}
	rowsOf := map[string][]int{}
	order := make([]int, 0, len(e.Transfers))
	for i, t := range e.Transfers {
		if id, ok := btcTxid(t.TxHash); ok {
			rowsOf[id] = append(rowsOf[id], i)
			order = append(order, i)
		}
	}
	// A spender comes after what it spends: the rows from the last back.
	sort.SliceStable(order, func(a, b int) bool {
		x, y := &e.Transfers[order[a]], &e.Transfers[order[b]]
		if x.BlockNumber != y.BlockNumber {
			return x.BlockNumber > y.BlockNumber
		}
		return x.TxIndex > y.TxIndex
	})
	hop := make([]int, len(e.Transfers)) // 0: not counted (yet)
	for _, i := range order {
		t := &e.Transfers[i]
		id, _ := btcTxid(t.TxHash)
		vout, isOut := strings.CutPrefix(t.Position, "out:")
		if !isOut {
			continue // reported already
		}
		if v.targets[t.To] {
			hop[i] = 1
		} else if sp, ok := spender[id+":"+vout]; ok {
			for _, j := range rowsOf[sp] {
				if hop[j] > 0 && (hop[i] == 0 || hop[j]+1 < hop[i]) {
					hop[i] = hop[j] + 1
				}
			}
		}
		switch {
		case hop[i] == 0:
			problems = append(problems, fmt.Sprintf("%s: it pays no target and no transaction of the exhibit's rows spends it: no edge back from the targets", rowName(i, t)))
		case t.Hop != hop[i]:
			problems = append(problems, fmt.Sprintf("%s: hop %d in the exhibit, counted back from the targets %d", rowName(i, t), t.Hop, hop[i]))
		}
	}
	return problems
}

// backSource is a source's coins the reconciled transactions spend.
type backSource struct {
	amount      *big.Int
	first, last uint64
	coins       map[string]bool
}

// checkBackSources checks the sources of a backward exhibit against the
// coins of theirs that its reconciled transactions spend (not below
// min_value): the attribution's seeds. Each endpoint's amount is their
// value, all of it its colour's under every model, its blocks those of
// the transactions spending them; each colour lists exactly its source's
// coins.
func (v *btcVerifier) checkBackSources() []string {
	var problems []string
	e, mv := v.e, v.mv
	minValue, ok := new(big.Int).SetString(e.Method.MinValue, 10)
	if !ok {
		return nil // reported by the replay
	}
	srcs := map[string]*backSource{}
	for _, rc := range e.Reconciliation {
		id, ok := btcTxid(rc.TxHash)
		if !ok || v.facts[id] == nil {
			continue // reported already
		}
		f := v.facts[id]
		for j := range f.tx.Inputs {
			in := &f.tx.Inputs[j]
			if in.Value == nil || !v.seedAddrs[in.Address] || in.Value.Cmp(minValue) < 0 {
				continue
			}
			s := srcs[in.Address]
			if s == nil {
				s = &backSource{amount: new(big.Int), first: f.tx.BlockNumber, last: f.tx.BlockNumber, coins: map[string]bool{}}
				srcs[in.Address] = s
			}
			if s.coins[in.Outpoint()] {
				continue
			}
			s.coins[in.Outpoint()] = true
			s.amount.Add(s.amount, in.Value)
			s.first, s.last = min(s.first, f.tx.BlockNumber), max(s.last, f.tx.BlockNumber)
		}
	}
	for i := range e.Endpoints {
		ep := &e.Endpoints[i]
		what := endpointName(ep)
		if ep.Asset != chains.AssetBTC {
			problems = append(problems, fmt.Sprintf("%s: asset %q; a bitcoin source puts in BTC only", what, ep.Asset))
		}
		want := new(big.Int)
		s := srcs[ep.Address]
		if s != nil {
			want = s.amount
		}
		if ep.Amount != want.String() {
			problems = append(problems, fmt.Sprintf("%s: amount %s, the coins of it the reconciled transactions spend sum to %s", what, ep.Amount, want))
		}
		if ep.Taint != want.String() {
			problems = append(problems, fmt.Sprintf("%s: taint %s, but a source's coins are wholly its own: %s", what, ep.Taint, want))
		}
		if s != nil && (ep.FirstBlock != s.first || ep.LastBlock != s.last) {
			problems = append(problems, fmt.Sprintf("%s: blocks %d-%d, the transactions spending its coins span %d-%d", what, ep.FirstBlock, ep.LastBlock, s.first, s.last))
		}
		if !mv.ok || !mv.several() && mv.colours == nil {
			continue
		}
		f := mv.readFigs(what, ep.Taint, ep.TaintByModel, ep.TaintByColour, &problems)
		own := max(0, mv.colour(ep.Address))
		mv.each(func(m, c int) {
			w := want
			if c >= 0 && c != own {
				w = new(big.Int)
			}
			if f.of(m, c).Cmp(w) != 0 {
				problems = append(problems, fmt.Sprintf("%s: %s %s, its coins hold %s", what, mv.name(m, c), f.of(m, c), w))
			}
		})
	}
	if mv.colours == nil {
		return problems
	}
	for _, col := range e.Method.Colours {
		s := srcs[col.Name]
		for _, seed := range col.Seeds {
			if s == nil || !s.coins[seed] {
				problems = append(problems, fmt.Sprintf("method: colour %s lists %s, which is no coin of %s that a reconciled transaction spends", col.Name, seed, col.Name))
			}
		}
		if s == nil {
			continue
		}
		for _, c := range sortedNames(s.coins) {
			if !slices.Contains(col.Seeds, c) {
				problems = append(problems, fmt.Sprintf("method: colour %s does not list %s, its coin a reconciled transaction spends", col.Name, c))
			}
		}
	}
	return problems
}

// checkSeedOutModels checks, under every model and colour, the figures of
// an address paid seed outputs: each seed output is its colour's whole
// under every model.
func (v *btcVerifier) checkSeedOutModels(a *exhibit.Address) []string {
	mv := v.mv
	if !mv.ok || !mv.several() && mv.colours == nil {
		return nil
	}
	var problems []string
	want := mv.zero()
	for _, s := range v.seeds {
		txid, vout, _ := strings.Cut(s.out, ":")
		f := v.facts[txid]
		if s.out == "" || f == nil || f.outs["out:"+vout] == nil || f.outs["out:"+vout].To != a.Address {
			continue
		}
		amount := f.outs["out:"+vout].Amount
		for m := range mv.names {
			want.total[m].Add(want.total[m], amount)
			if want.colour != nil {
				want.colour[m][s.colour].Add(want.colour[m][s.colour], amount)
			}
		}
	}
	what := "address " + a.Address
	stated := mv.readAssetFigs(what, a, func(s string) string { return s }, &problems)
	got, ok := stated[chains.AssetBTC]
	if !ok {
		got = mv.zero()
	}
	mv.each(func(m, c int) {
		if got.of(m, c).Cmp(want.of(m, c)) != 0 {
			problems = append(problems, fmt.Sprintf("%s: %s %s of BTC, the seed outputs paid to it hold %s", what, mv.name(m, c), got.of(m, c), want.of(m, c)))
		}
	})
	return problems
}

func sumText(n *big.Int) string {
	if n == nil {
		return "nothing (no row pays it)"
	}
	return n.String()
}

// checkTip compares the tip the exhibit names with the source's block at
// that height.
func (v *btcVerifier) checkTip(ctx context.Context) ([]string, error) {
	tip := v.e.Provenance.Tip
	h, ok, err := v.src.blockHash(ctx, tip.Number)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok:
		return []string{fmt.Sprintf("tip: %s has no block %d", v.src.says(), tip.Number)}, nil
	case !strings.EqualFold(h, tip.Hash):
		return []string{fmt.Sprintf("tip: block %d is %s in the exhibit, %s says %s", tip.Number, showValue(tip.Hash), v.src.says(), h)}, nil
	}
	return nil, nil
}
