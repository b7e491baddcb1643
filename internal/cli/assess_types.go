package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/store"
)

// vulngate assess types and vulngate assess policy: the assessment types and
// the policies for unassessed vulnerabilities.

func (e *env) assessTypesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "types",
		Short: "List, create, update and delete assessment types",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List assessment types",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				types, err := s.Types(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tEFFECT\tAUTO-ASSESS (CVSS, KEV, EPSS)\tEXPIRY\tBUILT-IN\tDESCRIPTION")
				for _, t := range types {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", t.Name, t.Effect, t.Rules(), assess.FormatDuration(t.Expiry), t.Builtin, oneLine(t.Description))
				}
				return tw.Flush()
			})
		},
	}
	cmd.AddCommand(list, e.assessTypeSaveCmd(true), e.assessTypeSaveCmd(false), &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a custom assessment type that no assessment uses",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				return s.DeleteType(cmd.Context(), args[0])
			})
		},
	})
	return cmd
}

func (e *env) assessTypeSaveCmd(create bool) *cobra.Command {
	var effect, autoRange, expiry, description, autoEPSS string
	var autoKEV bool
	use, short := "create NAME", "Create a custom assessment type"
	if !create {
		use, short = "update NAME", "Change a type's auto-assessment range, expiry or description"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				ctx := cmd.Context()
				t := assess.Type{Name: args[0], Description: description}
				if !create {
					types, err := s.Types(ctx)
					if err != nil {
						return err
					}
					old, ok := assess.FindType(types, args[0])
					if !ok {
						return fmt.Errorf("assessment type %q: %w", args[0], store.ErrNotFound)
					}
					t = old
					if cmd.Flags().Changed("description") {
						t.Description = description
					}
				}
				if create || cmd.Flags().Changed("effect") {
					eff, err := assess.ParseEffect(effect)
					if err != nil {
						return fmt.Errorf("--effect: %w", err)
					}
					t.Effect = eff
				}
				if cmd.Flags().Changed("auto") {
					if autoRange == "" || strings.EqualFold(autoRange, "none") {
						t.Auto = nil
					} else {
						r, err := assess.ParseRange(autoRange)
						if err != nil {
							return fmt.Errorf("--auto: %w", err)
						}
						t.Auto = &r
					}
				}
				if cmd.Flags().Changed("auto-kev") {
					t.AutoKEV = autoKEV
				}
				if cmd.Flags().Changed("auto-epss") {
					v, err := assess.ParseEPSSThreshold(autoEPSS)
					if err != nil {
						return fmt.Errorf("--auto-epss: %w", err)
					}
					t.AutoEPSS = v
				}
				if cmd.Flags().Changed("expiry") {
					d, err := assess.ParseDuration(expiry)
					if err != nil {
						return fmt.Errorf("--expiry: %w", err)
					}
					t.Expiry = d
				}
				if create {
					return s.CreateType(ctx, t)
				}
				return s.UpdateType(ctx, t)
			})
		},
	}
	cmd.Flags().StringVar(&effect, "effect", "", "allow, warn or block")
	cmd.Flags().StringVar(&autoRange, "auto", "", "auto-assessment CVSS range, inclusive, e.g. 7.0-8.9 (none: do not auto-assess)")
	cmd.Flags().BoolVar(&autoKEV, "auto-kev", false, "auto-assess findings in the CISA KEV catalogue (known exploited) with this type; --auto-kev=false turns it off")
	cmd.Flags().StringVar(&autoEPSS, "auto-epss", "", "auto-assess findings whose EPSS percentile is at least this, e.g. 0.95 or 95% (none: off)")
	cmd.Flags().StringVar(&expiry, "expiry", "", "assessments of this type expire after, e.g. 30d (never: no expiry)")
	cmd.Flags().StringVar(&description, "description", "", "description")
	return cmd
}

func (e *env) assessPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Policy for unassessed vulnerabilities per scope: allow, warn (default) or block",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var scope string
	set := &cobra.Command{
		Use:   "set allow|warn|block",
		Short: "Set the policy for unassessed vulnerabilities in a scope",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eff, err := assess.ParseEffect(args[0])
			if err != nil {
				return err
			}
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				return s.SetPolicy(cmd.Context(), scope, eff, actor())
			})
		},
	}
	set.Flags().StringVar(&scope, "scope", "global", "global, project:NAME or feed:NAME")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the policies set",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				p, err := s.Policies(cmd.Context())
				if err != nil {
					return err
				}
				if _, ok := p[assess.Global]; !ok {
					fmt.Fprintf(e.stdout, "%s\t%s (default)\n", assess.Global, assess.Warn)
				}
				for sc, eff := range p {
					fmt.Fprintf(e.stdout, "%s\t%s\n", sc, eff)
				}
				return nil
			})
		},
	}
	cmd.AddCommand(set, list)
	return cmd
}
