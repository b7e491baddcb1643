package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestIDSketchDiff: two sets of a few thousand IDs that differ in a few
// (on either side) read back exactly those; sets that differ in many more
// IDs than the sketch has cells are not read back (ok false), and nothing
// wrong is ever returned.
func TestIDSketchDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := make([]string, 3000)
	for i := range base {
		base[i] = fmt.Sprintf("GHSA-%04x-%04x-%04x", rng.IntN(1<<16), rng.IntN(1<<16), i)
	}
	told := 0
	for round := range 300 {
		diff := rng.IntN(60)
		if round%10 == 0 {
			diff = 300 + rng.IntN(300)
		}
		var a, b, onlyA, onlyB []string
		for i, id := range base {
			switch {
			case i < diff && i%2 == 0:
				a, onlyA = append(a, id), append(onlyA, id)
			case i < diff:
				b, onlyB = append(b, id), append(onlyB, id)
			default:
				a, b = append(a, id), append(b, id)
			}
		}
		rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		gotA, gotB, ok := SketchIDs(a).Diff(SketchIDs(b))
		if !ok {
			if diff < 40 {
				t.Fatalf("round %d: %d IDs differ and the sketches could not tell which", round, diff)
			}
			continue
		}
		told++
		slices.Sort(gotA)
		slices.Sort(gotB)
		slices.Sort(onlyA)
		slices.Sort(onlyB)
		if !slices.Equal(gotA, onlyA) || !slices.Equal(gotB, onlyB) {
			t.Fatalf("round %d: read back %q / %q, want %q / %q", round, gotA, gotB, onlyA, onlyB)
		}
	}
	if told < 250 {
		t.Fatalf("only %d of 300 differences read back", told)
	}
}

// TestIDSketchAddRemove: removing what was added gives the empty set's
// sketch back, and the order of adds does not matter; IDs the sketch
// cannot hold change nothing.
func TestIDSketchAddRemove(t *testing.T) {
	s := NewIDSketch()
	for _, bad := range []string{"", strings.Repeat("x", sketchIDBytes+1), "AB\x00"} {
		if s.Add(bad) || s.Remove(bad) || SketchIDs([]string{"A", bad}) != nil {
			t.Errorf("%q held", bad)
		}
	}
	if *s != *NewIDSketch() {
		t.Fatal("a refused ID changed the sketch")
	}
	long := strings.Repeat("y", sketchIDBytes)
	ids := []string{"GO-2024-0001", long, "PYSEC-2024-55", "MAL-2025-1", "A\x00B"}
	for _, id := range ids {
		s.Add(id)
	}
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	if *SketchIDs(rev) != *s {
		t.Fatal("the order of adds changed the sketch")
	}
	if only, _, ok := s.Diff(NewIDSketch()); !ok || !slices.Equal(slices.Sorted(slices.Values(only)), slices.Sorted(slices.Values(ids))) {
		t.Fatalf("read back %q, %v", only, ok)
	}
	for _, id := range ids {
		s.Remove(id)
	}
	if *s != *NewIDSketch() {
		t.Fatal("not empty after removing every ID")
	}
}

// TestIDSketchEncoding: a sketch reads back as written; a value of
// another size or version reads as no sketch.
func TestIDSketchEncoding(t *testing.T) {
	s := SketchIDs([]string{"A", "B", "GO-2024-0001"})
	b := s.encode().([]byte)
	if got := decodeSketch(b); got == nil || *got != *s {
		t.Fatal("sketch changed by encoding")
	}
	if (*IDSketch)(nil).encode() != nil {
		t.Fatal("no sketch encoded as a value")
	}
	other := slices.Clone(b)
	other[0]++
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(slices.Clone(b), 0), other} {
		if decodeSketch(bad) != nil {
			t.Errorf("%d bytes read as a sketch", len(bad))
		}
	}
}

