package server

// The enrichment sources in the server (internal/source/enrich): their
// settings (URL, enabled, the NVD API key sealed), a job each that mirrors
// them like OSV, and what follows a sync: the browsing index, the feeds'
// and projects' findings, and auto-assessment of recorded findings that
// became known exploited or likely to be exploited.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/source/enrich"
	"github.com/vulngate/vulngate/internal/source/nvd"
	"github.com/vulngate/vulngate/internal/store"
)

// enrichOut is one enrichment source as the API and the Sources page show
// it: settings (never the API key), and its last sync.
type enrichOut struct {
	Name          string `json:"name"`
	Title         string `json:"title"`
	Description   string `json:"description"`
	Enabled       bool   `json:"enabled"`
	URL           string `json:"url"`
	DefaultURL    string `json:"default_url"`
	TakesKey      bool   `json:"takes_api_key,omitempty"`
	KeySet        bool   `json:"api_key_set,omitempty"`
	KeyUnreadable bool   `json:"api_key_unreadable,omitempty"`
	Job           string `json:"job"`
	// The last sync: when, what version, how many records (0 before it).
	LastSync  *time.Time `json:"last_sync,omitempty"`
	Version   string     `json:"version,omitempty"`
	Records   int        `json:"records"`
	Malformed int        `json:"malformed"`
}

// enrichUpdate is a change of a source's settings. APIKey nil keeps the
// stored key, "" removes it.
type enrichUpdate struct {
	Enabled bool    `json:"enabled"`
	URL     string  `json:"url"`
	APIKey  *string `json:"api_key,omitempty"`
}

func enrichSource(name string) (enrich.Source, error) {
	src, ok := enrich.Lookup(name)
	if !ok {
		return src, errStatus(http.StatusNotFound, "no enrichment source %q (have nvd, epss, kev)", name)
	}
	return src, nil
}

// enrichSettings reads a source's settings with the API key opened; a key
// that does not open with this server's secret key reads as none.
func (s *Server) enrichSettings(ctx context.Context, src enrich.Source) (v enrich.Settings, unreadable bool, err error) {
	v, _, err = enrich.Load(ctx, s.st, src)
	if err != nil || v.APIKey == "" {
		return v, false, err
	}
	if secret.IsSealed(v.APIKey) {
		k, err := s.secrets.Open(enrich.KeyPurpose(src.Name), v.APIKey)
		if err != nil {
			return enrich.Settings{Enabled: v.Enabled, URL: v.URL}, true, nil
		}
		v.APIKey = k
	}
	return v, false, nil
}

// sealEnrichKeys seals an enrichment source's API key stored in plain
// text and re-seals one sealed with an older key (after a key rotation),
// as sealStoredSecrets does for the OSS Index token. A key that does not
// open is reported and left for an admin to set again.
func (s *Server) sealEnrichKeys(ctx context.Context) error {
	for _, src := range enrich.Sources {
		v, _, err := enrich.Load(ctx, s.st, src)
		if err != nil {
			return err
		}
		if v.APIKey == "" || secret.IsSealed(v.APIKey) && s.secrets.Current(v.APIKey) {
			continue
		}
		plain := v.APIKey
		if secret.IsSealed(plain) {
			if plain, err = s.secrets.Open(enrich.KeyPurpose(src.Name), v.APIKey); err != nil {
				s.log.Error("a stored API key cannot be opened with this server's secret key; set it again under Administration > Vulnerability sources", "source", src.Name, "key", s.secrets.Origin, "err", err)
				continue
			}
		}
		if v.APIKey, err = s.secrets.Seal(enrich.KeyPurpose(src.Name), plain); err != nil {
			return err
		}
		if err := s.st.PutSetting(ctx, enrich.SettingName(src.Name), v); err != nil {
			return err
		}
		s.log.Info("API key sealed with the current secret key", "source", src.Name, "key", s.secrets.Origin)
	}
	return nil
}

