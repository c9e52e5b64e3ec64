// Package btcnode runs a real btcd node (simnet, --txindex --addrindex) through
// btcd's own integration/rpctest harness, and scripts Bitcoin payments between
// deterministic keys on it, for chaintrace's Bitcoin tests, demo and benchmark.
//
// A Node is started with Start (tests: fails the test, stops the node in
// t.Cleanup) or New (demo/bench: returns an error; call Close). The harness'
// in-memory wallet holds Options.MatureOutputs spendable coinbase outputs and
// funds the scripted keys (Fund, FundKeys); payments between the scripted keys
// are transactions built and signed here (Spend) with an explicit fee, so a
// test knows every value, address and fee to the satoshi. Mine mines blocks.
//
// The btcd binary is built with `go build github.com/btcsuite/btcd` inside the
// chaintrace module (module cache only, no network) once and cached per btcd
// version; see BtcdExecutable.
package btcnode

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/integration/rpctest"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// DefaultMatureOutputs is the number of mature coinbase outputs (50 BTC each
// on simnet) the harness wallet gets when Options.MatureOutputs is 0.
const DefaultMatureOutputs = 25

// FundFeeRate is the fee rate (sat/vbyte) the harness wallet pays in Fund.
const FundFeeRate = 10

// Options configure a Node.
type Options struct {
	// MatureOutputs is the number of spendable coinbase outputs the harness
	// wallet starts with (each Fund call spends one or more). Default
	// DefaultMatureOutputs. SetUp mines CoinbaseMaturity (100) + this many
	// blocks, then New mines on to height 300, where segwit activates (so
	// the wallet ends up with about 200 + MatureOutputs spendable outputs).
	MatureOutputs uint32
	// ExtraArgs are extra btcd command-line flags (e.g. "--debuglevel=debug").
	// --simnet and --txindex are always passed, --addrindex unless
	// NoAddrIndex.
	ExtraArgs []string
	// NoAddrIndex starts btcd without its address index, as a node that
	// cannot answer searchrawtransactions (like Bitcoin Core).
	NoAddrIndex bool
	// BtcdPath is a prebuilt btcd executable; empty: $CHAINTRACE_BTCD, else
	// build (see BtcdExecutable).
	BtcdPath string
}

// Timing reports how long the pieces of a start took.
type Timing struct {
	Btcd  time.Duration // obtaining the btcd executable (the build, on a cold cache)
	SetUp time.Duration // starting btcd, connecting, mining the initial chain
	Built bool          // whether this start ran `go build`
}

// Node is a running simnet btcd with --txindex --addrindex, driven by an
// rpctest.Harness. Its methods are safe for concurrent use, except Close.
type Node struct {
	h        *rpctest.Harness
	params   *chaincfg.Params
	certDir  string
	certFile string
	timing   Timing

	closeOnce sync.Once
	closeErr  error
}

func init() {
	// rpctest's default address generator counts up from port 8334 per
	// process, so two test processes (go test ./... runs packages in
	// parallel) can collide. Ask the kernel for two free ports instead.
	rpctest.ListenAddressGenerator = freeListenAddresses
}

func freeListenAddresses() (string, string) {
	var ls [2]net.Listener
	var addrs [2]string
	for i := range ls {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			// Fall back to rpctest's own scheme.
			p := rpctest.NextAvailablePort()
			addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
			continue
		}
		ls[i] = l
		addrs[i] = l.Addr().String()
	}
	for _, l := range ls {
		if l != nil {
			_ = l.Close()
		}
	}
	return addrs[0], addrs[1]
}

