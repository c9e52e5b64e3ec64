package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
	"github.com/chaintrace/chaintrace/chains/esplora"
	"github.com/chaintrace/chaintrace/exhibit"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
)

// btcConfirmations is the default depth kept back from a Bitcoin tip.
const btcConfirmations = 6

// btcBackend is where a Bitcoin trace reads: the store (indexed window, or
// filled on demand from a node's address index), or an Esplora API.
type btcBackend struct {
	hist    tracer.UTXOHistory
	net     *chaincfg.Params
	node    *bitcoin.Adapter // nil without --btc-rpc
	esplora *esplora.Client  // nil without --esplora
	tip     func(ctx context.Context, n uint64) (exhibit.Tip, error)
	sources []exhibit.Source
	how     string
	// backed is the node's address index behind the store, when the
	// trace reads through it (its rejected claims are reported).
	backed *tracer.BackedHistory
}

// btcNetFlag reads --btc-network; nil when not given.
func (o *globalOptions) btcNetFlag() (*chaincfg.Params, error) {
	name := strings.TrimSpace(o.v.GetString("btc.network"))
	if name == "" {
		return nil, nil
	}
	net, err := bitcoin.NetworkByName(name)
	if err != nil {
		return nil, usagef("--btc-network: %v", err)
	}
	return net, nil
}

// storeBtcNet is the network the store's Bitcoin data is of, if any.
func storeBtcNet(st *store.Store) (*chaincfg.Params, error) {
	name, ok, err := st.Network(chains.BTC)
	if err != nil || !ok {
		return nil, err
	}
	return bitcoin.ParamsOfNetwork(name)
}

// btcNetwork settles the network from the node, the store and
// --btc-network, which must agree.
func (o *globalOptions) btcNetwork(st *store.Store, node *chaincfg.Params) (*chaincfg.Params, error) {
	flag, err := o.btcNetFlag()
	if err != nil {
		return nil, err
	}
	stored, err := storeBtcNet(st)
	if err != nil {
		return nil, err
	}
	net := node
	for _, n := range []*chaincfg.Params{stored, flag} {
		if n == nil {
			continue
		}
		if net != nil && net.Name != n.Name {
			return nil, usagef("network mismatch: %s, but %s (check --btc-network, --btc-rpc and --store)", describeNets(node, stored, flag)...)
		}
		net = n
	}
	if net == nil {
		net = &chaincfg.MainNetParams
	}
	return net, nil
}

func describeNets(node, stored, flag *chaincfg.Params) []any {
	var parts []string
	if node != nil {
		parts = append(parts, "the node serves "+node.Name)
	}
	if stored != nil {
		parts = append(parts, "the store holds "+stored.Name)
	}
	if flag != nil {
		parts = append(parts, "--btc-network is "+flag.Name)
	}
	for len(parts) < 2 {
		parts = append(parts, "")
	}
	return []any{parts[0], strings.Join(parts[1:], " and ")}
}

// btcSeeds parses p's seeds on net: addresses (normalised) or txid:vout.
func (p *traceParams) btcSeeds(net *chaincfg.Params) (err error) {
	p.seeds, p.colour, err = normalizeSeeds(p.seeds, p.colour, func(s string) (string, error) {
		if strings.Contains(s, ":") && !strings.HasPrefix(s, bitcoin.ScriptPrefix) {
			op, err := bitcoin.ParseOutpoint(s)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s:%d", op.Hash, op.Index), nil
		}
		return bitcoin.NormalizeAddress(s, net)
	})
	return err
}

// runTraceBtc is trace --chain btc, on the opened store with p's labels.
// btcTraceError states a failed Bitcoin walk: a seed with no activity in
// the window, or an output or transaction the chain does not have, is bad
// input.
func btcTraceError(err error) error {
	switch {
	case errors.Is(err, tracer.ErrNoActivity):
		return usagef("%v: check the seed and --from-block", err)
	case errors.Is(err, tracer.ErrUnknownOutput), errors.Is(err, tracer.ErrUnknownTx),
		errors.Is(err, bitcoin.ErrUnknownTx), errors.Is(err, esplora.ErrNotFound):
		return usagef("%v", err)
	}
	return err
}

