package esplora

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"strconv"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/bitcoin"
)

// Status is a transaction's confirmation status.
type Status struct {
	Confirmed   bool   `json:"confirmed"`
	BlockHeight uint64 `json:"block_height,omitempty"`
	BlockHash   string `json:"block_hash,omitempty"`
	BlockTime   uint64 `json:"block_time,omitempty"`
}

// Output is a transaction output (vout, and vin's prevout).
type Output struct {
	ScriptPubKey        string `json:"scriptpubkey"`
	ScriptPubKeyAsm     string `json:"scriptpubkey_asm,omitempty"`
	ScriptPubKeyType    string `json:"scriptpubkey_type,omitempty"`
	ScriptPubKeyAddress string `json:"scriptpubkey_address,omitempty"`
	Value               int64  `json:"value"`
}

// Input is a transaction input.
type Input struct {
	Txid       string   `json:"txid"`
	Vout       uint32   `json:"vout"`
	Prevout    *Output  `json:"prevout"` // null for a coinbase
	ScriptSig  string   `json:"scriptsig"`
	Witness    []string `json:"witness,omitempty"`
	IsCoinbase bool     `json:"is_coinbase"`
	Sequence   uint32   `json:"sequence"`
}

// Tx is GET /tx/:txid.
type Tx struct {
	Txid     string   `json:"txid"`
	Version  int32    `json:"version"`
	Locktime uint32   `json:"locktime"`
	Vin      []Input  `json:"vin"`
	Vout     []Output `json:"vout"`
	Size     int      `json:"size"`
	Weight   int      `json:"weight"`
	Fee      int64    `json:"fee"`
	Status   Status   `json:"status"`
}

// Outspend is one element of GET /tx/:txid/outspends.
type Outspend struct {
	Spent  bool    `json:"spent"`
	Txid   string  `json:"txid,omitempty"`
	Vin    uint32  `json:"vin,omitempty"`
	Status *Status `json:"status,omitempty"`
}

// Block is GET /block/:hash (the fields the tracer uses).
type Block struct {
	ID                string `json:"id"`
	Height            uint64 `json:"height"`
	Version           int32  `json:"version"`
	Timestamp         uint64 `json:"timestamp"`
	TxCount           uint32 `json:"tx_count"`
	Size              int    `json:"size"`
	Weight            int    `json:"weight"`
	MerkleRoot        string `json:"merkle_root"`
	PreviousBlockHash string `json:"previousblockhash"`
}

var hash64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkHash(kind, h string) error {
	if !hash64.MatchString(h) {
		return fmt.Errorf("%w: %s %q is not 64 lower-case hex digits", ErrRefused, kind, h)
	}
	return nil
}

// Tx fetches one transaction. An unknown txid gives ErrNotFound.
func (c *Client) Tx(ctx context.Context, txid string) (*Tx, error) {
	if err := checkHash("txid", txid); err != nil {
		return nil, err
	}
	var tx Tx
	if err := c.getJSON(ctx, "/tx/"+txid, "tx "+txid, &tx); err != nil {
		return nil, err
	}
	if tx.Txid != txid {
		return nil, fmt.Errorf("%w: %s: asked for tx %s, got %q", ErrInconsistent, c.endpoint, txid, tx.Txid)
	}
	return &tx, nil
}

