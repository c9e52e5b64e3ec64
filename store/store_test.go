package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/big"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/chaintrace/chaintrace/chains"
)

// ---- helpers ---------------------------------------------------------------

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func bigPow2(n uint, plus int64) *big.Int {
	x := new(big.Int).Lsh(big.NewInt(1), n)
	return x.Add(x, big.NewInt(plus))
}

// hash32 is a 0x-prefixed 32-byte hex hash, distinct for each tag and n.
func hash32(tag string, n uint64) string {
	h := fnv.New32a()
	h.Write([]byte(tag))
	return fmt.Sprintf("0x%048x%08x%08x", n, h.Sum32(), uint32(n))
}

// ethAddr is a 0x address with upper-case hex letters, as EIP-55 mixes them.
func ethAddr(n int) string { return fmt.Sprintf("0x%040X", 0xABCDEF000000+n) }

func tkey(t *chains.Transfer) string {
	return fmt.Sprintf("%d/%d/%d", t.BlockNumber, t.TxIndex, t.Ordinal)
}

func bigEq(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Cmp(b) == 0
}

func bigStr(x *big.Int) string {
	if x == nil {
		return "<nil>"
	}
	return x.String()
}

// transferDiff names the first field in which a and b differ, or "".
func transferDiff(a, b *chains.Transfer) string {
	switch {
	case a.TxHash != b.TxHash:
		return fmt.Sprintf("TxHash %q != %q", a.TxHash, b.TxHash)
	case a.BlockNumber != b.BlockNumber || a.TxIndex != b.TxIndex || a.Ordinal != b.Ordinal:
		return fmt.Sprintf("key %s != %s", tkey(a), tkey(b))
	case a.BlockHash != b.BlockHash:
		return fmt.Sprintf("BlockHash %q != %q", a.BlockHash, b.BlockHash)
	case a.Timestamp != b.Timestamp:
		return fmt.Sprintf("Timestamp %d != %d", a.Timestamp, b.Timestamp)
	case a.Position != b.Position:
		return fmt.Sprintf("Position %q != %q", a.Position, b.Position)
	case a.Kind != b.Kind:
		return fmt.Sprintf("Kind %q != %q", a.Kind, b.Kind)
	case (a.From == nil) != (b.From == nil) || !slices.Equal(a.From, b.From):
		return fmt.Sprintf("From %#v != %#v", a.From, b.From)
	case a.To != b.To:
		return fmt.Sprintf("To %q != %q", a.To, b.To)
	case a.Asset != b.Asset:
		return fmt.Sprintf("Asset %q != %q", a.Asset, b.Asset)
	case !bigEq(a.Amount, b.Amount):
		return fmt.Sprintf("Amount %s != %s", bigStr(a.Amount), bigStr(b.Amount))
	case !bigEq(a.TokenID, b.TokenID):
		return fmt.Sprintf("TokenID %s != %s", bigStr(a.TokenID), bigStr(b.TokenID))
	}
	return ""
}

func txDiff(a, b *chains.Tx) string {
	switch {
	case a.Hash != b.Hash || a.BlockNumber != b.BlockNumber || a.Index != b.Index:
		return fmt.Sprintf("id %s@%d/%d != %s@%d/%d", a.Hash, a.BlockNumber, a.Index, b.Hash, b.BlockNumber, b.Index)
	case a.From != b.From || a.To != b.To || a.Created != b.Created:
		return fmt.Sprintf("addresses %q %q %q != %q %q %q", a.From, a.To, a.Created, b.From, b.To, b.Created)
	case !bigEq(a.Value, b.Value) || !bigEq(a.Fee, b.Fee):
		return fmt.Sprintf("value/fee %s/%s != %s/%s", bigStr(a.Value), bigStr(a.Fee), bigStr(b.Value), bigStr(b.Fee))
	case a.Success != b.Success:
		return fmt.Sprintf("Success %v != %v", a.Success, b.Success)
	}
	return ""
}

func checkTransfers(t *testing.T, got, want []chains.Transfer) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d transfers %v, want %d %v", len(got), keysOf(got), len(want), keysOf(want))
	}
	for i := range got {
		if d := transferDiff(&got[i], &want[i]); d != "" {
			t.Fatalf("transfer %d (%s): %s", i, tkey(&want[i]), d)
		}
	}
}

func keysOf(ts []chains.Transfer) []string {
	ks := make([]string, len(ts))
	for i := range ts {
		ks[i] = tkey(&ts[i])
	}
	return ks
}

func scanAll(t *testing.T, s *Store, chain chains.Chain, from, to uint64) []chains.Transfer {
	t.Helper()
	var ts []chains.Transfer
	if err := s.Transfers(chain, from, to, func(tr *chains.Transfer) error {
		ts = append(ts, *tr)
		return nil
	}); err != nil {
		t.Fatalf("Transfers(%d,%d): %v", from, to, err)
	}
	return ts
}

func scanAddr(t *testing.T, s *Store, chain chains.Chain, addr string, dir Direction, from, to uint64) []string {
	t.Helper()
	var ks []string
	if err := s.AddressTransfers(chain, addr, dir, from, to, func(tr *chains.Transfer) error {
		ks = append(ks, tkey(tr))
		return nil
	}); err != nil {
		t.Fatalf("AddressTransfers(%s,%v,%d,%d): %v", addr, dir, from, to, err)
	}
	return ks
}

// xfer builds a transfer of block num with the fields that tests vary.
func xfer(num uint64, idx, ord uint32, from []string, to string, amount *big.Int) chains.Transfer {
	return chains.Transfer{
		TxHash:      hash32("tx", num<<20|uint64(idx)),
		BlockNumber: num,
		TxIndex:     idx,
		BlockHash:   hash32("block", num),
		Timestamp:   1_700_000_000 + num*12,
		Ordinal:     ord,
		Position:    fmt.Sprintf("call:0.%d", ord),
		Kind:        chains.KindInternal,
		From:        from,
		To:          to,
		Asset:       chains.AssetETH,
		Amount:      amount,
	}
}

// block builds a block holding transfers, with one tx per distinct tx index.
func block(num uint64, hash string, ts ...chains.Transfer) *chains.BlockTransfers {
	b := &chains.BlockTransfers{Block: chains.Block{
		Number: num, Hash: hash, ParentHash: hash32("block", num-1), Timestamp: 1_700_000_000 + num*12,
	}}
	seen := map[uint32]bool{}
	for _, tr := range ts {
		tr.BlockHash = hash
		b.Transfers = append(b.Transfers, tr)
		if seen[tr.TxIndex] {
			continue
		}
		seen[tr.TxIndex] = true
		from := ""
		if len(tr.From) > 0 {
			from = tr.From[0]
		}
		b.Txs = append(b.Txs, chains.Tx{
			Hash: tr.TxHash, BlockNumber: num, Index: tr.TxIndex, From: from, To: tr.To,
			Value: tr.Amount, Fee: big.NewInt(21000 * 30e9), Success: true,
		})
	}
	b.Block.TxCount = uint32(len(b.Txs))
	return b
}

// genBlocks makes n blocks from first, each with txs transactions of per
// transfers, between addresses drawn from a pool of addrs.
func genBlocks(first uint64, n, txs, per, addrs int) []*chains.BlockTransfers {
	out := make([]*chains.BlockTransfers, 0, n)
	for i := 0; i < n; i++ {
		num := first + uint64(i)
		var ts []chains.Transfer
		for x := 0; x < txs; x++ {
			for o := 0; o < per; o++ {
				k := int(num)*txs*per + x*per + o
				ord := uint32(o)
				if o > 0 {
					ord = chains.OrdinalLogBase + uint32(o)
				}
				tr := xfer(num, uint32(x), ord, []string{ethAddr(k % addrs)}, ethAddr((k*7+3)%addrs), bigPow2(70, int64(k)))
				if o > 0 {
					tr.Kind, tr.Asset = chains.KindERC20, ethAddr(1000)
				}
				ts = append(ts, tr)
			}
		}
		out = append(out, block(num, hash32("block", num), ts...))
	}
	return out
}

// ---- codec -----------------------------------------------------------------

