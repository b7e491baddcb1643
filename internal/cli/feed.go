package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/store"
)

func (e *env) feedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feed",
		Short: "Manage package feeds (caching registry proxies that refuse Blocked packages)",
		Long: `A feed proxies one package registry (npm, pypi, go, maven, nuget) at
/feeds/NAME/ on "vulngate serve", caches what it fetches, and refuses
downloads of package versions whose vulnerabilities are assessed Blocked.
The upstream URL is required: there are no built-in registries.`,
	}
	cmd.AddCommand(e.feedCreateCmd(), e.feedListCmd(), e.feedShowCmd(), e.feedSetCmd(), e.feedDeleteCmd(),
		e.feedApprovalsCmd(), e.feedApproveCmd(), e.feedRevokeCmd())
	return cmd
}

type feedFlags struct {
	typ, upstream, sources, unassessed, description string
	filter, auditRequired, approval                 bool
	ttl                                             time.Duration
	assessors, approvers                            []string
}

func (ff *feedFlags) bind(cmd *cobra.Command, create bool) {
	fl := cmd.Flags()
	if create {
		fl.StringVar(&ff.typ, "type", "", "feed type: npm, pypi, go, maven, nuget (required)")
	}
	fl.StringVar(&ff.upstream, "upstream", "", "upstream registry URL (npm registry root, PyPI simple index, GOPROXY URL, Maven repository root, NuGet v3 service index)")
	fl.StringVar(&ff.sources, "sources", "osv", "vulnerability sources: osv, ossindex or both (comma-separated)")
	fl.StringVar(&ff.unassessed, "unassessed", "inherit", "policy for unassessed vulnerabilities: allow, warn, block, or inherit (the assessment policy of scope feed:NAME, else global)")
	fl.BoolVar(&ff.filter, "filter-blocked", false, "remove blocked versions from metadata so resolvers pick a safe version")
	fl.BoolVar(&ff.auditRequired, "audit-required", false, "serve a download only once its decision is written to the audit; while the database cannot take it, refuse (503) instead of keeping the decision to write later")
	fl.DurationVar(&ff.ttl, "metadata-ttl", feed.DefaultMetadataTTL, "how long cached metadata is used before asking the upstream again")
	fl.StringVar(&ff.description, "description", "", "free text")
	fl.StringSliceVar(&ff.assessors, "assessors", nil, "users who may assess for the feed (the assess grant of scope feed:NAME; replaces the list)")
	fl.BoolVar(&ff.approval, "require-approval", false, "serve a package version only once an approver approved it (see \"vulngate feed approve\")")
	fl.StringSliceVar(&ff.approvers, "approvers", nil, "assessors who may approve for the feed (the approve grant of scope feed:NAME; replaces the list)")
}

// grants is the --assessors and --approvers values when given, else nil
// (keep).
func (ff *feedFlags) grants(cmd *cobra.Command) store.FeedGrants {
	list := func(flag string, vals []string) []string {
		if !cmd.Flags().Changed(flag) {
			return nil
		}
		out := []string{}
		for _, a := range vals {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	return store.FeedGrants{Assessors: list("assessors", ff.assessors), Approvers: list("approvers", ff.approvers)}
}

func (e *env) feedCreateCmd() *cobra.Command {
	var ff feedFlags
	cmd := &cobra.Command{
		Use:     "create NAME --type TYPE --upstream URL",
		Short:   "Create a feed",
		Example: "  vulngate feed create npm-proxy --type npm --upstream https://npm.registry.internal.example --filter-blocked",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ff.typ == "" {
				return errors.New("--type is required (npm, pypi, go, maven, nuget)")
			}
			sources, err := feed.ParseSources(ff.sources)
			if err != nil {
				return fmt.Errorf("--sources: %w", err)
			}
			f := store.Feed{Name: args[0], Type: ff.typ, Upstream: ff.upstream, Sources: sources, Unassessed: ff.unassessed,
				FilterBlocked: ff.filter, MetadataTTL: ff.ttl, Description: ff.description, AuditRequired: ff.auditRequired, RequireApproval: ff.approval}
			if err := feed.Validate(&f); err != nil {
				return err
			}
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, _ string) error {
				if err := st.SaveFeedWith(ctx, f, true, ff.grants(cmd), time.Now()); err != nil {
					if errors.Is(err, store.ErrConflict) {
						return fmt.Errorf("a feed named %q already exists (change it with \"vulngate feed set\")", f.Name)
					}
					return err
				}
				fmt.Fprintf(e.stdout, "created feed %s (%s) proxying %s at /feeds/%s/\n", f.Name, f.Type, f.Upstream, f.Name)
				return nil
			})
		},
	}
	ff.bind(cmd, true)
	return cmd
}

func (e *env) feedListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List feeds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, _ string) error {
				fs, err := st.Feeds(ctx)
				if err != nil {
					return err
				}
				if len(fs) == 0 {
					fmt.Fprintln(e.stdout, `no feeds; create one with "vulngate feed create NAME --type TYPE --upstream URL"`)
					return nil
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tTYPE\tUPSTREAM\tSOURCES\tUNASSESSED\tFILTER\tTTL")
				for _, f := range fs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", f.Name, f.Type, f.Upstream, strings.Join(f.Sources, ","), unassessedLabel(f.Unassessed), f.FilterBlocked, f.MetadataTTL)
				}
				return tw.Flush()
			})
		},
	}
}

