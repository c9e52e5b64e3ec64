// Package esplorareplay serves an in-memory set of Bitcoin blocks over the
// Esplora REST API for tests.
//
// Endpoints, JSON field names and field order follow
// https://github.com/Blockstream/esplora/blob/master/API.md ("Transaction
// format", "GET /tx/:txid", "GET /tx/:txid/outspends",
// "GET /address/:address/txs", "GET /address/:address/txs/chain[/:last_seen_txid]",
// "GET /block/:hash", "GET /block-height/:height", "GET /blocks/tip/height",
// "GET /block/:hash/txids", "GET /block/:hash/txs[/:start_index]").
// Errors are plain text with an HTTP status, as Esplora answers
// ("Transaction not found", 404).
package esplorareplay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// PageSize is the documented page size of chain history and block txs.
const PageSize = 25

// Output is a vout (and a vin's prevout), fields in the documented order.
type Output struct {
	ScriptPubKey        string `json:"scriptpubkey"`
	ScriptPubKeyAsm     string `json:"scriptpubkey_asm"`
	ScriptPubKeyType    string `json:"scriptpubkey_type"`
	ScriptPubKeyAddress string `json:"scriptpubkey_address,omitempty"`
	Value               int64  `json:"value"`
}

// Input is a vin. Prevout may be left nil: the server fills it from its
// own transactions.
type Input struct {
	Txid       string   `json:"txid"`
	Vout       uint32   `json:"vout"`
	Prevout    *Output  `json:"prevout"`
	ScriptSig  string   `json:"scriptsig"`
	Witness    []string `json:"witness,omitempty"`
	IsCoinbase bool     `json:"is_coinbase"`
	Sequence   uint32   `json:"sequence"`
}

// Status is a transaction's status; the server fills it.
type Status struct {
	Confirmed   bool   `json:"confirmed"`
	BlockHeight uint64 `json:"block_height,omitempty"`
	BlockHash   string `json:"block_hash,omitempty"`
	BlockTime   uint64 `json:"block_time,omitempty"`
}

// Tx is one transaction record. Fee is filled when zero; Status always.
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

// Block groups transactions; Hash is made up from the height when empty.
type Block struct {
	Height uint64
	Hash   string
	Time   uint64
	Txs    []Tx
}

type blockJSON struct {
	ID                string `json:"id"`
	Height            uint64 `json:"height"`
	Version           int32  `json:"version"`
	Timestamp         uint64 `json:"timestamp"`
	TxCount           int    `json:"tx_count"`
	Size              int    `json:"size"`
	Weight            int    `json:"weight"`
	MerkleRoot        string `json:"merkle_root"`
	PreviousBlockHash string `json:"previousblockhash"`
	MedianTime        uint64 `json:"mediantime"`
	Nonce             uint32 `json:"nonce"`
	Bits              uint32 `json:"bits"`
	Difficulty        int    `json:"difficulty"`
}

type outspend struct {
	Spent  bool    `json:"spent"`
	Txid   string  `json:"txid,omitempty"`
	Vin    *uint32 `json:"vin,omitempty"`
	Status *Status `json:"status,omitempty"`
}

// Options add behaviour for tests.
type Options struct {
	Delay time.Duration // before every answer
	// Fail, when it returns a status, answers the request with it (and
	// Retry-After when retryAfter is not empty) instead. n counts requests
	// from 1.
	Fail func(r *http.Request, n int64) (status int, retryAfter string)
	// Corrupt, when set, may change the value of output vout of txid as
	// served (in vout and in the prevouts that spend it).
	Corrupt func(txid string, vout int, value int64) int64
	// DropPage, when it returns true, serves page (0-based) of addr's chain
	// history as an empty list.
	DropPage func(addr string, page int) bool
}

// Server is the replay server.
type Server struct {
	*httptest.Server
	opts     Options
	blocks   []*Block // by height order as given
	byHash   map[string]*Block
	byHeight map[uint64]*Block
	txs      map[string]*Tx
	spends   map[string]map[uint32][2]any // txid -> vout -> {spender txid, vin}
	history  map[string][]string          // address -> txids newest first
	requests atomic.Int64
	mu       sync.Mutex
	paths    map[string]int
}

