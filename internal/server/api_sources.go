package server

import (
	"net/http"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
)

// sourceRoutes: the vulnerability sources' settings.
func (s *Server) sourceRoutes() []route {
	return []route{
		s.api("GET /api/v1/sources", auth.Viewer, s.apiSources),
		s.api("GET /api/v1/sources/osv/ecosystems", auth.Admin, s.apiOSVEcosystems),
		s.api("PUT /api/v1/sources/osv", auth.Admin, s.apiPutOSV),
		s.api("PUT /api/v1/sources/ossindex", auth.Admin, s.apiPutOSSIndex),
	}
}

type ossIndexOut struct {
	Enabled  bool   `json:"enabled"`
	BaseURL  string `json:"base_url"`
	Username string `json:"username"`
	TokenSet bool   `json:"token_set"`
	// TokenUnreadable: a token is stored but this server's secret key
	// does not open it (see docs/server.md, Security): set it again.
	TokenUnreadable bool `json:"token_unreadable,omitempty"`
}

type sourcesOut struct {
	OSV      OSVSettings `json:"osv"`
	OSSIndex ossIndexOut `json:"ossindex"`
	// Enrichment lists NVD, EPSS and KEV (server/enrich.go).
	Enrichment []enrichOut `json:"enrichment"`
}

func ossOut(v OSSIndexSettings) ossIndexOut {
	return ossIndexOut{Enabled: v.Enabled, BaseURL: v.BaseURL, Username: v.Username, TokenSet: v.Token != "", TokenUnreadable: v.tokenUnreadable}
}

func (s *Server) apiSources(r *http.Request) (any, error) {
	o, err := s.osvSettings(r.Context())
	if err != nil {
		return nil, err
	}
	x, err := s.ossIndexSettings(r.Context())
	if err != nil {
		return nil, err
	}
	en, err := s.enrichView(r.Context())
	if err != nil {
		return nil, err
	}
	return sourcesOut{OSV: o, OSSIndex: ossOut(x), Enrichment: en}, nil
}

func (s *Server) apiOSVEcosystems(r *http.Request) (any, error) {
	base := r.URL.Query().Get("base_url")
	if base == "" {
		v, err := s.osvSettings(r.Context())
		if err != nil {
			return nil, err
		}
		base = v.BaseURL
	}
	if err := validateBaseURL("base_url", base, true); err != nil {
		return nil, badRequest(err)
	}
	list, err := s.availableEcosystems(r.Context(), base)
	if err != nil {
		return nil, errStatus(http.StatusBadGateway, "could not read ecosystems.txt from %s: %v", base, err)
	}
	return map[string]any{"base_url": base, "ecosystems": list}, nil
}

func (s *Server) apiPutOSV(r *http.Request) (any, error) {
	var v OSVSettings
	if err := decode(r, &v); err != nil {
		return nil, err
	}
	out, err := s.putOSVSettings(r.Context(), v)
	if err != nil {
		return nil, err
	}
	s.log.Info("OSV source updated", "user", principal(r).Username, "enabled", out.Enabled, "ecosystems", strings.Join(out.Ecosystems, ","))
	return out, nil
}

func (s *Server) apiPutOSSIndex(r *http.Request) (any, error) {
	var up OSSIndexUpdate
	if err := decode(r, &up); err != nil {
		return nil, err
	}
	out, err := s.putOSSIndexSettings(r.Context(), up)
	if err != nil {
		return nil, err
	}
	s.log.Info("OSS Index source updated", "user", principal(r).Username, "enabled", out.Enabled)
	return ossOut(out), nil
}
