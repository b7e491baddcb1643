package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// An unassessed page skips the assessed findings of the listed scope
// (its own assessments and global ones, not expired, on any of a
// finding's IDs) and follows every assessment written since the last
// page: the assessed findings it keeps are voided by the write.
func TestUnassessedPageFollowsAssessments(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		var pkgs []ObservedPackage
		for i := range 30 {
			id := fmt.Sprintf("GHSA-%03d", i)
			pkgs = append(pkgs, ObservedPackage{PURL: fmt.Sprintf("pkg:npm/p%02d@1", i), Ecosystem: "npm", Name: fmt.Sprintf("p%02d", i), Version: "1", Complete: true,
				Findings: []ObservedFinding{{VulnID: id, IDs: []string{id, "CVE-" + id[5:]}, Rating: "HIGH", Score: 100 - i, Sources: []string{"OSV"}, EPSSPercentile: -1}}})
		}
		for _, scope := range []string{"project:a", "project:b"} {
			if _, err := s.RecordFindings(ctx, scope, pkgs, now); err != nil {
				t.Fatal(err)
			}
		}
		assess := func(as ...Assessment) {
			t.Helper()
			if err := s.SetAssessments(ctx, as, "set", "t", now); err != nil {
				t.Fatal(err)
			}
		}
		// Each page is taken from the kept list and, with lists too long
		// to keep, row by row: the same.
		defer func(v int) { maxUnassessedList = v }(maxUnassessedList)
		page := func(offset, limit int) []string {
			t.Helper()
			var pages [2][]string
			for i, longest := range []int{1000, 3} {
				maxUnassessedList = longest
				rows, total, err := s.ListOpenFindings(ctx, FindingPageFilter{Scopes: []string{"project:a"}, Assessment: AssessedNone, Now: now, Offset: offset, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if r.Scope != "project:a" || r.Assessment != "" {
						t.Fatalf("row %+v", r)
					}
					pages[i] = append(pages[i], r.VulnID)
				}
				pages[i] = append(pages[i], fmt.Sprint("total ", total))
				s.listsChanged() // the next one reads the list again
			}
			if !slices.Equal(pages[0], pages[1]) {
				t.Fatalf("kept list %v, row by row %v", pages[0], pages[1])
			}
			return pages[0]
		}
		want := func(total int, ids ...int) []string {
			var out []string
			for _, i := range ids {
				out = append(out, fmt.Sprintf("GHSA-%03d", i))
			}
			return append(out, fmt.Sprint("total ", total))
		}
		// The ten most severe are assessed, as default rules would.
		var top []Assessment
		for i := range 10 {
			top = append(top, Assessment{VulnID: fmt.Sprintf("CVE-%03d", i), Scope: "project:a", Type: "Blocked", At: now})
		}
		assess(top...)
		if got := page(0, 5); !slices.Equal(got, want(20, 10, 11, 12, 13, 14)) {
			t.Fatalf("first page %v", got)
		}
		if got := page(3, 4); !slices.Equal(got, want(20, 13, 14, 15, 16)) {
			t.Fatalf("offset 3 %v", got)
		}
		// Assessed in the list's scope, globally: gone from the next page;
		// in another scope or expired: still listed.
		assess(Assessment{VulnID: "GHSA-010", Scope: "project:a", Type: "Caution", At: now},
			Assessment{VulnID: "CVE-012", Scope: "global", Type: "Ignore", At: now},
			Assessment{VulnID: "GHSA-011", Scope: "project:b", Type: "Ignore", At: now},
			Assessment{VulnID: "GHSA-013", Scope: "project:a", Type: "Ignore", At: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)})
		if got := page(0, 5); !slices.Equal(got, want(18, 11, 13, 14, 15, 16)) {
			t.Fatalf("after assessing %v", got)
		}
		if got := page(17, 5); !slices.Equal(got, want(18, 29)) {
			t.Fatalf("last page %v", got)
		}
		if got := page(18, 5); !slices.Equal(got, want(18)) {
			t.Fatalf("past the end %v", got)
		}
	})
}
