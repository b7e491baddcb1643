package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
)

// syscallZero checks that a process is alive.
var syscallZero = syscall.Signal(0)

// attackPermissions sends every route of the route table as anonymous,
// viewer and assessor (without grants): lower roles are refused, and
// anonymous API calls get 401, pages a redirect to the login.
func attackPermissions(tg *target) attackRow {
	dir := tg.t.TempDir()
	st, err := store.Open(tg.t.Context(), store.Options{DataDir: dir})
	if err != nil {
		tg.t.Fatal(err)
	}
	defer st.Close()
	table, err := New(tg.t.Context(), Options{Store: st, DataDir: dir, AdminPassword: adminPassword, Argon2: fastArgon2, NoStartupJobs: true})
	if err != nil {
		tg.t.Fatal(err)
	}
	n, bad := 0, []string{}
	c := clientFrom("127.0.0.4", 30*time.Second)
	for _, rt := range table.routes {
		if rt.Method == "" || rt.Need == "" {
			continue // public: probes, the login, feeds
		}
		path := (&testEnv{}).concrete(rt.Path, 1, 999999, 999999)
		for _, role := range []auth.Role{"", auth.Viewer, auth.Assessor} {
			if !rt.API && role != "" || role.AtLeast(rt.Need) && !(rt.Grant && role == auth.Assessor) {
				continue
			}
			req, _ := http.NewRequest(rt.Method, tg.base+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if role != "" {
				req.Header.Set("Authorization", "Bearer "+tg.keys[string(role)])
			}
			res, err := c.Do(req)
			n++
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s %s: %v", rt.Method, path, err))
				continue
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			var ok bool
			switch {
			case !rt.API:
				ok = res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login")
			case role == "":
				ok = res.StatusCode == http.StatusUnauthorized
			default:
				ok = res.StatusCode == http.StatusForbidden
			}
			if !ok {
				bad = append(bad, fmt.Sprintf("%s %s as %q: %d", rt.Method, path, role, res.StatusCode))
			}
		}
	}
	return attackRow{"permission matrix (routes x anonymous/viewer/assessor)", n, len(bad) == 0, summary(bad, fmt.Sprintf("%d routes; every lower role refused", len(table.routes)))}
}

func summary(bad []string, good string) string {
	if len(bad) == 0 {
		return good
	}
	return fmt.Sprintf("%d failures, e.g. %s", len(bad), strings.Join(bad[:min(3, len(bad))], "; "))
}

// traversalPayloads try to reach files outside what is served.
var traversalPayloads = []string{
	"../../../../../../etc/passwd", "..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
	"....//....//....//etc/passwd", "..\\..\\..\\..\\etc\\passwd", "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
	"..;/..;/..;/etc/passwd", "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/etc/passwd", "%2fetc%2fpasswd",
	"../secret.key", "../../secret.key", "..%2f..%2fsecret.key", "../vulngate.db", "..%2f..%2fvulngate.db",
	"../../../../proc/self/environ", "..%5c..%5csecret.key", ".%2e/.%2e/secret.key",
}

// attackTraversal sends the payloads under every prefix that maps a path
// to something; no answer may carry a system file, the key or the
// database.
func attackTraversal(tg *target) attackRow {
	keyText, _ := os.ReadFile(filepath.Join(tg.dataDir, secret.KeyFile))
	var key string
	for _, l := range strings.Split(string(keyText), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			key = l
		}
	}
	n, bad := 0, []string{}
	for _, prefix := range []string{"/static/", "/feeds/", "/feeds/none/", "/api/v1/advisories/", "/vulnerabilities/", "/api/v1/jobs/osv-mirror/runs/", "/"} {
		for _, p := range traversalPayloads {
			for _, role := range []string{"", "admin"} {
				var h []string
				if role != "" {
					h = []string{"Authorization: Bearer " + tg.keys[role] + "\r\n"}
				}
				status, body := tg.raw("GET", prefix+p, h...)
				n++
				if strings.Contains(body, "root:x:0:0") || key != "" && strings.Contains(body, key) || strings.Contains(body, "SQLite format 3") ||
					strings.Contains(body, "VULNGATE_ADMIN_PASSWORD") || status == 0 {
					bad = append(bad, fmt.Sprintf("%s%s: %d", prefix, p, status))
				}
			}
		}
	}
	return attackRow{"path traversal", n, len(bad) == 0, summary(bad, fmt.Sprintf("%d payloads under 7 prefixes: no file outside the served ones", len(traversalPayloads)))}
}

