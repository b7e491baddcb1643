package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestImportStatsCounts: Commit reports the generation's records and
// withdrawn records, whether the writer counted them (SQLite) or Commit
// counted the rows (PostgreSQL), with a repeated ID too (the first of two
// records with one ID is kept, and the repeat counted as malformed), on
// both engines.
func TestImportStatsCounts(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, dup := range []bool{false, true} {
			part := fmt.Sprintf("PyPI:%v", dup)
			im, err := s.BeginImport(ctx, part, "OSV")
			if err != nil {
				t.Fatal(err)
			}
			const n = importBatch + 10
			for i := range n {
				r := record(fmt.Sprintf("R%05d", i), t0, "p")
				r.Withdrawn = i%3 == 0
				if err := im.Add(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if dup { // a second R00001, withdrawn this time: the first is kept
				r := record("R00001", t0, "p")
				r.Withdrawn = true
				if err := im.Add(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			st, err := im.Commit(ctx, PartitionState{Malformed: 2})
			if want := (n + 2) / 3; err != nil || st.Records != n || st.Withdrawn != want || st.Added != n {
				t.Fatalf("dup %v: %+v %v, want %d records, %d withdrawn", dup, st, err, n, want)
			}
			malformed := 2 // the caller's, and the repeat
			if dup {
				malformed++
			}
			p, err := s.Partition(ctx, part)
			if err != nil || p.Records != n || p.Withdrawn != (n+2)/3 || p.Malformed != malformed {
				t.Fatalf("dup %v: partition %+v %v, want %d malformed", dup, p, err, malformed)
			}
		}
	})
}

// A large import writes larger transactions past importGrowAfter records
// (batchSize); every record is written and found, the repeated IDs of a
// large batch included, on both engines.
func TestLargeImportGrowsItsTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 40,000 records")
	}
	engines(t, func(t *testing.T, s *Store) { largeImport(t, s) })
}

func largeImport(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	im, err := s.BeginImport(ctx, "PyPI", "OSV")
	if err != nil {
		t.Fatal(err)
	}
	if im.batchSize() != importBatch {
		t.Fatalf("first batches of %d records, want %d", im.batchSize(), importBatch)
	}
	const n = importGrowAfter + importBatchLarge + 7
	for i := range n {
		if err := im.Add(ctx, record(fmt.Sprintf("R%06d", i), t0, fmt.Sprintf("p%d", i%97))); err != nil {
			t.Fatal(err)
		}
		if i == importGrowAfter+1 && im.batchSize() != importBatchLarge {
			t.Fatalf("after %d records, batches of %d, want %d", i+1, im.batchSize(), importBatchLarge)
		}
		if s.dialect == SQLite && (i == 2*importBatch || i == n-1) {
			// The import connection's page cache: small, raised once
			// the generation is large (bulkCacheKiB).
			if err := im.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			var kib int
			if err := im.conn.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&kib); err != nil {
				t.Fatal(err)
			}
			want := bulkCacheKiB
			if i > importGrowAfter {
				want = bulkLargeCacheKiB
			}
			if -kib != want {
				t.Fatalf("after %d records, the import connection's page cache is %d KiB, want %d", i+1, -kib, want)
			}
		}
	}
	if err := im.Add(ctx, record("R039000", t0, "p1")); err != nil { // a repeat inside the large batch
		t.Fatal(err)
	}
	st, err := im.Commit(ctx, PartitionState{})
	if err != nil || st.Records != n || st.Added != n {
		t.Fatalf("%+v %v, want %d records", st, err, n)
	}
	want := 0
	for i := range n {
		if i%97 == 3 {
			want++
		}
	}
	if got := len(ids(t, s, "p3")); got != want {
		t.Fatalf("records of p3: %d, want %d", got, want)
	}
}