func runTraceBtc(ctx context.Context, opts *globalOptions, p *traceParams, st *store.Store, start time.Time) error {
	b, err := opts.btcBackend(ctx, st, p)
	if err != nil {
		return err
	}
	opts.logger.Info("bitcoin history", "source", b.how, "network", b.net.Name, "from", p.from, "to", p.to)
	pp := newProgressPrinter(opts.stderr)
	colours, seedColours := p.colouring()
	cfg := tracer.Config{Seeds: p.seeds, SeedColours: seedColours, Colours: colours, Models: p.models, MaxHops: p.maxHops, MinValue: p.minValue,
		FromBlock: p.from, ToBlock: p.to, NativeAsset: chains.AssetBTC, Logger: opts.logger,
		Progress: func(pr tracer.Progress) {
			pp.Status(fmt.Sprintf("tracing: block %d, %d addresses, %d transfers", pr.Block, pr.Addresses, pr.Transfers))
			if opts.walkProgress != nil {
				opts.walkProgress(pr)
			}
		}}
	setBtcHeuristics(&cfg, p.heur)
	if p.direction == directionBackward {
		return runTraceBackBtc(ctx, opts, p, b, cfg, start, pp.Done)
	}
	// The store's clustering run, when it covers the window, gives the
	// exhibit's clusters (whole-window membership, accepted held merges).
	if cfg.Clusters, err = storedClusters(ctx, opts, st, p.from, p.to, p.heur); err != nil {
		return err
	}
	res, err := tracer.TraceUTXO(ctx, b.hist, stopLabels{ix: p.labelIx, chain: p.chain, stops: p.stops}, cfg)
	pp.Done()
	if err != nil {
		return btcTraceError(err)
	}
	info, err := btcExhibitInfo(ctx, p, b, cfg)
	if err != nil {
		return err
	}
	info.Labels = clusterLabels(info.Labels, res)
	e, err := tracer.BuildExhibit(res, info)
	if err != nil {
		return err
	}
	if err := writeExhibit(opts, e, p.format, p.out); err != nil {
		return err
	}
	printTraceSummary(opts.stderr, e, res, time.Since(start), 0)
	return nil
}

// btcExhibitInfo gathers a Bitcoin exhibit's provenance: the network, the
// sources of the data, the window's last block, the label sets.
func btcExhibitInfo(ctx context.Context, p *traceParams, b *btcBackend, cfg tracer.Config) (tracer.ExhibitInfo, error) {
	info := tracer.ExhibitInfo{Case: p.caseInfo, Chain: chains.BTC, Seeds: p.seeds, Config: cfg, StopCategories: p.stops,
		Tool: "chaintrace", Version: version, GeneratedAt: time.Now().UTC().Format(time.RFC3339),
		Network: b.net.Name, Sources: b.sources}
	var err error
	if info.Tip, err = b.tip(ctx, p.to); err != nil {
		return info, err
	}
	info.LabelSets, info.Labels = exhibitLabels(p)
	return info, nil
}

// clusterLabels adds to an address's own labels those of the other members
// of its cluster, each with its source and the member it came from. A
// cluster from the store's run may be large: its members' labels are
// looked up once per cluster, not once per address asking.
func clusterLabels(own tracer.LabelLookup, res *tracer.Result) tracer.LabelLookup {
	clusterOf := map[string]string{}
	for _, a := range res.Addresses {
		if a.Cluster != "" {
			clusterOf[a.Address] = a.Cluster
		}
	}
	type memberLabels struct {
		member string
		labels []exhibit.Label
	}
	var mu sync.Mutex
	labelled := map[string][]memberLabels{} // cluster id -> its labelled members, in member order
	return func(addr string) []exhibit.Label {
		out := own(addr)
		id := clusterOf[addr]
		if id == "" {
			return out
		}
		mu.Lock()
		ms, ok := labelled[id]
		if !ok {
			for _, m := range res.Clusters[id] {
				if ls := own(m); len(ls) > 0 {
					ms = append(ms, memberLabels{m, ls})
				}
			}
			labelled[id] = ms
		}
		mu.Unlock()
		for _, ml := range ms {
			if ml.member == addr {
				continue
			}
			for _, l := range ml.labels {
				l.Source = fmt.Sprintf("%s, via cluster member %s", l.Source, ml.member)
				out = append(out, l)
			}
		}
		return out
	}
}

