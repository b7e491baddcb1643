package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/match"
)

// The enrichment sources in the server: settings through the API (the
// NVD key write-only and sealed), a job per source mirroring a file://
// copy, its log naming the malformed records, and then what people read:
// the package API shows the finding known exploited with its EPSS
// percentile, and a feed's recorded finding that became known exploited is
// auto-assessed Blocked in the feed's scope.
func TestEnrichmentSources(t *testing.T) {
	e := newEnv(t)
	e.mirror("Maven")
	dir := t.TempDir()
	kev := filepath.Join(dir, "kev.json")
	os.WriteFile(kev, []byte(`{"catalogVersion":"2026.11.30","vulnerabilities":[
{"cveID":"CVE-2020-15250","vendorProject":"JUnit","product":"JUnit4","vulnerabilityName":"JUnit4 TemporaryFolder Information Disclosure","dateAdded":"2026-11-01","dueDate":"2026-11-22","knownRansomwareCampaignUse":"Unknown","requiredAction":"Apply updates per vendor instructions."},
{"cveID":"CVE-XXXX","dateAdded":"2026-11-01"}]}`), 0o644)
	epss := filepath.Join(dir, "epss.csv")
	os.WriteFile(epss, []byte("#model_version:v2025.03.14,score_date:2026-11-30T00:00:00Z\ncve,epss,percentile\nCVE-2020-15250,0.00123,0.4567\n"), 0o644)

	wantStatus(t, e.do(auth.Viewer, "PUT", "/api/v1/sources/enrichment/kev", map[string]any{"enabled": true, "url": "file://" + kev}), http.StatusForbidden)
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/kev", map[string]any{"enabled": true, "url": "ftp://x/kev.json"}), 422, "want an http://, https:// or file:// URL")
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/kev", map[string]any{"api_key": "nope"}), 422, "takes no API key")
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/nosuch", map[string]any{}), http.StatusNotFound)
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/kev", map[string]any{"enabled": true, "url": "file://" + kev}), 200)
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/epss", map[string]any{"enabled": true, "url": "file://" + epss}), 200)
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/nvd", map[string]any{"enabled": false, "api_key": "nvd-key-1234"}), 200)
	res := e.do(auth.Viewer, "GET", "/api/v1/sources", nil)
	wantStatus(t, res, 200)
	var got sourcesOut
	res.json(t, &got)
	if len(got.Enrichment) != 3 || got.Enrichment[0].Name != "nvd" || !got.Enrichment[0].KeySet || strings.Contains(string(res.body), "nvd-key-1234") {
		t.Fatalf("sources %s", res.body)
	}
	var raw map[string]any
	if _, err := e.st.Setting(context.Background(), "source.nvd", &raw); err != nil || strings.Contains(fmt.Sprint(raw), "nvd-key-1234") {
		t.Errorf("the NVD key is stored in clear: %v %v", raw, err)
	}

	// A project records junit 4.12's medium finding (no CVSS rule takes
	// it) before anyone knows it is exploited.
	ctx := context.Background()
	results, err := match.NewScanner(e.st, nil).Scan(ctx, []match.Component{{Input: "pkg:maven/junit/junit@4.12"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := e.srv.assess.RecordScanWith(ctx, "project:app", results, assess.RecordOptions{AutoInScope: true}); err != nil || len(rep.Auto) != 0 {
		t.Fatalf("recording: %+v %v", rep, err)
	}
	kevLog := e.runJob("kev-mirror")
	if !strings.Contains(kevLog, `entry 2: cveID \"CVE-XXXX\" is not a CVE ID`) {
		t.Errorf("the job log does not name the malformed record:\n%s", kevLog)
	}
	if !strings.Contains(kevLog, "auto-assessed") || !strings.Contains(kevLog, "project:app") {
		t.Errorf("the job log does not show the auto-assessment:\n%s", kevLog)
	}
	e.runJob("epss-mirror")
	res = e.do(auth.Viewer, "GET", "/api/v1/packages?purl="+url.QueryEscape("pkg:maven/junit/junit@4.12"), nil)
	wantStatus(t, res, 200)
	var pkg packageOut
	res.json(t, &pkg)
	if len(pkg.Findings) != 1 {
		t.Fatalf("package %s", res.body)
	}
	f := pkg.Findings[0]
	if f.KnownExploited == nil || f.KnownExploited.DateAdded != "2026-11-01" || f.EPSS == nil || f.EPSS.Percentile != 0.4567 {
		t.Errorf("finding facts %+v", f.Facts)
	}
	// The built-in Blocked type took the known exploited finding, in the
	// project's scope only.
	if pkg.Decision.Effect != "warn" {
		t.Errorf("global decision: %+v", pkg.Decision)
	}
	res = e.do(auth.Viewer, "GET", "/api/v1/packages?scope=project:app&purl="+url.QueryEscape("pkg:maven/junit/junit@4.12"), nil)
	res.json(t, &pkg)
	if pkg.Decision.Effect != "block" || pkg.Findings[0].Assessment == nil || !strings.Contains(pkg.Findings[0].Assessment.Comment, "known exploited (CISA KEV)") {
		t.Errorf("project decision %+v, assessment %+v", pkg.Decision, pkg.Findings[0].Assessment)
	}
}

// runJob runs a job now, waits for it, and returns its log; it fails the
// test unless the run succeeded.
func (e *testEnv) runJob(name string) string {
	e.t.Helper()
	res := e.do(auth.Admin, "POST", "/api/v1/jobs/"+name+"/runs", nil)
	wantStatus(e.t, res, http.StatusAccepted)
	var run runOut
	res.json(e.t, &run)
	e.srv.Runner().Wait()
	var full runOut
	e.do(auth.Viewer, "GET", fmt.Sprintf("/api/v1/jobs/%s/runs/%d", name, run.ID), nil).json(e.t, &full)
	log := ""
	if full.Log != nil {
		log = *full.Log
	}
	if full.Status != "succeeded" {
		e.t.Fatalf("%s run: %+v\n%s", name, full, log)
	}
	return log
}

// The browsing index gives an advisory without a CVSS vector the severity
// of its alias group, as scans do, and says where it came from: GO-2022-1144
// (no severity) takes BIT-golang-2022-41717's 5.3 once Bitnami is mirrored;
// with NVD data, a GO record whose group has no other scored record takes
// NVD's.
func TestIndexSeverityFromAliasGroup(t *testing.T) {
	e := newEnv(t)
	e.mirror("Go")
	get := func(id string) advisoryOut {
		t.Helper()
		var page advisoryPage
		e.do(auth.Viewer, "GET", "/api/v1/advisories?q="+id, nil).json(t, &page)
		for _, a := range page.Items {
			if a.ID == id {
				return a
			}
		}
		t.Fatalf("%s not listed: %+v", id, page.Items)
		return advisoryOut{}
	}
	if a := get("GO-2022-1144"); a.Severity != "UNKNOWN" || a.SeverityFrom != "" {
		t.Fatalf("before Bitnami: %+v", a)
	}
	e.mirror("Go", "Bitnami")
	if a := get("GO-2022-1144"); a.Severity != "MEDIUM" || a.Score != 5.3 || a.SeverityFrom != "BIT-golang-2022-41717" {
		t.Errorf("after Bitnami: %+v", a)
	}
	// NVD's score for GO-2026-6179's CVE (no other mirrored record has one).
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nvd.json"), []byte(`{"format":"NVD_CVE","version":"2.0","vulnerabilities":[{"cve":{"id":"CVE-2026-56865","published":"2021-05-27T13:15:08.000","lastModified":"2024-11-21T06:05:50.000","vulnStatus":"Modified","metrics":{"cvssMetricV31":[{"source":"nvd@nist.gov","type":"Primary","cvssData":{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"}}]},"weaknesses":[{"source":"nvd@nist.gov","type":"Primary","description":[{"lang":"en","value":"CWE-674"}]}]}}]}`), 0o644)
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/nvd", map[string]any{"enabled": true, "url": "file://" + filepath.Join(dir, "nvd.json")}), 200)
	e.runJob("nvd-mirror")
	if a := get("GO-2026-6179"); a.Severity != "MEDIUM" || a.Score != 5.9 || a.SeverityFrom != "CVE-2026-56865" {
		t.Errorf("from NVD: %+v", a)
	}
}
