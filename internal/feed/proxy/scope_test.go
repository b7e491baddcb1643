package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/store"
)

// TestFeedWorkStaysInScope (issue 12 item 1): anonymous requests for
// files the upstream does not have leave nothing behind (no findings,
// auto-assessments, tracked packages or audit rows, whether the version
// would be allowed or refused), and what a real download auto-assesses is
// recorded in the feed's scope only, so that it never changes a project's
// decision.
func TestFeedWorkStaysInScope(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"PyPI", "npm"}})
	ctx := t.Context()
	up := feedtest.NewUpstream(t)
	env.AddFeed(t, store.Feed{Name: "pypi", Type: "pypi", Upstream: up.URL + "/simple", Unassessed: "allow"})
	env.AddFeed(t, store.Feed{Name: "npm", Type: "npm", Upstream: up.URL, Unassessed: "allow"})
	get := func(url string) int {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}

	// vantage6 4.0.0 carries PYSEC-2024-31 (CVSS 3.7), PYSEC-2023-196 (7.2)
	// and PYSEC-2024-30 (8.8); the upstream does not have it (yet).
	const vantage = "/files/vantage6/vantage6-4.0.0.tar.gz"
	if code := get(env.URL("pypi") + vantage); code != http.StatusNotFound {
		t.Fatalf("file the upstream does not have: %d, want 404", code)
	}
	for i := range 100 {
		if code := get(fmt.Sprintf("%s/nopkg-%d/-/nopkg-%d-1.0.0.tgz", env.URL("npm"), i, i)); code != http.StatusNotFound {
			t.Fatalf("made-up npm tarball: %d, want 404", code)
		}
	}
	// Known malware the upstream does not have: not found, not refused.
	if code := get(env.URL("npm") + "/@lottiefiles/lottie-player/-/lottie-player-2.0.7.tgz"); code != http.StatusNotFound {
		t.Fatalf("malware the upstream does not have: %d, want 404", code)
	}
	env.Proxy.Env().Gate.Flush()
	as, err := env.Store.Assessments(ctx, store.AssessmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := env.Store.Findings(ctx, store.FindingFilter{IncludeClosed: true})
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := env.Store.FeedPackages(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := env.Store.FeedDecisions(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(as)+len(fs)+len(pkgs)+len(ds) != 0 {
		t.Fatalf("requests for files the upstream does not have left %d assessments, %d findings, %d tracked packages, %d audit rows", len(as), len(fs), len(pkgs), len(ds))
	}

	// Now the upstream has it: the download is recorded, and its
	// auto-assessments stay in scope feed:pypi.
	up.Put("/simple/vantage6/", "text/html", []byte(`<a href="../../packages/vantage6-4.0.0.tar.gz">vantage6-4.0.0.tar.gz</a>`))
	up.Put("/packages/vantage6-4.0.0.tar.gz", "application/octet-stream", []byte("sdist"))
	env.Proxy.Forget("pypi") // the 404 above is remembered for a minute
	if code := get(env.URL("pypi") + vantage); code != http.StatusOK {
		t.Fatalf("download: %d", code)
	}
	env.Proxy.Env().Gate.Flush()
	as, err = env.Store.Assessments(ctx, store.AssessmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) < 3 {
		t.Fatalf("auto-assessments after a real download: %+v", as)
	}
	for _, a := range as {
		if a.Scope != "feed:pypi" || !a.Auto {
			t.Errorf("feed download recorded %s %s in scope %s (auto %v), want feed:pypi", a.VulnID, a.Type, a.Scope, a.Auto)
		}
	}
	if pkgs, _ := env.Store.FeedPackages(ctx, "pypi"); len(pkgs) != 1 {
		t.Errorf("tracked packages: %+v", pkgs)
	}

	// A project's decision for the same package is untouched: its
	// findings are unassessed there.
	res, err := match.NewScanner(env.Store, nil).Scan(ctx, []match.Component{{Input: "pkg:pypi/vantage6@4.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := env.Assessments.Evaluate(ctx, "project:web", res)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range dec[0].Findings {
		if v.Assessment != nil {
			t.Errorf("project:web sees %s assessed %s (scope %s) by a feed download", v.Finding.ID, v.Assessment.Type, v.Assessment.Scope)
		}
	}
	if dec[0].Effect != assess.Warn {
		t.Errorf("project:web decision %s, want warn (unassessed)", dec[0].Message())
	}
}

// TestTrackedPackagesBounded: a feed tracks at most MaxTracked packages,
// the most recently downloaded.
func TestTrackedPackagesBounded(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"npm"}, Proxy: proxy.Options{Gate: feed.GateOptions{MaxTracked: 2, Now: now}}})
	up := feedtest.NewUpstream(t)
	env.AddFeed(t, store.Feed{Name: "npm", Type: "npm", Upstream: up.URL, Unassessed: "allow"})
	for i := range 4 {
		p := fmt.Sprintf("/pkg%d/-/pkg%d-1.0.0.tgz", i, i)
		up.Put(p, "application/octet-stream", []byte("tgz"))
		res, err := http.Get(env.URL("npm") + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %s", p, res.Status)
		}
		env.Proxy.Env().Gate.Flush()
		offset.Add(int64(2 * time.Minute))
	}
	pkgs, err := env.Store.FeedPackages(t.Context(), "npm")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || pkgs[0].PURL != "pkg:npm/pkg2@1.0.0" || pkgs[1].PURL != "pkg:npm/pkg3@1.0.0" {
		t.Fatalf("tracked %+v, want pkg2 and pkg3", pkgs)
	}
}
