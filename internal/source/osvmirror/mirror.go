// Package osvmirror mirrors OSV advisories from a source laid out like the
// public OSV bucket (ecosystems.txt, <Ecosystem>/all.zip,
// <Ecosystem>/modified_id.csv, <Ecosystem>/<ID>.json) into the store.
//
// The source is an http(s):// base URL or a file:// directory, so the same
// code serves online and air-gapped installations. The first sync of an
// ecosystem streams all.zip from a file on disk (downloaded first when the
// source is remote) into a new store generation that becomes visible only
// when complete; later syncs read modified_id.csv and fetch only changed
// records, falling back to all.zip when the delta is large or per-record
// files are unavailable. Records removed upstream, or published late with
// an older time, are found by comparing a sketch of the IDs listed with the
// one the partition keeps of those it stores (store.IDSketch), and by
// reading the stored IDs only when the sketches cannot tell. Ecosystems
// with a release suffix ("Debian:12") read the base ecosystem's files and
// keep only records affecting that release.
//
// It does not schedule itself (the server's job runner does) and does not
// evaluate versions (internal/match does).
package osvmirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vulngate/vulngate/internal/cpushare"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/store"
)

// DefaultBaseURL is the public OSV bucket.
const DefaultBaseURL = "https://osv-vulnerabilities.storage.googleapis.com"

// SourceLabel is the source name stored with mirrored partitions.
const SourceLabel = "OSV"

// Store is what the mirror needs from the advisory store.
type Store interface {
	Partition(ctx context.Context, name string) (store.PartitionState, error)
	RecordIDs(ctx context.Context, part string) ([]string, error)
	IDSketch(ctx context.Context, part string) (*store.IDSketch, error)
	SkippedIDs(ctx context.Context, part string) (map[string]struct{}, error)
	BeginImport(ctx context.Context, part, source string) (*store.Import, error)
	ReadDeltaBase(ctx context.Context, part string, gen int64, ids []string) (*store.DeltaBase, error)
	ApplyDelta(ctx context.Context, part string, d store.Delta, st store.PartitionState) (store.PartitionState, error)
	TouchPartition(ctx context.Context, part string, lastSync time.Time) error
	CollectGarbage(ctx context.Context) error
}

// Progress receives progress of long imports. Implementations must be safe
// for use by one goroutine at a time per ecosystem.
type Progress interface {
	Start(ecosystem string, total int)
	Add(n int)
	Finish()
}

// Options configures a Mirror.
type Options struct {
	BaseURL    string       // default DefaultBaseURL
	Ecosystems []string     // selection, e.g. "PyPI", "Debian:12"
	TempDir    string       // where remote all.zip files are downloaded
	HTTPClient *http.Client // default: 5 minute timeout
	Logger     *slog.Logger
	// NewProgress makes a progress sink per ecosystem; nil logs progress.
	NewProgress func() Progress
	// DeltaLimit: an incremental sync touching more records than this
	// (or than a tenth of the ecosystem, whichever is larger) reads all.zip.
	DeltaLimit int
	// Workers parsing records in parallel; default GOMAXPROCS.
	Workers int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// ForceFull ignores the incremental path.
	ForceFull bool
	UserAgent string
	// IdleTimeout aborts a download whose body delivers nothing for this
	// long; default 2 minutes.
	IdleTimeout time.Duration
	// BeforeFull, when set, is called as each full import opens its
	// archive (concurrently when ecosystems import side by side): the
	// command line prepares memory for it there (internal/hugeheap).
	BeforeFull func()
}

// Mirror syncs selected ecosystems into a store.
type Mirror struct {
	opts  Options
	store Store
	fetch fetcher
	log   *slog.Logger
	// cpus has a token per CPU that full imports parse records on; an
	// import's writer holds one while it writes, served before the
	// parsing workers (store.Import.ShareCPUs).
	// SQLite only (nil otherwise): PostgreSQL's writer is its server.
	cpus *cpushare.Tokens
}

// New validates the options and returns a Mirror.
func New(st Store, opts Options) (*Mirror, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: defaultTransport()}
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DeltaLimit <= 0 {
		opts.DeltaLimit = 5000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "vulngate"
	}
	if len(opts.Ecosystems) == 0 {
		return nil, errors.New("no ecosystems selected")
	}
	f, err := newFetcher(opts.BaseURL, opts.HTTPClient, opts.UserAgent, opts.IdleTimeout)
	if err != nil {
		return nil, err
	}
	m := &Mirror{opts: opts, store: st, fetch: f, log: opts.Logger}
	if d, ok := st.(interface{ Dialect() store.Dialect }); ok && d.Dialect() == store.SQLite {
		m.cpus = cpushare.New(runtime.GOMAXPROCS(0))
	}
	return m, nil
}

