package server

// The scheduled jobs the server registers (internal/jobs): OSV mirror,
// advisory index, assessment expiry, session cleanup, OSS Index refresh,
// and the scheduled backup (api_backups.go).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
)

// Job names.
const (
	JobOSVMirror     = "osv-mirror"
	JobAdvisoryIndex = "advisory-index"
	// JobAssessmentExpiry sweeps expired assessments (internal/assess).
	JobAssessmentExpiry = "assessment-expiry"
	// JobSessionCleanup deletes expired login sessions.
	JobSessionCleanup = "session-cleanup"
	// JobOSSIndexRefresh refreshes stale OSS Index answers and prunes old ones.
	JobOSSIndexRefresh = "ossindex-refresh"
)

func (s *Server) registerJobs(ctx context.Context) error {
	err := s.runner.Register(ctx, jobs.Job{
		Name:        JobOSVMirror,
		Title:       "OSV mirror",
		Description: "Mirrors the selected OSV ecosystems into the local store, then updates the advisory index and re-evaluates the packages feeds track.",
		DefaultCron: "0 2 * * *",
		RunAtStart:  true,
		Enabled: func(ctx context.Context) bool {
			v, err := s.osvSettings(ctx)
			return err == nil && v.Enabled && len(v.Ecosystems) > 0
		},
		Run: s.runOSVMirror,
	})
	if err != nil {
		return err
	}
	err = s.runner.Register(ctx, jobs.Job{
		Name:        JobAssessmentExpiry,
		Title:       "Assessment expiry sweep",
		Description: "Returns vulnerabilities whose assessment has expired to unassessed (history is kept).",
		DefaultCron: "15 * * * *",
		RunAtStart:  true,
		Run: func(ctx context.Context, log *slog.Logger) error {
			expired, err := s.assess.Expire(ctx)
			if err != nil {
				return err
			}
			for _, a := range expired {
				log.Info("assessment expired", "vulnerability", a.VulnID, "scope", a.Scope, "type", a.Type)
			}
			if s.notify != nil {
				s.notify.Expired(expired)
			}
			log.Info("sweep done", "expired", len(expired))
			return nil
		},
	})
	if err != nil {
		return err
	}
	err = s.runner.Register(ctx, jobs.Job{
		Name:        JobSessionCleanup,
		Title:       "Session cleanup",
		Description: "Deletes expired login sessions and idle login rate limit entries.",
		DefaultCron: "30 3 * * *",
		Run: func(ctx context.Context, log *slog.Logger) error {
			if err := s.st.DeleteExpiredSessions(ctx, time.Now()); err != nil {
				return err
			}
			log.Info("expired sessions deleted")
			n, err := s.st.PruneRateLimits(ctx, time.Now())
			if err != nil {
				return err
			}
			log.Info("idle rate limit entries deleted", "count", n)
			return nil
		},
	})
	if err != nil {
		return err
	}
	err = s.runner.Register(ctx, jobs.Job{
		Name:        JobOSSIndexRefresh,
		Title:       "OSS Index cache refresh",
		Description: "Asks OSS Index again about components whose cached answers are older than 12 hours, then deletes answers unused for 30 days.",
		DefaultCron: "0 4 * * *",
		Enabled: func(ctx context.Context) bool {
			v, err := s.ossIndexSettings(ctx)
			return err == nil && v.Enabled && v.Token != ""
		},
		Run: func(ctx context.Context, log *slog.Logger) error {
			src, err := s.ossIndexSourceWithin(ctx, background)
			if err != nil || src == nil {
				return err
			}
			rep, err := src.Refresh(ctx, 30*24*time.Hour)
			if err != nil {
				return err
			}
			log.Info("OSS Index cache refreshed", "refreshed", rep.Refreshed, "pruned", rep.Pruned)
			return s.analyzeProjects(ctx, log)
		},
	})
	if err != nil {
		return err
	}
	if err := s.registerBackupJob(ctx); err != nil {
		return err
	}
	if err := s.registerEnrichJobs(ctx); err != nil {
		return err
	}
	return s.runner.Register(ctx, jobs.Job{
		Name:        JobAdvisoryIndex,
		Title:       "Advisory index",
		Description: "Updates the browsing index (severity, summary, packages) from the mirrored advisories; runs after every mirror.",
		RunAtStart:  true,
		Run: func(ctx context.Context, log *slog.Logger) error {
			return s.refreshIndex(ctx, log)
		},
	})
}

