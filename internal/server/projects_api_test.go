package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/store"
)

// grantee adds an account holding grants (permission, scope pairs) with an
// API key usable as e.do(name, ...).
func (e *testEnv) grantee(name string, role auth.Role, grants ...store.Grant) {
	e.t.Helper()
	ctx := context.Background()
	hash, _ := auth.HashPassword(name+"-password-1", fastArgon2)
	id, err := e.st.CreateUser(ctx, store.User{Username: name, Role: string(role), PasswordHash: hash, Grants: grants})
	if err != nil {
		e.t.Fatal(err)
	}
	key, prefix, khash := auth.NewAPIKey()
	if _, err := e.st.CreateAPIKey(ctx, id, "test", prefix, khash); err != nil {
		e.t.Fatal(err)
	}
	e.keys[auth.Role(name)] = key
}

// sendBody sends a raw body with a content type as role.
func (e *testEnv) sendBody(role auth.Role, method, path, ctype string, body []byte) resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return e.send(req, role, true)
}

// multipartFile builds a multipart form with one "file" part.
func multipartFile(name string, data []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// Two Go packages with advisories in the corpus, and one without.
const webPURLs = "pkg:golang/toolchain@1.16.0\npkg:golang/stdlib@1.20.0\npkg:golang/example.com/clean@v1.0.0\n"

// TestProjectUploadGrants: who may upload to (and delete versions of) a
// project. Admins may; a non-admin of any role needs the upload grant of
// project:NAME (or "*"); an assess grant is not enough.
func TestProjectUploadGrants(t *testing.T) {
	e := newEnv(t)
	e.mirror("Go")
	e.grantee("uploader", auth.Viewer)
	e.grantee("everywhere", auth.Viewer, store.Grant{Permission: project.PermUpload, Scope: auth.ScopeAll})
	e.grantee("assessor-web", auth.Assessor, store.Grant{Permission: auth.PermAssess, Scope: "project:web"})
	e.grantee("other-uploader", auth.Viewer)
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/projects", map[string]any{"name": "web", "uploaders": []string{"uploader"}, "assessors": []string{"assessor-web"}}), 201)
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/projects", map[string]any{"name": "api", "uploaders": []string{"other-uploader"}}), 201)
	var rep project.ProjectReport
	e.do(auth.Viewer, "GET", "/api/v1/projects/web", nil).json(t, &rep)
	if !slices.Equal(rep.Uploaders, []string{"uploader"}) || !slices.Equal(rep.Assessors, []string{"assessor-web"}) {
		t.Fatalf("grant holders: %+v", rep)
	}

	put := func(who auth.Role, name, version string) resp {
		return e.sendBody(who, "PUT", "/api/v1/projects/"+name+"/versions/"+version+"?filename=purls.txt", "text/plain", []byte(webPURLs))
	}
	// The holder of project:web's upload grant uploads, as a viewer.
	res := put("uploader", "web", "1.0")
	wantStatus(t, res, 200)
	var up project.UploadResult
	res.json(t, &up)
	if up.Components != 3 || up.Findings == 0 {
		t.Fatalf("upload: %+v", up)
	}
	var v project.VersionReport
	e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/1.0", nil).json(t, &v)
	if v.UploadedBy != "uploader" {
		t.Fatalf("uploaded by %q", v.UploadedBy)
	}
	// Without the grant of this project: refused, and nothing stored.
	for _, who := range []auth.Role{auth.Viewer, auth.Assessor, "assessor-web", "other-uploader"} {
		wantProblem(t, put(who, "web", "2.0"), 403, "may not upload to project web")
		wantProblem(t, e.do(who, "DELETE", "/api/v1/projects/web/versions/1.0", nil), 403, "may not delete versions of project web")
	}
	wantProblem(t, put("uploader", "api", "1.0"), 403, "upload grant for project:api")
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/2.0", nil), 404)
	// The same through the page's upload form.
	form := func(who auth.Role, name, version string) resp {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("project", name)
		mw.WriteField("version", version)
		fw, _ := mw.CreateFormFile("file", "purls.txt")
		fw.Write([]byte(webPURLs))
		mw.Close()
		return e.sendBody(who, "POST", "/projects/upload", mw.FormDataContentType(), buf.Bytes())
	}
	if res := form("uploader", "web", "1.5"); res.status != 200 || !strings.Contains(string(res.body), `id="version-name">1.5<`) {
		t.Fatalf("form upload by the grant holder: %d", res.status)
	}
	if res := form(auth.Viewer, "web", "1.6"); res.status != 403 || !strings.Contains(string(res.body), "may not upload to project web") {
		t.Fatalf("form upload without the grant: %d", res.status)
	}
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/1.6", nil), 404)
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/projects/web/versions/1.5", nil), 204)

	// A "*" upload grant covers every project, and may create one.
	wantStatus(t, put("everywhere", "api", "1.0"), 200)
	wantStatus(t, put("everywhere", "new-service", "0.1"), 200)
	// Admins always may.
	wantStatus(t, put(auth.Admin, "web", "2.0"), 200)

	// The holder deletes a version of its project.
	wantStatus(t, e.do("uploader", "DELETE", "/api/v1/projects/web/versions/2.0", nil), 204)
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/2.0", nil), 404)

	// Changing the uploaders takes the grant away; deleting the project
	// removes the grants of its scope.
	wantStatus(t, e.do(auth.Admin, "PATCH", "/api/v1/projects/web", map[string]any{"uploaders": []string{}}), 200)
	wantProblem(t, put("uploader", "web", "3.0"), 403, "may not upload")
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/projects/api", nil), 204)
	wantProblem(t, put("other-uploader", "api", "1.0"), 403, "may not upload")
}

func TestProjectAPI(t *testing.T) {
	e := newEnv(t)
	e.mirror("Go")

	// Create: validation, conflicts, unknown fields and users.
	res := e.do(auth.Admin, "POST", "/api/v1/projects", map[string]any{"name": "web", "description": "the shop", "tags": []string{"go", "public"}})
	wantStatus(t, res, 201)
	if loc := res.header.Get("Location"); loc != "/api/v1/projects/web" {
		t.Fatalf("location %q", loc)
	}
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/projects", map[string]any{"name": "web"}), 409, "web")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/projects", map[string]any{"name": "../x"}), 422, "project name")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/projects", map[string]any{"name": "x", "owner": "me"}), 400, "unknown field")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/projects", map[string]any{"name": "x", "uploaders": []string{"nobody"}}), 422, "no such user")
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/x", nil), 404)
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/projects", map[string]any{"name": "x", "tags": []string{"bad tag"}}), 422, "tag")

	// Update.
	var rep project.ProjectReport
	res = e.do(auth.Admin, "PATCH", "/api/v1/projects/web", map[string]any{"description": "the web shop", "tags": []string{"go"}})
	wantStatus(t, res, 200)
	res.json(t, &rep)
	if rep.Description != "the web shop" || !slices.Equal(rep.Tags, []string{"go"}) {
		t.Fatalf("patched: %+v", rep)
	}
	wantProblem(t, e.do(auth.Admin, "PATCH", "/api/v1/projects/web", map[string]any{"name": "shop"}), 400, "cannot be renamed")
	wantStatus(t, e.do(auth.Admin, "PATCH", "/api/v1/projects/nope", map[string]any{"description": "x"}), 404)

	// Upload: raw body, multipart; bad input changes nothing.
	wantStatus(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/web/versions/1.0?filename=purls.txt", "text/plain", []byte(webPURLs)), 200)
	ct, body := multipartFile("purls.txt", []byte("pkg:golang/toolchain@1.16.0\n"))
	res = e.sendBody(auth.Admin, "PUT", "/api/v1/projects/web/versions/1.1", ct, body)
	wantStatus(t, res, 200)
	var up project.UploadResult
	res.json(t, &up)
	if up.Components != 1 || up.Format == "" {
		t.Fatalf("multipart upload: %+v", up)
	}
	wantProblem(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/web/versions/1.1?filename=bom.json", "application/json", []byte(`{"bomFormat": 3`)), 422, "bom.json")
	wantProblem(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/web/versions/1.1", "multipart/form-data; boundary=x", []byte("--x--\r\n")), 400, "file")
	wantProblem(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/web/versions/bad%20version", "text/plain", []byte(webPURLs)), 422, "version")
	var v project.VersionReport
	e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/1.1?all=true", nil).json(t, &v)
	if len(v.Components) != 1 || v.Components[0].PURL != "pkg:golang/toolchain@1.16.0" {
		t.Fatalf("1.1 after failed re-uploads: %+v", v.Components)
	}

	// The version: vulnerable components only unless all=true.
	e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/1.0", nil).json(t, &v)
	if len(v.Components) != 2 || v.Counts.Components != 3 || v.Counts.Findings == 0 {
		t.Fatalf("version 1.0: %d components, counts %+v", len(v.Components), v.Counts)
	}
	for _, c := range v.Components {
		if len(c.Findings) == 0 || c.Decision == "" || c.Findings[0].Assessment == "" {
			t.Fatalf("component %+v", c)
		}
	}
	e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/1.0?all=true", nil).json(t, &v)
	if len(v.Components) != 3 {
		t.Fatalf("all components: %d", len(v.Components))
	}
	// The project page's findings filter offers every assessment type.
	types, err := e.srv.assess.Types(t.Context())
	if err != nil || len(types) == 0 {
		t.Fatalf("types: %v %v", types, err)
	}
	res = e.do(auth.Viewer, "GET", "/projects/web?assessment="+types[0].Name, nil)
	wantStatus(t, res, 200)
	for i, ty := range types {
		want := `<option value="` + ty.Name + `">`
		if i == 0 {
			want = `<option value="` + ty.Name + `" selected>`
		}
		if !strings.Contains(string(res.body), want) {
			t.Errorf("project page lacks %s", want)
		}
	}
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/9.9", nil), 404)

	// Portfolio: filters and sorting.
	wantStatus(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/cli/versions/1?filename=p.txt&tags=tools", "text/plain", []byte("pkg:golang/example.com/clean@v1.0.0\n")), 200)
	var page project.PortfolioPage
	e.do(auth.Viewer, "GET", "/api/v1/projects?sort=findings&desc=true", nil).json(t, &page)
	if len(page.Projects) != 2 || page.Projects[0].Name != "web" || page.Projects[0].Versions != 2 || page.Projects[0].Counts.Findings == 0 || page.Totals.Findings != page.Projects[0].Counts.Findings {
		t.Fatalf("portfolio: %+v", page)
	}
	e.do(auth.Viewer, "GET", "/api/v1/projects?tag=tools", nil).json(t, &page)
	if len(page.Projects) != 1 || page.Projects[0].Name != "cli" {
		t.Fatalf("tag filter: %+v", page.Projects)
	}
	e.do(auth.Viewer, "GET", "/api/v1/projects?q=SHOP", nil).json(t, &page)
	if len(page.Projects) != 1 || page.Projects[0].Name != "web" {
		t.Fatalf("q filter: %+v", page.Projects)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/projects?sort=size", nil), 400, "sort")

	// Exports, every format.
	for _, f := range project.ExportFormats {
		res := e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/1.0/export?format="+f, nil)
		wantStatus(t, res, 200)
		if cd := res.header.Get("Content-Disposition"); !strings.Contains(cd, "web-1.0.") {
			t.Fatalf("%s: disposition %q", f, cd)
		}
		if f == "csv" {
			recs, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
			if err != nil || len(recs) < 2 {
				t.Fatalf("csv: %v %d rows", err, len(recs))
			}
		} else if !json.Valid(res.body) {
			t.Fatalf("%s export is not JSON", f)
		}
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/1.0/export?format=pdf", nil), 400, "format")
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web/versions/9.9/export", nil), 404)

	// Comparison: 1.1 keeps toolchain only, so stdlib's findings are fixed.
	var d project.Diff
	e.do(auth.Viewer, "GET", "/api/v1/projects/web/diff?from=1.0&to=1.1", nil).json(t, &d)
	if len(d.Fixed) == 0 || len(d.Unchanged) == 0 || len(d.New) != 0 {
		t.Fatalf("diff: %d new, %d fixed, %d unchanged", len(d.New), len(d.Fixed), len(d.Unchanged))
	}
	for _, x := range d.Fixed {
		if !strings.Contains(x.Package, "stdlib") {
			t.Fatalf("fixed outside stdlib: %+v", x)
		}
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web/diff?from=1.0", nil), 400, "from and to")
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web/diff?from=1.0&to=9.9", nil), 404)

	// Trend: the snapshot job records today's portfolio.
	var tr trendOut
	e.do(auth.Viewer, "GET", "/api/v1/portfolio/trend", nil).json(t, &tr)
	if tr.Days != 30 || len(tr.Snapshots) != 0 {
		t.Fatalf("trend before a snapshot: %+v", tr)
	}
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/jobs/"+JobPortfolioSnapshot+"/runs", nil), http.StatusAccepted)
	e.srv.Runner().Wait()
	e.do(auth.Viewer, "GET", "/api/v1/portfolio/trend?days=7", nil).json(t, &tr)
	if tr.Days != 7 || len(tr.Snapshots) != 1 || tr.Snapshots[0].Projects != 2 || tr.Snapshots[0].Findings != page.Totals.Findings {
		t.Fatalf("trend: %+v", tr)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/portfolio/trend?days=0", nil), 400, "days")

	// Deletes: a version, then the project; the other project stays.
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/projects/web/versions/1.1", nil), 204)
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/projects/web/versions/1.1", nil), 404)
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/projects/web", nil), 204)
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/web", nil), 404)
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/projects/web", nil), 404)
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/projects/cli/versions/1?all=true", nil), 200)
	var fs struct {
		Total int `json:"total"`
	}
	e.do(auth.Viewer, "GET", "/api/v1/findings?scope=project:web", nil).json(t, &fs)
	if fs.Total != 0 {
		t.Fatalf("findings of the deleted project's scope: %d", fs.Total)
	}
}

func TestNotificationAPI(t *testing.T) {
	e := newEnv(t)
	secret := "hook-secret-1"
	in := notify.RuleInput{Name: "hook", Event: notify.EventNewFinding, Scope: "project:*", MinSeverity: "high", Kind: notify.KindWebhook, URL: "http://127.0.0.1:1/hook", Secret: &secret}
	res := e.do(auth.Admin, "POST", "/api/v1/notifications/rules", in)
	wantStatus(t, res, 201)
	if strings.Contains(string(res.body), secret) {
		t.Fatal("the webhook secret is returned")
	}
	var rule notify.Rule
	res.json(t, &rule)
	if rule.ID == 0 || !rule.SecretSet || rule.MinSeverity != "HIGH" || !rule.Enabled || res.header.Get("Location") == "" {
		t.Fatalf("created rule: %+v", rule)
	}
	bad := in
	bad.Event = "finding.old"
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/notifications/rules", bad), 422, "event")
	bad = in
	bad.URL = "http://user:pw@127.0.0.1/hook"
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/notifications/rules", bad), 422, "without credentials")
	bad = in
	bad.Kind, bad.Recipients = notify.KindEmail, []string{"not an address"}
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/notifications/rules", bad), 422, "recipient")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/notifications/rules", map[string]any{"name": "x", "to": "y"}), 400, "unknown field")

	// Update: the secret is kept unless given; "" removes it.
	off := false
	upd := in
	upd.Secret, upd.Enabled = nil, &off
	path := res.header.Get("Location")
	res = e.do(auth.Admin, "PUT", path, upd)
	wantStatus(t, res, 200)
	res.json(t, &rule)
	if !rule.SecretSet || rule.Enabled {
		t.Fatalf("updated rule: %+v", rule)
	}
	empty := ""
	upd.Secret = &empty
	e.do(auth.Admin, "PUT", path, upd).json(t, &rule)
	if rule.SecretSet {
		t.Fatal("secret not removed")
	}
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/notifications/rules/999", upd), 404)
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/notifications/rules/x", upd), 400, "id")
	var list struct {
		Rules []notify.Rule `json:"rules"`
	}
	e.do(auth.Admin, "GET", "/api/v1/notifications/rules", nil).json(t, &list)
	if len(list.Rules) != 1 || list.Rules[0].Name != "hook" {
		t.Fatalf("rules: %+v", list)
	}
	wantStatus(t, e.do(auth.Admin, "POST", path+"/test", nil), 202)
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/notifications/rules/999/test", nil), 404)
	waitUntil(t, "the test delivery logged", func() bool {
		var log struct {
			Deliveries []deliveryJSON `json:"deliveries"`
		}
		e.do(auth.Admin, "GET", "/api/v1/notifications/deliveries", nil).json(t, &log)
		return len(log.Deliveries) == 1 && log.Deliveries[0].Event == notify.EventTest && log.Deliveries[0].Attempts > 0
	})
	wantStatus(t, e.do(auth.Admin, "DELETE", path, nil), 204)
	wantStatus(t, e.do(auth.Admin, "DELETE", path, nil), 404)

	// SMTP: the password is write-only and needs STARTTLS.
	var smtp notify.SMTPView
	e.do(auth.Admin, "GET", "/api/v1/notifications/smtp", nil).json(t, &smtp)
	if smtp.Host != "" {
		t.Fatalf("smtp before configuring: %+v", smtp)
	}
	pw := "smtp-password-1"
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/notifications/smtp", notify.SMTPInput{Host: "127.0.0.1", Port: 2525, Username: "u", Password: &pw, From: "vg@example.com"}), 422, "STARTTLS")
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/notifications/smtp", notify.SMTPInput{Host: "127.0.0.1", From: "not an address"}), 422, "from")
	res = e.do(auth.Admin, "PUT", "/api/v1/notifications/smtp", notify.SMTPInput{Host: "127.0.0.1", Port: 2525, Username: "u", Password: &pw, From: "vg@example.com", StartTLS: true})
	wantStatus(t, res, 200)
	if strings.Contains(string(res.body), pw) {
		t.Fatal("the SMTP password is returned")
	}
	res = e.do(auth.Admin, "PUT", "/api/v1/notifications/smtp", notify.SMTPInput{Host: "mail.example.com", Port: 587, Username: "u", From: "vg@example.com", StartTLS: true})
	res.json(t, &smtp)
	if smtp.Host != "mail.example.com" || !smtp.PasswordSet {
		t.Fatalf("smtp after a change without password: %+v", smtp)
	}
	if raw := e.do(auth.Admin, "GET", "/api/v1/notifications/smtp", nil); strings.Contains(string(raw.body), pw) {
		t.Fatal("the SMTP password is returned")
	}

	// The delivery log.
	var log struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}
	e.do(auth.Admin, "GET", "/api/v1/notifications/deliveries?limit=10", nil).json(t, &log)
	if len(log.Deliveries) != 1 {
		t.Fatalf("deliveries: %+v, want the test's", log.Deliveries)
	}
	wantProblem(t, e.do(auth.Admin, "GET", "/api/v1/notifications/deliveries?limit=0", nil), 400, "limit")
}

// TestVulnerabilityAffected: the vulnerability page and API list the
// project versions and the feeds' tracked packages a vulnerability
// affects, by any ID of its alias group; nothing else.
func TestVulnerabilityAffected(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	bucket(t, dir, osvRecord("GHSA-aaaa-aaaa-0001", "left-pad-vg", "2.0.0", critical), osvRecord("GHSA-bbbb-bbbb-0002", "unused-vg", "2.0.0", critical))
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: "file://" + dir, Ecosystems: []string{"npm"}}), 200)
	e.runMirror()

	// A feed refuses left-pad-vg 1.0.0 (Critical: auto-assessed Blocked in
	// feed:npmf; tracked, with the finding in the feed's scope);
	// two versions of a project hold it, a third does not.
	up := feedtest.NewUpstream(t)
	npmPackage(t, up, "left-pad-vg", "1.0.0")
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/feeds", map[string]any{"name": "npmf", "type": "npm", "upstream": up.URL, "unassessed": "allow"}), 201)
	wantStatus(t, e.get("/feeds/npmf/left-pad-vg/-/left-pad-vg-1.0.0.tgz"), 403)
	e.srv.feeds.Env().Gate.Flush()
	for v, body := range map[string]string{"1.0": "pkg:npm/left-pad-vg@1.0.0\n", "1.1": "pkg:npm/left-pad-vg@1.0.0\npkg:npm/other-vg@1.0.0\n", "2.0": "pkg:npm/left-pad-vg@2.0.0\n"} {
		wantStatus(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/shop/versions/"+v+"?filename=p.txt", "text/plain", []byte(body)), 200)
	}

	var a affectedOut
	e.do(auth.Viewer, "GET", "/api/v1/advisories/GHSA-aaaa-aaaa-0001/affected", nil).json(t, &a)
	if len(a.Projects) != 1 || a.Projects[0].Name != "shop" || !slices.Equal(a.Projects[0].Versions, []string{"1.0", "1.1"}) {
		t.Fatalf("affected projects: %+v", a.Projects)
	}
	if len(a.Feeds) != 1 || a.Feeds[0].Feed != "npmf" || a.Feeds[0].PURL != "pkg:npm/left-pad-vg@1.0.0" || a.Feeds[0].Refused != 1 || a.Feeds[0].Decision != "block" || a.FeedsTruncated {
		t.Fatalf("affected feed packages: %+v", a)
	}
	e.do(auth.Viewer, "GET", "/api/v1/advisories/GHSA-bbbb-bbbb-0002/affected", nil).json(t, &a)
	if len(a.Projects) != 0 || len(a.Feeds) != 0 {
		t.Fatalf("an advisory of an unused package affects %+v", a)
	}
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/advisories/GHSA-none-none-none/affected", nil), 404)

	page := e.do(auth.Viewer, "GET", "/vulnerabilities/GHSA-aaaa-aaaa-0001", nil)
	wantStatus(t, page, 200)
	for _, want := range []string{`id="affected-projects"`, `href="/projects/shop?version=1.1"`, `id="affected-feeds"`, `href="/admin/feeds/npmf"`, "pkg:npm/left-pad-vg@1.0.0", "eff-block"} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("vulnerability page lacks %q", want)
		}
	}
	page = e.do(auth.Viewer, "GET", "/vulnerabilities/GHSA-bbbb-bbbb-0002", nil)
	if !strings.Contains(string(page.body), `id="affected-none"`) {
		t.Error("an unaffecting vulnerability's page does not say so")
	}
}
