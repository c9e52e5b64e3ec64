package ethereum_test

import (
	"testing"

	"github.com/chaintrace/chaintrace/chains/ethereum"
)

// BenchmarkDecode measures turning a node's raw answers (block, receipts,
// callTracer traces) into transfers: chaintrace's own CPU per block.
func BenchmarkDecode(b *testing.B) {
	raws := ethereum.BenchRawBlocks(b)
	var bytes, transfers int
	for _, r := range raws {
		for _, p := range r.Parts {
			bytes += len(p)
		}
	}
	b.SetBytes(int64(bytes / len(raws)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		bt, err := ethereum.Decode(&raws[i%len(raws)])
		if err != nil {
			b.Fatal(err)
		}
		transfers += len(bt.Transfers)
	}
	b.ReportMetric(float64(transfers)/b.Elapsed().Seconds(), "transfers/s")
}
