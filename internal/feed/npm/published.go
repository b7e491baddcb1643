package npm

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/purl"
)

// VersionDocs implements feed.VersionList: the abbreviated packument
// (what npm install reads), else the full one.
func (h *Handler) VersionDocs(_ context.Context, f feed.Feed, pkg purl.Package) ([]feed.MetaRequest, error) {
	if !ValidName(pkg.Name) {
		return nil, fmt.Errorf("invalid npm package name %q", pkg.Name)
	}
	return []feed.MetaRequest{packumentRequest(f, pkg.Name, true), packumentRequest(f, pkg.Name, false)}, nil
}

// ParseVersions implements feed.VersionList: the keys of a packument's
// "versions", without the ones the upstream deprecated.
func (h *Handler) ParseVersions(pkg purl.Package, m *feed.Meta) ([]string, error) {
	return PublishedVersions(m.Body)
}

// PublishedVersions reads the versions a packument (full or abbreviated)
// publishes, leaving out deprecated ones.
func PublishedVersions(body []byte) ([]string, error) {
	var doc struct {
		Versions map[string]struct {
			Deprecated json.RawMessage `json:"deprecated"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("npm packument: %w", err)
	}
	out := make([]string, 0, len(doc.Versions))
	for v, man := range doc.Versions {
		var msg any
		if len(man.Deprecated) > 0 && json.Unmarshal(man.Deprecated, &msg) == nil {
			if s, ok := msg.(string); ok && s != "" || msg == true {
				continue
			}
		}
		out = append(out, v)
	}
	feed.SortVersions("npm", out)
	return out, nil
}
