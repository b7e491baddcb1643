package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/store"
)

// advisoryRoutes: counts, the advisory list and one advisory.
func (s *Server) advisoryRoutes() []route {
	return []route{
		s.api("GET /api/v1/stats", auth.Viewer, s.apiStats),
		s.api("GET /api/v1/advisories", auth.Viewer, s.apiAdvisories),
		s.api("GET /api/v1/advisories/{id}", auth.Viewer, s.apiAdvisory),
	}
}

type statsOut struct {
	Advisories  int            `json:"advisories"`
	BySeverity  map[string]int `json:"by_severity"`
	ByEcosystem map[string]int `json:"by_ecosystem"`
	BySource    map[string]int `json:"by_source"`
	Partitions  []partitionOut `json:"partitions"`
}

type partitionOut struct {
	Name      string    `json:"name"`
	Source    string    `json:"source"`
	Records   int       `json:"records"`
	Withdrawn int       `json:"withdrawn"`
	LastSync  time.Time `json:"last_sync,omitzero"`
}

func (s *Server) stats(r *http.Request) (statsOut, error) {
	out := statsOut{BySeverity: map[string]int{}, ByEcosystem: map[string]int{}, BySource: map[string]int{}, Partitions: []partitionOut{}}
	for col, m := range map[string]map[string]int{"severity": out.BySeverity, "ecosystem": out.ByEcosystem, "source": out.BySource} {
		counts, err := s.st.CountSummaries(r.Context(), col)
		if err != nil {
			return out, err
		}
		for _, c := range counts {
			m[c.Key] = c.Count
			if col == "severity" {
				out.Advisories += c.Count
			}
		}
	}
	parts, err := s.st.Partitions(r.Context())
	if err != nil {
		return out, err
	}
	for _, p := range parts {
		out.Partitions = append(out.Partitions, partitionOut{Name: p.Name, Source: p.Source, Records: p.Records, Withdrawn: p.Withdrawn, LastSync: p.LastSync})
	}
	return out, nil
}

func (s *Server) apiStats(r *http.Request) (any, error) { return s.stats(r) }

type advisoryOut struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Summary  string   `json:"summary"`
	Severity string   `json:"severity"`
	Score    float64  `json:"score"`
	// SeverityFrom names the record (or NVD's CVE) the severity came
	// from when the advisory has no CVSS vector of its own.
	SeverityFrom string    `json:"severity_from,omitempty"`
	Source       string    `json:"source"`
	Ecosystem    string    `json:"ecosystem"`
	Partition    string    `json:"partition"`
	Packages     []string  `json:"packages"`
	Modified     time.Time `json:"modified"`
	Published    time.Time `json:"published,omitzero"`
	Withdrawn    bool      `json:"withdrawn"`
	// Assessment is the assessment that applies in the listing's scope
	// (global unless a scope was asked for), nil when unassessed.
	Assessment *findingAssessJ `json:"assessment"`
}

type advisoryPage = listPage[advisoryOut]

// severities are the index's categories, most severe first: known
// malicious packages above CRITICAL.
var severities = []string{catalog.Malicious, "CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE", "UNKNOWN"}

// parseFilter reads list filters from a query: severity, source,
// ecosystem (each repeatable or comma-separated), q, withdrawn, offset,
// limit (at most maxPage).
func parseFilter(r *http.Request) (store.SummaryFilter, error) {
	q := r.URL.Query()
	f := store.SummaryFilter{Sources: multi(q, "source"), Ecosystems: multi(q, "ecosystem"), Query: q.Get("q")}
	for _, sv := range multi(q, "severity") {
		up := strings.ToUpper(sv)
		ok := false
		for _, k := range severities {
			ok = ok || k == up
		}
		if !ok {
			return f, fmt.Errorf("severity %q: want one of %s", sv, strings.ToLower(strings.Join(severities, ", ")))
		}
		f.Severities = append(f.Severities, up)
	}
	var err error
	if f.Offset, f.Limit, err = pageParams(q, 50); err != nil {
		return f, err
	}
	if v := q.Get("withdrawn"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, fmt.Errorf("withdrawn %q: want true or false", v)
		}
		f.Withdrawn = b
	}
	return f, nil
}

// advisoryFilter reads parseFilter's parameters and the assessment ones:
// assessment (a type name, "unassessed" or "assessed") and scope
// ("project:NAME" or "feed:NAME": advisories found there, assessed in that
// scope or globally; "global" or none: all advisories, global assessments).
// Bad parameters are 400 errors.
func (s *Server) advisoryFilter(r *http.Request) (store.SummaryFilter, error) {
	f, err := parseFilter(r)
	if err != nil {
		return f, badRequest(err)
	}
	f.Now = s.assess.Now().UTC()
	if v := strings.TrimSpace(r.URL.Query().Get("scope")); v != "" {
		sc, err := assess.ParseScope(v)
		if err != nil {
			return f, badRequest(fmt.Errorf("scope: %w", err))
		}
		f.AssessScope = sc
		if sc != assess.Global {
			f.InScope = sc
		}
	}
	if f.Assessment, _, err = s.assessmentFilter(r.Context(), r.URL.Query().Get("assessment")); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) listAdvisories(r *http.Request, f store.SummaryFilter) (advisoryPage, error) {
	items, total, err := s.st.ListSummaries(r.Context(), f)
	if err != nil {
		return advisoryPage{}, err
	}
	idx, err := s.assess.Index(r.Context(), f.AssessScope)
	if err != nil {
		return advisoryPage{}, err
	}
	now := s.assess.Now()
	page := advisoryPage{Total: total, Offset: f.Offset, Limit: f.Limit, Items: make([]advisoryOut, 0, len(items))}
	for _, a := range items {
		o := advisoryOut{ID: a.ID, Aliases: a.Aliases, Summary: a.Summary, Severity: a.Severity, Score: a.Score, SeverityFrom: a.SeverityFrom,
			Source: a.Source, Ecosystem: a.Ecosystem, Partition: a.Partition, Packages: a.Packages, Modified: a.Modified, Published: a.Published, Withdrawn: a.Withdrawn}
		if as, ok := idx.Lookup(assess.Finding{ID: a.ID, IDs: append([]string{a.ID}, a.Aliases...)}, now); ok {
			o.Assessment = &findingAssessJ{Type: as.Type, Effect: string(as.Effect)}
		}
		page.Items = append(page.Items, o)
	}
	return page, nil
}

func (s *Server) apiAdvisories(r *http.Request) (any, error) {
	f, err := s.advisoryFilter(r)
	if err != nil {
		return nil, err
	}
	return s.listAdvisories(r, f)
}

// advisoryDetail reads an advisory by ID or alias; a missing one is a 404
// error.
func (s *Server) advisoryDetail(r *http.Request, id string) (catalog.Detail, error) {
	advs, err := s.st.AdvisoriesByID(r.Context(), id)
	if err != nil {
		return catalog.Detail{}, err
	}
	d, ok := catalog.BuildDetail(id, advs)
	if !ok {
		return d, errStatus(http.StatusNotFound, "no advisory has the ID or alias %q", id)
	}
	return d, catalog.Enrich(r.Context(), s.st, &d)
}

func (s *Server) apiAdvisory(r *http.Request) (any, error) {
	return s.advisoryDetail(r, r.PathValue("id"))
}
