package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/sbom"
)

// projectRoutes: projects, their versions (SBOM uploads), exports and
// comparisons, and the portfolio's trend (internal/project).
func (s *Server) projectRoutes() []route {
	return []route{
		s.api("GET /api/v1/projects", auth.Viewer, s.apiProjects),
		s.api("POST /api/v1/projects", auth.Admin, s.apiCreateProject),
		s.api("GET /api/v1/projects/{name}", auth.Viewer, s.apiProject),
		s.api("PATCH /api/v1/projects/{name}", auth.Admin, s.apiUpdateProject),
		s.api("DELETE /api/v1/projects/{name}", auth.Admin, s.apiDeleteProject),
		newRoute("PUT /api/v1/projects/{name}/versions/{version}", auth.Viewer, s.serveAPILimit(maxUpload, s.apiUploadVersion)).uploading(),
		s.api("GET /api/v1/projects/{name}/versions/{version}", auth.Viewer, s.apiProjectVersion),
		s.api("DELETE /api/v1/projects/{name}/versions/{version}", auth.Viewer, s.apiDeleteVersion).uploading(),
		s.plain("GET /api/v1/projects/{name}/versions/{version}/export", auth.Viewer, s.apiExportVersion),
		s.api("GET /api/v1/projects/{name}/diff", auth.Viewer, s.apiProjectDiff),
		s.api("GET /api/v1/portfolio/trend", auth.Viewer, s.apiPortfolioTrend),
	}
}

// maxUpload bounds an upload's request body: the largest SBOM plus room
// for a multipart envelope.
const maxUpload = sbom.MaxSize + 1<<20

func portfolioFilter(q url.Values) (project.Filter, error) {
	f := project.Filter{Q: q.Get("q"), Tag: q.Get("tag"), Sort: q.Get("sort"), Desc: q.Get("desc") == "true"}
	if f.Sort != "" && !slices.Contains(project.SortKeys, f.Sort) {
		return f, badRequest(fmt.Errorf("sort %q: want one of %s", f.Sort, strings.Join(project.SortKeys, ", ")))
	}
	return f, nil
}

func (s *Server) apiProjects(r *http.Request) (any, error) {
	f, err := portfolioFilter(r.URL.Query())
	if err != nil {
		return nil, err
	}
	rows, total, err := s.projects.Portfolio(r.Context(), f)
	if err != nil {
		return nil, err
	}
	if rows == nil {
		rows = []project.Summary{}
	}
	last, err := s.projects.LastAnalysis(r.Context())
	return project.PortfolioPage{Projects: rows, Totals: total, LastAnalysis: last}, err
}

type projectIn struct {
	Name        string    `json:"name"`
	Description *string   `json:"description"`
	Tags        *[]string `json:"tags"`
	Uploaders   *[]string `json:"uploaders"`
	Assessors   *[]string `json:"assessors"`
}

// saveGrants applies the uploaders and assessors lists of a request.
func (s *Server) saveGrants(ctx context.Context, name string, in projectIn) error {
	if in.Uploaders != nil {
		if err := s.projects.SetGrantHolders(ctx, name, project.PermUpload, cleanAssessors(in.Uploaders)); err != nil {
			return err
		}
	}
	if in.Assessors != nil {
		return s.projects.SetGrantHolders(ctx, name, project.PermAssess, cleanAssessors(in.Assessors))
	}
	return nil
}

func (s *Server) apiCreateProject(r *http.Request) (any, error) {
	var in projectIn
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	desc, tags := "", []string(nil)
	if in.Description != nil {
		desc = *in.Description
	}
	if in.Tags != nil {
		tags = *in.Tags
	}
	if _, err := s.projects.Create(r.Context(), in.Name, desc, tags); err != nil {
		return nil, err
	}
	if err := s.saveGrants(r.Context(), in.Name, in); err != nil {
		// The project is created with its grants or not at all.
		if derr := s.projects.Delete(r.Context(), in.Name); derr != nil {
			s.log.Error("removing a project whose grants failed", "project", in.Name, "err", derr)
		}
		return nil, err
	}
	rep, err := s.projects.Report(r.Context(), in.Name)
	if err != nil {
		return nil, err
	}
	return created("/api/v1/projects/"+url.PathEscape(in.Name), rep), nil
}

func (s *Server) apiProject(r *http.Request) (any, error) {
	return s.projects.Report(r.Context(), r.PathValue("name"))
}

func (s *Server) apiUpdateProject(r *http.Request) (any, error) {
	name := r.PathValue("name")
	var in projectIn
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name != "" && in.Name != name {
		return nil, badRequest(errors.New("name: projects cannot be renamed (it is their assessment scope)"))
	}
	if _, err := s.projects.Update(r.Context(), name, in.Description, in.Tags); err != nil {
		return nil, err
	}
	if err := s.saveGrants(r.Context(), name, in); err != nil {
		return nil, err
	}
	return s.projects.Report(r.Context(), name)
}

