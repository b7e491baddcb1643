package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// TestRoutePermissions sends every registered route as anonymous, viewer,
// assessor and admin and checks who is refused.
func TestRoutePermissions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	runID, err := e.srv.Runner().Trigger(JobAdvisoryIndex, "test")
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Runner().Wait()
	roles := []auth.Role{"", auth.Viewer, auth.Assessor, auth.Admin}
	srcDir := t.TempDir()
	os.WriteFile(srcDir+"/ecosystems.txt", []byte("Go\n"), 0o644)
	n := 0
	for _, rt := range e.srv.routes {
		if !rt.API && rt.Need == "" {
			continue // public pages and assets
		}
		for _, role := range roles {
			n++
			hash, _ := auth.HashPassword("victim-password-1", fastArgon2)
			victim, err := e.st.CreateUser(ctx, store.User{Username: fmt.Sprintf("victim-%d", n), Role: "viewer", PasswordHash: hash})
			if err != nil {
				t.Fatal(err)
			}
			_, prefix, khash := auth.NewAPIKey()
			victimKey, _ := e.st.CreateAPIKey(ctx, victim, "v", prefix, khash)
			path := strings.Replace(e.concrete(rt.Path, runID, victim, victimKey), "nonexistent", srcDir, 1)
			var body any
			if rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH" {
				body = map[string]any{}
			}
			if !rt.API { // UI routes: no API key, anonymous only
				if role != "" {
					continue
				}
				res := e.do("", rt.Method, path, nil)
				if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
					t.Errorf("%s %s anonymous: status %d, want a redirect to /login", rt.Method, path, res.status)
				}
				continue
			}
			res := e.do(role, rt.Method, path, body)
			name := fmt.Sprintf("%s %s as %q", rt.Method, path, role)
			switch {
			case rt.Need == "":
				if res.status == http.StatusUnauthorized && rt.Path != "/api/v1/session" || res.status == http.StatusForbidden {
					t.Errorf("%s: public route refused: %d %s", name, res.status, res.body)
				}
			case role == "":
				if res.status != http.StatusUnauthorized || res.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s: status %d, want a 401 problem", name, res.status)
				}
			case !role.AtLeast(rt.Need):
				if res.status != http.StatusForbidden || !strings.Contains(string(res.body), "needs the "+string(rt.Need)+" role") {
					t.Errorf("%s: status %d %s, want 403", name, res.status, res.body)
				}
			case rt.Grant && role != auth.Admin:
				// The test users hold no assess or upload grant: refused
				// (TestAssessGrants and TestProjectUploadGrants cover
				// holders of grants).
				if res.status != http.StatusForbidden || !strings.Contains(string(res.body), "may not assess") && !strings.Contains(string(res.body), "may not approve") && !strings.Contains(string(res.body), "may not upload") && !strings.Contains(string(res.body), "may not delete versions") {
					t.Errorf("%s: status %d %s, want 403 for an assessor without a grant", name, res.status, res.body)
				}
			default:
				if res.status == http.StatusUnauthorized || res.status == http.StatusForbidden || res.status >= 500 {
					t.Errorf("%s: status %d %s, want access", name, res.status, res.body)
				}
			}
		}
		e.srv.Runner().Wait()
	}
}

