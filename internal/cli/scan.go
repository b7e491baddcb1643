package cli

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/inventory"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// scanHugeReserve is how much of a scan's heap is backed by huge pages
// when its input is files (see hugeheap): the 1,000 generated components
// of the bench harness allocate ~80 MB, keycloak's SBOM ~30 MB. On the
// machine of issue 16's session 16, where a first touch of a 4 KiB page
// costs ~10 µs, 64 MiB cut the 1,000-component scan's wall time by
// nearly a third (0.390 -> 0.270 s, CPU 0.625 -> 0.410 s) and keycloak's
// by a sixth at about the same peak RSS (108 -> 111 MiB); 96 MiB saved no
// more time and took a 10,000-component scan's RSS from 137 to 177 MiB.
const scanHugeReserve = 64 << 20

// isPURL reports whether a scan argument is a package URL; isPath, that
// it names a file, a directory or stdin ("-").
func isPURL(arg string) bool { return strings.HasPrefix(arg, "pkg:") }
func isPath(arg string) bool { return !isPURL(arg) }

// scanPageCacheKiB is SQLite's page cache per connection for a scan
// (the default is 8 MiB): a scan reads each record's pages about once, so
// a larger cache saved no time and added its size to the process's
// memory (a 10,000-component scan held ~13 MiB of SQLite pages).
const scanPageCacheKiB = 1024

func (e *env) scanCmd() *cobra.Command {
	var format, failOn, output, sourceList, configPath, project, inputType string
	cmd := &cobra.Command{
		Use:   "scan [PURL | file | directory | filesystem tarball | -]...",
		Short: "Scan package URLs and SBOMs against the local advisory store",
		Long: `Scan package URLs (arguments starting with "pkg:"), SBOMs (CycloneDX JSON
or XML; SPDX JSON, tag-value, YAML, 3.0 JSON-LD), files listing one PURL per
line, lockfiles and manifests (package-lock.json, yarn.lock, pnpm-lock.yaml,
bun.lock, go.mod, requirements.txt, poetry.lock, Pipfile.lock, pdm.lock,
uv.lock, pylock.toml, Cargo.lock, composer.lock, Gemfile.lock, pom.xml,
gradle.lockfile, verification-metadata.xml, packages.lock.json,
packages.config, *.deps.json, pubspec.lock, mix.lock, renv.lock, conan.lock,
Package.resolved, Podfile.lock, cabal.project.freeze, stack.yaml.lock) and OS
package databases (var/lib/dpkg/status, lib/apk/db/installed). A file's kind
is detected by its name, else its content; --input-type forces it. A
directory is walked (skipping .git, node_modules, vendor and virtual
environments) and every file found is listed with its kind; a root
filesystem directory or an exported filesystem tarball (.tar, .tar.gz)
scans its OS packages. "-" reads standard input.

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
		Args:        cobra.MinimumNArgs(1),
		Annotations: map[string]string{ownGCAnnotation: "collectRarely"},
		RunE: func(cmd *cobra.Command, args []string) error {
			defer collectRarely(scanHeapBudget, scanSoftLimit)()
			if slices.ContainsFunc(args, isPath) {
				// Files, directories or stdin: tens of megabytes to allocate.
				reserveHugeHeap(scanHugeReserve)
			}
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
			useOSV, wantOSSIndex, explicit, err := parseSources(sourceList)
			if err != nil {
				return err
			}
			// The store opens before the inputs are read: the collection
			// that frees the heap reserved for huge pages runs meanwhile,
			// so that the inputs' bytes and their parse land there rather
			// than in fresh 4 KiB pages (keycloak's SBOM: 0.89-0.94 of the
			// scan's time, session 16's machine).
			st, dir, err := e.openStoreWith(ctx, store.Options{PageCacheKiB: scanPageCacheKiB})
			if err != nil {
				return err
			}
			defer st.Close()
			comps, err := e.readInputs(ctx, args, inputType)
			if err != nil {
				return err
			}
			if len(comps) <= scanSmallComponents {
				raiseBudget(scanSmallBudget)
			}
			oi, oiNote, err := e.ossIndexSource(st, configPath, dir, wantOSSIndex, explicit)
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
			sc := match.NewScanner(st, covers).ReportOnly()
			if oi != nil {
				sc.WithSources(useOSV, oi)
				sources = append(sources, oi.Name())
			}
			results, err := sc.Scan(ctx, comps)
			if oi != nil {
				s := oi.Stats()
				e.chatter().Info("OSS Index", "requests", s.Requests, "cached", s.Cached, "fetched", s.Fetched, "not_checked", s.Failed)
			}
			if err != nil {
				return err
			}
			out, closeOut, err := e.openOutput(output)
			if err != nil {
				return err
			}
			defer closeOut()
			decisions, err := e.assessScan(ctx, st, project, results)
			if err != nil {
				return err
			}
			meta := report.Meta{Tool: "vulngate", Version: version(), Inputs: args, Sources: sources, Decisions: decisions}
			if oiNote != "" {
				meta.SourceNotes = append(meta.SourceNotes, oiNote)
			}
			meta.Width, meta.Color = terminalLayout(out)
			// The encoders write in small pieces (a JSON report of 1,000
			// components was ~740 write calls): buffered, a few.
			buf := bufio.NewWriterSize(out, 64<<10)
			if err := report.Write(buf, f, results, meta); err != nil {
				return err
			}
			if err := buf.Flush(); err != nil {
				return err
			}
			sum := report.Summarize(results)
			e.chatter().Info("scan finished", "components", sum.Components, "vulnerable", sum.Vulnerable, "findings", sum.Findings, "with_errors", sum.WithErrors)
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
	cmd.Flags().StringVar(&inputType, "input-type", "", "read file arguments as this kind instead of detecting it: "+strings.Join(inventory.Kinds(), ", "))
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file (default <data-dir>/config.json)")
	return cmd
}

// readInputs turns arguments into components: PURL arguments directly,
// everything else (a file, a directory, a filesystem tarball, "-") read
// through internal/inventory. Every file read is logged with its kind.
func (e *env) readInputs(ctx context.Context, args []string, inputType string) ([]match.Component, error) {
	var comps []match.Component
	opts := inventory.Options{Kind: inputType}
	for _, a := range args {
		var (
			res *inventory.Result
			err error
		)
		switch {
		case isPURL(a):
			comps = append(comps, match.Component{Input: a})
			continue
		case a == "-":
			res, err = inventory.ReadReader(ctx, "stdin", bufio.NewReader(e.stdin), opts)
		default:
			res, err = inventory.ReadPath(ctx, a, opts)
		}
		if err != nil {
			return nil, err
		}
		for _, f := range res.Files {
			if f.Error != "" {
				e.log.Warn("input file not read", "file", f.Path, "kind", f.Kind, "err", f.Error)
				continue
			}
			e.log.Info("input file", "file", f.Path, "kind", f.Kind, "components", f.Components)
			for _, w := range f.Warnings {
				e.log.Warn("part of the input was not read", "file", f.Path, "detail", w)
			}
		}
		comps = append(comps, inventory.ToScan(res.Components)...)
	}
	return comps, nil
}
