package server

// This file holds projects (internal/project) and notifications
// (internal/notify) in the server: the REST routes under /api/v1/projects,
// /api/v1/portfolio and /api/v1/notifications, the jobs (portfolio analysis
// after each mirror run and OSS Index refresh, daily snapshot, expiring
// assessment notices) and the hooks that feed notifications (new findings,
// feed refusals, expired assessments, failed jobs).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/sbom"
	"github.com/vulngate/vulngate/internal/store"
)

// Job names of projects and notifications.
const (
	JobProjectAnalysis   = "project-analysis"
	JobPortfolioSnapshot = "portfolio-snapshot"
	JobExpiryNotices     = "assessment-expiry-notices"
)

// setupProjects builds the project and notification services, hooks them
// to the assessment service and registers their jobs and routes.
func (s *Server) setupProjects(ctx context.Context) error {
	s.projects = project.New(project.Options{Store: s.st, Assess: s.assess, Logger: s.log,
		Scanner: func(ctx context.Context) (*match.Scanner, error) {
			// The scan's sources as for POST /api/v1/scan (it only reads
			// the request's context).
			sc, _, err := s.scanner((&http.Request{}).WithContext(ctx))
			return sc, err
		}})
	var err error
	if s.notify, err = notify.New(ctx, notify.Options{Store: s.st, Logger: s.log, HTTPClient: s.opts.HTTPClient, TLS: s.opts.NotifyTLS}); err != nil {
		return err
	}
	s.assess.OnNewFindings = func(_ context.Context, scope string, fs []store.StoredFinding) {
		s.notify.Publish(notify.NewFindings(scope, fs))
	}
	jobsToAdd := []struct {
		name, title, desc, cron string
		run                     func(ctx context.Context, log *slog.Logger) error
	}{
		{JobProjectAnalysis, "Portfolio analysis", "Re-evaluates the project components whose packages changed since the last analysis (runs after every mirror and OSS Index refresh); records new findings and closes disappeared ones.", "*/30 * * * *", s.analyzeProjects},
		{JobPortfolioSnapshot, "Portfolio snapshot", "Records the day's portfolio metrics for the dashboard's trend.", "55 23 * * *", func(ctx context.Context, log *slog.Logger) error {
			return s.projects.Snapshot(ctx)
		}},
		{JobExpiryNotices, "Assessment expiry notices", "Notifies the rules for assessments expiring within their number of days (once per assessment).", "0 7 * * *", func(ctx context.Context, log *slog.Logger) error {
			n, err := s.notify.CheckExpiring(ctx, s.assess)
			log.Info("expiring assessments notified", "count", n)
			return err
		}},
	}
	for _, j := range jobsToAdd {
		if err := s.runner.Register(ctx, jobs.Job{Name: j.name, Title: j.title, Description: j.desc, DefaultCron: j.cron, Run: j.run}); err != nil {
			return err
		}
	}
	return nil
}

// analyzeProjects runs the portfolio analysis and, when it changed
// anything, the day's snapshot.
func (s *Server) analyzeProjects(ctx context.Context, log *slog.Logger) error {
	if s.projects == nil {
		return nil
	}
	rep, err := s.projects.Analyze(ctx)
	if err != nil {
		return fmt.Errorf("portfolio analysis: %w", err)
	}
	log.Info("portfolio analysed", "changes", rep.Changes, "packages", rep.Packages, "components", rep.Components, "versions", rep.Versions, "new", rep.New, "closed", rep.Closed, "duration", rep.Duration.String())
	if rep.New > 0 || rep.Closed > 0 {
		return s.projects.Snapshot(ctx)
	}
	return nil
}

// jobFailed notifies failed mirror and OSS Index jobs.
func (s *Server) jobFailed(job, status string) {
	if s.notify == nil || status != "failed" {
		return
	}
	switch job {
	case JobOSVMirror, JobOSSIndexRefresh:
		s.notify.JobFailed(job, job, "the run failed; its log is under Scheduled jobs")
	}
}

