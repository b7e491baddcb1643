package feed

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/package-url/packageurl-go"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/store"
)

// Assessor is what the gate needs from assessments (internal/assess's
// Service implements it): the policies for unassessed vulnerabilities,
// the assessments that apply in a scope, and recording what a feed saw
// (which also auto-assesses new findings).
type Assessor interface {
	Policies(ctx context.Context) (assess.Policies, error)
	Index(ctx context.Context, scope string) (*assess.Index, error)
	RecordScanWith(ctx context.Context, scope string, results []match.ComponentResult, o assess.RecordOptions) (assess.RecordReport, error)
}

// GateStore is what the gate needs from the store.
type GateStore interface {
	match.Advisories
	Partitions(ctx context.Context) ([]store.PartitionState, error)
	GateVersion(ctx context.Context) (string, error)
	RecordFeedDecisions(ctx context.Context, ds []store.FeedDecision) error
	PruneFeedPackages(ctx context.Context, feed string, max int) (int, error)
}

// GateOptions configures a Gate.
type GateOptions struct {
	Store    GateStore
	Assessor Assessor
	// OSSIndex is consulted for feeds that enable it; nil when OSS Index
	// is not configured (such feeds then report packages as not checked
	// by it).
	OSSIndex match.ComponentSource
	// PollInterval is how often the gate asks the store whether
	// advisories, assessments or policies changed; default 1s. Cached
	// decisions are dropped when they did.
	PollInterval time.Duration
	// MaxAge bounds how long a decision is reused even when nothing
	// changed (assessments expire by time); default 1m.
	MaxAge time.Duration
	// MaxTracked bounds the packages one feed tracks (and rescans after
	// every mirror); the least recently downloaded are dropped beyond it.
	// Default 50,000.
	MaxTracked int
	// MaxRecording bounds how many downloads record findings at once
	// (the first download of a package version scans and writes); the
	// others wait their turn. Default 4.
	MaxRecording int
	Logger       *slog.Logger
	Now          func() time.Time
	// OnRefused, when set, is told of every download the gate refuses
	// (notifications). It must not block.
	OnRefused func(feed, purl, message string)
	// AuditSpoolDir keeps decisions waiting to be audited while the
	// database is unavailable (see audit.go); "" keeps them in memory.
	AuditSpoolDir string
	// AuditBacklog bounds the decisions waiting to be audited; beyond
	// it downloads are refused. Default 100,000.
	AuditBacklog int
}

// Decision is the gate's answer for one package version in one feed.
type Decision struct {
	assess.Decision
	Feed    string
	Pkg     purl.Package
	Details map[string]match.Scored // finding ID -> finding, for messages
	// NotChecked lists why the package could not be fully checked; the
	// feed's policy for unassessed vulnerabilities then applies.
	NotChecked []string
	// Unapproved is set when the feed requires approval and this
	// version is not approved (the download is refused, see
	// RefuseUnapproved); Queued when it is pending for the approvers.
	Unapproved bool
	Queued     bool
	// Upgrade is what a refused or warned download is told to upgrade
	// to (set by CheckWith; nil when there is nothing to advise).
	Upgrade  *Advice
	at       time.Time
	recorded bool
	result   *match.ComponentResult // the scan's result, when it has findings
}

// decisionKey names a cached decision: a feed and a package version.
type decisionKey struct{ feed, purl string }

// Blocked reports whether the package is refused.
func (d *Decision) Blocked() bool { return d.Effect == assess.Block }

// Gate decides whether artifacts may be downloaded through a feed. It
// evaluates from the store's current data at download time and keeps a
// small cache of decisions, dropped whenever the store's advisories,
// assessments or policies change, so a package that becomes Blocked is
// refused from then on.
type Gate struct {
	opts GateOptions
	log  *slog.Logger

	mu       sync.Mutex
	version  string
	covered  map[string]bool
	policies assess.Policies
	indexes  map[string]*assess.Index
	cache    map[decisionKey]*Decision
	polled   time.Time
	polling  atomic.Bool

	recording chan struct{} // semaphore of MaxRecording
	pruned    map[string]time.Time
	hidden    map[string]string // feed\x00purl -> last audited reason
	advice    map[string]adviceEntry

	audit *auditTrail
}

