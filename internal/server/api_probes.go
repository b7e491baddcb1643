package server

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPIDoc []byte

// probeRoutes: health and readiness probes, metrics, the API description.
func (s *Server) probeRoutes() []route {
	return []route{
		s.plain("GET /healthz", "", s.healthz),
		s.plain("GET /readyz", "", s.readyz),
		s.plain("GET /metrics", "", s.metricsHandler),
		s.plain("GET /api/openapi.json", "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(openAPIDoc)
		}),
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.st.Ready(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		problem(w, r, http.StatusServiceUnavailable, "not ready: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}
