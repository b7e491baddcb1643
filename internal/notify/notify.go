// Package notify implements notifications: rules that send events to
// destinations. Events: new findings in a project or feed scope (with a
// severity threshold), a package version refused by a feed, assessments
// expiring within N days or expired, and failed mirror or OSS Index jobs.
// Destinations: a generic webhook (JSON body signed with HMAC-SHA256 in
// the X-Vulngate-Signature header), Slack- and Microsoft-Teams-compatible
// incoming webhooks, and e-mail over SMTP (STARTTLS, PLAIN auth).
//
// Publish never blocks: events are matched against the rules in memory and
// queued (a bounded queue; when it is full the event is dropped and
// logged). Workers deliver with retries and exponential back-off and keep
// every delivery in the store's delivery log. Secrets (webhook secret, SMTP
// password, and Slack and Teams webhook URLs, which are credentials) are
// write-only: sealed with the server's keyring (internal/secret) before
// they are stored, never returned (a Slack or Teams URL is shown masked),
// and kept out of logs and delivery errors. Values an earlier version
// stored in plain text are sealed when the service starts.
//
// Deliveries survive restarts: each is logged with its event before it is
// sent; on shutdown, deliveries in progress are cancelled and, with the
// events still queued, logged as "queued"; any instance then claims queued
// deliveries and those of a process that died (a dead process on this
// host, or no progress for StaleAfter) and sends them (at start-up, then
// every SweepEvery): delivery is at least once. Finished deliveries are
// pruned after KeepLog.
//
// It leaves out digests (one message per event), templates chosen by
// users, and events still queued in memory when a process is killed
// (they are lost; what was being sent is resumed).
package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// Event kinds.
const (
	EventNewFinding   = "finding.new"
	EventFeedRefused  = "feed.refused"
	EventExpiring     = "assessment.expiring"
	EventExpired      = "assessment.expired"
	EventJobFailed    = "job.failed"
	maxFindingsPerMsg = 50
)

// Events lists the event kinds rules may name.
var Events = []string{EventNewFinding, EventFeedRefused, EventExpiring, EventExpired, EventJobFailed}

// Finding is one finding carried by a new-finding event.
type Finding struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Rating  string   `json:"rating"`
	Summary string   `json:"summary"`
	Package string   `json:"package"` // package URL
}

// Event is something that happened.
type Event struct {
	Kind     string    `json:"event"`
	Scope    string    `json:"scope,omitempty"` // project:NAME or feed:NAME
	Subject  string    `json:"subject"`         // one line for people
	Text     string    `json:"text"`            // the message body for people
	Findings []Finding `json:"findings,omitempty"`
	Package  string    `json:"package,omitempty"`
	VulnID   string    `json:"vulnerability,omitempty"`
	Job      string    `json:"job,omitempty"`
	Error    string    `json:"error,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
	// Link is the page about the event on the server (Options.BaseURL).
	Link string    `json:"link,omitempty"`
	At   time.Time `json:"at"`
	// Dedupe, when set, makes a rule deliver the event only once.
	Dedupe string `json:"-"`
}

// SMTP is the mail server configuration (setting "notify.smtp").
type SMTP struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"` // sealed in the store
	From     string `json:"from"`
	// StartTLS upgrades the connection before authenticating; required
	// whenever a password is set.
	StartTLS bool `json:"starttls"`
}

// SMTPSetting is the store setting holding SMTP.
const SMTPSetting = "notify.smtp"

// Options configures a Service.
type Options struct {
	Store      *store.Store
	Logger     *slog.Logger
	HTTPClient *http.Client // default: 15 s timeout
	// BaseURL is the server's external URL (e.g. https://vulngate.example.com);
	// when set, events link to their page there.
	BaseURL string
	// Secrets seals the webhook secrets and the SMTP password at rest
	// (the server's keyring); nil uses a key held in memory (values do not
	// open after a restart).
	Secrets *secret.Keyring
	// TLS is the client TLS configuration for STARTTLS (tests add their
	// CA); the server name is set per connection.
	TLS *tls.Config
	// QueueSize bounds the events waiting for delivery; default 1000.
	QueueSize int
	// Attempts per delivery (default 5) and the first back-off (default
	// 2 s, doubled each time).
	Attempts int
	Backoff  time.Duration
	Workers  int // default 2
	// StaleAfter is how long a delivery may show no progress before
	// another process takes it over (default 10 minutes); SweepEvery how
	// often queued and stale deliveries are looked for (default 1 minute);
	// KeepLog how long finished deliveries are kept (default 90 days).
	StaleAfter time.Duration
	SweepEvery time.Duration
	KeepLog    time.Duration
	Now        func() time.Time
}

// Service matches events with rules and delivers them.
type Service struct {
	o      Options
	log    *slog.Logger
	queue  chan job
	ctx    context.Context // cancelled by Close: sends in progress stop
	cancel context.CancelFunc

	mu    sync.RWMutex
	rules []store.NotifyRule
	wg    sync.WaitGroup
	stop  chan struct{}
	once  sync.Once

	// Dropped counts events dropped because the queue was full.
	dropped int64
}

// job is one delivery to make: a new one (id 0), or a logged one taken
// over (its id and the attempts made so far).
type job struct {
	rule     store.NotifyRule
	ev       Event
	id       int64
	attempts int
}

