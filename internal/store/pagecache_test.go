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
