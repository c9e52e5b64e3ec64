package labels

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
)

// OFAC SDN import.
//
// The US Treasury publishes the SDN list in two XML forms, both read here,
// plain or compressed (see Load):
//
//   - sdn_advanced.xml (root element <Sanctions>): reference value sets
//     first, then every party with its features, then the sanctions entries.
//     A digital currency address is a Feature whose FeatureTypeID names a
//     FeatureType "Digital Currency Address - TAG" (TAG: XBT, ETH, USDT, XMR,
//     TRX, ...) in the file's own FeatureTypeValues (ids are looked up, never
//     hard-coded); the address is the text of its FeatureVersion's
//     VersionDetail. The party's name is the primary alias of its primary
//     identity (the "Primary Latin" DocumentedName), its programs are the
//     Comments of the SanctionsMeasures of type "Program" in the
//     SanctionsEntry whose ProfileID is the party's profile.
//   - sdn.xml (root element <sdnList>): one sdnEntry per party, with
//     lastName/firstName, programList/program and idList/id entries whose
//     idType is "Digital Currency Address - TAG" and idNumber the address.
//
// Each address becomes one Label:
//
//	Label     the entry's name as the SDN list prints it: "LAZARUS GROUP",
//	          "ZHENG, Fujing" (sdn.xml gives it so; for sdn_advanced.xml last
//	          names and entity, vessel and aircraft names are put in capitals
//	          and given names follow after a comma, and the name as the file
//	          writes it is kept in Extra["ofac_name"] when it differs)
//	Category  "sanctioned"
//	Source    "OFAC SDN" and the entry's programs, sorted: "OFAC SDN (DPRK3)",
//	          "OFAC SDN (CYBER2, DPRK3)"; "OFAC SDN" when it names none
//	Extra     "currency": the TAG as written ("ETH", "USDT", ...);
//	          "ofac_uid": the entry's id (sdnEntry uid, the advanced profile
//	          ID: the same number in both forms); "ofac_feature_id" (advanced)
//	LastMod   the list's date of issue (YYYY-MM-DD)
//	Line      the line of the Feature (advanced) or sdnEntry (sdn.xml) in the
//	          decompressed XML
//
// Chains. A TAG is a currency, not always a chain: OFAC files USDT addresses
// on Ethereum, Tron and Bitcoin (Omni) alike under "USDT". The chain is
// therefore decided per address:
//
//  1. an address of 0x and 40 hex digits is eth, whatever the TAG (ETH, ETC,
//     BSC, ARB, USDT, USDC, BNB, ...): an EVM address is one key pair on
//     every EVM chain, so its owner holds it on Ethereum too, and chaintrace
//     traces every EVM chain as "eth" (the exhibit names the chain id). It is
//     checksummed like every eth address (Options.BadChecksum applies to a
//     mixed-case address with a wrong EIP-55 checksum);
//  2. XBT is btc;
//  3. the token TAGs USDT and USDC go by the address: T + 33 base58 is trx
//     (TRC-20), a Bitcoin address is btc (Omni);
//  4. a TAG that NormalizeChain knows (LTC, BCH, ZEC, TRX, ...) is that chain;
//  5. any other TAG (XMR, DASH, BTG, BSV, XVG, XRP, SOL, BNB on the Beacon
//     Chain, and whatever OFAC adds next) is kept as its lower-case name, so
//     that `labels show ADDRESS` and Index.Lookup("xmr", ...) find it.
//
// Addresses on chains other than eth are kept exactly as written (OFAC's
// typos too: the file lists a Tron-shaped address under XBT, kept as btc, as
// the file says).
//
// Duplicates. Every Digital Currency Address feature (advanced) or id
// (sdn.xml) is one Label, so Set.Entries is the count of them in the file.
// The same address under two parties gives two labels with different names,
// and the Index keeps both; one party listing one address under several TAGs
// (an EVM address as ETH, USDT and USDC) or twice gives labels that differ
// only in Extra, which the Index keeps once (Index.Add).
//
// Errors. Malformed XML, a root element that is neither, a part of the file
// out of the order OFAC publishes, or an eth address that is not 0x+40 hex
// fail the whole file with a one-line *ParseError naming FILE:LINE: an
// official sanctions list is imported completely or not at all. A currency
// feature with no address text is skipped with a warning.

const (
	ofacSourceName = "OFAC SDN"
	ofacDCPrefix   = "Digital Currency Address"
)

