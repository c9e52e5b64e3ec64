// Package benchchain fills an in-process node with a large chain of mixed
// transactions for benchmarks: plain transfers (both transaction types),
// contract fan-outs paying by internal calls, catcher calls with a reverted
// inner frame, ERC-20 and ERC-721 transfers. The mix is deterministic for a
// given size.
package benchchain

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
)

// Senders is the number of funded accounts that send the traffic.
const Senders = 24

// Funded names the accounts a node for Build must prefund.
func Funded() []string {
	out := make([]string, Senders)
	for i := range out {
		out[i] = fmt.Sprintf("bench-%d", i)
	}
	return out
}

// Result describes what Build made.
type Result struct {
	First, Last uint64 // the generated blocks
	Txs         int
}

// Build deploys the contracts, hands tokens to every sender, then generates
// blocks of txsPerBlock mixed transactions on top.
func Build(n *devchain.Node, blocks, txsPerBlock int) (*Result, error) {
	names := Funded()
	keys := make([]*ecdsa.PrivateKey, len(names))
	addrs := make([]common.Address, len(names))
	for i, name := range names {
		keys[i], addrs[i] = devchain.Key(name), devchain.Addr(name)
	}
	deploy := func(code []byte) (common.Address, error) {
		tx, err := n.Transact(keys[0], nil, nil, code, 16_000_000)
		if err != nil {
			return common.Address{}, err
		}
		if _, err := n.Commit(); err != nil {
			return common.Address{}, err
		}
		r, err := n.Receipt(tx.Hash())
		if err != nil {
			return common.Address{}, err
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return common.Address{}, fmt.Errorf("benchchain: deployment %s failed", tx.Hash())
		}
		return r.ContractAddress, nil
	}
	router, err := deploy(contracts.Router())
	if err != nil {
		return nil, err
	}
	reverter, err := deploy(contracts.Reverter())
	if err != nil {
		return nil, err
	}
	catcher, err := deploy(contracts.Catcher())
	if err != nil {
		return nil, err
	}
	supply := new(big.Int).Lsh(big.NewInt(1), 200)
	token, err := deploy(contracts.ERC20(supply))
	if err != nil {
		return nil, err
	}
	const nfts = 100
	nft, err := deploy(contracts.ERC721(nfts))
	if err != nil {
		return nil, err
	}
	share := new(big.Int).Div(supply, big.NewInt(int64(len(names))))
	for i := 1; i < len(names); i++ {
		if _, err := n.Transact(keys[0], &token, nil, contracts.ERC20Transfer(addrs[i], share), 0); err != nil {
			return nil, err
		}
	}
	if _, err := n.Commit(); err != nil {
		return nil, err
	}
	owner := make([]int, nfts+1) // token id -> sender index; all start with sender 0
	recipients := make([]common.Address, 4096)
	for i := range recipients {
		recipients[i] = devchain.Addr(fmt.Sprintf("bench-recipient-%d", i))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	signer := n.Signer()
	first := n.Head() + 1
	var genErr error
	err = n.Generate(blocks, func(i int, b *core.BlockGen) {
		if genErr != nil {
			return
		}
		fee := new(big.Int).Add(new(big.Int).Mul(b.BaseFee(), big.NewInt(2)), devchain.GasTipCap)
		sign := func(from int, to common.Address, value *big.Int, data []byte, gas uint64, legacy bool) {
			var txdata types.TxData
			nonce := b.TxNonce(addrs[from])
			if legacy {
				txdata = &types.LegacyTx{Nonce: nonce, GasPrice: fee, Gas: gas, To: &to, Value: value, Data: data}
			} else {
				txdata = &types.DynamicFeeTx{ChainID: n.ChainID(), Nonce: nonce, GasTipCap: devchain.GasTipCap,
					GasFeeCap: fee, Gas: gas, To: &to, Value: value, Data: data}
			}
			tx, err := types.SignNewTx(keys[from], signer, txdata)
			if err != nil {
				genErr = err
				return
			}
			b.AddTx(tx)
		}
		for j := 0; j < txsPerBlock; j++ {
			from := rng.IntN(len(keys))
			to := recipients[rng.IntN(len(recipients))]
			amount := big.NewInt(1e12 + rng.Int64N(1e15))
			switch k := j % 25; {
			case k < 10: // plain transfers, a third of them legacy
				sign(from, to, amount, nil, 21_000, k%3 == 0)
			case k < 15: // fan-out by internal calls
				pays := []contracts.Payment{{To: to, Amount: amount},
					{To: recipients[rng.IntN(len(recipients))], Amount: amount},
					{To: recipients[rng.IntN(len(recipients))], Amount: amount}}
				sign(from, router, new(big.Int).Mul(amount, big.NewInt(3)), contracts.RouterCall(pays...), 300_000, false)
			case k < 20: // ERC-20
				sign(from, token, nil, contracts.ERC20Transfer(to, amount), 100_000, false)
			case k < 23: // ERC-721 between senders
				id := 1 + rng.IntN(nfts)
				next := rng.IntN(len(keys))
				sign(owner[id], nft, nil, contracts.ERC721TransferFrom(addrs[owner[id]], addrs[next], big.NewInt(int64(id))), 100_000, false)
				owner[id] = next
			default: // a reverted inner frame beside a payment
				sign(from, catcher, amount, contracts.CatcherCall(reverter, to, recipients[rng.IntN(len(recipients))]), 300_000, false)
			}
		}
	})
	if err == nil {
		err = genErr
	}
	if err != nil {
		return nil, err
	}
	return &Result{First: first, Last: n.Head(), Txs: blocks * txsPerBlock}, nil
}
