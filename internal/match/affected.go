// Package match implements the evaluation of OSV records against package
// versions, following the "Evaluation" section of the OSV schema: a
// version is affected when it is listed in an applicable affected entry's
// versions list or lies within one of its SEMVER or ECOSYSTEM ranges.
// Version orderings come from osv-scalibr's semantic package. The package
// also merges the records that matched one component into findings by
// their IDs and aliases (see [Merge]).
//
// It leaves out GIT ranges (their commits cannot be ordered without the
// repository, so only the enumerated versions list of such entries is
// used), package name normalization and matching (callers supply
// nameMatches), and any lookup of records; it reads no files and does no
// network access.
package match

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/osv-scalibr/semantic"

	"github.com/vulngate/vulngate/internal/osv"
)

// Result is the outcome of evaluating one OSV record for one package
// version.
type Result struct {
	// Affected reports whether the version is affected.
	Affected bool
	// Fixed lists, for an affected version, the fixed versions that end
	// the affected intervals containing it, one per matching range, in
	// the ecosystem's version order and without duplicates. It is empty
	// when no fix is recorded (open-ended or last_affected intervals, or
	// a match through the versions list only).
	Fixed []string
	// Matched says why the version is affected, one line per matching
	// entry: the versions-list entry, or the range's type and the events
	// bounding the interval holding the version, e.g. "SEMVER range
	// introduced 1.8.0, fixed 1.8.5" or "versions list has 0.0.7".
	Matched []string
	// Err is set when the record applies to the package but the version,
	// or a range boundary, could not be interpreted (unparsable version,
	// ecosystem without a known version ordering, no version at all), so
	// that it could not be decided whether the version is affected. The
	// caller should report such records rather than treat them as not
	// affecting the package. Err is nil whenever Affected is true.
	Err error
}

// ErrComponentVersion is wrapped by Result.Err when the component's own
// version (rather than a range boundary of the record) cannot be read
// under the range's ordering: the same problem then shows for every
// record, and callers report it once per component.
var ErrComponentVersion = errors.New("component version")

// componentVersionError marks an error about the component's version
// without changing its text.
type componentVersionError struct{ err error }

func (e componentVersionError) Error() string        { return e.err.Error() }
func (e componentVersionError) Unwrap() error        { return e.err }
func (e componentVersionError) Is(target error) bool { return target == ErrComponentVersion }

// ErrNoVersion is wrapped by Result.Err when an applicable record is
// evaluated for an empty version.
var ErrNoVersion = errors.New("no version")

// Evaluate decides whether vuln affects version of the package that
// nameMatches identifies, in the OSV ecosystem ecosystem, which may carry
// a release suffix such as "Debian:12".
//
// An affected entry applies when nameMatches accepts its package and its
// ecosystem is the component's, or has the same base ecosystem where
// either side has no release suffix: component "Debian:12" matches
// entries "Debian:12" and "Debian" but not "Debian:11", and component
// "Debian" matches every "Debian:*" entry. Withdrawn records never match.
//
// SEMVER ranges are compared as SemVer 2.0 (a leading "v" is ignored; a
// version that does not start with a digit is an error), ECOSYSTEM ranges
// with the ecosystem's own ordering. Events are applied in version order
// as in the OSV schema's pseudo-code: introduced opens an interval ("0"
// sorts before every version), fixed closes it before the fixed version,
// last_affected after the given version, and when limit events are
// present the version must also be below one of them ("*" is no limit).
func Evaluate(vuln *osv.Vulnerability, ecosystem string, nameMatches func(osv.Package) bool, version string) Result {
	return evaluate(vuln, newEvaluation(ecosystem, version), target{matches: nameMatches}, false)
}

// target identifies the evaluated package: by nameMatches, or, for a
// prepared record, by its base ecosystem and normalized name (what
// nameMatches would compare, without normalizing names again).
type target struct {
	matches    func(osv.Package) bool
	prep       *prepared
	base, name string
}

