package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// run executes the command line and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Execute(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// mirrored returns a data directory holding a mirror of the shared corpus.
func mirrored(t *testing.T, ecosystems string) string {
	t.Helper()
	dir := corpus.Dir(t)
	data := t.TempDir()
	out, stderr, err := run(t, "--data-dir", data, "--log-level", "warn", "mirror", "--base-url", "file://"+dir, "--ecosystems", ecosystems)
	if err != nil {
		t.Fatalf("mirror: %v\n%s\n%s", err, out, stderr)
	}
	return data
}

type scanFinding struct {
	ID            string   `json:"id"`
	IDs           []string `json:"ids"`
	Aliases       []string `json:"aliases"`
	Records       []string `json:"records"`
	FixedVersions []string `json:"fixed_versions"`
	Sources       []string `json:"sources"`
	Severity      struct {
		Score  float64 `json:"score"`
		Rating string  `json:"rating"`
		Type   string  `json:"type"`
		Vector string  `json:"vector"`
	} `json:"severity"`
}

type scanDoc struct {
	Schema     string `json:"schema"`
	Components []struct {
		PURL      string        `json:"purl"`
		Ecosystem string        `json:"ecosystem"`
		Errors    []string      `json:"errors"`
		Findings  []scanFinding `json:"findings"`
	} `json:"components"`
	Summary struct {
		Components int `json:"components"`
		Findings   int `json:"findings"`
	} `json:"summary"`
}

func scanJSON(t *testing.T, data string, args ...string) scanDoc {
	t.Helper()
	out, stderr, err := run(t, append([]string{"--data-dir", data, "--log-level", "warn", "scan", "--format", "json"}, args...)...)
	if err != nil {
		t.Fatalf("scan %v: %v\n%s", args, err, stderr)
	}
	var doc scanDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("scan output is not JSON: %v\n%s", err, out)
	}
	if doc.Schema != "vulngate.scan/v1" {
		t.Fatalf("schema = %q", doc.Schema)
	}
	return doc
}

// recordIDs returns every record ID found for the component at index i.
func recordIDs(doc scanDoc, i int) []string {
	var out []string
	for _, f := range doc.Components[i].Findings {
		out = append(out, f.Records...)
	}
	return out
}

// TestScanBoundaryVersions checks real advisories at their range
// boundaries. Each expectation was read from the advisory JSON in the
// shared corpus:
//   - RUSTSEC-2021-0003 smallvec: SEMVER introduced 0.6.3, fixed 0.6.14,
//     introduced 1.0.0, fixed 1.6.1
//   - PYSEC-2021-1 ansible: ECOSYSTEM introduced 0, fixed 2.9.19
//   - PYSEC-2022-42969 py: ECOSYSTEM introduced 0, last_affected 1.11.0
//   - GHSA-3pxv-7cmr-fjr4 log4j-core: introduced 2.0-alpha1, fixed 2.25.4;
//     introduced 3.0.0-alpha1, last_affected 3.0.0-beta3
//   - GO-2024-2785 coredns: SEMVER introduced 0, fixed 1.11.2
func TestScanBoundaryVersions(t *testing.T) {
	data := mirrored(t, "Go,PyPI,Maven,crates.io")
	cases := []struct {
		purl, id string
		affected bool
	}{
		{"pkg:cargo/smallvec@0.6.2", "RUSTSEC-2021-0003", false},
		{"pkg:cargo/smallvec@0.6.3", "RUSTSEC-2021-0003", true}, // introduced
		{"pkg:cargo/smallvec@0.6.13", "RUSTSEC-2021-0003", true},
		{"pkg:cargo/smallvec@0.6.14", "RUSTSEC-2021-0003", false}, // fixed
		{"pkg:cargo/smallvec@1.0.0", "RUSTSEC-2021-0003", true},   // second interval
		{"pkg:cargo/smallvec@1.6.0", "RUSTSEC-2021-0003", true},
		{"pkg:cargo/smallvec@1.6.1", "RUSTSEC-2021-0003", false},
		{"pkg:pypi/ansible@2.9.18", "PYSEC-2021-1", true}, // just before fixed
		{"pkg:pypi/ansible@2.9.19", "PYSEC-2021-1", false},
		{"pkg:pypi/Py@1.11.0", "PYSEC-2022-42969", true}, // last_affected; PEP 503 name
		{"pkg:pypi/py@1.11.1", "PYSEC-2022-42969", false},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.0-alpha1", "GHSA-3pxv-7cmr-fjr4", true},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.25.3", "GHSA-3pxv-7cmr-fjr4", true},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.25.4", "GHSA-3pxv-7cmr-fjr4", false},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@3.0.0-beta3", "GHSA-3pxv-7cmr-fjr4", true},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@3.0.0", "GHSA-3pxv-7cmr-fjr4", false},
		{"pkg:golang/github.com/coredns/coredns@v1.11.1", "GO-2024-2785", true},
		{"pkg:golang/github.com/coredns/coredns@v1.11.2", "GO-2024-2785", false},
	}
	var args []string
	for _, c := range cases {
		args = append(args, c.purl)
	}
	doc := scanJSON(t, data, args...)
	if len(doc.Components) != len(cases) {
		t.Fatalf("%d components, want %d", len(doc.Components), len(cases))
	}
	for i, c := range cases {
		got := slices.Contains(recordIDs(doc, i), c.id)
		if got != c.affected {
			t.Errorf("%s: %s affected = %v, want %v (found %v, errors %v)", c.purl, c.id, got, c.affected, recordIDs(doc, i), doc.Components[i].Errors)
		}
	}
	// RUSTSEC-2021-0003 aliases CVE-2021-25900 and GHSA-43w2-9j62-hq99:
	// the finding carries all of them, with the CVE as its ID.
	f := doc.Components[1].Findings
	i := slices.IndexFunc(f, func(x scanFinding) bool {
		return slices.Contains(x.Records, "RUSTSEC-2021-0003")
	})
	if i < 0 || !slices.Contains(f[i].IDs, "CVE-2021-25900") || !slices.Contains(f[i].IDs, "GHSA-43w2-9j62-hq99") ||
		!slices.Equal(f[i].FixedVersions, []string{"0.6.14"}) || !slices.Equal(f[i].Sources, []string{"OSV"}) {
		t.Errorf("smallvec finding: %+v", f)
	}
}

