package store

import (
	"context"
	"testing"
)

// TestMigrationOutOfOrder: a database migrated by a build that lacked a
// lower-numbered migration (here 00132, added after 00160 and 00170 were
// applied) gets it at the next open.
func TestMigrationOutOfOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP INDEX notify_delivery_by_status`, `ALTER TABLE notify_delivery DROP COLUMN owner`, `ALTER TABLE notify_delivery DROP COLUMN payload`, `DELETE FROM ` + VersionTable + ` WHERE version_id = 132`} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	s.Close()
	s, err = Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatalf("reopening with a missing lower migration: %v", err)
	}
	defer s.Close()
	if _, err := s.NotifyDeliveries(ctx, 1); err != nil {
		t.Fatalf("the missing migration was not applied: %v", err)
	}
}
