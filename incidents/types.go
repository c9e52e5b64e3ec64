package incidents

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Schema is the value of a catalog file's "schema" key.
const Schema = "chaintrace/incidents/v1"

// Chain codes a catalog knows (the same as labels and chains use).
const (
	ChainETH = "eth"
	ChainBTC = "btc"
)

// Roles the built-in catalog uses. A role is free text (a local catalog may
// use others); these are the ones code may rely on.
const (
	// Address roles.
	RoleVictim     = "victim"                  // the wallet or contract drained
	RoleExploiter  = "exploiter"               // the attacker's address named by the source
	RoleFirstHop   = "first hop"               // the first address the stolen value reached
	RoleLaundering = "laundering intermediary" // an address the funds passed through afterwards
	RoleNamedFBI   = "named by FBI PSA 250226" // listed by the notice without a role
	// Transaction roles.
	RoleDrain = "drain" // the transaction that took the value out of the victim
	RoleSweep = "sweep" // a drain that emptied the victim wallet
)

// Catalog is a set of incidents: the built-in catalog, a local file, or
// both merged.
type Catalog struct {
	Incidents []*Incident `json:"incidents"`
	// Files are the catalog files it was read from, in merge order.
	Files []string `json:"files,omitempty"`
}

// Get returns the incident with the given id, or an error wrapping
// ErrUnknownIncident that names the ids there are.
func (c *Catalog) Get(id string) (*Incident, error) {
	for _, inc := range c.Incidents {
		if inc.ID == id {
			return inc, nil
		}
	}
	return nil, fmt.Errorf("%w %q (the catalog has %s)", ErrUnknownIncident, id, strings.Join(c.IDs(), ", "))
}

// IDs lists the incident ids in catalog order.
func (c *Catalog) IDs() []string {
	out := make([]string, len(c.Incidents))
	for i, inc := range c.Incidents {
		out[i] = inc.ID
	}
	return out
}

// Source is a public document an incident's facts come from: a notice, a
// filing, a press release, a sanctions list, a label set.
type Source struct {
	// ID is how facts name the source ("fbi-psa-250226"), unique within
	// its incident.
	ID string `json:"id"`
	// Title names the document as a citation would: "FBI IC3 PSA 250226
	// (2025-02-26)".
	Title string `json:"title"`
	Line  int    `json:"-"`
	File  string `json:"-"`
}

// Fact is what every kind of fact carries: its sources and whether it was
// confirmed on chain.
type Fact struct {
	// Sources are ids of the incident's Sources that state the fact.
	Sources []string `json:"source"`
	// Confirmed is true only when a person or a test checked the fact
	// against a node; the built-in catalog states none as confirmed.
	Confirmed bool `json:"confirmed"`
	// Line and File locate the fact in the catalog file it came from.
	Line int    `json:"-"`
	File string `json:"-"`
}

// Where is "FILE:LINE" of the fact.
func (f *Fact) Where() string { return fmt.Sprintf("%s:%d", f.File, f.Line) }

// Date is the incident's date (UTC) as stated.
type Date struct {
	Value string `json:"value"` // YYYY-MM-DD
	Fact
}

// Time is the date at 00:00 UTC.
func (d Date) Time() time.Time {
	t, _ := time.Parse(time.DateOnly, d.Value)
	return t
}

// Amount is a quantity of value as a source states it.
//
// Value is an exact decimal string in Unit ("401346.77" ETH, "25500000"
// USDC). A stated figure is rounded: Precision is the step it is rounded
// to, in Unit; when the file gives none it is one unit of the last digit
// written ("401346.77" → 0.01, "342000" → 1). An on-chain amount matches
// when it lies within half a step of Value. Approximate amounts ("~$100M")
// and amounts in units no chain carries (USD) are never compared.
type Amount struct {
	Value     string `json:"value"`
	Unit      string `json:"unit"`
	Precision string `json:"precision,omitempty"`
	// Stated is the figure as the source writes it ("401,346.77 ETH").
	Stated      string `json:"stated,omitempty"`
	Approximate bool   `json:"approximate,omitempty"`
	// Token and Decimals name a token unit's contract (on eth) and its
	// decimals, so that the amount can be compared with Transfer logs.
	Token    string `json:"token,omitempty"`
	Decimals *int   `json:"decimals,omitempty"`
	Note     string `json:"note,omitempty"`
	Fact
}

