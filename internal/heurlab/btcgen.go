package heurlab

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// BTCOptions shape the Bitcoin scenario. Zero values take the defaults.
type BTCOptions struct {
	Seed    uint64 // the generator's random seed (default 1)
	Wallets int    // ordinary users' wallets (default 30, at least 16)
	Rounds  int    // blocks of everyday activity (default 100)
	// TxsPerRound is the everyday transactions per round (default 14).
	TxsPerRound int
	// CoinJoins is how many CoinJoins of each kind (Whirlpool, Wasabi 1,
	// Wasabi 2, JoinMarket) are played (default 4).
	CoinJoins int
	// PeelChains and PeelLength: deliberate peel chains (default 5 of 10).
	PeelChains, PeelLength int
	// PayJoins is how many PayJoins (payer and payee both bring an input)
	// are played (default 6).
	PayJoins int
	Logf     func(format string, args ...any)
}

func (o *BTCOptions) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	def(&o.Wallets, 30)
	o.Wallets = max(o.Wallets, 16) // a Wasabi 1 round needs ten participants with coins
	def(&o.Rounds, 100)
	def(&o.TxsPerRound, 14)
	def(&o.CoinJoins, 4)
	def(&o.PeelChains, 5)
	def(&o.PeelLength, 10)
	def(&o.PayJoins, 6)
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Transaction kinds of the Bitcoin scenario.
const (
	KindPayment       = "payment"        // one payee and change
	KindSweep         = "sweep"          // one payee, no change
	KindBatch         = "batch"          // several payees and change
	KindEqualBatch    = "equal_batch"    // several payees of one amount and change
	KindConsolidation = "consolidation"  // many inputs, one output of the same owner
	KindPeel          = "peel"           // a hop of a deliberate peel chain
	KindPayJoin       = "payjoin"        // payer and payee both bring inputs
	KindTx0           = "whirlpool_tx0"  // Whirlpool premix: premix output, coordinator fee, change
	KindExchangeBatch = "exchange_batch" // an exchange's batched withdrawals
)

// BTCTx is the truth of one transaction the generator made.
type BTCTx struct {
	TxID string
	Kind string
	// CoinJoin is the CoinJoin kind (heuristics.CoinJoinWhirlpool, ...)
	// when the transaction is one; Sender is then empty.
	CoinJoin string
	// Sender owns the inputs (PayJoin: the payer; the payee brings one).
	Sender string
	// Own[i] tells whether output i pays the sender back: the change.
	Own []bool
	// Inputs are the outpoints it spends, as "txid:vout".
	Inputs []string
}

// BTCTruth is what the generator knows about the chain it played.
type BTCTruth struct {
	From, To uint64            // heights of the played blocks
	Owner    map[string]string // address -> owner entity
	Txs      map[string]*BTCTx // the generator's transactions by txid
	Order    []string          // txids in the order they were made
	Counts   map[string]int    // transactions per kind
}

// wallet is an entity: its spendable coins and how it behaves.
type wallet struct {
	name    string
	recv    btcnode.ScriptType // the type of the addresses it gives out
	change  btcnode.ScriptType // the type of its change addresses
	reuse   bool               // it pays change back to an input address
	profile string
	coins   []btcnode.Coin
	pending []btcnode.Coin // received this round, spendable after the block
	next    int            // address counter
	// donation is the one receiving address a merchant reuses.
	donation *btcnode.Output
}

type btcGen struct {
	n       *btcnode.Node
	net     *chaincfg.Params
	rng     *rand.Rand
	opts    BTCOptions
	truth   *BTCTruth
	wallets []*wallet
	byName  map[string]*wallet
	peels   []*peel
}

// fresh is a new address of w of type typ: its key name.
func (g *btcGen) fresh(w *wallet, typ btcnode.ScriptType) btcnode.Output {
	w.next++
	key := fmt.Sprintf("lab/%s/%d", w.name, w.next)
	a, err := btcnode.AddrFor(key, typ, g.net)
	if err != nil {
		panic(err) // types are the package's own
	}
	g.truth.Owner[a.EncodeAddress()] = w.name
	return btcnode.Output{Key: key, Type: typ}
}