// applies reports whether affected entry i (a) is the target's package.
func (t target) applies(i int, a *osv.Affected) bool {
	if t.prep != nil {
		e := &t.prep.entries[i]
		return e.base == t.base && e.name == t.name
	}
	return t.matches(a.Package)
}

// affects is Evaluate(...).Affected, without building the reasons and
// fixed versions, and stopping at the first match.
func affects(vuln *osv.Vulnerability, e *evaluation, t target) bool {
	return evaluate(vuln, e, t, true).Affected
}

// newEvaluation starts the evaluation of one version of a package of the
// ecosystem, for any number of records.
func newEvaluation(ecosystem, version string) *evaluation {
	return &evaluation{ecosystem: ecosystem, base: osv.BaseEcosystem(ecosystem), version: version}
}

// evaluate is Evaluate for the evaluation's ecosystem and version; quick
// returns as soon as the version is known to be affected, with Affected
// only.
func evaluate(vuln *osv.Vulnerability, e *evaluation, t target, quick bool) Result {
	if vuln == nil || vuln.IsWithdrawn() {
		return Result{}
	}
	ecosystem, version := e.ecosystem, e.version
	var (
		res    Result
		fixes  []bound
		errOut error
	)
	for i := range vuln.Affected {
		a := &vuln.Affected[i]
		if !ecosystemApplies(ecosystem, a.Package.Ecosystem) || !t.applies(i, a) {
			continue
		}
		if version == "" {
			if errOut == nil {
				errOut = fmt.Errorf("%s: %s package %q: %w", vuln.ID, a.Package.Ecosystem, a.Package.Name, ErrNoVersion)
			}
			continue
		}
		if slices.Contains(a.Versions, version) {
			res.Affected = true
			if quick {
				return res
			}
			res.Matched = append(res.Matched, fmt.Sprintf("%s %q: versions list has %s", a.Package.Ecosystem, a.Package.Name, version))
		}
		for j := range a.Ranges {
			r := &a.Ranges[j]
			var (
				in, ok bool
				fix    bound
				why    string
				err    error
			)
			if t.prep != nil && t.prep.entries[i].ranges[j] != nil {
				in, fix, why, err, ok = e.inPrepared(r, t.prep.entries[i].ranges[j])
			}
			if !ok {
				in, fix, why, err = e.inRange(r)
			}
			if err != nil {
				if errOut == nil {
					errOut = fmt.Errorf("%s: affected[%d] (%s package %q) ranges[%d]: %w", vuln.ID, i, a.Package.Ecosystem, a.Package.Name, j, err)
				}
				continue
			}
			if in {
				res.Affected = true
				if quick {
					return res
				}
				res.Matched = append(res.Matched, fmt.Sprintf("%s %q: %s range %s", a.Package.Ecosystem, a.Package.Name, r.Type, why))
				if fix.v != nil {
					fixes = append(fixes, fix)
				}
			}
		}
	}
	if !res.Affected {
		res.Err = errOut
		return res
	}
	res.Fixed = sortFixes(fixes)
	return res
}

// ecosystemApplies reports whether an affected entry's ecosystem applies
// to a component's ecosystem; see Evaluate.
func ecosystemApplies(component, entry string) bool {
	if component == entry {
		return true
	}
	cb, cs, csuf := strings.Cut(component, ":")
	eb, es, esuf := strings.Cut(entry, ":")
	if cb != eb {
		return false
	}
	return !csuf || !esuf || cs == es
}

// evaluation holds the component version, parsed lazily at most once per
// ordering for all the records it is evaluated against.
type evaluation struct {
	ecosystem, base, version string
	// invalid, when set, says why the version is not valid in the
	// ecosystem (purl.CheckVersion): no range can be evaluated for it,
	// under either ordering, and only versions lists match it.
	invalid error

	semver, eco       semantic.Version
	semverErr, ecoErr error
	semverOK, ecoOK   bool
}

