package server

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/server/web"
	"github.com/vulngate/vulngate/internal/store"
)

var funcs = template.FuncMap{
	"join": strings.Join,
	"joinMax": func(s []string, n int) string {
		if len(s) > n {
			return strings.Join(s[:n], ", ") + fmt.Sprintf(", … (%d more)", len(s)-n)
		}
		return strings.Join(s, ", ")
	},
	"sub":     func(a, b int) int { return a - b },
	"safeURL": catalog.SafeURL,
	"fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"fmtDate": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"grants": func(gs []store.Grant) string {
		var out []string
		for _, g := range gs {
			if g.Permission == auth.PermAssess {
				out = append(out, g.Scope)
			}
		}
		return strings.Join(out, ", ")
	},
}

func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(web.Templates, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(web.Templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(web.Templates, n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

type pageData struct {
	Title   string
	User    *auth.Principal
	IsAdmin bool
	Msg     string
	Err     string
	Data    any
}

// flash messages are fixed texts chosen by a code in the query, so a link
// cannot put arbitrary text on the page.
var flashes = map[string]string{
	"saved":        "Saved.",
	"run":          "The job was started.",
	"running":      "The job is already running; its current run is shown.",
	"created":      "User created.",
	"deleted":      "Deleted.",
	"revoked":      "API key revoked.",
	"password":     "Password changed.",
	"loggedout":    "You are logged out.",
	"userupdated":  "User updated.",
	"assessed":     "Assessment saved.",
	"bulkassessed": "The selected vulnerabilities were assessed.",
	"cleared":      "Assessment cleared.",
	"typecreated":  "Assessment type created.",
	"feedcreated":  "Feed created. Point a client at it as shown below.",
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, title string, data any, errMsg string) {
	t, ok := s.pages[page]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	p := principal(r)
	pd := pageData{Title: title, User: p, IsAdmin: p.Is(auth.Admin), Msg: flashes[r.URL.Query().Get("ok")], Err: errMsg, Data: data}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		s.log.Error("rendering page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", http.StatusText(status), map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg}, "")
}

func (s *Server) uiInternal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrMissing) {
		s.renderError(w, r, http.StatusNotFound, err.Error())
		return
	}
	s.log.Error("page failed", "path", r.URL.Path, "err", err)
	s.renderError(w, r, http.StatusInternalServerError, "Something went wrong; see the server log.")
}

func (s *Server) registerUI() {
	static, _ := fs.Sub(web.Static, "static")
	fileServer := http.FileServerFS(static)
	s.handle("GET /static/", "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.StripPrefix("/static/", fileServer).ServeHTTP(w, r)
	})
	s.handle("GET /login", "", s.uiLoginPage)
	s.handle("POST /login", "", s.uiLogin)
	s.handle("POST /logout", "", s.uiLogout)
	s.handle("GET /{$}", auth.Viewer, s.uiDashboard)
	s.handle("GET /vulnerabilities", auth.Viewer, s.uiVulns)
	s.handle("GET /vulnerabilities/{id}", auth.Viewer, s.uiVuln)
	s.handle("GET /packages", auth.Viewer, s.uiPackage)
	s.handle("GET /account", auth.Viewer, s.uiAccount)
	s.handle("POST /account/password", auth.Viewer, s.uiChangePassword)
	s.handle("GET /admin/sources", auth.Admin, s.uiSources)
	s.handle("POST /admin/sources/osv", auth.Admin, s.uiSaveOSV)
	s.handle("POST /admin/sources/ossindex", auth.Admin, s.uiSaveOSSIndex)
	s.handle("GET /admin/jobs", auth.Admin, s.uiJobs)
	s.handle("POST /admin/jobs/{name}/run", auth.Admin, s.uiRunJob)
	s.handle("POST /admin/jobs/{name}/schedule", auth.Admin, s.uiScheduleJob)
	s.handle("GET /admin/jobs/{name}/runs/{id}", auth.Admin, s.uiRun)
	s.handle("GET /admin/users", auth.Admin, s.uiUsers)
	s.handle("POST /admin/users", auth.Admin, s.uiCreateUser)
	s.handle("POST /admin/users/{id}", auth.Admin, s.uiUpdateUser)
	s.handle("POST /admin/users/{id}/delete", auth.Admin, s.uiDeleteUser)
	s.handle("POST /admin/users/{id}/keys", auth.Admin, s.uiCreateKey)
	s.handle("POST /admin/users/{id}/keys/{key}/delete", auth.Admin, s.uiDeleteKey)
	s.registerAssessUI()
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) uiLoginPage(w http.ResponseWriter, r *http.Request) {
	if principal(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", "Log in", map[string]string{"Next": safeNext(r.URL.Query().Get("next")), "Username": ""}, "")
}

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "bad form")
		return
	}
	user, next := r.PostFormValue("username"), safeNext(r.PostFormValue("next"))
	p, status, msg := s.login(w, r, user, r.PostFormValue("password"))
	if p == nil {
		s.render(w, r, status, "login", "Log in", map[string]string{"Next": next, "Username": user}, msg)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request) {
	s.logout(w, r)
	http.Redirect(w, r, "/login?ok=loggedout", http.StatusSeeOther)
}

