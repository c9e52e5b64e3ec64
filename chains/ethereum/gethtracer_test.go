package ethereum

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/ethereum/go-ethereum/common"
)

// go-ethereum's callTracer test fixtures: each file holds a mainnet or
// testnet transaction and "result", the callTracer frame tree geth must
// produce for it. INDEX.csv counts, per file, the frames, the frames with
// value, those in failed subtrees, the logs and the ERC-20 Transfer logs.

const gethTestdata = "go-ethereum/eth/tracers/internal/tracetest/testdata"

// gethFixture is the test's own reading of a fixture file.
type gethFixture struct {
	Context struct {
		Number string `json:"number"`
	} `json:"context"`
	Result json.RawMessage `json:"result"`
}

type gethTestFrame struct {
	Type  string          `json:"type"`
	From  string          `json:"from"`
	To    string          `json:"to"`
	Value string          `json:"value"`
	Error string          `json:"error"`
	Calls []gethTestFrame `json:"calls"`
	Logs  []gethTestLog   `json:"logs"`
}

type gethTestLog struct {
	Address string   `json:"address"`
	Topics  []string `json:"topics"`
	Data    string   `json:"data"`
	Index   string   `json:"index"`
}

// walkedFrame is one frame of the tree with what the walk knows of it.
type walkedFrame struct {
	Pos    string // dotted trace address, "" for the root
	Type   string
	From   string
	To     string
	Value  *big.Int
	Failed bool // the frame or an ancestor has an error
	Logs   []gethTestLog
}

func walkGeth(t *testing.T, root *gethTestFrame) []walkedFrame {
	t.Helper()
	var out []walkedFrame
	var walk func(f *gethTestFrame, pos string, failed bool)
	walk = func(f *gethTestFrame, pos string, failed bool) {
		failed = failed || f.Error != ""
		v := fxNum(t, f.Value)
		if v == nil {
			v = new(big.Int)
		}
		out = append(out, walkedFrame{
			Pos: pos, Type: strings.ToUpper(f.Type), From: strings.ToLower(f.From), To: strings.ToLower(f.To),
			Value: v, Failed: failed, Logs: f.Logs,
		})
		for i := range f.Calls {
			p := fmt.Sprint(i)
			if pos != "" {
				p = pos + "." + p
			}
			walk(&f.Calls[i], p, failed)
		}
	}
	walk(root, "", false)
	return out
}

// notValueMoving are the frame kinds whose value does not move between the
// two addresses the frame names.
var notValueMoving = map[string]bool{"DELEGATECALL": true, "CALLCODE": true, "STATICCALL": true}

// word20 reads an address from a 32-byte topic, refusing a word with
// non-zero upper bytes.
func word20(topic string) (string, bool) {
	b := common.FromHex(topic)
	if len(b) != 32 {
		return "", false
	}
	for _, x := range b[:12] {
		if x != 0 {
			return "", false
		}
	}
	return strings.ToLower(common.BytesToAddress(b[12:]).Hex()), true
}

type indexRow struct {
	File, TxHash                       string
	Frames, WithValue, FailedWithValue int
	Logs, ERC20Logs                    int
	Block                              uint64
	TracerConfig                       string
}

func readGethIndex(t *testing.T) map[string]indexRow {
	t.Helper()
	out := map[string]indexRow{}
	for _, r := range fxReadCSV(t, filepath.Join(fxDir(t, "go-ethereum"), "INDEX.csv")) {
		out[r["file"]] = indexRow{
			File: r["file"], TxHash: r["txHash"], Block: uint64(fxInt(t, r["block"])), TracerConfig: r["tracerConfig"],
			Frames: fxInt(t, r["frames"]), WithValue: fxInt(t, r["frames_with_value"]),
			FailedWithValue: fxInt(t, r["nonzero_value_frames_in_failed_subtree"]),
			Logs:            fxInt(t, r["logs"]), ERC20Logs: fxInt(t, r["erc20_transfer_logs"]),
		}
	}
	return out
}