func TestCodecStrings(t *testing.T) {
	for _, s := range []string{
		"", "0x", "0x0", "0xabc", "0xab", "0xAB", "0xABcd01", "abcdef", "ABCDEF", "aB", "0X12", "0xzz",
		"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "héllo", "out:3",
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", hash32("x", 1), "0xAbCdEf12", "0x0g", "ABCDEG", "0xAB\xff1",
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeZ",
	} {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			b := appendString([]byte{0xee}, s)
			d := decoder{b: b[1:]}
			got := d.string("s")
			if err := d.finish("s"); err != nil || got != s {
				t.Fatalf("round trip %q: got %q, %v", s, got, err)
			}
		})
	}
	t.Run("hex is compacted", func(t *testing.T) {
		h := "0x" + strings.Repeat("ab", 32)
		if n := len(appendString(nil, h)); n != 34 {
			t.Fatalf("66-char hash encodes to %d bytes, want 34", n)
		}
		a := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
		if n := len(appendString(nil, a)); n != 27 {
			t.Fatalf("mixed-case address encodes to %d bytes, want 27", n)
		}
	})
}

// decodeAllTransfers reads every record of a Transfers value.
func decodeAllTransfers(v []byte, num uint64) ([]chains.Transfer, error) {
	var r transfersReader
	if err := r.reset(v, num); err != nil {
		return nil, err
	}
	var ts []chains.Transfer
	for r.next() {
		var t chains.Transfer
		if err := r.decode(&t); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, r.err()
}

func ptrs[T any](xs []T) []*T {
	ps := make([]*T, len(xs))
	for i := range xs {
		ps[i] = &xs[i]
	}
	return ps
}

func TestCodecRoundTrip(t *testing.T) {
	huge := bigPow2(300, 12345)
	negative := new(big.Int).Neg(bigPow2(200, 1))
	base := xfer(7, 3, chains.OrdinalLogBase+17, []string{ethAddr(1)}, ethAddr(2), big.NewInt(1))
	transfers := []struct {
		name string
		mod  func(*chains.Transfer)
	}{
		{"plain", func(*chains.Transfer) {}},
		{"amount above 2^256", func(t *chains.Transfer) { t.Amount = huge }},
		{"amount exactly 2^256", func(t *chains.Transfer) { t.Amount = bigPow2(256, 0) }},
		{"amount 2^256-1", func(t *chains.Transfer) { t.Amount = bigPow2(256, -1) }},
		{"negative amount", func(t *chains.Transfer) { t.Amount = negative }},
		{"zero amount", func(t *chains.Transfer) { t.Amount = new(big.Int) }},
		{"nil amount", func(t *chains.Transfer) { t.Amount = nil }},
		{"erc721 token id set", func(t *chains.Transfer) { t.Kind, t.TokenID = chains.KindERC721, huge }},
		{"token id zero", func(t *chains.Transfer) { t.TokenID = new(big.Int) }},
		{"nil from", func(t *chains.Transfer) { t.From = nil }},
		{"empty from", func(t *chains.Transfer) { t.From = []string{} }},
		{"several from incl. empty string", func(t *chains.Transfer) {
			t.From = []string{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}
		}},
		{"unknown kind", func(t *chains.Transfer) { t.Kind = "weird-kind" }},
		{"empty kind and strings", func(t *chains.Transfer) { t.Kind, t.Position, t.To, t.TxHash, t.BlockHash = "", "", "", "", "" }},
		{"utxo", func(t *chains.Transfer) {
			t.Kind, t.Asset, t.Position, t.To = chains.KindUTXO, chains.AssetBTC, "out:4", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
		}},
		{"other block hash and time", func(t *chains.Transfer) { t.BlockHash, t.Timestamp = hash32("other", 1), 5 }},
		{"max numbers", func(t *chains.Transfer) {
			t.BlockNumber, t.TxIndex, t.Ordinal, t.Timestamp = math.MaxUint64, math.MaxUint32, math.MaxUint32, math.MaxUint64
		}},
	}
	for _, tc := range transfers {
		t.Run("transfer/"+tc.name, func(t *testing.T) {
			want := base
			want.From = slices.Clone(base.From)
			tc.mod(&want)
			got, err := decodeAllTransfers(encodeTransfers([]*chains.Transfer{&want}), want.BlockNumber)
			if err != nil {
				t.Fatal(err)
			}
			checkTransfers(t, got, []chains.Transfer{want})
		})
	}

	// One block value of every case twice, the second a later transfer of
	// the same tx: exercises the record flags and the asset memo.
	var seq []chains.Transfer
	for i, tc := range transfers {
		want := base
		want.From = slices.Clone(base.From)
		tc.mod(&want)
		want.BlockNumber, want.TxIndex, want.Ordinal = base.BlockNumber, uint32(i), 0
		again := want
		again.Ordinal = chains.OrdinalLogBase + uint32(i)
		seq = append(seq, want, again)
	}
	seqEnc := encodeTransfers(ptrs(seq))
	t.Run("transfers of a block", func(t *testing.T) {
		got, err := decodeAllTransfers(seqEnc, base.BlockNumber)
		if err != nil {
			t.Fatal(err)
		}
		checkTransfers(t, got, seq)
		if got, err := decodeAllTransfers(encodeTransfers(nil), 9); err != nil || len(got) != 0 {
			t.Fatalf("no transfers: %v, %v", got, err)
		}
	})
	t.Run("seek decodes only what it finds", func(t *testing.T) {
		var r transfersReader
		if err := r.reset(seqEnc, base.BlockNumber); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{3, 4, 5, 20, 21, len(seq) - 1} {
			w := &seq[i]
			if !r.seek(w.TxIndex, w.Ordinal) {
				t.Fatalf("seek %s: not found", tkey(w))
			}
			var got chains.Transfer
			if err := r.decode(&got); err != nil {
				t.Fatal(err)
			}
			if d := transferDiff(&got, w); d != "" {
				t.Fatalf("seek %s: %s", tkey(w), d)
			}
			if !r.seek(w.TxIndex, w.Ordinal) {
				t.Fatalf("seek %s again: not found", tkey(w))
			}
		}
		if r.seek(math.MaxUint32, 0) || r.err() != nil {
			t.Fatalf("seek past the end: found, err %v", r.err())
		}
	})

	t.Run("big block: 4-byte offsets", func(t *testing.T) {
		blk := genBlocks(9, 1, 700, 3, 50)[0]
		for i := range blk.Transfers {
			blk.Transfers[i].Position = strings.Repeat("p", i%40)
		}
		enc := encodeTransfers(ptrs(blk.Transfers))
		var r transfersReader
		if err := r.reset(enc, 9); err != nil || r.width != 4 {
			t.Fatalf("width %d, err %v", r.width, err)
		}
		got, err := decodeAllTransfers(enc, 9)
		if err != nil {
			t.Fatal(err)
		}
		checkTransfers(t, got, blk.Transfers)
		for _, step := range []int{1, 7, 301} {
			if err := r.reset(enc, 9); err != nil {
				t.Fatal(err)
			}
			for i := step - 1; i < len(blk.Transfers); i += step {
				w := &blk.Transfers[i]
				var tr chains.Transfer
				if !r.seek(w.TxIndex, w.Ordinal) || r.decode(&tr) != nil {
					t.Fatalf("step %d: seek %s failed: %v", step, tkey(w), r.err())
				}
				if d := transferDiff(&tr, w); d != "" {
					t.Fatalf("step %d: seek %s: %s", step, tkey(w), d)
				}
			}
		}
		if r.reset(enc, 9); r.seek(blk.Transfers[5].TxIndex, blk.Transfers[5].Ordinal+1) || !r.cur ||
			r.idx != blk.Transfers[6].TxIndex || r.ord != blk.Transfers[6].Ordinal {
			t.Fatalf("seek between records: at %d/%d", r.idx, r.ord)
		}
	})

	txs := []chains.Tx{
		{Hash: hash32("t", 1), BlockNumber: 9, Index: 4, From: ethAddr(1), To: ethAddr(2), Value: huge, Fee: big.NewInt(21000), Success: true},
		{Hash: hash32("t", 2), BlockNumber: 9, Index: 5, From: ethAddr(1), Created: ethAddr(9), Value: nil, Fee: nil},
		{Hash: "plain", BlockNumber: 9, Index: math.MaxUint32, Value: new(big.Int), Fee: new(big.Int)},
	}
	txEnc := encodeTxs(ptrs(txs))
	t.Run("txs", func(t *testing.T) {
		var r txsReader
		if err := r.reset(txEnc, 9); err != nil {
			t.Fatal(err)
		}
		i := 0
		for ; r.next(); i++ {
			got, err := r.decode()
			if err != nil {
				t.Fatal(err)
			}
			if d := txDiff(&got, &txs[i]); d != "" {
				t.Fatalf("tx %d: %s", i, d)
			}
		}
		if r.err() != nil || i != len(txs) {
			t.Fatalf("read %d txs, err %v", i, r.err())
		}
	})

	blocks := []chains.Block{
		{Number: 1, Hash: hash32("b", 1), ParentHash: hash32("b", 0), Timestamp: 1_438_269_988, TxCount: 3},
		{Number: math.MaxUint64, Hash: "00000000000000000007878ec04bb2b2e12317804810f4c26033585b3f81ffaa", Timestamp: math.MaxUint64, TxCount: math.MaxUint32},
	}
	for i, want := range blocks {
		t.Run(fmt.Sprintf("block/%d", i), func(t *testing.T) {
			got, err := decodeBlock(encodeBlock(&want), want.Number)
			if err != nil || got != want {
				t.Fatalf("got %+v, %v; want %+v", got, err, want)
			}
		})
	}

	t.Run("address refs", func(t *testing.T) {
		want := []addrRef{{0, 0, addrDirIn}, {0, 1, addrDirIn | addrDirOut}, {7, chains.OrdinalLogBase, addrDirOut}, {math.MaxUint32, math.MaxUint32, addrDirIn}}
		var v []byte
		for _, r := range want {
			v = appendAddrRef(v, r)
		}
		for _, dir := range []byte{0, addrDirIn, addrDirOut} {
			got, err := decodeAddrRefs(v, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := slices.DeleteFunc(slices.Clone(want), func(r addrRef) bool { return dir != 0 && r.dir&dir == 0 })
			if !slices.Equal(got, w) {
				t.Fatalf("dir %d: got %v, want %v", dir, got, w)
			}
		}
		for _, bad := range [][]byte{
			nil,
			v[:len(v)-1],
			appendAddrRef(appendAddrRef(nil, addrRef{1, 1, addrDirIn}), addrRef{1, 1, addrDirOut}), // not ascending
			appendAddrRef(nil, addrRef{1, 1, 0}),                                                   // no direction
		} {
			if _, err := decodeAddrRefs(bad, 0, nil); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%x: err %v, want ErrCorrupt", bad, err)
			}
		}
	})

	t.Run("truncated values are ErrCorrupt", func(t *testing.T) {
		for n := 0; n < len(seqEnc); n++ {
			if _, err := decodeAllTransfers(seqEnc[:n], 7); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("transfers prefix of %d/%d bytes: err %v, want ErrCorrupt", n, len(seqEnc), err)
			}
		}
		if _, err := decodeAllTransfers(append(slices.Clip(seqEnc), 0), 7); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("transfers trailing byte: err %v, want ErrCorrupt", err)
		}
		readTxs := func(v []byte) error {
			var r txsReader
			if err := r.reset(v, 9); err != nil {
				return err
			}
			for r.next() {
				if _, err := r.decode(); err != nil {
					return err
				}
			}
			return r.err()
		}
		for n := 0; n < len(txEnc); n++ {
			if err := readTxs(txEnc[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("txs prefix of %d/%d bytes: err %v, want ErrCorrupt", n, len(txEnc), err)
			}
		}
		if err := readTxs(append(slices.Clip(txEnc), 0)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("txs trailing byte: err %v, want ErrCorrupt", err)
		}
	})
	t.Run("out of order records are ErrCorrupt", func(t *testing.T) {
		a, b := seq[0], seq[1]
		for name, v := range map[string][]byte{
			"descending": encodeTransfers([]*chains.Transfer{&b, &a}),
			"duplicate":  encodeTransfers([]*chains.Transfer{&a, &a}),
		} {
			if _, err := decodeAllTransfers(v, 7); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: err %v, want ErrCorrupt", name, err)
			}
		}
		x, y := txs[1], txs[0]
		var r txsReader
		if err := r.reset(encodeTxs([]*chains.Tx{&x, &y}), 9); err != nil {
			t.Fatal(err)
		}
		for r.next() {
		}
		if !errors.Is(r.err(), ErrCorrupt) {
			t.Fatalf("descending txs: err %v, want ErrCorrupt", r.err())
		}
	})
}

