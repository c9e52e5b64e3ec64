package ethereum

import (
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/rpcreplay"
	"github.com/ethereum/go-ethereum/common"
)

// The ethereum-etl block, receipt and token-transfer fixtures: native rows
// against ethereum-etl's expected transactions, token rows against its
// expected token transfers.

// etlReceipt is the test's own reading of a recorded receipt.
type etlReceipt struct {
	TransactionHash string `json:"transactionHash"`
	Logs            []struct {
		Topics   []string `json:"topics"`
		Data     string   `json:"data"`
		LogIndex string   `json:"logIndex"`
	} `json:"logs"`
}

func shapeOf(t *testing.T, topics int, data string) logShape {
	t.Helper()
	return logShape{Topics: topics, DataLen: len(common.FromHex(data))}
}

// expectedNative reads ethereum-etl's expected transactions: a native row
// for each with a value, unless its receipt status is known and not 1. A
// creation's row goes to the created contract.
func expectedNative(t *testing.T, rows []map[string]string) (want []valueMove, failed int) {
	t.Helper()
	for _, r := range rows {
		v := fxNum(t, r["value"])
		if v.Sign() == 0 {
			continue
		}
		if st := r["receipt_status"]; st != "" && st != "1" {
			failed++
			continue
		}
		to := r["to_address"]
		if to == "" {
			to = r["receipt_contract_address"]
		}
		if to == "" {
			t.Fatalf("tx %s moves %s to an unknown created address", r["hash"], v)
		}
		want = append(want, valueMove{
			Block: uint64(fxInt(t, r["block_number"])), Tx: fxInt(t, r["transaction_index"]),
			From: strings.ToLower(r["from_address"]), To: strings.ToLower(to), Value: v.String(),
		})
	}
	return want, failed
}

