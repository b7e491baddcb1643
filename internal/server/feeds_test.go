package server

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/source/ossindex/ossindextest"
	"github.com/vulngate/vulngate/internal/store"
)

// npmPackage publishes name@versions on up: a packument and tarballs.
func npmPackage(t *testing.T, up *feedtest.Upstream, name string, versions ...string) {
	t.Helper()
	vs := map[string]any{}
	for _, v := range versions {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		body := `{"name":"` + name + `","version":"` + v + `"}`
		tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
		tw.Close()
		gz.Close()
		p := "/" + name + "/-/" + name + "-" + v + ".tgz"
		up.Put(p, "application/octet-stream", buf.Bytes())
		vs[v] = map[string]any{"name": name, "version": v, "dist": map[string]any{"tarball": up.URL + p}}
	}
	doc, _ := json.Marshal(map[string]any{"name": name, "dist-tags": map[string]string{"latest": versions[len(versions)-1]}, "versions": vs})
	up.Put("/"+name, "application/json", doc)
}

// get fetches a feed URL with extra headers.
func (e *testEnv) get(path string, header ...string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.http.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// form posts a form as role.
func (e *testEnv) form(role auth.Role, path string, v url.Values) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.http.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.send(req, role, false)
}

func TestFeedsAPI(t *testing.T) {
	e := newEnv(t)
	up := feedtest.NewUpstream(t)
	npmPackage(t, up, "left-pad-vg", "1.0.0", "1.0.1")

	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm"}), 422, "upstream")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "cargo", "upstream": up.URL}), 422, `"cargo"`)
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "Bad Name", "type": "npm", "upstream": up.URL}), 422, "invalid feed name")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm", "upstream": up.URL, "assessors": []string{"nobody"}}), 422, `"nobody"`)
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm", "upstream": up.URL, "sources": []string{"nvd"}}), 422, "nvd")
	res := e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "NPM", "upstream": up.URL + "/", "assessors": []string{"assessor1"},
		"unassessed": "warn", "metadata_ttl_seconds": 60, "description": "<b>team</b> feed"})
	wantStatus(t, res, 201)
	var f feedJSON
	res.json(t, &f)
	if f.Name != "npmf" || f.Type != "npm" || f.Upstream != up.URL || f.Unassessed != "warn" || f.TTL != 60 || f.Path != "/feeds/npmf/" ||
		strings.Join(f.Sources, ",") != "osv" || strings.Join(f.Assessors, ",") != "assessor1" || res.header.Get("Location") != "/api/v1/feeds/npmf" {
		t.Fatalf("created: %+v", f)
	}
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm", "upstream": up.URL}), 409, "already exists")
	// The grant is the user's: the assessor may now assess in scope feed:npmf.
	u, err := e.st.UserByID(t.Context(), e.ids[auth.Assessor])
	if err != nil {
		t.Fatal(err)
	}
	if p := auth.PrincipalOf(u); !p.CanAssess("feed:npmf") || p.CanAssess("feed:other") {
		t.Fatalf("grants after create: %+v", u.Grants)
	}

	// Any role reads.
	var list []feedJSON
	e.do(auth.Viewer, "GET", "/api/v1/feeds", nil).json(t, &list)
	if len(list) != 1 || list[0].Name != "npmf" {
		t.Fatalf("list: %+v", list)
	}
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf", nil), 200)
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/feeds/nope", nil), 404, `"nope"`)
	wantProblem(t, e.do(auth.Assessor, "PATCH", "/api/v1/feeds/npmf", map[string]any{"filter_blocked": true}), 403, "admin")

	// Update: absent fields are kept; name and type are fixed.
	res = e.do(auth.Admin, "PATCH", "/api/v1/feeds/npmf", map[string]any{"filter_blocked": true, "assessors": []string{}})
	wantStatus(t, res, 200)
	res.json(t, &f)
	if !f.Filter || f.Unassessed != "warn" || f.TTL != 60 || len(f.Assessors) != 0 {
		t.Fatalf("updated: %+v", f)
	}
	wantProblem(t, e.do(auth.Admin, "PATCH", "/api/v1/feeds/npmf", map[string]any{"type": "pypi"}), 422, "type")
	wantProblem(t, e.do(auth.Admin, "PATCH", "/api/v1/feeds/npmf", map[string]any{"metadata_ttl_seconds": -1}), 422, "metadata_ttl_seconds")
	wantProblem(t, e.do(auth.Admin, "PATCH", "/api/v1/feeds/nope", map[string]any{"filter_blocked": true}), 404, `"nope"`)

	// Downloads are decided, audited and tracked.
	wantStatus(t, e.get("/feeds/npmf/left-pad-vg"), 200)
	for range 3 {
		wantStatus(t, e.get("/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.0.tgz"), 200)
	}
	wantStatus(t, e.get("/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.1.tgz"), 200)
	e.srv.feeds.Env().Gate.Flush()
	var dp feedDecisionPage
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/decisions?limit=2", nil).json(t, &dp)
	if dp.Total != 4 || len(dp.Items) != 2 || dp.Items[0].PURL != "pkg:npm/left-pad-vg@1.0.1" || dp.Items[0].Effect != "warn" {
		t.Fatalf("decisions: %+v", dp)
	}
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/decisions?limit=2&offset=2", nil).json(t, &dp)
	if dp.Total != 4 || len(dp.Items) != 2 || dp.Items[1].PURL != "pkg:npm/left-pad-vg@1.0.0" {
		t.Fatalf("decisions page 2: %+v", dp)
	}
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/decisions?effect=block", nil).json(t, &dp)
	if dp.Total != 0 || dp.Items == nil {
		t.Fatalf("decisions filtered: %+v", dp)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/decisions?limit=0", nil), 422, "limit")
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/decisions?effect=maybe", nil), 422, "effect")
	var pp feedPackagePage
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/packages", nil).json(t, &pp)
	if pp.Total != 2 || pp.Items[0].PURL != "pkg:npm/left-pad-vg@1.0.0" || pp.Items[0].Downloads != 3 || pp.Items[0].Decision != "warn" {
		t.Fatalf("packages: %+v", pp)
	}

	// Delete: cache, tracking and grants go, the audit stays readable.
	e.do(auth.Admin, "PATCH", "/api/v1/feeds/npmf", map[string]any{"assessors": []string{"assessor1"}})
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/feeds/npmf", nil), 204)
	wantProblem(t, e.do(auth.Admin, "DELETE", "/api/v1/feeds/npmf", nil), 404, `"npmf"`)
	if res := e.get("/feeds/npmf/left-pad-vg"); res.status != 404 {
		t.Fatalf("deleted feed still served: %d", res.status)
	}
	u, _ = e.st.UserByID(t.Context(), e.ids[auth.Assessor])
	if len(u.Grants) != 0 {
		t.Fatalf("grants of a deleted feed kept: %+v", u.Grants)
	}
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/decisions", nil).json(t, &dp)
	if dp.Total != 4 {
		t.Fatalf("audit of a deleted feed: %+v", dp)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/packages", nil), 404, `"npmf"`)
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/feeds/never/decisions", nil), 404, `"never"`)
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestFeedIgnoresClientCredentials: package clients send credentials meant
// for other registries; feeds serve them anyway and never log them, while
// the API still refuses a bad key.
func TestFeedIgnoresClientCredentials(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	up := feedtest.NewUpstream(t)
	npmPackage(t, up, "left-pad-vg", "1.0.0")
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm", "upstream": up.URL}), 201)
	const secret = "npm_S3cretTokenNotForVulngate"
	for _, h := range []string{"Bearer " + secret, "Basic " + secret, secret} {
		for _, p := range []string{"/feeds/npmf/left-pad-vg", "/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.0.tgz"} {
			if res := e.get(p, "Authorization", h); res.status != 200 {
				t.Fatalf("%s with Authorization %q: %d %s", p, h[:6], res.status, res.body)
			}
		}
	}
	if res := e.get("/api/v1/feeds", "Authorization", "Bearer "+secret); res.status != 401 {
		t.Fatalf("API with a bogus key: %d", res.status)
	}
	e.srv.feeds.Env().Gate.Flush()
	if strings.Contains(logs.String(), "S3cretToken") {
		t.Fatal("a client's credentials reached the log")
	}
	if !strings.Contains(logs.String(), "/feeds/npmf/left-pad-vg") {
		t.Fatal("feed requests are not logged at all; the check above proves nothing")
	}
}

// TestShutdownWritesFeedAudit: the audit rows queued at shutdown are
// written.
func TestShutdownWritesFeedAudit(t *testing.T) {
	e := newEnv(t)
	up := feedtest.NewUpstream(t)
	npmPackage(t, up, "left-pad-vg", "1.0.0")
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm", "upstream": up.URL}), 201)
	wantStatus(t, e.get("/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.0.tgz"), 200)
	e.http.Close()
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds, err := e.st.FeedDecisions(context.Background(), "npmf", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].PURL != "pkg:npm/left-pad-vg@1.0.0" {
		t.Fatalf("audit after shutdown: %+v", ds)
	}
	// A late download after the gate closed is refused (it could not be
	// audited), not a panic.
	if _, err := e.srv.feeds.Env().Gate.Check(context.Background(), mustFeed(t, e, "npmf"), mustPkg(t, "pkg:npm/left-pad-vg@1.0.0"), "test"); !errors.Is(err, feed.ErrAuditUnavailable) {
		t.Fatalf("a download checked after the gate closed: %v", err)
	}
}

func mustFeed(t *testing.T, e *testEnv, name string) store.Feed {
	t.Helper()
	f, err := e.st.FeedByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustPkg(t *testing.T, p string) purl.Package {
	t.Helper()
	pkg, err := purl.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// bucket writes an OSV bucket with npm records into dir.
func bucket(t *testing.T, dir string, records ...string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "npm"), 0o755)
	os.WriteFile(filepath.Join(dir, "ecosystems.txt"), []byte("npm\n"), 0o644)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, r := range records {
		var v struct{ ID string }
		json.Unmarshal([]byte(r), &v)
		w, _ := zw.Create(v.ID + ".json")
		w.Write([]byte(r))
	}
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "npm", "all.zip"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func osvRecord(id, pkg, fixed, vector string) string {
	return fmt.Sprintf(`{"schema_version":"1.6.0","id":%q,"modified":"2025-01-02T00:00:00Z","published":"2025-01-01T00:00:00Z","summary":"Test advisory for %s",
"severity":[{"type":"CVSS_V3","score":%q}],
"affected":[{"package":{"ecosystem":"npm","name":%q},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":%q}]}]}]}`, id, pkg, vector, pkg, fixed)
}

const critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" // 9.8

func (e *testEnv) runMirror() {
	e.t.Helper()
	res := e.do(auth.Admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil)
	wantStatus(e.t, res, http.StatusAccepted)
	var run runOut
	res.json(e.t, &run)
	e.srv.Runner().Wait()
	var full runOut
	e.do(auth.Viewer, "GET", fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d", run.ID), nil).json(e.t, &full)
	if full.Status != "succeeded" {
		e.t.Fatalf("mirror run: %+v %s", full, *full.Log)
	}
}

// TestFeedReevaluatedAfterMirror: a tracked package that a newly mirrored
// Critical advisory affects is auto-assessed Blocked by the mirror job,
// shows up in the findings, and its next download is refused.
func TestFeedReevaluatedAfterMirror(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	bucket(t, dir, osvRecord("GHSA-aaaa-aaaa-0001", "other-vg", "2.0.0", critical))
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: "file://" + dir, Ecosystems: []string{"npm"}}), 200)
	e.runMirror()

	up := feedtest.NewUpstream(t)
	// 1.0.1 fixes what comes next, but the upstream publishes 1.0.2 only.
	npmPackage(t, up, "left-pad-vg", "1.0.0", "1.0.2")
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm", "upstream": up.URL, "unassessed": "allow"}), 201)
	tgz := "/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.0.tgz"
	wantStatus(t, e.get(tgz), 200)
	e.srv.feeds.Env().Gate.Flush()

	before, err := e.st.GateVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	bucket(t, dir, osvRecord("GHSA-aaaa-aaaa-0001", "other-vg", "2.0.0", critical), osvRecord("GHSA-bbbb-bbbb-0002", "left-pad-vg", "1.0.1", critical))
	e.runMirror()
	// Other instances' gates poll this digest: the mirror and the
	// auto-assessment change it.
	if after, _ := e.st.GateVersion(t.Context()); after == before {
		t.Fatal("the gate version did not change after new advisories and assessments")
	}

	// Before anyone downloads again: the finding is recorded in the feed's
	// scope, auto-assessed Blocked, and the tracked package is blocked.
	var fp findingPage
	e.do(auth.Viewer, "GET", "/api/v1/findings?feed=npmf", nil).json(t, &fp)
	if fp.Total != 1 || fp.Items[0].VulnID != "GHSA-bbbb-bbbb-0002" || fp.Items[0].Assessment == nil || fp.Items[0].Assessment.Type != "Blocked" {
		t.Fatalf("findings after the mirror: %+v", fp)
	}
	var pp feedPackagePage
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/packages", nil).json(t, &pp)
	if pp.Total != 1 || pp.Items[0].Decision != "block" {
		t.Fatalf("tracked package after the mirror: %+v", pp)
	}
	// Nobody read the version list yet: the advice is the advisory's fix.
	if u := pp.Items[0].Upgrade; u == nil || u.Version != "1.0.1" || u.From != "advisories" || u.Text != "fixed in 1.0.1 (patch)" {
		t.Errorf("upgrade advice before the version list is cached: %+v", u)
	}
	res := e.get(tgz)
	if res.status != 403 || !strings.Contains(string(res.body), "GHSA-bbbb-bbbb-0002") || !strings.Contains(string(res.body), "Upgrade to 1.0.2 (patch step)") {
		t.Fatalf("download after the mirror: %d %s", res.status, res.body)
	}
	// The refusal read the list from the upstream: now the advice is
	// the version the upstream publishes.
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/packages", nil).json(t, &pp)
	if u := pp.Items[0].Upgrade; u == nil || u.Version != "1.0.2" || u.Step != "patch" || u.From != "published" || u.Fixes != 1 || len(u.Unfixed) != 0 ||
		!strings.HasPrefix(u.Detail, "Upgrade to 1.0.2 (patch step): the nearest version published by the upstream") {
		t.Errorf("upgrade advice after the refusal: %+v", u)
	}
	// The feed page shows it.
	e.srv.feeds.Env().Gate.Flush()
	page := e.do(auth.Viewer, "GET", "/admin/feeds/npmf", nil)
	wantStatus(t, page, 200)
	for _, want := range []string{"GHSA-bbbb-bbbb-0002", `/packages?purl=pkg%3anpm%2fleft-pad-vg%401.0.0&amp;scope=feed%3anpmf`, `eff-block`, `upgrade to 1.0.2 (patch)</div>`} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("feed page lacks %q:\n%s", want, page.body)
		}
	}
}

