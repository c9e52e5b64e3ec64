package bitcoin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/chains"
)

// p2pkKey returns the key of a pay-to-pubkey script, or nil.
func p2pkKey(script []byte) []byte {
	if n := len(script); (n == 35 && script[0] == 33 || n == 67 && script[0] == 65) && script[n-1] == txscript.OP_CHECKSIG {
		return script[1 : n-1]
	}
	return nil
}

// TestBtcdBlocks1To255 decodes mainnet blocks 0-255 (genesis from chaincfg,
// 1-255 from btcd's database testdata), feeding each block's outputs to the
// next as spent outputs, as a store would. Every coinbase of that era pays
// to a public key; each must show as the key's P2PKH address, checked two
// ways: base58check of HASH160(key) with version 0, and txscript's own
// AddressPubKey.AddressPubKeyHash.
func TestBtcdBlocks1To255(t *testing.T) {
	data := bunzip(t, fixture(t, "btcd/database/testdata/blocks1-256.bz2"))
	msgs := append([]*wire.MsgBlock{chaincfg.MainNetParams.GenesisBlock}, framedBlocks(t, data, wire.MainNet)...)
	if len(msgs) != 256 {
		t.Fatalf("%d blocks, want 256 (genesis and 1-255)", len(msgs))
	}
	store := PrevoutMap{}
	var prevHash string
	txs, rows, p2pk, spends := 0, 0, 0, 0
	var decoded []*chains.BlockTransfers
	for h, msg := range msgs {
		bt, err := mainnet.DecodeWire(msg, uint64(h), store)
		if err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		decoded = append(decoded, bt)
		if bt.Block.ParentHash != prevHash || bt.Block.Number != uint64(h) || bt.Block.TxCount != uint32(len(msg.Transactions)) {
			t.Fatalf("block %d: header %+v, previous hash %s", h, bt.Block, prevHash)
		}
		prevHash = bt.Block.Hash
		var fees int64
		k := 0
		for i, tx := range msg.Transactions {
			rec := bt.Txs[i]
			if rec.Hash != tx.TxHash().String() || rec.Index != uint32(i) {
				t.Fatalf("block %d tx %d: %+v", h, i, rec)
			}
			if i > 0 {
				fees += rec.Fee.Int64()
				spends += len(tx.TxIn)
			}
			for n, out := range tx.TxOut {
				r := bt.Transfers[k]
				k++
				key := p2pkKey(out.PkScript)
				var want string
				if key != nil {
					p2pk++
					want = base58.CheckEncode(btcutil.Hash160(key), chaincfg.MainNetParams.PubKeyHashAddrID)
					_, addrs, _, err := txscript.ExtractPkScriptAddrs(out.PkScript, &chaincfg.MainNetParams)
					if err != nil || len(addrs) != 1 {
						t.Fatalf("block %d: txscript does not read the P2PK output: %v", h, err)
					}
					if viaTxscript := addrs[0].(*btcutil.AddressPubKey).AddressPubKeyHash().EncodeAddress(); viaTxscript != want {
						t.Fatalf("block %d: txscript gives %s, base58check of the key hash %s", h, viaTxscript, want)
					}
				} else {
					_, addrs, _, err := txscript.ExtractPkScriptAddrs(out.PkScript, &chaincfg.MainNetParams)
					if err != nil || len(addrs) != 1 {
						t.Fatalf("block %d tx %d out %d: script %x has no single address", h, i, n, out.PkScript)
					}
					want = addrs[0].EncodeAddress()
				}
				if r.TxHash != rec.Hash || r.Position != fmt.Sprintf("out:%d", n) || r.To != want || r.Amount.Int64() != out.Value {
					t.Fatalf("block %d tx %d out %d: row %+v, want to %s amount %d", h, i, n, r, want, out.Value)
				}
				if i == 0 && len(r.From) != 0 {
					t.Fatalf("block %d: coinbase row from %v", h, r.From)
				}
			}
		}
		if k != len(bt.Transfers) {
			t.Fatalf("block %d: %d rows, %d outputs", h, len(bt.Transfers), k)
		}
		if cb := bt.Txs[0].Value.Int64(); cb != 50*btcutil.SatoshiPerBitcoin+fees {
			t.Errorf("block %d: coinbase pays %d, subsidy+fees %d", h, cb, 50*btcutil.SatoshiPerBitcoin+fees)
		}
		for _, tx := range msg.Transactions {
			store.AddTx(tx, mainnet.Net)
		}
		txs += len(bt.Txs)
		rows += len(bt.Transfers)
	}
	// Well-known facts, independent of this code.
	b1 := decoded[1]
	if b1.Block.Hash != "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048" || b1.Transfers[0].To != "12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX" {
		t.Errorf("block 1: %s pays %s", b1.Block.Hash, b1.Transfers[0].To)
	}
	if decoded[0].Transfers[0].To != "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa" {
		t.Errorf("genesis pays %s", decoded[0].Transfers[0].To)
	}
	// Block 170: Satoshi (block 9's coinbase) pays Hal Finney 10 BTC.
	b170 := decoded[170]
	if len(b170.Txs) != 2 || b170.Txs[1].Hash != "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" {
		t.Fatalf("block 170: %+v", b170.Txs)
	}
	want170 := []struct {
		to  string
		amt int64
	}{{"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", 10 * btcutil.SatoshiPerBitcoin}, {"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", 40 * btcutil.SatoshiPerBitcoin}}
	for n, w := range want170 {
		r := b170.Transfers[1+n]
		if r.To != w.to || r.Amount.Int64() != w.amt || !reflect.DeepEqual(r.From, []string{"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"}) {
			t.Errorf("block 170 out:%d: %+v", n, r)
		}
	}
	if b170.Txs[1].Fee.Sign() != 0 || b170.Txs[1].From != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
		t.Errorf("block 170 tx 1: %+v", b170.Txs[1])
	}
	if decoded[9].Transfers[0].To != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
		t.Errorf("block 9 pays %s", decoded[9].Transfers[0].To)
	}
	// The same block from Bitcoin Core's JSON (bitcoin-etl) decodes to the
	// same rows.
	if dir := filepath.Join(fixtures, etlDir, "block_1"); dirExists(dir) {
		blocks, _ := etlCase(t, dir)
		fromJSON, err := mainnet.Decode(blocks[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromJSON, b1) {
			t.Errorf("block 1 from JSON %+v\nfrom wire %+v", fromJSON, b1)
		}
	}
	if p2pk < 256 || spends == 0 {
		t.Errorf("%d P2PK outputs, %d spends: fixture not what it was", p2pk, spends)
	}
	t.Logf("256 blocks, %d transactions, %d output rows (%d P2PK), %d inputs resolved", txs, rows, p2pk, spends)
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// TestBtcd277647Fees decodes mainnet block 277647 with every output it
// spends (btcd's utxostore testdata): its fees must sum exactly to its
// coinbase value less the 25 BTC subsidy of that era.
func TestBtcd277647Fees(t *testing.T) {
	blocks := framedBlocks(t, bunzip(t, fixture(t, "btcd/blockchain/testdata/277647.dat.bz2")), wire.MainNet)
	if len(blocks) != 1 {
		t.Fatalf("%d blocks", len(blocks))
	}
	store, entries := loadUtxoStore(t, fixture(t, "btcd/blockchain/testdata/277647.utxostore.bz2"))
	used := map[string]bool{}
	src := PrevoutFunc(func(txid string, vout uint32) (int64, string, bool) {
		used[outpointKey(txid, vout)] = true
		return store.Prevout(txid, vout)
	})
	bt, err := mainnet.DecodeWire(blocks[0], 277647, src)
	if err != nil {
		t.Fatal(err)
	}
	var fees, inputs int64
	for i, tx := range bt.Txs {
		if i == 0 {
			continue
		}
		fees += tx.Fee.Int64()
		inputs += int64(len(blocks[0].Transactions[i].TxIn))
	}
	subsidy := int64(25 * btcutil.SatoshiPerBitcoin)
	if cb := bt.Txs[0].Value.Int64(); cb-subsidy != fees || fees <= 0 {
		t.Errorf("coinbase %d - subsidy %d = %d, fees sum to %d", cb, subsidy, cb-subsidy, fees)
	}
	// The store holds every output the block spends, those created inside
	// the block too; the decoder takes the latter from the block itself,
	// and both must agree.
	inBlock := map[string]int{}
	for i, tx := range blocks[0].Transactions {
		inBlock[tx.TxHash().String()] = i
	}
	fromBlock := 0
	for i, tx := range blocks[0].Transactions[1:] {
		for _, in := range tx.TxIn {
			j, ok := inBlock[in.PreviousOutPoint.Hash.String()]
			if !ok {
				continue
			}
			if j > i {
				t.Fatalf("tx %d spends later tx %d", i+1, j)
			}
			fromBlock++
			o := blocks[0].Transactions[j].TxOut[in.PreviousOutPoint.Index]
			v, a, ok := store.Prevout(in.PreviousOutPoint.Hash.String(), in.PreviousOutPoint.Index)
			if !ok || v != o.Value || a != ScriptAddress(o.PkScript, mainnet.Net) {
				t.Errorf("in-block spend %v: store %d %s, block %d", in.PreviousOutPoint, v, a, o.Value)
			}
		}
	}
	if int64(entries) != inputs || len(used)+fromBlock != entries || fromBlock == 0 {
		t.Errorf("%d inputs; the store holds %d outputs; %d taken from it, %d from the block", inputs, entries, len(used), fromBlock)
	}
	// Rows: one per non-zero output, from = distinct input addresses.
	nonZero := 0
	for _, tx := range blocks[0].Transactions {
		for _, o := range tx.TxOut {
			if o.Value != 0 {
				nonZero++
			}
		}
	}
	if len(bt.Transfers) != nonZero {
		t.Errorf("%d rows, %d non-zero outputs", len(bt.Transfers), nonZero)
	}
	for _, r := range bt.Transfers {
		if r.TxIndex > 0 && len(r.From) == 0 {
			t.Fatalf("row without from: %+v", r)
		}
		seen := map[string]bool{}
		for _, a := range r.From {
			if seen[a] {
				t.Fatalf("%s: repeated input address %s", r.TxHash, a)
			}
			seen[a] = true
		}
	}
	// Without the store the block is refused, not guessed.
	if _, err := mainnet.DecodeWire(blocks[0], 277647, nil); !errors.Is(err, ErrMissingPrevout) {
		t.Errorf("without spent outputs: %v", err)
	}
	t.Logf("block 277647: %d transactions, %d inputs (%d from the utxostore, %d in-block), %d rows, fees %d sat",
		len(bt.Txs), inputs, len(used), inputs-int64(len(used)), len(bt.Transfers), fees)
}

// loadUtxoStore reads btcd's utxostore test format: per entry the txid (32
// bytes, internal order), the output index and the entry length (uint32
// little-endian), then the entry: VLQ header code (height<<1 | coinbase),
// VLQ compressed amount, compressed script (blockchain/compress.go).
func loadUtxoStore(t *testing.T, path string) (PrevoutMap, int) {
	t.Helper()
	r := bytes.NewReader(bunzip(t, path))
	m := PrevoutMap{}
	n := 0
	for {
		var hash chainhash.Hash
		if _, err := io.ReadFull(r, hash[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return m, n
			}
			t.Fatal(err)
		}
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatal(err)
		}
		entry := make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(r, entry); err != nil {
			t.Fatal(err)
		}
		_, off := readVLQ(entry)
		camt, k := readVLQ(entry[off:])
		off += k
		script := decompressScript(t, entry[off:])
		m.Add(hash.String(), binary.LittleEndian.Uint32(hdr[:4]), int64(decompressAmount(camt)), ScriptAddress(script, mainnet.Net))
		n++
	}
}

