package server

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/source/ossindex"
	"github.com/vulngate/vulngate/internal/store"
)

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) registerRoutes() {
	// Probes, metrics, API description.
	s.handle("GET /healthz", "", s.healthz)
	s.handle("GET /readyz", "", s.readyz)
	s.handle("GET /metrics", "", s.metricsHandler)
	s.handle("GET /api/openapi.json", "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDoc)
	})

	// Session and the caller.
	s.handle("POST /api/v1/session", "", s.apiLogin)
	s.handle("DELETE /api/v1/session", auth.Viewer, s.apiLogout)
	s.handle("GET /api/v1/me", auth.Viewer, s.apiMe)
	s.handle("PUT /api/v1/me/password", auth.Viewer, s.apiChangePassword)

	// Vulnerability sources.
	s.handle("GET /api/v1/sources", auth.Viewer, s.apiSources)
	s.handle("GET /api/v1/sources/osv/ecosystems", auth.Admin, s.apiOSVEcosystems)
	s.handle("PUT /api/v1/sources/osv", auth.Admin, s.apiPutOSV)
	s.handle("PUT /api/v1/sources/ossindex", auth.Admin, s.apiPutOSSIndex)

	// Advisories, packages, scans.
	s.handle("GET /api/v1/stats", auth.Viewer, s.apiStats)
	s.handle("GET /api/v1/advisories", auth.Viewer, s.apiAdvisories)
	s.handle("GET /api/v1/advisories/{id}", auth.Viewer, s.apiAdvisory)
	s.handle("GET /api/v1/packages", auth.Viewer, s.apiPackage)
	s.handle("POST /api/v1/scan", auth.Viewer, s.apiScan)

	// Jobs.
	s.handle("GET /api/v1/jobs", auth.Viewer, s.apiJobs)
	s.handle("GET /api/v1/jobs/{name}", auth.Viewer, s.apiJob)
	s.handle("PUT /api/v1/jobs/{name}", auth.Admin, s.apiPutJob)
	s.handle("GET /api/v1/jobs/{name}/runs", auth.Viewer, s.apiJobRuns)
	s.handle("POST /api/v1/jobs/{name}/runs", auth.Admin, s.apiRunJob)
	s.handle("GET /api/v1/jobs/{name}/runs/{id}", auth.Viewer, s.apiJobRun)
	s.handle("GET /api/v1/jobs/{name}/runs/{id}/log", auth.Viewer, s.apiJobLog)

	// Users and API keys.
	s.handle("GET /api/v1/users", auth.Admin, s.apiUsers)
	s.handle("POST /api/v1/users", auth.Admin, s.apiCreateUser)
	s.handle("GET /api/v1/users/{id}", auth.Admin, s.apiUser)
	s.handle("PATCH /api/v1/users/{id}", auth.Admin, s.apiUpdateUser)
	s.handle("DELETE /api/v1/users/{id}", auth.Admin, s.apiDeleteUser)
	s.handle("GET /api/v1/users/{id}/keys", auth.Admin, s.apiKeys)
	s.handle("POST /api/v1/users/{id}/keys", auth.Admin, s.apiCreateKey)
	s.handle("DELETE /api/v1/users/{id}/keys/{key}", auth.Admin, s.apiDeleteKey)

	// Assessments, policies, findings, VEX.
	s.registerAssessRoutes()

	// Package feeds.
	s.registerFeedRoutes()

	// Anything else under /api/ is a problem, not an HTML page.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, r, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})

	s.registerUI()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.st.Ready(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		problem(w, r, http.StatusServiceUnavailable, "not ready: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}

// --- session ---

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type userJSON struct {
	ID       int64         `json:"id"`
	Username string        `json:"username"`
	Role     string        `json:"role"`
	Disabled bool          `json:"disabled"`
	Grants   []store.Grant `json:"grants"`
	Created  time.Time     `json:"created,omitzero"`
	Updated  time.Time     `json:"updated,omitzero"`
}

func userOut(u store.User) userJSON {
	g := u.Grants
	if g == nil {
		g = []store.Grant{}
	}
	return userJSON{ID: u.ID, Username: u.Username, Role: u.Role, Disabled: u.Disabled, Grants: g, Created: u.Created, Updated: u.Updated}
}

// login checks credentials under the rate limit and sets the session
// cookie. It returns a status and a message for failures.
func (s *Server) login(w http.ResponseWriter, r *http.Request, username, password string) (*auth.Principal, int, string) {
	username = strings.TrimSpace(username)
	if ok, wait := s.limiter.Allow(clientIP(r) + "\x00" + strings.ToLower(username)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return nil, http.StatusTooManyRequests, fmt.Sprintf("too many login attempts; try again in %d seconds", int(wait.Seconds())+1)
	}
	p, token, exp, err := s.auth.Login(r.Context(), username, password)
	if err != nil {
		if errors.Is(err, auth.ErrBadCredentials) {
			s.log.Info("login failed", "user", username, "remote", clientIP(r))
			return nil, http.StatusUnauthorized, auth.ErrBadCredentials.Error()
		}
		s.log.Error("login", "err", err)
		return nil, http.StatusInternalServerError, "internal error"
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: exp, HttpOnly: true, Secure: s.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	s.log.Info("login", "user", p.Username)
	return p, 0, ""
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if !readJSON(w, r, &req) {
		return
	}
	p, status, msg := s.login(w, r, req.Username, req.Password)
	if p == nil {
		problem(w, r, status, msg)
		return
	}
	u, err := s.st.UserByID(r.Context(), p.UserID)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userOut(u))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.auth.Logout(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	s.logout(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	u, err := s.st.UserByID(r.Context(), principal(r).UserID)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userOut(u))
}

type passwordChange struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

func (s *Server) changePassword(r *http.Request, pc passwordChange) (int, string) {
	p := principal(r)
	u, err := s.st.UserByID(r.Context(), p.UserID)
	if err != nil {
		return http.StatusInternalServerError, "internal error"
	}
	if ok, _ := auth.VerifyPassword(u.PasswordHash, pc.Current); !ok {
		return http.StatusUnprocessableEntity, "current_password: does not match"
	}
	if err := auth.ValidatePassword(pc.New); err != nil {
		return http.StatusUnprocessableEntity, "new_password: " + err.Error()
	}
	hash, err := auth.HashPassword(pc.New, s.opts.Argon2)
	if err != nil {
		return http.StatusInternalServerError, "internal error"
	}
	if err := s.st.UpdateUser(r.Context(), u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		return http.StatusInternalServerError, "internal error"
	}
	return 0, ""
}

func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request) {
	var pc passwordChange
	if !readJSON(w, r, &pc) {
		return
	}
	if status, msg := s.changePassword(r, pc); status != 0 {
		problem(w, r, status, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- sources ---

type ossIndexOut struct {
	Enabled  bool   `json:"enabled"`
	BaseURL  string `json:"base_url"`
	Username string `json:"username"`
	TokenSet bool   `json:"token_set"`
}

type sourcesOut struct {
	OSV      OSVSettings `json:"osv"`
	OSSIndex ossIndexOut `json:"ossindex"`
}

func ossOut(v OSSIndexSettings) ossIndexOut {
	return ossIndexOut{Enabled: v.Enabled, BaseURL: v.BaseURL, Username: v.Username, TokenSet: v.Token != ""}
}

func (s *Server) apiSources(w http.ResponseWriter, r *http.Request) {
	o, err := s.osvSettings(r.Context())
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	x, err := s.ossIndexSettings(r.Context())
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sourcesOut{OSV: o, OSSIndex: ossOut(x)})
}

func (s *Server) apiOSVEcosystems(w http.ResponseWriter, r *http.Request) {
	base := r.URL.Query().Get("base_url")
	if base == "" {
		v, err := s.osvSettings(r.Context())
		if err != nil {
			s.storeProblem(w, r, err)
			return
		}
		base = v.BaseURL
	}
	if err := validateBaseURL("base_url", base, true); err != nil {
		problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	list, err := s.availableEcosystems(r.Context(), base)
	if err != nil {
		problem(w, r, http.StatusBadGateway, fmt.Sprintf("could not read ecosystems.txt from %s: %v", base, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"base_url": base, "ecosystems": list})
}

func (s *Server) inputProblem(w http.ResponseWriter, r *http.Request, err error) {
	var ie errInput
	if errors.As(err, &ie) {
		problem(w, r, http.StatusUnprocessableEntity, ie.Error())
		return
	}
	s.storeProblem(w, r, err)
}

func (s *Server) apiPutOSV(w http.ResponseWriter, r *http.Request) {
	var v OSVSettings
	if !readJSON(w, r, &v) {
		return
	}
	out, err := s.putOSVSettings(r.Context(), v)
	if err != nil {
		s.inputProblem(w, r, err)
		return
	}
	s.log.Info("OSV source updated", "user", principal(r).Username, "enabled", out.Enabled, "ecosystems", strings.Join(out.Ecosystems, ","))
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiPutOSSIndex(w http.ResponseWriter, r *http.Request) {
	var up OSSIndexUpdate
	if !readJSON(w, r, &up) {
		return
	}
	out, err := s.putOSSIndexSettings(r.Context(), up)
	if err != nil {
		s.inputProblem(w, r, err)
		return
	}
	s.log.Info("OSS Index source updated", "user", principal(r).Username, "enabled", out.Enabled)
	writeJSON(w, http.StatusOK, ossOut(out))
}

// --- advisories ---

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

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	out, err := s.stats(r)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type advisoryOut struct {
	ID        string    `json:"id"`
	Aliases   []string  `json:"aliases"`
	Summary   string    `json:"summary"`
	Severity  string    `json:"severity"`
	Score     float64   `json:"score"`
	Source    string    `json:"source"`
	Ecosystem string    `json:"ecosystem"`
	Partition string    `json:"partition"`
	Packages  []string  `json:"packages"`
	Modified  time.Time `json:"modified"`
	Published time.Time `json:"published,omitzero"`
	Withdrawn bool      `json:"withdrawn"`
	// Assessment is the assessment that applies in the listing's scope
	// (global unless a scope was asked for), nil when unassessed.
	Assessment *findingAssessJ `json:"assessment"`
}

type advisoryPage struct {
	Total  int           `json:"total"`
	Offset int           `json:"offset"`
	Limit  int           `json:"limit"`
	Items  []advisoryOut `json:"items"`
}

var severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE", "UNKNOWN"}

// parseFilter reads list filters from a query: severity, source,
// ecosystem (each repeatable or comma-separated), q, withdrawn, offset,
// limit (at most 500).
func parseFilter(r *http.Request) (store.SummaryFilter, error) {
	q := r.URL.Query()
	multi := func(k string) []string {
		var out []string
		for _, v := range q[k] {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	f := store.SummaryFilter{Sources: multi("source"), Ecosystems: multi("ecosystem"), Query: q.Get("q"), Limit: 50}
	for _, sv := range multi("severity") {
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
	num := func(k string, dst *int, lo, hi int) error {
		v := q.Get(k)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%s %q: want a number from %d to %d", k, v, lo, hi)
		}
		*dst = n
		return nil
	}
	if err := num("offset", &f.Offset, 0, 1<<30); err != nil {
		return f, err
	}
	if err := num("limit", &f.Limit, 1, 500); err != nil {
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
func (s *Server) advisoryFilter(r *http.Request) (store.SummaryFilter, error) {
	f, err := parseFilter(r)
	if err != nil {
		return f, errInput{err}
	}
	f.Now = s.assess.Now().UTC()
	if v := strings.TrimSpace(r.URL.Query().Get("scope")); v != "" {
		sc, err := assess.ParseScope(v)
		if err != nil {
			return f, errInput{fmt.Errorf("scope: %w", err)}
		}
		f.AssessScope = sc
		if sc != assess.Global {
			f.InScope = sc
		}
	}
	if f.Assessment, err = s.assessmentFilter(r.Context(), r.URL.Query().Get("assessment")); err != nil {
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
		o := advisoryOut{ID: a.ID, Aliases: a.Aliases, Summary: a.Summary, Severity: a.Severity, Score: a.Score,
			Source: a.Source, Ecosystem: a.Ecosystem, Partition: a.Partition, Packages: a.Packages, Modified: a.Modified, Published: a.Published, Withdrawn: a.Withdrawn}
		if as, ok := idx.Lookup(assess.Finding{ID: a.ID, IDs: append([]string{a.ID}, a.Aliases...)}, now); ok {
			o.Assessment = &findingAssessJ{Type: as.Type, Effect: string(as.Effect)}
		}
		page.Items = append(page.Items, o)
	}
	return page, nil
}

func (s *Server) apiAdvisories(w http.ResponseWriter, r *http.Request) {
	f, err := s.advisoryFilter(r)
	if err != nil {
		var ie errInput
		if errors.As(err, &ie) {
			problem(w, r, http.StatusBadRequest, ie.Error())
			return
		}
		s.storeProblem(w, r, err)
		return
	}
	page, err := s.listAdvisories(r, f)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) advisoryDetail(r *http.Request, id string) (catalog.Detail, bool, error) {
	advs, err := s.st.AdvisoriesByID(r.Context(), id)
	if err != nil {
		return catalog.Detail{}, false, err
	}
	d, ok := catalog.BuildDetail(id, advs)
	return d, ok, nil
}

func (s *Server) apiAdvisory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, ok, err := s.advisoryDetail(r, id)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	if !ok {
		problem(w, r, http.StatusNotFound, fmt.Sprintf("no advisory has the ID or alias %q", id))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// --- packages and scans ---

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
		fo := findingOut{ID: f.ID, Aliases: nonNilS(aliases), Summary: f.Summary, Severity: string(f.Severity.Rating),
			Score: f.Severity.Score, Vector: f.Severity.Vector, Fixed: nonNilS(f.Fixed), Sources: nonNilS(f.Sources)}
		if i < len(d.Findings) {
			v := d.Findings[i]
			fo.Effect = string(v.Effect)
			if v.Assessment != nil {
				a := assessmentOut(*v.Assessment)
				fo.Assessment = &a
			}
		}
		out.Findings = append(out.Findings, fo)
	}
	return out, nil
}

func (s *Server) apiPackage(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSpace(r.URL.Query().Get("purl"))
	if !strings.HasPrefix(p, "pkg:") {
		problem(w, r, http.StatusBadRequest, "purl: give a package URL such as pkg:pypi/django@3.2.0")
		return
	}
	scope, err := assess.ParseScope(strings.TrimSpace(r.URL.Query().Get("scope")))
	if err != nil {
		problem(w, r, http.StatusBadRequest, "scope: "+err.Error())
		return
	}
	out, err := s.packageFindings(r, p, scope)
	if err != nil {
		s.scanProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// scanProblem answers a scan failure: a rejected OSS Index token is a
// configuration problem the caller should see (502), anything else is
// internal.
func (s *Server) scanProblem(w http.ResponseWriter, r *http.Request, err error) {
	var ae *ossindex.AuthError
	if errors.As(err, &ae) {
		s.log.Warn("OSS Index refused the credentials", "err", err)
		problem(w, r, http.StatusBadGateway, err.Error())
		return
	}
	s.storeProblem(w, r, err)
}

type scanRequest struct {
	PURLs []string `json:"purls"`
}

const maxScanPURLs = 10000

// apiScan scans a PURL list: JSON {"purls": [...]} or text/plain with one
// PURL per line. The answer is the vulngate.scan/v1 document.
func (s *Server) apiScan(w http.ResponseWriter, r *http.Request) {
	var purls []string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		sc := bufio.NewScanner(http.MaxBytesReader(w, r.Body, maxBody))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				purls = append(purls, l)
			}
		}
		if err := sc.Err(); err != nil {
			problem(w, r, http.StatusBadRequest, "request body: "+err.Error())
			return
		}
	} else {
		var req scanRequest
		if !readJSON(w, r, &req) {
			return
		}
		purls = req.PURLs
	}
	if len(purls) == 0 {
		problem(w, r, http.StatusBadRequest, "purls: give at least one package URL")
		return
	}
	if len(purls) > maxScanPURLs {
		problem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("purls: at most %d per request, got %d", maxScanPURLs, len(purls)))
		return
	}
	comps := make([]match.Component, 0, len(purls))
	for i, p := range purls {
		if !strings.HasPrefix(p, "pkg:") {
			problem(w, r, http.StatusBadRequest, fmt.Sprintf("purls[%d] %q: not a package URL (must start with \"pkg:\")", i, p))
			return
		}
		comps = append(comps, match.Component{Input: p})
	}
	sc, sources, err := s.scanner(r)
	if err != nil {
		s.scanProblem(w, r, err)
		return
	}
	res, err := sc.Scan(r.Context(), comps)
	if err != nil {
		s.scanProblem(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, report.JSON, res, report.Meta{Tool: "vulngate", Version: s.opts.Version, Inputs: []string{"api"}, Sources: sources}); err != nil {
		s.storeProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// --- jobs ---

type runOut struct {
	ID       int64     `json:"id"`
	Job      string    `json:"job"`
	Cause    string    `json:"cause"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Error    string    `json:"error,omitempty"`
	Log      *string   `json:"log,omitempty"`
}

func runJSON(jr store.JobRun, withLog bool) runOut {
	o := runOut{ID: jr.ID, Job: jr.Job, Cause: jr.Cause, Status: jr.Status, Started: jr.Started, Finished: jr.Finished, Error: jr.Error}
	if withLog {
		l := jr.Log
		o.Log = &l
	}
	return o
}

type jobOut struct {
	Name        string    `json:"name"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Cron        string    `json:"cron"`
	DefaultCron string    `json:"default_cron"`
	Enabled     bool      `json:"enabled"`
	NextRun     time.Time `json:"next_run,omitzero"`
	RunningRun  int64     `json:"running_run,omitempty"`
	LastRun     *runOut   `json:"last_run,omitempty"`
}

func (s *Server) jobJSON(r *http.Request, inf jobs.Info) jobOut {
	o := jobOut{Name: inf.Name, Title: inf.Title, Description: inf.Description, Cron: inf.Cron, DefaultCron: inf.DefaultCron, Enabled: inf.Enabled, NextRun: inf.NextRun, RunningRun: inf.Running}
	if inf.Last != nil {
		l := runJSON(*inf.Last, false)
		o.LastRun = &l
	} else if runs, err := s.st.JobRuns(r.Context(), inf.Name, 1); err == nil && len(runs) > 0 {
		l := runJSON(runs[0], false)
		o.LastRun = &l
	}
	return o
}

func (s *Server) apiJobs(w http.ResponseWriter, r *http.Request) {
	out := []jobOut{}
	for _, inf := range s.runner.Jobs() {
		out = append(out, s.jobJSON(r, inf))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) jobOr404(w http.ResponseWriter, r *http.Request) (jobs.Info, bool) {
	name := r.PathValue("name")
	inf, ok := s.runner.Job(name)
	if !ok {
		problem(w, r, http.StatusNotFound, fmt.Sprintf("no job named %q", name))
	}
	return inf, ok
}

func (s *Server) apiJob(w http.ResponseWriter, r *http.Request) {
	if inf, ok := s.jobOr404(w, r); ok {
		writeJSON(w, http.StatusOK, s.jobJSON(r, inf))
	}
}

type jobUpdate struct {
	Cron string `json:"cron"`
}

func (s *Server) apiPutJob(w http.ResponseWriter, r *http.Request) {
	inf, ok := s.jobOr404(w, r)
	if !ok {
		return
	}
	var up jobUpdate
	if !readJSON(w, r, &up) {
		return
	}
	if err := s.runner.SetCron(r.Context(), inf.Name, up.Cron); err != nil {
		problem(w, r, http.StatusUnprocessableEntity, "cron: "+err.Error())
		return
	}
	inf, _ = s.runner.Job(inf.Name)
	writeJSON(w, http.StatusOK, s.jobJSON(r, inf))
}

func (s *Server) apiJobRuns(w http.ResponseWriter, r *http.Request) {
	inf, ok := s.jobOr404(w, r)
	if !ok {
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			problem(w, r, http.StatusBadRequest, fmt.Sprintf("limit %q: want a number from 1 to 500", v))
			return
		}
		limit = n
	}
	runs, err := s.st.JobRuns(r.Context(), inf.Name, limit)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	out := make([]runOut, 0, len(runs))
	for _, jr := range runs {
		out = append(out, runJSON(jr, false))
	}
	writeJSON(w, http.StatusOK, out)
}

// runNow triggers a run; on conflict it returns the running run's ID.
func (s *Server) runNow(r *http.Request, name string) (int64, error) {
	return s.runner.Trigger(name, "manual:"+principal(r).Username)
}

func (s *Server) apiRunJob(w http.ResponseWriter, r *http.Request) {
	inf, ok := s.jobOr404(w, r)
	if !ok {
		return
	}
	id, err := s.runNow(r, inf.Name)
	switch {
	case errors.Is(err, jobs.ErrRunning):
		w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%s/runs/%d", inf.Name, id))
		problem(w, r, http.StatusConflict, fmt.Sprintf("job %s is already running (run %d); wait for it to finish", inf.Name, id))
		return
	case errors.Is(err, jobs.ErrStopped):
		problem(w, r, http.StatusServiceUnavailable, "the server is shutting down")
		return
	case err != nil:
		s.storeProblem(w, r, err)
		return
	}
	jr, err := s.st.JobRun(r.Context(), inf.Name, id)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%s/runs/%d", inf.Name, id))
	writeJSON(w, http.StatusAccepted, runJSON(jr, false))
}

func (s *Server) runOr404(w http.ResponseWriter, r *http.Request) (store.JobRun, bool) {
	inf, ok := s.jobOr404(w, r)
	if !ok {
		return store.JobRun{}, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		problem(w, r, http.StatusBadRequest, fmt.Sprintf("run id %q: want a number", r.PathValue("id")))
		return store.JobRun{}, false
	}
	jr, err := s.st.JobRun(r.Context(), inf.Name, id)
	if err != nil {
		s.storeProblem(w, r, err)
		return store.JobRun{}, false
	}
	return jr, true
}

func (s *Server) apiJobRun(w http.ResponseWriter, r *http.Request) {
	jr, ok := s.runOr404(w, r)
	if !ok {
		return
	}
	if lv := s.runner.Live(jr.Job, jr.ID); lv != nil {
		jr.Log = lv.Text()
	}
	writeJSON(w, http.StatusOK, runJSON(jr, true))
}

// apiJobLog streams a run's log as Server-Sent Events: one "message" event
// per line (the lines so far, then new ones as they are written), then an
// "end" event whose data is the run's status. A finished run's stored log
// is sent at once, followed by "end".
func (s *Server) apiJobLog(w http.ResponseWriter, r *http.Request) {
	jr, ok := s.runOr404(w, r)
	if !ok {
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event, data string) {
		if event != "" {
			fmt.Fprintf(w, "event: %s\n", event)
		}
		for _, l := range strings.Split(data, "\n") {
			fmt.Fprintf(w, "data: %s\n", strings.TrimRight(l, "\r"))
		}
		fmt.Fprint(w, "\n")
	}
	lv := s.runner.Live(jr.Job, jr.ID)
	if lv == nil {
		// The run may have just finished: read it again for its full log.
		if fresh, err := s.st.JobRun(r.Context(), jr.Job, jr.ID); err == nil {
			jr = fresh
		}
		for _, l := range strings.Split(strings.TrimRight(jr.Log, "\n"), "\n") {
			if l != "" {
				send("", l)
			}
		}
		send("end", jr.Status)
		rc.Flush()
		return
	}
	backlog, lines, done, cancel := lv.Subscribe()
	defer cancel()
	for _, l := range backlog {
		send("", l)
	}
	rc.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case l := <-lines:
			send("", l)
			rc.Flush()
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			rc.Flush()
		case <-done:
			for {
				select {
				case l := <-lines:
					send("", l)
					continue
				default:
				}
				break
			}
			send("end", lv.Status())
			rc.Flush()
			return
		case <-r.Context().Done():
			return
		}
	}
}

// --- users and keys ---

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.st.Users(r.Context())
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	out := make([]userJSON, 0, len(us))
	for _, u := range us {
		out = append(out, userOut(u))
	}
	writeJSON(w, http.StatusOK, out)
}

type userCreate struct {
	Username string        `json:"username"`
	Role     string        `json:"role"`
	Password string        `json:"password"`
	Grants   []store.Grant `json:"grants"`
}

func validateGrants(gs []store.Grant) error {
	for _, g := range gs {
		if err := auth.ValidateGrant(g); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) createUser(r *http.Request, uc userCreate) (store.User, error) {
	if err := auth.ValidateUsername(uc.Username); err != nil {
		return store.User{}, errInput{err}
	}
	role, err := auth.ParseRole(uc.Role)
	if err != nil {
		return store.User{}, errInput{err}
	}
	if err := auth.ValidatePassword(uc.Password); err != nil {
		return store.User{}, errInput{err}
	}
	if err := validateGrants(uc.Grants); err != nil {
		return store.User{}, errInput{err}
	}
	hash, err := auth.HashPassword(uc.Password, s.opts.Argon2)
	if err != nil {
		return store.User{}, err
	}
	id, err := s.st.CreateUser(r.Context(), store.User{Username: uc.Username, Role: string(role), PasswordHash: hash, Grants: uc.Grants})
	if err != nil {
		return store.User{}, err
	}
	s.log.Info("user created", "by", principal(r).Username, "user", uc.Username, "role", role)
	return s.st.UserByID(r.Context(), id)
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request) {
	var uc userCreate
	if !readJSON(w, r, &uc) {
		return
	}
	u, err := s.createUser(r, uc)
	if err != nil {
		s.inputProblem(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/users/%d", u.ID))
	writeJSON(w, http.StatusCreated, userOut(u))
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		problem(w, r, http.StatusBadRequest, fmt.Sprintf("%s %q: want a number", name, r.PathValue(name)))
		return 0, false
	}
	return id, true
}

func (s *Server) apiUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	u, err := s.st.UserByID(r.Context(), id)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userOut(u))
}

type userPatch struct {
	Role     *string        `json:"role"`
	Password *string        `json:"password"`
	Disabled *bool          `json:"disabled"`
	Grants   *[]store.Grant `json:"grants"`
}

func (s *Server) updateUser(r *http.Request, id int64, up userPatch) error {
	var su store.UserUpdate
	self := principal(r).UserID == id
	if up.Role != nil {
		role, err := auth.ParseRole(*up.Role)
		if err != nil {
			return errInput{err}
		}
		if self && role != auth.Admin {
			return errInput{errors.New("role: you cannot take the admin role from yourself")}
		}
		rs := string(role)
		su.Role = &rs
	}
	if up.Disabled != nil {
		if self && *up.Disabled {
			return errInput{errors.New("disabled: you cannot disable your own account")}
		}
		su.Disabled = up.Disabled
	}
	if up.Password != nil {
		if err := auth.ValidatePassword(*up.Password); err != nil {
			return errInput{err}
		}
		hash, err := auth.HashPassword(*up.Password, s.opts.Argon2)
		if err != nil {
			return err
		}
		su.PasswordHash = &hash
	}
	if up.Grants != nil {
		if err := validateGrants(*up.Grants); err != nil {
			return errInput{err}
		}
		su.Grants = up.Grants
	}
	if err := s.st.UpdateUser(r.Context(), id, su); err != nil {
		return err
	}
	s.log.Info("user updated", "by", principal(r).Username, "user_id", id, "password_changed", up.Password != nil)
	return nil
}

func (s *Server) apiUpdateUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var up userPatch
	if !readJSON(w, r, &up) {
		return
	}
	if err := s.updateUser(r, id, up); err != nil {
		s.inputProblem(w, r, err)
		return
	}
	u, err := s.st.UserByID(r.Context(), id)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userOut(u))
}

func (s *Server) apiDeleteUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if id == principal(r).UserID {
		problem(w, r, http.StatusUnprocessableEntity, "you cannot delete your own account")
		return
	}
	if err := s.st.DeleteUser(r.Context(), id); err != nil {
		s.storeProblem(w, r, err)
		return
	}
	s.log.Info("user deleted", "by", principal(r).Username, "user_id", id)
	w.WriteHeader(http.StatusNoContent)
}

type keyOut struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Prefix   string    `json:"prefix"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
	// Key is the secret, returned once when the key is created.
	Key string `json:"key,omitempty"`
}

func (s *Server) apiKeys(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if _, err := s.st.UserByID(r.Context(), id); err != nil {
		s.storeProblem(w, r, err)
		return
	}
	keys, err := s.st.APIKeys(r.Context(), id)
	if err != nil {
		s.storeProblem(w, r, err)
		return
	}
	out := make([]keyOut, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyOut{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Created: k.Created, LastUsed: k.LastUsed})
	}
	writeJSON(w, http.StatusOK, out)
}

type keyCreate struct {
	Name string `json:"name"`
}

func (s *Server) createKey(r *http.Request, userID int64, name string) (keyOut, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return keyOut{}, errInput{errors.New("name: give the key a name of 1-100 characters (e.g. \"ci\")")}
	}
	if _, err := s.st.UserByID(r.Context(), userID); err != nil {
		return keyOut{}, err
	}
	key, prefix, hash := auth.NewAPIKey()
	id, err := s.st.CreateAPIKey(r.Context(), userID, name, prefix, hash)
	if err != nil {
		return keyOut{}, err
	}
	s.log.Info("api key created", "by", principal(r).Username, "user_id", userID, "key_id", id, "name", name)
	return keyOut{ID: id, Name: name, Prefix: prefix, Created: time.Now().UTC(), Key: key}, nil
}

func (s *Server) apiCreateKey(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var kc keyCreate
	if !readJSON(w, r, &kc) {
		return
	}
	k, err := s.createKey(r, id, kc.Name)
	if err != nil {
		s.inputProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

func (s *Server) apiDeleteKey(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	kid, ok := pathID(w, r, "key")
	if !ok {
		return
	}
	if err := s.st.DeleteAPIKey(r.Context(), id, kid); err != nil {
		s.storeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
