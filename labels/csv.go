package labels

import (
	"encoding/csv"
	"errors"
	"io"
	"path/filepath"
	"strings"
)

// CSV column mapping. Header names are matched case-insensitively after
// trimming spaces (and a UTF-8 BOM on the first one):
//
//	chain               chain, network, blockchain
//	address             address
//	label               label, etherscan_label
//	category            category (normalised with NormalizeCategory)
//	source              source
//	confidence, actor, abuse
//	anything else       kept in Label.Extra under the header name (if non-empty)
//
// address and label columns are required. The chain column is required too,
// with one exception: a header with an `etherscan_label` column and no chain
// column (the shape of upbit-2019-etherscan-labels.csv:
// `address,etherscan_label,level`) is Ethereum, as Etherscan labels only
// Ethereum addresses; its `level` lands in Extra["level"]. A row with no
// source value gets the file's base name as Source. Lines starting with "#"
// are comments; blank lines are skipped.
var csvColumns = map[string]string{
	"chain": "chain", "network": "chain", "blockchain": "chain",
	"address":         "address",
	"label":           "label",
	"etherscan_label": "label",
	"category":        "category",
	"source":          "source",
	"confidence":      "confidence",
	"actor":           "actor",
	"abuse":           "abuse",
}

func parseCSV(name string, r io.Reader, opt Options) (*Set, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true

	csvErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return perr(name, pe.Line, ErrMalformed, "malformed CSV (column %d): %v", pe.Column, pe.Err)
		}
		var ope *ParseError
		if errors.As(err, &ope) {
			return ope
		}
		return perr(name, 0, ErrMalformed, "reading CSV: %v", err)
	}

	header, err := cr.Read()
	if err == io.EOF {
		return nil, perr(name, 1, ErrBadHeader, "empty CSV: no header")
	}
	if err != nil {
		return nil, csvErr(err)
	}
	hline, _ := cr.FieldPos(0)
	col := map[string]int{} // logical field -> column index
	names := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.ToLower(strings.TrimSpace(h))
		names[i] = h
		if h == "" {
			return nil, perr(name, hline, ErrBadHeader, "header column %d is empty", i+1)
		}
		field, known := csvColumns[h]
		if !known {
			field = "extra:" + h
		}
		if prev, dup := col[field]; dup {
			return nil, perr(name, hline, ErrBadHeader, "header columns %q and %q both map to %s", names[prev], h, strings.TrimPrefix(field, "extra:"))
		}
		col[field] = i
	}
	want := "chain,address,label,category,source"
	if _, ok := col["address"]; !ok {
		return nil, perr(name, hline, ErrBadHeader, "header has no address column (want %s)", want)
	}
	if _, ok := col["label"]; !ok {
		return nil, perr(name, hline, ErrBadHeader, "header has no label column (want %s)", want)
	}
	fixedChain := ""
	if _, ok := col["chain"]; !ok {
		if names[col["label"]] == "etherscan_label" {
			fixedChain = ChainETH
		} else {
			return nil, perr(name, hline, ErrBadHeader, "header has no chain column (want %s)", want)
		}
	}

	base := filepath.Base(name)
	set := &Set{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, perr(name, line, ErrFieldCount, "wrong number of fields: %d, header has %d", len(rec), len(header))
		}
		get := func(field string) string {
			if i, ok := col[field]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		chain := fixedChain
		if chain == "" {
			raw := get("chain")
			c, ok := NormalizeChain(raw)
			if !ok {
				return nil, perr(name, line, ErrUnknownChain, "unknown chain %q", raw)
			}
			chain = c
		}
		addr := get("address")
		if addr == "" {
			return nil, perr(name, line, ErrMissingAddress, "row without address")
		}
		lbl := get("label")
		if lbl == "" {
			return nil, perr(name, line, ErrMissingLabel, "row without label (address %s)", addr)
		}
		l := Label{
			Chain:      chain,
			Address:    addr,
			Label:      lbl,
			Source:     get("source"),
			Confidence: get("confidence"),
			Actor:      get("actor"),
			Abuse:      get("abuse"),
			Line:       line,
		}
		if err := checkAddress(name, line, opt, &l, &set.Warnings); err != nil {
			return nil, err
		}
		if raw := get("category"); raw != "" {
			l.Category = NormalizeCategory(raw)
			if l.Category != raw {
				l.CategoryRaw = raw
			}
		}
		if l.Source == "" {
			l.Source = base
		}
		for i, h := range names {
			if _, known := csvColumns[h]; known {
				continue
			}
			if v := strings.TrimSpace(rec[i]); v != "" {
				if l.Extra == nil {
					l.Extra = map[string]string{}
				}
				l.Extra[h] = v
			}
		}
		set.Labels = append(set.Labels, l)
	}
	return set, nil
}