// receive is an address w gives a payer: fresh, or for a merchant-like
// wallet now and then its one reused donation address.
func (g *btcGen) receive(w *wallet) btcnode.Output {
	if w.profile == "merchant" && g.rng.IntN(2) == 0 {
		if w.donation == nil {
			o := g.fresh(w, w.recv)
			w.donation = &o
		}
		return *w.donation
	}
	return g.fresh(w, w.recv)
}

func pay(o btcnode.Output, v int64) btcnode.Output { o.Value = v; return o }

// amount is a payment of at most max sat: round (a multiple of 0.01
// BTC) two times in five, otherwise a converted price.
func (g *btcGen) amount(max int64) int64 {
	if max < 2_000_000 {
		return 0
	}
	if g.rng.IntN(5) < 2 {
		return (1 + g.rng.Int64N(max/1_000_000)) * 1_000_000
	}
	return 20_000 + g.rng.Int64N(max-20_000)
}

// size draws the scale of a payment from a wallet holding total: mostly
// small against its coins, a third of the time most of what it has (then
// it needs several inputs).
func (g *btcGen) size(total int64) int64 {
	if g.rng.IntN(3) == 0 {
		return total * 4 / 5
	}
	return total / 6
}

// fee pays 1 to 4 sat per byte of a transaction of nIn inputs and nOut
// outputs, sized as legacy P2PKH (an upper bound; btcd's relay minimum
// is 1 sat/byte).
func (g *btcGen) fee(nIn, nOut int) int64 {
	return int64(11+148*nIn+34*nOut) * (1 + g.rng.Int64N(4))
}

// pick chooses coins of w covering need: largest first (what most wallets
// do: the change is then smaller than every input), or now and then a
// random extra coin on top.
func (g *btcGen) pick(w *wallet, need int64, maxIn int) []btcnode.Coin {
	cs := slices.Clone(w.coins)
	slices.SortFunc(cs, func(a, b btcnode.Coin) int { return int(b.Value - a.Value) })
	var out []btcnode.Coin
	var sum int64
	for _, c := range cs {
		if sum >= need || len(out) == maxIn {
			break
		}
		out = append(out, c)
		sum += c.Value
	}
	if sum < need {
		return nil
	}
	if len(out) < len(cs) && g.rng.IntN(6) == 0 {
		out = append(out, cs[len(out)+g.rng.IntN(len(cs)-len(out))])
	}
	return out
}

func sumCoins(cs []btcnode.Coin) int64 {
	var s int64
	for _, c := range cs {
		s += c.Value
	}
	return s
}

// send broadcasts a transaction and records its truth; owners[i] names who
// receives output i (its coin is theirs after the block). It returns the
// transaction's outputs as coins.
func (g *btcGen) send(kind, sender, cj string, from []btcnode.Coin, outs []btcnode.Output, owners []string, fee int64) ([]btcnode.Coin, error) {
	tx, err := g.n.Spend(from, outs, fee)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	id := tx.TxHash().String()
	t := &BTCTx{TxID: id, Kind: kind, CoinJoin: cj, Sender: sender, Own: make([]bool, len(outs))}
	if cj != "" {
		t.Sender = ""
	}
	for _, c := range from {
		t.Inputs = append(t.Inputs, c.OutPoint.String())
		for _, w := range g.wallets {
			w.coins = slices.DeleteFunc(w.coins, func(x btcnode.Coin) bool { return x.OutPoint == c.OutPoint })
		}
	}
	coins := btcnode.CoinsOf(tx, outs)
	for i, o := range owners {
		t.Own[i] = cj == "" && o == sender
		if w := g.byName[o]; w != nil {
			w.pending = append(w.pending, coins[i])
		}
	}
	g.truth.Txs[id] = t
	g.truth.Order = append(g.truth.Order, id)
	g.truth.Counts[kind]++
	return coins, nil
}

// sent is send for callers that need only the error.
func (g *btcGen) sent(kind, sender, cj string, from []btcnode.Coin, outs []btcnode.Output, owners []string, fee int64) error {
	_, err := g.send(kind, sender, cj, from, outs, owners, fee)
	return err
}

