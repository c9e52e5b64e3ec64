package erigonemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/internal/erigonemu"
	"github.com/chaintrace/chaintrace/internal/rpcreplay"
)

func loadChain(t *testing.T) (string, *erigonemu.Chain) {
	t.Helper()
	dir := erigonemu.Dir(t)
	c, err := erigonemu.LoadChain(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, c
}

// recordedCall reads the one call of a recorded file.
func recordedCall(t *testing.T, dir, file string) rpcreplay.RecordedCall {
	t.Helper()
	c, err := rpcreplay.ReadErigonCall(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lateFile reports whether a recording was made after the chain had passed
// 1000 blocks (README: the range-limit files), when the head was 0x3fc.
func lateFile(name string) bool {
	for _, s := range []string{".long_chain.", ".range_too_large.", ".range_1000_ok.", "eth_blockNumber.late."} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func canonicalJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %.200s: %v", b, err)
	}
	return v
}

// TestReproducesRecordings runs every recorded call of an emulated method
// through the emulator, with the head the node had when it was recorded,
// and wants the recorded answer: the same value (trace_filter, eth_getLogs,
// eth_getBalance and eth_getBlockReceipts also the same bytes once
// compacted), or the same error code and message.
func TestReproducesRecordings(t *testing.T) {
	dir, chain := loadChain(t)
	idx, err := rpcreplay.ReadErigonIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]int{}
	sameBytes := 0
	for _, entry := range idx {
		emulated := false
		for _, m := range erigonemu.Methods {
			emulated = emulated || entry.Method == m
		}
		if !emulated {
			continue
		}
		t.Run(entry.File, func(t *testing.T) {
			call := recordedCall(t, dir, entry.File)
			head := uint64(erigonemu.RecordedHead)
			if lateFile(entry.File) {
				head = erigonemu.RecordedLateHead
			}
			emu := erigonemu.NewEmulator(chain, erigonemu.Options{Head: head})
			res, rerr, ok := emu.Answer(call.Method, call.Params)
			if !ok {
				t.Fatalf("emulator does not handle %s", call.Method)
			}
			switch {
			case call.Error != nil && rerr == nil:
				t.Fatalf("recorded error %d %q, emulator answered a result", call.Error.Code, call.Error.Message)
			case call.Error == nil && rerr != nil:
				t.Fatalf("recorded a result, emulator answered error %d %q", rerr.Code, rerr.Message)
			case call.Error != nil:
				if call.Error.Code != rerr.Code || call.Error.Message != rerr.Message {
					t.Fatalf("error: recorded %d %q, emulator %d %q", call.Error.Code, call.Error.Message, rerr.Code, rerr.Message)
				}
			default:
				got, err := json.Marshal(res)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(canonicalJSON(t, got), canonicalJSON(t, call.Result)) {
					t.Fatalf("result differs:\nrecorded: %.600s\nemulator: %.600s", call.Result, got)
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, call.Result); err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(compact.Bytes(), got) {
					sameBytes++
				} else if call.Method != "ots_searchTransactionsAfter" && call.Method != "ots_searchTransactionsBefore" {
					t.Errorf("same value but not the same bytes:\nrecorded: %.300s\nemulator: %.300s", compact.Bytes(), got)
				}
			}
			checked[call.Method]++
		})
	}
	// Every family must have been compared: index.json lists 44
	// trace_filter files, 24 ots searches, 16 eth_getLogs and 2 heads (the
	// 86 of the address-indexed families), 27 balances (24 at block 48, 3
	// at 37) and 13 block receipts (37-48 and one past the head). It
	// records no eth_call.
	want := map[string]int{"trace_filter": 44, "ots_searchTransactionsAfter": 6, "ots_searchTransactionsBefore": 18,
		"eth_getLogs": 16, "eth_blockNumber": 2, "eth_getBalance": 27, "eth_getBlockReceipts": 13}
	total := 0
	for m, n := range want {
		if checked[m] != n {
			t.Errorf("%s: checked %d recordings, want %d", m, checked[m], n)
		}
		total += checked[m]
	}
	if total != 86+27+13 {
		t.Errorf("checked %d recordings, want %d", total, 86+27+13)
	}
	t.Logf("emulator reproduced %v recordings (%d of %d byte for byte)", checked, sameBytes, total)
}

// recordedBalance is a recorded eth_getBalance answer, or nil.
func recordedBalances(t *testing.T, dir string) map[[2]string]*big.Int {
	t.Helper()
	idx, err := rpcreplay.ReadErigonIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]string]*big.Int{}
	for _, e := range idx {
		if e.Method != "eth_getBalance" {
			continue
		}
		c := recordedCall(t, dir, e.File)
		var args []string
		var res string
		if err := json.Unmarshal(c.Params, &args); err != nil || len(args) != 2 {
			t.Fatalf("%s: params %s", e.File, c.Params)
		}
		if c.Error != nil || json.Unmarshal(c.Result, &res) != nil {
			t.Fatalf("%s: no balance", e.File)
		}
		b, ok := new(big.Int).SetString(strings.TrimPrefix(res, "0x"), 16)
		if !ok {
			t.Fatalf("%s: balance %q", e.File, res)
		}
		out[[2]string{strings.ToLower(args[0]), args[1]}] = b
	}
	return out
}

