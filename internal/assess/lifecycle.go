package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// RecordReport says what recording a scan did.
type RecordReport struct {
	New      int // findings seen for the first time in the scope
	Updated  int // findings seen again
	Reopened int // closed findings reported again
	Closed   int // findings no source reports any more
	Ended    int // source attributions ended
	// Auto are the assessments auto-assessment made for new findings.
	Auto []Assessment
}

// RecordScan records a scan's findings in scope (e.g. "project:ci" or
// "feed:npm"): new findings are stored with their sources, known ones
// refreshed, a source that no longer reports a finding ends its
// attribution, and findings of fully scanned packages that no source
// reports any more are closed. Components with errors (not fully checked)
// never end or close anything. Then auto-assessment runs for the new
// findings that have no assessment in the scope: the type whose CVSS range
// holds the finding's score is recorded globally, with the type's expiry.
func (s *Service) RecordScan(ctx context.Context, scope string, results []match.ComponentResult) (RecordReport, error) {
	return s.RecordScanWith(ctx, scope, results, RecordOptions{})
}

// RecordOptions tunes RecordScanWith.
type RecordOptions struct {
	// AutoInScope records auto-assessments in the scan's scope instead of
	// globally (projects: an SBOM's findings do not decide for feeds).
	AutoInScope bool
}

// RecordScanWith is RecordScan with options.
func (s *Service) RecordScanWith(ctx context.Context, scope string, results []match.ComponentResult, o RecordOptions) (RecordReport, error) {
	sc, err := ParseScope(scope)
	if err != nil {
		return RecordReport{}, err
	}
	var pkgs []store.ObservedPackage
	for _, r := range results {
		if r.Package.PURL == "" || r.Package.Version == "" {
			continue
		}
		p := store.ObservedPackage{PURL: r.Package.PURL, Ecosystem: r.Package.Ecosystem, Name: r.Package.Name,
			Version: r.Package.Version, Complete: len(r.Errors) == 0}
		for _, f := range r.Findings {
			rating := string(f.Severity.Rating)
			if f.Malicious {
				rating = match.RatingMalicious
			}
			of := store.ObservedFinding{VulnID: f.ID, IDs: f.IDs, Rating: rating,
				Score: scoreTenths(f.Severity), Summary: f.Summary, Sources: f.Sources, KnownExploited: f.KEV != nil, EPSSPercentile: -1}
			if f.EPSS != nil {
				of.EPSSPercentile = f.EPSS.Percentile
			}
			p.Findings = append(p.Findings, of)
		}
		pkgs = append(pkgs, p)
	}
	now := s.now()
	res, err := s.st.RecordFindings(ctx, sc, pkgs, now)
	if err != nil {
		return RecordReport{}, err
	}
	rep := RecordReport{New: len(res.New), Updated: res.Updated, Reopened: res.Reopened, Closed: len(res.Closed), Ended: res.Ended}
	if len(res.New) == 0 {
		return rep, nil
	}
	autoScope := Global
	if o.AutoInScope {
		autoScope = sc
	}
	rep.Auto, err = s.autoAssessIn(ctx, sc, autoScope, res.New)
	if err == nil && s.OnNewFindings != nil {
		s.OnNewFindings(ctx, sc, res.New)
	}
	return rep, err
}

// scoreTenths is the CVSS score in tenths, -1 without one.
func scoreTenths(s severity.Score) int {
	if !HasScore(s) {
		return -1
	}
	return int(math.Round(s.Score * 10))
}

func storedScore(f store.StoredFinding) severity.Score {
	if f.Score < 0 {
		return severity.Score{Rating: severity.Rating(f.Rating)}
	}
	return severity.Score{Score: float64(f.Score) / 10, Rating: severity.Rating(f.Rating), Type: "stored"}
}

// autoAssessIn assesses the findings that are unassessed in their scope by
// the auto-assessment ranges, in one transaction, recording the
// assessments in target scope (Global, or the findings' own scope).
func (s *Service) autoAssessIn(ctx context.Context, scope, target string, findings []store.StoredFinding) ([]Assessment, error) {
	types, err := s.Types(ctx)
	if err != nil {
		return nil, err
	}
	return s.autoAssessWith(ctx, types, scope, target, findings)
}

