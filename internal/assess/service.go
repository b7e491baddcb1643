package assess

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// Service reads and writes assessments, types, policies and findings in
// the store. It is safe for concurrent use.
type Service struct {
	st *store.Store
	// Now is the clock; tests inject one. Defaults to time.Now.
	Now func() time.Time
	// OnNewFindings, when set, is called after RecordScan recorded
	// findings seen for the first time in scope (notifications). It must
	// not block.
	OnNewFindings func(ctx context.Context, scope string, fs []store.StoredFinding)
}

// New returns a service over st.
func New(st *store.Store) *Service { return &Service{st: st, Now: time.Now} }

func (s *Service) now() time.Time { return s.Now().UTC() }

// Store is the underlying store.
func (s *Service) Store() *store.Store { return s.st }

// Actor names used for changes vulngate makes by itself.
const (
	ActorAuto   = "vulngate (auto-assessment)"
	ActorExpiry = "vulngate (expiry sweep)"
)

// Types lists the assessment types by name.
func (s *Service) Types(ctx context.Context) ([]Type, error) {
	rows, err := s.st.AssessTypes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Type, 0, len(rows))
	for _, r := range rows {
		out = append(out, typeFromStore(r))
	}
	return out, nil
}

// CreateType adds a custom type; the name must be new.
func (s *Service) CreateType(ctx context.Context, t Type) error {
	return s.saveType(ctx, t, true)
}

// UpdateType changes an existing type's auto-assessment range, expiry and
// description (and, for custom types, its effect).
func (s *Service) UpdateType(ctx context.Context, t Type) error {
	return s.saveType(ctx, t, false)
}

func (s *Service) saveType(ctx context.Context, t Type, create bool) error {
	if err := t.Validate(); err != nil {
		return store.Invalid(err)
	}
	types, err := s.Types(ctx)
	if err != nil {
		return err
	}
	old, exists := FindType(types, t.Name)
	switch {
	case create && exists:
		return fmt.Errorf("assessment type %q: %w", old.Name, store.ErrConflict)
	case !create && !exists:
		return fmt.Errorf("assessment type %q: %w", t.Name, store.ErrNotFound)
	case exists:
		t.Name = old.Name
		t.Builtin = old.Builtin
		if old.Builtin && t.Effect != old.Effect {
			return store.Invalid(fmt.Errorf("assessment type %s is built in: its effect (%s) cannot be changed", old.Name, old.Effect))
		}
	default:
		t.Builtin = false
	}
	row := typeToStore(t)
	row.CreatedAt = s.now()
	return s.st.SaveAssessType(ctx, row, func(all []store.AssessType) error {
		ts := make([]Type, 0, len(all))
		for _, r := range all {
			ts = append(ts, typeFromStore(r))
		}
		return store.Invalid(ValidateTypes(ts))
	})
}

// DeleteType removes a custom type no current assessment uses.
func (s *Service) DeleteType(ctx context.Context, name string) error {
	types, err := s.Types(ctx)
	if err != nil {
		return err
	}
	t, ok := FindType(types, name)
	if !ok {
		return fmt.Errorf("assessment type %q: %w", name, store.ErrNotFound)
	}
	return s.st.DeleteAssessType(ctx, t.Name)
}

// ResolveID checks that a vulnerability ID is known: held by the advisory
// store (as a record ID or alias) or carried by a recorded finding (IDs
// from sources that are not mirrored, such as OSS Index). It returns the
// ID as known (an ID typed in lower case is retried in upper case).
func (s *Service) ResolveID(ctx context.Context, id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", store.Invalid(errors.New("no vulnerability ID given"))
	}
	for _, cand := range []string{id, strings.ToUpper(id)} {
		adv, err := s.st.AdvisoriesByID(ctx, cand)
		if err != nil {
			return "", err
		}
		if len(adv) > 0 {
			return cand, nil
		}
		ok, err := s.st.HasFinding(ctx, cand)
		if err != nil {
			return "", err
		}
		if ok {
			return cand, nil
		}
	}
	return "", store.Invalid(fmt.Errorf("unknown vulnerability ID %q: no mirrored advisory has it as ID or alias and no recorded finding carries it", id))
}

// SetRequest asks for one assessment.
type SetRequest struct {
	VulnID  string
	Scope   string // "" is global
	Type    string // type name, any letter case
	Comment string
	By      string
	// Expires sets the expiry; zero uses the type's expiry (if any) from
	// now. Never makes the assessment permanent regardless of the type.
	Expires time.Time
	Never   bool
	// Admin says the caller holds the admin role: only an admin may let
	// a known malicious package through (see [Service.Set]).
	Admin bool
}

