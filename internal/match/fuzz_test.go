package match

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/osv-scalibr/semantic"

	"github.com/vulngate/vulngate/internal/osv"
)

// fuzzOrderings are the orderings FuzzEvaluate picks from: range type and
// ecosystem.
var fuzzOrderings = []struct{ typ, eco string }{
	{osv.RangeSemver, "Go"},
	{osv.RangeEcosystem, "PyPI"},
	{osv.RangeEcosystem, "Maven"},
	{osv.RangeEcosystem, "Debian:12"},
	{osv.RangeEcosystem, "npm"},
	{osv.RangeEcosystem, "AlmaLinux:9"},
	{osv.RangeEcosystem, "Packagist"},
	{osv.RangeEcosystem, "RubyGems"},
	{osv.RangeEcosystem, "Alpine:v3.20"},
}

// fuzzEvents builds up to four events; kinds holds two bits per event:
// introduced, fixed, last_affected, limit. Empty strings are skipped.
func fuzzEvents(kinds uint8, vals ...string) []osv.Event {
	var evs []osv.Event
	for i, s := range vals {
		if s == "" {
			continue
		}
		switch (kinds >> (2 * i)) & 3 {
		case 0:
			evs = append(evs, osv.Event{Introduced: s})
		case 1:
			evs = append(evs, osv.Event{Fixed: s})
		case 2:
			evs = append(evs, osv.Event{LastAffected: s})
		case 3:
			evs = append(evs, osv.Event{Limit: s})
		}
	}
	return evs
}

func FuzzEvaluate(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzEvaluate.
	f.Add(uint8(0), uint8(0b0100), "0", "1.16.9", "", "", "1.16.8")
	f.Add(uint8(2), uint8(0b1000), "2.0-alpha1", "2.0-SNAPSHOT", "", "", "2.0-RC1")
	f.Fuzz(func(t *testing.T, ord, kinds uint8, e1, e2, e3, e4, version string) {
		o := fuzzOrderings[int(ord)%len(fuzzOrderings)]
		evs := fuzzEvents(kinds, e1, e2, e3, e4)
		if len(evs) == 0 {
			return
		}
		v := record(o.eco, o.typ, nil, evs...)
		got := Evaluate(v, o.eco, nameIs("pkg"), version)
		// The scanner's prepared records evaluate the same.
		checkPrepared(t, v, o.eco, "pkg", version)
		if got.Affected && got.Err != nil {
			t.Fatalf("affected with error: %+v", got)
		}
		if !got.Affected && len(got.Fixed) > 0 {
			t.Fatalf("fixed versions without being affected: %+v", got)
		}
		for _, f := range got.Fixed {
			if !slices.Contains(evs, osv.Event{Fixed: f}) {
				t.Fatalf("fixed %q is not a fixed event of %+v", f, evs)
			}
		}
		if version == "" && got.Err == nil {
			t.Fatalf("empty version without error: %+v", got)
		}

		// Listing the version makes it affected, whatever the ranges say.
		listed := record(o.eco, o.typ, []string{version}, evs...)
		if version != "" {
			if l := Evaluate(listed, o.eco, nameIs("pkg"), version); !l.Affected || l.Err != nil {
				t.Fatalf("version in versions list: %+v", l)
			}
		}
		// A withdrawn record never matches.
		listed.Withdrawn = osv.Time{Time: listed.Modified.AddDate(2000, 0, 0)}
		if w := Evaluate(listed, o.eco, nameIs("pkg"), version); w.Affected || w.Err != nil {
			t.Fatalf("withdrawn record: %+v", w)
		}

		if got.Err != nil {
			return
		}
		// The result agrees with the schema's pseudo-code run literally:
		// sort the events, then walk them.
		want, ok := referenceIncluded(t, o.typ, o.eco, evs, version)
		if ok && want != got.Affected {
			t.Fatalf("events %+v, %s version %q: Evaluate says %v, the schema's walk says %v", evs, o.eco, version, got.Affected, want)
		}
		// A version equal to an introduced version that no other event
		// closes or limits is affected.
		if ok && len(evs) == 1 && evs[0].Introduced == version {
			if !got.Affected {
				t.Fatalf("version equal to the only introduced event is not affected: %+v", got)
			}
		}
	})
}

