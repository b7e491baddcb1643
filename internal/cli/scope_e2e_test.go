package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// storeOSVSetting stores the OSV source as the server does (Sources page,
// serve --osv-base-url) in a fresh data directory.
func storeOSVSetting(t *testing.T, s osvmirror.Settings) string {
	t.Helper()
	data := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutSetting(context.Background(), osvmirror.SettingName, s); err != nil {
		t.Fatal(err)
	}
	return data
}

// The command line uses the OSV source configured in the data directory:
// "mirror" without flags mirrors it, "mirror ecosystems" lists what it
// offers (not the public bucket's list).
func TestMirrorUsesConfiguredSource(t *testing.T) {
	t.Setenv("VULNGATE_OSV_BASE_URL", "")
	t.Setenv("VULNGATE_OSV_ECOSYSTEMS", "")
	dir := t.TempDir()
	writeSyntheticBucket(t, dir, 3, "2026-01-02T03:04:05Z")
	data := storeOSVSetting(t, osvmirror.Settings{Enabled: true, BaseURL: "file://" + dir, Ecosystems: []string{"PyPI"}})

	out, stderr, err := run(t, "--data-dir", data, "mirror")
	if err != nil {
		t.Fatalf("mirror without flags: %v\n%s\n%s", err, out, stderr)
	}
	if !strings.Contains(out, "PyPI") || !strings.Contains(stderr, "using the OSV source configured in the data directory") {
		t.Errorf("mirror report:\n%s\nstderr:\n%s", out, stderr)
	}
	out = mustRun(t, "--data-dir", data, "mirror", "status")
	if !strings.Contains(out, "PyPI") || !strings.Contains(out, "file://"+dir) {
		t.Errorf("status after mirroring the configured source:\n%s", out)
	}
	out = mustRun(t, "--data-dir", data, "mirror", "ecosystems")
	if strings.TrimSpace(out) != "PyPI" {
		t.Errorf("mirror ecosystems listed %q, want the configured source's list (PyPI)", out)
	}
	// A flag still wins over the configuration.
	other := corpus.Dir(t)
	out = mustRun(t, "--data-dir", data, "mirror", "ecosystems", "--base-url", "file://"+other)
	if !strings.Contains(out, "crates.io") {
		t.Errorf("mirror ecosystems --base-url listed:\n%s", out)
	}

	// Without any configuration, the error says where ecosystems come from.
	_, _, err = run(t, "--data-dir", t.TempDir(), "mirror")
	if err == nil || !strings.Contains(err.Error(), "configure the OSV source in the server") {
		t.Errorf("mirror with nothing configured: %v", err)
	}
}

// --project means scope project:NAME for assess set, with or without an
// ID, and contradicting --scope is refused.
func TestProjectFlagMeansScope(t *testing.T) {
	t.Setenv("VULNGATE_USER", "alice")
	data := mirrored(t, "Maven")
	junit := "pkg:maven/junit/junit@4.12" // CVE-2020-15250, CVSS 4.4
	if _, err := scanAssessed(t, data, "--project", "keycloak", junit); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "--data-dir", data, "assess", "set", "--type", "Ignore", "--project", "keycloak", "--severity", "medium", "--comment", "test-only")
	if !strings.Contains(out, "in scope project:keycloak") {
		t.Errorf("bulk with --project:\n%s", out)
	}
	out = mustRun(t, "--data-dir", data, "assess", "list")
	if !strings.Contains(out, "CVE-2020-15250  project:keycloak") || strings.Contains(out, "global") {
		t.Errorf("assess set --project wrote outside the project:\n%s", out)
	}
	// The global decision is untouched: junit still warns outside the project.
	doc, err := scanAssessed(t, data, junit)
	if err != nil || doc.Components[0].Decision.Effect != "warn" {
		t.Fatalf("global scan after a project assessment: %+v %v", doc.Components[0].Decision, err)
	}
	doc, err = scanAssessed(t, data, "--project", "keycloak", junit)
	if err != nil || doc.Components[0].Decision.Effect != "allow" {
		t.Fatalf("project scan after a project assessment: %+v %v", doc.Components[0].Decision, err)
	}
	mustRun(t, "--data-dir", data, "assess", "set", "CVE-2020-15250", "--type", "Caution", "--feed", "npm")
	out = mustRun(t, "--data-dir", data, "assess", "list", "--scope", "feed:npm")
	if !strings.Contains(out, "CVE-2020-15250  feed:npm") {
		t.Errorf("assess set ID --feed:\n%s", out)
	}
	for _, args := range [][]string{
		{"assess", "set", "CVE-2020-15250", "--type", "Blocked", "--project", "keycloak", "--scope", "global"},
		{"assess", "set", "CVE-2020-15250", "--type", "Blocked", "--project", "a", "--feed", "b"},
	} {
		if _, _, err := run(t, append([]string{"--data-dir", data}, args...)...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// A person reading the table sees no log lines around it; -v brings the
// notices back.
func TestScanTableHasNoLogNoise(t *testing.T) {
	for _, k := range []string{"VULNGATE_OSSINDEX_TOKEN", "VULNGATE_OSSINDEX_USERNAME"} {
		t.Setenv(k, "")
	}
	data := mirrored(t, "crates.io")
	out, stderr, err := run(t, "--data-dir", data, "scan", "pkg:cargo/smallvec@1.6.0")
	if err != nil {
		t.Fatal(err)
	}
	if stderr != "" {
		t.Errorf("stderr around the table:\n%s", stderr)
	}
	if !strings.Contains(out, "CVE-2021-25900") {
		t.Errorf("table:\n%s", out)
	}
	_, stderr, err = run(t, "--data-dir", data, "-v", "scan", "pkg:cargo/smallvec@1.6.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"OSS Index skipped", "scan finished"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-v: stderr lacks %q:\n%s", want, stderr)
		}
	}
}
