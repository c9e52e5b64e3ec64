package exhibit

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ and docs/exhibit.schema.json")

// The sample exhibit and its exports byte for byte: any change to the
// format, the digest or an export shows up here. Review the diff, then run
// `go test ./exhibit -update`.
func TestGolden(t *testing.T) {
	e := sampleExhibit(t)
	outputs := []struct {
		file  string
		write func(io.Writer, *Exhibit) error
	}{
		{"sample.exhibit.json", Write},
		{"sample.transfers.csv", WriteCSV},
		{"sample.graph.dot", WriteDOT},
	}
	for _, o := range outputs {
		t.Run(o.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := o.write(&buf, e); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", o.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./exhibit -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file; if the change is intended, run go test ./exhibit -update\n got:\n%s", path, buf.Bytes())
			}
		})
	}
	// The golden exhibit reads, validates and verifies on its own.
	f, err := os.Open(filepath.Join("testdata", "sample.exhibit.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadVerified(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Error("golden exhibit reads back different from the sample")
	}
}
