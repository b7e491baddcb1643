package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/sbom"
	"github.com/vulngate/vulngate/internal/severity"
)

func (e *env) scanCmd() *cobra.Command {
	var format, failOn, output, sourceList, configPath, project string
	cmd := &cobra.Command{
		Use:   "scan [PURL | SBOM file | PURL-list file | -]...",
		Short: "Scan package URLs and SBOMs against the local advisory store",
		Long: `Scan package URLs (arguments starting with "pkg:"), CycloneDX SBOMs (JSON
or XML), SPDX SBOMs (JSON) and files listing one PURL per line ("-" reads
standard input).

Sources (--source): "osv" matches against the local store (run "vulngate
mirror" first; no network); "ossindex" asks Sonatype OSS Index about each
component, caching answers in the store. By default both are used when an
OSS Index token is configured, else only osv (with one notice). The token
comes from $VULNGATE_OSSINDEX_TOKEN (with $VULNGATE_OSSINDEX_USERNAME,
$VULNGATE_OSSINDEX_BASE_URL, $VULNGATE_OSSINDEX_CACHE_TTL) or the config file
(--config, default <data-dir>/config.json), never from the command line.

--fail-on sets exit code 1 when a finding is rated at least that severity;
--fail-on blocked sets it when any component's assessment decision is block.
A known malicious package (an OSV MAL- record, malicious-packages origins or
CWE-506) fails every --fail-on level, unless an admin let it through with an
assessment scoped to the --project.

Each finding shows its assessment (Ignore, Caution, Blocked, a custom type,
or Unassessed) and each component the decision (allow, warn, block); see
"vulngate assess". --project NAME records the findings for that project
(new findings are auto-assessed) and decides with the project's
assessments and policy.`,
		Example: `  vulngate scan pkg:pypi/django@3.2.0 pkg:npm/lodash@4.17.20
  vulngate scan --format json --fail-on high bom.cdx.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := report.ParseFormat(format)
			if err != nil {
				return err
			}
			var threshold severity.Rating
			failBlocked := strings.EqualFold(failOn, "blocked")
			if failOn != "" && !failBlocked {
				if threshold, err = severity.ParseRating(failOn); err != nil {
					return fmt.Errorf("--fail-on: %w", err)
				}
			}
			comps, err := e.readInputs(args)
			if err != nil {
				return err
			}
			useOSV, wantOSSIndex, explicit, err := parseSources(sourceList)
			if err != nil {
				return err
			}
			st, dir, err := e.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			oi, err := e.ossIndexSource(st, configPath, dir, wantOSSIndex, explicit)
			if err != nil {
				return err
			}
			var sources []string
			var covers func(string) bool
			if useOSV {
				parts, err := st.Partitions(ctx)
				if err != nil {
					return err
				}
				if len(parts) == 0 {
					return fmt.Errorf("the store holds no advisories: run \"vulngate mirror --ecosystems ...\" first")
				}
				covered := map[string]bool{}
				seenSrc := map[string]bool{}
				for _, p := range parts {
					covered[osv.BaseEcosystem(p.Name)] = true
					if !seenSrc[p.Source] {
						seenSrc[p.Source] = true
						sources = append(sources, p.Source)
					}
				}
				covers = func(eco string) bool { return covered[eco] }
			}
			sc := match.NewScanner(st, covers)
			if oi != nil {
				sc.WithSources(useOSV, oi)
				sources = append(sources, oi.Name())
			}
			results, err := sc.Scan(ctx, comps)
			if oi != nil {
				s := oi.Stats()
				e.log.Info("OSS Index", "requests", s.Requests, "cached", s.Cached, "fetched", s.Fetched, "not_checked", s.Failed)
			}
			if err != nil {
				return err
			}
			out := e.stdout
			if output != "" && output != "-" {
				file, err := os.Create(output)
				if err != nil {
					return err
				}
				defer file.Close()
				out = file
			}
			decisions, err := e.assessScan(ctx, st, project, results)
			if err != nil {
				return err
			}
			if err := report.Write(out, f, results, report.Meta{Tool: "vulngate", Version: version(), Inputs: args, Sources: sources, Decisions: decisions}); err != nil {
				return err
			}
			sum := report.Summarize(results)
			e.log.Info("scan finished", "components", sum.Components, "vulnerable", sum.Vulnerable, "findings", sum.Findings, "with_errors", sum.WithErrors)
			if failOn != "" {
				// Known malware fails every level, whatever its CVSS score,
				// unless an admin let it through for this project.
				if mal := maliciousSummary(results, decisions); mal != "" {
					return ExitError{Code: 1, Message: "known malicious package: " + mal}
				}
			}
			if threshold != "" && report.Exceeds(results, threshold) {
				return ExitError{Code: 1, Message: fmt.Sprintf("findings rated %s or higher", strings.ToLower(string(threshold)))}
			}
			if failBlocked && assess.Worst(decisions) == assess.Block {
				return ExitError{Code: 1, Message: "blocked: " + blockedSummary(decisions)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table, json, sarif")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit 1 when a finding is rated at least: low, medium, high, critical; or \"blocked\": when a component's decision is block")
	cmd.Flags().StringVar(&project, "project", "", "record findings for this project (auto-assessing new ones) and decide with its assessments and policy")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the report to this file instead of standard output")
	cmd.Flags().StringVar(&sourceList, "source", "", "vulnerability sources, comma-separated: osv, ossindex (default: osv, plus ossindex when a token is configured)")
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file (default <data-dir>/config.json)")
	return cmd
}

// readInputs turns arguments into components: PURL arguments directly,
// everything else read as an SBOM or PURL list.
func (e *env) readInputs(args []string) ([]match.Component, error) {
	var comps []match.Component
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "pkg:"):
			comps = append(comps, match.Component{Input: a})
		case a == "-":
			d, err := sbom.ReadDocument(bufio.NewReader(io.LimitReader(e.stdin, 1<<30)), "stdin")
			if err != nil {
				return nil, err
			}
			e.sbomWarnings("stdin", d)
			comps = append(comps, fromSBOM(d.Components)...)
		default:
			f, err := os.Open(a)
			if err != nil {
				return nil, err
			}
			d, err := sbom.ReadDocument(f, a)
			f.Close()
			if err != nil {
				return nil, err
			}
			e.sbomWarnings(a, d)
			comps = append(comps, fromSBOM(d.Components)...)
		}
	}
	return comps, nil
}

func fromSBOM(cs []sbom.Component) []match.Component {
	out := make([]match.Component, 0, len(cs))
	for _, c := range cs {
		out = append(out, match.Component{Input: c.PURL, Name: c.Name, Version: c.Version, BOMRef: c.BOMRef, Path: c.Path, InputError: c.Err})
	}
	return out
}

// sbomWarnings logs what of an SBOM was not read.
func (e *env) sbomWarnings(input string, d *sbom.Document) {
	for _, w := range d.Warnings {
		e.log.Warn("part of the input was not read", "input", input, "detail", w)
	}
}