func attackStatic(tg *target) attackRow {
	status, body := tg.raw("GET", "/static/")
	return attackRow{"/static/ listing", 1, status == 404 && !strings.Contains(body, "app.css"), fmt.Sprintf("GET /static/: %d", status)}
}

// attackRedirects: logged in, /login?next=... must stay on the site
// (Chromium checks the same payloads in TestLoginRedirectInChromium).
func attackRedirects(tg *target) attackRow {
	jar, _ := cookiejar.New(nil)
	c := clientFrom("127.0.0.5", 30*time.Second)
	c.Jar = jar
	b, _ := json.Marshal(loginRequest{Username: "viewer1", Password: "viewer-password-1"})
	if res, err := c.Post(tg.base+"/api/v1/session", "application/json", bytes.NewReader(b)); err != nil || res.StatusCode != 200 {
		tg.t.Fatalf("viewer login: %v", err)
	}
	bad := []string{}
	for _, p := range redirectPayloads {
		res, err := c.Get(tg.base + "/login?next=" + p)
		if err != nil {
			bad = append(bad, p+": "+err.Error())
			continue
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		u, err := url.Parse(strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc))
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(loc, "/") || strings.HasPrefix(u.Path, "//") {
			bad = append(bad, fmt.Sprintf("next=%s -> %q", p, loc))
		}
	}
	return attackRow{"open redirect after login", len(redirectPayloads), len(bad) == 0, summary(bad, "every Location is a path on this site")}
}

func attackMetrics(tg *target) attackRow {
	none, _ := tg.raw("GET", "/metrics")
	key, _ := tg.raw("GET", "/metrics", "Authorization: Bearer "+tg.keys["admin"]+"\r\n")
	good, _ := tg.raw("GET", "/metrics", "Authorization: Bearer "+tg.metrics+"\r\n")
	return attackRow{"/metrics token", 3, none == 401 && key == 401 && good == 200, fmt.Sprintf("no token %d, admin API key %d, metrics token %d", none, key, good)}
}

// attackPasswordGuessing: a stolen viewer key tries 12 current passwords.
func attackPasswordGuessing(tg *target) attackRow {
	var codes []int
	for i := range 12 {
		codes = append(codes, tg.json(nil, "PUT", "/api/v1/me/password", "viewer", passwordChange{Current: fmt.Sprintf("guess-%d-password", i), New: "a-new-password-123"}, nil))
	}
	limited := slices.Contains(codes, http.StatusTooManyRequests) && !slices.Contains(codes, 204)
	return attackRow{"password change guessing", 12, limited, fmt.Sprintf("statuses %v", codes)}
}

// attackOSSIndexEcho: OSS Index answers 500 echoing the Authorization
// header; a viewer's scan and the server's logs must not carry the
// credentials in any form.
func attackOSSIndexEcho(tg *target) attackRow {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "echo "+r.Header.Get("Authorization"), http.StatusInternalServerError)
	}))
	defer up.Close()
	tg.json(nil, "PUT", "/api/v1/sources/ossindex", "admin", map[string]any{"enabled": true, "base_url": up.URL, "username": ossUser, "token": ossToken}, nil)
	defer tg.json(nil, "PUT", "/api/v1/sources/ossindex", "admin", map[string]any{"enabled": false, "token": ""}, nil)
	req, _ := http.NewRequest("POST", tg.base+"/api/v1/scan", strings.NewReader(`{"purls":["pkg:golang/golang.org/x/net@v0.1.0"]}`))
	req.Header.Set("Authorization", "Bearer "+tg.keys["viewer"])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tg.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	raw, _ := os.ReadFile(filepath.Join(tg.dataDir, store.DBFile))
	leaks := []string{}
	for where, text := range map[string]string{"scan answer": string(body), "logs": tg.logs(), "database file": string(raw)} {
		for _, f := range append(secret.Forms(ossUser, ossToken), "echo ") {
			if strings.Contains(text, f) && !(where == "database file" && f == "echo ") {
				leaks = append(leaks, where+" has "+f)
			}
		}
	}
	return attackRow{"OSS Index credentials (echoing 5xx)", 1, res.StatusCode == 200 && len(leaks) == 0,
		summary(leaks, "not in the scan answer, the logs or the database file (sealed)")}
}

