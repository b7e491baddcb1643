// Package approval implements package approval for feeds, in the manner
// of ProGet's package approval: a feed that requires approval serves a
// package version only once someone allowed to approve for the feed (an
// admin, or an assessor holding the "approve" grant of scope feed:NAME)
// approved it. A refused download queues the version (pending) for the
// approvers, bounded per feed; approvals and revocations are recorded in
// an audit trail. A version whose findings are blocked (including known
// malware) cannot be approved: the gate decides first, and an approval
// never overrides a block.
//
// It leaves out who may approve (the callers check auth.Principal.
// CanApprove; the command line acts as an admin), how refusals look to
// clients (internal/feed) and rejection as a state of its own (revoking a
// pending version takes it off the queue).
package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/store"
)

// MaxPending bounds the pending versions of one feed: requests beyond it
// are refused without being queued.
const MaxPending = 10_000

// MaxBatch bounds how many versions one approve or revoke call takes.
const MaxBatch = 1000

// Store is what approval needs from the store.
type Store interface {
	FeedByName(ctx context.Context, name string) (store.Feed, error)
	FeedApproval(ctx context.Context, feed, purl string) (store.FeedApproval, bool, error)
	RequestFeedApproval(ctx context.Context, a store.FeedApproval, maxPending int) (bool, error)
	DecideFeedApprovals(ctx context.Context, feed string, pkgs []store.FeedApproval, status, actor, comment string, now time.Time) error
	FeedApprovalPage(ctx context.Context, feed, status string, offset, limit int) ([]store.FeedApproval, int, error)
	FeedApprovalEvents(ctx context.Context, feed, purl string, limit int) ([]store.FeedApprovalEvent, error)
}

// Gate says whether a package version is blocked in a feed (the feed
// gate's decision, without recording anything) and why.
type Gate interface {
	Blocked(ctx context.Context, f store.Feed, pkg purl.Package) (blocked bool, why string, err error)
}

// Service reads and changes approvals.
type Service struct {
	st   Store
	gate Gate
	// Now is the clock; tests inject one.
	Now func() time.Time
	// MaxPending bounds each feed's queue; default MaxPending.
	MaxPending int
}

// New returns a service; gate may be nil when only Approved and Request
// are used (the feed proxy).
func New(st Store, gate Gate) *Service {
	return &Service{st: st, gate: gate, Now: time.Now, MaxPending: MaxPending}
}

// Approved reports whether pkg (a package URL) is approved in feed.
func (s *Service) Approved(ctx context.Context, feed, pkg string) (bool, error) {
	a, ok, err := s.st.FeedApproval(ctx, feed, pkg)
	return ok && a.Status == store.ApprovalApproved, err
}

// Request queues pkg for approval in feed after a refused download by
// client; queued is false when the feed's queue is full.
func (s *Service) Request(ctx context.Context, feed string, pkg purl.Package, client string) (queued bool, err error) {
	return s.st.RequestFeedApproval(ctx, store.FeedApproval{Feed: feed, PURL: pkg.PURL, Ecosystem: pkg.Ecosystem, Name: pkg.Name,
		Version: pkg.Version, RequestedAt: s.Now().UTC(), RequestedBy: client}, s.MaxPending)
}

// Refusal is a version that could not be approved, and why.
type Refusal struct {
	PURL, Reason string
}

// Result says what an approve call did.
type Result struct {
	Approved []string  // package URLs approved
	Refused  []Refusal // not approved: blocked, malformed, another ecosystem
}

// ErrNothingApproved is wrapped when none of the versions could be
// approved.
var ErrNothingApproved = errors.New("nothing approved")

// Approve approves package versions (package URLs of the feed's
// ecosystem) in feed by actor, in one transaction. Versions the gate
// blocks (a Blocked or known malicious vulnerability) are refused and
// listed with the reason; when none is left the error wraps
// ErrNothingApproved and store.ErrInvalid.
func (s *Service) Approve(ctx context.Context, feed string, purls []string, actor, comment string) (Result, error) {
	f, pkgs, res, err := s.parse(ctx, feed, purls)
	if err != nil {
		return res, err
	}
	var ok []store.FeedApproval
	for _, p := range pkgs {
		blocked, why, err := s.gate.Blocked(ctx, f, p)
		if err != nil {
			return Result{}, err
		}
		if blocked {
			res.Refused = append(res.Refused, Refusal{PURL: p.PURL, Reason: "cannot be approved: " + why})
			continue
		}
		ok = append(ok, store.FeedApproval{Feed: feed, PURL: p.PURL, Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version})
		res.Approved = append(res.Approved, p.PURL)
	}
	if len(ok) == 0 {
		return res, store.Invalid(fmt.Errorf("%w: %s", ErrNothingApproved, refusals(res.Refused)))
	}
	err = s.st.DecideFeedApprovals(ctx, feed, ok, store.ApprovalApproved, actor, strings.TrimSpace(comment), s.Now().UTC())
	s.changed()
	return res, err
}