// autoAssessWith is autoAssessIn with the types (and so the rules) given.
func (s *Service) autoAssessWith(ctx context.Context, types []Type, scope, target string, findings []store.StoredFinding) ([]Assessment, error) {
	var err error
	if !Autos(types) {
		return nil, nil
	}
	now := s.now()
	indexes := map[string]*Index{}
	var out []Assessment
	for _, f := range findings {
		sc := f.Scope
		if sc == "" {
			sc = scope
		}
		idx, ok := indexes[sc]
		if !ok {
			if idx, err = s.Index(ctx, sc); err != nil {
				return nil, err
			}
			for _, a := range out { // made earlier in this run, not stored yet
				if a.Scope == Global || a.Scope == sc {
					idx.byID[a.VulnID] = append(idx.byID[a.VulnID], a)
				}
			}
			indexes[sc] = idx
		}
		if _, ok := idx.Lookup(Finding{ID: f.VulnID, IDs: f.IDs}, now); ok {
			continue
		}
		t, why, ok := AutoRule(types, storedScore(f), Exploitation{KEV: f.KnownExploited, EPSSPercentile: f.EPSSPercentile})
		if !ok {
			continue
		}
		a := Assessment{VulnID: f.VulnID, Scope: target, Type: t.Name, Effect: t.Effect, By: ActorAuto, At: now, Auto: true,
			Comment: "auto-assessed: " + why}
		if t.Expiry > 0 {
			a.Expires = now.Add(t.Expiry)
		}
		out = append(out, a)
		// Later findings of the same group (other packages, other scopes)
		// see this assessment.
		for _, x := range indexes {
			if target == Global || x.scope == target {
				x.byID[a.VulnID] = append(x.byID[a.VulnID], a)
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := s.st.SetAssessments(ctx, storeAll(out), "auto", ActorAuto, now); err != nil {
		return nil, err
	}
	return out, nil
}

// AutoAssessExisting re-applies the auto-assessment ranges to every
// recorded open finding (of scope, or of all scopes when scope is "") that
// is unassessed, and returns the assessments made. With a scope, the
// assessments are recorded in that scope (a project's findings decide
// nothing for other projects or feeds); without one, globally.
func (s *Service) AutoAssessExisting(ctx context.Context, scope string) ([]Assessment, error) {
	ff := store.FindingFilter{}
	target := Global
	if scope != "" {
		sc, err := ParseScope(scope)
		if err != nil {
			return nil, err
		}
		ff.Scope, target = sc, sc
	}
	fs, err := s.st.Findings(ctx, ff)
	if err != nil {
		return nil, err
	}
	return s.autoAssessIn(ctx, scope, target, fs)
}

// AutoAssessOpen applies the exploitation rules (known exploited, EPSS
// percentile; not the CVSS ranges, which ran when each finding was first
// recorded) to every recorded open finding that is unassessed in its own
// scope, recording each assessment in that scope (as recording a
// project's or a feed's scan does). The server runs it after the
// enrichment sources change what is known of exploitation; a known
// exploited vulnerability whose assessment expired is so assessed again.
func (s *Service) AutoAssessOpen(ctx context.Context) ([]Assessment, error) {
	all, err := s.Types(ctx)
	if err != nil {
		return nil, err
	}
	var types []Type
	for _, t := range all {
		t.Auto = nil
		types = append(types, t)
	}
	if !Autos(types) {
		return nil, nil
	}
	fs, err := s.st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		return nil, err
	}
	byScope := map[string][]store.StoredFinding{}
	var scopes []string
	for _, f := range fs {
		if _, ok := byScope[f.Scope]; !ok {
			scopes = append(scopes, f.Scope)
		}
		byScope[f.Scope] = append(byScope[f.Scope], f)
	}
	slices.Sort(scopes)
	var out []Assessment
	for _, sc := range scopes {
		as, err := s.autoAssessWith(ctx, types, sc, sc, byScope[sc])
		if err != nil {
			return out, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// Evaluate decides every scanned component in scope (Global for a scan
// without a project): assessments and the scope's policy are loaded once.
// Components without a package identity get a decision with no findings.
func (s *Service) Evaluate(ctx context.Context, scope string, results []match.ComponentResult) ([]Decision, error) {
	sc, err := ParseScope(scope)
	if err != nil {
		return nil, err
	}
	idx, err := s.Index(ctx, sc)
	if err != nil {
		return nil, err
	}
	pol, err := s.Policies(ctx)
	if err != nil {
		return nil, err
	}
	policy := pol.For(sc)
	now := s.now()
	out := make([]Decision, 0, len(results))
	for _, r := range results {
		pkg := r.Package.PURL
		if pkg == "" {
			pkg = r.Input
		}
		out = append(out, Decide(pkg, FindingsOf(r), idx, policy, now))
	}
	return out, nil
}

// Import records assessments brought in from elsewhere (VEX documents),
// all or nothing: every ID must be known, every type must exist, every
// scope must be valid. Assessments already expired at import time are
// skipped and returned as skipped. The history records them as "import".
func (s *Service) Import(ctx context.Context, as []Assessment, actor string) (imported, skipped []Assessment, err error) {
	types, err := s.Types(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	var errs []error
	for i, a := range as {
		id, err := s.ResolveID(ctx, a.VulnID)
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			return nil, nil, err
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("statement %d: %w", i+1, err))
			continue
		}
		a.VulnID = id
		if a.Scope, err = ParseScope(a.Scope); err != nil {
			errs = append(errs, fmt.Errorf("statement %d (%s): %w", i+1, id, err))
			continue
		}
		t, ok := FindType(types, a.Type)
		if !ok {
			errs = append(errs, fmt.Errorf("statement %d (%s): unknown assessment type %q", i+1, id, a.Type))
			continue
		}
		a.Type, a.Effect = t.Name, t.Effect
		if a.At.IsZero() {
			a.At = now
		}
		if a.By == "" {
			a.By = actor
		}
		if a.Expired(now) {
			skipped = append(skipped, a)
			continue
		}
		imported = append(imported, a)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, store.Invalid(fmt.Errorf("nothing imported: %w", err))
	}
	if len(imported) > 0 {
		if err := s.st.SetAssessments(ctx, storeAll(imported), "import", actor, now); err != nil {
			return nil, nil, err
		}
	}
	return imported, skipped, nil
}

// OpenFindings returns recorded open findings of a scope ("" for all) for
// exports and listings.
func (s *Service) OpenFindings(ctx context.Context, scope string) ([]store.StoredFinding, error) {
	ff := store.FindingFilter{}
	if scope != "" {
		sc, err := ParseScope(scope)
		if err != nil {
			return nil, err
		}
		ff.Scope = sc
	}
	return s.st.Findings(ctx, ff)
}

func advisoryAliases(data []byte) []string {
	var v struct {
		Aliases []string `json:"aliases"`
	}
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	return v.Aliases
}

func sortIDs(ids []string) {
	slices.SortFunc(ids, func(a, b string) int {
		if c := match.CompareIDs(a, b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
}