func FuzzDecodeTransfers(f *testing.F) {
	tr := xfer(1, 2, 3, []string{ethAddr(1), "x"}, ethAddr(2), bigPow2(300, 1))
	tr.TokenID = big.NewInt(5)
	tr2 := tr
	tr2.Ordinal, tr2.BlockHash = 4, "other"
	tr3 := xfer(1, 3, 0, nil, ethAddr(2), nil)
	f.Add(encodeTransfers([]*chains.Transfer{&tr, &tr2, &tr3}))
	f.Add([]byte{codecVersion, 1, 7, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Look-ups must not panic, whatever the value.
		var r transfersReader
		if r.reset(b, 1) == nil {
			for _, k := range [][2]uint32{{2, 4}, {0, 0}, {3, 0}, {2, 3}, {math.MaxUint32, 0}} {
				if r.seek(k[0], k[1]) {
					var tr chains.Transfer
					_ = r.decode(&tr)
				}
			}
		}
		got, err := decodeAllTransfers(b, 1)
		if err != nil {
			return
		}
		again, err := decodeAllTransfers(encodeTransfers(ptrs(got)), 1)
		if err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		checkTransfers(t, again, got)
	})
}

// ---- writing and reading ---------------------------------------------------

func TestWriteAndReadBack(t *testing.T) {
	s := openStore(t, t.TempDir())
	huge := bigPow2(300, 99)
	t0 := xfer(50, 0, chains.OrdinalTx, []string{ethAddr(1)}, ethAddr(2), huge)
	t0.Kind = chains.KindNative
	t1 := xfer(50, 0, chains.OrdinalLogBase+3, []string{ethAddr(2)}, ethAddr(3), bigPow2(256, 0))
	t1.Kind, t1.Asset, t1.TokenID = chains.KindERC721, ethAddr(77), bigPow2(260, 0)
	t2 := xfer(50, 1, chains.OrdinalFrameBase, []string{}, ethAddr(4), nil)
	t3 := xfer(51, 0, 0, nil, ethAddr(5), new(big.Int))
	blocks := []*chains.BlockTransfers{block(50, hash32("b", 50), t0, t1, t2), block(51, hash32("b", 51), t3)}
	blocks[0].Txs[1].Value, blocks[0].Txs[1].Fee = nil, nil
	blocks[0].Txs[1].Created = ethAddr(88)
	if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
		t.Fatal(err)
	}

	t.Run("Transfers", func(t *testing.T) {
		checkTransfers(t, scanAll(t, s, chains.ETH, 0, 100), []chains.Transfer{
			blocks[0].Transfers[0], blocks[0].Transfers[1], blocks[0].Transfers[2], blocks[1].Transfers[0],
		})
	})
	t.Run("TxTransfers", func(t *testing.T) {
		got, err := s.TxTransfers(chains.ETH, 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkTransfers(t, got, blocks[0].Transfers[:2])
		if got, _ := s.TxTransfers(chains.ETH, 50, 7); len(got) != 0 {
			t.Fatalf("tx 50/7 has %d transfers, want 0", len(got))
		}
	})
	t.Run("Block", func(t *testing.T) {
		for _, b := range blocks {
			got, ok, err := s.Block(chains.ETH, b.Block.Number)
			if err != nil || !ok || got != b.Block {
				t.Fatalf("Block(%d) = %+v, %v, %v; want %+v", b.Block.Number, got, ok, err, b.Block)
			}
		}
		if _, ok, err := s.Block(chains.ETH, 52); ok || err != nil {
			t.Fatalf("Block(52) ok=%v err=%v, want absent", ok, err)
		}
		if _, ok, _ := s.Block(chains.BTC, 50); ok {
			t.Fatal("eth block 50 visible as btc block")
		}
	})
	t.Run("Txs", func(t *testing.T) {
		got, err := s.Txs(chains.ETH, 50)
		if err != nil || len(got) != 2 {
			t.Fatalf("Txs(50) = %d txs, %v; want 2", len(got), err)
		}
		for i := range got {
			if d := txDiff(&got[i], &blocks[0].Txs[i]); d != "" {
				t.Fatalf("tx %d: %s", i, d)
			}
		}
	})
	t.Run("TxByHash", func(t *testing.T) {
		want := blocks[0].Txs[1]
		for _, h := range []string{want.Hash, strings.ToUpper(want.Hash[2:]), "0x" + strings.ToUpper(want.Hash[2:])} {
			got, ok, err := s.TxByHash(chains.ETH, h)
			if err != nil || !ok {
				t.Fatalf("TxByHash(%s): ok=%v err=%v", h, ok, err)
			}
			if d := txDiff(&got, &want); d != "" {
				t.Fatal(d)
			}
		}
		if _, ok, err := s.TxByHash(chains.ETH, hash32("none", 1)); ok || err != nil {
			t.Fatalf("unknown hash: ok=%v err=%v", ok, err)
		}
	})
}

