package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestScanMonorepo scans a directory laid out like a monorepo (npm, Go,
// Python, Rust, Ruby, Maven, Composer, an SBOM and a Debian root
// filesystem, with node_modules and vendor trees that must be skipped)
// against the shared corpus. Every expected record was read from the
// corpus: GHSA-whgm-jr23-g3j9 (ansi-html < 0.0.8, here transitive under
// webpack-dev-server), GO-2022-0578 (vault 1.8.0 - 1.8.5, an indirect
// go.mod requirement), GHSA-h4h5-3hr4-j3g2 (google-protobuf < 3.21.7,
// written with its platform), DLA-3008-1 (Debian 9 openssl, the source
// of libssl1.1), RUSTSEC-2019-0009 (smallvec 0.6.5 - 0.6.10).
func TestScanMonorepo(t *testing.T) {
	data := mirrored(t, "Go,PyPI,npm,Maven,crates.io,RubyGems,Packagist,Debian")
	dir := filepath.Join("..", "inventory", "testdata", "monorepo")
	out, stderr, err := run(t, "--data-dir", data, "scan", "--source", "osv", "--format", "json", dir)
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, stderr)
	}
	var doc struct {
		Components []struct {
			PURL         string `json:"purl"`
			Relationship string `json:"relationship"`
			Location     *struct {
				File string `json:"file"`
				Line int    `json:"line"`
			} `json:"location"`
			Errors   []string      `json:"errors"`
			Findings []scanFinding `json:"findings"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// Every file found is listed with its kind.
	for _, want := range []string{`"kind":"package-lock.json"`, `"kind":"dpkg-status"`, `"kind":"cyclonedx-json"`, `"kind":"Cargo.lock"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not list %s:\n%s", want, stderr)
		}
	}
	type want struct{ purl, rel, file, record string }
	for _, w := range []want{
		{"pkg:npm/ansi-html@0.0.7", "transitive", "web/package-lock.json", "GHSA-whgm-jr23-g3j9"},
		{"pkg:golang/github.com/hashicorp/vault@1.8.0", "transitive", "api/go.mod", "GO-2022-0578"},
		{"pkg:gem/google-protobuf@3.21.6", "direct", "ruby/Gemfile.lock", "GHSA-h4h5-3hr4-j3g2"},
		{"pkg:deb/debian/openssl@1.1.0l-1~deb9u5?arch=amd64&distro=debian-9", "", "rootfs/var/lib/dpkg/status", "DLA-3008-1"},
		{"pkg:cargo/smallvec@0.6.9", "direct", "rust/Cargo.lock", "RUSTSEC-2019-0009"},
	} {
		found := false
		for _, c := range doc.Components {
			if c.PURL != w.purl {
				continue
			}
			found = true
			if c.Relationship != w.rel || c.Location == nil || !strings.HasSuffix(filepath.ToSlash(c.Location.File), w.file) {
				t.Errorf("%s: relationship %q, location %+v; want %q in %s", w.purl, c.Relationship, c.Location, w.rel, w.file)
			}
			var recs []string
			for _, f := range c.Findings {
				recs = append(recs, f.Records...)
			}
			if !slices.Contains(recs, w.record) {
				t.Errorf("%s: records %v lack %s", w.purl, recs, w.record)
			}
			if len(c.Errors) > 0 {
				t.Errorf("%s: errors %v", w.purl, c.Errors)
			}
		}
		if !found {
			t.Errorf("no component %s", w.purl)
		}
	}
	for _, c := range doc.Components {
		if strings.Contains(c.PURL, "ansi-html@0.0.1") || strings.Contains(c.PURL, "gitea@1.0.0") {
			t.Errorf("%s was read from a skipped directory", c.PURL)
		}
	}
}

// TestScanEveryFormat scans the per-format fixtures as one directory and
// checks a corpus finding read from each file. Records (from the corpus):
// GHSA-whgm-jr23-g3j9 ansi-html < 0.0.8; PYSEC-2021-98 django 3.2 <
// 3.2.4; GHSA-5p34-5m6p-p58g jackson-databind 2.9.0; RSEC-2023-0 readxl
// 0.1.0 - 1.1.0; HSEC-2023-0001 aeson 0.4.0.0 - 2.0.1.0;
// GHSA-qppj-fm5r-hxr3 swift-nio-http2 < 1.28.0.
func TestScanEveryFormat(t *testing.T) {
	data := mirrored(t, "PyPI,npm,Maven,CRAN,Hackage,SwiftURL")
	dir := filepath.Join("..", "inventory", "testdata", "formats")
	out, stderr, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--source", "osv", "--format", "json", dir)
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, stderr)
	}
	var doc struct {
		Components []struct {
			PURL     string `json:"purl"`
			Location struct {
				File string `json:"file"`
			} `json:"location"`
			Findings []scanFinding `json:"findings"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	records := map[string][]string{} // file -> records
	for _, c := range doc.Components {
		f := filepath.ToSlash(c.Location.File)
		f = f[strings.Index(f, "formats/")+len("formats/"):]
		for _, fd := range c.Findings {
			records[f] = append(records[f], fd.Records...)
		}
	}
	for file, want := range map[string]string{
		"yarn.lock": "GHSA-whgm-jr23-g3j9", "berry/yarn.lock": "GHSA-whgm-jr23-g3j9", "pnpm-lock.yaml": "GHSA-whgm-jr23-g3j9", "bun.lock": "GHSA-whgm-jr23-g3j9",
		"poetry.lock": "PYSEC-2021-98", "Pipfile.lock": "PYSEC-2021-98", "pdm.lock": "PYSEC-2021-98", "uv.lock": "PYSEC-2021-98", "pylock.toml": "PYSEC-2021-98",
		"gradle.lockfile": "GHSA-5p34-5m6p-p58g", "gradle/verification-metadata.xml": "GHSA-5p34-5m6p-p58g",
		"renv.lock": "RSEC-2023-0", "cabal.project.freeze": "HSEC-2023-0001", "stack.yaml.lock": "HSEC-2023-0001",
		"Package.resolved": "GHSA-qppj-fm5r-hxr3",
	} {
		if !slices.Contains(records[file], want) {
			t.Errorf("%s: records %v lack %s", file, records[file], want)
		}
	}
}
