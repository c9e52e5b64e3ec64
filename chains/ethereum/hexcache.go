package ethereum

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"
)

// checksums remembers the EIP-55 form of addresses seen recently. Each form
// costs a keccak hash, and the same few addresses (token contracts, routers,
// busy senders) fill most rows of a block range; the cache halved the cost
// of extracting rows in the index benchmark's profile.
var checksums = struct {
	sync.Mutex
	m map[common.Address]string
}{m: make(map[common.Address]string)}

// maxChecksums bounds the cache; when full it starts over.
const maxChecksums = 1 << 16

// hexAddr returns a.Hex(), from the cache when it can.
func hexAddr(a common.Address) string {
	checksums.Lock()
	s, ok := checksums.m[a]
	checksums.Unlock()
	if ok {
		return s
	}
	s = a.Hex()
	checksums.Lock()
	if len(checksums.m) >= maxChecksums {
		clear(checksums.m)
	}
	checksums.m[a] = s
	checksums.Unlock()
	return s
}