func answerBig(t *testing.T, emu *erigonemu.Emulator, method string, params ...any) (*big.Int, *erigonemu.Error) {
	t.Helper()
	p, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	res, rerr, ok := emu.Answer(method, p)
	if !ok {
		t.Fatalf("%s not emulated", method)
	}
	if rerr != nil {
		return nil, rerr
	}
	s, isStr := res.(string)
	if !isStr {
		t.Fatalf("%s%s answered %T %v", method, p, res, res)
	}
	if s == "0x" {
		return nil, nil
	}
	b, ok := new(big.Int).SetString(strings.TrimPrefix(s, "0x"), 16)
	if !ok {
		t.Fatalf("%s%s answered %q", method, p, s)
	}
	return b, nil
}

// decodedBlocks decodes the recorded blocks 37-48 with the adapter's
// Decode, from the recorded block, receipts and Parity traces.
func decodedBlocks(t *testing.T, dir string) []*chains.BlockTransfers {
	t.Helper()
	result := func(file string) []byte {
		c := recordedCall(t, dir, file)
		if c.Error != nil {
			t.Fatalf("%s: recorded an error", file)
		}
		return c.Result
	}
	var out []*chains.BlockTransfers
	for n := uint64(erigonemu.FirstBlock); n <= erigonemu.LastBlock; n++ {
		raw := &chains.RawBlock{Number: n, Parts: map[string][]byte{
			ethereum.PartBlock:    result(fmt.Sprintf("eth_getBlockByNumber.full.block%d.json", n)),
			ethereum.PartReceipts: result(fmt.Sprintf("eth_getBlockReceipts.block%d.json", n)),
			ethereum.PartTraces:   append([]byte{'p'}, result(fmt.Sprintf("trace_block.block%d.json", n))...),
		}}
		bt, err := ethereum.Decode(raw)
		if err != nil {
			t.Fatalf("block %d: %v", n, err)
		}
		out = append(out, bt)
	}
	return out
}

