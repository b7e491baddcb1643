package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// SQLite's imports and deltas write the mirrored records' rows with INSERT
// OR IGNORE (insertSharedAs), which skips a row breaking a UNIQUE, PRIMARY
// KEY, NOT NULL or CHECK constraint alike. Only repeated keys are meant to
// be skipped (a record's repeated ID, package key or alias). These tests
// hold the two conditions that make it so: the tables have no CHECK
// constraint, and no value the writer binds is NULL, whatever the record.

// The tables written with OR IGNORE have no CHECK constraint (a row
// breaking one would be dropped without an error).
func TestIgnoredTablesHaveNoCheck(t *testing.T) {
	s := openSQLite(t)
	for _, table := range []string{"advisory", "advisory_package", "advisory_alias"} {
		var def string
		if err := s.db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&def); err != nil {
			t.Fatal(table, err)
		}
		if strings.Contains(strings.ToUpper(def), "CHECK") {
			t.Errorf("%s has a CHECK constraint (or the word in a comment): INSERT OR IGNORE would drop a row breaking it silently; validate such rows before the writer: %s", table, def)
		}
	}
}

// Records with every field at its edge (no document, an empty one, no
// modified time, repeated and empty aliases and package names) are all
// written, by an import and by a delta, on both engines: only the repeated
// ID, package key and alias are skipped. A NULL reaching the writer (a nil
// document, which binds as NULL) fails it: SQLite would drop the row,
// PostgreSQL fails the import.
func TestIgnoredInsertsSkipOnlyRepeats(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		edge := []Record{
			{ID: "A", Aliases: []string{"A", "X", "X", ""}, Packages: []PackageKey{{"PyPI", ""}, {"PyPI", "p"}, {"PyPI", "p"}}},
			{ID: "B", Modified: t0, Withdrawn: true, Data: []byte{}, Deflated: []byte{}},
			{ID: "C", Modified: t0, Data: []byte(`{"id":"C"}`), Packages: []PackageKey{{"npm", "q"}}},
			{ID: "C", Modified: t0.Add(time.Hour), Data: []byte(`{"id":"C","x":1}`), Packages: []PackageKey{{"npm", "q"}}},
		}
		importAll(t, s, "PyPI", edge...)
		count := func(table string) int {
			t.Helper()
			var n int
			if err := s.db.QueryRow(s.Rebind(`SELECT COUNT(*) FROM `+table+` x JOIN partition_state p ON p.name = x.part AND p.generation = x.generation WHERE x.part = ?`), "PyPI").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if a, p, l := count("advisory"), count("advisory_package"), count("advisory_alias"); a != 3 || p != 3 || l != 2 {
			t.Fatalf("after the import: %d advisory, %d package, %d alias rows; want 3, 3, 2", a, p, l)
		}
		d := []Record{
			{ID: "D", Aliases: []string{"Y"}, Packages: []PackageKey{{"PyPI", "p"}}},
			{ID: "E", Modified: t0, Data: []byte{}, Deflated: []byte{}, Packages: []PackageKey{{"PyPI", ""}}},
		}
		st, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: d}, PartitionState{})
		if err != nil {
			t.Fatal(err)
		}
		if a, p, l := count("advisory"), count("advisory_package"), count("advisory_alias"); st.Records != 5 || a != 5 || p != 5 || l != 3 {
			t.Fatalf("after the delta: state %d records; %d advisory, %d package, %d alias rows; want 5, 5, 5, 3", st.Records, a, p, l)
		}
	})
}
