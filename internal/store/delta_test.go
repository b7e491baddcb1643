package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// liveCounts counts the live advisory rows of a partition and the withdrawn
// ones among them.
func liveCounts(t *testing.T, s *Store, part string) (records, withdrawn int) {
	t.Helper()
	err := s.db.QueryRow(s.Rebind(`SELECT COUNT(*), COALESCE(SUM(a.withdrawn), 0) FROM advisory a JOIN partition_state p ON p.name = a.part AND p.generation = a.generation WHERE a.part = ?`), part).Scan(&records, &withdrawn)
	if err != nil {
		t.Fatal(err)
	}
	return records, withdrawn
}

// TestDeltaCountsAnIDGivenTwice (both engines): an ID upserted twice in one
// delta is one record, written from its first copy (as an import keeps the
// first copy of a repeated ID), and the partition's counts say so.
func TestDeltaCountsAnIDGivenTwice(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		importAll(t, s, "PyPI", record("A", t0, "requests"), record("B", t0, "requests"))
		// B twice with its keys changed (rewritten), C new twice, the
		// second copy of each withdrawn and of another package.
		b := record("B", t0.Add(time.Hour), "flask")
		c := record("C", t0.Add(time.Hour), "django")
		b2, c2 := record("B", t0.Add(2*time.Hour), "numpy"), record("C", t0.Add(2*time.Hour), "numpy")
		b2.Withdrawn, c2.Withdrawn = true, true
		st, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{b, c, b2, c2}}, PartitionState{})
		if err != nil {
			t.Fatal(err)
		}
		n, w := liveCounts(t, s, "PyPI")
		if st.Records != 3 || st.Withdrawn != 0 || n != 3 || w != 0 {
			t.Fatalf("state after delta: %+v, rows %d withdrawn %d; want 3 records, none withdrawn", st, n, w)
		}
		if p, err := s.Partition(ctx, "PyPI"); err != nil || p.Records != 3 || p.Withdrawn != 0 {
			t.Fatalf("stored state %+v %v", p, err)
		}
		vers, err := s.RecordVersions(ctx, "PyPI")
		if err != nil || !vers["B"].Equal(t0.Add(time.Hour)) || !vers["C"].Equal(t0.Add(time.Hour)) {
			t.Fatalf("versions %v %v: want the first copies", vers, err)
		}
		if got := ids(t, s, "numpy"); len(got) != 0 {
			t.Fatalf("second copies indexed: numpy = %v", got)
		}
		if got := ids(t, s, "django"); !slices.Equal(got, []string{"C"}) {
			t.Fatalf("django = %v", got)
		}
		// Upserted and deleted in one delta: replaced, counted once.
		a := record("A", t0.Add(time.Hour), "requests")
		a.Withdrawn = true
		st, err = s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{a, a}, Deletes: []string{"A", "A"}}, PartitionState{})
		n, w = liveCounts(t, s, "PyPI")
		if err != nil || st.Records != 3 || st.Withdrawn != 1 || n != 3 || w != 1 {
			t.Fatalf("state after upsert+delete: %+v %v, rows %d withdrawn %d", st, err, n, w)
		}
	})
}

// TestStoredGenerationsListsEveryPair (both engines): garbage collection's
// walk over the advisory index finds every (partition, generation) pair,
// live, dead and pending, in order.
func TestStoredGenerationsListsEveryPair(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, part := range []string{"npm", "Go", "PyPI"} {
			importAll(t, s, part, record(part+"-A", t0, "x"), record(part+"-B", t0, "y"))
		}
		// A pending generation of Go and of PyPI beside the live ones.
		for _, part := range []string{"Go", "PyPI"} {
			im, err := s.BeginImport(ctx, part, "OSV")
			if err != nil {
				t.Fatal(err)
			}
			im.Add(ctx, record(part+"-C", t0, "z"))
			if err := im.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			defer im.Abort(ctx)
		}
		rows, err := s.db.Query(`SELECT DISTINCT part, generation FROM advisory ORDER BY part, generation`)
		if err != nil {
			t.Fatal(err)
		}
		var want []partGen
		for rows.Next() {
			var g partGen
			if err := rows.Scan(&g.part, &g.gen); err != nil {
				t.Fatal(err)
			}
			want = append(want, g)
		}
		rows.Close()
		if len(want) != 5 {
			t.Fatalf("setup: %d pairs, want 5: %v", len(want), want)
		}
		got, err := s.storedGenerations(ctx)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("storedGenerations = %v %v, want %v", got, err, want)
		}
	})
}