// take removes c from w's pending coins: its caller spends it itself.
func take(w *wallet, c btcnode.Coin) btcnode.Coin {
	w.pending = slices.DeleteFunc(w.pending, func(x btcnode.Coin) bool { return x.OutPoint == c.OutPoint })
	return c
}

// shuffle permutes outs and owners alike (wallets randomise output order).
func (g *btcGen) shuffle(outs []btcnode.Output, owners []string) {
	g.rng.Shuffle(len(outs), func(i, j int) {
		outs[i], outs[j] = outs[j], outs[i]
		owners[i], owners[j] = owners[j], owners[i]
	})
}

// changeOut is w's change address for a transaction spending from.
func (g *btcGen) changeOut(w *wallet, from []btcnode.Coin) btcnode.Output {
	if w.reuse {
		return btcnode.Output{Key: from[0].Key, Type: from[0].Type}
	}
	return g.fresh(w, w.change)
}

// other is a random wallet other than w.
func (g *btcGen) other(w *wallet) *wallet {
	for {
		o := g.wallets[g.rng.IntN(len(g.wallets))]
		if o != w && o.profile != "exchange" {
			return o
		}
	}
}

// everyday plays one ordinary transaction from w.
func (g *btcGen) everyday(w *wallet) error {
	if len(w.coins) == 0 {
		return nil
	}
	var total int64
	for _, c := range w.coins {
		total += c.Value
	}
	r := g.rng.IntN(100)
	switch {
	case r < 58: // a payment with change
		fee := g.fee(5, 2)
		amt := g.amount(g.size(total))
		if amt == 0 {
			return nil
		}
		from := g.pick(w, amt+fee+50_000, 4)
		if from == nil {
			return nil
		}
		payee := g.other(w)
		outs := []btcnode.Output{pay(g.receive(payee), amt), pay(g.changeOut(w, from), sumCoins(from)-amt-fee)}
		owners := []string{payee.name, w.name}
		g.shuffle(outs, owners)
		return g.sent(KindPayment, w.name, "", from, outs, owners, fee)
	case r < 68: // a sweep: everything selected to one payee
		fee := g.fee(3, 1)
		from := g.pick(w, 1, 1+g.rng.IntN(2))
		if from == nil || sumCoins(from) < fee+10_000 {
			return nil
		}
		payee := g.other(w)
		return g.sent(KindSweep, w.name, "", from, []btcnode.Output{pay(g.receive(payee), sumCoins(from)-fee)}, []string{payee.name}, fee)
	case r < 80: // a batch: two to four payees
		k := 2 + g.rng.IntN(3)
		fee := g.fee(6, k+1)
		equal := g.rng.IntN(3) == 0
		each := g.amount(g.size(total) / int64(k))
		if each == 0 {
			return nil
		}
		var outs []btcnode.Output
		var owners []string
		var paid int64
		for i := 0; i < k; i++ {
			a := each
			if !equal {
				a = g.amount(g.size(total) / int64(k))
			}
			if a == 0 {
				return nil
			}
			p := g.other(w)
			outs = append(outs, pay(g.receive(p), a))
			owners = append(owners, p.name)
			paid += a
		}
		from := g.pick(w, paid+fee+50_000, 5)
		if from == nil {
			return nil
		}
		outs = append(outs, pay(g.changeOut(w, from), sumCoins(from)-paid-fee))
		owners = append(owners, w.name)
		g.shuffle(outs, owners)
		kind := KindBatch
		if equal {
			kind = KindEqualBatch
		}
		return g.sent(kind, w.name, "", from, outs, owners, fee)
	default: // a consolidation of three or more coins
		if len(w.coins) < 3 {
			return nil
		}
		from := slices.Clone(w.coins[:min(len(w.coins), 3+g.rng.IntN(4))])
		fee := g.fee(len(from), 1)
		return g.sent(KindConsolidation, w.name, "", from, []btcnode.Output{pay(g.fresh(w, w.change), sumCoins(from)-fee)}, []string{w.name}, fee)
	}
}

// mine mines the round's block and makes what was received spendable.
func (g *btcGen) mine() error {
	if _, err := g.n.Mine(1); err != nil {
		return err
	}
	for _, w := range g.wallets {
		w.coins = append(w.coins, w.pending...)
		w.pending = nil
	}
	return nil
}

