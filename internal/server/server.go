// Package server implements "vulngate serve": the HTTP server with its
// REST API under /api/v1 (JSON, errors as application/problem+json, an
// OpenAPI 3 document at /api/openapi.json), the server-rendered web UI,
// health and readiness probes, Prometheus metrics, authentication
// (sessions, API keys) and role checks including grants per scope, and
// the routes and pages of each resource: advisories and packages,
// assessments over internal/assess and internal/vex (types, single and
// bulk assessments, history, policies, the findings list, VEX export and
// import), vulnerability sources (OSV, OSS Index, and the NVD, EPSS and
// KEV enrichment of internal/source/enrich), package feeds (the proxy of
// internal/feed/proxy mounted at /feeds/ without authentication, managed
// under /api/v1/feeds and Administration › Feeds, with its decision audit,
// tracked packages and the approvals of internal/approval), projects and
// the portfolio (internal/project), notification rules and their
// delivery log (internal/notify), users, jobs and backups.
//
// It registers the scheduled jobs: OSV mirror (which then re-evaluates
// the packages feeds track and the projects), the enrichment mirrors,
// advisory index, assessment expiry and its notices, session cleanup,
// OSS Index cache refresh, portfolio analysis and snapshot, and scheduled
// backups of internal/backup (off by default). Scans, package pages and
// feeds consult OSS Index when it is enabled in the settings.
//
// Layout: one file per resource, api_<resource>.go for its REST routes
// and ui_<resource>.go for its pages, each returning its rows of the route
// table (routes.go: pattern, least role, assess grant). API handlers
// return (value, error) and serveAPI writes the answer; every error is
// classified once by statusOf (respond.go), for the API and the pages.
// Middleware (middleware.go) wraps all routes: panic recovery, metrics,
// request logs, security headers, CSRF protection, authentication.
//
// It leaves out TLS termination (run it behind a proxy, or set
// Options.SecureCookies when the proxy terminates TLS).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/vulngate/vulngate/internal/feed/gomod"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
)

// Options configures a Server.
type Options struct {
	Store   *store.Store
	DataDir string // holds tmp/ for mirror downloads
	Logger  *slog.Logger
	Version string
	// AdminPassword is the first admin's password (from
	// VULNGATE_ADMIN_PASSWORD); empty generates one, printed once to Notice.
	AdminPassword string
	Notice        io.Writer
	Argon2        auth.Argon2Params // zero: auth.DefaultArgon2
	// SecureCookies marks session cookies Secure (set when served over TLS).
	SecureCookies bool
	// LoginBurst attempts per client and user name, then one per
	// LoginEvery (defaults 5 and 12s); password changes are limited the
	// same way per user.
	LoginBurst int
	LoginEvery time.Duration
	// LoginClientBurst attempts per client address whatever the user
	// names, then one per LoginClientEvery (defaults 20 and 3s).
	LoginClientBurst int
	LoginClientEvery time.Duration
	// MaxHashes bounds concurrent password hashing (argon2id holds
	// Argon2.Memory each; default half the CPUs, at least 1); HashQueue
	// more may wait up to 5 s (default 32), beyond that logins get 503.
	MaxHashes int
	HashQueue int
	// HTTPClient fetches from vulnerability sources; nil for the default.
	HTTPClient *http.Client
	// NotifyTLS is the TLS client configuration of SMTP STARTTLS for
	// e-mail notifications (e.g. a private CA); nil uses the system roots.
	NotifyTLS *tls.Config
	// SeedOSV, when set, configures the OSV source at start-up if no
	// ecosystems are configured yet (later changes made in the UI or API
	// are kept across restarts).
	SeedOSV *OSVSettings
	// NoStartupJobs skips the start-up runs of jobs (tests).
	NoStartupJobs bool
	// Secrets seals stored secrets (the OSS Index token); nil loads the
	// key from DataDir (internal/secret), or, without a data directory,
	// uses a key held in memory only.
	Secrets *secret.Keyring
	// OSSIndexDeadline bounds the OSS Index lookups of one request (scan,
	// package page, feed download); default 20s. Jobs are not bounded by it.
	OSSIndexDeadline time.Duration
	// Limits bounds requests in flight per route class (zero fields:
	// DefaultLimits).
	Limits Limits
	// BodyTimeout bounds the time a client may take to send a request
	// body (default 60s); WriteTimeout bounds each stall of a response
	// (default 60s): streams and downloads run as long as they progress.
	BodyTimeout  time.Duration
	WriteTimeout time.Duration
	// MaxConnsPerClient bounds the connections one client address holds
	// at once (default 64; negative: unbounded). Behind a reverse proxy
	// every client has the proxy's address: raise it or turn it off.
	MaxConnsPerClient int
	// MetricsToken, when set, is required as "Authorization: Bearer
	// <token>" on /metrics; empty leaves /metrics public.
	MetricsToken string
	// PublicURL is the server's external base URL (e.g.
	// "https://vulngate.example.com"); feeds build the absolute URLs of
	// their metadata from it. Empty: from each request's Host.
	PublicURL string
	// GoSumDB is the checksum database Go feeds proxy (zero value:
	// sum.golang.org); NoGoSumDB turns that off.
	GoSumDB   gomod.SumDB
	NoGoSumDB bool
	// JobLeaseTTL is how long a job's lease outlives its instance (how
	// soon another instance takes over); JobPollInterval how often the
	// schedules and orphaned runs are read. Zero: jobs.Options defaults.
	JobLeaseTTL, JobPollInterval time.Duration
	// CacheDir holds the feeds' artifact cache; default DataDir/cache.
	// Several instances may share one (see feed.CacheOptions.Dir).
	CacheDir string
}

