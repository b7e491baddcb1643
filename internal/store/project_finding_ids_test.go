package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The projects a vulnerability affects come from project_finding_vuln:
// kept with uploads, with analyses that change a finding's IDs, with
// closed findings and deleted versions, and filled when it is empty.
func TestProjectsAffectedByIndex(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		finding := func(ids ...string) ProjectFinding {
			return ProjectFinding{VulnID: ids[0], IDs: ids, Rating: "HIGH", Score: 75, FirstSeen: now, LastSeen: now}
		}
		upload := func(project, version string, comps ...[]ProjectFinding) int64 {
			t.Helper()
			up := VersionUpload{Project: Project{Name: project}, Version: version, Format: "cyclonedx-json"}
			for i, fs := range comps {
				up.Components = append(up.Components, ProjectComponent{PURL: fmt.Sprintf("pkg:npm/c%d@1", i), Name: fmt.Sprintf("c%d", i), Version: "1", Findings: fs})
			}
			vid, err := s.ReplaceProjectVersion(ctx, up, now)
			if err != nil {
				t.Fatal(err)
			}
			return vid
		}
		a1 := upload("a", "1", []ProjectFinding{finding("GHSA-1", "CVE-1")}, []ProjectFinding{finding("CVE-2")})
		b1 := upload("b", "1", []ProjectFinding{finding("GHSA-1")})
		upload("b", "2", []ProjectFinding{finding("GHSA-3", "CVE-3")})
		check := func(when string, want map[string]string) {
			t.Helper()
			for ids, w := range want {
				got, err := s.ProjectsAffectedBy(ctx, strings.Fields(ids))
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != w {
					t.Errorf("%s: affected by %s: %v, want %s", when, ids, got, w)
				}
			}
		}
		check("uploaded", map[string]string{"CVE-1": "map[a:[1]]", "GHSA-1": "map[a:[1] b:[1]]", "CVE-2 NOPE": "map[a:[1]]", "CVE-3 CVE-1": "map[a:[1] b:[2]]", "NOPE": "map[]"})

		// An analysis changes a finding's IDs and closes another.
		comps, err := s.VersionComponents(ctx, a1, false)
		if err != nil {
			t.Fatal(err)
		}
		seen := comps[0].Findings[0]
		seen.IDs = []string{"GHSA-1", "CVE-9"}
		bc, err := s.VersionComponents(ctx, b1, false)
		if err != nil {
			t.Fatal(err)
		}
		closed := bc[0].Findings[0]
		closed.ClosedAt, closed.CloseReason = now, "withdrawn"
		if err := s.ApplyFindingChanges(ctx, FindingChanges{Seen: []ProjectFinding{seen}, Closed: []ProjectFinding{closed}}, now); err != nil {
			t.Fatal(err)
		}
		analysed := map[string]string{"CVE-1": "map[]", "CVE-9": "map[a:[1]]", "GHSA-1": "map[a:[1]]", "CVE-3": "map[b:[2]]"}
		check("analysed", analysed)

		// Emptied (a database from before the table): filled again.
		if _, err := s.db.ExecContext(ctx, `DELETE FROM project_finding_vuln`); err != nil {
			t.Fatal(err)
		}
		check("emptied", map[string]string{"CVE-9": "map[]"})
		if err := s.fillProjectFindingIDs(ctx); err != nil {
			t.Fatal(err)
		}
		check("filled", analysed)

		// A deleted version takes its rows with it.
		if err := s.DeleteProjectVersion(ctx, "b", "2"); err != nil {
			t.Fatal(err)
		}
		check("deleted", map[string]string{"CVE-3": "map[]"})
		var orphans int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_finding_vuln x WHERE NOT EXISTS (SELECT 1 FROM project_finding f WHERE f.id = x.finding_id)`).Scan(&orphans); err != nil || orphans != 0 {
			t.Fatalf("%d rows of deleted findings (%v)", orphans, err)
		}

		if s.Dialect() != SQLite {
			return
		}
		rows, err := queryAll(ctx, s.db, `EXPLAIN QUERY PLAN SELECT f.id FROM project_finding f WHERE f.id IN (SELECT finding_id FROM project_finding_vuln WHERE vuln_id IN (?, ?)) AND f.closed_at = ''`, []any{"A", "B"},
			func(r scanner) (string, error) {
				var id, parent, unused int
				var detail string
				return detail, r.Scan(&id, &parent, &unused, &detail)
			})
		if err != nil {
			t.Fatal(err)
		}
		if plan := strings.Join(rows, "\n"); strings.Contains(plan, "SCAN f") || !strings.Contains(plan, "project_finding_vuln_by_id") {
			t.Errorf("the lookup does not go through the index:\n%s", plan)
		}
	})
}