// TestFeedOSSIndex: a feed with source ossindex asks OSS Index as
// configured in the settings.
func TestFeedOSSIndex(t *testing.T) {
	e := newEnv(t)
	const token = "oss-token-for-tests"
	fake := ossindextest.New(t, "me@example.com", token)
	fake.Add("pkg:npm/left-pad-vg@1.0.0", `[{"id":"sonatype-2025-0001","displayName":"CVE-2025-0001","title":"Remote code execution","cvssScore":9.8,"cvssVector":"`+critical+`","cve":"CVE-2025-0001"}]`)
	up := feedtest.NewUpstream(t)
	npmPackage(t, up, "left-pad-vg", "1.0.0", "1.0.1")
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm", "upstream": up.URL, "sources": []string{"ossindex"}, "unassessed": "allow"}), 201)

	// Not configured: not checked, the feed's policy (allow) applies.
	wantStatus(t, e.get("/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.0.tgz"), 200)
	e.srv.feeds.Env().Gate.Flush()
	var dp feedDecisionPage
	e.do(auth.Viewer, "GET", "/api/v1/feeds/npmf/decisions", nil).json(t, &dp)
	if dp.Total != 1 || !strings.Contains(dp.Items[0].Reasons, "not checked by OSS Index") {
		t.Fatalf("decision without OSS Index: %+v", dp)
	}

	before, _ := e.st.GateVersion(t.Context())
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/ossindex", map[string]any{"enabled": true, "base_url": fake.URL, "username": "me@example.com", "token": token}), 200)
	// Gates drop cached decisions when the settings change (at their next
	// poll); a re-evaluation (as after a mirror run) decides at once.
	if after, _ := e.st.GateVersion(t.Context()); after == before {
		t.Fatal("the gate version did not change with the OSS Index settings")
	}
	if _, err := e.srv.feeds.Reevaluate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	res := e.get("/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.0.tgz")
	if res.status != 403 || !strings.Contains(string(res.body), "CVE-2025-0001") {
		t.Fatalf("download with OSS Index: %d %s", res.status, res.body)
	}
	wantStatus(t, e.get("/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.1.tgz"), 200)
	if fake.Requests() == 0 {
		t.Fatal("OSS Index was not asked")
	}
}

