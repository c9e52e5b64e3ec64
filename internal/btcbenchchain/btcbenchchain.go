// Package btcbenchchain fills a real btcd (internal/btcnode) with a large
// chain of mixed Bitcoin payments for benchmarks: peel chains whose hops
// spend the change of the hop before in the same block, fan-outs,
// consolidations of several inputs, and plain payments with change; P2PKH
// and P2WPKH outputs; inputs from outputs of earlier blocks (picked at
// random from a pool of a few hundred coins, so a block spends from many
// earlier transactions) and of the same block. The mix is deterministic for
// a given size.
//
// Transactions are planned and signed here (btcnode's SignTx), never by a
// wallet: a block's transactions go to the node in one JSON-RPC batch of
// sendrawtransaction calls that ends with generate, while the next block is
// being signed.
package btcbenchchain

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/internal/btcnode"
)

// Tunables of the generated traffic.
const (
	// PoolCoins is the number of coins funded before the first generated
	// block, and about the number of unspent coins the traffic keeps.
	PoolCoins = 400
	// Keys is the number of scripted keys that own the coins.
	Keys = 2000
	// MinOutput is the smallest output (satoshi) the traffic creates.
	MinOutput = 20_000
	// FeeRate is the fee rate (sat/vbyte, of an estimated size) every
	// transaction pays; btcd relays from 1.
	FeeRate = 3
)

// Signer builds and signs a transaction (btcnode.Node.SignTx).
type Signer func(from []btcnode.Coin, outs []btcnode.Output, fee int64) (*wire.MsgTx, error)

// Stats count what the planner made.
type Stats struct {
	Txs            int // transactions (coinbases not counted)
	Inputs         int
	Outputs        int
	P2PKH, P2WPKH  int // outputs by script type
	PeelHops       int // transactions of peel chains
	FanOuts        int
	Consolidations int
	Payments       int
	SameBlock      int // inputs spending an output of the same block
	EarlierBlock   int // inputs spending an output of an earlier block
}

// Planner plans and signs the traffic, block by block. It is not safe for
// concurrent use.
type Planner struct {
	rng     *rand.Rand
	sign    Signer
	pool    []btcnode.Coin // confirmed coins
	fresh   []btcnode.Coin // outputs of the block being planned
	txs     []*wire.MsgTx
	inBlock map[chainhash.Hash]bool // txids of txs
	target  int                     // pool size the mix steers towards
	Stats   Stats
}

// NewPlanner starts a planner on the funded coins.
func NewPlanner(coins []btcnode.Coin, sign Signer, seed uint64) *Planner {
	return &Planner{
		rng:    rand.New(rand.NewPCG(seed, 0x6274636265)),
		sign:   sign,
		pool:   append([]btcnode.Coin(nil), coins...),
		target: max(len(coins), 16),
	}
}

// FundingOutputs are the outputs that fund a planner: PoolCoins coins of
// 0.2 to 2 BTC to the scripted keys.
func FundingOutputs(seed uint64) []btcnode.Output {
	rng := rand.New(rand.NewPCG(seed, 0x66756e64))
	outs := make([]btcnode.Output, PoolCoins)
	for i := range outs {
		outs[i] = btcnode.To(keyName(rng.IntN(Keys)), scriptType(rng), 20_000_000+rng.Int64N(180_000_001))
	}
	return outs
}

func keyName(i int) string { return fmt.Sprintf("bench-%d", i) }

func scriptType(rng *rand.Rand) btcnode.ScriptType {
	if rng.IntN(5) < 2 {
		return btcnode.P2PKH
	}
	return btcnode.P2WPKH
}

// Block plans and signs n transactions for the next block, in an order the
// node accepts (a transaction after those it spends from).
func (p *Planner) Block(n int) ([]*wire.MsgTx, error) {
	p.txs, p.fresh = nil, nil
	p.inBlock = map[chainhash.Hash]bool{}
	for len(p.txs) < n {
		if err := p.next(n - len(p.txs)); err != nil {
			return nil, err
		}
	}
	p.pool = append(p.pool, p.fresh...)
	p.fresh = nil
	return p.txs, nil
}

