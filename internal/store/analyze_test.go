package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestAnalyzeOnlySizeableImports (PostgreSQL): the tables are analyzed
// after an import at least as large as the rows the statistics know of,
// not after a smaller partition's (not even one of half that size).
func TestAnalyzeOnlySizeableImports(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		if s.Dialect() != Postgres {
			return
		}
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		recs := func(prefix string, n int) []Record {
			var out []Record
			for i := range n {
				out = append(out, record(fmt.Sprintf("%s-%d", prefix, i), t0, "pkg"))
			}
			return out
		}
		known := func() float64 {
			var n float64
			if err := s.db.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'advisory'::regclass`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, step := range []struct {
			part string
			n    int
			want float64
		}{{"A", 100, 100}, {"B", 5, 100}, {"C", 100, 205}, {"D", 100, 205}, {"E", 205, 510}} {
			importAll(t, s, step.part, recs(step.part, step.n)...)
			if got := known(); got != step.want {
				t.Fatalf("after importing %d records into %s: the statistics know %v rows, want %v", step.n, step.part, got, step.want)
			}
		}
	})
}
