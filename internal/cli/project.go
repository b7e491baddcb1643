package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/store"
)

// Environment variables of the remote mode of "vulngate project".
const (
	ServerEnv = "VULNGATE_SERVER"  // base URL of a vulngate server
	APIKeyEnv = "VULNGATE_API_KEY" // its API key (never a flag: command lines are visible to others)
)

// projectBackend is what the project commands need: the local service on
// the data directory, or a remote server's API (project.Client).
type projectBackend interface {
	Upload(ctx context.Context, req project.UploadRequest) (project.UploadResult, error)
	Portfolio(ctx context.Context, f project.Filter) ([]project.Summary, project.Counts, error)
	Report(ctx context.Context, name string) (project.ProjectReport, error)
	VersionReport(ctx context.Context, name, version string, onlyVulnerable bool) (project.VersionReport, error)
	Delete(ctx context.Context, name string) error
	DeleteVersion(ctx context.Context, name, version string) error
	Compare(ctx context.Context, name, from, to string) (project.Diff, error)
	Export(ctx context.Context, w io.Writer, name, version, format, toolVersion string) error
}

func (e *env) projectCmd() *cobra.Command {
	var server string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "project",
		Short: "Projects: upload SBOMs per version, list the portfolio, compare versions",
		Long: `Projects hold the SBOM of each version of a piece of software; the server
re-evaluates them after every mirror run and notifies people of new findings.

Commands work on the local data directory, or on a server with --server URL
(or $` + ServerEnv + `) and an API key in $` + APIKeyEnv + `.`,
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "base URL of a vulngate server (default $"+ServerEnv+"); its API key comes from $"+APIKeyEnv)
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON (the API's shapes)")
	// backend opens the local store or returns a remote client; done
	// closes what it opened.
	backend := func(ctx context.Context) (projectBackend, func(), error) {
		if server == "" {
			server = os.Getenv(ServerEnv)
		}
		if server != "" {
			if !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
				return nil, nil, fmt.Errorf("--server %q: want an http:// or https:// URL", server)
			}
			key := os.Getenv(APIKeyEnv)
			if key == "" {
				return nil, nil, fmt.Errorf("no API key: set $%s (create one under Users on the server)", APIKeyEnv)
			}
			return &project.Client{BaseURL: server, Key: key}, func() {}, nil
		}
		st, _, err := e.openStore(ctx)
		if err != nil {
			return nil, nil, err
		}
		return project.New(project.Options{Store: st, Scanner: project.StoreScanner(st), Logger: e.log}), func() { st.Close() }, nil
	}
	// run opens the backend for a command, runs fn with it and closes
	// what it opened.
	run := func(fn func(ctx context.Context, b projectBackend, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, done, err := backend(ctx)
			if err != nil {
				return err
			}
			defer done()
			return fn(ctx, b, args)
		}
	}
	printJSON := func(v any) error { return writeJSON(e.stdout, v) }

	var description string
	var tags []string
	upload := &cobra.Command{
		Use:   "upload NAME VERSION FILE",
		Short: "Upload an SBOM (CycloneDX JSON/XML, SPDX, PURL list) as a project version; replaces an earlier upload of that version",
		Args:  cobra.ExactArgs(3),
		RunE: run(func(ctx context.Context, b projectBackend, args []string) error {
			f, err := os.Open(args[2])
			if err != nil {
				return err
			}
			defer f.Close()
			res, err := b.Upload(ctx, project.UploadRequest{Project: args[0], Version: args[1], FileName: args[2], Body: f, By: actor(), Description: description, Tags: tags})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(res)
			}
			fmt.Fprintf(e.stdout, "%s %s: %d components (%s), %d vulnerable, %d findings (%d new), %d with errors\n",
				res.Project, res.Version, res.Components, res.Format, res.Vulnerable, res.Findings, res.New, res.WithErrors)
			return nil
		}),
	}
	upload.Flags().StringVar(&description, "description", "", "description, when the upload creates the project")
	upload.Flags().StringSliceVar(&tags, "tag", nil, "tag, when the upload creates the project (repeatable)")

	var filter project.Filter
	list := &cobra.Command{
		Use:   "list",
		Short: "List the portfolio: projects with counts by severity, malicious, unassessed, blocked",
		Args:  cobra.NoArgs,
		RunE: run(func(ctx context.Context, b projectBackend, _ []string) error {
			rows, total, err := b.Portfolio(ctx, filter)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(project.PortfolioPage{Projects: rows, Totals: total})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "PROJECT\tVERSIONS\tLATEST\tCRITICAL\tHIGH\tMEDIUM\tLOW\tMALICIOUS\tUNASSESSED\tBLOCKED\tLAST ANALYSIS")
			for _, r := range rows {
				c := r.Counts
				fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Name, r.Versions, r.Latest, c.Critical, c.High, c.Medium, c.Low, c.Malicious, c.Unassessed, c.Blocked, fmtWhen(r.LastAnalysis))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&filter.Q, "q", "", "only projects whose name or description contains this")
	list.Flags().StringVar(&filter.Tag, "tag", "", "only projects with this tag")
	list.Flags().StringVar(&filter.Sort, "sort", "name", "sort by "+strings.Join(project.SortKeys, ", "))
	list.Flags().BoolVar(&filter.Desc, "desc", false, "descending order")

	var all bool
	show := &cobra.Command{
		Use:   "show NAME [VERSION]",
		Short: "Show a project's versions, or a version's vulnerable components with findings, assessments and decisions",
		Args:  cobra.RangeArgs(1, 2),
		RunE: run(func(ctx context.Context, b projectBackend, args []string) error {
			if len(args) == 1 {
				p, err := b.Report(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(p)
				}
				fmt.Fprintf(e.stdout, "%s  %s  tags: %s\n", p.Name, p.Description, strings.Join(p.Tags, ", "))
				tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tCOMPONENTS\tFORMAT\tUPLOADED\tBY\tANALYZED")
				for _, v := range p.Versions {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", v.Version, v.Components, v.Format, fmtWhen(v.Uploaded), v.UploadedBy, fmtWhen(v.Analyzed))
				}
				return tw.Flush()
			}
			v, err := b.VersionReport(ctx, args[0], args[1], !all)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(v)
			}
			c := v.Counts
			fmt.Fprintf(e.stdout, "%s %s: %d components, %d vulnerable, %d findings (critical %d, high %d, medium %d, low %d), %d malicious, %d unassessed, %d blocked\n",
				v.Project, v.Version, c.Components, c.Vulnerable, c.Findings, c.Critical, c.High, c.Medium, c.Low, c.Malicious, c.Unassessed, c.Blocked)
			tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "COMPONENT\tVERSION\tID\tSEVERITY\tASSESSMENT\tDECISION\tPATH")
			for _, comp := range v.Components {
				for _, f := range comp.Findings {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", comp.Name, comp.Version, f.ID, f.Rating, f.Assessment, comp.Decision, strings.Join(comp.Path, " > "))
				}
				for _, er := range comp.Errors {
					fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\terror: %s\n", comp.Name, comp.Version, er)
				}
			}
			return tw.Flush()
		}),
	}
	show.Flags().BoolVar(&all, "all", false, "list every component, not only vulnerable ones")

	del := &cobra.Command{
		Use:   "delete NAME [VERSION]",
		Short: "Delete a project (with its versions and findings) or one version",
		Args:  cobra.RangeArgs(1, 2),
		RunE: run(func(ctx context.Context, b projectBackend, args []string) error {
			if len(args) == 2 {
				return b.DeleteVersion(ctx, args[0], args[1])
			}
			return b.Delete(ctx, args[0])
		}),
	}

	diff := &cobra.Command{
		Use:   "diff NAME FROM TO",
		Short: "Compare the findings of two versions: new, fixed and unchanged",
		Args:  cobra.ExactArgs(3),
		RunE: run(func(ctx context.Context, b projectBackend, args []string) error {
			d, err := b.Compare(ctx, args[0], args[1], args[2])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(d)
			}
			fmt.Fprintf(e.stdout, "%s %s -> %s: %d new, %d fixed, %d unchanged\n", d.Project, d.From, d.To, len(d.New), len(d.Fixed), len(d.Unchanged))
			tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
			for _, g := range []struct {
				label string
				l     []project.DiffEntry
			}{{"new", d.New}, {"fixed", d.Fixed}} {
				for _, x := range g.l {
					ver := x.ToVersion
					if g.label == "fixed" {
						to := x.ToVersion
						if to == "" {
							to = "removed"
						}
						ver = x.FromVersion + " -> " + to
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\n", g.label, x.VulnID, x.Rating, x.Package, ver)
				}
			}
			return tw.Flush()
		}),
	}

	var format, output string
	export := &cobra.Command{
		Use:   "export NAME VERSION",
		Short: "Export a version's findings: csv, json (vulngate.scan/v1), sarif, or the project's assessments as VEX (cyclonedx, openvex)",
		Args:  cobra.ExactArgs(2),
		RunE: run(func(ctx context.Context, b projectBackend, args []string) error {
			out, closeOut, err := e.openOutput(output)
			if err != nil {
				return err
			}
			defer closeOut()
			return b.Export(ctx, out, args[0], args[1], format, version())
		}),
	}
	export.Flags().StringVar(&format, "format", "csv", "csv, json, sarif, cyclonedx or openvex")
	export.Flags().StringVarP(&output, "output", "o", "", "write to this file (default standard output)")

	analyze := &cobra.Command{
		Use:   "analyze",
		Short: "Re-evaluate the project components whose packages changed since the last analysis (local data directory; the server does this after every mirror run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server != "" || os.Getenv(ServerEnv) != "" {
				return errors.New("analyze works on the local data directory; a server analyses after each mirror run (or run its \"project-analysis\" job)")
			}
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, _ string) error {
				svc := project.New(project.Options{Store: st, Scanner: project.StoreScanner(st), Logger: e.log})
				rep, err := svc.Analyze(ctx)
				if err != nil {
					return err
				}
				if err := svc.Snapshot(ctx); err != nil {
					return err
				}
				if asJSON {
					return printJSON(rep)
				}
				fmt.Fprintf(e.stdout, "analysis: %d changed packages, %d components in %d versions re-evaluated, %d new findings, %d closed\n", rep.Packages, rep.Components, rep.Versions, rep.New, rep.Closed)
				if rep.Rechecked {
					fmt.Fprintf(e.stdout, "every component was re-evaluated: the matching rules changed since the last analysis (rules version %d)\n", match.RulesVersion)
				}
				return nil
			})
		},
	}
	cmd.AddCommand(upload, list, show, del, diff, export, analyze)
	return cmd
}

func fmtWhen(t interface{ IsZero() bool }) string {
	if t.IsZero() {
		return "-"
	}
	if s, ok := t.(fmt.Stringer); ok {
		v := s.String()
		if len(v) >= 16 {
			return v[:16]
		}
		return v
	}
	return ""
}
