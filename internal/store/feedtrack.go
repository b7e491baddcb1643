package store

import (
	"context"
	"database/sql"
	"strings"
)

// PruneFeedPackages keeps a feed's tracked packages within max: the least
// recently seen beyond it stop being tracked (their audit rows and
// findings stay). It returns how many were dropped.
func (s *Store) PruneFeedPackages(ctx context.Context, feed string, max int) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM feed_package WHERE feed = ?`), feed).Scan(&n); err != nil {
		return 0, err
	}
	if n <= max {
		return 0, nil
	}
	const perStmt = 500
	dropped := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		dropped = 0
		rows, err := tx.QueryContext(ctx, s.Rebind(`SELECT purl FROM feed_package WHERE feed = ? ORDER BY last_seen, purl LIMIT ?`), feed, n-max)
		if err != nil {
			return err
		}
		var purls []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return err
			}
			purls = append(purls, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := 0; i < len(purls); i += perStmt {
			chunk := purls[i:min(i+perStmt, len(purls))]
			args := []any{feed}
			for _, p := range chunk {
				args = append(args, p)
			}
			res, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM feed_package WHERE feed = ? AND purl IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`), args...)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			dropped += int(k)
		}
		return nil
	})
	return dropped, err
}
