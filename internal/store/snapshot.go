package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Snapshot is a consistent, read-only view of the whole database while
// others keep writing: on SQLite a read transaction on a connection of its
// own (WAL mode lets writers go on; the transaction sees the database as
// of its first read), on PostgreSQL a REPEATABLE READ READ ONLY
// transaction. Close it promptly: on SQLite the WAL cannot be checkpointed
// past it while it is open.
type Snapshot struct {
	dialect Dialect
	tx      *sql.Tx
	own     *sql.DB // the snapshot's own handle (closed with it), or nil
}

// Snapshot opens a snapshot of the store.
func (s *Store) Snapshot(ctx context.Context) (*Snapshot, error) {
	if s.dialect == Postgres {
		return beginSnapshot(ctx, s.db, nil, Postgres)
	}
	db, err := sql.Open("sqlite", sqliteReadDSN(s.path))
	if err != nil {
		return nil, err
	}
	return beginSnapshot(ctx, db, db, SQLite)
}

// InspectTarget opens a snapshot of the database opts names without
// creating or migrating it. It reports ok=false, and no error, when the
// SQLite file does not exist.
func InspectTarget(ctx context.Context, opts Options) (_ *Snapshot, ok bool, err error) {
	if opts.DSN != "" {
		db, err := sql.Open("pgx", opts.DSN)
		if err != nil {
			return nil, false, fmt.Errorf("store: open PostgreSQL %s: %w", redactDSN(opts.DSN), err)
		}
		sn, err := beginSnapshot(ctx, db, db, Postgres)
		if err != nil {
			return nil, false, fmt.Errorf("store: connect to PostgreSQL %s: %w", redactDSN(opts.DSN), err)
		}
		return sn, true, nil
	}
	path := filepath.Join(opts.DataDir, DBFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", sqliteReadDSN(path))
	if err != nil {
		return nil, false, err
	}
	sn, err := beginSnapshot(ctx, db, db, SQLite)
	return sn, err == nil, err
}

// sqliteReadDSN opens path for reading only, with deferred transactions
// (the store's own handle begins IMMEDIATE transactions, which would take
// the write lock for the snapshot's lifetime).
func sqliteReadDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)&_txlock=deferred"
}

func beginSnapshot(ctx context.Context, db, own *sql.DB, d Dialect) (*Snapshot, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if d == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	} else {
		db.SetMaxOpenConns(1)
		opts = nil // the driver takes no options; query_only guards writes
	}
	tx, err := db.BeginTx(ctx, opts)
	if err == nil {
		// The snapshot starts at the first read.
		var n int
		err = tx.QueryRowContext(ctx, `SELECT 1`).Scan(&n)
		if err == nil && d == SQLite {
			err = tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n)
		}
		if err != nil {
			tx.Rollback()
		}
	}
	if err != nil {
		if own != nil {
			own.Close()
		}
		return nil, fmt.Errorf("store: snapshot: %w", err)
	}
	return &Snapshot{dialect: d, tx: tx, own: own}, nil
}

// Dialect is the snapshot's engine.
func (sn *Snapshot) Dialect() Dialect { return sn.dialect }

// Close ends the snapshot.
func (sn *Snapshot) Close() error {
	err := sn.tx.Rollback()
	if sn.own != nil {
		if cerr := sn.own.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Tables describes the base tables, each after those it references.
func (sn *Snapshot) Tables(ctx context.Context) ([]Table, error) {
	return listTables(ctx, sn.tx, sn.dialect)
}

// Migrations lists the applied migration versions (none for a database
// vulngate never opened).
func (sn *Snapshot) Migrations(ctx context.Context) ([]int64, error) {
	return appliedMigrations(ctx, sn.tx, sn.dialect)
}

// Count counts a table's rows.
func (sn *Snapshot) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := sn.tx.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&n)
	return n, err
}

// LiveGenerations reports whether rows of t can be limited to the live
// generation of each partition: t has "part" and "generation" columns, as
// the mirror's tables do. Rows of other generations belong to imports in
// progress (or abandoned) and are garbage to anyone but their importer.
func LiveGenerations(t Table) bool {
	_, p := t.Column("part")
	_, g := t.Column("generation")
	return p && g && t.Name != "partition_state"
}

// Rows calls fn with each row of t's columns cols, as the driver returns
// them (int64, float64, bool, string, []byte, time.Time or nil). With
// liveOnly (see LiveGenerations) rows of generations that are not live are
// skipped. The slice is reused between calls.
func (sn *Snapshot) Rows(ctx context.Context, t Table, cols []Column, liveOnly bool, fn func([]any) error) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
	}
	q := `SELECT ` + strings.Join(names, ", ") + ` FROM ` + quoteIdent(t.Name)
	if liveOnly {
		q += ` WHERE EXISTS (SELECT 1 FROM partition_state ps WHERE ps.name = ` + quoteIdent(t.Name) + `.part AND ps.generation = ` + quoteIdent(t.Name) + `.generation)`
	}
	rows, err := sn.tx.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("store: reading %s: %w", t.Name, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("store: reading %s: %w", t.Name, err)
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: reading %s: %w", t.Name, err)
	}
	return nil
}
