package server

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes walks every registered route: each API route
// and probe must be in /api/openapi.json, and each documented operation
// must be registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	res := e.do("", "GET", "/api/openapi.json", nil)
	wantStatus(t, res, 200)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	res.json(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	registered := map[string]bool{}
	for _, rt := range e.srv.routes {
		if rt.API || rt.Path == "/healthz" || rt.Path == "/readyz" || rt.Path == "/metrics" {
			registered[rt.Method+" "+rt.Path] = true
		}
	}
	var missing, stale []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes not documented in openapi.json: %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("documented operations without a route: %v", stale)
	}
	if len(registered) < 30 {
		t.Errorf("only %d API routes found; the walk is broken", len(registered))
	}
}
