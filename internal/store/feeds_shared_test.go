package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestFeedWritesFromSeveralInstances: instances sharing a database cache
// the same file and record the same package at once (each with its own
// connections): every write succeeds and no download is lost from the
// counts; recording for a feed deleted meanwhile keeps the audit rows.
func TestFeedWritesFromSeveralInstances(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		if err := s.CreateFeed(ctx, Feed{Name: "npm", Type: "npm", Upstream: "http://127.0.0.1:1", Sources: []string{"osv"}, MetadataTTL: time.Minute}, now); err != nil {
			t.Fatal(err)
		}
		const writers = 8
		var wg sync.WaitGroup
		errs := make(chan error, 2*writers)
		for range writers {
			wg.Go(func() {
				errs <- s.PutFeedArtifact(ctx, "npm", "tarball/demo-1.0.0.tgz", FeedArtifact{SHA256: "ab12", Size: 3, FetchedAt: now})
				errs <- s.RecordFeedDecisions(ctx, []FeedDecision{{Feed: "npm", PURL: "pkg:npm/demo@1.0.0", Effect: "allow", Ecosystem: "npm", Name: "demo", Version: "1.0.0", At: now}})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		pkgs, err := s.FeedPackages(ctx, "npm")
		if err != nil || len(pkgs) != 1 || pkgs[0].Downloads != writers {
			t.Fatalf("tracked packages: %+v %v", pkgs, err)
		}
		if err := s.RecordFeedDecisions(ctx, []FeedDecision{{Feed: "gone", PURL: "pkg:npm/demo@1.0.0", Effect: "allow", At: now}}); err != nil {
			t.Fatalf("recording for a deleted feed: %v", err)
		}
		if ds, err := s.FeedDecisions(ctx, "gone", 10); err != nil || len(ds) != 1 {
			t.Fatalf("audit rows of a deleted feed: %+v %v", ds, err)
		}
	})
}
