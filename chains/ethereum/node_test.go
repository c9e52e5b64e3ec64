package ethereum_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/chaintrace/chaintrace/internal/rpcproxy"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

var eth = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

func ether(n int64, frac ...int64) *big.Int {
	v := new(big.Int).Mul(big.NewInt(n), eth)
	if len(frac) == 1 { // frac[0] tenths
		v.Add(v, new(big.Int).Mul(big.NewInt(frac[0]), new(big.Int).Div(eth, big.NewInt(10))))
	}
	return v
}

// wantRow is what the test knows it sent.
type wantRow struct {
	tx       common.Hash
	kind     chains.Kind
	pos      string // "" = not checked (log index depends on block layout)
	from, to common.Address
	asset    string
	amount   *big.Int
	tokenID  *big.Int
}

func (w wantRow) key() string {
	id := ""
	if w.tokenID != nil {
		id = w.tokenID.String()
	}
	return fmt.Sprintf("%s %s %s %s %s %s %s", w.tx.Hex(), w.kind, w.from.Hex(), w.to.Hex(), w.asset, w.amount, id)
}

func rowKey(t *chains.Transfer) string {
	id := ""
	if t.TokenID != nil {
		id = t.TokenID.String()
	}
	return fmt.Sprintf("%s %s %s %s %s %s %s", t.TxHash, t.Kind, t.From[0], t.To, t.Asset, t.Amount, id)
}

// scenario sends every kind of value movement the adapter must read and
// returns what it sent, with the block window it used.
type scenario struct {
	node        *devchain.Node
	first, last uint64
	want        []wantRow
	actors      map[string]common.Address
	token       common.Address
}

