package server

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/source/ossindex"
)

// packageRoutes: one package's findings and decision, and scans of PURL
// lists.
func (s *Server) packageRoutes() []route {
	return []route{
		s.api("GET /api/v1/packages", auth.Viewer, s.apiPackage),
		s.api("POST /api/v1/scan", auth.Viewer, s.apiScan),
	}
}

// scanner returns a scanner over the store and the source labels present.
func (s *Server) scanner(r *http.Request) (*match.Scanner, []string, error) {
	parts, err := s.st.Partitions(r.Context())
	if err != nil {
		return nil, nil, err
	}
	covered := map[string]bool{}
	var sources []string
	seen := map[string]bool{}
	for _, p := range parts {
		covered[osv.BaseEcosystem(p.Name)] = true
		if !seen[p.Source] {
			seen[p.Source] = true
			sources = append(sources, p.Source)
		}
	}
	sc := match.NewScanner(s.st, func(eco string) bool { return covered[eco] })
	oi, err := s.ossIndexSource(r.Context())
	if err != nil {
		return nil, nil, err
	}
	if oi != nil {
		sc.WithSources(true, oi)
		sources = append(sources, oi.Name())
	}
	return sc, sources, nil
}

// ossIndexSource returns the OSS Index component source when it is
// enabled in the settings with a token, else nil. Answers are cached in
// the store (ossindex.DefaultCacheTTL).
func (s *Server) ossIndexSource(ctx context.Context) (*ossindex.Source, error) {
	v, err := s.ossIndexSettings(ctx)
	if err != nil || !v.Enabled || v.Token == "" {
		return nil, err
	}
	return ossindex.New(ossindex.Options{
		BaseURL:    v.BaseURL,
		Username:   v.Username,
		Token:      ossindex.Secret(v.Token),
		AuthHint:   "token from Administration > Vulnerability sources",
		Cache:      s.st,
		HTTPClient: s.opts.HTTPClient,
		UserAgent:  "vulngate/" + s.opts.Version,
		Logger:     s.log,
	})
}

type findingOut struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Summary  string   `json:"summary"`
	Severity string   `json:"severity"`
	Score    float64  `json:"score"`
	Vector   string   `json:"vector,omitempty"`
	Fixed    []string `json:"fixed_versions"`
	Sources  []string `json:"sources"`
	// Assessment applies in the package's scope; nil when unassessed.
	Assessment *assessmentJSON `json:"assessment"`
	// Effect is the assessment's effect, or the scope's policy for
	// unassessed vulnerabilities.
	Effect string `json:"effect"`
	// Malicious marks a known malicious package (Severity is then
	// "MALICIOUS", a category above CRITICAL); MaliciousID is the record
	// that says so. Builtin is "malicious" when that, not an assessment,
	// decided the effect (block).
	Malicious   bool   `json:"malicious"`
	MaliciousID string `json:"malicious_id,omitempty"`
	Builtin     string `json:"builtin,omitempty"`
}

type packageOut struct {
	PURL      string       `json:"purl"`
	Ecosystem string       `json:"ecosystem"`
	Name      string       `json:"name"`
	Version   string       `json:"version"`
	Scope     string       `json:"scope"`
	Findings  []findingOut `json:"findings"`
	Errors    []string     `json:"errors"`
	Decision  decisionOut  `json:"decision"`
}

