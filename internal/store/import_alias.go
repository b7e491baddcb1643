package store

import (
	"context"
	"database/sql"
)

// Alias rows of a generation that replaces another (SQLite). The alias
// index is keyed by the alias first, so a new generation's rows would land
// next to the replaced generation's rows of the same alias, splitting
// their pages; once the replaced rows are deleted those pages stay 60%
// full and a forced re-import left the file 1.7% larger than the first
// import. An import that replaces a generation therefore keeps its alias
// rows until Commit, which deletes the replaced generation's alias rows
// and inserts the new ones in the same transaction that makes the new
// generation live: they fill the slots just freed (in the order read: in
// key order they filled the freed pages less evenly). Readers see the old
// rows or the new ones, never neither. Past maxDeferredAliases rows
// (memory stays bounded) the import writes them with its batches as a
// first import does. The corpus's forced re-import now leaves the file
// 1.001x the first import's (alias pages 89% full; the rest is the other
// indexes' pages at partition boundaries).

// maxDeferredAliases bounds the alias rows an import holds (~70 B each;
// tests lower it).
var maxDeferredAliases = 100_000

// deferredAliases are the alias rows an import holds until Commit.
type deferredAliases struct {
	on   bool        // the import replaces a generation and holds its rows
	rows [][2]string // alias, record ID
}

// take moves the alias rows of written (records the writer wrote without
// their aliases) into d while d is on. Past the bound it turns off, and the
// rows held are returned to be written now.
func (d *deferredAliases) take(written []Record) (flush [][2]string) {
	if !d.on {
		return nil
	}
	for i := range written {
		r := &written[i]
		eachAlias(r, func(a string) { d.rows = append(d.rows, [2]string{a, r.ID}) })
	}
	if len(d.rows) > maxDeferredAliases {
		d.on, flush, d.rows = false, d.rows, nil
	}
	return flush
}

// commit replaces generation old's alias rows of part (none when old < 0)
// by the rows held for generation gen, in tx.
func (d *deferredAliases) commit(ctx context.Context, tx *sql.Tx, part string, gen, old int64) error {
	if !d.on {
		return nil
	}
	if old >= 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM advisory_alias WHERE part = ? AND generation = ?`, part, old); err != nil {
			return err
		}
	}
	err := insertAliasRows(ctx, tx, part, gen, d.rows)
	d.rows = nil
	return err
}

// insertAliasRows writes alias rows of generation gen of part (SQLite).
func insertAliasRows(ctx context.Context, tx *sql.Tx, part string, gen int64, rows [][2]string) error {
	vals := make([]any, 0, 2*len(rows))
	for _, r := range rows {
		vals = append(vals, r[0], r[1])
	}
	_, err := insertSharedAs(ctx, SQLite, tx, true, "advisory_alias", []string{"part", "generation"}, []any{part, gen}, []string{"alias", "id"}, vals)
	return err
}
