package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// Multi-process tests of issue 17 (several instances on one PostgreSQL)
// and issue 12 item 4 (crash restart): "vulngate serve" processes of this
// test binary (startServe), faults injected by killing them.

// configureOSV enables the OSV source with npm from bucket.
func configureOSV(t *testing.T, in *instance, admin call, bucket string) {
	t.Helper()
	if code, _, body := in.do(t, admin, "PUT", "/api/v1/sources/osv", map[string]any{"enabled": true, "base_url": bucket, "ecosystems": []string{"npm"}}); code != 200 {
		t.Fatalf("configure OSV on %s: %d %s", in.name, code, body)
	}
}

// runNow starts a run of job on in and returns it.
func (in *instance) runNow(t *testing.T, c call, job string) runJSON {
	t.Helper()
	code, _, body := in.do(t, c, "POST", "/api/v1/jobs/"+job+"/runs", nil)
	var r runJSON
	if code != 202 || json.Unmarshal(body, &r) != nil {
		t.Fatalf("run %s now on %s: %d %s", job, in.name, code, body)
	}
	return r
}

// serverWithSource starts instance A on a new database with the OSV
// source configured to a stalling bucket (no run yet).
func serverWithSource(t *testing.T) (dsn string, bucket *stallingBucket, a *instance, admin call) {
	t.Helper()
	dsn = pgtest.DSN(t)
	bucket = newStallingBucket(t, lodashBucket(t))
	a = startServe(t, "A", dsn)
	a.waitReady(t)
	admin = login(t, a)
	configureOSV(t, a, admin, bucket.URL)
	return dsn, bucket, a, admin
}

// login logs in as admin on in; the session works on every instance.
func login(t *testing.T, in *instance) call {
	t.Helper()
	code, hdr, body := in.do(t, call{}, "POST", "/api/v1/session", map[string]string{"username": "admin", "password": multiAdminPassword})
	if code != 200 {
		t.Fatalf("login on %s: %d %s", in.name, code, body)
	}
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Value != "" {
			return call{cookie: c}
		}
	}
	t.Fatalf("no session cookie from %s", in.name)
	return call{}
}

type jobJSON struct {
	Name       string `json:"name"`
	Cron       string `json:"cron"`
	NextRun    string `json:"next_run"`
	RunningRun int64  `json:"running_run"`
	LastRun    *struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Cause  string `json:"cause"`
		Error  string `json:"error"`
	} `json:"last_run"`
}

func (in *instance) job(t *testing.T, c call, name string) jobJSON {
	t.Helper()
	code, _, body := in.do(t, c, "GET", "/api/v1/jobs/"+name, nil)
	var j jobJSON
	if code != 200 || json.Unmarshal(body, &j) != nil {
		t.Fatalf("job %s on %s: %d %s", name, in.name, code, body)
	}
	return j
}

type runJSON struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Cause  string `json:"cause"`
	Error  string `json:"error"`
	Log    string `json:"log"`
}

func (in *instance) runs(t *testing.T, c call, job string) []runJSON {
	t.Helper()
	code, _, body := in.do(t, c, "GET", "/api/v1/jobs/"+job+"/runs", nil)
	var rs []runJSON
	if code != 200 || json.Unmarshal(body, &rs) != nil {
		t.Fatalf("runs of %s on %s: %d %s", job, in.name, code, body)
	}
	return rs
}

// waitRun waits until run id of job is no longer running and returns it.
func (in *instance) waitRun(t *testing.T, c call, job string, id int64) runJSON {
	t.Helper()
	var r runJSON
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		code, _, body := in.do(t, c, "GET", fmt.Sprintf("/api/v1/jobs/%s/runs/%d", job, id), nil)
		if code == 200 && json.Unmarshal(body, &r) == nil && r.Status != store.RunRunning {
			return r
		}
	}
	t.Fatalf("run %d of %s on %s never finished: %+v", id, job, in.name, r)
	return r
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never happened within %s: %s", limit, what)
}

func (in *instance) logText(t *testing.T) string {
	t.Helper()
	b, _ := os.ReadFile(in.log)
	return string(b)
}

