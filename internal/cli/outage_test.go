package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// Multi-process tests of faults: the database restarting under "vulngate
// serve" processes, and an instance killed while it runs a job.

// envDuration reads a duration for tests that can be run longer by hand
// (to measure), with a short default for CI.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("$%s: %v", name, err)
		}
		return d
	}
	return def
}

// pgStore opens the store of dsn, closed when the test ends.
func pgStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestRunOutcomeSurvivesDatabaseRestart (issue 17 item 2): PostgreSQL
// restarts in the middle of a mirror import. Once it is back the run is
// recorded as failed with the database as the cause and its log, and the
// rows the import had written are already gone.
func TestRunOutcomeSurvivesDatabaseRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a large synthetic bucket in a server process")
	}
	dsn := pgtest.DSN(t)
	bucket := t.TempDir()
	writeSyntheticBucket(t, bucket, 60000, "2024-06-01T00:00:00Z")
	a := startServe(t, "A", dsn)
	a.waitReady(t)
	admin := login(t, a)
	if code, _, body := a.do(t, admin, "PUT", "/api/v1/sources/osv", map[string]any{"enabled": true, "base_url": "file://" + bucket, "ecosystems": []string{"PyPI"}}); code != 200 {
		t.Fatalf("configure OSV: %d %s", code, body)
	}
	st := pgStore(t, dsn)
	partial := func() int {
		var n int
		st.DB().QueryRow(`SELECT COUNT(*) FROM advisory a WHERE NOT EXISTS (SELECT 1 FROM partition_state p WHERE p.name = a.part AND p.generation = a.generation)`).Scan(&n)
		return n
	}
	run := a.runNow(t, admin, "osv-mirror")
	waitFor(t, "the import writes rows", 60*time.Second, func() bool { return partial() >= 4000 })
	pgtest.Restart(t, 2*time.Second)
	r := a.waitRun(t, admin, "osv-mirror", run.ID)
	left := partial()
	if r.Status != store.RunFailed || !strings.HasPrefix(r.Error, "the database became unavailable during the run") {
		t.Fatalf("run after the restart: %s: %s", r.Status, r.Error)
	}
	if !strings.Contains(r.Log, "run started") || !strings.Contains(r.Log, "import started") || !strings.Contains(r.Log, "run failed") {
		t.Fatalf("run's log after the restart:\n%s", r.Log)
	}
	if left != 0 {
		t.Fatalf("%d rows of the failed import left behind", left)
	}
}

// TestKilledInstanceTakenOver: the instance running the mirror is killed
// (SIGKILL). Once its lease expires another instance marks the run
// interrupted, saying why, and runs the job to the end by itself. The
// lease TTL is short here (--job-lease-ttl); set
// $VULNGATE_TEST_LEASE_TTL=30s and $VULNGATE_TEST_POLL=5s to measure the
// defaults.
func TestKilledInstanceTakenOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	ttl := envDuration(t, "VULNGATE_TEST_LEASE_TTL", 2*time.Second)
	poll := envDuration(t, "VULNGATE_TEST_POLL", 500*time.Millisecond)
	flags := []string{"--job-lease-ttl", ttl.String(), "--job-poll-interval", poll.String()}
	dsn := pgtest.DSN(t)
	bucket := newStallingBucket(t, lodashBucket(t))
	a, b := startServe(t, "A", dsn, flags...), startServe(t, "B", dsn, flags...)
	a.waitReady(t)
	b.waitReady(t)
	admin := login(t, a)
	configureOSV(t, a, admin, bucket.URL)
	first := a.runNow(t, admin, "osv-mirror")
	waitFor(t, "A's run reaches the bucket", 30*time.Second, func() bool { return bucket.npmHits.Load() > 0 })
	a.cmd.Process.Kill()
	killed := time.Now()
	bucket.Release()
	var done runJSON
	waitFor(t, "B takes the run over and finishes it", ttl+60*time.Second, func() bool {
		rs := b.runs(t, admin, "osv-mirror")
		if len(rs) < 2 || rs[0].Status == store.RunRunning {
			return false
		}
		done = rs[0]
		return true
	})
	took := time.Since(killed)
	t.Logf("kill -9 of the instance running the mirror -> another instance finished the run: %s (lease TTL %s, poll %s)", took.Round(100*time.Millisecond), ttl, poll)
	if done.Status != store.RunSucceeded || done.Cause != fmt.Sprint("takeover:", first.ID) {
		t.Fatalf("B's run: %+v", done)
	}
	code, _, body := b.do(t, admin, "GET", fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d", first.ID), nil)
	var r runJSON
	json.Unmarshal(body, &r)
	if code != 200 || r.Status != store.RunInterrupted || !strings.Contains(r.Error, "stopped renewing the job's lease") {
		t.Fatalf("the killed run: %d %+v", code, r)
	}
}

