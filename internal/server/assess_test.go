package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// mirror configures OSV against the shared corpus and mirrors ecosystems.
func (e *testEnv) mirror(ecos ...string) {
	e.t.Helper()
	dir := corpus.Dir(e.t)
	wantStatus(e.t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: "file://" + dir, Ecosystems: ecos}), 200)
	wantStatus(e.t, e.do(auth.Admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil), http.StatusAccepted)
	e.srv.Runner().Wait()
}

// user adds an account with assess grants for scopes and an API key
// usable as e.do(name, ...).
func (e *testEnv) user(name string, role auth.Role, scopes ...string) {
	e.t.Helper()
	var gs []store.Grant
	for _, sc := range scopes {
		gs = append(gs, store.Grant{Permission: auth.PermAssess, Scope: sc})
	}
	e.grantee(name, role, gs...)
}

func TestAssessAPI(t *testing.T) {
	e := newEnv(t)
	e.mirror("Go")
	e.user("granted", auth.Assessor, "project:app")

	// Who may assess where.
	req := assessRequest{VulnID: "CVE-2021-38297", Type: "blocked", Comment: "remote code execution"}
	wantProblem(t, e.do(auth.Viewer, "POST", "/api/v1/assessments", req), 403, "needs the assessor role")
	wantProblem(t, e.do(auth.Assessor, "POST", "/api/v1/assessments", req), 403, "may not assess in scope global")
	wantProblem(t, e.do("granted", "POST", "/api/v1/assessments", req), 403, "may not assess in scope global")
	other := req
	other.Scope = "project:other"
	wantProblem(t, e.do("granted", "POST", "/api/v1/assessments", other), 403, "project:other")
	inApp := req
	inApp.Scope, inApp.Type = "project:app", "Ignore"
	res := e.do("granted", "POST", "/api/v1/assessments", inApp)
	wantStatus(t, res, http.StatusCreated)
	var a assessmentJSON
	res.json(t, &a)
	if a.By != "granted" || a.Scope != "project:app" || a.Type != "Ignore" || a.Effect != "allow" || a.Expires.IsZero() {
		t.Fatalf("assessment by the granted assessor: %+v", a)
	}
	res = e.do(auth.Admin, "POST", "/api/v1/assessments", req)
	wantStatus(t, res, http.StatusCreated)
	res.json(t, &a)
	if a.By != "admin" || a.Scope != "global" || a.Type != "Blocked" || a.Effect != "block" {
		t.Fatalf("admin assessment: %+v", a)
	}

	// Bad requests name the input.
	bad := []struct {
		req  assessRequest
		want string
	}{
		{assessRequest{VulnID: "CVE-2021-38297", Type: "Awful"}, `unknown assessment type "Awful"`},
		{assessRequest{VulnID: "NOPE-2000-1", Type: "Blocked"}, `unknown vulnerability ID "NOPE-2000-1"`},
		{assessRequest{VulnID: "CVE-2021-38297", Type: "Blocked", Scope: "team"}, `scope: invalid scope "team"`},
		{assessRequest{VulnID: "CVE-2021-38297", Type: "Blocked", Expires: "2001-01-01"}, "not in the future"},
		{assessRequest{VulnID: "CVE-2021-38297", Type: "Blocked", Expires: "soon"}, `expires "soon"`},
		{assessRequest{VulnID: "CVE-2021-38297"}, "type: give an assessment type"},
	}
	for _, b := range bad {
		wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/assessments", b.req), 422, b.want)
	}

	// The package page decides: globally blocked, allowed in project:app.
	var pkg packageOut
	purl := url.QueryEscape("pkg:golang/toolchain@1.16.0")
	e.do(auth.Viewer, "GET", "/api/v1/packages?purl="+purl, nil).json(t, &pkg)
	if pkg.Decision.Effect != "block" || !strings.Contains(pkg.Decision.Message, "Blocked") {
		t.Fatalf("global decision: %+v", pkg.Decision)
	}
	found := false
	for _, f := range pkg.Findings {
		if f.ID == "GO-2022-0247" || f.ID == "CVE-2021-38297" {
			found = true
			if f.Assessment == nil || f.Assessment.Type != "Blocked" || f.Effect != "block" {
				t.Fatalf("finding %s: assessment %+v effect %s", f.ID, f.Assessment, f.Effect)
			}
		}
	}
	if !found {
		t.Fatal("package lacks GO-2022-0247")
	}
	e.do(auth.Viewer, "GET", "/api/v1/packages?scope=project:app&purl="+purl, nil).json(t, &pkg)
	for _, f := range pkg.Findings {
		if (f.ID == "GO-2022-0247" || f.ID == "CVE-2021-38297") && (f.Assessment == nil || f.Assessment.Type != "Ignore") {
			t.Fatalf("project:app finding: %+v", f.Assessment)
		}
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/packages?scope=team&purl="+purl, nil), 400, "scope")

	// The advisory list filters by assessment.
	var page advisoryPage
	e.do(auth.Viewer, "GET", "/api/v1/advisories?assessment=blocked", nil).json(t, &page)
	if page.Total != 1 || page.Items[0].ID != "GO-2022-0247" || page.Items[0].Assessment == nil || page.Items[0].Assessment.Type != "Blocked" {
		t.Fatalf("blocked advisories: %+v", page)
	}
	var all, unassessed advisoryPage
	e.do(auth.Viewer, "GET", "/api/v1/advisories", nil).json(t, &all)
	e.do(auth.Viewer, "GET", "/api/v1/advisories?assessment=unassessed", nil).json(t, &unassessed)
	if unassessed.Total != all.Total-1 {
		t.Fatalf("unassessed %d of %d", unassessed.Total, all.Total)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/advisories?assessment=bogus", nil), 400, `assessment "bogus"`)

	// History covers the whole alias group, oldest first.
	var hist []eventJSON
	e.do(auth.Viewer, "GET", "/api/v1/assessments/GO-2022-0247/history", nil).json(t, &hist)
	if len(hist) != 2 || hist[0].Actor != "granted" || hist[1].Actor != "admin" || hist[1].Action != "set" {
		t.Fatalf("history: %+v", hist)
	}
	var list []assessmentJSON
	e.do(auth.Viewer, "GET", "/api/v1/assessments?vuln=GO-2022-0247", nil).json(t, &list)
	if len(list) != 2 {
		t.Fatalf("assessments of the group: %+v", list)
	}
	e.do(auth.Viewer, "GET", "/api/v1/assessments?scope=project:app", nil).json(t, &list)
	if len(list) != 1 || list[0].Type != "Ignore" {
		t.Fatalf("assessments in project:app: %+v", list)
	}

	// Bulk by IDs: all or nothing.
	var more advisoryPage
	e.do(auth.Viewer, "GET", "/api/v1/advisories?assessment=unassessed&limit=3", nil).json(t, &more)
	ids := []string{more.Items[0].ID, more.Items[1].ID, more.Items[2].ID}
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/assessments/bulk", bulkRequest{VulnIDs: append(ids, "NOPE-1"), Type: "Caution"}), 422, "NOPE-1")
	e.do(auth.Viewer, "GET", "/api/v1/advisories?assessment=caution", nil).json(t, &page)
	if page.Total != 0 {
		t.Fatalf("a failed bulk assessment left %d behind", page.Total)
	}
	wantProblem(t, e.do("granted", "POST", "/api/v1/assessments/bulk", bulkRequest{VulnIDs: ids, Type: "Caution"}), 403, "may not assess")
	res = e.do(auth.Admin, "POST", "/api/v1/assessments/bulk", bulkRequest{VulnIDs: ids, Type: "Caution", Comment: "triage", Expires: "never"})
	wantStatus(t, res, 200)
	var br bulkResult
	res.json(t, &br)
	if br.Assessed != 3 || !br.Assessments[0].Expires.IsZero() {
		t.Fatalf("bulk: %+v", br)
	}
	e.do(auth.Viewer, "GET", "/api/v1/advisories?assessment=Caution", nil).json(t, &page)
	if page.Total != 3 {
		t.Fatalf("cautioned after bulk: %d", page.Total)
	}
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/assessments/bulk", bulkRequest{VulnIDs: ids, Filter: &bulkFilterJSON{Ecosystem: "Go"}, Type: "Caution"}), 422, "not both")

	// Clear.
	wantProblem(t, e.do("granted", "DELETE", "/api/v1/assessments/CVE-2021-38297", nil), 403, "may not assess")
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/assessments/CVE-2021-38297", nil), 204)
	wantProblem(t, e.do(auth.Admin, "DELETE", "/api/v1/assessments/CVE-2021-38297", nil), 404, "has no assessment")
	e.do(auth.Viewer, "GET", "/api/v1/packages?purl="+purl, nil).json(t, &pkg)
	if pkg.Decision.Effect == "block" {
		t.Fatalf("still blocked after clearing: %+v", pkg.Decision)
	}

	// Types.
	typ := typeJSON{Name: "Accepted risk", Effect: "allow", AutoRange: "4.0-4.9", Expiry: "90d", Description: "risk accepted by the owner"}
	wantProblem(t, e.do(auth.Assessor, "POST", "/api/v1/assessment-types", typ), 403, "needs the admin role")
	res = e.do(auth.Admin, "POST", "/api/v1/assessment-types", typ)
	wantStatus(t, res, http.StatusCreated)
	var tj typeJSON
	res.json(t, &tj)
	if tj.AutoRange != "4.0-4.9" || tj.Expiry != "90d" || tj.Builtin {
		t.Fatalf("created type: %+v", tj)
	}
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/assessment-types", typ), 409, "already exists")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/assessment-types", typeJSON{Name: "Overlap", Effect: "warn", AutoRange: "3.0-4.2"}), 422, "overlap")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/assessment-types", typeJSON{Name: "Odd", Effect: "maybe"}), 422, "effect")
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/assessment-types/Blocked", typeJSON{Effect: "allow"}), 422, "built in")
	res = e.do(auth.Admin, "PUT", "/api/v1/assessment-types/accepted%20risk", typeJSON{Effect: "warn", Expiry: "never"})
	wantStatus(t, res, 200)
	res.json(t, &tj)
	if tj.Name != "Accepted risk" || tj.Effect != "warn" || tj.Expiry != "never" || tj.AutoRange != "" {
		t.Fatalf("updated type: %+v", tj)
	}
	var types []typeJSON
	e.do(auth.Viewer, "GET", "/api/v1/assessment-types", nil).json(t, &types)
	if len(types) != 4 {
		t.Fatalf("types: %+v", types)
	}
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/assessments", assessRequest{VulnID: ids[0], Type: "accepted risk", Scope: "project:app"}), 201)
	wantProblem(t, e.do(auth.Admin, "DELETE", "/api/v1/assessment-types/Accepted%20risk", nil), 409, "used by 1")
	wantProblem(t, e.do(auth.Admin, "DELETE", "/api/v1/assessment-types/Ignore", nil), 422, "built in")
	wantProblem(t, e.do(auth.Admin, "DELETE", "/api/v1/assessment-types/Nope", nil), 404, "not found")
	wantStatus(t, e.do(auth.Admin, "DELETE", fmt.Sprintf("/api/v1/assessments/%s?scope=project:app", ids[0]), nil), 204)
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/assessment-types/Accepted%20risk", nil), 204)

	// Policies.
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/policies", nil), 403, "admin")
	wantProblem(t, e.do(auth.Assessor, "PUT", "/api/v1/policies/global", map[string]string{"effect": "block"}), 403, "admin")
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/policies/project:app", map[string]string{"effect": "deny"}), 422, "effect")
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/policies/team", map[string]string{"effect": "block"}), 422, "scope")
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/policies/project:app", map[string]string{"effect": "block"}), 200)
	var ps []policyJSON
	e.do(auth.Admin, "GET", "/api/v1/policies", nil).json(t, &ps)
	if len(ps) != 2 || ps[0] != (policyJSON{"global", "warn"}) || ps[1] != (policyJSON{"project:app", "block"}) {
		t.Fatalf("policies: %+v", ps)
	}
	e.do(auth.Viewer, "GET", "/api/v1/packages?scope=project:app&purl="+purl, nil).json(t, &pkg)
	if pkg.Decision.Effect != "block" || !strings.Contains(pkg.Decision.Message, "policy block") {
		t.Fatalf("project:app decision with a block policy: %+v", pkg.Decision)
	}
}

