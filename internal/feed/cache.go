package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// CacheStore is what the cache needs from the store.
type CacheStore interface {
	FeedMetadata(ctx context.Context, feed, key string) (store.FeedMetadata, bool, error)
	PutFeedMetadata(ctx context.Context, feed, key string, m store.FeedMetadata) error
	TouchFeedMetadata(ctx context.Context, feed, key string, t time.Time) error
	FeedArtifact(ctx context.Context, feed, key string) (store.FeedArtifact, bool, error)
	PutFeedArtifact(ctx context.Context, feed, key string, a store.FeedArtifact) error
	DeleteFeedArtifact(ctx context.Context, feed, key string) error
}

// CacheOptions configures a Cache. Zero values take the defaults noted.
type CacheOptions struct {
	// Dir is the cache root, normally <data-dir>/cache. Artifacts live
	// under Dir/sha256/<first two hex digits>/<digest>. Several instances
	// may share one Dir (shared storage with atomic rename, e.g. NFS or a
	// cluster file system): a file is written under Dir/tmp, synced, then
	// renamed into place, so nobody reads a partial file, and it is named
	// by its SHA-256, so instances writing the same name write the same
	// bytes. The index of what each feed cached is in the (shared) store.
	Dir string
	// MemoryBytes bounds the in-memory copy of metadata and rendered
	// responses; default 64 MiB.
	MemoryBytes int64
	Logger      *slog.Logger
	Now         func() time.Time

	// createTemp makes the temporary file an artifact is written to;
	// tests replace it to simulate a full disk.
	createTemp func(dir, pattern string) (tempFile, error)
}

type tempFile interface {
	io.Writer
	Name() string
	Close() error
}

// Cache caches upstream metadata (with the feed's TTL, in the store and in
// memory) and artifacts (content-addressed on disk, indexed in the store).
type Cache struct {
	opts     CacheOptions
	st       CacheStore
	up       *Upstream
	log      *slog.Logger
	mem      *lru
	rendered *lru
	arts     sync.Map // feed\x00key -> *Artifact
	artCount atomic.Int64
	neg      *negCache
	flight   flight
	version  atomic.Uint64
}

// NewCache returns a cache over st fetching through up.
func NewCache(st CacheStore, up *Upstream, opts CacheOptions) (*Cache, error) {
	if opts.Dir == "" {
		return nil, errors.New("feed cache: no directory")
	}
	if opts.MemoryBytes <= 0 {
		opts.MemoryBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.createTemp == nil {
		opts.createTemp = func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }
	}
	for _, d := range []string{filepath.Join(opts.Dir, "sha256"), filepath.Join(opts.Dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("feed cache: %w", err)
		}
	}
	sweepTemp(filepath.Join(opts.Dir, "tmp"), opts.Now().Add(-staleTemp), opts.Logger)
	return &Cache{
		opts: opts, st: st, up: up, log: opts.Logger,
		mem:      newLRU(opts.MemoryBytes / 2),
		rendered: newLRU(opts.MemoryBytes / 2),
		neg:      newNegCache(50_000),
	}, nil
}

// Upstream returns the upstream client the cache fetches through.
func (c *Cache) Upstream() *Upstream { return c.up }

// MetaRequest asks for one metadata document.
type MetaRequest struct {
	Feed Feed
	// Key identifies the document within the feed (protocol-chosen, e.g.
	// "packument/@scope/name").
	Key    string
	URL    string
	Accept string
	// Immutable documents (e.g. a Go module's .mod) never expire.
	Immutable bool
	// TTL, when set, replaces the feed's metadata TTL for this document
	// (at most the feed's).
	TTL time.Duration
}

// Meta is a cached metadata document.
type Meta struct {
	Body        []byte
	ContentType string
	ETag        string
	FetchedAt   time.Time
	// URL is the upstream URL the body came from (after redirects), for
	// resolving relative links; empty when served from the store.
	URL string
	// Stale is set when the upstream could not be reached and an expired
	// copy is served.
	Stale bool
	// id distinguishes bodies, for caching what is rendered from them.
	id uint64
}

func (m *Meta) size() int64 { return int64(len(m.Body)) + 256 }

