package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
	defer s.writes.take(ctx)()
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
	if err := vacuum(ctx, conn); err != nil {
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
//
// The copy is a temporary file (SQLite's temporary directory), not
// memory: the store's connections keep temporary tables in memory
// (temp_store), and a VACUUM under that setting built the whole copy in
// the process's memory, its peak RSS growing by the file's size (the
// corpus's forced re-import: 90 -> 198 MiB; a full OSV mirror's file is
// gigabytes).
func (s *Store) Compact(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	defer s.writes.take(ctx)()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	defer conn.Close()
	if err := vacuum(ctx, conn); err != nil {
		return fmt.Errorf("store: compact (VACUUM): %w", err)
	}
	return nil
}

// vacuum runs VACUUM on conn with its copy in a temporary file (see
// Compact), and gives conn the store's temp_store back.
func vacuum(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, `VACUUM`)
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`); rerr != nil {
		// Not back to the pool with another setting than the others.
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}
