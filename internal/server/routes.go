package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
)

// route is one row of the route table: the pattern, who may call it and
// the handler. Every resource file returns its rows (api_<resource>.go for
// the REST API, ui_<resource>.go for pages); registerRoutes registers them
// all behind the role check, and tests walk the table (TestRoutePermissions,
// TestOpenAPIMatchesRoutes).
type route struct {
	Method, Path string
	Need         auth.Role // least role; "" = public
	API          bool
	// Grant marks assessing routes: beyond the role, assessors need an
	// assess grant covering the scope (checked by the handler).
	Grant bool
	// Class is the route's load class: how many of its requests may run
	// at once before more are shed with 503 (see Limits).
	Class class
	h     http.Handler
}

// Route classes: requests of a class share its in-flight bound.
type class string

const (
	classFree   class = "free"   // probes, metrics, static files: never shed
	classRead   class = "read"   // GET and HEAD of the API and pages
	classWrite  class = "write"  // changes, logins
	classScan   class = "scan"   // CPU-heavy: scans, package lookups, uploads, imports
	classStream class = "stream" // long-lived: live job logs
	classFeed   class = "feed"   // package feed downloads (/feeds/)
)

// classes lists the routes whose class is not given by their method (GET
// and HEAD read, others write). Rows registered by any file get their
// class here, so that the limits are visible in one place.
var classes = map[string]class{
	"GET /healthz":          classFree,
	"GET /readyz":           classFree,
	"GET /metrics":          classFree,
	"GET /api/openapi.json": classFree,
	"GET /static/":          classFree,
	"POST /api/v1/scan":     classScan,
	"GET /api/v1/packages":  classScan,
	"GET /packages":         classScan,
	"POST /api/v1/vex":      classScan,
	"PUT /api/v1/projects/{name}/versions/{version}": classScan,
	"POST /projects/upload":                          classScan,
	"GET /api/v1/jobs/{name}/runs/{id}/log":          classStream,
	"/feeds/":                                        classFeed,
}

// classOf is a row's load class.
func classOf(method, path string) class {
	if c, ok := classes[strings.TrimSpace(method+" "+path)]; ok {
		return c
	}
	if method == http.MethodGet || method == http.MethodHead {
		return classRead
	}
	return classWrite
}

// api is a row for an API handler of the (value, error) shape.
func (s *Server) api(pattern string, need auth.Role, fn apiFunc) route {
	return newRoute(pattern, need, s.serveAPI(fn))
}

// plain is a row for a handler that writes its own answer: pages, event
// streams, files.
func (s *Server) plain(pattern string, need auth.Role, h http.HandlerFunc) route {
	return newRoute(pattern, need, h)
}

// assessing marks an assessing row: assessors and admins pass the role
// check; the handler checks the assess grant for the scope.
func (rt route) assessing() route {
	rt.Need, rt.Grant = auth.Assessor, true
	return rt
}

func newRoute(pattern string, need auth.Role, h http.Handler) route {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok { // a prefix for every method, such as /feeds/
		method, path = "", pattern
	}
	return route{Method: method, Path: path, Need: need, API: strings.HasPrefix(path, "/api/"), Class: classOf(method, path), h: h}
}

// registerRoutes registers the route table: each resource's rows.
func (s *Server) registerRoutes() {
	for _, rows := range [][]route{
		s.probeRoutes(),
		// REST API.
		s.sessionRoutes(),
		s.sourceRoutes(),
		s.advisoryRoutes(),
		s.packageRoutes(),
		s.jobRoutes(),
		s.userRoutes(),
		s.assessmentTypeRoutes(),
		s.assessmentRoutes(),
		s.policyRoutes(),
		s.findingRoutes(),
		s.vexRoutes(),
		s.feedRoutes(),
		s.approvalRoutes(),
		s.projectRoutes(),
		s.backupRoutes(),
		s.notificationRoutes(),
		s.affectedRoutes(),
		s.enrichmentRoutes(),
		// Pages.
		s.staticRoutes(),
		s.sessionPages(),
		s.advisoryPages(),
		s.packagePages(),
		s.sourcePages(),
		s.jobPages(),
		s.userPages(),
		s.assessPages(),
		s.feedPages(),
		s.approvalPages(),
		s.projectPages(),
		s.backupPages(),
		s.notificationPages(),
	} {
		for _, rt := range rows {
			s.addRoute(rt)
		}
	}
	// Anything else under /api/ is a problem, not an HTML page.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, r, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
}

// addRoute registers a row of the route table.
func (s *Server) addRoute(rt route) {
	s.routes = append(s.routes, rt)
	s.classes[strings.TrimSpace(rt.Method+" "+rt.Path)] = rt.Class
	s.mux.Handle(strings.TrimSpace(rt.Method+" "+rt.Path), s.guard(rt.Need, rt.API, rt.h))
}

// guard checks the caller's role before h.
func (s *Server) guard(need auth.Role, api bool, h http.Handler) http.Handler {
	if need == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if p == nil {
			if api {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vulngate"`)
				problem(w, r, http.StatusUnauthorized, "authentication required: log in, or send an API key as \"Authorization: Bearer vg_...\"")
				return
			}
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !p.Is(need) {
			msg := fmt.Sprintf("this needs the %s role; you are %s", need, p.Role)
			if api {
				problem(w, r, http.StatusForbidden, msg)
				return
			}
			s.renderError(w, r, http.StatusForbidden, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}
