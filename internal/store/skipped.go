package store

import (
	"context"
	"database/sql"
)

// maxSkipped bounds how many skipped record IDs one import remembers; a
// hostile archive of millions of bad entries must not grow memory without
// bound. Records beyond it are simply fetched again by the next sync.
const maxSkipped = 100_000

// Skipped is a record of the source that an import left out as malformed.
type Skipped struct {
	ID     string
	Reason string
}

// Skip remembers a record the import left out as malformed, so that
// incremental syncs of the partition do not take it for a record the store
// is missing. It is written with the generation on Commit.
func (im *Import) Skip(id, reason string) {
	if id != "" && len(im.skipped) < maxSkipped {
		im.skipped = append(im.skipped, Skipped{ID: id, Reason: reason})
	}
}

// SkippedIDs returns the IDs of the partition's records that the last
// imports left out as malformed.
func (s *Store) SkippedIDs(ctx context.Context, part string) (map[string]struct{}, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT id FROM advisory_skipped WHERE part = ?`), part)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]struct{}{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = struct{}{}
	}
	return out, rows.Err()
}

// replaceSkipped sets the partition's skipped records: with all, every
// previous row goes; otherwise the IDs in drop and those of add.
func replaceSkipped(ctx context.Context, s *Store, tx *sql.Tx, part string, all bool, drop []string, add []Skipped) error {
	if all {
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM advisory_skipped WHERE part = ?`), part); err != nil {
			return err
		}
	} else {
		del, err := tx.PrepareContext(ctx, s.Rebind(`DELETE FROM advisory_skipped WHERE part = ? AND id = ?`))
		if err != nil {
			return err
		}
		defer del.Close()
		for _, id := range drop {
			if _, err := del.ExecContext(ctx, part, id); err != nil {
				return err
			}
		}
	}
	rows := make([][]any, 0, len(add))
	for _, k := range add {
		rows = append(rows, []any{part, k.ID, k.Reason})
	}
	return insertMany(ctx, s, tx, "advisory_skipped", []string{"part", "id", "reason"}, rows)
}

func skippedIDs(ks []Skipped) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}
