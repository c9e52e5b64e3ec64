package scenario

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/ethereum/go-ethereum/common"
)

// This file holds cases built to stress one shape of laundering each: a
// very long peel chain, a very wide fan-out, and paths of different depths
// that re-merge with clean money.

// gasKeep is what a launderer's hop address leaves behind when it passes
// funds on: an EOA cannot send its whole balance, the fees come out of it.
// Transact's gas limit is at least devchain.DefaultGas (1,000,000) at a fee
// cap of at most 3 gwei while the base fee stays at or under 1 gwei (it only
// falls on these near-empty blocks), so the pool wants 3 milli-ether of
// headroom per pending transaction; 10 covers a hop that sends twice.
var gasKeep = Milli(10)

// deposit records name as an exchange deposit address that sweeps into
// exchange.
func (p *player) deposit(name string, exchange common.Address) common.Address {
	a := addr(name)
	p.truth.Deposits[a] = exchange
	return a
}

// sweep forwards what a deposit address received, less sweepKeep, to its
// exchange and records the endpoint amount.
func (p *player) sweep(name string, received *big.Int) {
	a := addr(name)
	out := new(big.Int).Sub(received, sweepKeep)
	p.pay(name, p.truth.Deposits[a], out)
	p.endpoint(p.truth.Deposits[a], "ETH", out)
}

// sweepToken forwards a deposit address's tokens to its exchange.
func (p *player) sweepToken(name string, amount *big.Int) {
	a := addr(name)
	p.payToken(name, p.truth.Deposits[a], amount)
	p.endpoint(p.truth.Deposits[a], p.truth.Token.Hex(), amount)
}

// pass sends what from received, less gasKeep, on to to and returns the
// amount sent.
func (p *player) pass(from string, to common.Address, received *big.Int) *big.Int {
	out := new(big.Int).Sub(received, gasKeep)
	p.pay(from, to, out)
	return out
}

// route pays through a Router contract (internal calls) and records the
// call and every payment it makes.
func (p *player) route(from string, router common.Address, pays []contracts.Payment) {
	total := new(big.Int)
	for _, pay := range pays {
		total.Add(total, pay.Amount)
	}
	tx := p.send(from, router, total, contracts.RouterCall(pays...))
	if tx == nil {
		return
	}
	p.truth.Moves = append(p.truth.Moves, Movement{Tx: tx.Hash(), From: addr(from), To: router, Asset: "ETH", Amount: total})
	for _, pay := range pays {
		p.truth.Moves = append(p.truth.Moves, Movement{Tx: tx.Hash(), From: router, To: pay.To, Asset: "ETH", Amount: pay.Amount, Internal: true})
	}
}

// chatter is one round of unrelated traffic: a customer deposits at an
// exchange, the exchange pays another customer out, and two customers pay
// each other. None of it touches the stolen funds.
func (p *player) chatter(noise, exchanges []string, round int) {
	k := len(noise)
	ex := exchanges[round%len(exchanges)]
	p.pay(noise[round%k], addr(ex), Milli(int64(1_000+7*round)))
	p.pay(ex, addr(noise[(round+1)%k]), Milli(int64(800+5*round)))
	p.pay(noise[(round+2)%k], addr(noise[(round+3)%k]), Milli(int64(300+round)))
}

func (p *player) finish(n *devchain.Node) (*Truth, error) {
	if p.err != nil {
		return nil, fmt.Errorf("scenario %s: %w", p.truth.Name, p.err)
	}
	p.truth.Last = n.Head()
	return p.truth, nil
}

// ---------------------------------------------------------------------------
// Deep peel chain.

// DeepPeelFunded names the accounts PlayDeepPeel needs prefunded.
var DeepPeelFunded = []string{
	"dp-victim", "dp-kraken-hot", "dp-okx-hot",
	"dp-noise-0", "dp-noise-1", "dp-noise-2", "dp-noise-3", "dp-noise-4",
}