func readVLQ(b []byte) (uint64, int) {
	var n uint64
	for i, c := range b {
		n = n<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return n, i + 1
		}
		n++
	}
	return n, len(b)
}

func decompressAmount(x uint64) uint64 {
	if x == 0 {
		return 0
	}
	x--
	e := x % 10
	x /= 10
	var n uint64
	if e < 9 {
		d := x%9 + 1
		x /= 9
		n = x*10 + d
	} else {
		n = x + 1
	}
	for ; e > 0; e-- {
		n *= 10
	}
	return n
}

func decompressScript(t *testing.T, b []byte) []byte {
	code, k := readVLQ(b)
	p := b[k:]
	switch code {
	case 0: // P2PKH
		return append(append([]byte{txscript.OP_DUP, txscript.OP_HASH160, 20}, p[:20]...), txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIG)
	case 1: // P2SH
		return append(append([]byte{txscript.OP_HASH160, 20}, p[:20]...), txscript.OP_EQUAL)
	case 2, 3: // P2PK, compressed key
		return append(append([]byte{33, byte(code)}, p[:32]...), txscript.OP_CHECKSIG)
	case 4, 5: // P2PK, uncompressed key stored as x and the parity of y
		key, err := btcec.ParsePubKey(append([]byte{byte(code - 2)}, p[:32]...))
		if err != nil {
			t.Fatal(err)
		}
		return append(append([]byte{65}, key.SerializeUncompressed()...), txscript.OP_CHECKSIG)
	}
	size := int(code - 6)
	return append([]byte(nil), p[:size]...)
}

