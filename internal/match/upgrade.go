package match

import (
	"regexp"
	"slices"

	"github.com/google/osv-scalibr/semantic"

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
}

// Advise computes r's upgrade: candidates are the fixed versions of its
// findings or, when published is not empty, the versions the upstream
// publishes; each candidate above the component's version is evaluated
// against every record of every finding, in version order, and the first
// one that leaves no evaluable finding affected is the answer. It returns
// nil for a component without findings or without a version.
func Advise(r *ComponentResult, published []string) *Upgrade {
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
	// Records the scan already found affecting the current version (a
	// hit with reasons comes from Evaluate) need no second evaluation.
	known := make(map[*osv.Vulnerability]bool, len(r.hits))
	for _, h := range r.hits {
		if len(h.Matched) > 0 {
			known[h.Vuln] = true
		}
	}
	u := &Upgrade{From: "advisories"}
	var evaluable []Scored
	var candidates []string
	for _, f := range r.Findings {
		affected := false
		for _, v := range f.Records {
			if known[v] || affects(v, eco, nameMatches, current) {
				affected = true
				break
			}
		}
		if !affected {
			u.Unfixed = append(u.Unfixed, f.ID)
			continue
		}
		evaluable = append(evaluable, f)
		candidates = append(candidates, fixedEvents(f, eco, nameMatches)...)
	}
	if len(published) > 0 {
		candidates, u.From = published, "published"
	}
	type cand struct {
		s string
		v semantic.Version
	}
	var cs []cand
	for _, c := range candidates {
		v, err := cachedParse(base, purl.MatchVersion(eco, c), func(s string) (semantic.Version, error) { return semantic.Parse(s, base) })
		if err != nil {
			continue
		}
		if n, err := v.Compare(cur); err != nil || n <= 0 {
			continue
		}
		cs = append(cs, cand{c, v})
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		n, _ := a.v.Compare(b.v)
		return n
	})
	cs = slices.CompactFunc(cs, func(a, b cand) bool { return a.s == b.s })
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
	fixes := func(i, j int) bool {
		k := [2]int{i, j}
		v, ok := memo[k]
		if !ok {
			v = !affectedAt(evaluable[j], eco, nameMatches, purl.MatchVersion(eco, cs[i].s))
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
func fixedEvents(f Scored, eco string, nameMatches func(osv.Package) bool) []string {
	out := slices.Clone(f.Fixed)
	for _, v := range f.Records {
		for _, a := range v.Affected {
			if !ecosystemApplies(eco, a.Package.Ecosystem) || !nameMatches(a.Package) {
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

func affectedAt(f Scored, eco string, nameMatches func(osv.Package) bool, version string) bool {
	for _, v := range f.Records {
		if affects(v, eco, nameMatches, version) {
			return true
		}
	}
	return false
}

var leadingNumbers = regexp.MustCompile(`^(?:[0-9]+:)?v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?`)

// step names the size of an upgrade from one version to another.
func step(from, to string) string {
	a, b := leadingNumbers.FindStringSubmatch(from), leadingNumbers.FindStringSubmatch(to)
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