// btcBackend picks where the trace reads and settles the window's end.
func (o *globalOptions) btcBackend(ctx context.Context, st *store.Store, p *traceParams) (*btcBackend, error) {
	esploraURL := strings.TrimSpace(o.v.GetString("esplora.url"))
	rpcURL := strings.TrimSpace(o.v.GetString("btc.rpc"))
	conf := uint64(btcConfirmations)
	if o.v.IsSet("confirmations") {
		conf = uint64(max(o.v.GetInt("confirmations"), 0))
	}
	settleTo := func(head uint64) error {
		if p.toGiven {
			if p.to > head {
				return usagef("--to-block %d is beyond the best block %d", p.to, head)
			}
			return nil
		}
		if head < conf || head-conf < p.from {
			return usagef("--from-block %d is past the best block %d less %d confirmations", p.from, head, conf)
		}
		p.to = head - conf
		return nil
	}
	switch {
	case esploraURL != "":
		if rpcURL != "" {
			return nil, usagef("give --esplora or --btc-rpc, not both")
		}
		u, err := url.Parse(esploraURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usagef("--esplora %q: want an http:// or https:// URL", chains.RedactURL(esploraURL))
		}
		net, err := o.btcNetwork(st, nil)
		if err != nil {
			return nil, err
		}
		if err = p.btcSeeds(net); err != nil {
			return nil, err
		}
		if err := st.BindNetwork(chains.BTC, bitcoin.NetworkName(net)); err != nil {
			return nil, usagef("--esplora with --btc-network %s: %v", net.Name, err)
		}
		c := esplora.New(esploraURL, esplora.Options{Net: net, Logger: o.logger, RequestsPerSecond: o.v.GetFloat64("esplora.rate")})
		head, err := c.TipHeight(ctx)
		if err != nil {
			return nil, err
		}
		if err := settleTo(head); err != nil {
			return nil, err
		}
		return &btcBackend{
			hist: newEsploraHistory(c, st), net: net, esplora: c, how: "esplora",
			sources: []exhibit.Source{{Kind: "esplora", EndpointRedacted: c.Endpoint(), ClientVersion: "",
				Capabilities: []string{"address-txs", "outspends", "tx"}}},
			tip: func(ctx context.Context, n uint64) (exhibit.Tip, error) {
				h, err := c.BlockHash(ctx, n)
				return exhibit.Tip{Number: n, Hash: strings.ToLower(h)}, err
			},
		}, nil
	case rpcURL != "":
		a, err := o.btcAdapter(ctx)
		if err != nil {
			return nil, err
		}
		net, err := o.btcNetwork(st, a.Params())
		if err != nil {
			return nil, err
		}
		if err = p.btcSeeds(net); err != nil {
			return nil, err
		}
		head, err := o.btcHead(ctx, a, p)
		if err != nil {
			return nil, err
		}
		if err := settleTo(head); err != nil {
			return nil, err
		}
		if err := recordBtcProvenance(st, a, nil); err != nil {
			return nil, err
		}
		return o.btcNodeBackend(ctx, st, p, a, net)
	}
	net, err := o.btcNetwork(st, nil)
	if err != nil {
		return nil, err
	}
	if err = p.btcSeeds(net); err != nil {
		return nil, err
	}
	if !p.toGiven {
		return nil, usagef("--to-block is required when tracing from the store alone (or give --btc-rpc or --esplora)")
	}
	missing, err := st.Missing(chains.BTC, p.from, p.to)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, usagef("blocks %d-%d of btc are not in store %s: run `chaintrace index --chain btc` over the window, or give --btc-rpc or --esplora",
			missing[0].From, missing[0].To, o.v.GetString("store"))
	}
	return o.storeBackend(st, net, "store")
}

func (o *globalOptions) storeBackend(st *store.Store, net *chaincfg.Params, how string) (*btcBackend, error) {
	prov, err := loadProvenance(st, chains.BTC)
	if err != nil {
		return nil, err
	}
	return &btcBackend{
		hist: &tracer.StoreUTXO{Store: st, Chain: chains.BTC}, net: net, how: how, sources: prov.Sources,
		tip: func(_ context.Context, n uint64) (exhibit.Tip, error) {
			blk, ok, err := st.Block(chains.BTC, n)
			if err != nil {
				return exhibit.Tip{}, err
			}
			if !ok {
				return exhibit.Tip{}, fmt.Errorf("store lacks block %d, the end of the window", n)
			}
			return exhibit.Tip{Number: n, Hash: strings.ToLower(blk.Hash)}, nil
		},
	}, nil
}

