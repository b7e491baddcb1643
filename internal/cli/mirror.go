package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/cputime"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/server"
	"github.com/vulngate/vulngate/internal/source/enrich"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
)

func (e *env) mirrorCmd() *cobra.Command {
	var baseURL, ecosystems string
	var full bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "mirror",
		Short: "Mirror OSV advisories for the selected ecosystems into the local store",
		Long: `Mirror OSV advisories from a source laid out like the OSV bucket
(ecosystems.txt, <Ecosystem>/all.zip, <Ecosystem>/modified_id.csv).

The first sync of an ecosystem imports all.zip; later syncs fetch only the
records modified since. --base-url may be https://, http:// or file:// (a
local copy, for offline use). Ecosystems not selected keep what was mirrored;
remove them with "vulngate mirror purge".

The mirror takes the lease of the servers' OSV mirror job on the same
store, so it never runs beside a server's mirror (or another "vulngate
mirror"): when one is running it stops with a message naming that run, or
waits for it with --wait. Its run is recorded in the job's history (cause
"cli:<user>").

The source and ecosystems come from --base-url and --ecosystems, else from
$VULNGATE_OSV_BASE_URL and $VULNGATE_OSV_ECOSYSTEMS, else from the OSV source
configured in the data directory (by "vulngate serve --osv-base-url ..." or
the server's Sources page), else the public OSV bucket.`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{ownGCAnnotation: "collectRarely"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer collectRarelyUpTo(mirrorHeapBudget, mirrorKeepLive, 0)()
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, dir string) error {
				src, err := e.osvSource(ctx, st, baseURL, ecosystems)
				if err != nil {
					return err
				}
				if len(src.Ecosystems) == 0 {
					return fmt.Errorf("no ecosystems selected: pass --ecosystems (e.g. --ecosystems PyPI,Go,npm), set VULNGATE_OSV_ECOSYSTEMS, or configure the OSV source in the server")
				}
				var rep osvmirror.Report
				var cpu, compacted time.Duration
				err = jobs.RunExclusive(ctx, st, server.JobOSVMirror, jobs.CauseCLI+":"+osUser(), jobs.ExclusiveOptions{
					Logger: e.log,
					Wait:   wait,
					OnWait: func(busy error) {
						fmt.Fprintf(e.stderr, "vulngate: %v; waiting up to %s for it to finish\n", busy, wait)
					},
				}, func(ctx context.Context, log *slog.Logger) error {
					opts := osvmirror.Options{
						BaseURL:    src.BaseURL,
						Ecosystems: src.Ecosystems,
						TempDir:    filepath.Join(dir, "tmp"),
						Logger:     log,
						ForceFull:  full,
						UserAgent:  "vulngate/" + version(),
						BeforeFull: sync.OnceFunc(func() { reserveHugeHeap(mirrorHugeReserve) }),
					}
					if isTerminal(e.stderr) {
						opts.NewProgress = func() osvmirror.Progress { return &barProgress{e: e} }
					}
					m, err := osvmirror.New(st, opts)
					if err != nil {
						return err
					}
					cpu0, _ := cputime.Process()
					rep, err = m.Sync(ctx)
					if cpu1, ok := cputime.Process(); ok {
						cpu = cpu1 - cpu0
					}
					if err != nil {
						return err
					}
					if rep.Failed() {
						return errSomeFailed
					}
					if full {
						// Everything was written again: give the file back
						// the room the replaced generations leave behind.
						start := time.Now()
						if err := st.Compact(ctx); err != nil {
							return err
						}
						compacted = time.Since(start)
					}
					return nil
				})
				if errors.Is(err, jobs.ErrRunning) {
					hint := "pass --wait DURATION to wait for it"
					if wait > 0 {
						hint = fmt.Sprintf("it did not finish within --wait %s", wait)
					}
					return ExitError{Code: 2, Message: fmt.Sprintf("%v; %s", err, hint)}
				}
				if err != nil && !errors.Is(err, errSomeFailed) {
					return err
				}
				printMirrorReport(e, rep, cpu)
				if compacted > 0 {
					fmt.Fprintf(e.stdout, "compacted the database in %s (--full)\n", compacted.Round(time.Millisecond))
				}
				if rep.Failed() {
					return ExitError{Code: 2, Message: "some ecosystems failed to sync; the data mirrored before is kept"}
				}
				if baseURL == "" && ecosystems == "" {
					// As the server does: the enrichment sources enabled there.
					return e.syncConfiguredEnrichment(ctx, st, dir)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&baseURL, "base-url", "", "OSV source: https://, http:// or file:// URL of the bucket layout (default $VULNGATE_OSV_BASE_URL, else the configured source, else "+osvmirror.DefaultBaseURL+")")
	cmd.Flags().StringVar(&ecosystems, "ecosystems", "", "comma-separated ecosystems, e.g. PyPI,Go,npm,Debian:12 (default $VULNGATE_OSV_ECOSYSTEMS, else the configured source's)")
	cmd.Flags().BoolVar(&full, "full", false, "re-import all.zip even when an incremental sync is possible")
	cmd.Flags().DurationVar(&wait, "wait", 0, "when a server's (or another command's) mirror is running on the same store, wait up to this long for it instead of stopping")
	cmd.AddCommand(e.mirrorStatusCmd(), e.mirrorPurgeCmd(), e.mirrorListCmd())
	for _, src := range enrich.Sources {
		cmd.AddCommand(e.mirrorEnrichCmd(src))
	}
	return cmd
}

// mirrorHeapBudget is how large the Go memory of a mirror command may grow
// before a garbage collection (see collectRarely), and mirrorKeepLive the
// live heap a collection may leave before the usual pacing resumes. An
// incremental sync allocates a few megabytes and keeps little, and a full
// import streams; neither needs a collection each time the heap doubles.
// But a full import of two ecosystems at once keeps 20-25 MB of records
// live while its batches queue for the writer: with half of a 32 MiB
// budget as the limit, its first collection resumed the usual pacing, and
// the import then collected ~25 times (heap goals of 5-14 MB; with the
// runtime returning and faulting in the memory between them, ~5% of the
// import's CPU). 48 MiB with three quarters of it: ~7 collections, peak
// RSS ~10 MiB higher.
const (
	mirrorHeapBudget = 48 << 20
	mirrorKeepLive   = 36 << 20
)

// mirrorHugeReserve is how much of a full import's heap is backed by huge
// pages (see hugeheap and scanHugeReserve). With 40 MiB under the 48 MiB
// budget, importing the corpus took 0.941 of the wall time and 0.923 of
// the CPU (abtest -task import, 10 rounds, 9 faster), peak RSS 83.9 ->
// 87.7 MiB, page faults 19,000 -> 8,000, on issue 16's session-16 machine
// (~10 µs per first touch of a 4 KiB page). An incremental
// sync does not call it: it allocates a few megabytes, less than the
// collection Reserve starts costs (abtest -task delta: 1.2 of the CPU).
const mirrorHugeReserve = 40 << 20

// errSomeFailed marks a mirror run in which some ecosystems failed.
var errSomeFailed = errors.New("some ecosystems failed to sync; the data mirrored before is kept")

// osUser names the person running a command, for job history.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// osvSource resolves the OSV source of a mirror command: flags, else the
// environment, else the source configured in the data directory (what the
// server mirrors), else the public bucket with no ecosystems.
func (e *env) osvSource(ctx context.Context, st osvmirror.SettingsStore, baseFlag, ecoFlag string) (osvmirror.Settings, error) {
	conf, stored, err := osvmirror.LoadSettings(ctx, st)
	if err != nil {
		return conf, err
	}
	out := osvmirror.Settings{BaseURL: osvmirror.DefaultBaseURL}
	var from []string
	switch {
	case baseFlag != "":
		out.BaseURL = baseFlag
	case envDefault("VULNGATE_OSV_BASE_URL", "") != "":
		out.BaseURL = envDefault("VULNGATE_OSV_BASE_URL", "")
	case stored:
		out.BaseURL = conf.BaseURL
		from = append(from, "base URL")
	}
	switch {
	case ecoFlag != "":
		out.Ecosystems = splitList(ecoFlag)
	case envDefault("VULNGATE_OSV_ECOSYSTEMS", "") != "":
		out.Ecosystems = splitList(envDefault("VULNGATE_OSV_ECOSYSTEMS", ""))
	case stored && len(conf.Ecosystems) > 0:
		out.Ecosystems = conf.Ecosystems
		from = append(from, "ecosystems")
	}
	if len(from) > 0 {
		e.log.Info("using the OSV source configured in the data directory", "configured", strings.Join(from, ", "),
			"base_url", out.BaseURL, "ecosystems", strings.Join(out.Ecosystems, ","))
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// printMirrorReport prints one line per ecosystem, then the sync's own
// time (wall, and the process's CPU during it when cpu > 0): what the
// refresh costs where it runs inside a long-lived server, without this
// command's start and the store's opening.
func printMirrorReport(e *env, rep osvmirror.Report, cpu time.Duration) {
	// Buffered: a tabwriter writes each cell and padding run on its own,
	// and unbuffered the 19-ecosystem table was ~460 write system calls.
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tMODE\tRECORDS\tADDED\tUPDATED\tREMOVED\tWITHDRAWN\tMALFORMED\tTIME\tNOTE")
	for _, r := range rep.Ecosystems {
		note := r.Fallback
		if r.Err != nil {
			note = r.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.Ecosystem, r.Mode, r.Records, r.Added, r.Updated, r.Removed,
			r.Withdrawn, r.MalformedCount, r.Duration.Round(time.Millisecond), note)
	}
	tw.Flush()
	if len(rep.Ecosystems) > 0 {
		line := "synced in " + rep.Duration.Round(10*time.Microsecond).String()
		if cpu > 0 {
			line += ", " + cpu.Round(10*time.Microsecond).String() + " CPU"
		}
		fmt.Fprintln(out, line+" (the sync itself, without starting this command and opening the store)")
	}
	for _, r := range rep.Ecosystems {
		for _, m := range r.Malformed {
			fmt.Fprintf(out, "  %s: skipped %s: %s\n", r.Ecosystem, m.Entry, m.Reason)
		}
		if extra := r.MalformedCount - len(r.Malformed); extra > 0 {
			fmt.Fprintf(out, "  %s: ... and %d more malformed records\n", r.Ecosystem, extra)
		}
	}
}

func (e *env) mirrorStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show what the local store holds per mirrored ecosystem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, _ string) error {
				parts, err := st.Partitions(ctx)
				if err != nil {
					return err
				}
				states, err := st.EnrichmentStates(ctx)
				if err != nil {
					return err
				}
				if len(parts) == 0 {
					fmt.Fprintln(e.stdout, "nothing mirrored yet: run \"vulngate mirror --ecosystems ...\"")
					return printEnrichStatus(e.stdout, states)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ECOSYSTEM\tSOURCE\tRECORDS\tWITHDRAWN\tMALFORMED\tLAST SYNC\tNEWEST MODIFIED\tBASE URL")
				for _, p := range parts {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", p.Name, p.Source, p.Records, p.Withdrawn, p.Malformed,
						p.LastSync.Format(time.RFC3339), p.Watermark.Format(time.RFC3339), p.BaseURL)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return printEnrichStatus(e.stdout, states)
			})
		},
	}
}

