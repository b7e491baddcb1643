package store

import (
	"context"
	"fmt"
	"testing"
)

// TestStmtCacheBounded: queries past the cache's bound, and after the
// store is closed, run unprepared (or fail as any query on a closed store
// does) instead of growing the cache.
func TestStmtCacheBounded(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i := range stmtCacheMax + 10 {
			var n int
			if err := s.queryRowCached(ctx, s.Rebind(fmt.Sprintf(`SELECT %d + ?`, i)), 1).Scan(&n); err != nil || n != i+1 {
				t.Fatalf("query %d: %d %v", i, n, err)
			}
		}
		if len(s.stmts.m) != stmtCacheMax {
			t.Fatalf("%d statements cached, want %d", len(s.stmts.m), stmtCacheMax)
		}
		rows, err := s.queryCached(ctx, s.Rebind(`SELECT 0 + ?`), 41)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for rows.Next() {
			rows.Scan(&n)
		}
		rows.Close()
		if n != 41 {
			t.Fatalf("cached statement answered %d", n)
		}
		if err := s.queryRowCached(ctx, `SELEC nonsense`).Scan(&n); err == nil {
			t.Fatal("a bad statement gave no error")
		}
		s.Close()
		if err := s.queryRowCached(ctx, s.Rebind(`SELECT 0 + ?`), 1).Scan(&n); err == nil {
			t.Fatal("query on a closed store succeeded")
		}
	})
}