// TestOutageAsClientsSeeIt (issue 17 item 4): PostgreSQL stops for a
// while ($VULNGATE_TEST_OUTAGE, default 3s; the closing note reports
// 20s) under a server with two npm feeds, one buffering its audit and one
// requiring it. Clients keep asking each route class and the answers are
// tallied. Nothing answers 500 or text/plain 5xx: the API answers 503
// problem+json with Retry-After, pages a 503 error page with Retry-After,
// downloads with a known decision are served by the buffering feed and
// refused with 503 problem+json by the other. Once the database is back
// every download served during the outage has its audit row.
func TestOutageAsClientsSeeIt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	outage := envDuration(t, "VULNGATE_TEST_OUTAGE", 3*time.Second)
	dsn := pgtest.DSN(t)
	up := feedtest.NewUpstream(t)
	tgz := []byte("a tarball")
	up.Put("/demo/-/demo-1.0.0.tgz", "application/octet-stream", tgz)
	up.Put("/demo", "application/json", fmt.Appendf(nil, `{"name":"demo","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"demo","version":"1.0.0","dist":{"tarball":%q}}}}`, up.URL+"/demo/-/demo-1.0.0.tgz"))
	for _, f := range [][]string{{"npm"}, {"npm-strict", "--audit-required"}} {
		args := append([]string{"--database-url", dsn, "--data-dir", t.TempDir(), "feed", "create", f[0], "--type", "npm", "--upstream", up.URL, "--unassessed", "allow"}, f[1:]...)
		if _, errOut, err := run(t, args...); err != nil {
			t.Fatalf("feed create %s: %v %s", f[0], err, errOut)
		}
	}
	a := startServe(t, "A", dsn)
	a.waitReady(t)
	admin := login(t, a)
	classes := []struct{ class, path string }{
		{"API", "/api/v1/jobs"},
		{"UI", "/admin/jobs"},
		{"feed download (buffered audit)", "/feeds/npm/demo/-/demo-1.0.0.tgz"},
		{"feed download (audit required)", "/feeds/npm-strict/demo/-/demo-1.0.0.tgz"},
		{"feed metadata", "/feeds/npm/demo"},
	}
	for _, c := range classes {
		if code, _, body := a.do(t, admin, "GET", c.path, nil); code != 200 {
			t.Fatalf("%s before the outage: %d %s", c.path, code, body)
		}
	}
	st := pgStore(t, dsn)
	audited := func() int {
		var n int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM feed_decision WHERE feed = 'npm'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, "the warm-up download is audited", 10*time.Second, func() bool { return audited() == 1 })

	type key struct {
		class, answer string
	}
	tally := map[key]int{}
	served := 0
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range classes {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", a.url+c.path, nil)
				req.AddCookie(admin.cookie)
				res, err := http.DefaultClient.Do(req)
				answer := ""
				if err != nil {
					answer = "error: " + err.Error()
				} else {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					answer = fmt.Sprintf("%d %s", res.StatusCode, strings.Split(res.Header.Get("Content-Type"), ";")[0])
					if res.Header.Get("Retry-After") != "" {
						answer += " Retry-After"
					}
				}
				mu.Lock()
				tally[key{c.class, answer}]++
				if c.path == classes[2].path && res != nil && res.StatusCode == 200 {
					served++
				}
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	pgtest.Pause(t)
	time.Sleep(outage)
	pgtest.Resume(t)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	var keys []key
	for k := range tally {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].class < keys[j].class || keys[i].class == keys[j].class && keys[i].answer < keys[j].answer
	})
	var report strings.Builder
	fmt.Fprintf(&report, "answers during a %s database outage (and 2s around it), per route class:\n", outage)
	for _, k := range keys {
		fmt.Fprintf(&report, "  %-32s %-45s x%d\n", k.class, k.answer, tally[k])
	}
	t.Log(report.String())
	want := map[string][]string{
		"API":                            {"200 application/json", "503 application/problem+json Retry-After"},
		"UI":                             {"200 text/html", "503 text/html Retry-After"},
		"feed download (buffered audit)": {"200 application/octet-stream"},
		"feed download (audit required)": {"200 application/octet-stream", "503 application/problem+json Retry-After"},
		"feed metadata":                  {"200 application/json"},
	}
	for _, k := range keys {
		ok := false
		for _, w := range want[k.class] {
			ok = ok || k.answer == w
		}
		if !ok {
			t.Errorf("%s answered %q %d times during the outage", k.class, k.answer, tally[k])
		}
	}
	for _, k := range []key{{"API", want["API"][1]}, {"UI", want["UI"][1]}, {"feed download (audit required)", want["feed download (audit required)"][1]}} {
		if tally[k] == 0 {
			t.Errorf("%s never answered %q: was the database down?", k.class, k.answer)
		}
	}
	waitFor(t, "every download served is audited", 30*time.Second, func() bool { return audited() == 1+served })
}
