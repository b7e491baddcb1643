// Package ossindex implements Sonatype OSS Index as a component source for
// scans (match.ComponentSource, label "OSSINDEX"): components are asked
// about as they are scanned, through the REST API v3 component report
// (POST {base}/api/v3/authorized/component-report, at most 128 coordinates
// per request), and the answers are cached per coordinate in the store with
// a TTL. The same code talks to https://ossindex.sonatype.org (the default)
// and to Sonatype Guide (https://api.guide.sonatype.com), whose answers may
// lack versionRanges.
//
// Requests carry HTTP basic credentials (user name or e-mail + API token),
// or a Bearer token when no user name is given or the token is a Sonatype
// Guide personal access token (prefix "sonatype_pat_"). The token is never
// logged and is redacted from error text. Batches run with bounded
// concurrency; 429 answers are retried after Retry-After (seconds or HTTP
// date) or an exponential back-off with jitter, 5xx answers and transport
// errors a bounded number of times, all within a total deadline. 401/403
// abort the lookup with one *AuthError. Components whose batch could not be
// answered get a per-component error, never an empty (clean) answer.
//
// Reported vulnerabilities become OSV records (see convert.go) with the
// display name as ID, the CVE as alias, and CVSS vectors as severity, so
// that the scanner's alias merge joins them with OSV findings.
//
// The package leaves out: the unauthenticated endpoint, OSS Index's
// vulnerability detail and version-range evaluation (its answer already is
// for the version asked), and PURL types other than npm, PyPI, Maven, NuGet,
// Go, RubyGems, Cargo, Composer and Conan.
package ossindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
)

// Defaults.
const (
	DefaultBaseURL  = "https://ossindex.sonatype.org"
	GuideBaseURL    = "https://api.guide.sonatype.com"
	DefaultCacheTTL = 12 * time.Hour
	// MaxBatch is the service's limit of coordinates per request.
	MaxBatch = 128
	// SourceName is the label findings from OSS Index carry.
	SourceName = store.OSSIndexSource
)

// Secret is a credential. It formats as "[REDACTED]" (fmt, slog, JSON) so
// that printing an Options value cannot leak it.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "[REDACTED]" }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return `"[REDACTED]"` }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[REDACTED]"`), nil }

// Cache is what the source needs from the store to cache answers.
type Cache interface {
	OSSIndexComponents(ctx context.Context, coordinates []string) (map[string]store.OSSIndexComponent, error)
	OSSIndexAdvisories(ctx context.Context, ids []string) (map[string]store.Advisory, error)
	PutOSSIndex(ctx context.Context, comps []store.OSSIndexComponent, vulns []store.OSSIndexVulnerability) error
}

