package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/source/ossindex"
)

// The configuration file (--config FILE, default <data-dir>/config.json)
// holds settings that must not travel on a command line, such as the OSS
// Index token. Environment variables override it field by field. Sections
// other commands do not know are ignored.

// ConfigFile is the default configuration file name in the data directory.
const ConfigFile = "config.json"

// Environment variables for OSS Index.
const (
	envOSSIndexToken    = "VULNGATE_OSSINDEX_TOKEN"
	envOSSIndexUsername = "VULNGATE_OSSINDEX_USERNAME"
	envOSSIndexBaseURL  = "VULNGATE_OSSINDEX_BASE_URL"
	envOSSIndexCacheTTL = "VULNGATE_OSSINDEX_CACHE_TTL"
)

type configFile struct {
	OSSIndex struct {
		Username string `json:"username"`
		Token    string `json:"token"`
		BaseURL  string `json:"base_url"`
		CacheTTL string `json:"cache_ttl"`
		Enabled  *bool  `json:"enabled"`
	} `json:"ossindex"`
}

// ossIndexSettings is the OSS Index configuration in effect for one run.
type ossIndexSettings struct {
	Enabled  bool // false only when the config file says so
	Username string
	Token    ossindex.Secret
	BaseURL  string
	CacheTTL time.Duration
	// TokenFrom says where the token came from, for messages (never the
	// token itself): the environment variable or the file.
	TokenFrom  string
	ConfigPath string
}

// loadConfig reads the configuration file. A missing file is an empty
// configuration unless it was named explicitly.
func loadConfig(path string, explicit bool) (configFile, error) {
	var c configFile
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("config file: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		// encoding/json errors name types and offsets, never values.
		return c, fmt.Errorf("config file %s: not valid JSON: %v", path, err)
	}
	return c, nil
}

// ossIndexConfig resolves the OSS Index settings from the config file
// (configFlag, else <dataDir>/config.json) and the environment.
func (e *env) ossIndexConfig(configFlag, dataDir string) (ossIndexSettings, error) {
	path, explicit := configFlag, configFlag != ""
	if !explicit {
		path = filepath.Join(dataDir, ConfigFile)
	}
	c, err := loadConfig(path, explicit)
	if err != nil {
		return ossIndexSettings{}, err
	}
	f := c.OSSIndex
	s := ossIndexSettings{
		Enabled:    f.Enabled == nil || *f.Enabled,
		Username:   strings.TrimSpace(f.Username),
		Token:      ossindex.Secret(strings.TrimSpace(f.Token)),
		BaseURL:    strings.TrimSpace(f.BaseURL),
		ConfigPath: path,
	}
	if s.Token != "" {
		s.TokenFrom = path
		e.warnIfReadable(path)
	}
	if v := strings.TrimSpace(os.Getenv(envOSSIndexToken)); v != "" {
		s.Token, s.TokenFrom = ossindex.Secret(v), envOSSIndexToken
	}
	if v := strings.TrimSpace(os.Getenv(envOSSIndexUsername)); v != "" {
		s.Username = v
	}
	if v := strings.TrimSpace(os.Getenv(envOSSIndexBaseURL)); v != "" {
		s.BaseURL = v
	}
	ttl, ttlFrom := strings.TrimSpace(f.CacheTTL), path+": ossindex.cache_ttl"
	if v := strings.TrimSpace(os.Getenv(envOSSIndexCacheTTL)); v != "" {
		ttl, ttlFrom = v, envOSSIndexCacheTTL
	}
	if ttl != "" {
		d, err := time.ParseDuration(ttl)
		if err != nil || d <= 0 {
			return ossIndexSettings{}, fmt.Errorf("%s: %q is not a positive duration (e.g. 12h, 90m)", ttlFrom, ttl)
		}
		s.CacheTTL = d
	}
	return s, nil
}

// warnIfReadable warns when a file holding a token can be read by others.
func (e *env) warnIfReadable(path string) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		e.log.Warn("the config file holds a token and is readable by other users; chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
	}
}

// parseSources reads --source: useOSV and ossIndex say which sources were
// asked for; explicit is false when the flag was not given (osv, plus
// ossindex if a token is configured).
func parseSources(list string) (useOSV, ossIndex, explicit bool, err error) {
	if strings.TrimSpace(list) == "" {
		return true, true, false, nil
	}
	for _, s := range splitList(list) {
		switch strings.ToLower(s) {
		case "osv":
			useOSV = true
		case "ossindex":
			ossIndex = true
		default:
			return false, false, false, fmt.Errorf("--source: unknown source %q (want osv, ossindex)", s)
		}
	}
	if !useOSV && !ossIndex {
		return false, false, false, errors.New("--source: no source given (want osv, ossindex)")
	}
	return useOSV, ossIndex, true, nil
}

// ossIndexSource returns the OSS Index source for a scan, or nil when it
// is not used. Without a token it is an error when --source asked for
// ossindex, and otherwise one notice.
func (e *env) ossIndexSource(cache ossindex.Cache, configFlag, dataDir string, want, explicit bool) (src *ossindex.Source, note string, err error) {
	if !want {
		return nil, "", nil
	}
	cfg, err := e.ossIndexConfig(configFlag, dataDir)
	if err != nil {
		return nil, "", err
	}
	if !explicit && !cfg.Enabled {
		return nil, "", nil
	}
	if cfg.Token == "" {
		hint := fmt.Sprintf("set $%s (and $%s for an OSS Index user name) or \"ossindex.token\" in %s", envOSSIndexToken, envOSSIndexUsername, cfg.ConfigPath)
		if explicit {
			return nil, "", fmt.Errorf("--source ossindex: no OSS Index API token configured: %s", hint)
		}
		e.chatter().Info("OSS Index skipped: no API token configured; " + hint)
		return nil, "OSS Index skipped: no API token configured", nil
	}
	src, err = ossindex.New(ossindex.Options{
		BaseURL:   cfg.BaseURL,
		Username:  cfg.Username,
		Token:     cfg.Token,
		Cache:     cache,
		CacheTTL:  cfg.CacheTTL,
		AuthHint:  "token from " + cfg.TokenFrom,
		UserAgent: "vulngate/" + version(),
		Logger:    e.log,
	})
	if err != nil {
		return nil, "", err
	}
	return src, "", nil
}
