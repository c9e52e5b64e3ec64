// Package devchain runs a real, in-process go-ethereum node for tests, demos
// and benchmarks.
//
// The node is wired like go-ethereum's ethclient/simulated backend (node +
// eth.New + filter API + catalyst.NewSimulatedBeacon with period 0), but it
// also serves HTTP JSON-RPC on 127.0.0.1 (random free port) with the eth,
// net, web3 and debug namespaces (including the tracers API, so
// debug_traceBlockByNumber with {"tracer":"callTracer"} works), keeps every
// historical state (hash scheme, no pruning) so any past block can be traced,
// and has no P2P networking. Blocks are sealed only when Commit is called, or
// appended in bulk with Generate.
//
// Keys are deterministic: Key(name) is the secp256k1 key
// sha256("chaintrace-devchain:"+name), so the same name means the same
// address in every run.
package devchain

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/eth/tracers"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	// Registers the native tracers (callTracer, prestateTracer, ...).
	_ "github.com/ethereum/go-ethereum/eth/tracers/native"
)

const (
	// DefaultGas is the minimum gas limit used when Transact is given gas 0.
	DefaultGas uint64 = 1_000_000
	// BlockGasLimit is the gas limit of every block (genesis and sealed).
	// It is large so that many DefaultGas transactions fit in one Commit.
	BlockGasLimit uint64 = 1_000_000_000
	// blockSpacing is the timestamp step of blocks made by Generate.
	blockSpacing = 1
)

var (
	// GasTipCap is the priority fee of every transaction built by Transact
	// (and added to the gas price of TransactLegacy).
	GasTipCap = big.NewInt(params.GWei)

	// DefaultBalance is the per-account prefund when Config.Balance is nil.
	DefaultBalance = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
)

// Config configures Start.
type Config struct {
	Funded  []string     // key names (see Key) to prefund in genesis
	Balance *big.Int     // per funded account; nil means DefaultBalance (1,000,000 ETH)
	Logger  *slog.Logger // geth's logs go here; nil means silent

	// DataDir, if set, stores the chain on disk there (reopening an existing
	// chain, which must have been created with the same genesis). Empty means
	// fully in memory.
	DataDir string

	// Alloc optionally adds more genesis accounts (e.g. prefunded contracts).
	// It wins over Funded on conflict.
	Alloc types.GenesisAlloc
}

// Node is a running in-process geth node. Its methods are safe for
// concurrent use.
type Node struct {
	stack   *node.Node
	backend *eth.Ethereum
	client  *ethclient.Client // in-process (no HTTP)
	signer  types.Signer
	url     string

	mu      sync.Mutex
	beacon  *catalyst.SimulatedBeacon
	nonces  map[common.Address]uint64 // next nonce per sender, lazily filled
	pending []common.Hash             // submitted, not yet committed
	closed  bool

	restoreLog func()
}

// Key returns the deterministic private key for name:
// crypto.ToECDSA(sha256("chaintrace-devchain:"+name)).
func Key(name string) *ecdsa.PrivateKey {
	if k, ok := keyCache.Load(name); ok {
		return k.(*ecdsa.PrivateKey)
	}
	seed := sha256.Sum256([]byte("chaintrace-devchain:" + name))
	k, err := crypto.ToECDSA(seed[:])
	if err != nil { // astronomically unlikely
		panic(fmt.Sprintf("devchain: key %q: %v", name, err))
	}
	actual, _ := keyCache.LoadOrStore(name, k)
	return actual.(*ecdsa.PrivateKey)
}

var keyCache sync.Map

// Addr returns the address of Key(name).
func Addr(name string) common.Address {
	return crypto.PubkeyToAddress(Key(name).PublicKey)
}

// Start launches a node with the given config. Close it when done.
func Start(cfg Config) (*Node, error) {
	restoreLog := installLogger(cfg.Logger)
	n, err := start(cfg)
	if err != nil {
		restoreLog()
		return nil, err
	}
	n.restoreLog = restoreLog
	return n, nil
}

