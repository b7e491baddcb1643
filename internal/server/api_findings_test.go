package server

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// A findings list filtered by an assessment type name reads the types once:
// the filter's validation returns them (parseFindingFilter) and the page
// uses them (listFindings) instead of reading them again, unless they lack
// a type a row names (created since): then it reads them again.
func TestFindingsListReadsTypesOnce(t *testing.T) {
	e := newEnv(t)
	crit := store.ObservedFinding{VulnID: "GHSA-aaaa-aaaa-aaaa", IDs: []string{"CVE-2024-0001", "GHSA-aaaa-aaaa-aaaa"}, Rating: "CRITICAL", Score: 98, Summary: "bad", Sources: []string{"OSV"}}
	recordFindings(t, e.st, "project:app", obs("pkg:npm/left-pad@1.0.0", "npm", "left-pad", "1.0.0", crit))
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/assessments", assessRequest{VulnID: "CVE-2024-0001", Type: "Blocked"}), 201)
	ctx := context.Background()
	all, err := e.srv.assess.Types(ctx)
	if err != nil {
		t.Fatal(err)
	}

	for q, want := range map[string]int{"?assessment=blocked": len(all), "?assessment=unassessed": 0, "?project=app": 0, "?assessment=nope": len(all)} {
		_, ts, err := e.srv.parseFindingFilter(httptest.NewRequest("GET", "/api/v1/findings"+q, nil))
		if len(ts) != want || (ts == nil) != (want == 0) {
			t.Errorf("%s: %d types (%v); want %d", q, len(ts), err, want)
		}
	}

	f := store.FindingPageFilter{Limit: 50, Now: e.srv.assess.Now().UTC()}
	// Types given: used as given (here Blocked made to warn), not read again.
	given := slices.Clone(all)
	for i := range given {
		if given[i].Name == "Blocked" {
			given[i].Effect = assess.Warn
		}
	}
	page, used, err := e.srv.listFindings(ctx, f, given)
	if err != nil || len(page.Items) != 1 || page.Items[0].Assessment == nil || page.Items[0].Assessment.Effect != "warn" || page.Items[0].Effect != "warn" {
		t.Fatalf("given types: %+v, %v", page, err)
	}
	if len(used) != len(given) || used[0].Name != given[0].Name {
		t.Errorf("given types: used %v", used)
	}
	// Types given without the one the row names: read again.
	lacking := slices.DeleteFunc(slices.Clone(all), func(t assess.Type) bool { return t.Name == "Blocked" })
	page, used, err = e.srv.listFindings(ctx, f, lacking)
	if err != nil || len(page.Items) != 1 || page.Items[0].Assessment == nil || page.Items[0].Assessment.Type != "Blocked" || page.Items[0].Effect != "block" {
		t.Fatalf("types lacking the row's: %+v, %v", page, err)
	}
	if len(used) != len(all) {
		t.Errorf("types lacking the row's: used %d types, want the %d stored", len(used), len(all))
	}
	// None given: read, since the row names one.
	if page, used, err = e.srv.listFindings(ctx, f, nil); err != nil || page.Items[0].Effect != "block" || len(used) != len(all) {
		t.Fatalf("no types given: %+v, %d types used, %v", page, len(used), err)
	}
	// None given and none named: none read.
	low := store.ObservedFinding{VulnID: "GHSA-bbbb-bbbb-bbbb", IDs: []string{"GHSA-bbbb-bbbb-bbbb"}, Rating: "LOW", Score: 21, Summary: "meh", Sources: []string{"OSV"}}
	recordFindings(t, e.st, "project:other", obs("pkg:npm/right-pad@1.0.0", "npm", "right-pad", "1.0.0", low))
	f.Assessment = store.AssessedNone
	if page, used, err = e.srv.listFindings(ctx, f, nil); err != nil || len(page.Items) != 1 || page.Items[0].VulnID != low.VulnID || used != nil {
		t.Fatalf("unassessed page: %+v, types %v, %v", page, used, err)
	}
}