// PlayBTC plays the labelled Bitcoin scenario on n: wallets of several
// profiles making everyday payments (with and without change, batches,
// consolidations, address reuse, mixed address types, round and converted
// amounts), an exchange consolidating deposits and batching withdrawals,
// deliberate peel chains, PayJoins, and CoinJoins of the four kinds the
// detectors know, each with participants of different owners.
func PlayBTC(n *btcnode.Node, opts BTCOptions) (*BTCTruth, error) {
	opts.defaults()
	base, err := n.Client().GetBlockCount()
	if err != nil {
		return nil, err
	}
	g := &btcGen{n: n, net: n.Params(), rng: rand.New(rand.NewPCG(opts.Seed, 0x6865757269737469)), opts: opts,
		truth:  &BTCTruth{From: uint64(base) + 1, Owner: map[string]string{}, Txs: map[string]*BTCTx{}, Counts: map[string]int{}},
		byName: map[string]*wallet{}}
	profiles := []struct {
		name         string
		recv, change btcnode.ScriptType
		reuse        bool
	}{
		{"segwit", btcnode.P2WPKH, btcnode.P2WPKH, false},
		{"segwit", btcnode.P2WPKH, btcnode.P2WPKH, false},
		{"legacy", btcnode.P2PKH, btcnode.P2PKH, false},
		{"upgrading", btcnode.P2PKH, btcnode.P2WPKH, false},
		{"reuser", btcnode.P2PKH, btcnode.P2PKH, true},
		{"merchant", btcnode.P2WPKH, btcnode.P2WPKH, false},
	}
	for i := 0; i < opts.Wallets; i++ {
		p := profiles[i%len(profiles)]
		w := &wallet{name: fmt.Sprintf("w%02d-%s", i, p.name), recv: p.recv, change: p.change, reuse: p.reuse, profile: p.name}
		g.wallets = append(g.wallets, w)
		g.byName[w.name] = w
	}
	exchange := &wallet{name: "exchange", recv: btcnode.P2WPKH, change: btcnode.P2WPKH, profile: "exchange"}
	coordinator := &wallet{name: "coinjoin-coordinator", recv: btcnode.P2WPKH, change: btcnode.P2WPKH, profile: "exchange"}
	g.wallets = append(g.wallets, exchange, coordinator)
	g.byName[exchange.name], g.byName[coordinator.name] = exchange, coordinator

	// Funding: every wallet gets three coins of 0.3 to 3 BTC in one
	// transaction from the node's wallet (not scored: it is not the
	// generator's).
	var outs []btcnode.Output
	var owners []*wallet
	for _, w := range g.wallets[:opts.Wallets] {
		for k := 0; k < 3; k++ {
			outs = append(outs, pay(g.fresh(w, w.recv), 30_000_000+g.rng.Int64N(270_000_000)))
			owners = append(owners, w)
		}
	}
	for start := 0; start < len(outs); start += 40 {
		end := min(start+40, len(outs))
		coins, err := n.FundKeys(outs[start:end]...)
		if err != nil {
			return nil, fmt.Errorf("funding the wallets: %w", err)
		}
		for i, c := range coins {
			owners[start+i].coins = append(owners[start+i].coins, c)
		}
	}
	opts.Logf("funded %d wallets", opts.Wallets)

	// Special structures are spread over the rounds.
	type event func() error
	schedule := map[int][]event{}
	at := func(e event) {
		r := 1 + g.rng.IntN(max(1, opts.Rounds-opts.PeelLength-1))
		schedule[r] = append(schedule[r], e)
	}
	for k := 0; k < opts.CoinJoins; k++ {
		at(g.whirlpool)
		at(g.wasabi1)
		at(g.wasabi2)
		at(g.joinmarket)
	}
	for k := 0; k < opts.PayJoins; k++ {
		at(g.payjoin)
	}
	for k := 0; k < opts.PeelChains; k++ {
		k := k
		at(func() error { return g.startPeel(k) })
	}
	for r := 0; r < opts.Rounds; r++ {
		for _, e := range schedule[r] {
			if err := e(); err != nil {
				return nil, err
			}
		}
		if err := g.peelHops(); err != nil {
			return nil, err
		}
		for i := 0; i < opts.TxsPerRound; i++ {
			w := g.wallets[g.rng.IntN(opts.Wallets)]
			if err := g.everyday(w); err != nil {
				return nil, err
			}
		}
		if r%5 == 4 {
			if err := g.exchangeRound(); err != nil {
				return nil, err
			}
		}
		if err := g.mine(); err != nil {
			return nil, err
		}
		if r%10 == 9 {
			opts.Logf("round %d of %d: %d transactions", r+1, opts.Rounds, len(g.truth.Order))
		}
	}
	// Let the peel chains finish.
	for len(g.peels) > 0 {
		if err := g.peelHops(); err != nil {
			return nil, err
		}
		if err := g.mine(); err != nil {
			return nil, err
		}
	}
	top, err := n.Client().GetBlockCount()
	if err != nil {
		return nil, err
	}
	g.truth.To = uint64(top)
	return g.truth, nil
}

