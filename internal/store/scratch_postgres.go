package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// newPGScratch creates the scratch schema in the target database and
// opens a handle whose search_path is that schema only, so that the
// migrations and loads of the scratch do not touch the target's tables.
func newPGScratch(ctx context.Context, target Options, schema string) (*Scratch, error) {
	cfg, err := pgx.ParseConfig(target.DSN)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL connection string %s: %w", redactDSN(target.DSN), err)
	}
	admin := stdlib.OpenDB(*cfg.Copy())
	defer admin.Close()
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := admin.PingContext(pctx); err != nil {
		return nil, fmt.Errorf("store: connect to PostgreSQL %s: %w", redactDSN(target.DSN), err)
	}
	dropDeadScratches(ctx, admin)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+quoteIdent(schema)); err != nil {
		return nil, fmt.Errorf("store: creating the restore's scratch schema in %s: %w", redactDSN(target.DSN), err)
	}
	// The owner (host:pid) tells a later restore whether this one died.
	if _, err := admin.ExecContext(ctx, `COMMENT ON SCHEMA `+quoteIdent(schema)+` IS `+quoteLiteral(processOwner())); err != nil {
		admin.ExecContext(ctx, `DROP SCHEMA `+quoteIdent(schema))
		return nil, err
	}
	// Tables the migrations create go to the scratch schema (first in the
	// path); the target's schema follows so that extensions installed
	// there (pg_trgm's operator classes) are visible. A migration run
	// from scratch only refers to objects earlier ones created, which the
	// scratch schema has.
	var into string
	if err := admin.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&into); err != nil {
		admin.ExecContext(ctx, `DROP SCHEMA `+quoteIdent(schema))
		return nil, err
	}
	cfg.RuntimeParams["search_path"] = quoteIdent(schema) + ", " + quoteIdent(into)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(4)
	return &Scratch{dialect: Postgres, target: target, db: db, schema: schema, into: into}, nil
}

// moveExtensions moves extensions a scratch migration created (CREATE
// EXTENSION puts them in the first schema of the path) into the target's
// schema, where the target's own migration expects them and where
// dropping the scratch schema cannot take them along.
func (sc *Scratch) moveExtensions(ctx context.Context, db *sql.DB) error {
	names, err := queryStrings(ctx, db, `SELECT e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = $1`, sc.schema)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := db.ExecContext(ctx, `ALTER EXTENSION `+quoteIdent(n)+` SET SCHEMA `+quoteIdent(sc.into)); err != nil {
			return fmt.Errorf("store: moving extension %s out of the restore's scratch schema: %w", n, err)
		}
	}
	return nil
}

// dropDeadScratches drops the scratch schemas of restores whose process
// on this host no longer runs (best effort).
func dropDeadScratches(ctx context.Context, db *sql.DB) {
	rows, err := db.QueryContext(ctx, `SELECT nspname, COALESCE(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace WHERE nspname LIKE 'vulngate\_restore\_%'`)
	if err != nil {
		return
	}
	var dead []string
	for rows.Next() {
		var name, owner string
		if rows.Scan(&name, &owner) == nil && ownerDead(owner) {
			dead = append(dead, name)
		}
	}
	rows.Close()
	for _, name := range dead {
		db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(name)+` CASCADE`)
	}
}

func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// copySource adapts a row function to pgx's COPY.
type copySource struct {
	next func() ([]any, error)
	vals []any
	err  error
	n    int64
}

func (c *copySource) Next() bool {
	c.vals, c.err = c.next()
	if errors.Is(c.err, io.EOF) {
		c.err = nil
		return false
	}
	if c.err == nil {
		c.n++
	}
	return c.err == nil
}

func (c *copySource) Values() ([]any, error) { return c.vals, nil }
func (c *copySource) Err() error             { return c.err }

func (sc *Scratch) loadPG(ctx context.Context, t Table, cols []Column, next func() ([]any, error)) (int64, error) {
	conn, err := sc.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	src := &copySource{next: next}
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `DELETE FROM `+quoteIdent(t.Name)); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.Name}, names, src); err != nil {
			if src.err != nil {
				return src.err
			}
			return err
		}
		return tx.Commit(ctx)
	})
	return src.n, err
}

