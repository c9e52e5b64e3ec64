package chains

import "testing"

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:8545", "http://127.0.0.1:8545"},
		{"https://user:pass@node.example:8545/", "https://node.example:8545"},
		{"https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161", "https://mainnet.infura.io/v3/REDACTED"},
		{"https://eth-mainnet.g.alchemy.com/v2/AbCdEf1234567890", "https://eth-mainnet.g.alchemy.com/v2/REDACTED"},
		{"https://api.etherscan.io/api?module=account&apikey=SECRET", "https://api.etherscan.io/api"},
		{"https://rpc.example/rpc#frag", "https://rpc.example/rpc"},
		{"https://x.example/mainnet/abc123def456", "https://x.example/mainnet/REDACTED"},
		{"not a url", "REDACTED"},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