// prepare validates a request (except the ID) and builds the assessment.
func (s *Service) prepare(req SetRequest, types []Type, now time.Time) (Assessment, error) {
	scope, err := ParseScope(req.Scope)
	if err != nil {
		return Assessment{}, store.Invalid(err)
	}
	t, ok := FindType(types, req.Type)
	if !ok {
		names := make([]string, 0, len(types))
		for _, t := range types {
			names = append(names, t.Name)
		}
		return Assessment{}, store.Invalid(fmt.Errorf("unknown assessment type %q (have %s)", req.Type, strings.Join(names, ", ")))
	}
	a := Assessment{VulnID: req.VulnID, Scope: scope, Type: t.Name, Effect: t.Effect, Comment: req.Comment, By: req.By, At: now}
	switch {
	case req.Never:
	case !req.Expires.IsZero():
		if !req.Expires.After(now) {
			return Assessment{}, store.Invalid(fmt.Errorf("expiry %s is not in the future", req.Expires.UTC().Format(time.RFC3339)))
		}
		a.Expires = req.Expires.UTC()
	case t.Expiry > 0:
		a.Expires = now.Add(t.Expiry)
	}
	return a, nil
}

// Set records one assessment (replacing the one of the same ID and scope)
// and its history row. Unknown IDs, unknown types, invalid scopes and
// expiries not in the future are errors and change nothing.
func (s *Service) Set(ctx context.Context, req SetRequest) (Assessment, error) {
	id, err := s.ResolveID(ctx, req.VulnID)
	if err != nil {
		return Assessment{}, err
	}
	req.VulnID = id
	types, err := s.Types(ctx)
	if err != nil {
		return Assessment{}, err
	}
	now := s.now()
	a, err := s.prepare(req, types, now)
	if err != nil {
		return Assessment{}, err
	}
	if a.MalwareOverride, err = s.MalwareOverride(ctx, id, a.Scope, a.Effect, req.Admin); err != nil {
		return Assessment{}, err
	}
	if err := s.st.SetAssessments(ctx, []store.Assessment{toStore(a)}, "set", req.By, now); err != nil {
		return Assessment{}, err
	}
	return a, nil
}

// Clear removes the assessment of (id, scope): the vulnerability returns
// to unassessed; the history keeps the removed row.
func (s *Service) Clear(ctx context.Context, id, scope, by string) error {
	sc, err := ParseScope(scope)
	if err != nil {
		return store.Invalid(err)
	}
	ok, err := s.st.ClearAssessment(ctx, strings.TrimSpace(id), sc, by, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s has no assessment in scope %s: %w", id, sc, store.ErrNotFound)
	}
	return nil
}

// BulkFilter selects recorded open findings to assess in bulk; empty
// fields match all, but at least one must be set.
type BulkFilter struct {
	Ratings   []string // severity ratings (LOW, MEDIUM, ...), any letter case
	Ecosystem string
	Package   string
	Source    string
	Scope     string // findings recorded in this scope (e.g. project:ci)
	// OnlyUnassessed skips findings that already have an assessment.
	OnlyUnassessed bool
}

func (f BulkFilter) empty() bool {
	return len(f.Ratings) == 0 && f.Ecosystem == "" && f.Package == "" && f.Source == "" && f.Scope == ""
}

