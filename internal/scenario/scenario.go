package scenario

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Label is one label an investigator holds (GraphSense categories).
type Label struct {
	Address  common.Address
	Label    string
	Category string
}

// Movement is a value movement the scenario made on purpose.
type Movement struct {
	Tx       common.Hash
	From, To common.Address
	Asset    string // "ETH" or the token contract
	Amount   *big.Int
	Internal bool // moved by a contract call, not the tx value
}

// Truth is a played scenario's ground truth.
type Truth struct {
	Name        string
	First, Last uint64 // block window the scenario used
	Seeds       []common.Address
	// Controlled are the addresses the launderer controls, with their role.
	Controlled map[common.Address]string
	// Deposits maps exchange deposit addresses to the exchange wallet
	// they sweep into.
	Deposits map[common.Address]common.Address
	// Conduits are contracts the funds pass through that nobody in the
	// case controls (routers, payment contracts).
	Conduits map[common.Address]string
	Labels   []Label
	// Endpoints: labelled wallet -> asset -> stolen amount delivered.
	Endpoints map[common.Address]map[string]*big.Int
	Token     common.Address
	Moves     []Movement
}

// player wraps a node with the bookkeeping every scenario needs.
type player struct {
	n     *devchain.Node
	truth *Truth
	err   error
}

// Ether returns n ether in wei; Milli returns n thousandths of an ether.
func Ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
func Milli(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e15)) }

func key(name string) *ecdsa.PrivateKey { return devchain.Key(name) }
func addr(name string) common.Address   { return devchain.Addr(name) }

func (p *player) send(from string, to common.Address, value *big.Int, data []byte) *types.Transaction {
	if p.err != nil {
		return nil
	}
	tx, err := p.n.Transact(key(from), &to, value, data, 0)
	if err != nil {
		p.err = fmt.Errorf("%s -> %s: %w", from, to.Hex(), err)
		return nil
	}
	return tx
}

// pay sends ETH and records the movement.
func (p *player) pay(from string, to common.Address, value *big.Int) {
	if tx := p.send(from, to, value, nil); tx != nil {
		p.truth.Moves = append(p.truth.Moves, Movement{Tx: tx.Hash(), From: addr(from), To: to, Asset: "ETH", Amount: value})
	}
}

// payToken sends ERC-20 tokens and records the movement.
func (p *player) payToken(from string, to common.Address, amount *big.Int) {
	if tx := p.send(from, p.truth.Token, nil, contracts.ERC20Transfer(to, amount)); tx != nil {
		p.truth.Moves = append(p.truth.Moves, Movement{Tx: tx.Hash(), From: addr(from), To: to, Asset: p.truth.Token.Hex(), Amount: amount})
	}
}

func (p *player) commit() {
	if p.err != nil {
		return
	}
	if _, err := p.n.Commit(); err != nil {
		p.err = err
	}
}

func (p *player) deploy(from string, code []byte) common.Address {
	if p.err != nil {
		return common.Address{}
	}
	a, err := p.n.Deploy(key(from), code, nil)
	if err != nil {
		p.err = err
	}
	return a
}

func (p *player) control(name, role string) common.Address {
	a := addr(name)
	p.truth.Controlled[a] = role
	return a
}

func (p *player) label(a common.Address, label, category string) {
	p.truth.Labels = append(p.truth.Labels, Label{Address: a, Label: label, Category: category})
}

func (p *player) endpoint(a common.Address, asset string, v *big.Int) {
	m := p.truth.Endpoints[a]
	if m == nil {
		m = map[string]*big.Int{}
		p.truth.Endpoints[a] = m
	}
	if m[asset] == nil {
		m[asset] = new(big.Int)
	}
	m[asset].Add(m[asset], v)
}

func newTruth(name string, n *devchain.Node) *Truth {
	return &Truth{
		Name: name, First: n.Head() + 1,
		Controlled: map[common.Address]string{},
		Deposits:   map[common.Address]common.Address{},
		Conduits:   map[common.Address]string{},
		Endpoints:  map[common.Address]map[string]*big.Int{},
	}
}
