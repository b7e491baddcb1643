package match

import (
	"archive/zip"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// checkPrepared fails when evaluating the prepared record gives anything
// else (affected, fixed versions, reasons, error text) than the record as
// written, for the package the scanner would ask about.
func checkPrepared(t *testing.T, v *osv.Vulnerability, eco, name, version string) {
	t.Helper()
	checkPreparedAs(t, v, prepare(v), eco, name, version)
}

func checkPreparedAs(t *testing.T, v *osv.Vulnerability, p *prepared, eco, name, version string) {
	t.Helper()
	base := osv.BaseEcosystem(eco)
	key := purl.NormalizeName(base, name)
	nameMatches := func(p osv.Package) bool {
		return osv.BaseEcosystem(p.Ecosystem) == base && purl.NormalizeName(base, p.Name) == key
	}
	want := Evaluate(v, eco, nameMatches, version)
	got := evaluate(v, newEvaluation(eco, version), target{prep: p, base: base, name: key}, false)
	if got.Affected != want.Affected || !slices.Equal(got.Fixed, want.Fixed) || !slices.Equal(got.Matched, want.Matched) || fmt.Sprint(got.Err) != fmt.Sprint(want.Err) {
		t.Fatalf("%s %s %q: prepared record gives %+v, as written %+v", v.ID, eco, version, got, want)
	}
	if q := evaluate(v, newEvaluation(eco, version), target{prep: p, base: base, name: key}, true); q.Affected != want.Affected {
		t.Fatalf("%s %s %q: quick evaluation says affected=%v, full %v", v.ID, eco, version, q.Affected, want.Affected)
	}
}

// TestPreparedMatchesWritten evaluates the test records' boundaries and
// versions around them both ways.
func TestPreparedMatchesWritten(t *testing.T) {
	files := []string{"GO-2022-0247", "GHSA-2rvv-w9r2-rg7m", "PYSEC-2009-10", "RUSTSEC-2018-0003", "DSA-5474-1",
		"ALBA-2019-1970", "DLA-3022-1", "GHSA-3pxv-7cmr-fjr4", "GHSA-77rm-9x9h-xj3g", "GHSA-f256-j965-7f32",
		"GHSA-whgm-jr23-g3j9", "GHSA-wm47-8v5p-wjpj", "PYSEC-2012-1", "PYSEC-2019-144", "PYSEC-2022-48", "BIT-zookeeper-2021-21295"}
	for _, f := range files {
		v := load(t, f)
		for _, a := range v.Affected {
			versions := append([]string{"0", "0.0.1", "1.0.0", "99.0", ""}, a.Versions...)
			for _, r := range a.Ranges {
				for _, e := range r.Events {
					for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
						if s != "" {
							versions = append(versions, s, s+".1", s+"-1", s+"a")
						}
					}
				}
			}
			for _, ver := range versions {
				checkPrepared(t, v, a.Package.Ecosystem, a.Package.Name, ver)
			}
		}
	}
}

// TestPreparedMatchesWrittenCorpus does the same for the corpus records of
// the ecosystems with the most varied orderings (every record of each,
// capped), at the versions their own events and versions lists name.
func TestPreparedMatchesWrittenCorpus(t *testing.T) {
	dir := corpus.Dir(t)
	for _, eco := range []string{"Packagist", "RubyGems", "Maven", "PyPI", "npm", "Go", "Debian", "AlmaLinux", "crates.io", "NuGet"} {
		z, err := zip.OpenReader(filepath.Join(dir, eco, "all.zip"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range z.File {
			if n == 1000 {
				break
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			v, err := osv.Parse(data)
			if err != nil {
				continue // malformed records are reported by the scan, not evaluated
			}
			n++
			p := prepare(v)
			for _, a := range v.Affected {
				versions := []string{"0", "1.0.0", a.Package.Name}
				versions = append(versions, a.Versions[:min(len(a.Versions), 5)]...)
				for _, r := range a.Ranges {
					for _, e := range r.Events {
						for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
							if s != "" {
								versions = append(versions, s, s+".1", s+"-1")
							}
						}
					}
				}
				for _, ver := range versions {
					checkPreparedAs(t, v, p, a.Package.Ecosystem, a.Package.Name, ver)
				}
			}
		}
		z.Close()
	}
}