// New starts a server over blocks (in ascending height order) and closes
// it when the test ends.
func New(t testing.TB, blocks []Block, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, byHash: map[string]*Block{}, byHeight: map[uint64]*Block{},
		txs: map[string]*Tx{}, spends: map[string]map[uint32][2]any{}, history: map[string][]string{}, paths: map[string]int{}}
	for i := range blocks {
		b := blocks[i]
		if b.Hash == "" {
			h := sha256.Sum256([]byte("esplorareplay block " + strconv.FormatUint(b.Height, 10)))
			h[0], h[1], h[2], h[3] = 0, 0, 0, 0
			b.Hash = hex.EncodeToString(h[:])
		}
		b.Txs = append([]Tx(nil), b.Txs...)
		s.blocks = append(s.blocks, &b)
		s.byHash[b.Hash] = &b
		s.byHeight[b.Height] = &b
		for j := range b.Txs {
			tx := &b.Txs[j]
			tx.Status = Status{Confirmed: true, BlockHeight: b.Height, BlockHash: b.Hash, BlockTime: b.Time}
			tx.Vin = append([]Input(nil), tx.Vin...)
			var in, out int64
			for k := range tx.Vin {
				v := &tx.Vin[k]
				if v.IsCoinbase {
					continue
				}
				if v.Prevout == nil {
					p, ok := s.txs[v.Txid]
					if !ok || int(v.Vout) >= len(p.Vout) {
						t.Fatalf("esplorareplay: tx %s input %d spends unknown %s:%d", tx.Txid, k, v.Txid, v.Vout)
					}
					po := p.Vout[v.Vout]
					v.Prevout = &po
				}
				in += v.Prevout.Value
				if s.spends[v.Txid] == nil {
					s.spends[v.Txid] = map[uint32][2]any{}
				}
				s.spends[v.Txid][v.Vout] = [2]any{tx.Txid, uint32(k)}
			}
			for _, o := range tx.Vout {
				out += o.Value
			}
			if tx.Fee == 0 && in > 0 {
				tx.Fee = in - out
			}
			s.txs[tx.Txid] = tx
		}
	}
	// History, newest first: by height, then by position, descending.
	for i := len(s.blocks) - 1; i >= 0; i-- {
		b := s.blocks[i]
		for j := len(b.Txs) - 1; j >= 0; j-- {
			tx := &b.Txs[j]
			seen := map[string]bool{}
			add := func(a string) {
				if a != "" && !seen[a] {
					seen[a] = true
					s.history[a] = append(s.history[a], tx.Txid)
				}
			}
			for _, v := range tx.Vin {
				if v.Prevout != nil {
					add(v.Prevout.ScriptPubKeyAddress)
				}
			}
			for _, o := range tx.Vout {
				add(o.ScriptPubKeyAddress)
			}
		}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Requests is the number of requests served.
func (s *Server) Requests() int64 { return s.requests.Load() }

// PathRequests is how many requests asked for path.
func (s *Server) PathRequests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paths[path]
}

