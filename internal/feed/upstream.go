package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// UpstreamOptions bounds what feeds fetch from upstream registries. Zero
// values take the defaults noted.
type UpstreamOptions struct {
	// MaxMetadata bounds one metadata document; default 64 MiB.
	MaxMetadata int64
	// MaxArtifact bounds one artifact; default 1 GiB.
	MaxArtifact int64
	// MetadataTimeout bounds a whole metadata fetch; default 60s.
	MetadataTimeout time.Duration
	// ArtifactTimeout bounds a whole artifact fetch; default 10m.
	ArtifactTimeout time.Duration
	// HeaderTimeout bounds the wait for response headers; default 30s.
	HeaderTimeout time.Duration
	UserAgent     string
	// Client overrides the HTTP client (tests).
	Client *http.Client
}

// Upstream fetches from upstream registries with timeouts and size limits.
type Upstream struct {
	opts   UpstreamOptions
	client *http.Client
}

// NewUpstream returns an upstream client.
func NewUpstream(opts UpstreamOptions) *Upstream {
	if opts.MaxMetadata <= 0 {
		opts.MaxMetadata = 64 << 20
	}
	if opts.MaxArtifact <= 0 {
		opts.MaxArtifact = 1 << 30
	}
	if opts.MetadataTimeout <= 0 {
		opts.MetadataTimeout = time.Minute
	}
	if opts.ArtifactTimeout <= 0 {
		opts.ArtifactTimeout = 10 * time.Minute
	}
	if opts.HeaderTimeout <= 0 {
		opts.HeaderTimeout = 30 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "vulngate-feed"
	}
	c := opts.Client
	if c == nil {
		tr := &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: opts.HeaderTimeout,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		}
		c = &http.Client{Transport: tr}
	}
	return &Upstream{opts: opts, client: c}
}

// MaxArtifact is the artifact size limit.
func (u *Upstream) MaxArtifact() int64 { return u.opts.MaxArtifact }

// UpstreamError is a failed upstream request. Status is 0 for transport
// errors (unreachable, timeout).
type UpstreamError struct {
	URL    string
	Status int
	Err    error
}

func (e *UpstreamError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("upstream %s answered %d %s", e.URL, e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("upstream %s: %v", e.URL, e.Err)
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// NotFound reports whether the upstream said the document does not exist.
func (e *UpstreamError) NotFound() bool {
	return e.Status == http.StatusNotFound || e.Status == http.StatusGone
}

// ErrTooLarge is returned when a response exceeds its size limit.
var ErrTooLarge = errors.New("response exceeds the size limit")

// Fetched is a metadata document as the upstream sent it.
type Fetched struct {
	Body        []byte
	ContentType string
	ETag        string
	NotModified bool
	URL         string // final URL after redirects
}

// Metadata GETs a metadata document with the given Accept header, sending
// If-None-Match when etag is set. Non-2xx answers (other than 304) are
// returned as *UpstreamError.
func (u *Upstream) Metadata(ctx context.Context, url, accept, etag string) (*Fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, u.opts.MetadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &UpstreamError{URL: url, Err: err}
	}
	req.Header.Set("User-Agent", u.opts.UserAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, &UpstreamError{URL: url, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return &Fetched{NotModified: true, ETag: etag, URL: resp.Request.URL.String()}, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &UpstreamError{URL: url, Status: resp.StatusCode}
	}
	body, err := readLimited(resp.Body, u.opts.MaxMetadata)
	if err != nil {
		return nil, &UpstreamError{URL: url, Err: err}
	}
	return &Fetched{Body: body, ContentType: resp.Header.Get("Content-Type"), ETag: resp.Header.Get("ETag"), URL: resp.Request.URL.String()}, nil
}

// Artifact GETs an artifact. The caller closes the body and must bound
// what it reads by MaxArtifact (the cache does). cancel releases the
// request's timeout.
func (u *Upstream) Artifact(ctx context.Context, url string) (resp *http.Response, cancel context.CancelFunc, err error) {
	ctx, cancel = context.WithTimeout(ctx, u.opts.ArtifactTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, nil, &UpstreamError{URL: url, Err: err}
	}
	req.Header.Set("User-Agent", u.opts.UserAgent)
	resp, err = u.client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, &UpstreamError{URL: url, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		return nil, nil, &UpstreamError{URL: url, Status: resp.StatusCode}
	}
	if resp.ContentLength > u.opts.MaxArtifact {
		resp.Body.Close()
		cancel()
		return nil, nil, &UpstreamError{URL: url, Err: fmt.Errorf("%w (%d bytes, limit %d)", ErrTooLarge, resp.ContentLength, u.opts.MaxArtifact)}
	}
	return resp, cancel, nil
}

// Exists asks whether the upstream has a document, without downloading
// it: HEAD, or a GET whose body is not read when HEAD is not allowed.
// nil means it does; an *UpstreamError (NotFound for 404/410) otherwise.
func (u *Upstream) Exists(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, u.opts.MetadataTimeout)
	defer cancel()
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req, err := http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return &UpstreamError{URL: url, Err: err}
		}
		req.Header.Set("User-Agent", u.opts.UserAgent)
		resp, err := u.client.Do(req)
		if err != nil {
			return &UpstreamError{URL: url, Err: err}
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode <= 299:
			return nil
		case method == http.MethodHead && (resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented):
			continue
		}
		return &UpstreamError{URL: url, Status: resp.StatusCode}
	}
	return &UpstreamError{URL: url, Status: http.StatusMethodNotAllowed}
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, limit)
	}
	return b, nil
}
