package bitcoin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/chains/ethereum"
)

// Options configure an Adapter.
type Options struct {
	// User and Pass are the node's RPC credentials (HTTP basic auth); user
	// info in the URL works too.
	User, Pass string
	// CertFile is a PEM certificate to trust for an https endpoint (btcd's
	// self-signed rpc.cert); empty: the system roots.
	CertFile string
	// RPC tunes the JSON-RPC client (batch size, concurrency, timeouts,
	// retries, logger). Its TLSConfig, User, Pass and JSONRPCVersion are
	// set by Dial from the fields above.
	RPC ethereum.RPCOptions
	// Net is the network the node must serve; nil: detected from
	// getblockchaininfo's "chain".
	Net *chaincfg.Params
}

// Capabilities is what a Bitcoin endpoint was found to be and answer.
type Capabilities struct {
	Client    string `json:"client"`    // "bitcoind <version>", "btcd", or "unknown"
	Chain     string `json:"chain"`     // as getblockchaininfo names it
	Verbosity int    `json:"verbosity"` // getblock verbosity used: 3 (with prevouts) or 2
}

// Adapter reads Bitcoin blocks from Bitcoin Core or btcd over JSON-RPC; it
// is an indexer.Source.
type Adapter struct {
	rpc  *ethereum.Client
	net  *chaincfg.Params
	caps Capabilities
}