func (e *env) mirrorPurgeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "purge ECOSYSTEM...",
		Short: "Delete the mirrored advisories of ecosystems",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, _ string) error {
				for _, a := range args {
					if err := st.Purge(ctx, a); err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "purged %s\n", a)
				}
				return nil
			})
		},
	}
}

func (e *env) mirrorListCmd() *cobra.Command {
	var baseURL string
	cmd := &cobra.Command{
		Use:   "ecosystems",
		Short: "List the ecosystems the source offers (its ecosystems.txt)",
		Long: `List the ecosystems the OSV source offers (its ecosystems.txt). The source is
--base-url, else $VULNGATE_OSV_BASE_URL, else the one configured in the data
directory, else the public OSV bucket.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, _, err := e.openStore(ctx)
			if err != nil {
				return err
			}
			src, err := e.osvSource(ctx, st, baseURL, "-")
			st.Close()
			if err != nil {
				return err
			}
			m, err := osvmirror.New(nil, osvmirror.Options{BaseURL: src.BaseURL, Ecosystems: []string{"-"}})
			if err != nil {
				return err
			}
			list, err := m.Available(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, strings.Join(list, "\n"))
			return nil
		},
	}
	cmd.Flags().StringVar(&baseURL, "base-url", "", "OSV source URL (default $VULNGATE_OSV_BASE_URL, else the configured source, else "+osvmirror.DefaultBaseURL+")")
	return cmd
}

// barProgress draws a progress bar on a terminal.
type barProgress struct {
	e   *env
	bar *progressbar.ProgressBar
}

func (b *barProgress) Start(eco string, total int) {
	b.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(b.e.stderr),
		progressbar.OptionSetDescription(fmt.Sprintf("%-12s", eco)),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (b *barProgress) Add(n int) { b.bar.Add(n) }

func (b *barProgress) Finish() { b.bar.Finish() }
