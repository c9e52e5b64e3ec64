package bitcoin

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
)

var satPerBTC = big.NewRat(btcutil.SatoshiPerBitcoin, 1)

// ParseBTC converts an amount in BTC, as the decimal text of a JSON number
// ("50.00000000", "0.0001", "1e-08"), to satoshi exactly. It refuses
// fractions of a satoshi, negative amounts and amounts above 21 million
// BTC. No float is involved.
func ParseBTC(s string) (int64, error) {
	if sat, ok := parsePlainBTC(s); ok {
		return sat, nil
	}
	// Exponent forms and anything unusual: exact rational arithmetic.
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.Trim(s, "0123456789.eE+-") != "" {
		return 0, fmt.Errorf("%w: %q is not a number", ErrBadAmount, s)
	}
	r.Mul(r, satPerBTC)
	if !r.IsInt() {
		return 0, fmt.Errorf("%w: %s BTC is not a whole number of satoshi", ErrBadAmount, s)
	}
	n := r.Num()
	if n.Sign() < 0 || !n.IsInt64() || n.Int64() > btcutil.MaxSatoshi {
		return 0, fmt.Errorf("%w: %s BTC is out of range", ErrBadAmount, s)
	}
	return n.Int64(), nil
}

// parsePlainBTC is the fast path for digits[.digits] with at most eight
// decimals (trailing zeros beyond eight are accepted).
func parsePlainBTC(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 8 {
		return 0, false
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 8 {
		return 0, false
	}
	var sat int64
	for i := 0; i < len(whole); i++ {
		c := whole[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sat = sat*10 + int64(c-'0')
	}
	for i := 0; i < 8; i++ {
		d := int64(0)
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			d = int64(c - '0')
		}
		sat = sat*10 + d
	}
	if sat > btcutil.MaxSatoshi {
		return 0, false // let the slow path word the error
	}
	return sat, true
}
