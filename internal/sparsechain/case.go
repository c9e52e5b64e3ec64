// Package sparsechain serves, over JSON-RPC, a synthetic Ethereum chain of a
// million mostly empty blocks with a generated laundering case spread over
// the whole range: the setting of the long-window history benchmark
// (trace_filter against the block scan). The server answers what the
// Ethereum adapter and the history sources ask: blocks with full
// transactions, block receipts, callTracer traces, trace_filter with
// Erigon's rules, eth_getLogs (range limit only: the case has no token
// transfers), eth_getBalance at any block from a ledger of the case, and the
// capability probes. It adds a fixed delay per HTTP request and counts
// requests and calls per method.
package sparsechain

import (
	"fmt"
	"math/big"
	"math/rand"
	"sort"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Constants of the chain and of every case transaction.
const (
	ChainID       = 1337
	ClientVersion = "chaintrace-sparsechain/1"
	DefaultBlocks = 1_000_000
	RangeLimit    = 1000 // Erigon's --rpc.blockrange.limit
	GasUsed       = 21000
	GasPriceWei   = 1_000_000_000 // effective gas price, 1 gwei
	GenesisTime   = 1_700_000_000
	BlockTime     = 12
)

// Fee is what every case transaction costs its sender: 21000 gas at 1 gwei.
var Fee = big.NewInt(GasUsed * GasPriceWei)

// Transfer is one case transaction: a plain value transfer, alone in its
// block, at transaction index 0.
type Transfer struct {
	Block    uint64
	Hash     common.Hash
	From, To common.Address
	Value    *big.Int
	Hop      int // the recipient's hop from the seed (the drain is 0)
}

// Label is a labelled exchange address.
type Label struct {
	Address  common.Address
	Label    string
	Category string
}

// Case is the generated laundering case.
type Case struct {
	Source common.Address // the victim, funded at genesis with Alloc
	Alloc  *big.Int
	Seed   common.Address // receives the drain from Source
	// Transfers in chain order, the drain first.
	Transfers []Transfer
	Labels    []Label
	// Endpoints is what each exchange received from the case, in wei.
	Endpoints map[common.Address]*big.Int
	// Controlled are the launderer's addresses: the seed and every address
	// the funds pass through before an exchange.
	Controlled  []common.Address
	First, Last uint64 // blocks of the drain and of the last transfer
	MaxHop      int    // the deepest exchange deposit's hop
}

func addr(name string) common.Address {
	return common.BytesToAddress(crypto.Keccak256([]byte("sparsechain-address/" + name))[12:])
}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// genCase builds the case over blocks 1..blocks: a drain of 10,000 ether to
// the seed, a fan-out to 20 addresses, each to 10 more; six of those start
// peel chains (the deepest reaching an exchange at hop 15), the others
// deposit everything at one of four exchanges. Every address spends all it
// received (fees included), so no balance is left behind.
func genCase(blocks uint64, seed int64) (*Case, error) {
	rng := rand.New(rand.NewSource(seed))
	c := &Case{Source: addr("victim"), Alloc: ether(100_000), Seed: addr("seed"), Endpoints: map[common.Address]*big.Int{}}
	exchanges := []string{"Binance", "Kraken", "Coinbase", "OKX"}
	for i, name := range exchanges {
		c.Labels = append(c.Labels, Label{Address: addr("exchange/" + name), Label: name + " deposit " + fmt.Sprint(i+1), Category: "exchange"})
	}
	type xfer struct {
		from, to common.Address
		value    *big.Int
		hop      int
	}
	var list []xfer
	// spend sends what `from` received, less a fee per transfer, in parts
	// of the given weights; the last part takes the remainder.
	split := func(total *big.Int, parts int) []*big.Int {
		avail := new(big.Int).Sub(total, new(big.Int).Mul(Fee, big.NewInt(int64(parts))))
		out := make([]*big.Int, parts)
		rest := new(big.Int).Set(avail)
		w := make([]int64, parts)
		var sum int64
		for i := range w {
			w[i] = int64(50 + rng.Intn(101)) // 50%..150% of an even share
			sum += w[i]
		}
		for i := 0; i < parts-1; i++ {
			share := new(big.Int).Mul(avail, big.NewInt(w[i]))
			share.Div(share, big.NewInt(sum*1e9)) // whole gwei
			share.Mul(share, big.NewInt(1e9))
			out[i] = share
			rest.Sub(rest, share)
		}
		out[parts-1] = rest
		return out
	}
	exchange := func() common.Address { return c.Labels[rng.Intn(len(c.Labels))].Address }
	drain := ether(10_000)
	list = append(list, xfer{c.Source, c.Seed, drain, 0})
	c.Controlled = append(c.Controlled, c.Seed)
	// level 1 and 2
	type holder struct {
		a   common.Address
		amt *big.Int
		hop int
	}
	var level1 []holder
	for i, v := range split(drain, 20) {
		a := addr(fmt.Sprintf("fan1/%d", i))
		list = append(list, xfer{c.Seed, a, v, 1})
		level1 = append(level1, holder{a, v, 1})
		c.Controlled = append(c.Controlled, a)
	}
	var level2 []holder
	for i, h := range level1 {
		for j, v := range split(h.amt, 10) {
			a := addr(fmt.Sprintf("fan2/%d/%d", i, j))
			list = append(list, xfer{h.a, a, v, 2})
			level2 = append(level2, holder{a, v, 2})
			c.Controlled = append(c.Controlled, a)
		}
	}
	// Peel chains from six of the level-2 holders; lengths in
	// intermediaries after the holder: 12 gives a deposit at hop 15.
	peels := map[int]int{3: 12, 41: 10, 77: 8, 110: 6, 150: 4, 199: 3}
	for i, h := range level2 {
		n, ok := peels[i]
		if !ok {
			list = append(list, xfer{h.a, exchange(), new(big.Int).Sub(h.amt, Fee), 3})
			continue
		}
		cur := h
		for k := 1; k <= n; k++ {
			next := addr(fmt.Sprintf("peel/%d/%d", i, k))
			c.Controlled = append(c.Controlled, next)
			if k == 1 {
				// the holder passes everything on
				v := new(big.Int).Sub(cur.amt, Fee)
				list = append(list, xfer{cur.a, next, v, cur.hop + 1})
				cur = holder{next, v, cur.hop + 1}
				continue
			}
			// peel 3% to an exchange, the rest on
			peel := new(big.Int).Div(new(big.Int).Mul(cur.amt, big.NewInt(3)), big.NewInt(100))
			list = append(list, xfer{cur.a, exchange(), peel, cur.hop + 1})
			v := new(big.Int).Sub(cur.amt, peel)
			v.Sub(v, new(big.Int).Mul(Fee, big.NewInt(2)))
			list = append(list, xfer{cur.a, next, v, cur.hop + 1})
			cur = holder{next, v, cur.hop + 1}
		}
		list = append(list, xfer{cur.a, exchange(), new(big.Int).Sub(cur.amt, Fee), cur.hop + 1})
	}
	// One block per transfer, stratified over 1..blocks in list order
	// (which is causal: an address receives before it sends).
	n := uint64(len(list))
	if blocks < 2*n {
		return nil, fmt.Errorf("sparsechain: %d blocks cannot hold a case of %d transfers (want at least %d)", blocks, n, 2*n)
	}
	step := blocks / n
	for i, x := range list {
		b := 1 + uint64(i)*step + uint64(rng.Int63n(int64(step)))
		t := Transfer{Block: b, Hash: txHash(b), From: x.from, To: x.to, Value: x.value, Hop: x.hop}
		c.Transfers = append(c.Transfers, t)
		if isLabel(c, x.to) {
			if c.Endpoints[x.to] == nil {
				c.Endpoints[x.to] = new(big.Int)
			}
			c.Endpoints[x.to].Add(c.Endpoints[x.to], x.value)
			c.MaxHop = max(c.MaxHop, x.hop)
		}
	}
	c.First, c.Last = c.Transfers[0].Block, c.Transfers[len(c.Transfers)-1].Block
	for _, t := range c.Transfers {
		if t.Value.Sign() <= 0 {
			return nil, fmt.Errorf("sparsechain: generated a transfer of %s wei", t.Value)
		}
	}
	sort.Slice(c.Controlled, func(i, j int) bool { return c.Controlled[i].Cmp(c.Controlled[j]) < 0 })
	return c, nil
}

func isLabel(c *Case, a common.Address) bool {
	for _, l := range c.Labels {
		if l.Address == a {
			return true
		}
	}
	return false
}

// BlockHash is block n's hash: keccak256("sparse" + n in decimal).
func BlockHash(n uint64) common.Hash {
	return crypto.Keccak256Hash([]byte(fmt.Sprintf("sparse%d", n)))
}

func txHash(n uint64) common.Hash {
	return crypto.Keccak256Hash([]byte(fmt.Sprintf("sparse-tx%d", n)))
}