// TestBalances checks the emulated ether and token balances of the 24
// scenario addresses at every block 37-48 against a second derivation: the
// recorded blocks, receipts and traces decoded by chains/ethereum, applied
// to the recorded balances at 37 (scenario.json's where none was
// recorded). At 37 and 48 they must also equal every recorded
// eth_getBalance and scenario.json's balances, ether and token.
func TestBalances(t *testing.T) {
	dir, chain := loadChain(t)
	sc, err := erigonemu.ReadScenario(dir)
	if err != nil {
		t.Fatal(err)
	}
	resolve := sc.Resolver()
	emu := erigonemu.NewEmulator(chain, erigonemu.Options{})
	recorded := recordedBalances(t, dir)
	addrs := chain.Addresses()
	if len(addrs) != 24 {
		t.Fatalf("%d addresses with a known balance, want 24", len(addrs))
	}
	token := chain.Token()

	// The second derivation.
	ether := map[string]*big.Int{}
	tok := map[string]*big.Int{}
	for name, v := range sc.Balances.AtBlock37 {
		a, err := resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := new(big.Int).SetString(v, 10)
		if r, ok := recorded[[2]string{a, "0x25"}]; ok {
			if r.Cmp(b) != 0 {
				t.Errorf("%s: recorded balance at 37 %s, scenario.json %s", name, r, b)
			}
			b = r
		}
		ether[a], tok[a] = b, new(big.Int)
	}
	compared, comparedToken := 0, 0
	for _, bt := range decodedBlocks(t, dir) {
		n := bt.Block.Number
		for _, tx := range bt.Txs {
			from := strings.ToLower(tx.From)
			if ether[from] == nil {
				t.Fatalf("block %d: sender %s is not a scenario address", n, from)
			}
			ether[from].Sub(ether[from], tx.Fee)
		}
		for _, tr := range bt.Transfers {
			from, to := strings.ToLower(tr.From[0]), strings.ToLower(tr.To)
			m, isToken := ether, false
			switch {
			case tr.Asset == chains.AssetETH:
			case strings.ToLower(tr.Asset) == token && tr.Kind == chains.KindERC20:
				m, isToken = tok, true
			default:
				t.Fatalf("block %d: row of asset %s kind %s", n, tr.Asset, tr.Kind)
			}
			if m[from] == nil && !(isToken && from == "0x0000000000000000000000000000000000000000") {
				t.Fatalf("block %d: %s moves %s from %s, not a scenario address", n, tr.Asset, tr.Amount, from)
			}
			if m[to] == nil {
				t.Fatalf("block %d: %s moves %s to %s, not a scenario address", n, tr.Asset, tr.Amount, to)
			}
			if m[from] != nil {
				m[from].Sub(m[from], tr.Amount)
			}
			m[to].Add(m[to], tr.Amount)
		}
		supply := new(big.Int)
		for _, a := range addrs {
			name := chain.Name(a)
			got, rerr := answerBig(t, emu, "eth_getBalance", a, fmt.Sprintf("0x%x", n))
			if rerr != nil {
				t.Fatalf("%s at %d: %v", name, n, rerr)
			}
			if got.Cmp(ether[a]) != 0 {
				t.Errorf("%s at %d: emulated %s, decoded blocks give %s", name, n, got, ether[a])
			}
			if r, ok := recorded[[2]string{a, fmt.Sprintf("0x%x", n)}]; ok && r.Cmp(got) != 0 {
				t.Errorf("%s at %d: emulated %s, recorded %s", name, n, got, r)
			}
			compared++
			call := map[string]string{"to": token, "data": "0x70a08231" + strings.Repeat("0", 24) + a[2:]}
			gotTok, rerr := answerBig(t, emu, "eth_call", call, fmt.Sprintf("0x%x", n))
			if rerr != nil {
				t.Fatalf("balanceOf(%s) at %d: %v", name, n, rerr)
			}
			if n < 38 {
				// The token is created in block 38: no code at 37, so
				// the call returns nothing.
				if gotTok != nil {
					t.Errorf("balanceOf(%s) at %d, before the token exists: %s, want 0x", name, n, gotTok)
				}
				continue
			}
			if gotTok == nil || gotTok.Cmp(tok[a]) != 0 {
				t.Errorf("balanceOf(%s) at %d: emulated %v, decoded blocks give %s", name, n, gotTok, tok[a])
			}
			comparedToken++
			if gotTok != nil {
				supply.Add(supply, gotTok)
			}
		}
		if n >= 38 && supply.String() != "1000000000000000000000000" {
			t.Errorf("block %d: token supply held by the scenario addresses %s", n, supply)
		}
	}
	// scenario.json's balances at 48, ether and token.
	for name, v := range sc.Balances.AtBlock48 {
		a, _ := resolve(name)
		if ether[a].String() != v {
			t.Errorf("%s at 48: %s, scenario.json %s", name, ether[a], v)
		}
	}
	for _, a := range addrs {
		want := sc.Balances.TokenAtBlock48[chain.Name(a)]
		if want == "" {
			want = "0"
		}
		if tok[a].String() != want {
			t.Errorf("token balance of %s at 48: %s, scenario.json %s", chain.Name(a), tok[a], want)
		}
	}
	// Every recorded balance was compared (24 at 48, 3 at 37).
	n := 0
	for k := range recorded {
		if k[1] == "0x30" || k[1] == "0x25" {
			n++
		}
	}
	if n != 27 || len(recorded) != 27 {
		t.Errorf("%d recorded balances, want 27", len(recorded))
	}
	t.Logf("compared %d ether and %d token balances (24 addresses, blocks 37-48)", compared, comparedToken)
}