// defaultTransport is the transport of a Mirror made without an HTTP
// client. It sets no overall timeout: the largest all.zip files are close
// to a gigabyte. Connections and headers are bounded here, and a body that
// stops flowing for IdleTimeout aborts the download. HTTP/2 is attempted
// on https:// (the OSV bucket speaks it), so that a delta's per-record
// downloads share the connection that fetched modified_id.csv instead of
// each worker opening a TLS connection of its own (25 records from a
// loopback TLS server: 36-40 ms of client and server CPU over HTTP/1.1,
// 1.5-2.1 ms over HTTP/2; BenchmarkFetchRecordsTLS).
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   fetchWorkers,
		ForceAttemptHTTP2:     true,
	}
}

// Mode says how an ecosystem was synced.
type Mode string

// Sync modes.
const (
	ModeFull        Mode = "full"
	ModeIncremental Mode = "incremental"
	ModeUnchanged   Mode = "unchanged"
	ModeFailed      Mode = "failed"
)

// Malformed describes one record that was skipped.
type Malformed struct {
	Entry  string
	Reason string
}

// EcosystemReport is the outcome of syncing one ecosystem.
type EcosystemReport struct {
	Ecosystem      string
	Mode           Mode
	Records        int // live records after the sync
	Withdrawn      int
	Added          int
	Updated        int
	Removed        int
	Malformed      []Malformed // all malformed entries counted; samples capped
	MalformedCount int
	Fallback       string // why an incremental sync read all.zip instead
	// Changed names the records an incremental sync wrote or deleted
	// (nil for other modes): what the advisory index needs to look at.
	Changed  []string
	Duration time.Duration
	Err      error
}

// Report is the outcome of one Sync.
type Report struct {
	Ecosystems []EcosystemReport
	// Duration is the whole Sync: reading the source's ecosystem list,
	// collecting abandoned import data and syncing each ecosystem. It is
	// the refresh's own time, without starting a process or opening the
	// store (what the server's scheduled mirror job spends on it).
	Duration time.Duration
}

// Failed reports whether any ecosystem failed.
func (r Report) Failed() bool {
	for _, e := range r.Ecosystems {
		if e.Err != nil {
			return true
		}
	}
	return false
}

// Available reads ecosystems.txt from the source.
func (m *Mirror) Available(ctx context.Context) ([]string, error) {
	return readEcosystems(ctx, m.fetch)
}

// Sync validates the selection against the source's ecosystems.txt and
// syncs each selected ecosystem. One ecosystem failing does not stop the
// others; the error returned is non-nil only when nothing could be tried
// (source unreachable, unknown ecosystem).
func (m *Mirror) Sync(ctx context.Context) (Report, error) {
	start := time.Now()
	// Two ecosystems are synced at once. On PostgreSQL the database server
	// writes one partition while this process reads and parses the next
	// (a full mirror of the corpus took 3.3 s one at a time, 2.1 s two at
	// a time). On SQLite the two imports take turns at the one writer
	// connection (store.Import), and each one's fixed phases, when a CPU
	// would otherwise wait (its writer finishing the last batches, Commit,
	// the WAL checkpoint, opening the next archive), overlap the other's
	// reading and parsing. A terminal progress bar shows one ecosystem at
	// a time.
	//
	// An import gives its slot up once its archive is read and parsed,
	// while its writer may still have batches to write: when the writer
	// is what both running imports wait for (the corpus's two largest,
	// AlmaLinux with eleven package rows per record and Bitnami, start
	// together), the next ecosystem's parsing overlaps their last writes
	// instead of starting after their commits, and the writer does not
	// then wait for its first batch. What imports in flight hold is
	// bounded by the store (store.Import: the records all of them queue).
	// On SQLite eight may be in flight: with three, the corpus's small
	// ecosystems (3 to 32 records), each waiting for the writer behind the
	// two largest, had kept the next large one from starting to parse,
	// and the writer then waited for it (a full import took 0.980 of the
	// time with eight, 24 interleaved rounds). On PostgreSQL, where each
	// import writes through a connection of its own, eight took 1.08 of
	// the time of three: the server's work for concurrent COPYs competes
	// for the same two cores.
	workers, inFlight := 1, 1
	if m.opts.NewProgress == nil {
		workers, inFlight = 2, 3
		if m.cpus != nil { // SQLite
			inFlight = 8
		}
	}
	// The source's list of ecosystems is read, abandoned imports are
	// collected and the syncs of the first ecosystems named begin, all at
	// once (earlyStarts).
	collected := async(func() (struct{}, error) { return struct{}{}, m.store.CollectGarbage(ctx) })
	early := m.beginEarly(ctx, workers, func() { collected() })
	defer early.close()
	listed := async(func() ([]string, error) { return readEcosystems(ctx, m.fetch) })
	if _, err := collected(); err != nil {
		m.log.Warn("collecting abandoned import data failed", "err", err)
	}
	avail, err := listed()
	if err != nil {
		return Report{}, err
	}
	sel, err := resolveSelection(m.opts.Ecosystems, avail)
	if err != nil {
		return Report{}, err
	}
	reports := make([]*EcosystemReport, len(sel))
	slots := make(chan struct{}, workers)
	flight := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for i, eco := range sel {
		flight <- struct{}{}
		slots <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			parsed := sync.OnceFunc(func() { <-slots })
			defer func() { parsed(); <-flight; wg.Done() }()
			start := time.Now()
			er := m.syncOne(ctx, eco, parsed, early)
			er.Ecosystem, er.Duration = eco, time.Since(start)
			if er.Err != nil {
				er.Mode = ModeFailed
				m.log.Error("ecosystem sync failed", "ecosystem", eco, "err", er.Err)
			} else {
				m.log.Info("ecosystem synced", "ecosystem", eco, "mode", er.Mode, "records", er.Records,
					"added", er.Added, "updated", er.Updated, "removed", er.Removed, "malformed", er.MalformedCount,
					"duration", er.Duration.Round(time.Millisecond).String())
			}
			reports[i] = &er
		}()
	}
	wg.Wait()
	rep := Report{Duration: time.Since(start)}
	for _, er := range reports {
		if er != nil {
			rep.Ecosystems = append(rep.Ecosystems, *er)
		}
	}
	return rep, ctx.Err()
}

