package ethereum

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// The JSON-RPC objects the adapter reads. Only the fields it needs are
// declared; numbers use the lenient quantity types.

type rpcBlock struct {
	Number       quantity    `json:"number"`
	Hash         common.Hash `json:"hash"`
	ParentHash   common.Hash `json:"parentHash"`
	Timestamp    quantity    `json:"timestamp"`
	Transactions []rpcTx     `json:"transactions"`
}

type rpcTx struct {
	Hash             common.Hash     `json:"hash"`
	From             common.Address  `json:"from"`
	To               *common.Address `json:"to"`
	Value            bigQuantity     `json:"value"`
	TransactionIndex quantity        `json:"transactionIndex"`
	GasPrice         *bigQuantity    `json:"gasPrice"`
}

type rpcReceipt struct {
	TransactionHash   common.Hash     `json:"transactionHash"`
	TransactionIndex  quantity        `json:"transactionIndex"`
	BlockHash         common.Hash     `json:"blockHash"`
	Status            *quantity       `json:"status"` // absent before Byzantium
	GasUsed           quantity        `json:"gasUsed"`
	EffectiveGasPrice *bigQuantity    `json:"effectiveGasPrice"` // absent before London on some nodes
	BlobGasUsed       *quantity       `json:"blobGasUsed"`
	BlobGasPrice      *bigQuantity    `json:"blobGasPrice"`
	ContractAddress   *common.Address `json:"contractAddress"`
	Logs              []rpcLog        `json:"logs"`
}

type rpcLog struct {
	Address  common.Address `json:"address"`
	Topics   []common.Hash  `json:"topics"`
	Data     hexutil.Bytes  `json:"data"`
	LogIndex quantity       `json:"logIndex"`
	Removed  bool           `json:"removed"`
}

// callFrame is one frame of geth's callTracer output (nested).
type callFrame struct {
	Type  string          `json:"type"`
	From  common.Address  `json:"from"`
	To    *common.Address `json:"to"`
	Value *bigQuantity    `json:"value"`
	Error string          `json:"error"`
	Calls []callFrame     `json:"calls"`
}

// debugTxTrace is one element of debug_traceBlockByNumber's answer.
type debugTxTrace struct {
	TxHash *common.Hash `json:"txHash"` // older geth leaves it out
	Result *callFrame   `json:"result"`
	Error  string       `json:"error"`
}

// parityTrace is one flat frame of trace_block / trace_transaction /
// trace_filter (OpenEthereum, Erigon, Nethermind, reth).
type parityTrace struct {
	Type   string `json:"type"` // call, create, suicide, reward
	Action struct {
		CallType       string          `json:"callType"`
		CreationMethod string          `json:"creationMethod"`
		From           common.Address  `json:"from"`
		To             *common.Address `json:"to"`
		Value          *bigQuantity    `json:"value"`
		Address        common.Address  `json:"address"`       // suicide: the contract
		RefundAddress  common.Address  `json:"refundAddress"` // suicide: the beneficiary
		Balance        *bigQuantity    `json:"balance"`       // suicide: what moved
	} `json:"action"`
	Result *struct {
		Address *common.Address `json:"address"` // create: the new contract
	} `json:"result"`
	Error               string       `json:"error"`
	TraceAddress        []int        `json:"traceAddress"`
	TransactionHash     *common.Hash `json:"transactionHash"`
	TransactionPosition *quantity    `json:"transactionPosition"`
	BlockNumber         quantity     `json:"blockNumber"`
}