// Metadata returns the document: from memory or the store while fresh,
// else from the upstream (conditionally when a copy exists), else, when
// the upstream fails, the expired copy marked Stale. An upstream that says
// the document does not exist gives an *UpstreamError with NotFound.
func (c *Cache) Metadata(ctx context.Context, req MetaRequest) (*Meta, error) {
	k := req.Feed.Name + "\x00" + req.Key
	now := c.opts.Now()
	ttl := req.Feed.MetadataTTL
	if req.TTL > 0 {
		ttl = min(ttl, req.TTL)
	}
	fresh := func(m *Meta) bool {
		return req.Immutable || now.Sub(m.FetchedAt) < ttl
	}
	if v, ok := c.mem.get(k); ok {
		if m := v.(*Meta); fresh(m) {
			return m, nil
		}
	}
	if ue, ok := c.neg.get("m\x00"+k, now); ok {
		return nil, ue
	}
	v, err := c.flight.do(k, func() (any, error) { return c.refresh(ctx, req, k, fresh) })
	if err != nil {
		c.neg.put("m\x00"+k, err, now, negativeTTL(req.Feed))
		return nil, err
	}
	return v.(*Meta), nil
}

func (c *Cache) refresh(ctx context.Context, req MetaRequest, k string, fresh func(*Meta) bool) (*Meta, error) {
	var cached *Meta
	if v, ok := c.mem.get(k); ok {
		cached = v.(*Meta)
	} else {
		sm, ok, err := c.st.FeedMetadata(ctx, req.Feed.Name, req.Key)
		if err != nil {
			c.log.Warn("feed cache: reading metadata failed", "feed", req.Feed.Name, "key", req.Key, "err", err)
		} else if ok {
			cached = &Meta{Body: sm.Body, ContentType: sm.ContentType, ETag: sm.ETag, FetchedAt: sm.FetchedAt, id: c.version.Add(1)}
			if fresh(cached) {
				c.mem.put(k, cached, cached.size())
				return cached, nil
			}
		}
	}
	etag := ""
	if cached != nil {
		etag = cached.ETag
	}
	f, err := c.up.Metadata(ctx, req.URL, req.Accept, etag)
	now := c.opts.Now()
	if err != nil {
		var ue *UpstreamError
		if errors.As(err, &ue) && ue.NotFound() {
			return nil, err
		}
		if cached != nil && ctx.Err() == nil {
			c.log.Warn("feed cache: upstream failed, serving stale metadata", "feed", req.Feed.Name, "key", req.Key,
				"age", now.Sub(cached.FetchedAt).Round(time.Second).String(), "err", err)
			stale := *cached
			stale.Stale = true
			return &stale, nil
		}
		return nil, err
	}
	if f.NotModified && cached != nil {
		m := *cached
		m.FetchedAt, m.Stale = now, false
		c.mem.put(k, &m, m.size())
		if err := c.st.TouchFeedMetadata(ctx, req.Feed.Name, req.Key, now); err != nil {
			c.log.Warn("feed cache: writing metadata failed; serving it uncached", "feed", req.Feed.Name, "key", req.Key, "err", describeWriteErr(err))
		}
		return &m, nil
	}
	m := &Meta{Body: f.Body, ContentType: f.ContentType, ETag: f.ETag, FetchedAt: now, URL: f.URL, id: c.version.Add(1)}
	if err := c.st.PutFeedMetadata(ctx, req.Feed.Name, req.Key, store.FeedMetadata{ContentType: m.ContentType, ETag: m.ETag, FetchedAt: now, Body: m.Body}); err != nil {
		// A full disk must not stop metadata from being served.
		c.log.Error("feed cache: writing metadata failed; serving it uncached", "feed", req.Feed.Name, "key", req.Key, "err", describeWriteErr(err))
	}
	c.mem.put(k, m, m.size())
	return m, nil
}

