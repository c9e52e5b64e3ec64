package tracefilterproxy

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

// ctFrame is one frame of geth's callTracer output.
type ctFrame struct {
	Type    string          `json:"type"`
	From    common.Address  `json:"from"`
	To      *common.Address `json:"to"`
	Gas     hexutil.Uint64  `json:"gas"`
	GasUsed hexutil.Uint64  `json:"gasUsed"`
	Input   hexutil.Bytes   `json:"input"`
	Output  hexutil.Bytes   `json:"output"`
	Error   string          `json:"error"`
	Value   *hexutil.Big    `json:"value"`
	Calls   []ctFrame       `json:"calls"`
}

// ctTx is one element of debug_traceBlockByNumber's answer.
type ctTx struct {
	TxHash *common.Hash `json:"txHash"`
	Result *ctFrame     `json:"result"`
	Error  string       `json:"error"`
}

// rpcBlock is the part of eth_getBlockByNumber(n, true) the frames need.
type rpcBlock struct {
	Number       hexutil.Uint64 `json:"number"`
	Hash         common.Hash    `json:"hash"`
	Transactions []rpcTx        `json:"transactions"`
}

type rpcTx struct {
	Hash              common.Hash       `json:"hash"`
	From              common.Address    `json:"from"`
	To                *common.Address   `json:"to"`
	Nonce             hexutil.Uint64    `json:"nonce"`
	Input             hexutil.Bytes     `json:"input"`
	AccessList        types.AccessList  `json:"accessList"`
	AuthorizationList []json.RawMessage `json:"authorizationList"`
}

// Parity frame JSON, in Erigon's key order.
type callAction struct {
	From     common.Address `json:"from"`
	CallType string         `json:"callType"`
	Gas      hexutil.Uint64 `json:"gas"`
	Input    hexutil.Bytes  `json:"input"`
	To       common.Address `json:"to"`
	Value    *hexutil.Big   `json:"value"`
}

type createAction struct {
	From           common.Address `json:"from"`
	CreationMethod string         `json:"creationMethod"`
	Gas            hexutil.Uint64 `json:"gas"`
	Init           hexutil.Bytes  `json:"init"`
	Value          *hexutil.Big   `json:"value"`
}

type suicideAction struct {
	Address       common.Address `json:"address"`
	RefundAddress common.Address `json:"refundAddress"`
	Balance       *hexutil.Big   `json:"balance"`
}

type callResult struct {
	GasUsed hexutil.Uint64 `json:"gasUsed"`
	Output  hexutil.Bytes  `json:"output"`
}

type createResult struct {
	Address *common.Address `json:"address,omitempty"`
	Code    hexutil.Bytes   `json:"code"`
	GasUsed hexutil.Uint64  `json:"gasUsed"`
}

type parityFrame struct {
	Action              any         `json:"action"`
	BlockHash           common.Hash `json:"blockHash"`
	BlockNumber         uint64      `json:"blockNumber"`
	Error               string      `json:"error,omitempty"`
	Result              any         `json:"result"`
	Subtraces           int         `json:"subtraces"`
	TraceAddress        []int       `json:"traceAddress"`
	TransactionHash     common.Hash `json:"transactionHash"`
	TransactionPosition uint64      `json:"transactionPosition"`
	Type                string      `json:"type"`
}

// frame is one converted frame: its JSON and the parties trace_filter
// matches on.
type frame struct {
	from  common.Address
	to    common.Address
	hasTo bool
	raw   json.RawMessage
}

// blockData is a block's frames in Parity order.
type blockData struct {
	number uint64
	frames []frame
}

// rules are the fork rules intrinsic gas is computed with: Osaka, as on the
// dev chains (geth's AllDevChainProtocolChanges, Erigon --chain=dev).
var rules = params.Rules{
	IsHomestead: true, IsEIP150: true, IsEIP155: true, IsEIP158: true, IsEIP2929: true,
	IsByzantium: true, IsConstantinople: true, IsPetersburg: true, IsIstanbul: true,
	IsBerlin: true, IsLondon: true, IsMerge: true, IsShanghai: true, IsCancun: true, IsPrague: true, IsOsaka: true,
}

// erigonError words a callTracer error as Erigon's trace API does.
func erigonError(e string) string {
	switch {
	case e == "execution reverted":
		return "Reverted"
	case e == "out of gas", e == "contract creation code storage out of gas",
		e == "gas uint64 overflow", e == "contract address collision":
		return "Out of gas"
	case e == "invalid jump destination":
		return "Bad jump destination"
	case e == "write protection":
		return "Mutable Call In Static Context"
	case strings.HasPrefix(e, "invalid code"):
		return "Invalid code"
	case strings.HasPrefix(e, "stack underflow"):
		return "Stack underflow"
	case strings.HasPrefix(e, "invalid opcode"):
		return "Bad instruction"
	}
	return e
}

func zeroIfNil(v *hexutil.Big) *hexutil.Big {
	if v == nil {
		return new(hexutil.Big)
	}
	return v
}

