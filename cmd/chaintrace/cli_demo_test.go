package main

import (
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/exhibit"
)

// TestDemo runs the main job end to end: both legs write exhibits that
// pass the schema and their own verification, and every endpoint received
// what the script paid it.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts geth and btcd; skipped with -short")
	}
	out := t.TempDir()
	code, stdout, errs := runCLI(t, nil, "demo", "--out", out)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s\n%s", code, errs, stdout)
	}
	for _, leg := range []string{".", "btc"} {
		path := filepath.Join(out, leg, "exhibit.json")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		e, err := exhibit.ReadVerified(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := exhibit.ValidateExhibit(e); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if len(e.Endpoints) == 0 || len(e.Transfers) == 0 {
			t.Errorf("%s: %d transfers, %d endpoints", path, len(e.Transfers), len(e.Endpoints))
		}
		for _, name := range []string{"transfers.csv", "flow.dot", "labels.csv"} {
			if st, err := os.Stat(filepath.Join(out, leg, name)); err != nil || st.Size() == 0 {
				t.Errorf("%s/%s: %v", leg, name, err)
			}
		}
	}
	if n := strings.Count(stdout, "verify: OK"); n != 2 {
		t.Errorf("%d verifications passed, want 2:\n%s", n, stdout)
	}
	// Each summary row has what the endpoint received, its taint under the
	// five models (none above what it received, poison all of it) and,
	// last, what the script says it paid: that must agree with what it
	// received.
	checked := 0
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		i := slices.Index(f, "exchange")
		if i < 0 || len(f) < i+8 {
			continue
		}
		recv := i + 1
		if f[recv] == "ETH" || f[recv] == "token" {
			recv++
		}
		if len(f) != recv+7 {
			t.Errorf("endpoint line %q: want received, five models and the script's figure", line)
			continue
		}
		checked++
		received, _ := new(big.Int).SetString(f[recv], 10)
		if got, want := f[recv], f[len(f)-1]; got != want {
			t.Errorf("endpoint line %q: received %s, the script paid %s", line, got, want)
		}
		for _, v := range f[recv+1 : recv+6] {
			if x, ok := new(big.Int).SetString(v, 10); !ok || received == nil || x.Cmp(received) > 0 {
				t.Errorf("endpoint line %q: a model's taint %s is not within what it received", line, v)
			}
		}
		if f[recv+5] != f[recv] {
			t.Errorf("endpoint line %q: poison (%s) must mark all it received", line, f[recv+5])
		}
	}
	if checked < 6 {
		t.Errorf("%d exchange lines in the summary, want at least 6:\n%s", checked, stdout)
	}
}