// PlayDeepPeel plays a peel chain of the given number of hops. The seed
// receives 20,000 ETH from a drained wallet; at hop k the holder peels
// 250 + 17k milli-ether into a fresh exchange deposit address (two of
// every three at Kraken, the third at OKX; each is swept a block later)
// and passes the rest, less gasKeep, to a fresh address. The end of the
// chain crosses a bridge. Every hop is its own block, since it spends what
// the previous block paid it; customers deposit, withdraw and pay each
// other all along, some through deposit addresses of their own.
//
// Blocks: 1 deploy, 1 drain, hops hop blocks, 1 for the tail (hops+3).
// Controlled: the seed and hops hop addresses; deposits: hops.
func PlayDeepPeel(n *devchain.Node, hops int) (*Truth, error) {
	if hops < 1 {
		return nil, errors.New("scenario deep-peel: at least one hop")
	}
	t := newTruth("deep-peel", n)
	p := &player{n: n, truth: t}
	noise := DeepPeelFunded[3:]
	exchanges := []string{"dp-kraken-hot", "dp-okx-hot"}

	bridge := p.deploy("dp-noise-4", contracts.Sink())
	kraken, okx := addr("dp-kraken-hot"), addr("dp-okx-hot")
	p.label(kraken, "Kraken 13", "exchange")
	p.label(okx, "OKX 7", "exchange")
	p.label(bridge, "Cross-chain bridge", "bridge")

	seed := p.control("dp-thief", "seed: receives the drained funds")
	t.Seeds = []common.Address{seed}
	hold := Ether(20_000)
	p.pay("dp-victim", seed, hold)
	p.chatter(noise, exchanges, 0)
	p.commit()

	var lastDep string
	var lastPeel *big.Int
	prev := "dp-thief"
	for k := range hops {
		peel := Milli(int64(250 + 17*k))
		rest := new(big.Int).Sub(hold, peel)
		rest.Sub(rest, gasKeep)
		if rest.Cmp(Ether(1)) < 0 {
			return nil, fmt.Errorf("scenario %s: %d hops peel more than the seed holds", t.Name, hops)
		}
		next := fmt.Sprintf("dp-hop-%d", k+1)
		p.control(next, fmt.Sprintf("peel chain hop %d", k+1))
		exch := kraken
		if k%3 == 2 {
			exch = okx
		}
		dep := fmt.Sprintf("dp-dep-%d", k)
		p.deposit(dep, exch)
		p.pay(prev, addr(dep), peel)
		p.pay(prev, addr(next), rest)
		if lastDep != "" {
			p.sweep(lastDep, lastPeel)
		}
		p.chatter(noise, exchanges, k+1)
		// Every tenth block a customer deposits through a deposit address
		// of their own, swept into the same exchange in the next one.
		cust := fmt.Sprintf("dp-cust-dep-%d", k/10)
		switch k % 10 {
		case 0:
			p.pay(noise[(k/10)%len(noise)], addr(cust), Ether(2))
		case 1:
			p.pay(cust, kraken, Milli(1_990))
		}
		p.commit()
		hold, prev, lastDep, lastPeel = rest, next, dep, peel
	}
	// The end of the chain crosses the bridge.
	out := new(big.Int).Sub(hold, gasKeep)
	p.pay(prev, bridge, out)
	p.endpoint(bridge, "ETH", out)
	p.sweep(lastDep, lastPeel)
	p.chatter(noise, exchanges, hops+1)
	p.commit()
	return p.finish(n)
}

// ---------------------------------------------------------------------------
// Wide fan-out.

// WideFanOutFunded names the accounts PlayWideFanOut needs prefunded.
var WideFanOutFunded = []string{
	"fan-victim", "fan-binance-hot", "fan-okx-hot", "fan-kraken-hot",
	"fan-noise-0", "fan-noise-1", "fan-noise-2", "fan-noise-3", "fan-noise-4", "fan-noise-5",
}

// fanShared is how many deposit addresses the fan-out addresses share.
const fanShared = 7

