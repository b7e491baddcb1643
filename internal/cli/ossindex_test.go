package cli

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/source/ossindex/ossindextest"
)

const (
	cliTestUser  = "dev@example.com"
	cliTestToken = "cli-secret-token-5f2b9c0d1e"
)

// lodashBucket writes an OSV bucket with one npm record for lodash that
// aliases CVE-2021-23337 (test data shaped like the GHSA record).
func lodashBucket(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "npm"), 0o755)
	os.WriteFile(filepath.Join(dir, "ecosystems.txt"), []byte("npm\n"), 0o644)
	f, err := os.Create(filepath.Join(dir, "npm", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("GHSA-35jh-r3h4-6jhm.json")
	fmt.Fprint(w, `{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-02-01T00:00:00Z","published":"2021-05-06T16:05:51Z",
"aliases":["CVE-2021-23337"],"summary":"Command Injection in lodash (test record)",
"affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}],
"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}]}`)
	zw.Close()
	f.Close()
	os.WriteFile(filepath.Join(dir, "npm", "modified_id.csv"), []byte("2024-02-01T00:00:00Z,GHSA-35jh-r3h4-6jhm\n"), 0o644)
	return dir
}

func mirrorBucket(t *testing.T, bucket string) string {
	t.Helper()
	data := t.TempDir()
	if out, stderr, err := run(t, "--data-dir", data, "--log-level", "warn", "mirror", "--base-url", "file://"+bucket, "--ecosystems", "npm"); err != nil {
		t.Fatalf("mirror: %v\n%s\n%s", err, out, stderr)
	}
	return data
}

// ossIndexEnv points the command line at a fake OSS Index.
func ossIndexEnv(t *testing.T, srv *ossindextest.Server, token string) {
	t.Setenv("VULNGATE_OSSINDEX_TOKEN", token)
	t.Setenv("VULNGATE_OSSINDEX_USERNAME", cliTestUser)
	t.Setenv("VULNGATE_OSSINDEX_BASE_URL", srv.URL)
	t.Setenv("VULNGATE_OSSINDEX_CACHE_TTL", "")
}

func noTokenIn(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, cliTestToken) {
			t.Errorf("%s: the token appears in the output:\n%s", what, s)
		}
	}
}

func decodeScan(t *testing.T, out string) scanDoc {
	t.Helper()
	var doc scanDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("scan output is not JSON: %v\n%s", err, out)
	}
	return doc
}

func TestScanOSSIndexMergesWithOSV(t *testing.T) {
	data := mirrorBucket(t, lodashBucket(t))
	srv := ossindextest.New(t, cliTestUser, cliTestToken)
	ossIndexEnv(t, srv, cliTestToken)

	out, stderr, err := run(t, "--data-dir", data, "--log-level", "debug", "--log-format", "json", "scan", "--format", "json", "pkg:npm/lodash@4.17.20?foo=bar", "pkg:pypi/requests")
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, stderr)
	}
	noTokenIn(t, "scan", out, stderr)
	doc := decodeScan(t, out)
	var raw struct {
		Sources []string `json:"sources"`
	}
	json.Unmarshal([]byte(out), &raw)
	if !slices.Equal(raw.Sources, []string{"OSV", "OSSINDEX"}) {
		t.Errorf("sources = %v", raw.Sources)
	}
	lodash := doc.Components[0]
	var merged []scanFinding
	for _, f := range lodash.Findings {
		if slices.Contains(f.IDs, "CVE-2021-23337") {
			merged = append(merged, f)
		}
	}
	if len(merged) != 1 {
		t.Fatalf("CVE-2021-23337 findings = %+v", merged)
	}
	f := merged[0]
	if f.ID != "CVE-2021-23337" || !slices.Equal(f.Sources, []string{"OSSINDEX", "OSV"}) || !slices.Contains(f.IDs, "GHSA-35jh-r3h4-6jhm") ||
		!slices.Equal(f.FixedVersions, []string{"4.17.21"}) || f.Severity.Score != 7.2 {
		t.Errorf("merged finding = %+v", f)
	}
	if len(lodash.Findings) != 3 {
		t.Errorf("lodash findings = %d, want 3", len(lodash.Findings))
	}
	for _, f := range lodash.Findings {
		if f.ID == "sonatype-2019-0873" && !slices.Equal(f.Sources, []string{"OSSINDEX"}) {
			t.Errorf("sonatype finding = %+v", f)
		}
	}
	// A PURL without a version is not sent; the coordinate sent is minimal.
	if got := srv.Received(); len(got) != 1 || !slices.Equal(got[0], []string{"pkg:npm/lodash@4.17.20"}) {
		t.Errorf("received = %v", got)
	}

	// Warm cache: the same scan makes no request.
	out2, stderr, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--format", "json", "pkg:npm/lodash@4.17.20")
	if err != nil {
		t.Fatalf("second scan: %v\n%s", err, stderr)
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("second scan made requests: %d in total, want 1", n)
	}
	if d := decodeScan(t, out2); len(d.Components[0].Findings) != 3 {
		t.Errorf("warm findings = %+v", d.Components[0].Findings)
	}
}