type bar struct {
	Rating, Label                  string
	Count, Y, TextY, Width, LabelX int
}

func (s *Server) uiDashboard(w http.ResponseWriter, r *http.Request) {
	st, err := s.stats(r)
	if err != nil {
		s.uiInternal(w, r, err)
		return
	}
	maxN := 1
	for _, n := range st.BySeverity {
		maxN = max(maxN, n)
	}
	var bars []bar
	for i, sev := range severities {
		n := st.BySeverity[sev]
		wdt := n * 480 / maxN
		if n > 0 && wdt < 2 {
			wdt = 2
		}
		bars = append(bars, bar{Rating: sev, Label: strings.ToLower(sev), Count: n, Y: i * 28, TextY: i*28 + 15, Width: wdt, LabelX: 90 + wdt + 6})
	}
	s.render(w, r, http.StatusOK, "dashboard", "Dashboard", map[string]any{"Stats": st, "Bars": bars, "ChartHeight": len(severities) * 28}, "")
}

func (s *Server) uiVulns(w http.ResponseWriter, r *http.Request) {
	f, err := s.advisoryFilter(r)
	var ie errInput
	if err != nil && !errors.As(err, &ie) {
		s.uiInternal(w, r, err)
		return
	}
	data := map[string]any{"Severities": severities, "Query": r.URL.Query().Get("q"), "Severity": strings.ToUpper(r.URL.Query().Get("severity")),
		"Source": r.URL.Query().Get("source"), "Ecosystem": r.URL.Query().Get("ecosystem"),
		"Assessment": f.Assessment, "Scope": f.AssessScope, "Scopes": s.scopeChoices(r), "CanAssess": mayAssessSomewhere(principal(r)),
		"Back": r.URL.RequestURI()}
	if data["Scope"] == "" {
		data["Scope"] = assess.Global
	}
	types, terr := s.assess.Types(r.Context())
	if terr != nil {
		s.uiInternal(w, r, terr)
		return
	}
	var tnames []string
	for _, t := range types {
		tnames = append(tnames, t.Name)
	}
	data["Types"] = tnames
	var keys []string
	for _, col := range []string{"source", "ecosystem"} {
		counts, cerr := s.st.CountSummaries(r.Context(), col)
		if cerr != nil {
			s.uiInternal(w, r, cerr)
			return
		}
		keys = keys[:0]
		for _, c := range counts {
			keys = append(keys, c.Key)
		}
		sort.Strings(keys)
		data[map[string]string{"source": "Sources", "ecosystem": "Ecosystems"}[col]] = append([]string(nil), keys...)
	}
	if err != nil {
		data["Page"] = advisoryPage{}
		s.render(w, r, http.StatusBadRequest, "vulns", "Vulnerabilities", data, err.Error())
		return
	}
	page, err := s.listAdvisories(r, f)
	if err != nil {
		s.uiInternal(w, r, err)
		return
	}
	data["Page"] = page
	data["From"], data["To"] = f.Offset+1, f.Offset+len(page.Items)
	link := func(off int) string {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(off))
		return "/vulnerabilities?" + q.Encode()
	}
	if f.Offset > 0 {
		data["PrevURL"] = link(max(0, f.Offset-f.Limit))
	}
	if f.Offset+len(page.Items) < page.Total {
		data["NextURL"] = link(f.Offset + f.Limit)
	}
	s.render(w, r, http.StatusOK, "vulns", "Vulnerabilities", data, "")
}