// fanRouterBatch is the number of payments per Router call. On the dev
// chain's fork rules (EIP-8037 state-creation gas: 120 bytes × 1,530 gas
// for a new account) a Router payment to a fresh address costs ~196,000
// gas, so a call can make at most ~85 of them under the EIP-7825
// per-transaction cap of 16,777,216 (Transact's estimate fails above it
// and the call would be sent with DefaultGas and revert). 60 leaves room.
const fanRouterBatch = 60

// PlayWideFanOut plays a fan-out of the seed to width fresh addresses:
// width%60 by plain transfers, the rest by Router calls of 60 payments
// (see fanRouterBatch), alternating between two routers. Fan-out address i receives 2 + 0.003i
// ETH and, in one of the three blocks after (i%3), forwards all of it but
// gasKeep by i%8: 0-1 to a fresh deposit address (swept a block later),
// 2-4 to one of seven shared deposit addresses (swept once, at the end),
// 5 and 7 straight to an exchange hot wallet, 6 into a mixer. Customers
// use the same exchanges throughout.
//
// Blocks: 3 deploys, 1 drain, 1 fan-out, 3 forwarding, 1 final sweep (9).
// Controlled: the seed and width fan-out addresses; deposits: the fresh
// ones (a quarter of width) and the seven shared ones.
func PlayWideFanOut(n *devchain.Node, width int) (*Truth, error) {
	if width < 1 {
		return nil, errors.New("scenario wide-fan-out: width must be positive")
	}
	t := newTruth("wide-fan-out", n)
	p := &player{n: n, truth: t}
	noise := WideFanOutFunded[4:]
	exNames := []string{"fan-binance-hot", "fan-okx-hot", "fan-kraken-hot"}

	routers := []common.Address{p.deploy("fan-noise-5", contracts.Router()), p.deploy("fan-noise-5", contracts.Router())}
	mixer := p.deploy("fan-noise-5", contracts.Sink())
	for _, r := range routers {
		t.Conduits[r] = "router contract paying out by internal calls"
	}
	ex := []common.Address{addr(exNames[0]), addr(exNames[1]), addr(exNames[2])}
	p.label(ex[0], "Binance 8", "exchange")
	p.label(ex[1], "OKX 3", "exchange")
	p.label(ex[2], "Kraken 4", "exchange")
	p.label(mixer, "Tornado-style mixer pool", "mixing_service")

	seed := p.control("fan-thief", "seed: receives the drained funds")
	t.Seeds = []common.Address{seed}
	amount := func(i int) *big.Int { return Milli(int64(2_000 + 3*i)) }
	total := Ether(1) // gas money for the fan-out calls
	for i := range width {
		total.Add(total, amount(i))
	}
	p.pay("fan-victim", seed, total)
	p.chatter(noise, exNames, 0)
	p.commit()

	// The fan-out, in one block.
	outs := make([]string, width)
	for i := range width {
		outs[i] = fmt.Sprintf("fan-out-%d", i)
		p.control(outs[i], "fan-out address")
	}
	plain := width % fanRouterBatch
	for i := range plain {
		p.pay("fan-thief", addr(outs[i]), amount(i))
	}
	for start, call := plain, 0; start < width; start, call = start+fanRouterBatch, call+1 {
		var pays []contracts.Payment
		for i := start; i < min(start+fanRouterBatch, width); i++ {
			pays = append(pays, contracts.Payment{To: addr(outs[i]), Amount: amount(i)})
		}
		p.route("fan-thief", routers[call%len(routers)], pays)
	}
	p.chatter(noise, exNames, 1)
	p.commit()

	// Three blocks of forwarding; fresh deposit addresses are swept in the
	// block after they are paid, shared ones once all have paid in.
	shared := make([]*big.Int, fanShared)
	for j := range shared {
		p.deposit(fmt.Sprintf("fan-shared-dep-%d", j), ex[j%len(ex)])
		shared[j] = new(big.Int)
	}
	var toSweep, sweepNext []int
	for round := range 3 {
		for _, i := range toSweep {
			p.sweep(fmt.Sprintf("fan-dep-%d", i), new(big.Int).Sub(amount(i), gasKeep))
		}
		sweepNext = sweepNext[:0]
		for i := round; i < width; i += 3 {
			out := new(big.Int).Sub(amount(i), gasKeep)
			switch i % 8 {
			case 0, 1:
				dep := fmt.Sprintf("fan-dep-%d", i)
				p.pay(outs[i], p.deposit(dep, ex[(i/8)%len(ex)]), out)
				sweepNext = append(sweepNext, i)
			case 2, 3, 4:
				j := i % fanShared
				p.pay(outs[i], addr(fmt.Sprintf("fan-shared-dep-%d", j)), out)
				shared[j].Add(shared[j], out)
			case 5, 7:
				p.pay(outs[i], ex[i%len(ex)], out)
				p.endpoint(ex[i%len(ex)], "ETH", out)
			case 6:
				p.pay(outs[i], mixer, out)
				p.endpoint(mixer, "ETH", out)
			}
		}
		toSweep = append(toSweep[:0], sweepNext...)
		for r := range 4 {
			p.chatter(noise, exNames, 2+4*round+r)
		}
		p.commit()
	}
	for _, i := range toSweep {
		p.sweep(fmt.Sprintf("fan-dep-%d", i), new(big.Int).Sub(amount(i), gasKeep))
	}
	for j, got := range shared {
		if got.Sign() > 0 {
			p.sweep(fmt.Sprintf("fan-shared-dep-%d", j), got)
		}
	}
	p.chatter(noise, exNames, 14)
	p.commit()
	return p.finish(n)
}

