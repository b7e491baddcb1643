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