func start(cfg Config) (*Node, error) {
	balance := cfg.Balance
	if balance == nil {
		balance = DefaultBalance
	}
	alloc := core.SystemContractAllocs()
	for _, name := range cfg.Funded {
		alloc[Addr(name)] = types.Account{Balance: new(big.Int).Set(balance)}
	}
	maps.Copy(alloc, cfg.Alloc)

	nodeConf := node.DefaultConfig
	nodeConf.Name = "chaintrace-devchain"
	nodeConf.DataDir = cfg.DataDir
	nodeConf.IPCPath = "" // no IPC socket (would collide between nodes)
	nodeConf.P2P = p2p.Config{NoDiscovery: true, NoDial: true, MaxPeers: 0}
	nodeConf.HTTPHost = "127.0.0.1"
	nodeConf.HTTPPort = 0 // random free port
	nodeConf.HTTPModules = []string{"eth", "net", "web3", "debug"}
	nodeConf.HTTPVirtualHosts = []string{"localhost", "127.0.0.1"}
	nodeConf.WSHost = ""
	nodeConf.AuthPort = 0
	if cfg.Logger != nil {
		nodeConf.Logger = log.NewLogger(cfg.Logger.Handler())
	}

	ethConf := ethconfig.Defaults
	ethConf.Genesis = &core.Genesis{
		Config:   params.AllDevChainProtocolChanges,
		GasLimit: BlockGasLimit,
		Alloc:    alloc,
	}
	ethConf.NetworkId = params.AllDevChainProtocolChanges.ChainID.Uint64()
	ethConf.SyncMode = ethconfig.FullSync
	// Archive: every block's state is kept, so any past block can be traced.
	ethConf.NoPruning = true
	ethConf.StateScheme = rawdb.HashScheme
	ethConf.Preimages = true
	ethConf.Miner.GasCeil = BlockGasLimit
	ethConf.TxPool.NoLocals = true
	ethConf.TxPool.Journal = ""
	ethConf.TxPool.AccountSlots = 4096
	ethConf.TxPool.AccountQueue = 4096
	ethConf.TxPool.GlobalSlots = 65536
	ethConf.TxPool.GlobalQueue = 16384
	ethConf.BlobPool.Datadir = ""
	// Like the simulated backend: no log index, filters scan blocks directly
	// (always consistent right after Commit).
	ethConf.LogNoHistory = true
	// Modest caches: several nodes may run in one test process.
	ethConf.DatabaseCache = 64
	ethConf.TrieCleanCache = 128
	ethConf.TrieDirtyCache = 0
	ethConf.SnapshotCache = 64

	stack, err := node.New(&nodeConf)
	if err != nil {
		return nil, fmt.Errorf("devchain: new node: %w", err)
	}
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		stack.Close()
		return nil, fmt.Errorf("devchain: new eth service: %w", err)
	}
	filterSystem := filters.NewFilterSystem(backend.APIBackend, filters.Config{})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(filterSystem)}})
	stack.RegisterAPIs(tracers.APIs(backend.APIBackend))

	if err := stack.Start(); err != nil {
		stack.Close()
		return nil, fmt.Errorf("devchain: start node: %w", err)
	}
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		stack.Close()
		return nil, fmt.Errorf("devchain: simulated beacon: %w", err)
	}
	if backend.BlockChain().CurrentBlock().Number.Sign() == 0 {
		if err := beacon.Fork(backend.BlockChain().Genesis().Hash()); err != nil {
			stack.Close()
			return nil, fmt.Errorf("devchain: fork to genesis: %w", err)
		}
	}
	endpoint := stack.HTTPEndpoint()
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		stack.Close()
		return nil, fmt.Errorf("devchain: unexpected HTTP endpoint %q", endpoint)
	}
	return &Node{
		stack:   stack,
		backend: backend,
		client:  ethclient.NewClient(stack.Attach()),
		signer:  types.LatestSigner(backend.BlockChain().Config()),
		url:     endpoint,
		beacon:  beacon,
		nonces:  make(map[common.Address]uint64),
	}, nil
}

// installLogger routes geth's global logger to l (nil: leave geth's default,
// which discards everything). geth logs through a process-wide root logger,
// so with several nodes the last Start with a Logger wins until its Close.
// slog's own default logger is not touched.
func installLogger(l *slog.Logger) (restore func()) {
	if l == nil {
		return func() {}
	}
	prev := log.Root()
	mine := rootLogger{log.NewLogger(l.Handler())}
	log.SetDefault(mine)
	return func() {
		if r, ok := log.Root().(rootLogger); ok && r == mine {
			log.SetDefault(prev)
		}
	}
}

// rootLogger wraps a log.Logger so that log.SetDefault does not also replace
// slog's process-wide default (it only does so for geth's own type).
type rootLogger struct{ log.Logger }

// URL returns the HTTP JSON-RPC endpoint, "http://127.0.0.1:PORT".
func (n *Node) URL() string { return n.url }

