package bitcoin

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/chaintrace/chaintrace/chains"
)

// btcdSample reads testdata/btcd-simnet-blocks.json.gz: four consecutive
// blocks of `chaintrace bench index --chain btc`'s chain (peel chains,
// fan-outs, consolidations; P2PKH and P2WPKH) as the btcd adapter fetched
// them: getblock verbosity 2 and the getrawtransaction answers of the
// transactions each block spends from.
func btcdSample(t testing.TB) []chains.RawBlock {
	t.Helper()
	f, err := os.ReadFile("testdata/btcd-simnet-blocks.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Number  uint64          `json:"number"`
		Block   json.RawMessage `json:"block"`
		PrevTxs json.RawMessage `json:"prevtxs"`
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	raws := make([]chains.RawBlock, len(recs))
	for i, r := range recs {
		raws[i] = chains.RawBlock{Number: r.Number, Parts: map[string][]byte{PartBlock: r.Block, PartPrevTxs: r.PrevTxs}}
	}
	return raws
}

// TestDecodeBtcdSample decodes the sample blocks: every input resolved
// (from the block or the spent transactions), fees balanced, and each
// block's outputs as rows.
func TestDecodeBtcdSample(t *testing.T) {
	d := Decoder{Net: &chaincfg.SimNetParams}
	for _, raw := range btcdSample(t) {
		bt, err := d.Decode(&raw, nil)
		if err != nil {
			t.Fatalf("block %d: %v", raw.Number, err)
		}
		if len(bt.Txs) < 2 || len(bt.Transfers) < len(bt.Txs) {
			t.Fatalf("block %d: %d transactions, %d transfers", raw.Number, len(bt.Txs), len(bt.Transfers))
		}
		for _, tx := range bt.Txs[1:] {
			if len(tx.Inputs) == 0 || tx.Fee == nil || tx.Fee.Sign() <= 0 {
				t.Fatalf("block %d: transaction %s: %d inputs, fee %v", raw.Number, tx.Hash, len(tx.Inputs), tx.Fee)
			}
		}
	}
}

// BenchmarkDecodeBtcdBlock is the decoder's share of indexing a btcd
// block: getblock verbosity 2 and the spent transactions to rows.
func BenchmarkDecodeBtcdBlock(b *testing.B) {
	raws := btcdSample(b)
	d := Decoder{Net: &chaincfg.SimNetParams}
	var size int64
	for _, r := range raws {
		size += int64(len(r.Parts[PartBlock]) + len(r.Parts[PartPrevTxs]))
	}
	b.SetBytes(size / int64(len(raws)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Decode(&raws[i%len(raws)], nil); err != nil {
			b.Fatal(err)
		}
	}
}

// spentOutputsJSON is Decoder.spentOutputs without scanPrevTxs.
func spentOutputsJSON(t testing.TB, d Decoder, b []byte) (spentOutputs, error) {
	t.Helper()
	m := spentOutputs{net: d.Net, outs: map[outpoint]outData{}}
	var arr []rpcPrevTx
	if err := unmarshal(b, &arr); err != nil {
		return m, err
	}
	for i := range arr {
		if err := m.add(&arr[i]); err != nil {
			return m, err
		}
	}
	return m, nil
}

// TestScanPrevTxs: scanPrevTxs reads what the JSON decoder reads, from the
// sample and from hand-made variants; what it does not expect it leaves to
// the decoder.
func TestScanPrevTxs(t *testing.T) {
	d := Decoder{Net: &chaincfg.SimNetParams}
	same := func(name string, b []byte) {
		t.Helper()
		scanned := spentOutputs{net: d.Net, outs: map[outpoint]outData{}}
		ok, err := scanned.scanPrevTxs(b)
		if !ok {
			t.Fatalf("%s: scanPrevTxs gave up", name)
		}
		want, werr := spentOutputsJSON(t, d, b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s: scan error %v, JSON decoder error %v", name, err, werr)
		}
		if err != nil {
			return
		}
		if len(scanned.outs) != len(want.outs) || len(want.outs) == 0 {
			t.Fatalf("%s: %d outputs scanned, %d decoded", name, len(scanned.outs), len(want.outs))
		}
		for k, w := range want.outs {
			g, ok := scanned.outs[k]
			if !ok || g.value != w.value || !bytes.Equal(g.script, w.script) {
				t.Fatalf("%s: %v: scanned %+v, decoded %+v", name, k, g, w)
			}
		}
	}
	n := 0
	for _, raw := range btcdSample(t) {
		same("sample", raw.Parts[PartPrevTxs])
		n++
	}
	const tx = `{"hex":"00\"ab\\","txid":"%s","vin":[{"txid":"x","scriptSig":{"asm":"a\"b","hex":""},"txinwitness":["ab",[1,{"c":null}]]}],` +
		`"vout":[{"n":1,"value":1e-8,"scriptPubKey":{"type":"x","hex":"0014167e8e80e64a17cf1090ec9e40feea1e8c385a5f"}},` +
		` {"value" : 0.5 , "scriptPubKey":{"hex":""},"n":0, "extra":[true,false,-1.5e3]}],"confirmations":3}`
	id := "48DDCD685C2FB92507F1BE96E1354901240A2FE7F99136AC7CECFE662A57933F"
	same("odd but plain", []byte(" [ "+fmt.Sprintf(tx, id)+" ,\n"+fmt.Sprintf(tx, strings.ToLower(id[:63])+"0")+" ] "))
	same("bad txid", []byte("["+fmt.Sprintf(tx, "zz")+"]"))
	same("bad amount", []byte(strings.Replace("["+fmt.Sprintf(tx, id)+"]", "0.5", "0.000000001", 1)))
	same("bad script", []byte(strings.Replace("["+fmt.Sprintf(tx, id)+"]", `"hex":""}`, `"hex":"0g"}`, 1)))
	for name, b := range map[string]string{
		"escaped txid":  "[" + fmt.Sprintf(tx, `\u0034`+id[1:]) + "]",
		"missing n":     "[" + strings.Replace(fmt.Sprintf(tx, id), `"n":0,`, "", 1) + "]",
		"string amount": "[" + strings.Replace(fmt.Sprintf(tx, id), `0.5`, `"0.5"`, 1) + "]",
		"truncated":     "[" + fmt.Sprintf(tx, id),
		"trailing":      "[" + fmt.Sprintf(tx, id) + "]]",
		"null":          "null",
	} {
		m := spentOutputs{net: d.Net, outs: map[outpoint]outData{}}
		if ok, _ := m.scanPrevTxs([]byte(b)); ok {
			t.Errorf("%s: scanPrevTxs did not give up", name)
		}
	}
	if n == 0 {
		t.Fatal("no sample")
	}
}

// BenchmarkSpentOutputs compares reading the sample's spent transactions
// with scanPrevTxs and with the JSON decoder.
func BenchmarkSpentOutputs(b *testing.B) {
	raws := btcdSample(b)
	d := Decoder{Net: &chaincfg.SimNetParams}
	b.Run("scan", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := d.spentOutputs(raws[i%len(raws)].Parts[PartPrevTxs]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := spentOutputsJSON(b, d, raws[i%len(raws)].Parts[PartPrevTxs]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