func (s *Server) uiVuln(w http.ResponseWriter, r *http.Request) {
	s.vulnPage(w, r, r.PathValue("id"), http.StatusOK, "")
}

func (s *Server) uiPackage(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSpace(r.URL.Query().Get("purl"))
	scope, serr := assess.ParseScope(strings.TrimSpace(r.URL.Query().Get("scope")))
	data := map[string]any{"PURL": p, "Scope": scope, "Scopes": s.scopeChoices(r)}
	if serr != nil {
		s.render(w, r, http.StatusBadRequest, "package", "Packages", data, serr.Error())
		return
	}
	if p == "" {
		s.render(w, r, http.StatusOK, "package", "Packages", data, "")
		return
	}
	if !strings.HasPrefix(p, "pkg:") {
		s.render(w, r, http.StatusBadRequest, "package", "Packages", data, "Give a package URL such as pkg:pypi/django@3.2.0.")
		return
	}
	out, err := s.packageFindings(r, p, scope)
	if err != nil {
		s.uiInternal(w, r, err)
		return
	}
	data["Pkg"] = out
	s.render(w, r, http.StatusOK, "package", out.Name+" "+out.Version, data, "")
}

func (s *Server) uiAccount(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "account", "Account", nil, "")
}

func (s *Server) uiChangePassword(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if status, msg := s.changePassword(r, passwordChange{Current: r.PostFormValue("current_password"), New: r.PostFormValue("new_password")}); status != 0 {
		s.render(w, r, status, "account", "Account", nil, msg)
		return
	}
	http.Redirect(w, r, "/login?ok=password", http.StatusSeeOther)
}

type ecoChoice struct {
	Name     string
	Selected bool
}

func (s *Server) sourcesPage(w http.ResponseWriter, r *http.Request, status int, baseURL, errMsg string) {
	osvSet, err := s.osvSettings(r.Context())
	if err != nil {
		s.uiInternal(w, r, err)
		return
	}
	ossSet, err := s.ossIndexSettings(r.Context())
	if err != nil {
		s.uiInternal(w, r, err)
		return
	}
	if baseURL == "" {
		baseURL = osvSet.BaseURL
	}
	data := map[string]any{"OSV": osvSet, "OSS": ossOut(ossSet), "BaseURL": baseURL}
	selected := map[string]bool{}
	for _, e := range osvSet.Ecosystems {
		selected[e] = true
	}
	var ecos []ecoChoice
	if err := validateBaseURL("base URL", baseURL, true); err != nil {
		data["AvailErr"] = err.Error()
	} else if avail, err := s.availableEcosystems(r.Context(), baseURL); err != nil {
		data["AvailErr"] = err.Error()
	} else {
		for _, a := range avail {
			ecos = append(ecos, ecoChoice{Name: a, Selected: selected[a]})
			delete(selected, a)
		}
	}
	var extra []string
	for e := range selected {
		extra = append(extra, e)
	}
	sort.Strings(extra)
	data["Ecos"], data["Extra"] = ecos, strings.Join(extra, ", ")
	s.render(w, r, status, "sources", "Vulnerability sources", data, errMsg)
}

func (s *Server) uiSources(w http.ResponseWriter, r *http.Request) {
	s.sourcesPage(w, r, http.StatusOK, strings.TrimSpace(r.URL.Query().Get("base_url")), "")
}

