// Package jsonrpcserver holds the JSON-RPC 2.0 over HTTP plumbing the test
// servers share: reading the body, telling a batch from a single call,
// decoding calls and encoding answers that echo the caller's id.
//
// It is deliberately small: each server keeps its own special cases
// (forwarding, splitting a batch, raw byte passthrough, how it answers a
// malformed body).
package jsonrpcserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Request is one incoming call.
type Request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// Error is a JSON-RPC error object.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// Response is one answer. E is the server's error object type, so that a
// server can keep its own (one with a data member, say).
type Response[E any] struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *E              `json:"error,omitempty"`
}

// Null is the JSON null, the id of an answer to a call whose id is unknown.
var Null = json.RawMessage("null")

// IDOrNull is id, or null when there is none.
func IDOrNull(id json.RawMessage) json.RawMessage {
	if len(id) == 0 {
		return Null
	}
	return id
}

// ErrorAnswer is the encoded answer with error e to the call with id (null
// when there is none).
func ErrorAnswer[E any](id json.RawMessage, e *E) json.RawMessage {
	b, _ := json.Marshal(Response[E]{JSONRPC: "2.0", ID: IDOrNull(id), Error: e})
	return b
}

// ResultAnswer is the encoded answer with result to the call with id (null
// when there is none); a result that does not marshal answers -32603 with
// the marshalling error.
func ResultAnswer(id json.RawMessage, result any) json.RawMessage {
	raw, err := json.Marshal(result)
	if err != nil {
		return ErrorAnswer(id, &Error{Code: -32603, Message: err.Error()})
	}
	b, _ := json.Marshal(Response[Error]{JSONRPC: "2.0", ID: IDOrNull(id), Result: raw})
	return b
}

// ReadBody reads the request's body. When that fails it answers 400 with
// the error and returns false.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// IsBatch reports whether body, white space trimmed, is a JSON array.
func IsBatch(body []byte) bool {
	body = bytes.TrimSpace(body)
	return len(body) > 0 && body[0] == '['
}

// Split trims body and tells a batch from a single call: a batch is
// decoded into its elements (err when that fails), a single call is the one
// element.
func Split(body []byte) (elems []json.RawMessage, batch bool, err error) {
	body = bytes.TrimSpace(body)
	if !IsBatch(body) {
		return []json.RawMessage{body}, false, nil
	}
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, true, err
	}
	return elems, true, nil
}

// WriteJSON writes b as the application/json answer.
func WriteJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