func buildScenario(t *testing.T) *scenario {
	t.Helper()
	node, err := devchain.Start(devchain.Config{Funded: []string{"alice", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	s := &scenario{node: node, actors: map[string]common.Address{}}
	alice := devchain.Key("alice")
	aliceAddr := devchain.Addr("alice")
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "gina"} {
		s.actors[n] = devchain.Addr(n)
	}
	a := s.actors
	s.first = node.Head() + 1

	deploy := func(code []byte, value *big.Int) common.Address {
		addr, err := node.Deploy(alice, code, value)
		if err != nil {
			t.Fatal(err)
		}
		return addr
	}
	router := deploy(contracts.Router(), nil)
	reverter := deploy(contracts.Reverter(), nil)
	catcher := deploy(contracts.Catcher(), nil)
	proxy := deploy(contracts.Proxy(router), nil)
	sweeper := deploy(contracts.Sweeper(), nil)
	factory := deploy(contracts.Factory(), nil)
	supply := new(big.Int).Mul(big.NewInt(1_000_000), eth)
	s.token = deploy(contracts.ERC20(supply), nil)
	nft := deploy(contracts.ERC721(3), nil)
	sinkValue := ether(0, 1)
	sink, err := node.Deploy(alice, contracts.Sink(), sinkValue)
	if err != nil {
		t.Fatal(err)
	}
	// The deployments' own movements: token mint, NFT mints, endowed sink.
	receiptTx := func(addr common.Address) common.Hash {
		t.Helper()
		// Deploy commits one block per contract; find the creating tx.
		for n := s.first; n <= node.Head(); n++ {
			blk := node.Backend().BlockChain().GetBlockByNumber(n)
			for _, tx := range blk.Transactions() {
				if tx.To() == nil && crypto.CreateAddress(aliceAddr, tx.Nonce()) == addr {
					return tx.Hash()
				}
			}
		}
		t.Fatalf("no creation tx for %s", addr)
		return common.Hash{}
	}
	s.want = append(s.want, wantRow{tx: receiptTx(s.token), kind: chains.KindERC20, from: common.Address{}, to: aliceAddr, asset: s.token.Hex(), amount: supply})
	for id := int64(1); id <= 3; id++ {
		s.want = append(s.want, wantRow{tx: receiptTx(nft), kind: chains.KindERC721, from: common.Address{}, to: aliceAddr, asset: nft.Hex(), amount: big.NewInt(1), tokenID: big.NewInt(id)})
	}
	s.want = append(s.want, wantRow{tx: receiptTx(sink), kind: chains.KindNative, pos: "tx", from: aliceAddr, to: sink, asset: "ETH", amount: sinkValue})

	send := func(legacy bool, from string, to common.Address, value *big.Int, data []byte) common.Hash {
		t.Helper()
		var tx interface{ Hash() common.Hash }
		var err error
		if legacy {
			tx, err = node.TransactLegacy(devchain.Key(from), &to, value, data, 0)
		} else {
			tx, err = node.Transact(devchain.Key(from), &to, value, data, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		return tx.Hash()
	}
	native := func(h common.Hash, from, to common.Address, v *big.Int) {
		s.want = append(s.want, wantRow{tx: h, kind: chains.KindNative, pos: "tx", from: from, to: to, asset: "ETH", amount: v})
	}
	internal := func(h common.Hash, pos string, from, to common.Address, v *big.Int) {
		s.want = append(s.want, wantRow{tx: h, kind: chains.KindInternal, pos: pos, from: from, to: to, asset: "ETH", amount: v})
	}

	// Plain transfers, both transaction types, in one block.
	h := send(false, "alice", a["bob"], ether(10), nil)
	native(h, aliceAddr, a["bob"], ether(10))
	h = send(true, "alice", a["carol"], ether(2), nil)
	native(h, aliceAddr, a["carol"], ether(2))
	// Fan-out through internal calls.
	h = send(false, "alice", router, ether(6), contracts.RouterCall(
		contracts.Payment{To: a["bob"], Amount: ether(1)},
		contracts.Payment{To: a["carol"], Amount: ether(2)},
		contracts.Payment{To: a["dave"], Amount: ether(3)}))
	native(h, aliceAddr, router, ether(6))
	internal(h, "call:0", router, a["bob"], ether(1))
	internal(h, "call:1", router, a["carol"], ether(2))
	internal(h, "call:2", router, a["dave"], ether(3))
	if _, err := node.Commit(); err != nil {
		t.Fatal(err)
	}
	// A reverted transaction carrying value: nothing moves.
	send(false, "alice", reverter, ether(1), contracts.ReverterCall(a["bob"]))
	// A reverted inner call whose parent succeeds: only the catcher's
	// payment to erin moves; the reverter's call to bob does not.
	h = send(false, "alice", catcher, ether(4), contracts.CatcherCall(reverter, a["bob"], a["erin"]))
	native(h, aliceAddr, catcher, ether(4))
	internal(h, "call:1", catcher, a["erin"], ether(4))
	// DELEGATECALL: the proxy, not the router, pays.
	h = send(false, "bob", proxy, ether(3), contracts.RouterCall(
		contracts.Payment{To: a["carol"], Amount: ether(1)},
		contracts.Payment{To: a["frank"], Amount: ether(2)}))
	native(h, a["bob"], proxy, ether(3))
	internal(h, "call:0.0", proxy, a["carol"], ether(1))
	internal(h, "call:0.1", proxy, a["frank"], ether(2))
	// SELFDESTRUCT and CREATE with value.
	h = send(true, "alice", sweeper, ether(1, 5), contracts.SweeperCall(a["gina"]))
	native(h, aliceAddr, sweeper, ether(1, 5))
	internal(h, "call:0", sweeper, a["gina"], ether(1, 5))
	h = send(false, "alice", factory, ether(0, 7), nil)
	native(h, aliceAddr, factory, ether(0, 7))
	internal(h, "call:0", factory, crypto.CreateAddress(factory, 1), ether(0, 7))
	if _, err := node.Commit(); err != nil {
		t.Fatal(err)
	}
	// Tokens: an ERC-20 transfer, a failing one, an ERC-721 transfer.
	h = send(false, "alice", s.token, nil, contracts.ERC20Transfer(a["bob"], big.NewInt(500)))
	s.want = append(s.want, wantRow{tx: h, kind: chains.KindERC20, from: aliceAddr, to: a["bob"], asset: s.token.Hex(), amount: big.NewInt(500)})
	send(false, "bob", s.token, nil, contracts.ERC20Transfer(a["carol"], supply))
	h = send(false, "alice", nft, nil, contracts.ERC721TransferFrom(aliceAddr, a["bob"], big.NewInt(2)))
	s.want = append(s.want, wantRow{tx: h, kind: chains.KindERC721, from: aliceAddr, to: a["bob"], asset: nft.Hex(), amount: big.NewInt(1), tokenID: big.NewInt(2)})
	if _, err := node.Commit(); err != nil {
		t.Fatal(err)
	}
	s.last = node.Head()
	return s
}

func fetchAll(t *testing.T, a *ethereum.Adapter, from, to uint64) ([]chains.Transfer, []chains.Tx) {
	t.Helper()
	var nums []uint64
	for n := from; n <= to; n++ {
		nums = append(nums, n)
	}
	raws, err := a.FetchRaw(context.Background(), nums)
	if err != nil {
		t.Fatal(err)
	}
	var rows []chains.Transfer
	var txs []chains.Tx
	for i := range raws {
		b, err := ethereum.Decode(&raws[i])
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, b.Transfers...)
		txs = append(txs, b.Txs...)
	}
	return rows, txs
}

func TestAdapterOnRealNode(t *testing.T) {
	s := buildScenario(t)
	ctx := context.Background()
	a, err := ethereum.Dial(ctx, s.node.URL(), ethereum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	caps := a.Capabilities()
	if caps.ChainID != 1337 || !caps.BlockReceipts || caps.TraceMethod() != ethereum.MethodDebugTraceBlock || caps.ClientVersion == "" {
		t.Fatalf("capabilities of an in-process geth: %+v", caps)
	}
	rows, txs := fetchAll(t, a, s.first, s.last)
	checkRows(t, s, rows)
	checkReconciles(t, s, a, rows, txs)

	// The same blocks through a node that hides the block-level methods:
	// per-transaction receipts and per-transaction traces give the same rows.
	proxy := hidingProxy(t, s.node.URL(), "eth_getBlockReceipts", "debug_traceBlockByNumber")
	b, err := ethereum.Dial(ctx, proxy, ethereum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Capabilities(); got.BlockReceipts || got.TraceMethod() != ethereum.MethodDebugTraceTx {
		t.Fatalf("fallback capabilities: %+v", got)
	}
	rows2, _ := fetchAll(t, b, s.first, s.last)
	if !slices.EqualFunc(rows, rows2, func(x, y chains.Transfer) bool { return rowJSON(t, &x) == rowJSON(t, &y) }) {
		t.Errorf("per-transaction fallback gives %d rows, block methods %d, or they differ", len(rows2), len(rows))
	}
}

func TestAdapterRefusesNodeWithoutTraces(t *testing.T) {
	s := buildScenario(t)
	proxy := hidingProxy(t, s.node.URL(), "debug_traceBlockByNumber", "debug_traceTransaction", "trace_block", "trace_transaction")
	_, err := ethereum.Dial(context.Background(), proxy, ethereum.Options{})
	if err == nil || !strings.Contains(err.Error(), "no trace API") || !strings.Contains(err.Error(), "--no-internal") {
		t.Fatalf("want an error naming the missing trace API and --no-internal, got %v", err)
	}
	a, err := ethereum.Dial(context.Background(), proxy, ethereum.Options{NoInternal: true})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := fetchAll(t, a, s.first, s.last)
	for _, r := range rows {
		if r.Kind == chains.KindInternal {
			t.Fatalf("--no-internal produced an internal row %+v", r)
		}
	}
	var natives int
	for _, w := range s.want {
		if w.kind != chains.KindInternal {
			natives++
		}
	}
	if len(rows) != natives {
		t.Errorf("--no-internal: %d rows, want the %d non-internal ones", len(rows), natives)
	}
}

func rowJSON(t *testing.T, r *chains.Transfer) string {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkRows(t *testing.T, s *scenario, rows []chains.Transfer) {
	t.Helper()
	got := map[string]int{}
	pos := map[string]string{}
	for i := range rows {
		r := &rows[i]
		got[rowKey(r)]++
		pos[rowKey(r)] = r.Position
		if r.Amount.Sign() <= 0 {
			t.Errorf("row with non-positive amount: %+v", r)
		}
		if r.Kind == chains.KindERC20 || r.Kind == chains.KindERC721 {
			if !strings.HasPrefix(r.Position, "log:") {
				t.Errorf("token row position %q", r.Position)
			}
		}
	}
	want := map[string]int{}
	for _, w := range s.want {
		want[w.key()]++
		if w.pos != "" && pos[w.key()] != w.pos {
			t.Errorf("%s: position %q, want %q", w.key(), pos[w.key()], w.pos)
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("missing or miscounted: %s (got %d, want %d)", k, got[k], n)
		}
	}
	for k, n := range got {
		if want[k] != n {
			t.Errorf("unexpected row: %s (got %d, want %d)", k, n, want[k])
		}
	}
	// Exhibit order: block, tx index, ordinal strictly increasing.
	for i := 1; i < len(rows); i++ {
		if !rows[i-1].Less(&rows[i]) {
			t.Errorf("rows %d and %d out of order", i-1, i)
		}
	}
}

// checkReconciles: for every account touched, the node's balance change
// over the window equals the ETH rows in minus out minus the fees it paid.
func checkReconciles(t *testing.T, s *scenario, a *ethereum.Adapter, rows []chains.Transfer, txs []chains.Tx) {
	t.Helper()
	delta := map[string]*big.Int{}
	add := func(addr string, v *big.Int, sign int) {
		if delta[addr] == nil {
			delta[addr] = new(big.Int)
		}
		if sign > 0 {
			delta[addr].Add(delta[addr], v)
		} else {
			delta[addr].Sub(delta[addr], v)
		}
	}
	for _, r := range rows {
		if r.Asset != "ETH" {
			continue
		}
		add(r.From[0], r.Amount, -1)
		add(r.To, r.Amount, +1)
	}
	for _, tx := range txs {
		add(tx.From, tx.Fee, -1)
		if tx.Fee.Sign() <= 0 {
			t.Errorf("tx %s has fee %s", tx.Hash, tx.Fee)
		}
	}
	balance := func(addr string, block uint64) *big.Int {
		var q string
		if err := a.RPC().Call(context.Background(), &q, "eth_getBalance", addr, fmt.Sprintf("0x%x", block)); err != nil {
			t.Fatal(err)
		}
		v, _ := new(big.Int).SetString(q[2:], 16)
		return v
	}
	coinbase := common.Address{}.Hex() // receives tips: block rewards are not rows
	checked := 0
	for addr, d := range delta {
		if addr == coinbase {
			continue
		}
		change := new(big.Int).Sub(balance(addr, s.last), balance(addr, s.first-1))
		if change.Cmp(d) != 0 {
			t.Errorf("%s: balance changed by %s, transfers and fees say %s", addr, change, d)
		}
		checked++
	}
	if checked < 12 {
		t.Errorf("reconciled only %d accounts", checked)
	}
}

// hidingProxy starts an rpcproxy in front of target hiding the methods.
func hidingProxy(t *testing.T, target string, hide ...string) string {
	t.Helper()
	p := rpcproxy.New(target, hide...)
	t.Cleanup(p.Close)
	return p.URL()
}
