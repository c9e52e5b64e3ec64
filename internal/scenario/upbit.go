package scenario

import (
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/ethereum/go-ethereum/common"
)

// Upbit2019Funded names the accounts PlayUpbit2019 needs prefunded in the
// node's genesis (devchain.Config.Funded).
var Upbit2019Funded = []string{
	"upbit-hot", "binance-hot", "huobi-hot", "bithumb-hot",
	"noise-0", "noise-1", "noise-2", "noise-3", "noise-4", "noise-5",
}

const (
	peelHops = 6
	layer2   = 10
)

// sweepKeep is what an exchange deposit address leaves behind when it
// forwards a deposit to the exchange's hot wallet (it pays the gas).
var sweepKeep = Milli(10)

// PlayUpbit2019 plays an exchange hack shaped like Upbit's of November 2019:
// the hot wallet drained of 342,000 ETH to one address in one transaction
// (plus a stolen token), then a fan-out over several layers, a peel chain
// that drops 1,000 ETH into a fresh exchange deposit address at every hop,
// a leg through a contract that pays out by internal calls, a leg re-merged
// with clean money, a reverted attempt, a mixer leg, a bridge leg, and
// unrelated traffic around all of it. Deposit addresses sweep into labelled
// exchange hot wallets, where an investigator can ask for a freeze.
func PlayUpbit2019(n *devchain.Node) (*Truth, error) {
	t := newTruth("upbit-2019", n)
	p := &player{n: n, truth: t}

	// The victim's infrastructure and the services the funds will reach.
	t.Token = p.deploy("upbit-hot", contracts.ERC20(new(big.Int).Mul(big.NewInt(100_000_000), big.NewInt(1e6))))
	router := p.deploy("noise-5", contracts.Router())
	reverter := p.deploy("noise-5", contracts.Reverter())
	catcher := p.deploy("noise-5", contracts.Catcher())
	mixer := p.deploy("noise-5", contracts.Sink())
	bridge := p.deploy("noise-5", contracts.Sink())
	t.Conduits[router] = "router contract paying out by internal calls"
	t.Conduits[catcher] = "payment contract that swallows an inner revert"
	binance, huobi, bithumb, upbit := addr("binance-hot"), addr("huobi-hot"), addr("bithumb-hot"), addr("upbit-hot")
	p.label(upbit, "Upbit: Hot Wallet", "exchange")
	p.label(binance, "Binance 14", "exchange")
	p.label(huobi, "Huobi 10", "exchange")
	p.label(bithumb, "Bithumb 2", "exchange")
	p.label(mixer, "Tornado-style mixer pool", "mixing_service")
	p.label(bridge, "Cross-chain bridge", "bridge")
	p.label(t.Token, "Upbit-listed stablecoin", "defi_dex")

	hacker := p.control("hacker", "seed: the address the hot wallet was drained to")
	t.Seeds = []common.Address{hacker}
	deposit := func(name string, exchange common.Address) common.Address {
		a := addr(name)
		t.Deposits[a] = exchange
		return a
	}
	// sweep forwards a deposit (less what the deposit address keeps) to its
	// exchange and records the endpoint amount.
	sweep := func(name string, received *big.Int) {
		a := addr(name)
		out := new(big.Int).Sub(received, sweepKeep)
		p.pay(name, t.Deposits[a], out)
		p.endpoint(t.Deposits[a], "ETH", out)
	}
	noise := func(round int) {
		// Customers deposit to and withdraw from exchanges; people pay
		// each other. None of it touches the stolen funds.
		p.pay(fmt.Sprintf("noise-%d", round%5), binance, Ether(int64(3+round)))
		p.pay("binance-hot", addr(fmt.Sprintf("noise-%d", (round+1)%5)), Ether(int64(2+round)))
		p.pay(fmt.Sprintf("noise-%d", (round+2)%5), addr(fmt.Sprintf("noise-%d", (round+3)%5)), Milli(int64(1500+round)))
		p.payToken("upbit-hot", addr(fmt.Sprintf("noise-%d", round%5)), big.NewInt(int64(1000_000+round)))
	}

	// Block 1: the drain. 342,000 ETH and 2.5 million tokens in one go.
	stolenTokens := new(big.Int).Mul(big.NewInt(2_500_000), big.NewInt(1e6))
	p.pay("upbit-hot", hacker, Ether(342_000))
	p.payToken("upbit-hot", hacker, stolenTokens)
	noise(0)
	p.commit()

	// Block 2: first layer. Five 60,000 ETH splits, 30,000 through a
	// router contract (internal calls), the tokens to a fresh address.
	var l1 [5]common.Address
	for i := range l1 {
		l1[i] = p.control(fmt.Sprintf("l1-%d", i), "layer-1 split")
		p.pay("hacker", l1[i], Ether(60_000))
	}
	var r [3]common.Address
	var pays []contracts.Payment
	for i := range r {
		r[i] = p.control(fmt.Sprintf("router-out-%d", i), "paid by the router contract")
		pays = append(pays, contracts.Payment{To: r[i], Amount: Ether(10_000)})
	}
	if tx := p.send("hacker", router, Ether(30_000), contracts.RouterCall(pays...)); tx != nil {
		t.Moves = append(t.Moves, Movement{Tx: tx.Hash(), From: hacker, To: router, Asset: "ETH", Amount: Ether(30_000)})
		for _, pay := range pays {
			t.Moves = append(t.Moves, Movement{Tx: tx.Hash(), From: router, To: pay.To, Asset: "ETH", Amount: pay.Amount, Internal: true})
		}
	}
	tokenHolder := p.control("token-holder", "holds the stolen tokens")
	p.payToken("hacker", tokenHolder, stolenTokens)
	p.pay("hacker", tokenHolder, Ether(1)) // gas money
	noise(1)
	p.commit()

	// Block 3: the other legs start.
	// l1-1: a second fan-out, each layer-2 address paying into the mixer.
	var l2 [layer2]common.Address
	for i := range l2 {
		l2[i] = p.control(fmt.Sprintf("l2-%d", i), "layer-2 split, pays the mixer")
		p.pay("l1-1", l2[i], Ether(5_000))
	}
	deposit("huobi-dep-1", huobi)
	p.pay("l1-1", addr("huobi-dep-1"), Ether(9_000))
	// l1-2 and l1-3 re-merge, with 1,000 ETH of clean money mixed in.
	merge := p.control("merge", "re-merges two splits (and clean money)")
	p.pay("l1-2", merge, Ether(59_999))
	p.pay("l1-3", merge, Ether(59_999))
	p.pay("noise-1", merge, Ether(1_000))
	// l1-4: a reverted attempt (nothing moves), then a payment through a
	// contract that swallows an inner revert and pays a deposit address.
	deposit("binance-dep-c", binance)
	p.send("l1-4", reverter, Ether(5_000), contracts.ReverterCall(addr("noise-2")))
	if tx := p.send("l1-4", catcher, Ether(4_000), contracts.CatcherCall(reverter, addr("noise-2"), addr("binance-dep-c"))); tx != nil {
		t.Moves = append(t.Moves,
			Movement{Tx: tx.Hash(), From: l1[4], To: catcher, Asset: "ETH", Amount: Ether(4_000)},
			Movement{Tx: tx.Hash(), From: catcher, To: addr("binance-dep-c"), Asset: "ETH", Amount: Ether(4_000), Internal: true})
	}
	// The router's outputs each deposit at Bithumb.
	for i := range r {
		deposit(fmt.Sprintf("bithumb-dep-%d", i), bithumb)
		p.pay(fmt.Sprintf("router-out-%d", i), addr(fmt.Sprintf("bithumb-dep-%d", i)), Ether(9_999))
	}
	// The tokens go to a Bithumb deposit address, which the exchange funds
	// with gas before sweeping.
	deposit("bithumb-dep-token", bithumb)
	p.payToken("token-holder", addr("bithumb-dep-token"), stolenTokens)
	p.pay("bithumb-hot", addr("bithumb-dep-token"), Milli(10))
	noise(2)
	p.commit()

	// Block 4: sweeps, the mixer, the bridge.
	for i := range l2 {
		p.pay(fmt.Sprintf("l2-%d", i), mixer, Ether(4_999))
		p.endpoint(mixer, "ETH", Ether(4_999))
	}
	sweep("huobi-dep-1", Ether(9_000))
	p.pay("merge", bridge, Ether(100_000))
	p.endpoint(bridge, "ETH", Ether(100_000))
	deposit("huobi-dep-2", huobi)
	p.pay("merge", addr("huobi-dep-2"), Ether(20_000))
	sweep("binance-dep-c", Ether(4_000))
	for i := range r {
		sweep(fmt.Sprintf("bithumb-dep-%d", i), Ether(9_999))
	}
	p.payToken("bithumb-dep-token", bithumb, stolenTokens)
	p.endpoint(bithumb, t.Token.Hex(), stolenTokens)
	noise(3)
	p.commit()
	sweep("huobi-dep-2", Ether(20_000))

	// The peel chain: l1-0 drops 1,000 ETH into a fresh deposit address at
	// every hop and passes the rest on; each deposit is swept a block later.
	hold := Ether(60_000)
	prev := "l1-0"
	for k := 0; k < peelHops; k++ {
		next := fmt.Sprintf("peel-%d", k+1)
		p.control(next, fmt.Sprintf("peel chain hop %d", k+1))
		exch := binance
		if k%2 == 1 {
			exch = huobi
		}
		dep := fmt.Sprintf("peel-dep-%d", k)
		deposit(dep, exch)
		p.pay(prev, addr(dep), Ether(1_000))
		hold = new(big.Int).Sub(hold, Ether(1_001)) // 1 ETH stays behind for gas
		p.pay(prev, addr(next), hold)
		noise(4 + k)
		p.commit()
		sweep(dep, Ether(1_000))
		prev = next
	}
	// The end of the peel chain crosses the bridge.
	p.pay(prev, bridge, Ether(50_000))
	p.endpoint(bridge, "ETH", Ether(50_000))
	p.commit()
	if p.err != nil {
		return nil, fmt.Errorf("scenario %s: %w", t.Name, p.err)
	}
	t.Last = n.Head()
	return t, nil
}
