package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/vex"
)

// vulngate assess export and import: assessments as CycloneDX VEX or
// OpenVEX documents (docs/vex.md).

func (e *env) assessExportCmd() *cobra.Command {
	var format, scope, output, spec string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export assessments as CycloneDX VEX or OpenVEX JSON (see docs/vex.md)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := vex.ParseFormat(format)
			if err != nil {
				return err
			}
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				out, closeOut, err := e.openOutput(output)
				if err != nil {
					return err
				}
				defer closeOut()
				return vex.ExportFrom(cmd.Context(), s, out, vex.ExportOptions{Format: f, Scope: scope, Author: actor(), SpecVersion: spec})
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "cyclonedx", "cyclonedx or openvex")
	cmd.Flags().StringVar(&scope, "scope", "", "only this scope (default: all)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().StringVar(&spec, "spec-version", "1.6", "CycloneDX spec version: 1.5 or 1.6")
	return cmd
}

func (e *env) assessImportCmd() *cobra.Command {
	var scope string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a CycloneDX VEX or OpenVEX JSON document (all or nothing)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = e.stdin
			name := "stdin"
			if args[0] != "-" {
				file, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer file.Close()
				r, name = file, args[0]
			}
			return e.withService(cmd.Context(), func(s *assess.Service) error {
				res, err := vex.ImportInto(cmd.Context(), s, r, name, scope, actor())
				if err != nil {
					return err
				}
				printAssessments(e.stdout, res.Imported)
				fmt.Fprintf(e.stdout, "%d assessments imported from %s (%s), %d statements skipped\n", len(res.Imported), name, res.Format, res.Skipped)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "import statements without a scope into this scope instead of global")
	return cmd
}