func (s *Server) uiSaveOSV(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	ecos := r.PostForm["ecosystems"]
	for _, e := range strings.Split(r.PostFormValue("ecosystems_extra"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			ecos = append(ecos, e)
		}
	}
	v := OSVSettings{Enabled: r.PostFormValue("enabled") != "", BaseURL: r.PostFormValue("base_url"), Ecosystems: ecos}
	if _, err := s.putOSVSettings(r.Context(), v); err != nil {
		var ie errInput
		if errors.As(err, &ie) {
			s.sourcesPage(w, r, http.StatusUnprocessableEntity, v.BaseURL, ie.Error())
			return
		}
		s.uiInternal(w, r, err)
		return
	}
	s.log.Info("OSV source updated", "user", principal(r).Username, "enabled", v.Enabled)
	http.Redirect(w, r, "/admin/sources?ok=saved", http.StatusSeeOther)
}

func (s *Server) uiSaveOSSIndex(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	up := OSSIndexUpdate{Enabled: r.PostFormValue("enabled") != "", BaseURL: r.PostFormValue("base_url"), Username: r.PostFormValue("username")}
	if t := r.PostFormValue("token"); t != "" {
		up.Token = &t
	} else if r.PostFormValue("clear_token") != "" {
		empty := ""
		up.Token = &empty
	}
	if _, err := s.putOSSIndexSettings(r.Context(), up); err != nil {
		var ie errInput
		if errors.As(err, &ie) {
			s.sourcesPage(w, r, http.StatusUnprocessableEntity, "", ie.Error())
			return
		}
		s.uiInternal(w, r, err)
		return
	}
	s.log.Info("OSS Index source updated", "user", principal(r).Username, "enabled", up.Enabled)
	http.Redirect(w, r, "/admin/sources?ok=saved", http.StatusSeeOther)
}

type jobView struct {
	jobOut
	Runs []runOut
}

func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	var views []jobView
	for _, inf := range s.runner.Jobs() {
		v := jobView{jobOut: s.jobJSON(r, inf)}
		runs, err := s.st.JobRuns(r.Context(), inf.Name, 10)
		if err != nil {
			s.uiInternal(w, r, err)
			return
		}
		for _, jr := range runs {
			v.Runs = append(v.Runs, runJSON(jr, false))
		}
		views = append(views, v)
	}
	s.render(w, r, status, "jobs", "Scheduled jobs", map[string]any{"Jobs": views}, errMsg)
}

func (s *Server) uiJobs(w http.ResponseWriter, r *http.Request) { s.jobsPage(w, r, http.StatusOK, "") }

func (s *Server) uiRunJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	id, err := s.runNow(r, name)
	switch {
	case errors.Is(err, jobs.ErrRunning):
		http.Redirect(w, r, fmt.Sprintf("/admin/jobs/%s/runs/%d?ok=running", url.PathEscape(name), id), http.StatusSeeOther)
	case errors.Is(err, jobs.ErrUnknownJob):
		s.renderError(w, r, http.StatusNotFound, fmt.Sprintf("No job named %q.", name))
	case err != nil:
		s.uiInternal(w, r, err)
	default:
		http.Redirect(w, r, fmt.Sprintf("/admin/jobs/%s/runs/%d?ok=run", url.PathEscape(name), id), http.StatusSeeOther)
	}
}

func (s *Server) uiScheduleJob(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	name := r.PathValue("name")
	if _, ok := s.runner.Job(name); !ok {
		s.renderError(w, r, http.StatusNotFound, fmt.Sprintf("No job named %q.", name))
		return
	}
	if err := s.runner.SetCron(r.Context(), name, r.PostFormValue("cron")); err != nil {
		s.jobsPage(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	http.Redirect(w, r, "/admin/jobs?ok=saved", http.StatusSeeOther)
}

func (s *Server) uiRun(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	inf, ok := s.runner.Job(name)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, fmt.Sprintf("No job named %q.", name))
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The run ID must be a number.")
		return
	}
	jr, err := s.st.JobRun(r.Context(), name, id)
	if err != nil {
		s.uiInternal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "run", inf.Title, map[string]any{"Run": jr, "Title": inf.Title}, "")
}