func TestETLBlocks(t *testing.T) {
	root := etlDir(t)
	cases := []struct {
		name      string
		blocks    []uint64
		dirs      []string // recordings to serve
		txDir     string   // expected_transactions
		tokenDir  string   // expected_token_transfers, if any
		synthRcpt bool     // no receipts were recorded: serve minimal pre-Byzantium ones
	}{
		{name: "block_without_transactions", blocks: []uint64{0},
			dirs: []string{"test_export_blocks_job/block_without_transactions"}, txDir: "test_export_blocks_job/block_without_transactions"},
		{name: "blocks_with_transactions", blocks: []uint64{47218, 47219}, synthRcpt: true,
			dirs: []string{"test_export_blocks_job/blocks_with_transactions"}, txDir: "test_export_blocks_job/blocks_with_transactions"},
		{name: "block_with_logs", blocks: []uint64{483920},
			dirs:     []string{"test_export_blocks_job/block_with_logs", "test_export_receipts_job/receipts_with_logs"},
			txDir:    "test_export_blocks_job/block_with_logs",
			tokenDir: "test_export_token_transfers_job/block_with_transfers"},
		{name: "stream_1755634_1755635", blocks: []uint64{1755634, 1755635},
			dirs: []string{"test_stream/blocks_1755634_1755635"}, txDir: "test_stream/blocks_1755634_1755635", tokenDir: "test_stream/blocks_1755634_1755635"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := rpcreplay.New(t)
			for _, d := range tc.dirs {
				if _, err := s.LoadEthereumETL(filepath.Join(root, d)); err != nil {
					t.Fatal(err)
				}
			}
			s.Handle("eth_chainId", nil, json.RawMessage(`"0x1"`))
			ctx := fxCtx(t)
			client := NewClient(s.URL(), RPCOptions{})

			// Read what the node holds, the test's own way: the receipts
			// (for log shapes) and which of them were recorded.
			shapes := map[logKey]logShape{}
			for _, n := range tc.blocks {
				var blk struct {
					Hash         string `json:"hash"`
					Transactions []struct {
						Hash string `json:"hash"`
					} `json:"transactions"`
				}
				if err := client.Call(ctx, &blk, "eth_getBlockByNumber", hexQuantity(n), true); err != nil {
					t.Fatal(err)
				}
				for i, tx := range blk.Transactions {
					var rc etlReceipt
					err := client.Call(ctx, &rc, "eth_getTransactionReceipt", tx.Hash)
					var re *RPCError
					switch {
					case err == nil:
						for _, l := range rc.Logs {
							shapes[logKey{strings.ToLower(rc.TransactionHash), fxInt(t, l.LogIndex)}] = shapeOf(t, len(l.Topics), l.Data)
						}
					case tc.synthRcpt && errors.As(err, &re) && (re.Code == rpcreplay.CodeNoRecording || re.Code == rpcreplay.CodeMethodNotFound):
						s.Handle("eth_getTransactionReceipt", []any{tx.Hash}, fxJSON(t, map[string]any{
							"transactionHash": tx.Hash, "transactionIndex": hexQuantity(uint64(i)),
							"blockHash": blk.Hash, "gasUsed": "0x5208", "logs": []any{},
						}))
					default:
						t.Fatalf("receipt of %s: %v", tx.Hash, err)
					}
				}
			}

			a := fxDial(t, s, Options{NoInternal: true})
			if caps := a.Capabilities(); caps.BlockReceipts {
				t.Fatal("detected eth_getBlockReceipts on a node that has none")
			}
			bts, err := fxFetchDecode(t, a, tc.blocks...)
			if err != nil {
				t.Fatal(err)
			}
			ts := fxAllTransfers(bts)
			fxCheckOrder(t, ts)

			txRows := fxReadRows(t, filepath.Join(root, tc.txDir), "expected_transactions")
			wantNative, failed := expectedNative(t, txRows)
			var gotNative []valueMove
			for _, m := range fxMovesOf(t, ts) {
				if m.Pos != "" {
					t.Errorf("internal row %v without traces", m)
				}
				gotNative = append(gotNative, m)
			}
			fxSameMultiset(t, "native rows vs expected_transactions", gotNative, wantNative)
			t.Logf("%d transactions, %d native rows expected, %d failed with value", len(txRows), len(wantNative), failed)

			// The transaction records match too.
			var txs []chains.Tx
			for _, b := range bts {
				txs = append(txs, b.Txs...)
			}
			if len(txs) != len(txRows) {
				t.Errorf("%d transactions decoded, ethereum-etl has %d", len(txs), len(txRows))
			}
			byHash := map[string]chains.Tx{}
			for _, x := range txs {
				byHash[strings.ToLower(x.Hash)] = x
			}
			for _, r := range txRows {
				x, ok := byHash[r["hash"]]
				if !ok {
					t.Errorf("transaction %s missing", r["hash"])
					continue
				}
				if int(x.Index) != fxInt(t, r["transaction_index"]) || strings.ToLower(x.From) != r["from_address"] ||
					strings.ToLower(x.To) != r["to_address"] || x.Value.Cmp(fxNum(t, r["value"])) != 0 {
					t.Errorf("transaction %s: got index %d from %s to %s value %s; ethereum-etl %s %s %s %s",
						r["hash"], x.Index, x.From, x.To, x.Value, r["transaction_index"], r["from_address"], r["to_address"], r["value"])
				}
			}

			if tc.tokenDir == "" {
				for _, x := range ts {
					if x.Kind == chains.KindERC20 || x.Kind == chains.KindERC721 {
						t.Errorf("token row %s/%s in a fixture without token transfers", x.TxHash, x.Position)
					}
				}
				return
			}
			want, skipped := expectedTokenMoves(t, fxReadRows(t, filepath.Join(root, tc.tokenDir), "expected_token_transfers"), shapes)
			fxSameMultiset(t, "token rows vs expected_token_transfers", tokenMovesOf(t, ts), want)
			if len(skipped) > 0 {
				t.Logf("ethereum-etl rows chaintrace leaves out: %v", skipped)
			}
		})
	}
}

// TestETLFilterLogsTokenRows asks the recorded node for the block's Transfer
// logs the way ethereum-etl does (eth_newFilter, eth_getFilterLogs) and turns
// each log into a row with the package's log-to-row function.
func TestETLFilterLogsTokenRows(t *testing.T) {
	dir := etlDir(t, "test_export_token_transfers_job", "block_with_transfers")
	s := rpcreplay.New(t)
	if _, err := s.LoadEthereumETL(dir); err != nil {
		t.Fatal(err)
	}
	ctx := fxCtx(t)
	client := NewClient(s.URL(), RPCOptions{})
	var id string
	filter := map[string]any{"fromBlock": "0x76250", "toBlock": "0x76250", "topics": []string{TransferTopic.Hex()}}
	if err := client.Call(ctx, &id, "eth_newFilter", filter); err != nil {
		t.Fatal(err)
	}
	var logs []json.RawMessage
	if err := client.Call(ctx, &logs, "eth_getFilterLogs", id); err != nil {
		t.Fatal(err)
	}
	var gone bool
	if err := client.Call(ctx, &gone, "eth_uninstallFilter", id); err != nil || !gone {
		t.Errorf("eth_uninstallFilter: %v %v", gone, err)
	}
	var got []chains.Transfer
	shapes := map[logKey]logShape{}
	for _, raw := range logs {
		var l rpcLog
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatal(err)
		}
		var where struct {
			TransactionHash  common.Hash `json:"transactionHash"`
			TransactionIndex quantity    `json:"transactionIndex"`
			BlockNumber      quantity    `json:"blockNumber"`
			BlockHash        common.Hash `json:"blockHash"`
		}
		if err := json.Unmarshal(raw, &where); err != nil {
			t.Fatal(err)
		}
		shapes[logKey{strings.ToLower(where.TransactionHash.Hex()), int(l.LogIndex)}] = logShape{len(l.Topics), len(l.Data)}
		c := &rowContext{
			block: &chains.Block{Number: uint64(where.BlockNumber), Hash: where.BlockHash.Hex()},
			tx:    &rpcTx{Hash: where.TransactionHash}, index: uint32(where.TransactionIndex),
		}
		if r, ok := tokenRow(c, &l); ok {
			got = append(got, r)
		}
	}
	if len(logs) == 0 {
		t.Fatal("the filter answered no logs")
	}
	want, skipped := expectedTokenMoves(t, fxReadCSV(t, filepath.Join(dir, "expected_token_transfers.csv")), shapes)
	fxSameMultiset(t, "token rows from eth_getFilterLogs", tokenMovesOf(t, got), want)
	if len(skipped) > 0 {
		t.Logf("left out: %v", skipped)
	}
}

