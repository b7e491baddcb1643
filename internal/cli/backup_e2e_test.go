package cli

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
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
	// A new SQLite data directory gets the source's secret key.
	key := "# test key\n" + secret.NewKey() + "\n"
	os.WriteFile(filepath.Join(data, secret.KeyFile), []byte(key), 0o600)
	copyDir := t.TempDir()
	mustRun(t, "--data-dir", data, "--log-level", "warn", "migrate", "--to", copyDir)
	got, err := os.ReadFile(filepath.Join(copyDir, secret.KeyFile))
	fi, _ := os.Stat(filepath.Join(copyDir, secret.KeyFile))
	if err != nil || string(got) != key || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file in the new data directory: %v %q %v", err, got, fi)
	}
}

// TestRestoreKilledChangesNothing SIGKILLs "vulngate restore --force" while
// it loads, on SQLite and PostgreSQL: the target keeps its data, and the
// next restore removes the dead one's scratch and succeeds.
func TestRestoreKilledChangesNothing(t *testing.T) {
	t.Setenv("VULNGATE_USER", "alice")
	src := mirrored(t, "Go,npm,PyPI")
	file := filepath.Join(t.TempDir(), "b.zip")
	mustRun(t, "--data-dir", src, "--log-level", "warn", "backup", file)
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			data := t.TempDir()
			storeArgs := []string{"--data-dir", data}
			if engine == "postgres" {
				storeArgs = append(storeArgs, "--database-url", pgtest.DSN(t))
			}
			cli := func(args ...string) string { return mustRun(t, append(append([]string{}, storeArgs...), args...)...) }
			cli("--log-level", "warn", "mirror", "--base-url", "file://"+corpus.Dir(t), "--ecosystems", "crates.io")
			cli("assess", "set", "RUSTSEC-2016-0001", "--type", "Blocked", "--comment", "the target's own")

			cmd := startUntil(t, "table restored", append(append([]string{}, storeArgs...), "--log-format", "json", "restore", "--force", file)...)
			cmd.Process.Kill()
			if err := cmd.Wait(); err == nil {
				t.Fatal("the restore finished before it could be killed")
			}
			if out := cli("assess", "list"); !strings.Contains(out, "the target's own") {
				t.Fatalf("the target lost its data:\n%s", out)
			}
			if n := scratches(t, data, storeArgs); n == 0 {
				t.Error("the killed restore left no scratch to clean up; the test no longer covers that")
			}
			cli("--log-level", "warn", "restore", "--force", file)
			if out := cli("assess", "list"); strings.Contains(out, "the target's own") {
				t.Fatalf("the second restore did not replace the data:\n%s", out)
			}
			if n := scratches(t, data, storeArgs); n != 0 {
				t.Errorf("%d scratch databases left behind", n)
			}
		})
	}
}

// scratches counts restore scratch files (SQLite) or schemas (PostgreSQL).
func scratches(t *testing.T, data string, storeArgs []string) int {
	if len(storeArgs) < 4 {
		left, _ := filepath.Glob(filepath.Join(data, "vulngate.db.restore-*"))
		return len(left)
	}
	db, err := sql.Open("pgx", storeArgs[3])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'vulngate\_restore\_%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
