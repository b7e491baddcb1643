package project

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/vex"
)

// ExportFormats lists the formats Export writes.
var ExportFormats = []string{"csv", "json", "sarif", "cyclonedx", "openvex"}

// ExportContentType is the media type of an export format.
func ExportContentType(format string) string {
	switch format {
	case "csv":
		return "text/csv; charset=utf-8"
	case "sarif":
		return "application/sarif+json"
	}
	return "application/json"
}

// Export writes a version's findings: "csv" (one row per finding, with its
// assessment and the component's decision), "json" (the scan JSON shape
// vulngate.scan/v1) or "sarif" (both from a fresh evaluation of the
// version's components, decided in the project's scope), or the project
// scope's assessments as VEX ("cyclonedx" or "openvex").
func (s *Service) Export(ctx context.Context, w io.Writer, name, version, format, toolVersion string) error {
	switch format {
	case "csv":
		return s.exportCSV(ctx, w, name, version)
	case "json", "sarif":
		return s.exportReport(ctx, w, name, version, report.Format(format), toolVersion)
	case "cyclonedx", "openvex":
		if _, err := s.st.ProjectVersion(ctx, name, version); err != nil {
			return err
		}
		f, err := vex.ParseFormat(format)
		if err != nil {
			return err
		}
		return vex.ExportFrom(ctx, s.as, w, vex.ExportOptions{Format: f, Scope: Scope(name), Author: "vulngate"})
	}
	return fmt.Errorf("export format %q: want %s: %w", format, strings.Join(ExportFormats, ", "), ErrInvalid)
}

func (s *Service) exportCSV(ctx context.Context, w io.Writer, name, version string) error {
	v, err := s.Version(ctx, name, version, true)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"project", "version", "component", "component_version", "purl", "dependency_path", "id", "aliases", "rating", "score",
		"summary", "fixed_versions", "sources", "malicious", "assessment", "effect", "decision", "first_seen"})
	for _, c := range v.Components {
		for i, f := range c.Findings {
			label, effect := "Unassessed", ""
			if i < len(c.Verdicts) {
				label, effect = c.Verdicts[i].Label(), string(c.Verdicts[i].Effect)
			}
			score := ""
			if f.Score >= 0 {
				score = strconv.FormatFloat(float64(f.Score)/10, 'f', 1, 64)
			}
			var aliases []string
			for _, id := range f.IDs {
				if id != f.VulnID {
					aliases = append(aliases, id)
				}
			}
			cw.Write(csvSafe(name, version, c.Name, c.Version, c.PURL, strings.Join(c.Path, " > "), f.VulnID, strings.Join(aliases, " "), f.Rating, score,
				f.Summary, strings.Join(f.Fixed, " "), strings.Join(f.Sources, " "), strconv.FormatBool(f.Malicious), label, effect, string(c.Decision.Effect),
				f.FirstSeen.UTC().Format("2006-01-02T15:04:05Z")))
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses cells a spreadsheet would run as formulas (advisory
// text is data).
func csvSafe(cells ...string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}

func (s *Service) exportReport(ctx context.Context, w io.Writer, name, version string, f report.Format, toolVersion string) error {
	v, err := s.st.ProjectVersion(ctx, name, version)
	if err != nil {
		return err
	}
	comps, err := s.st.VersionComponents(ctx, v.ID, false)
	if err != nil {
		return err
	}
	mcs := make([]match.Component, len(comps))
	for i, c := range comps {
		mcs[i] = match.Component{Input: c.PURL, Name: c.Name, Version: c.Version, BOMRef: c.BOMRef, Path: c.Path}
	}
	sc, err := s.scan(ctx)
	if err != nil {
		return err
	}
	results, err := sc.Scan(ctx, mcs)
	if err != nil {
		return err
	}
	decisions, err := s.as.Evaluate(ctx, Scope(name), results)
	if err != nil {
		return err
	}
	return report.Write(w, f, results, report.Meta{Tool: "vulngate", Version: toolVersion, Inputs: []string{name + "@" + version}, Decisions: decisions})
}