func sub0(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// convertBlock turns a block's callTracer output into Parity frames.
func convertBlock(blk *rpcBlock, traces []ctTx) (*blockData, error) {
	n := uint64(blk.Number)
	if len(traces) != len(blk.Transactions) {
		return nil, fmt.Errorf("block %d: %d transactions, %d traces", n, len(blk.Transactions), len(traces))
	}
	out := &blockData{number: n}
	for i := range traces {
		tx := &blk.Transactions[i]
		tr := &traces[i]
		if tr.TxHash != nil && *tr.TxHash != tx.Hash {
			return nil, fmt.Errorf("block %d: trace %d is of %s, transaction %d is %s", n, i, tr.TxHash.Hex(), i, tx.Hash.Hex())
		}
		if tr.Result == nil {
			return nil, fmt.Errorf("block %d: transaction %s not traced: %s", n, tx.Hash.Hex(), tr.Error)
		}
		var auths []types.SetCodeAuthorization
		if tx.AuthorizationList != nil {
			auths = make([]types.SetCodeAuthorization, len(tx.AuthorizationList))
		}
		intrinsic, err := core.IntrinsicGas(tx.Input, tx.AccessList, auths, tx.From, tx.To, nil, rules)
		if err != nil {
			return nil, fmt.Errorf("block %d: transaction %s: %w", n, tx.Hash.Hex(), err)
		}
		c := &converter{blk: blk, tx: tx, pos: uint64(i), intrinsic: intrinsic, out: out}
		if err := c.walk(tr.Result, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type converter struct {
	blk       *rpcBlock
	tx        *rpcTx
	pos       uint64
	intrinsic uint64
	out       *blockData
}

func (c *converter) walk(f *ctFrame, addr []int) error {
	top := len(addr) == 0
	gas, gasUsed := uint64(f.Gas), uint64(f.GasUsed)
	if top {
		gas, gasUsed = sub0(gas, c.intrinsic), sub0(gasUsed, c.intrinsic)
	}
	pf := parityFrame{
		BlockHash:           c.blk.Hash,
		BlockNumber:         uint64(c.blk.Number),
		Subtraces:           len(f.Calls),
		TraceAddress:        append([]int{}, addr...),
		TransactionHash:     c.tx.Hash,
		TransactionPosition: c.pos,
	}
	fr := frame{}
	reverted := f.Error == "execution reverted"
	failed := f.Error != "" && !reverted
	if f.Error != "" {
		pf.Error = erigonError(f.Error)
	}
	typ := strings.ToUpper(f.Type)
	switch typ {
	case "CALL", "DELEGATECALL", "STATICCALL", "CALLCODE":
		var to common.Address
		if f.To != nil {
			to = *f.To
		}
		pf.Type = "call"
		pf.Action = callAction{From: f.From, CallType: strings.ToLower(typ), Gas: hexutil.Uint64(gas), Input: nz(f.Input), To: to, Value: zeroIfNil(f.Value)}
		if !failed {
			pf.Result = callResult{GasUsed: hexutil.Uint64(gasUsed), Output: nz(f.Output)}
		}
		fr.from, fr.to, fr.hasTo = f.From, to, true
	case "CREATE", "CREATE2":
		pf.Type = "create"
		pf.Action = createAction{From: f.From, CreationMethod: strings.ToLower(typ), Gas: hexutil.Uint64(gas), Init: nz(f.Input), Value: zeroIfNil(f.Value)}
		fr.from = f.From
		if !failed {
			created := f.To
			if created == nil && top && c.tx.To == nil {
				// geth drops a failed creation's address; Erigon keeps it.
				a := crypto.CreateAddress(c.tx.From, uint64(c.tx.Nonce))
				created = &a
			}
			pf.Result = createResult{Address: created, Code: nz(f.Output), GasUsed: hexutil.Uint64(gasUsed)}
			if created != nil {
				fr.to, fr.hasTo = *created, true
			}
		}
	case "SELFDESTRUCT":
		var to common.Address
		if f.To != nil {
			to = *f.To
		}
		pf.Type = "suicide"
		pf.Action = suicideAction{Address: f.From, RefundAddress: to, Balance: zeroIfNil(f.Value)}
		fr.from, fr.to, fr.hasTo = f.From, to, true
	default:
		return fmt.Errorf("block %d: transaction %s: frame %v has unknown type %q", uint64(c.blk.Number), c.tx.Hash.Hex(), addr, f.Type)
	}
	raw, err := json.Marshal(pf)
	if err != nil {
		return err
	}
	fr.raw = raw
	c.out.frames = append(c.out.frames, fr)
	for i := range f.Calls {
		if err := c.walk(&f.Calls[i], append(addr[:len(addr):len(addr)], i)); err != nil {
			return err
		}
	}
	return nil
}

// nz makes a missing byte string "0x".
func nz(b hexutil.Bytes) hexutil.Bytes {
	if b == nil {
		return hexutil.Bytes{}
	}
	return b
}
