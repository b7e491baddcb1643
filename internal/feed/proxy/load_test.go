package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/approval"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// setup serves an npm feed with one cached, gated tarball (ansi-html
// 0.0.8, clean; 0.0.7 carries GHSA-whgm-jr23-g3j9, unassessed).
func setup(tb testing.TB) (env *feedtest.Env, tarball, packument string) {
	env = feedtest.New(tb, feedtest.Options{Ecosystems: []string{"npm"}})
	up := feedtest.NewUpstream(tb)
	body := []byte(strings.Repeat("t", 16<<10))
	up.Put("/ansi-html/-/ansi-html-0.0.8.tgz", "application/octet-stream", body)
	vs := map[string]any{}
	for _, v := range []string{"0.0.7", "0.0.8"} {
		vs[v] = map[string]any{"name": "ansi-html", "version": v, "dist": map[string]string{"tarball": up.URL + "/ansi-html/-/ansi-html-" + v + ".tgz"}}
	}
	doc, _ := json.Marshal(map[string]any{"name": "ansi-html", "dist-tags": map[string]string{"latest": "0.0.8"}, "versions": vs})
	up.Put("/ansi-html", "application/json", doc)
	env.AddFeed(tb, store.Feed{Name: "npm", Type: "npm", Upstream: up.URL, FilterBlocked: true})
	tarball = env.URL("npm") + "/ansi-html/-/ansi-html-0.0.8.tgz"
	packument = env.URL("npm") + "/ansi-html"
	for _, u := range []string{tarball, packument} {
		resp, err := http.Get(u)
		if err != nil || resp.StatusCode != 200 {
			tb.Fatalf("warming %s: %v %v", u, err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return env, tarball, packument
}

func client() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
}

func fetch(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d", u, resp.StatusCode)
	}
	return nil
}

// BenchmarkGatedCachedArtifact measures a cached artifact download
// through the gate (decision cached, audit row queued) over loopback.
func BenchmarkGatedCachedArtifact(b *testing.B) {
	_, tarball, _ := setup(b)
	c := client()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := fetch(c, tarball); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGateCheck measures the gate's decision alone (cached).
func BenchmarkGateCheck(b *testing.B) {
	benchCheck(b, "0.0.8", false, func(d *feed.Decision) bool { return d.Effect == "allow" })
}

// BenchmarkGateCheckWarned measures the gate's decision on a version
// with an unassessed vulnerability (a caution, with upgrade advice from
// the advisories, remembered).
func BenchmarkGateCheckWarned(b *testing.B) {
	benchCheck(b, "0.0.7", false, func(d *feed.Decision) bool { return d.Effect == "warn" })
}

// BenchmarkGateCheckWarnedAdvised is BenchmarkGateCheckWarned as a
// download checks it: the advice comes from the packument's versions
// (cached), and is remembered.
func BenchmarkGateCheckWarnedAdvised(b *testing.B) {
	benchCheck(b, "0.0.7", true, func(d *feed.Decision) bool {
		return d.Effect == "warn" && d.Upgrade != nil && d.Upgrade.Version == "0.0.8" && d.Upgrade.From == "published"
	})
}

// benchCheck measures the gate's check of ansi-html at version, with the
// upstream's version list when listed, after a first check that want
// accepts.
func benchCheck(b *testing.B, version string, listed bool, want func(*feed.Decision) bool) {
	env, _, _ := setup(b)
	ctx := context.Background()
	f, _ := env.Store.FeedByName(ctx, "npm")
	pkg, _ := feed.PackageFor(feed.NPM, "ansi-html", version)
	g := env.Proxy.Env().Gate
	var o feed.CheckOptions
	if listed {
		o.Published = func(fetch bool) []string {
			vs, _ := env.Proxy.Env().Published(ctx, f, pkg, fetch)
			return vs
		}
	}
	d, err := g.CheckWith(ctx, f, pkg, "bench", o)
	if err != nil || !want(d) {
		b.Fatalf("ansi-html %s: %+v %v", version, d, err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.CheckWith(ctx, f, pkg, "bench", o); err != nil {
			b.Fatal(err)
		}
	}
}

// latencies runs conc workers requesting u until d passes (bounded) and
// returns the sorted latencies.
func latencies(t testing.TB, c *http.Client, u string, conc int, d time.Duration) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				start := time.Now()
				if err := fetch(c, u); err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return all
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// TestLoopbackLoad is a bounded, self-stopping load test (about 4s). It
// reports the p99 latency the gate adds to a cached artifact download
// (against serving the same cached file without the gate) and the cached
// metadata throughput. It asserts nothing about timing.
func TestLoopbackLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	env, tarball, packument := setup(t)
	// Baseline: the same cached file, served by the same code without the
	// gate, on its own loopback server.
	a, err := env.Proxy.Env().Cache.Artifact(t.Context(), feed.ArtifactRequest{Feed: store.Feed{Name: "npm"}, Key: "tarball/ansi-html/ansi-html-0.0.8.tgz"})
	if err != nil {
		t.Fatal(err)
	}
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { feed.ServeFile(w, r, a) }))
	defer base.Close()
	c := client()
	conc := 2 * runtime.GOMAXPROCS(0)
	// The same file through a feed that requires approval (approved: one
	// more lookup per download).
	npm, err := env.Store.FeedByName(t.Context(), "npm")
	if err != nil {
		t.Fatal(err)
	}
	env.AddFeed(t, store.Feed{Name: "npma", Type: "npm", Upstream: npm.Upstream, FilterBlocked: true, RequireApproval: true})
	if _, err := approval.New(env.Store, env.Proxy.Env().Gate).Approve(t.Context(), "npma", []string{"pkg:npm/ansi-html@0.0.8"}, "load", ""); err != nil {
		t.Fatal(err)
	}
	approved := strings.Replace(tarball, "/feeds/npm/", "/feeds/npma/", 1)
	if err := fetch(c, approved); err != nil {
		t.Fatal(err)
	}
	plain := latencies(t, c, base.URL, conc, time.Second)
	gated := latencies(t, c, tarball, conc, time.Second)
	withApproval := latencies(t, c, approved, conc, time.Second)
	meta := latencies(t, c, packument, conc, 1500*time.Millisecond)
	t.Logf("GOMAXPROCS=%d, %d workers", runtime.GOMAXPROCS(0), conc)
	t.Logf("cached artifact without gate: n=%d p50=%v p99=%v", len(plain), pct(plain, .5), pct(plain, .99))
	t.Logf("cached artifact through gate: n=%d p50=%v p99=%v", len(gated), pct(gated, .5), pct(gated, .99))
	t.Logf("p99 added by the gate: %v", pct(gated, .99)-pct(plain, .99))
	t.Logf("cached artifact through gate, approval feed (approved): n=%d p50=%v p99=%v; p99 added: %v",
		len(withApproval), pct(withApproval, .5), pct(withApproval, .99), pct(withApproval, .99)-pct(plain, .99))
	t.Logf("cached metadata (filtered packument): n=%d in 1.5s = %.0f requests/s, p99=%v", len(meta), float64(len(meta))/1.5, pct(meta, .99))
	// The same three in process, one request at a time (no sockets, less
	// scheduling noise on a shared machine): what the gate's checks cost.
	inPlain := inProcess(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { feed.ServeFile(w, r, a) }), "/x.tgz", 20000)
	inGated := inProcess(t, env.Proxy, "/feeds/npm/ansi-html/-/ansi-html-0.0.8.tgz", 20000)
	inApproval := inProcess(t, env.Proxy, "/feeds/npma/ansi-html/-/ansi-html-0.0.8.tgz", 20000)
	t.Logf("in process, without gate: p50=%v p99=%v", pct(inPlain, .5), pct(inPlain, .99))
	t.Logf("in process, through gate: p50=%v p99=%v; p99 added %v", pct(inGated, .5), pct(inGated, .99), pct(inGated, .99)-pct(inPlain, .99))
	t.Logf("in process, approval feed (approved): p50=%v p99=%v; p99 added %v", pct(inApproval, .5), pct(inApproval, .99), pct(inApproval, .99)-pct(inPlain, .99))
	env.Proxy.Env().Gate.Flush()
	ds, _ := env.Store.FeedDecisions(t.Context(), "npm", 1)
	if len(ds) == 0 {
		t.Error("no audited decisions")
	}
}

// inProcess serves n requests for path through h one at a time and
// returns the sorted latencies.
func inProcess(t testing.TB, h http.Handler, path string, n int) []time.Duration {
	out := make([]time.Duration, 0, n)
	for range n {
		r := httptest.NewRequest("GET", "http://127.0.0.1"+path, nil)
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		out = append(out, time.Since(start))
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	slices.Sort(out)
	return out
}