// ChainID returns the chain id (1337).
func (n *Node) ChainID() *big.Int {
	return new(big.Int).Set(n.backend.BlockChain().Config().ChainID)
}

// Backend returns the underlying eth service.
func (n *Node) Backend() *eth.Ethereum { return n.backend }

// Signer returns the signer used for every transaction (latest fork rules,
// chain id 1337); use it to sign transactions inside Generate.
func (n *Node) Signer() types.Signer { return n.signer }

// Head returns the current head block number.
func (n *Node) Head() uint64 { return n.backend.BlockChain().CurrentBlock().Number.Uint64() }

// Close stops the node and releases its port. It is safe to call twice.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	n.client.Close()
	err := n.beacon.Stop()
	err = errors.Join(err, n.stack.Close())
	if n.restoreLog != nil {
		n.restoreLog()
	}
	return err
}

// Balance returns addr's balance at the head block.
func (n *Node) Balance(addr common.Address) (*big.Int, error) {
	st, err := n.backend.BlockChain().State()
	if err != nil {
		return nil, err
	}
	return st.GetBalance(addr).ToBig(), nil
}

// Code returns addr's code at the head block.
func (n *Node) Code(addr common.Address) ([]byte, error) {
	st, err := n.backend.BlockChain().State()
	if err != nil {
		return nil, err
	}
	return st.GetCode(addr), nil
}

// Transact builds a dynamic-fee (EIP-1559) transaction, signs it with from
// and adds it to the pool; it is mined by the next Commit. Nonces are tracked
// locally per sender, so any number of transactions can be queued before a
// Commit. to == nil creates a contract. gas == 0 means
// max(DefaultGas, 1.5 × eth_estimateGas against the head state) capped at
// the EIP-7825 per-transaction limit, or DefaultGas if estimation fails (e.g.
// for a call that reverts, which is then still mined and fails).
func (n *Node) Transact(from *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte, gas uint64) (*types.Transaction, error) {
	return n.transact(from, to, value, data, gas, false)
}

// TransactLegacy is Transact with a legacy (EIP-155 signed, gasPrice)
// transaction.
func (n *Node) TransactLegacy(from *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte, gas uint64) (*types.Transaction, error) {
	return n.transact(from, to, value, data, gas, true)
}

func (n *Node) transact(from *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte, gas uint64, legacy bool) (*types.Transaction, error) {
	if value == nil {
		value = new(big.Int)
	}
	sender := crypto.PubkeyToAddress(from.PublicKey)
	if gas == 0 {
		gas = n.estimate(sender, to, value, data)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, errors.New("devchain: node closed")
	}
	// The pool's pending nonce covers transactions sent by others (e.g. over
	// RPC); the local counter covers ones the pool has not surfaced yet.
	nonce := max(n.nonces[sender], n.backend.TxPool().Nonce(sender))
	bc := n.backend.BlockChain()
	baseFee := eip1559.CalcBaseFee(bc.Config(), bc.CurrentBlock())
	feeCap := new(big.Int).Add(new(big.Int).Mul(baseFee, big.NewInt(2)), GasTipCap)
	var txdata types.TxData
	if legacy {
		txdata = &types.LegacyTx{
			Nonce: nonce, GasPrice: feeCap, Gas: gas, To: to, Value: value, Data: data,
		}
	} else {
		txdata = &types.DynamicFeeTx{
			ChainID: n.ChainID(), Nonce: nonce, GasTipCap: new(big.Int).Set(GasTipCap), GasFeeCap: feeCap,
			Gas: gas, To: to, Value: value, Data: data,
		}
	}
	tx, err := types.SignNewTx(from, n.signer, txdata)
	if err != nil {
		return nil, fmt.Errorf("devchain: sign: %w", err)
	}
	if err := n.backend.TxPool().Add([]*types.Transaction{tx}, true)[0]; err != nil {
		return nil, fmt.Errorf("devchain: add tx %s (from %s nonce %d): %w", tx.Hash(), sender, nonce, err)
	}
	n.nonces[sender] = nonce + 1
	n.pending = append(n.pending, tx.Hash())
	return tx, nil
}

func (n *Node) estimate(from common.Address, to *common.Address, value *big.Int, data []byte) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	est, err := n.client.EstimateGas(ctx, ethereum.CallMsg{From: from, To: to, Value: value, Data: data})
	if err != nil {
		return DefaultGas
	}
	return min(max(DefaultGas, est+est/2), params.MaxTxGas)
}

