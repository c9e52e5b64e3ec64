package ethereum

import (
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// ParseAddress reads an address as a user typed it. All-lower and all-upper
// hex are accepted as is; mixed case must be a correct EIP-55 checksum, since
// a mistyped character in a mixed-case address is exactly what the checksum
// exists to catch.
func ParseAddress(s string) (common.Address, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return common.Address{}, fmt.Errorf("address %q: want 0x followed by 40 hex digits", s)
	}
	h := s[2:]
	if len(h) != 40 {
		return common.Address{}, fmt.Errorf("address %q: want 40 hex digits, got %d", s, len(h))
	}
	for _, r := range h {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return common.Address{}, fmt.Errorf("address %q: %q is not a hex digit", s, r)
		}
	}
	a := common.HexToAddress(h)
	if h != strings.ToLower(h) && h != strings.ToUpper(h) && "0x"+h != a.Hex() {
		return common.Address{}, fmt.Errorf("address %q: wrong EIP-55 checksum (did you mean %s?)", s, a.Hex())
	}
	return a, nil
}
