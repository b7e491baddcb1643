package report

import (
	"encoding/json"
	"io"

	"github.com/vulngate/vulngate/internal/match"
)

// SchemaV1 identifies the JSON output shape documented in docs/scan-json.md.
const SchemaV1 = "vulngate.scan/v1"

type jsonDoc struct {
	Schema     string          `json:"schema"`
	Tool       jsonTool        `json:"tool"`
	Inputs     []string        `json:"inputs"`
	Sources    []string        `json:"sources"`
	Components []jsonComponent `json:"components"`
	Summary    Summary         `json:"summary"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonComponent struct {
	PURL      string        `json:"purl"`
	Name      string        `json:"name,omitempty"`
	Version   string        `json:"version,omitempty"`
	Ecosystem string        `json:"ecosystem,omitempty"`
	BOMRef    string        `json:"bom_ref,omitempty"`
	Path      []string      `json:"path,omitempty"`
	Findings  []jsonFinding `json:"findings"`
	Errors    []string      `json:"errors,omitempty"`
}

type jsonFinding struct {
	ID            string       `json:"id"`
	IDs           []string     `json:"ids"`
	Aliases       []string     `json:"aliases"`
	Records       []string     `json:"records"`
	Summary       string       `json:"summary,omitempty"`
	Severity      jsonSeverity `json:"severity"`
	FixedVersions []string     `json:"fixed_versions"`
	Sources       []string     `json:"sources"`
}

type jsonSeverity struct {
	Score  float64 `json:"score"`
	Rating string  `json:"rating"`
	Type   string  `json:"type,omitempty"`
	Vector string  `json:"vector,omitempty"`
	Source string  `json:"source,omitempty"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w io.Writer, results []match.ComponentResult, meta Meta) error {
	doc := jsonDoc{
		Schema:     SchemaV1,
		Tool:       jsonTool{Name: meta.Tool, Version: meta.Version},
		Inputs:     nonNil(meta.Inputs),
		Sources:    nonNil(meta.Sources),
		Components: make([]jsonComponent, 0, len(results)),
		Summary:    Summarize(results),
	}
	for _, r := range results {
		c := jsonComponent{
			PURL:      r.Input,
			Name:      r.Name,
			Version:   r.Version,
			Ecosystem: r.Package.Ecosystem,
			BOMRef:    r.BOMRef,
			Path:      r.Path,
			Findings:  make([]jsonFinding, 0, len(r.Findings)),
			Errors:    r.Errors,
		}
		if r.Package.PURL != "" {
			c.PURL = r.Package.PURL
		}
		for _, f := range r.Findings {
			var recs []string
			for _, v := range f.Records {
				recs = append(recs, v.ID)
			}
			c.Findings = append(c.Findings, jsonFinding{
				ID:            f.ID,
				IDs:           nonNil(f.IDs),
				Aliases:       nonNil(aliases(f)),
				Records:       nonNil(recs),
				Summary:       f.Summary,
				FixedVersions: nonNil(f.Fixed),
				Sources:       nonNil(f.Sources),
				Severity: jsonSeverity{
					Score:  f.Severity.Score,
					Rating: string(f.Severity.Rating),
					Type:   f.Severity.Type,
					Vector: f.Severity.Vector,
					Source: f.Severity.Source,
				},
			})
		}
		doc.Components = append(doc.Components, c)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