func TestGethCallTracerFixtures(t *testing.T) {
	base := fxDir(t, gethTestdata)
	index := readGethIndex(t)
	var files []string
	for _, dir := range []string{"call_tracer", "call_tracer_legacy", "call_tracer_withLog"} {
		m, err := filepath.Glob(filepath.Join(base, dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Fatalf("no fixtures in %s", dir)
		}
		files = append(files, m...)
	}
	var internalRows, tokenRows, failedValueFrames int
	for _, path := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(path, base+string(filepath.Separator)))
		t.Run(rel, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var fx gethFixture
			if err := json.Unmarshal(b, &fx); err != nil {
				t.Fatal(err)
			}
			var tree gethTestFrame
			if err := json.Unmarshal(fx.Result, &tree); err != nil {
				t.Fatal(err)
			}
			walked := walkGeth(t, &tree)
			idx, ok := index[rel]
			if !ok {
				t.Fatalf("%s is not in INDEX.csv", rel)
			}
			blockNum := uint64(fxInt(t, fx.Context.Number))
			txHash := common.HexToHash(idx.TxHash)

			// The test's own reading of what moved.
			var wantInternal []valueMove
			var wantTokens []tokenMove
			failedPos := map[string]bool{}
			var nWithValue, nFailedWithValue, nLogs, nTransfer3, rootMoves, nonMovingWithValue, expectERC20 int
			var receiptLogs []rpcLog
			for _, f := range walked {
				if f.Failed {
					failedPos[f.Pos] = true
				}
				nLogs += len(f.Logs)
				for _, l := range f.Logs {
					if len(l.Topics) == 3 && common.HexToHash(l.Topics[0]) == TransferTopic {
						nTransfer3++
					}
				}
				if f.Value.Sign() > 0 {
					nWithValue++
					switch {
					case f.Failed:
						nFailedWithValue++
					case f.Pos == "":
						rootMoves++
					case notValueMoving[f.Type]:
						nonMovingWithValue++
					default:
						wantInternal = append(wantInternal, valueMove{Block: blockNum, Pos: f.Pos, From: f.From, To: f.To, Value: f.Value.String()})
					}
				}
				if f.Failed {
					continue // a reverted frame's logs are not in the receipt
				}
				for _, l := range f.Logs {
					// Older fixtures give no index; number the logs in
					// order then.
					li := len(receiptLogs)
					if l.Index != "" {
						li = fxInt(t, l.Index)
					}
					rl := rpcLog{Address: common.HexToAddress(l.Address), Data: common.FromHex(l.Data), LogIndex: quantity(li)}
					for _, tp := range l.Topics {
						rl.Topics = append(rl.Topics, common.HexToHash(tp))
					}
					receiptLogs = append(receiptLogs, rl)
					if len(l.Topics) == 0 || common.HexToHash(l.Topics[0]) != TransferTopic {
						continue
					}
					kind, ok := expectedKind(logShape{len(l.Topics), len(common.FromHex(l.Data))})
					if !ok || len(l.Topics) < 3 {
						continue
					}
					from, ok1 := word20(l.Topics[1])
					to, ok2 := word20(l.Topics[2])
					if !ok1 || !ok2 {
						continue
					}
					m := tokenMove{Block: blockNum, TxHash: strings.ToLower(txHash.Hex()), LogIndex: int(rl.LogIndex),
						Token: strings.ToLower(l.Address), From: from, To: to, Kind: kind}
					if kind == chains.KindERC721 {
						m.Value = fxNum(t, l.Topics[3]).String()
					} else {
						v := fxNum(t, l.Data)
						if v.Sign() == 0 {
							continue
						}
						m.Value = v.String()
						expectERC20++
					}
					wantTokens = append(wantTokens, m)
				}
			}

			// The fixture is what INDEX.csv says it is.
			if len(walked) != idx.Frames || nWithValue != idx.WithValue || nFailedWithValue != idx.FailedWithValue ||
				nLogs != idx.Logs || nTransfer3 != idx.ERC20Logs {
				t.Fatalf("walk finds frames %d, with value %d, failed with value %d, logs %d, 3-topic Transfer logs %d; INDEX.csv says %d %d %d %d %d",
					len(walked), nWithValue, nFailedWithValue, nLogs, nTransfer3, idx.Frames, idx.WithValue, idx.FailedWithValue, idx.Logs, idx.ERC20Logs)
			}

			// The package's reading of the same tree, frame level.
			var root callFrame
			if err := json.Unmarshal(fx.Result, &root); err != nil {
				t.Fatalf("callFrame: %v", err)
			}
			frames := flattenCallFrame(&root)
			if len(frames) != len(walked) {
				t.Errorf("%d frames flattened, the tree has %d", len(frames), len(walked))
			}
			var gotInternal []valueMove
			for _, f := range fxMustInternal(t, frames) {
				if failedPos[fxDottedInts(f.Address)] {
					t.Errorf("transfer from frame %v, which is in a failed subtree", f.Address)
				}
				gotInternal = append(gotInternal, valueMove{Block: blockNum, Pos: fxDottedInts(f.Address),
					From: strings.ToLower(f.From.Hex()), To: strings.ToLower(f.To.Hex()), Value: f.Value.String()})
			}
			fxSameMultiset(t, "internal transfers", gotInternal, wantInternal)
			if want := idx.WithValue - idx.FailedWithValue - rootMoves - nonMovingWithValue; len(gotInternal) != want {
				t.Errorf("%d internal transfers; INDEX.csv: %d frames with value - %d failed - %d root - %d DELEGATECALL/CALLCODE/STATICCALL = %d",
					len(gotInternal), idx.WithValue, idx.FailedWithValue, rootMoves, nonMovingWithValue, want)
			}

			// The whole pipeline: the transaction, its receipt (status
			// unknown, as before Byzantium, so the trace decides; logs of
			// the frames that did not revert) and its trace.
			var to *common.Address
			if tree.To != "" {
				a := common.HexToAddress(tree.To)
				to = &a
			}
			tx := rpcTx{Hash: txHash, From: common.HexToAddress(tree.From), To: to, TransactionIndex: 0}
			if v := fxNum(t, tree.Value); v != nil {
				tx.Value.Set(v)
			}
			rc := rpcReceipt{TransactionHash: txHash, Logs: receiptLogs}
			if strings.EqualFold(tree.Type, "CREATE") || strings.EqualFold(tree.Type, "CREATE2") {
				tx.To = nil
				a := common.HexToAddress(tree.To)
				rc.ContractAddress = &a
			}
			bt, err := extract(&blockInput{
				Block:    &rpcBlock{Number: quantity(blockNum), Transactions: []rpcTx{tx}},
				Receipts: []rpcReceipt{rc},
				Traces:   []TxTrace{{TxHash: txHash, Frames: frames}},
			})
			if err != nil {
				t.Fatal(err)
			}
			fxCheckOrder(t, bt.Transfers)
			rootFailed := walked[0].Failed
			if bt.Txs[0].Success == rootFailed {
				t.Errorf("Success = %v, root error %q", bt.Txs[0].Success, tree.Error)
			}
			wantMoves := append([]valueMove(nil), wantInternal...)
			if rootMoves == 1 {
				wantMoves = append(wantMoves, valueMove{Block: blockNum, From: walked[0].From, To: walked[0].To, Value: walked[0].Value.String()})
			}
			fxSameMultiset(t, "native and internal rows", fxMovesOf(t, bt.Transfers), wantMoves)
			if rootFailed {
				wantTokens = nil // a failed transaction moves nothing
			}
			gotTokens := tokenMovesOf(t, bt.Transfers)
			fxSameMultiset(t, "token rows from the trace's logs", gotTokens, wantTokens)
			if !rootFailed {
				var erc20 int
				for _, m := range gotTokens {
					if m.Kind == chains.KindERC20 {
						erc20++
					}
				}
				if erc20 != expectERC20 || erc20 > idx.ERC20Logs {
					t.Errorf("%d erc20 rows; %d expected of the %d Transfer logs INDEX.csv counts", erc20, expectERC20, idx.ERC20Logs)
				}
			}
			internalRows += len(gotInternal)
			tokenRows += len(gotTokens)
			failedValueFrames += nFailedWithValue
		})
	}
	t.Logf("%d fixture files: %d internal transfers and %d token rows compared; %d value frames in failed subtrees left out",
		len(files), internalRows, tokenRows, failedValueFrames)
}