// parsed returns the component version under the range type's ordering.
func (e *evaluation) parsed(rangeType string) (semantic.Version, error) {
	if e.invalid != nil {
		return nil, componentVersionError{e.invalid}
	}
	if rangeType == osv.RangeSemver {
		if !e.semverOK {
			e.semver, e.semverErr = cachedParse(osv.RangeSemver, e.version, parseSemver)
			if e.semverErr != nil {
				e.semverErr = componentVersionError{e.semverErr}
			}
			e.semverOK = true
		}
		return e.semver, e.semverErr
	}
	if !e.ecoOK {
		if e.base == "PyPI" {
			e.ecoErr = checkPyPIVersion(e.version)
		}
		if e.ecoErr == nil {
			e.eco, e.ecoErr = e.parse(osv.RangeEcosystem, e.version)
		}
		if e.ecoErr != nil {
			e.ecoErr = componentVersionError{e.ecoErr}
		}
		e.ecoOK = true
	}
	return e.eco, e.ecoErr
}

// compare compares the component version with a boundary; the costly
// ecosystem orderings go through the comparison cache.
func (e *evaluation) compare(rangeType string, cur semantic.Version, b bound) (int, error) {
	if rangeType == osv.RangeSemver || !costlyOrdering[e.base] {
		return cur.Compare(b.v)
	}
	return cachedCompare(e.base, e.version, b.s, cur, b.v)
}

// parse parses a version string under the range type's ordering.
func (e *evaluation) parse(rangeType, s string) (semantic.Version, error) {
	if rangeType == osv.RangeSemver {
		return cachedParse(osv.RangeSemver, s, parseSemver)
	}
	v, err := cachedParse(e.base, s, func(s string) (semantic.Version, error) { return semantic.Parse(s, e.base) })
	if err != nil {
		return nil, e.describe(s, err)
	}
	return v, nil
}

func (e *evaluation) describe(s string, err error) error {
	if errors.Is(err, semantic.ErrUnsupportedEcosystem) {
		return fmt.Errorf("ECOSYSTEM range: no version ordering known for ecosystem %q (version %q): %w", e.ecosystem, e.version, err)
	}
	return fmt.Errorf("ECOSYSTEM range: %q is not a valid %s version: %w", s, e.base, err)
}

// parseSemver parses a SemVer 2.0 version, tolerating a leading "v". The
// underlying parser accepts any string, so this rejects strings that do
// not start with a digit ("latest", "", "*"), which cannot be ordered
// meaningfully.
func parseSemver(s string) (semantic.Version, error) {
	t := strings.TrimPrefix(s, "v")
	if t == "" || t[0] < '0' || t[0] > '9' {
		return nil, fmt.Errorf("SEMVER range: %q is not a semantic version", s)
	}
	return semantic.ParseSemverVersion(s), nil
}

// Event kinds, in the order events with equal versions are applied:
// an interval opened and closed at the same version is empty.
const (
	kindIntroduced = iota
	kindLastAffected
	kindFixed
)

// kindName names event kinds as the OSV schema does.
var kindName = map[int]string{kindIntroduced: "introduced", kindLastAffected: "last_affected", kindFixed: "fixed"}

// bound is one parsed event boundary; v == nil is the "0" sentinel that
// sorts before every version.
type bound struct {
	v    semantic.Version
	s    string
	kind int
}

// eventBound is the unparsed boundary of an introduced, fixed or
// last_affected event; ok is false for limit and empty events.
func eventBound(ev osv.Event) (b bound, ok bool) {
	switch {
	case ev.Introduced != "":
		return bound{s: ev.Introduced, kind: kindIntroduced}, true
	case ev.Fixed != "":
		return bound{s: ev.Fixed, kind: kindFixed}, true
	case ev.LastAffected != "":
		return bound{s: ev.LastAffected, kind: kindLastAffected}, true
	}
	return bound{}, false
}

