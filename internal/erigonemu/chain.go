package erigonemu

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/chaintrace/chaintrace/chains/ethereum"
	"github.com/chaintrace/chaintrace/internal/rpcreplay"
)

// The recorded span: block 37 is the empty block before the scenario,
// 38-48 the scenario. Blocks outside it are taken to be empty, as on the
// dev chain (no account of the scenario sent anything before block 38).
const (
	FirstBlock = 37
	LastBlock  = 48
)

// Heads of the recordings: eth_blockNumber.json (the scenario files) and
// eth_blockNumber.late.json (the range-limit files, recorded later).
const (
	RecordedHead     = 0x52
	RecordedLateHead = 0x3fc
)

// Erigon's defaults, as the node that was recorded ran.
const (
	DefaultRangeLimit = 1000 // --rpc.blockrange.limit
	DefaultOtsMaxPage = 25   // --ots.search.max.pagesize
)

type frame struct {
	raw      json.RawMessage
	from, to string // lower-case; "" when the frame has none
	txPos    int    // -1 for a frame of no transaction
}

type block struct {
	number    uint64
	hash      string
	timestamp uint64
	frames    []frame
	txs       []json.RawMessage
	receipts  []json.RawMessage
	rawRcpts  json.RawMessage // the recorded eth_getBlockReceipts answer
	logs      []logEntry
}

type logEntry struct {
	raw     json.RawMessage
	address string
	topics  []string
}

// Chain is what the emulator knows of the recorded node: blocks 37-48 from
// their recorded trace_block, eth_getBlockByNumber and eth_getBlockReceipts
// answers, and the state (ether and token balances, code) that
// scenario.json's ground truth gives at block 37 and its movements imply
// for every later block.
type Chain struct {
	Dir    string
	blocks map[uint64]*block
	nums   []uint64 // ascending

	// ether[addr][n] and tokens[addr][n] are balances at the end of block
	// n, FirstBlock <= n <= LastBlock; later blocks are empty.
	ether  map[string][]*big.Int
	tokens map[string][]*big.Int
	token  string            // the token contract, lower-case
	born   map[string]uint64 // contract -> block of its creation
	eoa    map[string]bool
	names  map[string]string // lower-case address -> scenario name
}

var (
	loadedMu sync.Mutex
	loaded   = map[string]*chainOnce{}
)

type chainOnce struct {
	once sync.Once
	c    *Chain
	err  error
}

// LoadChain reads the fixtures in dir once per process.
func LoadChain(dir string) (*Chain, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	loadedMu.Lock()
	o := loaded[abs]
	if o == nil {
		o = &chainOnce{}
		loaded[abs] = o
	}
	loadedMu.Unlock()
	o.once.Do(func() { o.c, o.err = readChain(abs) })
	return o.c, o.err
}