// TestETLExtractTokenTransfers reads ethereum-etl's logs.csv (Transfer logs
// and another event) through the log-to-row function.
func TestETLExtractTokenTransfers(t *testing.T) {
	dir := etlDir(t, "test_extract_token_transfers_job", "logs")
	var got []chains.Transfer
	shapes := map[logKey]logShape{}
	nonTransfer := 0
	for _, r := range fxReadCSV(t, filepath.Join(dir, "logs.csv")) {
		l := rpcLog{
			Address:  common.HexToAddress(r["address"]),
			Data:     common.FromHex(r["data"]),
			LogIndex: quantity(fxInt(t, r["log_index"])),
		}
		for _, tp := range strings.Split(r["topics"], ",") {
			l.Topics = append(l.Topics, common.HexToHash(tp))
		}
		if l.Topics[0] != TransferTopic {
			nonTransfer++
		}
		hash := common.HexToHash(r["transaction_hash"])
		shapes[logKey{strings.ToLower(hash.Hex()), int(l.LogIndex)}] = logShape{len(l.Topics), len(l.Data)}
		c := &rowContext{
			block: &chains.Block{Number: uint64(fxInt(t, r["block_number"])), Hash: r["block_hash"]},
			tx:    &rpcTx{Hash: hash}, index: uint32(fxInt(t, r["transaction_index"])),
		}
		if row, ok := tokenRow(c, &l); ok {
			got = append(got, row)
		}
	}
	if nonTransfer == 0 {
		t.Error("logs.csv was expected to hold a non-Transfer event too")
	}
	want, _ := expectedTokenMoves(t, fxReadCSV(t, filepath.Join(dir, "expected_token_transfers.csv")), shapes)
	fxSameMultiset(t, "token rows from logs.csv", tokenMovesOf(t, got), want)
}

