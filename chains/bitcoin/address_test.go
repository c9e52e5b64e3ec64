package bitcoin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segwit encodes a witness program independently of btcutil's address
// types: bech32 for version 0, bech32m from version 1 (BIP173, BIP350).
func segwit(t *testing.T, hrp string, ver byte, prog []byte) string {
	t.Helper()
	conv, err := bech32.ConvertBits(prog, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte{ver}, conv...)
	var s string
	if ver == 0 {
		s, err = bech32.Encode(hrp, data)
	} else {
		s, err = bech32.EncodeM(hrp, data)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return "script:" + hex.EncodeToString(h[:])
}

// TestScriptAddress covers every script kind on the four networks the
// backends serve (and testnet4/signet). Expected strings are literal
// published vectors on mainnet/testnet and are otherwise built with
// base58check / bech32 directly from the hash, not through txscript.
func TestScriptAddress(t *testing.T) {
	const (
		pkh    = "b5cd7aaed869cd5ccb45868e8666e7e934a23736" // bitcoin-etl block 50001
		sh     = "751e76e8199196d454941c45d1b3a323f1433bd6"
		wsh    = "1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"
		tr     = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
		ukey   = "0496b538e853519c726a2c91e61ec11600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e62294721166bf621e73a82cbf2342c858ee" // block 1
		ckey   = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
		ckey2  = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"
		p2pkh  = "76a914" + pkh + "88ac"
		p2sh   = "a914" + sh + "87"
		p2wpkh = "0014" + sh
		p2wsh  = "0020" + wsh
		p2tr   = "5120" + tr
	)
	literal := map[string]map[string]string{ // script -> network -> address
		p2pkh:                                    {"mainnet": "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"},
		p2wpkh:                                   {"mainnet": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		p2wsh:                                    {"testnet3": "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"},
		p2tr:                                     {"mainnet": "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"},
		"41" + ukey + "ac":                       {"mainnet": "12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX"},
		"21" + ckey + "ac":                       {"mainnet": "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"},
		"0014" + pkh + "00":                      {}, // not a witness program: non-standard
		"":                                       {},
		"51":                                     {}, // OP_TRUE
		"6a0b68656c6c6f20776f726c64":             {}, // OP_RETURN "hello world"
		"5121" + ckey + "21" + ckey2 + "52ae":    {}, // bare 1-of-2 multisig
		"5220" + tr:                              {}, // witness v2: unknown, no address here
		"4104" + strings.Repeat("00", 64) + "ac": {}, // P2PK of a key not on the curve: still its hash
	}
	nets := []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.RegressionNetParams, &chaincfg.SimNetParams, &chaincfg.TestNet4Params, &chaincfg.SigNetParams}
	for script := range literal {
		b := mustHex(t, script)
		for _, net := range nets {
			var want string
			switch script {
			case p2pkh:
				want = base58.CheckEncode(mustHex(t, pkh), net.PubKeyHashAddrID)
			case p2sh:
				want = base58.CheckEncode(mustHex(t, sh), net.ScriptHashAddrID)
			case p2wpkh:
				want = segwit(t, net.Bech32HRPSegwit, 0, mustHex(t, sh))
			case p2wsh:
				want = segwit(t, net.Bech32HRPSegwit, 0, mustHex(t, wsh))
			case p2tr:
				want = segwit(t, net.Bech32HRPSegwit, 1, mustHex(t, tr))
			case "41" + ukey + "ac", "4104" + strings.Repeat("00", 64) + "ac":
				want = base58.CheckEncode(btcutil.Hash160(b[1:66]), net.PubKeyHashAddrID)
			case "21" + ckey + "ac":
				want = base58.CheckEncode(btcutil.Hash160(b[1:34]), net.PubKeyHashAddrID)
			default:
				want = sha(b)
			}
			if lit, ok := literal[script][net.Name]; ok && lit != want {
				t.Fatalf("test vector disagrees with the independent encoding: %s vs %s", lit, want)
			}
			if got := ScriptAddress(b, net); got != want {
				t.Errorf("%s on %s: %s, want %s", script, net.Name, got, want)
			}
		}
	}
	// P2SH has a literal mainnet form too.
	if got := ScriptAddress(mustHex(t, p2sh), &chaincfg.MainNetParams); !strings.HasPrefix(got, "3") {
		t.Errorf("P2SH on mainnet: %s", got)
	}
	// The sha256 of the empty script is well known.
	if got := ScriptAddress(nil, &chaincfg.MainNetParams); got != "script:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty script: %s", got)
	}
}