func TestLoginSessionsAndRateLimit(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.LoginBurst = 3 })
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(user, pw string) *http.Response {
		b, _ := json.Marshal(loginRequest{Username: user, Password: pw})
		res, err := c.Post(e.http.URL+"/api/v1/session", "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("admin", "wrong password!!"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad password: %d", res.StatusCode)
	}
	res := post("admin", adminPassword)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", res.StatusCode)
	}
	var ck *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == sessionCookie {
			ck = k
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", ck)
	}
	me, _ := c.Get(e.http.URL + "/api/v1/me")
	var u userJSON
	json.NewDecoder(me.Body).Decode(&u)
	me.Body.Close()
	if u.Username != "admin" || u.Role != "admin" {
		t.Fatalf("me: %+v", u)
	}
	// The third attempt is the last of the burst; the fourth is refused.
	post("admin", "wrong password!!")
	if res := post("admin", "wrong password!!"); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d", res.StatusCode)
	}
	// Another user name from the same client is limited separately.
	if res := post("viewer1", "viewer-password-1"); res.StatusCode != http.StatusOK {
		t.Fatalf("other user: %d", res.StatusCode)
	}
	// Logout ends the session.
	req, _ := http.NewRequest("DELETE", e.http.URL+"/api/v1/session", nil)
	if res, _ := c.Do(req); res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res, _ := c.Get(e.http.URL + "/api/v1/me"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", res.StatusCode)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/jobs/advisory-index/runs", nil)
	req.Header.Set("Authorization", "Bearer "+e.keys[auth.Admin])
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %d, want 403", res.StatusCode)
	}
	// The login form too.
	req, _ = http.NewRequest("POST", e.http.URL+"/login", strings.NewReader("username=admin&password="+adminPassword))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, _ = e.http.Client().Do(req)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site login: %d", res.StatusCode)
	}
}

func TestUsersAndAPIKeys(t *testing.T) {
	e := newEnv(t)
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/users", userCreate{Username: "bob", Role: "boss", Password: "long enough password"}), 422, `role "boss"`)
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/users", userCreate{Username: "bob", Role: "assessor", Password: "short"}), 422, "at least 12")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/users", userCreate{Username: "bob", Role: "assessor", Password: "long enough password",
		Grants: []store.Grant{{Permission: "assess", Scope: "team"}}}), 422, "scope")
	res := e.do(auth.Admin, "POST", "/api/v1/users", userCreate{Username: "bob", Role: "assessor", Password: "long enough password",
		Grants: []store.Grant{{Permission: "assess", Scope: "feed:npm-internal"}}})
	wantStatus(t, res, http.StatusCreated)
	if strings.Contains(string(res.body), "argon2") || strings.Contains(string(res.body), "long enough") {
		t.Fatalf("user answer leaks the password or its hash: %s", res.body)
	}
	var bob userJSON
	res.json(t, &bob)
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/users", userCreate{Username: "bob", Role: "viewer", Password: "long enough password"}), 409, "already exists")

	p := auth.PrincipalOf(store.User{ID: bob.ID, Role: bob.Role, Grants: bob.Grants})
	if !p.CanAssess("feed:npm-internal") || p.CanAssess("feed:other") || p.CanAssess("") {
		t.Fatalf("grants: %+v", bob.Grants)
	}
	res = e.do(auth.Admin, "PATCH", fmt.Sprintf("/api/v1/users/%d", bob.ID), map[string]any{"grants": []store.Grant{{Permission: "assess", Scope: "*"}}})
	wantStatus(t, res, 200)
	res.json(t, &bob)
	if len(bob.Grants) != 1 || bob.Grants[0].Scope != "*" {
		t.Fatalf("grants after patch: %+v", bob.Grants)
	}
	wantProblem(t, e.do(auth.Admin, "PATCH", fmt.Sprintf("/api/v1/users/%d", e.ids[auth.Admin]), map[string]any{"role": "viewer"}), 422, "yourself")
	wantProblem(t, e.do(auth.Admin, "DELETE", fmt.Sprintf("/api/v1/users/%d", e.ids[auth.Admin]), nil), 422, "own account")

	// Keys: shown once, stored hashed, usable as Bearer, revocable.
	res = e.do(auth.Admin, "POST", fmt.Sprintf("/api/v1/users/%d/keys", bob.ID), keyCreate{Name: "ci"})
	wantStatus(t, res, http.StatusCreated)
	var k keyOut
	res.json(t, &k)
	if !strings.HasPrefix(k.Key, "vg_") || !strings.HasPrefix(k.Key, k.Prefix) {
		t.Fatalf("new key %+v", k)
	}
	list := e.do(auth.Admin, "GET", fmt.Sprintf("/api/v1/users/%d/keys", bob.ID), nil)
	if strings.Contains(string(list.body), k.Key) {
		t.Fatal("key listing returns the secret")
	}
	e.keys["bob"] = k.Key
	var me userJSON
	e.do("bob", "GET", "/api/v1/me", nil).json(t, &me)
	if me.Username != "bob" {
		t.Fatalf("me with key: %+v", me)
	}
	wantStatus(t, e.do(auth.Admin, "DELETE", fmt.Sprintf("/api/v1/users/%d/keys/%d", bob.ID, k.ID), nil), 204)
	wantProblem(t, e.do("bob", "GET", "/api/v1/me", nil), 401, "invalid or revoked")
	e.keys["bogus"] = "vg_not-a-key"
	wantProblem(t, e.do("bogus", "GET", "/api/v1/me", nil), 401, "invalid or revoked")

	// Disabled users cannot use their keys.
	res = e.do(auth.Admin, "POST", fmt.Sprintf("/api/v1/users/%d/keys", bob.ID), keyCreate{Name: "ci2"})
	res.json(t, &k)
	e.keys["bob"] = k.Key
	wantStatus(t, e.do(auth.Admin, "PATCH", fmt.Sprintf("/api/v1/users/%d", bob.ID), map[string]any{"disabled": true}), 200)
	wantStatus(t, e.do("bob", "GET", "/api/v1/me", nil), 401)
	wantStatus(t, e.do(auth.Admin, "DELETE", fmt.Sprintf("/api/v1/users/%d", bob.ID), nil), 204)
	wantStatus(t, e.do(auth.Admin, "GET", fmt.Sprintf("/api/v1/users/%d", bob.ID), nil), 404)
}

