package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Helpers the query files share.

// queryAll runs q and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// insertMany inserts rows with multi-row INSERT statements, which costs far
// fewer round trips into the engine than one statement per row.
func insertMany(ctx context.Context, s *Store, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	vals := make([]any, 0, len(rows)*len(cols))
	for _, r := range rows {
		vals = append(vals, r...)
	}
	_, err := insertShared(ctx, s.dialect, tx, table, nil, nil, cols, vals)
	return err
}

// insertShared is insertMany for rows whose sharedCols all take the values
// shared: each statement binds those once and each row only its own
// values, len(cols) of vals per row. It returns how many rows were
// inserted (rows that conflict with existing ones are not).
func insertShared(ctx context.Context, d Dialect, tx *sql.Tx, table string, sharedCols []string, shared []any, cols []string, vals []any) (int64, error) {
	return insertSharedAs(ctx, d, tx, false, table, sharedCols, shared, cols, vals)
}

// insertSharedAs is insertShared; with ignore, SQLite's statements are
// INSERT OR IGNORE instead of INSERT ... ON CONFLICT DO NOTHING, for rows
// whose values are never NULL (the mirrored records' rows). Both skip a
// row whose key is taken; but a NOT NULL column can still abort a plain
// INSERT halfway, so SQLite opens a statement journal for each statement
// after a transaction's first one and copies every page the statement
// changes into it before changing it: 5% of a corpus import's CPU, a
// tenth of its writer's (BenchmarkWriteCorpus in osvmirror: 18.0-18.8 ->
// 16.3-17.4 µs CPU per record). With OR IGNORE no constraint aborts, and
// there is no statement journal. OR IGNORE also skips a row breaking a NOT
// NULL or CHECK constraint, silently: the tables written so have no CHECK
// constraint and the writer binds no NULL (import_ignore_test.go holds
// both).
func insertSharedAs(ctx context.Context, d Dialect, tx *sql.Tx, ignore bool, table string, sharedCols []string, shared []any, cols []string, vals []any) (int64, error) {
	const perStmt = 100
	width := len(cols)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, len(shared)+perStmt*width)
	var inserted int64
	for len(vals) > 0 {
		n := min(perStmt, len(vals)/width)
		args = append(append(args[:0], shared...), vals[:n*width]...)
		var res sql.Result
		var err error
		if n == perStmt {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(d, ignore, table, sharedCols, cols, n)); err != nil {
					return inserted, err
				}
			}
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, insertSQL(d, ignore, table, sharedCols, cols, n), args...)
		}
		if err != nil {
			return inserted, fmt.Errorf("insert into %s: %w", table, err)
		}
		if k, err := res.RowsAffected(); err == nil {
			inserted += k
		}
		vals = vals[n*width:]
	}
	return inserted, nil
}

// insertSQL is an INSERT of n rows binding the shared columns once. On
// SQLite a plain "?" takes the number after the largest one assigned
// before it, so each row's values follow ?1..?k in order; the driver binds
// a plain "?" faster than a numbered one (it looks those up by name).
func insertSQL(d Dialect, ignore bool, table string, sharedCols, cols []string, n int) string {
	var b strings.Builder
	verb := "INSERT INTO "
	if ignore && d == SQLite {
		verb = "INSERT OR IGNORE INTO "
	}
	b.WriteString(verb + table + " (" + strings.Join(append(slices.Clip(sharedCols), cols...), ", ") + ") VALUES ")
	next := len(sharedCols)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range sharedCols {
			if d == Postgres {
				fmt.Fprintf(&b, "$%d, ", j+1)
			} else {
				fmt.Fprintf(&b, "?%d, ", j+1)
			}
		}
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			next++
			if d == Postgres {
				fmt.Fprintf(&b, "$%d", next)
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	if !ignore || d != SQLite {
		b.WriteString(" ON CONFLICT DO NOTHING")
	}
	return b.String()
}

// queryStrings runs a query of one text column and returns its values.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	return queryAll(ctx, q, query, args, func(r scanner) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
}

// inClause appends " AND col IN (...)" for vals to q and vals to args;
// no values add nothing.
func inClause(q string, args []any, col string, vals []string) (string, []any) {
	if len(vals) == 0 {
		return q, args
	}
	cond, vargs := inCond(col, vals)
	return q + ` AND ` + cond, append(args, vargs...)
}

// inCond returns the condition "col IN (?, ...)" for vals, and vals as
// its arguments.
func inCond(col string, vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + ` IN (` + inList(len(vals)) + `)`, args
}

// pageTotal counts the rows of a list page's query, "SELECT COUNT(*) FROM
// from where", through the count cache (listcache.go) under key, which
// must name the where clause and the arguments the count depends on
// (countKey).
func (s *Store) pageTotal(ctx context.Context, key, from, where string, args []any) (int, error) {
	return s.counts.get(ctx, key, func(ctx context.Context) (int, error) {
		var n int
		err := s.queryRowCached(ctx, s.Rebind(`SELECT COUNT(*) FROM `+from+where), args...).Scan(&n)
		return n, err
	})
}

// countKey names a count for the count cache: the where clause and its
// arguments.
func countKey(where string, args []any) string {
	return where + "\x00" + fmt.Sprint(args...)
}

// pageLimit is a list page's size: limit, or 50 when not given.
func pageLimit(limit int) int {
	if limit <= 0 {
		return 50
	}
	return limit
}

// likePattern is a LIKE pattern (escape character \) matching q as a
// case-insensitive substring.
func likePattern(q string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q)) + "%"
}
