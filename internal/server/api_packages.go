package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/inventory"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/source/ossindex"
)

// packageRoutes: one package's findings and decision, and scans of PURL
// lists and of uploaded SBOMs, lockfiles and OS package databases.
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
// the store (ossindex.DefaultCacheTTL). Lookups made for a request (scans,
// package pages, feeds) give up after Options.OSSIndexDeadline: the
// components not answered by then are reported "not checked by OSS
// Index" rather than holding the request; jobs pass background.
func (s *Server) ossIndexSource(ctx context.Context) (*ossindex.Source, error) {
	return s.ossIndexSourceWithin(ctx, s.opts.OSSIndexDeadline)
}

// background is the deadline of OSS Index lookups made by jobs.
const background = 0

func (s *Server) ossIndexSourceWithin(ctx context.Context, deadline time.Duration) (*ossindex.Source, error) {
	v, err := s.ossIndexSettings(ctx)
	if err != nil || !v.Enabled || v.Token == "" {
		return nil, err
	}
	return ossindex.New(ossindex.Options{
		Deadline:   deadline,
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
	// Matched says why each record matched (range and events, or the
	// versions-list entry).
	Matched []string `json:"matched"`
	// SeverityRecord is the record the score came from and
	// SeverityOrigin how it relates to the finding (record, alias, nvd).
	SeverityRecord string `json:"severity_record,omitempty"`
	SeverityOrigin string `json:"severity_origin,omitempty"`
	// EPSS, known exploited (KEV), CWEs and publication (enrichment).
	report.Facts
}

// upgradeOut is what to upgrade the package to (match.Upgrade).
type upgradeOut struct {
	Version string   `json:"version,omitempty"`
	Step    string   `json:"step,omitempty"`
	Fixes   int      `json:"fixes"`
	Unfixed []string `json:"unfixed"`
	From    string   `json:"from"`
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
	Upgrade   *upgradeOut  `json:"upgrade"`
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
	if u := c.Upgrade; u != nil {
		out.Upgrade = &upgradeOut{Version: u.Version, Step: u.Step, Fixes: u.Fixes, Unfixed: nonNilS(u.Unfixed), From: u.From}
	}
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
			Malicious: f.Malicious, MaliciousID: f.MaliciousID, Matched: nonNilS(f.Matched),
			SeverityRecord: f.Severity.Record, SeverityOrigin: f.Severity.Origin, Facts: report.FactsOf(f)}
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

// maxScanComponents bounds what one uploaded file may hold.
const maxScanComponents = 50000

// apiScan scans a PURL list (JSON {"purls": [...]}, or text/plain with
// one PURL per line) or any file vulngate reads (an SBOM, a lockfile, a
// manifest, an OS package database: the body, read through
// internal/inventory, with ?name=FILENAME to recognise it by name and
// ?type=KIND to force its kind). The answer is the vulngate.scan/v1
// document.
func (s *Server) apiScan(r *http.Request) (any, error) {
	q := r.URL.Query()
	name, kind := strings.TrimSpace(q.Get("name")), strings.TrimSpace(q.Get("type"))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, errStatus(http.StatusBadRequest, "request body: %v", err)
	}
	ct := r.Header.Get("Content-Type")
	var comps []match.Component
	input := "api"
	switch {
	case name == "" && kind == "" && strings.HasPrefix(ct, "text/plain"):
		comps, err = purlLines(body)
	case name == "" && kind == "" && isPURLRequest(body):
		var req scanRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, errStatus(http.StatusBadRequest, "request body: %v", err)
		}
		comps, err = purlComponents(req.PURLs)
	default:
		var res *inventory.Result
		res, err = inventory.ReadBytes(r.Context(), path.Base(name), body, inventory.Options{Kind: kind})
		if err != nil {
			return nil, errStatus(http.StatusBadRequest, "%v", err)
		}
		if len(res.Components) > maxScanComponents {
			return nil, errStatus(http.StatusRequestEntityTooLarge, "the file holds %d components, at most %d per request", len(res.Components), maxScanComponents)
		}
		comps = inventory.ToScan(res.Components)
		if name != "" {
			input = path.Base(name)
		}
	}
	if err != nil {
		return nil, err
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
	if err := report.Write(&buf, report.JSON, res, report.Meta{Tool: "vulngate", Version: s.opts.Version, Inputs: []string{input}, Sources: sources}); err != nil {
		return nil, err
	}
	return answer{raw: buf.Bytes(), contentType: "application/json"}, nil
}

// isPURLRequest reports whether a JSON body is the {"purls": [...]} form.
func isPURLRequest(body []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil {
		return !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) // not JSON at all: decode reports it
	}
	_, ok := probe["purls"]
	return ok || len(probe) == 0
}

// purlLines reads a text/plain PURL list.
func purlLines(body []byte) ([]match.Component, error) {
	var purls []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			purls = append(purls, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errStatus(http.StatusBadRequest, "request body: %v", err)
	}
	return purlComponents(purls)
}

// purlComponents validates the PURLs of a scan request.
func purlComponents(purls []string) ([]match.Component, error) {
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
	return comps, nil
}
