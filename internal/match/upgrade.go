package match

import (
	"slices"

	"github.com/google/osv-scalibr/semantic"

	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
)

// Upgrade is what to upgrade a vulnerable component to.
type Upgrade struct {
	// Version is the nearest version above the component's that none of
	// the records behind its findings affects; empty when no known
	// version does (see Unfixed).
	Version string
	// Step is "patch", "minor" or "major": the first of the version's
	// leading numeric parts (major.minor.patch) that changes; empty when
	// the versions have no such parts.
	Step string
	// Fixes counts the findings Version fixes.
	Fixes int
	// Unfixed lists the findings (representative IDs) that no candidate
	// version fixes: no fixed event above the version, or a source whose
	// records carry no ranges to evaluate (OSS Index). Version then fixes
	// the others.
	Unfixed []string
	// From says where the candidates came from: "advisories" (their
	// fixed events) or "published" (the versions an upstream publishes).
	From string
	// Refused counts the versions fixing every fixable finding that the
	// caller's veto turned down (AdviseAmong), e.g. because they carry
	// findings of their own. When it is not zero and Version is empty,
	// fixes exist but none was acceptable.
	Refused int
}

// MaxAsked bounds how many candidates AdviseAmong shows its veto.
const MaxAsked = 32

// Advise computes r's upgrade: candidates are the fixed versions of its
// findings or, when published is not empty, the versions the upstream
// publishes; each candidate above the component's version is evaluated
// against every record of every finding, in version order, and the first
// one that leaves no evaluable finding affected is the answer. It returns
// nil for a component without findings or without a version, or whose
// version is not valid in its ecosystem (no ordering to upgrade from).
func Advise(r *ComponentResult, published []string) *Upgrade {
	return AdviseAmong(r, published, nil)
}

// AdviseAmong is Advise with a veto: accept, when not nil, is asked about
// each candidate that fixes every fixable finding, lowest first, and the
// first one it takes is the advice (a package feed takes only versions
// that are themselves free of findings). At most MaxAsked candidates are
// asked; when none is taken, Version is empty, every evaluable finding
// is Unfixed and Refused says how many were turned down.
func AdviseAmong(r *ComponentResult, published []string, accept func(version string) bool) *Upgrade {
	if purl.CheckVersion(r.Package.Ecosystem, purl.MatchVersion(r.Package.Ecosystem, r.Package.Version)) != nil {
		return nil // (Scan leaves these out itself)
	}
	return advise(r, published, accept, nil)
}