// btcNodeBackend serves the trace from the store, filled from the node:
// through its address index (btcd --addrindex) only the blocks where the
// reached addresses appear; without one, the whole window.
func (o *globalOptions) btcNodeBackend(ctx context.Context, st *store.Store, p *traceParams, a *bitcoin.Adapter, net *chaincfg.Params) (*btcBackend, error) {
	index := func(ctx context.Context, blocks []uint64) error {
		_, err := indexer.RunBlocks(ctx, a, st, blocks, indexer.Options{ChunkSize: o.v.GetInt("chunk-size"), Workers: 4, Logger: o.logger})
		return err
	}
	missing, err := st.Missing(chains.BTC, p.from, p.to)
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		return o.storeBackend(st, net, "store (window indexed)")
	}
	ai := bitcoin.NewAddrIndexHistory(a, bitcoin.HistoryOptions{})
	if err := o.probeAddrIndex(ctx, ai, net, p.to); errors.Is(err, bitcoin.ErrNoAddressIndex) {
		o.logger.Warn("the node has no address index: indexing the whole window", "from", p.from, "to", p.to)
		if _, err := indexSourceWithProgress(ctx, o, a, st, p.from, p.to, 4); err != nil {
			return nil, err
		}
		return o.storeBackend(st, net, "store (window indexed from the node)")
	} else if err != nil {
		return nil, err
	}
	if err := recordBtcProvenance(st, a, []string{bitcoin.NameSearchRawTransactions}); err != nil {
		return nil, err
	}
	// The tip block is indexed so the exhibit can name its hash.
	if m, err := st.Missing(chains.BTC, p.to, p.to); err != nil {
		return nil, err
	} else if len(m) > 0 {
		if err := index(ctx, []uint64{p.to}); err != nil {
			return nil, err
		}
	}
	backed := &tracer.BackedHistory{StoreHistory: &tracer.StoreHistory{Store: st, Chain: chains.BTC},
		Finders: []tracer.BlockFinder{ai}, Index: index, Logger: o.logger}
	b, err := o.storeBackend(st, net, "btcd address index")
	if err != nil {
		return nil, err
	}
	b.node, b.backed = a, backed
	ensure := func(ctx context.Context, addr string, from, to uint64) error {
		if strings.HasPrefix(addr, bitcoin.ScriptPrefix) {
			// btcd's address index keys standard addresses only: the
			// spender of an output to a non-standard script is found only
			// if its block is in the store for another reason.
			o.logger.Warn("an output pays a non-standard script the node's address index cannot search; its spender is followed only if already in the store",
				"script", addr)
			return nil
		}
		return backed.Ensure(ctx, addr, from, to)
	}
	b.hist = &tracer.StoreUTXO{Store: st, Chain: chains.BTC, Ensure: ensure,
		Locate: func(ctx context.Context, txid string) (bool, error) {
			h, ok, err := a.TxBlock(ctx, txid)
			if err != nil || !ok {
				return false, err
			}
			return true, index(ctx, []uint64{h})
		}}
	return b, nil
}

// btcHead is the node's best block. A batch's jobs share the node: a head
// already seen at or past a job's given --to-block answers for it (heads
// only grow), so warm jobs ask the node nothing.
func (o *globalOptions) btcHead(ctx context.Context, a *bitcoin.Adapter, p *traceParams) (uint64, error) {
	s, node := o.shared, o.v.GetString("btc.rpc")
	if s != nil && p.toGiven {
		s.mu.Lock()
		h := s.btcHead[node]
		s.mu.Unlock()
		if h >= p.to {
			return h, nil
		}
	}
	h, err := a.Head(ctx)
	if err == nil && s != nil {
		s.mu.Lock()
		if s.btcHead == nil {
			s.btcHead = map[string]uint64{}
		}
		s.btcHead[node] = max(s.btcHead[node], h)
		s.mu.Unlock()
	}
	return h, err
}

