package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vulngate/vulngate/internal/match"
)

func writeTable(w io.Writer, results []match.ComponentResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tVERSION\tVULNERABILITY\tSEVERITY\tFIXED IN\tSUMMARY")
	for _, r := range results {
		name := r.Name
		if r.Package.Name != "" {
			name = r.Package.Ecosystem + "/" + r.Package.Name
		}
		for _, f := range r.Findings {
			sev := string(f.Severity.Rating)
			if f.Severity.Score > 0 {
				sev = fmt.Sprintf("%s %.1f", sev, f.Severity.Score)
			}
			id := f.ID
			if a := aliases(f); len(a) > 0 {
				id += " (" + strings.Join(a, ", ") + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sanitize(name), sanitize(r.Version), sanitize(id), sev,
				sanitize(strings.Join(f.Fixed, ", ")), sanitize(truncate(f.Summary, 70)))
		}
		for _, e := range r.Errors {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sanitize(orInput(name, r.Input)), sanitize(r.Version), "-", "ERROR", "", sanitize(truncate(e, 100)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := Summarize(results)
	_, err := fmt.Fprintf(w, "\n%d components scanned: %d vulnerable, %d findings (%d critical, %d high, %d medium, %d low, %d unknown), %d with errors\n",
		s.Components, s.Vulnerable, s.Findings, s.ByRating["CRITICAL"], s.ByRating["HIGH"], s.ByRating["MEDIUM"], s.ByRating["LOW"], s.ByRating["UNKNOWN"], s.WithErrors)
	return err
}

func orInput(name, input string) string {
	if name != "" {
		return name
	}
	return input
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
