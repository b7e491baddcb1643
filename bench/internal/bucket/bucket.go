// Package bucket serves a directory in the OSV bucket layout over HTTP for the
// incremental-refresh benchmark, and counts what it serves.
//
// Files that exist under the root are served as they are (HEAD, Range and
// conditional requests included, via net/http). A request for
// /<Ecosystem>/<ID>.json with no such file is answered with the entry
// <ID>.json of /<Ecosystem>/all.zip, since the corpus ships no per-record
// files; each entry is inflated once and then served from memory, as an
// object store serves a stored object (inflating it on every request
// took a quarter of this server's CPU during the corpus's 27-request
// delta, about 1 of 4 ms, on the CPUs the measured client shares). It
// does not implement the GCS listing API or anything else.
package bucket

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vulngate/vulngate/bench/internal/corpus"
)

// Request is one served request.
type Request struct {
	Method string
	Path   string
	Status int
	Bytes  int64
}

// Server is a running bucket server on 127.0.0.1.
type Server struct {
	URL  string
	root string
	ts   *httptest.Server

	mu     sync.Mutex
	zips   map[string]*zip.ReadCloser
	index  map[string]map[string]*zip.File
	bodies map[string][]byte // inflated entries by "<eco>/<name>"
	reqs   []Request
}

// Start serves root on a loopback port.
func Start(root string) *Server {
	s := &Server{root: root, zips: map[string]*zip.ReadCloser{}, index: map[string]map[string]*zip.File{}, bodies: map[string][]byte{}}
	// Each all.zip's directory is read now rather than by the first
	// request for one of its records (a measured run's).
	if dirs, err := os.ReadDir(root); err == nil {
		for _, d := range dirs {
			if d.IsDir() {
				s.entry(d.Name(), "")
			}
		}
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close stops the server and closes opened zips.
func (s *Server) Close() {
	s.ts.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range s.zips {
		z.Close()
	}
}

// Requests returns a copy of the requests served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Reset forgets the requests served so far.
func (s *Server) Reset() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w}
	s.handle(cw, r)
	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{r.Method, r.URL.Path, cw.status, cw.n})
	s.mu.Unlock()
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	file := filepath.Join(s.root, filepath.FromSlash(p))
	if fi, err := os.Stat(file); err == nil && !fi.IsDir() {
		http.ServeFile(w, r, file)
		return
	}
	eco, name := path.Split(strings.TrimPrefix(p, "/"))
	eco = strings.TrimSuffix(eco, "/")
	if eco == "" || strings.Contains(eco, "/") || !strings.HasSuffix(name, ".json") {
		http.NotFound(w, r)
		return
	}
	f, err := s.entry(eco, name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if f == nil {
		http.NotFound(w, r)
		return
	}
	b, err := s.body(eco, f)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, name, f.Modified.In(time.UTC), bytes.NewReader(b))
}

// body returns entry f of <eco>/all.zip inflated, once per entry.
func (s *Server) body(eco string, f *zip.File) ([]byte, error) {
	key := eco + "/" + f.Name
	s.mu.Lock()
	b, ok := s.bodies[key]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := corpus.ReadEntry(f)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.bodies[key] = b
	s.mu.Unlock()
	return b, nil
}

// entry finds name in <root>/<eco>/all.zip; nil if there is no such entry.
func (s *Server) entry(eco, name string) (*zip.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.index[eco]
	if !ok {
		zr, err := zip.OpenReader(filepath.Join(s.root, eco, "all.zip"))
		if os.IsNotExist(err) {
			s.index[eco] = nil
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("open %s/all.zip: %w", eco, err)
		}
		s.zips[eco] = zr
		idx = make(map[string]*zip.File, len(zr.File))
		for _, f := range zr.File {
			idx[f.Name] = f
		}
		s.index[eco] = idx
	}
	return idx[name], nil
}
