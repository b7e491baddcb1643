package assess

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func mirror(t testing.TB, st *store.Store, base string, full bool, ecos ...string) {
	t.Helper()
	m, err := osvmirror.New(st, osvmirror.Options{BaseURL: base, Ecosystems: ecos, TempDir: t.TempDir(), ForceFull: full})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Ecosystems {
		if e.Err != nil {
			t.Fatalf("mirror %s: %v", e.Ecosystem, e.Err)
		}
	}
}

// newService mirrors the corpus's Maven ecosystem into a fresh store.
func newService(t testing.TB) (*Service, *clock) {
	t.Helper()
	st := openStore(t)
	mirror(t, st, "file://"+corpus.Dir(t), false, "Maven")
	c := &clock{t: t0}
	s := New(st)
	s.Now = c.Now
	return s, c
}

func scan(t testing.TB, st *store.Store, purls ...string) []match.ComponentResult {
	t.Helper()
	return scanWith(t, st, nil, purls...)
}

func scanWith(t testing.TB, st *store.Store, extra []match.ComponentSource, purls ...string) []match.ComponentResult {
	t.Helper()
	var comps []match.Component
	for _, p := range purls {
		comps = append(comps, match.Component{Input: p})
	}
	sc := match.NewScanner(st, nil)
	if extra != nil {
		sc.WithSources(true, extra...)
	}
	res, err := sc.Scan(context.Background(), comps)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %v", r.Input, r.Errors)
		}
	}
	return res
}

func findingWith(t testing.TB, r match.ComponentResult, id string) match.Scored {
	t.Helper()
	for _, f := range r.Findings {
		if slices.Contains(f.IDs, id) {
			return f
		}
	}
	t.Fatalf("%s has no finding with %s", r.Input, id)
	return match.Scored{}
}

const (
	nettyPURL = "pkg:maven/io.netty/netty-codec-http@4.1.50.Final" // GHSA-269q-hmxg-m83q + GHSA-5mcr-gq6c-3hq2, CVE-2021-21290
	textPURL  = "pkg:maven/org.apache.commons/commons-text@1.9"    // GHSA-599f-7c49-w659 (CVE-2022-42889), CVSS 9.8
	junitPURL = "pkg:maven/junit/junit@4.12"                       // GHSA-269g-pwp5-87pp (CVE-2020-15250), CVSS 4.4
)