func TestScanOSSIndexOnlyWithoutMirror(t *testing.T) {
	data := t.TempDir()
	srv := ossindextest.New(t, cliTestUser, cliTestToken)
	ossIndexEnv(t, srv, cliTestToken)
	list := filepath.Join(t.TempDir(), "purls.txt")
	var b strings.Builder
	b.WriteString("pkg:npm/lodash@4.17.20\n")
	for i := 1; i < 1000; i++ {
		fmt.Fprintf(&b, "pkg:npm/cli-test-%04d@2.0.%d\n", i, i)
	}
	os.WriteFile(list, []byte(b.String()), 0o644)

	out, stderr, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--source", "ossindex", "--format", "json", list)
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, stderr)
	}
	doc := decodeScan(t, out)
	if len(doc.Components) != 1000 || len(doc.Components[0].Findings) != 3 || doc.Components[1].Errors != nil {
		t.Errorf("components = %d, lodash findings = %d, errors[1] = %v", len(doc.Components), len(doc.Components[0].Findings), doc.Components[1].Errors)
	}
	if n := srv.Requests(); n > 8 {
		t.Errorf("cold scan of 1,000 components: %d requests, want <= 8", n)
	}
	cold := srv.Requests()
	if _, stderr, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--source", "ossindex", "--format", "json", list); err != nil {
		t.Fatalf("warm scan: %v\n%s", err, stderr)
	}
	if n := srv.Requests() - cold; n != 0 {
		t.Errorf("warm scan: %d requests, want 0", n)
	}

	// A per-run TTL from the environment applies (a tiny TTL refetches).
	t.Setenv("VULNGATE_OSSINDEX_CACHE_TTL", "1ns")
	if _, stderr, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--source", "ossindex", "--format", "json", list); err != nil {
		t.Fatalf("ttl scan: %v\n%s", err, stderr)
	}
	if n := srv.Requests() - cold; n == 0 {
		t.Errorf("expired cache made no request")
	}
	t.Setenv("VULNGATE_OSSINDEX_CACHE_TTL", "soon")
	if _, _, err := run(t, "--data-dir", data, "scan", "--source", "ossindex", list); err == nil || !strings.Contains(err.Error(), "VULNGATE_OSSINDEX_CACHE_TTL") {
		t.Errorf("bad TTL: %v", err)
	}
}

func TestScanOSSIndexWithoutToken(t *testing.T) {
	data := mirrorBucket(t, lodashBucket(t))
	for _, k := range []string{"VULNGATE_OSSINDEX_TOKEN", "VULNGATE_OSSINDEX_USERNAME", "VULNGATE_OSSINDEX_BASE_URL", "VULNGATE_OSSINDEX_CACHE_TTL"} {
		t.Setenv(k, "")
	}
	out, stderr, err := run(t, "--data-dir", data, "--log-level", "info", "--log-format", "text", "scan", "--format", "json", "pkg:npm/lodash@4.17.20", "pkg:npm/left-pad@1.3.0")
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, stderr)
	}
	if n := strings.Count(stderr, "OSS Index skipped: no API token configured"); n != 1 {
		t.Errorf("notice printed %d times:\n%s", n, stderr)
	}
	doc := decodeScan(t, out)
	if len(doc.Components[0].Findings) != 1 || !slices.Equal(doc.Components[0].Findings[0].Sources, []string{"OSV"}) {
		t.Errorf("OSV-only findings = %+v", doc.Components[0].Findings)
	}

	_, _, err = run(t, "--data-dir", data, "scan", "--source", "osv,ossindex", "pkg:npm/lodash@4.17.20")
	if err == nil || !strings.Contains(err.Error(), "no OSS Index API token configured") || !strings.Contains(err.Error(), "VULNGATE_OSSINDEX_TOKEN") {
		t.Errorf("--source ossindex without a token: %v", err)
	}
	if _, _, err := run(t, "--data-dir", data, "scan", "--source", "nvd", "pkg:npm/lodash@4.17.20"); err == nil || !strings.Contains(err.Error(), `unknown source "nvd"`) {
		t.Errorf("--source nvd: %v", err)
	}

	// Disabled in the config file: silent.
	os.WriteFile(filepath.Join(data, "config.json"), []byte(`{"ossindex":{"enabled":false}}`), 0o600)
	_, stderr, err = run(t, "--data-dir", data, "--log-level", "info", "scan", "pkg:npm/lodash@4.17.20")
	if err != nil || strings.Contains(stderr, "OSS Index") {
		t.Errorf("disabled: %v\n%s", err, stderr)
	}
}

