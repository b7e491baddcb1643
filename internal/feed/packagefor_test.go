package feed_test

import (
	"testing"

	"github.com/vulngate/vulngate/internal/feed"
)

// TestPackageForRemembered: a remembered answer is the one PackageFor
// builds (asked twice, and for each feed type), and errors are not
// remembered as packages.
func TestPackageForRemembered(t *testing.T) {
	for _, c := range []struct {
		t             feed.Type
		name, version string
		purl          string
	}{
		{feed.NPM, "@scope/left-pad", "1.3.0", "pkg:npm/%40scope/left-pad@1.3.0"},
		{feed.NPM, "ansi-html", "0.0.8", "pkg:npm/ansi-html@0.0.8"},
		{feed.PyPI, "Django", "4.2.1", "pkg:pypi/django@4.2.1"},
		{feed.Go, "github.com/a/b", "v1.2.3", "pkg:golang/github.com/a/b@v1.2.3"},
		{feed.Maven, "org.example:lib", "1.0", "pkg:maven/org.example/lib@1.0"},
		{feed.NuGet, "Newtonsoft.Json", "13.0.1", "pkg:nuget/Newtonsoft.Json@13.0.1"},
	} {
		first, err := feed.PackageFor(c.t, c.name, c.version)
		if err != nil {
			t.Fatalf("%s %s %s: %v", c.t, c.name, c.version, err)
		}
		again, err := feed.PackageFor(c.t, c.name, c.version)
		if err != nil || again != first || first.PURL != c.purl {
			t.Errorf("%s %s %s: %+v then %+v (%v), want PURL %s", c.t, c.name, c.version, first, again, err, c.purl)
		}
	}
	for range 2 {
		if _, err := feed.PackageFor(feed.Maven, "no-colon", "1.0"); err == nil {
			t.Fatal("a Maven name without a group: no error")
		}
	}
}

// BenchmarkPackageFor is a download's package lookup (the same name and
// version each time, as a cached download asks).
func BenchmarkPackageFor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := feed.PackageFor(feed.NPM, "ansi-html", "0.0.8"); err != nil {
			b.Fatal(err)
		}
	}
}