// probeAddrIndex asks the node whether it keeps an address index (an
// answer for an unused address); a batch's jobs share the node, so they
// ask once.
func (o *globalOptions) probeAddrIndex(ctx context.Context, ai *bitcoin.AddrIndexHistory, net *chaincfg.Params, at uint64) error {
	probe := func() error {
		_, err := ai.AddressBlocks(ctx, probeAddress(net), at, at)
		return err
	}
	s, node := o.shared, o.v.GetString("btc.rpc")
	if s == nil {
		return probe()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err, asked := s.addrIndex[node]; asked {
		return err
	}
	err := probe()
	if err != nil && !errors.Is(err, bitcoin.ErrNoAddressIndex) {
		return err // a failure to ask: ask again next time
	}
	if s.addrIndex == nil {
		s.addrIndex = map[string]error{}
	}
	s.addrIndex[node] = err
	return err
}

// probeAddress is an address of net that asks the node's address index a
// question with a cheap answer.
func probeAddress(net *chaincfg.Params) string {
	a, err := bitcoin.ParseAddress(bitcoin.ScriptAddress(append([]byte{0x00, 0x14}, make([]byte, 20)...), net), net)
	if err != nil {
		return ""
	}
	return a.EncodeAddress()
}

// recordBtcProvenance adds the node (and the capabilities the trace used)
// to the sources of the store's Bitcoin data.
func recordBtcProvenance(st *store.Store, a *bitcoin.Adapter, extra []string) error {
	caps := a.Capabilities()
	found := []string{fmt.Sprintf("getblock verbosity %d", caps.Verbosity)}
	found = append(found, extra...)
	sort.Strings(found)
	return addSources(st, chains.BTC, 0, exhibit.Source{Kind: "btc-jsonrpc", EndpointRedacted: a.RPC().Endpoint(),
		ClientVersion: caps.Client, Capabilities: found})
}

// esploraHistory serves a utxo walk from an Esplora API. Transactions and
// outspends are kept for the run; rows are computed from the scripts, not
// taken from the API's address fields (esplora.Client.Rows).
//
// What cannot change is also kept in the store (confirmed transactions,
// the txids of a block, the spends of outputs all spent), so a second
// trace of the case asks the API only for what may have moved since: the
// seeds' histories and the spends of outputs still unspent.
type esploraHistory struct {
	c   *esplora.Client
	st  *store.Store // nil: no cache
	mu  sync.Mutex
	tx  map[string]*tracer.UTXOTx
	os  map[string][]esplora.Outspend
	pos map[string]map[string]uint32 // block hash -> txid -> position
}

func newEsploraHistory(c *esplora.Client, st *store.Store) *esploraHistory {
	return &esploraHistory{c: c, st: st, tx: map[string]*tracer.UTXOTx{}, os: map[string][]esplora.Outspend{},
		pos: map[string]map[string]uint32{}}
}

// cached reads an answer kept in the store into v.
func (h *esploraHistory) cached(kind store.RawKind, key string, v any) (bool, error) {
	if h.st == nil {
		return false, nil
	}
	b, ok, err := h.st.GetRaw(chains.BTC, kind, []byte(key))
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("store: cached %s %s: %w", kind, key, err)
	}
	return true, nil
}

// keep stores an answer that cannot change.
func (h *esploraHistory) keep(kind store.RawKind, key string, v any) error {
	if h.st == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return h.st.PutRaw(chains.BTC, kind, []byte(key), b)
}

// txIndex is the position of txid in its block. A block's txids are read
// once a run (from the store, else the API) and kept as a position map.
func (h *esploraHistory) txIndex(ctx context.Context, blockHash, txid string) (uint32, error) {
	h.mu.Lock()
	pos, ok := h.pos[blockHash]
	h.mu.Unlock()
	if !ok {
		var ids []string
		found, err := h.cached(store.RawExplorerTxids, blockHash, &ids)
		if err != nil {
			return 0, err
		}
		if !found {
			if ids, err = h.c.BlockTxids(ctx, blockHash); err != nil {
				return 0, err
			}
			if err := h.keep(store.RawExplorerTxids, blockHash, ids); err != nil {
				return 0, err
			}
		}
		pos = make(map[string]uint32, len(ids))
		for i, id := range ids {
			pos[id] = uint32(i)
		}
		h.mu.Lock()
		h.pos[blockHash] = pos
		h.mu.Unlock()
	}
	if i, ok := pos[txid]; ok {
		return i, nil
	}
	return 0, fmt.Errorf("%w: %s: tx %s is not among the txids of block %s", esplora.ErrInconsistent, h.c.Endpoint(), txid, blockHash)
}

