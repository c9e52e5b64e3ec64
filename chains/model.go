package chains

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// Chain names a chain model. "eth" also covers other EVM chains; the network
// is told apart by its chain id, recorded in provenance.
type Chain string

const (
	ETH Chain = "eth"
	BTC Chain = "btc"
)

// ParseChain accepts the command-line spelling of a chain.
func ParseChain(s string) (Chain, error) {
	switch Chain(s) {
	case ETH, BTC:
		return Chain(s), nil
	}
	return "", fmt.Errorf("unknown chain %q (want eth or btc)", s)
}

// Kind is the kind of a value movement, as named in the exhibit.
type Kind string

const (
	KindNative   Kind = "native"   // the top-level value of a successful transaction
	KindInternal Kind = "internal" // value moved by a CALL/CREATE/CREATE2/SELFDESTRUCT frame
	KindERC20    Kind = "erc20"    // a fungible-token Transfer log
	KindERC721   Kind = "erc721"   // a non-fungible-token Transfer log
	KindUTXO     Kind = "utxo"     // a transaction output
)

// AssetETH and AssetBTC name the native assets; tokens are named by their
// contract address.
const (
	AssetETH = "ETH"
	AssetBTC = "BTC"
)

// Ordinals order the rows of one transaction as the exhibit requires: the
// top-level value first, then call frames depth-first, then logs by index.
const (
	OrdinalTx        uint32 = 0
	OrdinalFrameBase uint32 = 1       // frame i (depth-first, root excluded) is OrdinalFrameBase+i
	OrdinalLogBase   uint32 = 1 << 24 // log with block log index n is OrdinalLogBase+n
)

// Transfer is one value movement: the exhibit's transfer row without hop and
// taint. Addresses are in their canonical display form (EIP-55 for eth).
type Transfer struct {
	TxHash      string
	BlockNumber uint64
	TxIndex     uint32
	BlockHash   string
	Timestamp   uint64 // seconds since the Unix epoch
	Ordinal     uint32 // order inside the transaction, see OrdinalTx
	Position    string // "tx", "call:0.2.1", "log:17", "out:N"
	Kind        Kind
	From        []string
	To          string
	Asset       string
	Amount      *big.Int
	TokenID     *big.Int // erc721 only
}

// Less orders transfers as the exhibit does: block, transaction, ordinal.
func (t *Transfer) Less(o *Transfer) bool {
	if t.BlockNumber != o.BlockNumber {
		return t.BlockNumber < o.BlockNumber
	}
	if t.TxIndex != o.TxIndex {
		return t.TxIndex < o.TxIndex
	}
	return t.Ordinal < o.Ordinal
}

// TimeString renders the timestamp as RFC 3339 UTC, as the exhibit does.
func TimeString(ts uint64) string {
	return time.Unix(int64(ts), 0).UTC().Format(time.RFC3339)
}

// Row is the JSON form of a transfer (CONTRACT.md), in a fixed key order.
type Row struct {
	TxHash      string   `json:"tx_hash"`
	BlockNumber uint64   `json:"block_number"`
	TxIndex     uint32   `json:"tx_index"`
	BlockHash   string   `json:"block_hash"`
	Timestamp   string   `json:"timestamp"`
	Position    string   `json:"position"`
	Kind        Kind     `json:"kind"`
	From        []string `json:"from"`
	To          string   `json:"to"`
	Asset       string   `json:"asset"`
	Amount      string   `json:"amount"`
	TokenID     string   `json:"token_id,omitempty"`
}

// Row converts the transfer to its JSON row.
func (t *Transfer) Row() Row {
	from := t.From
	if from == nil {
		from = []string{}
	}
	r := Row{
		TxHash: t.TxHash, BlockNumber: t.BlockNumber, TxIndex: t.TxIndex,
		BlockHash: t.BlockHash, Timestamp: TimeString(t.Timestamp),
		Position: t.Position, Kind: t.Kind, From: from, To: t.To,
		Asset: t.Asset, Amount: amountString(t.Amount),
	}
	if t.TokenID != nil {
		r.TokenID = t.TokenID.String()
	}
	return r
}

// MarshalJSON writes the transfer as its contract row.
func (t *Transfer) MarshalJSON() ([]byte, error) { return json.Marshal(t.Row()) }

func amountString(a *big.Int) string {
	if a == nil {
		return "0"
	}
	return a.String()
}

// Tx is what the index keeps of a transaction besides its transfers: enough
// to reconcile balances (value, fee, status) and to find it by hash.
type Tx struct {
	Hash        string
	BlockNumber uint64
	Index       uint32
	From        string
	To          string // empty for a contract creation; see Created
	Created     string // the address a creation made, if any
	Value       *big.Int
	Fee         *big.Int // everything the sender paid for gas (and blob gas); utxo: inputs less outputs
	Success     bool
	// Inputs are, on a utxo chain, the outputs this transaction spends, in
	// input order (none for a coinbase, and none on account chains).
	Inputs []Input
}

// Input is an output a utxo transaction spends, with the value and address
// it had.
type Input struct {
	TxID    string // the spent output's transaction, lower-case display hex
	Vout    uint32
	Value   *big.Int
	Address string // its display address, or "script:" + SHA-256 of a non-standard script
}

// Outpoint names the spent output.
func (in *Input) Outpoint() string { return in.TxID + ":" + strconv.FormatUint(uint64(in.Vout), 10) }

// Block is a block header as the index keeps it.
type Block struct {
	Number     uint64
	Hash       string
	ParentHash string
	Timestamp  uint64
	TxCount    uint32
}

// BlockTransfers is one processed block: its header, its transactions and
// every value movement in it, in exhibit order.
type BlockTransfers struct {
	Block     Block
	Txs       []Tx
	Transfers []Transfer
}

// RawBlock is a node's answers for one block, kept as fetched so that the
// store can cache them and the block can be decoded again without the node.
// Parts are named by the adapter ("block", "receipts", "traces").
type RawBlock struct {
	Number uint64
	Parts  map[string][]byte
}
