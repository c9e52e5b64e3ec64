package bitcoin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// ScriptPrefix starts the display form of an output that has no standard
// address: "script:" + the hex SHA-256 of its script.
const ScriptPrefix = "script:"

// Networks are the networks whose addresses this package knows, in the order
// error messages name them.
var Networks = []*chaincfg.Params{
	&chaincfg.MainNetParams,
	&chaincfg.TestNet3Params,
	&chaincfg.TestNet4Params,
	&chaincfg.SigNetParams,
	&chaincfg.RegressionNetParams,
	&chaincfg.SimNetParams,
}

// NetworkByName finds a network by its btcd name ("mainnet", "testnet3",
// "testnet4", "signet", "regtest", "simnet") or by the name Bitcoin Core's
// getblockchaininfo gives as "chain" ("main", "test", "testnet4", "signet",
// "regtest").
func NetworkByName(name string) (*chaincfg.Params, error) {
	switch strings.ToLower(name) {
	case "main", "mainnet", "bitcoin":
		return &chaincfg.MainNetParams, nil
	case "test", "testnet", "testnet3":
		return &chaincfg.TestNet3Params, nil
	}
	for _, p := range Networks {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("unknown bitcoin network %q (want mainnet, testnet3, testnet4, signet, regtest or simnet)", name)
}

// ScriptHashAddress is the display form of a script with no standard
// address.
func ScriptHashAddress(pkScript []byte) string {
	h := sha256.Sum256(pkScript)
	return ScriptPrefix + hex.EncodeToString(h[:])
}

// ScriptAddress is the display address of an output script on net: the
// standard address for P2PKH, P2SH, P2WPKH, P2WSH and P2TR; the P2PKH
// address of the key for P2PK (the hash of the key bytes as they appear in
// the script, compressed or not); "script:"+sha256 for everything else.
func ScriptAddress(pkScript []byte, net *chaincfg.Params) string {
	class, addrs, _, err := txscript.ExtractPkScriptAddrs(pkScript, net)
	if err != nil {
		return ScriptHashAddress(pkScript)
	}
	switch class {
	case txscript.PubKeyTy:
		// OP_DATA_33/65 <key> OP_CHECKSIG; the key need not be a valid
		// curve point for its hash to be the address Core shows.
		key := pkScript[1 : len(pkScript)-1]
		a, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(key), net)
		if err == nil {
			return a.EncodeAddress()
		}
	case txscript.PubKeyHashTy, txscript.ScriptHashTy, txscript.WitnessV0PubKeyHashTy,
		txscript.WitnessV0ScriptHashTy, txscript.WitnessV1TaprootTy:
		if len(addrs) == 1 {
			return addrs[0].EncodeAddress()
		}
	}
	return ScriptHashAddress(pkScript)
}

// isNullData reports an OP_RETURN output.
func isNullData(pkScript []byte) bool {
	return len(pkScript) > 0 && pkScript[0] == txscript.OP_RETURN
}

// ParseAddress parses a standard address of net. A public key in hex (the
// old pay-to-pubkey "address") gives the P2PKH address of the key, the form
// transfer rows show. Errors are one line naming what is wrong: a bad
// base58 or bech32 checksum, an unknown format, or an address of another
// network ("address X is for testnet3, the node serves mainnet").
func ParseAddress(s string, net *chaincfg.Params) (btcutil.Address, error) {
	if net == nil {
		return nil, errors.New("no bitcoin network given")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty address", ErrBadAddress)
	}
	a, err := btcutil.DecodeAddress(s, net)
	if err == nil && a.IsForNet(net) {
		if pk, ok := a.(*btcutil.AddressPubKey); ok {
			return pk.AddressPubKeyHash(), nil
		}
		return a, nil
	}
	// Another network's address?
	var others []string
	for _, p := range Networks {
		if p == net || p.Net == net.Net && p.Name == net.Name {
			continue
		}
		if o, err := btcutil.DecodeAddress(s, p); err == nil && o.IsForNet(p) {
			others = append(others, p.Name)
		}
	}
	if len(others) > 0 {
		return nil, fmt.Errorf("%w: address %s is for %s, the node serves %s", ErrWrongNetwork, s, orList(others), net.Name)
	}
	return nil, fmt.Errorf("%w: %s: %s", ErrBadAddress, s, addressProblem(s, err))
}

// addressProblem says, in a few words, why s is no address.
func addressProblem(s string, err error) string {
	if i := strings.LastIndexByte(s, '1'); i > 0 && chaincfg.IsBech32SegwitPrefix(strings.ToLower(s[:i+1])) {
		if _, _, derr := bech32.DecodeNoLimit(s); derr != nil {
			var cs bech32.ErrInvalidChecksum
			if errors.As(derr, &cs) {
				return "bad bech32 checksum"
			}
			return "not valid bech32: " + derr.Error()
		}
		if err != nil {
			return err.Error()
		}
	}
	if _, _, derr := base58.CheckDecode(s); derr != nil {
		if derr == base58.ErrChecksum {
			return "bad base58 checksum"
		}
		for _, c := range s {
			if !strings.ContainsRune("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", c) {
				return fmt.Sprintf("not an address (%q is not a base58 character)", c)
			}
		}
		return "not an address (too short for base58check)"
	}
	if err != nil {
		return "not an address of a known kind (" + err.Error() + ")"
	}
	return "not an address of a known kind"
}

func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// NormalizeAddress returns the display form of an address as transfer rows
// show it: a standard address of net re-encoded (bech32 lower case, a hex
// public key as its P2PKH address), or a "script:" form with 64 hex digits
// in lower case.
func NormalizeAddress(s string, net *chaincfg.Params) (string, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, ScriptPrefix); ok {
		if len(rest) != 64 {
			return "", fmt.Errorf("%w: %s: want %s and 64 hex digits", ErrBadAddress, s, ScriptPrefix)
		}
		if _, err := hex.DecodeString(rest); err != nil {
			return "", fmt.Errorf("%w: %s: want %s and 64 hex digits", ErrBadAddress, s, ScriptPrefix)
		}
		return ScriptPrefix + strings.ToLower(rest), nil
	}
	a, err := ParseAddress(s, net)
	if err != nil {
		return "", err
	}
	return a.EncodeAddress(), nil
}

// ParseOutpoint parses "txid:vout" (txid as 64 hex digits in the usual
// display order, vout a decimal output index).
func ParseOutpoint(s string) (wire.OutPoint, error) {
	s = strings.TrimSpace(s)
	txid, vout, ok := strings.Cut(s, ":")
	if !ok {
		return wire.OutPoint{}, fmt.Errorf("%w: %q: want txid:vout", ErrBadOutpoint, s)
	}
	if len(txid) != 64 {
		return wire.OutPoint{}, fmt.Errorf("%w: %q: the txid must be 64 hex digits, not %d characters", ErrBadOutpoint, s, len(txid))
	}
	h, err := chainhash.NewHashFromStr(txid)
	if err != nil || !isHex(txid) {
		return wire.OutPoint{}, fmt.Errorf("%w: %q: the txid is not hex", ErrBadOutpoint, s)
	}
	if vout == "" || vout[0] == '+' || vout[0] == '-' {
		return wire.OutPoint{}, fmt.Errorf("%w: %q: the output index must be a decimal number", ErrBadOutpoint, s)
	}
	n, err := strconv.ParseUint(vout, 10, 32)
	if err != nil {
		return wire.OutPoint{}, fmt.Errorf("%w: %q: the output index must be a decimal number below 2^32", ErrBadOutpoint, s)
	}
	return wire.OutPoint{Hash: *h, Index: uint32(n)}, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
