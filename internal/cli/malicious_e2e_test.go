package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// malwareCases are known malicious packages of the shared corpus, one per
// ecosystem that carries MAL- records.
var malwareCases = []struct{ purl, record string }{
	{"pkg:npm/%40lottiefiles/lottie-player@2.0.7", "MAL-2024-10301"},
	{"pkg:pypi/django-pyyaml@20.17.15", "MAL-2023-1362"},
	{"pkg:gem/tzinfo-i18n@0.1.0", "MAL-2023-12"},
	{"pkg:nuget/Bunifu.Form@1.0.1", "MAL-2024-11505"},
	{"pkg:golang/github.com/boltdb-go/bolt@v1.3.1", "MAL-2025-2545"},
	{"pkg:maven/io.github.leetcrunch/scribejava-core@8.3.3", "MAL-2025-2552"},
	{"pkg:cargo/rustdecimal@1.23.1", "MAL-2022-1"},
}

// TestScanMalware: known malware is its own category in every output,
// fails every --fail-on level whatever the policy, and only an admin's
// scoped assessment lets it through, for that project only.
func TestScanMalware(t *testing.T) {
	data := mirrored(t, "npm,PyPI,RubyGems,NuGet,Go,Maven,crates.io")
	var purls []string
	for _, c := range malwareCases {
		purls = append(purls, c.purl)
	}
	if _, stderr, err := run(t, "--data-dir", data, "assess", "policy", "set", "allow"); err != nil {
		t.Fatalf("policy: %v %s", err, stderr)
	}
	out, stderr, err := run(t, append([]string{"--data-dir", data, "--log-level", "warn", "scan", "--format", "json"}, purls...)...)
	if err != nil {
		t.Fatalf("scan: %v %s", err, stderr)
	}
	var doc struct {
		Components []struct {
			PURL     string `json:"purl"`
			Errors   []string
			Findings []struct {
				ID          string `json:"id"`
				Malicious   bool   `json:"malicious"`
				MaliciousID string `json:"malicious_id"`
				Assessment  struct {
					Effect  string `json:"effect"`
					Builtin string `json:"builtin"`
				} `json:"assessment"`
			} `json:"findings"`
			Decision struct {
				Effect  string `json:"effect"`
				Message string `json:"message"`
			} `json:"decision"`
		} `json:"components"`
		Summary struct {
			Malicious int `json:"malicious"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for i, c := range malwareCases {
		comp := doc.Components[i]
		found := false
		for _, f := range comp.Findings {
			if f.MaliciousID == c.record {
				found = f.Malicious && f.Assessment.Effect == "block" && f.Assessment.Builtin == "malicious"
			}
		}
		if !found || comp.Decision.Effect != "block" || !strings.Contains(comp.Decision.Message, "known malicious package") {
			t.Errorf("%s: no blocking malicious finding %s (errors %v, decision %+v, findings %+v)", c.purl, c.record, comp.Errors, comp.Decision, comp.Findings)
		}
	}
	if doc.Summary.Malicious < len(malwareCases) {
		t.Errorf("summary counts %d malicious findings, want %d", doc.Summary.Malicious, len(malwareCases))
	}

	// The table shows the category above CRITICAL; SARIF marks it.
	out, _, _ = run(t, "--data-dir", data, "--log-level", "warn", "scan", malwareCases[0].purl)
	if !strings.Contains(out, "MALICIOUS") || !strings.Contains(out, "1 malicious") {
		t.Errorf("table:\n%s", out)
	}
	out, _, _ = run(t, "--data-dir", data, "--log-level", "warn", "scan", "--format", "sarif", malwareCases[0].purl)
	if !strings.Contains(out, `"malicious": true`) || !strings.Contains(out, "is a known malicious package (MAL-2024-10301)") {
		t.Errorf("SARIF:\n%s", out)
	}

	// Every --fail-on level fails, though the records have no CVSS score.
	for _, level := range []string{"low", "critical", "blocked"} {
		for _, c := range malwareCases {
			_, _, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--fail-on", level, c.purl)
			var ee ExitError
			if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(ee.Message, "known malicious package") || !strings.Contains(ee.Message, c.record) {
				t.Errorf("--fail-on %s %s: %v", level, c.purl, err)
			}
		}
	}

	// Global overrides are refused; an override for project web passes
	// there and nowhere else, and the history records it.
	mal := malwareCases[1]
	if _, _, err := run(t, "--data-dir", data, "assess", "set", mal.record, "--type", "Ignore"); err == nil || !strings.Contains(err.Error(), "not global") {
		t.Fatalf("global override: %v", err)
	}
	if _, stderr, err := run(t, "--data-dir", data, "assess", "set", mal.record, "--type", "Ignore", "--scope", "project:web", "--comment", "reviewed"); err != nil {
		t.Fatalf("scoped override: %v %s", err, stderr)
	}
	if _, _, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--project", "web", "--fail-on", "low", mal.purl); err != nil {
		t.Errorf("project web after its override: %v", err)
	}
	if _, _, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--project", "api", "--fail-on", "low", mal.purl); err == nil {
		t.Error("project api passes after project web's override")
	}
	out, _, err = run(t, "--data-dir", data, "assess", "history", mal.record)
	if err != nil || !strings.Contains(out, "project:web") || !strings.Contains(out, "Ignore (malware override)") {
		t.Errorf("history: %v\n%s", err, out)
	}
}
