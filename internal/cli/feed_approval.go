package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/approval"
	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/store"
)

// withApprovals opens the store and runs fn with an approval service whose
// gate decides from the store (the command line acts as an admin).
func (e *env) withApprovals(cmd *cobra.Command, fn func(*approval.Service) error) error {
	st, _, err := e.openStore(cmd.Context())
	if err != nil {
		return err
	}
	defer st.Close()
	g := feed.NewGate(feed.GateOptions{Store: st, Assessor: assess.New(st), Logger: e.log})
	defer g.Close()
	return fn(approval.New(st, g))
}

func (e *env) feedApprovalsCmd() *cobra.Command {
	var status string
	var limit int
	cmd := &cobra.Command{
		Use:   "approvals FEED",
		Short: "List a feed's package approvals (pending ones first asked first)",
		Example: `  vulngate feed approvals npm                 # the queue: pending versions
  vulngate feed approvals npm --status approved`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApprovals(cmd, func(s *approval.Service) error {
				as, total, err := s.List(cmd.Context(), args[0], status, 0, limit)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PACKAGE\tSTATUS\tREQUESTED\tREQUESTS\tDECIDED BY\tDECIDED\tCOMMENT")
				for _, a := range as {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.PURL, a.Status, rfc3339(a.RequestedAt), a.Requests, a.DecidedBy, rfc3339(a.DecidedAt), oneLine(a.Comment))
				}
				tw.Flush()
				fmt.Fprintf(e.stdout, "%d of %d %s\n", len(as), total, strings.TrimSpace(status+" approvals"))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", store.ApprovalPending, "pending, approved, revoked, or \"\" for all")
	cmd.Flags().IntVar(&limit, "limit", 100, "how many to show")
	return cmd
}

// rfc3339 formats a time for tables, "-" when unset.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (e *env) feedApproveCmd() *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   "approve FEED PURL...",
		Short: "Approve package versions for a feed that requires approval",
		Long: `Approve package versions (package URLs with a version) for a feed that
requires approval; downloads of them are then served (unless the gate
blocks them later). Versions whose vulnerabilities are Blocked, or that are
known malicious packages, cannot be approved and are listed as refused.`,
		Example: "  vulngate feed approve npm pkg:npm/left-pad@1.3.0 pkg:npm/%40scope/name@2.0.0 --comment \"reviewed\"",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApprovals(cmd, func(s *approval.Service) error {
				res, err := s.Approve(cmd.Context(), args[0], args[1:], actor(), comment)
				for _, p := range res.Approved {
					fmt.Fprintf(e.stdout, "approved %s\n", p)
				}
				for _, r := range res.Refused {
					fmt.Fprintf(e.stdout, "not approved %s: %s\n", r.PURL, r.Reason)
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why (kept in the approval audit)")
	return cmd
}

func (e *env) feedRevokeCmd() *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:     "revoke FEED PURL...",
		Short:   "Revoke approvals (or take pending versions off the queue)",
		Example: "  vulngate feed revoke npm pkg:npm/left-pad@1.3.0 --comment \"no longer used\"",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApprovals(cmd, func(s *approval.Service) error {
				done, err := s.Revoke(cmd.Context(), args[0], args[1:], actor(), comment)
				if err != nil {
					return err
				}
				for _, p := range done {
					fmt.Fprintf(e.stdout, "revoked %s\n", p)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why (kept in the approval audit)")
	return cmd
}
