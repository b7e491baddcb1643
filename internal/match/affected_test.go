package match

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulngate/vulngate/internal/osv"
)

// load reads an OSV record copied unchanged from /work/shared/osv-corpus
// into testdata (AlmaLinux IDs contain ':', which file names here avoid).
func load(t testing.TB, name string) *osv.Vulnerability {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := osv.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func nameIs(name string) func(osv.Package) bool {
	return func(p osv.Package) bool { return p.Name == name }
}

type evalCase struct {
	eco, name, version string
	affected           bool
	fixed              []string
	err                bool
}

// runCases evaluates the record as stored and, when it has SEMVER or
// ECOSYSTEM ranges, also a copy without its versions lists, so that every
// expectation is met by the ranges alone and not just by an exact match
// in a versions list.
func runCases(t *testing.T, file string, cases []evalCase) {
	t.Helper()
	v := load(t, file)
	variants := map[string]*osv.Vulnerability{"": v}
	if stripped, ok := rangesOnly(v); ok {
		variants[" (ranges only)"] = stripped
	}
	for label, rec := range variants {
		for _, c := range cases {
			got := Evaluate(rec, c.eco, nameIs(c.name), c.version)
			if got.Affected != c.affected || (got.Err != nil) != c.err || !slices.Equal(got.Fixed, c.fixed) {
				t.Errorf("%s%s: Evaluate(%s, %s, %q) = %+v; want affected=%v fixed=%q err=%v",
					file, label, c.eco, c.name, c.version, got, c.affected, c.fixed, c.err)
			}
			if got.Affected && got.Err != nil {
				t.Errorf("%s%s: %q: affected with an error: %v", file, label, c.version, got.Err)
			}
		}
	}
}

// rangesOnly returns a copy of v without versions lists; ok is false when
// v has no SEMVER or ECOSYSTEM range.
func rangesOnly(v *osv.Vulnerability) (*osv.Vulnerability, bool) {
	c := *v
	c.Affected = slices.Clone(v.Affected)
	ok := false
	for i := range c.Affected {
		c.Affected[i].Versions = nil
		for _, r := range c.Affected[i].Ranges {
			ok = ok || r.Type != osv.RangeGit
		}
	}
	return &c, ok
}

// Expected outcomes below were worked out by reading each advisory's
// affected entries (quoted in the comments) and the ecosystem's ordering.

func TestEvaluateGoSemverTwoIntervals(t *testing.T) {
	// GO-2022-0247 toolchain, SEMVER:
	// introduced 0, fixed 1.16.9, introduced 1.17.0-0, fixed 1.17.2.
	e, n := "Go", "toolchain"
	runCases(t, "GO-2022-0247", []evalCase{
		{e, n, "0.0.1", true, []string{"1.16.9"}, false},
		{e, n, "1.16.8", true, []string{"1.16.9"}, false},
		{e, n, "v1.16.8", true, []string{"1.16.9"}, false}, // leading v tolerated
		{e, n, "1.16.9", false, nil, false},
		{e, n, "1.16.10", false, nil, false},
		{e, n, "1.17.0-0", true, []string{"1.17.2"}, false}, // introduced itself
		{e, n, "1.17.0-rc1", true, []string{"1.17.2"}, false},
		{e, n, "1.17.1", true, []string{"1.17.2"}, false}, // just before fixed
		{e, n, "1.17.2", false, nil, false},               // fixed itself
		{e, n, "1.18.0", false, nil, false},
		{e, n, "latest", false, nil, true},
		{e, "other", "1.16.8", false, nil, false}, // name does not match
		{"PyPI", n, "1.16.8", false, nil, false},  // ecosystem does not match
	})
}

func TestEvaluatePyPI(t *testing.T) {
	// PYSEC-2022-42969 py: introduced 0, last_affected 1.11.0.
	runCases(t, "PYSEC-2022-42969", []evalCase{
		{"PyPI", "py", "1.10.0", true, nil, false},
		{"PyPI", "py", "1.11.0rc1", true, nil, false},
		{"PyPI", "py", "1.11.0", true, nil, false}, // last_affected is affected
		{"PyPI", "py", "1.11.0.post1", false, nil, false},
		{"PyPI", "py", "1.11.1", false, nil, false},
	})
	// PYSEC-2009-10 zodb3: introduced 3.8, fixed 3.8.3,
	// introduced 3.9a0, fixed 3.9.0c2 (c2 is rc2 under PEP 440).
	z := "zodb3"
	runCases(t, "PYSEC-2009-10", []evalCase{
		{"PyPI", z, "3.7.9", false, nil, false},
		{"PyPI", z, "3.8", true, []string{"3.8.3"}, false},
		{"PyPI", z, "3.8.0", true, []string{"3.8.3"}, false}, // 3.8.0 == 3.8
		{"PyPI", z, "3.8.2", true, []string{"3.8.3"}, false},
		{"PyPI", z, "3.8.3", false, nil, false},
		{"PyPI", z, "3.8.4", false, nil, false},
		{"PyPI", z, "3.9.0.dev0", false, nil, false}, // dev release sorts before 3.9a0
		{"PyPI", z, "3.9a0", true, []string{"3.9.0c2"}, false},
		{"PyPI", z, "3.9.0b5", true, []string{"3.9.0c2"}, false},
		{"PyPI", z, "3.9.0rc1", true, []string{"3.9.0c2"}, false},
		{"PyPI", z, "3.9.0rc2", false, nil, false},
		{"PyPI", z, "3.9.0", false, nil, false},
	})
	// PYSEC-2012-1 beaker: a GIT range (ignored) and ECOSYSTEM
	// introduced 0, fixed 1.6.5.post1.
	runCases(t, "PYSEC-2012-1", []evalCase{
		{"PyPI", "beaker", "1.6.5", true, []string{"1.6.5.post1"}, false},
		{"PyPI", "beaker", "1.6.5.post1", false, nil, false},
		{"PyPI", "beaker", "1.6.5.post2", false, nil, false},
	})
	// The PyPI ordering in osv-scalibr reads a string that is not a PEP 440
	// version as a legacy version that sorts before every PEP 440 version;
	// Evaluate reports such component versions instead of matching them.
	// PYSEC-2022-48: introduced 0, fixed 3.15.0.
	runCases(t, "PYSEC-2022-48", []evalCase{
		{"PyPI", "protobuf", "not.a.version!", false, nil, true},
		{"PyPI", "protobuf", "3.14.0", true, []string{"3.15.0"}, false},
		{"PyPI", "protobuf", "v3.14.0", true, []string{"3.15.0"}, false},
		{"PyPI", "protobuf", "3.15.0", false, nil, false},
	})
}

func TestEvaluateMaven(t *testing.T) {
	// GHSA-3pxv-7cmr-fjr4 log4j-core: introduced 2.0-alpha1, fixed 2.25.4;
	// and introduced 3.0.0-alpha1, last_affected 3.0.0-beta3.
	e, n := "Maven", "org.apache.logging.log4j:log4j-core"
	runCases(t, "GHSA-3pxv-7cmr-fjr4", []evalCase{
		{e, n, "1.2.17", false, nil, false},
		{e, n, "2.0-alpha1", true, []string{"2.25.4"}, false},
		{e, n, "2.0-SNAPSHOT", true, []string{"2.25.4"}, false}, // alpha < snapshot < release
		{e, n, "2.0", true, []string{"2.25.4"}, false},
		{e, n, "2.25.3", true, []string{"2.25.4"}, false},
		{e, n, "2.25.4-RC1", true, []string{"2.25.4"}, false},
		{e, n, "2.25.4-SNAPSHOT", true, []string{"2.25.4"}, false},
		{e, n, "2.25.4", false, nil, false},
		{e, n, "3.0.0-alpha1", true, nil, false},
		{e, n, "3.0.0-beta3", true, nil, false}, // last_affected
		{e, n, "3.0.0-beta4", false, nil, false},
		{e, n, "3.0.0-RC1", false, nil, false},
		{e, n, "3.0.0", false, nil, false},
	})
	// GHSA-2rvv-w9r2-rg7m tomcat-embed-core, four entries: [10.0.0-M1,
	// 10.0.0-M10), [9.0.0, 9.0.40), [8.5.0, 8.5.60), [7.0.0, 7.0.107).
	// 10.0.0-M2 is missing from the versions list but inside the range.
	n = "org.apache.tomcat.embed:tomcat-embed-core"
	runCases(t, "GHSA-2rvv-w9r2-rg7m", []evalCase{
		{e, n, "10.0.0-M1", true, []string{"10.0.0-M10"}, false},
		{e, n, "10.0.0-M2", true, []string{"10.0.0-M10"}, false},
		{e, n, "10.0.0-M9", true, []string{"10.0.0-M10"}, false},
		{e, n, "10.0.0-M10", false, nil, false},
		{e, n, "10.0.0", false, nil, false},
		{e, n, "9.0.39", true, []string{"9.0.40"}, false},
		{e, n, "9.0.40", false, nil, false},
		{e, n, "8.5.59", true, []string{"8.5.60"}, false},
		{e, n, "8.0.1", false, nil, false},
		{e, n, "7.0.106", true, []string{"7.0.107"}, false},
		{e, n, "6.0.53", false, nil, false},
	})
	// GHSA-f256-j965-7f32 and GHSA-wm47-8v5p-wjpj netty-codec-http2:
	// introduced 4.0.0, fixed 4.1.61.Final and 4.1.60.Final; io.netty:netty
	// introduced 0 without a fix.
	h2 := "io.netty:netty-codec-http2"
	runCases(t, "GHSA-f256-j965-7f32", []evalCase{
		{e, h2, "4.1.59.Final", true, []string{"4.1.61.Final"}, false},
		{e, h2, "4.1.60.Final", true, []string{"4.1.61.Final"}, false},
		{e, h2, "4.1.61.Final", false, nil, false},
		{e, h2, "3.9.0.Final", false, nil, false},
		{e, "io.netty:netty", "3.10.6.Final", true, nil, false},
	})
	runCases(t, "GHSA-wm47-8v5p-wjpj", []evalCase{
		{e, h2, "4.1.59.Final", true, []string{"4.1.60.Final"}, false},
		{e, h2, "4.1.60.Final", false, nil, false},
	})
}

func TestEvaluateNpm(t *testing.T) {
	// GHSA-whgm-jr23-g3j9 ansi-html, SEMVER: introduced 0, fixed 0.0.8.
	runCases(t, "GHSA-whgm-jr23-g3j9", []evalCase{
		{"npm", "ansi-html", "0.0.7", true, []string{"0.0.8"}, false},
		{"npm", "ansi-html", "v0.0.7", true, []string{"0.0.8"}, false},
		{"npm", "ansi-html", "0.0.8-beta.1", true, []string{"0.0.8"}, false}, // pre-release of the fix
		{"npm", "ansi-html", "0.0.8", false, nil, false},
		{"npm", "ansi-html", "0.0.9", false, nil, false},
	})
	// MAL-2022-101: introduced 0 and nothing else: every version.
	n := "@azure-tests/perf-event-hubs"
	runCases(t, "MAL-2022-101", []evalCase{
		{"npm", n, "0.0.0", true, nil, false},
		{"npm", n, "99.1.0", true, nil, false},
	})
}

func TestEvaluatePackagist(t *testing.T) {
	// DRUPAL-CONTRIB-2023-031: ecosystem "Packagist:" followed by the
	// repository URL (in this copy an example URL stands for the Drupal
	// repository's); [0, 1.2.2) and [1.3.0-beta1, 1.3.0-rc3).
	d, n := load(t, "DRUPAL-CONTRIB-2023-031").Affected[0].Package.Ecosystem, "drupal/symfony_mailer"
	if !strings.HasPrefix(d, "Packagist:https://") {
		t.Fatalf("unexpected ecosystem %q", d)
	}
	runCases(t, "DRUPAL-CONTRIB-2023-031", []evalCase{
		{d, n, "1.2.1", true, []string{"1.2.2"}, false},
		{d, n, "1.2.2", false, nil, false},
		{d, n, "1.3.0-alpha1", false, nil, false},
		{d, n, "1.3.0-beta1", true, []string{"1.3.0-rc3"}, false},
		{d, n, "1.3.0-rc2", true, []string{"1.3.0-rc3"}, false},
		{d, n, "1.3.0-rc3", false, nil, false},
		{d, n, "1.3.0", false, nil, false},
		{"Packagist", n, "1.2.1", true, []string{"1.2.2"}, false}, // component without repository suffix
		{"Packagist:https://repo.example", n, "1.2.1", false, nil, false},
	})
}

func TestEvaluateCrates(t *testing.T) {
	// RUSTSEC-2018-0003 smallvec, SEMVER, four intervals: [0.3.2, 0.3.4),
	// [0.4.0-0, 0.4.5), [0.5.0-0, 0.5.1), [0.6.0-0, 0.6.3).
	e, n := "crates.io", "smallvec"
	runCases(t, "RUSTSEC-2018-0003", []evalCase{
		{e, n, "0.3.1", false, nil, false},
		{e, n, "0.3.2", true, []string{"0.3.4"}, false},
		{e, n, "0.3.3", true, []string{"0.3.4"}, false},
		{e, n, "0.3.4", false, nil, false},
		{e, n, "0.3.9", false, nil, false},
		{e, n, "0.4.0-alpha", true, []string{"0.4.5"}, false},
		{e, n, "0.4.4", true, []string{"0.4.5"}, false},
		{e, n, "0.4.5", false, nil, false},
		{e, n, "0.5.0", true, []string{"0.5.1"}, false},
		{e, n, "0.5.1", false, nil, false},
		{e, n, "0.6.2", true, []string{"0.6.3"}, false},
		{e, n, "0.6.3", false, nil, false},
		{e, n, "1.0.0", false, nil, false},
	})
}

func TestEvaluateDebian(t *testing.T) {
	// DSA-5474-1 intel-microcode: Debian:11 fixed 3.20230808.1~deb11u1,
	// Debian:12 fixed 3.20230808.1~deb12u1 (both introduced 0).
	n := "intel-microcode"
	v11 := "3.20230808.1~deb11u1"
	runCases(t, "DSA-5474-1", []evalCase{
		{"Debian:11", n, "3.20230512.1~deb11u1", true, []string{v11}, false},
		{"Debian:11", n, v11, false, nil, false},
		{"Debian:11", n, "3.20230808.1", false, nil, false}, // ~ sorts before the empty string
		// The Debian 11 fix is below the Debian 12 one, so only a
		// Debian 12 component (or one without release) is affected.
		{"Debian:12", n, v11, true, []string{"3.20230808.1~deb12u1"}, false},
		{"Debian", n, v11, true, []string{"3.20230808.1~deb12u1"}, false},
		{"Debian", n, "3.20230512.1", true, []string{v11, "3.20230808.1~deb12u1"}, false},
		{"Debian:10", n, "3.20230512.1", false, nil, false},
		{"Ubuntu:22.04:LTS", n, "3.20230512.1", false, nil, false},
	})
	// DLA-3022-1 dpkg, Debian:9: introduced 0, fixed 1.18.26.
	runCases(t, "DLA-3022-1", []evalCase{
		{"Debian:9", "dpkg", "1.18.25", true, []string{"1.18.26"}, false},
		{"Debian:9", "dpkg", "0:1.18.25", true, []string{"1.18.26"}, false}, // explicit epoch 0
		{"Debian:9", "dpkg", "1.18.26~rc1", true, []string{"1.18.26"}, false},
		{"Debian:9", "dpkg", "1.18.26", false, nil, false},
		{"Debian:9", "dpkg", "1:1.0", false, nil, false}, // epoch 1 sorts after every epoch-0 version
		{"Debian:9", "dpkg", "x:1.0", false, nil, true},  // invalid epoch
		{"Debian:9", "dpkg", "1.18.24", true, []string{"1.18.26"}, false},
	})
}

func TestEvaluateAlmaLinux(t *testing.T) {
	// ALBA-2019:1970 authd, AlmaLinux:8: introduced 0, fixed 1.4.4-5.el8_0.1.
	runCases(t, "ALBA-2019-1970", []evalCase{
		{"AlmaLinux:8", "authd", "1.4.3-1.el8", true, []string{"1.4.4-5.el8_0.1"}, false},
		{"AlmaLinux:8", "authd", "1.4.4-5.el8_0", true, []string{"1.4.4-5.el8_0.1"}, false},
		{"AlmaLinux:8", "authd", "1.4.4-5.el8_0.1", false, nil, false},
		{"AlmaLinux:8", "authd", "1.4.4-6.el8", false, nil, false},
		{"AlmaLinux:9", "authd", "1.4.3-1.el8", false, nil, false},
	})
	// ALBA-2019:2715 sgabios: fixed 1:0.20170427git-3.module_el8.6.0+2880+7d9e3703.
	fix := "1:0.20170427git-3.module_el8.6.0+2880+7d9e3703"
	runCases(t, "ALBA-2019-2715", []evalCase{
		{"AlmaLinux:8", "sgabios", "1:0.20170427git-2.module_el8.6.0+2880+7d9e3703", true, []string{fix}, false},
		{"AlmaLinux:8", "sgabios", "0.20170427git-3.module_el8.6.0+2880+7d9e3703", true, []string{fix}, false}, // no epoch is epoch 0
		{"AlmaLinux:8", "sgabios", fix, false, nil, false},
		{"AlmaLinux:8", "sgabios", "2:0.1-1.el8", false, nil, false},
	})
}

func TestEvaluateVersionsListOnly(t *testing.T) {
	// OSV-2017-100 unrar: a GIT range and versions ["5.6.1.2", "5.6.1.3"].
	// OSS-Fuzz has no version ordering; the GIT range is not evaluated, so
	// there is no error either.
	runCases(t, "OSV-2017-100", []evalCase{
		{"OSS-Fuzz", "unrar", "5.6.1.2", true, nil, false},
		{"OSS-Fuzz", "unrar", "5.6.1.3", true, nil, false},
		{"OSS-Fuzz", "unrar", "5.6.1.4", false, nil, false},
		{"OSS-Fuzz", "unrar", "5.6.1", false, nil, false},
	})
}

func TestEvaluateWithdrawn(t *testing.T) {
	// PYSEC-2019-144 arrayfire is withdrawn; 3.5.20170718 is in its
	// versions list and below its fixed 3.6.0.
	v := load(t, "PYSEC-2019-144")
	if !v.IsWithdrawn() {
		t.Fatal("test record is not withdrawn")
	}
	if got := Evaluate(v, "PyPI", nameIs("arrayfire"), "3.5.20170718"); got.Affected || got.Err != nil {
		t.Errorf("withdrawn record matched: %+v", got)
	}
	if got := Evaluate(v, "PyPI", nameIs("arrayfire"), ""); got.Err != nil {
		t.Errorf("withdrawn record reported an error: %v", got.Err)
	}
	// Control: the same record without its withdrawn time matches.
	v.Withdrawn = osv.Time{}
	if got := Evaluate(v, "PyPI", nameIs("arrayfire"), "3.5.20170718"); !got.Affected {
		t.Errorf("record without withdrawn time did not match: %+v", got)
	}
}

func TestEvaluateNoVersion(t *testing.T) {
	v := load(t, "GO-2022-0247")
	got := Evaluate(v, "Go", nameIs("toolchain"), "")
	if got.Affected || !errors.Is(got.Err, ErrNoVersion) {
		t.Errorf("empty version: %+v, want ErrNoVersion", got)
	}
	if got := Evaluate(v, "Go", nameIs("other"), ""); got.Err != nil {
		t.Errorf("empty version of a package the record does not name: %v", got.Err)
	}
}

// Constructed records below are not from the corpus; they cover rules
// the corpus has no example of (no record there uses limit events or an
// ECOSYSTEM range in an ecosystem without an ordering).

func record(eco, typ string, versions []string, events ...osv.Event) *osv.Vulnerability {
	return &osv.Vulnerability{
		ID: "TEST-1",
		Affected: []osv.Affected{{
			Package:  osv.Package{Ecosystem: eco, Name: "pkg"},
			Ranges:   []osv.Range{{Type: typ, Events: events}},
			Versions: versions,
		}},
	}
}

func TestEvaluateLimit(t *testing.T) {
	intro := func(s string) osv.Event { return osv.Event{Introduced: s} }
	fixed := func(s string) osv.Event { return osv.Event{Fixed: s} }
	limit := func(s string) osv.Event { return osv.Event{Limit: s} }
	tests := []struct {
		events   []osv.Event
		version  string
		affected bool
	}{
		{[]osv.Event{intro("1.0.0"), limit("2.0.0")}, "0.9.0", false},
		{[]osv.Event{intro("1.0.0"), limit("2.0.0")}, "1.0.0", true},
		{[]osv.Event{intro("1.0.0"), limit("2.0.0")}, "1.9.9", true},
		{[]osv.Event{intro("1.0.0"), limit("2.0.0")}, "2.0.0", false}, // limit is exclusive
		{[]osv.Event{intro("1.0.0"), limit("2.0.0")}, "3.0.0", false},
		{[]osv.Event{intro("0"), limit("*")}, "9.9.9", true},
		// Several limits: below any one of them is enough.
		{[]osv.Event{intro("0"), limit("1.0.0"), limit("1.5.0")}, "1.2.0", true},
		{[]osv.Event{intro("0"), limit("1.0.0"), limit("1.5.0")}, "1.5.0", false},
		{[]osv.Event{intro("0"), limit("1.0.0"), limit("*")}, "7.0.0", true},
		// A limit does not reopen a fixed interval.
		{[]osv.Event{intro("0"), fixed("1.0.0"), limit("2.0.0")}, "1.5.0", false},
		{[]osv.Event{limit("2.0.0"), fixed("1.0.0"), intro("0")}, "0.5.0", true}, // unsorted events
	}
	for _, tt := range tests {
		got := Evaluate(record("npm", osv.RangeSemver, nil, tt.events...), "npm", nameIs("pkg"), tt.version)
		if got.Affected != tt.affected || got.Err != nil {
			t.Errorf("events %+v, version %s: %+v, want affected=%v", tt.events, tt.version, got, tt.affected)
		}
	}
}

func TestEvaluateEventOrder(t *testing.T) {
	// Events given out of order, and an interval opened and closed at the
	// same version (empty).
	v := record("PyPI", osv.RangeEcosystem, nil,
		osv.Event{Fixed: "2.0"}, osv.Event{Introduced: "1.5"}, osv.Event{Introduced: "0"},
		osv.Event{Fixed: "1.0"}, osv.Event{Introduced: "3.0"}, osv.Event{Fixed: "3.0"})
	for version, want := range map[string]bool{
		"0.1": true, "1.0": false, "1.4": false, "1.5": true, "1.9": true, "2.0": false, "3.0": false, "3.1": false,
	} {
		if got := Evaluate(v, "PyPI", nameIs("pkg"), version); got.Affected != want || got.Err != nil {
			t.Errorf("version %s: %+v, want affected=%v", version, got, want)
		}
	}
}

func TestEvaluateUnsupportedEcosystem(t *testing.T) {
	v := record("GitHub Actions", osv.RangeEcosystem, []string{"v2"},
		osv.Event{Introduced: "0"}, osv.Event{Fixed: "v3"})
	got := Evaluate(v, "GitHub Actions", nameIs("pkg"), "v1")
	if got.Affected || got.Err == nil {
		t.Fatalf("unsupported ecosystem: %+v, want an error", got)
	}
	for _, s := range []string{"GitHub Actions", `"v1"`, "TEST-1"} {
		if !strings.Contains(got.Err.Error(), s) {
			t.Errorf("error %q does not mention %s", got.Err, s)
		}
	}
	// The versions list decides without an ordering.
	if got := Evaluate(v, "GitHub Actions", nameIs("pkg"), "v2"); !got.Affected || got.Err != nil {
		t.Errorf("version in versions list: %+v", got)
	}
}

func TestEcosystemApplies(t *testing.T) {
	tests := []struct {
		component, entry string
		want             bool
	}{
		{"Debian:12", "Debian:12", true},
		{"Debian:12", "Debian:11", false},
		{"Debian", "Debian:11", true},
		{"Debian:12", "Debian", true},
		{"Debian", "Debian", true},
		{"Debian:12", "Ubuntu:12", false},
		{"Ubuntu:22.04:LTS", "Ubuntu:Pro:22.04:LTS", false},
		{"Ubuntu", "Ubuntu:Pro:22.04:LTS", true},
		{"npm", "PyPI", false},
		{"Go", "Golang", false},
		{"Maven", "Maven:https://repo.example", true},
		{"Maven:https://repo.example", "Maven", true},
		{"Maven:https://repo.example", "Maven:https://other.example", false},
	}
	for _, tt := range tests {
		if got := ecosystemApplies(tt.component, tt.entry); got != tt.want {
			t.Errorf("ecosystemApplies(%q, %q) = %v, want %v", tt.component, tt.entry, got, tt.want)
		}
	}
}

// TestEvaluateRangesAgreeWithVersions checks every testdata record whose
// entries have both ranges and a versions list: osv.dev computes the
// versions list by expanding the ranges, so each listed version must be
// affected by the ranges alone.
func TestEvaluateRangesAgreeWithVersions(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		v := load(t, strings.TrimSuffix(filepath.Base(f), ".json"))
		for i, a := range v.Affected {
			if len(a.Versions) == 0 || !slices.ContainsFunc(a.Ranges, func(r osv.Range) bool { return r.Type != osv.RangeGit }) {
				continue
			}
			only := *v
			only.Withdrawn = osv.Time{} // the ranges, not the record's status, are under test
			only.Affected = []osv.Affected{a}
			only.Affected[0].Versions = nil
			for _, ver := range a.Versions {
				got := Evaluate(&only, a.Package.Ecosystem, nameIs(a.Package.Name), ver)
				if !got.Affected {
					t.Errorf("%s affected[%d] %s: listed version %q not in ranges: %+v", v.ID, i, a.Package.Name, ver, got)
				}
				checked++
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d versions checked", checked)
	}
}

func TestEvaluateFixedAcrossEntries(t *testing.T) {
	// GHSA-77rm-9x9h-xj3g lists protobuf for five ecosystems, each with
	// introduced 0, fixed 3.15.0; only the PyPI entry applies to PyPI.
	v := load(t, "GHSA-77rm-9x9h-xj3g")
	got := Evaluate(v, "PyPI", nameIs("protobuf"), "3.14.0")
	want := Result{Affected: true, Fixed: []string{"3.15.0"}, Matched: []string{`PyPI "protobuf": versions list has 3.14.0`, `PyPI "protobuf": ECOSYSTEM range introduced 0, fixed 3.15.0`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Evaluate mismatch (-want +got):\n%s", diff)
	}
	// Packagist versions carry a "v" and an "RC" suffix in this record.
	got = Evaluate(v, "Packagist", nameIs("google/protobuf"), "v3.10.0RC1")
	want.Matched = []string{`Packagist "google/protobuf": versions list has v3.10.0RC1`, `Packagist "google/protobuf": ECOSYSTEM range introduced 0, fixed 3.15.0`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Packagist: Evaluate mismatch (-want +got):\n%s", diff)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		file, eco, name, version string
	}{
		{"GO-2022-0247", "Go", "toolchain", "v1.17.1"},
		{"GHSA-2rvv-w9r2-rg7m", "Maven", "org.apache.tomcat.embed:tomcat-embed-core", "8.5.59"},
		{"PYSEC-2009-10", "PyPI", "zodb3", "3.9.0b1"},
		{"RUSTSEC-2018-0003", "crates.io", "smallvec", "0.6.4"},
		{"DSA-5474-1", "Debian", "intel-microcode", "3.20230512.1~deb11u1"},
	}
	for _, c := range cases {
		v := load(b, c.file)
		match := nameIs(c.name)
		b.Run(c.file, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(v, c.eco, match, c.version)
			}
		})
	}
}
