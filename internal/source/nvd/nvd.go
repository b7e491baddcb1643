// Package nvd mirrors NVD CVE records into the store: for each CVE its
// CVSS metrics (v4.0, v3.1, v3.0, v2.0 vectors with who scored them), its
// CWE weaknesses, its published and last-modified times, status and English
// description. Findings take their severity from them when no OSV record
// of the alias group has a CVSS vector, and show the CWEs and dates.
//
// Two kinds of source, both in the NVD CVE API 2.0 JSON format:
//   - the CVE API (https://.../rest/json/cves/2.0, DefaultURL): paged with
//     startIndex/resultsPerPage, at most one request per Delay (NVD's
//     published limits: 5 requests in 30 s without an API key, 50 with
//     one); after a first full sync, only the CVEs modified since the last
//     one (lastModStartDate/lastModEndDate, at most 120 days apart, else a
//     full sync again);
//   - JSON 2.0 feed files (nvdcve-2.0-2024.json.gz, ...-modified.json.gz),
//     one or more URLs (https:// or file://, comma-separated), for offline
//     copies.
//
// Records without a CVE ID or with unreadable times are skipped and named.
// It leaves out CPE configurations, references and the change history; it
// does not schedule itself (the server's jobs do).
package nvd

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/source/remote"
	"github.com/vulngate/vulngate/internal/store"
)

// DefaultURL is the NVD CVE API 2.0.
const DefaultURL = "https://services.nvd.nist.gov/rest/json/cves/2.0"

// Name is the source's name in the store's enrichment state and settings.
const Name = "nvd"

const (
	defaultPageSize = 2000 // the API's largest page
	maxWindow       = 120 * 24 * time.Hour
	batch           = 1000
	maxBytes        = 2 << 30 // a yearly feed file inflates to a few hundred MB
	apiTimeLayout   = "2006-01-02T15:04:05.000-07:00"
)

// Store is what a sync needs from the store.
type Store interface {
	UpsertNVD(ctx context.Context, recs []store.NVDRecord) error
	PutEnrichmentState(ctx context.Context, st store.EnrichmentState) error
	EnrichmentStateOf(ctx context.Context, source string) (store.EnrichmentState, bool, error)
	CountNVD(ctx context.Context) (int, error)
}

// Options configures a sync.
type Options struct {
	// URL is the CVE API (default DefaultURL) or one or more feed files,
	// comma-separated.
	URL string
	// APIKey is sent in the "apiKey" header to the API; never logged.
	APIKey string
	// Delay between API requests; default 6 s, or 0.6 s with an API key.
	Delay    time.Duration
	PageSize int // default 2000
	Remote   remote.Options
	Logger   *slog.Logger
	Now      func() time.Time
}

// Report says what a sync did.
type Report struct {
	Mode      string // "full", "incremental" (API) or "feeds"
	Requests  int
	Records   int // records written
	Total     int // NVD records held after the sync
	Malformed []string
}

// IsFeed reports whether a URL names feed files rather than the API: a
// list, a file:// URL, or a path ending in .json or .gz.
func IsFeed(raw string) bool {
	if strings.Contains(raw, ",") {
		return true
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return false
	}
	p := strings.ToLower(u.Path)
	return u.Scheme == "file" || strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".gz")
}

// Sync mirrors the source into the store.
func Sync(ctx context.Context, st Store, o Options) (Report, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Remote.MaxBytes == 0 {
		o.Remote.MaxBytes = maxBytes
	}
	var (
		rep     Report
		version string
		err     error
	)
	if IsFeed(o.URL) {
		rep.Mode = "feeds"
		version, err = syncFeeds(ctx, st, o, &rep)
	} else {
		version, err = syncAPI(ctx, st, o, &rep)
	}
	if err != nil {
		return rep, err
	}
	if rep.Total, err = st.CountNVD(ctx); err != nil {
		return rep, err
	}
	state := store.EnrichmentState{Source: Name, URL: describe(o.URL), LastSync: o.Now(), Version: version,
		Records: rep.Total, Malformed: len(rep.Malformed)}
	return rep, st.PutEnrichmentState(ctx, state)
}

func describe(raw string) string {
	var parts []string
	for _, u := range strings.Split(raw, ",") {
		parts = append(parts, remote.Describe(strings.TrimSpace(u)))
	}
	return strings.Join(parts, ",")
}

