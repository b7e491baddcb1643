package server

// Who may assess is decided here: admins always, assessors with an assess
// grant covering the scope, viewers never (see auth.Principal.CanAssess).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// assessmentRoutes: assessments (single, bulk, clear, list, history).
func (s *Server) assessmentRoutes() []route {
	return []route{
		s.api("GET /api/v1/assessments", auth.Viewer, s.apiAssessments),
		s.api("POST /api/v1/assessments", "", s.apiAssess).assessing(),
		s.api("POST /api/v1/assessments/bulk", "", s.apiAssessBulk).assessing(),
		s.api("DELETE /api/v1/assessments/{id}", "", s.apiClearAssessment).assessing(),
		s.api("GET /api/v1/assessments/{id}/history", auth.Viewer, s.apiHistory),
	}
}

// mayAssess refuses (403) unless the caller may assess in scope.
func mayAssess(r *http.Request, scope string) error {
	if principal(r).CanAssess(scope) {
		return nil
	}
	return errStatus(http.StatusForbidden, "you may not assess in scope %s: this needs the admin role or an assess grant for that scope (or \"*\")", scope)
}

// mayAssessSomewhere reports whether p may assess in some scope.
func mayAssessSomewhere(p *auth.Principal) bool {
	if p.Is(auth.Admin) {
		return true
	}
	for _, g := range p.Grants {
		if g.Permission == auth.PermAssess {
			return true
		}
	}
	return false
}

type assessmentJSON struct {
	VulnID  string    `json:"vuln_id"`
	Scope   string    `json:"scope"`
	Type    string    `json:"type"`
	Effect  string    `json:"effect"`
	Comment string    `json:"comment"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires,omitzero"`
	Auto    bool      `json:"auto"`
	// MalwareOverride marks an admin's scoped assessment letting a known
	// malicious package through.
	MalwareOverride bool `json:"malware_override,omitempty"`
}

func assessmentOut(a assess.Assessment) assessmentJSON {
	return assessmentJSON{VulnID: a.VulnID, Scope: a.Scope, Type: a.Type, Effect: string(a.Effect), Comment: a.Comment, By: a.By, At: a.At, Expires: a.Expires, Auto: a.Auto,
		MalwareOverride: a.MalwareOverride}
}

func assessmentsOut(as []assess.Assessment) []assessmentJSON {
	out := make([]assessmentJSON, 0, len(as))
	for _, a := range as {
		out = append(out, assessmentOut(a))
	}
	return out
}

// assessRequest asks for one assessment. Expires is an RFC 3339 time,
// a duration from now ("30d", "12h") or "never"; "" takes the type's
// expiry.
type assessRequest struct {
	VulnID  string `json:"vuln_id"`
	Scope   string `json:"scope"`
	Type    string `json:"type"`
	Comment string `json:"comment"`
	Expires string `json:"expires"`
}

// setRequest validates the scope and expiry of a request and fills a
// SetRequest for the caller.
func (s *Server) setRequest(r *http.Request, in assessRequest) (assess.SetRequest, error) {
	sc, err := assess.ParseScope(strings.TrimSpace(in.Scope))
	if err != nil {
		return assess.SetRequest{}, store.Invalid(fmt.Errorf("scope: %w", err))
	}
	req := assess.SetRequest{VulnID: strings.TrimSpace(in.VulnID), Scope: sc, Type: strings.TrimSpace(in.Type), Comment: strings.TrimSpace(in.Comment), By: principal(r).Username,
		Admin: principal(r).Is(auth.Admin)}
	if req.Type == "" {
		return req, store.Invalid(errors.New("type: give an assessment type (e.g. Blocked)"))
	}
	switch ex := strings.TrimSpace(in.Expires); {
	case ex == "":
	case strings.EqualFold(ex, "never"):
		req.Never = true
	default:
		if t, err := time.Parse(time.RFC3339, ex); err == nil {
			req.Expires = t
		} else if t, err := time.Parse("2006-01-02", ex); err == nil {
			req.Expires = t
		} else if d, err := assess.ParseDuration(ex); err == nil && d > 0 {
			req.Expires = s.assess.Now().Add(d)
		} else {
			return req, store.Invalid(fmt.Errorf("expires %q: want an RFC 3339 time, a date (2006-01-02), a duration such as 30d, or never", ex))
		}
	}
	return req, nil
}