// referenceIncluded evaluates one range as the OSV schema's pseudo-code
// does: BeforeLimits, then a walk over the events sorted by version (ties:
// introduced, last_affected, fixed). ok is false when some version does
// not parse or compare.
func referenceIncluded(t *testing.T, typ, eco string, evs []osv.Event, version string) (affected, ok bool) {
	t.Helper()
	parse := func(s string) (semantic.Version, bool) {
		if typ == osv.RangeSemver {
			v, err := parseSemver(s)
			return v, err == nil
		}
		v, err := semantic.Parse(s, eco)
		return v, err == nil
	}
	cur, ok := parse(version)
	if !ok {
		return false, false
	}
	cmpTo := func(s string) (int, bool) {
		b, ok := parse(s)
		if !ok {
			return 0, false
		}
		n, err := cur.Compare(b)
		return n, err == nil
	}

	limited, below := false, false
	for _, e := range evs {
		if e.Limit == "" {
			continue
		}
		limited = true
		if strings.Contains(e.Limit, "*") {
			below = true
			continue
		}
		n, ok := cmpTo(e.Limit)
		if !ok {
			return false, false
		}
		below = below || n < 0
	}
	if limited && !below {
		return false, true
	}

	type ev struct {
		v    semantic.Version // nil: "0"
		kind int
		e    osv.Event
	}
	var list []ev
	for _, e := range evs {
		var x ev
		switch {
		case e.Introduced != "":
			x = ev{kind: kindIntroduced, e: e}
			if e.Introduced == "0" {
				list = append(list, x)
				continue
			}
			x.v, ok = parse(e.Introduced)
		case e.Fixed != "":
			x = ev{kind: kindFixed, e: e}
			x.v, ok = parse(e.Fixed)
		case e.LastAffected != "":
			x = ev{kind: kindLastAffected, e: e}
			x.v, ok = parse(e.LastAffected)
		default:
			continue
		}
		if !ok {
			return false, false
		}
		list = append(list, x)
	}
	all := []semantic.Version{cur}
	for _, x := range list {
		if x.v != nil {
			all = append(all, x.v)
		}
	}
	if !totalOrder(all) {
		// Some orderings accept malformed versions and then compare them
		// inconsistently (e.g. Alpine "A" < "0" < "1A" < "A"); sorting and
		// Evaluate's single pass may then disagree, and neither is wrong.
		return false, false
	}
	cmpOK := true
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		switch {
		case a.v == nil && b.v == nil:
			return a.kind < b.kind
		case a.v == nil:
			return true
		case b.v == nil:
			return false
		}
		n, err := a.v.Compare(b.v)
		if err != nil {
			cmpOK = false
		}
		return n < 0 || n == 0 && a.kind < b.kind
	})
	if !cmpOK {
		return false, false
	}
	vulnerable := false
	for _, x := range list {
		n := 1
		if x.v != nil {
			var err error
			if n, err = cur.Compare(x.v); err != nil {
				return false, false
			}
		}
		switch x.kind {
		case kindIntroduced:
			if n >= 0 {
				vulnerable = true
			}
		case kindFixed:
			if n >= 0 {
				vulnerable = false
			}
		case kindLastAffected:
			if n > 0 {
				vulnerable = false
			}
		}
	}
	return vulnerable, true
}

// totalOrder reports whether Compare is antisymmetric and transitive on vs.
func totalOrder(vs []semantic.Version) bool {
	n := len(vs)
	c := make([][]int, n)
	for i := range vs {
		c[i] = make([]int, n)
		for j := range vs {
			r, err := vs[i].Compare(vs[j])
			if err != nil {
				return false
			}
			c[i][j] = r
		}
	}
	for i := range n {
		for j := range n {
			if c[i][j] != -c[j][i] {
				return false
			}
			for k := range n {
				if c[i][j] <= 0 && c[j][k] <= 0 && c[i][k] > 0 {
					return false
				}
			}
		}
	}
	return true
}
