package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// uiAudit runs in the page and returns what a person would stumble on:
// content wider than the window, form fields without a label, images
// without a text alternative, text whose contrast with its background is
// below WCAG AA (4.5:1, 3:1 for large text), tables that cannot be sorted
// or exported, pages without a heading.
const uiAudit = `(() => {
  const out = [];
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > w + 1) out.push("page wider than the window: " + document.documentElement.scrollWidth + " > " + w);
  for (const el of document.querySelectorAll("main *")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1 && getComputedStyle(el).position !== "fixed" && !el.closest(".scroll-x")) {
      out.push("overflows the window: <" + el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "> right=" + Math.round(r.right)); break;
    }
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (el.offsetParent === null) continue;
    const id = el.id, lab = id && document.querySelector('label[for="' + CSS.escape(id) + '"]');
    if (!lab && !el.closest("label") && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) out.push("field without a label: " + (el.name || el.id || el.type));
  }
  for (const img of document.querySelectorAll("img, svg[role=img]")) {
    if (!img.getAttribute("alt") && !img.getAttribute("aria-label") && !img.querySelector("title")) out.push("image without a text alternative");
  }
  if (!document.querySelector("h1")) out.push("no h1");
  const lum = (c) => { const m = c.match(/[\d.]+/g).map(Number); const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(m[0]) + 0.7152 * f(m[1]) + 0.0722 * f(m[2]); };
  const bg = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor; const m = c.match(/[\d.]+/g);
    if (m && (m.length < 4 || Number(m[3]) > 0.5)) return c; } return "rgb(255,255,255)"; };
  const seen = new Set();
  for (const el of document.querySelectorAll("body *")) {
    if (el.offsetParent === null || el.closest("svg")) continue;
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim() !== "");
    if (!own) continue;
    const cs = getComputedStyle(el);
    const a = lum(cs.color), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(cs.fontSize) >= 24 || (parseFloat(cs.fontSize) >= 18.66 && Number(cs.fontWeight) >= 700);
    const key = cs.color + "/" + bg(el);
    if (ratio < (large ? 3 : 4.5) && !seen.has(key)) { seen.add(key); out.push("low contrast " + ratio.toFixed(2) + ": \"" + el.textContent.trim().slice(0, 30) + "\" " + key); }
  }
  for (const t of document.querySelectorAll("main table")) {
    if (t.tHead && t.tBodies.length && t.tBodies[0].rows.length > 1 && !t.hasAttribute("data-sortable") && !t.hasAttribute("data-static")) out.push("table without sorting: " + (t.id || "(no id)"));
  }
  return out;
})()`

