package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/auth"
)

// TestMaliciousInAPIAndUI: known malware is its own category above
// CRITICAL in the statistics, the vulnerability list filter, the package
// API and page, and the dashboard; only an admin can let it through, for
// one scope.
func TestMaliciousInAPIAndUI(t *testing.T) {
	e := newEnv(t)
	e.mirror("npm")
	e.user("granted", auth.Assessor, "feed:npm")
	const purl = "pkg:npm/%40lottiefiles/lottie-player@2.0.7"

	var stats statsOut
	e.do(auth.Viewer, "GET", "/api/v1/stats", nil).json(t, &stats)
	if stats.BySeverity["MALICIOUS"] < 1000 {
		t.Fatalf("stats count %d MALICIOUS advisories (the corpus holds 5,000 npm MAL- records)", stats.BySeverity["MALICIOUS"])
	}
	var page advisoryPage
	res := e.do(auth.Viewer, "GET", "/api/v1/advisories?severity=malicious&q=lottie-player", nil)
	wantStatus(t, res, 200)
	res.json(t, &page)
	if page.Total != 1 || page.Items[0].ID != "MAL-2024-10301" || page.Items[0].Severity != "MALICIOUS" {
		t.Fatalf("malicious filter: %+v", page)
	}

	var pkg packageOut
	e.do(auth.Viewer, "GET", "/api/v1/packages?purl="+purl, nil).json(t, &pkg)
	if pkg.Decision.Effect != "block" || len(pkg.Findings) != 1 {
		t.Fatalf("package: %+v", pkg)
	}
	f := pkg.Findings[0]
	if !f.Malicious || f.MaliciousID != "MAL-2024-10301" || f.Severity != "MALICIOUS" || f.Builtin != "malicious" || f.Effect != "block" {
		t.Fatalf("finding: %+v", f)
	}

	// Overrides: an assessor with the feed's grant may not; an admin may
	// not globally; an admin may for feed:npm, which then allows it there.
	req := assessRequest{VulnID: "MAL-2024-10301", Scope: "feed:npm", Type: "Ignore", Comment: "reviewed"}
	wantProblem(t, e.do("granted", "POST", "/api/v1/assessments", req), 403, "only an admin")
	wantProblem(t, e.do(auth.Admin, "POST", "/api/v1/assessments", assessRequest{VulnID: "MAL-2024-10301", Type: "Ignore"}), 422, "not global")
	wantProblem(t, e.do("granted", "POST", "/api/v1/assessments/bulk", bulkRequest{VulnIDs: []string{"MAL-2024-10301"}, Scope: "feed:npm", Type: "Ignore"}), 403, "only an admin")
	res = e.do(auth.Admin, "POST", "/api/v1/assessments", req)
	wantStatus(t, res, http.StatusCreated)
	var a assessmentJSON
	res.json(t, &a)
	if !a.MalwareOverride {
		t.Fatalf("admin override: %+v", a)
	}
	var inFeed, inOther packageOut
	e.do(auth.Viewer, "GET", "/api/v1/packages?purl="+purl+"&scope=feed:npm", nil).json(t, &inFeed)
	if inFeed.Decision.Effect != "allow" || inFeed.Findings[0].Builtin != "" || !inFeed.Findings[0].Assessment.MalwareOverride {
		t.Fatalf("feed:npm after the override: %+v", inFeed)
	}
	e.do(auth.Viewer, "GET", "/api/v1/packages?purl="+purl+"&scope=feed:other", nil).json(t, &inOther)
	if inOther.Decision.Effect != "block" {
		t.Fatalf("feed:other after feed:npm's override: %+v", inOther.Decision)
	}

	// Pages: the dashboard card, the list filter, the package page.
	res = e.do(auth.Viewer, "GET", "/", nil)
	wantStatus(t, res, 200)
	if !strings.Contains(string(res.body), `id="count-malicious"`) || !strings.Contains(string(res.body), "known malicious packages") {
		t.Errorf("dashboard lacks the malicious card")
	}
	res = e.do(auth.Viewer, "GET", "/vulnerabilities?severity=MALICIOUS&q=lottie", nil)
	if !strings.Contains(string(res.body), "MAL-2024-10301") || !strings.Contains(string(res.body), `<option value="MALICIOUS" selected>`) {
		t.Errorf("vulnerability list filtered by MALICIOUS:\n%s", res.body)
	}
	res = e.do(auth.Viewer, "GET", "/packages?purl="+purl, nil)
	if !strings.Contains(string(res.body), "known malicious package") || !strings.Contains(string(res.body), "sev-MALICIOUS") {
		t.Errorf("package page:\n%s", res.body)
	}
}
