// Package labels loads address labels (attribution tags) from label files
// and answers "what is known about this address" for the tracer.
//
// Supported formats (see Detect for how a file's format is recognised):
//
//   - GraphSense TagPack YAML: header keys (title, creator, currency,
//     confidence, lastmod, source, category, ...) followed by a `tags:` list.
//     Every header value except the pack-level keys title, description and
//     tags is inherited by each tag unless the tag sets the key itself.
//   - CSV with header `chain,address,label,category,source` (CONTRACT), plus
//     a documented column mapping for other headers (see csv.go).
//   - OFAC SDN XML, sdn.xml and sdn_advanced.xml: every "Digital Currency
//     Address - TAG" becomes a label named after its entry, category
//     "sanctioned", source "OFAC SDN (PROGRAMS)" (see ofac.go for the chain
//     of each TAG and how duplicates are kept).
//
// Files may be bzip2- or gzip-compressed (recognised by their magic bytes,
// not their names); the SHA-256 of a Set is always the digest of the file
// bytes as stored on disk.
package labels

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Label is one attribution of one address, as read from a label file.
// Fields are plain values so that it serialises as is (JSON keys snake_case).
type Label struct {
	// Chain is the normalised chain code: "eth", "btc", "ltc", "bch", "zec",
	// "trx"; OFAC labels may also carry the lower-case name of a currency
	// chaintrace has no code for ("xmr", "dash", ...; see OFACChain).
	Chain string `json:"chain"`
	// Address is the address exactly as written in the file (trimmed).
	Address string `json:"address"`
	// Canonical is the canonical form: EIP-55 checksummed for eth, the
	// address as given for every other chain.
	Canonical string `json:"canonical"`
	// ChecksumMismatch is set when the file gave a mixed-case eth address
	// with a wrong EIP-55 checksum and it was accepted (ChecksumWarn).
	ChecksumMismatch bool `json:"checksum_mismatch,omitempty"`
	// Label is the human-readable label, e.g. "Binance 14".
	Label string `json:"label"`
	// Category is the normalised category (GraphSense taxonomy name where
	// one exists, see NormalizeCategory); empty when the file gives none.
	Category string `json:"category,omitempty"`
	// CategoryRaw is the category as written, set only when it differs
	// from Category.
	CategoryRaw string `json:"category_raw,omitempty"`
	// Abuse is the GraphSense `abuse` field, if any.
	Abuse string `json:"abuse,omitempty"`
	// Actor is the GraphSense `actor` field (an actor id such as "binance"), if any.
	Actor string `json:"actor,omitempty"`
	// Source is where the attribution comes from: the tag's (possibly
	// inherited) `source`, or the CSV row's source column; when the file gives
	// none, the TagPack title, or else the file's base name.
	Source string `json:"source,omitempty"`
	// Confidence is the (possibly inherited) confidence as written: a
	// GraphSense confidence id such as "web_crawl" or a number such as "50".
	Confidence string `json:"confidence,omitempty"`
	// Creator and LastMod are the (possibly inherited) TagPack fields.
	Creator string `json:"creator,omitempty"`
	LastMod string `json:"lastmod,omitempty"`
	// LabelSet is the name of the Set the label came from.
	LabelSet string `json:"label_set"`
	// Line is the line of the tag / row in the file (1-based).
	Line int `json:"line,omitempty"`
	// Extra holds other scalar fields of the tag or row (e.g. is_public,
	// the upbit CSV's level), keyed by their name in the file.
	Extra map[string]string `json:"extra,omitempty"`
}

// Set is the content of one label file.
type Set struct {
	// Name is the base name of the file, e.g. "upbit-2019-etherscan-labels.csv".
	Name string `json:"name"`
	// Title is the TagPack title (empty for formats without one).
	Title string `json:"title,omitempty"`
	// Format is the detected format.
	Format Format `json:"format"`
	// SHA256 is the lower-case hex SHA-256 of the file bytes as stored on
	// disk (before any decompression).
	SHA256 string `json:"sha256"`
	// Entries is len(Labels).
	Entries int `json:"entries"`
	// Labels in file order.
	Labels []Label `json:"labels"`
	// Warnings are one-line "FILE:LINE: reason" notes about accepted
	// irregularities (see Options).
	Warnings []string `json:"warnings,omitempty"`
}

// SetInfo is the provenance of a Set: the exhibit's label_sets entry.
type SetInfo struct {
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	Entries int    `json:"entries"`
}

// Info returns the provenance record of s.
func (s *Set) Info() SetInfo {
	return SetInfo{Name: s.Name, SHA256: s.SHA256, Entries: s.Entries}
}

// Format identifies a label file format.
type Format int

// Known formats, each with its loader registered in an init function.
const (
	FormatUnknown      Format = iota
	FormatTagPack             // GraphSense TagPack YAML
	FormatCSV                 // CSV (chain,address,label,category,source or a mapped header)
	FormatOFACSDN             // OFAC sdn.xml
	FormatOFACAdvanced        // OFAC sdn_advanced.xml
)

var formatNames = [...]string{
	FormatUnknown:      "unknown",
	FormatTagPack:      "tagpack",
	FormatCSV:          "csv",
	FormatOFACSDN:      "ofac-sdn",
	FormatOFACAdvanced: "ofac-sdn-advanced",
}

func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("format(%d)", int(f))
}

// MarshalText implements encoding.TextMarshaler (JSON: a string).
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Format) UnmarshalText(b []byte) error {
	for i, n := range formatNames {
		if n == string(b) {
			*f = Format(i)
			return nil
		}
	}
	return fmt.Errorf("labels: unknown format %q", b)
}

