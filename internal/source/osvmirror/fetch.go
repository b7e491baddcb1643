package osvmirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// errNotFound is returned by a fetcher for a file the source does not have.
var errNotFound = errors.New("not found")

// fetcher reads files of the bucket layout relative to a base location.
type fetcher interface {
	// open streams one file. The caller closes it.
	open(ctx context.Context, rel string) (io.ReadCloser, error)
	// local returns a path on disk holding rel, downloading it into tmpDir
	// when the source is remote; cleanup removes what was downloaded.
	local(ctx context.Context, rel, tmpDir string) (p string, cleanup func(), err error)
	// describe renders rel as a location for messages.
	describe(rel string) string
}

func newFetcher(base string, client *http.Client, userAgent string, idle time.Duration) (fetcher, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return nil, fmt.Errorf("base URL %q: %w", base, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("base URL %q: no host", base)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		return &httpFetcher{base: u, client: client, ua: userAgent, idle: idle}, nil
	case "file":
		p := u.Path
		if u.Host != "" && u.Host != "localhost" { // file://relative/dir written by hand
			p = u.Host + u.Path
		}
		if u.Opaque != "" {
			p = u.Opaque
		}
		if p == "" {
			return nil, fmt.Errorf("base URL %q: no path", base)
		}
		abs, err := filepath.Abs(filepath.FromSlash(p))
		if err != nil {
			return nil, err
		}
		return &fileFetcher{dir: abs}, nil
	case "":
		// A bare directory path is accepted as a convenience.
		abs, err := filepath.Abs(base)
		if err != nil {
			return nil, err
		}
		return &fileFetcher{dir: abs}, nil
	default:
		return nil, fmt.Errorf("base URL %q: unsupported scheme %q (want https://, http:// or file://)", base, u.Scheme)
	}
}

// fileFetcher reads a local copy of the bucket.
type fileFetcher struct{ dir string }

func (f *fileFetcher) path(rel string) (string, error) {
	clean := path.Clean("/" + rel)
	if clean != "/"+rel {
		return "", fmt.Errorf("refusing path %q", rel)
	}
	return filepath.Join(f.dir, filepath.FromSlash(rel)), nil
}

func (f *fileFetcher) open(_ context.Context, rel string) (io.ReadCloser, error) {
	p, err := f.path(rel)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, errNotFound)
	}
	if err != nil {
		return nil, err
	}
	sf := sizedFile{File: file}
	if fi, err := file.Stat(); err == nil && fi.Mode().IsRegular() {
		sf.length = fi.Size()
	}
	return sf, nil
}

func (f *fileFetcher) local(_ context.Context, rel, _ string) (string, func(), error) {
	p, err := f.path(rel)
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil, fmt.Errorf("%s: %w", p, errNotFound)
		}
		return "", nil, err
	}
	return p, func() {}, nil
}

func (f *fileFetcher) describe(rel string) string {
	return filepath.Join(f.dir, filepath.FromSlash(rel))
}

// httpFetcher reads the bucket over HTTP(S), retrying transient failures.
type httpFetcher struct {
	base   *url.URL
	client *http.Client
	ua     string
	idle   time.Duration // abort a body that delivers nothing this long
}

// idleBody cancels its request when reads make no progress for a while.
type idleBody struct {
	io.ReadCloser
	timer  *time.Timer
	idle   time.Duration
	cancel context.CancelFunc
	length int64 // the response's Content-Length (-1: unknown)
}

// sized is a body that knows its length (0 or less: unknown); a reader
// sizes its buffer from it.
type sized interface{ size() int64 }

func (b *idleBody) size() int64 { return b.length }

// sizedFile is a local file of the bucket that knows its size.
type sizedFile struct {
	*os.File
	length int64
}

func (f sizedFile) size() int64 { return f.length }

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF && !b.timer.Stop() {
		err = fmt.Errorf("no data for %s: %w", b.idle, err)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

const fetchAttempts = 4

func (h *httpFetcher) url(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return h.base.String() + "/" + strings.Join(parts, "/")
}

func (h *httpFetcher) describe(rel string) string { return h.url(rel) }

func (h *httpFetcher) open(ctx context.Context, rel string) (io.ReadCloser, error) {
	target := h.url(rel)
	var lastErr error
	for attempt := 0; attempt < fetchAttempts; attempt++ {
		if attempt > 0 {
			d := time.Duration(1<<attempt) * 200 * time.Millisecond
			d += time.Duration(rand.Int64N(int64(d / 2)))
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(d):
			}
		}
		body, retry, err := h.get(ctx, target)
		if err == nil {
			return body, nil
		}
		if !retry {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

// get makes one request. retry reports whether a failure is transient.
func (h *httpFetcher) get(ctx context.Context, target string) (body io.ReadCloser, retry bool, err error) {
	rctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, target, nil)
	if err != nil {
		cancel()
		return nil, false, err
	}
	req.Header.Set("User-Agent", h.ua)
	resp, err := h.client.Do(req)
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, true, fmt.Errorf("GET %s: %w", target, err)
	}
	if resp.StatusCode == http.StatusOK {
		idle := h.idle
		if idle <= 0 {
			idle = 24 * time.Hour
		}
		return &idleBody{ReadCloser: resp.Body, timer: time.AfterFunc(idle, cancel), idle: idle, cancel: cancel, length: resp.ContentLength}, false, nil
	}
	resp.Body.Close()
	cancel()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden && strings.Contains(h.base.Host, "storage.googleapis.com"):
		// GCS answers 403 for objects that do not exist in public buckets.
		return nil, false, fmt.Errorf("GET %s: %s: %w", target, resp.Status, errNotFound)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, true, fmt.Errorf("GET %s: %s", target, resp.Status)
	default:
		return nil, false, fmt.Errorf("GET %s: %s", target, resp.Status)
	}
}

func (h *httpFetcher) local(ctx context.Context, rel, tmpDir string) (string, func(), error) {
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return "", nil, err
	}
	body, err := h.open(ctx, rel)
	if err != nil {
		return "", nil, err
	}
	defer body.Close()
	f, err := os.CreateTemp(tmpDir, "download-*.zip")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.Remove(f.Name()) }
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		cleanup()
		return "", nil, fmt.Errorf("download %s: %w", h.url(rel), err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nil, err
	}
	return f.Name(), cleanup, nil
}
