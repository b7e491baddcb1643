package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// assessDoc is the part of the scan JSON that assessments add.
type assessDoc struct {
	Components []struct {
		PURL     string `json:"purl"`
		Findings []struct {
			ID         string `json:"id"`
			Assessment *struct {
				Status     string `json:"status"`
				Effect     string `json:"effect"`
				Type       string `json:"type"`
				AssessedID string `json:"assessed_id"`
				Scope      string `json:"scope"`
				By         string `json:"by"`
				Expires    string `json:"expires"`
				Auto       bool   `json:"auto"`
			} `json:"assessment"`
		} `json:"findings"`
		Decision *struct {
			Effect  string   `json:"effect"`
			Reasons []string `json:"reasons"`
		} `json:"decision"`
	} `json:"components"`
}

func scanAssessed(t *testing.T, data string, args ...string) (assessDoc, error) {
	t.Helper()
	out, stderr, err := run(t, append([]string{"--data-dir", data, "--log-level", "warn", "scan", "--format", "json"}, args...)...)
	var doc assessDoc
	if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil {
		t.Fatalf("scan %v: %v (%v)\n%s\n%s", args, jerr, err, out, stderr)
	}
	return doc, err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := run(t, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s\n%s", args, err, out, stderr)
	}
	return out
}