// writer batches records into the store.
type writer struct {
	ctx     context.Context
	st      Store
	pending []store.NVDRecord
	rep     *Report
	newest  time.Time
}

func (w *writer) add(r store.NVDRecord) error {
	w.pending = append(w.pending, r)
	if r.LastModified.After(w.newest) {
		w.newest = r.LastModified
	}
	if len(w.pending) >= batch {
		return w.flush()
	}
	return nil
}

func (w *writer) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	if err := w.st.UpsertNVD(w.ctx, w.pending); err != nil {
		return err
	}
	w.rep.Records += len(w.pending)
	w.pending = w.pending[:0]
	return nil
}

// syncFeeds reads every feed file; the version is the newest lastModified.
func syncFeeds(ctx context.Context, st Store, o Options, rep *Report) (string, error) {
	w := &writer{ctx: ctx, st: st, rep: rep}
	for _, u := range strings.Split(o.URL, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		body, err := remote.Open(ctx, u, o.Remote)
		if err != nil {
			return "", fmt.Errorf("NVD feed: %w", err)
		}
		rep.Requests++
		page, err := Parse(body, w.add)
		body.Close()
		if err != nil {
			return "", fmt.Errorf("NVD feed %s: %w", remote.Describe(u), err)
		}
		rep.Malformed = append(rep.Malformed, page.Malformed...)
		o.Logger.Info("NVD feed read", "url", remote.Describe(u), "records", page.Records, "malformed", len(page.Malformed))
	}
	if err := w.flush(); err != nil {
		return "", err
	}
	return w.newest.UTC().Format(time.RFC3339Nano), nil
}

// syncAPI pages through the CVE API: everything, or only what changed since
// the last complete sync of the same URL when that is at most 120 days ago.
// The version recorded is the time this sync started, the start of the
// next incremental window.
func syncAPI(ctx context.Context, st Store, o Options, rep *Report) (string, error) {
	started := o.Now().UTC()
	prev, ok, err := st.EnrichmentStateOf(ctx, Name)
	if err != nil {
		return "", err
	}
	var since time.Time
	if ok && prev.URL == describe(o.URL) {
		since, _ = time.Parse(time.RFC3339Nano, prev.Version)
	}
	rep.Mode = "full"
	if !since.IsZero() && started.Sub(since) < maxWindow {
		rep.Mode = "incremental"
	}
	size := o.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	delay := o.Delay
	if delay == 0 {
		delay = 6 * time.Second
		if o.APIKey != "" {
			delay = 600 * time.Millisecond
		}
	}
	ro := o.Remote
	if o.APIKey != "" {
		ro.Header = http.Header{"apiKey": {o.APIKey}}
	}
	w := &writer{ctx: ctx, st: st, rep: rep}
	for start := 0; ; {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "resultsPerPage": {strconv.Itoa(size)}}
		if rep.Mode == "incremental" {
			q.Set("lastModStartDate", since.UTC().Format(apiTimeLayout))
			q.Set("lastModEndDate", started.Format(apiTimeLayout))
		}
		if rep.Requests > 0 && delay > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(delay):
			}
		}
		page, err := fetchPage(ctx, o.URL, q, ro, w)
		rep.Requests++
		if err != nil {
			return "", err
		}
		rep.Malformed = append(rep.Malformed, page.Malformed...)
		o.Logger.Info("NVD page read", "start", start, "records", page.Records, "total", page.TotalResults)
		if err := w.flush(); err != nil {
			return "", err
		}
		if page.ResultsPerPage <= 0 || start+page.ResultsPerPage >= page.TotalResults {
			break
		}
		start += page.ResultsPerPage
	}
	return started.Format(time.RFC3339Nano), nil
}

func fetchPage(ctx context.Context, base string, q url.Values, ro remote.Options, w *writer) (Page, error) {
	u, err := url.Parse(base)
	if err != nil {
		return Page{}, fmt.Errorf("NVD API URL %q: %v", remote.Describe(base), err)
	}
	vals := u.Query()
	for k, v := range q {
		vals[k] = v
	}
	u.RawQuery = vals.Encode()
	body, err := remote.Open(ctx, u.String(), ro)
	if err != nil {
		return Page{}, fmt.Errorf("NVD API: %w", err)
	}
	defer body.Close()
	page, err := Parse(body, w.add)
	if err != nil {
		return page, fmt.Errorf("NVD API %s (startIndex %s): %w", remote.Describe(base), q.Get("startIndex"), err)
	}
	return page, nil
}
