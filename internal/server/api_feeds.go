package server

import (
	"net/http"

	"github.com/vulngate/vulngate/internal/auth"
)

// feedRoutes: package feeds, their decision audit and tracked packages.
// The feeds themselves are served at /feeds/ (internal/feed/proxy).
func (s *Server) feedRoutes() []route {
	return []route{
		s.api("GET /api/v1/feeds", auth.Viewer, s.apiFeeds),
		s.api("POST /api/v1/feeds", auth.Admin, s.apiCreateFeed),
		s.api("GET /api/v1/feeds/{name}", auth.Viewer, s.apiFeed),
		s.api("PATCH /api/v1/feeds/{name}", auth.Admin, s.apiUpdateFeed),
		s.api("DELETE /api/v1/feeds/{name}", auth.Admin, s.apiDeleteFeed),
		s.api("GET /api/v1/feeds/{name}/decisions", auth.Viewer, s.apiFeedDecisions),
		s.api("GET /api/v1/feeds/{name}/packages", auth.Viewer, s.apiFeedPackages),
	}
}

func (s *Server) apiFeeds(r *http.Request) (any, error) {
	fs, err := s.st.Feeds(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]feedJSON, 0, len(fs))
	for _, f := range fs {
		o, err := s.feedWithAssessors(r.Context(), f)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (s *Server) apiFeed(r *http.Request) (any, error) {
	f, err := s.st.FeedByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return s.feedWithAssessors(r.Context(), f)
}

func (s *Server) apiCreateFeed(r *http.Request) (any, error) {
	var in feedInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	f, err := s.saveFeed(r, "", in, true)
	if err != nil {
		return nil, err
	}
	o, err := s.feedWithAssessors(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return created("/api/v1/feeds/"+f.Name, o), nil
}

func (s *Server) apiUpdateFeed(r *http.Request) (any, error) {
	var in feedInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	f, err := s.saveFeed(r, r.PathValue("name"), in, false)
	if err != nil {
		return nil, err
	}
	return s.feedWithAssessors(r.Context(), f)
}

func (s *Server) apiDeleteFeed(r *http.Request) (any, error) {
	if err := s.deleteFeed(r, r.PathValue("name")); err != nil {
		return nil, err
	}
	return noContent(), nil
}

func (s *Server) apiFeedDecisions(r *http.Request) (any, error) {
	return s.feedDecisions(r.Context(), r.PathValue("name"), r.URL.Query(), 50)
}

func (s *Server) apiFeedPackages(r *http.Request) (any, error) {
	return s.feedPackages(r.Context(), r.PathValue("name"), r.URL.Query(), 50)
}
