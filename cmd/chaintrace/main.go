// Command chaintrace follows stolen funds across Bitcoin and Ethereum and
// writes court exhibits that anyone can re-verify against a node.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfiles := startProfiles()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfiles()
	if os.Getenv(peakRSSEnv) != "" {
		reportPeakRSS(os.Stderr)
	}
	os.Exit(code)
}

// peakRSSEnv asks the process to print its peak resident memory on exit;
// the index benchmark sets it in its child processes. (A parent cannot read
// it from wait4's ru_maxrss on Linux: a child exec'd from a vfork inherits
// the parent's high-water mark.)
const peakRSSEnv = "CHAINTRACE_REPORT_PEAK_RSS"

// reportPeakRSS prints VmHWM, the peak resident set of this process's own
// address space, where /proc has it.
func reportPeakRSS(w io.Writer) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Fprintf(w, "peak_rss_kib=%s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		}
	}
}

// run executes the command line and returns the exit code: 0 done, 1 a
// runtime failure, 2 bad input.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintln(stderr, "chaintrace: "+msg)
	return exitCode(err)
}

// usageError marks bad input: a flag, an argument, a config file, a file the
// user named. It exits 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	// cobra's own complaints about the command line.
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.HasPrefix(err.Error(), p) {
			return 2
		}
	}
	if errors.Is(err, context.Canceled) {
		return 1 // interrupted: a runtime failure in the contract's terms
	}
	return 1
}

// startProfiles writes a CPU profile to $CHAINTRACE_CPUPROFILE and a heap
// profile to $CHAINTRACE_MEMPROFILE, for performance work on real runs.
func startProfiles() (stop func()) {
	var stops []func()
	if path := os.Getenv("CHAINTRACE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
			}
		}
	}
	if path := os.Getenv("CHAINTRACE_MEMPROFILE"); path != "" {
		stops = append(stops, func() {
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
