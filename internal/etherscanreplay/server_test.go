package etherscanreplay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	alice = "0x00000000000000000000000000000000000a11ce"
	bob   = "0x0000000000000000000000000000000000000b0b"
	carol = "0x00000000000000000000000000000000000ca401"
	token = "0x00000000000000000000000000000000000070c3"
)

func hash(i int) string { return fmt.Sprintf("0x%064x", i) }

type reply struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Result  json.RawMessage `json:"result"`
	body    []byte
}

func (r reply) items(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(r.Result, &out); err != nil {
		t.Fatalf("result %s: %v", r.Result, err)
	}
	return out
}

func (r reply) text(t *testing.T) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(r.Result, &s); err != nil {
		t.Fatalf("result %s is not a string: %v", r.Result, err)
	}
	return s
}

func get(t *testing.T, s *Server, params string) reply {
	t.Helper()
	res, err := http.Get(s.URL() + "?" + params)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", res.StatusCode, body)
	}
	var r reply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	r.body = body
	return r
}

// natives makes n txlist records to alice, perBlock to a block from block 1,
// with increasing transaction indexes.
func natives(n, perBlock int) []Record {
	var recs []Record
	for i := range n {
		r := Native(uint64(1+i/perBlock), hash(i+1), bob, alice, strconv.Itoa(i+1))
		r.TransactionIndex = strconv.Itoa(i % perBlock)
		recs = append(recs, r)
	}
	return recs
}