// Options configures a Source. Zero values take the defaults noted.
type Options struct {
	BaseURL  string // default DefaultBaseURL
	Username string // user name or e-mail; empty: Bearer token
	Token    Secret // required
	// AuthHint, when set, is added to an *AuthError's message, e.g. where
	// the token was configured. It must not contain the token.
	AuthHint string
	// Cache stores answers; nil disables caching.
	Cache    Cache
	CacheTTL time.Duration // default DefaultCacheTTL
	// HTTPClient defaults to a client without an overall timeout (each
	// request is bounded by RequestTimeout).
	HTTPClient *http.Client
	UserAgent  string
	// Concurrency bounds requests in flight; default 4.
	Concurrency int
	// BatchSize is the number of coordinates per request; default and
	// maximum MaxBatch.
	BatchSize int
	// Deadline bounds a whole Lookup, back-off waits included; default 5m.
	Deadline time.Duration
	// RequestTimeout bounds one request; default 60s.
	RequestTimeout time.Duration
	// MaxRetries is how often a batch is retried after 5xx answers or
	// transport errors; default 3. MaxRateLimitWaits is how often it waits
	// after 429 answers; default 8.
	MaxRetries        int
	MaxRateLimitWaits int
	// BackoffBase and MaxBackoff shape the exponential back-off used
	// when no Retry-After is given; defaults 1s and 30s.
	BackoffBase time.Duration
	MaxBackoff  time.Duration
	Now         func() time.Time // default time.Now
	Logger      *slog.Logger     // default discards

	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// Source asks OSS Index about components. It is safe for concurrent use.
type Source struct {
	opts         Options
	endpoint     string
	safeEndpoint string   // endpoint without userinfo, for messages
	forms        []string // every form of the token, for redaction
	host         string
	log          *slog.Logger
	sleep        func(ctx context.Context, d time.Duration) error

	requests, fetched, cached, failed atomic.Int64
}

var _ match.ComponentSource = (*Source)(nil)

// New validates the options and returns a source.
func New(opts Options) (*Source, error) {
	if strings.TrimSpace(string(opts.Token)) == "" {
		return nil, errors.New("ossindex: no API token configured")
	}
	opts.Token = Secret(strings.TrimSpace(string(opts.Token)))
	opts.Username = strings.TrimSpace(opts.Username)
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("ossindex: base URL %q: want an http:// or https:// URL", opts.BaseURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("ossindex: base URL must not carry credentials; configure the user name and token instead")
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.BatchSize <= 0 || opts.BatchSize > MaxBatch {
		opts.BatchSize = MaxBatch
	}
	if opts.Deadline <= 0 {
		opts.Deadline = 5 * time.Minute
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = time.Minute
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 3
	}
	if opts.MaxRateLimitWaits == 0 {
		opts.MaxRateLimitWaits = 8
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Source{
		opts:         opts,
		endpoint:     u.String() + reportPath,
		safeEndpoint: u.Redacted() + reportPath,
		host:         u.Host,
		log:          opts.Logger,
		sleep:        opts.sleep,
		forms:        secret.Forms(opts.Username, string(opts.Token)),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.sleep == nil {
		s.sleep = sleepCtx
	}
	return s, nil
}

// Name implements match.ComponentSource.
func (s *Source) Name() string { return SourceName }

// Title implements match.ComponentSource.
func (s *Source) Title() string { return "OSS Index" }

// Stats counts what a source did since it was made.
type Stats struct {
	Requests int64 // HTTP requests sent, retries included
	Fetched  int64 // coordinates answered by the service
	Cached   int64 // coordinates answered from the cache
	Failed   int64 // coordinates left unanswered
}

// Stats returns the counters.
func (s *Source) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Fetched: s.fetched.Load(), Cached: s.cached.Load(), Failed: s.failed.Load()}
}

// answer is what is known about one coordinate.
type answer struct {
	vulns []*osv.Vulnerability
	err   error
}

// Lookup implements match.ComponentSource. The error is non-nil only for
// an *AuthError, a cancelled ctx or a cache that cannot be read.
func (s *Source) Lookup(ctx context.Context, pkgs []purl.Package) ([]match.SourceAnswer, error) {
	out := make([]match.SourceAnswer, len(pkgs))
	coords := make([]string, len(pkgs))
	var uniq []string
	seen := map[string]bool{}
	for i, p := range pkgs {
		c, err := Coordinate(p)
		if err != nil {
			out[i].Err = err
			continue
		}
		coords[i] = c
		if !seen[c] {
			seen[c] = true
			uniq = append(uniq, c)
		}
	}
	if len(uniq) == 0 {
		return out, nil
	}
	answers, err := s.fromCache(ctx, uniq)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, c := range uniq {
		if _, ok := answers[c]; !ok {
			missing = append(missing, c)
		}
	}
	s.cached.Add(int64(len(uniq) - len(missing)))
	if len(missing) > 0 {
		fetched, err := s.fetch(ctx, missing)
		if err != nil {
			return nil, err
		}
		for c, a := range fetched {
			answers[c] = a
		}
	}
	for i, c := range coords {
		if c == "" {
			continue
		}
		a, ok := answers[c]
		if !ok {
			a = answer{err: errors.New("no answer")}
		}
		out[i] = match.SourceAnswer{Vulns: a.vulns, Err: a.err}
	}
	return out, nil
}

// fromCache returns the fresh cached answers among coords.
func (s *Source) fromCache(ctx context.Context, coords []string) (map[string]answer, error) {
	out := map[string]answer{}
	if s.opts.Cache == nil || s.opts.CacheTTL < 0 {
		return out, nil
	}
	comps, err := s.opts.Cache.OSSIndexComponents(ctx, coords)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	var ids []string
	fresh := map[string]store.OSSIndexComponent{}
	for c, comp := range comps {
		if now.Sub(comp.FetchedAt) >= s.opts.CacheTTL {
			continue
		}
		fresh[c] = comp
		ids = append(ids, comp.VulnIDs...)
	}
	advs, err := s.opts.Cache.OSSIndexAdvisories(ctx, uniqueStrings(ids))
	if err != nil {
		return nil, err
	}
	parsed := map[string]*osv.Vulnerability{}
	for id, a := range advs {
		v, err := osv.Parse(a.Data)
		if err != nil {
			s.log.Warn("OSS Index cache: unreadable record, refetching", "id", id, "error", err.Error())
			continue
		}
		parsed[id] = v
	}
next:
	for c, comp := range fresh {
		a := answer{}
		for _, id := range comp.VulnIDs {
			v, ok := parsed[id]
			if !ok {
				continue next // incomplete cache entry: ask again
			}
			a.vulns = append(a.vulns, v)
		}
		out[c] = a
	}
	return out, nil
}

// fetch asks the service about coords in batches. The first batch goes
// alone, so that rejected credentials cost one request; the others follow
// with bounded concurrency.
func (s *Source) fetch(parent context.Context, coords []string) (map[string]answer, error) {
	ctx, cancel := context.WithTimeout(parent, s.opts.Deadline)
	defer cancel()
	var batches [][]string
	for len(coords) > 0 {
		n := min(len(coords), s.opts.BatchSize)
		batches = append(batches, coords[:n])
		coords = coords[n:]
	}
	results := make([]map[string]answer, len(batches))
	var (
		authMu  sync.Mutex
		authErr error
	)
	run := func(i int) {
		res, err := s.fetchBatch(ctx, batches[i])
		var ae *AuthError
		if errors.As(err, &ae) {
			authMu.Lock()
			if authErr == nil {
				authErr = ae
			}
			authMu.Unlock()
			cancel()
			return
		}
		results[i] = s.settle(parent, batches[i], res, err)
	}
	run(0)
	if authErr == nil && len(batches) > 1 {
		sem := make(chan struct{}, s.opts.Concurrency)
		var wg sync.WaitGroup
		for i := 1; i < len(batches); i++ {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				run(i)
			}()
		}
		wg.Wait()
	}
	if authErr != nil {
		return nil, authErr
	}
	if err := parent.Err(); err != nil {
		return nil, err
	}
	out := map[string]answer{}
	for _, r := range results {
		for c, a := range r {
			out[c] = a
		}
	}
	return out, nil
}

// settle turns one batch outcome into answers and caches the successful
// ones.
func (s *Source) settle(ctx context.Context, batch []string, reports []componentReport, err error) map[string]answer {
	out := make(map[string]answer, len(batch))
	if err != nil {
		s.failed.Add(int64(len(batch)))
		s.log.Warn("OSS Index batch not answered", "coordinates", len(batch), "error", err.Error())
		for _, c := range batch {
			out[c] = answer{err: err}
		}
		return out
	}
	byKey := make(map[string]*componentReport, len(reports))
	for i := range reports {
		byKey[matchKey(reports[i].Coordinates)] = &reports[i]
	}
	now := s.opts.Now()
	var comps []store.OSSIndexComponent
	var vulns []store.OSSIndexVulnerability
	for _, c := range batch {
		r, ok := byKey[matchKey(c)]
		if !ok {
			s.failed.Add(1)
			out[c] = answer{err: errors.New("OSS Index sent no report for this component")}
			continue
		}
		s.fetched.Add(1)
		a := answer{}
		comp := store.OSSIndexComponent{Coordinate: c, FetchedAt: now, VulnIDs: []string{}}
		ids := map[string]bool{}
		for _, rv := range r.Vulnerabilities {
			v := rv.toOSV(now)
			if v.ID == "" || ids[v.ID] {
				continue
			}
			ids[v.ID] = true
			a.vulns = append(a.vulns, v)
			comp.VulnIDs = append(comp.VulnIDs, v.ID)
			data, err := marshalRecord(v)
			if err != nil {
				continue
			}
			vulns = append(vulns, store.OSSIndexVulnerability{ID: v.ID, FetchedAt: now, Data: data})
		}
		out[c] = a
		comps = append(comps, comp)
	}
	if s.opts.Cache != nil && len(comps) > 0 {
		if err := s.opts.Cache.PutOSSIndex(context.WithoutCancel(ctx), comps, vulns); err != nil {
			s.log.Warn("OSS Index answers not cached", "error", err.Error())
		}
	}
	return out
}

func uniqueStrings(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