// projectRoutes are the REST routes of projects and notifications.
func (s *Server) projectRoutes() []route {
	return []route{
		s.plain("GET /api/v1/projects", auth.Viewer, s.apiProjects),
		s.plain("POST /api/v1/projects", auth.Admin, s.apiCreateProject),
		s.plain("GET /api/v1/projects/{name}", auth.Viewer, s.apiProject),
		s.plain("PATCH /api/v1/projects/{name}", auth.Admin, s.apiUpdateProject),
		s.plain("DELETE /api/v1/projects/{name}", auth.Admin, s.apiDeleteProject),
		s.plain("PUT /api/v1/projects/{name}/versions/{version}", auth.Viewer, s.apiUploadVersion).uploading(),
		s.plain("GET /api/v1/projects/{name}/versions/{version}", auth.Viewer, s.apiProjectVersion),
		s.plain("DELETE /api/v1/projects/{name}/versions/{version}", auth.Viewer, s.apiDeleteVersion).uploading(),
		s.plain("GET /api/v1/projects/{name}/versions/{version}/export", auth.Viewer, s.apiExportVersion),
		s.plain("GET /api/v1/projects/{name}/diff", auth.Viewer, s.apiProjectDiff),
		s.plain("GET /api/v1/portfolio/trend", auth.Viewer, s.apiPortfolioTrend),
		s.plain("GET /api/v1/notifications/rules", auth.Admin, s.apiNotifyRules),
		s.plain("POST /api/v1/notifications/rules", auth.Admin, s.apiCreateNotifyRule),
		s.plain("PUT /api/v1/notifications/rules/{id}", auth.Admin, s.apiUpdateNotifyRule),
		s.plain("DELETE /api/v1/notifications/rules/{id}", auth.Admin, s.apiDeleteNotifyRule),
		s.plain("GET /api/v1/notifications/smtp", auth.Admin, s.apiGetSMTP),
		s.plain("PUT /api/v1/notifications/smtp", auth.Admin, s.apiPutSMTP),
		s.plain("GET /api/v1/notifications/deliveries", auth.Admin, s.apiDeliveries),
	}
}

// uploading marks a row that changes a project's versions: any role
// passes the role check; the handler checks the upload grant of the
// project's scope (admins always have it).
func (rt route) uploading() route {
	rt.Grant = true
	return rt
}

// canUpload reports whether the caller may upload to (or delete versions
// of) the project: admins, and holders of the upload grant of
// "project:NAME" or "*".
func canUpload(p *auth.Principal, name string) bool {
	if p == nil {
		return false
	}
	if p.Role == auth.Admin {
		return true
	}
	for _, g := range p.Grants {
		if g.Permission == project.PermUpload && (g.Scope == auth.ScopeAll || g.Scope == project.Scope(name)) {
			return true
		}
	}
	return false
}

// projectStatus classifies project and notification errors (statusOf).
func projectStatus(err error) int { return statusOf(err) }

// projectAnswer writes v as JSON (status), 204 for nil, or err as a problem.
func (s *Server) projectAnswer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) apiProjects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := project.Filter{Q: q.Get("q"), Tag: q.Get("tag"), Sort: q.Get("sort"), Desc: q.Get("desc") == "true"}
	rows, total, err := s.projects.Portfolio(r.Context(), f)
	if err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	if rows == nil {
		rows = []project.Summary{}
	}
	last, err := s.projects.LastAnalysis(r.Context())
	s.projectAnswer(w, r, http.StatusOK, project.PortfolioPage{Projects: rows, Totals: total, LastAnalysis: last}, err)
}

type projectIn struct {
	Name        string    `json:"name"`
	Description *string   `json:"description"`
	Tags        *[]string `json:"tags"`
	Uploaders   *[]string `json:"uploaders"`
	Assessors   *[]string `json:"assessors"`
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %v: %w", err, project.ErrInvalid)
	}
	return nil
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