// changed tells a gate that keeps looked-up approvals to look again.
func (s *Service) changed() {
	if g, ok := s.gate.(interface{ Invalidate() }); ok {
		g.Invalidate()
	}
}

// Revoke withdraws approvals (or takes pending versions off the queue)
// in feed by actor, in one transaction; every version must have an
// approval row.
func (s *Service) Revoke(ctx context.Context, feed string, purls []string, actor, comment string) ([]string, error) {
	_, pkgs, res, err := s.parse(ctx, feed, purls)
	if err != nil {
		return nil, err
	}
	if len(res.Refused) > 0 {
		return nil, store.Invalid(fmt.Errorf("nothing revoked: %s", refusals(res.Refused)))
	}
	rows := make([]store.FeedApproval, 0, len(pkgs))
	out := make([]string, 0, len(pkgs))
	for _, p := range pkgs {
		rows = append(rows, store.FeedApproval{PURL: p.PURL})
		out = append(out, p.PURL)
	}
	err = s.st.DecideFeedApprovals(ctx, feed, rows, store.ApprovalRevoked, actor, strings.TrimSpace(comment), s.Now().UTC())
	s.changed()
	return out, err
}

// parse checks the feed and turns package URLs into packages of its
// ecosystem; malformed ones are refused.
func (s *Service) parse(ctx context.Context, feed string, purls []string) (store.Feed, []purl.Package, Result, error) {
	var res Result
	f, err := s.st.FeedByName(ctx, feed)
	if err != nil {
		return f, nil, res, err
	}
	if len(purls) == 0 {
		return f, nil, res, store.Invalid(errors.New("purls: give at least one package URL"))
	}
	if len(purls) > MaxBatch {
		return f, nil, res, store.Invalid(fmt.Errorf("purls: at most %d at a time, got %d", MaxBatch, len(purls)))
	}
	var pkgs []purl.Package
	seen := map[string]bool{}
	for _, raw := range purls {
		raw = strings.TrimSpace(raw)
		p, err := purl.Parse(raw)
		switch {
		case err != nil:
			res.Refused = append(res.Refused, Refusal{PURL: raw, Reason: err.Error()})
		case p.Version == "":
			res.Refused = append(res.Refused, Refusal{PURL: raw, Reason: "no version: approvals are per package version"})
		case !sameEcosystem(f.Type, p.Ecosystem):
			res.Refused = append(res.Refused, Refusal{PURL: raw, Reason: fmt.Sprintf("not a package of feed %s (type %s)", f.Name, f.Type)})
		case p.Ecosystem == "NuGet" && (p.Name != strings.ToLower(p.Name) || p.Version != strings.ToLower(p.Version)):
			// NuGet IDs and versions are case-insensitive; feeds see
			// them lower-cased (the flat container's spelling).
			if q, err := purl.Parse("pkg:nuget/" + strings.ToLower(p.Name) + "@" + strings.ToLower(p.Version)); err == nil && !seen[q.PURL] {
				seen[q.PURL] = true
				pkgs = append(pkgs, q)
			}
		case !seen[p.PURL]:
			seen[p.PURL] = true
			pkgs = append(pkgs, p)
		}
	}
	return f, pkgs, res, nil
}

func sameEcosystem(feedType, ecosystem string) bool {
	want := map[string]string{"npm": "npm", "pypi": "PyPI", "go": "Go", "maven": "Maven", "nuget": "NuGet"}[feedType]
	return want != "" && want == ecosystem
}

func refusals(rs []Refusal) string {
	var parts []string
	for i, r := range rs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(rs)-5))
			break
		}
		parts = append(parts, r.PURL+": "+r.Reason)
	}
	return strings.Join(parts, "; ")
}

// List returns one page of a feed's approvals of a status ("" for all).
func (s *Service) List(ctx context.Context, feed, status string, offset, limit int) ([]store.FeedApproval, int, error) {
	switch status {
	case "", store.ApprovalPending, store.ApprovalApproved, store.ApprovalRevoked:
	default:
		return nil, 0, store.Invalid(fmt.Errorf("status %q: want pending, approved or revoked", status))
	}
	if _, err := s.st.FeedByName(ctx, feed); err != nil {
		return nil, 0, err
	}
	return s.st.FeedApprovalPage(ctx, feed, status, offset, limit)
}

// Events returns a feed's approval audit, newest first.
func (s *Service) Events(ctx context.Context, feed, purl string, limit int) ([]store.FeedApprovalEvent, error) {
	return s.st.FeedApprovalEvents(ctx, feed, purl, limit)
}