// Start starts a node for a test: it fails the test (t.Fatal) when the node
// cannot be started, logs the timing, and closes the node in t.Cleanup.
func Start(tb testing.TB, opts Options) *Node {
	tb.Helper()
	n, err := New(opts)
	if err != nil {
		tb.Fatalf("btcnode: %v", err)
	}
	tb.Cleanup(func() {
		if err := n.Close(); err != nil {
			tb.Errorf("btcnode: close: %v", err)
		}
	})
	tm := n.Timing()
	tb.Logf("btcnode: btcd rpc %s p2p %s; executable %v (built=%v), setup %v",
		n.h.RPCConfig().Host, n.h.P2PAddress(), tm.Btcd.Round(time.Millisecond), tm.Built,
		tm.SetUp.Round(time.Millisecond))
	return n
}

// New starts a node (for the demo and benchmarks); the caller must Close it.
func New(opts Options) (*Node, error) {
	if opts.MatureOutputs == 0 {
		opts.MatureOutputs = DefaultMatureOutputs
	}
	t0 := time.Now()
	exe, err := BtcdExecutable(opts.BtcdPath)
	if err != nil {
		return nil, err
	}
	tm := Timing{Btcd: time.Since(t0), Built: LastBuild().Built}

	params := &chaincfg.SimNetParams
	args := []string{"--txindex", "--addrindex"}
	if opts.NoAddrIndex {
		args = args[:1]
	}
	args = append(args, opts.ExtraArgs...)
	h, err := rpctest.New(params, nil, args, exe)
	if err != nil {
		return nil, fmt.Errorf("rpctest.New: %w", err)
	}
	t1 := time.Now()
	if err := h.SetUp(true, opts.MatureOutputs); err != nil {
		_ = h.TearDown()
		return nil, fmt.Errorf("rpctest SetUp: %w", err)
	}
	if err := activateSegwit(h); err != nil {
		_ = h.TearDown()
		return nil, err
	}
	tm.SetUp = time.Since(t1)

	n := &Node{h: h, params: params, timing: tm}
	n.certDir, err = os.MkdirTemp("", "btcnode-cert-")
	if err == nil {
		n.certFile = filepath.Join(n.certDir, "rpc.cert")
		err = os.WriteFile(n.certFile, h.RPCConfig().Certificates, 0o644)
	}
	if err != nil {
		_ = n.Close()
		return nil, fmt.Errorf("btcnode: writing rpc cert: %w", err)
	}
	return n, nil
}

// activateSegwit mines until the segwit deployment is active: on simnet it is
// a BIP9 deployment with a 100-block window (starting at genesis), so it
// becomes active at height 300; before that btcd rejects any transaction with
// witness data ("segwit isn't active yet").
func activateSegwit(h *rpctest.Harness) error {
	for i := 0; i < 5; i++ {
		info, err := h.Client.GetBlockChainInfo()
		if err != nil {
			return fmt.Errorf("btcnode: getblockchaininfo: %w", err)
		}
		if info.SoftForks == nil {
			return errors.New("btcnode: getblockchaininfo has no bip9_softforks")
		}
		if sf, ok := info.Bip9SoftForks["segwit"]; ok && sf.Status == "active" {
			return nil
		}
		win := int32(h.ActiveNet.MinerConfirmationWindow)
		next := (info.Blocks/win + 1) * win // next window boundary
		if next < segwitHeight {
			next = segwitHeight
		}
		if _, err := h.Client.Generate(uint32(next - info.Blocks)); err != nil {
			return fmt.Errorf("btcnode: mining to activate segwit: %w", err)
		}
	}
	return errors.New("btcnode: segwit did not activate")
}

// segwitHeight is the first simnet height at which segwit is active.
const segwitHeight = 300

// Close stops btcd and removes its data. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.closeErr = n.h.TearDown()
		if n.certDir != "" {
			_ = os.RemoveAll(n.certDir)
		}
	})
	return n.closeErr
}

// Timing reports how long this node's start took.
func (n *Node) Timing() Timing { return n.timing }