func (s *Server) apiCreateProject(w http.ResponseWriter, r *http.Request) {
	var in projectIn
	if err := decodeBody(r, &in); err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	desc, tags := "", []string(nil)
	if in.Description != nil {
		desc = *in.Description
	}
	if in.Tags != nil {
		tags = *in.Tags
	}
	if _, err := s.projects.Create(r.Context(), in.Name, desc, tags); err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	if err := s.saveGrants(r.Context(), in.Name, in); err != nil {
		s.projects.Delete(r.Context(), in.Name)
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	rep, err := s.projects.Report(r.Context(), in.Name)
	s.projectAnswer(w, r, http.StatusCreated, rep, err)
}

func (s *Server) apiProject(w http.ResponseWriter, r *http.Request) {
	rep, err := s.projects.Report(r.Context(), r.PathValue("name"))
	s.projectAnswer(w, r, http.StatusOK, rep, err)
}

func (s *Server) apiUpdateProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var in projectIn
	if err := decodeBody(r, &in); err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	if _, err := s.projects.Update(r.Context(), name, in.Description, in.Tags); err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	if err := s.saveGrants(r.Context(), name, in); err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	rep, err := s.projects.Report(r.Context(), name)
	s.projectAnswer(w, r, http.StatusOK, rep, err)
}

func (s *Server) apiDeleteProject(w http.ResponseWriter, r *http.Request) {
	s.projectAnswer(w, r, 0, nil, s.projects.Delete(r.Context(), r.PathValue("name")))
}

// uploadBody returns the SBOM of an upload request: the "file" part of a
// multipart form, or the raw body; and the file name.
func uploadBody(w http.ResponseWriter, r *http.Request) (io.Reader, string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, sbom.MaxSize+1<<20)
	name := r.URL.Query().Get("filename")
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return r.Body, name, nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, "", fmt.Errorf("multipart body without a \"file\" part: %w", project.ErrInvalid)
		}
		if part.FormName() == "file" {
			if name == "" {
				name = part.FileName()
			}
			return part, name, nil
		}
	}
}

func (s *Server) apiUploadVersion(w http.ResponseWriter, r *http.Request) {
	name, version := r.PathValue("name"), r.PathValue("version")
	p := principal(r)
	if !canUpload(p, name) {
		problem(w, r, http.StatusForbidden, fmt.Sprintf("you may not upload to project %s: this needs the admin role or an upload grant for project:%s (or \"*\")", name, name))
		return
	}
	body, file, err := uploadBody(w, r)
	if err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	q := r.URL.Query()
	var tags []string
	if t := q.Get("tags"); t != "" {
		tags = strings.Split(t, ",")
	}
	res, err := s.projects.Upload(r.Context(), project.UploadRequest{Project: name, Version: version, FileName: file, Body: body, By: p.Username, Description: q.Get("description"), Tags: tags})
	s.projectAnswer(w, r, http.StatusOK, res, err)
}

func (s *Server) apiProjectVersion(w http.ResponseWriter, r *http.Request) {
	v, err := s.projects.VersionReport(r.Context(), r.PathValue("name"), r.PathValue("version"), r.URL.Query().Get("all") != "true")
	s.projectAnswer(w, r, http.StatusOK, v, err)
}

func (s *Server) apiDeleteVersion(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !canUpload(principal(r), name) {
		problem(w, r, http.StatusForbidden, fmt.Sprintf("you may not delete versions of project %s: this needs the admin role or an upload grant for project:%s", name, name))
		return
	}
	s.projectAnswer(w, r, 0, nil, s.projects.DeleteVersion(r.Context(), name, r.PathValue("version")))
}

func (s *Server) apiExportVersion(w http.ResponseWriter, r *http.Request) {
	name, version := r.PathValue("name"), r.PathValue("version")
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if !slicesContains(project.ExportFormats, format) {
		problem(w, r, http.StatusBadRequest, "format: want one of "+strings.Join(project.ExportFormats, ", "))
		return
	}
	if _, err := s.st.ProjectVersion(r.Context(), name, version); err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	ext := map[string]string{"csv": "csv", "json": "json", "sarif": "sarif", "cyclonedx": "vex.cdx.json", "openvex": "openvex.json"}[format]
	w.Header().Set("Content-Type", project.ExportContentType(format))
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+"-"+version+"."+ext))
	if err := s.projects.Export(r.Context(), w, name, version, format, s.opts.Version); err != nil {
		s.log.Error("project export", "project", name, "version", version, "err", err)
	}
}