// recordedResult is the answer of a recorded file of one call.
func recordedResult(dir, file string) (json.RawMessage, error) {
	rec, err := rpcreplay.ReadErigonRecording(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	calls, err := rec.Calls()
	if err != nil {
		return nil, err
	}
	if len(calls) != 1 || calls[0].Error != nil {
		return nil, fmt.Errorf("%s: want one answered call", file)
	}
	return calls[0].Result, nil
}

func readChain(dir string) (*Chain, error) {
	c := &Chain{Dir: dir, blocks: map[uint64]*block{}}
	for n := uint64(FirstBlock); n <= LastBlock; n++ {
		blk, err := readBlock(dir, n)
		if err != nil {
			return nil, err
		}
		c.blocks[n] = blk
		c.nums = append(c.nums, n)
	}
	if err := c.readState(dir); err != nil {
		return nil, fmt.Errorf("scenario.json: %w", err)
	}
	return c, nil
}

func readBlock(dir string, n uint64) (*block, error) {
	blk := &block{number: n}
	raw, err := recordedResult(dir, fmt.Sprintf("eth_getBlockByNumber.full.block%d.json", n))
	if err != nil {
		return nil, err
	}
	var hdr struct {
		Number       quantity          `json:"number"`
		Hash         string            `json:"hash"`
		Timestamp    quantity          `json:"timestamp"`
		Transactions []json.RawMessage `json:"transactions"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return nil, err
	}
	if uint64(hdr.Number) != n {
		return nil, fmt.Errorf("block file %d holds block %d", n, hdr.Number)
	}
	blk.hash, blk.timestamp, blk.txs = strings.ToLower(hdr.Hash), uint64(hdr.Timestamp), hdr.Transactions
	if raw, err = recordedResult(dir, fmt.Sprintf("eth_getBlockReceipts.block%d.json", n)); err != nil {
		return nil, err
	}
	blk.rawRcpts = raw
	if err := json.Unmarshal(raw, &blk.receipts); err != nil {
		return nil, err
	}
	if len(blk.receipts) != len(blk.txs) {
		return nil, fmt.Errorf("block %d: %d receipts for %d txs", n, len(blk.receipts), len(blk.txs))
	}
	for _, r := range blk.receipts {
		var rc struct {
			Logs []json.RawMessage `json:"logs"`
		}
		if err := json.Unmarshal(r, &rc); err != nil {
			return nil, err
		}
		for _, l := range rc.Logs {
			var lg struct {
				Address string   `json:"address"`
				Topics  []string `json:"topics"`
			}
			if err := json.Unmarshal(l, &lg); err != nil {
				return nil, err
			}
			for i := range lg.Topics {
				lg.Topics[i] = strings.ToLower(lg.Topics[i])
			}
			blk.logs = append(blk.logs, logEntry{raw: l, address: strings.ToLower(lg.Address), topics: lg.Topics})
		}
	}
	if raw, err = recordedResult(dir, fmt.Sprintf("trace_block.block%d.json", n)); err != nil {
		return nil, err
	}
	var frames []json.RawMessage
	if err := json.Unmarshal(raw, &frames); err != nil {
		return nil, err
	}
	for _, f := range frames {
		var fr struct {
			Type   string `json:"type"`
			Action struct {
				From, To, Address, RefundAddress, Author string
			} `json:"action"`
			Result *struct {
				Address string `json:"address"`
			} `json:"result"`
			BlockNumber         uint64 `json:"blockNumber"`
			TransactionPosition *int   `json:"transactionPosition"`
		}
		if err := json.Unmarshal(f, &fr); err != nil {
			return nil, err
		}
		if fr.BlockNumber != n {
			return nil, fmt.Errorf("trace_block %d has a frame of block %d", n, fr.BlockNumber)
		}
		ef := frame{raw: f, txPos: -1}
		if fr.TransactionPosition != nil {
			ef.txPos = *fr.TransactionPosition
		}
		// Erigon's matching (README): from = action.from (suicide:
		// action.address); to = action.to (create: result.address;
		// suicide: action.refundAddress; reward: action.author).
		switch fr.Type {
		case "call":
			ef.from, ef.to = fr.Action.From, fr.Action.To
		case "create":
			ef.from = fr.Action.From
			if fr.Result != nil {
				ef.to = fr.Result.Address
			}
		case "suicide":
			ef.from, ef.to = fr.Action.Address, fr.Action.RefundAddress
		case "reward":
			ef.to = fr.Action.Author
		default:
			return nil, fmt.Errorf("block %d: frame type %q", n, fr.Type)
		}
		ef.from, ef.to = strings.ToLower(ef.from), strings.ToLower(ef.to)
		blk.frames = append(blk.frames, ef)
	}
	return blk, nil
}

// Scenario is the part of scenario.json the emulator reads.
type Scenario struct {
	Token struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"token"`
	Addresses []struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		Kind    string `json:"kind"`
	} `json:"addresses"`
	Transactions []ScenarioTx `json:"transactions"`
	Balances     struct {
		AtBlock37      map[string]string `json:"atBlock37"`
		AtBlock48      map[string]string `json:"atBlock48"`
		TokenAtBlock48 map[string]string `json:"tokenAtBlock48"`
	} `json:"balances"`
}

// ScenarioTx is one transaction of scenario.json.
type ScenarioTx struct {
	Label            string `json:"label"`
	Hash             string `json:"hash"`
	BlockNumber      uint64 `json:"blockNumber"`
	TransactionIndex int    `json:"transactionIndex"`
	From             string `json:"from"`
	FromAddress      string `json:"fromAddress"`
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
	ValueTransfers []struct {
		From     string `json:"from"`
		To       string `json:"to"`
		ValueWei string `json:"valueWei"`
		Kind     string `json:"kind"`
		Moved    bool   `json:"moved"`
	} `json:"valueTransfers"`
	TokenTransfers []struct {
		Token  string `json:"token"`
		From   string `json:"from"`
		To     string `json:"to"`
		Amount string `json:"amount"`
		Moved  bool   `json:"moved"`
	} `json:"tokenTransfers"`
}

// ReadScenario reads dir/scenario.json.
func ReadScenario(dir string) (*Scenario, error) {
	b, err := os.ReadFile(filepath.Join(dir, "scenario.json"))
	if err != nil {
		return nil, err
	}
	var sc Scenario
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("scenario.json: %w", err)
	}
	return &sc, nil
}

