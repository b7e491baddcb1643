package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// approvalFixture serves an npm upstream with ansi-html 0.0.7
// (GHSA-whgm-jr23-g3j9, high), left-pad 1.3.0 (clean) and
// @lottiefiles/lottie-player 2.0.7 (MAL-2024-10301), and a feed "npm"
// over it that requires approval, with alice (an assessor) as approver
// and bob (an assessor) without the grant.
func approvalFixture(t *testing.T) (*testEnv, func(path string) (int, string)) {
	e := newEnv(t)
	e.mirror("npm")
	up := feedtest.NewUpstream(t)
	for _, f := range []string{"/ansi-html/-/ansi-html-0.0.7.tgz", "/left-pad/-/left-pad-1.3.0.tgz", "/@lottiefiles/lottie-player/-/lottie-player-2.0.7.tgz"} {
		up.Put(f, "application/octet-stream", []byte("tarball "+f))
	}
	ctx := context.Background()
	for _, u := range []struct {
		name   string
		grants []store.Grant
	}{{"alice", []store.Grant{{Permission: auth.PermApprove, Scope: "feed:npm"}}}, {"bob", nil}} {
		hash, _ := auth.HashPassword(u.name+"-password-1", fastArgon2)
		id, err := e.st.CreateUser(ctx, store.User{Username: u.name, Role: string(auth.Assessor), PasswordHash: hash, Grants: u.grants})
		if err != nil {
			t.Fatal(err)
		}
		key, prefix, khash := auth.NewAPIKey()
		if _, err := e.st.CreateAPIKey(ctx, id, "test", prefix, khash); err != nil {
			t.Fatal(err)
		}
		e.keys[auth.Role(u.name)] = key
	}
	res := e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npm", "type": "npm", "upstream": up.URL, "unassessed": "allow",
		"require_approval": true, "approvers": []string{"alice"}})
	wantStatus(t, res, http.StatusCreated)
	var fj feedJSON
	res.json(t, &fj)
	if !fj.RequireApproval || len(fj.Approvers) != 1 || fj.Approvers[0] != "alice" {
		t.Fatalf("feed created as %+v", fj)
	}
	download := func(path string) (int, string) {
		t.Helper()
		r, err := http.Get(e.http.URL + "/feeds/npm" + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return r.StatusCode, string(b)
	}
	return e, download
}

// TestApprovalAPI: who may approve, what cannot be approved, and the
// queue with each version's vulnerabilities.
func TestApprovalAPI(t *testing.T) {
	e, download := approvalFixture(t)
	for _, p := range []string{"/ansi-html/-/ansi-html-0.0.7.tgz", "/left-pad/-/left-pad-1.3.0.tgz", "/@lottiefiles/lottie-player/-/lottie-player-2.0.7.tgz"} {
		if code, body := download(p); code != 403 {
			t.Fatalf("%s before approval: %d %s", p, code, body)
		}
	}
	var page approvalPage
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npm/approvals", nil).json(t, &page)
	if page.Total != 2 {
		t.Fatalf("queue: %+v", page)
	}
	byName := map[string]approvalJSON{}
	for _, a := range page.Items {
		byName[a.Name] = a
	}
	if a := byName["ansi-html"]; len(a.Findings) != 1 || a.Findings[0].ID != "CVE-2021-23424" || a.Findings[0].Severity != "HIGH" || !a.Approvable {
		t.Errorf("ansi-html in the queue: %+v", a)
	}

	req := approveRequest{PURLs: []string{"pkg:npm/ansi-html@0.0.7"}, Comment: "needed by the docs build"}
	wantProblem(t, e.do("bob", "POST", "/api/v1/feeds/npm/approvals", req), 403, "may not approve for feed npm")
	wantProblem(t, e.do(auth.Viewer, "POST", "/api/v1/feeds/npm/approvals", req), 403, "needs the assessor role")
	wantProblem(t, e.do("alice", "POST", "/api/v1/feeds/npm/approvals", approveRequest{PURLs: []string{"pkg:npm/%40lottiefiles/lottie-player@2.0.7"}}), 422, "known malicious package")
	res := e.do("alice", "POST", "/api/v1/feeds/npm/approvals", req)
	wantStatus(t, res, 200)
	if code, body := download("/ansi-html/-/ansi-html-0.0.7.tgz"); code != 200 || !strings.Contains(body, "tarball") {
		t.Fatalf("approved download: %d %s", code, body)
	}
	wantStatus(t, e.do("alice", "POST", "/api/v1/feeds/npm/approvals/revoke", req), 200)
	if code, _ := download("/ansi-html/-/ansi-html-0.0.7.tgz"); code != 403 {
		t.Fatalf("revoked download: %d", code)
	}
	var evs []approvalEventJSON
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npm/approvals/events?purl=pkg:npm/ansi-html@0.0.7", nil).json(t, &evs)
	if len(evs) < 3 || evs[0].Action != "request" || evs[1].Action != "revoke" || evs[2].Action != "approve" || evs[2].Actor != "alice" || evs[2].Comment != "needed by the docs build" {
		t.Errorf("approval audit: %+v", evs)
	}
}