// next plans one kind of transaction (a peel chain: up to left hops).
func (p *Planner) next(left int) error {
	peel, fan, cons := 25, 20, 20 // the rest of 100: payments
	switch {
	case len(p.pool) < p.target/2:
		fan, cons = 40, 5
	case len(p.pool) > p.target*2:
		fan, cons = 5, 40
	}
	if len(p.pool) < 8 {
		fan, cons = 60, 0
	}
	r := p.rng.IntN(100)
	switch {
	case r < peel:
		return p.peelChain(1 + p.rng.IntN(min(left, 4)))
	case r < peel+fan:
		return p.fanOut()
	case r < peel+fan+cons:
		return p.consolidate()
	default:
		return p.payment()
	}
}

// take removes a random coin from the pool, or from this block's outputs
// with probability sameBlock (when there are any).
func (p *Planner) take(sameBlock int) (btcnode.Coin, error) {
	if len(p.fresh) > 0 && (p.rng.IntN(100) < sameBlock || len(p.pool) == 0) {
		return removeAt(&p.fresh, p.rng.IntN(len(p.fresh))), nil
	}
	if len(p.pool) == 0 {
		return btcnode.Coin{}, errors.New("btcbenchchain: no coin left to spend")
	}
	return removeAt(&p.pool, p.rng.IntN(len(p.pool))), nil
}

// takeLarge removes the largest of a few random pool coins.
func (p *Planner) takeLarge() (btcnode.Coin, error) {
	if len(p.pool) == 0 {
		return p.take(100)
	}
	best := p.rng.IntN(len(p.pool))
	for range 5 {
		if i := p.rng.IntN(len(p.pool)); p.pool[i].Value > p.pool[best].Value {
			best = i
		}
	}
	return removeAt(&p.pool, best), nil
}

func removeAt(cs *[]btcnode.Coin, i int) btcnode.Coin {
	s := *cs
	c := s[i]
	s[i] = s[len(s)-1]
	*cs = s[:len(s)-1]
	return c
}

func (p *Planner) to(value int64) btcnode.Output {
	return btcnode.To(keyName(p.rng.IntN(Keys)), scriptType(p.rng), value)
}

// fee is FeeRate times an estimate of the virtual size.
func fee(from []btcnode.Coin, outs []btcnode.Output) int64 {
	v := int64(11)
	for _, c := range from {
		if c.Type == btcnode.P2PKH {
			v += 149
		} else {
			v += 69
		}
	}
	for _, o := range outs {
		if o.Type == btcnode.P2PKH {
			v += 34
		} else {
			v += 31
		}
	}
	return FeeRate * v
}

// emit signs a transaction whose output change takes what the inputs leave
// after the other outputs and the fee, and makes its outputs spendable in
// this block. It returns the new coins, in output order.
func (p *Planner) emit(from []btcnode.Coin, outs []btcnode.Output, change int) ([]btcnode.Coin, error) {
	f := fee(from, outs)
	rest := -f
	for _, c := range from {
		rest += c.Value
	}
	for i, o := range outs {
		if i != change {
			rest -= o.Value
		}
	}
	if rest < MinOutput {
		return nil, fmt.Errorf("btcbenchchain: change of %d sat below %d", rest, MinOutput)
	}
	outs[change].Value = rest
	tx, err := p.sign(from, outs, f)
	if err != nil {
		return nil, err
	}
	p.txs = append(p.txs, tx)
	p.inBlock[tx.TxHash()] = true
	coins := btcnode.CoinsOf(tx, outs)
	p.fresh = append(p.fresh, coins...)
	s := &p.Stats
	s.Txs++
	s.Inputs += len(from)
	s.Outputs += len(outs)
	for _, c := range from {
		if p.inBlock[c.OutPoint.Hash] {
			s.SameBlock++
		} else {
			s.EarlierBlock++
		}
	}
	for _, o := range outs {
		if o.Type == btcnode.P2PKH {
			s.P2PKH++
		} else {
			s.P2WPKH++
		}
	}
	return coins, nil
}

// spendable reports whether value can pay k outputs of MinOutput and a fee.
func spendable(value int64, k int) bool { return value >= int64(k+1)*MinOutput+5_000 }