// Resolver maps scenario.json's names (and literal 0x addresses) to
// lower-case addresses.
func (sc *Scenario) Resolver() func(name string) (string, error) {
	addr := map[string]string{sc.Token.Name: strings.ToLower(sc.Token.Address)}
	for _, a := range sc.Addresses {
		addr[a.Name] = strings.ToLower(a.Address)
	}
	return func(name string) (string, error) {
		if strings.HasPrefix(name, "0x") {
			return strings.ToLower(name), nil
		}
		a, ok := addr[name]
		if !ok {
			return "", fmt.Errorf("unknown address name %q", name)
		}
		return a, nil
	}
}

// readState computes every scenario address's ether balance at the end of
// each block 37..48 from its balance at 37, the moved value transfers and
// the fees of blocks 38..48, and the token balances from the token
// transfers that moved (the constructor's mint from 0x0 creates supply).
func (c *Chain) readState(dir string) error {
	sc, err := ReadScenario(dir)
	if err != nil {
		return err
	}
	resolve := sc.Resolver()
	c.token = strings.ToLower(sc.Token.Address)
	c.born, c.eoa, c.names = map[string]uint64{}, map[string]bool{}, map[string]string{}
	for _, a := range sc.Addresses {
		addr := strings.ToLower(a.Address)
		c.names[addr] = a.Name
		if a.Kind == "eoa" {
			c.eoa[addr] = true
		}
	}
	const span = LastBlock - FirstBlock + 1
	cur := map[string]*big.Int{}
	for name, v := range sc.Balances.AtBlock37 {
		addr, err := resolve(name)
		if err != nil {
			return err
		}
		b, ok := new(big.Int).SetString(v, 10)
		if !ok {
			return fmt.Errorf("balance of %s at 37: %q", name, v)
		}
		cur[addr] = b
	}
	if len(cur) != len(sc.Addresses) {
		return fmt.Errorf("%d balances at block 37 for %d addresses", len(cur), len(sc.Addresses))
	}
	tok := map[string]*big.Int{}
	for addr := range cur {
		tok[addr] = new(big.Int)
	}
	txs := append([]ScenarioTx(nil), sc.Transactions...)
	sort.SliceStable(txs, func(i, j int) bool {
		if txs[i].BlockNumber != txs[j].BlockNumber {
			return txs[i].BlockNumber < txs[j].BlockNumber
		}
		return txs[i].TransactionIndex < txs[j].TransactionIndex
	})
	move := func(m map[string]*big.Int, from, to string, v *big.Int, mint bool) error {
		if !mint {
			f, ok := m[from]
			if !ok {
				return fmt.Errorf("movement from %s, which has no known balance", from)
			}
			f.Sub(f, v)
			if f.Sign() < 0 {
				return fmt.Errorf("balance of %s goes below zero", from)
			}
		}
		t, ok := m[to]
		if !ok {
			return fmt.Errorf("movement to %s, which has no known balance", to)
		}
		t.Add(t, v)
		return nil
	}
	c.ether, c.tokens = map[string][]*big.Int{}, map[string][]*big.Int{}
	snapshot := func(n uint64) {
		for addr, b := range cur {
			if c.ether[addr] == nil {
				c.ether[addr] = make([]*big.Int, span)
				c.tokens[addr] = make([]*big.Int, span)
			}
			c.ether[addr][n-FirstBlock] = new(big.Int).Set(b)
			c.tokens[addr][n-FirstBlock] = new(big.Int).Set(tok[addr])
		}
	}
	snapshot(FirstBlock)
	i := 0
	for n := uint64(FirstBlock + 1); n <= LastBlock; n++ {
		for ; i < len(txs) && txs[i].BlockNumber == n; i++ {
			tx := txs[i]
			fee, ok := new(big.Int).SetString(tx.FeeWei, 10)
			if !ok {
				return fmt.Errorf("%s: fee %q", tx.Label, tx.FeeWei)
			}
			sender, ok := cur[strings.ToLower(tx.FromAddress)]
			if !ok {
				return fmt.Errorf("%s: sender %s has no known balance", tx.Label, tx.FromAddress)
			}
			if sender.Sub(sender, fee).Sign() < 0 {
				return fmt.Errorf("%s: the fee takes %s below zero", tx.Label, tx.FromAddress)
			}
			for _, f := range tx.Frames {
				if f.Type == "create" && tx.Status == 1 && !f.Reverted {
					to, err := resolve(f.To)
					if err != nil {
						return fmt.Errorf("%s: %w", tx.Label, err)
					}
					c.born[to] = n
				}
			}
			for _, vt := range tx.ValueTransfers {
				if !vt.Moved {
					continue
				}
				v, ok := new(big.Int).SetString(vt.ValueWei, 10)
				if !ok {
					return fmt.Errorf("%s: value %q", tx.Label, vt.ValueWei)
				}
				from, err := resolve(vt.From)
				if err != nil {
					return fmt.Errorf("%s: %w", tx.Label, err)
				}
				to, err := resolve(vt.To)
				if err != nil {
					return fmt.Errorf("%s: %w", tx.Label, err)
				}
				if err := move(cur, from, to, v, false); err != nil {
					return fmt.Errorf("%s: %w", tx.Label, err)
				}
			}
			for _, tt := range tx.TokenTransfers {
				if !tt.Moved {
					continue
				}
				if token, err := resolve(tt.Token); err != nil || token != c.token {
					return fmt.Errorf("%s: a transfer of token %q, not of %s", tx.Label, tt.Token, c.token)
				}
				v, ok := new(big.Int).SetString(tt.Amount, 10)
				if !ok {
					return fmt.Errorf("%s: token amount %q", tx.Label, tt.Amount)
				}
				from, err := resolve(tt.From)
				if err != nil {
					return fmt.Errorf("%s: %w", tx.Label, err)
				}
				to, err := resolve(tt.To)
				if err != nil {
					return fmt.Errorf("%s: %w", tx.Label, err)
				}
				if err := move(tok, from, to, v, from == zeroAddress); err != nil {
					return fmt.Errorf("%s: token: %w", tx.Label, err)
				}
			}
		}
		snapshot(n)
	}
	if i != len(txs) {
		return fmt.Errorf("transaction %s is outside blocks %d-%d", txs[i].Label, FirstBlock+1, LastBlock)
	}
	if _, ok := c.born[c.token]; !ok {
		return fmt.Errorf("the token %s is never created", c.token)
	}
	return nil
}

