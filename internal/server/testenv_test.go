package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/store"
)

// The test environment every server test uses: a server on a fresh store
// with one user per role, requests made as a role, and status checks.

// fastArgon2 keeps tests quick; production uses auth.DefaultArgon2.
var fastArgon2 = auth.Argon2Params{Time: 1, Memory: 8 * 1024, Threads: 1}

const adminPassword = "admin-password-for-tests"

type testEnv struct {
	t    *testing.T
	st   *store.Store
	srv  *Server
	http *httptest.Server
	keys map[auth.Role]string // an API key per role
	ids  map[auth.Role]int64  // the user per role
}

func newEnv(t *testing.T, mut ...func(*Options)) *testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := Options{Store: st, DataDir: dir, AdminPassword: adminPassword, Argon2: fastArgon2, NoStartupJobs: true, LoginBurst: 100, Version: "test"}
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, m := range mut {
		m(&opts)
	}
	srv, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Shutdown(context.Background())
	})
	e := &testEnv{t: t, st: st, srv: srv, http: hs, keys: map[auth.Role]string{}, ids: map[auth.Role]int64{}}
	admin, err := st.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	e.ids[auth.Admin] = admin.ID
	for _, r := range []auth.Role{auth.Assessor, auth.Viewer} {
		hash, _ := auth.HashPassword(string(r)+"-password-1", fastArgon2)
		id, err := st.CreateUser(ctx, store.User{Username: string(r) + "1", Role: string(r), PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		e.ids[r] = id
	}
	for r, id := range e.ids {
		key, prefix, hash := auth.NewAPIKey()
		if _, err := st.CreateAPIKey(ctx, id, "test", prefix, hash); err != nil {
			t.Fatal(err)
		}
		e.keys[r] = key
	}
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// do sends a request as role ("" anonymous) with a JSON body (nil: none).
func (e *testEnv) do(role auth.Role, method, path string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.http.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.send(req, role, false)
}

// raw sends a request as role with a body of the given content type.
func (e *testEnv) raw(role auth.Role, method, path, contentType, body string) resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return e.send(req, role, true)
}

// send makes req as role ("" anonymous) and reads the answer; redirects
// are followed only when follow is set.
func (e *testEnv) send(req *http.Request, role auth.Role, follow bool) resp {
	e.t.Helper()
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[role])
	}
	c := *e.http.Client()
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func wantStatus(t *testing.T, r resp, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
}

func wantProblem(t *testing.T, r resp, status int, detail string) {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	var p Problem
	r.json(t, &p)
	if p.Status != status || !strings.Contains(p.Detail, detail) {
		t.Fatalf("problem %+v, want detail containing %q", p, detail)
	}
}

// blockingJob registers a job that runs until release is closed.
func (e *testEnv) blockingJob(name string) (started, release chan struct{}) {
	started, release = make(chan struct{}, 1), make(chan struct{})
	err := e.srv.Runner().Register(context.Background(), jobs.Job{Name: name, Title: "Blocker", Run: func(ctx context.Context, log *slog.Logger) error {
		log.Info("blocker started")
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		log.Info("blocker released")
		return nil
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return started, release
}

// concrete turns a route pattern into a request path for the matrix.
func (e *testEnv) concrete(path string, runID, victim, victimKey int64) string {
	r := strings.NewReplacer("{name}", JobAdvisoryIndex, "{key}", fmt.Sprint(victimKey))
	p := strings.Replace(r.Replace(path), "{$}", "", 1)
	if strings.Contains(p, "/runs/{id}") {
		p = strings.Replace(p, "{id}", fmt.Sprint(runID), 1)
	}
	p = strings.Replace(p, "{id}", fmt.Sprint(victim), 1)
	switch path {
	case "/api/v1/advisories/{id}":
		p = "/api/v1/advisories/NOPE-1"
	case "/api/v1/packages":
		p += "?purl=" + url.QueryEscape("pkg:pypi/django@3.2.0")
	case "/api/v1/sources/osv/ecosystems":
		p += "?base_url=" + url.QueryEscape("file:///nonexistent")
	case "/api/v1/assessment-types/{name}":
		p = "/api/v1/assessment-types/NoSuchType"
	case "/api/v1/policies/{scope}":
		p = "/api/v1/policies/project:app"
	case "/api/v1/assessments/{id}", "/api/v1/assessments/{id}/history":
		p = strings.Replace(path, "{id}", "GHSA-none-none-none", 1)
	}
	return p
}