// BlockHash is the hash the server gives the block at height.
func (s *Server) BlockHash(height uint64) string {
	if b := s.byHeight[height]; b != nil {
		return b.Hash
	}
	return ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	s.mu.Lock()
	s.paths[r.URL.Path]++
	s.mu.Unlock()
	if s.opts.Delay > 0 {
		select {
		case <-time.After(s.opts.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if s.opts.Fail != nil {
		if code, ra := s.opts.Fail(r, n); code != 0 {
			if ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			text(w, code, http.StatusText(code))
			return
		}
	}
	if r.Method != http.MethodGet {
		text(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(p) == 2 && p[0] == "tx":
		tx, ok := s.txs[p[1]]
		if !ok {
			text(w, http.StatusNotFound, "Transaction not found")
			return
		}
		s.json(w, s.view(tx))
	case len(p) == 3 && p[0] == "tx" && p[2] == "outspends":
		tx, ok := s.txs[p[1]]
		if !ok {
			text(w, http.StatusNotFound, "Transaction not found")
			return
		}
		out := make([]outspend, len(tx.Vout))
		for i := range tx.Vout {
			if sp, ok := s.spends[tx.Txid][uint32(i)]; ok {
				vin := sp[1].(uint32)
				st := s.txs[sp[0].(string)].Status
				out[i] = outspend{Spent: true, Txid: sp[0].(string), Vin: &vin, Status: &st}
			}
		}
		s.json(w, out)
	case len(p) >= 3 && len(p) <= 5 && p[0] == "address" && p[2] == "txs":
		s.address(w, p[1], p[3:])
	case len(p) == 2 && p[0] == "block-height":
		h, err := strconv.ParseUint(p[1], 10, 64)
		b := s.byHeight[h]
		if err != nil || b == nil {
			text(w, http.StatusNotFound, "Block not found")
			return
		}
		text(w, http.StatusOK, b.Hash)
	case len(p) == 3 && p[0] == "blocks" && p[1] == "tip" && (p[2] == "height" || p[2] == "hash"):
		if len(s.blocks) == 0 {
			text(w, http.StatusNotFound, "Block not found")
			return
		}
		tip := s.blocks[len(s.blocks)-1]
		if p[2] == "hash" {
			text(w, http.StatusOK, tip.Hash)
		} else {
			text(w, http.StatusOK, strconv.FormatUint(tip.Height, 10))
		}
	case len(p) >= 2 && p[0] == "block":
		b := s.byHash[p[1]]
		if b == nil {
			text(w, http.StatusNotFound, "Block not found")
			return
		}
		s.block(w, b, p[2:])
	default:
		text(w, http.StatusNotFound, "Not found")
	}
}

func (s *Server) block(w http.ResponseWriter, b *Block, rest []string) {
	switch {
	case len(rest) == 0:
		prev := ""
		if pb := s.byHeight[b.Height-1]; pb != nil && b.Height > 0 {
			prev = pb.Hash
		}
		size, weight := 80, 320
		for _, tx := range b.Txs {
			size += tx.Size
			weight += tx.Weight
		}
		s.json(w, blockJSON{ID: b.Hash, Height: b.Height, Version: 0x20000000, Timestamp: b.Time,
			TxCount: len(b.Txs), Size: size, Weight: weight, MerkleRoot: strings.Repeat("0", 64),
			PreviousBlockHash: prev, MedianTime: b.Time, Bits: 0x17034219, Difficulty: 1})
	case len(rest) == 1 && rest[0] == "txids":
		ids := make([]string, len(b.Txs))
		for i := range b.Txs {
			ids[i] = b.Txs[i].Txid
		}
		s.json(w, ids)
	case (len(rest) == 1 || len(rest) == 2) && rest[0] == "txs":
		start := 0
		if len(rest) == 2 {
			var err error
			start, err = strconv.Atoi(rest[1])
			if err != nil || start < 0 {
				text(w, http.StatusBadRequest, "Invalid start index")
				return
			}
		}
		if start%PageSize != 0 {
			text(w, http.StatusBadRequest, "start index must be a multipication of 25")
			return
		}
		if start >= len(b.Txs) {
			text(w, http.StatusNotFound, "start index out of range")
			return
		}
		end := min(start+PageSize, len(b.Txs))
		out := make([]Tx, 0, end-start)
		for i := start; i < end; i++ {
			out = append(out, s.view(&b.Txs[i]))
		}
		s.json(w, out)
	default:
		text(w, http.StatusNotFound, "Not found")
	}
}

// address serves /address/:a/txs (first 25 confirmed; this replay holds no
// mempool) and /address/:a/txs/chain[/:last_seen_txid].
func (s *Server) address(w http.ResponseWriter, addr string, rest []string) {
	ids := s.history[addr]
	start := 0
	switch {
	case len(rest) == 0, len(rest) == 1 && rest[0] == "chain":
	case len(rest) == 2 && rest[0] == "chain":
		found := false
		for i, id := range ids {
			if id == rest[1] {
				start, found = i+1, true
				break
			}
		}
		if !found {
			text(w, http.StatusBadRequest, "Invalid last_seen_txid")
			return
		}
	default:
		text(w, http.StatusNotFound, "Not found")
		return
	}
	out := []Tx{}
	if s.opts.DropPage == nil || !s.opts.DropPage(addr, start/PageSize) {
		for i := start; i < min(start+PageSize, len(ids)); i++ {
			out = append(out, s.view(s.txs[ids[i]]))
		}
	}
	s.json(w, out)
}

// view is tx as served, after Corrupt.
func (s *Server) view(tx *Tx) Tx {
	v := *tx
	if s.opts.Corrupt == nil {
		return v
	}
	v.Vout = append([]Output(nil), tx.Vout...)
	for i := range v.Vout {
		v.Vout[i].Value = s.opts.Corrupt(tx.Txid, i, v.Vout[i].Value)
	}
	v.Vin = append([]Input(nil), tx.Vin...)
	for i := range v.Vin {
		if p := v.Vin[i].Prevout; p != nil {
			po := *p
			po.Value = s.opts.Corrupt(v.Vin[i].Txid, int(v.Vin[i].Vout), po.Value)
			v.Vin[i].Prevout = &po
		}
	}
	return v
}

func (s *Server) json(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		text(w, http.StatusInternalServerError, fmt.Sprint(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(code)
	fmt.Fprint(w, msg)
}
