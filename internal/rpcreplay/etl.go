package rpcreplay

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ETLPrefix starts the name of every ethereum-etl recording.
const ETLPrefix = "web3_response."

// etlKeys are the object keys that appear in ethereum-etl file names. The
// naming writes an object param as key_value pairs, keys sorted; a key tells
// an object's start apart from a positional param, since values are
// lower-cased hex, numbers or tags.
var etlKeys = []string{
	"address", "blockHash", "data", "from", "fromBlock", "gas", "gasPrice",
	"input", "onlyTopCall", "reexec", "timeout", "to", "toBlock", "topics",
	"tracer", "value", "withLog",
}

// etlListKeys hold a list: every following token up to the next key.
var etlListKeys = []string{"topics"}

// ParseETLName reconstructs the call an ethereum-etl recording answers from
// its file name, web3_response.<method>_<params joined by _>.json. The
// naming (ethereum-etl's MockWeb3Provider) lower-cases every value, writes
// booleans as true/false, None as none, an object as key_value pairs with
// sorted keys, and a list as its items. So
//
//	eth_getBlockByNumber_0xb872_true                 -> ["0xb872", true]
//	debug_traceBlockByNumber_0xf45bf_tracer_calltracer -> ["0xf45bf", {"tracer": "calltracer"}]
//	eth_newFilter_fromBlock_0x1_toBlock_0x1_topics_0xdd -> [{"fromBlock":"0x1","toBlock":"0x1","topics":["0xdd"]}]
//	eth_call_data_0x06_to_0xdb_latest                -> [{"data":"0x06","to":"0xdb"}, "latest"]
//	eth_chainId_                                     -> []
//
// The method is the first two words: every JSON-RPC method is
// namespace_name.
func ParseETLName(name string) (method string, params []any, err error) {
	base := filepath.Base(name)
	if !strings.HasPrefix(base, ETLPrefix) || !strings.HasSuffix(base, ".json") {
		return "", nil, fmt.Errorf("%s: not a %s*.json recording", base, ETLPrefix)
	}
	toks := strings.Split(strings.TrimSuffix(strings.TrimPrefix(base, ETLPrefix), ".json"), "_")
	if len(toks) < 2 || toks[0] == "" || toks[1] == "" {
		return "", nil, fmt.Errorf("%s: no namespace_method in the name", base)
	}
	method = toks[0] + "_" + toks[1]
	toks = toks[2:]
	if len(toks) == 1 && toks[0] == "" {
		toks = nil // "eth_chainId_": no params
	}
	params = []any{}
	isKey := func(t string) bool { return slices.Contains(etlKeys, t) }
	for i := 0; i < len(toks); {
		if !isKey(toks[i]) {
			params = append(params, etlValue(toks[i]))
			i++
			continue
		}
		obj := map[string]any{}
		for i < len(toks) && isKey(toks[i]) {
			k := toks[i]
			i++
			if slices.Contains(etlListKeys, k) {
				var list []any
				for i < len(toks) && !isKey(toks[i]) {
					list = append(list, etlValue(toks[i]))
					i++
				}
				obj[k] = list
				continue
			}
			if i >= len(toks) {
				return "", nil, fmt.Errorf("%s: key %s has no value", base, k)
			}
			obj[k] = etlValue(toks[i])
			i++
		}
		params = append(params, obj)
	}
	return method, params, nil
}

func etlValue(t string) any {
	switch t {
	case "true":
		return true
	case "false":
		return false
	case "none":
		return nil
	}
	return t
}

// etlEnvelope is the content of a recording: a full JSON-RPC answer.
type etlEnvelope struct {
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
}

// LoadEthereumETL loads every web3_response.*.json recording in the given
// directories (not their subdirectories) and returns how many it loaded. The
// call each answers is read from its file name (see ParseETLName).
func (s *Server) LoadEthereumETL(dirs ...string) (int, error) {
	n := 0
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return n, err
		}
		for _, e := range ents {
			if e.IsDir() || !strings.HasPrefix(e.Name(), ETLPrefix) {
				continue
			}
			if err := s.LoadEthereumETLFile(filepath.Join(dir, e.Name())); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// LoadEthereumETLFile loads one ethereum-etl recording.
func (s *Server) LoadEthereumETLFile(path string) error {
	method, params, err := ParseETLName(path)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var env etlEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if env.Error != nil {
		s.HandleError(method, params, env.Error.Code, env.Error.Message)
		return nil
	}
	if env.Result == nil {
		return fmt.Errorf("%s: neither result nor error", path)
	}
	s.Handle(method, params, env.Result)
	return nil
}
