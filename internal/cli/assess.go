package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/store"
)

// actor is who the command line acts as: $VULNGATE_USER, else the OS user.
func actor() string {
	if u := os.Getenv("VULNGATE_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// assessScan records a project's findings (auto-assessing new ones in the
// project's scope) when project is set, and decides every component in the
// project's scope (global without a project).
func (e *env) assessScan(ctx context.Context, st *store.Store, project string, results []match.ComponentResult) ([]assess.Decision, error) {
	svc := assess.New(st)
	scope := assess.Global
	if project != "" {
		sc, err := assess.ProjectScope(project)
		if err != nil {
			return nil, fmt.Errorf("--project: %w", err)
		}
		scope = sc
		rep, err := svc.RecordScanWith(ctx, scope, results, assess.RecordOptions{AutoInScope: true})
		if err != nil {
			return nil, err
		}
		e.chatter().Info("findings recorded", "scope", scope, "new", rep.New, "seen_again", rep.Updated, "reopened", rep.Reopened,
			"closed", rep.Closed, "attributions_ended", rep.Ended, "auto_assessed", len(rep.Auto))
	}
	return svc.Evaluate(ctx, scope, results)
}

// maliciousSummary names the components blocked as known malicious
// packages, with the record that says so ("" when none).
func maliciousSummary(results []match.ComponentResult, ds []assess.Decision) string {
	var parts []string
	for i, d := range ds {
		for _, v := range d.Findings {
			if v.Malicious {
				name := d.Package
				if i < len(results) && results[i].Package.Name != "" {
					name = results[i].Package.Name + "@" + results[i].Package.Version
				}
				parts = append(parts, name+" ("+v.Finding.Malicious+")")
			}
		}
	}
	return strings.Join(parts, "; ")
}

// blockedSummary names the blocked components and why.
func blockedSummary(ds []assess.Decision) string {
	var parts []string
	for _, d := range ds {
		if d.Effect == assess.Block {
			parts = append(parts, d.Package+" ("+strings.TrimPrefix(d.Message(), "block: ")+")")
		}
	}
	return strings.Join(parts, "; ")
}

// withService opens the store and runs fn with an assessment service.
func (e *env) withService(ctx context.Context, fn func(*assess.Service) error) error {
	st, _, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(assess.New(st))
}

func (e *env) assessCmd() *cobra.Command {
	var auto, existing bool
	var project string
	cmd := &cobra.Command{
		Use:   "assess",
		Short: "Assess vulnerabilities: Ignore, Caution, Blocked or custom types; policies; VEX",
		Long: `Assess vulnerabilities. An assessment applies to a vulnerability's whole
alias group (assessing a CVE covers the GHSA and other records that alias it),
globally or in one scope (project:NAME, feed:NAME); the most specific
non-expired assessment wins. Built-in types: Ignore (allow), Caution (warn),
Blocked (block); auto-assessment by CVSS score runs when "vulngate scan
--project" first records a finding. Every change is kept in an audit history.

"vulngate assess --auto --existing" re-applies the auto-assessment ranges to
recorded findings that are unassessed (with --project, only that project's,
assessed in scope project:NAME).

--project NAME means scope project:NAME wherever it is given: "assess set
--project web" assesses for project web (and, without an ID, the findings
recorded for it).

Actions are recorded as $VULNGATE_USER, else the operating-system user.`,
		Example: `  vulngate assess set CVE-2021-44228 --type Blocked --comment "RCE" --expires 30d
  vulngate assess set --type Ignore --severity low --ecosystem PyPI --project web
  vulngate assess list
  vulngate assess history CVE-2021-44228
  vulngate assess --auto --existing
  vulngate assess export --format openvex -o vex.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !auto {
				return cmd.Help()
			}
			if !existing {
				return errors.New("--auto needs --existing (auto-assessment of new findings runs by itself when scans record them)")
			}
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				scope := ""
				if project != "" {
					sc, err := assess.ProjectScope(project)
					if err != nil {
						return fmt.Errorf("--project: %w", err)
					}
					scope = sc
				}
				as, err := s.AutoAssessExisting(cmd.Context(), scope)
				if err != nil {
					return err
				}
				for _, a := range as {
					fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", a.VulnID, a.Type, a.Comment)
				}
				fmt.Fprintf(e.stdout, "%d vulnerabilities auto-assessed\n", len(as))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&auto, "auto", false, "apply the auto-assessment ranges (with --existing)")
	cmd.Flags().BoolVar(&existing, "existing", false, "to recorded findings that are unassessed")
	cmd.Flags().StringVar(&project, "project", "", "only findings recorded for this project, auto-assessed in its scope")
	cmd.AddCommand(e.assessSetCmd(), e.assessClearCmd(), e.assessListCmd(), e.assessHistoryCmd(), e.assessExpireCmd(),
		e.assessFindingsCmd(), e.assessTypesCmd(), e.assessPolicyCmd(), e.assessExportCmd(), e.assessImportCmd())
	return cmd
}

// parseExpires reads --expires: a duration from now (30d, 2w, 12h), an
// RFC 3339 time or a date (2026-06-30), or "never".
func parseExpires(s string, now time.Time) (t time.Time, never bool, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, false, nil
	case strings.EqualFold(s, "never"):
		return time.Time{}, true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, false, nil
	}
	d, err := assess.ParseDuration(s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("--expires: %q is not a duration (30d), a date (2026-06-30), an RFC 3339 time or never", s)
	}
	if d <= 0 {
		return time.Time{}, false, fmt.Errorf("--expires: %q is not in the future", s)
	}
	return now.Add(d), false, nil
}

func (e *env) assessSetCmd() *cobra.Command {
	var typ, scope, comment, expires, severities, ecosystem, pkg, source, project, feed string
	var onlyUnassessed bool
	cmd := &cobra.Command{
		Use:   "set [ID]",
		Short: "Assess one vulnerability, or every recorded finding a filter selects",
		Long: `Assess one vulnerability by ID (any ID or alias of its group), or, without
an ID, every vulnerability of the recorded open findings that the filter
flags select (--severity, --ecosystem, --package, --source, --project,
--feed). The expiry defaults to the type's.

--project NAME (or --feed NAME) is the scope of the assessment,
project:NAME (feed:NAME), and without an ID also selects the findings
recorded for it; --scope says the same in full.`,
		Example: `  vulngate assess set CVE-2021-44228 --type Blocked --comment "RCE"
  vulngate assess set CVE-2020-15250 --type Ignore --project web --comment "test-only"
  vulngate assess set --type Ignore --severity low --project web`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ == "" {
				return errors.New("--type is required (e.g. Ignore, Caution, Blocked)")
			}
			exp, never, err := parseExpires(expires, time.Now())
			if err != nil {
				return err
			}
			sc, named, err := scopeOf(scope, cmd.Flags().Changed("scope"), project, feed)
			if err != nil {
				return err
			}
			// The command line works on the store directly, as the owner of
			// the data directory: it acts as an admin (a known malicious
			// package may then be let through for one project or feed).
			req := assess.SetRequest{Type: typ, Scope: sc, Comment: comment, By: actor(), Expires: exp, Never: never, Admin: true}
			filter := assess.BulkFilter{Ecosystem: ecosystem, Package: pkg, Source: source, OnlyUnassessed: onlyUnassessed}
			for _, r := range splitList(severities) {
				if _, err := parseRatingWord(r); err != nil {
					return fmt.Errorf("--severity: %w", err)
				}
				filter.Ratings = append(filter.Ratings, strings.ToUpper(normalizeRating(r)))
			}
			if named {
				filter.Scope = sc
			}
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				if len(args) == 1 {
					if len(filter.Ratings) > 0 || ecosystem != "" || pkg != "" || source != "" {
						return errors.New("give either an ID or filter flags (--severity, --ecosystem, --package, --source), not both")
					}
					req.VulnID = args[0]
					a, err := s.Set(cmd.Context(), req)
					if err != nil {
						return err
					}
					printAssessments(e.stdout, []assess.Assessment{a})
					return nil
				}
				as, err := s.SetBulk(cmd.Context(), filter, req)
				if err != nil {
					return err
				}
				printAssessments(e.stdout, as)
				fmt.Fprintf(e.stdout, "%d vulnerabilities assessed %s in scope %s\n", len(as), as[0].Type, sc)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "assessment type: Ignore, Caution, Blocked or a custom type")
	cmd.Flags().StringVar(&scope, "scope", "global", "scope of the assessment: global, project:NAME or feed:NAME")
	cmd.Flags().StringVar(&comment, "comment", "", "why")
	cmd.Flags().StringVar(&expires, "expires", "", "expiry: a duration (30d, 2w), a date, an RFC 3339 time, or never (default: the type's)")
	cmd.Flags().StringVar(&severities, "severity", "", "bulk: severity ratings, comma-separated (low, medium, high, critical, unknown)")
	cmd.Flags().StringVar(&ecosystem, "ecosystem", "", "bulk: OSV ecosystem, e.g. PyPI")
	cmd.Flags().StringVar(&pkg, "package", "", "bulk: package name as OSV spells it")
	cmd.Flags().StringVar(&source, "source", "", "bulk: vulnerability source currently reporting the finding, e.g. OSV, OSSINDEX")
	cmd.Flags().StringVar(&project, "project", "", "assess in scope project:NAME (bulk: the findings recorded for the project)")
	cmd.Flags().StringVar(&feed, "feed", "", "assess in scope feed:NAME (bulk: the findings recorded for the feed)")
	cmd.Flags().BoolVar(&onlyUnassessed, "unassessed", false, "bulk: skip vulnerabilities that already have an assessment in the scope")
	return cmd
}

// scopeOf resolves --scope, --project and --feed into one scope: a project
// or feed flag means that scope. named reports whether --project or --feed
// named it. Flags that disagree are an error.
func scopeOf(scope string, scopeSet bool, project, feed string) (sc string, named bool, err error) {
	if project != "" && feed != "" {
		return "", false, errors.New("give --project or --feed, not both")
	}
	if project == "" && feed == "" {
		sc, err = assess.ParseScope(scope)
		return sc, false, err
	}
	if project != "" {
		if sc, err = assess.ProjectScope(project); err != nil {
			return "", false, fmt.Errorf("--project: %w", err)
		}
	} else if sc, err = assess.FeedScope(feed); err != nil {
		return "", false, fmt.Errorf("--feed: %w", err)
	}
	if scopeSet {
		flag := "--project"
		if feed != "" {
			flag = "--feed"
		}
		if other, err := assess.ParseScope(scope); err != nil || other != sc {
			return "", false, fmt.Errorf("--scope %s contradicts %s, which means --scope %s", scope, flag, sc)
		}
	}
	return sc, true, nil
}

func parseRatingWord(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "low", "medium", "moderate", "high", "critical", "unknown":
		return s, nil
	}
	return "", fmt.Errorf("unknown severity %q (want low, medium, high, critical or unknown)", s)
}

func normalizeRating(s string) string {
	if strings.EqualFold(s, "moderate") {
		return "medium"
	}
	return s
}

func printAssessments(w io.Writer, as []assess.Assessment) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VULNERABILITY\tSCOPE\tTYPE\tEFFECT\tBY\tAT\tEXPIRES\tCOMMENT")
	for _, a := range as {
		exp := "never"
		if !a.Expires.IsZero() {
			exp = a.Expires.UTC().Format(time.RFC3339)
		}
		by := a.By
		if a.Auto {
			by = "auto"
		}
		eff := string(a.Effect)
		if a.MalwareOverride {
			eff += " (malware override)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.VulnID, a.Scope, a.Type, eff, by, a.At.UTC().Format(time.RFC3339), exp, oneLine(a.Comment))
	}
	tw.Flush()
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func (e *env) assessClearCmd() *cobra.Command {
	var scope string
	cmd := &cobra.Command{
		Use:   "clear ID",
		Short: "Remove an assessment: the vulnerability returns to unassessed (history kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				return s.Clear(cmd.Context(), args[0], scope, actor())
			})
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "global", "scope of the assessment")
	return cmd
}

func (e *env) assessListCmd() *cobra.Command {
	var scope, typ, id, format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List current assessments",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				as, err := s.List(cmd.Context(), assess.ListFilter{Scope: scope, Type: typ, VulnID: id})
				if err != nil {
					return err
				}
				if format == "json" {
					return writeJSON(e.stdout, as)
				}
				printAssessments(e.stdout, as)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "only this scope")
	cmd.Flags().StringVar(&typ, "type", "", "only this type")
	cmd.Flags().StringVar(&id, "id", "", "only assessments of this vulnerability's alias group")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) assessHistoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Show the audit history of a vulnerability's assessments (whole alias group)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				h, err := s.History(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "WHEN\tACTION\tACTOR\tVULNERABILITY\tSCOPE\tTYPE\tEXPIRES\tCOMMENT")
				for _, ev := range h {
					a := ev.Assessment
					exp := "never"
					if !a.Expires.IsZero() {
						exp = a.Expires.UTC().Format(time.RFC3339)
					}
					typ := a.Type
					if a.MalwareOverride {
						typ += " (malware override)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339), ev.Action, ev.Actor, a.VulnID, a.Scope, typ, exp, oneLine(a.Comment))
				}
				tw.Flush()
				if len(h) == 0 {
					fmt.Fprintf(e.stdout, "no assessment history for %s\n", args[0])
				}
				return nil
			})
		},
	}
}

func (e *env) assessExpireCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "expire",
		Short: "Sweep expired assessments now (they return to unassessed; history kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				as, err := s.Expire(cmd.Context())
				if err != nil {
					return err
				}
				for _, a := range as {
					fmt.Fprintf(e.stdout, "expired: %s %s %s (expiry %s)\n", a.VulnID, a.Scope, a.Type, a.Expires.UTC().Format(time.RFC3339))
				}
				fmt.Fprintf(e.stdout, "%d assessments expired\n", len(as))
				return nil
			})
		},
	}
}

func (e *env) assessFindingsCmd() *cobra.Command {
	var project string
	var all bool
	cmd := &cobra.Command{
		Use:   "findings",
		Short: "List recorded findings with their sources and assessments",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				ctx := cmd.Context()
				ff := store.FindingFilter{IncludeClosed: all}
				if project != "" {
					sc, err := assess.ProjectScope(project)
					if err != nil {
						return fmt.Errorf("--project: %w", err)
					}
					ff.Scope = sc
				}
				fs, err := s.Store().Findings(ctx, ff)
				if err != nil {
					return err
				}
				indexes := map[string]*assess.Index{}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SCOPE\tPACKAGE\tVULNERABILITY\tSEVERITY\tSOURCES\tASSESSMENT\tSTATE")
				now := time.Now()
				for _, f := range fs {
					idx, ok := indexes[f.Scope]
					if !ok {
						if idx, err = s.Index(ctx, f.Scope); err != nil {
							return err
						}
						indexes[f.Scope] = idx
					}
					label := "Unassessed"
					if a, ok := idx.Lookup(assess.Finding{ID: f.VulnID, IDs: f.IDs}, now); ok {
						label = a.Type
					}
					var srcs []string
					for _, x := range f.Sources {
						if x.EndedAt.IsZero() {
							srcs = append(srcs, x.Source)
						} else {
							srcs = append(srcs, x.Source+" (ended "+x.EndedAt.UTC().Format(time.DateOnly)+")")
						}
					}
					state := "open"
					if !f.ClosedAt.IsZero() {
						state = "closed " + f.ClosedAt.UTC().Format(time.RFC3339)
						label = "-"
					}
					sev := f.Rating
					if f.Score >= 0 {
						sev = fmt.Sprintf("%s %d.%d", f.Rating, f.Score/10, f.Score%10)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Scope, oneLine(f.PURL), f.VulnID, sev, strings.Join(srcs, ", "), label, state)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "only this project's findings")
	cmd.Flags().BoolVar(&all, "all", false, "include closed findings")
	return cmd
}