// TestFeedPages creates, changes and deletes a feed through the UI;
// text is escaped.
func TestFeedPages(t *testing.T) {
	e := newEnv(t)
	up := feedtest.NewUpstream(t)
	form := url.Values{"name": {"pypi-main"}, "type": {"pypi"}, "upstream": {up.URL + "/simple"}, "sources": {"osv", "ossindex"},
		"unassessed": {"block"}, "metadata_ttl": {"10m"}, "assessors": {"assessor1"}, "description": {`<script>alert(1)</script>`}}
	res := e.form(auth.Admin, "/admin/feeds", form)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/admin/feeds/pypi-main?ok=feedcreated" {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	f, err := e.st.FeedByName(t.Context(), "pypi-main")
	if err != nil || f.Type != "pypi" || f.Unassessed != "block" || f.MetadataTTL.Minutes() != 10 || len(f.Sources) != 2 {
		t.Fatalf("created: %+v %v", f, err)
	}
	// Bad input comes back on the form with the message.
	bad := url.Values{"name": {"x"}, "type": {"npm"}, "upstream": {"ftp://nope"}, "sources": {"osv"}}
	res = e.form(auth.Admin, "/admin/feeds", bad)
	if res.status != 422 || !strings.Contains(string(res.body), "ftp://nope") {
		t.Fatalf("bad create: %d", res.status)
	}
	if res := e.form(auth.Viewer, "/admin/feeds", form); res.status != 403 {
		t.Fatalf("viewer create: %d", res.status)
	}
	for _, role := range []auth.Role{auth.Viewer, auth.Admin} {
		page := e.do(role, "GET", "/admin/feeds/pypi-main", nil)
		wantStatus(t, page, 200)
		body := string(page.body)
		if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Fatal("description not escaped")
		}
		if !strings.Contains(body, "/feeds/pypi-main/simple/") {
			t.Error("no client set-up on the feed page")
		}
		if hasEdit := strings.Contains(body, `id="feed-edit"`); hasEdit != (role == auth.Admin) {
			t.Errorf("%s: edit form shown: %v", role, hasEdit)
		}
	}
	list := e.do(auth.Viewer, "GET", "/admin/feeds", nil)
	if list.status != 200 || !strings.Contains(string(list.body), `href="/admin/feeds/pypi-main"`) || strings.Contains(string(list.body), `id="feed-create"`) {
		t.Fatalf("list as viewer: %d", list.status)
	}
	res = e.form(auth.Admin, "/admin/feeds/pypi-main", url.Values{"upstream": {up.URL + "/simple"}, "sources": {"osv"}, "unassessed": {"inherit"}, "metadata_ttl": {"1h"}, "filter_blocked": {"1"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	f, _ = e.st.FeedByName(t.Context(), "pypi-main")
	as, _ := e.st.FeedAssessors(t.Context(), "pypi-main")
	if !f.FilterBlocked || f.Unassessed != "" || f.MetadataTTL.Hours() != 1 || len(as) != 0 || f.Type != "pypi" {
		t.Fatalf("updated: %+v assessors %v", f, as)
	}
	if res := e.form(auth.Admin, "/admin/feeds/pypi-main", url.Values{"upstream": {up.URL}, "sources": {"osv"}, "metadata_ttl": {"soon"}}); res.status != 422 {
		t.Fatalf("bad TTL: %d", res.status)
	}
	if res := e.form(auth.Admin, "/admin/feeds/pypi-main/delete", nil); res.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.status)
	}
	if res := e.do(auth.Viewer, "GET", "/admin/feeds/pypi-main", nil); res.status != 404 {
		t.Fatalf("deleted feed page: %d", res.status)
	}
}