// TestStateEdges: block tags, the blocks past 48, and the calls that are not
// emulated.
func TestStateEdges(t *testing.T) {
	_, chain := loadChain(t)
	emu := erigonemu.NewEmulator(chain, erigonemu.Options{Head: 2_000})
	dev := "0x78ef752367584ee389acb8824ceec734456402b6"
	at48, _ := answerBig(t, emu, "eth_getBalance", dev, "0x30")
	for _, tag := range []any{"latest", "pending", "safe", "finalized", "0x7d0", "0x31", map[string]string{"blockNumber": "latest"},
		map[string]string{"blockHash": "0x" + strings.Repeat("0", 63) + "1"}} {
		got, rerr := answerBig(t, emu, "eth_getBalance", dev, tag)
		if _, isHash := tag.(map[string]string); isHash && tag.(map[string]string)["blockHash"] != "" {
			if rerr == nil {
				t.Errorf("unknown block hash: %v, want an error", got)
			}
			continue
		}
		if rerr != nil || got.Cmp(at48) != 0 {
			t.Errorf("dev at %v: %v %v, want %s (the blocks after 48 are empty)", tag, got, rerr, at48)
		}
	}
	blk44Hash := "0x50efbc892b2ad6ab58529b4dae2580b494ac18f51a0cc7a1b08f78238703006a"
	byHash, rerr := answerBig(t, emu, "eth_getBalance", dev, map[string]string{"blockHash": blk44Hash})
	byNum, _ := answerBig(t, emu, "eth_getBalance", dev, "0x2c")
	if rerr != nil || byHash.Cmp(byNum) != 0 {
		t.Errorf("dev at block 44 by hash: %v %v, by number %v", byHash, rerr, byNum)
	}
	for _, tc := range []struct {
		name   string
		method string
		params []any
		code   int
	}{
		{"beyond the head", "eth_getBalance", []any{dev, "0x7d1"}, -32000},
		{"before block 37", "eth_getBalance", []any{dev, "earliest"}, -32000},
		{"an address the scenario does not name", "eth_getBalance", []any{"0x000000000000000000000000000000000000dead", "latest"}, -32000},
		{"bad block", "eth_getBalance", []any{dev, "0xzz"}, -32602},
		{"a call to another contract", "eth_call", []any{map[string]string{"to": "0x55d8f9693a57f932cde89739f93d4a271d56a156", "data": "0x"}, "latest"}, -32000},
		{"transfer on the token", "eth_call", []any{map[string]string{"to": chain.Token(), "data": "0xa9059cbb"}, "latest"}, -32000},
	} {
		p, _ := json.Marshal(tc.params)
		_, rerr, _ := emu.Answer(tc.method, p)
		if rerr == nil || rerr.Code != tc.code {
			t.Errorf("%s: %v, want code %d", tc.name, rerr, tc.code)
		}
	}
	// A call to an EOA returns nothing, as on a node.
	if got, rerr := answerBig(t, emu, "eth_call", map[string]string{"to": dev, "data": "0x70a08231"}, "latest"); got != nil || rerr != nil {
		t.Errorf("call to an EOA: %v %v, want 0x", got, rerr)
	}
	// input instead of data, and no block: latest.
	peel1 := "0x125df34fd5ef9e58eb42a66f8dcbf2c8617ff23e"
	got, rerr := answerBig(t, emu, "eth_call", map[string]string{"to": chain.Token(), "input": "0x70a08231" + strings.Repeat("0", 24) + peel1[2:]})
	if rerr != nil || got.String() != "600000000000000000000" {
		t.Errorf("peel1's token balance at the head: %v %v", got, rerr)
	}
	// Receipts: the recorded ones, [] for an empty block, null past the head.
	for _, tc := range []struct {
		block any
		want  string
	}{{"0x31", "[]"}, {"latest", "[]"}, {"0x7d1", "null"}, {"0x24", "[]"}} {
		p, _ := json.Marshal([]any{tc.block})
		res, rerr, _ := emu.Answer("eth_getBlockReceipts", p)
		b, _ := json.Marshal(res)
		if rerr != nil || string(b) != tc.want {
			t.Errorf("eth_getBlockReceipts(%v) = %s %v, want %s", tc.block, b, rerr, tc.want)
		}
	}
}

