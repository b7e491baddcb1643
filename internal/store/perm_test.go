//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDataDirOwnerOnly: the data directory is 0700 and the database files
// 0600 under the usual umask, for a new directory and for one an older
// version left readable by others (issue 12 item 5).
func TestDataDirOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	fresh := filepath.Join(t.TempDir(), "data")
	legacy := t.TempDir()
	os.Chmod(legacy, 0o755)
	os.WriteFile(filepath.Join(legacy, DBFile), nil, 0o644)
	for _, dir := range []string{fresh, legacy} {
		s, err := Open(context.Background(), Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutSetting(context.Background(), "x", 1); err != nil { // writes the WAL
			t.Fatal(err)
		}
		check := func(p string, want os.FileMode) {
			t.Helper()
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
			}
		}
		check(dir, 0o700)
		for _, f := range []string{DBFile, DBFile + "-wal", DBFile + "-shm"} {
			check(filepath.Join(dir, f), 0o600)
		}
		s.Close()
	}
}
