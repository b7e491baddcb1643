package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenWritesNothingToAnExistingDatabase: a new SQLite database is
// created with auto_vacuum=INCREMENTAL (space.go), and opening an existing
// one and reading from it leaves its file as it was: the pragma, set on
// every connection, used to rewrite the header in a write transaction of
// its own (fsyncs and a checkpoint) in every command, even a read-only
// scan.
func TestOpenWritesNothingToAnExistingDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var mode int
	if err := s.DB().QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Errorf("new database: auto_vacuum %d, want 2 (incremental)", mode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DBFile)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s, err := Open(ctx, Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		// Several connections at once, as a scan's lookups use them.
		rows, err := s.DB().QueryContext(ctx, `SELECT 1 UNION ALL SELECT 2`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Partitions(ctx); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("opening and reading an existing database changed its file (change counter %x -> %x)", before[24:28], after[24:28])
	}
}
