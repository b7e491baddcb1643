package server

// The pages of projects: the portfolio
// (/projects, with the upload form), a project (/projects/{name}: versions,
// the chosen version's vulnerable components with findings, assessments,
// decisions and dependency paths, exports, and the comparison of two
// versions).

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/project"
)

func (s *Server) projectPages() []route {
	return []route{
		s.plain("GET /projects", auth.Viewer, s.uiPortfolio),
		s.plain("POST /projects/upload", auth.Viewer, s.uiUpload),
		s.plain("GET /projects/{name}", auth.Viewer, s.uiProject),
	}
}

func (s *Server) uiPortfolio(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := project.Filter{Q: q.Get("q"), Tag: q.Get("tag"), Sort: q.Get("sort"), Desc: q.Get("desc") == "true"}
	rows, total, err := s.projects.Portfolio(r.Context(), f)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	last, _ := s.projects.LastAnalysis(r.Context())
	s.render(w, r, http.StatusOK, "projects", "Projects", map[string]any{"Rows": rows, "Total": total, "F": f, "Sorts": project.SortKeys, "Last": last}, "")
}

func (s *Server) uiUpload(w http.ResponseWriter, r *http.Request) {
	name, version := strings.TrimSpace(r.FormValue("project")), strings.TrimSpace(r.FormValue("version"))
	if !canUpload(principal(r), name) {
		s.renderError(w, r, http.StatusForbidden, "You may not upload to project "+name+": this needs the admin role or an upload grant for project:"+name+".")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 260<<20)
	file, hdr, err := r.FormFile("file")
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Choose an SBOM file to upload.")
		return
	}
	defer file.Close()
	_, err = s.projects.Upload(r.Context(), project.UploadRequest{Project: name, Version: version, FileName: hdr.Filename, Body: file, By: principal(r).Username})
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/projects/"+url.PathEscape(name)+"?version="+url.QueryEscape(version)+"&ok=saved", http.StatusSeeOther)
}

func (s *Server) uiProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rep, err := s.projects.Report(r.Context(), name)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	q := r.URL.Query()
	data := map[string]any{"P": rep, "Scope": project.Scope(name), "Formats": project.ExportFormats}
	version := q.Get("version")
	if version == "" && len(rep.Versions) > 0 {
		version = rep.Versions[0].Version
	}
	if version != "" {
		v, err := s.projects.VersionReport(r.Context(), name, version, q.Get("all") != "true")
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		data["V"] = v
	}
	if from, to := q.Get("from"), q.Get("to"); from != "" && to != "" {
		d, err := s.projects.Compare(r.Context(), name, from, to)
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		data["D"] = d
	}
	s.render(w, r, http.StatusOK, "project", "Project "+name, data, "")
}
