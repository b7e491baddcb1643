package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL imports write each batch with COPY (pgx's native protocol
// support) straight into advisory, advisory_package and advisory_alias,
// in one transaction per batch. The rows of a generation that is not yet
// live are invisible to readers (they join partition_state's generation),
// so nothing needs a staging area to stay hidden. Multi-row INSERT
// statements managed about 7,900 advisories/s; COPY into session-local
// staging tables moved by INSERT ... SELECT ... ON CONFLICT DO NOTHING
// cost the server twice the CPU of the direct COPY (1.25 s against 0.66 s
// for the corpus's rows).
//
// An archive that repeats an ID (or a caller that repeats a package key)
// makes the direct COPY fail on a unique index; the batch is then rolled
// back and written again through the staging tables, whose ON CONFLICT DO
// NOTHING keeps the first copy, as SQLite's INSERT OR IGNORE does.

// stagingTables creates the session's staging tables (emptied at every
// commit).
const stagingTables = `
CREATE TEMP TABLE IF NOT EXISTS import_advisory (part TEXT, generation BIGINT, id TEXT, modified TEXT, withdrawn INTEGER, data BYTEA, pkgs TEXT) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_package (part TEXT, generation BIGINT, ecosystem TEXT, name TEXT, id TEXT) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_alias (alias TEXT, part TEXT, generation BIGINT, id TEXT) ON COMMIT DELETE ROWS`

// copyTables are the tables a batch writes, with their columns in the
// order recordRows renders them.
var copyTables = []struct {
	table, staging string
	cols           []string
}{
	{"advisory", "import_advisory", []string{"part", "generation", "id", "modified", "withdrawn", "data", "pkgs"}},
	{"advisory_package", "import_package", []string{"part", "generation", "ecosystem", "name", "id"}},
	{"advisory_alias", "import_alias", []string{"alias", "part", "generation", "id"}},
}

// copyRecords writes one batch of a generation in one transaction on conn.
func copyRecords(ctx context.Context, conn *sql.Conn, part string, gen int64, recs []Record) error {
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("not a pgx connection")
		}
		adv, pkg, alias := recordRows(part, gen, recs)
		rows := [][][]any{adv, pkg, alias}
		err := copyBatch(ctx, sc.Conn(), gen, rows, false)
		if isUniqueViolation(err) {
			err = copyBatch(ctx, sc.Conn(), gen, rows, true)
		}
		return err
	})
}

// copyBatch writes the rows of one batch (advisory, package and alias
// rows) in one transaction, through the staging tables when staged.
func copyBatch(ctx context.Context, c *pgx.Conn, gen int64, rows [][][]any, staged bool) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if staged {
		if _, err := tx.Exec(ctx, stagingTables); err != nil {
			return err
		}
	}
	for i, t := range copyTables {
		if len(rows[i]) == 0 {
			continue
		}
		into := t.table
		if staged {
			into = t.staging
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{into}, t.cols, pgx.CopyFromRows(rows[i])); err != nil {
			return fmt.Errorf("copy into %s: %w", into, err)
		}
		if staged {
			cols := strings.Join(t.cols, ", ")
			if _, err := tx.Exec(ctx, `INSERT INTO `+t.table+` (`+cols+`) SELECT `+cols+` FROM `+t.staging+` ON CONFLICT DO NOTHING`); err != nil {
				return fmt.Errorf("move %s: %w", t.staging, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE pending_generation SET heartbeat = $1 WHERE generation = $2`, fmtTime(time.Now()), gen); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// wholeGenerationPlans makes the rest of a PostgreSQL transaction join
// whole generations with hash or merge joins. Commit compares the new
// generation with the one it replaces (counts, the change journal); the
// statistics do not know the new generation's rows yet (ANALYZE runs only
// after large imports), and with a generation estimated at one row the
// planner chose a nested loop over a materialized scan of the other:
// quadratic in the partition's size (1.6 s for 7,444 records, minutes for
// a real ecosystem). Both generations are key ranges of the same unique
// index, so a merge or hash join is linear whatever the estimates.
func (s *Store) wholeGenerationPlans(ctx context.Context, tx *sql.Tx) error {
	if s.dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SET LOCAL enable_nestloop = off`)
	return err
}
