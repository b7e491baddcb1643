package store

import (
	"context"
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
		defer s.Close() // runs after the connections' Close
		// Two connections held at once: the setting is not one
		// connection's.
		for range 2 {
			conn, err := s.DB().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var n int
			if err := conn.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != c.want {
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
		for range 2 {
			conn, err := s.DB().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var n int64
			if err := conn.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Errorf("MapBytes %d: mmap_size %d", want, n)
			}
		}
	}
}
