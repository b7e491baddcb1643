package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestImportKeepsFirstOfRepeatedID (both engines): an archive that repeats
// an ID, within one batch or in a later one, keeps the first copy's
// document and modified time, the rest of the batch is written, and the
// import's counts and ID sketch are of the records written.
// PostgreSQL writes batches with a direct COPY and rewrites a batch that
// hits a repeated key through its staging tables; this is that path.
func TestImportKeepsFirstOfRepeatedID(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		t2 := t1.Add(time.Hour)
		im, err := s.BeginImport(ctx, "PyPI", "OSV")
		if err != nil {
			t.Fatal(err)
		}
		add := func(r Record) {
			t.Helper()
			if err := im.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		first := record("DUP-1", t1, "x")
		add(first)
		add(record("OK-1", t1, "x"))
		again := record("DUP-1", t2, "x")
		again.Data = []byte(`{"id":"DUP-1","second":true}`)
		add(again) // same batch
		if err := im.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		add(again) // a later batch
		add(record("OK-2", t1, "x"))
		for i := range importBatch { // a full batch after it, written directly
			add(record(fmt.Sprintf("MANY-%d", i), t1, "x"))
		}
		st, err := im.Commit(ctx, PartitionState{LastSync: t1})
		if err != nil {
			t.Fatal(err)
		}
		if want := 3 + importBatch; st.Records != want {
			t.Fatalf("records = %d, want %d", st.Records, want)
		}
		// The partition's ID sketch is the writer's, of the IDs written
		// once each.
		stored, err := s.RecordIDs(ctx, "PyPI")
		if err != nil {
			t.Fatal(err)
		}
		sk, err := s.IDSketch(ctx, "PyPI")
		if err != nil {
			t.Fatal(err)
		}
		if sk == nil {
			t.Fatal("no ID sketch stored")
		}
		if onlyStored, onlyRead, ok := sk.Diff(SketchIDs(stored)); !ok || len(onlyStored)+len(onlyRead) > 0 {
			t.Fatalf("stored sketch differs from the generation's IDs: %v / %v (decodable %v)", onlyStored, onlyRead, ok)
		}
		got, err := s.AdvisoriesByID(ctx, "DUP-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got[0].Modified.Equal(t1) || string(got[0].Data) != string(first.Data) {
			t.Fatalf("DUP-1 = %+v, want the first copy", got)
		}
		if n := len(ids(t, s, "x")); n != 3+importBatch {
			t.Fatalf("records found by package = %d, want %d", n, 3+importBatch)
		}
	})
}

// indexRows lists the live package keys ("eco/name") and aliases of id in
// part, sorted.
func indexRows(t *testing.T, s *Store, part, id string) (pkgs, aliases []string) {
	t.Helper()
	live := ` JOIN partition_state p ON p.name = x.part AND p.generation = x.generation WHERE x.part = ? AND x.id = ? ORDER BY 1`
	pkgs, err := queryAll(context.Background(), s.db, s.Rebind(`SELECT x.ecosystem || '/' || x.name FROM advisory_package x`+live), []any{part, id}, scanString)
	if err != nil {
		t.Fatal(err)
	}
	aliases, err = queryAll(context.Background(), s.db, s.Rebind(`SELECT x.alias FROM advisory_alias x`+live), []any{part, id}, scanString)
	if err != nil {
		t.Fatal(err)
	}
	return pkgs, aliases
}

func scanString(r scanner) (string, error) {
	var v string
	return v, r.Scan(&v)
}

