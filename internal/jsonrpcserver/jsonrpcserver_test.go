package jsonrpcserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	elems, batch, err := Split([]byte(" \n[{\"id\":1},{\"id\":\"a\"}] "))
	if err != nil || !batch || len(elems) != 2 || string(elems[1]) != `{"id":"a"}` {
		t.Fatalf("batch: %q %v %v", elems, batch, err)
	}
	elems, batch, err = Split([]byte(" {\"id\":7} \n"))
	if err != nil || batch || len(elems) != 1 || string(elems[0]) != `{"id":7}` {
		t.Fatalf("single: %q %v %v", elems, batch, err)
	}
	if _, batch, err = Split([]byte("[{")); err == nil || !batch {
		t.Fatalf("bad batch: %v %v", batch, err)
	}
	if elems, batch, err = Split([]byte("[]")); err != nil || !batch || len(elems) != 0 {
		t.Fatalf("empty batch: %q %v %v", elems, batch, err)
	}
	if IsBatch([]byte("  ")) || !IsBatch([]byte("\t[")) {
		t.Fatal("IsBatch")
	}
}

func TestAnswers(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{string(ErrorAnswer(nil, &Error{-32700, "parse error"})), `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`},
		{string(ErrorAnswer(json.RawMessage(`"x"`), &Error{-32601, "no"})), `{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"no"}}`},
		{string(ResultAnswer(json.RawMessage(`12345678901234567890`), []int{1, 2})), `{"jsonrpc":"2.0","id":12345678901234567890,"result":[1,2]}`},
		{string(ResultAnswer(nil, nil)), `{"jsonrpc":"2.0","id":null,"result":null}`},
		{string(ResultAnswer(json.RawMessage(`1`), func() {})), `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"json: unsupported type: func()"}}`},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
	// A server's own error type is encoded as it is.
	type dataError struct {
		Code int    `json:"code"`
		Data string `json:"data"`
	}
	if got, want := string(ErrorAnswer(json.RawMessage("3"), &dataError{1, "d"})), `{"jsonrpc":"2.0","id":3,"error":{"code":1,"data":"d"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := (&Error{-32000, "boom"}).Error(); got != "boom (code -32000)" {
		t.Errorf("Error() = %q", got)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("broken body") }

func TestReadBodyAndWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	body, ok := ReadBody(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"id":1}`)))
	if !ok || string(body) != `{"id":1}` {
		t.Fatalf("ReadBody = %q, %v", body, ok)
	}
	WriteJSON(w, []byte(`{}`))
	if w.Header().Get("Content-Type") != "application/json" || w.Body.String() != `{}` {
		t.Fatalf("WriteJSON: %v %q", w.Header(), w.Body.String())
	}
	w = httptest.NewRecorder()
	if _, ok := ReadBody(w, httptest.NewRequest(http.MethodPost, "/", failingReader{})); ok {
		t.Fatal("ReadBody of a broken body succeeded")
	}
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "broken body") {
		t.Fatalf("broken body: %d %q", w.Code, w.Body.String())
	}
}
