package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
)

// OSVSettings configures the OSV source ("source.osv").
type OSVSettings struct {
	Enabled    bool     `json:"enabled"`
	BaseURL    string   `json:"base_url"`
	Ecosystems []string `json:"ecosystems"`
}

// OSSIndexSettings configures the OSS Index source ("source.ossindex").
// Token is write-only: never returned by the API or shown in the UI.
type OSSIndexSettings struct {
	Enabled  bool   `json:"enabled"`
	BaseURL  string `json:"base_url"`
	Username string `json:"username"`
	Token    string `json:"token"`
}

// DefaultOSSIndexURL is the OSS Index API used when none is configured.
const DefaultOSSIndexURL = "https://ossindex.sonatype.org"

const (
	settingOSV      = "source.osv"
	settingOSSIndex = "source.ossindex"
)

func (s *Server) osvSettings(ctx context.Context) (OSVSettings, error) {
	v := OSVSettings{BaseURL: osvmirror.DefaultBaseURL, Ecosystems: []string{}}
	_, err := s.st.Setting(ctx, settingOSV, &v)
	if v.Ecosystems == nil {
		v.Ecosystems = []string{}
	}
	return v, err
}

func (s *Server) ossIndexSettings(ctx context.Context) (OSSIndexSettings, error) {
	v := OSSIndexSettings{BaseURL: DefaultOSSIndexURL}
	_, err := s.st.Setting(ctx, settingOSSIndex, &v)
	return v, err
}

// validateBaseURL accepts http(s) URLs with a host and file:// URLs.
func validateBaseURL(field, raw string, allowFile bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %q: %v", field, raw, err)
	}
	switch {
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
	case allowFile && u.Scheme == "file" && u.Path != "":
	default:
		if allowFile {
			return fmt.Errorf("%s %q: want an http://, https:// or file:// URL", field, raw)
		}
		return fmt.Errorf("%s %q: want an http:// or https:// URL", field, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%s: credentials in the URL are not accepted", field)
	}
	return nil
}

// availableEcosystems reads ecosystems.txt from an OSV source.
func (s *Server) availableEcosystems(ctx context.Context, baseURL string) ([]string, error) {
	m, err := osvmirror.New(nil, osvmirror.Options{BaseURL: baseURL, Ecosystems: []string{"-"}, HTTPClient: s.opts.HTTPClient, UserAgent: "vulngate/" + s.opts.Version})
	if err != nil {
		return nil, err
	}
	return m.Available(ctx)
}

// errInput marks errors caused by the request's content.
type errInput struct{ error }

// putOSVSettings validates and stores the OSV source settings. Ecosystems
// are checked against the source's ecosystems.txt (letter case fixed).
func (s *Server) putOSVSettings(ctx context.Context, v OSVSettings) (OSVSettings, error) {
	v.BaseURL = strings.TrimRight(strings.TrimSpace(v.BaseURL), "/")
	if v.BaseURL == "" {
		v.BaseURL = osvmirror.DefaultBaseURL
	}
	if err := validateBaseURL("base_url", v.BaseURL, true); err != nil {
		return v, errInput{err}
	}
	var ecos []string
	for _, e := range v.Ecosystems {
		if e = strings.TrimSpace(e); e != "" {
			ecos = append(ecos, e)
		}
	}
	if v.Enabled && len(ecos) == 0 {
		return v, errInput{errors.New("ecosystems: select at least one ecosystem to enable the OSV source")}
	}
	if len(ecos) > 0 {
		avail, err := s.availableEcosystems(ctx, v.BaseURL)
		if err != nil {
			return v, errInput{fmt.Errorf("base_url: could not read the ecosystem list (ecosystems.txt) from %s: %v", v.BaseURL, err)}
		}
		canon := map[string]string{}
		for _, a := range avail {
			canon[strings.ToLower(a)] = a
		}
		seen := map[string]bool{}
		var out, unknown []string
		for _, e := range ecos {
			base, suffix, _ := strings.Cut(e, ":")
			c, ok := canon[strings.ToLower(base)]
			if !ok {
				unknown = append(unknown, e)
				continue
			}
			if suffix != "" {
				c += ":" + suffix
			}
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		if len(unknown) > 0 {
			return v, errInput{fmt.Errorf("ecosystems: %s not offered by %s (it lists %s)", strings.Join(unknown, ", "), v.BaseURL, strings.Join(avail, ", "))}
		}
		ecos = out
	}
	if ecos == nil {
		ecos = []string{}
	}
	v.Ecosystems = ecos
	return v, s.st.PutSetting(ctx, settingOSV, v)
}

// OSSIndexUpdate changes the OSS Index settings; a nil Token keeps the
// stored token, "" clears it.
type OSSIndexUpdate struct {
	Enabled  bool    `json:"enabled"`
	BaseURL  string  `json:"base_url"`
	Username string  `json:"username"`
	Token    *string `json:"token,omitempty"`
}

func (s *Server) putOSSIndexSettings(ctx context.Context, up OSSIndexUpdate) (OSSIndexSettings, error) {
	cur, err := s.ossIndexSettings(ctx)
	if err != nil {
		return cur, err
	}
	v := OSSIndexSettings{Enabled: up.Enabled, BaseURL: strings.TrimRight(strings.TrimSpace(up.BaseURL), "/"), Username: strings.TrimSpace(up.Username), Token: cur.Token}
	if v.BaseURL == "" {
		v.BaseURL = DefaultOSSIndexURL
	}
	if err := validateBaseURL("base_url", v.BaseURL, false); err != nil {
		return v, errInput{err}
	}
	if up.Token != nil {
		v.Token = strings.TrimSpace(*up.Token)
	}
	if v.Enabled && v.Token == "" {
		return v, errInput{errors.New("token: OSS Index requires an API token; set one to enable the source")}
	}
	return v, s.st.PutSetting(ctx, settingOSSIndex, v)
}

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
		Description: "Deletes expired login sessions.",
		DefaultCron: "30 3 * * *",
		Run: func(ctx context.Context, log *slog.Logger) error {
			if err := s.st.DeleteExpiredSessions(ctx, time.Now()); err != nil {
				return err
			}
			log.Info("expired sessions deleted")
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
			src, err := s.ossIndexSource(ctx)
			if err != nil || src == nil {
				return err
			}
			rep, err := src.Refresh(ctx, 30*24*time.Hour)
			if err != nil {
				return err
			}
			log.Info("OSS Index cache refreshed", "refreshed", rep.Refreshed, "pruned", rep.Pruned)
			return nil
		},
	})
	if err != nil {
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
	s.mirror.Lock()
	defer s.mirror.Unlock()
	return catalog.Refresh(ctx, s.st, log)
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
	rep, err := m.Sync(ctx)
	if err != nil {
		return err
	}
	for _, e := range rep.Ecosystems {
		if e.MalformedCount > 0 {
			log.Warn("malformed records skipped", "ecosystem", e.Ecosystem, "count", e.MalformedCount)
		}
	}
	if err := s.refreshIndex(ctx, log); err != nil {
		return err
	}
	// New advisories may block packages that feeds already served.
	if err := s.reevaluateFeeds(ctx, log); err != nil {
		return err
	}
	if rep.Failed() {
		return errors.New("some ecosystems failed to sync; the data mirrored before is kept")
	}
	return nil
}