// Outspends fetches the spending status of every output of txid.
func (c *Client) Outspends(ctx context.Context, txid string) ([]Outspend, error) {
	if err := checkHash("txid", txid); err != nil {
		return nil, err
	}
	var out []Outspend
	if err := c.getJSON(ctx, "/tx/"+txid+"/outspends", "outspends of "+txid, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddressTxs calls fn for every confirmed transaction of addr, newest
// first, paging through /address/:addr/txs/chain/:last_seen_txid until a
// page holds fewer than 25. fn's error stops the walk and is returned.
func (c *Client) AddressTxs(ctx context.Context, addr string, fn func(*Tx) error) error {
	norm, err := bitcoin.NormalizeAddress(addr, c.opts.Net)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	base := "/address/" + url.PathEscape(norm) + "/txs/chain"
	last := ""
	seen := map[string]bool{}
	var lastHeight uint64
	for page := 0; ; page++ {
		path := base
		if last != "" {
			path += "/" + last
		}
		var txs []Tx
		if err := c.getJSON(ctx, path, fmt.Sprintf("history of %s page %d", norm, page), &txs); err != nil {
			return err
		}
		for i := range txs {
			tx := &txs[i]
			if seen[tx.Txid] {
				return fmt.Errorf("%w: %s: history of %s: tx %s given twice", ErrInconsistent, c.endpoint, norm, tx.Txid)
			}
			seen[tx.Txid] = true
			if !tx.Status.Confirmed {
				return fmt.Errorf("%w: %s: history of %s: unconfirmed tx %s in the chain history", ErrInconsistent, c.endpoint, norm, tx.Txid)
			}
			if len(seen) > 1 && tx.Status.BlockHeight > lastHeight {
				return fmt.Errorf("%w: %s: history of %s: tx %s (height %d) after height %d, not newest first", ErrInconsistent, c.endpoint, norm, tx.Txid, tx.Status.BlockHeight, lastHeight)
			}
			lastHeight = tx.Status.BlockHeight
			if err := fn(tx); err != nil {
				return err
			}
		}
		if len(txs) < PageSize {
			return nil
		}
		last = txs[len(txs)-1].Txid
	}
}

// TipHeight is the height of the chain tip.
func (c *Client) TipHeight(ctx context.Context) (uint64, error) {
	s, err := c.getText(ctx, "/blocks/tip/height", "tip height")
	if err != nil {
		return 0, err
	}
	h, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: tip height %q is not a number", ErrInconsistent, c.endpoint, c.line(s))
	}
	return h, nil
}

// BlockHash is the hash of the block at height.
func (c *Client) BlockHash(ctx context.Context, height uint64) (string, error) {
	s, err := c.getText(ctx, "/block-height/"+strconv.FormatUint(height, 10), fmt.Sprintf("block hash at %d", height))
	if err != nil {
		return "", err
	}
	if !hash64.MatchString(s) {
		return "", fmt.Errorf("%w: %s: block hash at %d: %q is not a hash", ErrInconsistent, c.endpoint, height, c.line(s))
	}
	return s, nil
}

// Block fetches a block header.
func (c *Client) Block(ctx context.Context, hash string) (*Block, error) {
	if err := checkHash("block hash", hash); err != nil {
		return nil, err
	}
	var b Block
	if err := c.getJSON(ctx, "/block/"+hash, "block "+hash, &b); err != nil {
		return nil, err
	}
	if b.ID != hash {
		return nil, fmt.Errorf("%w: %s: asked for block %s, got %q", ErrInconsistent, c.endpoint, hash, b.ID)
	}
	return &b, nil
}

// BlockTxids lists the txids of a block in block order.
func (c *Client) BlockTxids(ctx context.Context, hash string) ([]string, error) {
	if err := checkHash("block hash", hash); err != nil {
		return nil, err
	}
	var ids []string
	if err := c.getJSON(ctx, "/block/"+hash+"/txids", "txids of block "+hash, &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// BlockTxs fetches every transaction of a block in block order, 25 a page
// (/block/:hash/txs/:start_index).
func (c *Client) BlockTxs(ctx context.Context, hash string) ([]Tx, error) {
	b, err := c.Block(ctx, hash)
	if err != nil {
		return nil, err
	}
	out := make([]Tx, 0, b.TxCount)
	for start := 0; start < int(b.TxCount); start += PageSize {
		var page []Tx
		what := fmt.Sprintf("txs of block %s from %d", hash, start)
		if err := c.getJSON(ctx, "/block/"+hash+"/txs/"+strconv.Itoa(start), what, &page); err != nil {
			return nil, err
		}
		want := min(PageSize, int(b.TxCount)-start)
		if len(page) != want {
			return nil, fmt.Errorf("%w: %s: %s: %d transactions, want %d", ErrInconsistent, c.endpoint, what, len(page), want)
		}
		for i := range page {
			if page[i].Status.BlockHash != hash {
				return nil, fmt.Errorf("%w: %s: %s: tx %s is in block %q", ErrInconsistent, c.endpoint, what, page[i].Txid, page[i].Status.BlockHash)
			}
		}
		out = append(out, page...)
	}
	return out, nil
}

// TxIndex is the position of txid in its block, from /block/:hash/txids,
// fetched once a block.
func (c *Client) TxIndex(ctx context.Context, blockHash, txid string) (uint32, error) {
	c.mu.Lock()
	pos, ok := c.txidsOf[blockHash]
	c.mu.Unlock()
	if !ok {
		ids, err := c.BlockTxids(ctx, blockHash)
		if err != nil {
			return 0, err
		}
		pos = make(map[string]uint32, len(ids))
		for i, id := range ids {
			pos[id] = uint32(i)
		}
		c.mu.Lock()
		c.txidsOf[blockHash] = pos
		c.mu.Unlock()
	}
	i, ok := pos[txid]
	if !ok {
		return 0, fmt.Errorf("%w: %s: tx %s is not among the txids of block %s", ErrInconsistent, c.endpoint, txid, blockHash)
	}
	return i, nil
}

// TxRows fetches a confirmed transaction and its position and converts it.
func (c *Client) TxRows(ctx context.Context, txid string) (chains.Tx, []chains.Transfer, error) {
	tx, err := c.Tx(ctx, txid)
	if err != nil {
		return chains.Tx{}, nil, err
	}
	if !tx.Status.Confirmed {
		return chains.Tx{}, nil, fmt.Errorf("%w: %s: tx %s is not confirmed", ErrNotFound, c.endpoint, txid)
	}
	idx, err := c.TxIndex(ctx, tx.Status.BlockHash, txid)
	if err != nil {
		return chains.Tx{}, nil, err
	}
	return c.Rows(tx, idx)
}

// Address renders an output script (hex) as the tracer does, with
// bitcoin.ScriptAddress; the API's scriptpubkey_address is not trusted but
// checked: when it is given it must agree.
func (c *Client) Address(o *Output) (string, error) {
	script, err := hex.DecodeString(o.ScriptPubKey)
	if err != nil {
		return "", fmt.Errorf("%w: scriptpubkey %q is not hex", ErrInconsistent, o.ScriptPubKey)
	}
	a := bitcoin.ScriptAddress(script, c.opts.Net)
	if o.ScriptPubKeyAddress != "" && o.ScriptPubKeyAddress != a &&
		// P2PK: the API may show no address or the key; the tracer shows
		// the key's P2PKH address.
		o.ScriptPubKeyType != "p2pk" {
		return "", fmt.Errorf("%w: scriptpubkey %s is %s, the API says %s", ErrInconsistent, o.ScriptPubKey, a, o.ScriptPubKeyAddress)
	}
	return a, nil
}

// Rows converts a confirmed transaction to the chains model, as
// chains/bitcoin does for a node's block: one utxo row per output of
// non-zero value ("out:N"), from = the input addresses in input order
// without repeats ([] for a coinbase), the block number, hash and time from
// the status, and index the position in the block (see TxIndex).
func (c *Client) Rows(tx *Tx, index uint32) (chains.Tx, []chains.Transfer, error) {
	fail := func(f string, a ...any) (chains.Tx, []chains.Transfer, error) {
		return chains.Tx{}, nil, fmt.Errorf("%w: %s: tx %s: %s", ErrInconsistent, c.endpoint, tx.Txid, fmt.Sprintf(f, a...))
	}
	if !tx.Status.Confirmed {
		return fail("not confirmed")
	}
	coinbase := len(tx.Vin) == 1 && tx.Vin[0].IsCoinbase
	from := []string{}
	var inSum int64
	first := ""
	var inputs []chains.Input
	if !coinbase {
		inputs = make([]chains.Input, len(tx.Vin))
		for k := range tx.Vin {
			in := &tx.Vin[k]
			if in.IsCoinbase {
				return fail("input %d is a coinbase input in a transaction of %d inputs", k, len(tx.Vin))
			}
			if in.Prevout == nil {
				return fail("input %d (%s:%d) has no prevout", k, in.Txid, in.Vout)
			}
			if in.Prevout.Value < 0 || in.Prevout.Value > btcutil.MaxSatoshi {
				return fail("input %d: value %d", k, in.Prevout.Value)
			}
			a, err := c.Address(in.Prevout)
			if err != nil {
				return fail("input %d: %v", k, err)
			}
			if k == 0 {
				first = a
			}
			inSum += in.Prevout.Value
			if inSum > btcutil.MaxSatoshi {
				return fail("inputs sum to more than 21 million BTC")
			}
			if !containsStr(from, a) {
				from = append(from, a)
			}
			if !hash64.MatchString(in.Txid) {
				return fail("input %d spends txid %q", k, in.Txid)
			}
			inputs[k] = chains.Input{TxID: in.Txid, Vout: in.Vout, Value: big.NewInt(in.Prevout.Value), Address: a}
		}
	}
	st := tx.Status
	var outSum int64
	rows := make([]chains.Transfer, 0, len(tx.Vout))
	for n := range tx.Vout {
		o := &tx.Vout[n]
		if o.Value < 0 || o.Value > btcutil.MaxSatoshi {
			return fail("output %d: value %d", n, o.Value)
		}
		outSum += o.Value
		if outSum > btcutil.MaxSatoshi {
			return fail("outputs sum to more than 21 million BTC")
		}
		a, err := c.Address(o)
		if err != nil {
			return fail("output %d: %v", n, err)
		}
		if o.Value == 0 {
			continue
		}
		rows = append(rows, chains.Transfer{
			TxHash: tx.Txid, BlockNumber: st.BlockHeight, TxIndex: index,
			BlockHash: st.BlockHash, Timestamp: st.BlockTime,
			Ordinal: uint32(n), Position: "out:" + strconv.Itoa(n),
			Kind: chains.KindUTXO, From: from, To: a,
			Asset: chains.AssetBTC, Amount: big.NewInt(o.Value),
		})
	}
	rec := chains.Tx{Hash: tx.Txid, BlockNumber: st.BlockHeight, Index: index,
		From: first, Value: big.NewInt(outSum), Success: true, Inputs: inputs}
	if coinbase {
		return rec, rows, nil
	}
	fee := inSum - outSum
	if fee < 0 {
		return fail("spends %d sat but pays out %d", inSum, outSum)
	}
	if tx.Fee != fee {
		return fail("the API states a fee of %d sat, its inputs and outputs give %d", tx.Fee, fee)
	}
	rec.Fee = big.NewInt(fee)
	return rec, rows, nil
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
