package main

import (
	"os"
	"path/filepath"
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
	// Each summary row ends with what the endpoint received and what the
	// script says it paid: they must agree.
	checked := 0
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || (f[len(f)-4] != "exchange" && f[len(f)-5] != "exchange") {
			continue
		}
		checked++
		if got, want := f[len(f)-3], f[len(f)-1]; got != want {
			t.Errorf("endpoint line %q: received %s, the script paid %s", line, got, want)
		}
	}
	if checked < 6 {
		t.Errorf("%d exchange lines in the summary, want at least 6:\n%s", checked, stdout)
	}
}