// NewGate returns a gate; Close flushes its audit trail.
func NewGate(opts GateOptions) *Gate {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxTracked <= 0 {
		opts.MaxTracked = 50_000
	}
	if opts.MaxRecording <= 0 {
		opts.MaxRecording = 4
	}
	if opts.AuditBacklog <= 0 {
		opts.AuditBacklog = 100_000
	}
	g := &Gate{opts: opts, log: opts.Logger, cache: map[decisionKey]*Decision{}, indexes: map[string]*assess.Index{},
		recording: make(chan struct{}, opts.MaxRecording), pruned: map[string]time.Time{},
	}
	g.audit = newAuditTrail(opts.Store, opts.Logger, opts.AuditSpoolDir, opts.AuditBacklog, g.prune)
	return g
}

// Close stops the gate after writing the pending audit rows (or keeping
// them in the spool file). Downloads checked afterwards are refused.
func (g *Gate) Close() { g.audit.close() }

// Flush waits until the audit rows queued so far are written (or set
// aside when the database is unavailable).
func (g *Gate) Flush() { g.audit.flush() }

// PackageFor builds the package of a feed type from a name as the
// registry spells it (npm "@scope/name", Maven "group:artifact", Go module
// path, PyPI project, NuGet ID) and a version.
func PackageFor(t Type, name, version string) (purl.Package, error) {
	k := packageKey{t, name, version}
	if p, ok := packageMemo.m.Load(k); ok {
		return p.(purl.Package), nil
	}
	p, err := packageFor(t, name, version)
	if err != nil {
		return p, err
	}
	if packageMemo.n.Add(1) > 50_000 {
		packageMemo.m.Clear()
		packageMemo.n.Store(1)
	}
	packageMemo.m.Store(k, p)
	return p, nil
}

// packageMemo keeps PackageFor's answers (every download and every
// filtered version list asks; building the PURL and parsing it again cost
// ~2% of a cached download's CPU). Bounded: emptied past 50,000 entries.
var packageMemo struct {
	m sync.Map // packageKey -> purl.Package
	n atomic.Int64
}

type packageKey struct {
	t             Type
	name, version string
}

func packageFor(t Type, name, version string) (purl.Package, error) {
	var typ, ns, n string
	switch t {
	case NPM:
		typ, n = packageurl.TypeNPM, name
		if scope, rest, ok := strings.Cut(name, "/"); ok {
			ns, n = scope, rest
		}
	case PyPI:
		typ, n = packageurl.TypePyPi, name
	case Go:
		typ = packageurl.TypeGolang
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			ns, n = name[:i], name[i+1:]
		} else {
			n = name
		}
	case Maven:
		typ = packageurl.TypeMaven
		g, a, ok := strings.Cut(name, ":")
		if !ok {
			return purl.Package{}, fmt.Errorf("maven name %q: want group:artifact", name)
		}
		ns, n = g, a
	case NuGet:
		typ, n = packageurl.TypeNuget, name
	default:
		return purl.Package{}, fmt.Errorf("unknown feed type %q", t)
	}
	return purl.Parse(packageurl.NewPackageURL(typ, ns, n, version, nil, "").ToString())
}

// Check decides on a download of pkg through f, records the package's
// findings in the feed's scope (auto-assessing new ones there, never
// globally), records the decision in the audit trail (client names the
// requester) and tracks the package. Call it only for versions the
// upstream is known to have (see Env.ServeArtifact): anonymous requests
// for made-up names must leave nothing behind. An error means the gate
// could not decide (the store failed) or could not record the decision as
// the feed requires (ErrAuditUnavailable); callers refuse the download
// then.
func (g *Gate) Check(ctx context.Context, f Feed, pkg purl.Package, client string) (*Decision, error) {
	return g.CheckWith(ctx, f, pkg, client, CheckOptions{})
}

