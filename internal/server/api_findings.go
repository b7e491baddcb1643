package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// findingRoutes: the recorded open findings across scopes.
func (s *Server) findingRoutes() []route {
	return []route{
		s.api("GET /api/v1/findings", auth.Viewer, s.apiFindings),
	}
}

type findingRecordJSON struct {
	ID         int64           `json:"id"`
	Scope      string          `json:"scope"`
	PURL       string          `json:"purl"`
	Ecosystem  string          `json:"ecosystem"`
	Name       string          `json:"name"`
	Version    string          `json:"version"`
	VulnID     string          `json:"vuln_id"`
	IDs        []string        `json:"ids"`
	Severity   string          `json:"severity"`
	Score      *float64        `json:"score,omitempty"`
	Summary    string          `json:"summary"`
	Sources    []string        `json:"sources"`
	FirstSeen  time.Time       `json:"first_seen"`
	LastSeen   time.Time       `json:"last_seen"`
	Assessment *findingAssessJ `json:"assessment"`
	// Effect is the assessment type's effect, or the scope's policy for
	// unassessed vulnerabilities.
	Effect string `json:"effect"`
}

type findingAssessJ struct {
	Type   string `json:"type"`
	Effect string `json:"effect"`
}

type findingPage = listPage[findingRecordJSON]

// assessmentFilter validates an assessment filter value: a type name (any
// letter case), "unassessed" or "assessed". A bad value is a 400 error. It
// also returns the assessment types when it read them (a type name), for
// the listing to use instead of reading them again.
func (s *Server) assessmentFilter(ctx context.Context, v string) (string, []assess.Type, error) {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "", "any":
		return "", nil, nil
	case store.AssessedNone, store.AssessedAny:
		return strings.ToLower(v), nil, nil
	}
	ts, err := s.assess.Types(ctx)
	if err != nil {
		return "", nil, err
	}
	t, ok := assess.FindType(ts, v)
	if !ok {
		names := []string{store.AssessedNone, store.AssessedAny}
		for _, t := range ts {
			names = append(names, t.Name)
		}
		return "", ts, errStatus(http.StatusBadRequest, "assessment %q: want one of %s", v, strings.Join(names, ", "))
	}
	return t.Name, ts, nil
}

// findingScopes reads scope (repeatable), project and feed parameters.
func findingScopes(r *http.Request) ([]string, error) {
	q := r.URL.Query()
	var out []string
	add := func(raw string) error {
		sc, err := assess.ParseScope(raw)
		if err != nil {
			return err
		}
		out = append(out, sc)
		return nil
	}
	for _, v := range multi(q, "scope") {
		if err := add(v); err != nil {
			return nil, fmt.Errorf("scope: %w", err)
		}
	}
	for _, k := range []string{"project", "feed"} {
		for _, v := range multi(q, k) {
			if err := add(k + ":" + v); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return out, nil
}

// parseFindingFilter reads a findings list's filter; it also returns the
// assessment types when validating the filter read them (else nil).
func (s *Server) parseFindingFilter(r *http.Request) (store.FindingPageFilter, []assess.Type, error) {
	base, err := parseFilter(r) // severity, source, ecosystem, q, offset, limit
	if err != nil {
		return store.FindingPageFilter{}, nil, badRequest(err)
	}
	f := store.FindingPageFilter{Ratings: base.Severities, Sources: base.Sources, Ecosystems: base.Ecosystems, Query: base.Query,
		Offset: base.Offset, Limit: base.Limit, Now: s.assess.Now().UTC()}
	if f.Scopes, err = findingScopes(r); err != nil {
		return f, nil, badRequest(err)
	}
	var ts []assess.Type
	if f.Assessment, ts, err = s.assessmentFilter(r.Context(), r.URL.Query().Get("assessment")); err != nil {
		return f, ts, err
	}
	return f, ts, nil
}

// listFindings is one page of open findings. It reads the assessment
// types after the page when a row names one that ts (as
// parseFindingFilter read them before the page, or nil) lacks, and
// returns the types it has (nil when none were given or needed: a page of
// unassessed findings reads none; they were 3.5% of its CPU). Types read
// after the page hold every type its rows name (a type in use cannot be
// deleted); given ones may lack a type created since: they are read again
// then.
func (s *Server) listFindings(ctx context.Context, f store.FindingPageFilter, ts []assess.Type) (findingPage, []assess.Type, error) {
	rows, total, err := s.st.ListOpenFindings(ctx, f)
	if err != nil {
		return findingPage{}, nil, err
	}
	fresh := false // whether ts were read after the page
	ps, err := s.assess.Policies(ctx)
	if err != nil {
		return findingPage{}, nil, err
	}
	page := findingPage{Total: total, Offset: f.Offset, Limit: f.Limit, Items: make([]findingRecordJSON, 0, len(rows))}
	for _, x := range rows {
		o := findingRecordJSON{ID: x.ID, Scope: x.Scope, PURL: x.PURL, Ecosystem: x.Ecosystem, Name: x.Name, Version: x.Version, VulnID: x.VulnID,
			IDs: nonNilS(x.IDs), Severity: x.Rating, Summary: x.Summary, Sources: []string{}, FirstSeen: x.FirstSeen, LastSeen: x.LastSeen}
		if x.Score >= 0 {
			sc := float64(x.Score) / 10
			o.Score = &sc
		}
		for _, src := range x.Sources {
			if src.EndedAt.IsZero() {
				o.Sources = append(o.Sources, src.Source)
			}
		}
		o.Effect = string(ps.For(x.Scope))
		if x.Assessment != "" {
			t, ok := assess.FindType(ts, x.Assessment)
			if !ok && !fresh {
				if ts, err = s.assess.Types(ctx); err != nil {
					return findingPage{}, nil, err
				}
				fresh = true
				t, ok = assess.FindType(ts, x.Assessment)
			}
			if ok {
				o.Assessment = &findingAssessJ{Type: t.Name, Effect: string(t.Effect)}
				o.Effect = string(t.Effect)
			}
		}
		page.Items = append(page.Items, o)
	}
	return page, ts, nil
}

func (s *Server) apiFindings(r *http.Request) (any, error) {
	f, ts, err := s.parseFindingFilter(r)
	if err != nil {
		return nil, err
	}
	page, _, err := s.listFindings(r.Context(), f, ts)
	return page, err
}
