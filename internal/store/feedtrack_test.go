package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestPruneFeedPackages: a feed keeps at most max tracked packages, the
// most recently seen, on both engines; other feeds are untouched.
func TestPruneFeedPackages(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		for _, name := range []string{"npm", "other"} {
			if err := s.CreateFeed(ctx, Feed{Name: name, Type: "npm", Upstream: "http://127.0.0.1:1", Sources: []string{"osv"}, MetadataTTL: time.Minute}, now); err != nil {
				t.Fatal(err)
			}
		}
		var ds []FeedDecision
		for i := range 10 {
			for _, f := range []string{"npm", "other"} {
				p := fmt.Sprintf("pkg:npm/p%d@1.0.0", i)
				ds = append(ds, FeedDecision{Feed: f, PURL: p, Effect: "allow", Ecosystem: "npm", Name: p, Version: "1.0.0", At: now.Add(time.Duration(i) * time.Minute)})
			}
		}
		if err := s.RecordFeedDecisions(ctx, ds); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PruneFeedPackages(ctx, "npm", 20); err != nil || n != 0 {
			t.Fatalf("prune under the bound: %d %v", n, err)
		}
		n, err := s.PruneFeedPackages(ctx, "npm", 4)
		if err != nil || n != 6 {
			t.Fatalf("prune to 4: dropped %d, %v", n, err)
		}
		pkgs, err := s.FeedPackages(ctx, "npm")
		if err != nil || len(pkgs) != 4 || pkgs[0].PURL != "pkg:npm/p6@1.0.0" {
			t.Fatalf("kept %+v %v", pkgs, err)
		}
		if other, _ := s.FeedPackages(ctx, "other"); len(other) != 10 {
			t.Fatalf("other feed pruned: %d", len(other))
		}
		if _, total, _ := s.FeedDecisionPage(ctx, "npm", "", 0, 1); total != 10 {
			t.Fatalf("audit rows dropped: %d", total)
		}
	})
}
