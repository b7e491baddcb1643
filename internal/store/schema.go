package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The schema as the database itself describes it, for work that must see
// every table without a hard-coded list (internal/backup): tables, their
// writable columns with an engine-neutral kind, foreign-key dependencies,
// and the goose migrations applied.

// Kind is an engine-neutral column type.
type Kind string

// Column kinds. Columns are mapped from the declared type: integers (and
// SQLite's INTEGER affinity), floating point, text (anything textual,
// including PostgreSQL json and timestamps), binary, and booleans.
const (
	KindInt  Kind = "int"
	KindReal Kind = "real"
	KindText Kind = "text"
	KindBlob Kind = "blob"
	KindBool Kind = "bool"
)

// Column is one writable column of a table. Generated columns are left
// out: the database computes them.
type Column struct {
	Name string
	Kind Kind
	// Identity marks a PostgreSQL identity column: copying explicit values
	// into it needs OVERRIDING SYSTEM VALUE.
	Identity bool
}

// Table is one base table of the store (views, SQLite's internal and
// virtual tables and goose's version table are not listed).
type Table struct {
	Name    string
	Columns []Column
	// Refs are the other tables its foreign keys reference.
	Refs []string
}

// Column returns the named column.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// VersionTable is goose's table of applied migrations.
const VersionTable = "goose_db_version"

type queryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// listTables describes the base tables of the connection's main schema
// (SQLite "main", PostgreSQL current_schema()), sorted so that every table
// comes after the tables it references.
func listTables(ctx context.Context, q queryer, d Dialect) ([]Table, error) {
	sq := sqliteSchema
	if d == Postgres {
		sq = pgSchema
	}
	ts, err := describeTables(ctx, q, sq)
	if err != nil {
		return nil, fmt.Errorf("store: reading the schema: %w", err)
	}
	return SortByRefs(ts), nil
}

// schemaQueries read one engine's catalog: the base tables, each table's
// writable columns (name, declared type, identity flag) and the tables
// its foreign keys reference.
type schemaQueries struct {
	tables, columns, refs string
	column                func(name, typ, identity string) Column
}

var sqliteSchema = schemaQueries{
	tables: `SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`,
	// hidden: 0 ordinary, 1 hidden (virtual tables), 2 and 3 generated.
	columns: `SELECT name, type, '' FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid`,
	refs:    `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`,
	column:  func(name, typ, _ string) Column { return Column{Name: name, Kind: sqliteKind(typ)} },
}

var pgSchema = schemaQueries{
	tables: `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
	columns: `SELECT column_name, data_type, is_identity FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`,
	refs: `SELECT DISTINCT ref.relname FROM pg_constraint c
JOIN pg_class tbl ON tbl.oid = c.conrelid JOIN pg_class ref ON ref.oid = c.confrelid
WHERE c.contype = 'f' AND tbl.relname = $1 AND tbl.relnamespace = current_schema()::regnamespace`,
	column: func(name, typ, identity string) Column {
		return Column{Name: name, Kind: pgKind(typ), Identity: identity == "YES"}
	},
}

func describeTables(ctx context.Context, q queryer, sq schemaQueries) ([]Table, error) {
	names, err := queryStrings(ctx, q, sq.tables)
	if err != nil {
		return nil, err
	}
	var out []Table
	for _, n := range names {
		if n == VersionTable {
			continue
		}
		t := Table{Name: n}
		rows, err := q.QueryContext(ctx, sq.columns, n)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name, typ, ident string
			if err := rows.Scan(&name, &typ, &ident); err != nil {
				rows.Close()
				return nil, err
			}
			t.Columns = append(t.Columns, sq.column(name, typ, ident))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		refs, err := queryStrings(ctx, q, sq.refs, n)
		if err != nil {
			return nil, err
		}
		t.Refs = otherRefs(n, refs)
		out = append(out, t)
	}
	return out, nil
}

// sqliteKind maps a declared type by SQLite's affinity rules (section
// 3.1 of its datatype documentation), with BOOLEAN kept apart.
func sqliteKind(decl string) Kind {
	u := strings.ToUpper(decl)
	switch {
	case strings.Contains(u, "INT"):
		return KindInt
	case strings.Contains(u, "CHAR"), strings.Contains(u, "CLOB"), strings.Contains(u, "TEXT"):
		return KindText
	case strings.Contains(u, "BLOB"), u == "":
		return KindBlob
	case strings.Contains(u, "REAL"), strings.Contains(u, "FLOA"), strings.Contains(u, "DOUB"):
		return KindReal
	case strings.Contains(u, "BOOL"):
		return KindBool
	}
	return KindText // NUMERIC affinity: dates, decimals
}

func pgKind(typ string) Kind {
	switch typ {
	case "smallint", "integer", "bigint":
		return KindInt
	case "real", "double precision":
		return KindReal
	case "bytea":
		return KindBlob
	case "boolean":
		return KindBool
	}
	return KindText // text, varchar, json, numeric, dates: carried as text
}

func otherRefs(self string, refs []string) []string {
	var out []string
	for _, r := range refs {
		if r != self {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// SortByRefs orders tables so that each follows the tables it references
// (by name otherwise); tables in a reference cycle keep name order.
func SortByRefs(ts []Table) []Table {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	byName := map[string]Table{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	out := make([]Table, 0, len(ts))
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t Table)
	visit = func(t Table) {
		if state[t.Name] != 0 {
			return
		}
		state[t.Name] = 1
		for _, r := range t.Refs {
			if rt, ok := byName[r]; ok {
				visit(rt)
			}
		}
		state[t.Name] = 2
		out = append(out, t)
	}
	for _, t := range ts {
		visit(t)
	}
	return out
}

// appliedMigrations lists the migration versions recorded in goose's
// table (none when it does not exist).
func appliedMigrations(ctx context.Context, q queryer, d Dialect) ([]int64, error) {
	exists := `SELECT count(*) FROM pragma_table_list WHERE schema = 'main' AND name = '` + VersionTable + `'`
	if d == Postgres {
		exists = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '` + VersionTable + `'`
	}
	var n int
	if err := q.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return nil, fmt.Errorf("store: reading the schema version: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT version_id, is_applied FROM `+VersionTable+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: reading the schema version: %w", err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		var ok bool
		if err := rows.Scan(&v, &ok); err != nil {
			return nil, err
		}
		applied[v] = ok // the latest row of a version decides
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []int64
	for v, ok := range applied {
		if ok && v > 0 {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// Migrations lists the migration versions embedded in this binary for the
// dialect, in order.
func Migrations(d Dialect) ([]int64, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(d))
	if err != nil {
		return nil, err
	}
	ents, err := fs.ReadDir(sub, ".")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("store: migration file %s: %w", e.Name(), err)
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// migrateTo applies the embedded migrations up to version (0: all) to db.
func migrateTo(ctx context.Context, db *sql.DB, d Dialect, version int64) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(d))
	if err != nil {
		return err
	}
	gd := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if d == Postgres {
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if version > 0 {
		_, err = p.UpTo(ctx, version)
	} else {
		_, err = p.Up(ctx)
	}
	if err != nil && !errors.Is(err, goose.ErrNoNextVersion) {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// quoteIdent quotes an identifier for both engines.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
