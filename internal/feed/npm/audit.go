package npm

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/severity"
)

// npm audit's endpoints, below the registry root.
const (
	auditBulkPath  = "-/npm/v1/security/advisories/bulk"
	auditQuickPath = "-/npm/v1/security/audits/quick"
)

// Bounds of one audit request: they are anonymous and decoded in memory.
const (
	maxAuditBody     = 8 << 20  // compressed
	maxAuditDecoded  = 32 << 20 // decoded
	maxAuditVersions = 20_000   // package versions per request
)

// advisory is one entry of npm's bulk advisory answer, the fields npm's
// audit reads (@npmcli/metavuln-calculator's Advisory).
type advisory struct {
	ID                 uint32   `json:"id"`
	URL                string   `json:"url"`
	Title              string   `json:"title"`
	Severity           string   `json:"severity"`
	VulnerableVersions string   `json:"vulnerable_versions"`
	CWE                []string `json:"cwe"`
	CVSS               cvss     `json:"cvss"`
	// ModuleName and Findings are for the quick audit format.
	ModuleName string          `json:"module_name,omitempty"`
	Findings   []quickFindings `json:"findings,omitempty"`
}

type cvss struct {
	Score        float64 `json:"score"`
	VectorString string  `json:"vectorString"`
}

type quickFindings struct {
	Version string   `json:"version"`
	Paths   []string `json:"paths"`
}

// readAuditBody reads a (possibly gzip-encoded) JSON request body within
// the bounds.
func readAuditBody(r *http.Request, v any) error {
	var body io.Reader = http.MaxBytesReader(nil, r.Body, maxAuditBody)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return fmt.Errorf("gzip body: %v", err)
		}
		defer zr.Close()
		body = zr
	}
	b, err := io.ReadAll(io.LimitReader(body, maxAuditDecoded+1))
	if err != nil {
		return fmt.Errorf("reading the body: %v", err)
	}
	if len(b) > maxAuditDecoded {
		return fmt.Errorf("body larger than %d bytes", maxAuditDecoded)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("body: %v", err)
	}
	return nil
}

func auditRequestError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	b, _ := json.Marshal(map[string]string{"error": "vulngate feed: invalid audit request: " + err.Error()})
	w.Write(b)
}

// auditBulk answers npm audit's bulk request {"name": ["1.0.0", ...]}
// with {"name": [advisory, ...]}.
func (h *Handler) auditBulk(w http.ResponseWriter, r *http.Request, fr *feed.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	var req map[string][]string
	if err := readAuditBody(r, &req); err != nil {
		auditRequestError(w, err)
		return
	}
	out, err := h.audit(r.Context(), fr, req)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleJSON)
		return
	}
	res := map[string][]advisory{}
	for name, byID := range out {
		for _, a := range byID {
			a.Findings = nil
			res[name] = append(res[name], *a)
		}
		sort.Slice(res[name], func(i, j int) bool { return res[name][i].ID < res[name][j].ID })
	}
	writeJSON(w, res)
}

// quickNode is a node of the dependency tree the quick audit sends.
type quickNode struct {
	Version      string               `json:"version"`
	Dev          bool                 `json:"dev"`
	Dependencies map[string]quickNode `json:"dependencies"`
}

