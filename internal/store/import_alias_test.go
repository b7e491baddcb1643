package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// aliasRecords are n records of partition round r: each has its ID as an
// alias (not indexed), a CVE alias twice and a GHSA alias of the round.
func aliasRecords(n, round int) []Record {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]Record, n)
	for i := range recs {
		id := fmt.Sprintf("R%05d", i*7919%n)
		recs[i] = Record{ID: id, Modified: t0, Data: []byte(`{}`),
			Aliases:  []string{id, fmt.Sprintf("CVE-%05d", i*7919%n), fmt.Sprintf("GHSA-%05d-r%d", (i*104729)%n, round), fmt.Sprintf("CVE-%05d", i*7919%n)},
			Packages: []PackageKey{{Ecosystem: "PyPI", Name: "p"}}}
	}
	return recs
}

// TestReimportReplacesAliases: a generation replacing another swaps the
// alias rows at Commit, whether it held them all (SQLite) or wrote some
// with its batches past the bound, on both engines.
func TestReimportReplacesAliases(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		defer func(m int) { maxDeferredAliases = m }(maxDeferredAliases)
		for _, limit := range []int{maxDeferredAliases, 1000} {
			maxDeferredAliases = limit
			part := fmt.Sprintf("PyPI:%d", limit)
			const n = importBatch + 500
			importAll(t, s, part, aliasRecords(n, 1)...)
			// Uncommitted: the old aliases still answer.
			im, err := s.BeginImport(ctx, part, "OSV")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range aliasRecords(n, 2) {
				if err := im.Add(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := im.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if adv, err := s.AdvisoriesByID(ctx, "GHSA-00007-r1"); err != nil || len(adv) != 1 {
				t.Fatalf("limit %d: before Commit, old alias: %+v %v", limit, adv, err)
			}
			if _, err := im.Commit(ctx, PartitionState{}); err != nil {
				t.Fatal(err)
			}
			for alias, want := range map[string]int{"GHSA-00007-r1": 0, "GHSA-00007-r2": 1, "CVE-00007": 1} {
				if adv, err := s.AdvisoriesByID(ctx, alias); err != nil || len(adv) != want {
					t.Fatalf("limit %d: %s: %+v %v, want %d", limit, alias, adv, err, want)
				}
			}
			var rows int
			if err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM advisory_alias WHERE part = ?`), part).Scan(&rows); err != nil || rows != 2*n {
				t.Fatalf("limit %d: %d alias rows (%v), want %d", limit, rows, err, 2*n)
			}
		}
	})
}

// TestReimportKeepsAliasPagesFull: on SQLite a forced re-import leaves the
// alias index about as large as the first import did (+3% of 4 KiB pages
// here, +5% of 16 KiB pages (78 to 82), where every row is replaced; the
// replaced rows' slots are reused: before, the index doubled and its pages
// stayed 60% full).
func TestReimportKeepsAliasPagesFull(t *testing.T) {
	s := openSQLite(t)
	pages := func() int {
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM dbstat WHERE name = 'advisory_alias'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const n = 20000
	importAll(t, s, "PyPI", aliasRecords(n, 1)...)
	first := pages()
	importAll(t, s, "PyPI", aliasRecords(n, 1)...) // the same aliases, as OSV's re-exports have
	if after := pages(); after > first+first/10 {
		t.Fatalf("alias index: %d pages after a re-import, %d after the first", after, first)
	}
}