func init() {
	Register(FormatOFACSDN, parseOFACSDN)
	Register(FormatOFACAdvanced, parseOFACAdvanced)
}

// ofacCurrencyTag returns the TAG of a "Digital Currency Address - TAG" name.
func ofacCurrencyTag(name string) (string, bool) {
	name = strings.TrimSpace(name)
	if len(name) < len(ofacDCPrefix) || !strings.EqualFold(name[:len(ofacDCPrefix)], ofacDCPrefix) {
		return "", false
	}
	return strings.TrimSpace(strings.TrimLeft(name[len(ofacDCPrefix):], " -")), true
}

var (
	tronAddressRE = regexp.MustCompile(`^T[1-9A-HJ-NP-Za-km-z]{33}$`)
	btcBase58RE   = regexp.MustCompile(`^[13][1-9A-HJ-NP-Za-km-z]{25,34}$`)
	btcBech32RE   = regexp.MustCompile(`^(?i:bc1)[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}$`)
)

// OFACChain is the chain code an OFAC currency TAG and address are indexed
// under (see the rules at the top of ofac.go).
func OFACChain(tag, addr string) string {
	addr = strings.TrimSpace(addr)
	t := strings.ToUpper(strings.TrimSpace(tag))
	if isEthShaped(addr) {
		return ChainETH
	}
	switch t {
	case "XBT", "BTC":
		return ChainBTC
	case "USDT", "USDC":
		switch {
		case tronAddressRE.MatchString(addr):
			return "trx"
		case btcBase58RE.MatchString(addr) || btcBech32RE.MatchString(addr):
			return ChainBTC
		}
	}
	if c, ok := NormalizeChain(t); ok {
		return c // eth here is an ETH address that is not 0x+40 hex: rejected by checkAddress
	}
	if t == "" {
		return "unknown"
	}
	return strings.ToLower(t)
}

// ofacSource is the Source of a label: "OFAC SDN (P1, P2)".
func ofacSource(programs []string) string {
	ps := make([]string, 0, len(programs))
	seen := map[string]bool{}
	for _, p := range programs {
		p = strings.TrimSpace(p)
		if p != "" && !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return ofacSourceName
	}
	sort.Strings(ps)
	return ofacSourceName + " (" + strings.Join(ps, ", ") + ")"
}

// ofacDecoder wraps an xml.Decoder with the file name for errors.
type ofacDecoder struct {
	*xml.Decoder
	name string
}

func newOFACDecoder(name string, r io.Reader) *ofacDecoder {
	d := xml.NewDecoder(r)
	d.Strict = true
	return &ofacDecoder{Decoder: d, name: name}
}

func (d *ofacDecoder) line() int {
	l, _ := d.InputPos()
	return l
}

// xmlErr turns a decoder error into a one-line *ParseError naming the line.
func (d *ofacDecoder) xmlErr(err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe // a decompression error, already naming the file
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return perr(d.name, se.Line, ErrMalformed, "malformed XML: %s", se.Msg)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return perr(d.name, d.line(), ErrMalformed, "malformed XML: unexpected end of file")
	}
	return perr(d.name, d.line(), ErrMalformed, "malformed XML: %v", err)
}

// root reads up to the root element and checks its name.
func (d *ofacDecoder) root(want string) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return d.xmlErr(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != want {
				return perr(d.name, d.line(), ErrMalformed, "root element is <%s>, want <%s>", se.Name.Local, want)
			}
			return nil
		}
	}
}