func TestTransfersExhibitOrder(t *testing.T) {
	s := openStore(t, t.TempDir())
	a, b := ethAddr(1), ethAddr(2)
	// Numbers chosen to cross byte boundaries, so any little-endian or
	// varint key would sort them wrongly.
	nums := []uint64{1<<32 + 1, 5, 256, 255}
	idxs := []uint32{256, 0, 10, 1}
	ords := []uint32{chains.OrdinalLogBase + 5, 256, 0, chains.OrdinalLogBase, 1, chains.OrdinalFrameBase + 511}
	var blocks []*chains.BlockTransfers
	var want []chains.Transfer
	for _, n := range nums {
		var ts []chains.Transfer
		for _, i := range idxs {
			for _, o := range ords {
				ts = append(ts, xfer(n, i, o, []string{a}, b, big.NewInt(int64(o))))
			}
		}
		blk := block(n, hash32("b", n), ts...)
		blocks = append(blocks, blk)
		want = append(want, blk.Transfers...)
	}
	slices.SortFunc(want, func(x, y chains.Transfer) int {
		if x.Less(&y) {
			return -1
		}
		return 1
	})
	if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
		t.Fatal(err)
	}
	per := len(idxs) * len(ords)
	cases := []struct {
		name     string
		from, to uint64
		want     []chains.Transfer
	}{
		{"all", 0, math.MaxUint64, want},
		{"one block", 256, 256, want[2*per : 3*per]},
		{"window of two", 6, 256, want[per : 3*per]},
		{"gap", 6, 254, nil},
		{"beyond", 1<<32 + 2, math.MaxUint64, nil},
		{"last", 1 << 32, 1<<32 + 1, want[3*per:]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkTransfers(t, scanAll(t, s, chains.ETH, tc.from, tc.to), tc.want)
			for _, tr := range tc.want {
				if tr.BlockNumber < tc.from || tr.BlockNumber > tc.to {
					t.Fatalf("bad test case: %s outside window", tkey(&tr))
				}
			}
		})
	}
	t.Run("AddressTransfers same order", func(t *testing.T) {
		got := scanAddr(t, s, chains.ETH, a, Both, 0, math.MaxUint64)
		if !slices.Equal(got, keysOf(want)) {
			t.Fatalf("address scan order %v, want %v", got, keysOf(want))
		}
	})
	t.Run("fn error stops scan", func(t *testing.T) {
		stop := errors.New("stop")
		for _, scanFn := range map[string]func(func(*chains.Transfer) error) error{
			"Transfers": func(fn func(*chains.Transfer) error) error { return s.Transfers(chains.ETH, 0, math.MaxUint64, fn) },
			"AddressTransfers": func(fn func(*chains.Transfer) error) error {
				return s.AddressTransfers(chains.ETH, a, Both, 0, math.MaxUint64, fn)
			},
		} {
			calls := 0
			err := scanFn(func(*chains.Transfer) error {
				calls++
				if calls == 3 {
					return stop
				}
				return nil
			})
			if err != stop || calls != 3 {
				t.Fatalf("err %v after %d calls, want stop after 3", err, calls)
			}
		}
	})
	t.Run("from > to", func(t *testing.T) {
		err := s.Transfers(chains.ETH, 5, 4, func(*chains.Transfer) error { return nil })
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("err %v, want ErrInvalidArgument", err)
		}
	})
}