func TestAssessmentOfCVECoversItsGHSA(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	res := scan(t, s.Store(), nettyPURL)
	f := findingWith(t, res[0], "CVE-2021-21290")
	if f.ID != "CVE-2021-21290" || len(f.Records) < 2 || !strings.HasPrefix(f.Records[0].ID, "GHSA-") {
		t.Fatalf("expected a merged group of GHSA records, got %s %v", f.ID, f.IDs)
	}
	if _, err := s.Set(ctx, SetRequest{VulnID: "cve-2021-21290", Type: "blocked", By: "alice", Comment: "RCE in our use"}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Evaluate(ctx, Global, res)
	if err != nil {
		t.Fatal(err)
	}
	d := ds[0]
	if d.Effect != Block || !strings.Contains(d.Message(), "CVE-2021-21290 (Blocked)") {
		t.Fatalf("decision %s", d.Message())
	}
	// The history is found from any ID of the group.
	h, err := s.History(ctx, "GHSA-5mcr-gq6c-3hq2")
	if err != nil || len(h) != 1 || h[0].Action != "set" || h[0].Actor != "alice" || h[0].Assessment.Type != Blocked {
		t.Fatalf("history %+v %v", h, err)
	}
	// Listing by an alias finds the assessment too.
	l, err := s.List(ctx, ListFilter{VulnID: "GHSA-269q-hmxg-m83q"})
	if err != nil || len(l) != 1 || l[0].VulnID != "CVE-2021-21290" {
		t.Fatalf("list %+v %v", l, err)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	cases := []struct {
		req  SetRequest
		want string
	}{
		{SetRequest{VulnID: "CVE-1999-99999", Type: Blocked}, `unknown vulnerability ID "CVE-1999-99999"`},
		{SetRequest{VulnID: "", Type: Blocked}, "no vulnerability ID"},
		{SetRequest{VulnID: "CVE-2022-42889", Type: "Maybe"}, `unknown assessment type "Maybe" (have Blocked, Caution, Ignore)`},
		{SetRequest{VulnID: "CVE-2022-42889", Type: Ignore, Scope: "team:x"}, "invalid scope"},
		{SetRequest{VulnID: "CVE-2022-42889", Type: Ignore, Expires: c.Now().Add(-time.Hour)}, "is not in the future"},
	}
	for _, tc := range cases {
		if _, err := s.Set(ctx, tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.req, err, tc.want)
		}
	}
	// Types: overlap, invalid range, built-in deletion and effect.
	if err := s.CreateType(ctx, Type{Name: "Critical Review", Effect: Warn, Auto: &Range{85, 89}}); err == nil ||
		!strings.Contains(err.Error(), "Caution (7.0-8.9) and Critical Review (8.5-8.9)") {
		t.Errorf("overlap: %v", err)
	}
	if err := s.CreateType(ctx, Type{Name: "Weird", Effect: Warn, Auto: &Range{50, 40}}); err == nil || !strings.Contains(err.Error(), "minimum is above maximum") {
		t.Errorf("inverted: %v", err)
	}
	if err := s.DeleteType(ctx, Ignore); err == nil || !strings.Contains(err.Error(), "built in") {
		t.Errorf("delete built-in: %v", err)
	}
	if err := s.UpdateType(ctx, Type{Name: Blocked, Effect: Allow}); err == nil || !strings.Contains(err.Error(), "cannot be changed") {
		t.Errorf("built-in effect: %v", err)
	}
	// An import with one unknown ID imports nothing.
	_, _, err := s.Import(ctx, []Assessment{
		{VulnID: "CVE-2022-42889", Type: Blocked},
		{VulnID: "CVE-1999-99999", Type: Blocked},
	}, "import")
	if err == nil || !strings.Contains(err.Error(), "statement 2") || !strings.Contains(err.Error(), "CVE-1999-99999") {
		t.Errorf("import: %v", err)
	}
	l, _ := s.List(ctx, ListFilter{IncludeExpired: true})
	h, _ := s.st.AssessmentHistory(ctx, nil)
	types, _ := s.Types(ctx)
	if len(l) != 0 || len(h) != 0 || len(types) != 3 {
		t.Fatalf("something changed: %d assessments, %d history rows, %d types", len(l), len(h), len(types))
	}
	// A custom type that fills the Medium gap is fine, and can be deleted.
	if err := s.CreateType(ctx, Type{Name: "Review", Effect: Warn, Auto: &Range{40, 69}, Expiry: 7 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteType(ctx, "review"); err != nil {
		t.Fatal(err)
	}
}

func TestRecordScanAutoAssessmentAndExpiry(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	res := scan(t, s.Store(), textPURL, junitPURL)
	rep, err := s.RecordScan(ctx, "project:ci", res)
	if err != nil {
		t.Fatal(err)
	}
	if rep.New == 0 || rep.Closed != 0 {
		t.Fatalf("report %+v", rep)
	}
	text := findingWith(t, res[0], "CVE-2022-42889")
	var auto *Assessment
	for i, a := range rep.Auto {
		if a.VulnID == text.ID {
			auto = &rep.Auto[i]
		}
		if a.VulnID == "GHSA-269g-pwp5-87pp" {
			t.Errorf("medium finding auto-assessed: %+v", a)
		}
	}
	if auto == nil || auto.Type != Blocked || auto.Scope != Global || !auto.Expires.Equal(t0.Add(30*24*time.Hour)) || !auto.Auto {
		t.Fatalf("auto-assessment of %s: %+v (all %+v)", text.ID, auto, rep.Auto)
	}
	ds, err := s.Evaluate(ctx, "project:ci", res)
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Effect != Block || ds[1].Effect != Warn {
		t.Fatalf("decisions %q / %q", ds[0].Message(), ds[1].Message())
	}

	// Re-recording the same scan adds nothing and does not re-assess.
	rep2, err := s.RecordScan(ctx, "project:ci", res)
	if err != nil || rep2.New != 0 || rep2.Updated != rep.New || len(rep2.Auto) != 0 {
		t.Fatalf("second record %+v %v", rep2, err)
	}

	// 30 days later the assessment has expired: the package is back to
	// the policy for unassessed vulnerabilities, before any sweep.
	c.Add(30 * 24 * time.Hour)
	if err := s.SetPolicy(ctx, "project:ci", Allow, "bob"); err != nil {
		t.Fatal(err)
	}
	ds, _ = s.Evaluate(ctx, "project:ci", res)
	if ds[0].Effect != Allow || ds[0].Findings[0].Assessment != nil {
		t.Fatalf("after expiry: %q", ds[0].Message())
	}
	ds, _ = s.Evaluate(ctx, Global, res)
	if ds[0].Effect != Warn {
		t.Fatalf("global policy defaults to warn: %q", ds[0].Message())
	}
	swept, err := s.Expire(ctx)
	if err != nil || len(swept) != len(rep.Auto) {
		t.Fatalf("sweep: %d of %d, %v", len(swept), len(rep.Auto), err)
	}
	if again, _ := s.Expire(ctx); len(again) != 0 {
		t.Fatalf("second sweep removed %d", len(again))
	}
	h, err := s.History(ctx, "CVE-2022-42889")
	if err != nil || len(h) != 2 || h[0].Action != "auto" || h[1].Action != "expire" || h[1].Actor != ActorExpiry || h[1].Assessment.Type != Blocked {
		t.Fatalf("history %+v %v", h, err)
	}
	// Re-applying the rules to existing unassessed findings.
	again, err := s.AutoAssessExisting(ctx, "")
	if err != nil || !slices.ContainsFunc(again, func(a Assessment) bool { return a.VulnID == text.ID && a.Type == Blocked }) {
		t.Fatalf("auto --existing: %+v %v", again, err)
	}
	if more, _ := s.AutoAssessExisting(ctx, ""); len(more) != 0 {
		t.Fatalf("second auto --existing assessed %d", len(more))
	}
}

func TestBulkAssessByFilter(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	res := scan(t, s.Store(), textPURL, junitPURL)
	if _, err := s.RecordScan(ctx, "project:ci", res); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBulk(ctx, BulkFilter{}, SetRequest{Type: Ignore}); err == nil {
		t.Error("bulk without filter accepted")
	}
	if _, err := s.SetBulk(ctx, BulkFilter{Package: "no-such"}, SetRequest{Type: Ignore}); err == nil || !strings.Contains(err.Error(), "no recorded open finding") {
		t.Errorf("empty match: %v", err)
	}
	got, err := s.SetBulk(ctx, BulkFilter{Ratings: []string{"medium"}, Ecosystem: "Maven", Package: "junit:junit", Source: "OSV", Scope: "project:ci"},
		SetRequest{Type: Ignore, Scope: "project:ci", Comment: "test-only dependency", By: "carol"})
	if err != nil || len(got) != 1 || got[0].VulnID != "CVE-2020-15250" || got[0].Scope != "project:ci" {
		t.Fatalf("bulk %+v %v", got, err)
	}
	ds, _ := s.Evaluate(ctx, "project:ci", res)
	if ds[1].Effect != Allow {
		t.Fatalf("junit after bulk Ignore: %q", ds[1].Message())
	}
}

// fakeSource reports one record for every package it is asked about.
type fakeSource struct{ vuln *osv.Vulnerability }

func (f fakeSource) Name() string  { return "FAKE" }
func (f fakeSource) Title() string { return "Fake" }
func (f fakeSource) Lookup(_ context.Context, pkgs []purl.Package) ([]match.SourceAnswer, error) {
	out := make([]match.SourceAnswer, len(pkgs))
	for i := range out {
		out[i].Vulns = []*osv.Vulnerability{f.vuln}
	}
	return out, nil
}

func TestLifecycleSourceEndsAndWithdrawnAdvisoryCloses(t *testing.T) {
	dir := corpus.Dir(t)
	s, c := newService(t)
	ctx := context.Background()
	// The FAKE source reports the same CVE as OSV's GHSA record.
	fake := fakeSource{vuln: &osv.Vulnerability{ID: "FAKE-1", Aliases: []string{"CVE-2022-42889"}}}
	res := scanWith(t, s.Store(), []match.ComponentSource{fake}, textPURL)
	f := findingWith(t, res[0], "CVE-2022-42889")
	if strings.Join(f.Sources, ",") != "FAKE,OSV" {
		t.Fatalf("sources %v", f.Sources)
	}
	if _, err := s.RecordScan(ctx, "project:app", res); err != nil {
		t.Fatal(err)
	}
	// The source is disabled: its attribution ends, the finding stays.
	c.Add(time.Hour)
	res = scan(t, s.Store(), textPURL)
	rep, err := s.RecordScan(ctx, "project:app", res)
	if err != nil || rep.Ended != 1 || rep.Closed != 0 {
		t.Fatalf("after disabling FAKE: %+v %v", rep, err)
	}
	got := storedWith(t, s, "project:app", "CVE-2022-42889")
	if len(got.Sources) != 2 || got.Sources[0].Source != "FAKE" || !got.Sources[0].EndedAt.Equal(t0.Add(time.Hour)) || !got.Sources[1].EndedAt.IsZero() {
		t.Fatalf("attribution %+v", got.Sources)
	}

	// The advisory is withdrawn upstream: re-mirror a modified bucket.
	bucket := t.TempDir()
	withdrawInBucket(t, filepath.Join(dir, "Maven", "all.zip"), bucket, f.Records[0].ID)
	mirror(t, s.Store(), "file://"+bucket, true, "Maven")
	c.Add(time.Hour)
	res = scan(t, s.Store(), textPURL)
	if slices.ContainsFunc(res[0].Findings, func(x match.Scored) bool { return x.ID == f.ID }) {
		t.Fatal("withdrawn advisory still matched")
	}
	rep, err = s.RecordScan(ctx, "project:app", res)
	if err != nil || rep.Closed != 1 || rep.Ended != 1 {
		t.Fatalf("after withdrawal: %+v %v", rep, err)
	}
	got = storedWith(t, s, "project:app", "CVE-2022-42889")
	if !got.ClosedAt.Equal(t0.Add(2*time.Hour)) || !got.Sources[1].EndedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("closed finding %+v", got)
	}
	open, _ := s.OpenFindings(ctx, "project:app")
	if slices.ContainsFunc(open, func(x store.StoredFinding) bool { return x.ID == got.ID }) {
		t.Fatal("closed finding still listed as open")
	}
	// An ID that only a recorded finding carries (FAKE-1, as from OSS
	// Index) can be assessed.
	if _, err := s.Set(ctx, SetRequest{VulnID: "FAKE-1", Type: Caution}); err != nil {
		t.Fatal(err)
	}
}

func storedWith(t testing.TB, s *Service, scope, id string) store.StoredFinding {
	t.Helper()
	fs, err := s.Store().Findings(context.Background(), store.FindingFilter{Scope: scope, VulnID: id, IncludeClosed: true})
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings with %s: %+v %v", id, fs, err)
	}
	return fs[0]
}

// withdrawInBucket writes bucket/ecosystems.txt and bucket/Maven/all.zip: a
// copy of src with record id withdrawn (and its modified time bumped).
func withdrawInBucket(t testing.TB, src, bucket, id string) {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if err := os.MkdirAll(filepath.Join(bucket, "Maven"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bucket, "ecosystems.txt"), []byte("Maven\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(bucket, "Maven", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	found := false
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == id+".json" {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			m["withdrawn"] = "2026-12-01T00:00:00Z"
			m["modified"] = "2026-12-01T00:00:00Z"
			data, _ = json.Marshal(m)
			found = true
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if !found {
		t.Fatalf("%s not in %s", id, src)
	}
}