// decisionOut is whether the package may be used in the scope: allow,
// warn or block, with the findings that made it so.
type decisionOut struct {
	Effect  string   `json:"effect"`
	Message string   `json:"message"`
	Reasons []string `json:"reasons"`
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// packageFindings scans one package and decides it in scope (validated
// by the caller; "" is global).
func (s *Server) packageFindings(r *http.Request, p, scope string) (packageOut, error) {
	if scope == "" {
		scope = assess.Global
	}
	sc, _, err := s.scanner(r)
	if err != nil {
		return packageOut{}, err
	}
	res, err := sc.Scan(r.Context(), []match.Component{{Input: p}})
	if err != nil {
		return packageOut{}, err
	}
	c := res[0]
	out := packageOut{PURL: p, Ecosystem: c.Package.Ecosystem, Name: c.Package.Name, Version: c.Package.Version, Scope: scope, Findings: []findingOut{}, Errors: nonNilS(c.Errors)}
	ds, err := s.assess.Evaluate(r.Context(), scope, res)
	if err != nil {
		return packageOut{}, err
	}
	var d assess.Decision
	if len(ds) > 0 {
		d = ds[0]
	}
	out.Decision = decisionOut{Effect: string(d.Effect), Message: d.Message(), Reasons: []string{}}
	if out.Decision.Effect == "" {
		out.Decision.Effect = string(assess.Allow)
	}
	for _, v := range d.Reasons {
		out.Decision.Reasons = append(out.Decision.Reasons, v.Finding.ID)
	}
	for i, f := range c.Findings {
		var aliases []string
		for _, id := range f.IDs {
			if id != f.ID {
				aliases = append(aliases, id)
			}
		}
		fo := findingOut{ID: f.ID, Aliases: nonNilS(aliases), Summary: f.Summary, Severity: report.SeverityLabel(f),
			Score: f.Severity.Score, Vector: f.Severity.Vector, Fixed: nonNilS(f.Fixed), Sources: nonNilS(f.Sources),
			Malicious: f.Malicious, MaliciousID: f.MaliciousID}
		if i < len(d.Findings) {
			v := d.Findings[i]
			fo.Effect = string(v.Effect)
			if v.Malicious {
				fo.Builtin = "malicious"
			}
			if v.Assessment != nil {
				a := assessmentOut(*v.Assessment)
				fo.Assessment = &a
			}
		}
		out.Findings = append(out.Findings, fo)
	}
	return out, nil
}

func (s *Server) apiPackage(r *http.Request) (any, error) {
	p := strings.TrimSpace(r.URL.Query().Get("purl"))
	if !strings.HasPrefix(p, "pkg:") {
		return nil, errStatus(http.StatusBadRequest, "purl: give a package URL such as pkg:pypi/django@3.2.0")
	}
	scope, err := assess.ParseScope(strings.TrimSpace(r.URL.Query().Get("scope")))
	if err != nil {
		return nil, errStatus(http.StatusBadRequest, "scope: %v", err)
	}
	return s.packageFindings(r, p, scope)
}

type scanRequest struct {
	PURLs []string `json:"purls"`
}

const maxScanPURLs = 10000

// apiScan scans a PURL list: JSON {"purls": [...]} or text/plain with one
// PURL per line. The answer is the vulngate.scan/v1 document.
func (s *Server) apiScan(r *http.Request) (any, error) {
	var purls []string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				purls = append(purls, l)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, errStatus(http.StatusBadRequest, "request body: %v", err)
		}
	} else {
		var req scanRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		purls = req.PURLs
	}
	if len(purls) == 0 {
		return nil, errStatus(http.StatusBadRequest, "purls: give at least one package URL")
	}
	if len(purls) > maxScanPURLs {
		return nil, errStatus(http.StatusRequestEntityTooLarge, "purls: at most %d per request, got %d", maxScanPURLs, len(purls))
	}
	comps := make([]match.Component, 0, len(purls))
	for i, p := range purls {
		if !strings.HasPrefix(p, "pkg:") {
			return nil, errStatus(http.StatusBadRequest, "purls[%d] %q: not a package URL (must start with \"pkg:\")", i, p)
		}
		comps = append(comps, match.Component{Input: p})
	}
	sc, sources, err := s.scanner(r)
	if err != nil {
		return nil, err
	}
	res, err := sc.Scan(r.Context(), comps)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, report.JSON, res, report.Meta{Tool: "vulngate", Version: s.opts.Version, Inputs: []string{"api"}, Sources: sources}); err != nil {
		return nil, err
	}
	return answer{raw: buf.Bytes(), contentType: "application/json"}, nil
}