// CheckWith is Check with what the feed knows: in a feed that requires
// approval (o.Approved set), a version that is not blocked and not
// approved gets a copy of the decision marked Unapproved, audited with
// effect "unapproved". A refused or warned download's decision carries
// upgrade advice (Decision.Upgrade) from the versions o.Published lists,
// named in the audit row too.
func (g *Gate) CheckWith(ctx context.Context, f Feed, pkg purl.Package, client string, o CheckOptions) (*Decision, error) {
	ds, err := g.evaluate(ctx, f, []purl.Package{pkg}, true, false)
	if err != nil {
		return nil, err
	}
	d := ds[0]
	effect, reasons := string(d.Effect), d.Message()
	if !d.Blocked() && o.Approved != nil {
		ok, err := o.Approved(pkg)
		if err != nil {
			return nil, fmt.Errorf("feed gate: reading approvals: %w", err)
		}
		if !ok {
			cp := *d
			cp.Unapproved = true
			d = &cp
			effect, reasons = EffectUnapproved, "not approved for feed "+f.Name+"; "+reasons
		}
	}
	if d.Effect != assess.Allow || d.Unapproved {
		// A refusal may ask the upstream for the version list once; a
		// download that is served only reads what is cached.
		if a := g.advise(ctx, f, d, o, d.Blocked() || d.Unapproved); a != nil {
			cp := *d
			cp.Upgrade = a
			d = &cp
			reasons += "; " + a.Short()
		}
	}
	if (d.Blocked() || d.Unapproved) && g.opts.OnRefused != nil {
		g.opts.OnRefused(f.Name, pkg.PURL, reasons)
	}
	fd := store.FeedDecision{Feed: f.Name, PURL: pkg.PURL, Effect: effect, Reasons: reasons, Client: client,
		Ecosystem: pkg.Ecosystem, Name: pkg.Name, Version: pkg.Version, At: g.opts.Now().UTC()}
	if err := g.audit.record(ctx, fd, f.AuditRequired && !d.Blocked() && !d.Unapproved); err != nil {
		g.log.Error("feed gate: refusing a download whose decision cannot be audited", "feed", f.Name, "purl", pkg.PURL, "effect", effect, "err", err)
		return nil, err
	}
	return d, nil
}

// EffectUnapproved is the audit effect of a download refused because
// the version is not approved.
const EffectUnapproved = "unapproved"

// Decide decides on a download of pkg through f without recording
// anything, from the cached decision when there is one.
func (g *Gate) Decide(ctx context.Context, f Feed, pkg purl.Package) (*Decision, error) {
	ds, err := g.evaluate(ctx, f, []purl.Package{pkg}, false, false)
	if err != nil {
		return nil, err
	}
	return ds[0], nil
}

// Invalidate makes the gate look at the store's data version on the next
// request (after a change made in this process, e.g. an approval), so
// that cached decisions and approvals are dropped at once rather than
// within PollInterval; upgrade advice is recomputed.
func (g *Gate) Invalidate() {
	g.mu.Lock()
	g.polled = time.Time{}
	g.advice = nil
	g.mu.Unlock()
}

// Blocked reports whether the gate blocks pkg in f and why, recording
// nothing (package approval asks before approving: blocked and known
// malicious versions cannot be approved).
func (g *Gate) Blocked(ctx context.Context, f Feed, pkg purl.Package) (bool, string, error) {
	d, err := g.Decide(ctx, f, pkg)
	if err != nil {
		return false, "", err
	}
	return d.Blocked(), d.Message(), nil
}

// Evaluate decides on many versions of packages without recording
// anything, for filtering metadata. Results keep the input order.
func (g *Gate) Evaluate(ctx context.Context, f Feed, pkgs []purl.Package) ([]*Decision, error) {
	return g.evaluate(ctx, f, pkgs, false, false)
}

// Reevaluate decides afresh on packages a feed tracks, after new
// advisories arrived: it rescans them from the store's current data
// (ignoring cached decisions), records their findings in the feed's scope
// (auto-assessing new ones) and replaces the cached decisions, so the
// next download sees the result. Nothing is added to the audit trail.
// Results keep the input order.
func (g *Gate) Reevaluate(ctx context.Context, f Feed, pkgs []purl.Package) ([]*Decision, error) {
	g.mu.Lock()
	g.polled = time.Time{} // look at the store's data version now
	g.mu.Unlock()
	return g.evaluate(ctx, f, pkgs, true, true)
}

