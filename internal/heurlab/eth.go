package heurlab

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/heuristics"
	"github.com/chaintrace/chaintrace/indexer"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/chaintrace/chaintrace/labels"
	"github.com/chaintrace/chaintrace/store"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
)

// ETHOptions shapes the Ethereum scenario. Zero values take the defaults;
// for the trap counts a negative value means none.
type ETHOptions struct {
	Seed      uint64 // the generator's random seed (default 1)
	Customers int    // exchange customers (default 120)
	Exchanges int    // exchanges, 2 to 5 (default 3)
	// Blocks is the length of the everyday activity (default 40 +
	// Customers/2); sweeps, late sweeps and the last deposits come after.
	Blocks int
	// TokenCustomers deposit an ERC-20 token as well as ether (default
	// Customers/4).
	TokenCustomers int
	// ThirdPartyPayments are payments into a customer's deposit address by
	// someone else: a buyer paying a merchant's exchange account (default
	// Customers/6).
	ThirdPartyPayments int
	// DirectPayers are personal addresses that pay an exchange's hot
	// wallet directly and keep a balance (default Customers/6).
	DirectPayers int
	// SelfEmptying are personal addresses that receive funds once and
	// empty themselves into one exchange (default max(2, Customers/20)).
	SelfEmptying int
	// SplitPayers empty themselves into an exchange and someone else
	// (default max(2, Customers/20)).
	SplitPayers int
	// TwoExchanges empty themselves into two exchanges (default
	// max(1, Customers/30)).
	TwoExchanges int
	// LateSweeps are deposit addresses swept only after the heuristic's
	// window: each costs nothing more, but any makes the chain
	// WithinBlocks+1 blocks longer (about 12 s of block building and 2 s
	// of indexing per 10,000 blocks here) (default max(1, Customers/40)).
	LateSweeps int
	// Pending are deposit addresses whose last deposit is not yet swept
	// when the window ends (default max(1, Customers/40)).
	Pending int
	// Noise is unrelated payments between people and shops (default
	// 2 × Customers).
	Noise int
	// Deposit is the heuristic measured; nil means
	// heuristics.DefaultDepositAddress().
	Deposit *heuristics.DepositAddress
	// Logf, if set, gets progress lines.
	Logf func(format string, args ...any)
}

