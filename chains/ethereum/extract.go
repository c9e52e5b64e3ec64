package ethereum

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/ethereum/go-ethereum/common"
)

// TransferTopic is keccak256("Transfer(address,address,uint256)"), shared by
// ERC-20 and ERC-721.
var TransferTopic = common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")

// blockInput is everything extraction needs for one block. Traces is nil
// when the trace was not fetched (--no-internal); otherwise it has one entry
// per transaction.
type blockInput struct {
	Block    *rpcBlock
	Receipts []rpcReceipt
	Traces   []TxTrace
}

// extract turns one block into the chain-neutral model. It checks that the
// pieces belong together (same transaction count and order), since a
// mismatched receipt or trace would silently misattribute value.
func extract(in *blockInput) (*chains.BlockTransfers, error) {
	b := in.Block
	if len(in.Receipts) != len(b.Transactions) {
		return nil, fmt.Errorf("block %d: %d receipts for %d transactions", b.Number, len(in.Receipts), len(b.Transactions))
	}
	if in.Traces != nil && len(in.Traces) != len(b.Transactions) {
		return nil, fmt.Errorf("block %d: %d traces for %d transactions", b.Number, len(in.Traces), len(b.Transactions))
	}
	out := &chains.BlockTransfers{
		Block: chains.Block{
			Number:     uint64(b.Number),
			Hash:       b.Hash.Hex(),
			ParentHash: b.ParentHash.Hex(),
			Timestamp:  uint64(b.Timestamp),
			TxCount:    uint32(len(b.Transactions)),
		},
		Txs: make([]chains.Tx, 0, len(b.Transactions)),
	}
	for i := range b.Transactions {
		tx, rc := &b.Transactions[i], &in.Receipts[i]
		if rc.TransactionHash != tx.Hash {
			return nil, fmt.Errorf("block %d: receipt %d is for %s, not transaction %s", b.Number, i, rc.TransactionHash.Hex(), tx.Hash.Hex())
		}
		var trace *TxTrace
		if in.Traces != nil {
			trace = &in.Traces[i]
			if trace.TxHash != (common.Hash{}) && trace.TxHash != tx.Hash {
				return nil, fmt.Errorf("block %d: trace %d is for %s, not transaction %s", b.Number, i, trace.TxHash.Hex(), tx.Hash.Hex())
			}
			if len(trace.Frames) == 0 {
				return nil, fmt.Errorf("block %d: empty trace for transaction %s", b.Number, tx.Hash.Hex())
			}
		}
		ctx := rowContext{block: &out.Block, tx: tx, index: uint32(i)}
		rec, rows, err := extractTx(&ctx, rc, trace)
		if err != nil {
			return nil, fmt.Errorf("block %d, transaction %s: %w", b.Number, tx.Hash.Hex(), err)
		}
		out.Txs = append(out.Txs, rec)
		out.Transfers = append(out.Transfers, rows...)
	}
	return out, nil
}

type rowContext struct {
	block  *chains.Block
	tx     *rpcTx
	txHash string
	index  uint32
}

func (c *rowContext) row(ordinal uint32, pos string, kind chains.Kind) chains.Transfer {
	if c.txHash == "" {
		c.txHash = c.tx.Hash.Hex()
	}
	return chains.Transfer{
		TxHash:      c.txHash,
		BlockNumber: c.block.Number,
		TxIndex:     c.index,
		BlockHash:   c.block.Hash,
		Timestamp:   c.block.Timestamp,
		Ordinal:     ordinal,
		Position:    pos,
		Kind:        kind,
	}
}

