package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
)

func writeTable(w io.Writer, results []match.ComponentResult, meta Meta) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	assessed := meta.Decisions != nil
	if assessed {
		fmt.Fprintln(tw, "PACKAGE\tVERSION\tVULNERABILITY\tSEVERITY\tASSESSMENT\tDECISION\tFIXED IN\tSUMMARY")
	} else {
		fmt.Fprintln(tw, "PACKAGE\tVERSION\tVULNERABILITY\tSEVERITY\tFIXED IN\tSUMMARY")
	}
	for ri, r := range results {
		d := meta.decision(ri)
		name := r.Name
		if r.Package.Name != "" {
			name = r.Package.Ecosystem + "/" + r.Package.Name
		}
		for fi, f := range r.Findings {
			sev := SeverityLabel(f)
			if f.Severity.Score > 0 && !f.Malicious {
				sev = fmt.Sprintf("%s %.1f", sev, f.Severity.Score)
			}
			id := f.ID
			if a := aliases(f); len(a) > 0 {
				id += " (" + strings.Join(a, ", ") + ")"
			}
			if d != nil && fi < len(d.Findings) {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sanitize(name), sanitize(r.Version), sanitize(id), sev,
					sanitize(verdictLabel(d.Findings[fi])), strings.ToUpper(string(d.Effect)),
					sanitize(strings.Join(f.Fixed, ", ")), sanitize(truncate(f.Summary, 70)))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sanitize(name), sanitize(r.Version), sanitize(id), sev,
				sanitize(strings.Join(f.Fixed, ", ")), sanitize(truncate(f.Summary, 70)))
		}
		for _, e := range r.Errors {
			if assessed {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sanitize(orInput(name, r.Input)), sanitize(r.Version), "-", "ERROR", "-", "-", "", sanitize(truncate(e, 100)))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sanitize(orInput(name, r.Input)), sanitize(r.Version), "-", "ERROR", "", sanitize(truncate(e, 100)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Upgrade advice (issue 14), one line per vulnerable component; the
	// table's owner folds it into the new layout.
	for _, r := range results {
		if u := r.Upgrade; u != nil && u.Version != "" {
			name := orInput(r.Package.Name, r.Input)
			line := fmt.Sprintf("upgrade: %s %s -> %s", sanitize(name), sanitize(r.Version), sanitize(u.Version))
			if u.Step != "" {
				line += " (" + u.Step + ")"
			}
			if len(u.Unfixed) > 0 {
				line += fmt.Sprintf("; no fix known for %s", sanitize(strings.Join(u.Unfixed, ", ")))
			}
			fmt.Fprintln(w, line)
		}
	}
	s := Summarize(results)
	_, err := fmt.Fprintf(w, "\n%d components scanned: %d vulnerable, %d findings (%d malicious, %d critical, %d high, %d medium, %d low, %d unknown), %d with errors\n",
		s.Components, s.Vulnerable, s.Findings, s.Malicious, s.ByRating["CRITICAL"], s.ByRating["HIGH"], s.ByRating["MEDIUM"], s.ByRating["LOW"], s.ByRating["UNKNOWN"], s.WithErrors)
	if err != nil || !assessed {
		return err
	}
	n := map[assess.Effect]int{}
	for _, d := range meta.Decisions {
		n[d.Effect]++
	}
	_, err = fmt.Fprintf(w, "decisions: %d block, %d warn, %d allow\n", n[assess.Block], n[assess.Warn], n[assess.Allow])
	return err
}

// verdictLabel shows a finding's assessment: its type (with the ID it
// was recorded against when that is an alias, and "auto" for rules), or
// "Unassessed".
func verdictLabel(v assess.Verdict) string {
	a := v.Assessment
	if a == nil {
		return "Unassessed"
	}
	label := a.Type
	var notes []string
	if a.VulnID != v.Finding.ID {
		notes = append(notes, "as "+a.VulnID)
	}
	if a.Scope != assess.Global {
		notes = append(notes, a.Scope)
	}
	if a.Auto {
		notes = append(notes, "auto")
	}
	if len(notes) > 0 {
		label += " (" + strings.Join(notes, ", ") + ")"
	}
	return label
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
