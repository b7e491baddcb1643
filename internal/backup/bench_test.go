package backup

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// corpusStore mirrors the whole shared corpus and adds 10,000
// assessments (bench/cmd/backupbench measures the same as separate runs
// of the binary, against raw limits).
func corpusStore(b *testing.B) *store.Store {
	b.Helper()
	dir := corpus.Dir(b)
	data, err := os.ReadFile(filepath.Join(dir, "ecosystems.txt"))
	if err != nil {
		b.Fatal(err)
	}
	st := storetest.SQLite(b)
	m, err := osvmirror.New(st, osvmirror.Options{BaseURL: "file://" + dir, Ecosystems: strings.Fields(string(data)), TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	addAssessments(b, st, 10000)
	return st
}

func BenchmarkBackupCorpus(b *testing.B) {
	st := corpusStore(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Write(context.Background(), st, io.Discard, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRestoreCorpus(b *testing.B) {
	st := corpusStore(b)
	file := filepath.Join(b.TempDir(), "b.zip")
	if _, err := WriteFile(context.Background(), st, file, Options{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Restore(context.Background(), file, store.Options{DataDir: b.TempDir()}, RestoreOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
