package exhibit

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// ComparePosition orders two positions inside one transaction as the exhibit
// does: "tx" first, then call frames depth-first ("call:0" < "call:0.0" <
// "call:0.1" < "call:1"), then logs by index ("log:2" < "log:10"); outputs
// ("out:N") by N. It returns -1, 0 or +1.
func ComparePosition(a, b string) int {
	ka, na := positionKey(a)
	kb, nb := positionKey(b)
	if c := cmp.Compare(ka, kb); c != 0 {
		return c
	}
	if c := slices.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(a, b) // malformed positions: any fixed order
}

func positionKey(p string) (int, []uint64) {
	kind, rest, _ := strings.Cut(p, ":")
	var k int
	switch kind {
	case "tx":
		return 0, nil
	case "call":
		k = 1
	case "log":
		k = 2
	case "out":
		k = 3
	default:
		return 4, nil
	}
	var nums []uint64
	for _, f := range strings.Split(rest, ".") {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 4, nil
		}
		nums = append(nums, n)
	}
	return k, nums
}

// CompareTransfers orders rows as "transfers" is ordered: block_number, then
// tx_index, then position. Rows equal in all three (a utxo output is one row)
// are ordered by the remaining fields so that the order is total.
func CompareTransfers(a, b *Transfer) int {
	return cmp.Or(
		cmp.Compare(a.BlockNumber, b.BlockNumber),
		cmp.Compare(a.TxIndex, b.TxIndex),
		ComparePosition(a.Position, b.Position),
		strings.Compare(a.TxHash, b.TxHash),
		strings.Compare(a.To, b.To),
		strings.Compare(a.Asset, b.Asset),
		strings.Compare(a.TokenID, b.TokenID),
		cmp.Compare(a.Hop, b.Hop),
	)
}

// SortTransfers sorts rows into exhibit order.
func SortTransfers(ts []Transfer) {
	slices.SortStableFunc(ts, func(a, b Transfer) int { return CompareTransfers(&a, &b) })
}
