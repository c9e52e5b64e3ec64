package devchain_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
)

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

func start(t *testing.T, cfg devchain.Config) *devchain.Node {
	t.Helper()
	n, err := devchain.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

func dial(t *testing.T, n *devchain.Node) *rpc.Client {
	t.Helper()
	c, err := rpc.Dial(n.URL())
	if err != nil {
		t.Fatalf("dial %s: %v", n.URL(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// must panics on error; a panic fails the test with a stack trace (Go does
// not allow must(f()) with a multi-value f).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func balance(t *testing.T, n *devchain.Node, a common.Address) *big.Int {
	t.Helper()
	b, err := n.Balance(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantBalance(t *testing.T, n *devchain.Node, name string, a common.Address, want *big.Int) {
	t.Helper()
	if got := balance(t, n, a); got.Cmp(want) != 0 {
		t.Errorf("balance of %s (%s) = %s, want %s", name, a, got, want)
	}
}

// callFrame is the JSON shape of geth's callTracer output.
type callFrame struct {
	Type         string          `json:"type"`
	From         common.Address  `json:"from"`
	To           *common.Address `json:"to"`
	Value        *hexutil.Big    `json:"value"`
	Input        hexutil.Bytes   `json:"input"`
	Output       hexutil.Bytes   `json:"output"`
	Error        string          `json:"error"`
	RevertReason string          `json:"revertReason"`
	Calls        []callFrame     `json:"calls"`
}

type txTrace struct {
	TxHash common.Hash `json:"txHash"`
	Result callFrame   `json:"result"`
	Error  string      `json:"error"`
}

func traceBlock(t *testing.T, c *rpc.Client, number uint64) []txTrace {
	t.Helper()
	var out []txTrace
	err := c.Call(&out, "debug_traceBlockByNumber", hexutil.Uint64(number), map[string]any{"tracer": "callTracer"})
	if err != nil {
		t.Fatalf("debug_traceBlockByNumber(%d): %v", number, err)
	}
	return out
}

func (f callFrame) value() *big.Int {
	if f.Value == nil {
		return new(big.Int)
	}
	return f.Value.ToInt()
}

// check asserts one frame's type, endpoints, value and error.
func check(t *testing.T, what string, f callFrame, typ string, from, to common.Address, value *big.Int, errSub string) {
	t.Helper()
	if f.Type != typ {
		t.Errorf("%s: type %s, want %s", what, f.Type, typ)
	}
	if f.From != from {
		t.Errorf("%s: from %s, want %s", what, f.From, from)
	}
	if f.To == nil || *f.To != to {
		t.Errorf("%s: to %v, want %s", what, f.To, to)
	}
	if value != nil && f.value().Cmp(value) != 0 {
		t.Errorf("%s: value %s, want %s", what, f.value(), value)
	}
	if errSub == "" && f.Error != "" {
		t.Errorf("%s: unexpected error %q", what, f.Error)
	}
	if errSub != "" && !strings.Contains(f.Error, errSub) {
		t.Errorf("%s: error %q, want it to contain %q", what, f.Error, errSub)
	}
}

func TestKeys(t *testing.T) {
	seed := sha256.Sum256([]byte("chaintrace-devchain:alice"))
	want := must(crypto.ToECDSA(seed[:]))
	if !devchain.Key("alice").Equal(want) {
		t.Fatal("Key(alice) is not sha256-derived")
	}
	if devchain.Addr("alice") != crypto.PubkeyToAddress(want.PublicKey) {
		t.Fatal("Addr(alice) mismatch")
	}
	if devchain.Addr("alice") == devchain.Addr("bob") {
		t.Fatal("distinct names share an address")
	}
}

func TestContracts(t *testing.T) {
	n := start(t, devchain.Config{Funded: []string{"alice", "bob"}})
	c := dial(t, n)
	ec := ethclient.NewClient(c)
	ctx := context.Background()

	if id := must(ec.ChainID(ctx)); id.Cmp(big.NewInt(1337)) != 0 || n.ChainID().Cmp(id) != 0 {
		t.Fatalf("chain id %s / %s", id, n.ChainID())
	}
	alice, bob := devchain.Key("alice"), devchain.Key("bob")
	aliceA, bobA := devchain.Addr("alice"), devchain.Addr("bob")
	wantBalance(t, n, "alice", aliceA, devchain.DefaultBalance)

	deploy := func(name string, code []byte, value *big.Int) common.Address {
		t.Helper()
		a, err := n.Deploy(alice, code, value)
		if err != nil {
			t.Fatalf("deploy %s: %v", name, err)
		}
		if len(must(n.Code(a))) == 0 {
			t.Fatalf("deploy %s: no code at %s", name, a)
		}
		return a
	}
	router := deploy("router", contracts.Router(), nil)
	reverter := deploy("reverter", contracts.Reverter(), nil)
	catcher := deploy("catcher", contracts.Catcher(), nil)
	proxy := deploy("proxy", contracts.Proxy(router), nil)
	supply := big.NewInt(1_000_000)
	token := deploy("erc20", contracts.ERC20(supply), nil)
	nft := deploy("erc721", contracts.ERC721(3), nil)
	sweeper := deploy("sweeper", contracts.Sweeper(), eth(2))
	factory := deploy("factory", contracts.Factory(), nil)
	sink := deploy("sink", contracts.Sink(), nil)
	if n.Head() != 9 {
		t.Fatalf("head %d after 9 deployments", n.Head())
	}

	// Constructor events.
	tokenDeployBlock := n.Head() - 4
	logs := must(ec.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(tokenDeployBlock), ToBlock: new(big.Int).SetUint64(tokenDeployBlock + 1),
		Topics: [][]common.Hash{{contracts.TransferTopic}},
	}))
	if len(logs) != 4 { // 1 ERC-20 mint + 3 ERC-721 mints
		t.Fatalf("eth_getLogs: %d Transfer logs, want 4", len(logs))
	}
	if l := logs[0]; l.Address != token || len(l.Topics) != 3 || l.Topics[1] != (common.Hash{}) ||
		common.BytesToAddress(l.Topics[2].Bytes()) != aliceA || new(big.Int).SetBytes(l.Data).Cmp(supply) != 0 {
		t.Errorf("ERC-20 mint log: %+v", l)
	}
	for i, l := range logs[1:] {
		if l.Address != nft || len(l.Topics) != 4 || len(l.Data) != 0 ||
			common.BytesToAddress(l.Topics[2].Bytes()) != aliceA || l.Topics[3].Big().Int64() != int64(i+1) {
			t.Errorf("ERC-721 mint log %d: %+v", i, l)
		}
	}

	// Fund the proxy first (plain transfer: the proxy delegates empty
	// calldata to the router, a no-op).
	proxyFund := must(n.Transact(alice, &proxy, eth(5), nil, 0))
	must(n.Commit())
	if r := must(n.Receipt(proxyFund.Hash())); r.Status != 1 {
		t.Fatal("funding the proxy failed")
	}

	var (
		e1, e2, e3 = devchain.Addr("eoa1"), devchain.Addr("eoa2"), devchain.Addr("eoa3")
		revTarget  = devchain.Addr("reverter-target")
		x, y       = devchain.Addr("x"), devchain.Addr("y")
		p1, p2     = devchain.Addr("p1"), devchain.Addr("p2")
		swept      = devchain.Addr("swept")
		legacyTo   = devchain.Addr("legacy")
	)
	// One block with every scenario. All but one tx are from alice, so the
	// block order is the submission order.
	type step struct {
		name string
		tx   *types.Transaction
		ok   bool
	}
	var steps []step
	send := func(name string, to common.Address, value *big.Int, data []byte, ok bool) {
		t.Helper()
		tx, err := n.Transact(alice, &to, value, data, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		steps = append(steps, step{name, tx, ok})
	}
	send("router", router, eth(6), contracts.RouterCall(
		contracts.Payment{To: e1, Amount: eth(1)},
		contracts.Payment{To: e2, Amount: eth(2)},
		contracts.Payment{To: e3, Amount: eth(3)}), true)
	send("reverter", reverter, eth(1), contracts.ReverterCall(revTarget), false)
	send("catcher", catcher, eth(4), contracts.CatcherCall(reverter, x, y), true)
	send("proxy", proxy, nil, contracts.RouterCall(
		contracts.Payment{To: p1, Amount: eth(1)},
		contracts.Payment{To: p2, Amount: eth(2)}), true)
	send("erc20", token, nil, contracts.ERC20Transfer(bobA, big.NewInt(100)), true)
	send("erc20-over", token, nil, contracts.ERC20Transfer(bobA, new(big.Int).Add(supply, common.Big1)), false)
	send("erc721", nft, nil, contracts.ERC721TransferFrom(aliceA, bobA, big.NewInt(2)), true)
	send("sweeper", sweeper, eth(1), contracts.SweeperCall(swept), true)
	send("factory", factory, eth(1), nil, true)
	send("sink", sink, eth(1), nil, true)
	legacy := must(n.TransactLegacy(alice, &legacyTo, eth(1), nil, 0))
	steps = append(steps, step{"legacy", legacy, true})
	// bob tries to move alice's NFT: caller != from.
	stolen := must(n.Transact(bob, &nft, nil, contracts.ERC721TransferFrom(aliceA, bobA, big.NewInt(1)), 0))
	block := must(n.Commit())
	if block != n.Head() {
		t.Fatalf("Commit returned %d, head %d", block, n.Head())
	}

	for _, s := range steps {
		r := must(n.Receipt(s.tx.Hash()))
		if r.BlockNumber.Uint64() != block {
			t.Errorf("%s: mined in %d, want %d", s.name, r.BlockNumber, block)
		}
		if (r.Status == 1) != s.ok {
			t.Errorf("%s: status %d, want ok=%v", s.name, r.Status, s.ok)
		}
	}
	if r := must(n.Receipt(stolen.Hash())); r.Status != 0 {
		t.Error("bob moved alice's NFT")
	}
	if r := must(n.Receipt(legacy.Hash())); r.Type != types.LegacyTxType {
		t.Errorf("legacy tx has type %d", r.Type)
	}

	// Balances.
	wantBalance(t, n, "eoa1", e1, eth(1))
	wantBalance(t, n, "eoa2", e2, eth(2))
	wantBalance(t, n, "eoa3", e3, eth(3))
	wantBalance(t, n, "router", router, new(big.Int))
	wantBalance(t, n, "reverter target", revTarget, new(big.Int))
	wantBalance(t, n, "reverter", reverter, new(big.Int))
	wantBalance(t, n, "x", x, new(big.Int))
	wantBalance(t, n, "y", y, eth(4))
	wantBalance(t, n, "catcher", catcher, new(big.Int))
	wantBalance(t, n, "p1", p1, eth(1))
	wantBalance(t, n, "p2", p2, eth(2))
	wantBalance(t, n, "proxy", proxy, eth(2))
	wantBalance(t, n, "swept", swept, eth(3))
	wantBalance(t, n, "sweeper", sweeper, new(big.Int))
	child := crypto.CreateAddress(factory, 1)
	wantBalance(t, n, "factory child", child, eth(1))
	wantBalance(t, n, "factory", factory, new(big.Int))
	wantBalance(t, n, "sink", sink, eth(1))
	wantBalance(t, n, "legacy", legacyTo, eth(1))
	if code := must(n.Code(child)); !bytes.Equal(code, []byte{0x00}) {
		t.Errorf("factory child code %x", code)
	}
	if len(must(n.Code(sweeper))) == 0 {
		t.Error("sweeper code deleted (EIP-6780 says it stays)")
	}

	// Token state via eth_call.
	call := func(to common.Address, data []byte) []byte {
		t.Helper()
		return must(ec.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, nil))
	}
	if got := new(big.Int).SetBytes(call(token, contracts.ERC20BalanceOf(bobA))); got.Int64() != 100 {
		t.Errorf("balanceOf(bob) = %s", got)
	}
	if got := new(big.Int).SetBytes(call(token, contracts.ERC20BalanceOf(aliceA))); got.Cmp(new(big.Int).Sub(supply, big.NewInt(100))) != 0 {
		t.Errorf("balanceOf(alice) = %s", got)
	}
	if got := common.BytesToAddress(call(nft, contracts.ERC721OwnerOf(big.NewInt(2)))); got != bobA {
		t.Errorf("ownerOf(2) = %s", got)
	}
	if got := common.BytesToAddress(call(nft, contracts.ERC721OwnerOf(big.NewInt(1)))); got != aliceA {
		t.Errorf("ownerOf(1) = %s", got)
	}
	if _, err := ec.CallContract(ctx, ethereum.CallMsg{To: &nft, Data: contracts.ERC721OwnerOf(big.NewInt(4))}, nil); err == nil {
		t.Error("ownerOf(4) of a 3-token collection did not revert")
	}
	// Token logs in the receipts.
	r20 := must(n.Receipt(steps[4].tx.Hash()))
	if len(r20.Logs) != 1 || len(r20.Logs[0].Topics) != 3 || r20.Logs[0].Topics[0] != contracts.TransferTopic ||
		common.BytesToAddress(r20.Logs[0].Topics[1].Bytes()) != aliceA || common.BytesToAddress(r20.Logs[0].Topics[2].Bytes()) != bobA ||
		new(big.Int).SetBytes(r20.Logs[0].Data).Int64() != 100 {
		t.Errorf("ERC-20 transfer logs: %+v", r20.Logs)
	}
	r721 := must(n.Receipt(steps[6].tx.Hash()))
	if len(r721.Logs) != 1 || len(r721.Logs[0].Topics) != 4 || r721.Logs[0].Topics[3].Big().Int64() != 2 {
		t.Errorf("ERC-721 transfer logs: %+v", r721.Logs)
	}

	// eth_getBlockReceipts over HTTP.
	var receipts []*types.Receipt
	if err := c.Call(&receipts, "eth_getBlockReceipts", hexutil.Uint64(block)); err != nil {
		t.Fatalf("eth_getBlockReceipts: %v", err)
	}
	if len(receipts) != len(steps)+1 {
		t.Fatalf("eth_getBlockReceipts: %d receipts, want %d", len(receipts), len(steps)+1)
	}
	for i, s := range steps {
		if receipts[i].TxHash != s.tx.Hash() || (receipts[i].Status == 1) != s.ok {
			t.Errorf("eth_getBlockReceipts[%d]: %s status %d, want %s ok=%v", i, receipts[i].TxHash, receipts[i].Status, s.name, s.ok)
		}
	}

	// debug_traceBlockByNumber with callTracer over HTTP.
	traces := traceBlock(t, c, block)
	if len(traces) != len(steps)+1 {
		t.Fatalf("trace: %d txs, want %d", len(traces), len(steps)+1)
	}
	byName := map[string]callFrame{}
	for i, s := range steps {
		if traces[i].TxHash != s.tx.Hash() || traces[i].Error != "" {
			t.Fatalf("trace[%d] = %s (err %q), want %s", i, traces[i].TxHash, traces[i].Error, s.name)
		}
		byName[s.name] = traces[i].Result
	}
	subcalls := func(name string, f callFrame, want int) []callFrame {
		t.Helper()
		if len(f.Calls) != want {
			t.Fatalf("%s: %d sub-calls, want %d: %+v", name, len(f.Calls), want, f.Calls)
		}
		return f.Calls
	}

	f := byName["router"]
	check(t, "router", f, "CALL", aliceA, router, eth(6), "")
	for i, sc := range subcalls("router", f, 3) {
		check(t, fmt.Sprintf("router.calls[%d]", i), sc, "CALL", router, []common.Address{e1, e2, e3}[i], eth(int64(i+1)), "")
	}

	f = byName["reverter"]
	check(t, "reverter", f, "CALL", aliceA, reverter, eth(1), "execution reverted")
	if f.RevertReason != contracts.RevertReason {
		t.Errorf("reverter: revertReason %q", f.RevertReason)
	}
	if !bytes.Equal(f.Output, contracts.RevertData()) {
		t.Errorf("reverter: output %x", f.Output)
	}
	check(t, "reverter.calls[0]", subcalls("reverter", f, 1)[0], "CALL", reverter, revTarget, eth(1), "")

	f = byName["catcher"]
	check(t, "catcher", f, "CALL", aliceA, catcher, eth(4), "")
	cc := subcalls("catcher", f, 2)
	check(t, "catcher.calls[0]", cc[0], "CALL", catcher, reverter, eth(2), "execution reverted")
	check(t, "catcher.calls[0].calls[0]", subcalls("catcher.calls[0]", cc[0], 1)[0], "CALL", reverter, x, eth(2), "")
	check(t, "catcher.calls[1]", cc[1], "CALL", catcher, y, eth(4), "")

	f = byName["proxy"]
	check(t, "proxy", f, "CALL", aliceA, proxy, new(big.Int), "")
	dc := subcalls("proxy", f, 1)[0]
	check(t, "proxy.calls[0]", dc, "DELEGATECALL", proxy, router, nil, "")
	for i, sc := range subcalls("proxy.calls[0]", dc, 2) {
		// The router's code runs in the proxy's context: the proxy pays.
		check(t, fmt.Sprintf("proxy.calls[0].calls[%d]", i), sc, "CALL", proxy, []common.Address{p1, p2}[i], eth(int64(i+1)), "")
	}

	check(t, "erc20", byName["erc20"], "CALL", aliceA, token, new(big.Int), "")
	subcalls("erc20", byName["erc20"], 0)
	check(t, "erc20-over", byName["erc20-over"], "CALL", aliceA, token, new(big.Int), "execution reverted")
	check(t, "erc721", byName["erc721"], "CALL", aliceA, nft, new(big.Int), "")

	f = byName["sweeper"]
	check(t, "sweeper", f, "CALL", aliceA, sweeper, eth(1), "")
	check(t, "sweeper.calls[0]", subcalls("sweeper", f, 1)[0], "SELFDESTRUCT", sweeper, swept, eth(3), "")

	f = byName["factory"]
	check(t, "factory", f, "CALL", aliceA, factory, eth(1), "")
	check(t, "factory.calls[0]", subcalls("factory", f, 1)[0], "CREATE", factory, child, eth(1), "")
	if got := common.BytesToAddress(f.Output); got != child {
		t.Errorf("factory returned %s, want %s", got, child)
	}

	check(t, "sink", byName["sink"], "CALL", aliceA, sink, eth(1), "")
	check(t, "legacy", byName["legacy"], "CALL", aliceA, legacyTo, eth(1), "")
	check(t, "stolen", traces[len(steps)].Result, "CALL", bobA, nft, new(big.Int), "execution reverted")

	// A contract creation is a CREATE frame.
	deployTraces := traceBlock(t, c, 1)
	if len(deployTraces) != 1 {
		t.Fatalf("block 1: %d traces", len(deployTraces))
	}
	check(t, "deploy router", deployTraces[0].Result, "CREATE", aliceA, router, new(big.Int), "")
}

func TestCommitAndNonces(t *testing.T) {
	n := start(t, devchain.Config{Funded: []string{"alice"}, Balance: eth(10)})
	wantBalance(t, n, "alice", devchain.Addr("alice"), eth(10))
	alice := devchain.Key("alice")
	to := devchain.Addr("to")
	// Many txs from one sender queued before one Commit.
	var txs []*types.Transaction
	for i := range 50 {
		tx := must(n.Transact(alice, &to, big.NewInt(int64(i+1)), nil, 21000))
		if tx.Nonce() != uint64(i) {
			t.Fatalf("tx %d has nonce %d", i, tx.Nonce())
		}
		txs = append(txs, tx)
	}
	block := must(n.Commit())
	for _, tx := range txs {
		if r := must(n.Receipt(tx.Hash())); r.BlockNumber.Uint64() != block || r.Status != 1 {
			t.Fatalf("tx %s: block %s status %d", tx.Hash(), r.BlockNumber, r.Status)
		}
	}
	wantBalance(t, n, "to", to, big.NewInt(50*51/2))
	// Empty commit still makes a block.
	if b := must(n.Commit()); b != block+1 {
		t.Fatalf("empty commit: %d", b)
	}
	// Underfunded tx is rejected by the pool and does not consume a nonce.
	if _, err := n.Transact(alice, &to, eth(100), nil, 21000); err == nil {
		t.Fatal("overdraft accepted")
	}
	tx := must(n.Transact(alice, &to, big.NewInt(1), nil, 0))
	if tx.Nonce() != 50 {
		t.Fatalf("nonce after rejection: %d", tx.Nonce())
	}
	must(n.Commit())
}

func TestGenerate(t *testing.T) {
	const (
		blocks   = 2000
		perBlock = 25
		senders  = 10
	)
	funded := []string{"alice"}
	for i := range senders {
		funded = append(funded, fmt.Sprintf("gen-sender-%d", i))
	}
	n := start(t, devchain.Config{Funded: funded})
	c := dial(t, n)
	alice := devchain.Key("alice")

	// Block 1: a router fan-out, to be traced after 2,000 more blocks.
	router := must(n.Deploy(alice, contracts.Router(), nil)) // block 1
	fan := must(n.Transact(alice, &router, eth(3), contracts.RouterCall(
		contracts.Payment{To: devchain.Addr("f1"), Amount: eth(1)},
		contracts.Payment{To: devchain.Addr("f2"), Amount: eth(2)}), 0))
	fanBlock := must(n.Commit()) // block 2
	if fanBlock != 2 {
		t.Fatalf("fan-out in block %d", fanBlock)
	}
	head := n.Head()

	keys := make([]*ecdsaKey, senders)
	for i := range keys {
		keys[i] = &ecdsaKey{devchain.Key(funded[i+1]), devchain.Addr(funded[i+1])}
	}
	recipients := make([]common.Address, perBlock)
	for i := range recipients {
		recipients[i] = devchain.Addr(fmt.Sprintf("gen-recipient-%d", i))
	}
	signer := n.Signer()
	var firstGenerated common.Hash
	began, cpuBefore := time.Now(), cpuTime()
	err := n.Generate(blocks, func(i int, b *core.BlockGen) {
		fee := new(big.Int).Add(b.BaseFee(), big.NewInt(params.GWei))
		for j := range perBlock {
			k := keys[j%senders]
			tx := types.MustSignNewTx(k.key, signer, &types.DynamicFeeTx{
				ChainID: n.ChainID(), Nonce: b.TxNonce(k.addr), GasTipCap: big.NewInt(params.GWei), GasFeeCap: fee,
				Gas: 21000, To: &recipients[j], Value: big.NewInt(int64(i + 1)),
			})
			b.AddTx(tx)
			if i == 0 && j == 0 {
				firstGenerated = tx.Hash()
			}
		}
	})
	took, cpu := time.Since(began), cpuTime()-cpuBefore
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	t.Logf("Generate(%d blocks x %d txs = %d txs, signing included) took %v wall, %v CPU (%.0f tx/s)",
		blocks, perBlock, blocks*perBlock, took.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(blocks*perBlock)/took.Seconds())
	if n.Head() != head+blocks {
		t.Fatalf("head %d, want %d", n.Head(), head+blocks)
	}
	// Every recipient got sum(1..blocks) wei.
	wantBalance(t, n, "recipient 0", recipients[0], big.NewInt(blocks*(blocks+1)/2))

	if r := must(n.Receipt(firstGenerated)); r.Status != 1 || r.BlockNumber.Uint64() != head+1 {
		t.Fatalf("receipt of a generated tx: status %d block %s", r.Status, r.BlockNumber)
	}

	// Old blocks are still traceable (archive state).
	tr := traceBlock(t, c, fanBlock)
	if len(tr) != 1 || tr[0].TxHash != fan.Hash() {
		t.Fatalf("trace of block %d: %+v", fanBlock, tr)
	}
	check(t, "old fan-out", tr[0].Result, "CALL", devchain.Addr("alice"), router, eth(3), "")
	if len(tr[0].Result.Calls) != 2 {
		t.Fatalf("old fan-out: %d sub-calls", len(tr[0].Result.Calls))
	}
	check(t, "old fan-out.calls[1]", tr[0].Result.Calls[1], "CALL", router, devchain.Addr("f2"), eth(2), "")
	if tr := traceBlock(t, c, 1); len(tr) != 1 || tr[0].Result.Type != "CREATE" {
		t.Fatalf("trace of block 1: %+v", tr)
	}
	mid := traceBlock(t, c, head+blocks/2)
	if len(mid) != perBlock {
		t.Fatalf("generated block: %d traces", len(mid))
	}
	check(t, "generated tx", mid[3].Result, "CALL", keys[3].addr, recipients[3], big.NewInt(blocks/2), "")
	var receipts []*types.Receipt
	if err := c.Call(&receipts, "eth_getBlockReceipts", hexutil.Uint64(head+blocks)); err != nil || len(receipts) != perBlock {
		t.Fatalf("eth_getBlockReceipts(last generated): %d receipts, err %v", len(receipts), err)
	}

	// Transact + Commit keep working on top, with nonces re-read.
	tx := must(n.Transact(keys[0].key, &recipients[0], big.NewInt(1), nil, 0))
	if want := uint64(blocks * ((perBlock + senders - 1) / senders)); tx.Nonce() != want {
		t.Fatalf("nonce after Generate: %d, want %d", tx.Nonce(), want)
	}
	b := must(n.Commit())
	if b != head+blocks+1 {
		t.Fatalf("commit after Generate: block %d", b)
	}
	if r := must(n.Receipt(tx.Hash())); r.Status != 1 {
		t.Fatal("tx after Generate failed")
	}

	// A bad transaction inside gen is an error, and nothing is inserted.
	before := n.Head()
	err = n.Generate(3, func(i int, b *core.BlockGen) {
		if i == 2 {
			b.AddTx(types.MustSignNewTx(keys[0].key, signer, &types.DynamicFeeTx{
				ChainID: n.ChainID(), Nonce: 0, GasTipCap: big.NewInt(1), GasFeeCap: b.BaseFee(), Gas: 21000, To: &recipients[0],
			}))
		}
	})
	if err == nil || n.Head() != before {
		t.Fatalf("bad Generate: err %v, head %d -> %d", err, before, n.Head())
	}
	// Generate refuses to run with uncommitted transactions.
	must(n.Transact(keys[1].key, &recipients[1], big.NewInt(1), nil, 0))
	if err := n.Generate(1, nil); err == nil {
		t.Fatal("Generate with pending txs succeeded")
	}
	must(n.Commit())
}

// cpuTime is the CPU time (user+system) used by this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type ecdsaKey struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

func TestTwoNodesAndClose(t *testing.T) {
	a, err := devchain.Start(devchain.Config{Funded: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, devchain.Config{Funded: []string{"bob"}})
	if a.URL() == b.URL() {
		t.Fatalf("both nodes on %s", a.URL())
	}
	for _, n := range []*devchain.Node{a, b} {
		if !strings.HasPrefix(n.URL(), "http://127.0.0.1:") {
			t.Fatalf("URL %q", n.URL())
		}
		var version string
		if err := dial(t, n).Call(&version, "web3_clientVersion"); err != nil || version == "" {
			t.Fatalf("web3_clientVersion on %s: %q %v", n.URL(), version, err)
		}
		var netVersion string
		if err := dial(t, n).Call(&netVersion, "net_version"); err != nil || netVersion != "1337" {
			t.Fatalf("net_version on %s: %q %v", n.URL(), netVersion, err)
		}
	}
	// Independent chains.
	bob := devchain.Key("bob")
	to := devchain.Addr("to")
	must(b.Transact(bob, &to, big.NewInt(1), nil, 0))
	must(b.Commit())
	if a.Head() != 0 || b.Head() != 1 {
		t.Fatalf("heads %d %d", a.Head(), b.Head())
	}

	u, err := url.Parse(a.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Fatalf("port %s not released: %v", u.Host, err)
	}
	l.Close()
	if _, err := a.Commit(); err == nil {
		t.Fatal("Commit on a closed node succeeded")
	}
	// b still serves.
	if _, err := ethclient.NewClient(dial(t, b)).BlockNumber(context.Background()); err != nil {
		t.Fatalf("second node after first closed: %v", err)
	}
}

func TestDataDirPersists(t *testing.T) {
	dir := t.TempDir()
	to := devchain.Addr("to")
	n, err := devchain.Start(devchain.Config{Funded: []string{"alice"}, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	must(n.Transact(devchain.Key("alice"), &to, big.NewInt(7), nil, 0))
	must(n.Commit())
	must(n.Commit())
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = start(t, devchain.Config{Funded: []string{"alice"}, DataDir: dir})
	if n.Head() != 2 {
		t.Fatalf("reopened head %d, want 2", n.Head())
	}
	wantBalance(t, n, "to", to, big.NewInt(7))
	tx := must(n.Transact(devchain.Key("alice"), &to, big.NewInt(1), nil, 0))
	if tx.Nonce() != 1 {
		t.Fatalf("nonce after reopen %d", tx.Nonce())
	}
	if b := must(n.Commit()); b != 3 {
		t.Fatalf("commit after reopen: block %d", b)
	}
	if tr := traceBlock(t, dial(t, n), 1); len(tr) != 1 {
		t.Fatalf("trace after reopen: %+v", tr)
	}
}

func TestLogger(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := start(t, devchain.Config{Logger: logger})
	must(n.Commit())
	if !strings.Contains(buf.String(), "msg=") {
		t.Fatalf("no geth log lines reached the logger: %q", buf.String())
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	before := buf.Len()
	q := start(t, devchain.Config{}) // silent again
	must(q.Commit())
	if buf.Len() != before {
		t.Fatalf("logger still receives geth logs after Close: %q", buf.String()[before:])
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}
