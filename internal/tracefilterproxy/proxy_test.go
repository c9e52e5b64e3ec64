package tracefilterproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/chains/ethereum/history"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/core/vm/program"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

func ether(milli int64) *big.Int { return new(big.Int).Mul(big.NewInt(milli), big.NewInt(1e15)) }

// kindsCase is a small case on a real geth node with every frame kind
// trace_filter must render.
type kindsCase struct {
	node        *devchain.Node
	first, last uint64
	addr        map[string]common.Address
	tx          map[string]common.Hash
	// transferBlock is the block of the token transfer to carol.
	transferBlock uint64
}

// playKinds plays, in five blocks and an empty one:
//   - fanout: alice pays a Router 3 ETH, which pays carol 1 and dave 2;
//   - catcher: alice pays a Catcher 2 ETH; it calls a Reverter (which pays
//     erin 1 and reverts), swallows that and pays dave 2;
//   - failed: alice calls the Reverter directly (the transaction fails);
//   - proxy: bob pays a Proxy over the Router 1 ETH: a DELEGATECALL, then the
//     proxy pays carol 0.4 and erin 0.6;
//   - sweep: bob pays a Sweeper 0.25 ETH, which SELFDESTRUCTs to frank;
//   - factory: bob pays a Factory 0.3 ETH, which CREATEs a child with it;
//   - kinds: alice pays a contract 0.1 ETH that STATICCALLs and CALLCODEs
//     carol and CREATE2s a child with the value;
//   - token: alice deploys an ERC-20 and sends carol some;
//   - an empty block, then carol pays dave.
func playKinds(t *testing.T) *kindsCase {
	t.Helper()
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	funded := make([]string, len(names))
	for i, n := range names {
		funded[i] = "tfp-" + n
	}
	n, err := devchain.Start(devchain.Config{Funded: funded})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	c := &kindsCase{node: n, addr: map[string]common.Address{}, tx: map[string]common.Hash{}}
	for _, name := range names {
		c.addr[name] = devchain.Addr("tfp-" + name)
	}
	key := func(name string) string { return "tfp-" + name }
	must := func(a common.Address, err error) common.Address {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	alice := devchain.Key(key("alice"))
	c.addr["router"] = must(n.Deploy(alice, contracts.Router(), nil))
	c.addr["reverter"] = must(n.Deploy(alice, contracts.Reverter(), nil))
	c.addr["catcher"] = must(n.Deploy(alice, contracts.Catcher(), nil))
	c.addr["proxy"] = must(n.Deploy(alice, contracts.Proxy(c.addr["router"]), nil))
	c.addr["sweeper"] = must(n.Deploy(alice, contracts.Sweeper(), nil))
	c.addr["factory"] = must(n.Deploy(alice, contracts.Factory(), nil))
	child2 := contracts.Sink()
	kinds := program.New()
	kinds.StaticCall(nil, c.addr["carol"], 0, 0, 0, 0).Op(vm.POP)
	kinds.CallCode(nil, c.addr["carol"], 0, 0, 0, 0, 0).Op(vm.POP)
	kinds.Mstore(child2, 0).Push(7).Push(len(child2)).Push(0).Op(vm.CALLVALUE, vm.CREATE2, vm.POP, vm.STOP)
	c.addr["kinds"] = must(n.Deploy(alice, program.New().ReturnViaCodeCopy(kinds.Bytes()).Bytes(), nil))
	c.addr["token"] = must(n.Deploy(alice, contracts.ERC20(big.NewInt(1_000_000)), nil))
	c.addr["factoryChild"] = crypto.CreateAddress(c.addr["factory"], 1)
	c.addr["create2Child"] = crypto.CreateAddress2(c.addr["kinds"], common.BigToHash(big.NewInt(7)), crypto.Keccak256(child2))
	c.first = n.Head() + 1

	send := func(label, from string, to common.Address, milli int64, data []byte) {
		t.Helper()
		tx, err := n.Transact(devchain.Key(key(from)), &to, ether(milli), data, 0)
		if err != nil {
			t.Fatal(err)
		}
		c.tx[label] = tx.Hash()
	}
	commit := func() uint64 {
		t.Helper()
		b, err := n.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	send("fanout", "alice", c.addr["router"], 3000, contracts.RouterCall(
		contracts.Payment{To: c.addr["carol"], Amount: ether(1000)}, contracts.Payment{To: c.addr["dave"], Amount: ether(2000)}))
	send("catcher", "alice", c.addr["catcher"], 2000, contracts.CatcherCall(c.addr["reverter"], c.addr["erin"], c.addr["dave"]))
	commit()
	send("failed", "alice", c.addr["reverter"], 1000, contracts.ReverterCall(c.addr["erin"]))
	send("proxy", "bob", c.addr["proxy"], 1000, contracts.RouterCall(
		contracts.Payment{To: c.addr["carol"], Amount: ether(400)}, contracts.Payment{To: c.addr["erin"], Amount: ether(600)}))
	commit()
	send("sweep", "bob", c.addr["sweeper"], 250, contracts.SweeperCall(c.addr["frank"]))
	send("factory", "bob", c.addr["factory"], 300, nil)
	commit()
	send("kinds", "alice", c.addr["kinds"], 100, nil)
	send("token", "alice", c.addr["token"], 0, contracts.ERC20Transfer(c.addr["carol"], big.NewInt(500)))
	c.transferBlock = commit()
	commit() // empty
	send("plain", "carol", c.addr["dave"], 10, nil)
	c.last = commit()
	for label, h := range c.tx {
		r, err := n.Receipt(h)
		if err != nil {
			t.Fatal(err)
		}
		if (r.Status == types.ReceiptStatusSuccessful) == (label == "failed") {
			t.Fatalf("%s: receipt status %d", label, r.Status)
		}
	}
	return c
}

// rpcCall makes one JSON-RPC call over HTTP and returns the answer.
func rpcCall(t *testing.T, url, method string, params ...any) response {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a response
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// testFrame is the part of a Parity frame the tests read.
type testFrame struct {
	Type   string `json:"type"`
	Action struct {
		From           string `json:"from"`
		To             string `json:"to"`
		CallType       string `json:"callType"`
		CreationMethod string `json:"creationMethod"`
		Value          string `json:"value"`
		Address        string `json:"address"`
		RefundAddress  string `json:"refundAddress"`
		Balance        string `json:"balance"`
	} `json:"action"`
	Result *struct {
		Address string `json:"address"`
	} `json:"result"`
	Error               string      `json:"error"`
	BlockNumber         json.Number `json:"blockNumber"`
	BlockHash           string      `json:"blockHash"`
	TransactionHash     string      `json:"transactionHash"`
	TransactionPosition json.Number `json:"transactionPosition"`
	Subtraces           int         `json:"subtraces"`
	TraceAddress        []int       `json:"traceAddress"`
}

func (f testFrame) block() uint64 {
	n, _ := f.BlockNumber.Int64()
	return uint64(n)
}

func decodeFrames(t *testing.T, raw json.RawMessage) []testFrame {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var fs []testFrame
	if err := dec.Decode(&fs); err != nil {
		t.Fatalf("frames %.300s: %v", raw, err)
	}
	return fs
}

func traceFilter(t *testing.T, url string, filter map[string]any) []testFrame {
	t.Helper()
	a := rpcCall(t, url, "trace_filter", filter)
	if a.Error != nil {
		t.Fatalf("trace_filter %v: %d %s", filter, a.Error.Code, a.Error.Message)
	}
	// blockNumber and transactionPosition are JSON numbers, as Erigon has them.
	if bytes.Contains(a.Result, []byte(`"blockNumber":"`)) || bytes.Contains(a.Result, []byte(`"transactionPosition":"`)) {
		t.Fatalf("block number or position is a string: %.300s", a.Result)
	}
	return decodeFrames(t, a.Result)
}

// appearances is computed from the node's own callTracer output, without
// the proxy: per address, the blocks in which it is the sender or the
// recipient of a frame (a creation's new address, a selfdestruct's
// beneficiary), and the number of such frames.
func appearances(t *testing.T, url string, from, to uint64) (blocks map[common.Address][]uint64, frames map[common.Address]int) {
	t.Helper()
	type node struct {
		Type  string          `json:"type"`
		From  common.Address  `json:"from"`
		To    *common.Address `json:"to"`
		Calls []node          `json:"calls"`
	}
	blocks, frames = map[common.Address][]uint64{}, map[common.Address]int{}
	var walk func(n uint64, f *node)
	walk = func(n uint64, f *node) {
		parties := []common.Address{f.From}
		if f.To != nil && *f.To != f.From {
			parties = append(parties, *f.To)
		}
		for _, a := range parties {
			frames[a]++
			if bs := blocks[a]; len(bs) == 0 || bs[len(bs)-1] != n {
				blocks[a] = append(bs, n)
			}
		}
		for i := range f.Calls {
			walk(n, &f.Calls[i])
		}
	}
	for n := from; n <= to; n++ {
		a := rpcCall(t, url, "debug_traceBlockByNumber", hexNumber(n), map[string]any{"tracer": "callTracer"})
		if a.Error != nil {
			t.Fatalf("debug_traceBlockByNumber %d: %s", n, a.Error.Message)
		}
		var txs []struct {
			Result node `json:"result"`
		}
		if err := json.Unmarshal(a.Result, &txs); err != nil {
			t.Fatal(err)
		}
		for i := range txs {
			walk(n, &txs[i].Result)
		}
	}
	return blocks, frames
}

func blocksOf(fs []testFrame) []uint64 {
	var out []uint64
	for _, f := range fs {
		if b := f.block(); len(out) == 0 || out[len(out)-1] != b {
			out = append(out, b)
		}
	}
	return out
}

func TestOnDevchain(t *testing.T) {
	c := playKinds(t)
	p := New(c.node.URL(), Options{})
	defer p.Close()
	window := func(a ...common.Address) map[string]any {
		return map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.last), "fromAddress": a, "toAddress": a}
	}
	wantBlocks, wantFrames := appearances(t, c.node.URL(), c.first, c.last)
	if len(wantBlocks) < 15 {
		t.Fatalf("only %d addresses appear in the case", len(wantBlocks))
	}

	t.Run("whole window per address", func(t *testing.T) {
		addrs := make([]common.Address, 0, len(wantBlocks))
		for a := range wantBlocks {
			addrs = append(addrs, a)
		}
		unused := common.HexToAddress("0x00000000000000000000000000000000000dead1")
		for _, a := range append(addrs, unused) {
			fs := traceFilter(t, p.URL(), window(a))
			if got := blocksOf(fs); !slices.Equal(got, wantBlocks[a]) {
				t.Errorf("%s: blocks %v, the node's traces have %v", a, got, wantBlocks[a])
			}
			if len(fs) != wantFrames[a] {
				t.Errorf("%s: %d frames, the node's traces have %d", a, len(fs), wantFrames[a])
			}
			for _, f := range fs {
				if !strings.EqualFold(f.Action.From, a.Hex()) && !strings.EqualFold(f.Action.To, a.Hex()) &&
					!strings.EqualFold(f.Action.Address, a.Hex()) && !strings.EqualFold(f.Action.RefundAddress, a.Hex()) &&
					(f.Result == nil || !strings.EqualFold(f.Result.Address, a.Hex())) {
					t.Errorf("%s: frame %+v does not name it", a, f)
				}
			}
		}
		// The created contracts, the selfdestruct beneficiary, the recipient
		// of a reverted frame only and a DELEGATECALL's implementation
		// are all found.
		for _, name := range []string{"factoryChild", "create2Child", "frank", "erin", "router", "carol"} {
			if len(wantBlocks[c.addr[name]]) == 0 {
				t.Errorf("%s does not appear in the node's traces", name)
			}
		}
	})

	t.Run("frame shapes", func(t *testing.T) {
		all := traceFilter(t, p.URL(), map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.last)})
		byTx := map[string][]testFrame{}
		hashes := map[common.Hash]string{}
		for label, h := range c.tx {
			hashes[h] = label
		}
		var prev testFrame
		for i, f := range all {
			label := hashes[common.HexToHash(f.TransactionHash)]
			if label == "" {
				t.Fatalf("frame %d of unknown tx %s", i, f.TransactionHash)
			}
			byTx[label] = append(byTx[label], f)
			if i > 0 {
				pp, _ := prev.TransactionPosition.Int64()
				fp, _ := f.TransactionPosition.Int64()
				if f.block() < prev.block() || f.block() == prev.block() && (fp < pp || fp == pp && slices.Compare(f.TraceAddress, prev.TraceAddress) <= 0) {
					t.Errorf("frame %d out of order: %v after %v", i, f.TraceAddress, prev.TraceAddress)
				}
			}
			if len(f.BlockHash) != 66 || f.TraceAddress == nil {
				t.Errorf("frame %d: blockHash %q traceAddress %v", i, f.BlockHash, f.TraceAddress)
			}
			prev = f
		}
		lower := func(name string) string { return strings.ToLower(c.addr[name].Hex()) }
		type want struct {
			addr                    []int
			typ, callType, from, to string
			value, err              string
			subtraces               int
		}
		check := func(label string, ws []want) {
			t.Helper()
			fs := byTx[label]
			if len(fs) != len(ws) {
				t.Errorf("%s: %d frames, want %d: %+v", label, len(fs), len(ws), fs)
				return
			}
			for i, w := range ws {
				f := fs[i]
				from, to := f.Action.From, f.Action.To
				if f.Type == "suicide" {
					from, to = f.Action.Address, f.Action.RefundAddress
				}
				if f.Type == "create" && f.Result != nil {
					to = f.Result.Address
				}
				value := f.Action.Value
				if f.Type == "suicide" {
					value = f.Action.Balance
				}
				if w.from != "" && w.from[0] != '0' {
					w.from = lower(w.from)
				}
				if w.to != "" && w.to[0] != '0' {
					w.to = lower(w.to)
				}
				callType := f.Action.CallType
				if f.Type == "create" {
					callType = f.Action.CreationMethod
				}
				if !slices.Equal(f.TraceAddress, w.addr) || f.Type != w.typ || callType != w.callType || from != w.from || to != w.to ||
					value != w.value || f.Error != w.err || f.Subtraces != w.subtraces {
					t.Errorf("%s frame %d:\n got %v %s/%s %s -> %s value %s error %q subtraces %d\nwant %v %s/%s %s -> %s value %s error %q subtraces %d",
						label, i, f.TraceAddress, f.Type, callType, from, to, value, f.Error, f.Subtraces,
						w.addr, w.typ, w.callType, w.from, w.to, w.value, w.err, w.subtraces)
				}
			}
		}
		hex := func(milli int64) string { return "0x" + ether(milli).Text(16) }
		check("fanout", []want{
			{[]int{}, "call", "call", "alice", "router", hex(3000), "", 2},
			{[]int{0}, "call", "call", "router", "carol", hex(1000), "", 0},
			{[]int{1}, "call", "call", "router", "dave", hex(2000), "", 0},
		})
		// The reverted inner call carries the error; its child does not.
		check("catcher", []want{
			{[]int{}, "call", "call", "alice", "catcher", hex(2000), "", 2},
			{[]int{0}, "call", "call", "catcher", "reverter", hex(1000), "Reverted", 1},
			{[]int{0, 0}, "call", "call", "reverter", "erin", hex(1000), "", 0},
			{[]int{1}, "call", "call", "catcher", "dave", hex(2000), "", 0},
		})
		// A failed transaction: the error on its top frame only.
		check("failed", []want{
			{[]int{}, "call", "call", "alice", "reverter", hex(1000), "Reverted", 1},
			{[]int{0}, "call", "call", "reverter", "erin", hex(1000), "", 0},
		})
		// DELEGATECALL repeats the caller's value; the calls under it are
		// made by the proxy.
		check("proxy", []want{
			{[]int{}, "call", "call", "bob", "proxy", hex(1000), "", 1},
			{[]int{0}, "call", "delegatecall", "proxy", "router", hex(1000), "", 2},
			{[]int{0, 0}, "call", "call", "proxy", "carol", hex(400), "", 0},
			{[]int{0, 1}, "call", "call", "proxy", "erin", hex(600), "", 0},
		})
		check("sweep", []want{
			{[]int{}, "call", "call", "bob", "sweeper", hex(250), "", 1},
			{[]int{0}, "suicide", "", "sweeper", "frank", hex(250), "", 0},
		})
		check("factory", []want{
			{[]int{}, "call", "call", "bob", "factory", hex(300), "", 1},
			{[]int{0}, "create", "create", "factory", "factoryChild", hex(300), "", 0},
		})
		check("kinds", []want{
			{[]int{}, "call", "call", "alice", "kinds", hex(100), "", 3},
			{[]int{0}, "call", "staticcall", "kinds", "carol", "0x0", "", 0},
			{[]int{1}, "call", "callcode", "kinds", "carol", "0x0", "", 0},
			{[]int{2}, "create", "create2", "kinds", "create2Child", hex(100), "", 0},
		})
		for _, f := range byTx["sweep"] {
			if f.Type == "suicide" && f.Result != nil {
				t.Errorf("a suicide frame has a result")
			}
		}
	})

	t.Run("paging gives the unpaged frames", func(t *testing.T) {
		cases := map[string]map[string]any{
			"all":   {"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.last)},
			"carol": window(c.addr["carol"]),
			"alice": window(c.addr["alice"]),
			"erin":  window(c.addr["erin"]),
		}
		for name, filter := range cases {
			whole := rpcCall(t, p.URL(), "trace_filter", filter)
			var want []json.RawMessage
			json.Unmarshal(whole.Result, &want)
			if len(want) < 3 {
				t.Fatalf("%s: only %d frames", name, len(want))
			}
			for count := 1; count <= 3; count++ {
				var got []json.RawMessage
				for after := 0; ; after += count {
					f := map[string]any{"after": after, "count": count}
					for k, v := range filter {
						f[k] = v
					}
					a := rpcCall(t, p.URL(), "trace_filter", f)
					if a.Error != nil {
						t.Fatal(a.Error)
					}
					var page []json.RawMessage
					json.Unmarshal(a.Result, &page)
					if len(page) > count {
						t.Fatalf("%s: count %d gave %d frames", name, count, len(page))
					}
					got = append(got, page...)
					if len(page) < count {
						break
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: pages of %d give %d frames, unpaged %d", name, count, len(got), len(want))
				}
			}
			f := map[string]any{"count": 0}
			for k, v := range filter {
				f[k] = v
			}
			if a := rpcCall(t, p.URL(), "trace_filter", f); string(a.Result) != "[]" {
				t.Errorf("%s: count 0 gave %s", name, a.Result)
			}
			f["after"], f["count"] = len(want), 5
			if a := rpcCall(t, p.URL(), "trace_filter", f); string(a.Result) != "[]" {
				t.Errorf("%s: after the total gave %s", name, a.Result)
			}
		}
	})

	t.Run("errors and edges", func(t *testing.T) {
		small := New(c.node.URL(), Options{RangeLimit: 4})
		defer small.Close()
		carol := []common.Address{c.addr["carol"]}
		head := c.node.Head()
		wantErr := func(url, method string, filter map[string]any, code int, msg string) {
			t.Helper()
			a := rpcCall(t, url, method, filter)
			if a.Error == nil || a.Error.Code != code || a.Error.Message != msg {
				t.Errorf("%s %v: got %s %+v, want %d %q", method, filter, a.Result, a.Error, code, msg)
			}
		}
		wantErr(small.URL(), "trace_filter", map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.first + 5), "fromAddress": carol},
			-32000, "query block range exceeds server limit, narrow your filter: 4")
		wantErr(small.URL(), "trace_filter", map[string]any{"fromAddress": carol}, // no range: 0..head
			-32000, "query block range exceeds server limit, narrow your filter: 4")
		wantErr(p.URL(), "trace_filter", map[string]any{"fromBlock": hexNumber(c.last), "toBlock": hexNumber(c.first), "fromAddress": carol},
			-32000, "invalid parameters: fromBlock cannot be greater than toBlock")
		wantErr(p.URL(), "trace_filter", map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.last), "fromAddress": carol, "count": "0x2"},
			-32602, "invalid argument 0: json: cannot unmarshal string into Go struct field TraceFilterRequest.count of type uint64")
		wantErr(p.URL(), "trace_filter", map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.last), "fromAddress": carol, "after": "0x1"},
			-32602, "invalid argument 0: json: cannot unmarshal string into Go struct field TraceFilterRequest.after of type uint64")
		// A difference of exactly the limit passes.
		if fs := traceFilter(t, small.URL(), map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.first + 4), "toAddress": carol}); len(fs) == 0 {
			t.Error("a range of exactly the limit found nothing")
		}
		// Past the head: [] for the whole call, matches before it included,
		// and no range error however wide.
		for _, url := range []string{p.URL(), small.URL()} {
			a := rpcCall(t, url, "trace_filter", map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(head + 1), "toAddress": carol})
			if a.Error != nil || string(a.Result) != "[]" {
				t.Errorf("toBlock past the head: %s %+v", a.Result, a.Error)
			}
		}
		// Tags and a missing range work.
		if fs := traceFilter(t, p.URL(), map[string]any{"fromBlock": "earliest", "toBlock": "latest", "fromAddress": carol, "toAddress": carol}); len(fs) != wantFrames[c.addr["carol"]] {
			t.Errorf("earliest..latest: %d frames", len(fs))
		}
		if fs := traceFilter(t, p.URL(), map[string]any{"fromAddress": carol, "toAddress": carol}); len(fs) != wantFrames[c.addr["carol"]] {
			t.Errorf("no range: %d frames", len(fs))
		}
		// Intersection wants both in the same frame.
		fs := traceFilter(t, p.URL(), map[string]any{"fromAddress": []common.Address{c.addr["proxy"]}, "toAddress": carol, "mode": "intersection"})
		if len(fs) != 1 || fs[0].Action.CallType != "call" {
			t.Errorf("intersection proxy->carol: %+v", fs)
		}
		// eth_getLogs: over the limit refused as Erigon does; within it
		// forwarded; past the head refused by the node, as by Erigon.
		wantErr(small.URL(), "eth_getLogs", map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.first + 5)},
			-32602, "query block range exceeds server limit, narrow your filter: 4")
		wantErr(small.URL(), "eth_getLogs", map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(head + 1)},
			-32602, "block range extends beyond current head block")
		a := rpcCall(t, small.URL(), "eth_getLogs", map[string]any{"fromBlock": hexNumber(c.transferBlock - 2), "toBlock": hexNumber(c.transferBlock + 2), "address": c.addr["token"]})
		var logs []json.RawMessage
		if a.Error != nil || json.Unmarshal(a.Result, &logs) != nil || len(logs) != 1 {
			t.Errorf("eth_getLogs within the limit: %s %+v", a.Result, a.Error)
		}
		// A page cap refuses a call that would return more.
		capped := New(c.node.URL(), Options{PageLimit: 2})
		defer capped.Close()
		wantErr(capped.URL(), "trace_filter", map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.last)}, -32005, "query returned more than 2 results")
		if fs := traceFilter(t, capped.URL(), map[string]any{"fromBlock": hexNumber(c.first), "toBlock": hexNumber(c.last), "count": 2}); len(fs) != 2 {
			t.Errorf("count 2 under a cap of 2: %d frames", len(fs))
		}
	})

	t.Run("batches", func(t *testing.T) {
		body := fmt.Sprintf(`[
			{"jsonrpc":"2.0","id":"a","method":"eth_blockNumber","params":[]},
			{"jsonrpc":"2.0","id":7,"method":"trace_filter","params":[{"fromBlock":%q,"toBlock":%q,"toAddress":[%q]}]},
			{"jsonrpc":"2.0","id":{"x":1},"method":"eth_chainId"},
			{"jsonrpc":"2.0","id":9,"method":"trace_filter","params":[{"count":"0x1"}]},
			{"jsonrpc":"2.0","id":10,"method":"eth_getLogs","params":[{"fromBlock":"0x0","toBlock":"latest"}]},
			{"jsonrpc":"2.0","id":11,"method":"trace_block","params":["0x1"]}
		]`, hexNumber(c.first), hexNumber(c.last), c.addr["frank"].Hex())
		res, err := http.Post(p.URL(), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var as []response
		if err := json.NewDecoder(res.Body).Decode(&as); err != nil {
			t.Fatal(err)
		}
		ids := []string{`"a"`, `7`, `{"x":1}`, `9`, `10`, `11`}
		if len(as) != len(ids) {
			t.Fatalf("%d answers", len(as))
		}
		for i, a := range as {
			if string(a.ID) != ids[i] {
				t.Errorf("answer %d has id %s, want %s", i, a.ID, ids[i])
			}
		}
		if as[0].Error != nil || as[2].Error != nil || string(as[2].Result) != `"0x539"` {
			t.Errorf("forwarded calls: %+v %+v", as[0], as[2])
		}
		if fs := decodeFrames(t, as[1].Result); len(fs) != 1 || fs[0].Type != "suicide" {
			t.Errorf("trace_filter in a batch: %s", as[1].Result)
		}
		if as[3].Error == nil || as[3].Error.Code != -32602 {
			t.Errorf("hex count in a batch: %+v", as[3])
		}
		if as[4].Error != nil {
			t.Errorf("eth_getLogs 0..latest on a short chain: %+v", as[4].Error)
		}
		if as[5].Error == nil || as[5].Error.Code != -32601 {
			t.Errorf("trace_block is not the proxy's: %+v", as[5])
		}
	})

	t.Run("cache and delay", func(t *testing.T) {
		fetched, up := p.BlocksFetched(), p.UpstreamRequests()
		traceFilter(t, p.URL(), window(c.addr["dave"]))
		if p.BlocksFetched() != fetched || p.UpstreamRequests() != up+1 { // the head only
			t.Errorf("a repeated window fetched %d blocks in %d upstream requests", p.BlocksFetched()-fetched, p.UpstreamRequests()-up)
		}
		slow := New(c.node.URL(), Options{Delay: 50 * time.Millisecond})
		defer slow.Close()
		start := time.Now()
		rpcCall(t, slow.URL(), "eth_blockNumber")
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("a call took %v with a delay of 50ms", d)
		}
		if slow.Requests() != 1 || slow.Calls() != 1 || slow.CallsTo("eth_blockNumber") != 1 {
			t.Errorf("counters: %d requests, %d calls", slow.Requests(), slow.Calls())
		}
	})

	// The client chaintrace uses, over a window far past the head: it
	// learns the limit from the refusal and asks the chunks in one batch.
	t.Run("history client over 0..2,000,000", func(t *testing.T) {
		const limit = 4
		// Over the whole chain: the deployments before the window count.
		allBlocks, _ := appearances(t, c.node.URL(), 1, c.node.Head())
		lp := New(c.node.URL(), Options{RangeLimit: limit})
		defer lp.Close()
		client := ethereum.NewClient(lp.URL(), ethereum.RPCOptions{})
		tf := history.NewTraceFilter(client, history.Options{})
		for _, name := range []string{"carol", "erin", "frank", "alice"} {
			a := c.addr[name]
			before := client.Requests()
			got, err := tf.Blocks(context.Background(), a, 0, 2_000_000)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, allBlocks[a]) {
				t.Errorf("%s: %v, the node's traces have %v", name, got, allBlocks[a])
			}
			t.Logf("%s: %d blocks in %d HTTP requests (limit %d, head %d)", name, len(got), client.Requests()-before, tf.RangeLimit(), c.node.Head())
			if n := client.Requests() - before; n > 4 {
				t.Errorf("%s: %d HTTP requests", name, n)
			}
		}
		if tf.RangeLimit() != limit {
			t.Errorf("learned limit %d, want %d", tf.RangeLimit(), limit)
		}
		logs := history.NewLogs(client, history.Options{})
		got, err := logs.Blocks(context.Background(), c.addr["carol"], 0, 2_000_000)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []uint64{c.transferBlock}) {
			t.Errorf("token logs of carol in %v, want [%d]", got, c.transferBlock)
		}
	})

	// The same past Erigon's default limit: a chain of more than 1000
	// blocks, with one more appearance of carol's near its end.
	t.Run("history client past the default limit", func(t *testing.T) {
		alice := devchain.Key("tfp-alice")
		carol := c.addr["carol"]
		signer := c.node.Signer()
		var late uint64
		err := c.node.Generate(1100, func(i int, b *core.BlockGen) {
			if i != 1050 {
				return
			}
			fee := new(big.Int).Add(b.BaseFee(), big.NewInt(params.GWei))
			b.AddTx(types.MustSignNewTx(alice, signer, &types.DynamicFeeTx{
				ChainID: c.node.ChainID(), Nonce: b.TxNonce(c.addr["alice"]), GasTipCap: big.NewInt(params.GWei), GasFeeCap: fee,
				Gas: 21000, To: &carol, Value: big.NewInt(1),
			}))
			late = b.Number().Uint64()
		})
		if err != nil {
			t.Fatal(err)
		}
		dp := New(c.node.URL(), Options{})
		defer dp.Close()
		client := ethereum.NewClient(dp.URL(), ethereum.RPCOptions{})
		tf := history.NewTraceFilter(client, history.Options{})
		start := time.Now()
		got, err := tf.Blocks(context.Background(), carol, 0, 2_000_000)
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(wantBlocks[carol]), late)
		if !slices.Equal(got, want) {
			t.Errorf("carol: %v, want %v", got, want)
		}
		t.Logf("head %d: %d HTTP requests to the proxy, %d upstream, %d blocks fetched, learned limit %d, %v",
			c.node.Head(), client.Requests(), dp.UpstreamRequests(), dp.BlocksFetched(), tf.RangeLimit(), time.Since(start).Round(time.Millisecond))
		if client.Requests() > 4 || tf.RangeLimit() != DefaultRangeLimit {
			t.Errorf("%d HTTP requests, learned limit %d", client.Requests(), tf.RangeLimit())
		}
		ps := dp.Params("trace_filter")
		sort.Slice(ps, func(i, j int) bool { return string(ps[i]) < string(ps[j]) })
		for _, raw := range ps {
			if bytes.Contains(raw, []byte(`"count":"`)) || bytes.Contains(raw, []byte(`"after":"`)) {
				t.Errorf("the client sent after/count as strings: %s", raw)
			}
		}
	})
}
