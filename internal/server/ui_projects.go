package server

// The pages of projects: the portfolio
// (/projects, with the upload form), a project (/projects/{name}: versions,
// the project's open findings a page at a time with the findings API's
// filters, the chosen version's vulnerable components a page at a time
// with findings, assessments, decisions and dependency paths, exports, and
// the comparison of two versions).

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/store"
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
	http.Redirect(w, r, "/projects/"+url.PathEscape(name)+"?version="+url.QueryEscape(version)+"&ok=uploaded", http.StatusSeeOther)
}

func (s *Server) uiProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rep, err := s.projects.Report(r.Context(), name)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	data := map[string]any{"P": rep, "Scope": project.Scope(name), "Formats": project.ExportFormats, "From": from, "To": to}
	if from == "" && to == "" && len(rep.Versions) >= 2 {
		// The comparison form offers the newest upload against the one before.
		data["From"], data["To"] = rep.Versions[1].Version, rep.Versions[0].Version
	}
	status, errMsg := http.StatusOK, ""
	if msg, err := s.projectFindings(r, name, data); err != nil {
		s.uiFail(w, r, err, nil)
		return
	} else if msg != "" {
		status, errMsg = http.StatusBadRequest, msg
	}
	version := q.Get("version")
	if version == "" {
		version = to
	}
	if version == "" && len(rep.Versions) > 0 {
		version = rep.Versions[0].Version
	}
	if version != "" {
		v, err := s.projects.VersionReport(r.Context(), name, version, q.Get("all") != "true")
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		sortForPeople(v.Components)
		// One page of components: at 10,000 findings the whole table
		// was 15 MB of HTML.
		coff, err := intParam(q, "coffset", 0, 0, 1<<30)
		climit, lerr := intParam(q, "climit", componentsPerPage, 1, maxPage)
		if err = cmp.Or(err, lerr); err != nil {
			status, errMsg, coff, climit = http.StatusBadRequest, err.Error(), 0, componentsPerPage
		}
		n := len(v.Components)
		data["CTotal"], data["CFrom"] = n, min(coff, n)+1
		data["CPrev"], data["CNext"] = pagerLink(r, "coffset", coff, -climit, n), pagerLink(r, "coffset", coff, climit, n)
		v.Components = v.Components[min(coff, n):min(coff+climit, n)]
		data["CTo"] = min(coff, n) + len(v.Components)
		data["V"] = v
	}
	if from != "" && to != "" {
		d, err := s.projects.Compare(r.Context(), name, from, to)
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		data["D"] = d
	}
	s.render(w, r, status, "project", "Project "+name, data, errMsg)
}

// componentsPerPage is how many of a version's components the project
// page shows at a time unless climit says otherwise.
const componentsPerPage = 50

// projectFindings puts one page of the project's open findings in data:
// the list of the findings API (GET /api/v1/findings?project=NAME), with
// its filters (severity, source, ecosystem, q, assessment) and paging
// (offset, limit). A bad filter is shown as the page's error (msg), with
// the unfiltered first page.
func (s *Server) projectFindings(r *http.Request, name string, data map[string]any) (msg string, err error) {
	f, ts, err := s.parseFindingFilter(r)
	if err != nil {
		if statusOf(err) >= 500 {
			return "", err
		}
		msg, f = err.Error(), store.FindingPageFilter{Limit: 50, Now: s.assess.Now().UTC()}
	}
	f.Scopes = []string{project.Scope(name)}
	page, types, err := s.listFindings(r.Context(), f, ts)
	if err == nil && types == nil { // the page needed none: the filter offers them all
		types, err = s.assess.Types(r.Context())
	}
	if err != nil {
		return "", err
	}
	var tnames []string
	for _, t := range types {
		tnames = append(tnames, t.Name)
	}
	q := r.URL.Query()
	data["Findings"], data["Types"], data["Severities"] = page, tnames, severities
	data["FSeverity"], data["FAssessment"], data["FQuery"] = strings.ToUpper(q.Get("severity")), f.Assessment, q.Get("q")
	data["FFrom"], data["FTo"] = page.Offset+1, page.Offset+len(page.Items)
	data["FPrev"], data["FNext"] = pagerLink(r, "offset", page.Offset, -page.Limit, page.Total), pagerLink(r, "offset", page.Offset, page.Limit, page.Total)
	return msg, nil
}

// ratingRank orders severity ratings, malicious first.
var ratingRank = map[string]int{"MALICIOUS": 6, "CRITICAL": 5, "HIGH": 4, "MEDIUM": 3, "LOW": 2, "NONE": 1}

// effectRank orders decisions, block first.
var effectRank = map[string]int{"block": 3, "warn": 2, "allow": 1}

// sortForPeople orders a version's components for the page: blocked
// first, then by their most severe finding, then by name; findings most
// severe first.
func sortForPeople(cs []project.ComponentReport) {
	worst := func(c project.ComponentReport) int {
		w := 0
		for _, f := range c.Findings {
			w = max(w, ratingRank[f.Rating])
		}
		return w
	}
	for _, c := range cs {
		slices.SortStableFunc(c.Findings, func(a, b project.FindingReport) int { return ratingRank[b.Rating] - ratingRank[a.Rating] })
	}
	slices.SortStableFunc(cs, func(a, b project.ComponentReport) int {
		return cmp.Or(effectRank[b.Decision]-effectRank[a.Decision], worst(b)-worst(a), strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version))
	})
}
