// Package corpus serves an OSV bucket layout for tests: the shared corpus
// (../shared/osv-corpus next to the repository) or any directory with
// ecosystems.txt and <Ecosystem>/all.zip files, over a loopback httptest
// server. Per-record files <Ecosystem>/<ID>.json, which the shared corpus
// does not contain, are synthesized from all.zip. Requests are counted and
// failures can be injected.
//
// It is test support only and is never linked into the binary.
package corpus

import (
	"archive/zip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Dir returns the shared corpus directory ($VULNGATE_OSV_CORPUS, else
// ../shared/osv-corpus beside the repository). When it is absent the test
// is skipped, or fails when $VULNGATE_REQUIRE_CORPUS=1 (as in CI).
func Dir(t testing.TB) string {
	t.Helper()
	root := filepath.Join(sharedDir(), "osv-corpus")
	if env := os.Getenv("VULNGATE_OSV_CORPUS"); env != "" {
		root = env
	}
	return need(t, root, "ecosystems.txt")
}

// SBOMDir returns the shared SBOM directory (../shared/sboms), under the
// same rules as Dir.
func SBOMDir(t testing.TB) string {
	t.Helper()
	root := filepath.Join(sharedDir(), "sboms")
	if env := os.Getenv("VULNGATE_OSV_CORPUS"); env != "" {
		root = filepath.Join(filepath.Dir(env), "sboms")
	}
	return need(t, root, "SOURCES.md")
}

func sharedDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared")
}

func need(t testing.TB, root, marker string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, marker)); err != nil {
		if os.Getenv("VULNGATE_REQUIRE_CORPUS") == "1" {
			t.Fatalf("shared test data required but not found at %s", root)
		}
		t.Skipf("SKIPPING: shared test data not found at %s", root)
	}
	abs, _ := filepath.Abs(root)
	return abs
}

// Server serves a bucket directory.
type Server struct {
	*httptest.Server
	dir      string
	Requests atomic.Int64
	mu       sync.Mutex
	fail     map[string]int // path -> status to answer
	hits     map[string]int
	zips     map[string]*zip.ReadCloser
}

// Serve starts a server for dir and stops it when the test ends.
func Serve(t testing.TB, dir string) *Server {
	s := &Server{dir: dir, fail: map[string]int{}, hits: map[string]int{}, zips: map[string]*zip.ReadCloser{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(func() {
		s.Close()
		for _, z := range s.zips {
			z.Close()
		}
	})
	return s
}

// Fail makes requests for rel (e.g. "Go/all.zip") answer status.
func (s *Server) Fail(rel string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.fail, rel)
		return
	}
	s.fail[rel] = status
}

// Hits returns how many requests asked for rel.
func (s *Server) Hits(rel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[rel]
}

// SetDir switches the directory served (e.g. to a later snapshot).
func (s *Server) SetDir(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dir = dir
	for k, z := range s.zips {
		z.Close()
		delete(s.zips, k)
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	rel := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	s.mu.Lock()
	s.hits[rel]++
	status, failing := s.fail[rel]
	dir := s.dir
	s.mu.Unlock()
	if failing {
		http.Error(w, "injected failure", status)
		return
	}
	if strings.Contains(rel, "..") {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		http.ServeFile(w, r, p)
		return
	}
	// Synthesize <Eco>/<ID>.json from <Eco>/all.zip.
	eco, file := path.Split(rel)
	if eco == "" || !strings.HasSuffix(file, ".json") {
		http.NotFound(w, r)
		return
	}
	zr, err := s.zip(filepath.Join(dir, filepath.FromSlash(eco), "all.zip"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	for _, f := range zr.File {
		if f.Name == file {
			rc, err := f.Open()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer rc.Close()
			w.Header().Set("Content-Type", "application/json")
			io.Copy(w, rc)
			return
		}
	}
	http.NotFound(w, r)
}

func (s *Server) zip(p string) (*zip.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z, ok := s.zips[p]; ok {
		return z, nil
	}
	z, err := zip.OpenReader(p)
	if err != nil {
		return nil, err
	}
	s.zips[p] = z
	return z, nil
}
