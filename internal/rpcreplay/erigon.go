package rpcreplay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ErigonEntry is one line of the erigon-dev fixtures' index.json.
type ErigonEntry struct {
	File        string          `json:"file"`
	Method      string          `json:"method"` // "batch:m1,m2,..." for a batch file
	Params      json.RawMessage `json:"params"`
	ID          json.RawMessage `json:"id"`
	Outcome     string          `json:"outcome"` // result or error
	Description string          `json:"description"`
	Block       *uint64         `json:"block,omitempty"`
	Tx          string          `json:"tx,omitempty"`
	Page        *int            `json:"page,omitempty"`
}

// ErigonRecording is the content of one erigon-dev file: the request sent
// and the answer, each an object, or an array for a batch.
type ErigonRecording struct {
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
}

// ReadErigonIndex reads dir/index.json.
func ReadErigonIndex(dir string) ([]ErigonEntry, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	var idx []ErigonEntry
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	return idx, nil
}

// ReadErigonRecording reads one recorded file.
func ReadErigonRecording(path string) (*ErigonRecording, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r ErigonRecording
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(r.Request) == 0 || len(r.Response) == 0 {
		return nil, fmt.Errorf("%s: want {\"request\", \"response\"}", path)
	}
	return &r, nil
}

// LoadErigonDev loads the erigon-dev recordings listed in dir/index.json,
// those for which keep returns true (all when keep is nil), and returns how
// many calls it loaded. Each call is matched by the method and params of its
// recorded request; a batch file contributes each of its calls. When two
// files record the same call (the chain's head moved between recordings:
// eth_blockNumber.late, *.long_chain), the first in index order is kept;
// pass keep to choose the other.
func (s *Server) LoadErigonDev(dir string, keep func(ErigonEntry) bool) (int, error) {
	idx, err := ReadErigonIndex(dir)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	n := 0
	for _, e := range idx {
		if keep != nil && !keep(e) {
			continue
		}
		rec, err := ReadErigonRecording(filepath.Join(dir, e.File))
		if err != nil {
			return n, err
		}
		pairs, err := rec.Calls()
		if err != nil {
			return n, fmt.Errorf("%s: %w", e.File, err)
		}
		for _, p := range pairs {
			key, err := Key(p.Method, p.Params)
			if err != nil {
				return n, fmt.Errorf("%s: %w", e.File, err)
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			if p.Error != nil {
				s.put(p.Method, p.Params, answer{err: p.Error})
			} else {
				s.Handle(p.Method, p.Params, p.Result)
			}
			n++
		}
	}
	return n, nil
}

// RecordedCall is one call of a recording with its answer.
type RecordedCall struct {
	ID     json.RawMessage
	Method string
	Params json.RawMessage
	Result json.RawMessage // nil when Error is set
	Error  *Error
}

// Calls pairs the recording's requests with their answers by id.
func (r *ErigonRecording) Calls() ([]RecordedCall, error) {
	var reqs []request
	var resps []response
	if bytes.HasPrefix(bytes.TrimSpace(r.Request), []byte("[")) {
		if err := json.Unmarshal(r.Request, &reqs); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(r.Response, &resps); err != nil {
			return nil, err
		}
	} else {
		var q request
		var a response
		if err := json.Unmarshal(r.Request, &q); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(r.Response, &a); err != nil {
			return nil, err
		}
		reqs, resps = []request{q}, []response{a}
	}
	byID := map[string]response{}
	for _, a := range resps {
		byID[string(a.ID)] = a
	}
	out := make([]RecordedCall, 0, len(reqs))
	for _, q := range reqs {
		a, ok := byID[string(q.ID)]
		if !ok {
			return nil, fmt.Errorf("no answer to request id %s", q.ID)
		}
		params := q.Params
		if len(params) == 0 || string(params) == "null" {
			params = json.RawMessage("[]")
		}
		c := RecordedCall{ID: q.ID, Method: q.Method, Params: params, Error: a.Error}
		if a.Error == nil {
			c.Result = a.Result
			if c.Result == nil {
				c.Result = json.RawMessage("null")
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// ReadErigonCall reads a recorded file that holds exactly one call.
func ReadErigonCall(path string) (RecordedCall, error) {
	rec, err := ReadErigonRecording(path)
	if err != nil {
		return RecordedCall{}, err
	}
	calls, err := rec.Calls()
	if err != nil {
		return RecordedCall{}, err
	}
	if len(calls) != 1 {
		return RecordedCall{}, fmt.Errorf("%s: want one call, got %d", path, len(calls))
	}
	return calls[0], nil
}
