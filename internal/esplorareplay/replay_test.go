package esplorareplay

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestDocumentedShapes(t *testing.T) {
	var blocks []Block
	for i := 0; i < 30; i++ {
		blocks = append(blocks, Block{Height: uint64(100 + i), Time: 1000, Txs: []Tx{{
			Txid: fmt.Sprintf("%064x", i+1),
			Vin:  []Input{{Txid: strings.Repeat("0", 64), Vout: 0xffffffff, IsCoinbase: true}},
			Vout: []Output{{ScriptPubKey: "0014" + strings.Repeat("11", 20), ScriptPubKeyType: "v0_p2wpkh", ScriptPubKeyAddress: "addrX", Value: int64(i + 1)}},
		}}})
	}
	s := New(t, blocks, Options{})
	code, body := get(t, s.URL+"/tx/"+strings.Repeat("ef", 32))
	if code != 404 || body != "Transaction not found" {
		t.Fatalf("%d %q", code, body)
	}
	_, body = get(t, s.URL+"/tx/"+fmt.Sprintf("%064x", 1))
	if !strings.HasPrefix(body, `{"txid":`) || !strings.Contains(body, `"status":{"confirmed":true,"block_height":100,`) {
		t.Fatalf("tx %s", body)
	}
	var page []Tx
	_, body = get(t, s.URL+"/address/addrX/txs/chain")
	json.Unmarshal([]byte(body), &page)
	if len(page) != 25 || page[0].Status.BlockHeight != 129 {
		t.Fatalf("page 0: %d", len(page))
	}
	_, body = get(t, s.URL+"/address/addrX/txs/chain/"+page[24].Txid)
	json.Unmarshal([]byte(body), &page)
	if len(page) != 5 || page[4].Status.BlockHeight != 100 {
		t.Fatalf("page 1: %d", len(page))
	}
	if code, body := get(t, s.URL+"/blocks/tip/height"); code != 200 || body != "129" {
		t.Fatalf("tip %q", body)
	}
	if s.Requests() != 5 {
		t.Fatalf("%d requests", s.Requests())
	}
}