// finish reads the rest of the document (after the root's children were
// handled), so that a truncated or malformed end is an error too.
func (d *ofacDecoder) finish() error {
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return d.xmlErr(err)
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// ofacLabel builds the label of one address; the caller validates it.
func ofacLabel(tag, addr, name, uid string, line int) Label {
	addr = strings.TrimSpace(addr)
	return Label{
		Chain:    OFACChain(tag, addr),
		Address:  addr,
		Label:    name,
		Category: CategorySanctioned,
		Line:     line,
		Extra:    map[string]string{"currency": tag, "ofac_uid": uid},
	}
}

// ---- sdn_advanced.xml ----

type advRefValue struct {
	ID   string `xml:"ID,attr"`
	Name string `xml:",chardata"`
}

type advReferenceValueSets struct {
	FeatureTypes    []advRefValue `xml:"FeatureTypeValues>FeatureType"`
	NamePartTypes   []advRefValue `xml:"NamePartTypeValues>NamePartType"`
	SanctionsTypes  []advRefValue `xml:"SanctionsTypeValues>SanctionsType"`
	DocNameStatuses []advRefValue `xml:"DocNameStatusValues>DocNameStatus"`
}

type advDate struct {
	Year  int `xml:"Year"`
	Month int `xml:"Month"`
	Day   int `xml:"Day"`
}

type advIdentity struct {
	Primary string `xml:"Primary,attr"`
	Aliases []struct {
		Primary string `xml:"Primary,attr"`
		Names   []struct {
			Status string `xml:"DocNameStatusID,attr"`
			Parts  []struct {
				Group string `xml:"NamePartGroupID,attr"`
				Value string `xml:",chardata"`
			} `xml:"DocumentedNamePart>NamePartValue"`
		} `xml:"DocumentedName"`
	} `xml:"Alias"`
	Groups []struct {
		ID   string `xml:"ID,attr"`
		Type string `xml:"NamePartTypeID,attr"`
	} `xml:"NamePartGroups>MasterNamePartGroup>NamePartGroup"`
}

type advFeature struct {
	ID       string `xml:"ID,attr"`
	Versions []struct {
		Details []string `xml:"VersionDetail"`
	} `xml:"FeatureVersion"`
}

type advSanctionsEntry struct {
	ProfileID string `xml:"ProfileID,attr"`
	Measures  []struct {
		Type    string `xml:"SanctionsTypeID,attr"`
		Comment string `xml:"Comment"`
	} `xml:"SanctionsMeasure"`
}

// advParser holds what the advanced format's reference values define and
// what is collected until the sanctions entries at the end of the file.
type advParser struct {
	d    *ofacDecoder
	opt  Options
	refs bool              // ReferenceValueSets read
	dc   map[string]string // FeatureType ID -> currency TAG
	// NamePartType IDs whose values are written in capitals (last names;
	// entity, vessel and aircraft names).
	upperParts   map[string]bool
	primaryLatin string              // DocNameStatus ID of "Primary Latin"
	programType  string              // SanctionsType ID of "Program"
	issued       string              // DateOfIssue, YYYY-MM-DD
	labels       []Label             // in file order; Source filled at the end
	profiles     []string            // profile ID of labels[i]
	programs     map[string][]string // profile ID -> programs, for profiles with labels
	warnings     []string
}

func parseOFACAdvanced(name string, r io.Reader, opt Options) (*Set, error) {
	p := &advParser{d: newOFACDecoder(name, r), opt: opt, programs: map[string][]string{}}
	if err := p.d.root("Sanctions"); err != nil {
		return nil, err
	}
	if err := p.walk(); err != nil {
		return nil, err
	}
	if err := p.d.finish(); err != nil {
		return nil, err
	}
	set := &Set{Labels: p.labels, Warnings: p.warnings}
	for i := range set.Labels {
		set.Labels[i].Source = ofacSource(p.programs[p.profiles[i]])
		set.Labels[i].LastMod = p.issued
	}
	set.Title = "OFAC SDN List (advanced)"
	if p.issued != "" {
		set.Title += ", issued " + p.issued
	}
	return set, nil
}

// walk handles the children of the root element, up to its end tag.
func (p *advParser) walk() error {
	d := p.d
	depth := 0 // below the root
	for {
		tok, err := d.Token()
		if err != nil {
			return d.xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if depth == 0 {
				return nil // </Sanctions>
			}
			depth--
		case xml.StartElement:
			var err error
			switch t.Name.Local {
			case "DateOfIssue":
				var dt advDate
				if err = d.DecodeElement(&dt, &t); err == nil && dt.Year > 0 {
					p.issued = fmt.Sprintf("%04d-%02d-%02d", dt.Year, dt.Month, dt.Day)
				}
			case "ReferenceValueSets":
				err = p.references(t)
			case "Locations", "IDRegDocuments", "ProfileRelationships", "SanctionsEntryLinks":
				err = d.Skip() // nothing about addresses, names or programs
			case "Profile":
				err = p.profile(t)
			case "SanctionsEntry":
				var e advSanctionsEntry
				if err = d.DecodeElement(&e, &t); err == nil {
					p.sanctionsEntry(e)
				}
			default:
				depth++ // DistinctParties, DistinctParty, SanctionsEntries, ...
			}
			if err != nil {
				return d.xmlErr(err)
			}
		}
	}
}

func (p *advParser) references(start xml.StartElement) error {
	var rv advReferenceValueSets
	if err := p.d.DecodeElement(&rv, &start); err != nil {
		return err
	}
	p.refs = true
	p.dc = map[string]string{}
	for _, ft := range rv.FeatureTypes {
		if tag, ok := ofacCurrencyTag(ft.Name); ok {
			p.dc[ft.ID] = tag
		}
	}
	p.upperParts = map[string]bool{}
	for _, v := range rv.NamePartTypes {
		switch strings.ToLower(strings.TrimSpace(v.Name)) {
		case "last name", "entity name", "vessel name", "aircraft name":
			p.upperParts[v.ID] = true
		}
	}
	for _, v := range rv.DocNameStatuses {
		if strings.EqualFold(strings.TrimSpace(v.Name), "Primary Latin") {
			p.primaryLatin = v.ID
		}
	}
	for _, v := range rv.SanctionsTypes {
		if strings.EqualFold(strings.TrimSpace(v.Name), "Program") {
			p.programType = v.ID
		}
	}
	return nil
}

// profile reads one Profile: its primary name and its currency features.
func (p *advParser) profile(start xml.StartElement) error {
	d := p.d
	if !p.refs {
		return perr(d.name, d.line(), ErrMalformed, "a Profile comes before the ReferenceValueSets that define its feature types (not sdn_advanced.xml as OFAC publishes it)")
	}
	profileID := attr(start, "ID")
	var (
		name, asWritten string
		haveName        bool
		found           []Label
	)
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			// </Profile>: children are consumed whole below.
			for i := range found {
				found[i].Label = name
				if asWritten != "" && asWritten != name {
					found[i].Extra["ofac_name"] = asWritten
				}
			}
			if len(found) > 0 {
				if name == "" {
					return perr(d.name, found[0].Line, ErrMissingLabel, "profile %s has digital currency addresses but no name", profileID)
				}
				for range found {
					p.profiles = append(p.profiles, profileID)
				}
				p.labels = append(p.labels, found...)
				if _, ok := p.programs[profileID]; !ok {
					p.programs[profileID] = nil
				}
			}
			return nil
		case xml.StartElement:
			switch t.Name.Local {
			case "Identity":
				var id advIdentity
				if err := d.DecodeElement(&id, &t); err != nil {
					return err
				}
				// The primary identity's name wins over any other's.
				if !haveName || strings.EqualFold(id.Primary, "true") {
					if n, w := p.identityName(&id); n != "" {
						name, asWritten, haveName = n, w, true
					}
				}
			case "Feature":
				tag, ok := p.dc[attr(t, "FeatureTypeID")]
				if !ok {
					if err := d.Skip(); err != nil {
						return err
					}
					continue
				}
				line := d.line()
				var f advFeature
				if err := d.DecodeElement(&f, &t); err != nil {
					return err
				}
				n := 0
				for _, v := range f.Versions {
					for _, addr := range v.Details {
						if strings.TrimSpace(addr) == "" {
							continue
						}
						l := ofacLabel(tag, addr, "", profileID, line)
						l.Extra["ofac_feature_id"] = f.ID
						if err := checkAddress(d.name, line, p.opt, &l, &p.warnings); err != nil {
							return err
						}
						found = append(found, l)
						n++
					}
				}
				if n == 0 {
					p.warnings = append(p.warnings, perr(d.name, line, ErrMissingAddress,
						"Digital Currency Address - %s feature %s of profile %s has no address; skipped", tag, f.ID, profileID).Error())
				}
			default:
				if err := d.Skip(); err != nil {
					return err
				}
			}
		}
	}
}