// String renders the amount as stated in the catalog: "401346.77 ETH".
func (a *Amount) String() string {
	s := a.Value + " " + a.Unit
	if a.Approximate {
		s = "~" + s
	}
	return s
}

// Address is an address the sources name, with its role in the incident.
type Address struct {
	Chain string `json:"chain"`
	// Address is as the source gives it; Canonical is its canonical form
	// (EIP-55 for eth, the standard encoding for btc: bech32 in lower
	// case).
	Address   string `json:"address"`
	Canonical string `json:"canonical"`
	Role      string `json:"role"`
	// Label is a name the source gives the address ("Upbit Hacker 2.1").
	Label string `json:"label,omitempty"`
	// Level is the hop level from the seed that a labelling gives (Upbit's
	// "Upbit Hacker N.M" is level N); 0 when none is given.
	Level int `json:"level,omitempty"`
	// Block is a block at which the address is stated to be active; 0 when
	// none is stated.
	Block uint64 `json:"block,omitempty"`
	// SDN names the OFAC SDN entry that lists the address ("LAZARUS GROUP,
	// uid 27307, DPRK3").
	SDN  string `json:"sdn,omitempty"`
	Note string `json:"note,omitempty"`
	Fact
}

// Tx is a transaction the sources name.
type Tx struct {
	Chain string `json:"chain"`
	// Hash is lower-case hex: 0x + 64 digits on eth, 64 digits on btc.
	Hash string `json:"hash"`
	Role string `json:"role"`
	// Block is the block the source states it is in; 0 when not stated.
	Block uint64 `json:"block,omitempty"`
	// From and To are canonical addresses, empty when the source states
	// none. On eth the value may move in an internal call: From and To
	// then name that call's sender and receiver (or the transaction's).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Asset is the asset the source says the transaction moved ("ETH",
	// "USDC"), when it says so without an amount.
	Asset  string  `json:"asset,omitempty"`
	Amount *Amount `json:"amount,omitempty"`
	// Internal: the source states the value moved in an internal call.
	Internal bool   `json:"internal,omitempty"`
	Note     string `json:"note,omitempty"`
	Fact
}

// Note is a statement about the incident that is no address, transaction
// or amount ("laundering through THORChain").
type Note struct {
	Text string `json:"text"`
	Fact
}

// Incident is one hack.
type Incident struct {
	// ID is NAME-YEAR ("bybit-2025"): lower-case letters, digits and
	// hyphens, ending in the year of Date.
	ID     string `json:"id"`
	Name   string `json:"name"`
	Victim string `json:"victim"`
	Date   Date   `json:"date"`
	// Chains are the chain codes of the incident's facts ("eth", "btc").
	Chains []string `json:"chains"`
	// Network is the Bitcoin network its btc addresses are on ("mainnet"
	// unless given).
	Network   string    `json:"network,omitempty"`
	Sources   []Source  `json:"sources"`
	Amounts   []Amount  `json:"amounts,omitempty"`
	Addresses []Address `json:"addresses,omitempty"`
	Txs       []Tx      `json:"transactions,omitempty"`
	Notes     []Note    `json:"notes,omitempty"`
	File      string    `json:"-"`
	Line      int       `json:"-"`
}

// Source returns the source with the given id.
func (inc *Incident) Source(id string) (Source, bool) {
	for _, s := range inc.Sources {
		if s.ID == id {
			return s, true
		}
	}
	return Source{}, false
}

// SourceTitles renders source ids as their titles, for a citation.
func (inc *Incident) SourceTitles(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if s, ok := inc.Source(id); ok {
			out = append(out, s.Title)
		} else {
			out = append(out, id)
		}
	}
	return out
}

// Citation is one line naming the incident and every source of it, for an
// exhibit's case title: "Bybit (bybit-2025), 2025-02-21; sources: FBI IC3
// PSA 250226 (2025-02-26)".
func (inc *Incident) Citation() string {
	titles := make([]string, len(inc.Sources))
	for i, s := range inc.Sources {
		titles[i] = s.Title
	}
	return fmt.Sprintf("%s (%s), %s; sources: %s", inc.Name, inc.ID, inc.Date.Value, strings.Join(titles, "; "))
}