// putEnrichSettings validates and stores a source's settings, the key
// sealed.
func (s *Server) putEnrichSettings(ctx context.Context, src enrich.Source, up enrichUpdate) error {
	cur, _, err := s.enrichSettings(ctx, src)
	if err != nil {
		return err
	}
	v := enrich.Settings{Enabled: up.Enabled, URL: strings.TrimSpace(up.URL), APIKey: cur.APIKey}
	if v.URL == "" {
		v.URL = src.DefaultURL
	}
	if err := enrich.Validate(src, v.URL); err != nil {
		return store.Invalid(fmt.Errorf("url: %w", err))
	}
	if up.APIKey != nil {
		if src.EnvKey == "" && *up.APIKey != "" {
			return store.Invalid(fmt.Errorf("api_key: %s takes no API key", src.Title))
		}
		v.APIKey = strings.TrimSpace(*up.APIKey)
	}
	if v.APIKey != "" {
		if v.APIKey, err = s.secrets.Seal(enrich.KeyPurpose(src.Name), v.APIKey); err != nil {
			return err
		}
	}
	return s.st.PutSetting(ctx, enrich.SettingName(src.Name), v)
}

// enrichView lists every enrichment source for the API and the UI.
func (s *Server) enrichView(ctx context.Context) ([]enrichOut, error) {
	states, err := s.st.EnrichmentStates(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]store.EnrichmentState{}
	for _, st := range states {
		byName[st.Source] = st
	}
	out := make([]enrichOut, 0, len(enrich.Sources))
	for _, src := range enrich.Sources {
		v, unreadable, err := s.enrichSettings(ctx, src)
		if err != nil {
			return nil, err
		}
		o := enrichOut{Name: src.Name, Title: src.Title, Description: src.Description, Enabled: v.Enabled, URL: v.URL,
			DefaultURL: src.DefaultURL, TakesKey: src.EnvKey != "", KeySet: v.APIKey != "", KeyUnreadable: unreadable, Job: enrich.JobName(src)}
		if st, ok := byName[src.Name]; ok && !st.LastSync.IsZero() {
			t := st.LastSync
			o.LastSync, o.Version, o.Records, o.Malformed = &t, st.Version, st.Records, st.Malformed
		}
		out = append(out, o)
	}
	return out, nil
}

// enrichCron: NVD and KEV daily after the OSV mirror, EPSS after FIRST
// publishes the day's scores.
var enrichCron = map[string]string{"nvd": "30 2 * * *", "epss": "0 7 * * *", "kev": "45 2 * * *"}

