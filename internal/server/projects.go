package server

// Projects (internal/project) and notifications (internal/notify) in the
// server: the services, their jobs (portfolio analysis after each mirror
// run and OSS Index refresh, daily snapshot, expiring assessment notices)
// and the hooks that feed notifications (new findings, feed refusals,
// expired assessments, failed jobs). Routes: api_projects.go,
// api_notifications.go, ui_projects.go, ui_notifications.go.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/store"
)

// Job names of projects and notifications.
const (
	JobProjectAnalysis   = "project-analysis"
	JobPortfolioSnapshot = "portfolio-snapshot"
	JobExpiryNotices     = "assessment-expiry-notices"
)

// setupProjects builds the project and notification services, hooks them
// to the assessment service and registers their jobs.
func (s *Server) setupProjects(ctx context.Context) error {
	s.projects = project.New(project.Options{Store: s.st, Assess: s.assess, Logger: s.log,
		Scanner: func(ctx context.Context) (*match.Scanner, error) {
			// The scan's sources as for POST /api/v1/scan (it only reads
			// the request's context).
			sc, _, err := s.scanner((&http.Request{}).WithContext(ctx))
			return sc, err
		}})
	var err error
	if s.notify, err = notify.New(ctx, notify.Options{Store: s.st, Logger: s.log, HTTPClient: s.opts.HTTPClient, TLS: s.opts.NotifyTLS, Secrets: s.secrets, BaseURL: s.opts.PublicURL}); err != nil {
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
	log.Info("portfolio analysed", "changes", rep.Changes, "packages", rep.Packages, "components", rep.Components, "versions", rep.Versions, "new", rep.New, "closed", rep.Closed, "rechecked", rep.Rechecked, "duration", rep.Duration.String())
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

// feedRefused notifies a download a feed's gate refused.
func (s *Server) feedRefused(feedName, purl, message string) {
	if s.notify != nil {
		s.notify.FeedRefused(feedName, purl, message)
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
	return p.Is(auth.Admin) || p.HasGrant(project.PermUpload, project.Scope(name))
}

// mayNotUpload is the refusal of an upload or version deletion.
func mayNotUpload(what, name string) error {
	return errStatus(http.StatusForbidden, "you may not %s project %s: this needs the admin role or an upload grant for project:%s (or \"*\")", what, name, name)
}
