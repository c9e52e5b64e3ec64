package ethereum

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	const good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" // EIP-55's own example
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{good, ""},
		{strings.ToLower(good), ""},
		{"0x" + strings.ToUpper(good[2:]), ""},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "wrong EIP-55 checksum"},
		{"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "want 0x"},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", "want 40 hex digits, got 39"},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", "not a hex digit"},
		{"", "want 0x"},
	} {
		a, err := ParseAddress(tc.in)
		if tc.wantErr == "" {
			if err != nil || a.Hex() != good {
				t.Errorf("ParseAddress(%q) = %s, %v; want %s", tc.in, a.Hex(), err, good)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseAddress(%q): error %v, want one mentioning %q", tc.in, err, tc.wantErr)
		}
	}
}