// Dial makes a client for url and detects the node's network and what its
// getblock answers.
func Dial(ctx context.Context, url string, opts Options) (*Adapter, error) {
	ro := opts.RPC
	ro.JSONRPCVersion = "1.0"
	ro.User, ro.Pass = opts.User, opts.Pass
	endpoint := chains.RedactURL(url)
	if opts.CertFile != "" {
		pem, err := os.ReadFile(opts.CertFile)
		if err != nil {
			return nil, fmt.Errorf("%s: reading the node's certificate: %w", endpoint, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", endpoint, opts.CertFile)
		}
		ro.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if strings.HasPrefix(strings.ToLower(url), "https:") {
		if ro.TLSConfig == nil {
			ro.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		// btcd closes the connection after every request ("Connection:
		// close"), so every batch is a new TLS connection: resume the
		// session instead of a full handshake each time (btcd's
		// self-signed P-521 certificate costs milliseconds of CPU to
		// verify, on both sides of a shared machine).
		ro.TLSConfig.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	a := &Adapter{rpc: ethereum.NewClient(url, ro)}
	if err := a.detect(ctx, opts.Net); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Adapter) detect(ctx context.Context, want *chaincfg.Params) error {
	probes := []ethereum.BatchElem{
		{Method: "getblockchaininfo"},
		{Method: "getnetworkinfo"},
		{Method: "getinfo"},
	}
	if err := a.rpc.Batch(ctx, probes); err != nil {
		if errors.Is(err, ethereum.ErrNodeUnavailable) || ctx.Err() != nil {
			return err
		}
		// An endpoint that refuses batches: ask one at a time.
		for i := range probes {
			probes[i].Error = a.rpc.Call(ctx, &probes[i].Result, probes[i].Method)
		}
	}
	if probes[0].Error != nil {
		return fmt.Errorf("%s: getblockchaininfo: %w", a.rpc.Endpoint(), probes[0].Error)
	}
	var bci struct {
		Chain string `json:"chain"`
	}
	if err := json.Unmarshal(probes[0].Result, &bci); err != nil || bci.Chain == "" {
		return fmt.Errorf("%w: %s: getblockchaininfo names no chain", ErrInconsistent, a.rpc.Endpoint())
	}
	net, err := NetworkByName(bci.Chain)
	if err != nil {
		return fmt.Errorf("%s: %w", a.rpc.Endpoint(), err)
	}
	if want != nil && want.Name != net.Name {
		return fmt.Errorf("%w: %s serves %s, not %s", ErrWrongNetwork, a.rpc.Endpoint(), net.Name, want.Name)
	}
	a.net = net
	a.caps = Capabilities{Client: "unknown", Chain: bci.Chain, Verbosity: 2}
	var ni struct {
		Version    int    `json:"version"`
		Subversion string `json:"subversion"`
	}
	switch {
	case probes[1].Error == nil && json.Unmarshal(probes[1].Result, &ni) == nil && strings.Contains(ni.Subversion, "Satoshi"):
		a.caps.Client = fmt.Sprintf("bitcoind %d", ni.Version)
		// getblock verbosity 3 (inputs with their prevout) is Core 23.0+.
		if ni.Version >= 230000 {
			a.caps.Verbosity = 3
		}
	case probes[2].Error == nil:
		// btcd (Core dropped getinfo in 0.16): its getblock knows
		// verbosity 0-2 and puts verbosity-2 transactions under "rawtx".
		a.caps.Client = "btcd"
	}
	return nil
}

// RPC is the adapter's JSON-RPC client.
func (a *Adapter) RPC() *ethereum.Client { return a.rpc }

// Capabilities reports what the endpoint was found to answer.
func (a *Adapter) Capabilities() Capabilities { return a.caps }

// Params is the node's network.
func (a *Adapter) Params() *chaincfg.Params { return a.net }

// Chain is chains.BTC.
func (a *Adapter) Chain() chains.Chain { return chains.BTC }

// Network names the network for the store: "btc:" + the btcd name
// ("btc:mainnet", "btc:simnet").
func (a *Adapter) Network() string { return NetworkName(a.net) }

// NetworkName is the store's name of a Bitcoin network.
func NetworkName(net *chaincfg.Params) string { return "btc:" + net.Name }

// ParamsOfNetwork is the inverse of NetworkName.
func ParamsOfNetwork(network string) (*chaincfg.Params, error) {
	name, ok := strings.CutPrefix(network, "btc:")
	if !ok {
		return nil, fmt.Errorf("%q is not a bitcoin network name", network)
	}
	return NetworkByName(name)
}

// Head returns the height of the node's best block.
func (a *Adapter) Head(ctx context.Context) (uint64, error) {
	var n uint64
	if err := a.rpc.Call(ctx, &n, "getblockcount"); err != nil {
		return 0, fmt.Errorf("%s: getblockcount: %w", a.rpc.Endpoint(), err)
	}
	return n, nil
}

// Decode decodes a raw block with the package decoder on the node's network.
func (a *Adapter) Decode(raw *chains.RawBlock) (*chains.BlockTransfers, error) {
	return Decoder{Net: a.net}.Decode(raw, nil)
}

// RawParts names the parts FetchRaw returns: the block, and where getblock
// lacks prevouts, the spent transactions.
func (a *Adapter) RawParts() []string {
	if a.caps.Verbosity >= 3 {
		return []string{PartBlock}
	}
	return []string{PartBlock, PartPrevTxs}
}

// ErrBeyondHead means a block past the node's best block was asked for.
var ErrBeyondHead = errors.New("block beyond the node's head")

// spends is the part of a getblock answer FetchRaw reads to find the
// transactions a block spends from.
type spends struct {
	Tx    []spendTx `json:"tx"`
	RawTx []spendTx `json:"rawtx"`
}

type spendTx struct {
	TxID string `json:"txid"`
	Vin  []struct {
		Coinbase *string         `json:"coinbase"`
		TxID     string          `json:"txid"`
		Prevout  json.RawMessage `json:"prevout"`
	} `json:"vin"`
}

// FetchRaw fetches the blocks at heights nums: getblockhash, then getblock,
// then getrawtransaction of every transaction the blocks spend from that is
// neither in the same block nor described by a verbosity-3 prevout. Each
// round is one batched set of requests (the client splits and bounds them).
func (a *Adapter) FetchRaw(ctx context.Context, nums []uint64) ([]chains.RawBlock, error) {
	f, err := a.fetchBlocks(ctx, nums)
	if err != nil {
		return nil, err
	}
	prevs := f.prevs
	if err := a.rpc.Batch(ctx, prevs); err != nil {
		return nil, err
	}
	for _, p := range prevs {
		if p.Error != nil {
			return nil, fmt.Errorf("%s: getrawtransaction %s: %w (the node needs -txindex, or getblock verbosity 3)", a.rpc.Endpoint(), p.Params[0], p.Error)
		}
	}
	out := f.out
	for i := range nums {
		if len(f.need[i]) == 0 && a.caps.Verbosity >= 3 {
			continue
		}
		size := 2
		for _, k := range f.need[i] {
			size += len(prevs[k].Result) + 1
		}
		buf := make([]byte, 0, size)
		buf = append(buf, '[')
		for j, k := range f.need[i] {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, prevs[k].Result...)
		}
		buf = append(buf, ']')
		out[i].Parts[PartPrevTxs] = buf
	}
	return out, nil
}

// FetchRawDiscard sends the same calls as FetchRaw and reads the answers,
// but keeps none: the node's own cost for the data, the baseline of the
// index benchmark. It reads of the getblockhash and getblock answers only
// what the next round's calls need (the block hashes, the txids the blocks
// spend from); the getrawtransaction answers are not looked at. It returns
// the bytes received.
func (a *Adapter) FetchRawDiscard(ctx context.Context, nums []uint64) (int64, error) {
	f, err := a.fetchBlocks(ctx, nums)
	if err != nil {
		return 0, err
	}
	n, err := a.rpc.SendDiscard(ctx, f.prevs)
	return f.bytes + n, err
}

// fetched is what the first two rounds of FetchRaw leave: the blocks, and
// the getrawtransaction calls still to make.
type fetched struct {
	out   []chains.RawBlock
	need  [][]int              // per block: indexes into prevs, in the order first spent
	prevs []ethereum.BatchElem // getrawtransaction of each spent txid, once
	bytes int64                // bytes of the answers read
}

// fetchBlocks makes the getblockhash and getblock rounds and lists the
// transactions the blocks spend from.
func (a *Adapter) fetchBlocks(ctx context.Context, nums []uint64) (fetched, error) {
	ep := a.rpc.Endpoint()
	hashes := make([]ethereum.BatchElem, len(nums))
	for i, n := range nums {
		hashes[i] = ethereum.BatchElem{Method: "getblockhash", Params: []any{n}}
	}
	if err := a.rpc.Batch(ctx, hashes); err != nil {
		return fetched{}, err
	}
	var f fetched
	blocks := make([]ethereum.BatchElem, len(nums))
	for i, n := range nums {
		if err := hashes[i].Error; err != nil {
			var re *ethereum.RPCError
			// Core: -8 "Block height out of range"; btcd: -1 "Block
			// number out of range".
			if errors.As(err, &re) && (re.Code == -8 || strings.Contains(re.Message, "out of range")) {
				return fetched{}, fmt.Errorf("%s: block %d: %w", ep, n, ErrBeyondHead)
			}
			return fetched{}, fmt.Errorf("%s: getblockhash %d: %w", ep, n, err)
		}
		f.bytes += int64(len(hashes[i].Result))
		var h string
		if err := json.Unmarshal(hashes[i].Result, &h); err != nil || len(h) != 64 {
			return fetched{}, fmt.Errorf("%w: %s: getblockhash %d answered %s", ErrInconsistent, ep, n, hashes[i].Result)
		}
		blocks[i] = ethereum.BatchElem{Method: "getblock", Params: []any{h, a.caps.Verbosity}}
	}
	if err := a.rpc.Batch(ctx, blocks); err != nil {
		return fetched{}, err
	}
	f.out = make([]chains.RawBlock, len(nums))
	f.need = make([][]int, len(nums))
	slot := map[string]int{}
	for i, n := range nums {
		if err := blocks[i].Error; err != nil {
			return fetched{}, fmt.Errorf("%s: getblock of block %d: %w", ep, n, err)
		}
		b := blocks[i].Result
		if len(b) == 0 || string(b) == "null" {
			return fetched{}, fmt.Errorf("%w: %s: getblock of block %d answered null", ErrInconsistent, ep, n)
		}
		f.bytes += int64(len(b))
		f.out[i] = chains.RawBlock{Number: n, Parts: map[string][]byte{PartBlock: b}}
		var sp spends
		if err := unmarshal(b, &sp); err != nil {
			return fetched{}, fmt.Errorf("%w: %s: block %d: %v", ErrInconsistent, ep, n, err)
		}
		txs := sp.Tx
		if len(txs) == 0 {
			txs = sp.RawTx
		}
		inBlock := make(map[string]bool, len(txs))
		for _, tx := range txs {
			inBlock[strings.ToLower(tx.TxID)] = true
		}
		seen := map[string]bool{}
		for _, tx := range txs {
			for _, in := range tx.Vin {
				id := strings.ToLower(in.TxID)
				if in.Coinbase != nil || id == "" || inBlock[id] || seen[id] {
					continue
				}
				if len(in.Prevout) > 0 && string(in.Prevout) != "null" {
					continue
				}
				seen[id] = true
				k, ok := slot[id]
				if !ok {
					k = len(f.prevs)
					slot[id] = k
					f.prevs = append(f.prevs, ethereum.BatchElem{Method: "getrawtransaction", Params: []any{id, 1}})
				}
				f.need[i] = append(f.need[i], k)
			}
		}
	}
	return f, nil
}
