package match

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/store"
)

// memAdvisories is an in-memory Advisories keyed like the store.
type memAdvisories map[store.PackageKey][]store.Advisory

func (m memAdvisories) AdvisoriesForNames(_ context.Context, eco string, names []string) (map[string][]store.Advisory, error) {
	out := map[string][]store.Advisory{}
	for _, name := range names {
		if advs := m[store.PackageKey{Ecosystem: eco, Name: name}]; len(advs) > 0 {
			out[name] = advs
		}
	}
	return out, nil
}

func (m memAdvisories) add(t *testing.T, id string, v *osv.Vulnerability) {
	t.Helper()
	v.ID = id
	v.Modified = osv.Time{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range v.Affected {
		k := store.PackageKey{Ecosystem: osv.BaseEcosystem(a.Package.Ecosystem), Name: purl.NormalizeName(a.Package.Ecosystem, a.Package.Name)}
		m[k] = append(m[k], store.Advisory{Partition: k.Ecosystem, Source: "OSV", ID: id, Data: data})
	}
}

func named(v *osv.Vulnerability, name string) *osv.Vulnerability {
	v.Affected[0].Package.Name = name
	return v
}

func TestScanVersionValidity(t *testing.T) {
	m := memAdvisories{}
	m.add(t, "GHSA-gin", named(record("Go", osv.RangeSemver, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "1.9.1"}), "github.com/gin-gonic/gin"))
	m.add(t, "GHSA-protobuf", named(record("RubyGems", osv.RangeEcosystem, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "3.21.7"}), "google-protobuf"))
	m.add(t, "GHSA-lodash-1", named(record("npm", osv.RangeSemver, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "4.17.21"}), "lodash"))
	m.add(t, "GHSA-lodash-2", named(record("npm", osv.RangeSemver, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "4.17.12"}), "lodash"))
	m.add(t, "GHSA-maven-1", named(record("Maven", osv.RangeEcosystem, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "2.0"}), "g:a"))
	m.add(t, "GHSA-maven-2", named(record("Maven", osv.RangeEcosystem, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "3.0"}), "g:a"))
	// Versions outside PEP 440 listed verbatim (as PYSEC-2018-100 lists
	// rope's 0.6m2), beside a record with a range only.
	m.add(t, "PYSEC-rope-listed", named(record("PyPI", osv.RangeEcosystem, []string{"0.5", "0.6m2"}, osv.Event{Introduced: "0"}, osv.Event{Fixed: "0.7"}), "rope"))
	m.add(t, "PYSEC-rope-range", named(record("PyPI", osv.RangeEcosystem, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "1.0"}), "rope"))
	listed := func(eco, name, version string) *osv.Vulnerability {
		return &osv.Vulnerability{Affected: []osv.Affected{{Package: osv.Package{Ecosystem: eco, Name: name}, Versions: []string{version}}}}
	}
	m.add(t, "PYSEC-joblib", listed("PyPI", "joblib", "0.3.2e.dev"))
	m.add(t, "GHSA-lodash-x", listed("npm", "lodash", "1.4.x"))

	res, err := NewScanner(m, nil).Scan(context.Background(), []Component{
		{Input: "pkg:golang/github.com/gin-gonic/gin@234fd47e07d1004f0aed9c"}, // a commit, not a version
		{Input: "pkg:golang/github.com/gin-gonic/gin@v0.0.0-20190101000000-234fd47e07d1"},
		{Input: "pkg:gem/google-protobuf@3.21.7-x86_64-linux"}, // fixed, with a platform
		{Input: "pkg:gem/google-protobuf@3.21.6-x86_64-linux"},
		{Input: "pkg:npm/lodash@1.5.x"},
		{Input: "pkg:npm/lodash@4.17.11"},
		{Input: "pkg:hex/acme/foo@1.0.0"},
		{Input: "pkg:maven/g/a"}, // no version: one error, not one per advisory
		{Name: "bad line", InputError: "line 3: not a PURL: \"bad line\""},
		{Input: "pkg:pypi/rope@0.6m2"},
		{Input: "pkg:pypi/joblib@0.3.2e.dev"},
		{Input: "pkg:npm/lodash@1.4.x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		findings int
		err      string
	}{
		{0, `version "234fd47e07d1004f0aed9c" is not a valid Go module version (Go): checked against the advisories' versions lists only, not their ranges`},
		{1, ""},
		{0, ""},
		{1, ""},
		{0, `version "1.5.x" is not a valid SemVer 2.0 version (npm): checked against the advisories' versions lists only, not their ranges`},
		{2, ""},
		{0, `cannot be matched: Hex organisation "acme"`},
		{0, "no version: Maven advisories for g:a could not be evaluated"},
		{0, `line 3: not a PURL: "bad line"`},
		{1, `version "0.6m2" is not a valid PEP 440 version (PyPI): checked against the advisories' versions lists only`},
		{1, ""}, // every record of joblib decided by its versions list
		{1, `version "1.4.x" is not a valid SemVer 2.0 version (npm)`},
	} {
		r := res[i]
		if len(r.Findings) != want.findings {
			t.Errorf("%s: %d findings, want %d", r.Input, len(r.Findings), want.findings)
		}
		switch {
		case want.err == "" && len(r.Errors) > 0:
			t.Errorf("%s: unexpected errors %q", r.Input, r.Errors)
		case want.err != "" && (len(r.Errors) != 1 || !strings.Contains(r.Errors[0], want.err)):
			t.Errorf("%s: errors %q, want exactly one containing %q", r.Input, r.Errors, want.err)
		}
	}
	// Listed verbatim: the finding says so, and there is no upgrade
	// advice (no ordering to upgrade from).
	for i, want := range map[int]string{9: `PYSEC-rope-listed: PyPI "rope": versions list has 0.6m2`, 10: `PYSEC-joblib: PyPI "joblib": versions list has 0.3.2e.dev`, 11: `GHSA-lodash-x: npm "lodash": versions list has 1.4.x`} {
		r := res[i]
		if len(r.Findings) != 1 || !slices.Equal(r.Findings[0].Matched, []string{want}) || r.Upgrade != nil {
			t.Errorf("%s: findings %+v, upgrade %+v; want one matched by %q, no upgrade", r.Input, r.Findings, r.Upgrade, want)
		}
		if u := Advise(&r, []string{"0.7", "1.0", "4.17.21"}); u != nil {
			t.Errorf("%s: Advise with published versions = %+v, want none", r.Input, u)
		}
	}
}

func TestAdviseUpgrade(t *testing.T) {
	m := memAdvisories{}
	m.add(t, "GHSA-lodash-1", named(record("npm", osv.RangeSemver, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "4.17.21"}), "lodash"))
	m.add(t, "GHSA-lodash-2", named(record("npm", osv.RangeSemver, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "4.17.12"}), "lodash"))
	// A regression: fixed in 1.2.0, reintroduced in 1.3.0, fixed in 1.3.5;
	// another advisory is fixed in 1.3.0. Only 1.3.5 fixes both.
	a := named(record("PyPI", osv.RangeEcosystem, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "1.2.0"}, osv.Event{Introduced: "1.3.0"}, osv.Event{Fixed: "1.3.5"}), "pkg-a")
	m.add(t, "PYSEC-A", a)
	m.add(t, "PYSEC-B", named(record("PyPI", osv.RangeEcosystem, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "1.3.0"}), "pkg-a"))
	m.add(t, "PYSEC-C", named(record("PyPI", osv.RangeEcosystem, nil, osv.Event{Introduced: "0"}), "pkg-b"))
	m.add(t, "PYSEC-D", named(record("PyPI", osv.RangeEcosystem, nil, osv.Event{Introduced: "0"}, osv.Event{Fixed: "2.0.0"}), "pkg-b"))
	res, err := NewScanner(m, nil).Scan(context.Background(), []Component{
		{Input: "pkg:npm/lodash@4.17.11"},
		{Input: "pkg:pypi/pkg-a@1.1.0"},
		{Input: "pkg:pypi/pkg-b@1.0.0"},
		{Input: "pkg:npm/lodash@4.17.21"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []*Upgrade{
		{Version: "4.17.21", Step: "patch", Fixes: 2, From: "advisories"},
		{Version: "1.3.5", Step: "minor", Fixes: 2, From: "advisories"},
		{Version: "2.0.0", Step: "major", Fixes: 1, Unfixed: []string{"PYSEC-C"}, From: "advisories"},
		nil,
	} {
		if diff := cmp.Diff(want, res[i].Upgrade); diff != "" {
			t.Errorf("%s: upgrade (-want +got):\n%s", res[i].Input, diff)
		}
	}
	// Why each finding matched: the range and its bounding events.
	f := res[1].Findings
	if len(f) != 2 || !slices.Equal(f[0].Matched, []string{`PYSEC-A: PyPI "pkg-a": ECOSYSTEM range introduced 0, fixed 1.2.0`}) {
		t.Errorf("pkg-a findings matched: %+v", f)
	}
	// With the versions an upstream publishes, the nearest published one.
	if u := Advise(&res[1], []string{"1.0.0", "1.3.4", "1.3.6", "2.0.0"}); u == nil || u.Version != "1.3.6" || u.From != "published" {
		t.Errorf("Advise with published versions = %+v, want 1.3.6", u)
	}
	// A veto (a feed refusing versions with findings of their own): the
	// next fixing version is taken; when all are refused, none is advised.
	published := []string{"1.0.0", "1.3.4", "1.3.6", "1.3.7", "2.0.0"}
	var asked []string
	u := AdviseAmong(&res[1], published, func(v string) bool { asked = append(asked, v); return v != "1.3.6" })
	if want := (&Upgrade{Version: "1.3.7", Step: "minor", Fixes: 2, From: "published", Refused: 1}); !cmp.Equal(u, want) || !slices.Equal(asked, []string{"1.3.6", "1.3.7"}) {
		t.Errorf("AdviseAmong refusing 1.3.6 = %+v after asking %v, want %+v", u, asked, want)
	}
	u = AdviseAmong(&res[1], published, func(string) bool { return false })
	if want := (&Upgrade{From: "published", Refused: 3, Unfixed: []string{"PYSEC-A", "PYSEC-B"}}); !cmp.Equal(u, want) {
		t.Errorf("AdviseAmong refusing everything = %+v, want %+v", u, want)
	}
}

// After evaluation the scan's record cache keeps only matched records.
func TestRecordCacheKeepOnlyMatched(t *testing.T) {
	c := newRecordCache()
	rec := func(id string) store.Advisory {
		return store.Advisory{Partition: "PyPI", ID: id, Source: "OSV", Data: []byte(`{"id":"` + id + `","modified":"2024-01-01T00:00:00Z"}`)}
	}
	kept := c.entry(rec("PYSEC-1"), nil)
	dropped := c.entry(rec("PYSEC-2"), nil)
	if kept.err != nil || dropped.err != nil {
		t.Fatal(kept.err, dropped.err)
	}
	c.keepOnly([]ComponentResult{{hits: []Hit{{Vuln: kept.v}}}, {}})
	if !c.has("PyPI", "PYSEC-1") || c.prepOf(kept.v) == nil {
		t.Error("the matched record was dropped")
	}
	if c.has("PyPI", "PYSEC-2") || c.prepOf(dropped.v) != nil {
		t.Error("the unmatched record was kept")
	}
}

// deflatedMem is memAdvisories that also gives records as the store keeps
// them (DEFLATE-compressed), as *store.Store does.
type deflatedMem struct{ memAdvisories }

func (d deflatedMem) AdvisoriesForNamesDeflated(ctx context.Context, eco string, names []string) (map[string][]store.Advisory, error) {
	m, _ := d.AdvisoriesForNames(ctx, eco, names)
	out := map[string][]store.Advisory{}
	for name, advs := range m {
		for _, a := range advs {
			if !strings.HasPrefix(a.ID, "CORRUPT") {
				a.Data = store.Deflate(a.Data)
			}
			out[name] = append(out[name], a)
		}
	}
	return out, nil
}

// Records read as stored are inflated on the parsing workers, one buffer
// per worker: the results are those of records read inflated, and a
// document that does not inflate fails the scan as the store's lookup
// would.
func TestScanInflatesStoredRecords(t *testing.T) {
	m := memAdvisories{}
	for i := range 40 {
		v := named(record("npm", osv.RangeSemver, []string{"1.0.0"}, osv.Event{Introduced: "0"}, osv.Event{Fixed: fmt.Sprintf("1.%d.0", i+1)}), fmt.Sprintf("pkg-%d", i%7))
		v.Summary = strings.Repeat(fmt.Sprintf("summary %d ", i), 1+i*10) // documents of several sizes
		m.add(t, fmt.Sprintf("GHSA-%02d", i), v)
	}
	var comps []Component
	for i := range 7 {
		comps = append(comps, Component{Input: fmt.Sprintf("pkg:npm/pkg-%d@1.0.0", i)}, Component{Input: fmt.Sprintf("pkg:npm/pkg-%d@1.3.0", i)})
	}
	want, err := NewScanner(m, nil).Scan(context.Background(), comps)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewScanner(deflatedMem{m}, nil).Scan(context.Background(), comps)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(ComponentResult{})); diff != "" {
		t.Errorf("scan of stored records (-inflated +stored):\n%s", diff)
	}
	m.add(t, "CORRUPT-1", named(record("npm", osv.RangeSemver, nil, osv.Event{Introduced: "0"}), "pkg-0"))
	if _, err := NewScanner(deflatedMem{m}, nil).Scan(context.Background(), comps); err == nil || !strings.Contains(err.Error(), "looking up npm packages: CORRUPT-1: store: corrupt advisory document") {
		t.Errorf("scan with a corrupt document: %v", err)
	}
}
