package pypi

import (
	"context"
	"fmt"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/purl"
)

// VersionDocs implements feed.VersionList: the project page.
func (h *Handler) VersionDocs(_ context.Context, f feed.Feed, pkg purl.Package) ([]feed.MetaRequest, error) {
	name := Normalize(pkg.Name)
	if !projectRE.MatchString(name) {
		return nil, fmt.Errorf("invalid project name %q", pkg.Name)
	}
	return []feed.MetaRequest{projectRequest(f, name)}, nil
}

// ParseVersions implements feed.VersionList: the versions of the
// project page's files, without those whose every file is yanked.
func (h *Handler) ParseVersions(pkg purl.Package, m *feed.Meta) ([]string, error) {
	name := Normalize(pkg.Name)
	proj, err := parseProject(feed.Feed{}, name, m)
	if err != nil {
		return nil, err
	}
	return PublishedVersions(proj), nil
}

// PublishedVersions lists the versions a project's files carry, sorted,
// leaving out versions whose every file is yanked (PEP 592: installers
// skip them).
func PublishedVersions(proj *Project) []string {
	live := map[string]bool{}
	var out []string
	for _, f := range proj.Files {
		v, ok := VersionOf(proj.Name, f.Filename)
		if !ok {
			continue
		}
		yanked := false
		switch y := f.Yanked.(type) {
		case bool:
			yanked = y
		case string:
			yanked = true // a reason; PEP 691 gives false when not yanked
		}
		if was, seen := live[v]; !seen {
			live[v] = !yanked
			out = append(out, v)
		} else if !was && !yanked {
			live[v] = true
		}
	}
	kept := out[:0]
	for _, v := range out {
		if live[v] {
			kept = append(kept, v)
		}
	}
	feed.SortVersions("PyPI", kept)
	return kept
}
