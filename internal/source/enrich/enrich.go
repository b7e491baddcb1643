// Package enrich runs the enrichment sources by name for the command line
// and the server's jobs alike: NVD CVE records (internal/source/nvd), EPSS
// scores (internal/source/epss) and the CISA KEV catalogue
// (internal/source/kev). It holds their settings ("source.nvd",
// "source.epss", "source.kev": enabled, URL, and for NVD an API key kept
// sealed), their defaults and one Sync entry point.
//
// It leaves out scheduling (internal/jobs) and what findings do with the
// data (internal/match, internal/assess).
package enrich

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/source/epss"
	"github.com/vulngate/vulngate/internal/source/kev"
	"github.com/vulngate/vulngate/internal/source/nvd"
	"github.com/vulngate/vulngate/internal/source/remote"
)

// Source describes one enrichment source.
type Source struct {
	Name        string // nvd, epss, kev
	Title       string // for people
	DefaultURL  string
	Description string
	// EnvURL and EnvKey name the environment variables that override the
	// URL (command line) and hold the API key (NVD only).
	EnvURL string
	EnvKey string
}

// Sources lists the enrichment sources, in the order they are shown.
var Sources = []Source{
	{Name: nvd.Name, Title: "NVD CVE records", DefaultURL: nvd.DefaultURL, EnvURL: "VULNGATE_NVD_URL", EnvKey: "VULNGATE_NVD_API_KEY",
		Description: "CVSS v4.0/v3.1 scores and CWE weaknesses of CVE IDs: the NVD CVE API 2.0, or JSON 2.0 feed files (comma-separated, .json or .json.gz, https:// or file://)."},
	{Name: epss.Name, Title: "EPSS scores", DefaultURL: epss.DefaultURL, EnvURL: "VULNGATE_EPSS_URL",
		Description: "FIRST's Exploit Prediction Scoring System: the probability that a CVE is exploited in the next 30 days, and its percentile (the daily CSV, gzipped or not)."},
	{Name: kev.Name, Title: "CISA KEV catalogue", DefaultURL: kev.DefaultURL, EnvURL: "VULNGATE_KEV_URL",
		Description: "CISA's catalogue of Known Exploited Vulnerabilities (JSON): findings of listed CVEs are marked known exploited, and the Blocked type auto-assesses them."},
}

// Lookup returns the source named name.
func Lookup(name string) (Source, bool) {
	for _, s := range Sources {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Source{}, false
}

// Settings configures one source. APIKey is write-only: the server seals
// it in the setting row and never returns it.
type Settings struct {
	Enabled bool   `json:"enabled"`
	URL     string `json:"url"`
	APIKey  string `json:"api_key,omitempty"`
}

// JobName is the name of the server's job that mirrors a source; the
// command line takes the same job's lease.
func JobName(src Source) string { return src.Name + "-mirror" }

// SettingName is the store setting of a source.
func SettingName(name string) string { return "source." + name }

// KeyPurpose binds a sealed API key to its setting (internal/secret).
func KeyPurpose(name string) string { return "setting:source." + name + ".api_key" }

// SettingsStore reads settings.
type SettingsStore interface {
	Setting(ctx context.Context, name string, v any) (bool, error)
}

// Load returns a source's stored settings (the default URL when none is
// stored); ok reports whether a setting exists. The API key is returned as
// stored (sealed).
func Load(ctx context.Context, st SettingsStore, src Source) (s Settings, ok bool, err error) {
	ok, err = st.Setting(ctx, SettingName(src.Name), &s)
	if s.URL == "" {
		s.URL = src.DefaultURL
	}
	return s, ok, err
}

// Validate checks a URL setting: one URL, or for NVD feed files several,
// comma-separated, each http(s):// or file://.
func Validate(src Source, raw string) error {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	parts := []string{raw}
	if src.Name == nvd.Name {
		parts = strings.Split(raw, ",")
	}
	for _, p := range parts {
		if err := remote.Validate(strings.TrimSpace(p)); err != nil {
			return err
		}
	}
	return nil
}

// Store is what a sync writes to.
type Store interface {
	nvd.Store
	epss.Store
	kev.Store
}

// Options are the sync's transport and logging.
type Options struct {
	Client    *http.Client
	UserAgent string
	Logger    *slog.Logger
	// NVDDelay overrides the pause between NVD API requests (tests).
	NVDDelay time.Duration
}

// Result says what a sync did, the same for every source.
type Result struct {
	Source    string
	Mode      string // NVD: full, incremental or feeds
	Version   string
	Records   int // records read and written
	Total     int // records held after the sync
	Malformed []string
}

// Sync runs one source with settings s (URL and the API key in plain
// text). Its error names the source and never holds the key.
func Sync(ctx context.Context, st Store, src Source, s Settings, o Options) (Result, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ro := remote.Options{Client: o.Client, UserAgent: o.UserAgent}
	url := strings.TrimSpace(s.URL)
	if url == "" {
		url = src.DefaultURL
	}
	if err := Validate(src, url); err != nil {
		return Result{Source: src.Name}, fmt.Errorf("%s: %w", src.Title, err)
	}
	res := Result{Source: src.Name}
	switch src.Name {
	case nvd.Name:
		rep, err := nvd.Sync(ctx, st, nvd.Options{URL: url, APIKey: s.APIKey, Delay: o.NVDDelay, Remote: ro, Logger: o.Logger})
		res.Mode, res.Records, res.Total, res.Malformed = rep.Mode, rep.Records, rep.Total, rep.Malformed
		return res, redact(err, s.APIKey)
	case epss.Name:
		rep, err := epss.Sync(ctx, st, url, ro)
		res.Version, res.Records, res.Total, res.Malformed = rep.Version, rep.Records, rep.Records, rep.Malformed
		return res, err
	case kev.Name:
		rep, err := kev.Sync(ctx, st, url, ro)
		res.Version, res.Records, res.Total, res.Malformed = rep.Version, rep.Records, rep.Records, rep.Malformed
		return res, err
	}
	return res, fmt.Errorf("unknown enrichment source %q", src.Name)
}

// redact removes a key from an error's text (the sources never put it
// there; this guards against a transport that would).
func redact(err error, key string) error {
	if err == nil || key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), key, "xxxxx"))
}

// EnvURLValue returns the source's URL from the environment, "" when unset.
func (s Source) EnvURLValue() string {
	if s.EnvURL == "" {
		return ""
	}
	return strings.TrimSpace(os.Getenv(s.EnvURL))
}

// EnvKeyValue returns the API key from the environment, "" when unset.
func (s Source) EnvKeyValue() string {
	if s.EnvKey == "" {
		return ""
	}
	return strings.TrimSpace(os.Getenv(s.EnvKey))
}
