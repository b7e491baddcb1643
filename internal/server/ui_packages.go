package server

import (
	"net/http"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
)

// packagePages: a package's findings and decision in a scope.
func (s *Server) packagePages() []route {
	return []route{
		s.plain("GET /packages", auth.Viewer, s.uiPackage),
	}
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
		s.uiFail(w, r, err, nil)
		return
	}
	data["Pkg"] = out
	s.render(w, r, http.StatusOK, "package", out.Name+" "+out.Version, data, "")
}