func TestParseAddress(t *testing.T) {
	main, test, reg, sim := &chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.RegressionNetParams, &chaincfg.SimNetParams
	hash := mustHex(t, "b5cd7aaed869cd5ccb45868e8666e7e934a23736")
	prog := mustHex(t, "1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262")
	ok := []struct {
		in   string
		net  *chaincfg.Params
		want string
	}{
		{"1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ", main, "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"},
		{" 1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ\n", main, "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"},
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", main, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", main, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"},
		// a hex public key is its P2PKH address
		{"0496b538e853519c726a2c91e61ec11600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e62294721166bf621e73a82cbf2342c858ee", main, "12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX"},
		{base58.CheckEncode(hash, test.PubKeyHashAddrID), test, base58.CheckEncode(hash, test.PubKeyHashAddrID)},
		{base58.CheckEncode(hash, test.ScriptHashAddrID), test, base58.CheckEncode(hash, test.ScriptHashAddrID)},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", test, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"},
		// regtest shares testnet's base58 prefixes
		{base58.CheckEncode(hash, test.PubKeyHashAddrID), reg, base58.CheckEncode(hash, reg.PubKeyHashAddrID)},
		{segwit(t, "bcrt", 0, prog), reg, segwit(t, "bcrt", 0, prog)},
		{segwit(t, "bcrt", 1, prog), reg, segwit(t, "bcrt", 1, prog)},
		{base58.CheckEncode(hash, sim.PubKeyHashAddrID), sim, base58.CheckEncode(hash, sim.PubKeyHashAddrID)},
		{segwit(t, "sb", 0, hash), sim, segwit(t, "sb", 0, hash)},
	}
	for _, c := range ok {
		a, err := ParseAddress(c.in, c.net)
		if err != nil {
			t.Errorf("%q on %s: %v", c.in, c.net.Name, err)
			continue
		}
		if a.EncodeAddress() != c.want || !a.IsForNet(c.net) {
			t.Errorf("%q on %s: %s", c.in, c.net.Name, a.EncodeAddress())
		}
		if n, err := NormalizeAddress(c.in, c.net); err != nil || n != c.want {
			t.Errorf("NormalizeAddress(%q): %q %v", c.in, n, err)
		}
	}
	flip := func(s string, i int, c byte) string { b := []byte(s); b[i] = c; return string(b) }
	bad := []struct {
		in   string
		net  *chaincfg.Params
		err  error
		want string // the whole one-line message
	}{
		{"1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ", test, ErrWrongNetwork, "address of another network: address 1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ is for mainnet, the node serves testnet3"},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", main, ErrWrongNetwork, "address of another network: address tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7 is for testnet3, testnet4 or signet, the node serves mainnet"},
		{base58.CheckEncode(hash, test.PubKeyHashAddrID), main, ErrWrongNetwork, "address of another network: address " + base58.CheckEncode(hash, test.PubKeyHashAddrID) + " is for testnet3, testnet4, signet or regtest, the node serves mainnet"},
		{segwit(t, "bcrt", 0, prog), test, ErrWrongNetwork, "address of another network: address " + segwit(t, "bcrt", 0, prog) + " is for regtest, the node serves testnet3"},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", sim, ErrWrongNetwork, "address of another network: address bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 is for mainnet, the node serves simnet"},
		{base58.CheckEncode(hash, sim.PubKeyHashAddrID), reg, ErrWrongNetwork, "address of another network: address " + base58.CheckEncode(hash, sim.PubKeyHashAddrID) + " is for simnet, the node serves regtest"},
		{"1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHR", main, ErrBadAddress, "invalid address: 1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHR: bad base58 checksum"},
		{flip("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", 41, '5'), main, ErrBadAddress, "invalid address: bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5: bad bech32 checksum"},
		{flip("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", 10, 'q'), main, ErrBadAddress, "invalid address: bc1p0xlxvlqemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0: bad bech32 checksum"},
		{"1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQH0", main, ErrBadAddress, `invalid address: 1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQH0: not an address ('0' is not a base58 character)`},
		{"0x52908400098527886E0F7030069857D2E4169EE7", main, ErrBadAddress, ""},
		{"", main, ErrBadAddress, "invalid address: empty address"},
		{"abc", main, ErrBadAddress, ""},
	}
	for _, c := range bad {
		_, err := ParseAddress(c.in, c.net)
		if !errors.Is(err, c.err) {
			t.Errorf("%q on %s: %v, want %v", c.in, c.net.Name, err, c.err)
			continue
		}
		if c.want != "" && err.Error() != c.want {
			t.Errorf("%q on %s:\n got %s\nwant %s", c.in, c.net.Name, err, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error %q", err)
		}
	}
	if _, err := ParseAddress("1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ", nil); err == nil {
		t.Error("nil network accepted")
	}
	if n, err := NormalizeAddress("script:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", main); err != nil || n != "script:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("script form: %q %v", n, err)
	}
	if _, err := NormalizeAddress("script:abcd", main); !errors.Is(err, ErrBadAddress) {
		t.Errorf("short script form: %v", err)
	}
}

