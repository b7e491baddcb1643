package server

// The assessment routes: assessment types, assessments (single, bulk,
// clear, list, history), policies for unassessed vulnerabilities, the
// findings list and VEX export/import. Who may assess is decided here:
// admins always, assessors with an assess grant covering the scope,
// viewers never (see auth.Principal.CanAssess).

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/vex"
)

func (s *Server) registerAssessRoutes() {
	s.handle("GET /api/v1/assessment-types", auth.Viewer, s.apiTypes)
	s.handle("POST /api/v1/assessment-types", auth.Admin, s.apiCreateType)
	s.handle("PUT /api/v1/assessment-types/{name}", auth.Admin, s.apiUpdateType)
	s.handle("DELETE /api/v1/assessment-types/{name}", auth.Admin, s.apiDeleteType)

	s.handle("GET /api/v1/assessments", auth.Viewer, s.apiAssessments)
	s.handleAssess("POST /api/v1/assessments", s.apiAssess)
	s.handleAssess("POST /api/v1/assessments/bulk", s.apiAssessBulk)
	s.handleAssess("DELETE /api/v1/assessments/{id}", s.apiClearAssessment)
	s.handle("GET /api/v1/assessments/{id}/history", auth.Viewer, s.apiHistory)

	s.handle("GET /api/v1/policies", auth.Admin, s.apiPolicies)
	s.handle("PUT /api/v1/policies/{scope}", auth.Admin, s.apiPutPolicy)

	s.handle("GET /api/v1/findings", auth.Viewer, s.apiFindings)

	s.handle("GET /api/v1/vex", auth.Viewer, s.apiVEXExport)
	s.handleAssess("POST /api/v1/vex", s.apiVEXImport)
}

// assessDenied answers 403 unless the caller may assess in scope; it
// reports whether it answered.
func assessDenied(w http.ResponseWriter, r *http.Request, scope string) bool {
	p := principal(r)
	if p.CanAssess(scope) {
		return false
	}
	problem(w, r, http.StatusForbidden, fmt.Sprintf("you may not assess in scope %s: this needs the admin role or an assess grant for that scope (or \"*\")", scope))
	return true
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

// isDBError reports whether err comes from the database rather than from
// the request's content.
func isDBError(err error) bool {
	var coded interface{ Code() int }
	var pg interface{ SQLState() string }
	return errors.As(err, &coded) || errors.As(err, &pg) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		strings.HasPrefix(err.Error(), "sql: ")
}

// assessProblem maps an error of internal/assess or internal/vex: not
// found, in use or taken, database trouble (500), else the request's
// content (422, with the message).
func (s *Server) assessProblem(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrMissing):
		problem(w, r, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrInUse), strings.Contains(err.Error(), "already exists"):
		problem(w, r, http.StatusConflict, err.Error())
	case isDBError(err):
		s.storeProblem(w, r, err)
	default:
		problem(w, r, http.StatusUnprocessableEntity, err.Error())
	}
}

// --- assessment types ---

type typeJSON struct {
	Name        string `json:"name"`
	Effect      string `json:"effect"`
	Builtin     bool   `json:"builtin"`
	AutoRange   string `json:"auto_range"` // "7.0-8.9", "" when not auto-assessing
	Expiry      string `json:"expiry"`     // "30d", "never"
	Description string `json:"description"`
}

func typeOut(t assess.Type) typeJSON {
	o := typeJSON{Name: t.Name, Effect: string(t.Effect), Builtin: t.Builtin, Expiry: "never", Description: t.Description}
	if t.Auto != nil {
		o.AutoRange = t.Auto.String()
	}
	if t.Expiry > 0 {
		o.Expiry = assess.FormatDuration(t.Expiry)
	}
	return o
}

// typeIn validates a type from its JSON (or form) fields.
func typeIn(name, effect, autoRange, expiry, desc string) (assess.Type, error) {
	t := assess.Type{Name: strings.TrimSpace(name), Description: strings.TrimSpace(desc)}
	e, err := assess.ParseEffect(strings.TrimSpace(effect))
	if err != nil {
		return t, fmt.Errorf("effect: %w", err)
	}
	t.Effect = e
	if ar := strings.TrimSpace(autoRange); ar != "" {
		rg, err := assess.ParseRange(ar)
		if err != nil {
			return t, fmt.Errorf("auto_range: %w", err)
		}
		t.Auto = &rg
	}
	if ex := strings.TrimSpace(expiry); ex != "" {
		d, err := assess.ParseDuration(ex)
		if err != nil {
			return t, fmt.Errorf("expiry: %w", err)
		}
		t.Expiry = d
	}
	return t, t.Validate()
}

