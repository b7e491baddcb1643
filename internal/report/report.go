// Package report renders scan results for people and machines: a text
// table, a documented and stable JSON shape (schema "vulngate.scan/v1"),
// and SARIF 2.1.0 for code-scanning tools.
//
// It only formats; what is matched, merged and scored is decided by
// internal/match and internal/severity. Advisory text is written as data
// (JSON/SARIF string escaping, control characters stripped in the table),
// never interpreted.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/severity"
)

// Format names an output format.
type Format string

// Output formats.
const (
	Table Format = "table"
	JSON  Format = "json"
	SARIF Format = "sarif"
)

// ParseFormat validates a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Table, JSON, SARIF:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want table, json or sarif)", s)
}

// Write renders results in the format.
func Write(w io.Writer, f Format, results []match.ComponentResult, meta Meta) error {
	switch f {
	case JSON:
		return writeJSON(w, results, meta)
	case SARIF:
		return writeSARIF(w, results, meta)
	default:
		return writeTable(w, results, meta)
	}
}

// Meta describes the scan as a whole.
type Meta struct {
	Tool    string   // "vulngate"
	Version string   // tool version
	Inputs  []string // what was scanned
	Sources []string // vulnerability sources consulted
	// Decisions, when not nil, holds the assessment decision of each
	// result (same order, internal/assess): findings then show their
	// assessment and components their decision.
	Decisions []assess.Decision
	// SourceNotes are said beside the sources in the table's summary,
	// e.g. "OSS Index skipped: no API token".
	SourceNotes []string
	// Width is the table's width in columns (DefaultWidth when 0); Color
	// turns on ANSI colours in the table. Both are for a terminal.
	Width int
	Color bool
}

// decision returns result i's decision, nil when the scan carries none.
func (m Meta) decision(i int) *assess.Decision {
	if i < len(m.Decisions) {
		return &m.Decisions[i]
	}
	return nil
}

// Summary counts a scan's outcome.
type Summary struct {
	Components   int            `json:"components"`
	Vulnerable   int            `json:"vulnerable"`
	Findings     int            `json:"findings"`
	WithErrors   int            `json:"components_with_errors"`
	ByRating     map[string]int `json:"by_rating"`
	HighestScore float64        `json:"highest_score"`
	// Malicious counts findings of known malicious packages, a category
	// above CRITICAL (they are also counted in ByRating by their rating).
	Malicious int `json:"malicious"`
}

// Summarize counts results.
func Summarize(results []match.ComponentResult) Summary {
	s := Summary{Components: len(results), ByRating: map[string]int{}}
	for _, r := range results {
		if len(r.Findings) > 0 {
			s.Vulnerable++
		}
		if len(r.Errors) > 0 {
			s.WithErrors++
		}
		for _, f := range r.Findings {
			s.Findings++
			if f.Malicious {
				s.Malicious++
			}
			s.ByRating[string(f.Severity.Rating)]++
			s.HighestScore = max(s.HighestScore, f.Severity.Score)
		}
	}
	return s
}

// Exceeds reports whether any finding is rated at least threshold.
func Exceeds(results []match.ComponentResult, threshold severity.Rating) bool {
	for _, r := range results {
		for _, f := range r.Findings {
			if f.Severity.Rating != severity.Unknown && f.Severity.Rating.AtLeast(threshold) {
				return true
			}
		}
	}
	return false
}

// SeverityLabel is a finding's severity category for people: "MALICIOUS"
// for known malicious packages (above CRITICAL), else its rating.
func SeverityLabel(f match.Scored) string {
	if f.Malicious {
		return match.RatingMalicious
	}
	return string(f.Severity.Rating)
}

// aliases returns the group's IDs other than the representative one.
func aliases(f match.Scored) []string {
	return slices.DeleteFunc(slices.Clone(f.IDs), func(s string) bool { return s == f.ID })
}

// sanitize strips control characters so advisory text cannot drive a
// terminal.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
