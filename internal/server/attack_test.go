package server

// The attack suite of issue 12: a real "vulngate serve" process on
// loopback (default argon2id parameters, the corpus's Go and crates.io
// advisories mirrored) attacked by the test: the permission matrix,
// traversal payloads, slow clients, login floods from many addresses,
// random methods, 200 concurrent clients, open redirects, leaking
// credentials. Every attack is bounded in count and time. It prints a
// table of what held, with the figures asked for (peak RSS under a 50-way
// login flood, p99 of /healthz during it), and fails if something did not
// hold. Run it with "make attack" (VULNGATE_ATTACK=1).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// target is the server process under attack.
type target struct {
	t       *testing.T
	base    string // http://127.0.0.1:port
	addr    string
	cmd     *exec.Cmd
	dataDir string
	stderr  *bytes.Buffer
	keys    map[string]string // API key per role: admin, assessor, viewer
	metrics string            // the /metrics token
}

type attackRow struct {
	Name     string
	Requests int
	Held     bool
	Detail   string
}

const attackToken = "attack-metrics-token-1"

func TestAttackSuite(t *testing.T) {
	if os.Getenv("VULNGATE_ATTACK") != "1" {
		t.Skip("the attack suite runs with VULNGATE_ATTACK=1 (make attack)")
	}
	tg := startTarget(t)
	var rows []attackRow
	for _, a := range []func(*target) attackRow{
		attackPermissions, attackTraversal, attackStatic, attackRedirects, attackMetrics,
		attackPasswordGuessing, attackOSSIndexEcho, attackRandomMethods, attackSlowBodies,
		attackConnections, attackLoginFlood, attackLoad,
	} {
		row := a(tg)
		t.Logf("%s: held=%v %s", row.Name, row.Held, row.Detail)
		rows = append(rows, row)
		if err := tg.cmd.Process.Signal(syscallZero); err != nil {
			t.Fatalf("the server died during %q: %v\n%s", row.Name, err, tg.logs())
		}
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "attack\trequests\theld\tdetail")
	for _, r := range rows {
		held := "yes"
		if !r.Held {
			held = "NO"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Name, r.Requests, held, r.Detail)
	}
	tw.Flush()
	fmt.Println("\n" + b.String())
	if dir := os.Getenv("VULNGATE_TEST_ARTIFACTS"); dir != "" {
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "attack.txt"), []byte(b.String()), 0o644)
	}
	for _, r := range rows {
		if !r.Held {
			t.Errorf("%s did not hold: %s", r.Name, r.Detail)
		}
	}
}

// startTarget builds the binary and starts "vulngate serve" on a free
// loopback port with the corpus's Go and crates.io advisories.
func startTarget(t *testing.T) *target {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "vulngate")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/vulngate/vulngate/cmd/vulngate").CombinedOutput(); err != nil {
		t.Fatalf("building vulngate: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tg := &target{t: t, base: "http://" + addr, addr: addr, dataDir: filepath.Join(dir, "data"), stderr: &bytes.Buffer{}, keys: map[string]string{}, metrics: attackToken}
	tg.cmd = exec.Command(bin, "--data-dir", tg.dataDir, "--log-level", "info", "--log-format", "json", "serve", "--addr", addr,
		"--osv-base-url", "file://"+corpus.Dir(t), "--osv-ecosystems", "Go,crates.io",
		"--body-timeout", "3s", "--metrics-token", attackToken)
	tg.cmd.Env = append(os.Environ(), "VULNGATE_ADMIN_PASSWORD="+adminPassword, "VULNGATE_SECRET_KEY=")
	tg.cmd.Stderr = &lockedBuffer{b: tg.stderr}
	if err := tg.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tg.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { tg.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			tg.cmd.Process.Kill()
		}
	})
	tg.waitFor("the server to answer", 60*time.Second, func() bool {
		res, err := http.Get(tg.base + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == 200
	})
	// An admin session makes the users and the API keys.
	jar, _ := cookiejar.New(nil)
	admin := &http.Client{Jar: jar}
	if code := tg.json(admin, "POST", "/api/v1/session", "", map[string]string{"username": "admin", "password": adminPassword}, nil); code != 200 {
		t.Fatalf("admin login: %d", code)
	}
	var me userJSON
	tg.json(admin, "GET", "/api/v1/me", "", nil, &me)
	ids := map[string]int64{"admin": me.ID}
	for _, role := range []string{"assessor", "viewer"} {
		var u userJSON
		if code := tg.json(admin, "POST", "/api/v1/users", "", map[string]string{"username": role + "1", "role": role, "password": role + "-password-1"}, &u); code != 201 {
			t.Fatalf("creating %s: %d", role, code)
		}
		ids[role] = u.ID
	}
	for role, id := range ids {
		var k keyOut
		if code := tg.json(admin, "POST", fmt.Sprintf("/api/v1/users/%d/keys", id), "", map[string]string{"name": "attack"}, &k); code != 201 {
			t.Fatalf("key for %s: %d", role, code)
		}
		tg.keys[role] = k.Key
	}
	tg.waitFor("the start-up mirror", 5*time.Minute, func() bool {
		var j jobOut
		tg.json(nil, "GET", "/api/v1/jobs/"+JobOSVMirror, "admin", nil, &j)
		return j.LastRun != nil && j.LastRun.Status == "succeeded" && j.RunningRun == 0
	})
	return tg
}

