package server

// Tests for the defects of issue 12 (an attack run against the server);
// each fails on the code before the fix.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/vulngate/vulngate/internal/auth"
)

// rawRequest sends method and path on a fresh connection, so that any
// method token reaches the server as sent.
func rawRequest(t *testing.T, addr, method, path string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", method, path)
	b, _ := io.ReadAll(c)
	var status int
	fmt.Sscanf(string(b), "HTTP/1.1 %d", &status)
	return status
}

// TestMetricsLabelsBounded: junk methods on matched and unmatched routes
// add no label values (issue 12 item 6).
func TestMetricsLabelsBounded(t *testing.T) {
	e := newEnv(t)
	addr := strings.TrimPrefix(e.http.URL, "http://")
	long := strings.Repeat("X", 4096)
	for i := range 40 {
		rawRequest(t, addr, fmt.Sprintf("M%d%s", i, long), "/healthz")
		rawRequest(t, addr, fmt.Sprintf("Q%d", i), fmt.Sprintf("/nothing/here/%d", i))
	}
	res := e.do("", "GET", "/metrics", nil)
	wantStatus(t, res, 200)
	methods := map[string]bool{}
	for _, m := range regexp.MustCompile(`vulngate_http_requests_total\{[^}]*method="([^"]*)"`).FindAllStringSubmatch(string(res.body), -1) {
		methods[m[1]] = true
	}
	for m := range methods {
		if methodLabel(m) != m {
			t.Errorf("method label %.40q is not one of the fixed set", m)
		}
	}
	if !methods["other"] {
		t.Errorf("junk methods not counted as \"other\": %v", methods)
	}
	if len(res.body) > 256<<10 {
		t.Errorf("/metrics is %d bytes after 80 junk requests", len(res.body))
	}
}

// TestMetricsToken: with a token, /metrics refuses anyone without it,
// including an admin's API key (issue 12 item 6).
func TestMetricsToken(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MetricsToken = "metrics-secret-1" })
	get := func(authz string) int {
		req, _ := http.NewRequest("GET", e.http.URL+"/metrics", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		res, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for authz, want := range map[string]int{"": 401, "Bearer wrong": 401, "Bearer " + e.keys[auth.Admin]: 401, "Basic bWV0cmljcy1zZWNyZXQtMQ==": 401, "Bearer metrics-secret-1": 200} {
		if got := get(authz); got != want {
			t.Errorf("/metrics with %q: %d, want %d", authz, got, want)
		}
	}
	// Without a token it stays public, as probes are.
	e2 := newEnv(t)
	wantStatus(t, e2.do("", "GET", "/metrics", nil), 200)
}

// TestStaticNoListing: /static/ serves files, never a directory listing
// (issue 12 item 11).
func TestStaticNoListing(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/static/", "/static/../static/", "/static/nope.css", "/static/.", "/static/app.css/../"} {
		res := e.do("", "GET", p, nil)
		if res.status/100 == 3 { // the mux cleans the path first
			res = e.do("", "GET", res.header.Get("Location"), nil)
		}
		if res.status != 404 || strings.Contains(string(res.body), "app.css") {
			t.Errorf("GET %s: %d %.200s", p, res.status, res.body)
		}
	}
	res := e.do("", "GET", "/static/app.css", nil)
	wantStatus(t, res, 200)
	if !strings.HasPrefix(res.header.Get("Content-Type"), "text/css") {
		t.Errorf("app.css served as %q", res.header.Get("Content-Type"))
	}
}

// Post-login targets an attacker may craft: each must end on this site.
var redirectPayloads = []string{
	"/%09/evil.example", "/%0a/evil.example", "/%0d/evil.example", "/%09%09/evil.example",
	"/%5Cevil.example", "/%5C%5Cevil.example", "/%5C/evil.example", "%09//evil.example",
	"%20//evil.example", "%0a//evil.example", "//evil.example", "///evil.example",
	"https://evil.example/", "http:evil.example", "/.//evil.example", "/%2E//evil.example",
	"%2F%2Fevil.example", "javascript:alert(1)", "/%00//evil.example",
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/vulnerabilities?x=1": "/vulnerabilities?x=1", "//evil.example/": "/", "https://evil.example": "/", "/\\evil": "/", "": "/",
		"/\t/evil.example": "/", "\n//evil.example": "/", " /admin/jobs": "/admin/jobs", "/a b": "/a%20b", "/%2F%2Fx": "/%2F%2Fx",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	for _, p := range redirectPayloads {
		raw, err := url.QueryUnescape(p)
		if err != nil {
			t.Fatal(err)
		}
		got := safeNext(raw)
		u, err := nextBase.Parse(got)
		if err != nil || u.Host != nextBase.Host || strings.ContainsAny(got, "\t\r\n\\") {
			t.Errorf("safeNext(%q) = %q leaves the site", raw, got)
		}
	}
}

// TestLoginRedirectInChromium logs in through the form with crafted next
// parameters, then follows more of them while logged in, in a real
// browser: every one must end on this site (issue 12 item 3).
func TestLoginRedirectInChromium(t *testing.T) {
	requireChromium(t)
	e := newEnv(t)
	bctx := newBrowser(t, context.Background(), 90*time.Second)
	base := e.http.URL
	// Every request the browser makes to another host is recorded
	// (resolving it fails: newBrowser maps other names to nothing), and
	// every failed navigation.
	var mu sync.Mutex
	var foreign []string
	if err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if u, err := url.Parse(ev.Request.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != strings.TrimPrefix(base, "http://") {
				mu.Lock()
				foreign = append(foreign, ev.Request.URL)
				mu.Unlock()
			}
		case *network.EventLoadingFailed:
			// A navigation refused on the way (by the CSP's form-action,
			// say) counts too: it did not end on this site.
			if ev.Type == network.ResourceTypeDocument {
				mu.Lock()
				foreign = append(foreign, "(navigation failed: "+ev.ErrorText+")")
				mu.Unlock()
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	// landed waits until the browser asked another host for a page (or a
	// navigation failed), or its current history entry is off the login
	// page, and returns that URL.
	landed := func(what string) string {
		t.Helper()
		for bctx.Err() == nil {
			mu.Lock()
			if len(foreign) > 0 {
				u := foreign[0]
				foreign = nil
				mu.Unlock()
				return u
			}
			mu.Unlock()
			h, err := chromedp.Run(bctx, chromedp.NavigationEntries())
			if err == nil && int(h.CurrentIndex) < len(h.Entries) {
				if u := h.Entries[h.CurrentIndex].URL; !strings.HasPrefix(u, base+"/login") && u != "about:blank" {
					return u
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: still on the login page", what)
		return ""
	}
	check := func(payload, href string) {
		t.Helper()
		if !strings.HasPrefix(href, base+"/") {
			t.Errorf("next=%s ended on %q, off the site", payload, href)
		}
	}
	// Logging in through the form.
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/login?next="+redirectPayloads[0]),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.ID("login")),
	); err != nil {
		t.Fatal(err)
	}
	check(redirectPayloads[0], landed("form login"))
	// Logged in: /login redirects at once.
	for _, p := range redirectPayloads {
		chromedp.Do(bctx, chromedp.Navigate(base+"/login?next="+p)) // fails when the redirect leaves
		check(p, landed(p))
	}
	// A genuine target is kept.
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/login?next="+url.QueryEscape("/vulnerabilities?q=toolchain"))); err != nil {
		t.Fatal(err)
	}
	if href := landed("genuine"); href != base+"/vulnerabilities?q=toolchain" {
		t.Errorf("genuine next ended on %q", href)
	}
}