// convert turns an API transaction into the walk's, keeping it in the store
// when it is fresh from the API.
func (h *esploraHistory) convert(ctx context.Context, tx *esplora.Tx, fresh bool) (*tracer.UTXOTx, error) {
	h.mu.Lock()
	ut, ok := h.tx[tx.Txid]
	h.mu.Unlock()
	if ok {
		return ut, nil
	}
	if !tx.Status.Confirmed {
		return nil, fmt.Errorf("%w: %s: tx %s is not confirmed", esplora.ErrNotFound, h.c.Endpoint(), tx.Txid)
	}
	idx, err := h.txIndex(ctx, tx.Status.BlockHash, tx.Txid)
	if err != nil {
		return nil, err
	}
	rec, rows, err := h.c.Rows(tx, idx)
	if err != nil {
		return nil, err
	}
	if fresh {
		if err := h.keep(store.RawExplorerTx, tx.Txid, tx); err != nil {
			return nil, err
		}
	}
	ut = &tracer.UTXOTx{Tx: rec, Outputs: rows, NumOutputs: len(tx.Vout)}
	h.mu.Lock()
	h.tx[tx.Txid] = ut
	h.mu.Unlock()
	return ut, nil
}

func (h *esploraHistory) AddressOutputs(ctx context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error {
	var txs []*tracer.UTXOTx
	errDone := errors.New("done")
	err := h.c.AddressTxs(ctx, addr, func(tx *esplora.Tx) error {
		if tx.Status.BlockHeight < from {
			return errDone // newest first: the rest are older still
		}
		if tx.Status.BlockHeight > to {
			return nil
		}
		ut, err := h.convert(ctx, tx, true)
		if err != nil {
			return err
		}
		txs = append(txs, ut)
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		return err
	}
	sort.SliceStable(txs, func(i, j int) bool {
		a, b := &txs[i].Tx, &txs[j].Tx
		return a.BlockNumber < b.BlockNumber || a.BlockNumber == b.BlockNumber && a.Index < b.Index
	})
	for _, ut := range txs {
		for i := range ut.Outputs {
			if ut.Outputs[i].To == addr {
				if err := fn(&ut.Outputs[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (h *esploraHistory) Spender(ctx context.Context, txid string, vout uint32, to uint64) (string, bool, error) {
	h.mu.Lock()
	os, ok := h.os[txid]
	h.mu.Unlock()
	if !ok {
		var err error
		if ok, err = h.cached(store.RawExplorerOutspends, txid, &os); err != nil {
			return "", false, err
		}
	}
	if !ok {
		var err error
		if os, err = h.c.Outspends(ctx, txid); err != nil {
			return "", false, err
		}
		final := true
		for _, o := range os {
			final = final && o.Spent && o.Status != nil && o.Status.Confirmed
		}
		if final {
			if err := h.keep(store.RawExplorerOutspends, txid, os); err != nil {
				return "", false, err
			}
		}
		h.mu.Lock()
		h.os[txid] = os
		h.mu.Unlock()
	}
	if int(vout) >= len(os) {
		return "", false, fmt.Errorf("%w: %s: outspends of %s list %d outputs, not output %d", esplora.ErrInconsistent, h.c.Endpoint(), txid, len(os), vout)
	}
	o := os[vout]
	if !o.Spent || o.Status == nil || !o.Status.Confirmed || o.Status.BlockHeight > to {
		return "", false, nil
	}
	return o.Txid, true, nil
}

func (h *esploraHistory) Tx(ctx context.Context, txid string) (*tracer.UTXOTx, error) {
	h.mu.Lock()
	ut, ok := h.tx[txid]
	h.mu.Unlock()
	if ok {
		return ut, nil
	}
	tx := new(esplora.Tx)
	if ok, err := h.cached(store.RawExplorerTx, txid, tx); err != nil {
		return nil, err
	} else if ok {
		return h.convert(ctx, tx, false)
	}
	tx, err := h.c.Tx(ctx, txid)
	if err != nil {
		if errors.Is(err, esplora.ErrNotFound) {
			return nil, fmt.Errorf("%w: %v", tracer.ErrUnknownTx, err)
		}
		return nil, err
	}
	return h.convert(ctx, tx, true)
}

// setBtcHeuristics puts the configured Bitcoin heuristics into a walk's
// config: CoinJoins are boundaries, peel chains and change outputs are
// findings, multi-input clustering names the reached addresses' clusters.
func setBtcHeuristics(cfg *tracer.Config, h heuristics.Config) {
	cj := h.CoinJoin
	cfg.CoinJoin = &cj
	if h.PeelChain.Enabled {
		peel := h.PeelChain
		cfg.PeelChain = &peel
	}
	if d := h.ChangeDetector(); len(d.Heuristics) > 0 {
		cfg.Change = d
	}
	if h.MultiInput.Enabled {
		mi := h.MultiInputOptions(0)
		cfg.Cluster = &mi
	}
}