// identityName renders the primary alias of an identity the way the SDN
// list prints names: "LAST, Given Names" or "ENTITY NAME". asWritten is the
// parts joined as the file writes them.
func (p *advParser) identityName(id *advIdentity) (name, asWritten string) {
	if len(id.Aliases) == 0 {
		return "", ""
	}
	alias := &id.Aliases[0]
	for i := range id.Aliases {
		if strings.EqualFold(id.Aliases[i].Primary, "true") {
			alias = &id.Aliases[i]
			break
		}
	}
	if len(alias.Names) == 0 {
		return "", ""
	}
	dn := &alias.Names[0]
	for i := range alias.Names {
		if p.primaryLatin != "" && alias.Names[i].Status == p.primaryLatin {
			dn = &alias.Names[i]
			break
		}
	}
	groupType := make(map[string]string, len(id.Groups))
	for _, g := range id.Groups {
		groupType[g.ID] = g.Type
	}
	var upper, given, all []string
	for _, part := range dn.Parts {
		v := strings.Join(strings.Fields(part.Value), " ")
		if v == "" {
			continue
		}
		all = append(all, v)
		if p.upperParts[groupType[part.Group]] {
			upper = append(upper, strings.ToUpper(v))
		} else {
			given = append(given, v)
		}
	}
	asWritten = strings.Join(all, " ")
	switch {
	case len(upper) == 0:
		return asWritten, asWritten
	case len(given) == 0:
		return strings.Join(upper, " "), asWritten
	}
	return strings.Join(upper, " ") + ", " + strings.Join(given, " "), asWritten
}

