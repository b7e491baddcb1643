package store

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// Compact shrinks the file a replaced generation left partly empty, and the
// connections it used keep the store's temp_store (in memory) afterwards.
func TestCompact(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 2 {
		im, err := s.BeginImport(ctx, "npm", "OSV")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3000 {
			if err := im.Add(ctx, record(fmt.Sprintf("GHSA-%d-%05d", round, i), t0, fmt.Sprintf("p%d", i%311))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := im.Commit(ctx, PartitionState{}); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int64 {
		var pages, pageSize int64
		if err := s.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if err := s.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
			t.Fatal(err)
		}
		return pages * pageSize
	}
	before := size()
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if after := size(); after > before {
		t.Fatalf("database %d bytes after Compact, %d before", after, before)
	}
	if got := len(ids(t, s, "p7")); got != (3000+311-1-7)/311 {
		t.Fatalf("records of p7 after Compact: %d", got)
	}
	// Every pooled connection, the one Compact used among them.
	for i, mode := range pooledPragma(t, s, 8, "temp_store") {
		if mode != 2 {
			t.Fatalf("connection %d: temp_store %d after Compact, want 2 (memory)", i, mode)
		}
	}
	if _, err := os.Stat(s.path); err != nil {
		t.Fatal(err)
	}
}
