package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/mailtest"
)

// TestBrowserProjectsWalkthrough drives chromium through docs/projects.md's
// projects walkthrough: the server started as the README's main command
// does (OSV configured on the first start and mirrored at once), two
// keycloak versions uploaded with the Projects form, the portfolio and
// the comparison, an SMTP server and two rules (a signed webhook, an
// e-mail) configured on the Notifications page, then the OSV source
// pointed at the corpus delta and the mirror run from Scheduled jobs: the
// new advisory for a keycloak 10.0.3 component reaches the webhook
// receiver and the mail server, and shows on the project, vulnerability
// and dashboard pages. Screenshots go to $VULNGATE_TEST_ARTIFACTS/projects
// (else a temporary directory).
func TestBrowserProjectsWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	requireChromium(t)
	dir := corpus.Dir(t)
	sboms := corpus.SBOMDir(t)
	next, err := filepath.Abs(keycloakNext)
	if err != nil {
		t.Fatal(err)
	}
	// The destinations: a real SMTP server (STARTTLS, AUTH) and a webhook
	// receiver.
	mail := mailtest.Start(t, mailtest.Options{TLS: true, User: "vulngate", Password: "smtp-password-1"})
	hook := newHookReceiver(t)

	// The server, as the README's main command starts it: OSV configured
	// on the first start and mirrored at once.
	addr, srv := serveReal(t, func(o *Options) {
		o.NoStartupJobs, o.Version = false, "e2e"
		o.SeedOSV = &OSVSettings{Enabled: true, BaseURL: "file://" + dir, Ecosystems: []string{"Go", "Maven"}}
		o.NotifyTLS = &tls.Config{RootCAs: mail.Pool}
	})
	ctx, st, base := context.Background(), srv.st, "http://"+addr
	waitUntil(t, "the start-up mirror", func() bool {
		j, _ := srv.Runner().Job(JobOSVMirror)
		return j.Last != nil && j.Last.Status == "succeeded" && j.Running == 0
	})

	b := newBrowserPage(t, ctx, 4*time.Minute, "projects")
	step, text, poll, screenshot := b.step, b.text, b.poll, b.screenshot
	step("log in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("portfolio-empty")),
	)
	screenshot("dashboard-no-project")

	// Two versions through the upload form: the shared XML SBOM of 10.0.2,
	// the walkthrough's 10.0.3.
	upload := func(version, file string) {
		t.Helper()
		step("upload "+version, chromedp.Navigate(base+"/projects"), chromedp.WaitVisible(chromedp.ID("upload-form")),
			chromedp.SendKeys(chromedp.ID("up-project"), "keycloak"),
			chromedp.SendKeys(chromedp.ID("up-version"), version),
			chromedp.SetUploadFiles(chromedp.ID("up-file"), []string{file}),
		)
		if version == "10.0.2" {
			screenshot("upload-form")
		}
		step("submit "+version, chromedp.Click(chromedp.ID("upload")), chromedp.WaitVisible(chromedp.ID("version-name")))
		if got := text("#version-name"); got != version {
			t.Fatalf("after uploading %s the project page shows version %q", version, got)
		}
	}
	upload("10.0.2", filepath.Join(sboms, "keycloak-10.0.2__bom.xml"))
	screenshot("project-10.0.2")
	upload("10.0.3", next)
	step("portfolio", chromedp.Navigate(base+"/projects"), chromedp.WaitVisible(chromedp.CSS(`#portfolio a[href="/projects/keycloak"]`)))
	screenshot("portfolio")

	// The comparison: jackson-databind's upgrade fixes findings.
	step("compare", chromedp.Navigate(base+"/projects/keycloak"), chromedp.WaitVisible(chromedp.ID("compare-form")),
		chromedp.SetValue(chromedp.ID("from"), "10.0.2"), chromedp.SetValue(chromedp.ID("to"), "10.0.3"),
		chromedp.Click(chromedp.ID("compare")), chromedp.WaitVisible(chromedp.ID("diff-table")))
	if d := text("#diff"); !strings.Contains(d, "10.0.2 → 10.0.3") || strings.Contains(d, " 0 fixed") {
		t.Fatalf("comparison heading %q", d)
	}
	if fixed := text("#diff-table"); !strings.Contains(fixed, "jackson-databind 2.10.1 → 2.13.4.2") {
		t.Fatalf("comparison lacks jackson-databind's fixed findings:\n%s", fixed)
	}
	screenshot("compare")

	// Notifications: the mail server, then a signed webhook for keycloak
	// and an e-mail for every project.
	step("smtp", chromedp.Navigate(base+"/admin/notifications"), chromedp.WaitVisible(chromedp.ID("smtp-form")),
		chromedp.SendKeys(chromedp.ID("smtp-host"), mail.Host),
		chromedp.SendKeys(chromedp.ID("smtp-port"), strconv.Itoa(mail.Port)),
		chromedp.SendKeys(chromedp.ID("smtp-user"), "vulngate"),
		chromedp.SendKeys(chromedp.ID("smtp-password"), "smtp-password-1"),
		chromedp.SendKeys(chromedp.ID("smtp-from"), "vulngate <vulngate@example.com>"),
		chromedp.Click(chromedp.ID("smtp-starttls")),
		chromedp.Click(chromedp.ID("save-smtp")), chromedp.WaitVisible(chromedp.ID("flash")))
	rule := func(name, scope, kind, url, secret, recipients string) {
		t.Helper()
		step("rule "+name, chromedp.Navigate(base+"/admin/notifications"), chromedp.WaitVisible(chromedp.ID("rule-form")),
			chromedp.SendKeys(chromedp.ID("rule-name"), name),
			chromedp.SetValue(chromedp.ID("rule-event"), notify.EventNewFinding),
			chromedp.SendKeys(chromedp.ID("rule-scope"), scope),
			chromedp.SetValue(chromedp.ID("rule-kind"), kind))
		if url != "" {
			step("rule url", chromedp.SendKeys(chromedp.ID("rule-url"), url), chromedp.SendKeys(chromedp.ID("rule-secret"), secret))
		}
		if recipients != "" {
			step("rule recipients", chromedp.SendKeys(chromedp.ID("rule-recipients"), recipients))
		}
		step("create "+name, chromedp.Click(chromedp.ID("create-rule")), chromedp.WaitVisible(chromedp.CSS(`#rule-list tr[data-rule="`+name+`"]`)))
	}
	rule("keycloak webhook", "project:keycloak", notify.KindWebhook, hook.URL+"/hook", "walkthrough-secret-1", "")
	rule("security e-mail", "project:*", notify.KindEmail, "", "", "security@example.com")
	if smtp := text("#smtp-form"); strings.Contains(smtp, "smtp-password-1") {
		t.Fatal("the SMTP password is shown")
	}
	screenshot("notifications-configured")

	// The mirror with the delta: a later snapshot of Go.
	// "Load ecosystems" (a GET form) with the delta's URL: the page lists
	// what the delta offers.
	step("sources", chromedp.Navigate(base+"/admin/sources?base_url="+url.QueryEscape("file://"+filepath.Join(dir, "delta"))),
		chromedp.WaitVisible(chromedp.CSS(`input[name=ecosystems][value="Go"]:checked`)))
	// The delta offers Go only: Maven, kept in the field for other
	// ecosystems, is emptied (its data stays mirrored).
	poll("empty the other ecosystems", `(document.getElementById("ecosystems-extra").value = "") === ""`)
	screenshot("sources-delta")
	step("save sources", chromedp.Click(chromedp.ID("save-osv")), chromedp.WaitVisible(chromedp.ID("flash")))
	step("jobs", chromedp.Navigate(base+"/admin/jobs"), chromedp.WaitVisible(chromedp.ID("run-osv-mirror")),
		chromedp.Click(chromedp.ID("run-osv-mirror")), chromedp.WaitVisible(chromedp.ID("log")))
	poll("run finished", `document.getElementById("log").getAttribute("data-done") !== null`)
	if got, log := text("#run-status"), text("#log"); got != "succeeded" || !strings.Contains(log, "portfolio analysed") {
		t.Fatalf("delta run %s:\n%s", got, log)
	}
	screenshot("mirror-delta")

	// Both destinations got the new advisory.
	got := hook.wait(t, 1)
	var ev notify.Event
	if err := json.Unmarshal(got[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Signature != notify.Sign("walkthrough-secret-1", got[0].Body) || ev.Scope != "project:keycloak" ||
		!slices.ContainsFunc(ev.Findings, func(f notify.Finding) bool { return f.ID == "GO-2099-0001" && f.Package == synthetic1 }) {
		t.Fatalf("webhook: %d requests, first %s", len(got), got[0].Body)
	}
	msgs := mail.Wait(1, time.Minute)
	if len(msgs) != 1 || !msgs[0].TLS || !strings.Contains(msgs[0].Subject, "GO-2099-0001") || !slices.Equal(msgs[0].To, []string{"security@example.com"}) {
		t.Fatalf("mail: %+v", msgs)
	}
	waitUntil(t, "both deliveries sent", func() bool {
		ds, _ := st.NotifyDeliveries(ctx, 10)
		return len(ds) == 2 && ds[0].Status == "sent" && ds[1].Status == "sent"
	})
	step("delivery log", chromedp.Navigate(base+"/admin/notifications"), chromedp.WaitVisible(chromedp.ID("deliveries")))
	if log := text("#deliveries"); strings.Count(log, "sent") < 2 || !strings.Contains(log, "GO-2099-0001") {
		t.Fatalf("delivery log:\n%s", log)
	}
	screenshot("delivery-log")

	// What people see afterwards: the project's findings searched for
	// the new one, and its component (UNKNOWN severity: past the first
	// page of components, so all on one page here).
	step("project", chromedp.Navigate(base+"/projects/keycloak?version=10.0.3&q=GO-2099-0001&climit=500"), chromedp.WaitVisible(chromedp.ID("components")))
	if f := text("#findings tbody"); !strings.Contains(f, "GO-2099-0001") || !strings.Contains(f, "synthetic1") {
		t.Fatalf("keycloak's findings searched for GO-2099-0001: %q", f)
	}
	newRow := `#components tr:has(a[href="/vulnerabilities/GO-2099-0001"])`
	if c := text(newRow); !strings.Contains(c, "synthetic1") || !strings.Contains(c, "new") {
		t.Fatalf("keycloak 10.0.3's row of GO-2099-0001: %q", c)
	}
	screenshot("project-10.0.3")
	// The page is long (250 findings): the new one, in the viewport.
	step("scroll to the new finding", chromedp.ScrollIntoView(chromedp.CSS(newRow)))
	b.viewport("project-new-finding")
	step("vulnerability", chromedp.Navigate(base+"/vulnerabilities/GO-2099-0001"), chromedp.WaitVisible(chromedp.ID("affected-projects")))
	if a := text("#affected-projects"); !strings.Contains(a, "keycloak") || !strings.Contains(a, "10.0.3") || strings.Contains(a, "10.0.2") {
		t.Fatalf("affected projects: %q", a)
	}
	screenshot("vulnerability-affected")
	step("dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("trend-chart")))
	if n := text("#portfolio-projects"); n != "1" {
		t.Fatalf("dashboard counts %s projects", n)
	}
	screenshot("dashboard-portfolio")
}
