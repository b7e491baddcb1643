package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/severity"
)

// SARIF 2.1.0: one rule per vulnerability (representative ID), one result
// per (component, vulnerability). Locations point at the scanned input.

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	ShortDescription sarifText      `json:"shortDescription"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

func level(r severity.Rating) string {
	switch r {
	case severity.Critical, severity.High:
		return "error"
	case severity.Medium, severity.Unknown:
		return "warning"
	}
	return "note"
}

func writeSARIF(w io.Writer, results []match.ComponentResult, meta Meta) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: meta.Tool, Version: meta.Version, Rules: []sarifRule{}}}, Results: []sarifResult{}}
	rules := map[string]bool{}
	uri := ""
	if len(meta.Inputs) == 1 && !strings.HasPrefix(meta.Inputs[0], "pkg:") {
		uri = meta.Inputs[0]
	}
	for _, r := range results {
		for _, f := range r.Findings {
			if !rules[f.ID] {
				rules[f.ID] = true
				props := map[string]any{"aliases": aliases(f), "rating": string(f.Severity.Rating)}
				if f.Severity.Score > 0 {
					props["security-severity"] = fmt.Sprintf("%.1f", f.Severity.Score)
				}
				if f.Malicious {
					// Above every CVSS rating: code scanning shows 10.0 as critical.
					props["rating"] = match.RatingMalicious
					props["malicious"] = true
					props["malicious-record"] = f.MaliciousID
					props["security-severity"] = "10.0"
					props["tags"] = []string{"security", "malicious"}
				}
				if len(f.CWEs) > 0 {
					props["cwe"] = f.CWEs
				}
				if f.EPSS != nil {
					props["epss"] = f.EPSS.EPSS
					props["epss-percentile"] = f.EPSS.Percentile
				}
				if f.KEV != nil {
					props["known-exploited"] = true
					props["kev-date-added"] = f.KEV.DateAdded
				}
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
					ID:               f.ID,
					ShortDescription: sarifText{Text: orInput(f.Summary, f.ID)},
					HelpURI:          "https://osv.dev/vulnerability/" + f.Records[0].ID,
					Properties:       props,
				})
			}
			msg := fmt.Sprintf("%s@%s is affected by %s", orInput(r.Package.Name, r.Input), r.Version, f.ID)
			lvl := level(f.Severity.Rating)
			if f.Malicious {
				msg = fmt.Sprintf("%s@%s is a known malicious package (%s)", orInput(r.Package.Name, r.Input), r.Version, f.MaliciousID)
				lvl = "error"
			}
			if f.KEV != nil {
				msg += "; known exploited (CISA KEV, added " + f.KEV.DateAdded + ")"
			}
			if len(f.Fixed) > 0 {
				msg += "; fixed in " + strings.Join(f.Fixed, ", ")
			}
			if u := r.Upgrade; u != nil && u.Version != "" {
				msg += "; upgrade to " + u.Version
				if u.Step != "" {
					msg += " (" + u.Step + ")"
				}
				msg += " to fix " + plural(u.Fixes, "finding") + " of this component"
			}
			if len(f.Matched) > 0 {
				msg += ". Matched: " + strings.Join(f.Matched, "; ")
			}
			res := sarifResult{RuleID: f.ID, Level: lvl, Message: sarifText{Text: msg}}
			if r.File != "" {
				// The file the component was read from, and its line.
				loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(r.File)}}
				if r.Line > 0 {
					loc.Region = &sarifRegion{StartLine: r.Line}
				}
				res.Locations = []sarifLocation{{PhysicalLocation: loc}}
			} else if uri != "" {
				res.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}}
			}
			run.Results = append(run.Results, res)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
