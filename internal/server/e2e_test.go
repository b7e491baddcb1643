package server

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// TestBrowserEndToEnd drives Debian's chromium through the UI: log in,
// configure the OSV source against the shared corpus, run the mirror job
// and watch its live log, open a vulnerability, assess it as Blocked and
// see the package page decide "block".
// Screenshots go to $VULNGATE_TEST_ARTIFACTS (else a temporary directory).
func TestBrowserEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	requireChromium(t)
	dir := corpus.Dir(t)
	// The server, in-process on a loopback port.
	ctx := t.Context()
	addr, srv := serveReal(t, func(o *Options) { o.NoStartupJobs = false; o.Version = "e2e" })
	base := "http://" + addr

	// The browser.
	page := newBrowserPage(t, ctx, 90*time.Second, "e2e")
	step, text, poll, screenshot := page.step, page.text, page.poll, page.screenshot

	// Log in.
	step("open", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("username")))
	screenshot("login")
	step("log in",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("severity-chart")),
	)
	screenshot("dashboard-empty")

	// Configure the OSV source: load the corpus's ecosystems, pick two.
	step("sources",
		chromedp.Navigate(base+"/admin/sources"),
		chromedp.WaitVisible(chromedp.ID("osv-base-url")),
		chromedp.SetValue(chromedp.ID("osv-base-url"), "file://"+dir),
		chromedp.Click(chromedp.ID("load-ecosystems")),
		chromedp.WaitVisible(chromedp.CSS(`input[name=ecosystems][value="crates.io"]`)),
		chromedp.Click(chromedp.CSS(`input[name=ecosystems][value="Go"]`)),
		chromedp.Click(chromedp.CSS(`input[name=ecosystems][value="crates.io"]`)),
		chromedp.Click(chromedp.ID("osv-enabled")),
	)
	screenshot("sources-selected")
	step("save sources", chromedp.Click(chromedp.ID("save-osv")), chromedp.WaitVisible(chromedp.ID("flash")))
	osvSet, err := srv.osvSettings(ctx)
	if err != nil || !osvSet.Enabled || strings.Join(osvSet.Ecosystems, ",") != "Go,crates.io" || osvSet.BaseURL != "file://"+dir {
		t.Fatalf("stored OSV settings: %+v %v", osvSet, err)
	}

	// Run the mirror job and watch its log stream in.
	step("jobs", chromedp.Navigate(base+"/admin/jobs"), chromedp.WaitVisible(chromedp.ID("run-osv-mirror")))
	screenshot("jobs")
	step("run now", chromedp.Click(chromedp.ID("run-osv-mirror")), chromedp.WaitVisible(chromedp.ID("log")))
	poll("live log", `document.getElementById("log").textContent.includes("mirroring OSV")`)
	screenshot("job-log-live")
	poll("run finished", `document.getElementById("log").getAttribute("data-done") !== null`)
	screenshot("job-log-done")
	if got := text("#run-status"); got != "succeeded" {
		t.Fatalf("run status %q; log:\n%s", got, text("#log"))
	}
	for _, want := range []string{"ecosystem synced", "crates.io", "index: partition updated", "run finished"} {
		if log := text("#log"); !strings.Contains(log, want) {
			t.Fatalf("live log lacks %q:\n%s", want, log)
		}
	}

	// Browse: dashboard counts, the list, one vulnerability, a package.
	step("dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("severity-chart")))
	if n := text("#count-advisories"); n == "0" {
		t.Fatal("dashboard counts no advisories after the mirror")
	}
	screenshot("dashboard")
	step("list", chromedp.Navigate(base+"/vulnerabilities?ecosystem=Go&q=toolchain"), chromedp.WaitVisible(chromedp.CSS("#vulns a.vuln-link")))
	screenshot("vulnerabilities")
	step("open vulnerability", chromedp.Click(chromedp.CSS("#vulns a.vuln-link")), chromedp.WaitVisible(chromedp.ID("vuln-id")))
	if id := text("#vuln-id"); !strings.HasPrefix(id, "GO-") && !strings.HasPrefix(id, "CVE-") && !strings.HasPrefix(id, "GHSA-") {
		t.Fatalf("vulnerability page shows %q", id)
	}
	screenshot("vulnerability")

	// Assess GO-2022-0247 (affecting toolchain 1.16.0) as Blocked.
	step("find GO-2022-0247", chromedp.Navigate(base+"/vulnerabilities?q=GO-2022-0247"), chromedp.WaitVisible(chromedp.CSS("#vulns a.vuln-link")))
	step("open GO-2022-0247", chromedp.Click(chromedp.CSS("#vulns a.vuln-link")), chromedp.WaitVisible(chromedp.ID("assess-form")))
	if got := text("#unassessed"); !strings.Contains(got, "Unassessed") {
		t.Fatalf("before assessing: %q", got)
	}
	step("fill assess form",
		chromedp.SetValue(chromedp.ID("assess-type"), "Blocked"),
		chromedp.SetValue(chromedp.ID("assess-scope"), "global"),
		chromedp.SendKeys(chromedp.ID("assess-comment"), "exploitable in our build; upgrade"),
	)
	screenshot("assess-form")
	step("assess", chromedp.Click(chromedp.ID("assess")), chromedp.WaitVisible(chromedp.ID("flash")))
	if got := text(`#assessment-list .assessment-type[data-scope="global"]`); got != "Blocked" {
		t.Fatalf("assessment shown as %q", got)
	}
	if h := text("#history"); !strings.Contains(h, "Blocked") || !strings.Contains(h, "admin") {
		t.Fatalf("history lacks the assessment:\n%s", h)
	}
	screenshot("vulnerability-assessed")

	step("package", chromedp.Navigate(base+"/packages?purl=pkg:golang/toolchain@1.16.0"), chromedp.WaitVisible(chromedp.ID("pkg-vulns")))
	if v := text("#pkg-vulns"); !strings.Contains(v, "GO-2022-0247") && !strings.Contains(v, "CVE-2021-38297") || !strings.Contains(v, "Blocked") {
		t.Fatalf("package page lacks GO-2022-0247 assessed Blocked:\n%s", v)
	}
	if eff := text("#pkg-effect"); eff != "block" {
		t.Fatalf("package decision %q, want block (%s)", eff, text("#pkg-decision"))
	}
	if up := text("#pkg-upgrade"); !strings.Contains(up, "Upgrade to") {
		t.Fatalf("package page shows no upgrade: %q", up)
	}
	screenshot("package-blocked")

	// Scheduled backups: enable them, run the job now and watch its log.
	backups := t.TempDir()
	step("backups", chromedp.Navigate(base+"/admin/backups"), chromedp.WaitVisible(chromedp.ID("backup-form")),
		chromedp.Click(chromedp.ID("backup-enabled")), chromedp.SetValue(chromedp.ID("backup-dir"), backups), chromedp.SetValue(chromedp.ID("backup-keep"), "3"))
	step("save backups", chromedp.Click(chromedp.ID("save-backup")), chromedp.WaitVisible(chromedp.ID("flash")))
	step("run backup", chromedp.Navigate(base+"/admin/jobs"), chromedp.Click(chromedp.ID("run-"+JobBackup)), chromedp.WaitVisible(chromedp.ID("log")))
	poll("backup finished", `document.getElementById("log").getAttribute("data-done") !== null`)
	if log := text("#log"); text("#run-status") != "succeeded" || !strings.Contains(log, "backup written") {
		t.Fatalf("backup run:\n%s", log)
	}
	screenshot("backup-log")
	step("backups listed", chromedp.Navigate(base+"/admin/backups"), chromedp.WaitVisible(chromedp.CSS("#backups td.mono")))
	screenshot("backups")
}