// FuzzIDSketch: whatever bytes a partition_state row holds, reading them
// and reading a difference back never fails the process, and every ID
// read back is one a sketch can hold.
func FuzzIDSketch(f *testing.F) {
	f.Add(SketchIDs([]string{"A", "GO-2024-0001"}).encode().([]byte))
	f.Add(NewIDSketch().encode().([]byte))
	f.Add([]byte{sketchVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < sketchSize {
			// Spread short inputs over a whole sketch.
			b = append(append([]byte{sketchVersion}, b...), make([]byte, sketchSize)...)[:sketchSize]
		}
		s := decodeSketch(b)
		if s == nil {
			return
		}
		a, o, ok := s.Diff(NewIDSketch())
		for _, id := range append(a, o...) {
			if _, _, held := sketchKey(id); !ok || !held {
				t.Fatalf("read back %q (ok %v)", id, ok)
			}
		}
	})
}

// TestPartitionSketchFollowsWrites (both engines): the sketch a partition
// keeps is that of the IDs it stores after an import (one ID given twice),
// and after deltas that add, delete, rewrite and update records in place.
// A partition without one gets the one a delta is given, or stays
// without.
func TestPartitionSketchFollowsWrites(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		check := func(what string) {
			t.Helper()
			ids, err := s.RecordIDs(ctx, "PyPI")
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.IDSketch(ctx, "PyPI")
			if err != nil || got == nil || *got != *SketchIDs(ids) {
				t.Fatalf("%s: the sketch is not that of the %d IDs stored (%v)", what, len(ids), err)
			}
		}
		im, err := s.BeginImport(ctx, "PyPI", "osv")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []Record{record("A", t0, "flask"), record("B", t0, "django"), record("A", t0, "numpy"), record("C", t0, "numpy")} {
			if err := im.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := im.Commit(ctx, PartitionState{}); err != nil {
			t.Fatal(err)
		}
		check("import")
		_, err = s.ApplyDelta(ctx, "PyPI", Delta{
			Upserts: []Record{record("A", t0.Add(time.Hour), "flask"), record("B", t0.Add(time.Hour), "requests"), record("D", t0, "numpy")},
			Deletes: []string{"C", "X"},
		}, PartitionState{})
		if err != nil {
			t.Fatal(err)
		}
		check("delta")
		if _, err := s.db.ExecContext(ctx, `UPDATE partition_state SET id_sketch = NULL`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{record("E", t0, "numpy")}}, PartitionState{}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.IDSketch(ctx, "PyPI"); got != nil || err != nil {
			t.Fatalf("a delta given no sketch made one up (%v)", err)
		}
		before, err := s.RecordIDs(ctx, "PyPI")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{record("F", t0, "numpy")}, Deletes: []string{"A"}},
			PartitionState{Sketch: SketchIDs(before)}); err != nil {
			t.Fatal(err)
		}
		check("delta given the sketch before it")
	})
}

// TestConcurrentDeltasKeepTheSketch (both engines): deltas applied to one
// partition at once, each adding a record and deleting another, leave the
// count and the sketch of the IDs stored.
func TestConcurrentDeltasKeepTheSketch(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		im, err := s.BeginImport(ctx, "PyPI", "osv")
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		for i := range n {
			if err := im.Add(ctx, record(fmt.Sprintf("OLD-%d", i), t0, "flask")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := im.Commit(ctx, PartitionState{}); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{record(fmt.Sprintf("NEW-%d", i), t0, "django")}, Deletes: []string{fmt.Sprintf("OLD-%d", i)}}, PartitionState{})
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		ids, err := s.RecordIDs(ctx, "PyPI")
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Partition(ctx, "PyPI")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.IDSketch(ctx, "PyPI")
		if err != nil || st.Records != len(ids) || got == nil || *got != *SketchIDs(ids) {
			t.Fatalf("%d records counted, %d stored; the sketch is not theirs (%v)", st.Records, len(ids), err)
		}
	})
}