// Rendered caches what a protocol derives from a metadata document (a
// rewritten or filtered body): fn runs once per (key, document, extra).
// extra must capture everything else the result depends on (base URL,
// filter state, gate version).
func (c *Cache) Rendered(feedName, key string, m *Meta, extra string, fn func() ([]byte, error)) ([]byte, error) {
	k := fmt.Sprintf("%s\x00%s\x00%d\x00%s", feedName, key, m.id, extra)
	if m.id == 0 {
		return fn()
	}
	if v, ok := c.rendered.get(k); ok {
		return v.([]byte), nil
	}
	v, err := c.flight.do("r\x00"+k, func() (any, error) {
		b, err := fn()
		if err != nil {
			return nil, err
		}
		c.rendered.put(k, b, int64(len(b))+128)
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// ArtifactRequest asks for one artifact.
type ArtifactRequest struct {
	Feed Feed
	Key  string
	// URL returns the upstream URL; it is only called on a cache miss.
	URL         func(ctx context.Context) (string, error)
	ContentType string
}

// Artifact is a cached file.
type Artifact struct {
	Path        string
	Size        int64
	SHA256      string
	ContentType string
}

// ErrDiskFull is returned when the cache cannot store an artifact because
// the disk (or quota) is full.
var ErrDiskFull = errors.New("the feed cache's disk is full")

// ErrCacheWrite wraps other failures to store an artifact.
var ErrCacheWrite = errors.New("the feed cache could not store the file")

// Artifact returns the cached file, downloading it first on a miss (see
// OpenArtifact), for a caller that does not read it.
func (c *Cache) Artifact(ctx context.Context, req ArtifactRequest) (*Artifact, error) {
	a, f, err := c.OpenArtifact(ctx, req)
	if f != nil {
		f.Close()
	}
	return a, err
}

// OpenArtifact returns the cached file opened for reading (the caller
// closes it), downloading it first on a miss. Artifacts are immutable: a
// cached one is served without asking the upstream, so it stays available
// when the upstream is down. A download served from the cache checks that
// its file is there by opening it, not by a stat and then an open. The
// file is nil when it cannot be opened after a fetch (ServeFile then
// answers as it does for a file gone missing).
func (c *Cache) OpenArtifact(ctx context.Context, req ArtifactRequest) (*Artifact, *os.File, error) {
	k := req.Feed.Name + "\x00" + req.Key
	if v, ok := c.arts.Load(k); ok {
		a := v.(*Artifact)
		if f, err := openCached(a.Path); err == nil {
			return a, f, nil
		}
		c.arts.Delete(k)
	}
	a, err := c.artifact(ctx, req, k)
	if err != nil {
		return nil, nil, err
	}
	f, _ := openCached(a.Path)
	return a, f, nil
}

// artifact loads the artifact under key k from the store or the upstream,
// once for concurrent requests.
func (c *Cache) artifact(ctx context.Context, req ArtifactRequest, k string) (*Artifact, error) {
	v, err := c.flight.do("a\x00"+k, func() (any, error) { return c.loadArtifact(ctx, req, k) })
	if err != nil {
		return nil, err
	}
	return v.(*Artifact), nil
}

// Exists reports, as nil, that the upstream has the artifact (or that it
// is cached), without downloading it; an *UpstreamError (NotFound when the
// upstream says it does not exist) otherwise.
func (c *Cache) Exists(ctx context.Context, req ArtifactRequest) error {
	k := req.Feed.Name + "\x00" + req.Key
	if _, ok := c.arts.Load(k); ok {
		return nil
	}
	if _, ok, err := c.st.FeedArtifact(ctx, req.Feed.Name, req.Key); err != nil {
		return err
	} else if ok {
		return nil
	}
	now := c.opts.Now()
	if ue, ok := c.neg.get("e\x00"+k, now); ok {
		return ue
	}
	_, err := c.flight.do("e\x00"+k, func() (any, error) {
		url, err := req.URL(ctx)
		if err != nil {
			return nil, err
		}
		return nil, c.up.Exists(ctx, url)
	})
	c.neg.put("e\x00"+k, err, now, negativeTTL(req.Feed))
	return err
}

// blobPath is where the artifact with digest sum lives.
func (c *Cache) blobPath(sum string) string {
	return filepath.Join(c.opts.Dir, "sha256", sum[:2], sum)
}

func (c *Cache) remember(k string, a *Artifact) {
	if c.artCount.Add(1) > 200_000 {
		c.arts.Clear()
		c.artCount.Store(1)
	}
	c.arts.Store(k, a)
}

func (c *Cache) loadArtifact(ctx context.Context, req ArtifactRequest, k string) (*Artifact, error) {
	sa, ok, err := c.st.FeedArtifact(ctx, req.Feed.Name, req.Key)
	if err != nil {
		return nil, err
	}
	if ok && validDigest(sa.SHA256) {
		a := &Artifact{Path: c.blobPath(sa.SHA256), Size: sa.Size, SHA256: sa.SHA256, ContentType: sa.ContentType}
		if st, err := os.Stat(a.Path); err == nil && st.Size() == a.Size {
			c.remember(k, a)
			return a, nil
		}
		c.log.Warn("feed cache: cached file missing or truncated; fetching again", "feed", req.Feed.Name, "key", req.Key, "sha256", sa.SHA256)
	}
	url, err := req.URL(ctx)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := c.up.Artifact(ctx, url)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	ct := req.ContentType
	if ct == "" {
		ct = resp.Header.Get("Content-Type")
	}
	sum, size, err := c.writeBlob(resp.Body, c.up.MaxArtifact())
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, &UpstreamError{URL: url, Err: err}
		}
		return nil, err
	}
	a := &Artifact{Path: c.blobPath(sum), Size: size, SHA256: sum, ContentType: ct}
	if err := c.st.PutFeedArtifact(ctx, req.Feed.Name, req.Key, store.FeedArtifact{SHA256: sum, Size: size, ContentType: ct, FetchedAt: c.opts.Now()}); err != nil {
		return nil, fmt.Errorf("%w: indexing %s: %v", classifyWriteErr(err), req.Key, err)
	}
	c.remember(k, a)
	return a, nil
}

// writeBlob streams r into a temporary file, hashing it, then renames it
// to its content address. Nothing is left behind on failure.
func (c *Cache) writeBlob(r io.Reader, limit int64) (sum string, size int64, err error) {
	tmpDir := filepath.Join(c.opts.Dir, "tmp")
	f, err := c.opts.createTemp(tmpDir, "dl-*")
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", classifyWriteErr(err), err)
	}
	name := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(name)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(destWriter{f}, h), &limitedReader{r: r, left: limit})
	if err != nil {
		var werr *writeError
		if errors.As(err, &werr) {
			return "", 0, fmt.Errorf("%w: %v", classifyWriteErr(werr.err), werr.err)
		}
		return "", 0, err
	}
	if s, ok := f.(interface{ Sync() error }); ok {
		// On disk before it gets its name: a crash (or another host
		// reading shared storage) never finds a named partial file.
		if err := s.Sync(); err != nil {
			return "", 0, fmt.Errorf("%w: %v", classifyWriteErr(err), err)
		}
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("%w: %v", classifyWriteErr(err), err)
	}
	done = true
	sum = hex.EncodeToString(h.Sum(nil))
	dst := c.blobPath(sum)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		os.Remove(name)
		return "", 0, fmt.Errorf("%w: %v", classifyWriteErr(err), err)
	}
	if err := os.Rename(name, dst); err != nil {
		os.Remove(name)
		return "", 0, fmt.Errorf("%w: %v", classifyWriteErr(err), err)
	}
	return sum, n, nil
}