// attackRandomMethods: junk methods on known and unknown paths; /metrics
// keeps fixed labels and a bounded size.
func attackRandomMethods(tg *target) attackRow {
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	paths := []string{"/healthz", "/api/v1/stats", "/", "/login", "/feeds/x/y", "/nothing/%d", "/api/v1/nothing/%d", "/static/app.css"}
	for i := range 400 {
		m := make([]byte, 1+rand.IntN(4096))
		for j := range m {
			m[j] = letters[rand.IntN(len(letters))]
		}
		p := paths[i%len(paths)]
		if strings.Contains(p, "%d") {
			p = fmt.Sprintf(p, i)
		}
		tg.raw(string(m), p)
	}
	_, body := tg.raw("GET", "/metrics", "Authorization: Bearer "+tg.metrics+"\r\n")
	methods := map[string]bool{}
	for _, m := range regexp.MustCompile(`method="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		methods[m[1]] = true
	}
	var odd []string
	for m := range methods {
		if methodLabel(m) != m {
			odd = append(odd, fmt.Sprintf("%.20q", m))
		}
	}
	return attackRow{"random methods (up to 4 KiB)", 400, len(odd) == 0 && len(body) < 512<<10,
		summary(odd, fmt.Sprintf("/metrics %d KiB, method labels %d", len(body)>>10, len(methods)))}
}

// attackSlowBodies: 40 clients send headers and then one byte a second
// of a 100 kB body; the server must cut each after the body timeout (3 s
// here; a client still sending after 30 s was not cut), while a
// bystander's /healthz answers.
func attackSlowBodies(tg *target) attackRow {
	p := tg.probe("127.0.0.2")
	var wg sync.WaitGroup
	var mu sync.Mutex
	cut, slowest := 0, time.Duration(0)
	for i := range 40 {
		wg.Go(func() {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 3, byte(i+1))}}
			c, err := d.Dial("tcp", tg.addr)
			if err != nil {
				return
			}
			defer c.Close()
			start := time.Now()
			fmt.Fprintf(c, "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
			for time.Since(start) < 30*time.Second {
				if _, err := c.Write([]byte(" ")); err != nil {
					break
				}
				var b [1]byte
				c.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := c.Read(b[:]); err == nil || !isTimeout(err) {
					break // answered or closed
				}
			}
			if d := time.Since(start); d < 30*time.Second {
				mu.Lock()
				cut++
				slowest = max(slowest, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	lat, _, ok := p.end()
	return attackRow{"slow request bodies (40 clients, 1 byte/s)", 40, cut == 40 && ok,
		fmt.Sprintf("%d of 40 cut, the last after %s; %s", cut, slowest.Round(100*time.Millisecond), lat)}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// attackConnections: one address opens 100 idle connections; beyond the
// per-client cap (64) they get 503 at once, and other clients are served.
func attackConnections(tg *target) attackRow {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 4, 1)}}
	var conns []net.Conn
	refused := 0
	for range 100 {
		c, err := d.Dial("tcp", tg.addr)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if l, _ := bufio.NewReader(c).ReadString('\n'); strings.Contains(l, "503") {
			refused++
		}
	}
	status, _ := clientStatus(clientFrom("127.0.0.2", 10*time.Second), tg.base+"/healthz")
	for _, c := range conns {
		c.Close()
	}
	return attackRow{"connections per client (100 idle from one address)", 100, refused >= 36 && status == 200,
		fmt.Sprintf("%d refused with 503 (cap 64); another client's /healthz: %d", refused, status)}
}

func clientStatus(c *http.Client, u string) (int, error) {
	res, err := c.Get(u)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}
