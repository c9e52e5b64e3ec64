package sparsechain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/jsonrpcserver"
)

// Config sizes the chain.
type Config struct {
	Blocks uint64        // the head's number (blocks 0..Blocks); 0: DefaultBlocks
	Delay  time.Duration // added to every HTTP request
	Seed   int64         // of the case's generator; 0: 1
}

// Server is the chain behind an httptest server.
type Server struct {
	cfg  Config
	c    *Case
	srv  *httptest.Server
	byBN map[uint64]*Transfer
	// blocks of each address, ascending
	byAddr map[common.Address][]uint64
	// ledger: per address, blocks ascending and the balance at the end of each
	ledger map[common.Address][]balanceAt

	requests atomic.Int64
	mu       sync.Mutex
	calls    map[string]int64
}

type balanceAt struct {
	block uint64
	bal   *big.Int
}

// New builds the case and starts serving it.
func New(cfg Config) (*Server, error) {
	if cfg.Blocks == 0 {
		cfg.Blocks = DefaultBlocks
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	c, err := genCase(cfg.Blocks, cfg.Seed)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, c: c, byBN: map[uint64]*Transfer{}, byAddr: map[common.Address][]uint64{},
		ledger: map[common.Address][]balanceAt{}, calls: map[string]int64{}}
	bal := map[common.Address]*big.Int{c.Source: new(big.Int).Set(c.Alloc)}
	s.ledger[c.Source] = []balanceAt{{0, new(big.Int).Set(c.Alloc)}}
	for i := range c.Transfers {
		t := &c.Transfers[i]
		s.byBN[t.Block] = t
		s.byAddr[t.From] = append(s.byAddr[t.From], t.Block)
		if t.To != t.From {
			s.byAddr[t.To] = append(s.byAddr[t.To], t.Block)
		}
		for _, a := range []common.Address{t.From, t.To} {
			if bal[a] == nil {
				bal[a] = new(big.Int)
			}
		}
		bal[t.From].Sub(bal[t.From], t.Value)
		bal[t.From].Sub(bal[t.From], Fee)
		bal[t.To].Add(bal[t.To], t.Value)
		if bal[t.From].Sign() < 0 {
			return nil, fmt.Errorf("sparsechain: %s overspends in block %d", t.From.Hex(), t.Block)
		}
		for _, a := range []common.Address{t.From, t.To} {
			s.ledger[a] = append(s.ledger[a], balanceAt{t.Block, new(big.Int).Set(bal[a])})
		}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s, nil
}

// URL is the endpoint.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Case is the generated case.
func (s *Server) Case() *Case { return s.c }

// Head is the latest block's number.
func (s *Server) Head() uint64 { return s.cfg.Blocks }

// Requests is the number of HTTP requests served.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Calls is the number of JSON-RPC calls per method (batch elements each).
func (s *Server) Calls() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// BlocksOf lists the blocks in which a appears, ascending.
func (s *Server) BlocksOf(a common.Address) []uint64 { return append([]uint64(nil), s.byAddr[a]...) }

// BalanceAt is a's balance at the end of block n.
func (s *Server) BalanceAt(a common.Address, n uint64) *big.Int {
	l := s.ledger[a]
	i := sort.Search(len(l), func(i int) bool { return l[i].block > n })
	if i == 0 {
		return new(big.Int)
	}
	return new(big.Int).Set(l[i-1].bal)
}

type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.cfg.Delay > 0 {
		time.Sleep(s.cfg.Delay)
	}
	body, ok := jsonrpcserver.ReadBody(w, r)
	if !ok {
		return
	}
	body = bytes.TrimSpace(body)
	var out bytes.Buffer
	if jsonrpcserver.IsBatch(body) {
		var reqs []request
		if err := json.Unmarshal(body, &reqs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out.WriteByte('[')
		counts := map[string]int64{}
		for i := range reqs {
			if i > 0 {
				out.WriteByte(',')
			}
			counts[reqs[i].Method]++
			s.answer(&out, &reqs[i])
		}
		out.WriteByte(']')
		s.count(counts)
	} else {
		var req request
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.count(map[string]int64{req.Method: 1})
		s.answer(&out, &req)
	}
	jsonrpcserver.WriteJSON(w, out.Bytes())
}

func (s *Server) count(m map[string]int64) {
	s.mu.Lock()
	for k, v := range m {
		s.calls[k] += v
	}
	s.mu.Unlock()
}

func (s *Server) answer(out *bytes.Buffer, req *request) {
	id := jsonrpcserver.IDOrNull(req.ID)
	res, rerr := s.dispatch(req.Method, req.Params)
	out.WriteString(`{"jsonrpc":"2.0","id":`)
	out.Write(id)
	if rerr != nil {
		b, _ := json.Marshal(rerr)
		out.WriteString(`,"error":`)
		out.Write(b)
	} else {
		out.WriteString(`,"result":`)
		out.Write(res)
	}
	out.WriteByte('}')
}

func params(raw json.RawMessage) []json.RawMessage {
	var ps []json.RawMessage
	_ = json.Unmarshal(raw, &ps)
	return ps
}

// blockParam reads a block number or tag ("latest" and the like: the head).
func (s *Server) blockParam(raw json.RawMessage) (uint64, *rpcError) {
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		var n uint64
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, &rpcError{-32602, "invalid block number " + string(raw)}
		}
		return n, nil
	}
	switch str {
	case "latest", "pending", "safe", "finalized", "":
		return s.Head(), nil
	case "earliest":
		return 0, nil
	}
	n, err := parseQuantity(str)
	if err != nil {
		return 0, &rpcError{-32602, "invalid block number " + str}
	}
	return n, nil
}

