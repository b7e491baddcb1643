package store

import (
	"context"
	"database/sql"
	"testing"
)

// TestPageCacheOption: every connection of a store opened with
// PageCacheKiB has that page cache; without it, the default.
func TestPageCacheOption(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ opt, want int }{{0, -defaultCacheKiB}, {1024, -1024}} {
		s, err := Open(ctx, Options{DataDir: t.TempDir(), PageCacheKiB: c.opt})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// Two connections: the setting is not one connection's.
		for _, n := range pooledPragma(t, s, 2, "cache_size") {
			if n != int64(c.want) {
				t.Errorf("PageCacheKiB %d: cache_size %d, want %d", c.opt, n, c.want)
			}
		}
	}
}

// TestMapBytesOption: every connection of a store opened with MapBytes
// reads through a memory map of that size; without it, none.
func TestMapBytesOption(t *testing.T) {
	ctx := context.Background()
	for _, want := range []int64{0, 64 << 20} {
		s, err := Open(ctx, Options{DataDir: t.TempDir(), MapBytes: want})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, n := range pooledPragma(t, s, 2, "mmap_size") {
			if n != want {
				t.Errorf("MapBytes %d: mmap_size %d", want, n)
			}
		}
	}
}

// pooledPragma reads an integer pragma on n of the store's pooled
// connections, all held at once so that each is a different one.
func pooledPragma(t *testing.T, s *Store, n int, pragma string) []int64 {
	t.Helper()
	ctx := context.Background()
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	out := make([]int64, 0, n)
	for range n {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var v int64
		if err := c.QueryRowContext(ctx, `PRAGMA `+pragma).Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}