const zeroAddress = "0x0000000000000000000000000000000000000000"

// Addresses lists the addresses whose state the chain knows (scenario.json's
// 24), lower-case, sorted.
func (c *Chain) Addresses() []string {
	out := make([]string, 0, len(c.ether))
	for a := range c.ether {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Name is the scenario's name of a lower-case address, or "".
func (c *Chain) Name(addr string) string { return c.names[strings.ToLower(addr)] }

// Token is the token contract's address, lower-case.
func (c *Chain) Token() string { return c.token }

// Balance is addr's ether balance at the end of block n (n >= 37; blocks
// after 48 are empty); ok is false for an address the scenario does not
// name, or a block before 37.
func (c *Chain) Balance(addr string, n uint64) (*big.Int, bool) {
	return at(c.ether[strings.ToLower(addr)], n)
}

// TokenBalance is addr's balance of the token at the end of block n, as
// Balance.
func (c *Chain) TokenBalance(addr string, n uint64) (*big.Int, bool) {
	return at(c.tokens[strings.ToLower(addr)], n)
}

func at(bs []*big.Int, n uint64) (*big.Int, bool) {
	if bs == nil || n < FirstBlock {
		return nil, false
	}
	return new(big.Int).Set(bs[min(n, LastBlock)-FirstBlock]), true
}

// quantity and hexQuantity are the adapter's lenient JSON-RPC number.
type quantity = ethereum.Quantity

func hexQuantity(n uint64) string { return ethereum.HexQuantity(n) }
