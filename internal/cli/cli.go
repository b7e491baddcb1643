// Package cli implements vulngate's command line: the cobra command tree,
// flag and environment handling, logging setup and exit codes. Commands are
// thin: each resolves the data directory, opens the store and calls the
// package that does the work.
//
// Exit codes: 0 success; 1 a --fail-on threshold was met; 2 usage errors,
// bad input or failures.
//
// It leaves out the work itself (no matching, SQL or HTTP of its own
// beyond what "project --server" sends through project.Client) and the
// server's pages and API (internal/server); commands other than "project"
// work on the local data directory or database only.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vulngate/vulngate/internal/datadir"
	"github.com/vulngate/vulngate/internal/logbuf"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/store"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// ExitError carries a specific exit code.
type ExitError struct {
	Code    int
	Message string
}

func (e ExitError) Error() string { return e.Message }

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	dataDirFlag    string
	databaseURL    string
	logLevel       string
	logFormat      string
	verbose        bool
	log            *slog.Logger
	jsonLog        func(io.Writer) slog.Handler // the JSON handler's constructor, when logs are JSON (bufferLogs)
	// quiet discards the notices that surround a human-readable report
	// (chatter): used unless -v or an explicit --log-level asks for them.
	quiet bool
}

// ownGCAnnotation marks a command whose RunE sets the garbage collector's
// pacing first thing (collectRarely): it takes over the start-up hold
// (holdStartup) instead of the hold ending before it runs. The root's
// PersistentPreRunE ends the hold for every other command; a command
// with a PersistentPreRunE of its own (none has one) would have to call
// releaseStartup itself.
const ownGCAnnotation = "vulngate/gc"

// Execute runs the command line with args (without the program name).
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	holdStartup()
	defer releaseStartup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "vulngate",
		Short:         "Mirror vulnerability advisories, scan packages and SBOMs, gate downloads",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Annotations[ownGCAnnotation] == "" {
				releaseStartup()
			}
			e.quiet = !e.verbose && !cmd.Flags().Changed("log-level")
			return e.setupLogging()
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&e.dataDirFlag, "data-dir", "", "data directory (default $"+datadir.EnvVar+", else the user data directory)")
	root.PersistentFlags().StringVar(&e.databaseURL, "database-url", "", "PostgreSQL connection URL or key=value string (default $"+DatabaseURLEnv+"); without one, SQLite in the data directory")
	root.PersistentFlags().StringVar(&e.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&e.logFormat, "log-format", "auto", "log format: auto (text on a terminal, else JSON), text, json")
	root.PersistentFlags().BoolVarP(&e.verbose, "verbose", "v", false, "also log the notices around a report (sources skipped, counts; scan, assess)")
	root.AddCommand(e.mirrorCmd(), e.scanCmd(), e.dataDirCmd())
	root.AddCommand(e.assessCmd())
	root.AddCommand(e.serveCmd())
	root.AddCommand(e.feedCmd())
	root.AddCommand(e.projectCmd())
	root.AddCommand(e.backupCmd(), e.restoreCmd(), e.migrateCmd())
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func (e *env) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(e.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	format := strings.ToLower(e.logFormat)
	switch {
	case format == "json" || format == "auto" && !isTerminal(e.stderr):
		e.jsonLog = func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, opts) }
		e.log = slog.New(e.jsonLog(e.stderr))
	case format == "text" || format == "auto":
		e.log = slog.New(slog.NewTextHandler(e.stderr, opts))
	default:
		return fmt.Errorf("--log-format: want auto, text or json, got %q", e.logFormat)
	}
	return nil
}

// bufferLogs makes JSON log output (a server's, read by machines) go
// through a logbuf.Writer: lines written out every 100 ms or each 64 KiB,
// warnings and errors at once. The function returned writes out the rest;
// call it when nothing logs any more. A serving process logged a line per
// request, one write(2) each under slog's lock: a tenth of a busy feed's
// CPU, and requests queued behind it.
func (e *env) bufferLogs() (flush func()) {
	if e.jsonLog == nil {
		return func() {}
	}
	w := logbuf.New(e.stderr, 100*time.Millisecond, 64<<10)
	e.log = slog.New(logbuf.Handler(e.jsonLog(w), w))
	return func() { w.Close() }
}

// chatter is the logger for notices around a report that a person reading
// the table does not need (OSS Index skipped, counts of what was recorded,
// "scan finished"): e.log with -v or an explicit --log-level, else
// nothing.
func (e *env) chatter() *slog.Logger {
	if e.quiet || e.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.log
}

// terminalLayout is the table's width and colour for w: the terminal's
// width with colour (unless $NO_COLOR is set) on a terminal, else
// report.DefaultWidth without colour.
func terminalLayout(w io.Writer) (width int, color bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return report.DefaultWidth, false
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width < 40 {
		width = report.DefaultWidth
	}
	return width, os.Getenv("NO_COLOR") == ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// DatabaseURLEnv names the environment variable with the PostgreSQL DSN.
const DatabaseURLEnv = "VULNGATE_DATABASE_URL"

// openStore resolves the data directory and opens the store: PostgreSQL
// when --database-url or $VULNGATE_DATABASE_URL is set, else SQLite in the
// data directory. The data directory is resolved either way: it holds
// temporary downloads and the feeds' artifact cache.
func (e *env) openStore(ctx context.Context) (*store.Store, string, error) {
	return e.openStoreWith(ctx, store.Options{})
}

// openStoreWith is openStore with SQLite tuned by the command
// (store.Options.PageCacheKiB, MapBytes; zero values: the defaults).
func (e *env) openStoreWith(ctx context.Context, tune store.Options) (*store.Store, string, error) {
	dir, err := datadir.Ensure(e.dataDirFlag)
	if err != nil {
		return nil, "", err
	}
	dsn := e.databaseURL
	if dsn == "" {
		dsn = os.Getenv(DatabaseURLEnv)
	}
	st, err := store.Open(ctx, store.Options{DataDir: dir, DSN: dsn, PageCacheKiB: tune.PageCacheKiB, MapBytes: tune.MapBytes})
	if err != nil {
		return nil, "", err
	}
	if e.log != nil {
		e.log.Debug("store opened", "engine", string(st.Dialect()), "database", st.Location())
	}
	return st, dir, nil
}

func (e *env) dataDirCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "data-dir",
		Short: "Print the data directory this command line would use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := datadir.Resolve(e.dataDirFlag)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, dir)
			return nil
		},
	}
}

// envDefault returns the environment variable's value or def.
func envDefault(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// withStore opens the store for a command, runs fn with it and the data
// directory, and closes it.
func (e *env) withStore(cmd *cobra.Command, fn func(ctx context.Context, st *store.Store, dir string) error) error {
	ctx := cmd.Context()
	st, dir, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, st, dir)
}

// openOutput returns where a command writes its result: standard output
// for "" or "-", else the file path (created or truncated); closeOut
// closes what it opened.
func (e *env) openOutput(path string) (out io.Writer, closeOut func(), err error) {
	if path == "" || path == "-" {
		return e.stdout, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
