package incidents

import (
	"embed"
	"path"
	"sync"
)

// BuiltinName is how errors and Catalog.Files name the built-in catalog: its
// path in the repository.
const BuiltinName = "incidents/catalog.yaml"

//go:embed catalog.yaml upbit-2019-etherscan-labels.csv
var builtinFS embed.FS

var (
	builtinOnce sync.Once
	builtinCat  *Catalog
	builtinErr  error
)

// Builtin returns the catalog shipped with chaintrace (catalog.yaml in this
// package, embedded with the address files it references). Each call
// returns a fresh copy that the caller may change.
func Builtin() (*Catalog, error) {
	builtinOnce.Do(func() {
		data, err := builtinFS.ReadFile("catalog.yaml")
		if err != nil {
			builtinErr = err
			return
		}
		builtinCat, builtinErr = parse(BuiltinName, data, func(rel string) (string, []byte, error) {
			b, err := builtinFS.ReadFile(path.Clean(rel))
			return path.Join(path.Dir(BuiltinName), rel), b, err
		})
	})
	if builtinErr != nil {
		return nil, builtinErr
	}
	return Merge(builtinCat)
}