// Server is a configured vulngate server.
type Server struct {
	opts   Options
	st     *store.Store
	log    *slog.Logger
	auth   *auth.Service
	assess *assess.Service
	// Login and password-change limits (limits.go): in memory, or in the
	// database when it is PostgreSQL (shared by the instances).
	loginClient, loginUser, passwordLimit auth.Limiter
	runner                                *jobs.Runner
	metrics                               *metrics
	reg                                   *prometheus.Registry
	secrets                               *secret.Keyring
	// classes maps registered patterns to their load class; slots holds
	// the in-flight slots per class (limits.go).
	classes map[string]class
	slots   map[class]chan struct{}
	// promHandler serves /metrics from reg.
	promHandler http.Handler
	mux         *http.ServeMux
	routes      []route
	pages       map[string]*template.Template
	handler     http.Handler
	mirror      sync.Mutex // serializes index refreshes
	// indexed are the partitions as the last index refresh found them
	// (nil before the first one and after a failed one); under mirror.
	indexed []store.PartitionState
	// feeds serves /feeds/ (nil without a data directory).
	feeds *proxy.Handler
	// projects and notify: api_projects.go.
	projects *project.Service
	notify   *notify.Service
}

// New builds a server: it creates the first admin when the store has no
// user and registers the jobs. Call Start to start the schedules.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("server: no store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Notice == nil {
		opts.Notice = io.Discard
	}
	if opts.Argon2.Time == 0 {
		opts.Argon2 = auth.DefaultArgon2
	}
	if opts.LoginBurst <= 0 {
		opts.LoginBurst = 5
	}
	if opts.LoginEvery <= 0 {
		opts.LoginEvery = 12 * time.Second
	}
	if opts.LoginClientBurst <= 0 {
		opts.LoginClientBurst = 20
	}
	if opts.LoginClientEvery <= 0 {
		opts.LoginClientEvery = 3 * time.Second
	}
	if opts.MaxHashes <= 0 {
		opts.MaxHashes = max(1, runtime.NumCPU()/2)
	}
	if opts.HashQueue <= 0 {
		opts.HashQueue = 32
	}
	if opts.OSSIndexDeadline <= 0 {
		opts.OSSIndexDeadline = 20 * time.Second
	}
	opts.Limits = opts.Limits.withDefaults()
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = time.Minute
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = time.Minute
	}
	if opts.MaxConnsPerClient == 0 {
		opts.MaxConnsPerClient = 64
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := &Server{
		opts:    opts,
		st:      opts.Store,
		log:     opts.Logger,
		auth:    auth.NewService(opts.Store, opts.Argon2),
		assess:  assess.New(opts.Store),
		mux:     http.NewServeMux(),
		classes: map[string]class{},
		slots:   newSlots(opts.Limits),
		reg:     prometheus.NewRegistry(),
	}
	s.auth.Gate = auth.NewHashGate(opts.MaxHashes, opts.HashQueue, 5*time.Second)
	s.setLimiters()
	s.metrics = newMetrics(s.reg)
	s.promHandler = promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	if _, err := s.auth.Bootstrap(ctx, opts.AdminPassword, opts.Notice); err != nil {
		return nil, err
	}
	if s.secrets = opts.Secrets; s.secrets == nil {
		var err error
		if opts.DataDir == "" {
			s.secrets = secret.Ephemeral()
			s.log.Warn("no data directory: stored secrets are sealed with a key held in memory and will not open after a restart")
		} else if s.secrets, err = secret.Load(opts.DataDir); err != nil {
			return nil, err
		}
	}
	if err := s.sealStoredSecrets(ctx); err != nil {
		return nil, fmt.Errorf("sealing stored secrets: %w", err)
	}
	if err := s.sealEnrichKeys(ctx); err != nil {
		return nil, fmt.Errorf("sealing stored secrets: %w", err)
	}
	r, err := jobs.New(opts.Store, jobs.Options{Logger: opts.Logger, LeaseTTL: opts.JobLeaseTTL, PollInterval: opts.JobPollInterval,
		OnFinish: func(job, status string, d time.Duration) {
			s.metrics.jobFinished(job, status, d)
			s.jobFailed(job, status)
		}})
	if err != nil {
		return nil, err
	}
	s.runner = r
	if o := opts.SeedOSV; o != nil {
		cur, err := s.osvSettings(ctx)
		if err != nil {
			return nil, err
		}
		if len(cur.Ecosystems) == 0 {
			if _, err := s.putOSVSettings(ctx, *o); err != nil {
				return nil, fmt.Errorf("configuring the OSV source: %w", err)
			}
		}
	}
	if err := s.registerJobs(ctx); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.registerRoutes()
	if err := s.setupProjects(ctx); err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		// Package feeds (internal/feed): read-only registry proxies at /feeds/NAME/.
		if s.feeds, err = s.newFeedProxy(); err != nil {
			return nil, err
		}
		s.addRoute(s.plain(proxy.Prefix, "", s.feeds.ServeHTTP))
	}
	s.handler = s.wrap(s.mux)
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Runner is the server's job runner.
func (s *Server) Runner() *jobs.Runner { return s.runner }