// TestScheduleFollowedByEveryInstance (issue 17 item 1): a schedule
// changed, then disabled, on B is followed by A and C, also after B is
// gone.
func TestScheduleFollowedByEveryInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	dsn := pgtest.DSN(t)
	a, b, c := startServe(t, "A", dsn), startServe(t, "B", dsn), startServe(t, "C", dsn)
	for _, in := range []*instance{a, b, c} {
		in.waitReady(t)
	}
	admin := login(t, a)
	if code, _, body := b.do(t, admin, "PUT", "/api/v1/jobs/osv-mirror", map[string]string{"cron": "*/2 * * * *"}); code != 200 {
		t.Fatalf("schedule on B: %d %s", code, body)
	}
	for _, in := range []*instance{a, c} {
		waitFor(t, in.name+" follows B's schedule", 30*time.Second, func() bool {
			j := in.job(t, admin, "osv-mirror")
			return j.Cron == "*/2 * * * *" && j.NextRun != ""
		})
	}
	if code, _, body := b.do(t, admin, "PUT", "/api/v1/jobs/osv-mirror", map[string]string{"cron": ""}); code != 200 {
		t.Fatalf("disable on B: %d %s", code, body)
	}
	b.cmd.Process.Kill()
	for _, in := range []*instance{a, c} {
		waitFor(t, in.name+" follows B disabling the schedule", 30*time.Second, func() bool {
			j := in.job(t, admin, "osv-mirror")
			return j.Cron == "" && j.NextRun == ""
		})
	}
}

// TestRunNowConflictNamesTheRun (item 5): "run now" on two instances at
// once, several times over: one 202, and every 409 names that run, which
// can be fetched; an instance starting while the job runs says in its log
// that its start-up run is skipped for that run. Every instance reports
// the run in progress (item 3).
func TestRunNowConflictNamesTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	dsn := pgtest.DSN(t)
	bucket := newStallingBucket(t, lodashBucket(t))
	a, c := startServe(t, "A", dsn), startServe(t, "C", dsn)
	a.waitReady(t)
	c.waitReady(t)
	admin := login(t, a)
	configureOSV(t, a, admin, bucket.URL)
	var running int64
	for round := range 3 {
		var mu sync.Mutex
		var won []int64
		var refusals []string
		var wg sync.WaitGroup
		for i := range 6 {
			in := a
			if i%2 == 1 {
				in = c
			}
			wg.Go(func() {
				code, hdr, body := in.do(t, admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil)
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case 202:
					var r runJSON
					json.Unmarshal(body, &r)
					won = append(won, r.ID)
				case 409:
					refusals = append(refusals, hdr.Get("Location")+" "+string(body))
				default:
					t.Errorf("run now on %s: %d %s", in.name, code, body)
				}
			})
		}
		wg.Wait()
		if round == 0 {
			if len(won) != 1 {
				t.Fatalf("round %d: %d runs started (%v); refusals %q", round, len(won), won, refusals)
			}
			running = won[0]
		} else if len(won) != 0 {
			t.Fatalf("round %d: runs started while run %d runs: %v", round, running, won)
		}
		for _, r := range refusals {
			if !strings.Contains(r, fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d ", running)) || !strings.Contains(r, fmt.Sprintf("run %d)", running)) {
				t.Fatalf("round %d: a 409 does not name run %d: %s", round, running, r)
			}
		}
	}
	if code, _, body := c.do(t, admin, "GET", fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d", running), nil); code != 200 {
		t.Fatalf("the run a 409 names: %d %s", code, body)
	}
	d := startServe(t, "D", dsn)
	d.waitReady(t)
	waitFor(t, "D logs its skipped start-up run", 10*time.Second, func() bool {
		return strings.Contains(d.logText(t), "start-up run skipped") && strings.Contains(d.logText(t), fmt.Sprintf("run %d)", running))
	})
	for _, in := range []*instance{a, c, d} {
		if j := in.job(t, admin, "osv-mirror"); j.RunningRun != running || j.LastRun == nil || j.LastRun.ID != running {
			t.Fatalf("%s while run %d runs: %+v", in.name, running, j)
		}
	}
	// The run's log streams from every instance: live from the one
	// running it, as saved from the others.
	streams := make(chan string, 2)
	for _, in := range []*instance{a, c} {
		go func() {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/jobs/osv-mirror/runs/%d/log", in.url, running), nil)
			req.AddCookie(admin.cookie)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				streams <- in.name + ": " + err.Error()
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			streams <- in.name + ": " + string(b)
		}()
	}
	time.Sleep(500 * time.Millisecond) // both streams are open before the run ends
	bucket.Release()
	if r := c.waitRun(t, admin, "osv-mirror", running); r.Status != store.RunSucceeded {
		t.Fatalf("run %d: %+v", running, r)
	}
	for range 2 {
		select {
		case s := <-streams:
			if !strings.Contains(s, "run finished") || !strings.Contains(s, "event: end\ndata: succeeded") {
				t.Fatalf("log stream: %s", s)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a log stream did not end with the run")
		}
	}
}

