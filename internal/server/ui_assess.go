package server

// The assessment pages: assess forms on the vulnerability detail, bulk
// assess on the Vulnerabilities list, and Administration > Assessment
// (types and policies for unassessed vulnerabilities). Forms post to the
// same origin; http.CrossOriginProtection refuses cross-site posts.

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
)

// assessPages: assessing from the vulnerability pages, and
// Administration › Assessment.
func (s *Server) assessPages() []route {
	return []route{
		s.plain("POST /vulnerabilities/{id}/assess", "", s.uiAssess).assessing(),
		s.plain("POST /vulnerabilities/{id}/clear", "", s.uiClear).assessing(),
		s.plain("POST /vulnerabilities/assess", "", s.uiBulkAssess).assessing(),
		s.plain("GET /admin/assessment", auth.Admin, s.uiAssessAdmin),
		s.plain("POST /admin/assessment/types", auth.Admin, s.uiCreateType),
		s.plain("POST /admin/assessment/types/{name}/delete", auth.Admin, s.uiDeleteType),
		s.plain("POST /admin/assessment/policies", auth.Admin, s.uiSetPolicy),
	}
}

// scopeChoices lists the scopes offered in forms: global, then the scopes
// with recorded findings.
func (s *Server) scopeChoices(r *http.Request) []string {
	out := []string{assess.Global}
	scopes, err := s.st.FindingScopes(r.Context())
	if err != nil {
		s.log.Warn("listing finding scopes", "err", err)
		return out
	}
	for _, sc := range scopes {
		if sc != assess.Global {
			out = append(out, sc)
		}
	}
	return out
}

// vulnAssessData adds what the vulnerability page needs to assess: the
// current assessments in every scope, the history, the types.
func (s *Server) vulnAssessData(r *http.Request, id string, data map[string]any) error {
	as, err := s.assess.List(r.Context(), assess.ListFilter{VulnID: id, IncludeExpired: true})
	if err != nil {
		return err
	}
	hist, err := s.history(r.Context(), id)
	if err != nil {
		return err
	}
	types, err := s.assess.Types(r.Context())
	if err != nil {
		return err
	}
	tj := typesOut(types)
	// Newest first on the page.
	for i, j := 0, len(hist)-1; i < j; i, j = i+1, j-1 {
		hist[i], hist[j] = hist[j], hist[i]
	}
	p := principal(r)
	data["Assessments"] = assessmentsOut(as)
	data["History"] = hist
	data["Types"] = tj
	data["Scopes"] = s.scopeChoices(r)
	data["CanAssess"] = mayAssessSomewhere(p)
	data["Now"] = s.assess.Now()
	return nil
}

func (s *Server) uiAssess(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	r.ParseForm()
	id := r.PathValue("id")
	in := assessRequest{VulnID: id, Scope: r.PostFormValue("scope"), Type: r.PostFormValue("type"), Comment: r.PostFormValue("comment"), Expires: r.PostFormValue("expires")}
	if _, err := s.assessOne(r, in); err != nil {
		s.uiFail(w, r, err, s.vulnAgain(w, r, id))
		return
	}
	http.Redirect(w, r, "/vulnerabilities/"+url.PathEscape(id)+"?ok=assessed#assessments", http.StatusSeeOther)
}

// vulnAgain re-renders a vulnerability's page with a caller's mistake;
// refusals (403) get an error page.
func (s *Server) vulnAgain(w http.ResponseWriter, r *http.Request, id string) func(int, string) {
	return func(status int, msg string) {
		if status == http.StatusForbidden {
			s.renderError(w, r, status, msg)
			return
		}
		s.vulnPage(w, r, id, status, msg)
	}
}

func (s *Server) uiClear(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id := r.PathValue("id")
	vid := strings.TrimSpace(r.PostFormValue("vuln_id"))
	if vid == "" {
		vid = id
	}
	if err := s.clearAssessment(r, vid, r.PostFormValue("scope")); err != nil {
		s.uiFail(w, r, err, s.vulnAgain(w, r, id))
		return
	}
	http.Redirect(w, r, "/vulnerabilities/"+url.PathEscape(id)+"?ok=cleared#assessments", http.StatusSeeOther)
}

func (s *Server) uiBulkAssess(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	r.ParseForm()
	in := bulkRequest{VulnIDs: r.PostForm["vuln_ids"], Scope: r.PostFormValue("scope"), Type: r.PostFormValue("type"), Comment: r.PostFormValue("comment"), Expires: r.PostFormValue("expires")}
	back := safeNext(r.PostFormValue("back"))
	if !strings.HasPrefix(back, "/vulnerabilities") {
		back = "/vulnerabilities"
	}
	if _, err := s.bulkAssess(r, in); err != nil {
		s.uiFail(w, r, err, func(status int, msg string) {
			if status != http.StatusForbidden {
				msg = "Nothing was assessed: " + msg
			}
			s.renderError(w, r, status, msg)
		})
		return
	}
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	http.Redirect(w, r, back+sep+"ok=bulkassessed", http.StatusSeeOther)
}

func (s *Server) assessAdminPage(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	types, err := s.assess.Types(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	ps, err := s.policies(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	s.render(w, r, status, "assessment", "Assessment", map[string]any{"Types": typesOut(types), "Policies": ps, "Scopes": s.scopeChoices(r),
		"Effects": []assess.Effect{assess.Allow, assess.Warn, assess.Block}}, errMsg)
}

func (s *Server) uiAssessAdmin(w http.ResponseWriter, r *http.Request) {
	s.assessAdminPage(w, r, http.StatusOK, "")
}

func (s *Server) uiAdminError(w http.ResponseWriter, r *http.Request, err error) {
	s.uiFail(w, r, err, func(status int, msg string) { s.assessAdminPage(w, r, status, msg) })
}

func (s *Server) uiCreateType(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostFormValue
	t, err := typeIn(f("name"), f("effect"), f("auto_range"), f("expiry"), f("description"))
	kev, epss := f("auto_kev") != "", f("auto_epss")
	if err == nil {
		err = exploitRules(&t, &kev, &epss)
	}
	if err == nil {
		err = s.assess.CreateType(r.Context(), t)
	}
	if err != nil {
		s.uiAdminError(w, r, err)
		return
	}
	s.log.Info("assessment type created", "by", principal(r).Username, "type", t.Name, "effect", t.Effect)
	http.Redirect(w, r, "/admin/assessment?ok=typecreated", http.StatusSeeOther)
}

func (s *Server) uiDeleteType(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.assess.DeleteType(r.Context(), name); err != nil {
		s.uiAdminError(w, r, err)
		return
	}
	s.log.Info("assessment type deleted", "by", principal(r).Username, "type", name)
	http.Redirect(w, r, "/admin/assessment?ok=deleted", http.StatusSeeOther)
}

func (s *Server) uiSetPolicy(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	scope := strings.TrimSpace(r.PostFormValue("scope"))
	if v := strings.TrimSpace(r.PostFormValue("scope_other")); v != "" {
		scope = v
	}
	if _, err := s.setPolicy(r, scope, r.PostFormValue("effect")); err != nil {
		s.uiAdminError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/assessment?ok=saved", http.StatusSeeOther)
}
