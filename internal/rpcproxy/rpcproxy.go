// Package rpcproxy puts a JSON-RPC proxy in front of a real node that
// answers chosen methods as a node without them would (-32601, "does not
// exist/is not available"), batch elements included, and can be stopped
// mid-way. Tests use it to run the adapter against a real geth node that
// lacks eth_getBlockReceipts, or every trace namespace, as many providers do.
package rpcproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
)

// Proxy is a running proxy.
type Proxy struct {
	srv    *httptest.Server
	target string
	hide   []string
	calls  atomic.Int64
}

// New starts a proxy to target that hides the named methods.
func New(target string, hide ...string) *Proxy {
	p := &Proxy{target: target, hide: hide}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// URL is the proxy's endpoint.
func (p *Proxy) URL() string { return p.srv.URL }

// Calls counts the JSON-RPC calls the proxy received.
func (p *Proxy) Calls() int64 { return p.calls.Load() }

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var batch []map[string]any
	single := false
	if err := json.Unmarshal(body, &batch); err != nil {
		var one map[string]any
		if err := json.Unmarshal(body, &one); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		batch, single = []map[string]any{one}, true
	}
	p.calls.Add(int64(len(batch)))
	out := make([]json.RawMessage, len(batch))
	var pass []map[string]any
	var passIdx []int
	for i, q := range batch {
		m, _ := q["method"].(string)
		if slices.Contains(p.hide, m) {
			out[i], _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": q["id"],
				"error": map[string]any{"code": -32601, "message": fmt.Sprintf("the method %s does not exist/is not available", m)}})
			continue
		}
		pass = append(pass, q)
		passIdx = append(passIdx, i)
	}
	if len(pass) > 0 {
		req, _ := json.Marshal(pass)
		res, err := http.Post(p.target, "application/json", bytes.NewReader(req))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var answers []json.RawMessage
		err = json.NewDecoder(res.Body).Decode(&answers)
		res.Body.Close()
		if err != nil || len(answers) != len(pass) {
			http.Error(w, "bad upstream answer", http.StatusBadGateway)
			return
		}
		for j, i := range passIdx {
			out[i] = answers[j]
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if single {
		w.Write(out[0])
		return
	}
	json.NewEncoder(w).Encode(out)
}
