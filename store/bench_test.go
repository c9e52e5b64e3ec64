package store

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

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
// the store grows by 7,500 transfers each time.
func BenchmarkWriteBlocks(b *testing.B) {
	s := openStore(b, b.TempDir())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		blocks := genBlocks(uint64(i*benchBlocks), benchBlocks, benchTxs, benchPer, benchAddrs)
		b.StartTimer()
		if err := s.WriteBlocks(chains.ETH, blocks); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, benchXfers, "transfers/s")
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

// BenchmarkDecodeTransfer decodes one ERC-20 transfer alone and as the
// next row of a scan (same block and tx hash as the row before).
func BenchmarkDecodeTransfer(b *testing.B) {
	tr := genBlocks(5, 1, 1, 2, 10)[0].Transfers[1]
	enc := encodeTransfer(&tr)
	for _, bc := range []struct {
		name string
		memo *transferMemo
	}{{"alone", nil}, {"in scan", new(transferMemo)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var t chains.Transfer
				if err := decodeTransfer(enc, 5, 0, 1, &t, bc.memo); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
