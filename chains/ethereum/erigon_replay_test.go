package ethereum

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/rpcreplay"
)

// The erigon-dev fixtures: a real Erigon 3.7 node's answers for a scripted
// scenario (peel chain, splitter, reverts at two depths, a token, a
// DELEGATECALL proxy, SELFDESTRUCT, CREATE with value), with the ground
// truth in scenario.json. The adapter reads blocks 37-48 through each trace
// method the node offers, the others switched off.

type erigonScenario struct {
	Addresses []struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"addresses"`
	Token struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"token"`
	ScenarioBlockRange struct {
		From             uint64 `json:"from"`
		To               uint64 `json:"to"`
		EmptyBlockBefore uint64 `json:"emptyBlockBefore"`
	} `json:"scenarioBlockRange"`
	Transactions []struct {
		Label            string `json:"label"`
		Hash             string `json:"hash"`
		BlockNumber      uint64 `json:"blockNumber"`
		TransactionIndex int    `json:"transactionIndex"`
		Status           int    `json:"status"`
		FeeWei           string `json:"feeWei"`
		Frames           []struct {
			TraceAddress []int  `json:"traceAddress"`
			Type         string `json:"type"`
			CallType     string `json:"callType"`
			From         string `json:"from"`
			To           string `json:"to"`
			ValueWei     string `json:"valueWei"`
			ValueMoved   bool   `json:"valueMoved"`
			Reverted     bool   `json:"reverted"`
		} `json:"frames"`
		TokenTransfers []struct {
			Token  string `json:"token"`
			From   string `json:"from"`
			To     string `json:"to"`
			Amount string `json:"amount"`
			Moved  bool   `json:"moved"`
		} `json:"tokenTransfers"`
	} `json:"transactions"`
}

// erigonToken is a token row without the log index, which scenario.json
// does not give.
type erigonToken struct {
	Block    uint64
	TxHash   string
	Token    string
	From, To string
	Amount   string
}