func TestAddressTransfers(t *testing.T) {
	s := openStore(t, t.TempDir())
	A, B, C, D := ethAddr(0xA), ethAddr(0xB), ethAddr(0xC), ethAddr(0xD)
	one := big.NewInt(1)
	eth := []*chains.BlockTransfers{
		block(10,
			hash32("b", 10),
			xfer(10, 0, 0, []string{A}, B, one),                     // 10/0/0 A->B
			xfer(10, 0, 1, []string{B}, A, one),                     // 10/0/1 B->A
			xfer(10, 1, 0, []string{A}, A, one),                     // 10/1/0 A->A self
			xfer(10, 2, 0, []string{C, strings.ToLower(A)}, D, one), // 10/2/0 C,a->D
			xfer(10, 3, 0, []string{}, A, one),                      // 10/3/0 nobody->A (a mint)
		),
		block(11, hash32("b", 11), xfer(11, 0, 0, []string{C}, A, one)), // 11/0/0 C->A
		block(12, hash32("b", 12), xfer(12, 5, 9, []string{A}, C, one)), // 12/5/9 A->C
	}
	if err := s.WriteBlocks(chains.ETH, eth); err != nil {
		t.Fatal(err)
	}
	btc := []*chains.BlockTransfers{block(10, hash32("b", 10),
		xfer(10, 0, 0, []string{"1AbC", "1xyz"}, "1abc", one),
		xfer(10, 0, 1, []string{"1abc"}, "1AbC", one),
	)}
	if err := s.WriteBlocks(chains.BTC, btc); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		chain    chains.Chain
		addr     string
		dir      Direction
		from, to uint64
		want     []string
	}{
		{"in", chains.ETH, A, In, 0, 100, []string{"10/0/1", "10/1/0", "10/3/0", "11/0/0"}},
		{"out", chains.ETH, A, Out, 0, 100, []string{"10/0/0", "10/1/0", "10/2/0", "12/5/9"}},
		{"both, self-transfer once", chains.ETH, A, Both, 0, 100,
			[]string{"10/0/0", "10/0/1", "10/1/0", "10/2/0", "10/3/0", "11/0/0", "12/5/9"}},
		{"lower-case query", chains.ETH, strings.ToLower(A), Both, 0, 100,
			[]string{"10/0/0", "10/0/1", "10/1/0", "10/2/0", "10/3/0", "11/0/0", "12/5/9"}},
		{"window 11", chains.ETH, A, Both, 11, 11, []string{"11/0/0"}},
		{"window 11-12 out", chains.ETH, A, Out, 11, 12, []string{"12/5/9"}},
		{"window from 12", chains.ETH, A, In, 12, 100, nil},
		{"window up to 10", chains.ETH, A, Both, 0, 10, []string{"10/0/0", "10/0/1", "10/1/0", "10/2/0", "10/3/0"}},
		{"multi-from second sender", chains.ETH, C, Out, 0, 100, []string{"10/2/0", "11/0/0"}},
		{"receiver only", chains.ETH, D, Both, 0, 100, []string{"10/2/0"}},
		{"receiver has no out", chains.ETH, D, Out, 0, 100, nil},
		{"unknown address", chains.ETH, ethAddr(0xEE), Both, 0, 100, nil},
		{"other chain does not leak", chains.BTC, A, Both, 0, 100, nil},
		{"btc case-sensitive in", chains.BTC, "1abc", In, 0, 100, []string{"10/0/0"}},
		{"btc case-sensitive out", chains.BTC, "1AbC", Out, 0, 100, []string{"10/0/0"}},
		{"btc both", chains.BTC, "1AbC", Both, 0, 100, []string{"10/0/0", "10/0/1"}},
		{"btc second from", chains.BTC, "1xyz", Both, 0, 100, []string{"10/0/0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := scanAddr(t, s, tc.chain, tc.addr, tc.dir, tc.from, tc.to)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("yields the full transfer", func(t *testing.T) {
		var got []chains.Transfer
		err := s.AddressTransfers(chains.ETH, D, In, 0, 100, func(tr *chains.Transfer) error {
			got = append(got, *tr)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkTransfers(t, got, eth[0].Transfers[3:4])
	})
	t.Run("bad arguments", func(t *testing.T) {
		nop := func(*chains.Transfer) error { return nil }
		for _, err := range []error{
			s.AddressTransfers(chains.ETH, A, 0, 0, 1, nop),
			s.AddressTransfers(chains.ETH, A, 4, 0, 1, nop),
			s.AddressTransfers(chains.ETH, "", Both, 0, 1, nop),
			s.AddressTransfers(chains.ETH, A, Both, 2, 1, nop),
		} {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err %v, want ErrInvalidArgument", err)
			}
		}
	})
}

func TestLongAddressIsHashed(t *testing.T) {
	s := openStore(t, t.TempDir())
	long := strings.Repeat("x", 300)
	long2 := strings.Repeat("x", 299) + "y"
	blk := block(1, hash32("b", 1), xfer(1, 0, 0, []string{long}, long2, big.NewInt(1)))
	if err := s.WriteBlocks(chains.BTC, []*chains.BlockTransfers{blk}); err != nil {
		t.Fatal(err)
	}
	if got := scanAddr(t, s, chains.BTC, long, Out, 0, 9); !slices.Equal(got, []string{"1/0/0"}) {
		t.Fatalf("long from: %v", got)
	}
	if got := scanAddr(t, s, chains.BTC, long2, In, 0, 9); !slices.Equal(got, []string{"1/0/0"}) {
		t.Fatalf("long to: %v", got)
	}
	if got := scanAddr(t, s, chains.BTC, long, In, 0, 9); got != nil {
		t.Fatalf("long from seen as receiver: %v", got)
	}
}

func TestMarkIndexedMissing(t *testing.T) {
	const max = math.MaxUint64
	type r = Range
	cases := []struct {
		name        string
		marks       []r
		want        []r
		query       r
		wantMissing []r
	}{
		{"empty", nil, nil, r{1, 10}, []r{{1, 10}}},
		{"single", []r{{5, 10}}, []r{{5, 10}}, r{1, 20}, []r{{1, 4}, {11, 20}}},
		{"single block", []r{{7, 7}}, []r{{7, 7}}, r{7, 7}, nil},
		{"adjacent", []r{{1, 5}, {6, 10}}, []r{{1, 10}}, r{0, 11}, []r{{0, 0}, {11, 11}}},
		{"adjacent reversed", []r{{6, 10}, {1, 5}}, []r{{1, 10}}, r{1, 10}, nil},
		{"overlap", []r{{1, 7}, {5, 10}}, []r{{1, 10}}, r{3, 12}, []r{{11, 12}}},
		{"contained", []r{{1, 10}, {3, 4}}, []r{{1, 10}}, r{2, 9}, nil},
		{"containing", []r{{3, 4}, {1, 10}}, []r{{1, 10}}, r{1, 10}, nil},
		{"same twice", []r{{3, 4}, {3, 4}}, []r{{3, 4}}, r{3, 5}, []r{{5, 5}}},
		{"bridge", []r{{1, 3}, {7, 9}, {4, 6}}, []r{{1, 9}}, r{0, 9}, []r{{0, 0}}},
		{"holes", []r{{1, 3}, {5, 5}, {8, 10}}, []r{{1, 3}, {5, 5}, {8, 10}}, r{0, 12},
			[]r{{0, 0}, {4, 4}, {6, 7}, {11, 12}}},
		{"query inside hole", []r{{1, 3}, {8, 10}}, []r{{1, 3}, {8, 10}}, r{5, 6}, []r{{5, 6}}},
		{"query straddles", []r{{1, 3}, {8, 10}}, []r{{1, 3}, {8, 10}}, r{2, 9}, []r{{4, 7}}},
		{"swallow several", []r{{1, 2}, {4, 5}, {7, 8}, {20, 30}, {0, 10}}, []r{{0, 10}, {20, 30}}, r{0, 25},
			[]r{{11, 19}}},
		{"extend left only", []r{{10, 20}, {5, 9}}, []r{{5, 20}}, r{0, 30}, []r{{0, 4}, {21, 30}}},
		{"not adjacent", []r{{1, 5}, {7, 10}}, []r{{1, 5}, {7, 10}}, r{1, 10}, []r{{6, 6}}},
		{"uint64 edges", []r{{max - 1, max}, {0, 0}}, []r{{0, 0}, {max - 1, max}}, r{0, max}, []r{{1, max - 2}}},
		{"whole uint64", []r{{0, max / 2}, {max/2 + 1, max}}, []r{{0, max}}, r{0, max}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			for _, m := range tc.marks {
				if err := s.MarkIndexed(chains.ETH, m.From, m.To); err != nil {
					t.Fatalf("MarkIndexed(%v): %v", m, err)
				}
			}
			got, err := s.IndexedRanges(chains.ETH)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("IndexedRanges = %v, %v; want %v", got, err, tc.want)
			}
			miss, err := s.Missing(chains.ETH, tc.query.From, tc.query.To)
			if err != nil || !slices.Equal(miss, tc.wantMissing) {
				t.Fatalf("Missing(%v) = %v, %v; want %v", tc.query, miss, err, tc.wantMissing)
			}
			if other, _ := s.IndexedRanges(chains.BTC); other != nil {
				t.Fatalf("btc ranges %v, want none", other)
			}
		})
	}
	t.Run("bad ranges", func(t *testing.T) {
		s := openStore(t, t.TempDir())
		if err := s.MarkIndexed(chains.ETH, 5, 4); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("MarkIndexed(5,4): %v", err)
		}
		if _, err := s.Missing(chains.ETH, 5, 4); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Missing(5,4): %v", err)
		}
	})
}

// snapshot is everything a reader can see of a store's indexed data.
type snapshot struct {
	transfers []chains.Transfer
	addrs     map[string][]string
	counts    ChainStats
}

func takeSnapshot(t *testing.T, s *Store, chain chains.Chain, addrs []string) snapshot {
	t.Helper()
	snap := snapshot{transfers: scanAll(t, s, chain, 0, math.MaxUint64), addrs: map[string][]string{}}
	for _, a := range addrs {
		for _, d := range []Direction{In, Out, Both} {
			snap.addrs[a+"/"+d.String()] = scanAddr(t, s, chain, a, d, 0, math.MaxUint64)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	snap.counts = st.Chains[chain]
	return snap
}

func compareSnapshots(t *testing.T, got, want snapshot) {
	t.Helper()
	checkTransfers(t, got.transfers, want.transfers)
	for k, w := range want.addrs {
		if g := got.addrs[k]; !slices.Equal(g, w) {
			t.Fatalf("address scan %s = %v, want %v", k, g, w)
		}
	}
	g, w := got.counts, want.counts
	g.Indexed, w.Indexed = nil, nil
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("record counts %+v, want %+v", g, w)
	}
}

func TestIdempotentRewrite(t *testing.T) {
	s := openStore(t, t.TempDir())
	blocks := genBlocks(100, 5, 4, 3, 9)
	var addrs []string
	for i := 0; i < 9; i++ {
		addrs = append(addrs, ethAddr(i))
	}
	if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, s, chains.ETH, addrs)
	if len(before.transfers) != 5*4*3 || before.counts.AddressEntries != 2*5*4*3 || before.counts.TxHashes != 5*4 {
		t.Fatalf("unexpected first write: %d transfers, counts %+v", len(before.transfers), before.counts)
	}
	rewrites := []struct {
		name   string
		blocks []*chains.BlockTransfers
	}{
		{"same batch", blocks},
		{"reversed, one at a time", nil},
		{"overlapping batch with a duplicate", []*chains.BlockTransfers{blocks[3], blocks[1], blocks[3], blocks[4]}},
	}
	for _, rw := range rewrites {
		t.Run(rw.name, func(t *testing.T) {
			if rw.blocks == nil {
				for i := len(blocks) - 1; i >= 0; i-- {
					if err := s.WriteBlocks(chains.ETH, blocks[i:i+1]); err != nil {
						t.Fatal(err)
					}
				}
			} else if err := s.WriteBlocks(chains.ETH, rw.blocks); err != nil {
				t.Fatal(err)
			}
			compareSnapshots(t, takeSnapshot(t, s, chains.ETH, addrs), before)
		})
	}
}

