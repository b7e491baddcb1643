package store

import (
	"context"
	"testing"
	"time"
)

// TestFeedsAffectedBy: tracked packages with an open finding of an alias
// group in their feed's scope, on both engines; a finding in another scope
// or a closed one does not count.
func TestFeedsAffectedBy(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		for _, name := range []string{"npm", "other"} {
			if err := s.CreateFeed(ctx, Feed{Name: name, Type: "npm", Upstream: "http://127.0.0.1:1", Sources: []string{"osv"}, MetadataTTL: time.Minute}, now); err != nil {
				t.Fatal(err)
			}
		}
		var ds []FeedDecision
		for _, p := range []string{"pkg:npm/a@1.0.0", "pkg:npm/b@1.0.0"} {
			for _, f := range []string{"npm", "other"} {
				ds = append(ds, FeedDecision{Feed: f, PURL: p, Effect: "block", Ecosystem: "npm", Name: p, Version: "1.0.0", At: now})
			}
		}
		if err := s.RecordFeedDecisions(ctx, ds); err != nil {
			t.Fatal(err)
		}
		obs := func(purl string, ids ...string) ObservedPackage {
			return ObservedPackage{PURL: purl, Ecosystem: "npm", Name: purl, Version: "1.0.0", Complete: true,
				Findings: []ObservedFinding{{VulnID: ids[0], IDs: ids, Rating: "HIGH", Score: 75, Sources: []string{"OSV"}}}}
		}
		rec := func(scope string, pkgs ...ObservedPackage) {
			if _, err := s.RecordFindings(ctx, scope, pkgs, now); err != nil {
				t.Fatal(err)
			}
		}
		rec("feed:npm", obs("pkg:npm/a@1.0.0", "CVE-2025-1", "GHSA-aaaa-bbbb-cccc"), obs("pkg:npm/b@1.0.0", "CVE-2025-2"))
		rec("feed:other", ObservedPackage{PURL: "pkg:npm/a@1.0.0", Ecosystem: "npm", Name: "a", Version: "1.0.0", Complete: true}) // nothing open
		rec("project:x", obs("pkg:npm/b@1.0.0", "CVE-2025-1"))

		got, err := s.FeedsAffectedBy(ctx, []string{"GHSA-aaaa-bbbb-cccc"}, 10)
		if err != nil || len(got) != 1 || got[0].Feed != "npm" || got[0].PURL != "pkg:npm/a@1.0.0" || got[0].Decision != "block" || got[0].Refused != 1 || !got[0].LastSeen.Equal(now) {
			t.Fatalf("by alias: %+v %v", got, err)
		}
		if got, _ := s.FeedsAffectedBy(ctx, []string{"CVE-2025-1", "CVE-2025-2"}, 10); len(got) != 2 || got[1].PURL != "pkg:npm/b@1.0.0" {
			t.Fatalf("two IDs: %+v", got)
		}
		if got, _ := s.FeedsAffectedBy(ctx, []string{"CVE-2025-1", "CVE-2025-2"}, 1); len(got) != 1 {
			t.Fatalf("limit: %+v", got)
		}
		// The finding closes when the feed's scan no longer reports it.
		rec("feed:npm", ObservedPackage{PURL: "pkg:npm/a@1.0.0", Ecosystem: "npm", Name: "a", Version: "1.0.0", Complete: true})
		if got, _ := s.FeedsAffectedBy(ctx, []string{"CVE-2025-1"}, 10); len(got) != 0 {
			t.Fatalf("closed finding still affects: %+v", got)
		}
	})
}