func (s *Server) apiDeleteProject(r *http.Request) (any, error) {
	if err := s.projects.Delete(r.Context(), r.PathValue("name")); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// uploadBody returns the SBOM of an upload request: the "file" part of a
// multipart form, or the raw body; and the file name (?filename=, else
// the part's).
func uploadBody(r *http.Request) (io.Reader, string, error) {
	name := r.URL.Query().Get("filename")
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return r.Body, name, nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, "", badRequest(errors.New("multipart body without a \"file\" part"))
		}
		if part.FormName() == "file" {
			if name == "" {
				name = part.FileName()
			}
			return part, name, nil
		}
	}
}

func (s *Server) apiUploadVersion(r *http.Request) (any, error) {
	name, version := r.PathValue("name"), r.PathValue("version")
	p := principal(r)
	if !canUpload(p, name) {
		return nil, mayNotUpload("upload to", name)
	}
	body, file, err := uploadBody(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	res, err := s.projects.Upload(r.Context(), project.UploadRequest{Project: name, Version: version, FileName: file, Body: body,
		By: p.Username, Description: q.Get("description"), Tags: multi(q, "tags")})
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errStatus(http.StatusRequestEntityTooLarge, "the upload is larger than %d MiB", tooLarge.Limit>>20)
	}
	return res, err
}

func (s *Server) apiProjectVersion(r *http.Request) (any, error) {
	return s.projects.VersionReport(r.Context(), r.PathValue("name"), r.PathValue("version"), r.URL.Query().Get("all") != "true")
}

func (s *Server) apiDeleteVersion(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if !canUpload(principal(r), name) {
		return nil, mayNotUpload("delete versions of", name)
	}
	if err := s.projects.DeleteVersion(r.Context(), name, r.PathValue("version")); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// exportExt is the file name extension of each export format.
var exportExt = map[string]string{"csv": "csv", "json": "json", "sarif": "sarif", "cyclonedx": "vex.cdx.json", "openvex": "openvex.json"}

// apiExportVersion streams a version's findings as a file (a plain
// handler: the body is not JSON and is written as it is produced).
func (s *Server) apiExportVersion(w http.ResponseWriter, r *http.Request) {
	name, version := r.PathValue("name"), r.PathValue("version")
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if !slices.Contains(project.ExportFormats, format) {
		s.fail(w, r, badRequest(fmt.Errorf("format %q: want one of %s", format, strings.Join(project.ExportFormats, ", "))))
		return
	}
	if _, err := s.st.ProjectVersion(r.Context(), name, version); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", project.ExportContentType(format))
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+"-"+version+"."+exportExt[format]))
	if err := s.projects.Export(r.Context(), w, name, version, format, s.opts.Version); err != nil {
		// The status is sent; the truncated file is the client's sign.
		s.log.Error("project export", "project", name, "version", version, "err", err)
	}
}

func (s *Server) apiProjectDiff(r *http.Request) (any, error) {
	q := r.URL.Query()
	if q.Get("from") == "" || q.Get("to") == "" {
		return nil, badRequest(errors.New("from and to (two versions) are required"))
	}
	return s.projects.Compare(r.Context(), r.PathValue("name"), q.Get("from"), q.Get("to"))
}

// trendPoint is one day of GET /api/v1/portfolio/trend.
type trendPoint struct {
	Day        string `json:"day"`
	Projects   int    `json:"projects"`
	Versions   int    `json:"versions"`
	Components int    `json:"components"`
	Vulnerable int    `json:"vulnerable"`
	Findings   int    `json:"findings"`
	Critical   int    `json:"critical"`
	High       int    `json:"high"`
	Medium     int    `json:"medium"`
	Low        int    `json:"low"`
	Unknown    int    `json:"unknown"`
	Malicious  int    `json:"malicious"`
	Unassessed int    `json:"unassessed"`
	Blocked    int    `json:"blocked"`
}

type trendOut struct {
	Days      int          `json:"days"`
	Snapshots []trendPoint `json:"snapshots"`
}

// portfolioTrend returns the daily snapshots of the last days days.
func (s *Server) portfolioTrend(ctx context.Context, days int) (trendOut, error) {
	snaps, err := s.projects.Trend(ctx, days)
	out := trendOut{Days: days, Snapshots: []trendPoint{}}
	for _, x := range snaps {
		out.Snapshots = append(out.Snapshots, trendPoint{Day: x.Day, Projects: x.Projects, Versions: x.Versions, Components: x.Components, Vulnerable: x.Vulnerable,
			Findings: x.Findings, Critical: x.Critical, High: x.High, Medium: x.Medium, Low: x.Low, Unknown: x.Unknown,
			Malicious: x.Malicious, Unassessed: x.Unassessed, Blocked: x.Blocked})
	}
	return out, err
}

func (s *Server) apiPortfolioTrend(r *http.Request) (any, error) {
	days, err := intParam(r.URL.Query(), "days", 30, 1, 366)
	if err != nil {
		return nil, badRequest(err)
	}
	return s.portfolioTrend(r.Context(), days)
}