// TestServer: the HTTP front answers the emulated methods, passes the rest
// to the replay (the id echoed), in batches too, and counts.
func TestServer(t *testing.T) {
	dir := erigonemu.Dir(t)
	s := erigonemu.New(t, dir, erigonemu.Options{BatchLimit: 3})
	c := ethereum.NewClient(s.URL(), ethereum.RPCOptions{})
	ctx := context.Background()
	var version string
	if err := c.Call(ctx, &version, "web3_clientVersion"); err != nil || !strings.HasPrefix(version, "erigon/") {
		t.Fatalf("web3_clientVersion through the replay: %q %v", version, err)
	}
	elems := []ethereum.BatchElem{
		{Method: "eth_blockNumber", Params: []any{}},
		{Method: "eth_chainId", Params: []any{}},
		{Method: "eth_getBalance", Params: []any{"0x78ef752367584ee389acb8824ceec734456402b6", "0x25"}},
	}
	if err := c.Batch(ctx, elems); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`"0x52"`, `"0x539"`, `"0x3635c9adc5dea00000"`} {
		if elems[i].Error != nil || string(elems[i].Result) != want {
			t.Errorf("%s: %s %v, want %s", elems[i].Method, elems[i].Result, elems[i].Error, want)
		}
	}
	// Over the batch limit: refused as a whole.
	four := append(elems[:3:3], ethereum.BatchElem{Method: "eth_blockNumber", Params: []any{}})
	for i := range four {
		four[i].Result, four[i].Error = nil, nil
	}
	if err := c.Batch(ctx, four); err == nil {
		t.Error("a batch of 4 over a limit of 3 was answered")
	}
	s.Disable("trace_filter")
	var out json.RawMessage
	err := c.Call(ctx, &out, "trace_filter", map[string]any{"fromAddress": []string{"0x78ef752367584ee389acb8824ceec734456402b6"}})
	var re *ethereum.RPCError
	if !errors.As(err, &re) || re.Code != -32601 {
		t.Errorf("disabled trace_filter: %v", err)
	}
	if s.Requests() != 4 || s.Calls() != 5 || s.CallsTo("eth_blockNumber") != 1 || s.CallsTo("trace_filter") != 1 {
		t.Errorf("requests %d calls %d %v", s.Requests(), s.Calls(), s.CallsPerMethod())
	}
	if u := s.Replay().Unmatched(); len(u) > 0 {
		t.Errorf("calls without a recording: %v", u)
	}
}