// peelChain: a coin pays a small part to someone and the change to a fresh
// key, hops times, each hop spending the change of the one before.
func (p *Planner) peelChain(hops int) error {
	c, err := p.takeLarge()
	if err != nil {
		return err
	}
	if !spendable(c.Value, 2) {
		p.pool = append(p.pool, c)
		return p.consolidate()
	}
	for h := 0; h < hops && spendable(c.Value, 2); h++ {
		peel := max(c.Value/100*int64(3+p.rng.IntN(20)), MinOutput)
		// The change is the second output, now and then the first.
		change := 1 - p.rng.IntN(4)/3
		outs := []btcnode.Output{p.to(peel), p.to(peel)}
		coins, err := p.emit([]btcnode.Coin{c}, outs, change)
		if err != nil {
			return err
		}
		p.Stats.PeelHops++
		// The change hops on; the peel stays for later spends.
		c = coins[change]
		p.fresh = slices.DeleteFunc(p.fresh, func(x btcnode.Coin) bool { return x.OutPoint == c.OutPoint })
	}
	p.fresh = append(p.fresh, c)
	return nil
}

// fanOut splits one coin (now and then one of this block) into 3 to 8.
func (p *Planner) fanOut() error {
	c, err := p.take(30)
	if err != nil {
		return err
	}
	k := 3 + p.rng.IntN(6)
	for k > 2 && !spendable(c.Value, k) {
		k--
	}
	if !spendable(c.Value, k) {
		p.pool = append(p.pool, c)
		return p.consolidate()
	}
	// Split evenly, +-20%, the last output taking the rest.
	part := (c.Value - int64(k)*MinOutput - 5_000) / int64(k)
	outs := make([]btcnode.Output, k)
	for i := range outs[:k-1] {
		outs[i] = p.to(MinOutput + part*int64(80+p.rng.IntN(41))/100)
	}
	outs[k-1] = p.to(0)
	if _, err := p.emit([]btcnode.Coin{c}, outs, k-1); err != nil {
		return err
	}
	p.Stats.FanOuts++
	return nil
}

// consolidate merges 3 to 8 coins, mostly of earlier blocks, into one (and
// now and then a second output: a payment with change).
func (p *Planner) consolidate() error {
	k := min(3+p.rng.IntN(6), len(p.pool)+len(p.fresh))
	if k < 2 {
		return p.payment()
	}
	from := make([]btcnode.Coin, 0, k)
	var sum int64
	for range k {
		c, err := p.take(10)
		if err != nil {
			return err
		}
		from = append(from, c)
		sum += c.Value
	}
	outs := []btcnode.Output{p.to(0)}
	if p.rng.IntN(3) == 0 && spendable(sum, 3) {
		outs = []btcnode.Output{p.to(sum / 100 * int64(10+p.rng.IntN(60))), p.to(0)}
	}
	if _, err := p.emit(from, outs, len(outs)-1); err != nil {
		return err
	}
	p.Stats.Consolidations++
	return nil
}

