package etherscanreplay

import (
	"strconv"
)

// The account actions the server answers.
const (
	TxList         = "txlist"
	TxListInternal = "txlistinternal"
	TokenTx        = "tokentx"
	TokenNFTTx     = "tokennfttx"
)

// Record is one record of one of the four actions, every field a string as
// Etherscan returns it. Action says which list it belongs to; the fields a
// list does not document are ignored when the record is served.
type Record struct {
	Action string

	BlockNumber       string
	TimeStamp         string
	Hash              string
	Nonce             string
	BlockHash         string
	TransactionIndex  string
	From              string
	To                string
	Value             string
	Gas               string
	GasPrice          string
	IsError           string // txlist, txlistinternal: "0" or "1"
	TxReceiptStatus   string // txlist: "1", "0", or "" before Byzantium
	Input             string
	ContractAddress   string
	CumulativeGasUsed string
	GasUsed           string
	Confirmations     string
	MethodID          string
	FunctionName      string

	Type    string // txlistinternal: call, create, suicide...
	TraceID string // txlistinternal: "0", "0_1", ...
	ErrCode string // txlistinternal

	TokenName    string // tokentx, tokennfttx
	TokenSymbol  string
	TokenDecimal string
	TokenID      string // tokennfttx
}

// Each response shape below lists the fields in the order of the example
// answer of the Etherscan page named above it.

// https://docs.etherscan.io/api-reference/endpoint/txlist
type txlistItem struct {
	BlockNumber       string `json:"blockNumber"`
	TimeStamp         string `json:"timeStamp"`
	Hash              string `json:"hash"`
	Nonce             string `json:"nonce"`
	BlockHash         string `json:"blockHash"`
	TransactionIndex  string `json:"transactionIndex"`
	From              string `json:"from"`
	To                string `json:"to"`
	Value             string `json:"value"`
	Gas               string `json:"gas"`
	GasPrice          string `json:"gasPrice"`
	IsError           string `json:"isError"`
	TxReceiptStatus   string `json:"txreceipt_status"`
	Input             string `json:"input"`
	ContractAddress   string `json:"contractAddress"`
	CumulativeGasUsed string `json:"cumulativeGasUsed"`
	GasUsed           string `json:"gasUsed"`
	Confirmations     string `json:"confirmations"`
	MethodID          string `json:"methodId"`
	FunctionName      string `json:"functionName"`
}

// https://docs.etherscan.io/api-reference/endpoint/txlistinternal
type internalItem struct {
	BlockNumber     string `json:"blockNumber"`
	TimeStamp       string `json:"timeStamp"`
	Hash            string `json:"hash"`
	From            string `json:"from"`
	To              string `json:"to"`
	Value           string `json:"value"`
	ContractAddress string `json:"contractAddress"`
	Input           string `json:"input"`
	Type            string `json:"type"`
	Gas             string `json:"gas"`
	GasUsed         string `json:"gasUsed"`
	TraceID         string `json:"traceId"`
	IsError         string `json:"isError"`
	ErrCode         string `json:"errCode"`
}

// Blockscout's txlistinternal: the hash is "transactionHash", the frame's
// position "index"; an Elixir map of this size is encoded with its keys
// sorted. apps/block_scout_web/lib/block_scout_web/views/api/rpc/address_view.ex
// (prepare_internal_transaction), https://docs.blockscout.com/devs/apis/rpc/account
type blockscoutInternalItem struct {
	BlockNumber     string `json:"blockNumber"`
	CallType        string `json:"callType"`
	ContractAddress string `json:"contractAddress"`
	ErrCode         string `json:"errCode"`
	From            string `json:"from"`
	Gas             string `json:"gas"`
	GasUsed         string `json:"gasUsed"`
	Index           string `json:"index"`
	Input           string `json:"input"`
	IsError         string `json:"isError"`
	TimeStamp       string `json:"timeStamp"`
	To              string `json:"to"`
	TransactionHash string `json:"transactionHash"`
	Type            string `json:"type"`
	Value           string `json:"value"`
}

// https://docs.etherscan.io/api-reference/endpoint/tokentx
type tokenItem struct {
	BlockNumber       string `json:"blockNumber"`
	TimeStamp         string `json:"timeStamp"`
	Hash              string `json:"hash"`
	Nonce             string `json:"nonce"`
	BlockHash         string `json:"blockHash"`
	From              string `json:"from"`
	ContractAddress   string `json:"contractAddress"`
	To                string `json:"to"`
	Value             string `json:"value"`
	TokenName         string `json:"tokenName"`
	TokenSymbol       string `json:"tokenSymbol"`
	TokenDecimal      string `json:"tokenDecimal"`
	TransactionIndex  string `json:"transactionIndex"`
	Gas               string `json:"gas"`
	GasPrice          string `json:"gasPrice"`
	GasUsed           string `json:"gasUsed"`
	CumulativeGasUsed string `json:"cumulativeGasUsed"`
	Input             string `json:"input"`
	MethodID          string `json:"methodId"`
	FunctionName      string `json:"functionName"`
	Confirmations     string `json:"confirmations"`
}

// https://docs.etherscan.io/api-reference/endpoint/tokennfttx
type nftItem struct {
	BlockNumber       string `json:"blockNumber"`
	TimeStamp         string `json:"timeStamp"`
	Hash              string `json:"hash"`
	Nonce             string `json:"nonce"`
	BlockHash         string `json:"blockHash"`
	From              string `json:"from"`
	ContractAddress   string `json:"contractAddress"`
	To                string `json:"to"`
	TokenID           string `json:"tokenID"`
	TokenName         string `json:"tokenName"`
	TokenSymbol       string `json:"tokenSymbol"`
	TokenDecimal      string `json:"tokenDecimal"`
	TransactionIndex  string `json:"transactionIndex"`
	Gas               string `json:"gas"`
	GasPrice          string `json:"gasPrice"`
	GasUsed           string `json:"gasUsed"`
	CumulativeGasUsed string `json:"cumulativeGasUsed"`
	Input             string `json:"input"`
	MethodID          string `json:"methodId"`
	FunctionName      string `json:"functionName"`
	Confirmations     string `json:"confirmations"`
}

