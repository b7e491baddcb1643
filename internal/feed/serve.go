package feed

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/purl"
)

// Env is what protocol handlers share.
type Env struct {
	Cache *Cache
	Gate  *Gate
	Log   *slog.Logger
	// Approvals serves feeds that require approval (internal/approval);
	// nil refuses every download of such feeds.
	Approvals Approvals
	// Lists tells, per protocol, where the versions an upstream publishes
	// are cached (upgrade advice; see Published).
	Lists map[Type]VersionList

	// approvedMemo keeps looked-up approvals while the gate's data
	// version (which covers approval events) stays the same.
	approvedMemo sync.Map // feed\x00purl -> approvedEntry
	memoCount    atomic.Int64
}

type approvedEntry struct {
	ok      bool
	version string
}

// Approvals is what feeds need from package approval.
type Approvals interface {
	// Approved reports whether a package version is approved in a feed.
	Approved(ctx context.Context, feed, purl string) (bool, error)
	// Request queues a refused version for the approvers; queued is
	// false when the feed's queue is full.
	Request(ctx context.Context, feed string, pkg purl.Package, client string) (queued bool, err error)
}

// approved returns the approval check of package versions in f, nil
// when the feed does not require approval.
func (e *Env) approved(ctx context.Context, f Feed) func(purl.Package) (bool, error) {
	if !f.RequireApproval {
		return nil
	}
	return func(pkg purl.Package) (bool, error) {
		if e.Approvals == nil {
			return false, nil
		}
		k := f.Name + "\x00" + pkg.PURL
		v := e.Gate.Version(ctx)
		if m, ok := e.approvedMemo.Load(k); ok && m.(approvedEntry).version == v {
			return m.(approvedEntry).ok, nil
		}
		ok, err := e.Approvals.Approved(ctx, f.Name, pkg.PURL)
		if err != nil {
			return false, err
		}
		if e.memoCount.Add(1) > 100_000 {
			e.approvedMemo.Clear()
			e.memoCount.Store(1)
		}
		e.approvedMemo.Store(k, approvedEntry{ok: ok, version: v})
		return ok, nil
	}
}

// Request is a request routed to a feed.
type Request struct {
	Feed Feed
	// Base is the feed's public URL without a trailing slash, e.g.
	// "http://host:8080/feeds/npm-proxy"; rewritten metadata points here.
	// It comes from the configured public URL, else the request's Host.
	Base string
	// Configured says Base comes from the configured public URL (not
	// from the request's Host header, which a client chooses).
	Configured bool
	// Client describes the requester for the audit trail (feed.Client).
	Client string
	// Path is the escaped request path after Base, without the leading
	// "/" (e.g. "@scope%2fname" or "simple/django/").
	Path string
}

type ctxKey struct{}

// WithRequest attaches the routed request to ctx.
func WithRequest(ctx context.Context, fr *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, fr)
}

// RequestFrom returns the routed request, or nil.
func RequestFrom(ctx context.Context) *Request {
	fr, _ := ctx.Value(ctxKey{}).(*Request)
	return fr
}

// Type is the feed's type.
func (fr *Request) Type() Type { return Type(fr.Feed.Type) }

// ServeArtifact gates a download of pkg and, unless it is refused, serves
// the artifact from the cache (fetching it on a miss). Findings, tracking
// and the audit row are recorded only for versions the upstream has: an
// allowed artifact is fetched first, a refused one is asked about; a
// request for a version the upstream does not have is answered 404 and
// leaves nothing behind. When the gate cannot decide, or cannot record
// its decision as the feed requires (Feed.AuditRequired), the download is
// refused with 503 (fail closed).
func (e *Env) ServeArtifact(w http.ResponseWriter, r *http.Request, fr *Request, pkg purl.Package, style Style, areq ArtifactRequest) {
	ctx := r.Context()
	areq.Feed = fr.Feed
	pre, err := e.Gate.Decide(ctx, fr.Feed, pkg)
	if err != nil {
		e.undecided(w, r, fr, pkg, style, err)
		return
	}
	approved := e.approved(ctx, fr.Feed)
	fetch := !pre.Blocked()
	if fetch && approved != nil {
		// An unapproved version is not downloaded, only asked about.
		ok, err := approved(pkg)
		if err != nil {
			e.undecided(w, r, fr, pkg, style, err)
			return
		}
		fetch = ok
	}
	var a *Artifact
	var f *os.File // a's file, opened
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	if fetch {
		a, f, err = e.Cache.OpenArtifact(ctx, areq)
	} else {
		err = e.Cache.Exists(ctx, areq)
	}
	if err != nil {
		WriteError(w, r, e.Log, err, style)
		return
	}
	d, err := e.Gate.CheckWith(ctx, fr.Feed, pkg, fr.Client, e.checkOptions(ctx, fr.Feed, pkg))
	if err != nil {
		e.undecided(w, r, fr, pkg, style, err)
		return
	}
	if d.Unapproved {
		if e.Approvals != nil {
			if d.Queued, err = e.Approvals.Request(ctx, fr.Feed.Name, pkg, fr.Client); err != nil {
				e.Log.Error("feed: queuing an approval request failed", "feed", fr.Feed.Name, "purl", pkg.PURL, "err", err)
			}
		}
		e.Log.Info("feed: download not approved", "feed", fr.Feed.Name, "purl", pkg.PURL, "queued", d.Queued)
		RefuseUnapproved(w, r, d, fr.Base, style)
		return
	}
	switch d.Effect {
	case assess.Block:
		e.Log.Info("feed: download blocked", "feed", fr.Feed.Name, "purl", pkg.PURL, "reasons", d.Message())
		Refuse(w, r, d, style)
		return
	case assess.Warn:
		e.Log.Info("feed: download with caution", "feed", fr.Feed.Name, "purl", pkg.PURL, "reasons", d.Message())
	}
	if a == nil {
		// Refused a moment ago, allowed now (an assessment changed).
		if a, f, err = e.Cache.OpenArtifact(ctx, areq); err != nil {
			WriteError(w, r, e.Log, err, style)
			return
		}
	}
	if d.Effect == assess.Warn {
		Warn(w, d, style)
	}
	serveOpened(w, r, a, f)
}