// peel is a running deliberate peel chain.
type peel struct {
	w    *wallet
	coin btcnode.Coin
	left int
}

// startPeel gives a fresh launderer wallet the sum of a few wallets' coins
// (they are paid into it like a theft) and starts a peel chain from it.
func (g *btcGen) startPeel(k int) error {
	w := &wallet{name: fmt.Sprintf("launderer-%d", k), recv: btcnode.P2WPKH, change: btcnode.ScriptType(k % 2), profile: "launderer"}
	g.byName[w.name] = w
	// The launderer's coin comes from the node's wallet (the theft).
	coins, err := g.n.FundKeys(pay(g.fresh(w, w.recv), 400_000_000+g.rng.Int64N(400_000_000)))
	if err != nil {
		return fmt.Errorf("peel chain %d: %w", k, err)
	}
	g.peels = append(g.peels, &peel{w: w, coin: coins[0], left: g.opts.PeelLength})
	return nil
}

// peelHops plays one hop of every running peel chain: a small peel to
// someone, the rest to the launderer's next fresh address.
func (g *btcGen) peelHops() error {
	var still []*peel
	for _, p := range g.peels {
		fee := g.fee(1, 2)
		amt := 1_000_000 + g.rng.Int64N(p.coin.Value/8)
		payee := g.other(p.w)
		outs := []btcnode.Output{pay(g.receive(payee), amt), pay(g.fresh(p.w, p.w.change), p.coin.Value-amt-fee)}
		owners := []string{payee.name, p.w.name}
		g.shuffle(outs, owners)
		coins, err := g.send(KindPeel, p.w.name, "", []btcnode.Coin{p.coin}, outs, owners, fee)
		if err != nil {
			return err
		}
		p.coin = take(p.w, coins[slices.Index(owners, p.w.name)]) // the chain carries its own coin
		if p.left--; p.left > 0 {
			still = append(still, p)
		}
	}
	g.peels = still
	return nil
}

// participants are up to k distinct wallets with a coin of at least v.
func (g *btcGen) participants(k int, v int64) []*wallet {
	var ws []*wallet
	for _, i := range g.rng.Perm(g.opts.Wallets) {
		w := g.wallets[i]
		if slices.ContainsFunc(w.coins, func(c btcnode.Coin) bool { return c.Value >= v }) {
			ws = append(ws, w)
			if len(ws) == k {
				break
			}
		}
	}
	return ws
}

// coinOf takes w's smallest coin of at least v.
func coinOf(w *wallet, v int64) btcnode.Coin {
	best := -1
	for i, c := range w.coins {
		if c.Value >= v && (best < 0 || c.Value < w.coins[best].Value) {
			best = i
		}
	}
	return w.coins[best]
}