// RPCConfig returns what chaintrace's --btc-rpc flags need: host:port of the
// node's JSON-RPC server (HTTPS, POST to "/"; websocket at "/ws"), the RPC user
// and password, and the PEM certificate of the node's self-signed TLS key.
func (n *Node) RPCConfig() (host, user, pass string, cert []byte) {
	c := n.h.RPCConfig()
	return c.Host, c.User, c.Pass, c.Certificates
}

// CertFile is a file holding the node's TLS certificate (PEM), removed by Close.
func (n *Node) CertFile() string { return n.certFile }

// TLSConfig trusts the node's self-signed RPC certificate, for an HTTPS
// client of its JSON-RPC (a test proxy in front of it, a raw client).
func (n *Node) TLSConfig() (*tls.Config, error) {
	_, _, _, cert := n.RPCConfig()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cert) {
		return nil, fmt.Errorf("btcnode: the node's certificate is not PEM")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Client is the harness' websocket RPC client (do not Shutdown it).
func (n *Node) Client() *rpcclient.Client { return n.h.Client }

// NewHTTPClient returns a fresh HTTP-POST-mode RPC client to the node (what a
// non-websocket consumer such as chaintrace sees). The caller shuts it down.
func (n *Node) NewHTTPClient() (*rpcclient.Client, error) {
	c := n.h.RPCConfig()
	c.HTTPPostMode = true
	return rpcclient.New(&c, nil)
}

// Harness exposes the underlying rpctest harness for anything not wrapped here.
func (n *Node) Harness() *rpctest.Harness { return n.h }

// Params are the chain parameters (simnet).
func (n *Node) Params() *chaincfg.Params { return n.params }

// Mine mines blocks (coinbase to the harness wallet) including the mempool and
// returns their hashes.
func (n *Node) Mine(blocks int) ([]*chainhash.Hash, error) {
	if blocks <= 0 {
		return nil, nil
	}
	return n.h.Client.Generate(uint32(blocks))
}

// ScriptType is the kind of output script a scripted key is paid to.
type ScriptType int

const (
	// P2PKH is pay-to-pubkey-hash (compressed key), a legacy "1..."/"S..." address.
	P2PKH ScriptType = iota
	// P2WPKH is native segwit v0 pay-to-witness-pubkey-hash ("bc1q..."/"sb1q...").
	P2WPKH
)

func (s ScriptType) String() string {
	switch s {
	case P2PKH:
		return "p2pkh"
	case P2WPKH:
		return "p2wpkh"
	}
	return "ScriptType(" + strconv.Itoa(int(s)) + ")"
}

// Key is the deterministic private key named name: sha256("chaintrace/btcnode/"+name).
// The same name gives the same key (and addresses) in every run.
func Key(name string) *btcec.PrivateKey {
	sum := sha256.Sum256([]byte("chaintrace/btcnode/" + name))
	k, _ := btcec.PrivKeyFromBytes(sum[:])
	return k
}

// AddrFor is the address of Key(name) of the given type on params.
func AddrFor(name string, typ ScriptType, params *chaincfg.Params) (btcutil.Address, error) {
	h := btcutil.Hash160(Key(name).PubKey().SerializeCompressed())
	switch typ {
	case P2PKH:
		return btcutil.NewAddressPubKeyHash(h, params)
	case P2WPKH:
		return btcutil.NewAddressWitnessPubKeyHash(h, params)
	}
	return nil, fmt.Errorf("btcnode: unknown script type %v", typ)
}

// Addr is the simnet address of Key(name) of the given type. It panics on an
// unknown type.
func (n *Node) Addr(name string, typ ScriptType) btcutil.Address {
	a, err := AddrFor(name, typ, n.params)
	if err != nil {
		panic(err)
	}
	return a
}

// AddrP2PKH is the simnet P2PKH address of Key(name).
func (n *Node) AddrP2PKH(name string) btcutil.Address { return n.Addr(name, P2PKH) }

// AddrP2WPKH is the simnet P2WPKH address of Key(name).
func (n *Node) AddrP2WPKH(name string) btcutil.Address { return n.Addr(name, P2WPKH) }

// Coin is a spendable output of a scripted key: its outpoint, value (sat), and
// the key name and script type that own it.
type Coin struct {
	OutPoint wire.OutPoint
	Value    int64
	Key      string
	Type     ScriptType
}

// Output is an output of a transaction built here: Value satoshis to Addr, or,
// when Addr is nil, to the Type address of Key(Key) (then CoinsOf can turn it
// into a Coin for the next hop).
type Output struct {
	Addr  btcutil.Address
	Key   string
	Type  ScriptType
	Value int64
}

// To is an Output paying value to the typ address of key name.
func To(name string, typ ScriptType, value int64) Output {
	return Output{Key: name, Type: typ, Value: value}
}

func (n *Node) outScript(o Output) ([]byte, error) {
	a := o.Addr
	if a == nil {
		if o.Key == "" {
			return nil, errors.New("btcnode: output has neither Addr nor Key")
		}
		var err error
		if a, err = AddrFor(o.Key, o.Type, n.params); err != nil {
			return nil, err
		}
	}
	return txscript.PayToAddrScript(a)
}

// CoinsOf returns, for each outs[i] with a Key, the Coin tx's output i is
// (tx built by Spend or FundKeys from outs, which keep the order). Outputs
// paid to a bare Addr give a Coin with an empty Key (not spendable by Spend).
func CoinsOf(tx *wire.MsgTx, outs []Output) []Coin {
	h := tx.TxHash()
	cs := make([]Coin, len(outs))
	for i, o := range outs {
		cs[i] = Coin{OutPoint: wire.OutPoint{Hash: h, Index: uint32(i)}, Value: tx.TxOut[i].Value}
		if o.Addr == nil {
			cs[i].Key, cs[i].Type = o.Key, o.Type
		}
	}
	return cs
}

// Fund pays sat satoshis to `to` from the harness wallet (fee rate
// FundFeeRate sat/vB, change back to the wallet), mines one block and returns
// the paying outpoint.
func (n *Node) Fund(to btcutil.Address, sat int64) (wire.OutPoint, error) {
	tx, err := n.FundOutputs([]Output{{Addr: to, Value: sat}})
	if err != nil {
		return wire.OutPoint{}, err
	}
	return wire.OutPoint{Hash: tx.TxHash(), Index: 0}, nil
}

// FundKeys pays outs (typically built with To) from the harness wallet in one
// transaction, mines one block and returns the coins, outs[i] → coins[i].
func (n *Node) FundKeys(outs ...Output) ([]Coin, error) {
	tx, err := n.FundOutputs(outs)
	if err != nil {
		return nil, err
	}
	return CoinsOf(tx, outs), nil
}

// FundOutputs pays outs from the harness wallet in one transaction whose
// outputs 0..len(outs)-1 are outs in order (the wallet's change, if any,
// comes last), broadcasts it and mines one block.
func (n *Node) FundOutputs(outs []Output) (*wire.MsgTx, error) {
	txOuts := make([]*wire.TxOut, len(outs))
	for i, o := range outs {
		pk, err := n.outScript(o)
		if err != nil {
			return nil, err
		}
		txOuts[i] = wire.NewTxOut(o.Value, pk)
	}
	tx, err := n.h.CreateTransaction(txOuts, FundFeeRate, true)
	if err != nil {
		return nil, fmt.Errorf("btcnode: fund: %w", err)
	}
	// The memwallet appends its change after the target outputs; check.
	for i, o := range txOuts {
		if tx.TxOut[i].Value != o.Value || string(tx.TxOut[i].PkScript) != string(o.PkScript) {
			n.h.UnlockOutputs(tx.TxIn)
			return nil, fmt.Errorf("btcnode: fund: wallet reordered outputs")
		}
	}
	if _, err := n.h.Client.SendRawTransaction(tx, true); err != nil {
		n.h.UnlockOutputs(tx.TxIn)
		return nil, fmt.Errorf("btcnode: fund: sendrawtransaction: %w", err)
	}
	if _, err := n.Mine(1); err != nil {
		return nil, err
	}
	return tx, nil
}

// Spend builds a version-2 transaction spending from (in order) to outs (in
// order) with exactly fee satoshis: the values must balance, sum(from) ==
// sum(outs) + fee (there is no implicit change: put change in outs). Each
// input is signed with Key(coin.Key) as coin.Type (P2PKH: scriptSig; P2WPKH:
// witness), checked with the script engine, and broadcast. It is not mined:
// call Mine.
func (n *Node) Spend(from []Coin, outs []Output, fee int64) (*wire.MsgTx, error) {
	tx, err := n.SignTx(from, outs, fee)
	if err != nil {
		return nil, err
	}
	if _, err := n.h.Client.SendRawTransaction(tx, false); err != nil {
		return nil, fmt.Errorf("btcnode: spend: sendrawtransaction %s: %w", tx.TxHash(), err)
	}
	return tx, nil
}

// SignTx builds and signs the transaction Spend would broadcast, without
// broadcasting it.
func (n *Node) SignTx(from []Coin, outs []Output, fee int64) (*wire.MsgTx, error) {
	if len(from) == 0 || len(outs) == 0 {
		return nil, errors.New("btcnode: spend needs at least one input and one output")
	}
	if fee < 0 {
		return nil, fmt.Errorf("btcnode: negative fee %d", fee)
	}
	var in, out int64
	tx := wire.NewMsgTx(2)
	prev := txscript.NewMultiPrevOutFetcher(nil)
	scripts := make([][]byte, len(from))
	for i, c := range from {
		if c.Key == "" {
			return nil, fmt.Errorf("btcnode: input %d (%v) has no key name", i, c.OutPoint)
		}
		a, err := AddrFor(c.Key, c.Type, n.params)
		if err != nil {
			return nil, err
		}
		if scripts[i], err = txscript.PayToAddrScript(a); err != nil {
			return nil, err
		}
		op := c.OutPoint
		tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
		prev.AddPrevOut(op, wire.NewTxOut(c.Value, scripts[i]))
		in += c.Value
	}
	for _, o := range outs {
		pk, err := n.outScript(o)
		if err != nil {
			return nil, err
		}
		tx.AddTxOut(wire.NewTxOut(o.Value, pk))
		out += o.Value
	}
	if in != out+fee {
		return nil, fmt.Errorf("btcnode: inputs %d sat != outputs %d + fee %d (off by %d)", in, out, fee, in-out-fee)
	}
	hashes := txscript.NewTxSigHashes(tx, prev)
	for i, c := range from {
		key := Key(c.Key)
		switch c.Type {
		case P2PKH:
			ss, err := txscript.SignatureScript(tx, i, scripts[i], txscript.SigHashAll, key, true)
			if err != nil {
				return nil, fmt.Errorf("btcnode: sign input %d: %w", i, err)
			}
			tx.TxIn[i].SignatureScript = ss
		case P2WPKH:
			w, err := txscript.WitnessSignature(tx, hashes, i, c.Value, scripts[i], txscript.SigHashAll, key, true)
			if err != nil {
				return nil, fmt.Errorf("btcnode: sign input %d: %w", i, err)
			}
			tx.TxIn[i].Witness = w
		default:
			return nil, fmt.Errorf("btcnode: input %d: unknown script type %v", i, c.Type)
		}
	}
	for i, c := range from {
		vm, err := txscript.NewEngine(scripts[i], tx, i, txscript.StandardVerifyFlags, nil, hashes, c.Value, prev)
		if err != nil {
			return nil, fmt.Errorf("btcnode: verify input %d: %w", i, err)
		}
		if err := vm.Execute(); err != nil {
			return nil, fmt.Errorf("btcnode: verify input %d: %w", i, err)
		}
	}
	return tx, nil
}
