package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

const multiAdminPassword = "multi-instance-admin-pw"

// instance is a "vulngate serve" process of this test binary.
type instance struct {
	name string
	url  string
	cmd  *exec.Cmd
	log  string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe starts "vulngate serve" on dsn, with extra flags of serve,
// and returns at once (see waitReady); it is stopped with SIGTERM when the
// test ends.
func startServe(t *testing.T, name, dsn string, extra ...string) *instance {
	t.Helper()
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--data-dir", t.TempDir(), "--log-format", "json", "serve", "--addr", addr, "--shutdown-timeout", "5s"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VULNGATE_TEST_AS_CLI=1", DatabaseURLEnv+"="+dsn, "VULNGATE_ADMIN_PASSWORD="+multiAdminPassword)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, url: "http://" + addr, cmd: cmd, log: logPath}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of instance %s:\n%s", name, b)
		}
	})
	return in
}

func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if in.cmd.ProcessState != nil {
			break
		}
		res, err := http.Get(in.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
	}
	b, _ := os.ReadFile(in.log)
	t.Fatalf("instance %s never became ready:\n%s", in.name, b)
}

type call struct {
	cookie *http.Cookie
	key    string
}

func (in *instance) do(t *testing.T, c call, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, in.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, in.name, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// stallingBucket serves an OSV bucket whose npm files wait while stalled.
type stallingBucket struct {
	*httptest.Server
	stalled atomic.Bool
	release chan struct{}
	once    sync.Once
	npmHits atomic.Int64
}

func newStallingBucket(t *testing.T, dir string) *stallingBucket {
	b := &stallingBucket{release: make(chan struct{})}
	b.stalled.Store(true)
	files := http.FileServer(http.Dir(dir))
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/npm/") {
			b.npmHits.Add(1)
			if b.stalled.Load() {
				select {
				case <-b.release:
				case <-r.Context().Done():
					return
				}
			}
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { b.Release(); b.Close() })
	return b
}

func (b *stallingBucket) Release() {
	b.once.Do(func() { b.stalled.Store(false); close(b.release) })
}