// TestDeltaAliasHoldingTheSeparator (both engines): a stored record whose
// alias holds a line break (the separator of the aliases a delta reads
// with the record) is replaced correctly: its alias rows are those of the
// new copy.
func TestDeltaAliasHoldingTheSeparator(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		a := record("A", t0, "requests")
		a.Aliases = []string{"X\nY", "Z"}
		importAll(t, s, "PyPI", a)
		for i, aliases := range [][]string{{"X\nY", "Z"}, {"X", "Y\nZ"}, {"Y\nZ", "X"}, {"X", "Y", "Z"}, {"X\nY\nZ"}, {"X", "Y", "Z"}} {
			a := record("A", t0.Add(time.Duration(i+1)*time.Hour), "requests")
			a.Aliases = aliases
			a.Data = []byte(fmt.Sprintf(`{"id":"A","n":%d}`, i))
			if _, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{a}}, PartitionState{}); err != nil {
				t.Fatal(err)
			}
			for _, alias := range []string{"X\nY", "Z", "X", "Y", "Y\nZ", "X\nY\nZ"} {
				adv, err := s.AdvisoriesByID(ctx, alias)
				if err != nil {
					t.Fatal(err)
				}
				if want := slices.Contains(aliases, alias); want != (len(adv) == 1) || want && string(adv[0].Data) != string(a.Data) {
					t.Fatalf("step %d: alias %q finds %d records (want %v)", i, alias, len(adv), want)
				}
			}
		}
	})
}

// TestDeltaBaseReadAgainAfterAnotherWrite (both engines): rows read ahead
// for a delta (ReadDeltaBase) are used only while no other connection has
// written since. Here record A is written after the base was read (as
// absent): the delta replacing A must find it stored and drop its old
// package row, as without a base. A base read with nothing written since
// gives the same rows as the transaction reads.
func TestDeltaBaseReadAgainAfterAnotherWrite(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		importAll(t, s, "PyPI", record("B", t0, "requests"))
		p, err := s.Partition(ctx, "PyPI")
		if err != nil {
			t.Fatal(err)
		}
		base, err := s.ReadDeltaBase(ctx, "PyPI", p.Generation, []string{"A", "B"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{record("A", t0, "flask")}}, PartitionState{}); err != nil {
			t.Fatal(err)
		}
		st, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{record("A", t0.Add(time.Hour), "django")}, Base: base}, PartitionState{})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := liveCounts(t, s, "PyPI"); st.Records != 2 || n != 2 {
			t.Fatalf("state %+v, %d rows; want 2 records", st, n)
		}
		if got := ids(t, s, "flask"); len(got) != 0 {
			t.Fatalf("flask = %v: the row of A's old package stayed", got)
		}
		if got := ids(t, s, "django"); !slices.Equal(got, []string{"A"}) {
			t.Fatalf("django = %v", got)
		}
		// Nothing written in between: the base's rows are the stored ones.
		if base, err = s.ReadDeltaBase(ctx, "PyPI", p.Generation, []string{"A", "C"}); err != nil {
			t.Fatal(err)
		}
		if s.dialect == SQLite && (base == nil || base.rows["A"].pkgs != encodeKeys([]PackageKey{{"PyPI", "django"}}) || len(base.rows) != 1) {
			t.Fatalf("base %+v", base)
		}
		st, err = s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{record("A", t0.Add(2*time.Hour), "numpy"), record("C", t0, "numpy")}, Base: base}, PartitionState{})
		if n, _ := liveCounts(t, s, "PyPI"); err != nil || st.Records != 3 || n != 3 {
			t.Fatalf("state %+v %v, %d rows; want 3 records", st, err, n)
		}
		if got := ids(t, s, "django"); len(got) != 0 {
			t.Fatalf("django = %v", got)
		}
		if got := ids(t, s, "numpy"); !slices.Equal(got, []string{"A", "C"}) {
			t.Fatalf("numpy = %v", got)
		}
	})
}

// TestStoredRowsInBatches (both engines): the stored rows of more IDs than
// one query reads (storedRowsBatch), some named twice, some not stored,
// come back each with its own package keys, withdrawn flag and aliases.
func TestStoredRowsInBatches(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		var recs []Record
		var ask []string
		for i := range 2*storedRowsBatch + 5 {
			r := record(fmt.Sprintf("R-%04d", i), t0, fmt.Sprintf("pkg%d", i%7))
			r.Withdrawn = i%3 == 0
			r.Aliases = [][]string{nil, {"CVE-" + r.ID}, {"CVE-" + r.ID, "GHSA-" + r.ID}}[i%3]
			recs = append(recs, r)
			ask = append(ask, r.ID, fmt.Sprintf("MISSING-%d", i))
		}
		importAll(t, s, "PyPI", recs...)
		p, err := s.Partition(ctx, "PyPI")
		if err != nil {
			t.Fatal(err)
		}
		ask = append(ask, recs[0].ID, recs[len(recs)-1].ID)
		got, err := storedRows(ctx, s, s.db, "PyPI", p.Generation, ask, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(recs) {
			t.Fatalf("%d rows for %d stored records", len(got), len(recs))
		}
		for _, r := range recs {
			row, wd := got[r.ID], 0
			if r.Withdrawn {
				wd = 1
			}
			var aliases []string
			eachAlias(&r, func(a string) { aliases = append(aliases, a) })
			have := []string{}
			if row.aliases != "" {
				have = strings.Split(row.aliases, "\n")
			}
			slices.Sort(aliases)
			slices.Sort(have)
			if row.pkgs != encodeKeys(r.Packages) || row.withdrawn != wd || row.nAliases != len(aliases) || len(aliases) > 0 && !slices.Equal(have, aliases) {
				t.Fatalf("%s: %+v; want keys %q, withdrawn %d, aliases %q", r.ID, row, encodeKeys(r.Packages), wd, aliases)
			}
		}
	})
}