func TestNetworkByName(t *testing.T) {
	for in, want := range map[string]string{"main": "mainnet", "mainnet": "mainnet", "test": "testnet3", "testnet3": "testnet3", "testnet4": "testnet4", "regtest": "regtest", "simnet": "simnet", "signet": "signet"} {
		p, err := NetworkByName(in)
		if err != nil || p.Name != want {
			t.Errorf("%s: %v %v", in, p, err)
		}
	}
	if _, err := NetworkByName("dogecoin"); err == nil {
		t.Error("dogecoin accepted")
	}
}

func TestParseOutpoint(t *testing.T) {
	const txid = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	op, err := ParseOutpoint(txid + ":1")
	if err != nil || op.Hash.String() != txid || op.Index != 1 || op.String() != txid+":1" {
		t.Fatalf("%v %v", op, err)
	}
	if op, err := ParseOutpoint(strings.ToUpper(txid) + ":4294967295"); err != nil || op.Hash.String() != txid || op.Index != 4294967295 {
		t.Errorf("%v %v", op, err)
	}
	for _, s := range []string{"", txid, txid + ":", txid + ":-1", txid + ":+1", txid + ":4294967296", txid + ":1x", txid[1:] + ":0", "zz" + txid[2:] + ":0", txid + "00:0", "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"} {
		if _, err := ParseOutpoint(s); !errors.Is(err, ErrBadOutpoint) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestParseBTC(t *testing.T) {
	good := map[string]int64{
		"50.00000000":       5000000000,
		"50.0":              5000000000,
		"50":                5000000000,
		"0":                 0,
		"0.00000001":        1,
		"1e-08":             1,
		"1E-8":              1,
		"0.3":               30000000, // 0.1+0.2 in floats is not this
		"1.23456789":        123456789,
		"20999999.97690000": 2099999997690000,
		"21000000":          2100000000000000,
		"0.000000010":       1,
		"2.5e1":             2500000000,
	}
	for s, want := range good {
		got, err := ParseBTC(s)
		if err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"0.000000001", "-1", "-0.00000001", "21000000.00000001", "92233720368.54775808", "abc", "", "1/2", "NaN", "Inf", "0x10", "1.2.3"} {
		if v, err := ParseBTC(s); !errors.Is(err, ErrBadAmount) {
			t.Errorf("%q: %d %v", s, v, err)
		}
	}
}