// RemoveBlobs deletes artifact files by digest (after their feed is gone).
func (c *Cache) RemoveBlobs(sums []string) {
	RemoveCachedFiles(c.opts.Dir, sums, c.log)
	c.arts.Clear()
	c.artCount.Store(0)
}

// RemoveCachedFiles deletes the artifact files of a cache directory by
// digest (the store's DeleteFeed names those no other feed uses) and
// returns how many it removed.
func RemoveCachedFiles(dir string, sums []string, log *slog.Logger) int {
	n := 0
	for _, s := range sums {
		if !validDigest(s) {
			continue
		}
		err := os.Remove(filepath.Join(dir, "sha256", s[:2], s))
		switch {
		case err == nil:
			n++
		case !errors.Is(err, fs.ErrNotExist) && log != nil:
			log.Warn("feed cache: removing file failed", "sha256", s, "err", err)
		}
	}
	return n
}

// staleTemp is how old a download's temporary file must be to be taken
// for one left by a process that died (downloads are bounded in size and
// time, far below this), even when another instance shares the directory.
const staleTemp = 24 * time.Hour

// sweepTemp deletes temporary download files older than before.
func sweepTemp(dir string, before time.Time, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(before) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				log.Info("feed cache: removed a download left unfinished", "file", e.Name())
			}
		}
	}
}

// Forget drops the in-memory copies of one feed's documents (after its
// configuration changed or it was deleted).
func (c *Cache) Forget(feedName string) {
	prefix := feedName + "\x00"
	c.mem.removePrefix(prefix)
	c.rendered.removePrefix(prefix)
	c.neg.forget("m\x00" + prefix)
	c.neg.forget("e\x00" + prefix)
	c.arts.Range(func(k, _ any) bool {
		if strings.HasPrefix(k.(string), prefix) {
			c.arts.Delete(k)
		}
		return true
	})
}

func validDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// writeError marks errors of the destination, as opposed to the source.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

type destWriter struct{ w io.Writer }

func (d destWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// limitedReader fails once more than left bytes are read.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w", ErrTooLarge)
	}
	return n, err
}

func classifyWriteErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || strings.Contains(err.Error(), "database or disk is full") {
		return ErrDiskFull
	}
	return ErrCacheWrite
}

func describeWriteErr(err error) string {
	if errors.Is(classifyWriteErr(err), ErrDiskFull) {
		return ErrDiskFull.Error() + ": " + err.Error()
	}
	return err.Error()
}
