package assess

import (
	"fmt"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/severity"
)

// Assessment is the assessment of one vulnerability ID in one scope.
type Assessment struct {
	VulnID  string
	Scope   string // Global, "project:NAME" or "feed:NAME"
	Type    string
	Effect  Effect // the type's effect
	Comment string
	By      string
	At      time.Time
	Expires time.Time // zero: never
	Auto    bool      // set by an auto-assessment rule
	// MalwareOverride marks an admin's assessment, scoped to one project
	// or feed, that lets a known malicious package through (a reviewed
	// false positive); only such an assessment overrides the built-in
	// block (see [Index.Override]).
	MalwareOverride bool
}

// Expired reports whether the assessment no longer applies at now.
func (a Assessment) Expired(now time.Time) bool {
	return !a.Expires.IsZero() && !now.Before(a.Expires)
}

// Finding is what a decision needs to know about one vulnerability of a
// package: its representative ID, every ID and alias of its group, and its
// severity.
type Finding struct {
	ID       string
	IDs      []string
	Severity severity.Score
	// Malicious is the ID of a record reporting the package as malicious
	// (match.IsMalicious), "" when none does. Such a finding is blocked
	// whatever its assessments and the policy, unless a person overrode
	// it in the decision's own scope (see [Decide]).
	Malicious string
}

// FindingsOf converts a scan result's findings.
func FindingsOf(r match.ComponentResult) []Finding {
	out := make([]Finding, 0, len(r.Findings))
	for _, f := range r.Findings {
		out = append(out, Finding{ID: f.ID, IDs: f.IDs, Severity: f.Severity, Malicious: f.MaliciousID})
	}
	return out
}

// Index holds the assessments that apply in one scope (the scope's own and
// the global ones), indexed by vulnerability ID, for fast decisions. It is
// read-only once built and safe for concurrent use.
type Index struct {
	scope string
	byID  map[string][]Assessment
}

// NewIndex indexes the assessments relevant to scope; others are dropped.
func NewIndex(scope string, as []Assessment) *Index {
	if scope == "" {
		scope = Global
	}
	idx := &Index{scope: scope, byID: map[string][]Assessment{}}
	for _, a := range as {
		if a.Scope == scope || a.Scope == Global {
			idx.byID[a.VulnID] = append(idx.byID[a.VulnID], a)
		}
	}
	return idx
}

// Scope is the scope the index was built for.
func (x *Index) Scope() string { return x.scope }

// Lookup returns the assessment that applies to a finding at now: among
// the non-expired assessments of any of the finding's IDs, a person's
// wins over an auto-assessment (a rule's default, such as one a feed
// download recorded in the feed's scope, never overrides what someone
// decided globally), then the most specific scope (the index's own scope
// over global), then the most recent. ok is false when the finding is
// unassessed.
func (x *Index) Lookup(f Finding, now time.Time) (Assessment, bool) {
	var best Assessment
	found := false
	ids := f.IDs
	if len(ids) == 0 {
		ids = []string{f.ID}
	}
	for _, id := range ids {
		for _, a := range x.byID[id] {
			if a.Expired(now) {
				continue
			}
			if !found || better(a, best) {
				best, found = a, true
			}
		}
	}
	return best, found
}

// Override returns the assessment that lets a malicious finding through
// at now: among the non-expired assessments of the finding's IDs that an
// admin recorded as a malware override (Service.Set marks them) in the
// index's own scope, which must be a project or feed, the most recent.
// Global assessments never override the built-in block of known malware.
func (x *Index) Override(f Finding, now time.Time) (Assessment, bool) {
	var best Assessment
	found := false
	if x.scope == Global {
		return best, false
	}
	ids := f.IDs
	if len(ids) == 0 {
		ids = []string{f.ID}
	}
	for _, id := range ids {
		for _, a := range x.byID[id] {
			if a.Expired(now) || a.Auto || !a.MalwareOverride || a.Scope != x.scope {
				continue
			}
			if !found || better(a, best) {
				best, found = a, true
			}
		}
	}
	return best, found
}

func better(a, b Assessment) bool {
	if a.Auto != b.Auto {
		return !a.Auto
	}
	as, bs := a.Scope != Global, b.Scope != Global
	if as != bs {
		return as
	}
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.VulnID < b.VulnID
}

// Verdict is the outcome for one finding. Finding points into the slice
// given to [Decide] (verdicts share their findings rather than copy them:
// a 10,000-component scan holds tens of thousands).
type Verdict struct {
	Finding    *Finding
	Assessment *Assessment // nil when unassessed (or blocked as malicious)
	Effect     Effect      // the assessment's effect, or the policy's
	// Malicious is set when the finding is blocked by the built-in rule
	// for known malicious packages (Assessment is then nil).
	Malicious bool
}

