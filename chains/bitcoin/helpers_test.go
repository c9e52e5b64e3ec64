package bitcoin

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/wire"
)

const fixtures = "../../../shared/fixtures"

// fixture returns the path of a fixture file or directory, skipping the
// test when the shared fixtures are not there.
func fixture(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(fixtures, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fixture %s absent (%v): these tests replay real data from ../shared/fixtures", p, err)
	}
	return p
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bunzip(t testing.TB, path string) []byte {
	t.Helper()
	b, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(readFile(t, path))))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// framedBlocks reads btcd's test block files: per block the network magic
// and the length (little-endian uint32 each), then the serialized block.
func framedBlocks(t testing.TB, data []byte, magic wire.BitcoinNet) []*wire.MsgBlock {
	t.Helper()
	var out []*wire.MsgBlock
	r := bytes.NewReader(data)
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("block %d: frame: %v", len(out), err)
		}
		if got := wire.BitcoinNet(binary.LittleEndian.Uint32(hdr[:4])); got != magic {
			t.Fatalf("block %d: magic %v, want %v", len(out), got, magic)
		}
		n := binary.LittleEndian.Uint32(hdr[4:])
		raw := make([]byte, n)
		if _, err := io.ReadFull(r, raw); err != nil {
			t.Fatalf("block %d: %v", len(out), err)
		}
		var b wire.MsgBlock
		if err := b.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatalf("block %d: %v", len(out), err)
		}
		out = append(out, &b)
	}
}
