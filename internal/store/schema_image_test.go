package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateSchemaImage = flag.Bool("update-schema-image", false, "rewrite schema_image.db.gz from the migrations")

// TestSchemaImage: a database written from the schema image is the one
// the migrations build: the same schema, pragmas and rows (goose's
// timestamps aside). After adding a migration, run
//
//	go test ./internal/store -run TestSchemaImage -update-schema-image
func TestSchemaImage(t *testing.T) {
	ctx := context.Background()
	built, err := Open(ctx, Options{DataDir: t.TempDir(), noSchemaImage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer built.Close()
	if *updateSchemaImage {
		img := filepath.Join(t.TempDir(), "image.db")
		if _, err := built.db.ExecContext(ctx, `VACUUM INTO ?`, img); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
		zw.Write(raw)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("schema_image.db.gz", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote schema_image.db.gz (%d bytes, %d compressed); run the test again to check it", len(raw), out.Len())
		return
	}
	// The image itself holds every migration: opening it applies none.
	raw := filepath.Join(t.TempDir(), "raw.db")
	if wrote, err := newFromImage(raw); !wrote || err != nil {
		t.Fatalf("newFromImage: %v %v", wrote, err)
	}
	rawDB, err := sql.Open("sqlite", "file:"+raw+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var inImage []int64
	rows, err := rawDB.QueryContext(ctx, `SELECT version_id FROM goose_db_version WHERE version_id > 0 AND is_applied ORDER BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int64
		rows.Scan(&v)
		inImage = append(inImage, v)
	}
	rows.Close()
	rawDB.Close()
	all, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inImage, all) {
		t.Fatalf("the schema image holds migrations %v, the binary %v; run go test ./internal/store -run TestSchemaImage -update-schema-image", inImage, all)
	}
	dir := t.TempDir()
	fromImage, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer fromImage.Close()
	got, want := dumpSQLite(t, fromImage), dumpSQLite(t, built)
	if got != want {
		t.Fatalf("the schema image differs from the migrations' database; run go test ./internal/store -run TestSchemaImage -update-schema-image\nimage:\n%s\nmigrations:\n%s", got, want)
	}
	// Opened again, it is an existing database: nothing is rewritten.
	fromImage.Close()
	again, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if d := dumpSQLite(t, again); d != want {
		t.Fatalf("reopened:\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile+".new")); !os.IsNotExist(err) {
		t.Fatalf("the image's temporary file was left behind: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, DBFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode: %v %v", fi.Mode(), err)
	}
}

// TestSchemaImageNotOverExisting: the image is written only where no
// database is, not over a database's leftover write-ahead log.
func TestSchemaImageNotOverExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DBFile)
	if err := os.WriteFile(path+"-wal", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if wrote, err := newFromImage(path); wrote || err != nil {
		t.Fatalf("wrote the image beside a WAL: %v %v", wrote, err)
	}
	os.Remove(path + "-wal")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if wrote, err := newFromImage(path); wrote || err != nil {
		t.Fatalf("wrote the image over a database: %v %v", wrote, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "x" {
		t.Fatalf("database overwritten")
	}
}

// dumpSQLite renders a SQLite store's pragmas, schema and rows as text.
func dumpSQLite(t *testing.T, s *Store) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, p := range []string{"page_size", "auto_vacuum", "journal_mode", "user_version", "encoding", "application_id"} {
		var v string
		if err := s.db.QueryRowContext(ctx, `PRAGMA `+p).Scan(&v); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "pragma %s = %s\n", p, v)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var typ, name, tbl, sql string
		if err := rows.Scan(&typ, &name, &tbl, &sql); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s on %s: %s\n", typ, name, tbl, sql)
		if typ == "table" && !strings.HasPrefix(strings.ToUpper(sql), "CREATE VIRTUAL") {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, tbl := range tables {
		cols := "*"
		if tbl == "goose_db_version" {
			cols = "id, version_id, is_applied" // tstamp: when it was applied
		}
		rows, err := s.db.QueryContext(ctx, `SELECT `+cols+` FROM `+quoteIdent(tbl))
		if err != nil {
			t.Fatal(err)
		}
		names, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(names))
			ptrs := make([]any, len(names))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", vals))
		}
		rows.Close()
		slices.Sort(lines)
		fmt.Fprintf(&b, "rows of %s (%s):\n%s\n", tbl, strings.Join(names, ", "), strings.Join(lines, "\n"))
	}
	return b.String()
}