// TestUITour visits every page of the UI with data in it, at 1400 and
// 1024 pixels wide, screenshots each (look at them: $VULNGATE_TEST_ARTIFACTS
// /tour, else a temporary directory), and fails on what uiAudit finds.
func TestUITour(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	requireChromium(t)
	e := newEnv(t)
	artifacts := os.Getenv("VULNGATE_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	artifacts = filepath.Join(artifacts, "tour")
	os.RemoveAll(artifacts)
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	// Data: the corpus mirrored, exploitation data, a project, a feed
	// with decisions, an assessment.
	e.mirror("Go", "Maven", "npm", "crates.io", "PyPI")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kev.json"), []byte(`{"catalogVersion":"2026.11.30","vulnerabilities":[
{"cveID":"CVE-2022-42889","vendorProject":"Apache","product":"Commons Text","vulnerabilityName":"Apache Commons Text Remote Code Execution Vulnerability","dateAdded":"2026-11-10","dueDate":"2026-12-01","knownRansomwareCampaignUse":"Known","requiredAction":"Apply updates per vendor instructions."},
{"cveID":"CVE-2021-38297","vendorProject":"Go","product":"Go","vulnerabilityName":"Go WASM buffer overflow","dateAdded":"2026-11-20","dueDate":"2026-12-11","knownRansomwareCampaignUse":"Unknown"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "epss.csv"), []byte("cve,epss,percentile\nCVE-2022-42889,0.944,0.9997\nCVE-2021-38297,0.0123,0.7834\nCVE-2020-15250,0.0007,0.2988\n"), 0o644)
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/kev", map[string]any{"enabled": true, "url": "file://" + filepath.Join(dir, "kev.json")}), 200)
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/enrichment/epss", map[string]any{"enabled": true, "url": "file://" + filepath.Join(dir, "epss.csv")}), 200)
	e.runJob("kev-mirror")
	e.runJob("epss-mirror")
	res := e.sendFile(auth.Admin, "PUT", "/api/v1/projects/keycloak/versions/10.0.2?filename=keycloak-10.0.2__bom.json", filepath.Join(corpus.SBOMDir(t), "keycloak-10.0.2__bom.json"))
	wantStatus(t, res, http.StatusOK)
	up := feedtest.NewUpstream(t)
	npmPackage(t, up, "lodash", "4.17.10", "4.17.21")
	npmPackage(t, up, "ansi-html", "0.0.7", "0.0.8") // 0.0.7: GHSA-whgm-jr23-g3j9 (CVE-2021-23424), HIGH
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npm", "type": "npm", "upstream": up.URL, "filter_blocked": true}), http.StatusCreated)
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/assessments", map[string]any{"vuln_id": "GO-2022-0247", "type": "Blocked", "comment": "exploitable in our build"}), http.StatusCreated)
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/assessments", map[string]any{"vuln_id": "CVE-2021-23424", "type": "Blocked", "scope": "feed:npm", "comment": "ReDoS in a build tool"}), http.StatusCreated)
	e.get("/feeds/npm/ansi-html/-/ansi-html-0.0.7.tgz") // refused
	e.get("/feeds/npm/ansi-html")                       // 0.0.7 hidden from metadata
	e.get("/feeds/npm/ansi-html/-/ansi-html-0.0.8.tgz")
	e.get("/feeds/npm/lodash")
	e.get("/feeds/npm/lodash/-/lodash-4.17.10.tgz")
	e.get("/feeds/npm/lodash/-/lodash-4.17.21.tgz")
	var runs []runOut
	e.do(auth.Viewer, "GET", "/api/v1/jobs/"+JobOSVMirror+"/runs", nil).json(t, &runs)
	if len(runs) == 0 {
		t.Fatal("no mirror run")
	}

	bctx := newBrowser(t, t.Context(), 20*time.Minute)
	base := e.http.URL
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("username"))); err != nil {
		t.Fatal(err)
	}
	shoot := func(name string) {
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(artifacts, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shoot("login-1400")
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("username"), "admin"), chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("severity-chart"))); err != nil {
		t.Fatal(err)
	}
	pages := []struct{ name, path, wait string }{
		{"dashboard", "/", "#severity-chart"},
		{"vulnerabilities", "/vulnerabilities", "#vulns"},
		{"vulnerability", "/vulnerabilities/CVE-2022-42889", "#vuln-id"},
		{"vulnerability-go", "/vulnerabilities/GO-2022-0247", "#vuln-id"},
		{"package-lookup", "/packages", "h1"},
		{"package", "/packages?purl=" + url.QueryEscape("pkg:maven/org.apache.commons/commons-text@1.9"), "#pkg-vulns"},
		{"projects", "/projects", "h1"},
		{"project", "/projects/keycloak", "h1"},
		{"feeds", "/admin/feeds", "h1"},
		{"feed", "/admin/feeds/npm", "h1"},
		{"jobs", "/admin/jobs", "h1"},
		{"job-run", fmt.Sprintf("/admin/jobs/%s/runs/%d?ok=run", JobOSVMirror, runs[0].ID), "#log"},
		{"sources", "/admin/sources", "h1"},
		{"assessment", "/admin/assessment", "h1"},
		{"users", "/admin/users", "h1"},
		{"account", "/account", "h1"},
		{"backups", "/admin/backups", "h1"},
		{"notifications", "/admin/notifications", "h1"},
		{"not-found", "/vulnerabilities/NOPE-0000-0000", "h1"},
	}
	var problems []string
	for _, width := range []int64{1400, 1024} {
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			name := fmt.Sprintf("%s-%d", p.name, width)
			pctx, cancel := context.WithTimeout(bctx, 90*time.Second)
			err := chromedp.Do(pctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
			cancel()
			if err != nil {
				shoot("failed-" + name)
				t.Fatalf("%s: %v", name, err)
			}
			if p.name == "job-run" {
				// The flash of "Run now" says the job ended once it has;
				// the log names the malformed record the corpus holds.
				if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("log").getAttribute("data-done") !== null && document.getElementById("flash").textContent.includes("finished")`)); err != nil {
					t.Errorf("%s: the flash still says the job was started: %v", name, err)
				}
				log, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("log")))
				if !strings.Contains(log, "malformed record skipped") || !strings.Contains(log, "PYSEC-2024-55") || !strings.Contains(log, "missing modified") {
					t.Errorf("%s: the log does not name the malformed record:\n%s", name, log)
				}
			}
			shoot(name)
			found, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](uiAudit))
			if err != nil {
				t.Fatalf("%s: audit: %v", name, err)
			}
			for _, f := range found {
				problems = append(problems, name+": "+f)
			}
		}
	}
	b, _ := json.MarshalIndent(problems, "", "  ")
	os.WriteFile(filepath.Join(artifacts, "audit.json"), b, 0o644)
	if len(problems) > 0 {
		t.Errorf("%d problems (screenshots in %s):\n%s", len(problems), artifacts, strings.Join(problems, "\n"))
	}
}
