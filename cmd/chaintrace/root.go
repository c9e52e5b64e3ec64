package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/tracer"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// globalOptions carries what every command shares: the merged configuration
// (flags over environment over config file over defaults) and the logger.
type globalOptions struct {
	v      *viper.Viper
	logger *slog.Logger
	stderr io.Writer
	stdout io.Writer
	// shared, when set, is the batch this trace is a job of (shared.go).
	shared *sharedConns
	// walkProgress, when set, is told how a trace's walk is going.
	walkProgress func(tracer.Progress)
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &globalOptions{v: viper.New(), stderr: stderr, stdout: stdout}
	root := &cobra.Command{
		Use:           "chaintrace",
		Short:         "Follow stolen funds across Bitcoin and Ethereum and write court exhibits",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return opts.load(cmd)
		},
	}
	pf := root.PersistentFlags()
	pf.String("config", "", "YAML config file (every flag is also a config key)")
	pf.String("store", defaultStore(), "Badger store directory")
	pf.String("log-level", "info", "log level: debug, info, warn, error")
	pf.String("log-format", "text", "log format on standard error: text or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		newIndexCommand(opts),
		newTransfersCommand(opts),
		newDemoCommand(opts),
		newBenchCommand(opts),
		newTraceCommand(opts),
		newVerifyCommand(opts),
		newLabelsCommand(opts),
		newClusterCommand(opts),
		newWatchCommand(opts),
		newBatchCommand(opts),
		newIncidentsCommand(opts),
	)
	return root
}

func defaultStore() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".chaintrace/store"
	}
	return filepath.Join(home, ".chaintrace", "store")
}

// configKey maps a flag name to its config key: the node flags nest under
// their chain ("--eth-rpc" is "eth.rpc"), the rest are top-level. The
// environment variable is CHAINTRACE_ and the key upper-cased with "." and
// "-" as "_".
func configKey(flag string) string {
	if flag == "esplora" { // --esplora URL: esplora.url, beside the esplora-* keys
		return "esplora.url"
	}
	for _, p := range []string{"eth-", "btc-", "etherscan-", "esplora-"} {
		if strings.HasPrefix(flag, p) {
			return strings.TrimSuffix(p, "-") + "." + flag[len(p):]
		}
	}
	return flag
}

// load reads the config file and binds every flag of the running command to
// its key, so that o.v answers with flag, environment, file, default in
// that order of precedence.
func (o *globalOptions) load(cmd *cobra.Command) error {
	v := o.v
	v.SetEnvPrefix("CHAINTRACE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	known := map[string]bool{}
	var bindErr error
	bind := func(f *pflag.Flag) {
		if f.Name == "help" || f.Name == "version" || f.Name == "config" {
			return
		}
		key := configKey(f.Name)
		known[key] = true
		if err := v.BindPFlag(key, f); err != nil && bindErr == nil {
			bindErr = err
		}
	}
	cmd.Flags().VisitAll(bind)
	cmd.InheritedFlags().VisitAll(bind)
	if bindErr != nil {
		return bindErr
	}
	if path, _ := cmd.Flags().GetString("config"); path != "" {
		if err := readConfig(v, path, cmd.Root(), known); err != nil {
			return err
		}
	}
	return o.setupLogger()
}

// readConfig reads a YAML config and refuses keys that no flag of any command
// knows: a typo in a config must not be silently ignored.
func readConfig(v *viper.Viper, path string, root *cobra.Command, _ map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return usagef("config %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(f); err != nil {
		return usagef("config %s: not valid YAML: %s", path, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	all := allConfigKeys(root)
	var unknown []string
	for _, k := range v.AllKeys() {
		if !all[k] && v.InConfig(k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return usagef("config %s: unknown key %q (see configs/chaintrace.example.yaml)", path, unknown[0])
	}
	return nil
}

func allConfigKeys(root *cobra.Command) map[string]bool {
	keys := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) { keys[configKey(f.Name)] = true }
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, k := range heuristicsConfigKeys() {
		keys[k] = true
	}
	return keys
}

func (o *globalOptions) setupLogger() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.v.GetString("log-level"))); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", o.v.GetString("log-level"))
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch f := o.v.GetString("log-format"); f {
	case "text":
		o.logger = slog.New(slog.NewTextHandler(o.stderr, hopts))
	case "json":
		o.logger = slog.New(slog.NewJSONHandler(o.stderr, hopts))
	default:
		return usagef("--log-format %q: want text or json", f)
	}
	return nil
}

// uintFlag reads a non-negative integer option, naming the flag on error.
func (o *globalOptions) uintFlag(flag string) (uint64, error) {
	s := strings.TrimSpace(o.v.GetString(configKey(flag)))
	if s == "" {
		return 0, usagef("--%s is required", flag)
	}
	var n uint64
	if _, err := fmt.Sscan(s, &n); err != nil || fmt.Sprint(n) != s {
		return 0, usagef("--%s %q: want a non-negative integer", flag, s)
	}
	return n, nil
}