func TestScanOSSIndexRejectedToken(t *testing.T) {
	data := mirrorBucket(t, lodashBucket(t))
	srv := ossindextest.New(t, cliTestUser, "the-right-token")
	ossIndexEnv(t, srv, cliTestToken)
	list := filepath.Join(t.TempDir(), "purls.txt")
	var b strings.Builder
	for i := range 600 {
		fmt.Fprintf(&b, "pkg:npm/cli-test-%04d@1.0.0\n", i)
	}
	os.WriteFile(list, []byte(b.String()), 0o644)
	for _, format := range []string{"json", "text"} {
		out, stderr, err := run(t, "--data-dir", data, "--log-level", "debug", "--log-format", format, "scan", list)
		if err == nil || !strings.HasPrefix(err.Error(), "OSS Index rejected the token (HTTP 401") || !strings.Contains(err.Error(), "VULNGATE_OSSINDEX_TOKEN") {
			t.Fatalf("scan with a rejected token: %v", err)
		}
		noTokenIn(t, "rejected token", out, stderr, err.Error())
	}
	if n := srv.Requests(); n != 2 {
		t.Errorf("requests = %d, want 1 per run (no retry storm)", n)
	}
}

func TestScanOSSIndexConfigFile(t *testing.T) {
	data := mirrorBucket(t, lodashBucket(t))
	srv := ossindextest.New(t, "", "sonatype_pat_"+cliTestToken)
	for _, k := range []string{"VULNGATE_OSSINDEX_TOKEN", "VULNGATE_OSSINDEX_USERNAME", "VULNGATE_OSSINDEX_BASE_URL", "VULNGATE_OSSINDEX_CACHE_TTL"} {
		t.Setenv(k, "")
	}
	cfg := filepath.Join(t.TempDir(), "vulngate.json")
	os.WriteFile(cfg, fmt.Appendf(nil, `{"server":{"listen":":8080"},"ossindex":{"username":"","token":"sonatype_pat_%s","base_url":%q,"cache_ttl":"2h","enabled":true}}`, cliTestToken, srv.URL), 0o600)

	out, stderr, err := run(t, "--data-dir", data, "--log-level", "debug", "scan", "--config", cfg, "--format", "json", "pkg:npm/lodash@4.17.20")
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, stderr)
	}
	noTokenIn(t, "config file", out, stderr)
	if got := srv.Authorizations(); len(got) != 1 || got[0] != "Bearer sonatype_pat_"+cliTestToken {
		t.Errorf("authorization = %d headers", len(got))
	}
	if d := decodeScan(t, out); len(d.Components[0].Findings) != 3 {
		t.Errorf("findings = %+v", d.Components[0].Findings)
	}

	// The default location is <data-dir>/config.json.
	os.WriteFile(filepath.Join(data, "config.json"), fmt.Appendf(nil, `{"ossindex":{"token":"sonatype_pat_%s","base_url":%q}}`, cliTestToken, srv.URL), 0o600)
	if _, stderr, err := run(t, "--data-dir", data, "--log-level", "warn", "scan", "--source", "ossindex", "pkg:npm/lodash@4.17.21"); err != nil {
		t.Fatalf("default config: %v\n%s", err, stderr)
	}
	if n := srv.Requests(); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}

	// A named file that does not exist, or is not JSON, is an error.
	if _, _, err := run(t, "--data-dir", data, "scan", "--config", filepath.Join(t.TempDir(), "nope.json"), "pkg:npm/lodash@4.17.20"); err == nil {
		t.Error("missing --config file accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"ossindex":{"token":"`+cliTestToken+`"`), 0o600)
	if _, _, err := run(t, "--data-dir", data, "scan", "--config", bad, "pkg:npm/lodash@4.17.20"); err == nil {
		t.Error("malformed config accepted")
	} else {
		noTokenIn(t, "malformed config", err.Error())
	}
}
