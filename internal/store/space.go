package store

import (
	"context"
	"fmt"
)

// Space: a full import writes a new generation beside the live one and
// then deletes the old one, so without reclaiming, every forced re-import
// would leave the SQLite file at twice the data's size (317 MB -> 634 MB at
// 200,000 records). New databases are created with auto_vacuum=INCREMENTAL
// (in the DSN, which takes effect only before the first table exists), and
// after a generation is deleted its pages are given back to the file
// system with PRAGMA incremental_vacuum. A database created before that
// is converted once by a VACUUM, when a re-import has left more than a
// quarter of it free. PostgreSQL reuses the dead rows' space itself
// (autovacuum) and is not touched.

// reclaim returns free pages of the SQLite file to the file system.
func (s *Store) reclaim(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var mode, free, pages int64
	if err := conn.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return fmt.Errorf("store: reclaim space: %w", err)
	}
	if mode == 2 {
		if _, err := conn.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
			return fmt.Errorf("store: reclaim space: %w", err)
		}
		return nil
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
		return fmt.Errorf("store: reclaim space: %w", err)
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		return fmt.Errorf("store: reclaim space: %w", err)
	}
	if free*4 < pages {
		return nil
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return fmt.Errorf("store: reclaim space: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("store: reclaim space (VACUUM): %w", err)
	}
	return nil
}

// Compact rewrites the SQLite file without the partly filled pages that
// replacing generations leaves where partitions meet in the indexes
// (0.1-0.6% of the file after a forced re-import of the corpus), so a
// forced re-import ends no larger than the first import. It is a VACUUM:
// it takes time in proportion to the file (about half a forced
// re-import's) and room for a second copy while it runs, so it runs only
// when a user asks for everything to be imported again (mirror --full).
// Readers keep reading while it runs; writers wait. PostgreSQL reuses
// dead rows' space itself: nothing to do there.
func (s *Store) Compact(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("store: compact (VACUUM): %w", err)
	}
	return nil
}