// Commit seals one block holding every pending transaction, waits until it
// is the head, and returns its number. It errors if any transaction submitted
// through this Node since the last Commit was not included (those are then
// forgotten and their senders' nonces re-read from the pool).
func (n *Node) Commit() (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return 0, errors.New("devchain: node closed")
	}
	bc := n.backend.BlockChain()
	parent := bc.CurrentBlock()
	n.beacon.Commit()
	head := bc.CurrentBlock()
	if head.Hash() == parent.Hash() || head.Number.Uint64() != parent.Number.Uint64()+1 {
		return 0, fmt.Errorf("devchain: block not sealed (head %d -> %d)", parent.Number, head.Number)
	}
	block := bc.GetBlock(head.Hash(), head.Number.Uint64())
	if block == nil {
		return 0, fmt.Errorf("devchain: sealed block %d not found", head.Number)
	}
	included := make(map[common.Hash]bool, len(block.Transactions()))
	for _, tx := range block.Transactions() {
		included[tx.Hash()] = true
	}
	var missing []string
	for _, h := range n.pending {
		if !included[h] {
			missing = append(missing, h.Hex())
		}
	}
	n.pending = n.pending[:0]
	// Let the pool validate against the new head before anyone sends more:
	// otherwise a transaction spending funds received in this block can be
	// refused for "insufficient funds" against the pool's stale state.
	if err := n.backend.TxPool().Sync(); err != nil {
		return head.Number.Uint64(), fmt.Errorf("devchain: txpool sync: %w", err)
	}
	if len(missing) > 0 {
		clear(n.nonces) // re-read from the pool on next use
		return head.Number.Uint64(), fmt.Errorf("devchain: block %d is missing %d submitted tx(s): %s",
			head.Number, len(missing), strings.Join(missing, ", "))
	}
	return head.Number.Uint64(), nil
}

// Receipt returns the receipt of a mined transaction (canonical chain).
func (n *Node) Receipt(hash common.Hash) (*types.Receipt, error) {
	bc := n.backend.BlockChain()
	lookup, _ := bc.GetCanonicalTransaction(hash)
	if lookup == nil {
		return nil, fmt.Errorf("devchain: transaction %s not found", hash)
	}
	receipts := bc.GetReceiptsByHash(lookup.BlockHash)
	if lookup.Index >= uint64(len(receipts)) {
		return nil, fmt.Errorf("devchain: receipt of %s not found", hash)
	}
	return receipts[lookup.Index], nil
}

// Deploy sends a contract creation with initcode and value, commits it and
// returns the new contract's address. It fails if the creation reverted.
func (n *Node) Deploy(from *ecdsa.PrivateKey, initcode []byte, value *big.Int) (common.Address, error) {
	tx, err := n.Transact(from, nil, value, initcode, 0)
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
		return common.Address{}, fmt.Errorf("devchain: deployment %s failed (gas used %d of %d)", tx.Hash(), r.GasUsed, tx.Gas())
	}
	return r.ContractAddress, nil
}

// Generate appends blocks in bulk, much faster than Transact+Commit: it
// builds them with core.GenerateChain on top of the current head (same chain
// config and consensus engine, block timestamps 1 s apart) and inserts them
// into the node's blockchain. gen is called for each block with its index
// (0-based) and adds transactions with b.AddTx; sign them with Key(...) and
// n.Signer(), taking nonces from b.TxNonce(addr). b.AddTx panics on an
// invalid transaction; Generate turns that into an error and inserts nothing.
// Pending (uncommitted) transactions must be committed first. Afterwards the
// Node's nonce tracking is re-read from the new head state.
func (n *Node) Generate(blocks int, gen func(i int, b *core.BlockGen)) (err error) {
	if blocks <= 0 {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("devchain: node closed")
	}
	if len(n.pending) > 0 {
		return fmt.Errorf("devchain: %d submitted transaction(s) not committed; Commit before Generate", len(n.pending))
	}
	bc := n.backend.BlockChain()
	head := bc.CurrentBlock()
	parent := bc.GetBlock(head.Hash(), head.Number.Uint64())
	if parent == nil {
		return fmt.Errorf("devchain: head block %d not found", head.Number)
	}
	defer relaxGC()()
	chain, err := generateChain(bc.Config(), parent, bc.Engine(), n.backend.ChainDb(), blocks, gen)
	if err != nil {
		return err
	}
	if i, err := bc.InsertChain(chain); err != nil {
		return fmt.Errorf("devchain: insert generated block %d: %w", chain[i].NumberU64(), err)
	}
	// Let the pool catch up with the new head, then forget cached nonces.
	if err := n.backend.TxPool().Sync(); err != nil {
		return fmt.Errorf("devchain: txpool sync: %w", err)
	}
	clear(n.nonces)
	// The simulated beacon remembers the timestamp of the last block it
	// sealed; restart it so the next Commit builds on the generated head.
	if err := n.beacon.Stop(); err != nil {
		return err
	}
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, n.backend)
	if err != nil {
		return fmt.Errorf("devchain: restart simulated beacon: %w", err)
	}
	n.beacon = beacon
	return nil
}

