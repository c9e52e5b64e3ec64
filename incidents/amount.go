package incidents

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/chaintrace/chaintrace/chains"
)

// Native units and their decimals.
var nativeUnits = map[string]struct {
	chain, asset string
	decimals     int
}{
	"ETH": {ChainETH, chains.AssetETH, 18},
	"BTC": {ChainBTC, chains.AssetBTC, 8},
}

// OnChain says how the amount is found on chain: the asset as transfer
// rows name it ("ETH", "BTC", a token contract) and the unit's decimals.
// ok is false for an amount no chain carries (USD), an approximate one, or
// a token amount without its contract and decimals.
func (a *Amount) OnChain(chain string) (asset string, decimals int, ok bool) {
	if a.Approximate {
		return "", 0, false
	}
	if a.Token != "" && a.Decimals != nil {
		if chain != ChainETH {
			return "", 0, false
		}
		return a.Token, *a.Decimals, true
	}
	if u, ok := nativeUnits[strings.ToUpper(a.Unit)]; ok && u.chain == chain {
		return u.asset, u.decimals, true
	}
	return "", 0, false
}

// BaseUnits is the amount's value in base units (wei, satoshi, token base
// units), and the rounding step of the figure as stated, in base units.
func (a *Amount) BaseUnits(decimals int) (value, step *big.Int, err error) {
	value, err = ToBase(a.Value, decimals)
	if err != nil {
		return nil, nil, err
	}
	if a.Precision != "" {
		step, err = ToBase(a.Precision, decimals)
		if err != nil {
			return nil, nil, fmt.Errorf("precision: %w", err)
		}
		return value, step, nil
	}
	frac := 0
	if i := strings.IndexByte(a.Value, '.'); i >= 0 {
		frac = len(a.Value) - i - 1
	}
	step = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals-frac)), nil)
	return value, step, nil
}

// Matches reports whether an on-chain amount in base units is the amount
// as stated: within half a rounding step of it.
func (a *Amount) Matches(actual *big.Int, decimals int) (bool, error) {
	v, step, err := a.BaseUnits(decimals)
	if err != nil {
		return false, err
	}
	d := new(big.Int).Sub(actual, v)
	d.Abs(d).Lsh(d, 1)
	return d.Cmp(step) <= 0, nil
}

// ToBase converts an exact decimal string to base units of a unit with
// the given decimals. More fractional digits than decimals is an error (the
// figure would name a fraction of a base unit).
func ToBase(s string, decimals int) (*big.Int, error) {
	if !decimalRE.MatchString(s) {
		return nil, fmt.Errorf("%q is not a decimal number", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > decimals {
		return nil, fmt.Errorf("%s has %d decimals; the unit has %d", s, len(frac), decimals)
	}
	digits := whole + frac + strings.Repeat("0", decimals-len(frac))
	v, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal number", s)
	}
	return v, nil
}

// FromBase renders base units in the unit, without trailing zeros:
// FromBase(1500000000000000000, 18) is "1.5".
func FromBase(v *big.Int, decimals int) string {
	if v == nil {
		return "0"
	}
	neg := v.Sign() < 0
	s := new(big.Int).Abs(v).String()
	if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		whole, frac := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
		s = whole
		if frac != "" {
			s += "." + frac
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}