func (o *ETHOptions) defaults() {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Customers <= 0 {
		o.Customers = 120
	}
	o.Customers = max(o.Customers, 8)
	if o.Exchanges <= 0 {
		o.Exchanges = 3
	}
	o.Exchanges = min(max(o.Exchanges, 2), 5)
	c := o.Customers
	def(&o.Blocks, 40+c/2)
	o.Blocks = max(o.Blocks, 12)
	def(&o.TokenCustomers, c/4)
	def(&o.ThirdPartyPayments, max(1, c/6))
	def(&o.DirectPayers, max(1, c/6))
	def(&o.SelfEmptying, max(2, c/20))
	def(&o.SplitPayers, max(2, c/20))
	def(&o.TwoExchanges, max(1, c/30))
	def(&o.LateSweeps, max(1, c/40))
	def(&o.Pending, max(1, c/40))
	def(&o.Noise, 2*c)
	if o.Deposit == nil {
		d := heuristics.DefaultDepositAddress()
		o.Deposit = &d
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// What an address is in the scenario (ETHAddr.Kind): the behaviour the
// measurement attributes errors to.
const (
	ethKindHotWallet  = "exchange hot wallet"
	ethKindDeposit    = "deposit address swept within the window"
	ethKindLate       = "deposit address swept only after the window"
	ethKindPending    = "deposit address holding an unswept deposit when the window ends"
	ethKindPersonal   = "personal address"
	ethKindDirect     = "personal address that pays an exchange directly and keeps a balance"
	ethKindSelfEmpty  = "personal address that empties itself into an exchange"
	ethKindSplit      = "personal address that empties itself into an exchange and someone else"
	ethKindTwoEx      = "personal address that empties itself into two exchanges"
	ethKindEmployer   = "employer paying wages"
	ethKindShop       = "shop"
	ethKindBuyer      = "outside buyer"
	ethKindIssuer     = "token issuer"
	ethKindThirdParty = "deposit address a third party paid into"
)

// ethPlural is each kind's plural, for the notes.
var ethPlural = map[string]string{
	ethKindHotWallet:  "exchange hot wallets",
	ethKindDeposit:    "deposit addresses swept within the window",
	ethKindLate:       "deposit addresses swept only after the window",
	ethKindPending:    "deposit addresses holding an unswept deposit when the window ends",
	ethKindPersonal:   "personal addresses",
	ethKindDirect:     "personal addresses that pay an exchange directly and keep a balance",
	ethKindSelfEmpty:  "personal addresses that empty themselves into an exchange",
	ethKindSplit:      "personal addresses that empty themselves into an exchange and someone else",
	ethKindTwoEx:      "personal addresses that empty themselves into two exchanges",
	ethKindEmployer:   "employers paying wages",
	ethKindShop:       "shops",
	ethKindBuyer:      "outside buyers",
	ethKindIssuer:     "token issuers",
	ethKindThirdParty: "deposit addresses a third party paid into",
	"pair of one owner's addresses that paid no deposit address in common": "pairs of one owner's addresses that paid no deposit address in common",
}

// ethPhrase is n and the phrase, singular or plural as n wants (plurals
// from more, then ethPlural).
func ethPhrase(n int, one string, more map[string]string) string {
	if n == 1 {
		return "1 " + one
	}
	if many, ok := more[one]; ok {
		return fmt.Sprintf("%d %s", n, many)
	}
	if many, ok := ethPlural[one]; ok {
		return fmt.Sprintf("%d %s", n, many)
	}
	return fmt.Sprintf("%d %s", n, one)
}

// ETHAddr is one address of the scenario and the truth about it.
type ETHAddr struct {
	Address string // EIP-55
	Owner   string // the entity: "exchange:A", "customer:17", "employer:2", ...
	Kind    string // one of the ethKind phrases (singular)
	Deposit bool   // an exchange deposit address
	// Exchange is the exchange a hot wallet or deposit address belongs to.
	Exchange string
	// Dust: the exchange's sweeps of this deposit address leave a
	// remainder below 0.01 ETH.
	Dust bool
}

// ETHMove is a value movement the generator made: a transfer row the
// chain must show.
type ETHMove struct {
	Block    uint64
	TxHash   string
	From, To string
	Asset    string // "ETH" or the token contract (EIP-55)
	Amount   *big.Int
	What     string // wage, withdrawal, token grant, deposit, third party, sweep, gas, direct, empty, noise
}

// ETHTruth is what the generator played.
type ETHTruth struct {
	From, To  uint64 // the window: every block the scenario made
	GapBlocks int    // empty blocks that put the late sweeps beyond the window
	// SweepWithin is how many blocks after a deposit its sweep comes (at
	// most), late sweeps aside.
	SweepWithin int
	Token       string
	Exchanges   []string
	Addrs       map[string]*ETHAddr
	Moves       []ETHMove
	Txs         int
	// Planted counts the addresses of each kind.
	Planted map[string]int
}

// ETHResult is a measured Ethereum scenario.
type ETHResult struct {
	Rows []Row
	// Scenario describes what was played, for the report.
	Scenario string
	Truth    *ETHTruth
	// Candidates are the addresses scored: every address with a transfer
	// in the window that is not a labelled exchange wallet, sorted.
	Candidates []string
	// Deposits is what the tracer's deposit check found among them.
	Deposits *tracer.Deposits
	// Senders are the addresses scored pairwise: every unlabelled payer of
	// a true or detected deposit address, sorted.
	Senders []string
	// Played and Measured are the wall-clock times of generating the chain
	// and of indexing plus measuring it.
	Played, Measured time.Duration
}

// RunETH starts the in-process geth, plays the labelled scenario, indexes
// it into a fresh store through chaintrace's Ethereum adapter and indexer
// (what `chaintrace index --chain eth` runs), labels the exchanges' hot
// wallets through a label set as `--labels` would, and scores the tracer's
// deposit check (tracer.DetectDeposits, the code a trace runs) against the
// truth.
func RunETH(ctx context.Context, opts ETHOptions) (*ETHResult, error) {
	opts.defaults()
	start := time.Now()
	node, err := devchain.Start(devchain.Config{Funded: ethFunded(opts)})
	if err != nil {
		return nil, fmt.Errorf("starting geth: %w", err)
	}
	defer node.Close()
	opts.Logf("geth started; playing the scenario (seed %d, %d customers)", opts.Seed, opts.Customers)
	truth, err := playETH(node, opts)
	if err != nil {
		return nil, fmt.Errorf("playing the scenario: %w", err)
	}
	played := time.Since(start)
	start = time.Now()
	opts.Logf("played %d transactions in blocks %d-%d in %s", truth.Txs, truth.From, truth.To, played.Round(time.Millisecond))

	set, err := labels.Parse("heurlab-eth-exchanges.csv", truth.LabelsCSV())
	if err != nil {
		return nil, fmt.Errorf("exchange labels: %w", err)
	}
	ix, err := labels.NewIndex(set)
	if err != nil {
		return nil, err
	}
	st, done, err := tempStore("heurlab-eth-")
	if err != nil {
		return nil, err
	}
	defer done()
	src, err := ethereum.Dial(ctx, node.URL(), ethereum.Options{})
	if err != nil {
		return nil, err
	}
	opts.Logf("indexing blocks %d-%d", truth.From, truth.To)
	if _, err := indexer.Run(ctx, src, st, truth.From, truth.To, indexer.Options{}); err != nil {
		return nil, fmt.Errorf("indexing the scenario: %w", err)
	}
	res, err := MeasureETH(ctx, &tracer.StoreHistory{Store: st, Chain: chains.ETH, Node: src}, st, ETHStops{ix}, truth, *opts.Deposit)
	if err != nil {
		return nil, err
	}
	res.Scenario = describeETH(opts, truth)
	res.Played, res.Measured = played, time.Since(start)
	opts.Logf("measured %d candidate addresses and %d senders in %s", len(res.Candidates), len(res.Senders), res.Measured.Round(time.Millisecond))
	return res, nil
}

// ETHStops is the label index as the tracer sees it, with trace's default
// stop categories (the same adapter as the trace command's).
type ETHStops struct{ Index *labels.Index }

// Stop implements tracer.Labels.
func (s ETHStops) Stop(addr string) (string, string, bool) {
	l, ok := s.Index.IsStop(string(chains.ETH), addr, labels.DefaultStopCategories)
	return l.Label, l.Category, ok
}

// LabelsCSV is the label file an investigator would hold: the exchanges'
// hot wallets, in the CSV import format.
func (t *ETHTruth) LabelsCSV() []byte {
	var b bytes.Buffer
	b.WriteString("chain,address,label,category,source\n")
	for _, a := range t.sortedAddrs() {
		if x := t.Addrs[a]; x.Kind == ethKindHotWallet {
			fmt.Fprintf(&b, "eth,%s,%s,exchange,heurlab scenario\n", x.Address, x.Exchange)
		}
	}
	return b.Bytes()
}

func (t *ETHTruth) sortedAddrs() []string {
	out := make([]string, 0, len(t.Addrs))
	for a := range t.Addrs {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// MeasureETH scores the deposit check on an indexed scenario: h and st
// read the same store, lb labels the exchanges.
func MeasureETH(ctx context.Context, h tracer.History, st *store.Store, lb tracer.Labels, truth *ETHTruth, d heuristics.DepositAddress) (*ETHResult, error) {
	seen := map[string]bool{}
	rows := map[string]int{}
	n := 0
	err := st.Transfers(chains.ETH, truth.From, truth.To, func(t *chains.Transfer) error {
		n++
		rows[ethMoveKey(t.TxHash, t.From[0], t.To, t.Amount)]++
		for _, a := range append([]string{t.To}, t.From...) {
			seen[a] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The chain read back must be the chain played: every movement the
	// generator made is one transfer row, and nobody else appears.
	var missing []string
	for _, m := range truth.Moves {
		k := ethMoveKey(m.TxHash, m.From, m.To, m.Amount)
		if rows[k] == 0 {
			missing = append(missing, fmt.Sprintf("%s (%s, block %d)", k, m.What, m.Block))
			continue
		}
		rows[k]--
	}
	if len(missing) > 0 || n != len(truth.Moves) {
		return nil, fmt.Errorf("the store holds %d transfers in blocks %d-%d, the generator made %d; missing: %s",
			n, truth.From, truth.To, len(truth.Moves), strings.Join(missing[:min(len(missing), 3)], "; "))
	}
	var candidates []string
	for a := range seen {
		x := truth.Addrs[a]
		if x == nil {
			return nil, fmt.Errorf("address %s in the chain data is not the scenario's", a)
		}
		if _, _, stop := lb.Stop(a); !stop {
			candidates = append(candidates, a)
		}
	}
	sort.Strings(candidates)
	found, err := tracer.DetectDeposits(ctx, h, lb, candidates, truth.From, truth.To, d, chains.AssetETH)
	if err != nil {
		return nil, err
	}
	detected := map[string]bool{}
	for _, dep := range found.Found {
		detected[dep.Address] = true
	}
	info := d.Info()
	row := func(decision, unit string) Row {
		return Row{Heuristic: info.Name, Version: info.Version, Params: info.Params, Chain: "eth", Decision: decision, Unit: unit}
	}
	addrRow := row("address is an exchange deposit address", "addresses")
	addrRow.Confusion, addrRow.Note = scoreDepositAddresses(candidates, detected, truth)

	// The pairwise universe: who paid a true or a detected deposit address.
	isDeposit := func(a string) bool { return detected[a] || truth.Addrs[a].Deposit }
	var targets []string
	for _, a := range candidates {
		if isDeposit(a) {
			targets = append(targets, a)
		}
	}
	paid := map[string][]string{} // sender -> deposit addresses (true or detected) it paid
	for _, dep := range targets {
		err := h.AddressTransfers(ctx, dep, truth.From, truth.To, func(t *chains.Transfer) error {
			from := t.From[0]
			if t.To != dep || from == dep || t.Amount == nil || t.Amount.Sign() == 0 {
				return nil
			}
			if _, _, labelled := lb.Stop(from); labelled {
				return nil
			}
			if !slices.Contains(paid[from], dep) {
				paid[from] = append(paid[from], dep)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	pairRow := row("two senders to one deposit address have one owner", "address pairs")
	var senders []string
	owner := map[string]string{}
	for a := range paid {
		senders = append(senders, a)
		owner[a] = truth.Addrs[a].Owner
	}
	sort.Strings(senders)
	cluster := found.ClusterOf()
	for a := range cluster {
		if _, ok := owner[a]; !ok {
			return nil, fmt.Errorf("clustered sender %s paid no deposit address", a)
		}
	}
	pairRow.Confusion = Pairs(cluster, owner)
	pairRow.Note = explainPairs(senders, cluster, owner, paid, detected, found, truth)
	return &ETHResult{Rows: []Row{addrRow, pairRow}, Truth: truth, Candidates: candidates, Deposits: found, Senders: senders}, nil
}

// scoreDepositAddresses counts the decision on every candidate and says
// which kinds of address the errors are.
func scoreDepositAddresses(candidates []string, detected map[string]bool, truth *ETHTruth) (Confusion, string) {
	var c Confusion
	fp, fn := map[string]int{}, map[string]int{}
	for _, a := range candidates {
		x := truth.Addrs[a]
		c.Add(detected[a], x.Deposit)
		switch {
		case detected[a] && !x.Deposit:
			fp[x.Kind]++
		case !detected[a] && x.Deposit:
			fn[x.Kind]++
		}
	}
	return c, joinNotes(countNote("FP", fp, nil), countNote("FN", fn, nil))
}

// explainPairs says where the pairwise errors come from: which deposit
// addresses joined senders of different owners, and why senders of one
// owner stayed apart.
func explainPairs(senders []string, cluster, owner map[string]string, paid map[string][]string, detected map[string]bool, found *tracer.Deposits, truth *ETHTruth) string {
	// FP: the detected deposit addresses whose senders have several owners.
	mixing := map[string]int{}
	for _, dep := range found.Found {
		owners := map[string]bool{}
		for _, s := range found.Senders[dep.Address] {
			owners[owner[s]] = true
		}
		if len(owners) < 2 {
			continue
		}
		kind := truth.Addrs[dep.Address].Kind
		if truth.Addrs[dep.Address].Deposit {
			kind = ethKindThirdParty
		}
		mixing[kind]++
	}
	fpNote := ""
	if len(mixing) > 0 {
		fpNote = "FP: owners joined through " + countList(mixing, nil)
	}
	// FN: pairs of one owner's senders in different clusters, by cause.
	missedOnly := func(s string) string {
		kinds := map[string]bool{}
		for _, dep := range paid[s] {
			if detected[dep] {
				return ""
			}
			kinds[truth.Addrs[dep].Kind] = true
		}
		ks := make([]string, 0, len(kinds))
		for k := range kinds {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for i, k := range ks {
			ks[i] = ethPlural[k]
		}
		return strings.Join(ks, " or ")
	}
	byOwner := map[string][]string{}
	for _, s := range senders {
		byOwner[owner[s]] = append(byOwner[owner[s]], s)
	}
	fn, plural := map[string]int{}, map[string]string{}
	const apart = "pair of one owner's addresses that paid no deposit address in common"
	for _, ss := range byOwner {
		for i := range ss {
			for j := i + 1; j < len(ss); j++ {
				a, b := ss[i], ss[j]
				if ca, ok := cluster[a]; ok && ca == cluster[b] {
					continue
				}
				cause := apart
				k := missedOnly(a)
				if k == "" {
					k = missedOnly(b)
				}
				if k != "" {
					cause = "pair with a sender that paid only missed deposit addresses (" + k + ")"
					plural[cause] = "pairs" + strings.TrimPrefix(cause, "pair")
				}
				fn[cause]++
			}
		}
	}
	return joinNotes(fpNote, countNote("FN", fn, plural))
}

// ethMoveKey identifies a movement for matching the generator's against
// the store's.
func ethMoveKey(tx, from, to string, amount *big.Int) string {
	return strings.ToLower(tx + " " + from + " " + to + " " + amount.String())
}

// countNote is "FP: 3 personal addresses that ..., 1 ...", or "" when m is
// empty.
func countNote(prefix string, m map[string]int, more map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	return prefix + ": " + countList(m, more)
}

// countList is "3 x, 1 y", largest count first, then by name.
func countList(m map[string]int, more map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = ethPhrase(m[k], k, more)
	}
	return strings.Join(parts, ", ")
}

func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}

// ethFunded names the genesis-funded keys: the exchanges' hot wallets,
// the employers and the token issuer.
func ethFunded(opts ETHOptions) []string {
	var names []string
	for e := range opts.Exchanges {
		for w := range ethHotWallets(e) {
			names = append(names, ethKeyName(opts.Seed, fmt.Sprintf("exchange-%d-hot-%d", e, w)))
		}
	}
	for i := range ethEmployers(opts) {
		names = append(names, ethKeyName(opts.Seed, fmt.Sprintf("employer-%d", i)))
	}
	return append(names, ethKeyName(opts.Seed, "issuer"))
}

func ethHotWallets(exchange int) int {
	if exchange == 0 {
		return 2 // one exchange sweeps into two hot wallets under one label
	}
	return 1
}

func ethEmployers(opts ETHOptions) int { return max(2, opts.Customers/15) }

func ethKeyName(seed uint64, name string) string {
	return fmt.Sprintf("heurlab-eth/%d/%s", seed, name)
}

// ethKey is a scenario address with its key.
type ethKey struct {
	key *ecdsa.PrivateKey
	a   common.Address
	hex string
}

// ethCustomer is one exchange customer.
type ethCustomer struct {
	id       int
	personal []*ethKey
	deposits []*ethDeposit
}

type ethDeposit struct {
	k        *ethKey
	exchange int
	customer *ethCustomer
	dust     bool // sweeps leave a remainder below 0.01 ETH
	late     bool
	pending  bool
	token    bool
}

// ethAction is something done in a block.
type ethAction func(b *core.BlockGen) error

// ethGen plays the scenario: it plans every action into a block, then
// builds all blocks with one devchain Generate.
type ethGen struct {
	n      *devchain.Node
	opts   ETHOptions
	rng    *rand.Rand
	truth  *ETHTruth
	signer types.Signer
	first  uint64 // number of block 0

	blocks [][]ethAction
	// avail is what a payer may still spend, planned: income less
	// planned payments less a gas allowance, keeping a reserve.
	avail map[common.Address]*big.Int
	tok   map[common.Address]*big.Int // token balances, as executed
	// topped marks deposit addresses given gas for a token sweep.
	topped map[common.Address]bool
	sweeps map[common.Address]int

	token     common.Address
	hot       [][]*ethKey
	employers []*ethKey
	shops     []*ethKey
	buyers    []*ethKey
	customers []*ethCustomer
	issuer    *ethKey
}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
func milli(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e15)) }

var (
	ethGasAllowance = milli(2)        // planned per payment; a transfer costs about 0.00002 ETH here
	ethReserve      = ether(1)        // what an ordinary personal address keeps
	ethTokenGas     = uint64(200_000) // a token transfer to a new holder uses about 146,000 on these fork rules
)

// PlayETH plays the scenario on n, which must have been started with the
// scenario's funded keys (RunETH does), and returns the truth.
func PlayETH(n *devchain.Node, opts ETHOptions) (*ETHTruth, error) {
	opts.defaults()
	return playETH(n, opts)
}

// playETH is PlayETH with the defaults applied (applying them twice would
// turn a negative count, none, into the default).
func playETH(n *devchain.Node, opts ETHOptions) (*ETHTruth, error) {
	g := &ethGen{n: n, opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, 0x6574682d6c6162)), signer: n.Signer(),
		truth:  &ETHTruth{Addrs: map[string]*ETHAddr{}, Planted: map[string]int{}},
		avail:  map[common.Address]*big.Int{},
		tok:    map[common.Address]*big.Int{},
		topped: map[common.Address]bool{},
		sweeps: map[common.Address]int{},
	}
	g.issuer = g.addr("issuer", "issuer", ethKindIssuer)
	supply := new(big.Int).Lsh(big.NewInt(1), 200)
	token, err := n.Deploy(g.issuer.key, contracts.ERC20(supply), nil)
	if err != nil {
		return nil, fmt.Errorf("deploying the token: %w", err)
	}
	g.token = token
	g.tok[g.issuer.a] = supply
	g.truth.Token = token.Hex()
	g.first = n.Head() + 1
	if err := g.plan(); err != nil {
		return nil, err
	}
	var genErr error
	err = n.Generate(len(g.blocks), func(i int, b *core.BlockGen) {
		for j := 0; j < len(g.blocks[i]) && genErr == nil; j++ {
			genErr = g.blocks[i][j](b)
		}
	})
	if err == nil {
		err = genErr
	}
	if err != nil {
		return nil, err
	}
	g.truth.From, g.truth.To = g.first, n.Head()
	if want := g.first + uint64(len(g.blocks)) - 1; g.truth.To != want {
		return nil, fmt.Errorf("head is %d after generating blocks %d-%d", g.truth.To, g.first, want)
	}
	for _, x := range g.truth.Addrs {
		g.truth.Planted[x.Kind]++
	}
	return g.truth, nil
}

// addr makes a scenario address and records its truth.
func (g *ethGen) addr(name, owner, kind string) *ethKey {
	key := devchain.Key(ethKeyName(g.opts.Seed, name))
	k := &ethKey{key: key, a: devchain.Addr(ethKeyName(g.opts.Seed, name))}
	k.hex = k.a.Hex()
	g.truth.Addrs[k.hex] = &ETHAddr{Address: k.hex, Owner: owner, Kind: kind}
	return k
}

func (g *ethGen) at(block int, act ethAction) {
	g.blocks[block] = append(g.blocks[block], act)
}

// price is the gas price of every transaction: legacy transactions, so
// that a transfer costs exactly 21,000 × price and an address can be
// emptied to the wei.
func (g *ethGen) price(b *core.BlockGen) *big.Int {
	p := new(big.Int).Mul(b.BaseFee(), big.NewInt(2))
	return p.Add(p, devchain.GasTipCap)
}

func (g *ethGen) send(b *core.BlockGen, from *ethKey, to common.Address, value *big.Int, data []byte, gas uint64) (string, error) {
	tx, err := types.SignNewTx(from.key, g.signer, &types.LegacyTx{Nonce: b.TxNonce(from.a), GasPrice: g.price(b),
		Gas: gas, To: &to, Value: value, Data: data})
	if err != nil {
		return "", err
	}
	b.AddTx(tx)
	g.truth.Txs++
	return tx.Hash().Hex(), nil
}

// pay sends value ether now.
func (g *ethGen) pay(b *core.BlockGen, from, to *ethKey, value *big.Int, what string) error {
	if value.Sign() <= 0 {
		return fmt.Errorf("%s of %s wei from %s", what, value, from.hex)
	}
	h, err := g.send(b, from, to.a, value, nil, 21_000)
	if err != nil {
		return err
	}
	g.truth.Moves = append(g.truth.Moves, ETHMove{Block: b.Number().Uint64(), TxHash: h, From: from.hex, To: to.hex,
		Asset: chains.AssetETH, Amount: new(big.Int).Set(value), What: what})
	return nil
}

// payToken sends amount tokens now.
func (g *ethGen) payToken(b *core.BlockGen, from, to *ethKey, amount *big.Int, what string) error {
	have := g.tok[from.a]
	if have == nil || have.Cmp(amount) < 0 || amount.Sign() <= 0 {
		return fmt.Errorf("%s of %s tokens from %s, which holds %v", what, amount, from.hex, have)
	}
	h, err := g.send(b, from, g.token, nil, contracts.ERC20Transfer(to.a, amount), ethTokenGas)
	if err != nil {
		return err
	}
	have.Sub(have, amount)
	if g.tok[to.a] == nil {
		g.tok[to.a] = new(big.Int)
	}
	g.tok[to.a].Add(g.tok[to.a], amount)
	g.truth.Moves = append(g.truth.Moves, ETHMove{Block: b.Number().Uint64(), TxHash: h, From: from.hex, To: to.hex,
		Asset: g.token.Hex(), Amount: new(big.Int).Set(amount), What: what})
	return nil
}

// emptyInto sends from's whole balance, less the fee, to to.
func (g *ethGen) emptyInto(b *core.BlockGen, from, to *ethKey, what string) error {
	v := new(big.Int).Sub(b.GetBalance(from.a).ToBig(), new(big.Int).Mul(g.price(b), big.NewInt(21_000)))
	return g.pay(b, from, to, v, what)
}

// planPay plans a payment of value at block; it reports false (and plans
// nothing) when the payer's planned funds do not cover it.
func (g *ethGen) planPay(block int, from, to *ethKey, value *big.Int, what string) bool {
	if av := g.avail[from.a]; av != nil {
		need := new(big.Int).Add(value, ethGasAllowance)
		if av.Cmp(need) < 0 {
			return false
		}
		av.Sub(av, need)
	}
	g.at(block, func(b *core.BlockGen) error { return g.pay(b, from, to, value, what) })
	return true
}

// income plans a payment that funds a personal address, which may then
// spend it less its reserve.
func (g *ethGen) income(block int, from, to *ethKey, value *big.Int, what string, reserve *big.Int) {
	g.at(block, func(b *core.BlockGen) error { return g.pay(b, from, to, value, what) })
	if g.avail[to.a] == nil {
		g.avail[to.a] = new(big.Int)
	}
	g.avail[to.a].Add(g.avail[to.a], new(big.Int).Sub(value, reserve))
}

// share is a random amount between lo and hi thousandths of what from may
// still spend, at least 0.05 ETH, with random wei.
func (g *ethGen) share(from *ethKey, lo, hi int64) *big.Int {
	av := g.avail[from.a]
	if av == nil || av.Sign() <= 0 {
		return milli(50)
	}
	v := new(big.Int).Mul(av, big.NewInt(lo+g.rng.Int64N(hi-lo+1)))
	v.Div(v, big.NewInt(1000))
	v.Add(v, big.NewInt(g.rng.Int64N(1e12)))
	if v.Cmp(milli(50)) < 0 {
		v = milli(50)
	}
	return v
}

func (g *ethGen) hotWallet(e int) *ethKey { return g.hot[e][g.rng.IntN(len(g.hot[e]))] }

func (g *ethGen) exchangeName(e int) string { return "Exchange " + string(rune('A'+e)) }

// plan builds the entities and schedules every action.
func (g *ethGen) plan() error {
	o := g.opts
	w := o.Deposit.WithinBlocks
	sweepDelay := int(min(max(w/3, 1), 30))
	g.truth.SweepWithin = sweepDelay + 1 // a token sweep takes a block more (the exchange pays its gas first)
	const fund = 2                       // funding blocks
	act := fund + o.Blocks
	end := act + sweepDelay + 2 // every sweep of the activity lands before end
	total := end
	lateAt := -1
	if o.LateSweeps > 0 {
		// Late deposits arrive in the first three activity blocks; their
		// sweep comes more than w blocks after.
		lateAt = max(end, fund+3+int(w)+1)
		total = lateAt + 1
		g.truth.GapBlocks = lateAt - end
	}
	pendingAt := -1
	if o.Pending > 0 {
		pendingAt = total
		total++
	}
	g.blocks = make([][]ethAction, total)

	for e := range o.Exchanges {
		name := g.exchangeName(e)
		g.truth.Exchanges = append(g.truth.Exchanges, name)
		var ws []*ethKey
		for i := range ethHotWallets(e) {
			k := g.addr(fmt.Sprintf("exchange-%d-hot-%d", e, i), "exchange:"+name, ethKindHotWallet)
			g.truth.Addrs[k.hex].Exchange = name
			ws = append(ws, k)
		}
		g.hot = append(g.hot, ws)
	}
	for i := range ethEmployers(o) {
		g.employers = append(g.employers, g.addr(fmt.Sprintf("employer-%d", i), fmt.Sprintf("employer:%d", i), ethKindEmployer))
	}
	for i := range max(2, o.Customers/10) {
		g.shops = append(g.shops, g.addr(fmt.Sprintf("shop-%d", i), fmt.Sprintf("shop:%d", i), ethKindShop))
	}
	// wage funds an address from an employer or by a withdrawal from an
	// exchange.
	wage := func(to *ethKey, lo, hi int64, reserve *big.Int) {
		v := new(big.Int).Add(ether(lo+g.rng.Int64N(hi-lo+1)), big.NewInt(g.rng.Int64N(1e15)))
		if g.rng.IntN(10) < 7 {
			g.income(g.rng.IntN(fund), g.employers[g.rng.IntN(len(g.employers))], to, v, "wage", reserve)
		} else {
			g.income(g.rng.IntN(fund), g.hotWallet(g.rng.IntN(o.Exchanges)), to, v, "withdrawal", reserve)
		}
	}
	actBlock := func() int { return fund + g.rng.IntN(o.Blocks) }
	var regular []*ethDeposit // deposit addresses open to third parties and last deposits
	for c := range o.Customers {
		cu := &ethCustomer{id: c}
		owner := fmt.Sprintf("customer:%d", c)
		n := 1
		if r := g.rng.IntN(10); r >= 5 {
			n = 2 + r/8 // 30% two, 20% three
		}
		for i := range n {
			k := g.addr(fmt.Sprintf("customer-%d-personal-%d", c, i), owner, ethKindPersonal)
			cu.personal = append(cu.personal, k)
			wage(k, 20, 120, ethReserve)
		}
		used := 1
		if r := g.rng.IntN(100); r >= 65 {
			used = 2
			if r >= 93 {
				used = 3
			}
		}
		for _, e := range g.rng.Perm(o.Exchanges)[:min(used, o.Exchanges)] {
			name := g.exchangeName(e)
			k := g.addr(fmt.Sprintf("customer-%d-deposit-%d", c, e), "exchange:"+name, ethKindDeposit)
			x := g.truth.Addrs[k.hex]
			x.Deposit, x.Exchange = true, name
			d := &ethDeposit{k: k, exchange: e, customer: cu, dust: g.rng.IntN(10) < 4}
			x.Dust = d.dust
			cu.deposits = append(cu.deposits, d)
		}
		g.customers = append(g.customers, cu)
	}
	// Late sweeps and pending deposits, on distinct deposit addresses.
	var all []*ethDeposit
	for _, cu := range g.customers {
		all = append(all, cu.deposits...)
	}
	order := g.rng.Perm(len(all))
	pick := 0
	for range min(o.LateSweeps, len(all)/4) {
		d := all[order[pick]]
		pick++
		d.late = true
		g.truth.Addrs[d.k.hex].Kind = ethKindLate
	}
	for range min(o.Pending, len(all)/4) {
		d := all[order[pick]]
		pick++
		d.pending = true
		g.truth.Addrs[d.k.hex].Kind = ethKindPending
	}
	for _, d := range all {
		if !d.late {
			regular = append(regular, d)
		}
	}

	// Customers' deposits, each swept within sweepDelay blocks.
	for _, cu := range g.customers {
		for _, d := range cu.deposits {
			n := 1 + g.rng.IntN(4)
			for range n {
				payer := cu.personal[g.rng.IntN(len(cu.personal))]
				t := actBlock()
				if d.late {
					t = fund + g.rng.IntN(3)
				}
				if !g.planPay(t, payer, d.k, g.share(payer, 50, 250), "deposit") {
					continue
				}
				if d.late {
					continue
				}
				g.planSweep(t+1+g.rng.IntN(sweepDelay), d)
			}
			if d.late {
				g.planSweep(lateAt, d)
			}
			if d.pending {
				payer := cu.personal[g.rng.IntN(len(cu.personal))]
				if !g.planPay(pendingAt, payer, d.k, g.share(payer, 50, 200), "deposit") {
					d.pending = false
					g.truth.Addrs[d.k.hex].Kind = ethKindDeposit
				}
			}
		}
	}
	// ERC-20 deposits: the issuer grants tokens, the customer deposits
	// them, the exchange pays the deposit address's gas and sweeps.
	for _, c := range g.rng.Perm(len(g.customers))[:min(o.TokenCustomers, len(g.customers))] {
		cu := g.customers[c]
		var ds []*ethDeposit
		for _, d := range cu.deposits {
			if !d.late && !d.pending {
				ds = append(ds, d)
			}
		}
		if len(ds) == 0 {
			continue
		}
		holder := cu.personal[0]
		grant := new(big.Int).Mul(big.NewInt(1000+g.rng.Int64N(99_000)), big.NewInt(1e18))
		g.at(g.rng.IntN(fund), func(b *core.BlockGen) error { return g.payToken(b, g.issuer, holder, grant, "token grant") })
		d := ds[g.rng.IntN(len(ds))]
		d.token = true
		left := new(big.Int).Set(grant)
		for i := range 1 + g.rng.IntN(2) {
			amt := new(big.Int).Div(new(big.Int).Mul(left, big.NewInt(int64(300+g.rng.IntN(500)))), big.NewInt(1000))
			if i == 1 {
				amt.Set(left) // the second deposit takes the rest
			}
			left.Sub(left, amt)
			t := actBlock()
			g.at(t, func(b *core.BlockGen) error { return g.payToken(b, holder, d.k, amt, "token deposit") })
			if av := g.avail[holder.a]; av != nil {
				av.Sub(av, ethGasAllowance)
			}
			g.planSweep(t+1+g.rng.IntN(sweepDelay), d)
		}
	}
	// Third parties paying into customers' deposit addresses: outside
	// buyers, or other customers.
	if o.ThirdPartyPayments > 0 {
		for i := range max(1, o.ThirdPartyPayments/2) {
			k := g.addr(fmt.Sprintf("buyer-%d", i), fmt.Sprintf("buyer:%d", i), ethKindBuyer)
			wage(k, 5, 30, new(big.Int))
			g.buyers = append(g.buyers, k)
		}
	}
	for range o.ThirdPartyPayments {
		d := regular[g.rng.IntN(len(regular))]
		var payer *ethKey
		if g.rng.IntN(2) == 0 {
			payer = g.buyers[g.rng.IntN(len(g.buyers))]
		} else {
			cu := g.customers[g.rng.IntN(len(g.customers))]
			if cu == d.customer {
				cu = g.customers[(cu.id+1)%len(g.customers)]
			}
			payer = cu.personal[g.rng.IntN(len(cu.personal))]
		}
		t := actBlock()
		if g.planPay(t, payer, d.k, g.share(payer, 50, 300), "third party") {
			g.planSweep(t+1+g.rng.IntN(sweepDelay), d)
		}
	}
	// Personal addresses paying an exchange directly, keeping a balance.
	var people []*ethKey
	for _, cu := range g.customers {
		people = append(people, cu.personal...)
	}
	for _, i := range g.rng.Perm(len(people))[:min(o.DirectPayers, len(people))] {
		k := people[i]
		paid := false
		for range 1 + g.rng.IntN(2) {
			paid = g.planPay(actBlock(), k, g.hotWallet(g.rng.IntN(o.Exchanges)), g.share(k, 50, 300), "direct") || paid
		}
		if paid {
			g.truth.Addrs[k.hex].Kind = ethKindDirect
		}
	}
	// Personal addresses that empty themselves: each a customer's extra
	// address funded once, by one payer.
	extra := func(i int, tag, kind string) (*ethKey, *ethCustomer) {
		cu := g.customers[g.rng.IntN(len(g.customers))]
		k := g.addr(fmt.Sprintf("customer-%d-%s-%d", cu.id, tag, i), fmt.Sprintf("customer:%d", cu.id), kind)
		wage(k, 2, 40, new(big.Int))
		return k, cu
	}
	lastAct := fund + o.Blocks - 4
	emptyAt := func() int { return fund + g.rng.IntN(lastAct-fund) }
	for i := range o.SelfEmptying {
		k, _ := extra(i, "emptying", ethKindSelfEmpty)
		e := g.rng.IntN(o.Exchanges)
		t := emptyAt()
		if g.rng.IntN(2) == 0 { // in two steps
			part := new(big.Int).Add(ether(1), big.NewInt(g.rng.Int64N(1e15)))
			g.at(t, func(b *core.BlockGen) error { return g.pay(b, k, g.hotWallet(e), part, "empty") })
			t += 1 + g.rng.IntN(3)
		}
		g.at(t, func(b *core.BlockGen) error { return g.emptyInto(b, k, g.hotWallet(e), "empty") })
	}
	for i := range o.SplitPayers {
		k, cu := extra(i, "splitting", ethKindSplit)
		e := g.rng.IntN(o.Exchanges)
		other := g.shops[g.rng.IntN(len(g.shops))]
		if g.rng.IntN(2) == 0 {
			oc := g.customers[(cu.id+1+g.rng.IntN(len(g.customers)-1))%len(g.customers)]
			other = oc.personal[0]
		}
		t := emptyAt()
		part := new(big.Int).Add(milli(200+g.rng.Int64N(800)), big.NewInt(g.rng.Int64N(1e15)))
		g.at(t, func(b *core.BlockGen) error { return g.pay(b, k, other, part, "empty") })
		g.at(t+1+g.rng.IntN(3), func(b *core.BlockGen) error { return g.emptyInto(b, k, g.hotWallet(e), "empty") })
	}
	for i := range o.TwoExchanges {
		k, _ := extra(i, "two-exchanges", ethKindTwoEx)
		es := g.rng.Perm(o.Exchanges)
		t := emptyAt()
		part := new(big.Int).Add(ether(1), big.NewInt(g.rng.Int64N(1e15)))
		g.at(t, func(b *core.BlockGen) error { return g.pay(b, k, g.hotWallet(es[0]), part, "empty") })
		g.at(t+1+g.rng.IntN(3), func(b *core.BlockGen) error { return g.emptyInto(b, k, g.hotWallet(es[1]), "empty") })
	}
	// Unrelated payments: people paying shops and each other, employers
	// paying shops.
	for range o.Noise {
		var from *ethKey
		if g.rng.IntN(5) == 0 {
			from = g.employers[g.rng.IntN(len(g.employers))]
		} else {
			from = people[g.rng.IntN(len(people))]
		}
		to := g.shops[g.rng.IntN(len(g.shops))]
		if g.rng.IntN(3) == 0 {
			to = people[g.rng.IntN(len(people))]
		}
		if to == from {
			continue
		}
		g.planPay(actBlock(), from, to, g.share(from, 5, 60), "noise")
	}
	return nil
}

// planSweep sweeps d into its exchange at block t: its tokens (the
// exchange first pays the gas, the sweep follows a block later), then its
// ether, less the fee and, for a dusty address, a remainder below 0.01
// ETH. A sweep that finds nothing worth moving does nothing.
func (g *ethGen) planSweep(t int, d *ethDeposit) {
	g.at(t, func(b *core.BlockGen) error {
		if tok := g.tok[d.k.a]; tok != nil && tok.Sign() > 0 && !g.topped[d.k.a] && t+1 < len(g.blocks) {
			gas := new(big.Int).Mul(g.price(b), big.NewInt(int64(3*ethTokenGas)))
			if err := g.pay(b, g.hot[d.exchange][0], d.k, gas, "gas"); err != nil {
				return err
			}
			g.topped[d.k.a] = true
			g.at(t+1, func(b *core.BlockGen) error { return g.sweep(b, d) })
			return nil
		}
		return g.sweep(b, d)
	})
}

func (g *ethGen) sweep(b *core.BlockGen, d *ethDeposit) error {
	hot := g.hotWallet(d.exchange)
	swept := false
	if tok := g.tok[d.k.a]; tok != nil && tok.Sign() > 0 && g.topped[d.k.a] {
		if err := g.payToken(b, d.k, hot, new(big.Int).Set(tok), "sweep"); err != nil {
			return err
		}
		g.topped[d.k.a] = false
		swept = true
	}
	fee := new(big.Int).Mul(g.price(b), big.NewInt(21_000))
	v := new(big.Int).Sub(b.GetBalance(d.k.a).ToBig(), fee)
	if d.dust {
		v.Sub(v, big.NewInt(1e12+g.rng.Int64N(4e15)))
	}
	if v.Cmp(milli(10)) > 0 {
		if err := g.pay(b, d.k, hot, v, "sweep"); err != nil {
			return err
		}
		swept = true
	}
	if swept {
		g.sweeps[d.k.a]++
	}
	return nil
}

// describeETH is the scenario paragraph of the report.
func describeETH(opts ETHOptions, t *ETHTruth) string {
	moves := map[string]int{}
	depositPayers := map[string]map[string]bool{} // deposit address -> its customer's addresses that paid it
	sweeps := map[string]map[string]bool{}        // deposit address -> its sweep transactions
	tokenDeposits := map[string]bool{}
	thirdByBuyer, buyersPaying := 0, map[string]bool{}
	for _, m := range t.Moves {
		moves[m.What]++
		switch m.What {
		case "deposit", "token deposit":
			if depositPayers[m.To] == nil {
				depositPayers[m.To] = map[string]bool{}
			}
			depositPayers[m.To][m.From] = true
			if m.What == "token deposit" {
				tokenDeposits[m.To] = true
			}
		case "sweep":
			if sweeps[m.From] == nil {
				sweeps[m.From] = map[string]bool{}
			}
			sweeps[m.From][m.TxHash] = true
		case "third party":
			if t.Addrs[m.From].Kind == ethKindBuyer {
				thirdByBuyer++
				buyersPaying[m.From] = true
			}
		}
	}
	personal, deposits, multiSwept, merged, dusty := 0, 0, 0, 0, 0
	owners := map[string]bool{}
	for _, a := range t.sortedAddrs() {
		x := t.Addrs[a]
		if x.Deposit {
			deposits++
			if len(sweeps[a]) > 1 {
				multiSwept++
			}
			if len(depositPayers[a]) > 1 {
				merged++
			}
			if x.Dust && len(sweeps[a]) > 0 {
				dusty++
			}
		}
		if strings.HasPrefix(x.Owner, "customer:") && !x.Deposit {
			personal++
			owners[x.Owner] = true
		}
	}
	n := func(k string) string { return ethPhrase(t.Planted[k], k, nil) }
	gap := ""
	if t.GapBlocks > 0 {
		gap = fmt.Sprintf(", %d of them empty so that the late sweeps fall beyond the heuristic's window", t.GapBlocks)
	}
	return fmt.Sprintf("in-process geth, blocks %d-%d (%d blocks%s), seed %d, heuristic window %d blocks. "+
		"%d exchanges with %s (one exchange sweeps into two wallets under one label); "+
		"%d customers with %s, funded by the wages of %d employers and by exchange withdrawals; "+
		"%d exchange deposit addresses, one per customer per exchange used, receiving %d ether and %d ERC-20 deposits "+
		"(%d addresses took tokens; the exchange pays their sweep gas) and swept to the exchange within %d blocks: "+
		"%d swept more than once, %d left with dust below 0.01 ETH, %d paid by two or more of one customer's addresses; "+
		"%d transactions, %d transfers. Traps: %s; %s; %d third-party payments into customers' deposit addresses "+
		"(a buyer paying a merchant's exchange account), %d by %s and %d by other customers; %s; %s; %s; %s; "+
		"and %d unrelated payments to %s and between people.",
		t.From, t.To, t.To-t.From+1, gap, opts.Seed, opts.Deposit.WithinBlocks,
		len(t.Exchanges), n(ethKindHotWallet),
		len(owners), ethPhrase(personal, ethKindPersonal, nil), t.Planted[ethKindEmployer],
		deposits, moves["deposit"], moves["token deposit"], len(tokenDeposits), t.SweepWithin,
		multiSwept, dusty, merged,
		t.Txs, len(t.Moves), n(ethKindLate), n(ethKindPending), moves["third party"], thirdByBuyer, ethPhrase(len(buyersPaying), ethKindBuyer, nil),
		moves["third party"]-thirdByBuyer, n(ethKindDirect), n(ethKindSelfEmpty), n(ethKindSplit), n(ethKindTwoEx),
		moves["noise"], n(ethKindShop))
}
