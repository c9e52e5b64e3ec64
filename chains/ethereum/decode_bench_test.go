package ethereum

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/benchchain"
	"github.com/chaintrace/chaintrace/internal/devchain"
	gojson "github.com/goccy/go-json"
)

// BenchmarkDecodeJSON decodes the same recorded blocks with each JSON
// library in one run, so that the choice of unmarshal rests on a ratio
// measured on the same machine at the same time.
func BenchmarkDecodeJSON(b *testing.B) {
	raws := benchRawBlocks(b)
	for _, lib := range []struct {
		name string
		fn   func([]byte, any) error
	}{{"encoding-json", json.Unmarshal}, {"goccy-go-json", gojson.Unmarshal}} {
		b.Run(lib.name, func(b *testing.B) {
			saved := unmarshal
			unmarshal = lib.fn
			defer func() { unmarshal = saved }()
			for i := 0; b.Loop(); i++ {
				if _, err := Decode(&raws[i%len(raws)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchRawBlocks fetches 40 blocks of mixed traffic (plain, contract
// fan-out, reverted inner calls, ERC-20, ERC-721) from an in-process node.
func benchRawBlocks(b *testing.B) []chains.RawBlock {
	b.Helper()
	node, err := devchain.Start(devchain.Config{Funded: benchchain.Funded()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { node.Close() })
	res, err := benchchain.Build(node, 40, 25)
	if err != nil {
		b.Fatal(err)
	}
	a, err := Dial(context.Background(), node.URL(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	var nums []uint64
	for n := res.First; n <= res.Last; n++ {
		nums = append(nums, n)
	}
	raws, err := a.FetchRaw(context.Background(), nums)
	if err != nil {
		b.Fatal(err)
	}
	return raws
}
