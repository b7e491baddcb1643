package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestEachRecordOf: records looked up by ID come from the partition's
// current generation, across query batches (recordsOfBatch), inflated;
// IDs the partition does not hold, or holds only in an older generation
// or another partition, are skipped.
func TestEachRecordOf(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		var old, cur []Record
		for i := range recordsOfBatch + 100 {
			old = append(old, record(fmt.Sprintf("OLD-%04d", i), t0, "a"))
			cur = append(cur, record(fmt.Sprintf("PYSEC-%04d", i), t0, "a"))
		}
		importAll(t, s, "PyPI", old...)
		importAll(t, s, "PyPI", cur...) // a new generation: the OLD- records are gone
		importAll(t, s, "npm", record("NPM-0001", t0, "a"))
		ask := []string{"OLD-0001", "NPM-0001", "MISSING"}
		var want []string
		for i := 0; i < len(cur); i += 3 {
			ask = append(ask, cur[i].ID)
			want = append(want, cur[i].ID)
		}
		var got []string
		err := s.EachRecordOf(ctx, "PyPI", ask, func(id string, data []byte) error {
			if string(data) != fmt.Sprintf(`{"id":%q}`, id) {
				t.Errorf("%s: document %q", id, data)
			}
			got = append(got, id)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("got %d records (%v...), want %d", len(got), got[:min(3, len(got))], len(want))
		}
	})
}