func TestVEXExportImport(t *testing.T) {
	e := newEnv(t)
	e.mirror("Go")
	e.user("granted", auth.Assessor, "project:app")
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/assessments", assessRequest{VulnID: "GO-2022-0247", Type: "Blocked", Comment: "no"}), 201)
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/assessments", assessRequest{VulnID: "GO-2022-0247", Type: "Ignore", Scope: "project:app", Comment: "not reachable"}), 201)

	cdx := e.do(auth.Viewer, "GET", "/api/v1/vex", nil)
	wantStatus(t, cdx, 200)
	if ct := cdx.header.Get("Content-Type"); ct != "application/vnd.cyclonedx+json" || !strings.Contains(string(cdx.body), `"bomFormat": "CycloneDX"`) && !strings.Contains(string(cdx.body), `"bomFormat":"CycloneDX"`) {
		t.Fatalf("CycloneDX export: %s %s", ct, cdx.body)
	}
	ov := e.do(auth.Viewer, "GET", "/api/v1/vex?format=openvex&scope=project:app", nil)
	wantStatus(t, ov, 200)
	var doc struct {
		Context    string `json:"@context"`
		Statements []struct {
			Status string `json:"status"`
		} `json:"statements"`
	}
	ov.json(t, &doc)
	if doc.Context != "https://openvex.dev/ns/v0.2.0" || len(doc.Statements) != 1 || doc.Statements[0].Status != "not_affected" {
		t.Fatalf("OpenVEX export: %s", ov.body)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/vex?format=csaf", nil), 400, "format")
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/vex?scope=team", nil), 400, "scope")

	post := func(who auth.Role, query string, body []byte) resp {
		req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/vex"+query, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+e.keys[who])
		req.Header.Set("Content-Type", "application/json")
		res, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return resp{status: res.StatusCode, header: res.Header, body: b}
	}
	// The full export assesses globally: the granted assessor may not
	// import it, but may import it into project:app.
	wantProblem(t, post(auth.Viewer, "", cdx.body), 403, "needs the assessor role")
	wantProblem(t, post(auth.Assessor, "", cdx.body), 403, "may not assess")
	wantProblem(t, post("granted", "", cdx.body), 403, "scope global")
	wantProblem(t, post("granted", "?scope=project:other", cdx.body), 403, "project:other")
	wantProblem(t, post(auth.Admin, "", []byte(`{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": 5}]}`)), 422, "")
	wantStatus(t, e.do(auth.Admin, "DELETE", "/api/v1/assessments/GO-2022-0247", nil), 204)
	res := post(auth.Admin, "", cdx.body)
	wantStatus(t, res, 200)
	var ir vexImportJSON
	res.json(t, &ir)
	if ir.Format != "cyclonedx" || ir.Imported != 2 {
		t.Fatalf("import: %+v", ir)
	}
	var list []assessmentJSON
	e.do(auth.Viewer, "GET", "/api/v1/assessments?scope=global", nil).json(t, &list)
	if len(list) != 1 || list[0].Type != "Blocked" || list[0].Comment != "no" {
		t.Fatalf("after import: %+v", list)
	}
	res = post("granted", "?scope=project:app", ov.body)
	wantStatus(t, res, 200)
	res.json(t, &ir)
	if ir.Imported != 1 || ir.Assessments[0].Scope != "project:app" {
		t.Fatalf("granted import: %+v", ir)
	}
}

// recordFindings seeds recorded findings the way a scan with --project
// (or a feed) records them.
func recordFindings(t *testing.T, st *store.Store, scope string, pkgs ...store.ObservedPackage) {
	t.Helper()
	for i := range pkgs {
		pkgs[i].Complete = true
	}
	if _, err := st.RecordFindings(context.Background(), scope, pkgs, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func obs(purl, eco, name, version string, fs ...store.ObservedFinding) store.ObservedPackage {
	return store.ObservedPackage{PURL: purl, Ecosystem: eco, Name: name, Version: version, Findings: fs}
}

func TestFindingsList(t *testing.T) {
	e := newEnv(t)
	e.user("granted", auth.Assessor, "project:app")
	crit := store.ObservedFinding{VulnID: "GHSA-aaaa-aaaa-aaaa", IDs: []string{"CVE-2024-0001", "GHSA-aaaa-aaaa-aaaa"}, Rating: "CRITICAL", Score: 98, Summary: "bad", Sources: []string{"OSV"}}
	high := store.ObservedFinding{VulnID: "GHSA-bbbb-bbbb-bbbb", IDs: []string{"GHSA-bbbb-bbbb-bbbb"}, Rating: "HIGH", Score: 75, Summary: "worse <b>", Sources: []string{"OSV", "OSSINDEX"}}
	low := store.ObservedFinding{VulnID: "CVE-2024-0003", IDs: []string{"CVE-2024-0003"}, Rating: "LOW", Score: -1, Summary: "meh", Sources: []string{"OSSINDEX"}}
	recordFindings(t, e.st, "project:app",
		obs("pkg:npm/left-pad@1.0.0", "npm", "left-pad", "1.0.0", crit, high),
		obs("pkg:pypi/django@3.2.0", "PyPI", "django", "3.2.0", low))
	recordFindings(t, e.st, "feed:npm", obs("pkg:npm/left-pad@1.0.0", "npm", "left-pad", "1.0.0", crit))

	get := func(q string) findingPage {
		t.Helper()
		var p findingPage
		res := e.do(auth.Viewer, "GET", "/api/v1/findings"+q, nil)
		wantStatus(t, res, 200)
		res.json(t, &p)
		return p
	}
	if p := get(""); p.Total != 4 || p.Items[0].Severity != "CRITICAL" || p.Items[len(p.Items)-1].Score != nil || p.Items[0].Effect != "warn" {
		t.Fatalf("all findings: %+v", p)
	}
	if p := get("?project=app"); p.Total != 3 {
		t.Fatalf("project=app: %d", p.Total)
	}
	if p := get("?feed=npm"); p.Total != 1 || p.Items[0].Scope != "feed:npm" {
		t.Fatalf("feed=npm: %+v", p)
	}
	if p := get("?severity=high,low"); p.Total != 2 {
		t.Fatalf("severity: %d", p.Total)
	}
	if p := get("?source=OSSINDEX"); p.Total != 2 {
		t.Fatalf("source: %d", p.Total)
	}
	if p := get("?ecosystem=PyPI"); p.Total != 1 || p.Items[0].Name != "django" {
		t.Fatalf("ecosystem: %+v", p)
	}
	if p := get("?q=cve-2024-0001"); p.Total != 2 || len(p.Items[0].IDs) != 2 {
		t.Fatalf("q by alias: %+v", p)
	}
	if p := get("?limit=1&offset=1"); p.Total != 4 || len(p.Items) != 1 {
		t.Fatalf("page: %+v", p)
	}
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/findings?scope=team", nil), 400, "scope")
	wantProblem(t, e.do(auth.Viewer, "GET", "/api/v1/findings?assessment=nope", nil), 400, "assessment")

	// Blocked globally, ignored in project:app: the project's own wins.
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/assessments", assessRequest{VulnID: "CVE-2024-0001", Type: "Blocked"}), 201)
	wantStatus(t, e.do("granted", "POST", "/api/v1/assessments", assessRequest{VulnID: "GHSA-aaaa-aaaa-aaaa", Type: "Ignore", Scope: "project:app"}), 201)
	p := get("?assessment=Blocked")
	if p.Total != 1 || p.Items[0].Scope != "feed:npm" || p.Items[0].Assessment.Type != "Blocked" || p.Items[0].Effect != "block" {
		t.Fatalf("blocked: %+v", p)
	}
	if p := get("?assessment=ignore"); p.Total != 1 || p.Items[0].Scope != "project:app" || p.Items[0].Effect != "allow" {
		t.Fatalf("ignored: %+v", p)
	}
	if p := get("?assessment=unassessed"); p.Total != 2 {
		t.Fatalf("unassessed: %+v", p)
	}
	// Expired assessments no longer apply.
	if _, err := e.st.DB().Exec(`UPDATE assessment SET expires_at = '2001-01-01T00:00:00Z' WHERE scope = 'global'`); err != nil {
		t.Fatal(err)
	}
	if p := get("?assessment=Blocked"); p.Total != 0 {
		t.Fatalf("expired still counts: %+v", p)
	}

	// Bulk by filter, within the assessor's grant.
	res := e.do("granted", "POST", "/api/v1/assessments/bulk", bulkRequest{Filter: &bulkFilterJSON{Scope: "project:app", Severity: []string{"high", "low"}}, Type: "Caution", Scope: "project:app"})
	wantStatus(t, res, 200)
	var br bulkResult
	res.json(t, &br)
	if br.Assessed != 2 {
		t.Fatalf("bulk by filter: %+v", br)
	}
	if p := get("?project=app&assessment=Caution"); p.Total != 2 {
		t.Fatalf("cautioned: %+v", p)
	}
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/assessments/bulk", bulkRequest{Filter: &bulkFilterJSON{Ecosystem: "Cobol"}, Type: "Caution"}), 422, "no recorded open finding")

	// The Vulnerabilities list narrows to a project's findings.
	var page advisoryPage
	e.do(auth.Viewer, "GET", "/api/v1/advisories?scope=feed:npm", nil).json(t, &page)
	if page.Total != 0 {
		t.Fatalf("no advisories are mirrored, got %d", page.Total)
	}
}

// uiClient logs in through the form and returns a client with the session.
func (e *testEnv) uiClient(user, password string) *http.Client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(e.http.URL+"/login", url.Values{"username": {user}, "password": {password}})
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login %s: %d", user, res.StatusCode)
	}
	return c
}

func page(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, string, string) {
	t.Helper()
	res, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func TestAssessUI(t *testing.T) {
	e := newEnv(t)
	e.mirror("Go")
	admin := e.uiClient("admin", adminPassword)
	base := e.http.URL

	// Assess from the vulnerability page; the comment is shown escaped.
	code, loc, body := postForm(t, admin, base+"/vulnerabilities/GO-2022-0247/assess", url.Values{"type": {"Blocked"}, "scope": {"global"}, "comment": {"<script>x</script>"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "ok=assessed") {
		t.Fatalf("assess form: %d %s %s", code, loc, body)
	}
	code, body = page(t, admin, base+"/vulnerabilities/GO-2022-0247")
	if code != 200 || !strings.Contains(body, `data-scope="global">Blocked</span>`) || strings.Contains(body, "<script>x") || !strings.Contains(body, "&lt;script&gt;x") {
		t.Fatalf("vulnerability page after assessing: %d\n%s", code, body)
	}
	code, _, body = postForm(t, admin, base+"/vulnerabilities/GO-2022-0247/assess", url.Values{"type": {"Nope"}, "scope": {"global"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "unknown assessment type") {
		t.Fatalf("bad assess form: %d", code)
	}
	// The package page shows the assessment and the decision.
	code, body = page(t, admin, base+"/packages?purl="+url.QueryEscape("pkg:golang/toolchain@1.16.0"))
	if code != 200 || !strings.Contains(body, `data-effect="block"`) || !strings.Contains(body, `<span class="eff eff-block">Blocked</span>`) {
		t.Fatalf("package page: %d\n%s", code, body)
	}
	// ... what to upgrade to, and why each record matched.
	if !strings.Contains(body, `id="pkg-upgrade-version"`) || !strings.Contains(body, `GO-2022-0247: Go &#34;toolchain&#34;: SEMVER range introduced 0, fixed 1.16.9`) {
		t.Fatalf("package page lacks the upgrade or the matched range:\n%s", body)
	}
	// The list filters by assessment and assesses in bulk.
	code, body = page(t, admin, base+"/vulnerabilities?assessment=Blocked")
	if code != 200 || !strings.Contains(body, "1 advisory,") || !strings.Contains(body, `name="vuln_ids" value="GO-2022-0247"`) {
		t.Fatalf("filtered list: %d\n%s", code, body)
	}
	var more advisoryPage
	e.do(auth.Viewer, "GET", "/api/v1/advisories?assessment=unassessed&limit=2", nil).json(t, &more)
	code, loc, body = postForm(t, admin, base+"/vulnerabilities/assess", url.Values{"vuln_ids": {more.Items[0].ID, more.Items[1].ID}, "type": {"Caution"}, "scope": {"global"}, "back": {"/vulnerabilities?assessment=Caution"}})
	if code != http.StatusSeeOther || loc != "/vulnerabilities?assessment=Caution&ok=bulkassessed" {
		t.Fatalf("bulk form: %d %q %s", code, loc, body)
	}
	code, body = page(t, admin, base+loc)
	if !strings.Contains(body, "2 advisories") || !strings.Contains(body, "were assessed") {
		t.Fatalf("after bulk: %d\n%s", code, body)
	}
	code, loc, _ = postForm(t, admin, base+"/vulnerabilities/assess", url.Values{"vuln_ids": {more.Items[0].ID}, "type": {"Ignore"}, "back": {"https://evil.example/"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/vulnerabilities?") {
		t.Fatalf("bulk redirect off-site: %d %q", code, loc)
	}
	// Clear.
	code, loc, _ = postForm(t, admin, base+"/vulnerabilities/GO-2022-0247/clear", url.Values{"scope": {"global"}, "vuln_id": {"GO-2022-0247"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "ok=cleared") {
		t.Fatalf("clear: %d %s", code, loc)
	}

	// Administration: types and policies.
	code, loc, body = postForm(t, admin, base+"/admin/assessment/types", url.Values{"name": {"Accepted risk"}, "effect": {"allow"}, "auto_range": {"4.0-4.9"}, "expiry": {"90d"}})
	if code != http.StatusSeeOther || loc != "/admin/assessment?ok=typecreated" {
		t.Fatalf("create type: %d %q %s", code, loc, body)
	}
	code, body = page(t, admin, base+"/admin/assessment")
	if code != 200 || !strings.Contains(body, "Accepted risk") || !strings.Contains(body, "4.0-4.9") {
		t.Fatalf("assessment admin page: %d\n%s", code, body)
	}
	code, _, body = postForm(t, admin, base+"/admin/assessment/types", url.Values{"name": {"Overlap"}, "effect": {"warn"}, "auto_range": {"4.5-5.0"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "overlap") {
		t.Fatalf("overlapping type: %d", code)
	}
	if code, _, _ = postForm(t, admin, base+"/admin/assessment/types/Accepted%20risk/delete", nil); code != http.StatusSeeOther {
		t.Fatalf("delete type: %d", code)
	}
	if code, _, _ = postForm(t, admin, base+"/admin/assessment/policies", url.Values{"scope": {"global"}, "scope_other": {"project:web"}, "effect": {"block"}}); code != http.StatusSeeOther {
		t.Fatalf("policy: %d", code)
	}
	_, body = page(t, admin, base+"/admin/assessment")
	if strings.Contains(body, "Accepted risk") || !strings.Contains(body, `<td class="mono">project:web</td><td><span class="eff eff-block">block</span>`) {
		t.Fatalf("after delete and policy:\n%s", body)
	}

	// Viewers see no forms and are refused; cross-site posts are refused.
	viewer := e.uiClient("viewer1", "viewer-password-1")
	_, body = page(t, viewer, base+"/vulnerabilities/GO-2022-0247")
	if strings.Contains(body, `id="assess-form"`) || !strings.Contains(body, `id="history"`) {
		t.Fatal("viewer sees the assess form or no history")
	}
	if code, _, _ = postForm(t, viewer, base+"/vulnerabilities/GO-2022-0247/assess", url.Values{"type": {"Blocked"}}); code != http.StatusForbidden {
		t.Fatalf("viewer assess: %d", code)
	}
	assessor := e.uiClient("assessor1", "assessor-password-1")
	if code, _, _ = postForm(t, assessor, base+"/vulnerabilities/GO-2022-0247/assess", url.Values{"type": {"Blocked"}, "scope": {"global"}}); code != http.StatusForbidden {
		t.Fatalf("assessor without grant: %d", code)
	}
	if code, _ = page(t, assessor, base+"/admin/assessment"); code != http.StatusForbidden {
		t.Fatalf("assessor on admin page: %d", code)
	}
	req, _ := http.NewRequest("POST", base+"/vulnerabilities/GO-2022-0247/assess", strings.NewReader("type=Blocked"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site assess: %d", res.StatusCode)
	}
}