// whirlpool plays five Whirlpool tx0s (premix of pool + miner share, the
// coordinator's fee, change) in one block, then the 5-input mix.
func (g *btcGen) whirlpool() error {
	const pool, share, coordFee = heuristics.BTC / 20, 600, 250_000
	ws := g.participants(5, pool+share+coordFee+100_000)
	if len(ws) < 5 {
		g.opts.Logf("whirlpool skipped: too few wallets with coins")
		return nil
	}
	coord := g.byName["coinjoin-coordinator"]
	var premix []btcnode.Coin
	for _, w := range ws {
		c := coinOf(w, pool+share+coordFee+100_000)
		fee := g.fee(1, 3)
		pre := g.fresh(w, btcnode.P2WPKH)
		outs := []btcnode.Output{pay(pre, pool+share), pay(g.fresh(coord, coord.recv), coordFee), pay(g.changeOut(w, []btcnode.Coin{c}), c.Value-pool-share-coordFee-fee)}
		coins, err := g.send(KindTx0, w.name, "", []btcnode.Coin{c}, outs, []string{w.name, coord.name, w.name}, fee)
		if err != nil {
			return err
		}
		premix = append(premix, take(w, coins[0]))
	}
	if err := g.mine(); err != nil {
		return err
	}
	var outs []btcnode.Output
	var owners []string
	for _, w := range ws {
		outs = append(outs, pay(g.fresh(w, btcnode.P2WPKH), pool))
		owners = append(owners, w.name)
	}
	g.shuffle(outs, owners)
	return g.sent("coinjoin", "", heuristics.CoinJoinWhirlpool, premix, outs, owners, 5*share)
}

// wasabi1 plays a ZeroLink round: ten to fourteen participants, each an
// equal output near 0.1 BTC and its change, and the coordinator's fee.
func (g *btcGen) wasabi1() error {
	const denom = heuristics.BTC/10 - 37_113
	ws := g.participants(10+g.rng.IntN(5), denom+200_000)
	if len(ws) < 10 {
		g.opts.Logf("wasabi1 skipped: too few wallets with coins")
		return nil
	}
	coord := g.byName["coinjoin-coordinator"]
	var from []btcnode.Coin
	var outs []btcnode.Output
	var owners []string
	const perFee = 3_000
	for _, w := range ws {
		c := coinOf(w, denom+200_000)
		from = append(from, c)
		outs = append(outs, pay(g.fresh(w, btcnode.P2WPKH), denom))
		owners = append(owners, w.name)
		outs = append(outs, pay(g.fresh(w, btcnode.P2WPKH), c.Value-denom-2*perFee))
		owners = append(owners, w.name)
	}
	outs = append(outs, pay(g.fresh(coord, coord.recv), int64(len(ws))*perFee))
	owners = append(owners, coord.name)
	g.shuffle(outs, owners)
	return g.sent("coinjoin", "", heuristics.CoinJoinWasabi1, from, outs, owners, int64(len(ws))*perFee)
}

// wasabi2 plays a WabiSabi round: eight to twelve participants bring two
// inputs each (fifteen or more in all); each one's value comes out in
// standard denominations, the remainder below the smallest paid as fee.
func (g *btcGen) wasabi2() error {
	ws := g.participants(8+g.rng.IntN(5), 5_000_000)
	if len(ws) < 8 {
		g.opts.Logf("wasabi2 skipped: too few wallets with coins")
		return nil
	}
	dens := heuristics.StandardDenominations(5000)
	var from []btcnode.Coin
	var outs []btcnode.Output
	var owners []string
	var fee int64
	for _, w := range ws {
		cs := g.pick(w, 5_000_000, 2)
		if len(cs) < 2 && len(w.coins) >= 2 {
			cs = slices.Clone(w.coins[:2])
		}
		v := sumCoins(cs) - 2_000
		fee += 2_000
		from = append(from, cs...)
		for v >= 5000 {
			i, _ := slices.BinarySearch(dens, v+1)
			d := dens[i-1]
			outs = append(outs, pay(g.fresh(w, btcnode.P2WPKH), d))
			owners = append(owners, w.name)
			v -= d
		}
		fee += v
	}
	if len(from) < 15 {
		g.opts.Logf("wasabi2 skipped: %d inputs", len(from))
		return nil
	}
	g.shuffle(outs, owners)
	return g.sent("coinjoin", "", heuristics.CoinJoinWasabi2, from, outs, owners, fee)
}

