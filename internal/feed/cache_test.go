package feed

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

type fullDisk struct {
	*os.File
	left int
}

func (f *fullDisk) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.File.Write(p[:f.left])
		f.left = 0
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.left -= len(p)
	return f.File.Write(p)
}

func newTestCache(t *testing.T, opts CacheOptions, up UpstreamOptions) (*Cache, *store.Store, Feed) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := Feed{Name: "f", Type: "npm", Upstream: "http://127.0.0.1:1", Sources: []string{"osv"}, MetadataTTL: time.Minute}
	if err := st.CreateFeed(ctx, f, time.Now()); err != nil {
		t.Fatal(err)
	}
	opts.Dir = filepath.Join(t.TempDir(), "cache")
	c, err := NewCache(st, NewUpstream(up), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, st, f
}

func TestArtifactDiskFullKeepsMetadataServing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 10000)))
	}))
	defer srv.Close()
	c, _, f := newTestCache(t, CacheOptions{createTemp: func(dir, pattern string) (tempFile, error) {
		file, err := os.CreateTemp(dir, pattern)
		return &fullDisk{File: file, left: 100}, err
	}}, UpstreamOptions{})
	ctx := context.Background()
	_, err := c.Artifact(ctx, ArtifactRequest{Feed: f, Key: "a", URL: func(context.Context) (string, error) { return srv.URL + "/a", nil }})
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("got %v, want ErrDiskFull", err)
	}
	if !strings.Contains(err.Error(), "no space left") {
		t.Errorf("error does not say why: %v", err)
	}
	tmp, _ := os.ReadDir(filepath.Join(c.opts.Dir, "tmp"))
	if len(tmp) != 0 {
		t.Errorf("temporary files left behind: %d", len(tmp))
	}
	m, err := c.Metadata(ctx, MetaRequest{Feed: f, Key: "m", URL: srv.URL + "/m"})
	if err != nil || len(m.Body) != 10000 {
		t.Fatalf("metadata while the artifact disk is full: %v", err)
	}
	// The refusal a client gets names the problem.
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("GET", "/x", nil), c.log, errors.Join(ErrDiskFull, err), StyleText)
	if rec.Code != http.StatusInsufficientStorage || !strings.Contains(rec.Body.String(), "disk is full") {
		t.Errorf("disk-full answer: %d %q", rec.Code, rec.Body.String())
	}
}

func TestSizeLimitsAndContentAddressing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length: the limit applies while reading
		}
		w.Write([]byte(strings.Repeat("y", 2048)))
	}))
	defer srv.Close()
	c, st, f := newTestCache(t, CacheOptions{}, UpstreamOptions{MaxArtifact: 1024, MaxMetadata: 1024})
	ctx := context.Background()
	for _, p := range []string{"/plain", "/chunked"} {
		_, err := c.Artifact(ctx, ArtifactRequest{Feed: f, Key: p, URL: func(context.Context) (string, error) { return srv.URL + p, nil }})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: got %v, want ErrTooLarge", p, err)
		}
	}
	if _, err := c.Metadata(ctx, MetaRequest{Feed: f, Key: "m", URL: srv.URL + "/m"}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("metadata: got %v, want ErrTooLarge", err)
	}
	tmp, _ := os.ReadDir(filepath.Join(c.opts.Dir, "tmp"))
	if len(tmp) != 0 {
		t.Errorf("temporary files left behind: %d", len(tmp))
	}

	small := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	a, err := c.Artifact(ctx, ArtifactRequest{Feed: f, Key: "h", URL: func(context.Context) (string, error) { return small.URL, nil }})
	if err != nil {
		t.Fatal(err)
	}
	const sum = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if a.SHA256 != sum || a.Path != filepath.Join(c.opts.Dir, "sha256", "2c", sum) {
		t.Errorf("not content-addressed: %+v", a)
	}
	// Cached artifacts are served with the upstream gone, from a new
	// cache instance too (the index is in the store).
	small.Close()
	c2, err := NewCache(st, NewUpstream(UpstreamOptions{}), CacheOptions{Dir: c.opts.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if a2, err := c2.Artifact(ctx, ArtifactRequest{Feed: f, Key: "h", URL: func(context.Context) (string, error) { return small.URL, nil }}); err != nil || a2.SHA256 != sum {
		t.Fatalf("cached artifact with upstream down: %v", err)
	}
}

func TestStaleMetadata(t *testing.T) {
	down := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "doc")
	}))
	defer srv.Close()
	now := time.Now()
	c, _, f := newTestCache(t, CacheOptions{Now: func() time.Time { return now }}, UpstreamOptions{})
	ctx := context.Background()
	req := MetaRequest{Feed: f, Key: "m", URL: srv.URL + "/m"}
	if _, err := c.Metadata(ctx, req); err != nil {
		t.Fatal(err)
	}
	down = true
	now = now.Add(2 * time.Minute)
	m, err := c.Metadata(ctx, req)
	if err != nil || !m.Stale || string(m.Body) != "doc" {
		t.Fatalf("stale: %v %+v", err, m)
	}
	if _, err := c.Metadata(ctx, MetaRequest{Feed: f, Key: "other", URL: srv.URL + "/o"}); err == nil {
		t.Error("uncached metadata with upstream down succeeded")
	}
}

func TestValidate(t *testing.T) {
	good := Feed{Name: "npm-proxy", Type: "NPM", Upstream: "https://registry.example/", Sources: []string{"osv", "ossindex", "osv"}, MetadataTTL: time.Minute}
	if err := Validate(&good); err != nil || good.Type != "npm" || good.Upstream != "https://registry.example" || len(good.Sources) != 2 {
		t.Fatalf("%v %+v", err, good)
	}
	for _, f := range []Feed{
		{Name: "../x", Type: "npm", Upstream: "https://r.example", Sources: []string{"osv"}},
		{Name: "Upper", Type: "npm", Upstream: "https://r.example", Sources: []string{"osv"}},
		{Name: "a", Type: "cargo", Upstream: "https://r.example", Sources: []string{"osv"}},
		{Name: "a", Type: "npm", Upstream: "", Sources: []string{"osv"}},
		{Name: "a", Type: "npm", Upstream: "ftp://r.example", Sources: []string{"osv"}},
		{Name: "a", Type: "npm", Upstream: "https://u:p@r.example", Sources: []string{"osv"}},
		{Name: "a", Type: "npm", Upstream: "https://r.example", Sources: []string{"nvd"}},
		{Name: "a", Type: "npm", Upstream: "https://r.example", Sources: []string{"osv"}, Unassessed: "deny"},
		{Name: "a", Type: "npm", Upstream: "https://r.example", Sources: []string{"osv"}, MetadataTTL: -time.Second},
	} {
		if err := Validate(&f); err == nil {
			t.Errorf("%+v: no error", f)
		} else if strings.Contains(err.Error(), "p@") {
			t.Errorf("error leaks credentials: %v", err)
		}
	}
}
