package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestServerTables runs the server's and the feeds' store functions (users,
// grants, sessions, API keys, settings, job history, leases, advisory
// summaries, finding pages, feeds and their cache index, the gate version)
// on both engines, so SQL that only one engine accepts is caught here.
func TestServerTables(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)

		// Users, grants, sessions, API keys.
		id, err := s.CreateUser(ctx, User{Username: "alice", Role: "assessor", PasswordHash: "h", Grants: []Grant{{Permission: "assess", Scope: "feed:npm"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, User{Username: "alice", Role: "viewer", PasswordHash: "h"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate user: %v", err)
		}
		dis := true
		if err := s.UpdateUser(ctx, id, UserUpdate{Disabled: &dis}); err != nil {
			t.Fatal(err)
		}
		u, err := s.UserByName(ctx, "alice")
		if err != nil || !u.Disabled || u.ID != id || len(u.Grants) != 1 || u.Created.IsZero() {
			t.Fatalf("user %+v %v", u, err)
		}
		dis = false
		s.UpdateUser(ctx, id, UserUpdate{Disabled: &dis})
		if err := s.CreateSession(ctx, "sess", id, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if su, err := s.SessionUser(ctx, "sess", now); err != nil || su.ID != id {
			t.Fatalf("session user %+v %v", su, err)
		}
		if _, err := s.SessionUser(ctx, "sess", now.Add(2*time.Hour)); err == nil {
			t.Fatal("expired session accepted")
		}
		if err := s.DeleteExpiredSessions(ctx, now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		kid, err := s.CreateAPIKey(ctx, id, "ci", "vg_abc", "keyhash")
		if err != nil {
			t.Fatal(err)
		}
		if ku, err := s.APIKeyUser(ctx, "keyhash", now); err != nil || ku.ID != id {
			t.Fatalf("api key user %+v %v", ku, err)
		}
		if keys, err := s.APIKeys(ctx, id); err != nil || len(keys) != 1 || keys[0].ID != kid || keys[0].LastUsed.IsZero() {
			t.Fatalf("keys %+v %v", keys, err)
		}
		// last_used is kept to the minute: a use 30 s later writes nothing,
		// one 2 minutes later does.
		for _, at := range []time.Duration{30 * time.Second, 2 * time.Minute} {
			if _, err := s.APIKeyUser(ctx, "keyhash", now.Add(at)); err != nil {
				t.Fatal(err)
			}
			want := now
			if at >= time.Minute {
				want = now.Add(at)
			}
			if keys, err := s.APIKeys(ctx, id); err != nil || !keys[0].LastUsed.Equal(want) {
				t.Fatalf("after a use at +%s: last used %v, want %v (%v)", at, keys[0].LastUsed, want, err)
			}
		}
		if us, err := s.Users(ctx); err != nil || len(us) != 1 {
			t.Fatalf("users %+v %v", us, err)
		}

		// Settings and job history.
		if err := s.PutSetting(ctx, "job.x", map[string]string{"cron": "0 2 * * *"}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSetting(ctx, "job.x", map[string]string{"cron": "0 3 * * *"}); err != nil {
			t.Fatal(err)
		}
		var cs map[string]string
		if ok, err := s.Setting(ctx, "job.x", &cs); !ok || err != nil || cs["cron"] != "0 3 * * *" {
			t.Fatalf("setting %v %v %v", cs, ok, err)
		}
		run, err := s.StartJobRun(ctx, "x", "manual:alice", now)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishJobRun(ctx, run, now.Add(time.Second), RunSucceeded, "", "log\n"); err != nil {
			t.Fatal(err)
		}
		if jr, err := s.JobRun(ctx, "x", run); err != nil || jr.Log != "log\n" || jr.Status != RunSucceeded {
			t.Fatalf("job run %+v %v", jr, err)
		}
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("ready: %v", err)
		}

		// Leases.
		if _, err := s.AcquireLease(ctx, "x", "A", time.Minute); err != nil {
			t.Fatal(err)
		}
		if l, err := s.AcquireLease(ctx, "x", "B", time.Minute); !errors.Is(err, ErrLeaseHeld) || l.Holder != "A" {
			t.Fatalf("second holder: %+v %v", l, err)
		}
		if err := s.RenewLease(ctx, "x", "A", time.Minute, 7); err != nil {
			t.Fatal(err)
		}
		if l, ok, err := s.LeaseState(ctx, "x"); !ok || err != nil || l.RunID != 7 || l.Holder != "A" {
			t.Fatalf("lease %+v %v %v", l, ok, err)
		}
		if err := s.RenewLease(ctx, "x", "B", time.Minute, 0); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("renew by non-holder: %v", err)
		}
		s.ReleaseLease(ctx, "x", "A")
		if _, err := s.AcquireLease(ctx, "x", "B", time.Minute); err != nil {
			t.Fatal(err)
		}

		// Advisory summaries and findings pages.
		err = s.ReplaceSummaries(ctx, "npm", false, nil, []AdvisorySummary{
			{ID: "GHSA-1", Modified: now, Source: "OSV", Ecosystem: "npm", Packages: []string{"lodash"}, Aliases: []string{"CVE-1"}, Severity: "HIGH", Score: 7.5, Summary: "proto_pollution"},
			{ID: "GHSA-2", Modified: now, Source: "OSV", Ecosystem: "npm", Severity: "LOW", Score: 2, Withdrawn: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		sums, n, err := s.ListSummaries(ctx, SummaryFilter{Query: "proto_", Severities: []string{"HIGH"}, Assessment: AssessedNone, Now: now, Limit: 10})
		if err != nil || n != 1 || len(sums) != 1 || sums[0].Score != 7.5 || sums[0].Withdrawn {
			t.Fatalf("summaries %+v %d %v", sums, n, err)
		}
		if c, err := s.CountSummaries(ctx, "severity"); err != nil || len(c) != 1 || c[0].Count != 1 {
			t.Fatalf("counts %+v %v", c, err)
		}
		if _, err := s.RecordFindings(ctx, "feed:npm", []ObservedPackage{{PURL: "pkg:npm/lodash@4.17.20", Ecosystem: "npm", Name: "lodash", Version: "4.17.20", Complete: true,
			Findings: []ObservedFinding{{VulnID: "GHSA-1", IDs: []string{"GHSA-1", "CVE-1"}, Rating: "HIGH", Score: 75, Sources: []string{"OSV"}}}}}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAssessments(ctx, []Assessment{{VulnID: "GHSA-1", Scope: "global", Type: "Blocked", By: "alice", At: now}}, "set", "alice", now); err != nil {
			t.Fatal(err)
		}
		rows, n, err := s.ListOpenFindings(ctx, FindingPageFilter{Ratings: []string{"HIGH"}, Sources: []string{"OSV"}, Query: "lodash", Assessment: "Blocked", Now: now, Limit: 10})
		if err != nil || n != 1 || len(rows) != 1 || rows[0].Assessment != "Blocked" {
			t.Fatalf("findings %+v %d %v", rows, n, err)
		}
		if sums, n, err := s.ListSummaries(ctx, SummaryFilter{Assessment: "Blocked", Now: now, Limit: 10}); err != nil || n != 1 || len(sums) != 1 {
			t.Fatalf("assessed summaries %+v %d %v", sums, n, err)
		}
		if sums, n, err := s.ListSummaries(ctx, SummaryFilter{InScope: "feed:npm", Now: now, Limit: 10}); err != nil || n != 1 || len(sums) != 1 {
			t.Fatalf("summaries in scope %+v %d %v", sums, n, err)
		}

		// Feeds, their cache index, decisions and the gate version.
		v1, err := s.GateVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f := Feed{Name: "npm", Type: "npm", Upstream: "http://127.0.0.1:1/", Sources: []string{"osv"}, FilterBlocked: true, MetadataTTL: 5 * time.Minute}
		if err := s.CreateFeed(ctx, f, now); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FeedByName(ctx, "npm"); err != nil || !got.FilterBlocked || got.MetadataTTL != 5*time.Minute {
			t.Fatalf("feed %+v %v", got, err)
		}
		if err := s.PutFeedMetadata(ctx, "npm", "lodash", FeedMetadata{ContentType: "application/json", FetchedAt: now, Body: []byte{0, 1, 2, 0xff}}); err != nil {
			t.Fatal(err)
		}
		if m, ok, err := s.FeedMetadata(ctx, "npm", "lodash"); !ok || err != nil || len(m.Body) != 4 || m.Body[3] != 0xff {
			t.Fatalf("metadata %+v %v %v", m, ok, err)
		}
		if err := s.PutFeedArtifact(ctx, "npm", "lodash-4.17.20.tgz", FeedArtifact{SHA256: "ab", Size: 5 << 30, FetchedAt: now}); err != nil {
			t.Fatal(err)
		}
		if a, ok, err := s.FeedArtifact(ctx, "npm", "lodash-4.17.20.tgz"); !ok || err != nil || a.Size != 5<<30 {
			t.Fatalf("artifact %+v %v %v", a, ok, err)
		}
		ds := []FeedDecision{
			{Feed: "npm", PURL: "pkg:npm/lodash@4.17.20", Effect: "block", Reasons: "GHSA-1", Ecosystem: "npm", Name: "lodash", Version: "4.17.20", At: now},
			{Feed: "npm", PURL: "pkg:npm/lodash@4.17.20", Effect: "block", Ecosystem: "npm", Name: "lodash", Version: "4.17.20", At: now},
		}
		if err := s.RecordFeedDecisions(ctx, ds); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FeedDecisions(ctx, "npm", 10); err != nil || len(got) != 2 || got[0].Seq == 0 {
			t.Fatalf("decisions %+v %v", got, err)
		}
		if pk, err := s.FeedPackages(ctx, "npm"); err != nil || len(pk) != 1 || pk[0].Refused != 2 {
			t.Fatalf("packages %+v %v", pk, err)
		}
		if v2, err := s.GateVersion(ctx); err != nil || v2 == v1 {
			t.Fatalf("gate version %s -> %s %v", v1, v2, err)
		}
		if _, err := s.DeleteFeed(ctx, "npm"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, id); err != nil {
			t.Fatal(err)
		}
	})
}