// syncOne syncs one ecosystem; parsed is called when a full import has
// read and parsed its archive (its writes may still be going on). early
// may hold the sync's first reads, begun already.
func (m *Mirror) syncOne(ctx context.Context, eco string, parsed func(), early *earlyStarts) EcosystemReport {
	b := early.take(eco)
	if b == nil {
		st, err := m.store.Partition(ctx, eco)
		b = &begun{partition: func() (store.PartitionState, error) { return st, err }}
	}
	st, err := b.partition()
	switch {
	case errors.Is(err, store.ErrNoPartition) || m.opts.ForceFull:
		b.close() // not held through the import
		return m.full(ctx, eco, "", parsed)
	case err != nil:
		b.close()
		return EcosystemReport{Err: err}
	}
	return m.incremental(ctx, eco, st, parsed, b) // takes what b holds
}

// selection is one selected ecosystem: the base directory to read and the
// optional release filter.
func splitSelection(eco string) (base, release string) {
	base = osv.BaseEcosystem(eco)
	if len(eco) > len(base) {
		release = eco
	}
	return base, release
}

// resolveSelection validates the user's ecosystems against the source's
// list, fixing letter case ("pypi" -> "PyPI"), and removes duplicates.
func resolveSelection(want, avail []string) ([]string, error) {
	canon := make(map[string]string, len(avail))
	for _, a := range avail {
		canon[strings.ToLower(a)] = a
	}
	seen := map[string]bool{}
	var out, unknown []string
	for _, w := range want {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		base, _ := splitSelection(w)
		c, ok := canon[strings.ToLower(base)]
		if !ok {
			unknown = append(unknown, w)
			continue
		}
		full := c + w[len(base):]
		if !seen[full] {
			seen[full] = true
			out = append(out, full)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown ecosystem %s; the source lists: %s", strings.Join(unknown, ", "), strings.Join(avail, ", "))
	}
	if len(out) == 0 {
		return nil, errors.New("no ecosystems selected")
	}
	return out, nil
}

// keysFor computes the store index keys of a record for a partition and
// whether the partition keeps it at all.
func keysFor(v *osv.Header, eco string) ([]store.PackageKey, bool) {
	base, release := splitSelection(eco)
	var keys []store.PackageKey
	keep := false
	for _, a := range v.Affected {
		e := a.Package.Ecosystem
		if osv.BaseEcosystem(e) != base {
			continue
		}
		if release != "" && e != base && e != release {
			continue
		}
		keep = true
		if a.Package.Name == "" {
			continue
		}
		keys = append(keys, store.PackageKey{Ecosystem: base, Name: purl.NormalizeName(base, a.Package.Name)})
	}
	// Sorted by name, each once (every key has the base ecosystem); without
	// a map per record (BenchmarkReadEntries: 20.7-21.8 -> 19.6-20.5 µs CPU
	// per record).
	slices.SortFunc(keys, func(a, b store.PackageKey) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(keys, func(a, b store.PackageKey) bool { return a.Name == b.Name }), keep
}

func recordFor(v *osv.Header, keys []store.PackageKey, data, deflated []byte) store.Record {
	return store.Record{
		ID:        v.ID,
		Modified:  v.Modified.Time,
		Withdrawn: v.IsWithdrawn(),
		Aliases:   v.Aliases,
		Packages:  keys,
		Data:      data,
		Deflated:  deflated,
	}
}

const maxMalformedSamples = 20

func (r *EcosystemReport) malformed(entry, reason string) { r.malformedN(entry, reason, 1) }

// malformedN counts n skipped entries under one description.
func (r *EcosystemReport) malformedN(entry, reason string, n int) {
	r.MalformedCount += n
	if len(r.Malformed) < maxMalformedSamples {
		r.Malformed = append(r.Malformed, Malformed{Entry: entry, Reason: reason})
	}
}