// TestETLStream17173049 rebuilds blocks 17173049-17173050 (2023, London
// rules: receipts with status, effective gas price, ERC-20 and ERC-721
// logs) as a node would answer them, from ethereum-etl's expected blocks,
// transactions and logs, serves them with eth_getBlockReceipts, and checks
// chaintrace's rows against ethereum-etl's transactions and token
// transfers.
func TestETLStream17173049(t *testing.T) {
	dir := etlDir(t, "test_stream", "blocks_17173049_17173050")
	blocks := fxReadJSONLines(t, filepath.Join(dir, "expected_blocks.json"))
	txRows := fxReadJSONLines(t, filepath.Join(dir, "expected_transactions.json"))
	logRows := fxReadJSONLines(t, filepath.Join(dir, "expected_logs.json"))
	hexOf := func(s string) string {
		v := fxNum(t, s)
		if v == nil {
			return "0x0"
		}
		return "0x" + v.Text(16)
	}
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	logsOf := map[string][]any{}
	shapes := map[logKey]logShape{}
	for _, l := range logRows {
		topics := strings.Split(l["topics"], ",")
		if l["topics"] == "" {
			topics = []string{}
		}
		logsOf[l["transaction_hash"]] = append(logsOf[l["transaction_hash"]], map[string]any{
			"address": l["address"], "topics": topics, "data": l["data"], "logIndex": hexOf(l["log_index"]),
			"transactionHash": l["transaction_hash"], "blockHash": l["block_hash"], "removed": false,
		})
		shapes[logKey{l["transaction_hash"], fxInt(t, l["log_index"])}] = shapeOf(t, len(topics), l["data"])
	}
	s := rpcreplay.New(t)
	s.Handle("eth_chainId", nil, json.RawMessage(`"0x1"`))
	var nums []uint64
	for _, b := range blocks {
		n := uint64(fxInt(t, b["number"]))
		nums = append(nums, n)
		var txs, rcs []any
		for _, r := range txRows {
			if r["block_number"] != b["number"] {
				continue
			}
			idx := fxInt(t, r["transaction_index"])
			if idx != len(txs) {
				t.Fatalf("block %d: transactions out of order at %d", n, idx)
			}
			txs = append(txs, map[string]any{
				"hash": r["hash"], "from": r["from_address"], "to": nullable(r["to_address"]), "value": hexOf(r["value"]),
				"transactionIndex": hexOf(r["transaction_index"]), "gasPrice": hexOf(r["gas_price"]),
			})
			logs := logsOf[r["hash"]]
			if logs == nil {
				logs = []any{}
			}
			rcs = append(rcs, map[string]any{
				"transactionHash": r["hash"], "transactionIndex": hexOf(r["transaction_index"]), "blockHash": b["hash"],
				"status": hexOf(r["receipt_status"]), "gasUsed": hexOf(r["receipt_gas_used"]),
				"effectiveGasPrice": hexOf(r["receipt_effective_gas_price"]),
				"contractAddress":   nullable(r["receipt_contract_address"]), "logs": logs,
			})
		}
		if len(txs) != fxInt(t, b["transaction_count"]) {
			t.Fatalf("block %d: %d transactions, header says %s", n, len(txs), b["transaction_count"])
		}
		s.Handle("eth_getBlockByNumber", []any{hexQuantity(n), true}, fxJSON(t, map[string]any{
			"number": hexQuantity(n), "hash": b["hash"], "parentHash": b["parent_hash"],
			"timestamp": hexOf(b["timestamp"]), "transactions": txs,
		}))
		s.Handle("eth_getBlockReceipts", []any{hexQuantity(n)}, fxJSON(t, rcs))
		s.Handle("eth_getBlockReceipts", []any{"latest"}, fxJSON(t, rcs))
	}

	a := fxDial(t, s, Options{NoInternal: true})
	if caps := a.Capabilities(); !caps.BlockReceipts {
		t.Fatal("eth_getBlockReceipts not detected")
	}
	bts, err := fxFetchDecode(t, a, nums...)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CallsTo("eth_getTransactionReceipt"); n != 0 {
		t.Errorf("%d per-transaction receipt calls on a node with eth_getBlockReceipts", n)
	}
	ts := fxAllTransfers(bts)
	fxCheckOrder(t, ts)
	for _, b := range bts {
		if when := chains.TimeString(b.Block.Timestamp); !strings.HasPrefix(when, "2023-05-02T12:") {
			t.Errorf("block %d timestamp %s", b.Block.Number, when)
		}
	}

	t.Run("native", func(t *testing.T) {
		want, failed := expectedNative(t, txRows)
		if failed == 0 {
			t.Error("expected some failed transactions with value in these blocks")
		}
		fxSameMultiset(t, "native rows", fxMovesOf(t, ts), want)
	})
	t.Run("tokens", func(t *testing.T) {
		want, skipped := expectedTokenMoves(t, fxReadJSONLines(t, filepath.Join(dir, "expected_token_transfers.json")), shapes)
		got := tokenMovesOf(t, ts)
		fxSameMultiset(t, "token rows", got, want)
		kinds := map[chains.Kind]int{}
		for _, m := range got {
			kinds[m.Kind]++
		}
		if kinds[chains.KindERC721] == 0 || skipped["zero-amount erc20"] == 0 {
			t.Errorf("fixture expected to hold ERC-721 rows and zero-amount ERC-20 rows: %v, skipped %v", kinds, skipped)
		}
		t.Logf("rows by kind %v; ethereum-etl rows left out: %v", kinds, skipped)
	})
	t.Run("transactions", func(t *testing.T) {
		var txs []chains.Tx
		for _, b := range bts {
			txs = append(txs, b.Txs...)
		}
		if len(txs) != len(txRows) {
			t.Fatalf("%d transactions, want %d", len(txs), len(txRows))
		}
		for i, r := range txRows {
			x := txs[i]
			fee := new(big.Int).Mul(fxNum(t, r["receipt_gas_used"]), fxNum(t, r["receipt_effective_gas_price"]))
			if strings.ToLower(x.Hash) != r["hash"] || x.Success != (r["receipt_status"] == "1") || x.Fee.Cmp(fee) != 0 {
				t.Errorf("tx %s: success %v fee %s; ethereum-etl status %s, fee %s", r["hash"], x.Success, x.Fee, r["receipt_status"], fee)
			}
			if r["to_address"] == "" && strings.ToLower(x.Created) != r["receipt_contract_address"] {
				t.Errorf("tx %s created %q, ethereum-etl %q", r["hash"], x.Created, r["receipt_contract_address"])
			}
		}
	})
}