// TestTwoInstancesOnePostgres runs two "vulngate serve" processes against
// one PostgreSQL database: both start together (one creates the admin),
// a session and an API key made on A work on B, the mirror job triggered
// on both at once runs once, and an assessment made on A decides B's
// package API and B's feed download.
func TestTwoInstancesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two server processes")
	}
	dsn := pgtest.DSN(t)
	bucket := newStallingBucket(t, lodashBucket(t))
	up := feedtest.NewUpstream(t)
	tgz := []byte("not really a tarball, but bytes to proxy")
	up.Put("/lodash/-/lodash-4.17.20.tgz", "application/octet-stream", tgz)
	doc := fmt.Sprintf(`{"name":"lodash","dist-tags":{"latest":"4.17.20"},"versions":{"4.17.20":{"name":"lodash","version":"4.17.20","dist":{"tarball":%q}}}}`, up.URL+"/lodash/-/lodash-4.17.20.tgz")
	up.Put("/lodash", "application/json", []byte(doc))

	// Both start at once on an empty database.
	a, b := startServe(t, "A", dsn), startServe(t, "B", dsn)
	a.waitReady(t)
	b.waitReady(t)

	// A session made by logging in on A is good on B.
	code, hdr, body := a.do(t, call{}, "POST", "/api/v1/session", map[string]string{"username": "admin", "password": multiAdminPassword})
	if code != 200 {
		t.Fatalf("login on A: %d %s", code, body)
	}
	var sess *http.Cookie
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Value != "" {
			sess = c
		}
	}
	if sess == nil {
		t.Fatalf("no session cookie from A: %v", hdr)
	}
	code, _, body = b.do(t, call{cookie: sess}, "GET", "/api/v1/me", nil)
	var me struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	json.Unmarshal(body, &me)
	if code != 200 || me.Username != "admin" {
		t.Fatalf("A's session on B: %d %s", code, body)
	}
	// An API key created on A works on B.
	code, _, body = a.do(t, call{cookie: sess}, "POST", fmt.Sprintf("/api/v1/users/%d/keys", me.ID), map[string]string{"name": "ci"})
	var key struct {
		Key string `json:"key"`
	}
	json.Unmarshal(body, &key)
	if code != 201 || key.Key == "" {
		t.Fatalf("key on A: %d %s", code, body)
	}
	admin := call{key: key.Key}
	if code, _, body := b.do(t, admin, "GET", "/api/v1/me", nil); code != 200 {
		t.Fatalf("A's API key on B: %d %s", code, body)
	}

	// Configure the OSV source on A; trigger the mirror on both at once
	// while the bucket stalls: one run starts, the other instance answers 409.
	if code, _, body := a.do(t, admin, "PUT", "/api/v1/sources/osv", map[string]any{"enabled": true, "base_url": bucket.URL, "ecosystems": []string{"npm"}}); code != 200 {
		t.Fatalf("configure OSV: %d %s", code, body)
	}
	codes := make([]int, 2)
	bodies := make([][]byte, 2)
	var wg sync.WaitGroup
	for i, in := range []*instance{a, b} {
		wg.Go(func() {
			codes[i], _, bodies[i] = in.do(t, admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil)
		})
	}
	wg.Wait()
	if !(codes[0] == 202 && codes[1] == 409 || codes[0] == 409 && codes[1] == 202) {
		t.Fatalf("run now on both: A %d %s, B %d %s", codes[0], bodies[0], codes[1], bodies[1])
	}
	var jr struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	winner := 0
	if codes[1] == 202 {
		winner = 1
	}
	json.Unmarshal(bodies[winner], &jr)
	// While it runs, either instance refuses another run.
	if code, _, body := b.do(t, admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil); code != 409 || !strings.Contains(string(body), fmt.Sprint(jr.ID)) {
		t.Fatalf("run now on B during the run: %d %s", code, body)
	}
	bucket.Release()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, _, body := b.do(t, admin, "GET", fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d", jr.ID), nil)
		json.Unmarshal(body, &jr)
		if jr.Status != store.RunRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mirror run never finished: %s", body)
		}
	}
	if jr.Status != store.RunSucceeded {
		t.Fatalf("mirror run: %+v", jr)
	}
	_, _, body = a.do(t, admin, "GET", "/api/v1/jobs/osv-mirror/runs", nil)
	var runs []struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal(body, &runs)
	if len(runs) != 1 {
		t.Fatalf("want exactly one mirror run, got %s", body)
	}

	// A feed created with the command line on the same database; B serves
	// the download until A assesses the vulnerability Blocked, then refuses it.
	if _, errOut, err := run(t, "--database-url", dsn, "--data-dir", t.TempDir(), "feed", "create", "npm", "--type", "npm", "--upstream", up.URL, "--unassessed", "allow"); err != nil {
		t.Fatalf("feed create: %v %s", err, errOut)
	}
	tarball := "/feeds/npm/lodash/-/lodash-4.17.20.tgz"
	waitStatus := func(in *instance, want int) []byte {
		t.Helper()
		var code int
		var body []byte
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if code, _, body = in.do(t, call{}, "GET", tarball, nil); code == want {
				return body
			}
		}
		t.Fatalf("%s on %s: %d %s, want %d", tarball, in.name, code, body, want)
		return nil
	}
	if got := waitStatus(b, 200); !bytes.Equal(got, tgz) {
		t.Fatalf("B served %q", got)
	}
	code, _, body = a.do(t, admin, "POST", "/api/v1/assessments", map[string]string{"vuln_id": "GHSA-35jh-r3h4-6jhm", "scope": "global", "type": "Blocked", "comment": "multi-instance test"})
	if code != 200 && code != 201 {
		t.Fatalf("assess on A: %d %s", code, body)
	}
	// B's API decides with A's assessment at once (no cache).
	code, _, body = b.do(t, admin, "GET", "/api/v1/packages?purl=pkg:npm/lodash@4.17.20", nil)
	var pkg struct {
		Decision struct {
			Effect string `json:"effect"`
		} `json:"decision"`
	}
	json.Unmarshal(body, &pkg)
	if code != 200 || pkg.Decision.Effect != "block" {
		t.Fatalf("package decision on B: %d %s", code, body)
	}
	// B's feed refuses the download (its gate polls for changes).
	if got := waitStatus(b, 403); !strings.Contains(string(got), "GHSA-35jh-r3h4-6jhm") && !strings.Contains(string(got), "CVE-2021-23337") {
		t.Fatalf("B's refusal does not name the vulnerability: %s", got)
	}

	// The command line reads the same database.
	out, errOut, err := run(t, "--database-url", dsn, "--data-dir", t.TempDir(), "--log-level", "warn", "scan", "--format", "json", "pkg:npm/lodash@4.17.20")
	if err != nil && !strings.Contains(out, "GHSA-35jh-r3h4-6jhm") {
		t.Fatalf("scan on PostgreSQL: %v %s %s", err, out, errOut)
	}
	if !strings.Contains(out, "GHSA-35jh-r3h4-6jhm") {
		t.Fatalf("scan on PostgreSQL found nothing: %s", out)
	}
	for _, in := range []*instance{a, b} {
		if bs, _ := os.ReadFile(in.log); bytes.Contains(bs, []byte(dsnPassword(dsn))) && dsnPassword(dsn) != "" {
			t.Fatalf("instance %s logged the database password", in.name)
		}
	}
}

// dsnPassword returns the password of a URL DSN ("" when none).
func dsnPassword(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.IndexByte(rest, '@'); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				return pw
			}
		}
	}
	return ""
}