func TestErigonDevScenario(t *testing.T) {
	dir := fxDir(t, "erigon-dev")
	b, err := os.ReadFile(filepath.Join(dir, "scenario.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc erigonScenario
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	addr := map[string]string{sc.Token.Name: sc.Token.Address}
	for _, a := range sc.Addresses {
		addr[a.Name] = strings.ToLower(a.Address)
	}
	resolve := func(name string) string {
		if strings.HasPrefix(name, "0x") {
			return strings.ToLower(name)
		}
		a, ok := addr[name]
		if !ok {
			t.Fatalf("scenario names unknown address %q", name)
		}
		return a
	}

	// The ground truth, read from scenario.json alone.
	var wantMoves []valueMove
	var wantTokens []erigonToken
	type place struct {
		tx  string
		pos string
	}
	notMoved := map[place]string{} // value frames that moved nothing, and why
	for _, tx := range sc.Transactions {
		for _, f := range tx.Frames {
			v := fxNum(t, f.ValueWei)
			if v.Sign() == 0 {
				continue
			}
			p := place{tx.Hash, fxDottedInts(f.TraceAddress)}
			if !f.ValueMoved {
				why := "reverted"
				if !f.Reverted {
					why = f.CallType
				}
				notMoved[p] = why
				continue
			}
			wantMoves = append(wantMoves, valueMove{Block: tx.BlockNumber, Tx: tx.TransactionIndex, Pos: p.pos,
				From: resolve(f.From), To: resolve(f.To), Value: v.String()})
		}
		for _, tt := range tx.TokenTransfers {
			if !tt.Moved {
				continue
			}
			wantTokens = append(wantTokens, erigonToken{Block: tx.BlockNumber, TxHash: tx.Hash, Token: resolve(tt.Token),
				From: resolve(tt.From), To: resolve(tt.To), Amount: fxNum(t, tt.Amount).String()})
		}
	}
	var blocks []uint64
	for n := sc.ScenarioBlockRange.EmptyBlockBefore; n <= sc.ScenarioBlockRange.To; n++ {
		blocks = append(blocks, n)
	}

	modes := []struct {
		method        string
		disable       []string
		blockReceipts bool
	}{
		{MethodDebugTraceBlock, nil, true},
		{MethodParityTraceBlock, []string{MethodDebugTraceBlock}, false},
		{MethodDebugTraceTx, []string{MethodDebugTraceBlock, MethodParityTraceBlock}, true},
		{MethodParityTraceTx, []string{MethodDebugTraceBlock, MethodParityTraceBlock, MethodDebugTraceTx}, false},
	}
	for _, m := range modes {
		name := m.method + "+per_tx_receipts"
		if m.blockReceipts {
			name = m.method + "+block_receipts"
		}
		t.Run(name, func(t *testing.T) {
			s := rpcreplay.New(t)
			if _, err := s.LoadErigonDev(dir, nil); err != nil {
				t.Fatal(err)
			}
			s.Disable(m.disable...)
			if m.blockReceipts {
				// Detection probes eth_getBlockReceipts("latest"), which
				// was not recorded; answer it as the head block's.
				var rcs json.RawMessage
				if err := NewClient(s.URL(), RPCOptions{}).Call(fxCtx(t), &rcs, "eth_getBlockReceipts", hexQuantity(sc.ScenarioBlockRange.To)); err != nil {
					t.Fatal(err)
				}
				s.Handle("eth_getBlockReceipts", []any{"latest"}, rcs)
			} else {
				s.Disable("eth_getBlockReceipts")
			}
			a := fxDial(t, s, Options{})
			caps := a.Capabilities()
			if caps.TraceMethod() != m.method || caps.BlockReceipts != m.blockReceipts || caps.ChainID != 1337 {
				t.Fatalf("capabilities %+v: want trace method %s, block receipts %v, chain 1337", caps, m.method, m.blockReceipts)
			}
			if !strings.HasPrefix(caps.ClientVersion, "erigon/") {
				t.Errorf("client version %q", caps.ClientVersion)
			}
			bts, err := fxFetchDecode(t, a, blocks...)
			if err != nil {
				t.Fatal(err)
			}
			// Only detection's probes (latest block, zero hash) may miss.
			for _, u := range s.Unmatched() {
				if !strings.Contains(u, `"latest"`) && !strings.Contains(u, "0x"+strings.Repeat("0", 64)) {
					t.Errorf("call without a recording: %s", u)
				}
			}
			ts := fxAllTransfers(bts)
			fxCheckOrder(t, ts)
			got := fxMovesOf(t, ts)
			fxSameMultiset(t, "ETH rows vs scenario.json", got, wantMoves)

			for _, x := range got {
				hash := strings.ToLower(bts[x.Block-blocks[0]].Txs[x.Tx].Hash)
				if why, ok := notMoved[place{hash, x.Pos}]; ok {
					t.Errorf("row %v for a frame that moved nothing (%s)", x, why)
				}
			}
			var delegate int
			for p, why := range notMoved {
				if why == "delegatecall" {
					delegate++
					t.Logf("tx %s frame %s: DELEGATECALL repeating the proxy's msg.value; no row", p.tx, p.pos)
				}
			}
			if delegate == 0 {
				t.Error("scenario.json should hold a DELEGATECALL frame with value")
			}

			var gotTokens []erigonToken
			for _, x := range ts {
				if x.Kind == chains.KindERC20 {
					gotTokens = append(gotTokens, erigonToken{Block: x.BlockNumber, TxHash: strings.ToLower(x.TxHash), Token: strings.ToLower(x.Asset),
						From: strings.ToLower(x.From[0]), To: strings.ToLower(x.To), Amount: x.Amount.String()})
				} else if x.Kind == chains.KindERC721 {
					t.Errorf("erc721 row %s/%s", x.TxHash, x.Position)
				}
			}
			fxSameMultiset(t, "token rows vs scenario.json", gotTokens, wantTokens)

			txs := map[string]chains.Tx{}
			for _, b := range bts {
				for _, x := range b.Txs {
					txs[strings.ToLower(x.Hash)] = x
				}
			}
			if len(txs) != len(sc.Transactions) {
				t.Errorf("%d transactions, scenario has %d", len(txs), len(sc.Transactions))
			}
			for _, tx := range sc.Transactions {
				x, ok := txs[tx.Hash]
				if !ok {
					t.Errorf("%s (%s) missing", tx.Label, tx.Hash)
					continue
				}
				if x.Success != (tx.Status == 1) || x.Fee.String() != tx.FeeWei || x.BlockNumber != tx.BlockNumber || int(x.Index) != tx.TransactionIndex {
					t.Errorf("%s: success %v fee %s at %d/%d; scenario status %d fee %s at %d/%d", tx.Label,
						x.Success, x.Fee, x.BlockNumber, x.Index, tx.Status, tx.FeeWei, tx.BlockNumber, tx.TransactionIndex)
				}
			}
			t.Logf("%d blocks, %d transactions, %d calls", len(bts), len(txs), s.Calls())
		})
	}
}
