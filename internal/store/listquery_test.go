package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Text search over advisory summaries uses an index (FTS5 trigram on
// SQLite, pg_trgm on PostgreSQL) for queries of three or more characters
// and a scan for shorter ones; both must find exactly the advisories that
// contain the query, case-insensitively, in their ID, aliases, packages
// or summary.
func TestSummaryTextSearchMatchesSubstrings(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		sums := []AdvisorySummary{
			{ID: "GHSA-abcd-1234", Aliases: []string{"CVE-2024-0001"}, Packages: []string{"Django"}, Summary: "SQL injection in QuerySet"},
			{ID: "GO-2024-0002", Aliases: []string{"CVE-2024-0002"}, Packages: []string{"golang.org/x/net"}, Summary: `Quote " and 100% sure_thing`},
			{ID: "PYSEC-2024-3", Packages: []string{"requests"}, Summary: "Proxy-Authorization header leak"},
			{ID: "RUSTSEC-2024-4", Aliases: []string{"GHSA-zzzz"}, Packages: []string{"tokio"}, Summary: "Ünïcode summary"},
		}
		for i := range sums {
			sums[i].Modified, sums[i].Source, sums[i].Ecosystem, sums[i].Severity = now, "OSV", "PyPI", "HIGH"
		}
		if err := s.ReplaceSummaries(ctx, "PyPI", true, nil, sums); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"sql inj", "SQL", "cve-2024-000", "x/net", `" and`, "100%", "_th", "e_t", "qu", "GHSA", "zzz", "nothing-like-it", "ünï", "o"} {
			var want []string
			for _, a := range sums {
				text := strings.ToLower(strings.Join(append(append([]string{a.ID}, a.Aliases...), append(a.Packages, a.Summary)...), "\n"))
				if strings.Contains(text, strings.ToLower(q)) {
					want = append(want, a.ID)
				}
			}
			got, total, err := s.ListSummaries(ctx, SummaryFilter{Query: q, Limit: 50})
			if err != nil {
				t.Fatalf("q=%q: %v", q, err)
			}
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			slices.Sort(ids)
			slices.Sort(want)
			if fmt.Sprint(ids) != fmt.Sprint(want) || total != len(want) {
				t.Errorf("q=%q: got %v (total %d), want %v", q, ids, total, want)
			}
		}
	})
}

// A text query matching at least ftsWalkFrom advisories has its pages read
// in list order with the text checked row by row (SQLite): the same pages
// and totals as through the set of matches, and no sort of the matches.
func TestSummaryCommonTextPages(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		var sums []AdvisorySummary
		for i := range 40 {
			a := AdvisorySummary{ID: fmt.Sprintf("GHSA-%04d", i), Packages: []string{fmt.Sprintf("pkg%d", i)}, Summary: "remote code execution",
				Modified: now.Add(time.Duration(i%7) * time.Hour), Source: "OSV", Ecosystem: "PyPI", Severity: []string{"HIGH", "LOW", "CRITICAL"}[i%3], Score: []float64{7.5, 3, 9.8, -1}[i%4]}
			if i%5 == 0 {
				a.Summary = "dénial of service"
			}
			sums = append(sums, a)
		}
		if err := s.ReplaceSummaries(ctx, "PyPI", true, nil, sums); err != nil {
			t.Fatal(err)
		}
		pages := func(f SummaryFilter) string {
			var out []string
			for off := 0; ; off += 7 {
				f.Offset, f.Limit = off, 7
				got, total, err := s.ListSummaries(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range got {
					out = append(out, a.ID)
				}
				if len(got) < 7 {
					return fmt.Sprint(total, out)
				}
			}
		}
		defer func(v int) { ftsWalkFrom = v }(ftsWalkFrom)
		for _, f := range []SummaryFilter{{Query: "remote"}, {Query: "execution", Severities: []string{"HIGH", "CRITICAL"}}, {Query: "service"}, {Query: "DÉNIAL"}} {
			ftsWalkFrom = 1 << 30
			s.counts.invalidate()
			want := pages(f)
			ftsWalkFrom = 3
			s.counts.invalidate()
			if got := pages(f); got != want {
				t.Errorf("%+v: row by row %s, from the set of matches %s", f, got, want)
			}
		}
		if s.Dialect() != SQLite {
			return
		}
		for q, cond := range map[string]string{"remote": textInRow, "Dénial": ftsMatchesRow} {
			f := SummaryFilter{Query: q}
			where, args := f.where(SQLite)
			pw, pargs, err := s.pageWhere(ctx, f, where, args)
			if err != nil || !strings.Contains(pw, cond) {
				t.Fatalf("q=%q: page condition %q, %v", q, pw, err)
			}
			plan, err := queryAll(ctx, s.db, `EXPLAIN QUERY PLAN SELECT id FROM advisory_summary s`+pw+` ORDER BY score DESC, modified DESC, id, part LIMIT 50`, pargs, func(r scanner) (string, error) {
				var id, parent, unused int
				var detail string
				return detail, r.Scan(&id, &parent, &unused, &detail)
			})
			if err != nil || slices.ContainsFunc(plan, func(d string) bool { return strings.Contains(d, "TEMP B-TREE FOR ORDER BY") }) {
				t.Errorf("a common query's page is sorted: %v %v", plan, err)
			}
		}
	})
}