// resetSequences moves every sequence feeding a column of the current
// schema past the largest value in that column.
func resetSequences(ctx context.Context, q queryer) error {
	rows, err := q.QueryContext(ctx, `SELECT table_name, column_name, seq FROM (
  SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_schema) || '.' || quote_ident(table_name), column_name) AS seq
  FROM information_schema.columns WHERE table_schema = current_schema()) s WHERE seq IS NOT NULL ORDER BY table_name, column_name`)
	if err != nil {
		return fmt.Errorf("store: reading sequences: %w", err)
	}
	type serial struct{ table, column, seq string }
	var all []serial
	for rows.Next() {
		var s serial
		if err := rows.Scan(&s.table, &s.column, &s.seq); err != nil {
			rows.Close()
			return err
		}
		all = append(all, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range all {
		set := `SELECT setval($1, COALESCE((SELECT max(` + quoteIdent(s.column) + `) FROM ` + quoteIdent(s.table) + `), 0) + 1, false)`
		if _, err := q.ExecContext(ctx, set, s.seq); err != nil {
			return fmt.Errorf("store: resetting the sequence of %s.%s: %w", s.table, s.column, err)
		}
	}
	return nil
}

func (sc *Scratch) installPG(ctx context.Context, mustBeEmpty []string) error {
	if err := sc.moveExtensions(ctx, sc.db); err != nil {
		return err
	}
	tgt, err := Open(ctx, sc.target) // the target at this binary's schema version
	if err != nil {
		return err
	}
	defer tgt.Close()
	from, err := listTables(ctx, sc.db, Postgres)
	if err != nil {
		return err
	}
	tx, err := tgt.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if mustBeEmpty != nil {
		held, err := countRows(ctx, tx, Postgres, mustBeEmpty)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			return &NotEmptyError{Target: TargetName(sc.target), Rows: held}
		}
	}
	into, err := listTables(ctx, tx, Postgres)
	if err != nil {
		return err
	}
	have := map[string]Table{}
	for _, t := range into {
		have[t.Name] = t
	}
	var trunc []string
	for _, t := range from {
		if _, ok := have[t.Name]; !ok {
			return fmt.Errorf("store: the target has no table %s (is it at a different schema version?)", t.Name)
		}
		trunc = append(trunc, quoteIdent(t.Name))
	}
	if len(trunc) > 0 {
		if _, err := tx.ExecContext(ctx, `TRUNCATE `+strings.Join(trunc, ", ")); err != nil {
			return fmt.Errorf("store: emptying the target: %w", err)
		}
	}
	for _, t := range from { // referenced tables first
		dst := have[t.Name]
		var names []string
		identity := false
		for _, c := range t.Columns {
			if dc, ok := dst.Column(c.Name); ok {
				names = append(names, quoteIdent(c.Name))
				identity = identity || dc.Identity
			}
		}
		cols := strings.Join(names, ", ")
		q := `INSERT INTO ` + quoteIdent(t.Name) + ` (` + cols + `)`
		if identity {
			q += ` OVERRIDING SYSTEM VALUE`
		}
		q += ` SELECT ` + cols + ` FROM ` + quoteIdent(sc.schema) + `.` + quoteIdent(t.Name)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: copying %s into the target: %w", t.Name, err)
		}
	}
	if err := resetSequences(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Freshly written rows have no planner statistics until autovacuum
	// gets to them (see Import.Commit); best effort, the data is in.
	for _, t := range from {
		tgt.db.ExecContext(ctx, `ANALYZE `+quoteIdent(t.Name))
	}
	return nil
}

func (sc *Scratch) discardPG() {
	sc.db.Close()
	if sc.schema == "" {
		return
	}
	db, err := sql.Open("pgx", sc.target.DSN)
	if err != nil {
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if sc.moveExtensions(ctx, db) != nil {
		// Dropping the schema would drop an extension with it.
		return
	}
	if _, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(sc.schema)+` CASCADE`); err == nil {
		sc.schema = ""
	}
}
