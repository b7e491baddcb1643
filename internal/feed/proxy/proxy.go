// Package proxy routes /feeds/{feed}/... to the protocol handler of the
// feed's type (internal/feed/npm, pypi, gomod, maven, nuget) and builds
// the shared machinery (upstream client, cache, gate) from the store. It
// also re-evaluates the packages feeds track when new advisories arrive
// (Handler.Reevaluate).
//
// It leaves out authentication (feeds are read-only proxies; put the
// server's access control in front when they must not be public) and TLS.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vulngate/vulngate/internal/approval"
	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/gomod"
	"github.com/vulngate/vulngate/internal/feed/maven"
	"github.com/vulngate/vulngate/internal/feed/npm"
	"github.com/vulngate/vulngate/internal/feed/nuget"
	"github.com/vulngate/vulngate/internal/feed/pypi"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/store"
)

// Prefix is where feeds are mounted.
const Prefix = "/feeds/"

// Options configures the feed proxy. Zero values take the defaults noted.
type Options struct {
	Store *store.Store
	// DataDir holds the artifact cache (DataDir/cache).
	DataDir string
	// PublicURL is the server's external base URL (e.g.
	// "https://vulngate.example.com"), used in rewritten metadata; by
	// default it is taken from each request's Host.
	PublicURL string
	// OSSIndex answers for feeds that enable it; nil when not configured.
	OSSIndex match.ComponentSource
	// GoSumDB is the checksum database Go feeds proxy under
	// /sumdb/NAME/; zero value: gomod.DefaultSumDB (sum.golang.org).
	// NoGoSumDB turns it off (the go command then asks the database
	// directly).
	GoSumDB   gomod.SumDB
	NoGoSumDB bool
	// Approvals serves feeds that require approval; default
	// approval.New(Store, nil).
	Approvals feed.Approvals
	// Assessor defaults to assess.New(Store).
	Assessor feed.Assessor
	Upstream feed.UpstreamOptions
	Cache    feed.CacheOptions
	Gate     feed.GateOptions
	Logger   *slog.Logger
}

// Handler serves every feed under Prefix.
type Handler struct {
	opts      Options
	env       *feed.Env
	protocols map[feed.Type]http.Handler
	st        *store.Store

	mu      sync.Mutex
	feeds   map[string]feed.Feed
	fetched time.Time
}

// New builds the proxy; Close releases it.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil {
		return nil, errors.New("feed proxy: no store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Cache.Dir == "" {
		if opts.DataDir == "" {
			return nil, errors.New("feed proxy: no data directory for the cache")
		}
		opts.Cache.Dir = filepath.Join(opts.DataDir, "cache")
	}
	if opts.Cache.Logger == nil {
		opts.Cache.Logger = opts.Logger
	}
	up := feed.NewUpstream(opts.Upstream)
	c, err := feed.NewCache(opts.Store, up, opts.Cache)
	if err != nil {
		return nil, err
	}
	gopts := opts.Gate
	gopts.Store = opts.Store
	if gopts.AuditSpoolDir == "" && opts.DataDir != "" {
		gopts.AuditSpoolDir = filepath.Join(opts.DataDir, "spool")
	}
	if gopts.Assessor = opts.Assessor; gopts.Assessor == nil {
		gopts.Assessor = assess.New(opts.Store)
	}
	if gopts.OSSIndex == nil {
		gopts.OSSIndex = opts.OSSIndex
	}
	if gopts.Logger == nil {
		gopts.Logger = opts.Logger
	}
	env := &feed.Env{Cache: c, Gate: feed.NewGate(gopts), Log: opts.Logger, Approvals: opts.Approvals}
	if env.Approvals == nil {
		env.Approvals = approval.New(opts.Store, nil)
	}
	sumdb := opts.GoSumDB
	switch {
	case opts.NoGoSumDB:
		sumdb = gomod.SumDB{}
	case sumdb.URL == "":
		sumdb = gomod.DefaultSumDB
	}
	protocols := map[feed.Type]interface {
		http.Handler
		feed.VersionList
	}{
		feed.NPM:   npm.New(env),
		feed.PyPI:  pypi.New(env),
		feed.Go:    gomod.New(env, gomod.Options{SumDB: sumdb}),
		feed.Maven: maven.New(env),
		feed.NuGet: nuget.New(env),
	}
	h := &Handler{opts: opts, env: env, st: opts.Store, protocols: map[feed.Type]http.Handler{}}
	env.Lists = map[feed.Type]feed.VersionList{}
	for t, p := range protocols {
		h.protocols[t], env.Lists[t] = p, p
	}
	return h, nil
}

// Env exposes the shared machinery (tests, benchmarks).
func (h *Handler) Env() *feed.Env { return h.env }

// Close flushes the gate's audit trail.
func (h *Handler) Close() { h.env.Gate.Close() }

// Forget drops what is cached in memory for a feed after its
// configuration changed or it was deleted (the store copy is kept).
func (h *Handler) Forget(name string) {
	h.env.Cache.Forget(name)
	h.mu.Lock()
	h.fetched = time.Time{}
	h.mu.Unlock()
}

func (h *Handler) lookup(ctx context.Context, name string) (feed.Feed, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.feeds == nil || time.Since(h.fetched) > 2*time.Second {
		fs, err := h.st.Feeds(ctx)
		if err != nil && h.feeds != nil && store.IsUnavailable(err) {
			// The feeds cannot change while the database is down: go on
			// with the list read last.
			f, ok := h.feeds[name]
			return f, ok, nil
		}
		if err != nil {
			return feed.Feed{}, false, err
		}
		h.feeds = map[string]feed.Feed{}
		for _, f := range fs {
			h.feeds[f.Name] = f
		}
		h.fetched = time.Now()
	}
	f, ok := h.feeds[name]
	return f, ok, nil
}

// ServeHTTP implements http.Handler for paths under Prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), Prefix)
	if !ok {
		feed.NotFound(w)
		return
	}
	name, sub, _ := strings.Cut(rest, "/")
	if feed.ValidateName(name) != nil {
		feed.NotFound(w)
		return
	}
	f, ok, err := h.lookup(r.Context(), name)
	if err != nil {
		h.opts.Logger.Error("feed proxy: listing feeds failed", "err", err)
		if store.IsUnavailable(err) {
			feed.Unavailable(w, r, feed.StyleJSON, "vulngate feed: the database is unavailable; try again shortly")
			return
		}
		http.Error(w, "vulngate feed: internal error", http.StatusInternalServerError)
		return
	}
	if !ok {
		http.Error(w, fmt.Sprintf("no feed named %q", name), http.StatusNotFound)
		return
	}
	p, ok := h.protocols[feed.Type(f.Type)]
	if !ok {
		http.Error(w, "unsupported feed type", http.StatusInternalServerError)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Only queries that change nothing (npm audit) may POST.
		if ap, ok := p.(interface{ AllowsPost(string) bool }); !ok || r.Method != http.MethodPost || !ap.AllowsPost(strings.TrimSuffix(sub, "/")) {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "vulngate feeds are read-only", http.StatusMethodNotAllowed)
			return
		}
	}
	fr := &feed.Request{Feed: f, Base: h.base(r) + Prefix + name, Path: sub, Configured: h.opts.PublicURL != "", Client: feed.Client(r)}
	p.ServeHTTP(w, r.WithContext(feed.WithRequest(r.Context(), fr)))
}

func (h *Handler) base(r *http.Request) string {
	if h.opts.PublicURL != "" {
		return strings.TrimRight(h.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
