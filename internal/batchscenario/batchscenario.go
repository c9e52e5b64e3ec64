// Package batchscenario plays many small thefts side by side, for batch
// tests and benchmarks: each seed holds stolen funds, pays a part to a
// mule of its own and keeps the rest (a peel); each mule pays most of it
// to the deposit address of one of a few exchanges and, for every tenth
// seed, a little to a hub wallet the seeds share (a link between cases);
// unrelated payments among other keys fill the same blocks. It runs on an
// in-process geth (internal/devchain) and on btcd (internal/btcnode).
package batchscenario

import (
	"encoding/csv"
	"fmt"
	"math/big"
	"os"

	"github.com/chaintrace/chaintrace/internal/btcnode"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/ethereum/go-ethereum/common"
)

// Exchanges is how many exchanges the mules pay (round robin).
const Exchanges = 4

// Case is what was played: the seeds, the window, the labels.
type Case struct {
	Chain       string // "eth" or "btc"
	First, Last uint64
	Seeds       []string
	// Hub is the wallet every tenth mule pays: the seeds that reach it
	// link there.
	Hub string
	// Deposits are the exchanges' deposit addresses (labelled exchange).
	Deposits []string
}

// EthFunded is the key names to fund at genesis for PlayEth(n, seeds).
func EthFunded(seeds int) []string {
	names := []string{"batch-noise-a", "batch-noise-b"}
	for i := range seeds {
		names = append(names, seedName(i))
	}
	return names
}

func seedName(i int) string { return fmt.Sprintf("batch-seed-%d", i) }
func muleName(i int) string { return fmt.Sprintf("batch-mule-%d", i) }
func depositName(i int) string {
	return fmt.Sprintf("batch-deposit-%d", i%Exchanges)
}

const hubName = "batch-hub"

func ether(milli int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(milli), big.NewInt(1e15))
}

// PlayEth plays seeds thefts on a node started with EthFunded(seeds).
func PlayEth(n *devchain.Node, seeds int) (*Case, error) {
	c := &Case{Chain: "eth", First: n.Head() + 1, Hub: devchain.Addr(hubName).Hex()}
	for i := range Exchanges {
		c.Deposits = append(c.Deposits, devchain.Addr(depositName(i)).Hex())
	}
	send := func(from string, to common.Address, v *big.Int) error {
		_, err := n.Transact(devchain.Key(from), &to, v, nil, 0)
		if err != nil {
			return fmt.Errorf("batchscenario: %s pays %s: %w", from, to.Hex(), err)
		}
		return nil
	}
	noise := func(k int) error {
		a, b := "batch-noise-a", "batch-noise-b"
		if k%2 == 1 {
			a, b = b, a
		}
		return send(a, devchain.Addr(b), ether(int64(10+k)))
	}
	// The seeds peel to their mules, in blocks of 50.
	for i := range seeds {
		c.Seeds = append(c.Seeds, devchain.Addr(seedName(i)).Hex())
		if err := send(seedName(i), devchain.Addr(muleName(i)), ether(3000+int64(i))); err != nil {
			return nil, err
		}
		if i%50 == 49 || i == seeds-1 {
			if err := noise(i); err != nil {
				return nil, err
			}
			if _, err := n.Commit(); err != nil {
				return nil, err
			}
		}
	}
	// The mules pay the exchanges, and some the hub.
	for i := range seeds {
		if err := send(muleName(i), devchain.Addr(depositName(i)), ether(2500)); err != nil {
			return nil, err
		}
		if i%10 == 0 {
			if err := send(muleName(i), devchain.Addr(hubName), ether(100)); err != nil {
				return nil, err
			}
		}
		if i%50 == 49 || i == seeds-1 {
			if err := noise(i + 1); err != nil {
				return nil, err
			}
			if _, err := n.Commit(); err != nil {
				return nil, err
			}
		}
	}
	c.Last = n.Head()
	return c, nil
}

// PlayBtc plays seeds thefts on btcd: each seed's address is funded, then
// peels to its mule, which pays an exchange deposit (and, every tenth, the
// hub), a hundred transactions a block.
func PlayBtc(n *btcnode.Node, seeds int) (*Case, error) {
	const typ = btcnode.P2WPKH
	net := n.Params()
	addr := func(name string) (string, error) {
		a, err := btcnode.AddrFor(name, typ, net)
		if err != nil {
			return "", err
		}
		return a.EncodeAddress(), nil
	}
	c := &Case{Chain: "btc"}
	var err error
	if c.Hub, err = addr(hubName); err != nil {
		return nil, err
	}
	for i := range Exchanges {
		d, err := addr(depositName(i))
		if err != nil {
			return nil, err
		}
		c.Deposits = append(c.Deposits, d)
	}
	var funds []btcnode.Output
	for i := range seeds {
		a, err := addr(seedName(i))
		if err != nil {
			return nil, err
		}
		c.Seeds = append(c.Seeds, a)
		funds = append(funds, btcnode.To(seedName(i), typ, 50_000_000+int64(i)*1_000))
	}
	// One funding transaction per hundred seeds (a block each).
	var coins []btcnode.Coin
	for lo := 0; lo < len(funds); lo += 100 {
		cs, err := n.FundKeys(funds[lo:min(lo+100, len(funds))]...)
		if err != nil {
			return nil, err
		}
		coins = append(coins, cs...)
		if lo == 0 {
			h, err := n.Client().GetBlockCount()
			if err != nil {
				return nil, err
			}
			c.First = uint64(h)
		}
	}
	const fee = 2_000
	mules := make([]btcnode.Coin, seeds)
	for i, coin := range coins {
		peel := int64(30_000_000)
		tx, err := n.Spend([]btcnode.Coin{coin}, []btcnode.Output{
			btcnode.To(muleName(i), typ, peel),
			btcnode.To(seedName(i), typ, coin.Value-peel-fee),
		}, fee)
		if err != nil {
			return nil, err
		}
		mules[i] = btcnode.CoinsOf(tx, []btcnode.Output{btcnode.To(muleName(i), typ, peel)})[0]
		if i%100 == 99 || i == seeds-1 {
			if _, err := n.Mine(1); err != nil {
				return nil, err
			}
		}
	}
	for i, m := range mules {
		outs := []btcnode.Output{btcnode.To(depositName(i), typ, m.Value-fee)}
		if i%10 == 0 {
			outs = []btcnode.Output{btcnode.To(depositName(i), typ, m.Value-1_000_000-fee), btcnode.To(hubName, typ, 1_000_000)}
		}
		if _, err := n.Spend([]btcnode.Coin{m}, outs, fee); err != nil {
			return nil, err
		}
		if i%100 == 99 || i == seeds-1 {
			if _, err := n.Mine(1); err != nil {
				return nil, err
			}
		}
	}
	h, err := n.Client().GetBlockCount()
	if err != nil {
		return nil, err
	}
	c.Last = uint64(h)
	return c, nil
}

// WriteLabels writes the case's labels as CSV (chain, address, label,
// category, source): the deposits as exchanges.
func (c *Case) WriteLabels(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"chain", "address", "label", "category", "source"})
	for i, d := range c.Deposits {
		w.Write([]string{c.Chain, d, fmt.Sprintf("Exchange %c deposit", 'A'+i), "exchange", "chaintrace batch scenario"})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
