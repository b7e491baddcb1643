package maven

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/purl"
)

// VersionDocs implements feed.VersionList: the artifact's
// maven-metadata.xml.
func (h *Handler) VersionDocs(_ context.Context, f feed.Feed, pkg purl.Package) ([]feed.MetaRequest, error) {
	group, artifact, ok := strings.Cut(pkg.Name, ":")
	if !ok || !segmentRE.MatchString(artifact) {
		return nil, fmt.Errorf("invalid maven name %q", pkg.Name)
	}
	for s := range strings.SplitSeq(group, ".") {
		if !segmentRE.MatchString(s) {
			return nil, fmt.Errorf("invalid maven group %q", group)
		}
	}
	rel := strings.ReplaceAll(group, ".", "/") + "/" + artifact + "/maven-metadata.xml"
	return []feed.MetaRequest{{Feed: f, Key: rel, URL: f.Upstream + "/" + rel}}, nil
}

// ParseVersions implements feed.VersionList.
func (h *Handler) ParseVersions(_ purl.Package, m *feed.Meta) ([]string, error) {
	return PublishedVersions(m.Body)
}

// PublishedVersions reads the <versions> of a maven-metadata.xml.
func PublishedVersions(body []byte) ([]string, error) {
	var md Metadata
	if err := xml.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("maven-metadata.xml: %w", err)
	}
	var out []string
	for _, v := range md.Versioning.Versions {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	feed.SortVersions("Maven", out)
	return out, nil
}