func TestSourcesSettings(t *testing.T) {
	dir := corpus.Dir(t)
	e := newEnv(t)
	base := "file://" + dir
	res := e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: base, Ecosystems: []string{"go", "CRATES.IO"}})
	wantStatus(t, res, 200)
	var o OSVSettings
	res.json(t, &o)
	if strings.Join(o.Ecosystems, ",") != "Go,crates.io" {
		t.Fatalf("ecosystems not canonicalized: %v", o.Ecosystems)
	}
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: base, Ecosystems: []string{"Cobol"}}), 422, "Cobol not offered")
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: "ftp://x", Ecosystems: []string{"Go"}}), 422, "want an http://, https:// or file:// URL")
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: base}), 422, "select at least one")
	var eco struct{ Ecosystems []string }
	e.do(auth.Admin, "GET", "/api/v1/sources/osv/ecosystems", nil).json(t, &eco)
	if len(eco.Ecosystems) < 10 {
		t.Fatalf("ecosystems: %v", eco.Ecosystems)
	}

	const token = "secret-token-value-123"
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/sources/ossindex", map[string]any{"enabled": true}), 422, "requires an API token")
	res = e.do(auth.Admin, "PUT", "/api/v1/sources/ossindex", map[string]any{"enabled": true, "username": "me@example.com", "token": token})
	wantStatus(t, res, 200)
	got := e.do(auth.Viewer, "GET", "/api/v1/sources", nil)
	if strings.Contains(string(res.body)+string(got.body), token) {
		t.Fatal("the OSS Index token is returned")
	}
	var src sourcesOut
	got.json(t, &src)
	if !src.OSSIndex.TokenSet || src.OSSIndex.BaseURL != DefaultOSSIndexURL || src.OSV.BaseURL != base {
		t.Fatalf("sources: %+v", src)
	}
	// Omitting the token keeps it; an empty token removes it.
	e.do(auth.Admin, "PUT", "/api/v1/sources/ossindex", map[string]any{"enabled": false, "username": "me@example.com"})
	e.do(auth.Viewer, "GET", "/api/v1/sources", nil).json(t, &src)
	if !src.OSSIndex.TokenSet {
		t.Fatal("token lost when omitted")
	}
	e.do(auth.Admin, "PUT", "/api/v1/sources/ossindex", map[string]any{"enabled": false, "token": ""})
	e.do(auth.Viewer, "GET", "/api/v1/sources", nil).json(t, &src)
	if src.OSSIndex.TokenSet {
		t.Fatal("token kept when cleared")
	}
}

