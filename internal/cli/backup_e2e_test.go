package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// backup, restore and migrate through the command line: SQLite to a file,
// into a new data directory, refused then forced over a used one, and
// moved to PostgreSQL and back.
func TestBackupRestoreMigrateCommands(t *testing.T) {
	t.Setenv("VULNGATE_USER", "alice")
	data := mirrored(t, "crates.io")
	mustRun(t, "--data-dir", data, "assess", "set", "RUSTSEC-2016-0001", "--type", "Blocked", "--comment", "carried along")
	dir := t.TempDir()
	out := mustRun(t, "--data-dir", data, "--log-level", "warn", "backup", dir)
	if !strings.Contains(out, "Backup written to "+filepath.Join(dir, "vulngate-backup-")) || !strings.Contains(out, "login sessions are not") {
		t.Fatalf("backup output:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "vulngate-backup-*.zip"))
	if len(files) != 1 {
		t.Fatalf("backup files: %v", files)
	}
	file := files[0]
	if out := mustRun(t, "restore", "--dry-run", file); !strings.Contains(out, "is a complete backup") {
		t.Fatalf("dry run:\n%s", out)
	}

	restored := t.TempDir()
	out = mustRun(t, "--data-dir", restored, "--log-level", "warn", "restore", file)
	if !strings.Contains(out, "Restored ") {
		t.Fatalf("restore output:\n%s", out)
	}
	if out := mustRun(t, "--data-dir", restored, "assess", "list"); !strings.Contains(out, "RUSTSEC-2016-0001") {
		t.Fatalf("restored assessments:\n%s", out)
	}
	_, _, err := run(t, "--data-dir", restored, "--log-level", "warn", "restore", file)
	if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "assessment: 1 rows") {
		t.Fatalf("restore over a used store: %v", err)
	}
	out = mustRun(t, "--data-dir", restored, "--log-level", "warn", "restore", "--force", file)
	if !strings.Contains(out, "previous database was kept as "+filepath.Join(restored, "vulngate.db.before-restore-")) {
		t.Fatalf("forced restore output:\n%s", out)
	}

	// A damaged file is refused, naming it.
	raw, _ := os.ReadFile(file)
	bad := filepath.Join(t.TempDir(), "cut.zip")
	os.WriteFile(bad, raw[:len(raw)/2], 0o600)
	if _, _, err := run(t, "--data-dir", t.TempDir(), "restore", bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("restore of a truncated file: %v", err)
	}

	// SQLite -> PostgreSQL -> SQLite.
	dsn := pgtest.DSN(t)
	out = mustRun(t, "--data-dir", data, "--log-level", "warn", "migrate", "--to", dsn)
	if !strings.Contains(out, "Next: stop the servers") {
		t.Fatalf("migrate output:\n%s", out)
	}
	if out := mustRun(t, "--database-url", dsn, "--data-dir", t.TempDir(), "assess", "list"); !strings.Contains(out, "RUSTSEC-2016-0001") {
		t.Fatalf("assessments on PostgreSQL:\n%s", out)
	}
	back := t.TempDir()
	mustRun(t, "--database-url", dsn, "--data-dir", t.TempDir(), "--log-level", "warn", "migrate", "--to", back)
	if out := mustRun(t, "--data-dir", back, "assess", "list"); !strings.Contains(out, "RUSTSEC-2016-0001") {
		t.Fatalf("assessments back on SQLite:\n%s", out)
	}
	if _, _, err := run(t, "--data-dir", data, "migrate", "--to", data); err == nil {
		t.Fatal("migrating a store onto itself succeeded")
	}
}