func TestPaging(t *testing.T) {
	s := New(t, natives(25, 1), Options{})
	for _, tc := range []struct {
		page, offset int
		want         []string // values
		empty        bool
	}{
		{1, 10, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, false},
		{2, 10, []string{"11", "12", "13", "14", "15", "16", "17", "18", "19", "20"}, false},
		{3, 10, []string{"21", "22", "23", "24", "25"}, false},
		{4, 10, nil, true},
		{9, 3, []string{"25"}, false},
		{1, 1000, nil, false}, // all 25
	} {
		t.Run(fmt.Sprintf("page%d-offset%d", tc.page, tc.offset), func(t *testing.T) {
			r := get(t, s, fmt.Sprintf("module=account&action=txlist&address=%s&page=%d&offset=%d&sort=asc", alice, tc.page, tc.offset))
			if tc.empty {
				if r.Status != "0" || r.Message != MsgNoTransactions || string(r.Result) != "[]" {
					t.Fatalf("past the end: %s", r.body)
				}
				return
			}
			if r.Status != "1" || r.Message != "OK" {
				t.Fatalf("%s", r.body)
			}
			items := r.items(t)
			if tc.want == nil {
				if len(items) != 25 {
					t.Fatalf("%d items, want 25", len(items))
				}
				return
			}
			var got []string
			for _, it := range items {
				got = append(got, it["value"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("values %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		window, page, offset int
		ok                   bool
	}{
		{0, 10, 1000, true},    // 10,000 exactly
		{0, 11, 1000, false},   // 11,000
		{0, 1, 10001, false},   // one page past the window
		{0, 2, 5000, true},     // 10,000
		{0, 10000, 1, true},    // 10,000
		{50, 5, 10, true},      // a smaller configured window
		{50, 6, 10, false},     //
		{1000, 2, 1000, false}, // the free tier's 1,000 (from 2026)
	} {
		t.Run(fmt.Sprintf("w%d-p%d-o%d", tc.window, tc.page, tc.offset), func(t *testing.T) {
			s := New(t, natives(3, 1), Options{Window: tc.window})
			r := get(t, s, fmt.Sprintf("module=account&action=txlist&address=%s&page=%d&offset=%d", alice, tc.page, tc.offset))
			if tc.ok {
				if r.Status == "0" && strings.HasPrefix(r.Message, "Result window") {
					t.Fatalf("refused a query inside the window: %s", r.body)
				}
				return
			}
			w := tc.window
			if w == 0 {
				w = 10000
			}
			want := fmt.Sprintf("Result window is too large, PageNo x Offset size must be less than or equal to %d", w)
			if r.Status != "0" || r.Message != want || string(r.Result) != "null" {
				t.Fatalf("got %s, want status 0, message %q, result null", r.body, want)
			}
		})
	}
}

func TestSortAndRange(t *testing.T) {
	recs := []Record{
		Native(7, hash(1), bob, alice, "1"),
		Native(3, hash(2), alice, bob, "2"),
		Native(5, hash(3), carol, bob, "3"), // not alice's
		Native(5, hash(4), alice, carol, "4"),
		Native(9, hash(5), bob, alice, "5"),
	}
	recs[0].TransactionIndex = "2"
	// Two in block 5 for alice, the second by transaction index first.
	extra := Native(5, hash(6), bob, alice, "6")
	extra.TransactionIndex = "0"
	recs[3].TransactionIndex = "4"
	recs = append(recs, extra)
	s := New(t, recs, Options{})
	for _, tc := range []struct {
		query string
		want  string // values in order
	}{
		{"sort=asc", "2,6,4,1,5"},
		{"sort=desc", "5,1,4,6,2"},
		{"", "2,6,4,1,5"},
		{"startblock=5&endblock=7&sort=asc", "6,4,1"},
		{"startblock=5&endblock=5&sort=desc", "4,6"},
		{"startblock=8", "5"},
		{"endblock=latest&startblock=9", "5"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := get(t, s, "module=account&action=txlist&address="+alice+"&"+tc.query)
			var got []string
			for _, it := range r.items(t) {
				got = append(got, it["value"].(string))
			}
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("values %v, want %s", got, tc.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	s := New(t, natives(2, 1), Options{Key: "GOODKEY"})
	for _, tc := range []struct {
		key, status, text string
	}{
		{"GOODKEY", "1", ""},
		{"BADKEY", "0", TextInvalidKey},
		{"", "0", TextMissingKey},
	} {
		t.Run(tc.key, func(t *testing.T) {
			r := get(t, s, "module=account&action=txlist&address="+alice+"&apikey="+tc.key)
			if r.Status != tc.status {
				t.Fatalf("status %s: %s", r.Status, r.body)
			}
			if tc.text != "" && (r.Message != MsgNOTOK || r.text(t) != tc.text) {
				t.Fatalf("got %s, want NOTOK %q", r.body, tc.text)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	s := New(t, natives(2, 1), Options{ChainID: 8453})
	for _, tc := range []struct {
		query, text string
	}{
		{"chainid=1&module=account&action=txlist&address=" + alice, TextMissingChain},
		{"module=account&action=txlist&address=" + alice, TextMissingChain},
		{"chainid=8453&module=account&action=txlist&address=0x1234", TextInvalidAddr},
		{"chainid=8453&module=account&action=nosuch&address=" + alice, TextInvalidAction},
		{"chainid=8453&module=accounts&action=txlist&address=" + alice, TextInvalidModule},
	} {
		t.Run(tc.text, func(t *testing.T) {
			r := get(t, s, tc.query)
			if r.Status != "0" || r.Message != MsgNOTOK || r.text(t) != tc.text {
				t.Fatalf("got %s, want NOTOK %q", r.body, tc.text)
			}
		})
	}
	if r := get(t, s, "chainid=8453&module=account&action=txlist&address="+alice); r.Status != "1" {
		t.Fatalf("with the chain id: %s", r.body)
	}
}

// TestShapes checks every action's record: the documented keys in the
// documented order, every value a string.
func TestShapes(t *testing.T) {
	internal := Internal(4, hash(2), bob, alice, "5")
	internal.TraceID = "0_1"
	recs := []Record{
		Native(3, hash(1), bob, alice, "10"),
		internal,
		ERC20(5, hash(3), token, bob, alice, "7"),
		ERC721(6, hash(4), token, bob, alice, "42"),
	}
	for _, tc := range []struct {
		action     string
		blockscout bool
		keys       string
	}{
		{TxList, false, "blockNumber,timeStamp,hash,nonce,blockHash,transactionIndex,from,to,value,gas,gasPrice,isError,txreceipt_status,input,contractAddress,cumulativeGasUsed,gasUsed,confirmations,methodId,functionName"},
		{TxListInternal, false, "blockNumber,timeStamp,hash,from,to,value,contractAddress,input,type,gas,gasUsed,traceId,isError,errCode"},
		{TxListInternal, true, "blockNumber,callType,contractAddress,errCode,from,gas,gasUsed,index,input,isError,timeStamp,to,transactionHash,type,value"},
		{TokenTx, false, "blockNumber,timeStamp,hash,nonce,blockHash,from,contractAddress,to,value,tokenName,tokenSymbol,tokenDecimal,transactionIndex,gas,gasPrice,gasUsed,cumulativeGasUsed,input,methodId,functionName,confirmations"},
		{TokenNFTTx, false, "blockNumber,timeStamp,hash,nonce,blockHash,from,contractAddress,to,tokenID,tokenName,tokenSymbol,tokenDecimal,transactionIndex,gas,gasPrice,gasUsed,cumulativeGasUsed,input,methodId,functionName,confirmations"},
	} {
		t.Run(fmt.Sprintf("%s-blockscout=%v", tc.action, tc.blockscout), func(t *testing.T) {
			s := New(t, recs, Options{Blockscout: tc.blockscout})
			r := get(t, s, "module=account&action="+tc.action+"&address="+alice)
			if r.Status != "1" || r.Message != "OK" {
				t.Fatalf("%s", r.body)
			}
			keys, values := objectKeys(t, r.Result)
			if strings.Join(keys, ",") != tc.keys {
				t.Fatalf("keys\n got %s\nwant %s", strings.Join(keys, ","), tc.keys)
			}
			for i, v := range values {
				if _, ok := v.(string); !ok {
					t.Errorf("%s is %T, want a string", keys[i], v)
				}
			}
		})
	}
}

// objectKeys reads the keys, in order, and values of the one object of a
// JSON list.
func objectKeys(t *testing.T, list []byte) ([]string, []any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(list))
	dec.UseNumber()
	tok := func() json.Token {
		x, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	if tok() != json.Delim('[') || tok() != json.Delim('{') {
		t.Fatalf("not a list of objects: %s", list)
	}
	var keys []string
	var values []any
	for dec.More() {
		keys = append(keys, tok().(string))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	return keys, values
}

func TestEmptyMessages(t *testing.T) {
	for _, tc := range []struct {
		blockscout bool
		action     string
		msg        string
	}{
		{false, TxListInternal, "No transactions found"},
		{false, TokenTx, "No transactions found"},
		{true, TxListInternal, "No internal transactions found"},
		{true, TokenNFTTx, "No token transfers found"},
	} {
		s := New(t, nil, Options{Blockscout: tc.blockscout})
		r := get(t, s, "module=account&action="+tc.action+"&address="+alice)
		if r.Status != "0" || r.Message != tc.msg || string(r.Result) != "[]" {
			t.Errorf("%s blockscout=%v: %s", tc.action, tc.blockscout, r.body)
		}
	}
}

func TestRateLimit(t *testing.T) {
	s := New(t, natives(1, 1), Options{RateLimit: 3})
	limited := 0
	for range 5 {
		r := get(t, s, "module=account&action=txlist&address="+alice)
		if r.Status == "0" {
			if txt := r.text(t); txt != "Max calls per sec rate limit reached (3/sec)" || r.Message != MsgNOTOK {
				t.Fatalf("rate-limit answer %s", r.body)
			}
			limited++
		}
	}
	if limited != 2 || s.RateLimited() != 2 {
		t.Fatalf("%d (server: %d) answers rate-limited, want 2", limited, s.RateLimited())
	}
	time.Sleep(1100 * time.Millisecond)
	if r := get(t, s, "module=account&action=txlist&address="+alice); r.Status != "1" {
		t.Fatalf("after a second: %s", r.body)
	}
}

func TestHooks(t *testing.T) {
	s := New(t, []Record{Native(1, hash(1), bob, alice, "100"), ERC721(2, hash(2), token, bob, alice, "7")}, Options{})
	if n := s.Corrupt(TxList, hash(1), "999"); n != 1 {
		t.Fatalf("corrupted %d records", n)
	}
	if n := s.Corrupt(TokenNFTTx, hash(2), "8"); n != 1 {
		t.Fatalf("corrupted %d records", n)
	}
	s.Inject(Native(3, hash(3), carol, alice, "5"))
	items := get(t, s, "module=account&action=txlist&address="+alice).items(t)
	if len(items) != 2 || items[0]["value"] != "999" || items[1]["hash"] != hash(3) {
		t.Fatalf("after corrupt and inject: %v", items)
	}
	if it := get(t, s, "module=account&action=tokennfttx&address="+alice).items(t); it[0]["tokenID"] != "8" {
		t.Fatalf("tokenID %v", it[0]["tokenID"])
	}

	s.FailNext(1, http.StatusTooManyRequests, "2")
	res, err := http.Get(s.URL() + "?module=account&action=txlist&address=" + alice)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "2" {
		t.Fatalf("FailNext: HTTP %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	s.DropNext(1)
	if _, err := http.Get(s.URL() + "?module=account&action=txlist&address=" + alice); err == nil {
		t.Fatal("DropNext: the request succeeded")
	}
	if r := get(t, s, "module=account&action=txlist&address="+alice); r.Status != "1" {
		t.Fatalf("after the failures: %s", r.body)
	}
	q := s.Queries()
	if s.Requests() != len(q) || len(s.Times()) != len(q) || q[0].Get("action") != "txlist" {
		t.Fatalf("%d requests, %d queries", s.Requests(), len(q))
	}
}

func TestContractAddressFilter(t *testing.T) {
	other := "0x00000000000000000000000000000000000070c4"
	s := New(t, []Record{ERC20(1, hash(1), token, bob, alice, "1"), ERC20(2, hash(2), other, bob, alice, "2")}, Options{})
	v := url.Values{"module": {"account"}, "action": {"tokentx"}, "address": {alice}, "contractaddress": {other}}
	items := get(t, s, v.Encode()).items(t)
	if len(items) != 1 || items[0]["value"] != "2" {
		t.Fatalf("filtered by contract: %v", items)
	}
}