func TestScanAliasGroupsMergeAcrossRecords(t *testing.T) {
	data := mirrored(t, "Maven,Bitnami")
	// zookeeper 3.6.2 is affected by GHSA-f256-j965-7f32 and
	// GHSA-wm47-8v5p-wjpj (both in the Maven slice, aliasing CVE IDs),
	// and Bitnami mirrors the same CVEs for its own packages; within one
	// ecosystem, records aliasing one CVE become one finding.
	doc := scanJSON(t, data, "pkg:maven/org.apache.zookeeper/zookeeper@3.6.2")
	seen := map[string]int{}
	for _, f := range doc.Components[0].Findings {
		for _, id := range f.IDs {
			seen[id]++
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s appears in %d findings; alias groups must be merged", id, n)
		}
	}
}

func TestScanEverySharedSBOM(t *testing.T) {
	data := mirrored(t, "Go,PyPI,npm,Maven,crates.io,RubyGems,NuGet,Packagist")
	sboms, _ := filepath.Glob(filepath.Join(corpus.SBOMDir(t), "*bom*"))
	if len(sboms) == 0 {
		t.Skip("no shared SBOMs")
	}
	for _, p := range sboms {
		doc := scanJSON(t, data, p)
		if doc.Summary.Components == 0 {
			t.Errorf("%s: no components", filepath.Base(p))
		}
		for _, c := range doc.Components {
			for _, e := range c.Errors {
				// Only identification problems are acceptable here: every
				// version in these SBOMs must be evaluable.
				if strings.Contains(e, "not a valid") {
					t.Errorf("%s: %s: %s", filepath.Base(p), c.PURL, e)
				}
			}
		}
	}
}

func TestScanFailOnAndFormats(t *testing.T) {
	data := mirrored(t, "crates.io")
	// RUSTSEC-2021-0003 has a CVSS v3.1 vector rated CRITICAL 9.8.
	_, _, err := run(t, "--data-dir", data, "scan", "--fail-on", "high", "pkg:cargo/smallvec@1.6.0")
	var exit ExitError
	if !errors.As(err, &exit) || exit.Code != 1 {
		t.Fatalf("--fail-on high: err = %v, want exit code 1", err)
	}
	if _, _, err := run(t, "--data-dir", data, "scan", "--fail-on", "high", "pkg:cargo/smallvec@1.6.1"); err != nil {
		t.Fatalf("clean version failed: %v", err)
	}
	if _, _, err := run(t, "--data-dir", data, "scan", "--fail-on", "bogus", "pkg:cargo/smallvec@1.6.1"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("bad --fail-on accepted: %v", err)
	}
	out, _, err := run(t, "--data-dir", data, "scan", "--format", "sarif", "pkg:cargo/smallvec@1.6.0")
	if err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs[0].Results) == 0 || sarif.Runs[0].Results[0].Level != "error" {
		t.Fatalf("sarif: %v %+v", err, sarif)
	}
	out, _, err = run(t, "--data-dir", data, "scan", "pkg:cargo/smallvec@1.6.0")
	if err != nil || !strings.Contains(out, "CVE-2021-25900") || !strings.Contains(out, "CRITICAL 9.8") {
		t.Fatalf("table: %v\n%s", err, out)
	}
}