type userView struct {
	userJSON
	Keys []store.APIKey
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, status int, extra map[string]any, errMsg string) {
	us, err := s.st.Users(r.Context())
	if err != nil {
		s.uiInternal(w, r, err)
		return
	}
	var views []userView
	for _, u := range us {
		keys, err := s.st.APIKeys(r.Context(), u.ID)
		if err != nil {
			s.uiInternal(w, r, err)
			return
		}
		views = append(views, userView{userJSON: userOut(u), Keys: keys})
	}
	data := map[string]any{"Users": views, "Roles": auth.Roles}
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, r, status, "users", "Users", data, errMsg)
}

func (s *Server) uiUsers(w http.ResponseWriter, r *http.Request) {
	s.usersPage(w, r, http.StatusOK, nil, "")
}

func parseGrants(s string) []store.Grant {
	gs := []store.Grant{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			gs = append(gs, store.Grant{Permission: auth.PermAssess, Scope: p})
		}
	}
	return gs
}

func (s *Server) uiUserError(w http.ResponseWriter, r *http.Request, err error) {
	var ie errInput
	switch {
	case errors.As(err, &ie):
		s.usersPage(w, r, http.StatusUnprocessableEntity, nil, ie.Error())
	case errors.Is(err, store.ErrTaken):
		s.usersPage(w, r, http.StatusConflict, nil, err.Error())
	default:
		s.uiInternal(w, r, err)
	}
}

func (s *Server) uiCreateUser(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	_, err := s.createUser(r, userCreate{Username: strings.TrimSpace(r.PostFormValue("username")), Role: r.PostFormValue("role"),
		Password: r.PostFormValue("password"), Grants: parseGrants(r.PostFormValue("grants"))})
	if err != nil {
		s.uiUserError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?ok=created", http.StatusSeeOther)
}

func (s *Server) uiUserID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The ID must be a number.")
		return 0, false
	}
	return id, true
}

func (s *Server) uiUpdateUser(w http.ResponseWriter, r *http.Request) {
	id, ok := s.uiUserID(w, r, "id")
	if !ok {
		return
	}
	r.ParseForm()
	role := r.PostFormValue("role")
	disabled := r.PostFormValue("disabled") != ""
	grants := parseGrants(r.PostFormValue("grants"))
	up := userPatch{Role: &role, Disabled: &disabled, Grants: &grants}
	if pw := r.PostFormValue("password"); pw != "" {
		up.Password = &pw
	}
	if err := s.updateUser(r, id, up); err != nil {
		s.uiUserError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?ok=userupdated", http.StatusSeeOther)
}

func (s *Server) uiDeleteUser(w http.ResponseWriter, r *http.Request) {
	id, ok := s.uiUserID(w, r, "id")
	if !ok {
		return
	}
	if id == principal(r).UserID {
		s.usersPage(w, r, http.StatusUnprocessableEntity, nil, "You cannot delete your own account.")
		return
	}
	if err := s.st.DeleteUser(r.Context(), id); err != nil {
		s.uiInternal(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?ok=deleted", http.StatusSeeOther)
}

func (s *Server) uiCreateKey(w http.ResponseWriter, r *http.Request) {
	id, ok := s.uiUserID(w, r, "id")
	if !ok {
		return
	}
	r.ParseForm()
	k, err := s.createKey(r, id, r.PostFormValue("name"))
	if err != nil {
		s.uiUserError(w, r, err)
		return
	}
	u, _ := s.st.UserByID(r.Context(), id)
	// The key is rendered into this response only; it is never stored.
	s.usersPage(w, r, http.StatusOK, map[string]any{"NewKey": k, "NewKeyUser": u.Username}, "")
}

func (s *Server) uiDeleteKey(w http.ResponseWriter, r *http.Request) {
	id, ok := s.uiUserID(w, r, "id")
	if !ok {
		return
	}
	kid, ok := s.uiUserID(w, r, "key")
	if !ok {
		return
	}
	if err := s.st.DeleteAPIKey(r.Context(), id, kid); err != nil {
		s.uiInternal(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?ok=revoked", http.StatusSeeOther)
}
