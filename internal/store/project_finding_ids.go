package store

import (
	"context"
	"database/sql"
	"strings"
)

// This file keeps project_finding_vuln, every ID of each project finding's
// alias group one row each (migration 00164), and answers which projects a
// vulnerability affects through it.

// projectFindingIDs is a project finding's ID and its space-separated IDs.
type projectFindingIDs struct {
	id  int64
	ids string
}

// indexProjectFindingIDs adds the IDs of findings to project_finding_vuln.
// Rows already there stay: an ID a finding no longer carries is left to
// ProjectsAffectedBy's own check of the finding's IDs.
func (s *Store) indexProjectFindingIDs(ctx context.Context, tx *sql.Tx, fs []projectFindingIDs) error {
	var rows [][]any
	for _, f := range fs {
		for _, id := range strings.Fields(f.ids) {
			rows = append(rows, []any{f.id, id})
		}
	}
	return insertMany(ctx, s, tx, "project_finding_vuln", []string{"finding_id", "vuln_id"}, rows)
}

// projectFindingIDsAfter reads the IDs of the project findings whose row
// ID is greater than after.
func projectFindingIDsAfter(ctx context.Context, s *Store, q queryer, after int64) ([]projectFindingIDs, error) {
	return queryAll(ctx, q, s.Rebind(`SELECT id, ids FROM project_finding WHERE id > ?`), []any{after}, func(r scanner) (projectFindingIDs, error) {
		var x projectFindingIDs
		return x, r.Scan(&x.id, &x.ids)
	})
}

// maxProjectFindingID is the greatest project finding row ID (0 when none).
func maxProjectFindingID(ctx context.Context, q queryer) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM project_finding`).Scan(&n)
	return n, err
}

// changedProjectFindingIDs returns those of fs whose IDs differ from the
// stored ones (read before fs is written).
func changedProjectFindingIDs(ctx context.Context, s *Store, q queryer, fs []ProjectFinding) ([]projectFindingIDs, error) {
	var out []projectFindingIDs
	for start := 0; start < len(fs); start += 500 {
		chunk := fs[start:min(start+500, len(fs))]
		args := make([]any, len(chunk))
		for i, f := range chunk {
			args[i] = f.ID
		}
		stored, err := queryAll(ctx, q, s.Rebind(`SELECT id, ids FROM project_finding WHERE id IN (`+inList(len(chunk))+`)`), args, func(r scanner) (projectFindingIDs, error) {
			var x projectFindingIDs
			return x, r.Scan(&x.id, &x.ids)
		})
		if err != nil {
			return nil, err
		}
		old := make(map[int64]string, len(stored))
		for _, x := range stored {
			old[x.id] = x.ids
		}
		for _, f := range chunk {
			if ids := strings.Join(f.IDs, " "); ids != old[f.ID] {
				out = append(out, projectFindingIDs{f.ID, ids})
			}
		}
	}
	return out, nil
}

// fillProjectFindingIDs fills project_finding_vuln when it is empty while
// project findings exist: a database migrated to 00164, or restored from a
// backup taken before it.
func (s *Store) fillProjectFindingIDs(ctx context.Context) error {
	var empty, findings bool
	err := s.db.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM project_finding_vuln), EXISTS (SELECT 1 FROM project_finding)`).Scan(&empty, &findings)
	if err != nil || !empty || !findings {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		fs, err := projectFindingIDsAfter(ctx, s, tx, 0)
		if err != nil {
			return err
		}
		return s.indexProjectFindingIDs(ctx, tx, fs)
	})
}

// ProjectsAffectedBy lists the projects (name → versions) with an open
// finding carrying any of ids. The candidates come from the index of
// project_finding_vuln; each is checked against the finding's IDs.
func (s *Store) ProjectsAffectedBy(ctx context.Context, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var conds []string
	args := make([]any, 0, 2*len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	for _, id := range ids {
		conds = append(conds, `(' ' || f.ids || ' ') LIKE ?`)
		args = append(args, "% "+id+" %")
	}
	type pv struct{ p, v string }
	rows, err := queryAll(ctx, s.db, s.Rebind(`SELECT DISTINCT p.name, v.version FROM project_finding f JOIN project_version v ON v.id = f.version_id JOIN project p ON p.id = v.project_id
WHERE f.id IN (SELECT finding_id FROM project_finding_vuln WHERE vuln_id IN (`+inList(len(ids))+`))
AND f.closed_at = '' AND (`+strings.Join(conds, " OR ")+`) ORDER BY p.name, v.version`), args, func(r scanner) (pv, error) {
		var x pv
		return x, r.Scan(&x.p, &x.v)
	})
	for _, r := range rows {
		out[r.p] = append(out[r.p], r.v)
	}
	return out, err
}