func TestJobsRunNowConflictAndLiveLog(t *testing.T) {
	e := newEnv(t)
	started, release := e.blockingJob("blocker")
	res := e.do(auth.Admin, "POST", "/api/v1/jobs/blocker/runs", nil)
	wantStatus(t, res, http.StatusAccepted)
	var run runOut
	res.json(t, &run)
	<-started
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/jobs/blocker/runs", nil), http.StatusConflict, "already running")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/jobs/nope/runs", nil), http.StatusNotFound, "no job named")

	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/jobs/blocker/runs/%d/log", e.http.URL, run.ID), nil)
	req.Header.Set("Authorization", "Bearer "+e.keys[auth.Viewer])
	sse, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	if ct := sse.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	rd := bufio.NewReader(sse.Body)
	readUntil := func(want string) []string {
		var seen []string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended before %q; saw %q", want, seen)
			}
			seen = append(seen, line)
			if strings.Contains(line, want) {
				return seen
			}
		}
	}
	readUntil("blocker started")
	close(release)
	readUntil("blocker released")
	lines := readUntil("event: end")
	_ = lines
	if l := readUntil("data:"); !strings.Contains(l[len(l)-1], "succeeded") {
		t.Fatalf("end event: %q", l)
	}
	e.srv.Runner().Wait()
	var full runOut
	e.do(auth.Viewer, "GET", fmt.Sprintf("/api/v1/jobs/blocker/runs/%d", run.ID), nil).json(t, &full)
	if full.Status != "succeeded" || full.Log == nil || !strings.Contains(*full.Log, "blocker released") {
		t.Fatalf("stored run: %+v", full)
	}
	// A finished run's log is replayed, then "end".
	res = e.do(auth.Viewer, "GET", fmt.Sprintf("/api/v1/jobs/blocker/runs/%d/log", run.ID), nil)
	if !strings.Contains(string(res.body), "blocker started") || !strings.Contains(string(res.body), "event: end\ndata: succeeded") {
		t.Fatalf("replayed log: %s", res.body)
	}
	// Schedules.
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/jobs/osv-mirror", jobUpdate{Cron: "every day"}), 422, "five fields")
	var j jobOut
	e.do(auth.Admin, "PUT", "/api/v1/jobs/osv-mirror", jobUpdate{Cron: "30 3 * * *"}).json(t, &j)
	if j.Cron != "30 3 * * *" || j.DefaultCron != "0 2 * * *" || j.NextRun.IsZero() {
		t.Fatalf("job: %+v", j)
	}
	var list []jobOut
	e.do(auth.Viewer, "GET", "/api/v1/jobs", nil).json(t, &list)
	// advisory-index, assessment-expiry, assessment-expiry-notices, backup, blocker,
	// epss-mirror, kev-mirror, nvd-mirror, ossindex-refresh, osv-mirror,
	// portfolio-snapshot, project-analysis, session-cleanup
	if len(list) != 13 {
		t.Fatalf("jobs: %+v", list)
	}
	// Metrics count requests and runs.
	m := e.do("", "GET", "/metrics", nil)
	for _, want := range []string{`vulngate_http_requests_total{code="409",method="POST",route="/api/v1/jobs/{name}/runs"} 1`, `vulngate_job_runs_total{job="blocker",status="succeeded"} 1`} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestMirrorAndBrowse configures OSV against the shared corpus, runs the
