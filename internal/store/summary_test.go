package store

import (
	"context"
	"testing"
	"time"
)

// TestListOpenFindingsAndSummaryFilters runs the server's listing queries
// (filters, assessment rule, pagination) on both engines.
func TestListOpenFindingsAndSummaryFilters(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		crit := ObservedFinding{VulnID: "GHSA-1", IDs: []string{"CVE-1", "GHSA-1"}, Rating: "CRITICAL", Score: 98, Sources: []string{"OSV"}}
		low := ObservedFinding{VulnID: "CVE-2", IDs: []string{"CVE-2"}, Rating: "LOW", Score: -1, Sources: []string{"OSSINDEX"}}
		pkg := func(purl string, fs ...ObservedFinding) ObservedPackage {
			return ObservedPackage{PURL: purl, Ecosystem: "npm", Name: "x", Version: "1", Complete: true, Findings: fs}
		}
		if _, err := s.RecordFindings(ctx, "project:app", []ObservedPackage{pkg("pkg:npm/x@1", crit, low)}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordFindings(ctx, "feed:npm", []ObservedPackage{pkg("pkg:npm/x@1", crit)}, now); err != nil {
			t.Fatal(err)
		}
		as := []Assessment{
			{VulnID: "CVE-1", Scope: "global", Type: "Blocked", At: now},
			{VulnID: "GHSA-1", Scope: "project:app", Type: "Ignore", At: now},
		}
		if err := s.SetAssessments(ctx, as, "set", "t", now); err != nil {
			t.Fatal(err)
		}
		list := func(f FindingPageFilter) ([]FindingRow, int) {
			t.Helper()
			f.Now = now
			rows, n, err := s.ListOpenFindings(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return rows, n
		}
		rows, n := list(FindingPageFilter{})
		if n != 3 || rows[0].Rating != "CRITICAL" || len(rows[0].IDs) != 2 || len(rows[0].Sources) != 1 {
			t.Fatalf("all: %d %+v", n, rows)
		}
		if rows, n := list(FindingPageFilter{Assessment: "Blocked"}); n != 1 || rows[0].Scope != "feed:npm" || rows[0].Assessment != "Blocked" {
			t.Fatalf("blocked: %d %+v", n, rows)
		}
		if _, n := list(FindingPageFilter{Assessment: AssessedNone}); n != 1 {
			t.Fatalf("unassessed: %d", n)
		}
		if _, n := list(FindingPageFilter{Scopes: []string{"project:app"}, Sources: []string{"OSSINDEX"}, Ratings: []string{"LOW"}, Ecosystems: []string{"npm"}}); n != 1 {
			t.Fatalf("filters: %d", n)
		}
		if rows, n := list(FindingPageFilter{Query: "cve-1", Limit: 1, Offset: 1}); n != 2 || len(rows) != 1 {
			t.Fatalf("query page: %d %+v", n, rows)
		}
		// The summary filters run (no advisories are mirrored here).
		for _, f := range []SummaryFilter{{Assessment: "Blocked", Now: now}, {Assessment: AssessedNone, AssessScope: "project:app", InScope: "project:app", Now: now}, {Assessment: AssessedAny, Now: now}} {
			if _, n, err := s.ListSummaries(ctx, f); err != nil || n != 0 {
				t.Fatalf("summaries %+v: %d %v", f, n, err)
			}
		}
		if sc, err := s.FindingScopes(ctx); err != nil || len(sc) != 2 {
			t.Fatalf("scopes: %v %v", sc, err)
		}
	})
}