func TestReorg(t *testing.T) {
	X, Y, Z, W := ethAddr(0x10), ethAddr(0x11), ethAddr(0x12), ethAddr(0x13)
	one := big.NewInt(1)
	old100 := block(100, hash32("old", 100),
		xfer(100, 0, 0, []string{X}, Y, one),
		xfer(100, 0, chains.OrdinalLogBase, []string{X}, Z, one),
		xfer(100, 1, 0, []string{Z}, X, one),
	)
	b101 := block(101, hash32("b", 101), xfer(101, 0, 0, []string{Y}, X, one))
	// The new block 100 keeps Y as a receiver at a new position and drops
	// X and Z; its only transaction has a new hash.
	newT := xfer(100, 0, 1, []string{W}, Y, big.NewInt(2))
	newT.TxHash = hash32("new", 100)
	new100 := block(100, hash32("new", 100), newT)

	addrs := []string{X, Y, Z, W}
	s := openStore(t, t.TempDir())
	if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{old100, b101}); err != nil {
		t.Fatal(err)
	}
	if got := scanAddr(t, s, chains.ETH, X, Both, 0, 200); len(got) != 4 {
		t.Fatalf("before reorg X has %v", got)
	}
	if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{new100}); err != nil {
		t.Fatal(err)
	}

	// A store that only ever saw the new chain is the reference.
	ref := openStore(t, t.TempDir())
	if err := ref.WriteBlocks(chains.ETH, []*chains.BlockTransfers{new100, b101}); err != nil {
		t.Fatal(err)
	}
	t.Run("same as a fresh store", func(t *testing.T) {
		compareSnapshots(t, takeSnapshot(t, s, chains.ETH, addrs), takeSnapshot(t, ref, chains.ETH, addrs))
	})
	t.Run("old transfers gone", func(t *testing.T) {
		checkTransfers(t, scanAll(t, s, chains.ETH, 100, 100), new100.Transfers)
		if got, _ := s.TxTransfers(chains.ETH, 100, 1); len(got) != 0 {
			t.Fatalf("old tx 100/1 still has transfers %v", keysOf(got))
		}
	})
	t.Run("old address entries gone", func(t *testing.T) {
		if got := scanAddr(t, s, chains.ETH, X, Both, 0, 200); !slices.Equal(got, []string{"101/0/0"}) {
			t.Fatalf("X: %v", got)
		}
		if got := scanAddr(t, s, chains.ETH, Z, Both, 0, 200); got != nil {
			t.Fatalf("Z: %v", got)
		}
		if got := scanAddr(t, s, chains.ETH, Y, In, 0, 200); !slices.Equal(got, []string{"100/0/1"}) {
			t.Fatalf("Y in: %v", got)
		}
	})
	t.Run("old txs and hashes gone", func(t *testing.T) {
		for _, h := range []string{old100.Txs[0].Hash, old100.Txs[1].Hash} {
			if _, ok, err := s.TxByHash(chains.ETH, h); ok || err != nil {
				t.Fatalf("old tx %s: ok=%v err=%v", h, ok, err)
			}
		}
		if tx, ok, _ := s.TxByHash(chains.ETH, newT.TxHash); !ok || tx.BlockNumber != 100 {
			t.Fatalf("new tx: %+v %v", tx, ok)
		}
		txs, _ := s.Txs(chains.ETH, 100)
		if len(txs) != 1 || txs[0].Hash != newT.TxHash {
			t.Fatalf("txs of 100: %+v", txs)
		}
		if blk, _, _ := s.Block(chains.ETH, 100); blk.Hash != new100.Block.Hash {
			t.Fatalf("header hash %s", blk.Hash)
		}
	})

	// A transaction of the old block 100 re-mined in the new block 101
	// keeps its hash look-up, whichever order the blocks are written in.
	moved := old100.Txs[1]
	mt := xfer(101, 3, 0, []string{Z}, X, one)
	mt.TxHash = moved.Hash
	new101 := block(101, hash32("new", 101), mt)
	for _, order := range []struct {
		name  string
		calls [][]*chains.BlockTransfers
	}{
		{"one call, 101 first", [][]*chains.BlockTransfers{{new101, new100}}},
		{"one call, 100 first", [][]*chains.BlockTransfers{{new100, new101}}},
		{"101 then 100", [][]*chains.BlockTransfers{{new101}, {new100}}},
		{"100 then 101", [][]*chains.BlockTransfers{{new100}, {new101}}},
	} {
		t.Run("moved tx/"+order.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{old100, b101}); err != nil {
				t.Fatal(err)
			}
			for _, call := range order.calls {
				if err := s.WriteBlocks(chains.ETH, call); err != nil {
					t.Fatal(err)
				}
			}
			tx, ok, err := s.TxByHash(chains.ETH, moved.Hash)
			if err != nil || !ok || tx.BlockNumber != 101 || tx.Index != 3 {
				t.Fatalf("moved tx: %+v ok=%v err=%v, want at 101/3", tx, ok, err)
			}
			if _, ok, _ := s.TxByHash(chains.ETH, b101.Txs[0].Hash); ok {
				t.Fatal("replaced block 101's tx still found")
			}
			if got := scanAddr(t, s, chains.ETH, X, Both, 0, 200); !slices.Equal(got, []string{"101/3/0"}) {
				t.Fatalf("X: %v", got)
			}
		})
	}
}

// TestUnorderedInput: WriteBlocks takes a block's transactions and
// transfers in any order and stores them in exhibit order.
func TestUnorderedInput(t *testing.T) {
	blk := genBlocks(7, 1, 5, 3, 11)[0]
	want := slices.Clone(blk.Transfers)
	wantTxs := slices.Clone(blk.Txs)
	slices.Reverse(blk.Transfers)
	slices.Reverse(blk.Txs)
	blk.Transfers[0], blk.Transfers[5] = blk.Transfers[5], blk.Transfers[0]
	s := openStore(t, t.TempDir())
	if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{blk}); err != nil {
		t.Fatal(err)
	}
	checkTransfers(t, scanAll(t, s, chains.ETH, 0, 100), want)
	got, err := s.TxTransfers(chains.ETH, 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkTransfers(t, got, want[6:9])
	txs, err := s.Txs(chains.ETH, 7)
	if err != nil || len(txs) != len(wantTxs) {
		t.Fatalf("Txs: %d, %v", len(txs), err)
	}
	for i := range txs {
		if d := txDiff(&txs[i], &wantTxs[i]); d != "" {
			t.Fatalf("tx %d: %s", i, d)
		}
	}
	if tkey(&blk.Transfers[0]) != tkey(&want[len(want)-6]) {
		t.Fatal("WriteBlocks reordered the caller's slice")
	}
}