// New starts a service's workers; Close stops them.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1000
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Secrets == nil {
		o.Secrets = secret.Ephemeral()
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 10 * time.Minute
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = time.Minute
	}
	if o.KeepLog <= 0 {
		o.KeepLog = 90 * 24 * time.Hour
	}
	s := &Service{o: o, log: o.Logger, queue: make(chan job, o.QueueSize), stop: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.SealStored(ctx); err != nil {
		return nil, fmt.Errorf("sealing stored notification secrets: %w", err)
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	for range o.Workers {
		s.wg.Add(1)
		go s.work()
	}
	// Deliveries an earlier process left unfinished.
	s.resume(ctx)
	s.wg.Add(1)
	go s.sweep()
	return s, nil
}

// Close stops the service: sends in progress are cancelled and, with the
// events still queued, logged as queued for the next process.
func (s *Service) Close() {
	s.once.Do(func() {
		close(s.stop)
		s.cancel()
		s.wg.Wait()
		s.drain()
	})
}

// Reload reads the rules again (after a change, or from another instance).
func (s *Service) Reload(ctx context.Context) error {
	rules, err := s.o.Store.NotifyRules(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.rules = rules
	s.mu.Unlock()
	return nil
}

// Rules returns the rules in memory with an event kind (all when "").
func (s *Service) Rules(kind string) []store.NotifyRule {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []store.NotifyRule
	for _, r := range s.rules {
		if r.Enabled && (kind == "" || r.Event == kind) {
			out = append(out, r)
		}
	}
	return out
}

// Publish queues the event for every enabled rule it matches. It never
// blocks: when the queue is full the delivery is dropped and logged.
func (s *Service) Publish(ev Event) {
	if s.ctx.Err() != nil {
		s.log.Warn("notification dropped: the service is stopped", "event", ev.Kind, "subject", ev.Subject)
		return
	}
	if ev.At.IsZero() {
		ev.At = s.o.Now().UTC()
	}
	if ev.Link == "" {
		ev.Link = s.link(ev)
	}
	for _, r := range s.Rules(ev.Kind) {
		e, ok := filter(r, ev)
		if !ok {
			continue
		}
		select {
		case s.queue <- job{rule: r, ev: e}:
		default:
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
			s.log.Warn("notification dropped: the queue is full", "rule", r.Name, "event", ev.Kind, "subject", ev.Subject)
		}
	}
}

// Dropped reports how many deliveries were dropped for a full queue.
func (s *Service) Dropped() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.dropped
}

// filter applies a rule's scope and threshold to an event; for new
// findings it keeps only the findings at or above the threshold.
func filter(r store.NotifyRule, ev Event) (Event, bool) {
	if !scopeMatches(r.Scope, ev.Scope) {
		return ev, false
	}
	if ev.Kind == EventNewFinding {
		min := severity.Rating(r.MinSeverity)
		var keep []Finding
		for _, f := range ev.Findings {
			if min == "" || severity.Rating(f.Rating).AtLeast(min) {
				keep = append(keep, f)
			}
		}
		if len(keep) == 0 {
			return ev, false
		}
		ev.Findings = keep
		ev.Subject, ev.Text = findingText(ev.Scope, keep)
	}
	if ev.Kind == EventExpiring && r.Days > 0 && !ev.Expires.IsZero() && ev.Expires.Sub(ev.At) > time.Duration(r.Days)*24*time.Hour {
		return ev, false
	}
	return ev, true
}

func scopeMatches(rule, scope string) bool {
	switch {
	case rule == "" || rule == "*":
		return true
	case strings.HasSuffix(rule, ":*"):
		return strings.HasPrefix(scope, strings.TrimSuffix(rule, "*"))
	}
	return rule == scope
}

// link is the server page an event is about: the project or feed of its
// scope, the vulnerability, or the job ("" without a BaseURL).
func (s *Service) link(ev Event) string {
	base := strings.TrimRight(s.o.BaseURL, "/")
	if base == "" {
		return ""
	}
	kind, name, _ := strings.Cut(ev.Scope, ":")
	switch {
	case ev.VulnID != "":
		return base + "/vulnerabilities/" + url.PathEscape(ev.VulnID)
	case ev.Job != "":
		return base + "/admin/jobs"
	case kind == "project" && name != "" && name != "*":
		return base + "/projects/" + url.PathEscape(name)
	case kind == "feed" && name != "" && name != "*":
		return base + "/admin/feeds/" + url.PathEscape(name)
	}
	return base + "/"
}

// findingText words a new-findings event.
func findingText(scope string, fs []Finding) (string, string) {
	subject := fmt.Sprintf("%d new finding(s) in %s", len(fs), scope)
	if len(fs) == 1 {
		subject = fmt.Sprintf("New finding in %s: %s (%s) in %s", scope, fs[0].ID, fs[0].Rating, fs[0].Package)
	}
	var b strings.Builder
	for i, f := range fs {
		if i == maxFindingsPerMsg {
			fmt.Fprintf(&b, "... and %d more\n", len(fs)-i)
			break
		}
		fmt.Fprintf(&b, "%s [%s] %s: %s\n", f.ID, f.Rating, f.Package, f.Summary)
	}
	return subject, b.String()
}

// NewFindings builds the event for findings first recorded in scope (the
// assessment service's hook), most severe first.
func NewFindings(scope string, fs []store.StoredFinding) Event {
	ev := Event{Kind: EventNewFinding, Scope: scope}
	for _, f := range fs {
		var aliases []string
		for _, id := range f.IDs {
			if id != f.VulnID {
				aliases = append(aliases, id)
			}
		}
		ev.Findings = append(ev.Findings, Finding{ID: f.VulnID, Aliases: aliases, Rating: f.Rating, Summary: f.Summary, Package: f.PURL})
	}
	slices.SortStableFunc(ev.Findings, func(a, b Finding) int { return rank(b.Rating) - rank(a.Rating) })
	ev.Subject, ev.Text = findingText(scope, ev.Findings)
	return ev
}

func rank(r string) int {
	for i, x := range []severity.Rating{severity.Low, severity.Medium, severity.High, severity.Critical} {
		if severity.Rating(r) == x {
			return i + 1
		}
	}
	return 0
}
