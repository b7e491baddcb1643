// Package feedtest sets up package feeds for tests: a store in a
// temporary data directory with ecosystems of the shared OSV corpus
// mirrored into it, the feed proxy served on loopback, helpers to create
// feeds and assess vulnerabilities, and small upstream registries served
// by the test. It also runs real package-manager clients with an isolated
// environment.
//
// It is test support only and is never linked into the binary.
package feedtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/testutil"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// Env is a running feed proxy over a test store.
type Env struct {
	Store       *store.Store
	DataDir     string
	Proxy       *proxy.Handler
	Server      *httptest.Server
	Assessments *assess.Service
}

// Options tunes New.
type Options struct {
	// Ecosystems of the shared corpus to mirror (e.g. "npm").
	Ecosystems []string
	Proxy      proxy.Options
}

// New mirrors the ecosystems and serves the proxy until the test ends.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if len(opts.Ecosystems) > 0 {
		srv := corpus.Serve(t, corpus.Dir(t))
		m, err := osvmirror.New(st, osvmirror.Options{BaseURL: srv.URL, Ecosystems: opts.Ecosystems, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := m.Sync(ctx)
		if err != nil || rep.Failed() {
			t.Fatalf("mirroring %v: %v %+v", opts.Ecosystems, err, rep)
		}
	}
	po := opts.Proxy
	po.Store, po.DataDir = st, dir
	if po.Gate.PollInterval == 0 {
		po.Gate.PollInterval = 50 * time.Millisecond
	}
	p, err := proxy.New(po)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(proxy.Prefix, p)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		p.Close()
	})
	return &Env{Store: st, DataDir: dir, Proxy: p, Server: srv, Assessments: assess.New(st)}
}

// AddFeed creates a feed (validated; defaults: sources osv, TTL 5m).
func (e *Env) AddFeed(t testing.TB, f store.Feed) store.Feed {
	t.Helper()
	if len(f.Sources) == 0 {
		f.Sources = []string{feed.SourceOSV}
	}
	if f.MetadataTTL == 0 {
		f.MetadataTTL = feed.DefaultMetadataTTL
	}
	if err := feed.Validate(&f); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateFeed(context.Background(), f, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.Proxy.Forget(f.Name)
	return f
}

// UpdateFeed changes a feed's settings.
func (e *Env) UpdateFeed(t testing.TB, f store.Feed) {
	t.Helper()
	if err := e.Store.UpdateFeed(context.Background(), f, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.Proxy.Forget(f.Name)
	time.Sleep(100 * time.Millisecond) // let the gate notice
}

// Assess assesses a vulnerability globally with the type (e.g. "Blocked").
func (e *Env) Assess(t testing.TB, vulnID, typ string) {
	t.Helper()
	if _, err := e.Assessments.Set(context.Background(), assess.SetRequest{VulnID: vulnID, Type: typ, By: "test", Never: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the gate notice
}

// URL is the feed's base URL.
func (e *Env) URL(name string) string { return e.Server.URL + proxy.Prefix + name }

// Upstream serves files from a map of paths (with optional content
// types) as a local registry; Hits counts requests per path.
type Upstream struct {
	*httptest.Server
	Files map[string][]byte
	Types map[string]string
	Hits  map[string]int
	down  bool
	mu    sync.Mutex
}

// NewUpstream starts a registry for the test.
func NewUpstream(t testing.TB) *Upstream {
	u := &Upstream{Files: map[string][]byte{}, Types: map[string]string{}, Hits: map[string]int{}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

// SetDown makes the upstream answer 503 to everything.
func (u *Upstream) SetDown(down bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.down = down
}

// Put adds a file.
func (u *Upstream) Put(path, contentType string, b []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.Files[path], u.Types[path] = b, contentType
}

// HitCount returns how many requests asked for path.
func (u *Upstream) HitCount(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.Hits[path]
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	u.mu.Lock()
	u.Hits[p]++
	down := u.down
	b, ok := u.Files[p]
	ct := u.Types[p]
	u.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Write(b)
}

// Result is what a client run printed.
type Result struct {
	Out string
	Err error
}

// Run runs a client command with env (on top of a minimal PATH/HOME
// environment) in dir, bounded by a timeout, and returns its combined
// output.
func Run(t testing.TB, dir string, env []string, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("$ %s %s\n%s", name, strings.Join(args, " "), out.String())
	return Result{Out: out.String(), Err: err}
}

// Need skips the test, loudly, when a client binary is missing.
func Need(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		testutil.Unavailable(t, "%s is not installed (%v); CI must install it to run this real-client test", bin, err)
	}
	return p
}

// Words checks that a client's output shows every wanted phrase and logs
// the lines that carry vulngate's words ("WORDS client case: line"), from
// which docs/feeds.md's table of what users see is taken.
func Words(t testing.TB, client, situation, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s, %s: the output lacks %q:\n%s", client, situation, w, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "vulngate") || strings.Contains(l, "yanked") || strings.Contains(l, "deprecated") ||
			strings.Contains(l, "Upgrade to") || strings.Contains(l, "No version published") || strings.Contains(l, "the feed serves") {
			t.Logf("WORDS %s %s: %s", client, situation, strings.TrimSpace(l))
		}
	}
}