// advise is AdviseAmong; prepOf, when not nil, returns the prepared form
// of a record (nil when there is none).
func advise(r *ComponentResult, published []string, accept func(version string) bool, prepOf func(*osv.Vulnerability) *prepared) *Upgrade {
	if len(r.Findings) == 0 || r.Package.Version == "" {
		return nil
	}
	eco := r.Package.Ecosystem
	base := osv.BaseEcosystem(eco)
	current := purl.MatchVersion(eco, r.Package.Version)
	key := purl.NormalizeName(base, r.Package.Name)
	nameMatches := func(p osv.Package) bool {
		return osv.BaseEcosystem(p.Ecosystem) == base && purl.NormalizeName(base, p.Name) == key
	}
	cur, err := semantic.Parse(current, base)
	if err != nil {
		return nil
	}
	now := newEvaluation(eco, current)
	targets := map[*osv.Vulnerability]target{}
	targetOf := func(v *osv.Vulnerability) target {
		t, ok := targets[v]
		if !ok {
			t = target{matches: nameMatches}
			if prepOf != nil {
				if p := prepOf(v); p != nil {
					t = target{prep: p, base: base, name: key}
				}
			}
			targets[v] = t
		}
		return t
	}
	// Records the scan already found affecting the current version (a
	// hit with reasons comes from Evaluate) need no second evaluation.
	known := make(map[*osv.Vulnerability]bool, len(r.hits))
	for _, h := range r.hits {
		if len(h.Matched) > 0 {
			known[h.Vuln] = true
		}
	}
	u := &Upgrade{From: "advisories"}
	// Findings are read through pointers, never copied: the scan sets
	// their severities and facts while it advises.
	var evaluable []*Scored
	var candidates []string
	for k := range r.Findings {
		f := &r.Findings[k]
		affected := false
		for _, v := range f.Records {
			if known[v] || affects(v, now, targetOf(v)) {
				affected = true
				break
			}
		}
		if !affected {
			u.Unfixed = append(u.Unfixed, f.ID)
			continue
		}
		evaluable = append(evaluable, f)
		candidates = append(candidates, fixedEvents(f, eco, targetOf)...)
	}
	if len(published) > 0 {
		candidates, u.From = published, "published"
	}
	type cand struct {
		s, m string // as listed, and as MatchVersion gives it
		v    semantic.Version
	}
	// Each distinct candidate once (a fix shared by several records is
	// listed by each), then sorted: equal strings end up adjacent anyway,
	// and the first candidate fixing everything is the same.
	var cs []cand
	seen := make(map[string]bool, len(candidates))
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		m := purl.MatchVersion(eco, c)
		v, err := cachedParse(base, m, func(s string) (semantic.Version, error) { return semantic.Parse(s, base) })
		if err != nil {
			continue
		}
		if n, err := cachedCompare(base, m, current, v, cur); err != nil || n <= 0 {
			continue
		}
		cs = append(cs, cand{c, m, v})
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		n, _ := cachedCompare(base, a.m, b.m, a.v, b.v)
		return n
	})
	// fixes(i, j): candidate i leaves finding j unaffected. Evaluated
	// lazily and remembered. A finding is fixable when some candidate
	// fixes it, and the advice is the lowest candidate fixing every
	// fixable finding. Evaluating every pair up front was most of a large
	// scan's time; so was looking for a finding's fix from the lowest
	// candidate up (the lowest ones fix only the oldest findings), so
	// fixability is decided from the highest candidate down, and the
	// search for the advice tries first the finding that refused the
	// previous candidate. Neither order changes the answer.
	memo := make(map[[2]int]bool)
	evals := make([]*evaluation, len(cs)) // per candidate, made on first use
	fixes := func(i, j int) bool {
		k := [2]int{i, j}
		v, ok := memo[k]
		if !ok {
			if evals[i] == nil {
				evals[i] = newEvaluation(eco, cs[i].m)
			}
			v = !affectedAt(evaluable[j], evals[i], targetOf)
			memo[k] = v
		}
		return v
	}
	fixable := make([]bool, len(evaluable))
	var order []int // fixable findings, in the order the search tries them
	for j := range evaluable {
		for i := len(cs) - 1; i >= 0; i-- {
			if fixes(i, j) {
				fixable[j] = true
				order = append(order, j)
				break
			}
		}
	}
	if len(order) > 0 {
	candidates:
		for i, c := range cs {
			for k, j := range order {
				if !fixes(i, j) {
					copy(order[1:k+1], order[:k]) // try this one first next time
					order[0] = j
					continue candidates
				}
			}
			if accept != nil {
				if u.Refused == MaxAsked {
					break
				}
				if !accept(c.s) {
					u.Refused++
					continue
				}
			}
			u.Version, u.Step = c.s, step(current, purl.MatchVersion(eco, c.s))
			break
		}
	}
	for j, f := range evaluable {
		switch {
		case !fixable[j] || u.Version == "":
			u.Unfixed = append(u.Unfixed, f.ID)
		default:
			u.Fixes++
		}
	}
	slices.SortFunc(u.Unfixed, CompareIDs)
	if u.Version == "" && len(u.Unfixed) == 0 {
		return nil
	}
	return u
}

// fixedEvents returns every fixed event of the ranges in f's records
// that apply to the package: candidates for a version fixing everything
// (the fix ending the interval holding the version may be followed by a
// regression fixed later).
func fixedEvents(f *Scored, eco string, targetOf func(*osv.Vulnerability) target) []string {
	out := slices.Clone(f.Fixed)
	for _, v := range f.Records {
		t := targetOf(v)
		for i := range v.Affected {
			a := &v.Affected[i]
			if !ecosystemApplies(eco, a.Package.Ecosystem) || !t.applies(i, a) {
				continue
			}
			for _, r := range a.Ranges {
				for _, e := range r.Events {
					if e.Fixed != "" {
						out = append(out, e.Fixed)
					}
				}
			}
		}
	}
	return out
}

func affectedAt(f *Scored, e *evaluation, targetOf func(*osv.Vulnerability) target) bool {
	for _, v := range f.Records {
		if affects(v, e, targetOf(v)) {
			return true
		}
	}
	return false
}

var leadingNumbers = lazyre.New(`^(?:[0-9]+:)?v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?`)

// step names the size of an upgrade from one version to another.
func step(from, to string) string {
	a, b := leadingNumbers.Regexp().FindStringSubmatch(from), leadingNumbers.Regexp().FindStringSubmatch(to)
	if a == nil || b == nil {
		return ""
	}
	num := func(s string) string {
		for len(s) > 1 && s[0] == '0' {
			s = s[1:]
		}
		if s == "" {
			return "0"
		}
		return s
	}
	switch {
	case num(a[1]) != num(b[1]):
		return "major"
	case num(a[2]) != num(b[2]):
		return "minor"
	}
	return "patch"
}