// ServeUngated serves the artifact areq asks for from the cache (fetching
// it on a miss) without the gate: for files that are not the package
// (PyPI's core metadata).
func (e *Env) ServeUngated(w http.ResponseWriter, r *http.Request, fr *Request, style Style, areq ArtifactRequest) {
	areq.Feed = fr.Feed
	a, f, err := e.Cache.OpenArtifact(r.Context(), areq)
	if err != nil {
		WriteError(w, r, e.Log, err, style)
		return
	}
	if f != nil {
		defer f.Close()
	}
	serveOpened(w, r, a, f)
}

// checkOptions is what the gate needs from the feed to check a download
// of pkg in f: approvals and the upstream's version list.
func (e *Env) checkOptions(ctx context.Context, f Feed, pkg purl.Package) CheckOptions {
	return CheckOptions{Approved: e.approved(ctx, f), Published: func(fetch bool) []string {
		vs, _ := e.Published(ctx, f, pkg, fetch)
		return vs
	}}
}

// Advise is the upgrade advice for pkg in f as a refused or warned
// download gets it, from what is cached (see Gate.Advise).
func (e *Env) Advise(ctx context.Context, f Feed, pkg purl.Package) (*Advice, error) {
	return e.Gate.Advise(ctx, f, pkg, e.checkOptions(ctx, f, pkg))
}

// undecided refuses a download the gate could not decide on, or whose
// decision could not be audited as the feed requires: 503 with
// Retry-After (see Unavailable).
func (e *Env) undecided(w http.ResponseWriter, r *http.Request, fr *Request, pkg purl.Package, style Style, err error) {
	if errors.Is(err, ErrAuditUnavailable) {
		WriteError(w, r, e.Log, err, style)
		return
	}
	e.Log.Error("feed: gate could not decide; refusing", "feed", fr.Feed.Name, "purl", pkg.PURL, "err", err)
	Unavailable(w, r, style, "vulngate feed: the vulnerability gate could not decide; try again shortly")
}

// ServeFile serves a cached artifact (with Range and HEAD support).
func ServeFile(w http.ResponseWriter, r *http.Request, a *Artifact) {
	f, err := openCached(a.Path)
	if err != nil {
		f = nil
	} else {
		defer f.Close()
	}
	serveOpened(w, r, a, f)
}

// serveOpened is ServeFile with a's file opened (nil: it could not be).
func serveOpened(w http.ResponseWriter, r *http.Request, a *Artifact, f *os.File) {
	if f == nil {
		http.Error(w, "vulngate feed: cached file unavailable", http.StatusInternalServerError)
		return
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("ETag", `"`+a.SHA256+`"`)
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "private, max-age=0")
	}
	http.ServeContent(w, r, "", time.Time{}, f)
}

// ServeMeta writes a (rendered) metadata body.
func ServeMeta(w http.ResponseWriter, r *http.Request, m *Meta, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "private, max-age=0")
	if m != nil && m.Stale {
		h.Set("X-Vulngate-Cache", "stale")
		h.Set("Warning", `110 - "Response is Stale"`)
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// BlockedVersions returns the versions of name that the gate blocks,
// when the feed filters blocked versions out of metadata (nil otherwise).
// Versions that do not form a valid package are left alone. Each hidden
// version is audited (see HiddenVersions).
func (e *Env) BlockedVersions(ctx context.Context, fr *Request, name string, versions []string) (map[string]bool, error) {
	ds, err := e.HiddenVersions(ctx, fr, name, versions)
	if err != nil || ds == nil {
		return nil, err
	}
	out := make(map[string]bool, len(ds))
	for v := range ds {
		out[v] = true
	}
	return out, nil
}

// HiddenVersions is BlockedVersions with the decisions, so that protocols
// can say why a version is hidden (npm's "deprecated", PyPI's "yanked").
// Every hidden version leaves an audit row (effect "hidden"), once per
// reason.
func (e *Env) HiddenVersions(ctx context.Context, fr *Request, name string, versions []string) (map[string]*Decision, error) {
	if !fr.Feed.FilterBlocked || len(versions) == 0 {
		return nil, nil
	}
	var pkgs []purl.Package
	var vs []string
	for _, v := range versions {
		p, err := PackageFor(fr.Type(), name, v)
		if err != nil {
			continue
		}
		pkgs = append(pkgs, p)
		vs = append(vs, v)
	}
	ds, err := e.Gate.Evaluate(ctx, fr.Feed, pkgs)
	if err != nil {
		return nil, err
	}
	out := map[string]*Decision{}
	var hidden []*Decision
	for i, d := range ds {
		if d.Blocked() {
			out[vs[i]] = d
			hidden = append(hidden, d)
		}
	}
	e.Gate.AuditHidden(ctx, fr.Feed, hidden, fr.Client)
	return out, nil
}

// RenderKey is the extra key for Cache.Rendered: what a rendered body
// depends on besides the upstream document.
func (e *Env) RenderKey(ctx context.Context, fr *Request, variant string) string {
	k := fr.Base + "\x00" + variant
	if fr.Feed.FilterBlocked {
		k += "\x00f\x00" + e.Gate.Version(ctx)
	}
	return k
}