// mirror job through the API and browses the result.
func TestMirrorAndBrowse(t *testing.T) {
	dir := corpus.Dir(t)
	e := newEnv(t)
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: "file://" + dir, Ecosystems: []string{"Go", "crates.io"}}), 200)
	res := e.do(auth.Admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil)
	wantStatus(t, res, http.StatusAccepted)
	var run runOut
	res.json(t, &run)
	e.srv.Runner().Wait()
	var full runOut
	e.do(auth.Viewer, "GET", fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d", run.ID), nil).json(t, &full)
	if full.Status != "succeeded" || !strings.Contains(*full.Log, "ecosystem synced") || !strings.Contains(*full.Log, "index: partition updated") {
		t.Fatalf("mirror run: %+v", full)
	}

	var stats statsOut
	e.do(auth.Viewer, "GET", "/api/v1/stats", nil).json(t, &stats)
	var page advisoryPage
	e.do(auth.Viewer, "GET", "/api/v1/advisories?severity=critical,high&limit=5", nil).json(t, &page)
	if page.Total != stats.BySeverity["CRITICAL"]+stats.BySeverity["HIGH"] || len(page.Items) != 5 {
		t.Fatalf("page: total %d, %d items", page.Total, len(page.Items))
	}
	for _, a := range page.Items {
		if a.Severity != "CRITICAL" && a.Severity != "HIGH" {
			t.Fatalf("severity filter not applied: %+v", a)
		}
	}
	var goPage advisoryPage
	e.do(auth.Viewer, "GET", "/api/v1/advisories?ecosystem=Go&q=toolchain&limit=500", nil).json(t, &goPage)
	if goPage.Total == 0 {
		t.Fatal("no Go toolchain advisories")
	}
	for _, a := range goPage.Items {
		if a.Ecosystem != "Go" || !strings.Contains(strings.Join(a.Packages, " ")+a.Summary+a.ID, "toolchain") {
			t.Fatalf("ecosystem/q filter not applied: %+v", a)
		}
	}
	var next advisoryPage
	e.do(auth.Viewer, "GET", "/api/v1/advisories?severity=critical,high&limit=5&offset=5", nil).json(t, &next)
	if next.Total != page.Total || len(next.Items) == 0 || next.Items[0].ID == page.Items[0].ID {
		t.Fatalf("second page: %+v", next)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/advisories?severity=awful", nil), 400, `severity "awful"`)
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/advisories?limit=100000", nil), 400, "limit")
	if stats.ByEcosystem["Go"] == 0 || stats.ByEcosystem["crates.io"] == 0 || len(stats.Partitions) != 2 {
		t.Fatalf("stats: %+v", stats)
	}

	// Detail by ID and by alias.
	var d struct {
		ID      string
		Aliases []string
		Records []struct {
			ID       string
			Affected []json.RawMessage
		}
	}
	e.do(auth.Viewer, "GET", "/api/v1/advisories/GO-2022-0247", nil).json(t, &d)
	if d.ID != "GO-2022-0247" || len(d.Records) != 1 || len(d.Records[0].Affected) == 0 {
		t.Fatalf("detail: %+v", d)
	}
	// Asked by the CVE people search for, the page is named by it; the
	// GO record is its alias and its record.
	e.do(auth.Viewer, "GET", "/api/v1/advisories/CVE-2021-38297", nil).json(t, &d)
	if d.ID != "CVE-2021-38297" || len(d.Aliases) != 1 || d.Aliases[0] != "GO-2022-0247" || d.Records[0].ID != "GO-2022-0247" {
		t.Fatalf("alias lookup: %+v", d.ID)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/advisories/NOPE-0000", nil), 404, `"NOPE-0000"`)

	// Packages and scans.
	var pkg packageOut
	e.do(auth.Viewer, "GET", "/api/v1/packages?purl="+url.QueryEscape("pkg:golang/toolchain@1.16.0"), nil).json(t, &pkg)
	found := false
	for _, f := range pkg.Findings {
		found = found || f.ID == "CVE-2021-38297" || f.ID == "GO-2022-0247"
	}
	if !found {
		t.Fatalf("package findings lack GO-2022-0247: %+v", pkg)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/packages?purl=django", nil), 400, "package URL")
	res = e.do(auth.Viewer, "POST", "/api/v1/scan", scanRequest{PURLs: []string{"pkg:golang/toolchain@1.16.0", "pkg:cargo/definitely-not-a-crate@1.0.0"}})
	wantStatus(t, res, 200)
	var doc struct {
		Schema     string
		Components []struct {
			PURL     string
			Findings []struct{ ID string }
		}
	}
	res.json(t, &doc)
	if doc.Schema != "vulngate.scan/v1" || len(doc.Components) != 2 || len(doc.Components[0].Findings) == 0 || len(doc.Components[1].Findings) != 0 {
		t.Fatalf("scan: %s", res.body)
	}
	wantProblem(t, e.do(auth.Viewer, "POST", "/api/v1/scan", scanRequest{PURLs: []string{"django"}}), 400, `purls[0] "django"`)
	wantProblem(t, e.do(auth.Viewer, "POST", "/api/v1/scan", scanRequest{}), 400, "at least one")
	// Any file vulngate reads goes through the same reader as the CLI: a
	// go.mod by its name, or by a forced type; the go line is the stdlib.
	gomod := "module example.com/app\n\ngo 1.16\n\nrequire github.com/pkg/errors v0.9.1\n"
	for _, q := range []string{"?name=go.mod", "?type=go.mod"} {
		res = e.raw(auth.Viewer, "POST", "/api/v1/scan"+q, "application/octet-stream", gomod)
		wantStatus(t, res, 200)
		var up struct {
			Components []struct {
				PURL         string
				Relationship string
				Location     struct {
					File string
					Line int
				}
				Upgrade  *struct{ Version, Step string }
				Findings []struct {
					ID      string
					Matched []string
				}
			}
		}
		res.json(t, &up)
		if len(up.Components) != 2 || up.Components[0].PURL != "pkg:golang/stdlib@1.16" || len(up.Components[0].Findings) == 0 ||
			up.Components[0].Location.Line != 3 || up.Components[1].Relationship != "direct" {
			t.Fatalf("scan of a go.mod (%s): %s", q, res.body)
		}
		if u := up.Components[0].Upgrade; u == nil || u.Version == "" || len(up.Components[0].Findings[0].Matched) == 0 {
			t.Fatalf("scan of a go.mod (%s): no upgrade or matched range: %s", q, res.body)
		}
	}
	wantProblem(t, e.raw(auth.Viewer, "POST", "/api/v1/scan?name=Cargo.lock", "application/octet-stream", "[[package]]\nname = 1\n"), 400, "Cargo.lock: not a valid Cargo.lock")
	wantProblem(t, e.raw(auth.Viewer, "POST", "/api/v1/scan?type=nosuch", "application/octet-stream", gomod), 400, `unknown input type "nosuch"`)

	// A second mirror run is incremental and leaves the index as it was.
	e.do(auth.Admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil).json(t, &run)
	e.srv.Runner().Wait()
	var again statsOut
	e.do(auth.Viewer, "GET", "/api/v1/stats", nil).json(t, &again)
	if again.Advisories != stats.Advisories {
		t.Fatalf("index changed on an unchanged source: %d -> %d", stats.Advisories, again.Advisories)
	}

	// UI pages render for a viewer.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	form := url.Values{"username": {"viewer1"}, "password": {"viewer-password-1"}}
	lr, err := c.PostForm(e.http.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	lr.Body.Close()
	for path, want := range map[string]string{
		"/":                             `id="severity-chart"`,
		"/vulnerabilities?ecosystem=Go": "GO-",
		"/vulnerabilities/GO-2022-0247": "CVE-2021-38297",
		"/packages?purl=pkg:golang/toolchain@1.16.0": "Vulnerabilities (",
	} {
		r, err := c.Get(e.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, want %q in the page", path, r.StatusCode, want)
		}
	}
	if r, _ := c.Get(e.http.URL + "/admin/jobs"); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer on /admin/jobs: %d", r.StatusCode)
	}
}

func TestProbes(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.do("", "GET", "/healthz", nil), 200)
	wantStatus(t, e.do("", "GET", "/readyz", nil), 200)
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/nothing-here", nil), 404, "no such API route")
	e.st.Close()
	wantProblem(t, e.do("", "GET", "/readyz", nil), 503, "not ready")
}

func TestAssessmentExpiryJob(t *testing.T) {
	e := newEnv(t)
	var run runOut
	e.do(auth.Admin, "POST", "/api/v1/jobs/assessment-expiry/runs", nil).json(t, &run)
	e.srv.Runner().Wait()
	e.do(auth.Viewer, "GET", fmt.Sprintf("/api/v1/jobs/assessment-expiry/runs/%d", run.ID), nil).json(t, &run)
	if run.Status != "succeeded" || !strings.Contains(*run.Log, "sweep done") {
		t.Fatalf("expiry run: %+v", run)
	}
}
