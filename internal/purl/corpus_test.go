package purl

import (
	"archive/zip"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// TestCorpusPURLsAgree checks, for every affected package in the offline
// OSV corpus that carries a purl of a supported type, that Parse maps the
// purl to the record's base ecosystem and to a name with the same index
// key as the record's own name.
func TestCorpusPURLsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole OSV corpus")
	}
	corpusDir := corpus.Dir(t)
	zips, err := filepath.Glob(filepath.Join(corpusDir, "*", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if len(zips) == 0 {
		t.Fatalf("no all.zip under %s", corpusDir)
	}
	checked := map[string]int{} // base ecosystem -> purls checked
	suffixed := 0               // purls whose ecosystem matched including a release suffix
	for _, zpath := range zips {
		zr, err := zip.OpenReader(zpath)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			// Only the fields this test needs, which decodes much faster
			// than a full osv.Vulnerability.
			var v struct {
				ID       string
				Affected []struct{ Package osv.Package }
			}
			err = json.NewDecoder(rc).Decode(&v)
			rc.Close()
			if err != nil {
				t.Fatalf("%s: %s: %v", zpath, f.Name, err)
			}
			for _, a := range v.Affected {
				if a.Package.PURL == "" {
					continue
				}
				p, err := Parse(a.Package.PURL)
				if err != nil {
					if a.Package.Ecosystem == "OSS-Fuzz" { // pkg:generic has no OSV ecosystem of its own
						continue
					}
					t.Errorf("%s: Parse(%q): %v", v.ID, a.Package.PURL, err)
					continue
				}
				base := osv.BaseEcosystem(a.Package.Ecosystem)
				if got := osv.BaseEcosystem(p.Ecosystem); got != base {
					t.Errorf("%s: Parse(%q).Ecosystem = %q, record says %q", v.ID, a.Package.PURL, p.Ecosystem, a.Package.Ecosystem)
				}
				if p.Ecosystem != base && p.Ecosystem != a.Package.Ecosystem {
					// A release suffix taken from the distro qualifier must be
					// the one the record uses.
					t.Errorf("%s: Parse(%q).Ecosystem = %q, record says %q", v.ID, a.Package.PURL, p.Ecosystem, a.Package.Ecosystem)
				}
				if p.Ecosystem == a.Package.Ecosystem && p.Ecosystem != base {
					suffixed++
				}
				eco, key := FromOSV(a.Package)
				if got := NormalizeName(p.Ecosystem, p.Name); got != key {
					t.Errorf("%s: %q: PURL name %q has key %q, record name %q (%s) has key %q", v.ID, a.Package.PURL, p.Name, got, a.Package.Name, eco, key)
				}
				checked[base]++
			}
		}
		zr.Close()
	}
	// The corpus has purls for at least these ecosystems; make sure they
	// were seen so the test cannot pass vacuously.
	for _, eco := range []string{"npm", "PyPI", "Maven", "NuGet", "RubyGems", "crates.io", "Julia", "Bitnami", "Debian", "Alpine", "Ubuntu", "Go", "Packagist"} {
		if checked[eco] == 0 {
			t.Errorf("no purls checked for %s", eco)
		}
	}
	// The Ubuntu record's purl has a distro qualifier.
	if suffixed == 0 {
		t.Errorf("no purl gave an ecosystem with a release suffix")
	}
	t.Logf("purls checked per ecosystem: %v; %d with a release suffix", checked, suffixed)
}
