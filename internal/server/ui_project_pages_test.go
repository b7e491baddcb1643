package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// TestBrowserProjectPagesFindings drives chromium over a project page of
// keycloak 10.0.2 (the shared SBOM against the corpus's Maven advisories):
// the project's open findings come a page at a time in the findings API's
// order, with its filters, and the version's components a page at a time.
// Screenshots go to $VULNGATE_TEST_ARTIFACTS/project-pages (else a
// temporary directory).
func TestBrowserProjectPagesFindings(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	requireChromium(t)
	dir := corpus.Dir(t)
	sboms := corpus.SBOMDir(t)
	addr, srv := serveReal(t, func(o *Options) {
		o.NoStartupJobs, o.Version = false, "e2e"
		o.SeedOSV = &OSVSettings{Enabled: true, BaseURL: "file://" + dir, Ecosystems: []string{"Maven"}}
	})
	ctx, base := context.Background(), "http://"+addr
	waitUntil(t, "the start-up mirror", func() bool {
		j, _ := srv.Runner().Job(JobOSVMirror)
		return j.Last != nil && j.Last.Status == "succeeded" && j.Running == 0
	})
	sbom, err := os.Open(filepath.Join(sboms, "keycloak-10.0.2__bom.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer sbom.Close()
	if _, err := srv.projects.Upload(ctx, project.UploadRequest{Project: "keycloak", Version: "10.0.2", FileName: "keycloak-10.0.2__bom.xml", Body: sbom, By: "admin"}); err != nil {
		t.Fatal(err)
	}
	list := func(f store.FindingPageFilter) ([]store.FindingRow, int) {
		t.Helper()
		f.Scopes, f.Now, f.Limit = []string{project.Scope("keycloak")}, time.Now().UTC(), 500
		rows, n, err := srv.st.ListOpenFindings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return rows, n
	}
	all, total := list(store.FindingPageFilter{})
	if total < 45 {
		t.Fatalf("keycloak 10.0.2 has %d open findings; the test wants more than two pages of 20", total)
	}

	b := newBrowserPage(t, ctx, 3*time.Minute, "project-pages")
	step, text, screenshot := b.step, b.text, b.screenshot
	step("log in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("portfolio")),
	)
	// The page's findings rows' vulnerability IDs, in order.
	shown := func() []string {
		t.Helper()
		ids, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#findings tbody tr td:nth-child(2) > a")].map(a => a.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	want := func(from, to int) []string {
		var ids []string
		for _, r := range all[from:min(to, len(all))] {
			ids = append(ids, r.VulnID)
		}
		return ids
	}

	step("project page", chromedp.Navigate(base+"/projects/keycloak?limit=20&climit=5"), chromedp.WaitVisible(chromedp.ID("findings")))
	screenshot("findings-page-1")
	if c := text("#findings-count"); !strings.Contains(c, fmt.Sprintf("%d open findings", total)) || !strings.Contains(c, "showing 1–20") {
		t.Fatalf("findings count %q (total %d)", c, total)
	}
	if got := shown(); fmt.Sprint(got) != fmt.Sprint(want(0, 20)) {
		t.Fatalf("first page %v, want %v", got, want(0, 20))
	}
	vulnerable := text("#components-count")
	if !strings.HasPrefix(vulnerable, "Components 1–5 of ") {
		t.Fatalf("components count %q", vulnerable)
	}

	step("next findings", chromedp.Click(chromedp.ID("findings-next")), chromedp.WaitVisible(chromedp.ID("findings-prev")))
	if c := text("#findings-count"); !strings.Contains(c, "showing 21–40") {
		t.Fatalf("second page count %q", c)
	}
	if got := shown(); fmt.Sprint(got) != fmt.Sprint(want(20, 40)) {
		t.Fatalf("second page %v, want %v", got, want(20, 40))
	}
	step("next components", chromedp.Click(chromedp.ID("components-next")), chromedp.WaitVisible(chromedp.ID("components-prev")))
	if c := text("#components-count"); !strings.HasPrefix(c, "Components 6–10 of ") || c[len("Components 6–10"):] != vulnerable[len("Components 1–5"):] {
		t.Fatalf("components page 2: %q (page 1: %q)", c, vulnerable)
	}
	if c := text("#findings-count"); !strings.Contains(c, "showing 21–40") {
		t.Fatalf("paging components moved the findings page: %q", c)
	}
	screenshot("components-page-2")

	// The filters of the findings API: unassessed medium ones (auto-assessment takes the high scores).
	step("filter", chromedp.SetValue(chromedp.ID("f-severity"), "MEDIUM"), chromedp.SetValue(chromedp.ID("f-assessment"), "unassessed"),
		chromedp.Click(chromedp.ID("filter-findings")),
		// The attribute (not the property SetValue set) comes with the
		// filtered page.
		chromedp.WaitReady(chromedp.CSS(`#f-severity option[value="MEDIUM"][selected]`)))
	crit, n := list(store.FindingPageFilter{Ratings: []string{"MEDIUM"}, Assessment: store.AssessedNone})
	if n == 0 || n >= total {
		t.Fatalf("%d unassessed medium findings of %d: the filter test needs some, not all", n, total)
	}
	if c := text("#findings-count"); !strings.Contains(c, fmt.Sprintf("%d open finding", n)) {
		t.Fatalf("filtered count %q, want %d", c, n)
	}
	var ids []string
	for _, r := range crit[:min(20, len(crit))] {
		ids = append(ids, r.VulnID)
	}
	if got := shown(); fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("filtered page %v, want %v", got, ids)
	}
	b.viewport("findings-filtered")
}
