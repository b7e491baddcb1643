package server

// The vulnerability sources' settings (OSV, OSS Index), stored in the
// setting table and shared by the API (api_sources.go), the pages
// (ui_sources.go) and the jobs.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
)

// OSVSettings configures the OSV source (osvmirror.SettingName, which the
// command line reads too).
type OSVSettings = osvmirror.Settings

// OSSIndexSettings configures the OSS Index source ("source.ossindex").
// Token is write-only: never returned by the API or shown in the UI, and
// sealed in the setting row (internal/secret) with the server's key.
type OSSIndexSettings struct {
	Enabled  bool   `json:"enabled"`
	BaseURL  string `json:"base_url"`
	Username string `json:"username"`
	Token    string `json:"token"`
	// tokenUnreadable: a token is stored but does not open with this
	// server's key (lost or different key): it must be set again.
	tokenUnreadable bool
}

// ossTokenPurpose binds the sealed token to its setting.
const ossTokenPurpose = "setting:source.ossindex.token"

// DefaultOSSIndexURL is the OSS Index API used when none is configured.
const DefaultOSSIndexURL = "https://ossindex.sonatype.org"

const (
	settingOSV      = osvmirror.SettingName
	settingOSSIndex = "source.ossindex"
)

func (s *Server) osvSettings(ctx context.Context) (OSVSettings, error) {
	v, _, err := osvmirror.LoadSettings(ctx, s.st)
	return v, err
}

// ossIndexSettings reads the OSS Index settings with the token opened; a
// token that does not open reads as none (tokenUnreadable).
func (s *Server) ossIndexSettings(ctx context.Context) (OSSIndexSettings, error) {
	v := OSSIndexSettings{BaseURL: DefaultOSSIndexURL}
	if _, err := s.st.Setting(ctx, settingOSSIndex, &v); err != nil {
		return v, err
	}
	if secret.IsSealed(v.Token) {
		tok, err := s.secrets.Open(ossTokenPurpose, v.Token)
		if err != nil {
			v.Token, v.tokenUnreadable = "", true
		} else {
			v.Token = tok
		}
	}
	return v, nil
}

// putOSSIndexRow stores the settings with the token sealed.
func (s *Server) putOSSIndexRow(ctx context.Context, v OSSIndexSettings) error {
	sealed, err := s.secrets.Seal(ossTokenPurpose, v.Token)
	if err != nil {
		return err
	}
	v.Token = sealed
	return s.st.PutSetting(ctx, settingOSSIndex, v)
}

// sealStoredSecrets seals an OSS Index token stored in plain text (by an
// older version) and re-seals one sealed with an older key, so that after
// a key rotation nothing stays under the old key. A token that does not
// open is reported, and left for an admin to set again.
func (s *Server) sealStoredSecrets(ctx context.Context) error {
	var raw OSSIndexSettings
	if _, err := s.st.Setting(ctx, settingOSSIndex, &raw); err != nil || raw.Token == "" {
		return err
	}
	if secret.IsSealed(raw.Token) && s.secrets.Current(raw.Token) {
		return nil
	}
	v, err := s.ossIndexSettings(ctx)
	if err != nil {
		return err
	}
	if v.tokenUnreadable {
		_, oerr := s.secrets.Open(ossTokenPurpose, raw.Token)
		s.log.Error("the stored OSS Index token cannot be opened with this server's secret key; set it again under Administration > Vulnerability sources", "key", s.secrets.Origin, "err", oerr)
		return nil
	}
	if err := s.putOSSIndexRow(ctx, v); err != nil {
		return err
	}
	s.log.Info("OSS Index token sealed with the current secret key", "key", s.secrets.Origin)
	return nil
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

// putOSVSettings validates and stores the OSV source settings. Ecosystems
// are checked against the source's ecosystems.txt (letter case fixed).
func (s *Server) putOSVSettings(ctx context.Context, v OSVSettings) (OSVSettings, error) {
	v.BaseURL = strings.TrimRight(strings.TrimSpace(v.BaseURL), "/")
	if v.BaseURL == "" {
		v.BaseURL = osvmirror.DefaultBaseURL
	}
	if err := validateBaseURL("base_url", v.BaseURL, true); err != nil {
		return v, store.Invalid(err)
	}
	var ecos []string
	for _, e := range v.Ecosystems {
		if e = strings.TrimSpace(e); e != "" {
			ecos = append(ecos, e)
		}
	}
	if v.Enabled && len(ecos) == 0 {
		return v, store.Invalid(errors.New("ecosystems: select at least one ecosystem to enable the OSV source"))
	}
	if len(ecos) > 0 {
		avail, err := s.availableEcosystems(ctx, v.BaseURL)
		if err != nil {
			return v, store.Invalid(fmt.Errorf("base_url: could not read the ecosystem list (ecosystems.txt) from %s: %v", v.BaseURL, err))
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
			return v, store.Invalid(fmt.Errorf("ecosystems: %s not offered by %s (it lists %s)", strings.Join(unknown, ", "), v.BaseURL, strings.Join(avail, ", ")))
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
		return v, store.Invalid(err)
	}
	if up.Token != nil {
		v.Token = strings.TrimSpace(*up.Token)
	}
	if v.Enabled && v.Token == "" {
		return v, store.Invalid(errors.New("token: OSS Index requires an API token; set one to enable the source"))
	}
	return v, s.putOSSIndexRow(ctx, v)
}