// TestLeftoverIndexEntries: index entries that a killed run left pointing
// at nothing, or at records that are no longer theirs, read as absent.
func TestLeftoverIndexEntries(t *testing.T) {
	A, B, C := ethAddr(0xA), ethAddr(0xB), ethAddr(0xC)
	one := big.NewInt(1)
	s := openStore(t, t.TempDir())
	blk := block(5, hash32("b", 5), xfer(5, 0, 0, []string{A}, B, one), xfer(5, 1, 0, []string{B}, C, one))
	if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{blk}); err != nil {
		t.Fatal(err)
	}
	cA, cC := canonAddr(chainETH, A), canonAddr(chainETH, C)
	ref := func(refs ...addrRef) []byte {
		var v []byte
		for _, r := range refs {
			v = appendAddrRef(v, r)
		}
		return v
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, e := range []kv{
			// A: its real entry plus a transfer block 5 does not hold and
			// one that is not A's, and an entry of a block never written.
			{addrKey(chainETH, cA, 5), ref(addrRef{0, 0, addrDirOut}, addrRef{0, 7, addrDirIn}, addrRef{1, 0, addrDirIn | addrDirOut})},
			{addrKey(chainETH, cA, 6), ref(addrRef{0, 0, addrDirOut})},
			// C received 5/1/0; an Out reference to it is stale.
			{addrKey(chainETH, cC, 5), ref(addrRef{1, 0, addrDirIn | addrDirOut})},
			// Hash look-ups into a block without that tx, and into none.
			{txHashKey(chainETH, hash32("gone", 1)), txLoc(5, 1)},
			{txHashKey(chainETH, hash32("gone", 2)), txLoc(5, 9)},
			{txHashKey(chainETH, hash32("gone", 3)), txLoc(6, 0)},
		} {
			if err := txn.Set(e.key, e.val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		dir  Direction
		want []string
	}{
		{A, Both, []string{"5/0/0"}},
		{A, In, nil},
		{A, Out, []string{"5/0/0"}},
		{C, Both, []string{"5/1/0"}},
		{C, Out, nil},
	} {
		if got := scanAddr(t, s, chains.ETH, tc.addr, tc.dir, 0, 10); !slices.Equal(got, tc.want) {
			t.Fatalf("%s %v: %v, want %v", tc.addr, tc.dir, got, tc.want)
		}
	}
	for i := uint64(1); i <= 3; i++ {
		if tx, ok, err := s.TxByHash(chains.ETH, hash32("gone", i)); ok || err != nil {
			t.Fatalf("stale look-up %d: %+v ok=%v err=%v", i, tx, ok, err)
		}
	}
}

// TestRewriteToEmptyBlock: a block rewritten without transactions or
// transfers leaves nothing of the old one but its new header.
func TestRewriteToEmptyBlock(t *testing.T) {
	s := openStore(t, t.TempDir())
	old := genBlocks(3, 1, 4, 2, 9)[0]
	if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{old}); err != nil {
		t.Fatal(err)
	}
	empty := &chains.BlockTransfers{Block: chains.Block{Number: 3, Hash: hash32("empty", 3)}}
	if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{empty}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := ChainStats{Blocks: 1}
	if fmt.Sprint(st.Chains[chains.ETH]) != fmt.Sprint(want) {
		t.Fatalf("stats %+v, want %+v", st.Chains[chains.ETH], want)
	}
	if n := keyCount(t, s); n != 1 {
		t.Fatalf("%d keys left, want the header only", n)
	}
	if _, ok, _ := s.TxByHash(chains.ETH, old.Txs[0].Hash); ok {
		t.Fatal("old tx still found")
	}
}

func TestWriteBlocksRejectsInconsistentBlocks(t *testing.T) {
	one := big.NewInt(1)
	cases := []struct {
		name string
		mod  func(b *chains.BlockTransfers)
	}{
		{"transfer of another block", func(b *chains.BlockTransfers) { b.Transfers[1].BlockNumber = 6 }},
		{"tx of another block", func(b *chains.BlockTransfers) { b.Txs[0].BlockNumber = 4 }},
		{"duplicate transfer key", func(b *chains.BlockTransfers) { b.Transfers[1].Ordinal = b.Transfers[0].Ordinal }},
		{"duplicate tx index", func(b *chains.BlockTransfers) { b.Txs = append(b.Txs, b.Txs[0]) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			good := block(4, hash32("b", 4), xfer(4, 0, 0, []string{ethAddr(1)}, ethAddr(2), one))
			bad := block(5, hash32("b", 5), xfer(5, 0, 0, []string{ethAddr(1)}, ethAddr(2), one),
				xfer(5, 0, 1, []string{ethAddr(1)}, ethAddr(2), one))
			tc.mod(bad)
			err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{good, bad})
			if !errors.Is(err, ErrInvalidBlock) {
				t.Fatalf("err %v, want ErrInvalidBlock", err)
			}
			if got := scanAll(t, s, chains.ETH, 0, 10); len(got) != 0 {
				t.Fatalf("rejected batch wrote %v", keysOf(got))
			}
		})
	}
	t.Run("nil block and unknown chain", func(t *testing.T) {
		s := openStore(t, t.TempDir())
		if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{nil}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("nil block: %v", err)
		}
		if err := s.WriteBlocks("sol", nil); !errors.Is(err, ErrUnknownChain) {
			t.Fatalf("unknown chain: %v", err)
		}
		if err := s.WriteBlocks(chains.ETH, nil); err != nil {
			t.Fatalf("empty write: %v", err)
		}
	})
}

// ---- raw cache and meta ----------------------------------------------------

