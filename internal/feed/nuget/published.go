package nuget

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/purl"
)

// indexRequest asks for a package's flat container version list.
func indexRequest(f feed.Feed, res resources, id string) feed.MetaRequest {
	rel := id + "/index.json"
	return feed.MetaRequest{Feed: f, Key: "flat/" + rel, URL: res.flat + rel}
}

// VersionDocs implements feed.VersionList: the flat container's
// index.json (its URL comes from the upstream's service index).
func (h *Handler) VersionDocs(ctx context.Context, f feed.Feed, pkg purl.Package) ([]feed.MetaRequest, error) {
	id := strings.ToLower(pkg.Name)
	if !idRE.MatchString(id) || strings.Contains(id, "..") {
		return nil, fmt.Errorf("invalid package ID %q", pkg.Name)
	}
	res, err := h.upstreamResources(ctx, f)
	if err != nil {
		return nil, err
	}
	return []feed.MetaRequest{indexRequest(f, res, id)}, nil
}

// ParseVersions implements feed.VersionList.
func (h *Handler) ParseVersions(_ purl.Package, m *feed.Meta) ([]string, error) {
	return PublishedVersions(m.Body)
}

// PublishedVersions reads a flat container index.json.
func PublishedVersions(body []byte) ([]string, error) {
	var doc struct {
		Versions []string `json:"versions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("nuget versions: %w", err)
	}
	var out []string
	for _, v := range doc.Versions {
		if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
			out = append(out, v)
		}
	}
	feed.SortVersions("NuGet", out)
	return out, nil
}