func (s *Server) refreshIndex(ctx context.Context, log *slog.Logger) error {
	return s.refreshIndexAfter(ctx, log, nil, nil)
}

// refreshIndexAfter refreshes the index after a mirror sync: when before
// (the partitions before the sync) and synced (the sync's report) are
// given, only the partitions that changed since the last refresh (of those
// an incremental sync changed, only the records it names) and the entries
// of the alias groups that changed; else everything (at start, after
// enrichment: NVD's severities may have changed).
func (s *Server) refreshIndexAfter(ctx context.Context, log *slog.Logger, before []store.PartitionState, synced *osvmirror.Report) error {
	s.mirror.Lock()
	defer s.mirror.Unlock()
	prev := s.indexed
	s.indexed = nil // until this refresh succeeds
	if synced == nil || prev == nil {
		ch, err := catalog.RefreshChanged(ctx, s.st, log, nil)
		if err != nil {
			return err
		}
		if err := catalog.ResolveGroupSeverities(ctx, s.st, log); err != nil {
			return err
		}
		s.indexed = ch.Partitions
		return nil
	}
	quiet := map[string]bool{}
	named := map[string][]string{} // the records incremental syncs changed
	for _, e := range synced.Ecosystems {
		if e.Err == nil && e.Added+e.Updated+e.Removed == 0 {
			quiet[e.Ecosystem] = true
		}
		if e.Err == nil && e.Mode == osvmirror.ModeIncremental {
			named[e.Ecosystem] = e.Changed
		}
	}
	ch, err := catalog.RefreshNamed(ctx, s.st, log, catalog.UnchangedSince(prev, before, quiet), catalog.NamedSince(prev, before, named))
	if err != nil {
		return err
	}
	keys := ch.Keys
	if ch.All {
		keys = nil
	}
	if err := catalog.ResolveGroupSeveritiesOf(ctx, s.st, log, keys); err != nil {
		return err
	}
	s.indexed = ch.Partitions
	return nil
}

func (s *Server) runOSVMirror(ctx context.Context, log *slog.Logger) error {
	v, err := s.osvSettings(ctx)
	if err != nil {
		return err
	}
	if len(v.Ecosystems) == 0 {
		return errors.New("no OSV ecosystems selected: choose them under Administration > Vulnerability sources")
	}
	if !v.Enabled {
		log.Warn("the OSV source is disabled; running because it was requested")
	}
	log.Info("mirroring OSV", "base_url", v.BaseURL, "ecosystems", strings.Join(v.Ecosystems, ","))
	m, err := osvmirror.New(s.st, osvmirror.Options{
		BaseURL:    v.BaseURL,
		Ecosystems: v.Ecosystems,
		TempDir:    s.tempDir(),
		HTTPClient: s.opts.HTTPClient,
		Logger:     log,
		UserAgent:  "vulngate/" + s.opts.Version,
	})
	if err != nil {
		return err
	}
	before, err := s.st.Partitions(ctx)
	if err != nil {
		return err
	}
	rep, err := m.Sync(ctx)
	if err != nil {
		return err
	}
	for _, e := range rep.Ecosystems {
		// Name each skipped record and why (the report keeps the first
		// ones; the count says how many in all).
		for _, m := range e.Malformed {
			log.Warn("malformed record skipped", "ecosystem", e.Ecosystem, "record", m.Entry, "reason", m.Reason)
		}
		if extra := e.MalformedCount - len(e.Malformed); extra > 0 {
			log.Warn("more malformed records skipped", "ecosystem", e.Ecosystem, "more", extra, "total", e.MalformedCount)
		}
	}
	if err := s.refreshIndexAfter(ctx, log, before, &rep); err != nil {
		return err
	}
	// New advisories may block packages that feeds already served.
	if err := s.reevaluateFeeds(ctx, log); err != nil {
		return err
	}
	if err := s.analyzeProjects(ctx, log); err != nil {
		return err
	}
	if rep.Failed() {
		// The ecosystems' errors keep their causes (e.g. the database
		// becoming unavailable), so the run's outcome names them.
		var errs []error
		for _, e := range rep.Ecosystems {
			if e.Err != nil {
				errs = append(errs, e.Err)
			}
		}
		return fmt.Errorf("some ecosystems failed to sync; the data mirrored before is kept: %w", errors.Join(errs...))
	}
	return nil
}