// AddressesOn returns the incident's addresses on a chain, in catalog
// order; with roles given, only those with one of the roles.
func (inc *Incident) AddressesOn(chain string, roles ...string) []Address {
	var out []Address
	for _, a := range inc.Addresses {
		if a.Chain != chain {
			continue
		}
		if len(roles) > 0 && !contains(roles, a.Role) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Seeds returns the canonical addresses a trace of the incident on chain
// starts from: the exploiter and first-hop addresses; when the incident
// names neither on that chain, every address on it that is not a victim's.
func (inc *Incident) Seeds(chain string) []string {
	picked := inc.AddressesOn(chain, RoleExploiter, RoleFirstHop)
	if len(picked) == 0 {
		for _, a := range inc.AddressesOn(chain) {
			if a.Role != RoleVictim {
				picked = append(picked, a)
			}
		}
	}
	out := make([]string, 0, len(picked))
	seen := map[string]bool{}
	for _, a := range picked {
		if !seen[a.Canonical] {
			seen[a.Canonical] = true
			out = append(out, a.Canonical)
		}
	}
	return out
}

// StartBlock is the lowest block the catalog states for the incident on
// chain (a transaction's, else an address's); ok is false when it states
// none. A trace of the incident can start there.
func (inc *Incident) StartBlock(chain string) (block uint64, ok bool) {
	for _, t := range inc.Txs {
		if t.Chain == chain && t.Block > 0 && (!ok || t.Block < block) {
			block, ok = t.Block, true
		}
	}
	if ok {
		return block, true
	}
	for _, a := range inc.Addresses {
		if a.Chain == chain && a.Block > 0 && (!ok || a.Block < block) {
			block, ok = a.Block, true
		}
	}
	return block, ok
}

// Counts are the incident's numbers of facts, for a listing.
type Counts struct {
	Addresses int `json:"addresses"`
	Txs       int `json:"transactions"`
	Facts     int `json:"facts"`     // every date, amount, address, transaction and note
	Confirmed int `json:"confirmed"` // of Facts, how many are confirmed
}

// Counts counts the incident's facts.
func (inc *Incident) Counts() Counts {
	c := Counts{Addresses: len(inc.Addresses), Txs: len(inc.Txs)}
	add := func(f *Fact) {
		c.Facts++
		if f.Confirmed {
			c.Confirmed++
		}
	}
	add(&inc.Date.Fact)
	for i := range inc.Amounts {
		add(&inc.Amounts[i].Fact)
	}
	for i := range inc.Addresses {
		add(&inc.Addresses[i].Fact)
	}
	for i := range inc.Txs {
		add(&inc.Txs[i].Fact)
	}
	for i := range inc.Notes {
		add(&inc.Notes[i].Fact)
	}
	return c
}

// LevelCount is how many addresses a labelling puts at one hop level.
type LevelCount struct {
	Level int `json:"level"` // 0: labelled without a level
	Count int `json:"count"`
}

// HopLevels counts the incident's addresses per hop level (Address.Level),
// lowest level first; addresses without a level but with a label are
// counted at level 0, listed last. It is empty when no address has a level.
// For upbit-2019 these are the counts of Etherscan's "Upbit Hacker N.M"
// labels, so that a trace can be compared with them level by level.
func (inc *Incident) HopLevels() []LevelCount {
	return LevelCounts(inc.Addresses)
}

// LevelCounts counts addresses per Level (see Incident.HopLevels).
func LevelCounts(addrs []Address) []LevelCount {
	counts := map[int]int{}
	any := false
	for _, a := range addrs {
		if a.Level > 0 {
			any = true
			counts[a.Level]++
		} else if a.Label != "" {
			counts[0]++
		}
	}
	if !any {
		return nil
	}
	levels := make([]int, 0, len(counts))
	for l := range counts {
		if l > 0 {
			levels = append(levels, l)
		}
	}
	sort.Ints(levels)
	out := make([]LevelCount, 0, len(counts))
	for _, l := range levels {
		out = append(out, LevelCount{Level: l, Count: counts[l]})
	}
	if counts[0] > 0 {
		out = append(out, LevelCount{Level: 0, Count: counts[0]})
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