// scopeOf parses a request's scope for the permission check before the
// request is validated in full; invalid scopes are the handler's to report.
func scopeOf(sc string) string {
	v, err := assess.ParseScope(strings.TrimSpace(sc))
	if err != nil {
		return strings.TrimSpace(sc)
	}
	return v
}

// assessOne checks the caller's grant and records one assessment.
func (s *Server) assessOne(r *http.Request, in assessRequest) (assess.Assessment, error) {
	if err := mayAssess(r, scopeOf(in.Scope)); err != nil {
		return assess.Assessment{}, err
	}
	req, err := s.setRequest(r, in)
	if err != nil {
		return assess.Assessment{}, err
	}
	a, err := s.assess.Set(r.Context(), req)
	if err != nil {
		return a, err
	}
	s.log.Info("assessed", "by", req.By, "vulnerability", a.VulnID, "scope", a.Scope, "type", a.Type)
	return a, nil
}

func (s *Server) apiAssess(r *http.Request) (any, error) {
	var in assessRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	a, err := s.assessOne(r, in)
	if err != nil {
		return nil, err
	}
	return answer{status: http.StatusCreated, body: assessmentOut(a)}, nil
}

type bulkFilterJSON struct {
	Severity       []string `json:"severity"`
	Ecosystem      string   `json:"ecosystem"`
	Package        string   `json:"package"`
	Source         string   `json:"source"`
	Scope          string   `json:"scope"`
	OnlyUnassessed bool     `json:"only_unassessed"`
}

// bulkRequest assesses several vulnerabilities alike: those listed in
// vuln_ids, or those of the recorded open findings the filter selects.
type bulkRequest struct {
	VulnIDs []string        `json:"vuln_ids"`
	Filter  *bulkFilterJSON `json:"filter"`
	Scope   string          `json:"scope"`
	Type    string          `json:"type"`
	Comment string          `json:"comment"`
	Expires string          `json:"expires"`
}

type bulkResult struct {
	Assessed    int              `json:"assessed"`
	Assessments []assessmentJSON `json:"assessments"`
}

const maxBulkIDs = 5000

// assessIDs assesses the listed vulnerabilities in one transaction: all
// IDs must be known, else nothing changes.
func (s *Server) assessIDs(ctx context.Context, ids []string, req assess.SetRequest) ([]assess.Assessment, error) {
	if len(ids) == 0 {
		return nil, store.Invalid(errors.New("vuln_ids: select at least one vulnerability"))
	}
	if len(ids) > maxBulkIDs {
		return nil, store.Invalid(fmt.Errorf("vuln_ids: at most %d at a time, got %d", maxBulkIDs, len(ids)))
	}
	types, err := s.assess.Types(ctx)
	if err != nil {
		return nil, err
	}
	t, ok := assess.FindType(types, req.Type)
	if !ok {
		return nil, store.Invalid(fmt.Errorf("unknown assessment type %q", req.Type))
	}
	now := s.assess.Now().UTC()
	exp := time.Time{}
	switch {
	case req.Never:
	case !req.Expires.IsZero():
		if !req.Expires.After(now) {
			return nil, store.Invalid(fmt.Errorf("expiry %s is not in the future", req.Expires.UTC().Format(time.RFC3339)))
		}
		exp = req.Expires.UTC()
	case t.Expiry > 0:
		exp = now.Add(t.Expiry)
	}
	var rows []store.Assessment
	var out []assess.Assessment
	seen := map[string]bool{}
	var unknown []string
	for _, raw := range ids {
		id, err := s.assess.ResolveID(ctx, raw)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				return nil, err
			}
			unknown = append(unknown, strings.TrimSpace(raw))
			continue
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		override, err := s.assess.MalwareOverride(ctx, id, req.Scope, t.Effect, req.Admin)
		if err != nil {
			return nil, err
		}
		a := assess.Assessment{VulnID: id, Scope: req.Scope, Type: t.Name, Effect: t.Effect, Comment: req.Comment, By: req.By, At: now, Expires: exp, MalwareOverride: override}
		out = append(out, a)
		rows = append(rows, store.Assessment{VulnID: id, Scope: a.Scope, Type: a.Type, Comment: a.Comment, By: a.By, At: now, ExpiresAt: exp, MalwareOverride: override})
	}
	if len(unknown) > 0 {
		return nil, store.Invalid(fmt.Errorf("vuln_ids: unknown vulnerability IDs %s (no mirrored advisory or recorded finding has them); nothing was assessed", strings.Join(unknown, ", ")))
	}
	if err := s.st.SetAssessments(ctx, rows, "set", req.By, now); err != nil {
		return nil, err
	}
	return out, nil
}

