package report

import (
	"io"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/jsonenc"
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
	Decision  *jsonDecision `json:"decision,omitempty"`
	// Location is where the component was read (file, and line where
	// the format gives one); Relationship is "direct" or "transitive"
	// where the input says which.
	Location     *jsonLocation `json:"location,omitempty"`
	Relationship string        `json:"relationship,omitempty"`
	Upgrade      *jsonUpgrade  `json:"upgrade,omitempty"`
}

// jsonLocation is a component's source location.
type jsonLocation struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

// jsonDecision is a component's assessment decision (only in scans that
// evaluate assessments).
type jsonDecision struct {
	Effect  string   `json:"effect"`  // allow, warn, block
	Reasons []string `json:"reasons"` // one line per finding that made the decision
	Message string   `json:"message"`
}

// jsonAssessment is a finding's assessment. Status "unassessed" carries
// only the effect of the policy for unassessed vulnerabilities.
type jsonAssessment struct {
	Status     string `json:"status"` // assessed, unassessed
	Effect     string `json:"effect"`
	Type       string `json:"type,omitempty"`
	AssessedID string `json:"assessed_id,omitempty"` // the ID of the group the assessment was recorded against
	Scope      string `json:"scope,omitempty"`
	By         string `json:"by,omitempty"`
	At         string `json:"at,omitempty"`
	Expires    string `json:"expires,omitempty"`
	Comment    string `json:"comment,omitempty"`
	Auto       bool   `json:"auto,omitempty"`
	// Builtin names a built-in rule that decided instead of any
	// assessment: "malicious" (known malicious packages are blocked).
	Builtin string `json:"builtin,omitempty"`
	// MalwareOverride marks an admin's scoped assessment letting a known
	// malicious package through.
	MalwareOverride bool `json:"malware_override,omitempty"`
}

type jsonFinding struct {
	ID            string          `json:"id"`
	IDs           []string        `json:"ids"`
	Aliases       []string        `json:"aliases"`
	Records       []string        `json:"records"`
	Summary       string          `json:"summary,omitempty"`
	Severity      jsonSeverity    `json:"severity"`
	FixedVersions []string        `json:"fixed_versions"`
	Sources       []string        `json:"sources"`
	Assessment    *jsonAssessment `json:"assessment,omitempty"`
	// Malicious marks a known malicious package (a category above
	// CRITICAL); MaliciousID is the record that says so.
	Malicious   bool   `json:"malicious,omitempty"`
	MaliciousID string `json:"malicious_id,omitempty"`
	// Matched says why each record matched: "ID: ecosystem "name":
	// TYPE range introduced X, fixed Y" or "...: versions list has V".
	Matched []string `json:"matched,omitempty"`
	Facts
}

// Facts is what the enrichment sources say about a finding's CVE IDs, as
// the JSON outputs show it (the scan JSON and the server's API): the
// highest EPSS score, the CISA KEV entry, NVD's CWE IDs and the earliest
// publication.
type Facts struct {
	EPSS           *EPSS    `json:"epss,omitempty"`
	KnownExploited *KEV     `json:"known_exploited,omitempty"`
	CWEs           []string `json:"cwes,omitempty"`
	Published      string   `json:"published,omitempty"`
}

// FactsOf returns a finding's facts.
func FactsOf(f match.Scored) Facts {
	x := Facts{CWEs: f.CWEs}
	if e := f.EPSS; e != nil {
		x.EPSS = &EPSS{CVE: e.CVE, Score: e.EPSS, Percentile: e.Percentile}
	}
	if k := f.KEV; k != nil {
		x.KnownExploited = &KEV{CVE: k.CVE, Name: k.Name, DateAdded: k.DateAdded, DueDate: k.DueDate,
			Ransomware: strings.EqualFold(k.Ransomware, "Known"), RequiredAction: k.RequiredAction}
	}
	if !f.Published.IsZero() {
		x.Published = f.Published.UTC().Format(time.RFC3339)
	}
	return x
}

// jsonUpgrade is what to upgrade a vulnerable component to.
type jsonUpgrade struct {
	Version string   `json:"version,omitempty"` // nearest version fixing every fixable finding
	Step    string   `json:"step,omitempty"`    // patch, minor, major
	Fixes   int      `json:"fixes"`             // findings that version fixes
	Unfixed []string `json:"unfixed,omitempty"` // findings no known version fixes
	From    string   `json:"from"`              // advisories (fixed events) or published (upstream versions)
}

// EPSS is a finding's EPSS score (probability of exploitation in the next
// 30 days) and its percentile, both 0-1.
type EPSS struct {
	CVE        string  `json:"cve"`
	Score      float64 `json:"score"`
	Percentile float64 `json:"percentile"`
}

