package server

import (
	"net/http"
	"sort"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
)

// sourcePages: Administration › Vulnerability sources.
func (s *Server) sourcePages() []route {
	return []route{
		s.plain("GET /admin/sources", auth.Admin, s.uiSources),
		s.plain("POST /admin/sources/osv", auth.Admin, s.uiSaveOSV),
		s.plain("POST /admin/sources/ossindex", auth.Admin, s.uiSaveOSSIndex),
	}
}

type ecoChoice struct {
	Name     string
	Selected bool
}

func (s *Server) sourcesPage(w http.ResponseWriter, r *http.Request, status int, baseURL, errMsg string) {
	osvSet, err := s.osvSettings(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	ossSet, err := s.ossIndexSettings(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	if baseURL == "" {
		baseURL = osvSet.BaseURL
	}
	en, err := s.enrichView(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	data := map[string]any{"OSV": osvSet, "OSS": ossOut(ossSet), "BaseURL": baseURL, "Enrichment": en}
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
		s.uiFail(w, r, err, func(status int, msg string) { s.sourcesPage(w, r, status, v.BaseURL, msg) })
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
		s.uiFail(w, r, err, func(status int, msg string) { s.sourcesPage(w, r, status, "", msg) })
		return
	}
	s.log.Info("OSS Index source updated", "user", principal(r).Username, "enabled", up.Enabled)
	http.Redirect(w, r, "/admin/sources?ok=saved", http.StatusSeeOther)
}
