package gomod

import (
	"context"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/purl"
)

// listRequest asks for a module's version list; mod is the escaped path.
func listRequest(f feed.Feed, mod string) feed.MetaRequest {
	return feed.MetaRequest{Feed: f, Key: mod + "/@v/list", URL: f.Upstream + "/" + mod + "/@v/list"}
}

// VersionDocs implements feed.VersionList: the module's @v/list.
func (h *Handler) VersionDocs(_ context.Context, f feed.Feed, pkg purl.Package) ([]feed.MetaRequest, error) {
	esc, err := module.EscapePath(pkg.Name)
	if err != nil {
		return nil, err
	}
	return []feed.MetaRequest{listRequest(f, esc)}, nil
}

// ParseVersions implements feed.VersionList.
func (h *Handler) ParseVersions(_ purl.Package, m *feed.Meta) ([]string, error) {
	return PublishedVersions(m.Body), nil
}

// PublishedVersions reads a @v/list body: one version per line; lines
// that are not canonical semantic versions are left out.
func PublishedVersions(body []byte) []string {
	var out []string
	for l := range strings.SplitSeq(string(body), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && semver.IsValid(l) && semver.Canonical(l) == strings.TrimSuffix(l, "+incompatible") {
			out = append(out, l)
		}
	}
	feed.SortVersions("Go", out)
	return out
}