// Start starts the job schedules and the start-up runs.
func (s *Server) Start(ctx context.Context) error {
	if s.opts.NoStartupJobs {
		return s.runner.StartSchedulesOnly(ctx)
	}
	return s.runner.Start(ctx)
}

// Shutdown stops the jobs, waiting at most until ctx ends, then writes
// the feeds' pending audit rows. Call it after the HTTP server stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.runner.Shutdown(ctx)
	if s.notify != nil {
		s.notify.Close()
	}
	if s.feeds != nil {
		s.feeds.Close()
	}
	return err
}

// Serve serves on l until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to grace) and stops jobs.
func (s *Server) Serve(ctx context.Context, l net.Listener, grace time.Duration) error {
	// No ReadTimeout or WriteTimeout here: they would end event streams
	// and long downloads (and a read deadline cancels the request's
	// context); Server.timeouts bounds bodies and stalls per request.
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(limitPerClient(l, s.opts.MaxConnsPerClient, s.log)) }()
	s.log.Info("listening", "addr", "http://"+l.Addr().String(), "version", s.opts.Version)
	select {
	case err := <-errc:
		s.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx) // SSE streams end with the request context
	if jerr := s.Shutdown(sctx); err == nil {
		err = jerr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		hs.Close()
	}
	s.log.Info("stopped")
	return err
}

func (s *Server) tempDir() string {
	if s.opts.DataDir == "" {
		return ""
	}
	return filepath.Join(s.opts.DataDir, "tmp")
}
