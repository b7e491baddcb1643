package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestFeedManagement covers the feed queries the server's feed routes use,
// on both engines: assessors kept as grants of scope feed:NAME, paginated
// audit and tracked packages, decisions updated by a re-evaluation, and
// deletion taking the grants along.
func TestFeedManagement(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		alice, err := s.CreateUser(ctx, User{Username: "alice", Role: "assessor", PasswordHash: "h", Grants: []Grant{{Permission: "assess", Scope: "project:web"}}})
		if err != nil {
			t.Fatal(err)
		}
		f := Feed{Name: "npm", Type: "npm", Upstream: "http://127.0.0.1:1", Sources: []string{"osv"}, MetadataTTL: time.Minute}
		if err := s.SaveFeed(ctx, f, true, []string{"alice", "nobody"}, now); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown assessor: %v", err)
		}
		if _, err := s.FeedByName(ctx, "npm"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("half-created feed: %v", err)
		}
		if err := s.SaveFeed(ctx, f, true, []string{"alice"}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveFeed(ctx, f, true, nil, now); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
		if as, err := s.FeedAssessors(ctx, "npm"); err != nil || len(as) != 1 || as[0] != "alice" {
			t.Fatalf("assessors %v %v", as, err)
		}
		f.FilterBlocked = true
		if err := s.SaveFeed(ctx, f, false, nil, now); err != nil { // nil keeps the assessors
			t.Fatal(err)
		}
		if as, _ := s.FeedAssessors(ctx, "npm"); len(as) != 1 {
			t.Fatalf("assessors after an update without them: %v", as)
		}
		if err := s.SaveFeed(ctx, Feed{Name: "nope", Type: "npm"}, false, nil, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update of an unknown feed: %v", err)
		}

		var ds []FeedDecision
		for i, p := range []string{"pkg:npm/a@1.0.0", "pkg:npm/b@1.0.0", "pkg:npm/a@1.0.0"} {
			eff := "allow"
			if i == 1 {
				eff = "block"
			}
			ds = append(ds, FeedDecision{Feed: "npm", PURL: p, Effect: eff, Ecosystem: "npm", Name: p[8:9], Version: "1.0.0", At: now.Add(time.Duration(i) * time.Second)})
		}
		if err := s.RecordFeedDecisions(ctx, ds); err != nil {
			t.Fatal(err)
		}
		page, total, err := s.FeedDecisionPage(ctx, "npm", "", 1, 1)
		if err != nil || total != 3 || len(page) != 1 || page[0].PURL != "pkg:npm/b@1.0.0" {
			t.Fatalf("decision page %+v %d %v", page, total, err)
		}
		if _, total, _ := s.FeedDecisionPage(ctx, "npm", "block", 0, 10); total != 1 {
			t.Fatalf("blocked decisions: %d", total)
		}
		if err := s.SetFeedPackageDecisions(ctx, "npm", map[string]string{"pkg:npm/a@1.0.0": "block", "pkg:npm/gone@1": "block"}); err != nil {
			t.Fatal(err)
		}
		pkgs, total, err := s.FeedPackagePage(ctx, "npm", "block", 0, 10)
		if err != nil || total != 2 || len(pkgs) != 2 || pkgs[0].PURL != "pkg:npm/a@1.0.0" || pkgs[0].Downloads != 2 {
			t.Fatalf("blocked packages %+v %d %v", pkgs, total, err)
		}

		if _, err := s.DeleteFeed(ctx, "npm"); err != nil {
			t.Fatal(err)
		}
		u, err := s.UserByID(ctx, alice)
		if err != nil || len(u.Grants) != 1 || u.Grants[0].Scope != "project:web" {
			t.Fatalf("grants after the feed was deleted: %+v %v", u.Grants, err)
		}
		if _, total, _ := s.FeedDecisionPage(ctx, "npm", "", 0, 10); total != 3 {
			t.Fatalf("audit after delete: %d", total)
		}
	})
}

// TestRecordFeedDecisionsBatchSizes: batches of every shape the prepared
// statement sizes (decisionRows) split them into are written whole and
// in order, on both engines, and one package's downloads are counted.
func TestRecordFeedDecisionsBatchSizes(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		if err := s.SaveFeed(ctx, Feed{Name: "npm", Type: "npm", Upstream: "http://127.0.0.1:1", Sources: []string{"osv"}, MetadataTTL: time.Minute}, true, nil, now); err != nil {
			t.Fatal(err)
		}
		written := 0
		for _, n := range []int{1, 2, 3, 9, 31, 33, 127, 128, 129, 171, 300} {
			var ds []FeedDecision
			for i := range n {
				ds = append(ds, FeedDecision{Feed: "npm", PURL: fmt.Sprintf("pkg:npm/p%d@1.0.0", written+i), Effect: "allow", Reasons: fmt.Sprint(n, "/", i),
					Client: "c", Ecosystem: "npm", Name: "p", Version: "1.0.0", At: now.Add(time.Duration(written+i) * time.Millisecond)})
			}
			if err := s.RecordFeedDecisions(ctx, ds); err != nil {
				t.Fatalf("batch of %d: %v", n, err)
			}
			written += n
		}
		got, err := s.FeedDecisions(ctx, "npm", written+10)
		if err != nil || len(got) != written {
			t.Fatalf("%d rows read (%v), want %d", len(got), err, written)
		}
		for i, d := range got {
			want := fmt.Sprintf("pkg:npm/p%d@1.0.0", written-1-i)
			if d.PURL != want || !d.At.Equal(now.Add(time.Duration(written-1-i)*time.Millisecond)) || d.Client != "c" {
				t.Fatalf("row %d (newest first): %+v, want %s", i, d, want)
			}
		}
		if _, total, err := s.FeedPackagePage(ctx, "npm", "", 0, 1); err != nil || total != written {
			t.Fatalf("tracked packages: %d %v, want %d", total, err, written)
		}
	})
}
