package store

import (
	"context"
	"testing"
	"time"
)

// TestPackageChangeSeqSurvivesPrune: pruning the whole journal keeps its
// newest entry, so the next entry is numbered after every number a reader
// may hold as its cursor (SQLite numbers rows from the largest rowid left).
func TestPackageChangeSeqSurvivesPrune(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		keys := []PackageKey{{Ecosystem: "Go", Name: "a"}, {Ecosystem: "Go", Name: "b"}}
		if err := s.RecordPackageChanges(ctx, "Go", keys, nil); err != nil {
			t.Fatal(err)
		}
		cursor, err := s.LastPackageChange(ctx)
		if err != nil || cursor == 0 {
			t.Fatalf("last change after recording: %d %v", cursor, err)
		}
		if err := s.PrunePackageChanges(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordPackageChanges(ctx, "Go", keys[:1], nil); err != nil {
			t.Fatal(err)
		}
		after, err := s.PackageChanges(ctx, cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 1 || after[0].Key.Name != "a" {
			t.Fatalf("changes after cursor %d once the journal was pruned: %+v", cursor, after)
		}
	})
}