// payment spends one or two coins to a payee and change.
func (p *Planner) payment() error {
	n := 1 + b2i(p.rng.IntN(4) == 0)
	from := make([]btcnode.Coin, 0, n)
	var sum int64
	for range n {
		if len(p.pool)+len(p.fresh) == 0 {
			break
		}
		c, err := p.take(35)
		if err != nil {
			return err
		}
		from = append(from, c)
		sum += c.Value
	}
	if len(from) == 0 {
		return errors.New("btcbenchchain: no coin left to spend")
	}
	outs := []btcnode.Output{p.to(0)}
	if spendable(sum, 3) {
		pay := max(sum/100*int64(5+p.rng.IntN(80)), MinOutput)
		if spendable(sum-pay, 1) {
			outs = []btcnode.Output{p.to(pay), p.to(0)}
		}
	}
	if !spendable(sum, len(outs)) {
		// Too small to spend alone: keep them for a consolidation.
		p.pool = append(p.pool, from...)
		return p.consolidate()
	}
	if _, err := p.emit(from, outs, len(outs)-1); err != nil {
		return err
	}
	p.Stats.Payments++
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Result describes what Build made.
type Result struct {
	First, Last uint64 // the generated blocks
	Stats       Stats
}

// Progress is called after each block is mined.
type Progress func(done, total int, s Stats)

// Build funds PoolCoins coins (one block, not part of the result), then
// mines blocks of txsPerBlock planned transactions on top.
func Build(ctx context.Context, n *btcnode.Node, blocks, txsPerBlock int, progress Progress) (*Result, error) {
	if blocks < 1 || txsPerBlock < 1 {
		return nil, errors.New("btcbenchchain: blocks and transactions per block must be at least 1")
	}
	const seed = 1
	coins, err := n.FundKeys(FundingOutputs(seed)...)
	if err != nil {
		return nil, err
	}
	base, err := n.Client().GetBlockCount()
	if err != nil {
		return nil, err
	}
	rpc, err := httpClient(n)
	if err != nil {
		return nil, err
	}
	planner := NewPlanner(coins, n.SignTx, seed)

	// Sign block k+1 while the node takes block k.
	type planned struct {
		txs   []*wire.MsgTx
		stats Stats
		err   error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	plans := make(chan planned, 4)
	go func() {
		defer close(plans)
		for range blocks {
			txs, err := planner.Block(txsPerBlock)
			select {
			case plans <- planned{txs, planner.Stats, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var last Stats
	done := 0
	for pl := range plans {
		if pl.err != nil {
			return nil, pl.err
		}
		if err := submit(ctx, rpc, pl.txs); err != nil {
			return nil, fmt.Errorf("btcbenchchain: block %d: %w", int(base)+done+1, err)
		}
		done++
		last = pl.stats
		if progress != nil {
			progress(done, blocks, last)
		}
	}
	if done != blocks {
		return nil, ctx.Err()
	}
	return &Result{First: uint64(base) + 1, Last: uint64(base) + uint64(blocks), Stats: last}, nil
}

// httpClient is a JSON-RPC client to the node over HTTPS (as chaintrace
// talks to it), one request at a time so that a block's batches keep
// their order.
func httpClient(n *btcnode.Node) (*ethereum.Client, error) {
	host, user, pass, _ := n.RPCConfig()
	tc, err := n.TLSConfig()
	if err != nil {
		return nil, err
	}
	return ethereum.NewClient("https://"+host, ethereum.RPCOptions{
		BatchSize: 1000, Concurrency: 1, Timeout: 5 * time.Minute, Retries: 0,
		TLSConfig: tc, User: user, Pass: pass, JSONRPCVersion: "1.0",
	}), nil
}

// submit sends the transactions in order, then generate 1 and
// getmempoolinfo, in batches the node runs one call after the other; a
// transaction left out of the block is an error.
func submit(ctx context.Context, rpc *ethereum.Client, txs []*wire.MsgTx) error {
	elems := make([]ethereum.BatchElem, 0, len(txs)+2)
	var buf bytes.Buffer
	for _, tx := range txs {
		buf.Reset()
		if err := tx.Serialize(&buf); err != nil {
			return err
		}
		elems = append(elems, ethereum.BatchElem{Method: "sendrawtransaction", Params: []any{hex.EncodeToString(buf.Bytes())}})
	}
	elems = append(elems, ethereum.BatchElem{Method: "generate", Params: []any{1}},
		ethereum.BatchElem{Method: "getmempoolinfo"})
	for i := 0; i < len(elems); i += 500 {
		part := elems[i:min(i+500, len(elems))]
		if err := rpc.Batch(ctx, part); err != nil {
			return err
		}
	}
	for i, e := range elems {
		if e.Error != nil {
			if i < len(txs) {
				return fmt.Errorf("sendrawtransaction %s: %w", txs[i].TxHash(), e.Error)
			}
			return fmt.Errorf("%s: %w", e.Method, e.Error)
		}
	}
	var mp struct {
		Size int `json:"size"`
	}
	if err := json.Unmarshal(elems[len(elems)-1].Result, &mp); err != nil {
		return fmt.Errorf("getmempoolinfo: %w", err)
	}
	if mp.Size != 0 {
		return fmt.Errorf("%d of %d transactions were left out of the block", mp.Size, len(txs))
	}
	return nil
}
