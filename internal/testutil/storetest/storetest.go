// Package storetest opens fresh stores for tests on both engines: SQLite
// in a temporary directory and PostgreSQL from pgtest (packages using it
// call os.Exit(pgtest.Main(m)) from TestMain). Engines runs one test body
// on each, so a suite written once covers both.
//
// It is test support only and is never linked into the binary.
package storetest

import (
	"context"
	"testing"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// SQLite opens a fresh SQLite store closed when the test ends.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, store.Options{DataDir: t.TempDir()})
}

// Postgres opens a store on a fresh PostgreSQL database (skipped loudly,
// or failed under VULNGATE_REQUIRE_POSTGRES=1, without a server).
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, store.Options{DSN: pgtest.DSN(t)})
}

// Open opens (creating or migrating) the store opts names, closed when
// the test ends.
func Open(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Engines runs fn as subtests "sqlite" and "postgres", each on a fresh store.
func Engines(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}