// joinmarket plays a JoinMarket join: a taker and two to five makers, one
// equal output each, change for every maker and the taker; makers earn a
// small fee from the taker.
func (g *btcGen) joinmarket() error {
	ws := g.participants(3+g.rng.IntN(4), 30_000_000)
	if len(ws) < 3 {
		return nil
	}
	amt := 10_000_000 + g.rng.Int64N(15_000_000)
	const makerFee, minerFee = 1_000, 3_000
	var from []btcnode.Coin
	var outs []btcnode.Output
	var owners []string
	for i, w := range ws {
		c := coinOf(w, 30_000_000)
		from = append(from, c)
		outs = append(outs, pay(g.fresh(w, btcnode.P2WPKH), amt))
		owners = append(owners, w.name)
		change := c.Value - amt + makerFee
		if i == 0 { // the taker pays the makers and the miner
			change = c.Value - amt - makerFee*int64(len(ws)-1) - minerFee
		}
		outs = append(outs, pay(g.fresh(w, btcnode.P2WPKH), change))
		owners = append(owners, w.name)
	}
	g.shuffle(outs, owners)
	return g.sent("coinjoin", "", heuristics.CoinJoinJoinMarket, from, outs, owners, minerFee)
}

// payjoin: the payee adds a coin of its own to the payer's; the payee's
// output is the payment plus its coin (multi-input's known blind spot).
func (g *btcGen) payjoin() error {
	ws := g.participants(2, 20_000_000)
	if len(ws) < 2 {
		return nil
	}
	payer, payee := ws[0], ws[1]
	a, b := coinOf(payer, 20_000_000), coinOf(payee, 20_000_000)
	amt := g.amount(a.Value / 2)
	fee := g.fee(2, 2)
	if amt == 0 {
		return nil
	}
	outs := []btcnode.Output{pay(g.fresh(payee, payee.recv), amt+b.Value), pay(g.changeOut(payer, []btcnode.Coin{a}), a.Value-amt-fee)}
	owners := []string{payee.name, payer.name}
	g.shuffle(outs, owners)
	from := []btcnode.Coin{a, b}
	g.rng.Shuffle(2, func(i, j int) { from[i], from[j] = from[j], from[i] })
	return g.sent(KindPayJoin, payer.name, "", from, outs, owners, fee)
}

// exchangeRound: users deposit to fresh exchange addresses (payments of
// the users, already counted as such), then the exchange consolidates its
// deposits and pays a batch of withdrawals.
func (g *btcGen) exchangeRound() error {
	ex := g.byName["exchange"]
	for i := 0; i < 4; i++ {
		w := g.wallets[g.rng.IntN(g.opts.Wallets)]
		if len(w.coins) == 0 {
			continue
		}
		amt := g.amount(g.size(sumCoins(w.coins)))
		fee := g.fee(4, 2)
		from := g.pick(w, amt+fee+50_000, 3)
		if amt == 0 || from == nil {
			continue
		}
		outs := []btcnode.Output{pay(g.fresh(ex, ex.recv), amt), pay(g.changeOut(w, from), sumCoins(from)-amt-fee)}
		owners := []string{ex.name, w.name}
		g.shuffle(outs, owners)
		if err := g.sent(KindPayment, w.name, "", from, outs, owners, fee); err != nil {
			return err
		}
	}
	if len(ex.coins) >= 4 {
		from := slices.Clone(ex.coins)
		total := sumCoins(from)
		k := 3 + g.rng.IntN(5)
		fee := g.fee(len(from), k+1)
		var outs []btcnode.Output
		var owners []string
		var paid int64
		for i := 0; i < k; i++ {
			a := g.amount(total / int64(2*k))
			if a == 0 {
				break
			}
			p := g.other(ex)
			outs = append(outs, pay(g.receive(p), a))
			owners = append(owners, p.name)
			paid += a
		}
		if paid > 0 && total-paid-fee > 10_000 {
			outs = append(outs, pay(g.fresh(ex, ex.change), total-paid-fee))
			owners = append(owners, ex.name)
			g.shuffle(outs, owners)
			return g.sent(KindExchangeBatch, ex.name, "", from, outs, owners, fee)
		}
	}
	return nil
}
