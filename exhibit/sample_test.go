package exhibit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
)

// Addresses of the sample case (EIP-55 case).
const (
	addrHacker    = "0x5a1F4C2b9e8d7c6B5a4F3E2d1C0b9a8f7e6D5C4B"
	addrMule      = "0x7e2a1B3c4d5E6f708192A3b4C5D6e7F809112233"
	addrSplitter  = "0x910Cbd523D972eb0a6f4cAe4618aD62622b39DbF"
	addrBinance   = "0x28C6c06298d514Db089934071355E5743bf21d60"
	addrTornado   = "0xA160cdAB225685dA1d56aa342Ad8841c3b53f291"
	addrWormhole  = "0x3ee18B2214AFF97000D974cf647E7C347E8fa585"
	tokenUSDT     = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
	tokenBAYC     = "0xBC4CA0EdA7647A8aB7C2061c2E118A18a936f13D"
	timeBlockBase = 1705000000
)

// fakeHash makes a deterministic 32-byte hash for the sample.
func fakeHash(prefix, s string) string {
	sum := sha256.Sum256([]byte(s))
	return prefix + hex.EncodeToString(sum[:])
}

func ethHash(s string) string { return fakeHash("0x", s) }

func wei(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad number " + s)
	}
	return n
}

func mustParams(t testing.TB, v any) json.RawMessage {
	t.Helper()
	p, err := MarshalParams(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleExhibit is a realistic eth exhibit of an exchange hack: the hacker
// (the seed) moves ETH, USDT and an NFT to a mule; the mule sends ETH through
// a splitter contract whose internal calls pay Tornado Cash and the Wormhole
// bridge, and sends ETH and USDT to a Binance deposit. The mule held 10 ETH
// of clean funds before, so haircut taint is partial past it. It is sealed.
func sampleExhibit(t testing.TB) *Exhibit {
	t.Helper()
	e := New(chains.ETH)
	e.Case = Case{ID: "CR-2026-0042", Title: "Exchange hack \"Ω-Börse\" <hot wallet> & co\tQ1", CreatedBy: "J. Doe, Financial Crimes Unit"}
	e.Seeds = []string{addrHacker}
	e.Method = Method{
		TaintModel:        "haircut",
		MaxHops:           10,
		MinValue:          "1000000000000000",
		FromBlock:         19000000,
		ToBlock:           19100000,
		InternalTransfers: true,
		StopCategories:    []string{"exchange", "mixing_service", "bridge"},
		Heuristics: []Heuristic{
			{Name: "deposit_address", Version: "2", Params: mustParams(t, map[string]any{})},
			{Name: "peel_chain", Version: "1", Params: mustParams(t, map[string]any{"max_change_ratio": "0.1", "min_length": 3, "assets": []string{"ETH"}})},
		},
	}
	e.Provenance = Provenance{
		Tool:        "chaintrace",
		ToolVersion: "0.1.0",
		ChainID:     1,
		Network:     "mainnet",
		Tip:         Tip{Number: 19100012, Hash: ethHash("tip")},
		Sources: []Source{
			{Kind: "eth-rpc", EndpointRedacted: "https://eth-mainnet.example.org/", ClientVersion: "Geth/v1.17.10-stable/linux-amd64/go1.26.8"},
			{Kind: "etherscan", EndpointRedacted: "https://api.etherscan.io/api", ClientVersion: ""},
		},
		LabelSets: []LabelSet{
			{Name: "binance.tagpack.yaml", SHA256: fakeHash("", "binance.yaml"), Entries: 12},
			{Name: "sdn_advanced.xml.bz2", SHA256: fakeHash("", "sdn"), Entries: 1311},
		},
		GeneratedAt: "2026-03-14T09:26:53Z",
	}

	tx := func(n int) string { return ethHash("tx" + string(rune('a'+n))) }
	blk := func(n uint64) string { return ethHash("block" + big.NewInt(int64(n)).String()) }
	row := func(txn int, bn uint64, idx uint32, ord uint32, pos string, kind chains.Kind, from, to, asset, amount string, tokenID *big.Int) *chains.Transfer {
		return &chains.Transfer{
			TxHash: tx(txn), BlockNumber: bn, TxIndex: idx, BlockHash: blk(bn),
			Timestamp: timeBlockBase + (bn-19000000)*12, Ordinal: ord, Position: pos, Kind: kind,
			From: []string{from}, To: to, Asset: asset, Amount: wei(amount), TokenID: tokenID,
		}
	}
	const (
		ethIn     = "250000000000000000000" // 250 ETH
		usdt      = "1500000000000"         // 1.5M USDT (6 decimals)
		toSplit   = "200000000000000000000" // 200 ETH
		taintSpl  = "192307692307692307692" // 200 * 250/260
		half      = "100000000000000000000"
		taintHalf = "96153846153846153846"
	)
	e.Transfers = []Transfer{
		NewTransfer(row(0, 19000100, 3, chains.OrdinalTx, "tx", chains.KindNative, addrHacker, addrMule, chains.AssetETH, ethIn, nil), 1, wei(ethIn)),
		NewTransfer(row(1, 19000105, 12, chains.OrdinalLogBase+44, "log:44", chains.KindERC20, addrHacker, addrMule, tokenUSDT, usdt, nil), 1, wei(usdt)),
		NewTransfer(row(2, 19000105, 13, chains.OrdinalLogBase+51, "log:51", chains.KindERC721, addrHacker, addrMule, tokenBAYC, "1", big.NewInt(8817)), 1, big.NewInt(1)),
		NewTransfer(row(3, 19000230, 4, chains.OrdinalTx, "tx", chains.KindNative, addrMule, addrSplitter, chains.AssetETH, toSplit, nil), 2, wei(taintSpl)),
		NewTransfer(row(3, 19000230, 4, chains.OrdinalFrameBase+0, "call:0", chains.KindInternal, addrSplitter, addrTornado, chains.AssetETH, half, nil), 3, wei(taintHalf)),
		NewTransfer(row(3, 19000230, 4, chains.OrdinalFrameBase+1, "call:1", chains.KindInternal, addrSplitter, addrWormhole, chains.AssetETH, half, nil), 3, wei(taintHalf)),
		NewTransfer(row(4, 19000301, 7, chains.OrdinalLogBase+120, "log:120", chains.KindERC20, addrMule, addrBinance, tokenUSDT, usdt, nil), 2, wei(usdt)),
		NewTransfer(row(5, 19000302, 0, chains.OrdinalTx, "tx", chains.KindNative, addrMule, addrBinance, chains.AssetETH, "30000000000000000000", nil), 2, wei("28846153846153846153")),
		NewTransfer(row(6, 19000302, 1, chains.OrdinalTx, "tx", chains.KindNative, addrMule, addrBinance, chains.AssetETH, "20000000000000000000", nil), 2, wei("19230769230769230769")),
	}
	e.Addresses = []Address{
		{Address: addrHacker, Hop: 0, Taint: map[string]string{}, Labels: []Label{{Label: "Exploiter of Ω-Börse", Category: "hacker", Source: "case-notes.csv"}}, Cluster: "c-0001"},
		{Address: addrMule, Hop: 1, Taint: map[string]string{"ETH": ethIn, tokenUSDT: usdt, tokenBAYC: "1"}, Labels: []Label{}, Cluster: "c-0001"},
		{Address: addrSplitter, Hop: 2, Taint: map[string]string{"ETH": taintSpl}, Labels: []Label{}, Cluster: ""},
		{Address: addrTornado, Hop: 3, Taint: map[string]string{"ETH": taintHalf}, Labels: []Label{
			{Label: "Tornado Cash: 100 ETH", Category: "mixing_service", Source: "binance.tagpack.yaml"},
			{Label: "TORNADO CASH", Category: "sanctioned", Source: "sdn_advanced.xml.bz2"},
		}, Cluster: ""},
		{Address: addrWormhole, Hop: 3, Taint: map[string]string{"ETH": taintHalf}, Labels: []Label{{Label: "Wormhole: Portal Token Bridge", Category: "bridge", Source: "binance.tagpack.yaml"}}, Cluster: ""},
		{Address: addrBinance, Hop: 2, Taint: map[string]string{"ETH": "48076923076923076922", tokenUSDT: usdt}, Labels: []Label{{Label: "Binance 14", Category: "exchange", Source: "binance.tagpack.yaml"}}, Cluster: ""},
	}
	e.Endpoints = []Endpoint{
		{Address: addrBinance, Label: "Binance 14", Category: "exchange", Asset: "ETH", Amount: "50000000000000000000", Taint: "48076923076923076922", FirstBlock: 19000302, LastBlock: 19000302},
		{Address: addrBinance, Label: "Binance 14", Category: "exchange", Asset: tokenUSDT, Amount: usdt, Taint: usdt, FirstBlock: 19000301, LastBlock: 19000301},
		{Address: addrTornado, Label: "Tornado Cash: 100 ETH", Category: "mixing_service", Asset: "ETH", Amount: half, Taint: taintHalf, FirstBlock: 19000230, LastBlock: 19000230},
		{Address: addrWormhole, Label: "Wormhole: Portal Token Bridge", Category: "bridge", Asset: "ETH", Amount: half, Taint: taintHalf, FirstBlock: 19000230, LastBlock: 19000230},
	}
	e.Findings = []Finding{
		{Kind: "deposit_address", Subject: addrBinance, Evidence: []string{tx(4), tx(5), tx(6)}, Confidence: 90},
		{Kind: "cluster_merge", Subject: "c-0001", Evidence: []string{tx(0), tx(1)}, Confidence: 75},
	}
	e.Reconciliation = []Reconciliation{
		{
			TxHash:   tx(3),
			ValueIn:  map[string]string{"ETH": "200000441000000000000"},
			ValueOut: map[string]string{"ETH": toSplit},
			Fee:      map[string]string{"ETH": "441000000000000"},
			TaintIn:  map[string]string{"ETH": "192308116346153846153"},
			TaintOut: map[string]string{"ETH": taintSpl},
		},
		{
			TxHash:   tx(4),
			ValueIn:  map[string]string{"ETH": "1260000000000000", tokenUSDT: usdt},
			ValueOut: map[string]string{tokenUSDT: usdt},
			Fee:      map[string]string{"ETH": "1260000000000000"},
			TaintIn:  map[string]string{"ETH": "1211538461538461", tokenUSDT: usdt},
			TaintOut: map[string]string{tokenUSDT: usdt},
		},
	}
	if err := Seal(e); err != nil {
		t.Fatal(err)
	}
	return e
}

// sampleBTC is a small btc exhibit: a seed output spent in a two-input
// transaction with a payment, change and a non-standard output.
func sampleBTC(t testing.TB) *Exhibit {
	t.Helper()
	e := New(chains.BTC)
	seedTx := fakeHash("", "btc seed tx")
	spend := fakeHash("", "btc spend")
	blk := fakeHash("", "btc block 830001")
	e.Seeds = []string{seedTx + ":1"}
	e.Method = Method{TaintModel: "fifo", MaxHops: 5, MinValue: "546", FromBlock: 830000, ToBlock: 830100,
		InternalTransfers: false, StopCategories: []string{"exchange"}, Heuristics: []Heuristic{}}
	e.Provenance = Provenance{Tool: "chaintrace", ToolVersion: "0.1.0", ChainID: 0, Network: "mainnet",
		Tip:       Tip{Number: 830200, Hash: fakeHash("", "btc tip")},
		Sources:   []Source{{Kind: "esplora", EndpointRedacted: "https://blockstream.info/api", ClientVersion: ""}},
		LabelSets: []LabelSet{}, GeneratedAt: "2026-03-14T10:00:00+01:00"}
	from := []string{"bc1qseedaddress0000000000000000000000000", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}
	mk := func(pos, to, amount, taint string, hop int) Transfer {
		return Transfer{Row: chains.Row{TxHash: spend, BlockNumber: 830001, TxIndex: 17, BlockHash: blk,
			Timestamp: chains.TimeString(1708000000), Position: pos, Kind: chains.KindUTXO, From: from, To: to,
			Asset: chains.AssetBTC, Amount: amount}, Taint: taint, Hop: hop}
	}
	e.Transfers = []Transfer{
		mk("out:0", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "150000000", "100000000", 1),
		mk("out:1", "bc1qchange000000000000000000000000000000", "49990000", "0", 1),
		mk("out:2", "script:"+fakeHash("", "weird script"), "1000", "0", 1),
	}
	e.Addresses = []Address{
		{Address: "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", Hop: 1, Taint: map[string]string{"BTC": "100000000"}, Labels: []Label{{Label: "Kraken", Category: "exchange", Source: "tags.csv"}}},
	}
	e.Endpoints = []Endpoint{{Address: "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", Label: "Kraken", Category: "exchange", Asset: "BTC", Amount: "150000000", Taint: "100000000", FirstBlock: 830001, LastBlock: 830001}}
	e.Findings = []Finding{{Kind: "change_output", Subject: spend + ":1", Evidence: []string{spend}, Confidence: 60}}
	if err := Seal(e); err != nil {
		t.Fatal(err)
	}
	return e
}

// toDoc serialises e and parses it back as generic JSON (numbers as
// json.Number) for tests that edit the document.
func toDoc(t testing.TB, e *Exhibit) map[string]any {
	t.Helper()
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	v, err := parseStrict(b)
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func docBytes(t testing.TB, doc any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at returns the JSON value at a pointer of the form "/a/0/b" in doc.
func at(t testing.TB, doc any, ptr string) any {
	t.Helper()
	v := doc
	for _, tok := range splitPointer(ptr) {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i := atoi(t, tok)
			v = x[i]
		default:
			t.Fatalf("pointer %s: %q steps into a %T", ptr, tok, v)
		}
	}
	return v
}

// set replaces (or, with del, removes) the value at ptr.
func set(t testing.TB, doc any, ptr string, val any, del bool) {
	t.Helper()
	toks := splitPointer(ptr)
	parent := at(t, doc, "/"+joinPointer(toks[:len(toks)-1]))
	last := toks[len(toks)-1]
	switch p := parent.(type) {
	case map[string]any:
		if del {
			delete(p, last)
		} else {
			p[last] = val
		}
	case []any:
		p[atoi(t, last)] = val
	default:
		t.Fatalf("pointer %s: parent is a %T", ptr, parent)
	}
}

func splitPointer(ptr string) []string {
	var toks []string
	cur := ""
	for _, c := range ptr[1:] {
		if c == '/' {
			toks = append(toks, cur)
			cur = ""
			continue
		}
		cur += string(c)
	}
	if ptr != "/" {
		toks = append(toks, cur)
	}
	return toks
}

func joinPointer(toks []string) string {
	s := ""
	for i, t := range toks {
		if i > 0 {
			s += "/"
		}
		s += t
	}
	return s
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad index %q", s)
	}
	return int(n.Int64())
}