// TestInstancesAgreeOnLastRun (item 3): a run on A, then one on C that
// fails: both report C's failed run as the last, A included (it used to
// prefer the run it remembered).
func TestInstancesAgreeOnLastRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two server processes")
	}
	dsn := pgtest.DSN(t)
	bucket := newStallingBucket(t, lodashBucket(t))
	bucket.Release()
	a, c := startServe(t, "A", dsn), startServe(t, "C", dsn)
	a.waitReady(t)
	c.waitReady(t)
	admin := login(t, a)
	configureOSV(t, a, admin, bucket.URL)
	first := a.runNow(t, admin, "osv-mirror")
	if r := a.waitRun(t, admin, "osv-mirror", first.ID); r.Status != store.RunSucceeded {
		t.Fatalf("run on A: %+v", r)
	}
	bucket.Close() // the source is gone: the next run fails
	second := c.runNow(t, admin, "osv-mirror")
	if r := c.waitRun(t, admin, "osv-mirror", second.ID); r.Status != store.RunFailed {
		t.Fatalf("run on C without a source: %+v", r)
	}
	for _, in := range []*instance{a, c} {
		if j := in.job(t, admin, "osv-mirror"); j.RunningRun != 0 || j.LastRun == nil || j.LastRun.ID != second.ID || j.LastRun.Status != store.RunFailed {
			t.Fatalf("%s's last run: %+v; want run %d failed", in.name, j, second.ID)
		}
	}
}

// TestCLIMirrorTakesTheJobLease (item 6): "vulngate mirror" on the store
// of a server whose mirror is running stops with a message naming the
// run; with --wait it waits for it, then runs, recorded in the job's
// history.
func TestCLIMirrorTakesTheJobLease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dsn, bucket, a, admin := serverWithSource(t)
	srvRun := a.runNow(t, admin, "osv-mirror")
	mirror := []string{"--database-url", dsn, "--data-dir", t.TempDir(), "--log-level", "warn", "mirror", "--base-url", bucket.URL, "--ecosystems", "npm"}
	_, errOut, err := run(t, mirror...)
	var exit ExitError
	if !errors.As(err, &exit) || exit.Code != 2 || !strings.Contains(err.Error(), fmt.Sprintf("run %d", srvRun.ID)) || !strings.Contains(err.Error(), "--wait") {
		t.Fatalf("mirror beside the server's: %v %s", err, errOut)
	}
	done := make(chan error, 1)
	var outBuf, errBuf syncBuffer
	go func() {
		done <- Execute(append(mirror, "--wait", "2m"), strings.NewReader(""), &outBuf, &errBuf)
	}()
	waitFor(t, "the command says it waits", 30*time.Second, func() bool {
		return strings.Contains(errBuf.String(), "waiting up to 2m0s")
	})
	if rs := a.runs(t, admin, "osv-mirror"); len(rs) != 1 {
		t.Fatalf("the waiting command started a run: %+v", rs)
	}
	bucket.Release()
	out, waitErr := outBuf.String(), errBuf.String()
	if err := <-done; err != nil {
		t.Fatalf("mirror --wait: %v\n%s\n%s", err, out, waitErr)
	}
	out, waitErr = outBuf.String(), errBuf.String()
	if !strings.Contains(waitErr, fmt.Sprintf("run %d", srvRun.ID)) || !strings.Contains(out, "npm") {
		t.Fatalf("mirror --wait output:\n%s\n%s", out, waitErr)
	}
	rs := a.runs(t, admin, "osv-mirror")
	if len(rs) != 2 || rs[1].ID != srvRun.ID || rs[1].Status != store.RunSucceeded || !strings.HasPrefix(rs[0].Cause, "cli:") || rs[0].Status != store.RunSucceeded {
		t.Fatalf("runs: %+v", rs)
	}
}