func TestScanBadInput(t *testing.T) {
	data := mirrored(t, "PyPI")
	doc := scanJSON(t, data, "pkg:pypi/django@not-a-version!", "pkg:notatype/x@1", "pkg:npm/lodash@4.17.20")
	wantErr := []string{"not a valid PEP 440 version", "unsupported type", "no advisories mirrored for ecosystem npm"}
	for i, w := range wantErr {
		if !strings.Contains(strings.Join(doc.Components[i].Errors, "\n"), w) {
			t.Errorf("component %d errors %v lack %q", i, doc.Components[i].Errors, w)
		}
		if len(doc.Components[i].Findings) != 0 {
			t.Errorf("component %d has findings despite the error", i)
		}
	}
	// An argument that is neither a PURL nor a readable SBOM.
	bad := filepath.Join(t.TempDir(), "bom.json")
	os.WriteFile(bad, []byte(`{"bomFormat": "CycloneDX", "components": [`), 0o644)
	_, _, err := run(t, "--data-dir", data, "scan", bad)
	if err == nil || !strings.Contains(err.Error(), "bom.json") {
		t.Fatalf("truncated SBOM: err = %v", err)
	}
	if _, _, err := run(t, "--data-dir", data, "scan", filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("missing file accepted")
	}
	// A store with nothing mirrored refuses to scan rather than report clean.
	if _, _, err := run(t, "--data-dir", t.TempDir(), "scan", "pkg:pypi/django@3.2"); err == nil || !strings.Contains(err.Error(), "mirror") {
		t.Fatalf("empty store: %v", err)
	}
}

func TestDataDirRule(t *testing.T) {
	env := t.TempDir()
	t.Setenv("VULNGATE_DATA_DIR", env)
	out, _, err := run(t, "data-dir")
	if err != nil || strings.TrimSpace(out) != env {
		t.Fatalf("data-dir with env = %q %v", out, err)
	}
	flag := t.TempDir()
	out, _, _ = run(t, "--data-dir", flag, "data-dir")
	if strings.TrimSpace(out) != flag {
		t.Fatalf("flag not honoured: %q", out)
	}
}

func TestMirrorCommandReportsAndStatus(t *testing.T) {
	dir := corpus.Dir(t)
	data := t.TempDir()
	out, _, err := run(t, "--data-dir", data, "--log-level", "warn", "mirror", "--base-url", "file://"+dir, "--ecosystems", "crates.io,nosuch")
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("unknown ecosystem: %v %s", err, out)
	}
	out, _, err = run(t, "--data-dir", data, "--log-level", "warn", "mirror", "--base-url", "file://"+dir, "--ecosystems", "crates.io")
	if err != nil || !strings.Contains(out, "crates.io") || !strings.Contains(out, "full") {
		t.Fatalf("mirror: %v\n%s", err, out)
	}
	// The sync's own time follows the table (the bench harness reads it).
	if !regexp.MustCompile(`(?m)^synced in [0-9.]+[µm]?s, [0-9.]+[µm]?s CPU \(`).MatchString(out) {
		t.Fatalf("no sync time in the summary:\n%s", out)
	}
	out, _, err = run(t, "--data-dir", data, "mirror", "status")
	if err != nil || !strings.Contains(out, "crates.io") || !strings.Contains(out, "OSV") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	// Without --ecosystems nothing is purged: disabling keeps the data.
	if _, _, err := run(t, "--data-dir", data, "mirror", "--base-url", "file://"+dir); err == nil {
		t.Fatal("mirror without ecosystems succeeded")
	}
	doc := scanJSON(t, data, "pkg:cargo/smallvec@1.6.0")
	if len(doc.Components[0].Findings) == 0 {
		t.Fatal("mirrored data lost")
	}
	if out, _, err := run(t, "--data-dir", data, "mirror", "purge", "crates.io"); err != nil || !strings.Contains(out, "purged") {
		t.Fatalf("purge: %v %s", err, out)
	}
	if _, _, err := run(t, "--data-dir", data, "scan", "pkg:cargo/smallvec@1.6.0"); err == nil {
		t.Fatal("scan after purging everything should ask for a mirror")
	}
}