func slicesContains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) apiProjectDiff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("from") == "" || q.Get("to") == "" {
		problem(w, r, http.StatusBadRequest, "from and to (two versions) are required")
		return
	}
	d, err := s.projects.Compare(r.Context(), r.PathValue("name"), q.Get("from"), q.Get("to"))
	s.projectAnswer(w, r, http.StatusOK, d, err)
}

func (s *Server) apiPortfolioTrend(w http.ResponseWriter, r *http.Request) {
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if days <= 0 || days > 366 {
		days = 30
	}
	snaps, err := s.projects.Trend(r.Context(), days)
	out := []map[string]any{}
	for _, x := range snaps {
		out = append(out, map[string]any{"day": x.Day, "projects": x.Projects, "versions": x.Versions, "components": x.Components, "vulnerable": x.Vulnerable,
			"findings": x.Findings, "critical": x.Critical, "high": x.High, "medium": x.Medium, "low": x.Low, "unknown": x.Unknown,
			"malicious": x.Malicious, "unassessed": x.Unassessed, "blocked": x.Blocked})
	}
	s.projectAnswer(w, r, http.StatusOK, map[string]any{"days": days, "snapshots": out}, err)
}

func (s *Server) apiNotifyRules(w http.ResponseWriter, r *http.Request) {
	rs, err := s.notify.ListRules(r.Context())
	s.projectAnswer(w, r, http.StatusOK, map[string]any{"rules": rs}, err)
}

func (s *Server) apiCreateNotifyRule(w http.ResponseWriter, r *http.Request) {
	var in notify.RuleInput
	if err := decodeBody(r, &in); err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	rule, err := s.notify.SaveRule(r.Context(), 0, in)
	s.projectAnswer(w, r, http.StatusCreated, rule, err)
}

func ruleID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("rule id %q: %w", r.PathValue("id"), project.ErrInvalid)
	}
	return id, nil
}

func (s *Server) apiUpdateNotifyRule(w http.ResponseWriter, r *http.Request) {
	id, err := ruleID(r)
	var in notify.RuleInput
	if err == nil {
		err = decodeBody(r, &in)
	}
	if err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	rule, err := s.notify.SaveRule(r.Context(), id, in)
	s.projectAnswer(w, r, http.StatusOK, rule, err)
}

func (s *Server) apiDeleteNotifyRule(w http.ResponseWriter, r *http.Request) {
	id, err := ruleID(r)
	if err == nil {
		err = s.notify.DeleteRule(r.Context(), id)
	}
	s.projectAnswer(w, r, 0, nil, err)
}

func (s *Server) apiGetSMTP(w http.ResponseWriter, r *http.Request) {
	v, err := s.notify.GetSMTP(r.Context())
	s.projectAnswer(w, r, http.StatusOK, v, err)
}

func (s *Server) apiPutSMTP(w http.ResponseWriter, r *http.Request) {
	var in notify.SMTPInput
	if err := decodeBody(r, &in); err != nil {
		s.projectAnswer(w, r, 0, nil, err)
		return
	}
	v, err := s.notify.SetSMTP(r.Context(), in)
	s.projectAnswer(w, r, http.StatusOK, v, err)
}

type deliveryJSON struct {
	ID        int64     `json:"id"`
	Rule      string    `json:"rule"`
	Event     string    `json:"event"`
	Subject   string    `json:"subject"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

func (s *Server) apiDeliveries(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	ds, err := s.notify.Deliveries(r.Context(), limit)
	out := []deliveryJSON{}
	for _, d := range ds {
		out = append(out, deliveryJSON{ID: d.ID, Rule: d.RuleName, Event: d.Event, Subject: d.Subject, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError, Created: d.Created, Updated: d.Updated})
	}
	s.projectAnswer(w, r, http.StatusOK, map[string]any{"deliveries": out}, err)
}

// feedRefused notifies a download a feed's gate refused.
func (s *Server) feedRefused(feedName, purl, message string) {
	if s.notify != nil {
		s.notify.FeedRefused(feedName, purl, message)
	}
}