// auditQuick answers the older quick audit: the request is the
// dependency tree, the answer advisories keyed by ID with the versions and
// paths found, and counts by severity.
func (h *Handler) auditQuick(w http.ResponseWriter, r *http.Request, fr *feed.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	var root quickNode
	if err := readAuditBody(r, &root); err != nil {
		auditRequestError(w, err)
		return
	}
	versions := map[string][]string{}
	paths := map[string][]string{} // name@version -> paths
	n := 0
	var walk func(deps map[string]quickNode, prefix string, depth int)
	walk = func(deps map[string]quickNode, prefix string, depth int) {
		for name, d := range deps {
			if n >= maxAuditVersions || depth > 64 {
				return
			}
			n++
			p := prefix + name
			k := name + "@" + d.Version
			if _, ok := paths[k]; !ok {
				versions[name] = append(versions[name], d.Version)
			}
			if len(paths[k]) < 10 {
				paths[k] = append(paths[k], p)
			}
			walk(d.Dependencies, p+">", depth+1)
		}
	}
	walk(root.Dependencies, "", 0)
	out, err := h.audit(r.Context(), fr, versions)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleJSON)
		return
	}
	counts := map[string]int{"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0}
	advs := map[string]advisory{}
	for name, byID := range out {
		for _, a := range byID {
			for i := range a.Findings {
				a.Findings[i].Paths = paths[name+"@"+a.Findings[i].Version]
			}
			a.ModuleName = name
			advs[fmt.Sprint(a.ID)] = *a
			counts[a.Severity] += len(a.Findings)
		}
	}
	writeJSON(w, map[string]any{
		"actions": []any{}, "advisories": advs, "muted": []any{},
		"metadata": map[string]any{"vulnerabilities": counts, "dependencies": n, "devDependencies": 0,
			"optionalDependencies": 0, "totalDependencies": n},
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// audit decides every requested version of every package with the gate
// (nothing is recorded) and returns, per package, the advisories of the
// findings the feed's assessments do not let through (an assessment whose
// effect is allow, e.g. Ignore, hides a finding; unassessed ones are
// reported whatever the policy), keyed by finding ID.
func (h *Handler) audit(ctx context.Context, fr *feed.Request, req map[string][]string) (map[string]map[string]*advisory, error) {
	var pkgs []purl.Package
	for name, vs := range req {
		if !ValidName(name) {
			continue
		}
		for _, v := range vs {
			if len(pkgs) >= maxAuditVersions {
				break
			}
			if !validVersion(v) {
				continue
			}
			if p, err := feed.PackageFor(feed.NPM, name, v); err == nil {
				pkgs = append(pkgs, p)
			}
		}
	}
	out := map[string]map[string]*advisory{}
	const chunk = 500
	for i := 0; i < len(pkgs); i += chunk {
		ds, err := h.env.Gate.Evaluate(ctx, fr.Feed, pkgs[i:min(i+chunk, len(pkgs))])
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			name := npmName(d.Pkg)
			for _, v := range d.Findings {
				if v.Effect == assess.Allow && v.Assessment != nil {
					continue // assessed as allowed in this feed's scope
				}
				s, ok := d.Details[v.Finding.ID]
				if !ok {
					continue
				}
				if out[name] == nil {
					out[name] = map[string]*advisory{}
				}
				a := out[name][s.ID]
				if a == nil {
					a = toAdvisory(name, s, v)
					out[name][s.ID] = a
				}
				a.Findings = append(a.Findings, quickFindings{Version: d.Pkg.Version})
			}
		}
	}
	return out, nil
}

// npmName is the package's npm name ("@scope/name").
func npmName(p purl.Package) string { return p.Name }

// toAdvisory converts a finding of package name into npm's shape.
func toAdvisory(name string, s match.Scored, v assess.Verdict) *advisory {
	hs := fnv.New32a()
	hs.Write([]byte(s.ID))
	a := &advisory{ID: hs.Sum32(), URL: "https://osv.dev/vulnerability/" + s.Records[0].ID, Title: s.Summary,
		Severity: npmSeverity(s, v), VulnerableVersions: vulnerableRange(name, s.Records), CWE: cwes(s.Records),
		CVSS: cvss{Score: s.Severity.Score, VectorString: s.Severity.Vector}}
	if a.Title == "" {
		a.Title = s.ID
	}
	if s.Malicious {
		a.Title = "known malicious package (" + s.MaliciousID + "): " + a.Title
	}
	if len(s.IDs) > 1 {
		a.Title += " (" + strings.Join(s.IDs, ", ") + ")"
	}
	if a.CWE == nil {
		a.CWE = []string{}
	}
	return a
}

// npmSeverity maps a finding to npm's severities (info, low, moderate,
// high, critical): known malware is critical; a finding the feed blocks
// is at least high; an unknown rating is moderate.
func npmSeverity(s match.Scored, v assess.Verdict) string {
	if s.Malicious {
		return "critical"
	}
	sev := "moderate"
	switch s.Severity.Rating {
	case severity.Critical:
		sev = "critical"
	case severity.High:
		sev = "high"
	case severity.Low:
		sev = "low"
	case severity.None:
		sev = "info"
	}
	if v.Effect == assess.Block && sev != "critical" {
		sev = "high"
	}
	return sev
}

// vulnerableRange writes the records' affected versions of name as an npm
// semver range: each introduced/fixed (or last_affected) interval of the
// SEMVER and ECOSYSTEM ranges, and each listed version, joined by "||".
func vulnerableRange(name string, recs []*osv.Vulnerability) string {
	var parts []string
	for _, v := range recs {
		for _, a := range v.Affected {
			if osv.BaseEcosystem(a.Package.Ecosystem) != "npm" || a.Package.Name != name {
				continue
			}
			for _, r := range a.Ranges {
				if r.Type != "SEMVER" && r.Type != "ECOSYSTEM" {
					continue
				}
				start := ""
				for _, e := range r.Events {
					switch {
					case e.Introduced != "":
						start = ">=" + e.Introduced
						if e.Introduced == "0" {
							start = ">=0.0.0"
						}
					case e.Fixed != "" && start != "":
						parts = append(parts, start+" <"+e.Fixed)
						start = ""
					case e.LastAffected != "" && start != "":
						parts = append(parts, start+" <="+e.LastAffected)
						start = ""
					}
				}
				if start != "" {
					parts = append(parts, start)
				}
			}
			for _, ver := range a.Versions {
				parts = append(parts, "="+ver)
			}
		}
	}
	parts = slices.Compact(parts)
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, " || ")
}

// cwes reads the records' CWE IDs (GitHub's database_specific.cwe_ids).
func cwes(recs []*osv.Vulnerability) []string {
	var out []string
	for _, v := range recs {
		var ds struct {
			CWEIDs []string `json:"cwe_ids"`
		}
		if json.Unmarshal(v.DatabaseSpecific, &ds) == nil {
			for _, c := range ds.CWEIDs {
				if !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}