// TestWireBlocksAddresses reads every output of two recent mainnet blocks
// (btcd's wire testdata; segwit era) and checks that each standard address
// parses back to the very script it came from, and that everything else is
// "script:"+sha256.
func TestWireBlocksAddresses(t *testing.T) {
	dir := fixture(t, "btcd/wire/testdata")
	files, _ := filepath.Glob(filepath.Join(dir, "block-*.blk"))
	if len(files) != 2 {
		t.Fatalf("%d .blk files", len(files))
	}
	classes := map[string]int{}
	txs, outs := 0, 0
	wantTxs := map[string]int{ // the varint after each block's header
		"0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2": 3315,
		"00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab": 230,
	}
	for _, f := range files {
		var msg wire.MsgBlock
		if err := msg.Deserialize(bytes.NewReader(readFile(t, f))); err != nil {
			t.Fatal(err)
		}
		if name := "block-" + msg.BlockHash().String() + ".blk"; name != filepath.Base(f) {
			t.Fatalf("%s holds block %s", f, name)
		}
		if w := wantTxs[msg.BlockHash().String()]; len(msg.Transactions) != w {
			t.Errorf("%s: %d transactions, want %d", filepath.Base(f), len(msg.Transactions), w)
		}
		for _, tx := range msg.Transactions {
			txs++
			for _, o := range tx.TxOut {
				outs++
				class := txscript.GetScriptClass(o.PkScript)
				classes[class.String()]++
				a := ScriptAddress(o.PkScript, mainnet.Net)
				if strings.HasPrefix(a, ScriptPrefix) {
					if a != ScriptHashAddress(o.PkScript) || class == txscript.PubKeyHashTy || class == txscript.ScriptHashTy ||
						class == txscript.WitnessV0PubKeyHashTy || class == txscript.WitnessV0ScriptHashTy || class == txscript.PubKeyTy {
						t.Fatalf("standard %v script %x shown as %s", class, o.PkScript, a)
					}
					continue
				}
				parsed, err := ParseAddress(a, mainnet.Net)
				if err != nil {
					t.Fatalf("%s: %v", a, err)
				}
				back, err := txscript.PayToAddrScript(parsed)
				if err != nil {
					t.Fatal(err)
				}
				if key := p2pkKey(o.PkScript); key != nil {
					if !bytes.Equal(back[3:23], btcutil.Hash160(key)) {
						t.Fatalf("P2PK %x shown as %s", o.PkScript, a)
					}
				} else if !bytes.Equal(back, o.PkScript) {
					t.Fatalf("%s gives script %x, the output has %x", a, back, o.PkScript)
				}
			}
		}
		// No spent outputs given: refused.
		if _, err := mainnet.DecodeWire(&msg, 1, nil); !errors.Is(err, ErrMissingPrevout) {
			t.Errorf("%s without spent outputs: %v", filepath.Base(f), err)
		}
	}
	if txs != 3545 || classes[txscript.WitnessV0PubKeyHashTy.String()] == 0 || classes[txscript.NullDataTy.String()] == 0 {
		t.Errorf("%d transactions, classes %v", txs, classes)
	}
	t.Logf("%d transactions, %d outputs by class %v", txs, outs, classes)
}