func parseQuantity(s string) (uint64, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return strconv.ParseUint(s[2:], 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

func hexU(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

func quote(s string) json.RawMessage { return json.RawMessage(`"` + s + `"`) }

func (s *Server) dispatch(method string, raw json.RawMessage) (json.RawMessage, *rpcError) {
	ps := params(raw)
	arg := func(i int) json.RawMessage {
		if i < len(ps) {
			return ps[i]
		}
		return json.RawMessage("null")
	}
	switch method {
	case "web3_clientVersion":
		return quote(ClientVersion), nil
	case "eth_chainId":
		return quote(hexU(ChainID)), nil
	case "net_version":
		return quote(strconv.Itoa(ChainID)), nil
	case "eth_blockNumber":
		return quote(hexU(s.Head())), nil
	case "eth_getBlockByNumber":
		n, rerr := s.blockParam(arg(0))
		if rerr != nil {
			return nil, rerr
		}
		if n > s.Head() {
			return json.RawMessage("null"), nil
		}
		full := string(arg(1)) == "true"
		return s.blockJSON(n, full), nil
	case "eth_getBlockReceipts":
		n, rerr := s.blockParam(arg(0))
		if rerr != nil {
			return nil, rerr
		}
		if n > s.Head() {
			return json.RawMessage("null"), nil
		}
		return s.receiptsJSON(n), nil
	case "debug_traceBlockByNumber":
		n, rerr := s.blockParam(arg(0))
		if rerr != nil {
			return nil, rerr
		}
		if n > s.Head() {
			return nil, &rpcError{-32000, fmt.Sprintf("block #%d not found", n)}
		}
		return s.tracesJSON(n), nil
	case "trace_filter":
		return s.traceFilter(arg(0))
	case "eth_getLogs":
		return s.getLogs(arg(0))
	case "eth_getBalance":
		var a common.Address
		if err := json.Unmarshal(arg(0), &a); err != nil {
			return nil, &rpcError{-32602, "invalid address: " + err.Error()}
		}
		n, rerr := s.blockParam(arg(1))
		if rerr != nil {
			return nil, rerr
		}
		if n > s.Head() {
			return nil, &rpcError{-32000, "header not found"}
		}
		return quote("0x" + s.BalanceAt(a, n).Text(16)), nil
	case "eth_getCode":
		return quote("0x"), nil
	case "eth_getTransactionCount":
		return quote("0x0"), nil
	}
	return nil, &rpcError{-32601, fmt.Sprintf("the method %s does not exist/is not available", method)}
}

func timestamp(n uint64) uint64 { return GenesisTime + BlockTime*n }

func (s *Server) txJSON(t *Transfer) string {
	return fmt.Sprintf(`{"type":"0x2","chainId":"0x%x","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x%x","maxPriorityFeePerGas":"0x0","gasPrice":"0x%x",`+
		`"hash":"%s","from":"%s","to":"%s","value":"0x%s","input":"0x","accessList":[],"blockHash":"%s","blockNumber":"0x%x","transactionIndex":"0x0",`+
		`"v":"0x0","r":"0x1","s":"0x1","yParity":"0x0"}`,
		ChainID, 2*GasPriceWei, GasPriceWei, t.Hash.Hex(), strings.ToLower(t.From.Hex()), strings.ToLower(t.To.Hex()), t.Value.Text(16),
		BlockHash(t.Block).Hex(), t.Block)
}

func (s *Server) blockJSON(n uint64, full bool) json.RawMessage {
	parent := common.Hash{}
	if n > 0 {
		parent = BlockHash(n - 1)
	}
	txs := "[]"
	gasUsed := uint64(0)
	if t := s.byBN[n]; t != nil {
		gasUsed = GasUsed
		if full {
			txs = "[" + s.txJSON(t) + "]"
		} else {
			txs = `["` + t.Hash.Hex() + `"]`
		}
	}
	return json.RawMessage(fmt.Sprintf(`{"number":"0x%x","hash":"%s","parentHash":"%s","timestamp":"0x%x","miner":"0x0000000000000000000000000000000000000000",`+
		`"gasLimit":"0x1c9c380","gasUsed":"0x%x","baseFeePerGas":"0x%x","difficulty":"0x0","extraData":"0x","size":"0x200","uncles":[],"transactions":%s}`,
		n, BlockHash(n).Hex(), parent.Hex(), timestamp(n), gasUsed, GasPriceWei, txs))
}

func (s *Server) receiptsJSON(n uint64) json.RawMessage {
	t := s.byBN[n]
	if t == nil {
		return json.RawMessage("[]")
	}
	return json.RawMessage(fmt.Sprintf(`[{"type":"0x2","transactionHash":"%s","transactionIndex":"0x0","blockHash":"%s","blockNumber":"0x%x",`+
		`"from":"%s","to":"%s","status":"0x1","gasUsed":"0x5208","cumulativeGasUsed":"0x5208","effectiveGasPrice":"0x%x","contractAddress":null,"logs":[],`+
		`"logsBloom":"0x%s"}]`,
		t.Hash.Hex(), BlockHash(n).Hex(), n, strings.ToLower(t.From.Hex()), strings.ToLower(t.To.Hex()), GasPriceWei, strings.Repeat("0", 512)))
}

func (s *Server) tracesJSON(n uint64) json.RawMessage {
	t := s.byBN[n]
	if t == nil {
		return json.RawMessage("[]")
	}
	return json.RawMessage(fmt.Sprintf(`[{"txHash":"%s","result":{"type":"CALL","from":"%s","to":"%s","value":"0x%s","gas":"0x0","gasUsed":"0x5208","input":"0x","output":"0x"}}]`,
		t.Hash.Hex(), strings.ToLower(t.From.Hex()), strings.ToLower(t.To.Hex()), t.Value.Text(16)))
}

// parityFrame is the transaction's one frame as trace_filter answers it
// (Erigon's key order; block number and position as JSON numbers).
func (s *Server) parityFrame(t *Transfer) string {
	return fmt.Sprintf(`{"action":{"from":"%s","callType":"call","gas":"0x0","input":"0x","to":"%s","value":"0x%s"},"blockHash":"%s","blockNumber":%d,`+
		`"result":{"gasUsed":"0x0","output":"0x"},"subtraces":0,"traceAddress":[],"transactionHash":"%s","transactionPosition":0,"type":"call"}`,
		strings.ToLower(t.From.Hex()), strings.ToLower(t.To.Hex()), t.Value.Text(16), BlockHash(t.Block).Hex(), t.Block, t.Hash.Hex())
}

// filterBlock is a block parameter of a filter: number or tag, absent nil.
type filterBlock struct {
	set bool
	raw json.RawMessage
}

func (f *filterBlock) UnmarshalJSON(b []byte) error {
	if string(b) != "null" {
		f.set, f.raw = true, append(json.RawMessage(nil), b...)
	}
	return nil
}

func (s *Server) resolve(f filterBlock, dflt uint64) (uint64, *rpcError) {
	if !f.set {
		return dflt, nil
	}
	return s.blockParam(f.raw)
}

// traceFilter follows Erigon: the union of fromAddress and toAddress
// (intersection on request), after/count as JSON numbers, [] for a toBlock
// past the head, and the block range limit.
func (s *Server) traceFilter(raw json.RawMessage) (json.RawMessage, *rpcError) {
	var req struct {
		FromBlock   filterBlock       `json:"fromBlock"`
		ToBlock     filterBlock       `json:"toBlock"`
		FromAddress []*common.Address `json:"fromAddress"`
		ToAddress   []*common.Address `json:"toAddress"`
		Mode        string            `json:"mode"`
		After       *uint64           `json:"after"`
		Count       *uint64           `json:"count"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, &rpcError{-32602, "invalid argument 0: " + err.Error()}
	}
	from, rerr := s.resolve(req.FromBlock, 0)
	if rerr != nil {
		return nil, rerr
	}
	to, rerr := s.resolve(req.ToBlock, s.Head())
	if rerr != nil {
		return nil, rerr
	}
	if from > to {
		return nil, &rpcError{-32000, "invalid parameters: fromBlock cannot be greater than toBlock"}
	}
	if to > s.Head() {
		return json.RawMessage("[]"), nil
	}
	if to-from > RangeLimit {
		return nil, &rpcError{-32000, fmt.Sprintf("query block range exceeds server limit, narrow your filter: %d", RangeLimit)}
	}
	froms, tos := map[common.Address]bool{}, map[common.Address]bool{}
	for _, a := range req.FromAddress {
		if a != nil {
			froms[*a] = true
		}
	}
	for _, a := range req.ToAddress {
		if a != nil {
			tos[*a] = true
		}
	}
	// Candidate blocks: the listed addresses' blocks in range, or every
	// case block in range when no address is given.
	cand := map[uint64]bool{}
	add := func(bs []uint64) {
		i := sort.Search(len(bs), func(i int) bool { return bs[i] >= from })
		for ; i < len(bs) && bs[i] <= to; i++ {
			cand[bs[i]] = true
		}
	}
	if len(froms) == 0 && len(tos) == 0 {
		for n := range s.byBN {
			if n >= from && n <= to {
				cand[n] = true
			}
		}
	} else {
		for a := range froms {
			add(s.byAddr[a])
		}
		for a := range tos {
			add(s.byAddr[a])
		}
	}
	if len(cand) == 0 {
		return json.RawMessage("[]"), nil
	}
	blocks := make([]uint64, 0, len(cand))
	for n := range cand {
		blocks = append(blocks, n)
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i] < blocks[j] })
	var after uint64
	if req.After != nil {
		after = *req.After
	}
	count := ^uint64(0)
	if req.Count != nil {
		count = *req.Count
	}
	var out []string
	for _, n := range blocks {
		t := s.byBN[n]
		inFrom, inTo := froms[t.From], tos[t.To]
		match := inFrom || inTo
		if req.Mode == "intersection" {
			match = (len(froms) == 0 || inFrom) && (len(tos) == 0 || inTo)
		} else if len(froms) == 0 && len(tos) == 0 {
			match = true
		}
		if !match {
			continue
		}
		if after > 0 {
			after--
			continue
		}
		if uint64(len(out)) >= count {
			break
		}
		out = append(out, s.parityFrame(t))
	}
	return json.RawMessage("[" + strings.Join(out, ",") + "]"), nil
}

// getLogs: the case has no logs; Erigon's refusals are kept (a toBlock
// past the head, the range limit with -32602).
func (s *Server) getLogs(raw json.RawMessage) (json.RawMessage, *rpcError) {
	var f struct {
		BlockHash *common.Hash `json:"blockHash"`
		FromBlock filterBlock  `json:"fromBlock"`
		ToBlock   filterBlock  `json:"toBlock"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, &rpcError{-32602, "invalid argument 0: " + err.Error()}
	}
	if f.BlockHash != nil {
		return json.RawMessage("[]"), nil
	}
	from, rerr := s.resolve(f.FromBlock, s.Head())
	if rerr != nil {
		return nil, rerr
	}
	to, rerr := s.resolve(f.ToBlock, s.Head())
	if rerr != nil {
		return nil, rerr
	}
	if to > s.Head() {
		return nil, &rpcError{-32000, fmt.Sprintf("invalid block range: toBlock %d is beyond current head %d", to, s.Head())}
	}
	if from > to {
		return nil, &rpcError{-32000, "invalid block range params"}
	}
	if to-from > RangeLimit {
		return nil, &rpcError{-32602, fmt.Sprintf("query block range exceeds server limit, narrow your filter: %d", RangeLimit)}
	}
	return json.RawMessage("[]"), nil
}
