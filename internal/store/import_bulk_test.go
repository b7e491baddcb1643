package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestImportsAtOnce: imports of three partitions run at once, their
// batches and Commits interleaved: a first import, one replacing a
// generation (its alias rows held until Commit) and one aborted halfway.
// Each partition ends as if imported alone, and on SQLite the shared
// writer connection is given back once the last import ends, and taken
// again by the next.
func TestImportsAtOnce(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		importAll := func(part, prefix string, n int) {
			im, err := s.BeginImport(ctx, part, "OSV")
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if err := im.Add(ctx, record(fmt.Sprintf("%s-%05d", prefix, i), t0, part+"-pkg")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := im.Commit(ctx, PartitionState{}); err != nil {
				t.Fatal(err)
			}
		}
		importAll("B", "OLD", 10)
		importAll("C", "KEEP", 10)

		const n = 2*importBatch + 5
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for _, job := range []struct {
			part, prefix string
			abort        bool
		}{{"A", "A", false}, {"B", "NEW", false}, {"C", "GONE", true}} {
			wg.Go(func() {
				im, err := s.BeginImport(ctx, job.part, "OSV")
				if err != nil {
					errs <- err
					return
				}
				for i := range n {
					if job.abort && i == n/2 {
						errs <- im.Abort(ctx)
						return
					}
					if err := im.Add(ctx, record(fmt.Sprintf("%s-%05d", job.prefix, i), t0, job.part+"-pkg")); err != nil {
						errs <- err
						return
					}
				}
				_, err = im.Commit(ctx, PartitionState{})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for part, want := range map[string]struct {
			n      int
			prefix string
		}{"A": {n, "A-"}, "B": {n, "NEW-"}, "C": {10, "KEEP-"}} {
			got := ids(t, s, part+"-pkg")
			if len(got) != want.n || !slices.ContainsFunc(got, func(id string) bool { return id == want.prefix+"00001" }) {
				t.Errorf("%s: %d records (%v...), want %d %s*", part, len(got), got[:min(3, len(got))], want.n, want.prefix)
			}
			p, err := s.Partition(ctx, part)
			if err != nil || p.Records != want.n {
				t.Errorf("%s: partition %+v %v", part, p, err)
			}
		}
		if adv, err := s.AdvisoriesByID(ctx, "CVE-NEW-00007"); err != nil || len(adv) != 1 || adv[0].ID != "NEW-00007" {
			t.Errorf("alias of a replacing import: %+v %v", adv, err)
		}
		if s.bulk.users != 0 || s.bulk.conn != nil {
			t.Errorf("writer connection not given back: %d users", s.bulk.users)
		}
		importAll("D", "D", 3)
		if got := ids(t, s, "D-pkg"); len(got) != 3 {
			t.Errorf("import after: %v", got)
		}
	})
}

// TestImportWALBounded: an import's WAL starts over once it holds more
// than walRestartBytes of frames although the checkpointer's passes run
// behind the writer's commits (held back here; in a long import parsing
// keeps the writer busy): the WAL file ends no larger than the bound plus
// a few transactions' pages, not the size of everything written.
func TestImportWALBounded(t *testing.T) {
	bound, delay := walRestartBytes, checkpointDelay
	walRestartBytes, checkpointDelay = 40*PageSize, 30*time.Millisecond
	defer func() { walRestartBytes, checkpointDelay = bound, delay }()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	im, err := s.BeginImport(ctx, "A", "OSV")
	if err != nil {
		t.Fatal(err)
	}
	const batches = 24
	for i := range batches * importBatch {
		if err := im.Add(ctx, record(fmt.Sprintf("A-%06d", i), t0, fmt.Sprintf("pkg-%d", i%97))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := im.Commit(ctx, PartitionState{}); err != nil {
		t.Fatal(err)
	}
	// One batch's transaction writes ~60 frames of 16 KiB pages, all of
	// them ~1,500 (without the bound); a pass held back may report the
	// WAL's size a few transactions late.
	if got := walFrameCount(t, dir); got > 7*75 {
		t.Fatalf("WAL file holds %d frames after %d transactions", got, batches)
	}
	if got := len(ids(t, s, "pkg-1")); got != (batches*importBatch+96)/97 {
		t.Fatalf("%d records of pkg-1", got)
	}
}

// walFrameCount is how many frames the WAL file's size holds.
func walFrameCount(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, DBFile+"-wal"))
	if err != nil {
		return 0
	}
	return max(0, fi.Size()-32) / (PageSize + 24)
}