// TestGethDeliberateDifferences names the frames whose value chaintrace
// deliberately does not count, on real traces.
func TestGethDeliberateDifferences(t *testing.T) {
	base := fxDir(t, gethTestdata)
	t.Run("CALLCODE_with_value_moves_nothing", func(t *testing.T) {
		// call_tracer_withLog/calldata.json: a CALL with 10 ETH to a wallet
		// that CALLCODEs its library with the same 10 ETH. ethereum-etl
		// and geth report the CALLCODE frame's value; it stays with the
		// wallet.
		var fx gethFixture
		b, err := os.ReadFile(filepath.Join(base, "call_tracer_withLog", "calldata.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &fx); err != nil {
			t.Fatal(err)
		}
		var tree gethTestFrame
		if err := json.Unmarshal(fx.Result, &tree); err != nil {
			t.Fatal(err)
		}
		var seen int
		for _, f := range walkGeth(t, &tree) {
			if f.Type == "CALLCODE" && f.Value.Sign() > 0 && !f.Failed {
				seen++
				t.Logf("frame %s: CALLCODE %s -> %s with %s wei; chaintrace: no row", f.Pos, f.From, f.To, f.Value)
			}
		}
		if seen == 0 {
			t.Fatal("the fixture no longer holds a CALLCODE frame with value")
		}
		var root callFrame
		if err := json.Unmarshal(fx.Result, &root); err != nil {
			t.Fatal(err)
		}
		for _, f := range fxMustInternal(t, flattenCallFrame(&root)) {
			if f.Type == "CALLCODE" {
				t.Errorf("CALLCODE frame %v became a transfer of %s", f.Address, f.Value)
			}
		}
	})
	t.Run("DELEGATECALL_with_value_moves_nothing", func(t *testing.T) {
		// No callTracer fixture has a DELEGATECALL with value; the
		// flatCallTracer (Parity form) fixture delegatecall_parent_value
		// has one: a 10 ETH CALL into a proxy that DELEGATECALLs with the
		// same 10 ETH. Only the top-level 10 ETH moves.
		b, err := os.ReadFile(filepath.Join(base, "call_tracer_flat", "delegatecall_parent_value.json"))
		if err != nil {
			t.Fatal(err)
		}
		var fx gethFixture
		if err := json.Unmarshal(b, &fx); err != nil {
			t.Fatal(err)
		}
		var own []struct {
			Action struct {
				CallType string `json:"callType"`
				Value    string `json:"value"`
			} `json:"action"`
			TraceAddress        []int `json:"traceAddress"`
			TransactionPosition int   `json:"transactionPosition"`
		}
		if err := json.Unmarshal(fx.Result, &own); err != nil {
			t.Fatal(err)
		}
		seen, pos := 0, 0
		for _, f := range own {
			pos = f.TransactionPosition
			if f.Action.CallType == "delegatecall" && fxNum(t, f.Action.Value).Sign() > 0 {
				seen++
				t.Logf("frame %v: DELEGATECALL carrying %s wei; chaintrace: no row", f.TraceAddress, fxNum(t, f.Action.Value))
			}
		}
		if seen == 0 {
			t.Fatal("the fixture no longer holds a DELEGATECALL frame with value")
		}
		var arr []parityTrace
		if err := json.Unmarshal(fx.Result, &arr); err != nil {
			t.Fatal(err)
		}
		traces, err := groupParity(arr, pos+1)
		if err != nil {
			t.Fatal(err)
		}
		if got := fxMustInternal(t, traces[pos].Frames); len(got) != 0 {
			for _, f := range got {
				t.Errorf("%s frame %v became a transfer of %s", f.Type, f.Address, f.Value)
			}
		}
		if len(traces[pos].Frames) != len(own) || traces[pos].Frames[1].Type != "DELEGATECALL" {
			t.Errorf("frames read as %+v", traces[pos].Frames)
		}
	})
}

// TestGethNestedMatchesFlat reads the transactions that go-ethereum traces in
// both forms (callTracer and flatCallTracer, same tx and config) and checks
// the two give the same internal transfers.
func TestGethNestedMatchesFlat(t *testing.T) {
	base := fxDir(t, gethTestdata)
	index := readGethIndex(t)
	pairs := 0
	for rel, flat := range index {
		if !strings.HasPrefix(rel, "call_tracer_flat/") {
			continue
		}
		nestedRel := "call_tracer/" + strings.TrimPrefix(rel, "call_tracer_flat/")
		nested, ok := index[nestedRel]
		// Same transaction and config; flatCallTracer ignores onlyTopCall,
		// so a pair whose frame counts differ does not trace the same
		// thing.
		if !ok || nested.TxHash != flat.TxHash || nested.TracerConfig != flat.TracerConfig || nested.Frames != flat.Frames {
			continue
		}
		pairs++
		t.Run(strings.TrimPrefix(rel, "call_tracer_flat/"), func(t *testing.T) {
			read := func(rel string) json.RawMessage {
				b, err := os.ReadFile(filepath.Join(base, rel))
				if err != nil {
					t.Fatal(err)
				}
				var fx gethFixture
				if err := json.Unmarshal(b, &fx); err != nil {
					t.Fatal(err)
				}
				return fx.Result
			}
			var root callFrame
			if err := json.Unmarshal(read(nestedRel), &root); err != nil {
				t.Fatal(err)
			}
			var arr []parityTrace
			if err := json.Unmarshal(read(rel), &arr); err != nil {
				t.Fatal(err)
			}
			pos := placeFlat(arr)
			traces, err := groupParity(arr, pos+1)
			if err != nil {
				t.Fatal(err)
			}
			conv := func(fs []indexedFrame) []valueMove {
				var out []valueMove
				for _, f := range fs {
					out = append(out, valueMove{Pos: fxDottedInts(f.Address), From: strings.ToLower(f.From.Hex()), To: strings.ToLower(f.To.Hex()), Value: f.Value.String()})
				}
				return out
			}
			nestedFrames := flattenCallFrame(&root)
			fxSameMultiset(t, "flat vs nested", conv(fxMustInternal(t, traces[pos].Frames)), conv(fxMustInternal(t, nestedFrames)))
			if (nestedFrames[0].Error == "") != (traces[pos].Frames[0].Error == "") {
				t.Errorf("root error: nested %q, flat %q", nestedFrames[0].Error, traces[pos].Frames[0].Error)
			}
		})
	}
	if pairs == 0 {
		t.Fatal("no transaction is in both call_tracer and call_tracer_flat")
	}
}

// placeFlat gives the frames of a flatCallTracer fixture the transaction
// position a node's answer would carry (the fixtures trace a transaction
// outside a block and leave it out) and returns it.
func placeFlat(arr []parityTrace) int {
	pos := 0
	for _, f := range arr {
		if f.TransactionPosition != nil {
			pos = int(*f.TransactionPosition)
		}
	}
	for i := range arr {
		if arr[i].TransactionPosition == nil {
			p := quantity(pos)
			arr[i].TransactionPosition = &p
		}
	}
	return pos
}