func extractTx(c *rowContext, rc *rpcReceipt, trace *TxTrace) (chains.Tx, []chains.Transfer, error) {
	tx := c.tx
	success := txSucceeded(rc, trace)
	rec := chains.Tx{
		Hash:        tx.Hash.Hex(),
		BlockNumber: c.block.Number,
		Index:       c.index,
		From:        hexAddr(tx.From),
		Value:       tx.Value.Big(),
		Fee:         txFee(tx, rc),
		Success:     success,
	}
	to := tx.To
	if to != nil {
		rec.To = hexAddr(*to)
	} else if rc.ContractAddress != nil {
		rec.Created = hexAddr(*rc.ContractAddress)
		to = rc.ContractAddress
	}
	if !success {
		return rec, nil, nil
	}
	var rows []chains.Transfer
	if tx.Value.Sign() > 0 && to != nil {
		r := c.row(chains.OrdinalTx, "tx", chains.KindNative)
		r.From, r.To, r.Asset, r.Amount = []string{hexAddr(tx.From)}, hexAddr(*to), chains.AssetETH, tx.Value.Big()
		rows = append(rows, r)
	}
	if trace != nil {
		frames, err := internalFrames(trace.Frames)
		if err != nil {
			return rec, nil, err
		}
		for _, f := range frames {
			r := c.row(chains.OrdinalFrameBase+uint32(f.Index), f.Position(), chains.KindInternal)
			r.From, r.To, r.Asset, r.Amount = []string{hexAddr(f.From)}, hexAddr(f.To), chains.AssetETH, new(big.Int).Set(f.Value)
			rows = append(rows, r)
		}
	}
	for i := range rc.Logs {
		if r, ok := tokenRow(c, &rc.Logs[i]); ok {
			rows = append(rows, r)
		}
	}
	return rec, rows, nil
}

// txSucceeded reads the receipt status. Receipts before Byzantium have none;
// then the root frame's error says whether the transaction failed, and with
// no trace the transaction is taken as successful.
func txSucceeded(rc *rpcReceipt, trace *TxTrace) bool {
	if rc.Status != nil {
		return *rc.Status == 1
	}
	if trace != nil && len(trace.Frames) > 0 {
		return trace.Frames[0].Error == ""
	}
	return true
}

// txFee is what the sender paid: gas used at the effective price (the legacy
// gas price where the receipt predates effectiveGasPrice), plus blob gas.
func txFee(tx *rpcTx, rc *rpcReceipt) *big.Int {
	price := rc.EffectiveGasPrice
	if price == nil {
		price = tx.GasPrice
	}
	fee := new(big.Int).Mul(new(big.Int).SetUint64(uint64(rc.GasUsed)), price.Big())
	if rc.BlobGasUsed != nil && rc.BlobGasPrice != nil {
		fee.Add(fee, new(big.Int).Mul(new(big.Int).SetUint64(uint64(*rc.BlobGasUsed)), rc.BlobGasPrice.Big()))
	}
	return fee
}

// tokenRow reads a Transfer log. Three topics and one data word is ERC-20;
// four topics (the token id indexed) and no data is ERC-721. The early,
// unindexed form (one topic, from/to/value in three data words) cannot say
// which standard it follows and is read as ERC-20, as ethereum-etl does.
// Any other shape is not a transfer.
func tokenRow(c *rowContext, l *rpcLog) (chains.Transfer, bool) {
	if l.Removed || len(l.Topics) == 0 || l.Topics[0] != TransferTopic {
		return chains.Transfer{}, false
	}
	var from, to common.Address
	var amount, tokenID *big.Int
	kind := chains.KindERC20
	var ok1, ok2 bool
	switch {
	case len(l.Topics) == 3 && len(l.Data) == 32:
		from, ok1 = wordAddress(l.Topics[1][:])
		to, ok2 = wordAddress(l.Topics[2][:])
		amount = new(big.Int).SetBytes(l.Data)
	case len(l.Topics) == 4 && len(l.Data) == 0:
		kind = chains.KindERC721
		from, ok1 = wordAddress(l.Topics[1][:])
		to, ok2 = wordAddress(l.Topics[2][:])
		tokenID = new(big.Int).SetBytes(l.Topics[3][:])
		amount = big.NewInt(1)
	case len(l.Topics) == 1 && len(l.Data) == 96:
		from, ok1 = wordAddress(l.Data[:32])
		to, ok2 = wordAddress(l.Data[32:64])
		amount = new(big.Int).SetBytes(l.Data[64:])
	default:
		return chains.Transfer{}, false
	}
	if !ok1 || !ok2 || amount.Sign() == 0 {
		return chains.Transfer{}, false
	}
	r := c.row(chains.OrdinalLogBase+uint32(l.LogIndex), "log:"+strconv.FormatUint(uint64(l.LogIndex), 10), kind)
	r.From, r.To, r.Asset, r.Amount, r.TokenID = []string{hexAddr(from)}, hexAddr(to), hexAddr(l.Address), amount, tokenID
	return r, true
}

// wordAddress reads an address from a 32-byte ABI word, refusing words whose
// upper 12 bytes are not zero (not an address).
func wordAddress(w []byte) (common.Address, bool) {
	for _, b := range w[:12] {
		if b != 0 {
			return common.Address{}, false
		}
	}
	return common.BytesToAddress(w[12:]), true
}