// TestImportRepeatedIDKeepsFirstCopysRows (both engines): of an ID an
// archive repeats, the record found is the first copy whole: its document,
// package keys and aliases, never a later copy's keys or aliases leading
// to the first copy's document. Repeats within a batch and across batches,
// on a first import and on one replacing a generation (SQLite holds the
// alias rows until Commit then), also past the deferred aliases' bound.
// A later delta replacing the record leaves none of its rows behind.
func TestImportRepeatedIDKeepsFirstCopysRows(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		defer func(m int) { maxDeferredAliases = m }(maxDeferredAliases)
		copyOf := func(id, pkg, alias string, n int) Record {
			r := record(id, t0.Add(time.Duration(n)*time.Hour), pkg)
			r.Aliases = []string{alias}
			r.Data = fmt.Appendf(nil, `{"id":%q,"copy":%d}`, id, n)
			return r
		}
		for round, limit := range []int{maxDeferredAliases, maxDeferredAliases, 10} {
			maxDeferredAliases = limit
			const part = "PyPI"
			im, err := s.BeginImport(ctx, part, "OSV")
			if err != nil {
				t.Fatal(err)
			}
			add := func(r Record) {
				t.Helper()
				if err := im.Add(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			add(copyOf("IN", "q", "CVE-IN-1", 1))
			add(copyOf("ACROSS", "q", "CVE-ACROSS-1", 1))
			add(copyOf("IN", "r", "CVE-IN-2", 2)) // same batch
			if err := im.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			add(copyOf("ACROSS", "r", "CVE-ACROSS-2", 2)) // a later batch
			add(copyOf("IN", "s", "CVE-IN-3", 3))
			for i := range 20 {
				add(record(fmt.Sprintf("OTHER-%d", i), t0, "q"))
			}
			st, err := im.Commit(ctx, PartitionState{LastSync: t0})
			if err != nil {
				t.Fatal(err)
			}
			if st.Records != 22 {
				t.Fatalf("round %d: records = %d, want 22", round, st.Records)
			}
			for _, id := range []string{"IN", "ACROSS"} {
				pkgs, aliases := indexRows(t, s, part, id)
				if !slices.Equal(pkgs, []string{"PyPI/q"}) || !slices.Equal(aliases, []string{"CVE-" + id + "-1"}) {
					t.Fatalf("round %d: %s indexed under %v and aliases %v, want the first copy's (q, CVE-%s-1)", round, id, pkgs, aliases, id)
				}
				for _, alias := range []string{"CVE-" + id + "-2", "CVE-" + id + "-3"} {
					if got, err := s.AdvisoriesByID(ctx, alias); err != nil || len(got) != 0 {
						t.Fatalf("round %d: alias %s of a later copy finds %v %v", round, alias, got, err)
					}
				}
			}
			for _, name := range []string{"r", "s"} {
				if adv, err := s.AdvisoriesFor(ctx, "PyPI", name); err != nil || len(adv) != 0 {
					t.Fatalf("round %d: package %s of a later copy finds %d records %v", round, name, len(adv), err)
				}
			}
			// A delta replacing both records with other keys leaves
			// nothing of the first copies behind.
			d := Delta{Upserts: []Record{copyOf("IN", "z", "CVE-IN-9", 9), copyOf("ACROSS", "z", "CVE-ACROSS-9", 9)}}
			if _, err := s.ApplyDelta(ctx, part, d, PartitionState{}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"IN", "ACROSS"} {
				pkgs, aliases := indexRows(t, s, part, id)
				if !slices.Equal(pkgs, []string{"PyPI/z"}) || !slices.Equal(aliases, []string{"CVE-" + id + "-9"}) {
					t.Fatalf("round %d: after the delta %s indexed under %v and aliases %v", round, id, pkgs, aliases)
				}
			}
		}
	})
}

// TestWriteRecordsReturnsTheCopiesWritten (both engines): writeRecords
// (imports on SQLite, deltas on both) returns the copies whose advisory
// rows it inserted, within one call and against rows an earlier
// transaction wrote, and writes only their keys and aliases.
func TestWriteRecordsReturnsTheCopiesWritten(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		write := func(want []string, recs ...Record) {
			t.Helper()
			err := s.tx(ctx, func(tx *sql.Tx) error {
				got, err := writeRecords(ctx, s, tx, "P", 7, recs, false)
				var names []string
				for _, r := range got {
					names = append(names, r.ID+":"+r.Packages[0].Name)
				}
				if err == nil && !slices.Equal(names, want) {
					t.Errorf("written %v, want %v", names, want)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		write([]string{"A:a1", "B:b"}, record("A", t0, "a1"), record("B", t0, "b"), record("A", t0, "a2"))
		write([]string{"C:c"}, record("B", t0, "b2"), record("C", t0, "c"), record("C", t0, "c2"))
		write(nil, record("A", t0, "a3"))
		rows, err := queryAll(ctx, s.db, s.Rebind(`SELECT id || ':' || name FROM advisory_package WHERE part = ? AND generation = ? ORDER BY 1`), []any{"P", 7}, scanString)
		if want := []string{"A:a1", "B:b", "C:c"}; err != nil || !slices.Equal(rows, want) {
			t.Fatalf("package rows %v %v, want %v", rows, err, want)
		}
		aliases, err := queryAll(ctx, s.db, s.Rebind(`SELECT alias FROM advisory_alias WHERE part = ? AND generation = ? ORDER BY 1`), []any{"P", 7}, scanString)
		if want := []string{"CVE-A", "CVE-B", "CVE-C"}; err != nil || !slices.Equal(aliases, want) {
			t.Fatalf("alias rows %v %v, want %v", aliases, err, want)
		}
	})
}
