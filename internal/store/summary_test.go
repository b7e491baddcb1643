package store

import (
	"context"
	"fmt"
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

// TestSeverityUpdateLeavesSearchIndex: the severity pass (SetGroupSeverities)
// writes nothing to the SQLite text search index, which does not index
// severities, while a changed summary is found by its new text only.
func TestSeverityUpdateLeavesSearchIndex(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	entry := AdvisorySummary{ID: "GHSA-aaaa-bbbb-cccc", Modified: t0, Source: "OSV", Ecosystem: "npm",
		Packages: []string{"npm/left-pad"}, Severity: "LOW", Score: 2, Summary: "prototype pollution in left-pad"}
	if err := s.ReplaceSummaries(ctx, "npm", false, nil, []AdvisorySummary{entry}); err != nil {
		t.Fatal(err)
	}
	ftsState := func() string {
		var n int
		var size float64
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), TOTAL(LENGTH(block)) FROM advisory_summary_fts_data`).Scan(&n, &size); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(n, size)
	}
	before := ftsState()
	if err := s.SetGroupSeverities(ctx, []GroupSeverityRow{{Partition: "npm", ID: entry.ID, Severity: "CRITICAL", Score: 9.8, SeverityFrom: "CVE-2020-0001"}}); err != nil {
		t.Fatal(err)
	}
	if after := ftsState(); after != before {
		t.Fatalf("a severity update wrote to the search index: %s -> %s", before, after)
	}
	found := func(q string) int {
		_, n, err := s.ListSummaries(ctx, SummaryFilter{Query: q, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if found("prototype") != 1 || found("critical") != 0 {
		t.Fatalf("search after the severity update: prototype %d, critical %d", found("prototype"), found("critical"))
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE advisory_summary SET summary = 'regular expression denial of service' WHERE id = ?`, entry.ID); err != nil {
		t.Fatal(err)
	}
	if found("prototype") != 0 || found("expression denial") != 1 {
		t.Fatalf("search after a summary update: old text %d, new text %d", found("prototype"), found("expression denial"))
	}
}
