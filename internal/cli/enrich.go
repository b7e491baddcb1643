package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/source/enrich"
	"github.com/vulngate/vulngate/internal/store"
)

// mirrorEnrichCmd is "vulngate mirror nvd|epss|kev": one enrichment
// source, from --url, else $VULNGATE_<SOURCE>_URL, else the URL configured
// in the data directory, else the public default.
func (e *env) mirrorEnrichCmd(src enrich.Source) *cobra.Command {
	var url string
	var wait time.Duration
	long := src.Description + `

The URL is --url, else $` + src.EnvURL + `, else the one configured in the
data directory (the server's Sources page), else ` + src.DefaultURL + `.
The run takes the lease of the server's job of the same source, so it never
runs beside it.`
	if src.EnvKey != "" {
		long += `

The NVD API key comes from $` + src.EnvKey + `, else the one configured in the
server (never from the command line); without one, requests are spaced 6 s
apart as NVD asks (0.6 s with a key).`
	}
	cmd := &cobra.Command{
		Use:   src.Name,
		Short: "Mirror " + src.Title + " (enrichment for CVE IDs)",
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, dir string) error {
				s, err := e.enrichSettings(ctx, st, dir, src, url)
				if err != nil {
					return err
				}
				res, err := e.syncEnrich(ctx, st, src, s, wait)
				if err != nil {
					return err
				}
				printEnrichResult(e.stdout, src, res)
				return nil
			})
		},
	}
	usage := "source URL: https://, http:// or file://"
	if src.EnvKey != "" {
		usage += " (the API, or feed files, comma-separated)"
	}
	cmd.Flags().StringVar(&url, "url", "", usage)
	cmd.Flags().DurationVar(&wait, "wait", 0, "when the server's job for this source is running on the same store, wait up to this long for it")
	return cmd
}

// enrichSettings resolves a source's URL and key: flag, environment, the
// data directory's configuration, default.
func (e *env) enrichSettings(ctx context.Context, st *store.Store, dir string, src enrich.Source, urlFlag string) (enrich.Settings, error) {
	conf, _, err := enrich.Load(ctx, st, src)
	if err != nil {
		return conf, err
	}
	s := enrich.Settings{URL: conf.URL}
	switch {
	case urlFlag != "":
		s.URL = urlFlag
	case src.EnvURLValue() != "":
		s.URL = src.EnvURLValue()
	}
	if err := enrich.Validate(src, s.URL); err != nil {
		return s, fmt.Errorf("--url: %w", err)
	}
	s.APIKey = src.EnvKeyValue()
	if s.APIKey == "" && conf.APIKey != "" {
		if !secret.IsSealed(conf.APIKey) {
			s.APIKey = conf.APIKey
		} else if keys, err := secret.Load(dir); err == nil {
			if k, err := keys.Open(enrich.KeyPurpose(src.Name), conf.APIKey); err == nil {
				s.APIKey = k
			} else {
				e.log.Warn("the configured " + src.Title + " API key does not open with this data directory's key; continuing without it")
			}
		}
	}
	return s, nil
}

// syncEnrich runs one source under its job's lease.
func (e *env) syncEnrich(ctx context.Context, st *store.Store, src enrich.Source, s enrich.Settings, wait time.Duration) (enrich.Result, error) {
	var res enrich.Result
	err := jobs.RunExclusive(ctx, st, enrich.JobName(src), jobs.CauseCLI+":"+osUser(), jobs.ExclusiveOptions{
		Logger: e.log,
		Wait:   wait,
		OnWait: func(busy error) {
			fmt.Fprintf(e.stderr, "vulngate: %v; waiting up to %s for it to finish\n", busy, wait)
		},
	}, func(ctx context.Context, log *slog.Logger) error {
		var err error
		res, err = enrich.Sync(ctx, st, src, s, enrich.Options{UserAgent: "vulngate/" + version(), Logger: log})
		return err
	})
	if errors.Is(err, jobs.ErrRunning) {
		return res, ExitError{Code: 2, Message: fmt.Sprintf("%v; pass --wait DURATION to wait for it", err)}
	}
	return res, err
}

func printEnrichResult(w io.Writer, src enrich.Source, r enrich.Result) {
	line := fmt.Sprintf("%s: %d records read, %d held", src.Title, r.Records, r.Total)
	if r.Mode != "" {
		line += " (" + r.Mode + ")"
	}
	if r.Version != "" {
		line += ", version " + r.Version
	}
	fmt.Fprintln(w, line)
	for _, m := range r.Malformed {
		fmt.Fprintf(w, "  skipped: %s\n", m)
	}
}

// syncConfiguredEnrichment runs, after a "vulngate mirror" without flags,
// the enrichment sources enabled in the data directory, as the server
// would. A failing source is reported; the others still run.
func (e *env) syncConfiguredEnrichment(ctx context.Context, st *store.Store, dir string) error {
	var failed []string
	for _, src := range enrich.Sources {
		conf, ok, err := enrich.Load(ctx, st, src)
		if err != nil {
			return err
		}
		if !ok || !conf.Enabled {
			continue
		}
		s, err := e.enrichSettings(ctx, st, dir, src, "")
		if err == nil {
			var res enrich.Result
			if res, err = e.syncEnrich(ctx, st, src, s, 0); err == nil {
				printEnrichResult(e.stdout, src, res)
				continue
			}
		}
		fmt.Fprintf(e.stdout, "%s: %v\n", src.Title, err)
		failed = append(failed, src.Title)
	}
	if len(failed) > 0 {
		return ExitError{Code: 2, Message: "enrichment sources failed: " + strings.Join(failed, ", ")}
	}
	return nil
}

// printEnrichStatus lists the enrichment sources' last syncs.
func printEnrichStatus(w io.Writer, states []store.EnrichmentState) error {
	if len(states) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENRICHMENT\tRECORDS\tMALFORMED\tLAST SYNC\tVERSION\tURL")
	for _, s := range states {
		title := s.Source
		if src, ok := enrich.Lookup(s.Source); ok {
			title = src.Title
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", title, s.Records, s.Malformed, s.LastSync.Format(time.RFC3339), s.Version, s.URL)
	}
	return tw.Flush()
}