func (s *Server) apiTypes(w http.ResponseWriter, r *http.Request) {
	ts, err := s.assess.Types(r.Context())
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	out := make([]typeJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, typeOut(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) typeResult(w http.ResponseWriter, r *http.Request, status int, name string) {
	ts, err := s.assess.Types(r.Context())
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	t, ok := assess.FindType(ts, name)
	if !ok {
		problem(w, r, http.StatusNotFound, fmt.Sprintf("no assessment type %q", name))
		return
	}
	writeJSON(w, status, typeOut(t))
}

func (s *Server) apiCreateType(w http.ResponseWriter, r *http.Request) {
	var in typeJSON
	if !readJSON(w, r, &in) {
		return
	}
	t, err := typeIn(in.Name, in.Effect, in.AutoRange, in.Expiry, in.Description)
	if err == nil {
		err = s.assess.CreateType(r.Context(), t)
	}
	if err != nil {
		s.assessProblem(w, r, err)
		return
	}
	s.log.Info("assessment type created", "by", principal(r).Username, "type", t.Name, "effect", t.Effect)
	w.Header().Set("Location", "/api/v1/assessment-types/"+t.Name)
	s.typeResult(w, r, http.StatusCreated, t.Name)
}

func (s *Server) apiUpdateType(w http.ResponseWriter, r *http.Request) {
	var in typeJSON
	if !readJSON(w, r, &in) {
		return
	}
	name := r.PathValue("name")
	if in.Name != "" && !strings.EqualFold(in.Name, name) {
		problem(w, r, http.StatusUnprocessableEntity, fmt.Sprintf("name %q differs from the type in the path (%q); types cannot be renamed", in.Name, name))
		return
	}
	t, err := typeIn(name, in.Effect, in.AutoRange, in.Expiry, in.Description)
	if err == nil {
		err = s.assess.UpdateType(r.Context(), t)
	}
	if err != nil {
		s.assessProblem(w, r, err)
		return
	}
	s.log.Info("assessment type updated", "by", principal(r).Username, "type", t.Name)
	s.typeResult(w, r, http.StatusOK, t.Name)
}

func (s *Server) apiDeleteType(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.assess.DeleteType(r.Context(), name); err != nil {
		s.assessProblem(w, r, err)
		return
	}
	s.log.Info("assessment type deleted", "by", principal(r).Username, "type", name)
	w.WriteHeader(http.StatusNoContent)
}

// --- assessments ---

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
}

func assessmentOut(a assess.Assessment) assessmentJSON {
	return assessmentJSON{VulnID: a.VulnID, Scope: a.Scope, Type: a.Type, Effect: string(a.Effect), Comment: a.Comment, By: a.By, At: a.At, Expires: a.Expires, Auto: a.Auto}
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
		return assess.SetRequest{}, fmt.Errorf("scope: %w", err)
	}
	req := assess.SetRequest{VulnID: strings.TrimSpace(in.VulnID), Scope: sc, Type: strings.TrimSpace(in.Type), Comment: strings.TrimSpace(in.Comment), By: principal(r).Username}
	if req.Type == "" {
		return req, errors.New("type: give an assessment type (e.g. Blocked)")
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
			return req, fmt.Errorf("expires %q: want an RFC 3339 time, a date (2006-01-02), a duration such as 30d, or never", ex)
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

func (s *Server) apiAssess(w http.ResponseWriter, r *http.Request) {
	var in assessRequest
	if !readJSON(w, r, &in) {
		return
	}
	if assessDenied(w, r, scopeOf(in.Scope)) {
		return
	}
	req, err := s.setRequest(r, in)
	if err != nil {
		problem(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	a, err := s.assess.Set(r.Context(), req)
	if err != nil {
		s.assessProblem(w, r, err)
		return
	}
	s.log.Info("assessed", "by", req.By, "vulnerability", a.VulnID, "scope", a.Scope, "type", a.Type)
	writeJSON(w, http.StatusCreated, assessmentOut(a))
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
		return nil, errors.New("vuln_ids: select at least one vulnerability")
	}
	if len(ids) > maxBulkIDs {
		return nil, fmt.Errorf("vuln_ids: at most %d at a time, got %d", maxBulkIDs, len(ids))
	}
	types, err := s.assess.Types(ctx)
	if err != nil {
		return nil, err
	}
	t, ok := assess.FindType(types, req.Type)
	if !ok {
		return nil, fmt.Errorf("unknown assessment type %q", req.Type)
	}
	now := s.assess.Now().UTC()
	exp := time.Time{}
	switch {
	case req.Never:
	case !req.Expires.IsZero():
		if !req.Expires.After(now) {
			return nil, fmt.Errorf("expiry %s is not in the future", req.Expires.UTC().Format(time.RFC3339))
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
			if isDBError(err) {
				return nil, err
			}
			unknown = append(unknown, strings.TrimSpace(raw))
			continue
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		a := assess.Assessment{VulnID: id, Scope: req.Scope, Type: t.Name, Effect: t.Effect, Comment: req.Comment, By: req.By, At: now, Expires: exp}
		out = append(out, a)
		rows = append(rows, store.Assessment{VulnID: id, Scope: a.Scope, Type: a.Type, Comment: a.Comment, By: a.By, At: now, ExpiresAt: exp})
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("vuln_ids: unknown vulnerability IDs %s (no mirrored advisory or recorded finding has them); nothing was assessed", strings.Join(unknown, ", "))
	}
	if err := s.st.SetAssessments(ctx, rows, "set", req.By, now); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Server) bulkAssess(r *http.Request, in bulkRequest) ([]assess.Assessment, error) {
	req, err := s.setRequest(r, assessRequest{VulnID: "-", Scope: in.Scope, Type: in.Type, Comment: in.Comment, Expires: in.Expires})
	if err != nil {
		return nil, err
	}
	switch {
	case in.Filter != nil && len(in.VulnIDs) > 0:
		return nil, errors.New("give either vuln_ids or filter, not both")
	case in.Filter != nil:
		f := in.Filter
		return s.assess.SetBulk(r.Context(), assess.BulkFilter{Ratings: f.Severity, Ecosystem: f.Ecosystem, Package: f.Package, Source: f.Source, Scope: f.Scope, OnlyUnassessed: f.OnlyUnassessed}, req)
	default:
		return s.assessIDs(r.Context(), in.VulnIDs, req)
	}
}

func (s *Server) apiAssessBulk(w http.ResponseWriter, r *http.Request) {
	var in bulkRequest
	if !readJSON(w, r, &in) {
		return
	}
	if assessDenied(w, r, scopeOf(in.Scope)) {
		return
	}
	as, err := s.bulkAssess(r, in)
	if err != nil {
		s.assessProblem(w, r, err)
		return
	}
	s.log.Info("assessed in bulk", "by", principal(r).Username, "count", len(as), "scope", scopeOf(in.Scope), "type", in.Type)
	writeJSON(w, http.StatusOK, bulkResult{Assessed: len(as), Assessments: assessmentsOut(as)})
}

func (s *Server) apiClearAssessment(w http.ResponseWriter, r *http.Request) {
	sc := scopeOf(r.URL.Query().Get("scope"))
	if assessDenied(w, r, sc) {
		return
	}
	id := r.PathValue("id")
	if err := s.assess.Clear(r.Context(), id, sc, principal(r).Username); err != nil {
		if !isDBError(err) && strings.Contains(err.Error(), "has no assessment") {
			problem(w, r, http.StatusNotFound, err.Error())
			return
		}
		s.assessProblem(w, r, err)
		return
	}
	s.log.Info("assessment cleared", "by", principal(r).Username, "vulnerability", id, "scope", sc)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiAssessments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := assess.ListFilter{VulnID: strings.TrimSpace(q.Get("vuln")), Scope: strings.TrimSpace(q.Get("scope")), Type: strings.TrimSpace(q.Get("type"))}
	if v := q.Get("include_expired"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problem(w, r, http.StatusBadRequest, fmt.Sprintf("include_expired %q: want true or false", v))
			return
		}
		f.IncludeExpired = b
	}
	if f.Type != "" {
		ts, err := s.assess.Types(r.Context())
		if err != nil {
			s.storeProblem(w, r, err)
			return
		}
		t, ok := assess.FindType(ts, f.Type)
		if !ok {
			problem(w, r, http.StatusBadRequest, fmt.Sprintf("type %q: no such assessment type", f.Type))
			return
		}
		f.Type = t.Name
	}
	as, err := s.assess.List(r.Context(), f)
	if err != nil {
		s.assessProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assessmentsOut(as))
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

func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	out, err := s.history(r.Context(), r.PathValue("id"))
	if err != nil {
		s.assessProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// --- policies ---

type policyJSON struct {
	Scope  string `json:"scope"`
	Effect string `json:"effect"`
}

func (s *Server) policies(ctx context.Context) ([]policyJSON, error) {
	ps, err := s.assess.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := []policyJSON{{Scope: assess.Global, Effect: string(ps.For(assess.Global))}}
	for _, sc := range sortedKeys(ps) {
		if sc != assess.Global {
			out = append(out, policyJSON{Scope: sc, Effect: string(ps[sc])})
		}
	}
	return out, nil
}

func sortedKeys(ps assess.Policies) []string { return slices.Sorted(maps.Keys(ps)) }

func (s *Server) apiPolicies(w http.ResponseWriter, r *http.Request) {
	out, err := s.policies(r.Context())
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) setPolicy(r *http.Request, scope, effect string) (policyJSON, error) {
	sc, err := assess.ParseScope(strings.TrimSpace(scope))
	if err != nil {
		return policyJSON{}, fmt.Errorf("scope: %w", err)
	}
	e, err := assess.ParseEffect(strings.TrimSpace(effect))
	if err != nil {
		return policyJSON{}, fmt.Errorf("effect: %w", err)
	}
	if err := s.assess.SetPolicy(r.Context(), sc, e, principal(r).Username); err != nil {
		return policyJSON{}, err
	}
	s.log.Info("policy set", "by", principal(r).Username, "scope", sc, "effect", e)
	return policyJSON{Scope: sc, Effect: string(e)}, nil
}

func (s *Server) apiPutPolicy(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Effect string `json:"effect"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	out, err := s.setPolicy(r, r.PathValue("scope"), in.Effect)
	if err != nil {
		s.assessProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// --- findings ---

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

type findingPage struct {
	Total  int                 `json:"total"`
	Offset int                 `json:"offset"`
	Limit  int                 `json:"limit"`
	Items  []findingRecordJSON `json:"items"`
}

// multi reads a repeatable, comma-separated query parameter.
func multi(r *http.Request, k string) []string {
	var out []string
	for _, v := range r.URL.Query()[k] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// assessmentFilter validates an assessment filter value: a type name (any
// letter case), "unassessed" or "assessed".
func (s *Server) assessmentFilter(ctx context.Context, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "", "any":
		return "", nil
	case store.AssessedNone, store.AssessedAny:
		return strings.ToLower(v), nil
	}
	ts, err := s.assess.Types(ctx)
	if err != nil {
		return "", err
	}
	t, ok := assess.FindType(ts, v)
	if !ok {
		names := []string{store.AssessedNone, store.AssessedAny}
		for _, t := range ts {
			names = append(names, t.Name)
		}
		return "", errInput{fmt.Errorf("assessment %q: want one of %s", v, strings.Join(names, ", "))}
	}
	return t.Name, nil
}

// findingScopes reads scope (repeatable), project and feed parameters.
func findingScopes(r *http.Request) ([]string, error) {
	var out []string
	add := func(raw string) error {
		sc, err := assess.ParseScope(raw)
		if err != nil {
			return err
		}
		out = append(out, sc)
		return nil
	}
	for _, v := range multi(r, "scope") {
		if err := add(v); err != nil {
			return nil, fmt.Errorf("scope: %w", err)
		}
	}
	for _, k := range []string{"project", "feed"} {
		for _, v := range multi(r, k) {
			if err := add(k + ":" + v); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return out, nil
}

func (s *Server) parseFindingFilter(r *http.Request) (store.FindingPageFilter, error) {
	base, err := parseFilter(r) // severity, source, ecosystem, q, offset, limit
	if err != nil {
		return store.FindingPageFilter{}, errInput{err}
	}
	f := store.FindingPageFilter{Ratings: base.Severities, Sources: base.Sources, Ecosystems: base.Ecosystems, Query: base.Query,
		Offset: base.Offset, Limit: base.Limit, Now: s.assess.Now().UTC()}
	if f.Scopes, err = findingScopes(r); err != nil {
		return f, errInput{err}
	}
	if f.Assessment, err = s.assessmentFilter(r.Context(), r.URL.Query().Get("assessment")); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) listFindings(ctx context.Context, f store.FindingPageFilter) (findingPage, error) {
	rows, total, err := s.st.ListOpenFindings(ctx, f)
	if err != nil {
		return findingPage{}, err
	}
	ts, err := s.assess.Types(ctx)
	if err != nil {
		return findingPage{}, err
	}
	ps, err := s.assess.Policies(ctx)
	if err != nil {
		return findingPage{}, err
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
			if t, ok := assess.FindType(ts, x.Assessment); ok {
				o.Assessment = &findingAssessJ{Type: t.Name, Effect: string(t.Effect)}
				o.Effect = string(t.Effect)
			}
		}
		page.Items = append(page.Items, o)
	}
	return page, nil
}

func (s *Server) apiFindings(w http.ResponseWriter, r *http.Request) {
	f, err := s.parseFindingFilter(r)
	if err != nil {
		var ie errInput
		if errors.As(err, &ie) {
			problem(w, r, http.StatusBadRequest, ie.Error())
			return
		}
		s.storeProblem(w, r, err)
		return
	}
	page, err := s.listFindings(r.Context(), f)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// --- VEX ---

func (s *Server) apiVEXExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fv := q.Get("format")
	if fv == "" {
		fv = string(vex.CycloneDX)
	}
	f, err := vex.ParseFormat(fv)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "format: "+err.Error())
		return
	}
	scope := ""
	if v := strings.TrimSpace(q.Get("scope")); v != "" {
		if scope, err = assess.ParseScope(v); err != nil {
			problem(w, r, http.StatusBadRequest, "scope: "+err.Error())
			return
		}
	}
	var buf bytes.Buffer
	if err := vex.ExportFrom(r.Context(), s.assess, &buf, vex.ExportOptions{Format: f, Scope: scope, Author: "vulngate " + s.opts.Version}); err != nil {
		s.assessProblem(w, r, err)
		return
	}
	ct, ext := "application/vnd.cyclonedx+json", "cdx.json"
	if f == vex.OpenVEX {
		ct, ext = "application/json", "openvex.json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="vulngate-vex.%s"`, ext))
	w.Write(buf.Bytes())
}

type vexImportJSON struct {
	Format      string           `json:"format"`
	Imported    int              `json:"imported"`
	Skipped     int              `json:"skipped"`
	Assessments []assessmentJSON `json:"assessments"`
}

// importVEX checks that the caller may assess every scope the document
// assesses in (after the scope override), then imports it, all or nothing.
func (s *Server) importVEX(r *http.Request, body io.Reader, scope string) (vexImportJSON, int, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return vexImportJSON{}, http.StatusBadRequest, fmt.Errorf("request body: %w", err)
	}
	if scope != "" {
		if scope, err = assess.ParseScope(scope); err != nil {
			return vexImportJSON{}, http.StatusBadRequest, fmt.Errorf("scope: %w", err)
		}
	}
	p := principal(r)
	if scope != "" && !p.CanAssess(scope) {
		return vexImportJSON{}, http.StatusForbidden, fmt.Errorf("you may not assess in scope %s: this needs the admin role or an assess grant for that scope", scope)
	}
	if !mayAssessSomewhere(p) {
		return vexImportJSON{}, http.StatusForbidden, errors.New("you may not assess: this needs the admin role or an assess grant")
	}
	_, as, _, err := vex.Parse(bytes.NewReader(data), "request body")
	if err != nil {
		return vexImportJSON{}, http.StatusUnprocessableEntity, err
	}
	for _, a := range as {
		sc := a.Scope
		if scope != "" && (sc == "" || sc == assess.Global) {
			sc = scope
		}
		if sc == "" {
			sc = assess.Global
		}
		if !p.CanAssess(sc) {
			return vexImportJSON{}, http.StatusForbidden, fmt.Errorf("the document assesses %s in scope %s, where you may not assess; nothing was imported", a.VulnID, sc)
		}
	}
	res, err := vex.ImportInto(r.Context(), s.assess, bytes.NewReader(data), "request body", scope, p.Username)
	if err != nil {
		if isDBError(err) {
			return vexImportJSON{}, http.StatusInternalServerError, err
		}
		return vexImportJSON{}, http.StatusUnprocessableEntity, err
	}
	s.log.Info("VEX imported", "by", p.Username, "format", res.Format, "imported", len(res.Imported), "skipped", res.Skipped)
	return vexImportJSON{Format: string(res.Format), Imported: len(res.Imported), Skipped: res.Skipped, Assessments: assessmentsOut(res.Imported)}, 0, nil
}

func (s *Server) apiVEXImport(w http.ResponseWriter, r *http.Request) {
	out, status, err := s.importVEX(r, http.MaxBytesReader(w, r.Body, maxBody), r.URL.Query().Get("scope"))
	if err != nil {
		if status == http.StatusInternalServerError {
			s.storeProblem(w, r, err)
			return
		}
		problem(w, r, status, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, out)
}