// TestCrashRestartRunsStartupMirror (issue 12 item 4): the instance
// running the start-up mirror is killed (SIGKILL) and restarted within
// the lease's TTL. The new process recovers the lease of the dead one at
// once, records the killed run as interrupted with that cause, and makes
// its start-up run.
func TestCrashRestartRunsStartupMirror(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dsn, bucket, a, admin := serverWithSource(t)
	a.cmd.Process.Signal(syscall.SIGTERM)
	a.cmd.Wait()
	a = startServe(t, "A1", dsn) // its start-up mirror stalls on the bucket
	a.waitReady(t)
	var killed int64
	waitFor(t, "A1's start-up mirror runs", 30*time.Second, func() bool {
		j := a.job(t, admin, "osv-mirror")
		killed = j.RunningRun
		return killed != 0 && bucket.npmHits.Load() > 0
	})
	st := pgStore(t, dsn)
	waitFor(t, "the run's log is saved while it runs", 30*time.Second, func() bool {
		r, err := st.JobRun(context.Background(), "osv-mirror", killed)
		return err == nil && strings.Contains(r.Log, "run started")
	})
	a.cmd.Process.Kill()
	a.cmd.Wait()
	restarted := time.Now()
	a2 := startServe(t, "A2", dsn)
	a2.waitReady(t)
	var j jobJSON
	waitFor(t, "A2's start-up run", 10*time.Second, func() bool {
		j = a2.job(t, admin, "osv-mirror")
		return j.RunningRun != 0 && j.RunningRun != killed
	})
	if time.Since(restarted) >= 30*time.Second {
		t.Fatalf("the start-up run waited for the lease to expire")
	}
	bucket.Release()
	if r := a2.waitRun(t, admin, "osv-mirror", j.RunningRun); r.Status != store.RunSucceeded || r.Cause != "startup" {
		t.Fatalf("A2's start-up run: %+v", r)
	}
	code, _, body := a2.do(t, admin, "GET", fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d", killed), nil)
	var r runJSON
	json.Unmarshal(body, &r)
	if code != 200 || r.Status != store.RunInterrupted || !strings.Contains(r.Error, "is gone") || !strings.Contains(r.Log, "run started") {
		t.Fatalf("the killed run: %d %+v", code, r)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSharedCacheAcrossInstances (item 8): two instances with one
// --cache-dir: a file downloaded through A is served by B from the shared
// cache, without asking the upstream again or warning about a missing
// file; concurrent first downloads through both get the whole file.
func TestSharedCacheAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two server processes")
	}
	dsn := pgtest.DSN(t)
	up := feedtest.NewUpstream(t)
	tgz := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	var doc strings.Builder
	doc.WriteString(`{"name":"demo","dist-tags":{"latest":"1.0.9"},"versions":{`)
	for i := range 10 {
		path := fmt.Sprintf("/demo/-/demo-1.0.%d.tgz", i)
		up.Put(path, "application/octet-stream", append([]byte(fmt.Sprint(i)), tgz...))
		if i > 0 {
			doc.WriteString(",")
		}
		fmt.Fprintf(&doc, `"1.0.%d":{"name":"demo","version":"1.0.%d","dist":{"tarball":%q}}`, i, i, up.URL+path)
	}
	doc.WriteString("}}")
	up.Put("/demo", "application/json", []byte(doc.String()))
	if _, errOut, err := run(t, "--database-url", dsn, "--data-dir", t.TempDir(), "feed", "create", "npm", "--type", "npm", "--upstream", up.URL, "--unassessed", "allow"); err != nil {
		t.Fatalf("feed create: %v %s", err, errOut)
	}
	shared := t.TempDir()
	a, b := startServe(t, "A", dsn, "--cache-dir", shared), startServe(t, "B", dsn, "--cache-dir", shared)
	a.waitReady(t)
	b.waitReady(t)
	get := func(in *instance, v int) {
		code, _, body := in.do(t, call{}, "GET", fmt.Sprintf("/feeds/npm/demo/-/demo-1.0.%d.tgz", v), nil)
		if code != 200 || !bytes.Equal(body, append([]byte(fmt.Sprint(v)), tgz...)) {
			t.Errorf("version %d through %s: %d, %d bytes", v, in.name, code, len(body))
		}
	}
	get(a, 0)
	get(b, 0)
	if n := up.HitCount("/demo/-/demo-1.0.0.tgz"); n != 1 {
		t.Fatalf("the upstream was asked %d times for a file A had cached", n)
	}
	var wg sync.WaitGroup
	for v := 1; v < 10; v++ {
		for _, in := range []*instance{a, b, a, b} {
			wg.Go(func() { get(in, v) })
		}
	}
	wg.Wait()
	for _, in := range []*instance{a, b} {
		if strings.Contains(in.logText(t), "missing or truncated") {
			t.Fatalf("%s warned about a missing cached file", in.name)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(shared, "tmp")); len(left) != 0 {
		t.Fatalf("left in the shared cache's tmp: %v", left)
	}
}