// relaxGC raises the GC target to at least bulkGCPercent until the returned
// func is called. core.GenerateChain allocates a fresh EVM arena (~44 KB)
// per transaction, so with the default GOGC most of Generate's garbage
// collection work is pure churn; this cuts Generate's CPU time by ~10%.
// The setting is process-wide; nested/concurrent calls are reference counted
// and the original value is restored by the last one.
func relaxGC() (restore func()) {
	gcMu.Lock()
	defer gcMu.Unlock()
	if gcUsers == 0 {
		gcSaved = debug.SetGCPercent(-1)
		if gcSaved >= 0 && gcSaved < bulkGCPercent {
			debug.SetGCPercent(bulkGCPercent)
		} else {
			debug.SetGCPercent(gcSaved)
		}
	}
	gcUsers++
	return func() {
		gcMu.Lock()
		defer gcMu.Unlock()
		if gcUsers--; gcUsers == 0 {
			debug.SetGCPercent(gcSaved)
		}
	}
}

const bulkGCPercent = 400

var (
	gcMu    sync.Mutex
	gcUsers int
	gcSaved int
)

func generateChain(config *params.ChainConfig, parent *types.Block, engine consensus.Engine, db ethdb.Database, blocks int, gen func(int, *core.BlockGen)) (chain []*types.Block, err error) {
	defer func() {
		if r := recover(); r != nil {
			chain, err = nil, fmt.Errorf("devchain: generate: %v", r)
		}
	}()
	chain, _ = core.GenerateChain(config, parent, engine, db, blocks, func(i int, b *core.BlockGen) {
		b.OffsetTime(blockSpacing - 10) // GenerateChain steps 10 s
		if gen != nil {
			gen(i, b)
		}
	})
	return chain, nil
}

// Fork makes block number parent the head again, as a reorganisation does:
// the blocks above it stay in the database as a side chain (still readable
// by hash) and the next Commit or Generate builds a new branch on parent,
// which is canonical from its first block on. As on a real node, the
// transactions of the dropped blocks go back to the pool, so the next Commit
// mines them again; call RollbackPool first to leave them out. Submitted
// transactions must be committed before a Fork (the simulated beacon
// refuses to fork with a non-empty pool). It is go-ethereum's
// ethclient/simulated Backend.Fork, by block number.
func (n *Node) Fork(parent uint64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("devchain: node closed")
	}
	if len(n.pending) > 0 {
		return fmt.Errorf("devchain: %d submitted transaction(s) not committed; Commit before Fork", len(n.pending))
	}
	bc := n.backend.BlockChain()
	if head := bc.CurrentBlock().Number.Uint64(); parent > head {
		return fmt.Errorf("devchain: fork at block %d: beyond the head %d", parent, head)
	}
	blk := bc.GetBlockByNumber(parent)
	if blk == nil {
		return fmt.Errorf("devchain: fork at block %d: not found", parent)
	}
	if err := n.beacon.Fork(blk.Hash()); err != nil {
		return fmt.Errorf("devchain: fork at block %d: %w", parent, err)
	}
	if got := bc.CurrentBlock(); got.Hash() != blk.Hash() {
		return fmt.Errorf("devchain: fork at block %d: head is %d %s", parent, got.Number, got.Hash())
	}
	// Let the pool take the dropped blocks' transactions back before anyone
	// sends or commits, and re-read nonces from it.
	if err := n.backend.TxPool().Sync(); err != nil {
		return fmt.Errorf("devchain: txpool sync: %w", err)
	}
	clear(n.nonces)
	return nil
}

// RollbackPool drops every transaction waiting in the pool, among them those
// a Fork returned to it, so that the next block holds only what is sent
// after. It is go-ethereum's SimulatedBeacon.Rollback.
func (n *Node) RollbackPool() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("devchain: node closed")
	}
	n.backend.TxPool().Clear()
	n.pending = n.pending[:0]
	clear(n.nonces)
	return nil
}