// SetBulk assesses every vulnerability of the recorded open findings the
// filter selects, each once (by its representative ID), with req's type,
// scope, comment and expiry, in one transaction. It is an error when
// nothing matches.
func (s *Service) SetBulk(ctx context.Context, f BulkFilter, req SetRequest) ([]Assessment, error) {
	if f.empty() {
		return nil, store.Invalid(errors.New("bulk assessment needs a filter (severity, ecosystem, package, source or project)"))
	}
	ff := store.FindingFilter{Ecosystem: f.Ecosystem, Name: f.Package, Source: f.Source}
	if f.Scope != "" {
		sc, err := ParseScope(f.Scope)
		if err != nil {
			return nil, store.Invalid(err)
		}
		ff.Scope = sc
	}
	for _, r := range f.Ratings {
		ff.Ratings = append(ff.Ratings, strings.ToUpper(strings.TrimSpace(r)))
	}
	findings, err := s.st.Findings(ctx, ff)
	if err != nil {
		return nil, err
	}
	types, err := s.Types(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var idx *Index
	if f.OnlyUnassessed {
		sc, err := ParseScope(req.Scope)
		if err != nil {
			return nil, store.Invalid(err)
		}
		if idx, err = s.Index(ctx, sc); err != nil {
			return nil, err
		}
	}
	var out []Assessment
	seen := map[string]bool{}
	for _, sf := range findings {
		if seen[sf.VulnID] {
			continue
		}
		seen[sf.VulnID] = true
		if idx != nil {
			if _, ok := idx.Lookup(Finding{ID: sf.VulnID, IDs: sf.IDs}, now); ok {
				continue
			}
		}
		r := req
		r.VulnID = sf.VulnID
		a, err := s.prepare(r, types, now)
		if err != nil {
			return nil, err
		}
		if a.MalwareOverride, err = s.MalwareOverride(ctx, sf.VulnID, a.Scope, a.Effect, req.Admin); err != nil {
			return nil, fmt.Errorf("nothing assessed: %w; narrow the filter to leave it out", err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, store.Invalid(errors.New("no recorded open finding matches the filter (findings are recorded by \"vulngate scan --project NAME\")"))
	}
	if err := s.st.SetAssessments(ctx, storeAll(out), "set", req.By, now); err != nil {
		return nil, err
	}
	return out, nil
}

// ListFilter selects assessments to list.
type ListFilter struct {
	VulnID string // matches the assessed ID or, via recorded findings and the advisory store, any alias
	Scope  string
	Type   string
	// IncludeExpired keeps assessments that have expired but were not
	// swept yet.
	IncludeExpired bool
}

// List returns current assessments.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Assessment, error) {
	sf := store.AssessmentFilter{Type: f.Type}
	if f.Scope != "" {
		sc, err := ParseScope(f.Scope)
		if err != nil {
			return nil, store.Invalid(err)
		}
		sf.Scopes = []string{sc}
	}
	if f.VulnID != "" {
		ids, err := s.Group(ctx, f.VulnID)
		if err != nil {
			return nil, err
		}
		sf.VulnIDs = ids
	}
	rows, err := s.st.Assessments(ctx, sf)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Assessment
	for _, r := range rows {
		a := fromStore(r)
		if !f.IncludeExpired && a.Expired(now) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// Group returns id with every ID it is known to be an alias of or to have
// as alias: the IDs and aliases of the advisories that carry id, and of
// recorded findings that carry it.
func (s *Service) Group(ctx context.Context, id string) ([]string, error) {
	set := map[string]bool{id: true}
	adv, err := s.st.AdvisoriesByID(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, a := range adv {
		set[a.ID] = true
		for _, al := range advisoryAliases(a.Data) {
			set[al] = true
		}
	}
	fs, err := s.st.Findings(ctx, store.FindingFilter{VulnID: id, IncludeClosed: true})
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		for _, x := range f.IDs {
			set[x] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sortIDs(out)
	return out, nil
}

// Event is one row of the audit history.
type Event struct {
	Seq        int64
	Action     string // set, auto, import, clear, expire
	Actor      string
	Time       time.Time
	Assessment Assessment
}

// History returns the audit history of a vulnerability's whole group,
// oldest first.
func (s *Service) History(ctx context.Context, id string) ([]Event, error) {
	ids, err := s.Group(ctx, strings.TrimSpace(id))
	if err != nil {
		return nil, err
	}
	rows, err := s.st.AssessmentHistory(ctx, ids)
	if err != nil {
		return nil, err
	}
	types, err := s.Types(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		a := fromStore(r.Assessment)
		if t, ok := FindType(types, a.Type); ok {
			a.Effect = t.Effect
		}
		out = append(out, Event{Seq: r.Seq, Action: r.Action, Actor: r.Actor, Time: r.Time, Assessment: a})
	}
	return out, nil
}

// Expire sweeps assessments whose expiry has passed: they are removed
// (the vulnerability returns to unassessed) and recorded in the history.
func (s *Service) Expire(ctx context.Context) ([]Assessment, error) {
	rows, err := s.st.ExpireAssessments(ctx, s.now(), ActorExpiry)
	if err != nil {
		return nil, err
	}
	out := make([]Assessment, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromStore(r))
	}
	return out, nil
}

// SetPolicy sets the effect for unassessed vulnerabilities in a scope.
func (s *Service) SetPolicy(ctx context.Context, scope string, e Effect, by string) error {
	sc, err := ParseScope(scope)
	if err != nil {
		return store.Invalid(err)
	}
	if _, err := ParseEffect(string(e)); err != nil {
		return store.Invalid(err)
	}
	return s.st.SetPolicy(ctx, sc, string(e), by, s.now())
}

// Policies returns every policy set.
func (s *Service) Policies(ctx context.Context) (Policies, error) {
	m, err := s.st.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := Policies{}
	for k, v := range m {
		out[k] = Effect(v)
	}
	return out, nil
}

// Index loads the assessments that apply in scope.
func (s *Service) Index(ctx context.Context, scope string) (*Index, error) {
	scopes := []string{Global}
	if scope != "" && scope != Global {
		scopes = append(scopes, scope)
	}
	rows, err := s.st.Assessments(ctx, store.AssessmentFilter{Scopes: scopes})
	if err != nil {
		return nil, err
	}
	as := make([]Assessment, 0, len(rows))
	for _, r := range rows {
		as = append(as, fromStore(r))
	}
	return NewIndex(scope, as), nil
}

func fromStore(r store.Assessment) Assessment {
	return Assessment{VulnID: r.VulnID, Scope: r.Scope, Type: r.Type, Effect: Effect(r.Effect), Comment: r.Comment,
		By: r.By, At: r.At, Expires: r.ExpiresAt, Auto: r.Auto, MalwareOverride: r.MalwareOverride}
}

func toStore(a Assessment) store.Assessment {
	return store.Assessment{VulnID: a.VulnID, Scope: a.Scope, Type: a.Type, Effect: string(a.Effect), Comment: a.Comment,
		By: a.By, At: a.At, ExpiresAt: a.Expires, Auto: a.Auto, MalwareOverride: a.MalwareOverride}
}

func storeAll(as []Assessment) []store.Assessment {
	out := make([]store.Assessment, 0, len(as))
	for _, a := range as {
		out = append(out, toStore(a))
	}
	return out
}
