package server

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// policyRoutes: the effect of unassessed vulnerabilities per scope.
func (s *Server) policyRoutes() []route {
	return []route{
		s.api("GET /api/v1/policies", auth.Admin, s.apiPolicies),
		s.api("PUT /api/v1/policies/{scope}", auth.Admin, s.apiPutPolicy),
	}
}

type policyJSON struct {
	Scope  string `json:"scope"`
	Effect string `json:"effect"`
}

func (s *Server) policies(ctx context.Context) ([]policyJSON, error) {
	ps, err := s.assess.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := []policyJSON{{Scope: assess.Global, Effect: string(ps.For(assess.Global))}}
	for _, sc := range slices.Sorted(maps.Keys(ps)) {
		if sc != assess.Global {
			out = append(out, policyJSON{Scope: sc, Effect: string(ps[sc])})
		}
	}
	return out, nil
}

func (s *Server) apiPolicies(r *http.Request) (any, error) { return s.policies(r.Context()) }

func (s *Server) setPolicy(r *http.Request, scope, effect string) (policyJSON, error) {
	sc, err := assess.ParseScope(strings.TrimSpace(scope))
	if err != nil {
		return policyJSON{}, store.Invalid(fmt.Errorf("scope: %w", err))
	}
	e, err := assess.ParseEffect(strings.TrimSpace(effect))
	if err != nil {
		return policyJSON{}, store.Invalid(fmt.Errorf("effect: %w", err))
	}
	if err := s.assess.SetPolicy(r.Context(), sc, e, principal(r).Username); err != nil {
		return policyJSON{}, err
	}
	s.log.Info("policy set", "by", principal(r).Username, "scope", sc, "effect", e)
	return policyJSON{Scope: sc, Effect: string(e)}, nil
}

func (s *Server) apiPutPolicy(r *http.Request) (any, error) {
	var in struct {
		Effect string `json:"effect"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	return s.setPolicy(r, r.PathValue("scope"), in.Effect)
}