// TestSpecialOutputs adds outputs of the kinds the contract singles out to
// the highest-fee transaction of real block 277647 (paid from its fee): a
// zero-value OP_RETURN (no row), an OP_RETURN carrying value and a bare
// multisig (rows to "script:"+sha256). The transaction's id changes; an
// in-block spender of it then finds its outputs in the store, which holds
// every output the block spends.
func TestSpecialOutputs(t *testing.T) {
	blocks := framedBlocks(t, bunzip(t, fixture(t, "btcd/blockchain/testdata/277647.dat.bz2")), wire.MainNet)
	store, _ := loadUtxoStore(t, fixture(t, "btcd/blockchain/testdata/277647.utxostore.bz2"))
	msg := blocks[0]
	before, err := mainnet.DecodeWire(msg, 277647, store)
	if err != nil {
		t.Fatal(err)
	}
	idx := 1
	for i := range before.Txs[1:] {
		if before.Txs[1+i].Fee.Cmp(before.Txs[idx].Fee) > 0 {
			idx = 1 + i
		}
	}
	last := msg.Transactions[idx]
	fee := before.Txs[idx].Fee.Int64()
	if fee < 3000 {
		t.Fatalf("highest fee only %d sat", fee)
	}
	opReturn := mustHex(t, "6a0b68656c6c6f20776f726c64")
	multisig := mustHex(t, "51210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f817982102c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee552ae")
	n := len(last.TxOut)
	last.AddTxOut(wire.NewTxOut(0, opReturn))
	last.AddTxOut(wire.NewTxOut(1000, opReturn))
	last.AddTxOut(wire.NewTxOut(2000, multisig))
	bt, err := mainnet.DecodeWire(msg, 277647, store)
	if err != nil {
		t.Fatal(err)
	}
	var rows []chains.Transfer
	for _, r := range bt.Transfers {
		if r.TxHash == last.TxHash().String() {
			rows = append(rows, r)
		}
	}
	if len(rows) != n+2 {
		t.Fatalf("%d rows for %d outputs, one of them zero", len(rows), n+3)
	}
	got := rows[n:]
	if got[0].Position != fmt.Sprintf("out:%d", n+1) || got[0].Ordinal != uint32(n+1) || got[0].To != sha(opReturn) || got[0].Amount.Int64() != 1000 {
		t.Errorf("OP_RETURN with value: %+v", got[0])
	}
	if got[1].Position != fmt.Sprintf("out:%d", n+2) || got[1].To != sha(multisig) || got[1].Amount.Int64() != 2000 {
		t.Errorf("bare multisig: %+v", got[1])
	}
	if f := bt.Txs[idx].Fee.Int64(); f != fee-3000 {
		t.Errorf("fee %d, want %d", f, fee-3000)
	}
	// Paying out more than the inputs is refused.
	last.AddTxOut(wire.NewTxOut(fee, multisig))
	if _, err := mainnet.DecodeWire(msg, 277647, store); !errors.Is(err, ErrInconsistent) {
		t.Errorf("outputs above inputs: %v", err)
	}
}