// LabelMalicious is how a finding blocked as known malware is named.
const LabelMalicious = "known malicious package"

// Label names the verdict for people: the type name, "Unassessed", or
// "known malicious package".
func (v Verdict) Label() string {
	if v.Malicious {
		return LabelMalicious
	}
	if v.Assessment == nil {
		return "Unassessed"
	}
	return v.Assessment.Type
}

// Decision is the outcome for one package.
type Decision struct {
	Package string
	Effect  Effect
	// Reasons are the findings that made the decision what it is: those
	// with the decision's effect when it is warn or block (blocks first if
	// several effects apply), none when allowed. When every finding has
	// the decision's effect, Reasons shares Findings' array (read-only).
	Reasons []Verdict
	// Findings holds one verdict per input finding, in input order.
	Findings []Verdict
}

// Decide decides whether a package may be used: each finding takes the
// effect of its assessment in idx (see [Index.Lookup]), or policy when it
// is unassessed; the package takes the most severe effect. Ignored
// (allow) findings never count against it. A package without findings is
// allowed. A malicious finding (Finding.Malicious) is blocked whatever its
// assessments, the CVSS rules and the policy say, unless a person
// assessed it in idx's own project or feed scope ([Index.Override]): the
// way through for a reviewed false positive. Decide does no I/O. The
// verdicts point into findings, which the caller must not change after.
func Decide(pkg string, findings []Finding, idx *Index, policy Effect, now time.Time) Decision {
	if policy == "" {
		policy = Warn
	}
	d := Decision{Package: pkg, Effect: Allow, Findings: make([]Verdict, 0, len(findings))}
	for i := range findings {
		f := &findings[i]
		v := Verdict{Finding: f, Effect: policy}
		if idx != nil {
			if a, ok := idx.Lookup(*f, now); ok {
				v.Assessment, v.Effect = &a, a.Effect
			}
		}
		if f.Malicious != "" {
			v.Assessment, v.Effect, v.Malicious = nil, Block, true
			if idx != nil {
				if a, ok := idx.Override(*f, now); ok {
					v.Assessment, v.Effect, v.Malicious = &a, a.Effect, false
				}
			}
		}
		d.Findings = append(d.Findings, v)
		if v.Effect.rank() > d.Effect.rank() {
			d.Effect = v.Effect
		}
	}
	if d.Effect != Allow {
		n := 0
		for _, v := range d.Findings {
			if v.Effect == d.Effect {
				n++
			}
		}
		if n == len(d.Findings) {
			d.Reasons = d.Findings[:n:n]
			return d
		}
		d.Reasons = make([]Verdict, 0, n)
		for _, v := range d.Findings {
			if v.Effect == d.Effect {
				d.Reasons = append(d.Reasons, v)
			}
		}
	}
	return d
}

// Message explains the decision in one line, e.g.
// "block: CVE-2021-32708 (Blocked), GHSA-... (Unassessed, policy block)".
func (d Decision) Message() string {
	if len(d.Reasons) == 0 {
		return string(d.Effect)
	}
	parts := make([]string, 0, len(d.Reasons))
	for _, v := range d.Reasons {
		label := v.Label()
		if v.Malicious {
			if v.Finding.Malicious != v.Finding.ID {
				label += " " + v.Finding.Malicious
			}
		} else if v.Assessment == nil {
			label += ", policy " + string(v.Effect)
		} else if v.Assessment.VulnID != v.Finding.ID {
			label += " as " + v.Assessment.VulnID
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", v.Finding.ID, label))
	}
	return string(d.Effect) + ": " + strings.Join(parts, ", ")
}

// MaliciousBlocked returns the verdicts that block as known malicious
// packages (not overridden), across decisions.
func MaliciousBlocked(ds []Decision) []Verdict {
	var out []Verdict
	for _, d := range ds {
		for _, v := range d.Findings {
			if v.Malicious {
				out = append(out, v)
			}
		}
	}
	return out
}

// Policies maps scopes to the effect for unassessed vulnerabilities.
type Policies map[string]Effect

// For returns the policy of scope: its own, else the global one, else warn.
func (p Policies) For(scope string) Effect {
	if e, ok := p[scope]; ok {
		return e
	}
	if e, ok := p[Global]; ok {
		return e
	}
	return Warn
}

// Worst returns the most severe of the decisions' effects (Allow for none).
func Worst(ds []Decision) Effect {
	e := Allow
	for _, d := range ds {
		if d.Effect.rank() > e.rank() {
			e = d.Effect
		}
	}
	return e
}