func (p *advParser) sanctionsEntry(e advSanctionsEntry) {
	progs, ok := p.programs[e.ProfileID]
	if !ok {
		return // no address of this profile: its programs are not needed
	}
	for _, m := range e.Measures {
		c := strings.TrimSpace(m.Comment)
		if c == "" {
			continue
		}
		// Program measures carry the program tag in their Comment; a file
		// without a "Program" sanctions type takes every commented measure.
		if p.programType == "" || m.Type == p.programType {
			progs = append(progs, c)
		}
	}
	p.programs[e.ProfileID] = progs
}

// ---- sdn.xml ----

type sdnEntry struct {
	UID       string   `xml:"uid"`
	FirstName string   `xml:"firstName"`
	LastName  string   `xml:"lastName"`
	Programs  []string `xml:"programList>program"`
	IDs       []struct {
		Type   string `xml:"idType"`
		Number string `xml:"idNumber"`
	} `xml:"idList>id"`
}

func parseOFACSDN(name string, r io.Reader, opt Options) (*Set, error) {
	d := newOFACDecoder(name, r)
	if err := d.root("sdnList"); err != nil {
		return nil, err
	}
	set := &Set{}
	issued := ""
	depth := 0
loop:
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, d.xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if depth == 0 {
				break loop // </sdnList>
			}
			depth--
		case xml.StartElement:
			switch t.Name.Local {
			case "publshInformation", "publishInformation": // OFAC's spelling is the first
				var pi struct {
					Date string `xml:"Publish_Date"`
				}
				if err := d.DecodeElement(&pi, &t); err != nil {
					return nil, d.xmlErr(err)
				}
				issued = strings.TrimSpace(pi.Date)
				if tm, err := time.Parse("01/02/2006", issued); err == nil {
					issued = tm.Format("2006-01-02")
				}
			case "sdnEntry":
				line := d.line()
				var e sdnEntry
				if err := d.DecodeElement(&e, &t); err != nil {
					return nil, d.xmlErr(err)
				}
				entryName := strings.Join(strings.Fields(e.LastName), " ")
				if first := strings.Join(strings.Fields(e.FirstName), " "); first != "" {
					if entryName != "" {
						entryName += ", "
					}
					entryName += first
				}
				source := ofacSource(e.Programs)
				uid := strings.TrimSpace(e.UID)
				for _, id := range e.IDs {
					tag, ok := ofacCurrencyTag(id.Type)
					if !ok {
						continue
					}
					if strings.TrimSpace(id.Number) == "" {
						set.Warnings = append(set.Warnings, perr(name, line, ErrMissingAddress,
							"%s of entry %s has no address; skipped", strings.TrimSpace(id.Type), uid).Error())
						continue
					}
					if entryName == "" {
						return nil, perr(name, line, ErrMissingLabel, "entry %s has digital currency addresses but no name", uid)
					}
					l := ofacLabel(tag, id.Number, entryName, uid, line)
					l.Source = source
					if err := checkAddress(name, line, opt, &l, &set.Warnings); err != nil {
						return nil, err
					}
					set.Labels = append(set.Labels, l)
				}
			default:
				depth++
			}
		}
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	for i := range set.Labels {
		set.Labels[i].LastMod = issued
	}
	set.Title = "OFAC SDN List"
	if issued != "" {
		set.Title += ", published " + issued
	}
	return set, nil
}