// Version is the data version decisions are currently based on; it
// changes when cached decisions are dropped. Protocols include it in the
// keys of filtered metadata.
func (g *Gate) Version(ctx context.Context) string {
	g.poll(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.version
}

// poll refreshes the data version at most once per PollInterval; only one
// caller polls at a time, the others go on with the current data.
func (g *Gate) poll(ctx context.Context) {
	now := g.opts.Now()
	g.mu.Lock()
	due := g.version == "" || now.Sub(g.polled) >= g.opts.PollInterval
	first := g.version == ""
	g.mu.Unlock()
	if !due || (!first && !g.polling.CompareAndSwap(false, true)) {
		return
	}
	if !first {
		defer g.polling.Store(false)
	}
	g.mu.Lock()
	g.polled = now
	g.mu.Unlock()
	v, err := g.opts.Store.GateVersion(ctx)
	if err != nil {
		g.log.Warn("feed gate: checking for changed advisories or assessments failed", "err", err)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if v == g.version {
		return
	}
	parts, err := g.opts.Store.Partitions(ctx)
	if err != nil {
		g.log.Warn("feed gate: listing mirrored ecosystems failed", "err", err)
		return
	}
	pol, err := g.opts.Assessor.Policies(ctx)
	if err != nil {
		g.log.Warn("feed gate: reading policies failed", "err", err)
		return
	}
	covered := map[string]bool{}
	for _, p := range parts {
		covered[osv.BaseEcosystem(p.Name)] = true
	}
	if g.version != "" {
		g.log.Info("feed gate: advisories, assessments or policies changed; decisions will be re-evaluated", "cached", len(g.cache))
	}
	g.version, g.covered, g.policies = v, covered, pol
	g.cache = map[decisionKey]*Decision{}
	g.indexes = map[string]*assess.Index{}
	g.advice = nil
}

func (g *Gate) index(ctx context.Context, scope string) (*assess.Index, error) {
	g.mu.Lock()
	idx, ok := g.indexes[scope]
	g.mu.Unlock()
	if ok {
		return idx, nil
	}
	idx, err := g.opts.Assessor.Index(ctx, scope)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.indexes[scope] = idx
	g.mu.Unlock()
	return idx, nil
}

// policy is the effect for unassessed (and unchecked) vulnerabilities.
func (g *Gate) policy(f Feed) assess.Effect {
	if f.Unassessed != "" {
		return assess.Effect(f.Unassessed)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.policies.For(Scope(f.Name))
}

func (g *Gate) evaluate(ctx context.Context, f Feed, pkgs []purl.Package, record, fresh bool) ([]*Decision, error) {
	g.poll(ctx)
	now := g.opts.Now()
	out := make([]*Decision, len(pkgs))
	var todo []int
	g.mu.Lock()
	for i, p := range pkgs {
		if d, ok := g.cache[decisionKey{f.Name, p.PURL}]; ok && !fresh && now.Sub(d.at) < g.opts.MaxAge && (d.recorded || !record) {
			out[i] = d
			continue
		}
		todo = append(todo, i)
	}
	covered := g.covered
	g.mu.Unlock()
	if len(todo) == 0 {
		return out, nil
	}
	comps := make([]match.Component, len(todo))
	for j, i := range todo {
		comps[j] = match.Component{Input: pkgs[i].PURL}
	}
	osvOn := HasSource(f, SourceOSV)
	sc := match.NewScanner(g.opts.Store, func(eco string) bool { return covered[eco] })
	var extra []match.ComponentSource
	if HasSource(f, SourceOSSIndex) && g.opts.OSSIndex != nil {
		extra = append(extra, g.opts.OSSIndex)
	}
	sc.WithSources(osvOn, extra...)
	results, err := sc.Scan(ctx, comps)
	if err != nil {
		return nil, fmt.Errorf("feed gate: scanning: %w", err)
	}
	if HasSource(f, SourceOSSIndex) && g.opts.OSSIndex == nil {
		for j := range results {
			results[j].Errors = append(results[j].Errors, "not checked by OSS Index: it is not configured")
		}
	}
	scope := Scope(f.Name)
	if record {
		// A feed's automatic work stays in its scope: auto-assessments
		// of what it downloads decide for this feed only.
		select {
		case g.recording <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		_, err := g.opts.Assessor.RecordScanWith(ctx, scope, results, assess.RecordOptions{AutoInScope: true})
		<-g.recording
		if err != nil {
			return nil, fmt.Errorf("feed gate: recording findings: %w", err)
		}
		// Recording may have auto-assessed new findings: use them now.
		g.mu.Lock()
		delete(g.indexes, scope)
		g.mu.Unlock()
	}
	idx, err := g.index(ctx, scope)
	if err != nil {
		return nil, fmt.Errorf("feed gate: loading assessments: %w", err)
	}
	policy := g.policy(f)
	g.mu.Lock()
	defer g.mu.Unlock()
	for j, i := range todo {
		r := results[j]
		d := &Decision{Feed: f.Name, Pkg: pkgs[i], Details: map[string]match.Scored{}, at: now, recorded: record}
		for _, s := range r.Findings {
			d.Details[s.ID] = s
		}
		if len(r.Findings) > 0 {
			d.result = &results[j]
		}
		d.Decision = assess.Decide(pkgs[i].PURL, assess.FindingsOf(r), idx, policy, now)
		if len(r.Errors) > 0 {
			d.NotChecked = r.Errors
			if rank(policy) > rank(d.Effect) {
				d.Effect, d.Reasons = policy, nil
			}
		}
		out[i] = d
		if len(g.cache) > 100_000 {
			g.cache = map[decisionKey]*Decision{}
		}
		g.cache[decisionKey{f.Name, pkgs[i].PURL}] = d
	}
	return out, nil
}

func rank(e assess.Effect) int {
	switch e {
	case assess.Warn:
		return 1
	case assess.Block:
		return 2
	}
	return 0
}

// Message explains the decision in one line.
func (d *Decision) Message() string {
	msg := d.Decision.Message()
	if len(d.NotChecked) > 0 {
		msg += "; not fully checked: " + strings.Join(d.NotChecked, "; ")
	}
	return msg
}

// prune keeps each feed of batch within MaxTracked tracked packages,
// looking at a feed at most once a minute.
func (g *Gate) prune(ctx context.Context, batch []store.FeedDecision) {
	now := g.opts.Now()
	for _, d := range batch {
		if at, ok := g.pruned[d.Feed]; ok && now.Sub(at) < time.Minute {
			continue
		}
		g.pruned[d.Feed] = now
		n, err := g.opts.Store.PruneFeedPackages(ctx, d.Feed, g.opts.MaxTracked)
		if err != nil {
			g.log.Warn("feed gate: bounding the tracked packages failed", "feed", d.Feed, "err", err)
		} else if n > 0 {
			g.log.Info("feed gate: stopped tracking the least recently downloaded packages", "feed", d.Feed, "dropped", n, "max", g.opts.MaxTracked)
		}
	}
	if len(g.pruned) > 10_000 {
		clear(g.pruned)
	}
}

// AuditHidden records an audit row (effect "hidden") for each decision
// that hid a version from metadata, once per version and reason (a render
// of the same metadata does not add rows again). Hidden versions are not
// tracked: nobody downloaded them.
func (g *Gate) AuditHidden(ctx context.Context, f Feed, ds []*Decision, client string) {
	if len(ds) == 0 {
		return
	}
	now := g.opts.Now().UTC()
	var rows []store.FeedDecision
	g.mu.Lock()
	if g.hidden == nil || len(g.hidden) > 100_000 {
		g.hidden = map[string]string{}
	}
	for _, d := range ds {
		msg := "hidden from metadata (filter blocked): " + d.Message()
		k := f.Name + "\x00" + d.Pkg.PURL
		if g.hidden[k] == msg {
			continue
		}
		g.hidden[k] = msg
		rows = append(rows, store.FeedDecision{Feed: f.Name, PURL: d.Pkg.PURL, Effect: EffectHidden, Reasons: msg, Client: client,
			Ecosystem: d.Pkg.Ecosystem, Name: d.Pkg.Name, Version: d.Pkg.Version, At: now, NoTrack: true})
	}
	g.mu.Unlock()
	for _, r := range rows {
		// Nothing is served on the strength of these rows: when they
		// cannot be queued (too many wait), say so and go on.
		if err := g.audit.record(ctx, r, false); err != nil {
			g.log.Error("feed gate: audit row of a hidden version dropped", "feed", r.Feed, "purl", r.PURL, "err", err)
		}
	}
}

// EffectHidden is the audit effect of a version hidden from metadata.
const EffectHidden = "hidden"