// TestApprovalBrowser drives the approval flow in Chromium: the refused
// downloads queue two versions; alice, the feed's approver, sees the queue
// with their vulnerabilities, approves both at once, the download is
// served, she revokes one, and it is refused again. Screenshots go to
// $VULNGATE_TEST_ARTIFACTS/approval (else a temporary directory).
func TestApprovalBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	requireChromium(t)
	e, download := approvalFixture(t)
	artifacts := os.Getenv("VULNGATE_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	artifacts = filepath.Join(artifacts, "approval")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	code, body := download("/ansi-html/-/ansi-html-0.0.7.tgz")
	if code != 403 || !strings.Contains(body, "/admin/feeds/npm/approvals") {
		t.Fatalf("unapproved download: %d %s", code, body)
	}
	download("/left-pad/-/left-pad-1.3.0.tgz")

	bctx := newBrowser(t, context.Background(), 90*time.Second)
	shot := 0
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		shot++
		p := filepath.Join(artifacts, fmt.Sprintf("%02d-%s.png", shot, name))
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}
	step := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			screenshot("failed-" + name)
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			screenshot("failed-text")
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	base := e.http.URL
	step("log in as alice", chromedp.Navigate(base+"/login?next=/admin/feeds/npm"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"), chromedp.SendKeys(chromedp.ID("password"), "alice-password-1"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("approvals-link")))
	screenshot("feed-requires-approval")
	step("open the queue", chromedp.Click(chromedp.ID("approvals-link")), chromedp.WaitVisible(chromedp.ID("approvals")))
	q := text("#approvals")
	for _, want := range []string{"ansi-html 0.0.7", "CVE-2021-23424", "HIGH", "left-pad 1.3.0", "no known vulnerabilities"} {
		if !strings.Contains(q, want) {
			t.Errorf("queue lacks %q:\n%s", want, q)
		}
	}
	screenshot("queue")
	step("approve both", chromedp.Click(chromedp.ID("select-all")), chromedp.SendKeys(chromedp.ID("approval-comment"), "reviewed for the docs build"))
	screenshot("queue-selected")
	step("submit", chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(chromedp.ID("flash")))
	if got := text("#flash"); !strings.Contains(got, "Approved") {
		t.Fatalf("flash %q", got)
	}
	screenshot("approved")
	if code, _ := download("/ansi-html/-/ansi-html-0.0.7.tgz"); code != 200 {
		t.Fatalf("download after approval: %d", code)
	}
	step("approved list", chromedp.Navigate(base+"/admin/feeds/npm/approvals?status=approved"), chromedp.WaitVisible(chromedp.ID("approvals")))
	if a := text("#approvals"); !strings.Contains(a, "alice") || !strings.Contains(a, "reviewed for the docs build") {
		t.Errorf("approved list:\n%s", a)
	}
	step("revoke ansi-html", chromedp.Click(chromedp.CSS(`tr[data-package="pkg:npm/ansi-html@0.0.7"] input.pick`)),
		chromedp.SendKeys(chromedp.ID("approval-comment"), "replaced by a fixed version"), chromedp.Click(chromedp.ID("revoke")), chromedp.WaitVisible(chromedp.ID("flash")))
	screenshot("revoked")
	if code, _ := download("/ansi-html/-/ansi-html-0.0.7.tgz"); code != 403 {
		t.Fatalf("download after revocation: %d", code)
	}
	if code, _ := download("/left-pad/-/left-pad-1.3.0.tgz"); code != 200 {
		t.Fatalf("left-pad after revoking ansi-html: %d", code)
	}
	if ev := text("#approval-events"); !strings.Contains(ev, "revoke") || !strings.Contains(ev, "approve") || !strings.Contains(ev, "request") {
		t.Errorf("activity:\n%s", ev)
	}
}