// Batches queue for a busy writer within queuedRecords (queueUnits): with
// the writer held back, Add takes four 2,000-record batches (one taken by
// the writer, three queued) and blocks handing over the fifth; once the
// writer goes on, every record is written.
func TestImportQueueBounded(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	im, err := s.BeginImport(ctx, "PyPI", "OSV")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	release := s.writes.take(ctx) // the writer waits for its turn
	const n = 6*importBatch + 3
	var added atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if err := im.Add(ctx, record(fmt.Sprintf("R%06d", i), t0, "p")); err != nil {
				done <- err
				return
			}
			added.Store(int64(i + 1))
		}
		done <- nil
	}()
	want := int64(queuedRecords + importBatch - 1) // the last Add of the fifth batch blocks
	deadline := time.Now().Add(30 * time.Second)
	for added.Load() < want || len(im.room) < cap(im.room) {
		if time.Now().After(deadline) {
			t.Fatalf("%d records added, room %d of %d taken; want %d added", added.Load(), len(im.room), cap(im.room), want)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // would it go further?
	if got := added.Load(); got != want {
		t.Fatalf("%d records added with the writer held back, want %d (queue bound %d records)", got, want, queuedRecords)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := im.Commit(ctx, PartitionState{})
	if err != nil || st.Records != n {
		t.Fatalf("%+v %v, want %d records", st, err, n)
	}
	if queueUnits(importBatchLarge) != cap(im.room) {
		t.Fatalf("a large batch takes %d of %d units: two could queue", queueUnits(importBatchLarge), cap(im.room))
	}
}

// TestImportsQueueBoundedTogether: with the writer held back, four
// imports at once queue no more than the store's room (sharedRoom units),
// although each alone may queue queueRoom; the room is all given back when
// they commit, and when an import whose writer failed is aborted.
func TestImportsQueueBoundedTogether(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const imports = 4
	if imports*queueRoom <= sharedRoom {
		t.Fatalf("%d imports could not fill the store's room", imports)
	}
	release := s.writes.take(ctx) // the writer waits for its turn
	ims := make([]*Import, imports)
	var added atomic.Int64
	done := make(chan error, imports)
	for k := range ims {
		im, err := s.BeginImport(ctx, fmt.Sprintf("P%d", k), "OSV")
		if err != nil {
			t.Fatal(err)
		}
		ims[k] = im
		go func() {
			for i := range 6 * importBatch {
				if err := im.Add(ctx, record(fmt.Sprintf("R%d-%06d", k, i), t0, "p")); err != nil {
					done <- err
					return
				}
				added.Add(1)
			}
			done <- nil
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(s.importRoom()) < sharedRoom {
		if time.Now().After(deadline) {
			t.Fatalf("store room %d of %d taken, %d records added", len(s.importRoom()), sharedRoom, added.Load())
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // would they go further?
	// Each import holds at most one batch being filled besides the room
	// (alone, each could have queued queueRoom units).
	if got, most := added.Load(), int64(sharedRoom*importBatch+imports*(importBatch-1)); got > most {
		t.Fatalf("%d records added with the writer held back, at most %d (store room %d units)", got, most, sharedRoom)
	}
	release()
	for range ims {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, im := range ims {
		if st, err := im.Commit(ctx, PartitionState{}); err != nil || st.Records != 6*importBatch {
			t.Fatalf("%+v %v", st, err)
		}
	}
	if n := len(s.importRoom()); n != 0 {
		t.Fatalf("%d units of the store's room still taken after the commits", n)
	}

	// A writer that fails (its context ends) gives back the room of what
	// was queued behind the failed batch.
	wctx, cancel := context.WithCancel(ctx)
	im, err := s.BeginImport(wctx, "failing", "OSV")
	if err != nil {
		t.Fatal(err)
	}
	release = s.writes.take(ctx)
	for i := range 3 * importBatch {
		if err := im.Add(ctx, record(fmt.Sprintf("F%06d", i), t0, "p")); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	release()
	im.Abort(ctx)
	if n := len(s.importRoom()); n != 0 {
		t.Fatalf("%d units of the store's room still taken after a failed import", n)
	}
}