// Chain codes.
const (
	ChainETH = "eth"
	ChainBTC = "btc"
)

// chainAliases maps lower-cased chain / currency / network names to chain codes.
var chainAliases = map[string]string{
	"eth": ChainETH, "ethereum": ChainETH,
	"btc": ChainBTC, "bitcoin": ChainBTC, "xbt": ChainBTC,
	"ltc": "ltc", "litecoin": "ltc",
	"bch": "bch", "bitcoin_cash": "bch", "bitcoincash": "bch",
	"zec": "zec", "zcash": "zec",
	"trx": "trx", "tron": "trx",
}

// NormalizeChain maps a chain, currency or network name ("ETH", "Bitcoin",
// "xbt", ...) to its chain code. ok is false for an unknown chain.
func NormalizeChain(s string) (chain string, ok bool) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.ReplaceAll(k, " ", "_")
	chain, ok = chainAliases[k]
	return chain, ok
}

// Categories of the GraphSense taxonomy that chaintrace names.
const (
	CategoryExchange      = "exchange"
	CategoryMixingService = "mixing_service"
	CategoryBridge        = "bridge"
	CategoryDefiDex       = "defi_dex"
	CategoryPerpetrator   = "perpetrator"
	CategorySanctioned    = "sanctioned"
	CategoryHacker        = "hacker"
	CategoryScam          = "scam"
	CategoryMiner         = "miner"
	CategoryService       = "service"
)

// DefaultStopCategories are the categories at which trace stops by default.
var DefaultStopCategories = []string{CategoryExchange, CategoryMixingService, CategoryBridge}

// categorySynonyms maps normalised spellings seen in real TagPacks and label
// lists to taxonomy names. Keys are already lower-case with underscores.
var categorySynonyms = map[string]string{
	"exchanges": CategoryExchange, "cex": CategoryExchange,
	"centralized_exchange": CategoryExchange, "centralised_exchange": CategoryExchange,
	"exchange_wallet": CategoryExchange,

	"mixer": CategoryMixingService, "mixers": CategoryMixingService,
	"mixing": CategoryMixingService, "tumbler": CategoryMixingService,
	"mixing_services": CategoryMixingService,

	"bridges": CategoryBridge, "defi_bridge": CategoryBridge,
	"cross_chain_bridge": CategoryBridge,

	"defi": CategoryDefiDex, "dex": CategoryDefiDex,
	"decentralized_exchange": CategoryDefiDex, "decentralised_exchange": CategoryDefiDex,

	"perpetrators": CategoryPerpetrator,

	"sanction": CategorySanctioned, "sanctions": CategorySanctioned,
	"ofac": CategorySanctioned, "sdn": CategorySanctioned,

	"hackers": CategoryHacker, "hack": CategoryHacker,
	"exploit": CategoryHacker, "exploiter": CategoryHacker,

	"scams": CategoryScam, "scammer": CategoryScam, "fraud": CategoryScam,
	"phishing": CategoryScam, "ponzi": CategoryScam, "ponzi_scheme": CategoryScam,

	"miners": CategoryMiner, "mining": CategoryMiner, "mining_pool": CategoryMiner,
	"mining_service": CategoryMiner,

	"services": CategoryService,
}

var categorySep = regexp.MustCompile(`[\s\-]+`)

// NormalizeCategory lower-cases a category, turns runs of spaces and hyphens
// into one underscore and maps known synonyms to GraphSense taxonomy names
// ("defi" → "defi_dex", "mixer" → "mixing_service", ...). Unknown categories
// are returned in that normalised spelling.
func NormalizeCategory(s string) string {
	k := strings.ToLower(strings.TrimSpace(s))
	if k == "" {
		return ""
	}
	k = categorySep.ReplaceAllString(k, "_")
	if v, ok := categorySynonyms[k]; ok {
		return v
	}
	return k
}

var ethAddressRE = regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`)

// isEthShaped reports whether s is 0x followed by 40 hex digits.
func isEthShaped(s string) bool { return ethAddressRE.MatchString(s) }

// CanonicalAddress validates addr for chain (a chain code) and returns its
// canonical form. For eth the address must be 0x+40 hex digits; all-lower and
// all-upper case are accepted, mixed case must be a correct EIP-55 checksum;
// the result is EIP-55 checksummed. Other chains are returned as given
// (trimmed). Errors are ErrMissingAddress, ErrBadAddress or ErrBadChecksum
// wrapped with the address.
func CanonicalAddress(chain, addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", ErrMissingAddress
	}
	if chain != ChainETH {
		return addr, nil
	}
	if !isEthShaped(addr) {
		return "", fmt.Errorf("%w: eth address %q is not 0x followed by 40 hex digits", ErrBadAddress, addr)
	}
	sum := common.HexToAddress(addr).Hex()
	hex := addr[2:]
	if hex != strings.ToLower(hex) && hex != strings.ToUpper(hex) && addr != sum {
		return "", fmt.Errorf("%w: eth address %s (expected %s)", ErrBadChecksum, addr, sum)
	}
	return sum, nil
}

// lookupKey is the Index key of an address: eth lower-case; bech32 btc-like
// addresses (case-insensitive by BIP-173) lower-case; anything else as given.
func lookupKey(chain, addr string) string {
	addr = strings.TrimSpace(addr)
	switch chain {
	case ChainETH:
		return chain + ":" + strings.ToLower(addr)
	default:
		l := strings.ToLower(addr)
		for _, hrp := range []string{"bc1", "tb1", "bcrt1", "ltc1", "tltc1"} {
			if strings.HasPrefix(l, hrp) {
				return chain + ":" + l
			}
		}
		return chain + ":" + addr
	}
}