// bulkAssess checks the caller's grant and assesses in bulk.
func (s *Server) bulkAssess(r *http.Request, in bulkRequest) ([]assess.Assessment, error) {
	if err := mayAssess(r, scopeOf(in.Scope)); err != nil {
		return nil, err
	}
	req, err := s.setRequest(r, assessRequest{VulnID: "-", Scope: in.Scope, Type: in.Type, Comment: in.Comment, Expires: in.Expires})
	if err != nil {
		return nil, err
	}
	var as []assess.Assessment
	switch {
	case in.Filter != nil && len(in.VulnIDs) > 0:
		return nil, store.Invalid(errors.New("give either vuln_ids or filter, not both"))
	case in.Filter != nil:
		f := in.Filter
		as, err = s.assess.SetBulk(r.Context(), assess.BulkFilter{Ratings: f.Severity, Ecosystem: f.Ecosystem, Package: f.Package, Source: f.Source, Scope: f.Scope, OnlyUnassessed: f.OnlyUnassessed}, req)
	default:
		as, err = s.assessIDs(r.Context(), in.VulnIDs, req)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("assessed in bulk", "by", principal(r).Username, "count", len(as), "scope", scopeOf(in.Scope), "type", in.Type)
	return as, nil
}

func (s *Server) apiAssessBulk(r *http.Request) (any, error) {
	var in bulkRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	as, err := s.bulkAssess(r, in)
	if err != nil {
		return nil, err
	}
	return bulkResult{Assessed: len(as), Assessments: assessmentsOut(as)}, nil
}

// clearAssessment checks the caller's grant and clears an assessment.
func (s *Server) clearAssessment(r *http.Request, id, scope string) error {
	sc := scopeOf(scope)
	if err := mayAssess(r, sc); err != nil {
		return err
	}
	if err := s.assess.Clear(r.Context(), id, sc, principal(r).Username); err != nil {
		return err
	}
	s.log.Info("assessment cleared", "by", principal(r).Username, "vulnerability", id, "scope", sc)
	return nil
}

func (s *Server) apiClearAssessment(r *http.Request) (any, error) {
	if err := s.clearAssessment(r, r.PathValue("id"), r.URL.Query().Get("scope")); err != nil {
		return nil, err
	}
	return noContent(), nil
}

func (s *Server) apiAssessments(r *http.Request) (any, error) {
	q := r.URL.Query()
	f := assess.ListFilter{VulnID: strings.TrimSpace(q.Get("vuln")), Scope: strings.TrimSpace(q.Get("scope")), Type: strings.TrimSpace(q.Get("type"))}
	if v := q.Get("include_expired"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errStatus(http.StatusBadRequest, "include_expired %q: want true or false", v)
		}
		f.IncludeExpired = b
	}
	if f.Type != "" {
		ts, err := s.assess.Types(r.Context())
		if err != nil {
			return nil, err
		}
		t, ok := assess.FindType(ts, f.Type)
		if !ok {
			return nil, errStatus(http.StatusBadRequest, "type %q: no such assessment type", f.Type)
		}
		f.Type = t.Name
	}
	as, err := s.assess.List(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return assessmentsOut(as), nil
}

type eventJSON struct {
	Seq        int64          `json:"seq"`
	Action     string         `json:"action"`
	Actor      string         `json:"actor"`
	Time       time.Time      `json:"time"`
	Assessment assessmentJSON `json:"assessment"`
}

func (s *Server) history(ctx context.Context, id string) ([]eventJSON, error) {
	evs, err := s.assess.History(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]eventJSON, 0, len(evs))
	for _, e := range evs {
		out = append(out, eventJSON{Seq: e.Seq, Action: e.Action, Actor: e.Actor, Time: e.Time, Assessment: assessmentOut(e.Assessment)})
	}
	return out, nil
}

func (s *Server) apiHistory(r *http.Request) (any, error) {
	return s.history(r.Context(), r.PathValue("id"))
}
