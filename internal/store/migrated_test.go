package store

import (
	"context"
	"io/fs"
	"slices"
	"testing"
	"testing/fstest"
)

// A database with every migration applied skips goose; one lacking a
// migration of the build, or a build with a migration the database lacks,
// does not; file names that do not start with a version leave it to goose.
func TestMigrated(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sub, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
		if err != nil {
			t.Fatal(err)
		}
		if !s.migrated(ctx, sub) {
			t.Fatal("a database just migrated is not up to date")
		}
		extra := fstest.MapFS{"99999_later.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}
		entries, _ := fs.ReadDir(sub, ".")
		for _, e := range entries {
			data, err := fs.ReadFile(sub, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			extra[e.Name()] = &fstest.MapFile{Data: data}
		}
		if s.migrated(ctx, extra) {
			t.Error("a build with a migration the database lacks: up to date")
		}
		if s.migrated(ctx, fstest.MapFS{"later.sql": {Data: []byte("SELECT 1;")}}) {
			t.Error("a file name without a version: up to date")
		}
		if _, err := s.db.ExecContext(ctx, s.Rebind(`DELETE FROM `+VersionTable+` WHERE version_id = ?`), 132); err != nil {
			t.Fatal(err)
		}
		if s.migrated(ctx, sub) {
			t.Error("a database lacking migration 132: up to date")
		}
	})
}

func TestMigrationVersions(t *testing.T) {
	got, ok := migrationVersions(fstest.MapFS{
		"00001_a.sql": {}, "00132_b.sql": {}, "README.md": {}, "sub/00002_c.sql": {},
	})
	if !ok || !slices.Equal(got, []int64{1, 132}) {
		t.Fatalf("migrationVersions = %v, %v", got, ok)
	}
	if _, ok := migrationVersions(fstest.MapFS{"x_a.sql": {}}); ok {
		t.Error("a name without a version was read")
	}
	if _, ok := migrationVersions(fstest.MapFS{}); ok {
		t.Error("no migrations read as a list")
	}
}