// after reports whether b sorts after c in the schema's event order.
func (b bound) after(c bound) (bool, error) {
	switch {
	case c.v == nil:
		return b.v != nil || b.kind > c.kind, nil
	case b.v == nil:
		return false, nil
	}
	n, err := b.v.Compare(c.v)
	if err != nil {
		return false, fmt.Errorf("comparing %q with %q: %w", b.s, c.s, err)
	}
	return n > 0 || n == 0 && b.kind > c.kind, nil
}

// inRange evaluates one range. Rather than sorting the events, it finds
// the greatest event (in the schema's order) that the version has
// reached; the pseudo-code's walk leaves exactly that event's verdict.
// For an affected version it also returns the fixed event ending its
// interval: the least closing event above the version, if it is a fixed
// event.
func (e *evaluation) inRange(r *osv.Range) (bool, bound, string, error) {
	if r.Type != osv.RangeSemver && r.Type != osv.RangeEcosystem {
		return false, bound{}, "", nil // GIT (versions list only) or unknown
	}
	cur, err := e.parsed(r.Type)
	if err != nil {
		return false, bound{}, "", err
	}
	var (
		last, next          bound // greatest reached event, least unreached closing event
		haveLast, haveNext  bool
		limited, belowLimit bool // limit events seen; version below one of them
	)
	for _, ev := range r.Events {
		b, isBound := eventBound(ev)
		switch {
		case isBound:
		case ev.Limit != "":
			if strings.Contains(ev.Limit, "*") {
				limited, belowLimit = true, true
				continue
			}
			limited = true
			if belowLimit {
				continue
			}
			lv, err := e.parse(r.Type, ev.Limit)
			if err != nil {
				return false, bound{}, "", err
			}
			n, err := cur.Compare(lv)
			if err != nil {
				return false, bound{}, "", fmt.Errorf("comparing %q with limit %q: %w", e.version, ev.Limit, err)
			}
			belowLimit = n < 0
			continue
		default:
			continue
		}
		var n int
		if b.kind == kindIntroduced && b.s == "0" {
			n = 1
		} else {
			if b.v, err = e.parse(r.Type, b.s); err != nil {
				return false, bound{}, "", err
			}
			if n, err = e.compare(r.Type, cur, b); err != nil {
				return false, bound{}, "", fmt.Errorf("comparing %q with %q: %w", e.version, b.s, err)
			}
		}
		reached := n > 0 || n == 0 && b.kind != kindLastAffected
		if reached {
			if !haveLast {
				last, haveLast = b, true
			} else if later, err := b.after(last); err != nil {
				return false, bound{}, "", err
			} else if later {
				last = b
			}
			continue
		}
		if b.kind == kindIntroduced {
			continue
		}
		// A closing event the version has not passed.
		if !haveNext {
			next, haveNext = b, true
		} else if later, err := next.after(b); err != nil {
			return false, bound{}, "", err
		} else if later {
			next = b
		}
	}
	if limited && !belowLimit {
		return false, bound{}, "", nil
	}
	if !haveLast || last.kind != kindIntroduced {
		return false, bound{}, "", nil
	}
	why := "introduced " + last.s
	if haveNext {
		why += ", " + kindName[next.kind] + " " + next.s
	} else {
		why += ", no fix"
	}
	if limited {
		why += " (below a limit event)"
	}
	if haveNext && next.kind == kindFixed {
		return true, next, why, nil
	}
	return true, bound{}, why, nil
}

// sortFixes orders fixed versions by their version ordering and drops
// duplicates.
func sortFixes(fixes []bound) []string {
	if len(fixes) == 0 {
		return nil
	}
	slices.SortStableFunc(fixes, func(a, b bound) int {
		if n, err := a.v.Compare(b.v); err == nil {
			return n
		}
		return cmp.Compare(a.s, b.s) // different orderings (SEMVER and ECOSYSTEM)
	})
	out := make([]string, 0, len(fixes))
	for _, f := range fixes {
		if !slices.Contains(out, f.s) {
			out = append(out, f.s)
		}
	}
	return out
}
