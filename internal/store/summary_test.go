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

// TestReplaceSummariesAcrossStatements: summaries replaced more than a
// statement's rows at a time (summaryRowsPerStatement) are all listed and
// found by their text, and those deleted or replaced are not found by
// their old text.
func TestReplaceSummariesAcrossStatements(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		entry := func(i int, text string) AdvisorySummary {
			return AdvisorySummary{ID: fmt.Sprintf("GHSA-%05d", i), Modified: t0, Source: "OSV", Ecosystem: "npm",
				Packages: []string{fmt.Sprintf("npm/pkg%05d", i)}, Severity: "LOW", Score: 2, Summary: fmt.Sprintf("%s number%05dx", text, i)}
		}
		const n = 2*summaryRowsPerStatement + 345
		var first []AdvisorySummary
		for i := range n {
			first = append(first, entry(i, "overflow"))
		}
		if err := s.ReplaceSummaries(ctx, "npm", false, nil, first); err != nil {
			t.Fatal(err)
		}
		// Delete the first 1,234, rewrite the next 1,100 with new text.
		var deletes []string
		for i := range 1234 {
			deletes = append(deletes, first[i].ID)
		}
		var again []AdvisorySummary
		for i := 1234; i < 2334; i++ {
			again = append(again, entry(i, "traversal"))
		}
		if err := s.ReplaceSummaries(ctx, "npm", false, deletes, again); err != nil {
			t.Fatal(err)
		}
		found := func(q string) int {
			t.Helper()
			_, total, err := s.ListSummaries(ctx, SummaryFilter{Query: q, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			return total
		}
		if got := found(""); got != n-1234 {
			t.Errorf("%d summaries listed, want %d", got, n-1234)
		}
		if got, want := found("overflow"), n-2334; got != want {
			t.Errorf("%d found by the first text, want %d (those never replaced)", got, want)
		}
		if got := found("traversal"); got != 1100 {
			t.Errorf("%d found by the new text, want 1100", got)
		}
		for _, c := range []struct {
			q    string
			want int
		}{{"number00000x", 0}, {"number01233x", 0}, {"number01234x", 1}, {"number02333x", 1}, {"number02344x", 1}} {
			if got := found(c.q); got != c.want {
				t.Errorf("%s found %d times, want %d", c.q, got, c.want)
			}
		}
	})
}

// TestDeleteSummaries: DeleteSummaries removes the named summaries of one
// partition, more than a statement's rows and in any order, from the list
// and the text search, and leaves the other partition's with the same IDs.
func TestDeleteSummaries(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		const n = summaryRowsPerStatement + 500
		for _, part := range []string{"npm", "npm:other"} {
			var rows []AdvisorySummary
			for i := range n {
				rows = append(rows, AdvisorySummary{ID: fmt.Sprintf("GHSA-%05d", i), Modified: t0, Source: "OSV", Ecosystem: "npm",
					Severity: "LOW", Summary: fmt.Sprintf("gone%05dx in %s", i, part)})
			}
			if err := s.ReplaceSummaries(ctx, part, false, nil, rows); err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		for i := n - 1; i >= 100; i-- { // all but the first 100, backwards
			ids = append(ids, fmt.Sprintf("GHSA-%05d", i))
		}
		if err := s.DeleteSummaries(ctx, "npm", ids); err != nil {
			t.Fatal(err)
		}
		count := func(f SummaryFilter) int {
			t.Helper()
			f.Limit = 1
			_, total, err := s.ListSummaries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return total
		}
		if got := count(SummaryFilter{}); got != n+100 {
			t.Errorf("%d summaries listed, want %d (100 left of one partition, all %d of the other)", got, n+100, n)
		}
		if got := count(SummaryFilter{Query: "gone00100x"}); got != 1 {
			t.Errorf("a deleted summary's text found %d times, want once (the other partition's)", got)
		}
		if got := count(SummaryFilter{Query: "gone00099x"}); got != 2 {
			t.Errorf("a kept summary's text found %d times, want 2", got)
		}
	})
}

// TestReplaceSummariesWritesFewSearchSegments: on SQLite, a thousand
// summaries are one statement, so the text search index does not write
// a segment per row (FTS5 writes what it gathered when a statement of the
// transaction begins). FTS5's structure record counts the segments ever
// written.
func TestReplaceSummariesWritesFewSearchSegments(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []AdvisorySummary
	for i := range 2500 {
		rows = append(rows, AdvisorySummary{ID: fmt.Sprintf("GHSA-%05d", i), Modified: t0, Source: "OSV", Ecosystem: "npm",
			Packages: []string{fmt.Sprintf("npm/pkg%05d", i)}, Severity: "LOW", Summary: fmt.Sprintf("issue %d", i)})
	}
	if err := s.ReplaceSummaries(ctx, "npm", false, nil, rows); err != nil {
		t.Fatal(err)
	}
	var structure []byte
	if err := s.db.QueryRowContext(ctx, `SELECT block FROM advisory_summary_fts_data WHERE id = 10`).Scan(&structure); err != nil {
		t.Fatal(err)
	}
	// A statement's rows still make several segments (FTS5 also writes
	// when its in-memory index reaches its hashsize): 69 here, against
	// 2,500 with a statement per row.
	if got := ftsSegmentsWritten(t, structure); got >= uint64(len(rows)/10) {
		t.Errorf("the search index wrote %d segments for %d summaries in 3 statements", got, len(rows))
	}
}

// ftsSegmentsWritten reads the write counter of an FTS5 structure record:
// a 4-byte cookie, an optional 4-byte version 2 marker, then SQLite
// varints for the levels, the segments and the segments ever written.
func ftsSegmentsWritten(t *testing.T, b []byte) uint64 {
	t.Helper()
	if len(b) < 4 {
		t.Fatalf("FTS5 structure record of %d bytes", len(b))
	}
	b = b[4:]
	if len(b) >= 4 && string(b[:4]) == "\xff\x00\x00\x01" {
		b = b[4:]
	}
	var v uint64
	for range 3 {
		v = 0
		for i := 0; ; i++ {
			if len(b) == 0 {
				t.Fatal("FTS5 structure record ends inside a varint")
			}
			c := b[0]
			b = b[1:]
			if i == 8 {
				v = v<<8 | uint64(c)
				break
			}
			v = v<<7 | uint64(c&0x7f)
			if c < 0x80 {
				break
			}
		}
	}
	return v
}
