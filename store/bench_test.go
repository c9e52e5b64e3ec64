package store

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/chaintrace/chaintrace/chains"
)

// The benchmark workload: 100 blocks of 25 transactions of 3 transfers
// (7,500 transfers, 15,000 address entries), over 500 addresses.
const (
	benchBlocks = 100
	benchTxs    = 25
	benchPer    = 3
	benchAddrs  = 500
	benchXfers  = benchBlocks * benchTxs * benchPer
)

// peakRSSMiB is the process's peak resident set (VmHWM), or -1 where
// /proc is not there.
func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

func reportRate(b *testing.B, n int, unit string) {
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkWriteBlocks writes a fresh range of blocks per iteration, so
// the store grows by 7,500 transfers each time. cpu-ms/op is the process's
// CPU time during WriteBlocks, Badger's goroutines included: on a machine
// shared with a node, CPU time is what indexing costs.
func BenchmarkWriteBlocks(b *testing.B) {
	s := openStore(b, b.TempDir())
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		blocks := genBlocks(uint64(i*benchBlocks), benchBlocks, benchTxs, benchPer, benchAddrs)
		b.StartTimer()
		c0 := cpuTime()
		if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
	}
	reportRate(b, benchXfers, "transfers/s")
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkRewriteBlocks rewrites the same blocks: the resumed-run case,
// which reads each block's old keys before writing.
func BenchmarkRewriteBlocks(b *testing.B) {
	s := openStore(b, b.TempDir())
	blocks := genBlocks(0, benchBlocks, benchTxs, benchPer, benchAddrs)
	if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, benchXfers, "transfers/s")
}

func populated(b *testing.B) *Store {
	s := openStore(b, b.TempDir())
	if err := s.WriteBlocks(chains.ETH, genBlocks(0, benchBlocks, benchTxs, benchPer, benchAddrs)); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkTransfersScan(b *testing.B) {
	s := populated(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := s.Transfers(chains.ETH, 0, math.MaxUint64, func(*chains.Transfer) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != benchXfers {
			b.Fatalf("scanned %d transfers, want %d", n, benchXfers)
		}
	}
	reportRate(b, benchXfers, "transfers/s")
}

func BenchmarkAddressTransfers(b *testing.B) {
	s := populated(b)
	addr := ethAddr(7)
	want := 0
	if err := s.AddressTransfers(chains.ETH, addr, Both, 0, math.MaxUint64, func(*chains.Transfer) error { want++; return nil }); err != nil {
		b.Fatal(err)
	}
	if want == 0 {
		b.Fatal("benchmark address has no transfers")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := s.AddressTransfers(chains.ETH, addr, Both, 0, math.MaxUint64, func(*chains.Transfer) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("scanned %d transfers, want %d", n, want)
		}
	}
	reportRate(b, want, "transfers/s")
	b.ReportMetric(float64(want), "transfers/scan")
}

// BenchmarkDecodeTransfers decodes the transfers value of one benchmark
// block (75 transfers): all of it as a scan does, and one transfer in the
// middle as an address-index look-up does.
func BenchmarkDecodeTransfers(b *testing.B) {
	blk := genBlocks(5, 1, benchTxs, benchPer, benchAddrs)[0]
	enc := encodeTransfers(ptrs(blk.Transfers))
	mid := blk.Transfers[len(blk.Transfers)/2]
	b.Run("whole block", func(b *testing.B) {
		b.ReportAllocs()
		var r transfersReader
		for i := 0; i < b.N; i++ {
			if err := r.reset(enc, 5); err != nil {
				b.Fatal(err)
			}
			for r.next() {
				var t chains.Transfer
				if err := r.decode(&t); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(blk.Transfers)), "ns/transfer")
	})
	b.Run("one transfer", func(b *testing.B) {
		b.ReportAllocs()
		var r transfersReader
		for i := 0; i < b.N; i++ {
			if err := r.reset(enc, 5); err != nil {
				b.Fatal(err)
			}
			if !r.seek(mid.TxIndex, mid.Ordinal) {
				b.Fatal("not found")
			}
			var t chains.Transfer
			if err := r.decode(&t); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// keyCount counts the store's keys, the schema version's aside.
func keyCount(tb testing.TB, s *Store) int {
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if it.Item().Key()[0] != prefixVersion {
				n++
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestKeysPerBlock pins the number of keys the benchmark workload writes:
// per block its header, transactions value, transfers value, one address
// entry per address involved and one look-up per transaction (schema
// version 1 wrote 27,600 for the workload: a key per transaction, per
// transfer and per address and transfer).
func TestKeysPerBlock(t *testing.T) {
	s := openStore(t, t.TempDir())
	blocks := genBlocks(0, benchBlocks, benchTxs, benchPer, benchAddrs)
	if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, b := range blocks {
		addrs := map[string]bool{}
		for _, tr := range b.Transfers {
			for _, f := range tr.From {
				addrs[string(canonAddr(chainETH, f))] = true
			}
			addrs[string(canonAddr(chainETH, tr.To))] = true
		}
		want += 3 + len(addrs) + len(b.Txs)
	}
	got := keyCount(t, s)
	t.Logf("%d keys for %d blocks, %d transfers", got, benchBlocks, benchXfers)
	if got != want {
		t.Fatalf("%d keys, want %d", got, want)
	}
}