// KEV is a finding's entry in CISA's Known Exploited Vulnerabilities
// catalogue.
type KEV struct {
	CVE            string `json:"cve"`
	Name           string `json:"name,omitempty"`
	DateAdded      string `json:"date_added"`
	DueDate        string `json:"due_date,omitempty"`
	Ransomware     bool   `json:"ransomware"` // known to be used in ransomware campaigns
	RequiredAction string `json:"required_action,omitempty"`
}

type jsonSeverity struct {
	Score  float64 `json:"score"`
	Rating string  `json:"rating"`
	Type   string  `json:"type,omitempty"`
	Vector string  `json:"vector,omitempty"`
	Source string  `json:"source,omitempty"`
	// Record is the ID of the record the score was read from; Origin is
	// "record" (one of the finding's records), "alias" (another mirrored
	// record of its alias group) or "nvd".
	Record string `json:"record,omitempty"`
	Origin string `json:"origin,omitempty"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w io.Writer, results []match.ComponentResult, meta Meta) error {
	doc := jsonDoc{
		Schema:  SchemaV1,
		Tool:    jsonTool{Name: meta.Tool, Version: meta.Version},
		Inputs:  nonNil(meta.Inputs),
		Sources: nonNil(meta.Sources),
		Summary: Summarize(results),
	}
	if !finiteResults(results, doc.Summary) {
		// The reflecting encoder says what it cannot write.
		doc.Components = make([]jsonComponent, 0, len(results))
		for ri := range results {
			doc.Components = append(doc.Components, jsonComponentOf(&results[ri], meta.decision(ri)))
		}
		return jsonenc.WriteIndented(w, doc)
	}
	// A component at a time: the whole document is never held.
	return writeJSONDoc(w, &doc, len(results), func(ri int) jsonComponent { return jsonComponentOf(&results[ri], meta.decision(ri)) })
}

// jsonComponentOf is a result as the report shows it, with its decision
// when the scan has one.
func jsonComponentOf(r *match.ComponentResult, d *assess.Decision) jsonComponent {
	c := jsonComponent{
		PURL:      r.Input,
		Name:      r.Name,
		Version:   r.Version,
		Ecosystem: r.Package.Ecosystem,
		BOMRef:    r.BOMRef,
		Path:      r.Path,
		Findings:  make([]jsonFinding, 0, len(r.Findings)),
		Errors:    r.Errors,

		Relationship: r.Relationship,
	}
	if r.Package.PURL != "" {
		c.PURL = r.Package.PURL
	}
	if r.File != "" {
		c.Location = &jsonLocation{File: r.File, Line: r.Line}
	}
	if u := r.Upgrade; u != nil {
		c.Upgrade = &jsonUpgrade{Version: u.Version, Step: u.Step, Fixes: u.Fixes, Unfixed: u.Unfixed, From: u.From}
	}
	for fi, f := range r.Findings {
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
			Malicious:     f.Malicious,
			MaliciousID:   f.MaliciousID,
			Matched:       f.Matched,
			Facts:         FactsOf(f),
			Severity: jsonSeverity{
				Score:  f.Severity.Score,
				Rating: string(f.Severity.Rating),
				Type:   f.Severity.Type,
				Vector: f.Severity.Vector,
				Source: f.Severity.Source,
				Record: f.Severity.Record,
				Origin: f.Severity.Origin,
			},
		})
		if d != nil && fi < len(d.Findings) {
			c.Findings[len(c.Findings)-1].Assessment = toJSONAssessment(d.Findings[fi])
		}
	}
	if d != nil {
		jd := &jsonDecision{Effect: string(d.Effect), Reasons: []string{}, Message: d.Message()}
		for _, v := range d.Reasons {
			jd.Reasons = append(jd.Reasons, v.Finding.ID+": "+verdictLabel(v))
		}
		c.Decision = jd
	}
	return c
}

func toJSONAssessment(v assess.Verdict) *jsonAssessment {
	a := v.Assessment
	if a == nil {
		ja := &jsonAssessment{Status: "unassessed", Effect: string(v.Effect)}
		if v.Malicious {
			ja.Builtin = "malicious"
		}
		return ja
	}
	ja := &jsonAssessment{Status: "assessed", Effect: string(a.Effect), Type: a.Type, AssessedID: a.VulnID, Scope: a.Scope,
		By: a.By, Comment: a.Comment, Auto: a.Auto, At: a.At.UTC().Format(time.RFC3339), MalwareOverride: a.MalwareOverride}
	if !a.Expires.IsZero() {
		ja.Expires = a.Expires.UTC().Format(time.RFC3339)
	}
	return ja
}
