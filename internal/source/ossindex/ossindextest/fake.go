// Package ossindextest is a fake OSS Index for tests: a loopback httptest
// server answering POST /api/v3/authorized/component-report the way the
// documented API does. It checks HTTP basic or Bearer credentials (401 on
// a mismatch), rejects more than 128 coordinates with 400, answers every
// coordinate with a report (vulnerabilities from testdata/component-reports.json
// or added with Add, else none), and can inject 429 (with or without
// Retry-After), 5xx answers and latency. It counts requests and records the
// coordinates received.
//
// It is test support only and is never linked into the binary.
package ossindextest

import (
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed testdata/component-reports.json
var fixture []byte

// Path is the endpoint the fake serves.
const Path = "/api/v3/authorized/component-report"

// Server is a fake OSS Index.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	username string // "" expects a Bearer token
	token    string
	reports  map[string]json.RawMessage // lowercased coordinate -> vulnerabilities array
	received [][]string
	requests int
	auths    []string

	rateLimit  int    // next n requests get 429
	retryAfter string // Retry-After value sent with 429, "" for none
	failures   int    // next n requests get failStatus
	failStatus int
	failIf     string // requests containing this coordinate always fail with 503
	latency    time.Duration
	echo       func(string) string // rewrites coordinates in answers
}

// New starts a fake expecting these credentials (username "" means a
// Bearer token) and stops it when the test ends.
func New(t testing.TB, username, token string) *Server {
	t.Helper()
	s := &Server{username: username, token: token, reports: map[string]json.RawMessage{}}
	var doc struct {
		Reports []struct {
			Coordinates     string          `json:"coordinates"`
			Vulnerabilities json.RawMessage `json:"vulnerabilities"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(fixture, &doc); err != nil {
		t.Fatalf("ossindextest fixture: %v", err)
	}
	for _, r := range doc.Reports {
		s.reports[strings.ToLower(r.Coordinates)] = r.Vulnerabilities
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// Add sets the vulnerabilities (a JSON array) reported for a coordinate.
func (s *Server) Add(coordinate, vulnerabilitiesJSON string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports[strings.ToLower(coordinate)] = json.RawMessage(vulnerabilitiesJSON)
}

// RateLimit makes the next n requests answer 429 with the Retry-After
// value (none when "").
func (s *Server) RateLimit(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit, s.retryAfter = n, retryAfter
}

// Fail makes the next n requests answer status.
func (s *Server) Fail(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures, s.failStatus = n, status
}

// FailIf makes every request containing the coordinate answer 503.
func (s *Server) FailIf(coordinate string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failIf = coordinate
}

// Echo makes answers name coordinates as f rewrites them (e.g. another
// letter case), as the real service sometimes does.
func (s *Server) Echo(f func(string) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo = f
}

// SetLatency delays every answer.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Requests returns the number of requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Received returns the coordinates of every well-formed request, in
// arrival order.
func (s *Server) Received() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.received))
	copy(out, s.received)
	return out
}

// Authorizations returns the Authorization headers received.
func (s *Server) Authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// Reset clears the counters and recordings.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.received, s.auths = 0, nil, nil
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.auths = append(s.auths, r.Header.Get("Authorization"))
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Sonatype OSS Index"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	var req struct {
		Coordinates []string `json:"coordinates"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "invalid request body", http.StatusBadRequest)
		return
	}
	if len(req.Coordinates) > 128 {
		http.Error(w, "Too many coordinates; the limit is 128", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.received = append(s.received, req.Coordinates)
	status, retryAfter := 0, ""
	switch {
	case s.rateLimit > 0:
		s.rateLimit--
		status, retryAfter = http.StatusTooManyRequests, s.retryAfter
	case s.failures > 0:
		s.failures--
		status = s.failStatus
	case s.failIf != "" && contains(req.Coordinates, s.failIf):
		status = http.StatusServiceUnavailable
	}
	type report struct {
		Coordinates     string          `json:"coordinates"`
		Description     string          `json:"description"`
		Reference       string          `json:"reference"`
		Vulnerabilities json.RawMessage `json:"vulnerabilities"`
	}
	out := make([]report, 0, len(req.Coordinates))
	for _, c := range req.Coordinates {
		v, ok := s.reports[strings.ToLower(c)]
		if !ok {
			v = json.RawMessage("[]")
		}
		if s.echo != nil {
			c = s.echo(c)
		}
		out = append(out, report{Coordinates: c, Reference: "https://ossindex.sonatype.org/component/" + c, Vulnerabilities: v})
	}
	s.mu.Unlock()
	if status != 0 {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.ossindex.component-report.v1+json")
	json.NewEncoder(w).Encode(out)
}

func (s *Server) authorized(r *http.Request) bool {
	s.mu.Lock()
	user, token := s.username, s.token
	s.mu.Unlock()
	if user == "" {
		return r.Header.Get("Authorization") == "Bearer "+token
	}
	u, p, ok := r.BasicAuth()
	return ok && u == user && p == token
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
