package bitcoin

import (
	"math/rand/v2"
	"testing"

	"github.com/btcsuite/btcd/txscript"
)

// scriptsForAddressTests are output scripts of every form ScriptAddress
// knows, and near misses of the forms scriptAddress encodes itself: random
// programs, wrong lengths, wrong opcodes, non-standard scripts.
func scriptsForAddressTests() [][]byte {
	rng := rand.New(rand.NewPCG(7, 7))
	bytesN := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	var out [][]byte
	for range 200 {
		h20, h32 := bytesN(20), bytesN(32)
		out = append(out,
			append(append([]byte{txscript.OP_DUP, txscript.OP_HASH160, txscript.OP_DATA_20}, h20...), txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIG),
			append(append([]byte{txscript.OP_HASH160, txscript.OP_DATA_20}, h20...), txscript.OP_EQUAL),
			append([]byte{txscript.OP_0, txscript.OP_DATA_20}, h20...),
			append([]byte{txscript.OP_0, txscript.OP_DATA_32}, h32...),
			append([]byte{txscript.OP_1, txscript.OP_DATA_32}, h32...),
			// Near misses.
			append(append([]byte{txscript.OP_DUP, txscript.OP_HASH160, txscript.OP_DATA_20}, h20...), txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIGVERIFY),
			append(append([]byte{txscript.OP_HASH160, txscript.OP_DATA_20}, h20...), txscript.OP_EQUALVERIFY),
			append([]byte{txscript.OP_0, txscript.OP_DATA_20}, h20[:19]...),
			append([]byte{txscript.OP_1, txscript.OP_DATA_20}, h20...),
			append([]byte{txscript.OP_2, txscript.OP_DATA_32}, h32...),
			append([]byte{txscript.OP_RETURN, txscript.OP_DATA_20}, h20...),
			bytesN(1+rng.IntN(40)),
		)
	}
	return append(out, nil, []byte{}, []byte{txscript.OP_0}, []byte{txscript.OP_RETURN})
}

// TestScriptAddressFastPath: the decoder's own encoding of the common
// forms gives exactly ScriptAddress's answer, on every network, and so do
// the scripts of btcd's mainnet test blocks.
func TestScriptAddressFastPath(t *testing.T) {
	scripts := scriptsForAddressTests()
	for _, net := range Networks {
		for _, s := range scripts {
			if got, want := scriptAddress(s, net), ScriptAddress(s, net); got != want {
				t.Fatalf("%s: script %x: scriptAddress %q, ScriptAddress %q", net.Name, s, got, want)
			}
		}
	}
	data := bunzip(t, fixture(t, "btcd/database/testdata/blocks1-256.bz2"))
	n := 0
	for _, b := range framedBlocks(t, data, mainnet.Net.Net) {
		for _, tx := range b.Transactions {
			for _, o := range tx.TxOut {
				if got, want := scriptAddress(o.PkScript, mainnet.Net), ScriptAddress(o.PkScript, mainnet.Net); got != want {
					t.Fatalf("script %x: scriptAddress %q, ScriptAddress %q", o.PkScript, got, want)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no scripts in the test blocks")
	}
}

func BenchmarkScriptAddress(b *testing.B) {
	scripts := scriptsForAddressTests()[:5] // one of each standard form
	b.Run("ScriptAddress", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			ScriptAddress(scripts[i%len(scripts)], mainnet.Net)
		}
	})
	b.Run("scriptAddress", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			scriptAddress(scripts[i%len(scripts)], mainnet.Net)
		}
	})
}