// item renders the record in its action's documented shape.
func (r *Record) item(blockscout bool, index int) any {
	switch r.Action {
	case TxList:
		return txlistItem{r.BlockNumber, r.TimeStamp, r.Hash, r.Nonce, r.BlockHash, r.TransactionIndex,
			r.From, r.To, r.Value, r.Gas, r.GasPrice, r.IsError, r.TxReceiptStatus, r.Input,
			r.ContractAddress, r.CumulativeGasUsed, r.GasUsed, r.Confirmations, r.MethodID, r.FunctionName}
	case TxListInternal:
		if blockscout {
			return blockscoutInternalItem{BlockNumber: r.BlockNumber, CallType: callType(r.Type), ContractAddress: r.ContractAddress,
				ErrCode: r.ErrCode, From: r.From, Gas: r.Gas, GasUsed: r.GasUsed, Index: strconv.Itoa(index),
				Input: r.Input, IsError: r.IsError, TimeStamp: r.TimeStamp, To: r.To, TransactionHash: r.Hash,
				Type: r.Type, Value: r.Value}
		}
		return internalItem{r.BlockNumber, r.TimeStamp, r.Hash, r.From, r.To, r.Value, r.ContractAddress,
			r.Input, r.Type, r.Gas, r.GasUsed, r.TraceID, r.IsError, r.ErrCode}
	case TokenTx:
		return tokenItem{r.BlockNumber, r.TimeStamp, r.Hash, r.Nonce, r.BlockHash, r.From, r.ContractAddress,
			r.To, r.Value, r.TokenName, r.TokenSymbol, r.TokenDecimal, r.TransactionIndex, r.Gas, r.GasPrice,
			r.GasUsed, r.CumulativeGasUsed, r.Input, r.MethodID, r.FunctionName, r.Confirmations}
	case TokenNFTTx:
		return nftItem{r.BlockNumber, r.TimeStamp, r.Hash, r.Nonce, r.BlockHash, r.From, r.ContractAddress,
			r.To, r.TokenID, r.TokenName, r.TokenSymbol, r.TokenDecimal, r.TransactionIndex, r.Gas, r.GasPrice,
			r.GasUsed, r.CumulativeGasUsed, r.Input, r.MethodID, r.FunctionName, r.Confirmations}
	}
	return nil
}

func callType(typ string) string {
	if typ == "call" {
		return "call"
	}
	return ""
}

// fill gives the fields a test left empty the values Etherscan would show
// for an ordinary record.
func (r *Record) fill(block uint64) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	// Twelve-second blocks from the genesis timestamp: any increasing value
	// will do.
	def(&r.TimeStamp, strconv.FormatUint(1438269988+12*block, 10))
	def(&r.Confirmations, "1")
	switch r.Action {
	case TxList:
		def(&r.IsError, "0")
		def(&r.TxReceiptStatus, "1")
		def(&r.Input, "0x")
		def(&r.Gas, "21000")
		def(&r.GasUsed, "21000")
		def(&r.GasPrice, "1000000000")
		def(&r.Nonce, "0")
		def(&r.TransactionIndex, "0")
		def(&r.CumulativeGasUsed, r.GasUsed)
		if r.Input == "0x" {
			def(&r.MethodID, "0x")
		}
	case TxListInternal:
		def(&r.IsError, "0")
		def(&r.Type, "call")
		def(&r.TraceID, "0")
		def(&r.Gas, "0")
		def(&r.GasUsed, "0")
	case TokenTx, TokenNFTTx:
		def(&r.Input, "deprecated")
		def(&r.Nonce, "0")
		def(&r.TransactionIndex, "0")
		def(&r.Gas, "60000")
		def(&r.GasUsed, "50000")
		def(&r.GasPrice, "1000000000")
		def(&r.CumulativeGasUsed, r.GasUsed)
		def(&r.TokenName, "Token")
		def(&r.TokenSymbol, "TKN")
		if r.Action == TokenTx {
			def(&r.TokenDecimal, "18")
		} else {
			def(&r.TokenDecimal, "0")
		}
	}
}

// Native is a txlist record: a transaction from one address to another.
func Native(block uint64, hash, from, to, value string) Record {
	return Record{Action: TxList, BlockNumber: strconv.FormatUint(block, 10), Hash: hash, From: from, To: to, Value: value}
}

// Internal is a txlistinternal record: a call frame that moved value.
func Internal(block uint64, hash, from, to, value string) Record {
	return Record{Action: TxListInternal, BlockNumber: strconv.FormatUint(block, 10), Hash: hash, From: from, To: to, Value: value}
}

// ERC20 is a tokentx record.
func ERC20(block uint64, hash, token, from, to, value string) Record {
	return Record{Action: TokenTx, BlockNumber: strconv.FormatUint(block, 10), Hash: hash, ContractAddress: token, From: from, To: to, Value: value}
}

// ERC721 is a tokennfttx record.
func ERC721(block uint64, hash, token, from, to, tokenID string) Record {
	return Record{Action: TokenNFTTx, BlockNumber: strconv.FormatUint(block, 10), Hash: hash, ContractAddress: token, From: from, To: to, TokenID: tokenID}
}
