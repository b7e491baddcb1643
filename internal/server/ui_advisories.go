package server

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
)

// advisoryPages: the dashboard, the vulnerability list and a
// vulnerability's page (with its assessments, ui_assess.go).
func (s *Server) advisoryPages() []route {
	return []route{
		s.plain("GET /{$}", auth.Viewer, s.uiDashboard),
		s.plain("GET /vulnerabilities", auth.Viewer, s.uiVulns),
		s.plain("GET /vulnerabilities/{id}", auth.Viewer, s.uiVuln),
	}
}

type bar struct {
	Rating, Label                  string
	Count, Y, TextY, Width, LabelX int
}

func (s *Server) uiDashboard(w http.ResponseWriter, r *http.Request) {
	st, err := s.stats(r)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	bars := severityBars(st.BySeverity)
	findings, err := s.findingsOverview(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	feeds, err := s.feedsOverview(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	mal, err := s.malicious(r.Context(), st)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	pf, err := s.portfolioDashboard(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	s.render(w, r, http.StatusOK, "dashboard", "Dashboard", map[string]any{"Stats": st, "Bars": bars, "ChartHeight": len(severities) * 28, "Malicious": mal, "Portfolio": pf,
		"Findings": findings, "Feeds": feeds}, "")
}

func (s *Server) uiVulns(w http.ResponseWriter, r *http.Request) {
	f, ferr := s.advisoryFilter(r)
	if ferr != nil && statusOf(ferr) >= 500 {
		s.uiFail(w, r, ferr, nil)
		return
	}
	data := map[string]any{"Severities": severities, "Query": r.URL.Query().Get("q"), "Severity": strings.ToUpper(r.URL.Query().Get("severity")),
		"Source": r.URL.Query().Get("source"), "Ecosystem": r.URL.Query().Get("ecosystem"),
		"Assessment": f.Assessment, "Scope": f.AssessScope, "Scopes": s.scopeChoices(r), "CanAssess": mayAssessSomewhere(principal(r)),
		"Back": r.URL.RequestURI()}
	if data["Scope"] == "" {
		data["Scope"] = assess.Global
	}
	types, err := s.assess.Types(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	var tnames []string
	for _, t := range types {
		tnames = append(tnames, t.Name)
	}
	data["Types"] = tnames
	for col, key := range map[string]string{"source": "Sources", "ecosystem": "Ecosystems"} {
		counts, err := s.st.CountSummaries(r.Context(), col)
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		var keys []string
		for _, c := range counts {
			keys = append(keys, c.Key)
		}
		sort.Strings(keys)
		data[key] = keys
	}
	if ferr != nil {
		data["Page"] = advisoryPage{}
		s.render(w, r, http.StatusBadRequest, "vulns", "Vulnerabilities", data, ferr.Error())
		return
	}
	page, err := s.listAdvisories(r, f)
	if err != nil {
		s.uiFail(w, r, err, nil)
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

// vulnPage renders the vulnerability detail with its assessments.
func (s *Server) vulnPage(w http.ResponseWriter, r *http.Request, id string, status int, errMsg string) {
	d, err := s.advisoryDetail(r, id)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	data := map[string]any{"D": d}
	if err := s.vulnAssessData(r, d.ID, data); err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	if data["Affected"], err = s.affected(r.Context(), d); err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	s.render(w, r, status, "vuln", d.ID, data, errMsg)
}