// ---------------------------------------------------------------------------
// Re-merge.

// RemergeFunded names the accounts PlayRemerge needs prefunded.
var RemergeFunded = []string{
	"rm-victim", "rm-gemini-hot", "rm-bitfinex-hot", "rm-clean",
	"rm-noise-0", "rm-noise-1", "rm-noise-2", "rm-noise-3",
}

// Figures of PlayRemerge (wei, or token base units of 6 decimals) for
// tests that check the taint where stolen and clean money meet.
var (
	// RemergeTainted is the stolen ETH reaching rm-merge: the four splits
	// of 2,000, 2,500, 1,500 and 3,000 ETH less gasKeep at each of the
	// 11 hops that pass them on (M1 included).
	RemergeTainted = Milli(8_999_890)
	// RemergeClean is the clean ETH rm-clean pays into rm-merge.
	RemergeClean = Ether(700)
	// RemergeToGemini is what rm-merge sends to its Gemini deposit address
	// first; it then sends all it holds but 2 × gasKeep to Bitfinex.
	RemergeToGemini = Ether(4_000)

	// RemergeStolenTokens are the stolen tokens, split 150,000 / 250,000 /
	// 275,000 / 325,000, all of which reach rm-tok-merge.
	RemergeStolenTokens = tokens(1_000_000, 0)
	// RemergeCleanTokens are rm-clean's tokens paid into rm-tok-merge.
	RemergeCleanTokens = tokens(33_333, 333_333)
	// RemergeTokensToGemini go to the Gemini token deposit address first;
	// the rest of rm-tok-merge's tokens go to Bitfinex.
	RemergeTokensToGemini = tokens(600_000, 0)
)

// tokens returns whole units plus micro-units of the 6-decimal token.
func tokens(whole, micro int64) *big.Int {
	return new(big.Int).Add(new(big.Int).Mul(big.NewInt(whole), big.NewInt(1e6)), big.NewInt(micro))
}