func unassessedLabel(s string) string {
	if s == "" {
		return "inherit"
	}
	return s
}

func (e *env) feedShowCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a feed's settings, tracked packages and recent gate decisions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, _ string) error {
				f, err := st.FeedByName(ctx, args[0])
				if err != nil {
					return err
				}
				w := e.stdout
				fmt.Fprintf(w, "name:            %s\ntype:            %s\nupstream:        %s\nsources:         %s\nunassessed:      %s\nfilter blocked:  %v\naudit required:  %v\nmetadata TTL:    %s\nURL path:        /feeds/%s/\n",
					f.Name, f.Type, f.Upstream, strings.Join(f.Sources, ","), unassessedLabel(f.Unassessed), f.FilterBlocked, f.AuditRequired, f.MetadataTTL, f.Name)
				if f.Description != "" {
					fmt.Fprintf(w, "description:     %s\n", f.Description)
				}
				if as, err := st.FeedAssessors(ctx, f.Name); err != nil {
					return err
				} else if len(as) > 0 {
					fmt.Fprintf(w, "assessors:       %s\n", strings.Join(as, ", "))
				}
				if f.RequireApproval {
					as, err := st.FeedApprovers(ctx, f.Name)
					if err != nil {
						return err
					}
					fmt.Fprintf(w, "approval:        required (approvers: %s; see \"vulngate feed approvals %s\")\n", strings.Join(as, ", "), f.Name)
				}
				pkgs, err := st.FeedPackages(ctx, f.Name)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "\ntracked packages: %d\n", len(pkgs))
				if len(pkgs) > 0 {
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "PACKAGE\tDECISION\tDOWNLOADS\tREFUSED\tLAST SEEN")
					for _, p := range pkgs {
						fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", p.PURL, p.Decision, p.Downloads, p.Refused, p.LastSeen.Format(time.RFC3339))
					}
					tw.Flush()
				}
				ds, err := st.FeedDecisions(ctx, f.Name, limit)
				if err != nil {
					return err
				}
				if len(ds) > 0 {
					fmt.Fprintf(w, "\nrecent decisions:\n")
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "TIME\tPACKAGE\tEFFECT\tREASONS")
					for _, d := range ds {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.At.Format(time.RFC3339), d.PURL, d.Effect, d.Reasons)
					}
					tw.Flush()
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "decisions", 20, "how many recent gate decisions to show")
	return cmd
}

func (e *env) feedSetCmd() *cobra.Command {
	var ff feedFlags
	cmd := &cobra.Command{
		Use:     "set NAME [--upstream URL] [--sources ...] [--unassessed ...] [--filter-blocked=true|false] [--audit-required=true|false] [--metadata-ttl D]",
		Short:   "Change a feed's settings",
		Example: "  vulngate feed set npm-proxy --filter-blocked=false --unassessed block",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, _ string) error {
				f, err := st.FeedByName(ctx, args[0])
				if err != nil {
					return err
				}
				fl := cmd.Flags()
				changed := false
				if fl.Changed("upstream") {
					f.Upstream, changed = ff.upstream, true
				}
				if fl.Changed("sources") {
					if f.Sources, err = feed.ParseSources(ff.sources); err != nil {
						return fmt.Errorf("--sources: %w", err)
					}
					changed = true
				}
				if fl.Changed("unassessed") {
					f.Unassessed, changed = ff.unassessed, true
				}
				if fl.Changed("filter-blocked") {
					f.FilterBlocked, changed = ff.filter, true
				}
				if fl.Changed("audit-required") {
					f.AuditRequired, changed = ff.auditRequired, true
				}
				if fl.Changed("metadata-ttl") {
					f.MetadataTTL, changed = ff.ttl, true
				}
				if fl.Changed("description") {
					f.Description, changed = ff.description, true
				}
				if fl.Changed("require-approval") {
					f.RequireApproval, changed = ff.approval, true
				}
				changed = changed || fl.Changed("assessors") || fl.Changed("approvers")
				if !changed {
					return errors.New("nothing to change: give at least one of --upstream, --sources, --unassessed, --filter-blocked, --audit-required, --metadata-ttl, --description, --assessors, --require-approval, --approvers")
				}
				if err := feed.Validate(&f); err != nil {
					return err
				}
				if err := st.SaveFeedWith(ctx, f, false, ff.grants(cmd), time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "updated feed %s\n", f.Name)
				return nil
			})
		},
	}
	ff.bind(cmd, false)
	return cmd
}

func (e *env) feedDeleteCmd() *cobra.Command {
	var cacheDir string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a feed and its cache (its audited decisions are kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, dir string) error {
				orphans, err := st.DeleteFeed(ctx, args[0])
				if err != nil {
					return err
				}
				if cacheDir == "" {
					cacheDir = filepath.Join(dir, "cache")
				}
				removed := feed.RemoveCachedFiles(cacheDir, orphans, e.log)
				fmt.Fprintf(e.stdout, "deleted feed %s (%d cached files removed)\n", args[0], removed)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&cacheDir, "cache-dir", envDefault("VULNGATE_CACHE_DIR", ""), "the servers' artifact cache (default <data-dir>/cache), as given to \"vulngate serve --cache-dir\"")
	return cmd
}
