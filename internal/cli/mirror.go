package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/server"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
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

Environment: VULNGATE_OSV_BASE_URL, VULNGATE_OSV_ECOSYSTEMS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ecos := splitList(ecosystems)
			if len(ecos) == 0 {
				return fmt.Errorf("no ecosystems selected: pass --ecosystems (e.g. --ecosystems PyPI,Go,npm) or set VULNGATE_OSV_ECOSYSTEMS")
			}
			st, dir, err := e.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var rep osvmirror.Report
			err = jobs.RunExclusive(ctx, st, server.JobOSVMirror, jobs.CauseCLI+":"+osUser(), jobs.ExclusiveOptions{
				Logger: e.log,
				Wait:   wait,
				OnWait: func(busy error) {
					fmt.Fprintf(e.stderr, "vulngate: %v; waiting up to %s for it to finish\n", busy, wait)
				},
			}, func(ctx context.Context, log *slog.Logger) error {
				opts := osvmirror.Options{
					BaseURL:    baseURL,
					Ecosystems: ecos,
					TempDir:    filepath.Join(dir, "tmp"),
					Logger:     log,
					ForceFull:  full,
					UserAgent:  "vulngate/" + version(),
				}
				if isTerminal(e.stderr) {
					opts.NewProgress = func() osvmirror.Progress { return &barProgress{e: e} }
				}
				m, err := osvmirror.New(st, opts)
				if err != nil {
					return err
				}
				if rep, err = m.Sync(ctx); err != nil {
					return err
				}
				if rep.Failed() {
					return errSomeFailed
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
			printMirrorReport(e, rep)
			if rep.Failed() {
				return ExitError{Code: 2, Message: "some ecosystems failed to sync; the data mirrored before is kept"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&baseURL, "base-url", envDefault("VULNGATE_OSV_BASE_URL", osvmirror.DefaultBaseURL), "OSV source: https://, http:// or file:// URL of the bucket layout")
	cmd.Flags().StringVar(&ecosystems, "ecosystems", envDefault("VULNGATE_OSV_ECOSYSTEMS", ""), "comma-separated ecosystems, e.g. PyPI,Go,npm,Debian:12")
	cmd.Flags().BoolVar(&full, "full", false, "re-import all.zip even when an incremental sync is possible")
	cmd.Flags().DurationVar(&wait, "wait", 0, "when a server's (or another command's) mirror is running on the same store, wait up to this long for it instead of stopping")
	cmd.AddCommand(e.mirrorStatusCmd(), e.mirrorPurgeCmd(), e.mirrorListCmd())
	return cmd
}

// errSomeFailed marks a mirror run in which some ecosystems failed.
var errSomeFailed = errors.New("some ecosystems failed to sync; the data mirrored before is kept")

// osUser names the person running a command, for job history.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
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

func printMirrorReport(e *env, rep osvmirror.Report) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
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
	for _, r := range rep.Ecosystems {
		for _, m := range r.Malformed {
			fmt.Fprintf(e.stdout, "  %s: skipped %s: %s\n", r.Ecosystem, m.Entry, m.Reason)
		}
		if extra := r.MalformedCount - len(r.Malformed); extra > 0 {
			fmt.Fprintf(e.stdout, "  %s: ... and %d more malformed records\n", r.Ecosystem, extra)
		}
	}
}

func (e *env) mirrorStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show what the local store holds per mirrored ecosystem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			parts, err := st.Partitions(cmd.Context())
			if err != nil {
				return err
			}
			if len(parts) == 0 {
				fmt.Fprintln(e.stdout, "nothing mirrored yet: run \"vulngate mirror --ecosystems ...\"")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ECOSYSTEM\tSOURCE\tRECORDS\tWITHDRAWN\tMALFORMED\tLAST SYNC\tNEWEST MODIFIED\tBASE URL")
			for _, p := range parts {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", p.Name, p.Source, p.Records, p.Withdrawn, p.Malformed,
					p.LastSync.Format(time.RFC3339), p.Watermark.Format(time.RFC3339), p.BaseURL)
			}
			return tw.Flush()
		},
	}
}

func (e *env) mirrorPurgeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "purge ECOSYSTEM...",
		Short: "Delete the mirrored advisories of ecosystems",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			for _, a := range args {
				if err := st.Purge(cmd.Context(), a); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "purged %s\n", a)
			}
			return nil
		},
	}
}

func (e *env) mirrorListCmd() *cobra.Command {
	var baseURL string
	cmd := &cobra.Command{
		Use:   "ecosystems",
		Short: "List the ecosystems the source offers (its ecosystems.txt)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := osvmirror.New(nil, osvmirror.Options{BaseURL: baseURL, Ecosystems: []string{"-"}})
			if err != nil {
				return err
			}
			list, err := m.Available(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, strings.Join(list, "\n"))
			return nil
		},
	}
	cmd.Flags().StringVar(&baseURL, "base-url", envDefault("VULNGATE_OSV_BASE_URL", osvmirror.DefaultBaseURL), "OSV source URL")
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
