package server

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/store"
)

// affectedRoutes: what a vulnerability affects in this installation, the
// projects (internal/project) and the packages feeds track
// (internal/feed), shown on the vulnerability page too.
func (s *Server) affectedRoutes() []route {
	return []route{
		s.api("GET /api/v1/advisories/{id}/affected", auth.Viewer, s.apiAffected),
	}
}

// maxAffectedFeedPackages bounds the tracked packages listed.
const maxAffectedFeedPackages = 200

type affectedProject struct {
	Name     string   `json:"name"`
	Versions []string `json:"versions"`
}

type affectedOut struct {
	ID       string                      `json:"id"`
	IDs      []string                    `json:"ids"` // the alias group looked for
	Projects []affectedProject           `json:"projects"`
	Feeds    []store.FeedPackageAffected `json:"feed_packages"`
	// FeedsTruncated says that more tracked packages are affected than
	// listed.
	FeedsTruncated bool `json:"feed_packages_truncated"`
}

// affected returns the projects (versions with an open finding) and the
// tracked feed packages (with an open finding in the feed's scope) of a
// vulnerability's alias group.
func (s *Server) affected(ctx context.Context, d catalog.Detail) (affectedOut, error) {
	ids := append([]string{d.ID}, d.Aliases...)
	out := affectedOut{ID: d.ID, IDs: ids, Projects: []affectedProject{}, Feeds: []store.FeedPackageAffected{}}
	ps, err := s.projects.ProjectsAffectedBy(ctx, ids)
	if err != nil {
		return out, err
	}
	for name, vs := range ps {
		out.Projects = append(out.Projects, affectedProject{Name: name, Versions: vs})
	}
	slices.SortFunc(out.Projects, func(a, b affectedProject) int { return strings.Compare(a.Name, b.Name) })
	fs, err := s.st.FeedsAffectedBy(ctx, ids, maxAffectedFeedPackages+1)
	if err != nil {
		return out, err
	}
	if len(fs) > maxAffectedFeedPackages {
		fs, out.FeedsTruncated = fs[:maxAffectedFeedPackages], true
	}
	out.Feeds = append(out.Feeds, fs...)
	return out, nil
}

func (s *Server) apiAffected(r *http.Request) (any, error) {
	d, err := s.advisoryDetail(r, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.affected(r.Context(), d)
}
