package btcnode

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// EnvBtcd names an environment variable that, when set, points at a prebuilt
// btcd executable; it is used instead of building btcd (Options.BtcdPath, when
// set, wins over it).
const EnvBtcd = "CHAINTRACE_BTCD"

// btcdModule is the module (and main package) that provides the btcd binary.
const btcdModule = "github.com/btcsuite/btcd"

var (
	buildMu    sync.Mutex
	builtBtcd  string // path of the btcd built (or found in the cache) by this process
	lastBuilds BuildInfo
)

// BuildInfo describes how the btcd executable used by Start was obtained.
type BuildInfo struct {
	Path    string // the executable
	Version string // btcd module version the binary was built from ("" if given by the caller)
	Built   bool   // true when this process ran `go build` (false: cache hit or caller-supplied)
}

// LastBuild reports how the btcd executable was obtained by the most recent
// BtcdExecutable call in this process.
func LastBuild() BuildInfo {
	buildMu.Lock()
	defer buildMu.Unlock()
	return lastBuilds
}

// BtcdExecutable returns the path of a btcd executable, building it when
// needed.
//
// Order: explicit (Options.BtcdPath) → $CHAINTRACE_BTCD → a binary cached by an
// earlier build of the same btcd version → `go build github.com/btcsuite/btcd`.
//
// The build runs in the current directory's Go module (the chaintrace module,
// whose go.mod pins btcd), so it needs only the module cache and works with no
// network. It differs from rpctest's own builder in three ways: the build
// error is reported (rpctest silently falls back to a "btcd" on $PATH), the
// output is written atomically (concurrent test processes share it), and the
// binary is kept in the user cache dir keyed by btcd version, so later
// processes skip the build.
func BtcdExecutable(explicit string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()

	if explicit == "" {
		explicit = os.Getenv(EnvBtcd)
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("btcnode: btcd executable: %w", err)
		}
		lastBuilds = BuildInfo{Path: explicit}
		return explicit, nil
	}
	if builtBtcd != "" {
		lastBuilds.Built = false
		return builtBtcd, nil
	}

	version := btcdVersion()
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("btcd-%s-%s-%s-%s", sanitize(version), sanitize(runtime.Version()), runtime.GOOS, runtime.GOARCH)
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(dir, name)
	if version != "" {
		if st, err := os.Stat(out); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			builtBtcd = out
			lastBuilds = BuildInfo{Path: out, Version: version}
			return out, nil
		}
	}

	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("btcnode: %w", err)
	}
	tmpName := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(tmpName) // no-op after the rename

	cmd := exec.Command("go", "build", "-o", tmpName, btcdModule)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("btcnode: go build %s (run from the chaintrace module, or set %s): %v: %s",
			btcdModule, EnvBtcd, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmpName, out); err != nil {
		return "", fmt.Errorf("btcnode: %w", err)
	}
	builtBtcd = out
	lastBuilds = BuildInfo{Path: out, Version: version, Built: true}
	return out, nil
}

// btcdVersion is the version of github.com/btcsuite/btcd that `go build` in
// the current module uses ("" when unknown or replaced, which disables the
// cross-process cache). It asks `go list -m` (offline: it reads go.mod), and
// falls back to this binary's build info (test binaries carry no deps there).
func btcdVersion() string {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}{{if .Replace}} replaced{{end}}", btcdModule)
	if out, err := cmd.Output(); err == nil {
		v := strings.TrimSpace(string(out))
		if strings.Contains(v, " ") {
			return ""
		}
		return v
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == btcdModule && d.Replace == nil {
			return d.Version
		}
	}
	return ""
}

func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "chaintrace", "btcnode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("btcnode: %w", err)
	}
	return dir, nil
}

func sanitize(s string) string {
	if s == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, s)
}