// PlayRemerge plays a split into four paths of 2, 3, 4 and 5 hops that
// re-merge in two stages: the 2- and 3-hop paths meet at rm-merge-1, which
// joins the other two at rm-merge, where an unrelated account also pays in
// 700 clean ETH (in the block the stolen ETH starts to arrive, just before
// it). rm-merge then pays a Gemini deposit address (swept a block later)
// and the Bitfinex hot wallet. A stolen token takes the same shape on its
// own addresses (rm-tok-*, whose gas money the seed pays), with clean
// tokens paid into rm-tok-merge a block before the stolen ones arrive, and
// leaves through a Gemini token deposit address (funded with gas by
// Gemini, as exchanges do) and straight to Bitfinex. Customers trade ETH
// and the token around it.
//
// Blocks: 1 deploy, 1 drain, 1 split, 4 hop blocks, 1 exit, 1 sweep (9).
// Controlled: the seed, 12 ETH path addresses, 12 token path addresses;
// deposits: 2.
func PlayRemerge(n *devchain.Node) (*Truth, error) {
	t := newTruth("remerge", n)
	p := &player{n: n, truth: t}
	noise := RemergeFunded[4:]
	exNames := []string{"rm-gemini-hot", "rm-bitfinex-hot"}

	t.Token = p.deploy("rm-victim", contracts.ERC20(tokens(100_000_000, 0)))
	gemini, bitfinex := addr("rm-gemini-hot"), addr("rm-bitfinex-hot")
	p.label(gemini, "Gemini 3", "exchange")
	p.label(bitfinex, "Bitfinex 5", "exchange")
	p.label(t.Token, "Victim's stablecoin", "defi_dex")

	seed := p.control("rm-thief", "seed: receives the drained funds")
	t.Seeds = []common.Address{seed}
	// The paths: name prefix, amount, hops to the merge point. a and b
	// meet at merge-1 (2 and 3 hops), c and d at merge (4 and 5 hops).
	type path struct {
		name  string
		eth   *big.Int
		tok   *big.Int
		depth int
		into  string
	}
	paths := []path{
		{"a", Ether(2_000), tokens(150_000, 0), 2, "merge-1"},
		{"b", Ether(2_500), tokens(250_000, 0), 3, "merge-1"},
		{"c", Ether(1_500), tokens(275_000, 0), 4, "merge"},
		{"d", Ether(3_000), tokens(325_000, 0), 5, "merge"},
	}
	stolen := Ether(10_000)
	hopName := func(leg, p string, i int) string { return fmt.Sprintf("rm-%s%s%d", leg, p, i) }
	for _, leg := range []string{"", "tok-"} {
		what := "ETH"
		if leg != "" {
			what = "token"
		}
		for _, pa := range paths {
			for i := 1; i < pa.depth; i++ {
				p.control(hopName(leg, pa.name, i), fmt.Sprintf("%s path %s, hop %d of %d", what, pa.name, i, pa.depth))
			}
		}
		p.control("rm-"+leg+"merge-1", what+" merge point of paths a and b")
		p.control("rm-"+leg+"merge", what+" merge point of merge-1 and paths c and d (and clean money)")
	}

	// Block 1: the drain. The victim also pays customers tokens.
	p.pay("rm-victim", seed, stolen)
	p.payToken("rm-victim", seed, RemergeStolenTokens)
	p.payToken("rm-victim", addr("rm-clean"), tokens(50_000, 0))
	for i, nm := range noise {
		p.payToken("rm-victim", addr(nm), tokens(int64(10_000+i), 0))
	}
	p.chatter(noise, exNames, 0)
	p.commit()

	// Block 2: the splits, and gas money for every token address.
	for _, pa := range paths {
		p.pay("rm-thief", addr(hopName("", pa.name, 1)), pa.eth)
		p.payToken("rm-thief", addr(hopName("tok-", pa.name, 1)), pa.tok)
	}
	var tokenHops []string
	for _, pa := range paths {
		for i := 1; i < pa.depth; i++ {
			tokenHops = append(tokenHops, hopName("tok-", pa.name, i))
		}
	}
	for _, nm := range append(tokenHops, "rm-tok-merge-1", "rm-tok-merge") {
		p.pay("rm-thief", addr(nm), Milli(20))
	}
	p.chatter(noise, exNames, 1)
	p.commit()

	// Blocks 3-6: one hop per block on every path still under way. held
	// tracks what each address of the ETH leg received.
	held := map[string]*big.Int{}
	for _, pa := range paths {
		held[hopName("", pa.name, 1)] = pa.eth
	}
	for step := 1; step <= 4; step++ {
		switch step {
		case 2:
			// Clean tokens reach rm-tok-merge a block before any stolen
			// ones: they are in its balance when the taint arrives.
			p.payToken("rm-clean", addr("rm-tok-merge"), RemergeCleanTokens)
		case 3:
			// Clean ETH reaches rm-merge first in the block in which the
			// stolen ETH starts to arrive.
			p.pay("rm-clean", addr("rm-merge"), RemergeClean)
			held["rm-merge"] = new(big.Int).Set(RemergeClean)
		}
		for _, pa := range paths {
			if step >= pa.depth {
				continue
			}
			for _, leg := range []string{"", "tok-"} {
				from := hopName(leg, pa.name, step)
				to := "rm-" + leg + pa.into
				if step+1 < pa.depth {
					to = hopName(leg, pa.name, step+1)
				}
				if leg == "" {
					sent := p.pass(from, addr(to), held[from])
					if held[to] == nil {
						held[to] = new(big.Int)
					}
					held[to].Add(held[to], sent)
				} else {
					p.payToken(from, addr(to), pa.tok)
				}
			}
		}
		if step == 3 { // merge-1 passes on what a and b brought
			sent := p.pass("rm-merge-1", addr("rm-merge"), held["rm-merge-1"])
			held["rm-merge"].Add(held["rm-merge"], sent)
			p.payToken("rm-tok-merge-1", addr("rm-tok-merge"), new(big.Int).Add(paths[0].tok, paths[1].tok))
		}
		// Customers trade the token around it, and use the exchanges.
		p.payToken(noise[step%len(noise)], bitfinex, tokens(int64(100*step), 0))
		p.payToken(noise[(step+1)%len(noise)], addr(noise[(step+2)%len(noise)]), tokens(int64(7*step), 5))
		p.chatter(noise, exNames, 1+step)
		p.commit()
	}
	if held["rm-merge"].Cmp(new(big.Int).Add(RemergeTainted, RemergeClean)) != 0 {
		return nil, fmt.Errorf("scenario %s: the merge holds %s, not the %s stolen and %s clean designed",
			t.Name, held["rm-merge"], RemergeTainted, RemergeClean)
	}

	// Block 7: out to two exchanges.
	gemDep := p.deposit("rm-gemini-dep", gemini)
	p.pay("rm-merge", gemDep, RemergeToGemini)
	toBitfinex := new(big.Int).Sub(held["rm-merge"], RemergeToGemini)
	toBitfinex.Sub(toBitfinex, new(big.Int).Mul(gasKeep, big.NewInt(2)))
	p.pay("rm-merge", bitfinex, toBitfinex)
	p.endpoint(bitfinex, "ETH", toBitfinex)
	tokDep := p.deposit("rm-gemini-tok-dep", gemini)
	allTokens := new(big.Int).Add(RemergeStolenTokens, RemergeCleanTokens)
	p.payToken("rm-tok-merge", tokDep, RemergeTokensToGemini)
	tokBitfinex := new(big.Int).Sub(allTokens, RemergeTokensToGemini)
	p.payToken("rm-tok-merge", bitfinex, tokBitfinex)
	p.endpoint(bitfinex, t.Token.Hex(), tokBitfinex)
	p.pay("rm-gemini-hot", tokDep, Milli(10)) // gas for the sweep
	p.chatter(noise, exNames, 7)
	p.commit()

	// Block 8: Gemini sweeps both deposit addresses.
	p.sweep("rm-gemini-dep", RemergeToGemini)
	p.sweepToken("rm-gemini-tok-dep", RemergeTokensToGemini)
	p.chatter(noise, exNames, 8)
	p.commit()
	return p.finish(n)
}