func (tg *target) waitFor(what string, limit time.Duration, ok func() bool) {
	tg.t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	tg.t.Fatalf("waited %s for %s\n%s", limit, what, tg.logs())
}

// json sends a JSON request with role's API key (or c's cookies) and
// decodes the answer into out; it returns the status.
func (tg *target) json(c *http.Client, method, path, role string, body, out any) int {
	tg.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, tg.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+tg.keys[role])
	}
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		tg.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// clientFrom is an HTTP client whose connections come from the loopback
// address src (127.x.y.z), so that the server sees distinct clients.
func clientFrom(src string, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// raw sends one request as written (any method, any path) on a new
// connection and returns the status and body.
func (tg *target) raw(method, path string, header ...string) (int, string) {
	c, err := net.DialTimeout("tcp", tg.addr, 5*time.Second)
	if err != nil {
		return 0, err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n", method, path, tg.addr, strings.Join(header, ""))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// rss reads the server's resident set (VmRSS) and its peak (VmHWM) in KiB.
func (tg *target) rss() (cur, peak int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", tg.cmd.Process.Pid))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			cur, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			peak, _ = strconv.Atoi(f[1])
		}
	}
	return cur, peak
}

// prober sends GET /healthz every 10 ms from a bystander's address until
// stopped, and reports the latencies and failures.
type prober struct {
	stop     chan struct{}
	done     chan struct{}
	lat      []time.Duration
	failures int
}

func (tg *target) probe(src string) *prober {
	p := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	c := clientFrom(src, 30*time.Second)
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			start := time.Now()
			res, err := c.Get(tg.base + "/healthz")
			if err != nil || res.StatusCode != 200 {
				p.failures++
			}
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			p.lat = append(p.lat, time.Since(start))
		}
	}()
	return p
}

// end stops the prober and returns "p50/p99/max" and whether every probe
// answered 200.
func (p *prober) end() (string, time.Duration, bool) {
	close(p.stop)
	<-p.done
	if len(p.lat) == 0 {
		return "no probes", 0, false
	}
	slices.Sort(p.lat)
	q := func(f float64) time.Duration { return p.lat[min(len(p.lat)-1, int(f*float64(len(p.lat))))] }
	r := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("/healthz p50 %s p99 %s max %s over %d probes, %d failed", r(q(.5)), r(q(.99)), r(p.lat[len(p.lat)-1]), len(p.lat), p.failures), q(.99), p.failures == 0
}

// lockedBuffer is a buffer the process writes and the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (tg *target) logs() string {
	lb := tg.cmd.Stderr.(*lockedBuffer)
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.b.String()
}
