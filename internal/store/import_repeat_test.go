package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestImportKeepsFirstOfRepeatedID (both engines): an archive that repeats
// an ID, within one batch or in a later one, keeps the first copy's
// document and modified time, and the rest of the batch is written.
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
		if err := im.flush(ctx); err != nil {
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