func TestRaw(t *testing.T) {
	s := openStore(t, t.TempDir())
	key := binary.BigEndian.AppendUint64(nil, 17)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: goes to the value log
	steps := []struct {
		chain chains.Chain
		kind  RawKind
		data  []byte
	}{
		{chains.ETH, RawBlock, []byte(`{"number":"0x11"}`)},
		{chains.ETH, RawReceipts, []byte(`[]`)},
		{chains.ETH, RawTraces, big},
		{chains.BTC, RawBlock, []byte{}},
	}
	for _, st := range steps {
		if err := s.PutRaw(st.chain, st.kind, key, st.data); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range steps {
		t.Run(fmt.Sprintf("%s/%v", st.chain, st.kind), func(t *testing.T) {
			got, ok, err := s.GetRaw(st.chain, st.kind, key)
			if err != nil || !ok || !bytes.Equal(got, st.data) {
				t.Fatalf("GetRaw: %d bytes ok=%v err=%v, want %d bytes", len(got), ok, err, len(st.data))
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		if _, ok, err := s.GetRaw(chains.BTC, RawReceipts, key); ok || err != nil {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
		if _, ok, _ := s.GetRaw(chains.ETH, RawBlock, binary.BigEndian.AppendUint64(nil, 18)); ok {
			t.Fatal("other key found")
		}
	})
	t.Run("batch overwrites", func(t *testing.T) {
		var items []RawItem
		for i := 0; i < 500; i++ {
			items = append(items, RawItem{RawReceipts, binary.BigEndian.AppendUint64(nil, uint64(i)), []byte(fmt.Sprint("r", i))})
		}
		if err := s.PutRawBatch(chains.ETH, items); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 17, 499} {
			got, ok, err := s.GetRaw(chains.ETH, RawReceipts, items[i].Key)
			if err != nil || !ok || string(got) != fmt.Sprint("r", i) {
				t.Fatalf("item %d: %q ok=%v err=%v", i, got, ok, err)
			}
		}
	})
	t.Run("bad kind", func(t *testing.T) {
		if err := s.PutRaw(chains.ETH, 0, key, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("PutRaw kind 0: %v", err)
		}
		if _, _, err := s.GetRaw(chains.ETH, 9, key); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("GetRaw kind 9: %v", err)
		}
	})
}

func TestMeta(t *testing.T) {
	s := openStore(t, t.TempDir())
	if _, ok, err := s.Meta("k"); ok || err != nil {
		t.Fatalf("absent meta: ok=%v err=%v", ok, err)
	}
	val := []byte("v1")
	if err := s.SetMeta("k", val); err != nil {
		t.Fatal(err)
	}
	val[0] = 'X' // the store must have copied it
	if err := s.SetMeta("k2", nil); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Meta("k"); !ok || err != nil || string(got) != "v1" {
		t.Fatalf("Meta(k) = %q %v %v", got, ok, err)
	}
	if got, ok, err := s.Meta("k2"); !ok || err != nil || len(got) != 0 {
		t.Fatalf("Meta(k2) = %q %v %v", got, ok, err)
	}
}

// ---- network binding, persistence, locking ---------------------------------

func TestBindNetwork(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	steps := []struct {
		chain    chains.Chain
		network  string
		mismatch bool
	}{
		{chains.ETH, "mainnet", false},
		{chains.ETH, "mainnet", false},
		{chains.BTC, "testnet3", false},
		{chains.ETH, "sepolia", true},
		{chains.BTC, "mainnet", true},
	}
	for i, st := range steps {
		t.Run(fmt.Sprintf("%d %s %s", i, st.chain, st.network), func(t *testing.T) {
			err := s.BindNetwork(st.chain, st.network)
			if !st.mismatch {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNetworkMismatch) {
				t.Fatalf("err %v, want ErrNetworkMismatch", err)
			}
			have, _, _ := s.Network(st.chain)
			if msg := err.Error(); !strings.Contains(msg, have) || !strings.Contains(msg, st.network) || !strings.Contains(msg, dir) {
				t.Fatalf("error %q does not name %q, %q and the store", msg, have, st.network)
			}
		})
	}
	if err := s.BindNetwork(chains.ETH, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty network: %v", err)
	}
	if _, _, err := s.Network("doge"); !errors.Is(err, ErrUnknownChain) {
		t.Fatalf("unknown chain: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	if n, ok, err := s.Network(chains.ETH); n != "mainnet" || !ok || err != nil {
		t.Fatalf("after reopen: %q %v %v", n, ok, err)
	}
	if err := s.BindNetwork(chains.ETH, "sepolia"); !errors.Is(err, ErrNetworkMismatch) {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	blocks := genBlocks(1000, 3, 5, 2, 7)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkIndexed(chains.ETH, 1000, 1002); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRaw(chains.ETH, RawBlock, []byte("k"), []byte("raw")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta("cursor", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.BindNetwork(chains.ETH, "1"); err != nil {
		t.Fatal(err)
	}
	want := scanAll(t, s, chains.ETH, 0, math.MaxUint64)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	check := func(t *testing.T, s *Store) {
		checkTransfers(t, scanAll(t, s, chains.ETH, 0, math.MaxUint64), want)
		if len(want) != 30 {
			t.Fatalf("%d transfers written, want 30", len(want))
		}
		if got := scanAddr(t, s, chains.ETH, ethAddr(3), Both, 0, math.MaxUint64); len(got) == 0 {
			t.Fatal("address index lost")
		}
		if rs, _ := s.IndexedRanges(chains.ETH); !slices.Equal(rs, []Range{{1000, 1002}}) {
			t.Fatalf("ranges %v", rs)
		}
		if v, ok, _ := s.GetRaw(chains.ETH, RawBlock, []byte("k")); !ok || string(v) != "raw" {
			t.Fatalf("raw %q %v", v, ok)
		}
		if v, ok, _ := s.Meta("cursor"); !ok || !bytes.Equal(v, []byte{1, 2}) {
			t.Fatalf("meta %v %v", v, ok)
		}
		if n, _, _ := s.Network(chains.ETH); n != "1" {
			t.Fatalf("network %q", n)
		}
		if blk, ok, _ := s.Block(chains.ETH, 1001); !ok || blk != blocks[1].Block {
			t.Fatalf("block %+v %v", blk, ok)
		}
	}
	t.Run("reopen", func(t *testing.T) {
		s := openStore(t, dir)
		check(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		s, err := Open(dir, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, s)
		s2, err := Open(dir, Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("second read-only open: %v", err)
		}
		s2.Close()
		for name, err := range map[string]error{
			"WriteBlocks": s.WriteBlocks(chains.ETH, blocks[:1]),
			"MarkIndexed": s.MarkIndexed(chains.ETH, 1, 2),
			"PutRaw":      s.PutRaw(chains.ETH, RawBlock, []byte("k"), nil),
			"SetMeta":     s.SetMeta("x", nil),
			"BindNetwork": s.BindNetwork(chains.BTC, "main"),
			"RunGC":       s.RunGC(),
		} {
			if !errors.Is(err, ErrReadOnly) {
				t.Errorf("%s on read-only store: %v, want ErrReadOnly", name, err)
			}
		}
	})
	t.Run("read-only of a missing store", func(t *testing.T) {
		for _, d := range []string{dir + "/nope", t.TempDir()} {
			if _, err := Open(d, Options{ReadOnly: true}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: err %v, want ErrNotFound", d, err)
			}
		}
		if _, err := os.Stat(dir + "/nope"); err == nil {
			t.Fatal("read-only Open created the directory")
		}
	})
}

const lockHelperEnv = "CHAINTRACE_STORE_LOCK_HELPER"

func TestOpenLocked(t *testing.T) {
	if dir := os.Getenv(lockHelperEnv); dir != "" {
		// Helper process: try to open the store the parent holds.
		_, err := Open(dir, Options{})
		fmt.Printf("HELPER-ERR %v\nHELPER-LOCKED %v\n", err, errors.Is(err, ErrLocked))
		return
	}
	dir := t.TempDir() + "/store"
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantMsg := fmt.Sprintf("store %s is in use by another chaintrace process", dir)
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		t.Run(fmt.Sprintf("same process, read-only %v", opts.ReadOnly), func(t *testing.T) {
			s2, err := Open(dir, opts)
			if err == nil {
				s2.Close()
				t.Fatal("second Open succeeded")
			}
			if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), wantMsg) {
				t.Fatalf("err %q, want ErrLocked saying %q", err, wantMsg)
			}
		})
	}
	t.Run("other process", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOpenLocked$")
		cmd.Env = append(os.Environ(), lockHelperEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "HELPER-ERR "+wantMsg) || !strings.Contains(string(out), "HELPER-LOCKED true") {
			t.Fatalf("helper output:\n%s", out)
		}
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir) // free again after Close
	_ = s
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(versionKey(), binary.AppendUvarint(nil, schemaVersion+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("err %v, want ErrSchemaVersion", err)
	}
	if s, err := Open(dir, Options{}); err == nil { // the failed Open released the lock
		s.Close()
		t.Fatal("second Open of a wrong-version store succeeded")
	} else if !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("second open: %v", err)
	}
}

// ---- stats, gc, logging ----------------------------------------------------

func TestStatsAndGC(t *testing.T) {
	s := openStore(t, t.TempDir())
	blocks := genBlocks(1, 4, 3, 2, 5)
	if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkIndexed(chains.ETH, 1, 4); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkIndexed(chains.ETH, 10, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRaw(chains.BTC, RawBlock, []byte("a"), make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.BindNetwork(chains.ETH, "mainnet"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := ChainStats{Network: "mainnet", Blocks: 4, Txs: 12, TxHashes: 12, Transfers: 24, AddressEntries: 48,
		Indexed: []Range{{1, 4}, {10, 10}}, IndexedBlocks: 5}
	if fmt.Sprint(st.Chains[chains.ETH]) != fmt.Sprint(want) {
		t.Fatalf("eth stats %+v, want %+v", st.Chains[chains.ETH], want)
	}
	if b := st.Chains[chains.BTC]; b.RawEntries != 1 || b.RawBytes <= 0 || b.RawBytes >= 100 || b.Transfers != 0 { // 100 zero bytes compress
		t.Fatalf("btc stats %+v", b)
	}
	if st.LSMBytes+st.VLogBytes <= 0 {
		t.Fatalf("sizes %d + %d", st.LSMBytes, st.VLogBytes)
	}
	if err := s.RunGC(); err != nil {
		t.Fatalf("RunGC: %v", err)
	}
}

type recordHandler struct{ recs *[]slog.Record }

func (h recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	*h.recs = append(*h.recs, r)
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

func TestBadgerLogging(t *testing.T) {
	var recs []slog.Record
	a := slogAdapter{l: slog.New(recordHandler{&recs})}
	a.Debugf("debug %d", 1)
	a.Infof("info %d", 2)
	a.Warningf("warn %d\n", 3)
	a.Errorf("error %d", 4)
	if len(recs) != 2 || recs[0].Level != slog.LevelWarn || recs[0].Message != "warn 3" ||
		recs[1].Level != slog.LevelError || recs[1].Message != "error 4" {
		t.Fatalf("records %+v", recs)
	}
	// A store with a logger opens and closes without logging at Warn.
	recs = nil
	s, err := Open(t.TempDir(), Options{Logger: slog.New(recordHandler{&recs})})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		t.Errorf("unexpected badger log: %v %s", r.Level, r.Message)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := openStore(t, t.TempDir())
	const workers, per = 4, 10
	errs := make(chan error, workers+1)
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func(w int) {
			first := uint64(w * per)
			for i := uint64(0); i < per; i++ {
				if err := s.WriteBlocks(chains.ETH, genBlocks(first+i, 1, 3, 2, 11)); err != nil {
					errs <- err
					return
				}
				if err := s.MarkIndexed(chains.ETH, first+i, first+i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	go func() { // a reader alongside the writers
		for {
			select {
			case <-done:
				errs <- nil
				return
			default:
			}
			if err := s.Transfers(chains.ETH, 0, math.MaxUint64, func(*chains.Transfer) error { return nil }); err != nil {
				errs <- err
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if rs, err := s.IndexedRanges(chains.ETH); err != nil || !slices.Equal(rs, []Range{{0, workers*per - 1}}) {
		t.Fatalf("ranges %v, %v", rs, err)
	}
	if got := scanAll(t, s, chains.ETH, 0, math.MaxUint64); len(got) != workers*per*3*2 {
		t.Fatalf("%d transfers, want %d", len(got), workers*per*3*2)
	}
}