func TestAssessEndToEnd(t *testing.T) {
	t.Setenv("VULNGATE_USER", "alice")
	data := mirrored(t, "Maven")
	text := "pkg:maven/org.apache.commons/commons-text@1.9" // GHSA-599f-7c49-w659, CVSS 9.8
	junit := "pkg:maven/junit/junit@4.12"                   // GHSA-269g-pwp5-87pp (CVE-2020-15250), CVSS 4.4

	// A CI pipeline scans with --project: findings are recorded and the
	// critical one is auto-assessed Blocked in the project's scope; the
	// medium one stays unassessed (policy warn).
	doc, err := scanAssessed(t, data, "--project", "ci", text, junit)
	if err != nil {
		t.Fatalf("scan without --fail-on failed: %v", err)
	}
	c0, c1 := doc.Components[0], doc.Components[1]
	if c0.Decision == nil || c0.Decision.Effect != "block" || len(c0.Decision.Reasons) == 0 {
		t.Fatalf("commons-text decision %+v", c0.Decision)
	}
	var auto bool
	for _, f := range c0.Findings {
		if f.ID == "CVE-2022-42889" {
			a := f.Assessment
			auto = a != nil && a.Status == "assessed" && a.Type == "Blocked" && a.Auto && a.Scope == "project:ci" && a.Expires != ""
		}
	}
	if !auto {
		t.Fatalf("CVE-2022-42889 not auto-assessed Blocked: %+v", c0.Findings)
	}
	if c1.Decision == nil || c1.Decision.Effect != "warn" || c1.Findings[0].Assessment.Status != "unassessed" || c1.Findings[0].Assessment.Effect != "warn" {
		t.Fatalf("junit decision %+v %+v", c1.Decision, c1.Findings)
	}

	// --fail-on blocked: junit alone passes (warn) ...
	if _, err := scanAssessed(t, data, "--project", "ci", "--fail-on", "blocked", junit); err != nil {
		t.Fatalf("junit with --fail-on blocked: %v", err)
	}
	// ... until someone assesses its CVE as Blocked in the project.
	// --project means scope project:ci.
	out := mustRun(t, "--data-dir", data, "assess", "set", "CVE-2020-15250", "--type", "Blocked", "--project", "ci", "--comment", "timing attack matters here", "--expires", "30d")
	if !strings.Contains(out, "CVE-2020-15250") || !strings.Contains(out, "alice") {
		t.Fatalf("assess set output:\n%s", out)
	}
	doc, err = scanAssessed(t, data, "--project", "ci", "--fail-on", "blocked", junit)
	var ee ExitError
	if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(ee.Message, "junit") {
		t.Fatalf("--fail-on blocked: err %v", err)
	}
	if a := doc.Components[0].Findings[0].Assessment; a.Type != "Blocked" || a.AssessedID != "CVE-2020-15250" || a.By != "alice" {
		t.Fatalf("assessment in scan %+v", a)
	}
	// The project-scoped assessment does not apply outside the project.
	if _, err := scanAssessed(t, data, "--fail-on", "blocked", junit); err != nil {
		t.Fatalf("global scan: %v", err)
	}
	// --fail-on with a severity keeps working.
	if _, err := scanAssessed(t, data, "--fail-on", "critical", junit); err != nil {
		t.Fatalf("--fail-on critical on a medium finding: %v", err)
	}

	// Table output shows the columns.
	out = mustRun(t, "--data-dir", data, "--log-level", "warn", "scan", "--project", "ci", text, junit)
	for _, want := range []string{"ASSESSMENT", "Blocked (project:ci)", "Blocked (project:ci, auto)", "BLOCK ", "decisions: 2 block, 0 warn, 0 allow"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// list, history, findings, types, policy.
	out = mustRun(t, "--data-dir", data, "assess", "list")
	if !strings.Contains(out, "CVE-2022-42889") || !strings.Contains(out, "project:ci") {
		t.Errorf("list:\n%s", out)
	}
	out = mustRun(t, "--data-dir", data, "assess", "history", "GHSA-269g-pwp5-87pp")
	if !strings.Contains(out, "set") || !strings.Contains(out, "alice") || !strings.Contains(out, "timing attack") {
		t.Errorf("history by alias:\n%s", out)
	}
	out = mustRun(t, "--data-dir", data, "assess", "findings", "--project", "ci")
	if !strings.Contains(out, "junit/junit@4.12") || !strings.Contains(out, "OSV") {
		t.Errorf("findings:\n%s", out)
	}
	mustRun(t, "--data-dir", data, "assess", "types", "create", "Critical Review", "--effect", "warn", "--auto", "4.0-6.9", "--expiry", "7d")
	out = mustRun(t, "--data-dir", data, "assess", "types", "list")
	if !strings.Contains(out, "Critical Review") || !strings.Contains(out, "4.0-6.9") || !strings.Contains(out, "90d") {
		t.Errorf("types:\n%s", out)
	}
	_, _, err = run(t, "--data-dir", data, "assess", "types", "create", "Overlap", "--effect", "warn", "--auto", "6.0-7.5")
	if err == nil || !strings.Contains(err.Error(), "Overlap (6.0-7.5)") || !strings.Contains(err.Error(), "Caution (7.0-8.9)") {
		t.Errorf("overlap: %v", err)
	}
	// Re-apply auto-assessment to unassessed findings: after the project
	// assessment is cleared, junit's medium finding gets the new type.
	out = mustRun(t, "--data-dir", data, "assess", "--auto", "--existing")
	if !strings.Contains(out, "0 vulnerabilities auto-assessed") {
		t.Errorf("auto existing with everything assessed:\n%s", out)
	}
	mustRun(t, "--data-dir", data, "assess", "clear", "CVE-2020-15250", "--scope", "project:ci")
	out = mustRun(t, "--data-dir", data, "assess", "--auto", "--existing")
	if !strings.Contains(out, "CVE-2020-15250") || !strings.Contains(out, "Critical Review") {
		t.Errorf("auto existing:\n%s", out)
	}
	mustRun(t, "--data-dir", data, "assess", "policy", "set", "--scope", "project:ci", "block")
	out = mustRun(t, "--data-dir", data, "assess", "policy", "list")
	if !strings.Contains(out, "project:ci\tblock") {
		t.Errorf("policy list:\n%s", out)
	}

	// VEX export and import into another data directory.
	vexFile := filepath.Join(t.TempDir(), "vex.json")
	mustRun(t, "--data-dir", data, "assess", "export", "--format", "openvex", "-o", vexFile)
	other := mirrored(t, "Maven")
	mustRun(t, "--data-dir", other, "assess", "types", "create", "Critical Review", "--effect", "warn")
	out = mustRun(t, "--data-dir", other, "assess", "import", vexFile)
	if !strings.Contains(out, "assessments imported") || !strings.Contains(out, "CVE-2020-15250") || !strings.Contains(out, "Critical Review") {
		t.Errorf("import:\n%s", out)
	}

	// Bad input: clear errors, exit 2 semantics (plain errors).
	for _, args := range [][]string{
		{"assess", "set", "CVE-1999-99999", "--type", "Blocked"},
		{"assess", "set", "CVE-2020-15250", "--type", "Blocked", "--expires", "2001-01-01"},
		{"assess", "set", "CVE-2020-15250"},
		{"assess", "types", "create", "Bad", "--effect", "warn", "--auto", "9-8"},
		{"assess", "policy", "set", "deny"},
		{"scan", "--project", "bad name", junit},
	} {
		_, _, err := run(t, append([]string{"--data-dir", data, "--log-level", "warn"}, args...)...)
		if err == nil || errors.As(err, &ee) {
			t.Errorf("%v: err %v", args, err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-2020-15250","analysis":{"state":"nope"}}]}`), 0o644)
	if _, _, err := run(t, "--data-dir", data, "assess", "import", bad); err == nil || !strings.Contains(err.Error(), `unknown analysis state "nope"`) {
		t.Errorf("malformed VEX: %v", err)
	}
}
