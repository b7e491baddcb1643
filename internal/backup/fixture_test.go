package backup

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// populate fills every table of the store through the store's own
// functions: each User table (the round trip compares them row by row,
// and TestFixtureCoversUserTables fails for one left empty), the mirror
// (one live generation per partition, plus an import left in progress),
// and the caches and runtime state a backup leaves out. Values include
// the awkward ones: quotes, newlines, non-ASCII text, binary data, large
// integers and fractions.
func populate(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Mirror: two partitions with records, aliases and package keys.
	var im *store.Import
	var err error
	for _, part := range []string{"OSV:Go", "OSV:npm"} {
		im, err = st.BeginImport(ctx, part, "OSV")
		must(err)
		im.Skip("GHSA-"+part[4:]+"-bad", "no modified time")
		for i := range 3 {
			id := fmt.Sprintf("GHSA-%s-%04d", part[4:], i)
			doc := fmt.Sprintf(`{"id":%q,"modified":"2024-01-0%dT00:00:00Z","summary":"naïve \"quoted\"\nline"}`, id, i+1)
			must(im.Add(ctx, store.Record{ID: id, Modified: now.Add(-time.Duration(i) * time.Hour), Aliases: []string{"CVE-2024-" + fmt.Sprint(1000+i)},
				Packages: []store.PackageKey{{Ecosystem: part[4:], Name: fmt.Sprintf("pkg-%d", i)}}, Data: []byte(doc)}))
		}
		_, err = im.Commit(ctx, store.PartitionState{BaseURL: "file:///osv", LastSync: now, Watermark: now})
		must(err)
		must(st.ReplaceSummaries(ctx, part, false, nil, []store.AdvisorySummary{{Partition: part, ID: "GHSA-" + part[4:] + "-0000",
			Modified: now, Source: "OSV", Ecosystem: part[4:], Packages: []string{"pkg-0"}, Aliases: []string{"CVE-2024-1000"},
			Severity: "HIGH", Score: 7.5, Summary: "Prototype pollution – ünïcode"}}))
	}
	// Enrichment sources: an NVD record, EPSS scores and a KEV entry.
	must(st.UpsertNVD(ctx, []store.NVDRecord{{ID: "CVE-2024-1000", Published: now, LastModified: now, Status: "Analyzed", Description: "naïve \"quoted\"",
		Metrics: []store.CVSSMetric{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Source: "nvd@nist.gov", Type: "Primary"}}, CWEs: []string{"CWE-79", "CWE-89"}}}))
	must(st.PutEnrichmentState(ctx, store.EnrichmentState{Source: "nvd", URL: "file:///nvd.json", LastSync: now, Version: "2025-03-04T05:06:07Z", Records: 1}))
	must(st.ReplaceEPSS(ctx, []store.EPSSScore{{CVE: "CVE-2024-1000", EPSS: 0.12345, Percentile: 0.9}, {CVE: "CVE-2024-1001", EPSS: 0.5, Percentile: 0.95}},
		store.EnrichmentState{Source: "epss", URL: "file:///epss.csv", LastSync: now, Version: "v2025.03.14 2025-03-04", Records: 2}))
	must(st.ReplaceKEV(ctx, []store.KEVEntry{{CVE: "CVE-2024-1000", Vendor: "Acme", Product: "Widget", Name: "Acme Widget RCE", DateAdded: "2025-03-01",
		DueDate: "2025-03-22", Ransomware: "Known", RequiredAction: "Apply updates.", Notes: "https://example.test/advisory"}},
		store.EnrichmentState{Source: "kev", URL: "file:///kev.json", LastSync: now, Version: "2025.03.04", Records: 1, Malformed: 1}))
	// Projects, the portfolio and the change journal.
	_, err = st.ReplaceProjectVersion(ctx, store.VersionUpload{Project: store.Project{Name: "shop", Description: "Web shop", Tags: []string{"team-a", "web"}},
		Version: "1.2.0", Format: "CycloneDX JSON", FileName: "bom.json", UploadedBy: "alice",
		Components: []store.ProjectComponent{{PURL: "pkg:golang/example.com/mod@v1.0.0", Name: "example.com/mod", Version: "v1.0.0", Path: []string{"shop", "example.com/mod"},
			Ecosystem: "Go", PkgName: "example.com/mod", Findings: []store.ProjectFinding{{VulnID: "GHSA-Go-0000", IDs: []string{"GHSA-Go-0000", "CVE-2024-1000"},
				Rating: "HIGH", Score: 75, Summary: "bad", Sources: []string{"OSV"}, Fixed: []string{"v1.0.1"}, FirstSeen: now, LastSeen: now}}}},
	}, now)
	must(err)
	must(st.PutPortfolioSnapshot(ctx, store.PortfolioSnapshot{Day: "2025-03-04", Projects: 1, Versions: 1, Components: 1, Findings: 1, High: 1, Taken: now}))
	must(st.RecordPackageChanges(ctx, "OSV:Go", []store.PackageKey{{Ecosystem: "Go", Name: "example.com/mod"}}, nil))

	// Notification rules and their delivery log.
	rule, err := st.SaveNotifyRule(ctx, store.NotifyRule{Name: "critical to chat", Event: "new-finding", MinSeverity: "CRITICAL", Kind: "webhook",
		URL: "http://127.0.0.1:1/hook", Secret: "plain:s3cret", Enabled: true}, now)
	must(err)
	_, _, err = st.StartDelivery(ctx, store.NotifyDelivery{RuleID: rule, RuleName: "critical to chat", Event: "new-finding", Subject: "GHSA-Go-0000 in shop 1.2.0", Status: "sent", Dedupe: "x"}, now)
	must(err)

	// An import in progress: its rows and its pending_generation row are
	// runtime state.
	im, err = st.BeginImport(ctx, "OSV:Go", "OSV")
	must(err)
	t.Cleanup(func() { im.Abort(context.Background()) })
	// Its writer's first batch, written to the pending generation.
	must(im.Add(ctx, store.Record{ID: "GHSA-pending", Modified: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Packages: []store.PackageKey{{Ecosystem: "Go", Name: "pending"}}, Data: []byte(`{"id":"GHSA-pending"}`)}))
	must(im.Flush(ctx))

	// Assessments, history, custom type, policies, findings.
	must(st.SaveAssessType(ctx, store.AssessType{Name: "Reviewed", Effect: "allow", AutoMin: -1, AutoMax: -1, AutoEPSS: -1, ExpirySeconds: 1 << 40, Description: "Checked by the \"security\" team\n(see wiki)", CreatedAt: now}, nil))
	must(st.SetAssessments(ctx, []store.Assessment{
		{VulnID: "CVE-2024-1000", Scope: "global", Type: "Blocked", Comment: "Exploited 🚨", By: "alice", At: now, ExpiresAt: now.Add(720 * time.Hour)},
		{VulnID: "GHSA-Go-0001", Scope: "feed:npm-proxy", Type: "Reviewed", Comment: "", By: "bob", At: now},
	}, "set", "alice", now))
	_, err = st.ClearAssessment(ctx, "GHSA-Go-0001", "feed:npm-proxy", "bob", now.Add(time.Minute))
	must(err)
	must(st.SetAssessments(ctx, []store.Assessment{{VulnID: "GHSA-Go-0002", Scope: "global", Type: "Ignore", Auto: true, At: now}}, "auto", "vulngate", now))
	must(st.SetPolicy(ctx, "global", "warn", "alice", now))
	_, err = st.RecordFindings(ctx, "global", []store.ObservedPackage{{
		PURL: "pkg:golang/example.com/mod@v1.0.0", Ecosystem: "Go", Name: "example.com/mod", Version: "v1.0.0", Complete: true,
		Findings: []store.ObservedFinding{{VulnID: "GHSA-Go-0000", IDs: []string{"GHSA-Go-0000", "CVE-2024-1000"}, Rating: "HIGH", Score: 75, Summary: "bad", Sources: []string{"OSV", "OSSINDEX"}, EPSSPercentile: -1}},
	}}, now)
	must(err)

	// Users, grants, keys, sessions, settings, job history and a lease.
	uid, err := st.CreateUser(ctx, store.User{Username: "alice", Role: "assessor", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		Grants: []store.Grant{{Permission: "assess", Scope: "feed:npm-proxy"}}})
	must(err)
	_, err = st.CreateAPIKey(ctx, uid, "ci", "vg_abcd", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	must(err)
	must(st.CreateSession(ctx, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", uid, now.Add(time.Hour)))
	must(st.PutSetting(ctx, "source.osv", map[string]any{"enabled": true, "base_url": "file:///osv", "ecosystems": []string{"Go", "npm"}}))
	run, err := st.StartJobRun(ctx, "osv-mirror", "manual:alice", now)
	must(err)
	must(st.FinishJobRun(ctx, run, now.Add(time.Minute), store.RunSucceeded, "", "12:00:00 level=INFO msg=\"run started\"\n"))
	must(st.PutJobSchedule(ctx, store.JobSchedule{Job: "osv-mirror", Cron: "0 3 * * *", Updated: now, UpdatedBy: "alice"}))
	// A scheduled run: it claims its scheduled time (job_slot).
	swept, _, err := st.StartLeasedRun(ctx, store.RunRequest{Job: "session-cleanup", Holder: "host:1:abcd", Cause: "schedule", TTL: time.Minute, Now: now, Slot: now.Truncate(time.Minute)})
	must(err)
	must(st.FinishJobRun(ctx, swept, now.Add(time.Second), store.RunSucceeded, "", ""))
	_, err = st.AcquireLease(ctx, "osv-mirror", "host:1:abcd", time.Minute)
	must(err)
	_, _, err = st.RateLimit(ctx, "login-client:0123456789abcdef", now, time.Minute, 5)
	must(err)

	// Feeds: configuration, decisions and tracked packages, caches.
	must(st.CreateFeed(ctx, store.Feed{Name: "npm-proxy", Type: "npm", Upstream: "http://127.0.0.1:1/registry", Sources: []string{"osv", "ossindex"},
		Unassessed: "block", FilterBlocked: true, MetadataTTL: 5 * time.Minute, Description: "Front-end packages"}, now))
	must(st.RecordFeedDecisions(ctx, []store.FeedDecision{
		{Feed: "npm-proxy", PURL: "pkg:npm/left-pad@1.3.0", Effect: "allow", Reasons: "no vulnerabilities", Client: "127.0.0.1", Ecosystem: "npm", Name: "left-pad", Version: "1.3.0", At: now},
		{Feed: "npm-proxy", PURL: "pkg:npm/%40scope/evil@6.6.6", Effect: "block", Reasons: "GHSA-npm-0000 assessed Blocked", Client: "127.0.0.1", Ecosystem: "npm", Name: "@scope/evil", Version: "6.6.6", At: now},
	}))
	// Package approval: one approved, one pending.
	must(st.DecideFeedApprovals(ctx, "npm-proxy", []store.FeedApproval{{PURL: "pkg:npm/left-pad@1.3.0", Ecosystem: "npm", Name: "left-pad", Version: "1.3.0"}},
		store.ApprovalApproved, "alice", "reviewed", now))
	_, err = st.RequestFeedApproval(ctx, store.FeedApproval{Feed: "npm-proxy", PURL: "pkg:npm/is-odd@3.0.1", Ecosystem: "npm", Name: "is-odd", Version: "3.0.1",
		RequestedAt: now, RequestedBy: "127.0.0.1 npm/11"}, 100)
	must(err)
	must(st.PutFeedMetadata(ctx, "npm-proxy", "left-pad", store.FeedMetadata{ContentType: "application/json", ETag: `"x"`, FetchedAt: now, Body: []byte{0, 1, 2, 0xff}}))
	must(st.PutFeedArtifact(ctx, "npm-proxy", "left-pad/-/left-pad-1.3.0.tgz", store.FeedArtifact{SHA256: "ab", Size: 1234, FetchedAt: now}))
	must(st.PutOSSIndex(ctx, []store.OSSIndexComponent{{Coordinate: "pkg:npm/left-pad@1.3.0", FetchedAt: now, VulnIDs: []string{"sonatype-1"}}},
		[]store.OSSIndexVulnerability{{ID: "sonatype-1", FetchedAt: now, Data: []byte(`{"id":"sonatype-1"}`)}}))
}

// addAssessments adds n global assessments (with their history rows).
func addAssessments(t testing.TB, st *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	types := []string{"Ignore", "Caution", "Blocked"}
	for start := 0; start < n; start += 500 {
		var as []store.Assessment
		for i := start; i < min(n, start+500); i++ {
			as = append(as, store.Assessment{VulnID: fmt.Sprintf("CVE-2023-%05d", i), Scope: "global", Type: types[i%3],
				Comment: fmt.Sprintf("assessment %d: reviewed against our usage", i), By: "alice", At: now})
		}
		if err := st.SetAssessments(ctx, as, "set", "alice", now); err != nil {
			t.Fatal(err)
		}
	}
}

func m0() time.Time { return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) }