func (s *Server) registerEnrichJobs(ctx context.Context) error {
	for _, src := range enrich.Sources {
		err := s.runner.Register(ctx, jobs.Job{
			Name:        enrich.JobName(src),
			Title:       src.Title + " mirror",
			Description: "Mirrors " + src.Title + " (" + src.Description + ") Then updates the browsing index, re-evaluates the feeds' and projects' findings and auto-assesses those that became known exploited or likely to be.",
			DefaultCron: enrichCron[src.Name],
			RunAtStart:  true,
			Enabled: func(ctx context.Context) bool {
				v, _, err := enrich.Load(ctx, s.st, src)
				return err == nil && v.Enabled
			},
			Run: func(ctx context.Context, log *slog.Logger) error { return s.runEnrich(ctx, src, log) },
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) runEnrich(ctx context.Context, src enrich.Source, log *slog.Logger) error {
	v, unreadable, err := s.enrichSettings(ctx, src)
	if err != nil {
		return err
	}
	if unreadable {
		log.Warn("the stored API key does not open with this server's secret key; running without it (set it again under Administration › Vulnerability sources)")
	}
	if k := src.EnvKeyValue(); k != "" && v.APIKey == "" {
		v.APIKey = k
	}
	if !v.Enabled {
		log.Warn("the source is disabled; running because it was requested")
	}
	log.Info("mirroring "+src.Title, "url", enrichURLForLog(v.URL), "api_key", v.APIKey != "")
	res, err := enrich.Sync(ctx, s.st, src, v, enrich.Options{Client: s.opts.HTTPClient, UserAgent: "vulngate/" + s.opts.Version, Logger: log})
	for _, m := range res.Malformed {
		log.Warn("malformed record skipped", "source", src.Name, "record", m)
	}
	if err != nil {
		return err
	}
	log.Info(src.Title+" mirrored", "mode", res.Mode, "version", res.Version, "records", res.Records, "held", res.Total, "malformed", len(res.Malformed))
	return s.afterEnrichment(ctx, log)
}

func enrichURLForLog(u string) string {
	if nvd.IsFeed(u) && strings.Contains(u, ",") {
		return fmt.Sprintf("%d feed files", strings.Count(u, ",")+1)
	}
	return u
}

// afterEnrichment brings what people read up to date with new enrichment
// data: the browsing index, the findings of feeds and projects (rescanned
// with the new facts), the exploitation facts of every recorded finding,
// and auto-assessment of unassessed ones in their own scopes.
func (s *Server) afterEnrichment(ctx context.Context, log *slog.Logger) error {
	var errs []error
	if err := s.refreshIndex(ctx, log); err != nil {
		errs = append(errs, err)
	}
	if err := s.reevaluateFeeds(ctx, log); err != nil {
		errs = append(errs, err)
	}
	if err := s.analyzeProjects(ctx, log); err != nil {
		errs = append(errs, err)
	}
	n, err := s.st.RefreshFindingExploitation(ctx)
	if err != nil {
		errs = append(errs, err)
	} else {
		log.Info("recorded findings' exploitation facts refreshed", "changed", n)
	}
	as, err := s.assess.AutoAssessOpen(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, a := range as {
		log.Info("auto-assessed", "vulnerability", a.VulnID, "scope", a.Scope, "type", a.Type, "why", a.Comment)
	}
	return errors.Join(errs...)
}

// enrichmentRoutes: the enrichment sources' settings (read with the other
// sources at GET /api/v1/sources).
func (s *Server) enrichmentRoutes() []route {
	return []route{
		s.api("PUT /api/v1/sources/enrichment/{name}", auth.Admin, s.apiPutEnrich),
		s.plain("POST /admin/sources/enrichment/{name}", auth.Admin, s.uiSaveEnrich),
	}
}

func (s *Server) apiPutEnrich(r *http.Request) (any, error) {
	src, err := enrichSource(r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	var up enrichUpdate
	if err := decode(r, &up); err != nil {
		return nil, err
	}
	if err := s.putEnrichSettings(r.Context(), src, up); err != nil {
		return nil, err
	}
	s.log.Info("enrichment source updated", "user", principal(r).Username, "source", src.Name, "enabled", up.Enabled)
	view, err := s.enrichView(r.Context())
	if err != nil {
		return nil, err
	}
	for _, v := range view {
		if v.Name == src.Name {
			return v, nil
		}
	}
	return nil, errors.New("enrichment source vanished")
}

func (s *Server) uiSaveEnrich(w http.ResponseWriter, r *http.Request) {
	src, err := enrichSource(r.PathValue("name"))
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	r.ParseForm()
	up := enrichUpdate{Enabled: r.PostFormValue("enabled") != "", URL: r.PostFormValue("url")}
	if k := r.PostFormValue("api_key"); k != "" {
		up.APIKey = &k
	} else if r.PostFormValue("clear_api_key") != "" {
		empty := ""
		up.APIKey = &empty
	}
	if err := s.putEnrichSettings(r.Context(), src, up); err != nil {
		s.uiFail(w, r, err, func(status int, msg string) { s.sourcesPage(w, r, status, "", msg) })
		return
	}
	s.log.Info("enrichment source updated", "user", principal(r).Username, "source", src.Name, "enabled", up.Enabled)
	http.Redirect(w, r, "/admin/sources?ok=saved#enrich-"+src.Name, http.StatusSeeOther)
}
