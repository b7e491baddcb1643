package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// This file holds the journal of advisory data changes (table
// package_change): every mirror import, delta and purge, and every OSS Index
// answer that changed, appends the package keys that may match differently
// now. Consumers such as the projects' continuous analysis keep a cursor
// (the last sequence number they processed) and ask which packages changed
// after it, so that their work follows the size of the change rather than
// the size of what they watch.

// PackageChange is one journal entry. An entry with a Partition and no
// Ecosystem stands for every package of that partition (a first import or a
// purge); an entry with a PURL is an OSS Index coordinate whose answer
// changed.
type PackageChange struct {
	Seq       int64
	Partition string
	Key       PackageKey
	PURL      string
	At        time.Time
}

// PackageChanges returns up to limit journal entries after seq, in order.
func (s *Store) PackageChanges(ctx context.Context, after int64, limit int) ([]PackageChange, error) {
	return queryAll(ctx, s.db, s.Rebind(`SELECT seq, part, ecosystem, name, purl, at FROM package_change WHERE seq > ? ORDER BY seq LIMIT ?`), []any{after, limit},
		func(r scanner) (PackageChange, error) {
			var c PackageChange
			var at string
			err := r.Scan(&c.Seq, &c.Partition, &c.Key.Ecosystem, &c.Key.Name, &c.PURL, &at)
			c.At = parseTime(at)
			return c, err
		})
}

// LastPackageChange returns the newest journal sequence number (0: none).
func (s *Store) LastPackageChange(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM package_change`).Scan(&n)
	return n, err
}

// PrunePackageChanges deletes journal entries older than before, except
// the newest one: SQLite numbers a table's rows from its largest rowid, so
// an emptied journal would restart below the readers' cursors (and a
// restore sets PostgreSQL's sequence from the largest value too).
func (s *Store) PrunePackageChanges(ctx context.Context, before time.Time) error {
	_, err := s.exec(ctx, s.Rebind(`DELETE FROM package_change WHERE at < ? AND seq < (SELECT MAX(seq) FROM package_change)`), fmtTime(before))
	return err
}

// RecordPackageChanges appends journal entries (tests and callers that
// change advisory data outside the store's import paths).
func (s *Store) RecordPackageChanges(ctx context.Context, part string, keys []PackageKey, purls []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.journal(ctx, tx, part, keys, purls) })
}

func (s *Store) journal(ctx context.Context, tx *sql.Tx, part string, keys []PackageKey, purls []string) error {
	now := fmtTime(time.Now())
	seen := map[PackageKey]bool{}
	var rows [][]any
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		rows = append(rows, []any{part, k.Ecosystem, k.Name, "", now})
	}
	for _, p := range purls {
		rows = append(rows, []any{part, "", "", p, now})
	}
	if len(keys) == 0 && len(purls) == 0 {
		rows = append(rows, []any{part, "", "", "", now}) // the whole partition
	}
	return insertMany(ctx, s, tx, "package_change", []string{"part", "ecosystem", "name", "purl", "at"}, rows)
}

// journalGeneration records what changes when generation gen replaces old
// (-1: the first import, recorded as the whole partition): the keys of
// records added, removed or modified between the two.
func (s *Store) journalGeneration(ctx context.Context, tx *sql.Tx, part string, gen, old int64) error {
	if old < 0 {
		return s.journal(ctx, tx, part, nil, nil)
	}
	// Keys of records in one generation without an identical (same id and
	// modified time) record in the other, both ways.
	const q = `SELECT DISTINCT p.ecosystem, p.name FROM advisory_package p JOIN advisory a ON a.part = p.part AND a.generation = p.generation AND a.id = p.id
WHERE p.part = ? AND p.generation = ?
  AND NOT EXISTS (SELECT 1 FROM advisory b WHERE b.part = a.part AND b.generation = ? AND b.id = a.id AND b.modified = a.modified)`
	scanKey := func(r scanner) (PackageKey, error) {
		var k PackageKey
		return k, r.Scan(&k.Ecosystem, &k.Name)
	}
	keys, err := queryAll(ctx, tx, s.Rebind(q), []any{part, gen, old}, scanKey)
	if err != nil {
		return err
	}
	gone, err := queryAll(ctx, tx, s.Rebind(q), []any{part, old, gen}, scanKey)
	keys = append(keys, gone...)
	if err != nil || len(keys) == 0 {
		return err
	}
	return s.journal(ctx, tx, part, keys, nil)
}

// journalOSSIndex records the coordinates whose cached answer changes
// (the set of vulnerability IDs differs from the one stored). Coordinates
// seen for the first time are not recorded: whoever asked about them
// analysed them with the answer.
func (s *Store) journalOSSIndex(ctx context.Context, tx *sql.Tx, comps []OSSIndexComponent) error {
	sel, err := tx.PrepareContext(ctx, s.Rebind(`SELECT vuln_ids FROM ossindex_component WHERE coordinate = ?`))
	if err != nil {
		return err
	}
	defer sel.Close()
	var changed []string
	for _, c := range comps {
		var raw string
		if err := sel.QueryRowContext(ctx, c.Coordinate).Scan(&raw); errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return err
		}
		var old []string
		json.Unmarshal([]byte(raw), &old)
		now := slices.Clone(c.VulnIDs)
		slices.Sort(old)
		slices.Sort(now)
		if !slices.Equal(old, now) {
			changed = append(changed, c.Coordinate)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return s.journal(ctx, tx, "ossindex", nil, changed)
}
