// Package remote opens the files enrichment sources read (NVD feeds and
// API pages, the EPSS CSV, the KEV catalogue) from an http(s):// URL or a
// local file:// path, so that every source also works offline from a copy.
// Bodies compressed with gzip are inflated on the fly (detected by their
// magic bytes, whatever the name says), every body is bounded, and 5xx
// answers and transport errors are retried a few times with back-off.
//
// It leaves out caching, conditional requests and authentication other
// than extra request headers (the NVD API key).
package remote

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options tunes Open.
type Options struct {
	Client    *http.Client // default: one with a 60 s timeout
	UserAgent string
	// Header holds extra request headers (never logged or echoed).
	Header http.Header
	// MaxBytes bounds the body after decompression (default 1 GiB).
	MaxBytes int64
	// Attempts for 5xx answers and transport errors (default 3).
	Attempts int
	// Backoff before the second attempt, doubled after (default 2 s).
	Backoff time.Duration
}

// ErrTooLarge is returned (from Read) when a body exceeds MaxBytes.
var ErrTooLarge = errors.New("body exceeds the size limit")

// StatusError is an HTTP answer other than 200.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
}

// Describe renders a URL for messages: without its query (which may hold
// keys) and user information.
func Describe(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Validate checks that raw is an http(s) URL with a host or a file:// URL
// with a path.
func Validate(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("URL %q: %v", Describe(raw), err)
	}
	switch {
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
	case u.Scheme == "file" && (u.Path != "" || u.Opaque != ""):
	default:
		return fmt.Errorf("URL %q: want an http://, https:// or file:// URL", Describe(raw))
	}
	if u.User != nil {
		return fmt.Errorf("URL %q: credentials in the URL are not accepted", Describe(raw))
	}
	return nil
}

// Open returns the body of raw, inflated when gzip-compressed and bounded
// by MaxBytes. The caller closes it.
func Open(ctx context.Context, raw string, o Options) (io.ReadCloser, error) {
	if err := Validate(raw); err != nil {
		return nil, err
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	u, _ := url.Parse(strings.TrimSpace(raw))
	var body io.ReadCloser
	if u.Scheme == "file" {
		p := u.Path
		if u.Opaque != "" {
			p = u.Opaque
		}
		if u.Host != "" && u.Host != "localhost" {
			p = u.Host + p
		}
		f, err := os.Open(filepath.FromSlash(p))
		if err != nil {
			return nil, err
		}
		body = f
	} else {
		b, err := get(ctx, u.String(), o)
		if err != nil {
			return nil, err
		}
		body = b
	}
	return inflate(body, o.MaxBytes)
}

func get(ctx context.Context, raw string, o Options) (io.ReadCloser, error) {
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	attempts, backoff := o.Attempts, o.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = 2 * time.Second
	}
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", Describe(raw), err)
		}
		for k, v := range o.Header {
			req.Header[k] = v
		}
		if o.UserAgent != "" {
			req.Header.Set("User-Agent", o.UserAgent)
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// The error text may repeat the URL with its query: describe it.
			last = fmt.Errorf("%s: request failed", Describe(raw))
			continue
		}
		if resp.StatusCode == http.StatusOK {
			return resp.Body, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		last = &StatusError{URL: Describe(raw), Status: resp.StatusCode}
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return nil, last
		}
	}
	return nil, last
}

// inflate wraps body: gunzipped when it starts with the gzip magic, and
// limited to max bytes either way.
func inflate(body io.ReadCloser, max int64) (io.ReadCloser, error) {
	br := bufio.NewReader(body)
	magic, _ := br.Peek(2)
	var r io.Reader = br
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			body.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r = zr
	}
	return &limited{r: r, left: max, c: body}, nil
}

type limited struct {
	r    io.Reader
	left int64
	c    io.Closer
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limited) Close() error { return l.c.Close() }
