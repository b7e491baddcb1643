package server

// Slow clients, connections per client and load shedding (issue 12 items
// 7 and 10).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// serveReal runs a server through Serve on a loopback listener (the
// connection cap and the http.Server settings live there) and returns its
// address.
func serveReal(t *testing.T, mut func(*Options)) (string, *Server) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Store: st, DataDir: dir, AdminPassword: adminPassword, Argon2: fastArgon2, NoStartupJobs: true, Version: "test"}
	mut(&opts)
	srv, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l, 5*time.Second) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		st.Close()
	})
	return l.Addr().String(), srv
}

// readAll reads what the server sends until it closes the connection,
// failing if it is still open after limit (a generous bound: the test
// fails when the server holds the connection, not when it is slow).
func readAll(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the server still holds the connection after %s: %v (read %q)", limit, err, b)
	}
	return string(b)
}

// TestSlowBodyCut: a client that sends headers, then a trickle of its
// declared body, is cut off after the body timeout (item 7).
func TestSlowBodyCut(t *testing.T) {
	addr, _ := serveReal(t, func(o *Options) { o.BodyTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"username\":")
	got := readAll(t, c, 20*time.Second)
	if got != "" && !strings.HasPrefix(got, "HTTP/1.1 4") {
		t.Fatalf("slow body answered %q", got)
	}
}

// TestConnectionsPerClientCapped: a client holding the cap's worth of
// connections gets 503 for one more; closing one makes room (item 7).
func TestConnectionsPerClientCapped(t *testing.T) {
	addr, _ := serveReal(t, func(o *Options) { o.MaxConnsPerClient = 3 })
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") // keep-alive: the connection stays
		if l, _ := bufio.NewReader(c).ReadString('\n'); !strings.Contains(l, "200") {
			t.Fatalf("connection %d: %q", len(held)+1, l)
		}
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if got := readAll(t, extra, 20*time.Second); !strings.HasPrefix(got, "HTTP/1.1 503") || !strings.Contains(got, "Retry-After") {
		t.Fatalf("fourth connection got %q, want 503", got)
	}
	held[0].Close()
	for range 100 { // the server sees the close shortly
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(c) // a refused connection may end in a reset
		got := string(b)
		c.Close()
		if strings.HasPrefix(got, "HTTP/1.1 200") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no room after a connection closed")
}

// TestLoadShedding: with the scan class at its bound, one more scan gets
// 503 with Retry-After after the queue wait, while probes and reads are
// served; the held scan then finishes normally (item 10).
func TestLoadShedding(t *testing.T) {
	entered, release := make(chan struct{}, 4), make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte("[]"))
	}))
	defer upstream.Close()
	e := newEnv(t, func(o *Options) {
		o.Limits = Limits{Scan: 1, QueueWait: 50 * time.Millisecond}
		o.OSSIndexDeadline = time.Minute
	})
	e.setOSSIndex(upstream.URL)
	first := make(chan resp, 1)
	go func() {
		first <- e.do(auth.Viewer, "POST", "/api/v1/scan", scanRequest{PURLs: []string{"pkg:npm/lodash@4.17.20"}})
	}()
	<-entered // the first scan holds the only scan slot
	second := e.do(auth.Viewer, "POST", "/api/v1/scan", scanRequest{PURLs: []string{"pkg:npm/left-pad@1.3.0"}})
	if second.status != 503 || second.header.Get("Retry-After") == "" {
		t.Fatalf("second scan: %d %s, want 503 with Retry-After", second.status, second.body)
	}
	wantStatus(t, e.do("", "GET", "/healthz", nil), 200)
	wantStatus(t, e.do(auth.Viewer, "GET", "/api/v1/stats", nil), 200)
	close(release)
	if r := <-first; r.status != 200 {
		t.Fatalf("held scan: %d %s", r.status, r.body)
	}
	if m := e.do("", "GET", "/metrics", nil); !strings.Contains(string(m.body), `vulngate_http_shed_total{class="scan"} 1`) {
		t.Error("the shed request is not counted")
	}
}

// TestIdleStreamOutlivesWriteTimeout: a live log that stays silent longer
// than the write timeout still delivers its end: the timeout bounds a
// stalled write, not a quiet stream.
func TestIdleStreamOutlivesWriteTimeout(t *testing.T) {
	addr, srv := serveReal(t, func(o *Options) { o.WriteTimeout = 100 * time.Millisecond })
	ctx := context.Background()
	key, prefix, hash := auth.NewAPIKey()
	admin, _ := srv.st.UserByName(ctx, "admin")
	if _, err := srv.st.CreateAPIKey(ctx, admin.ID, "t", prefix, hash); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, srv: srv}
	started, release := e.blockingJob("quiet")
	id, err := srv.Runner().Trigger("quiet", "test")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v1/jobs/quiet/runs/%d/log", addr, id), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	for l := ""; !strings.Contains(l, "blocker started"); {
		if l, err = rd.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // silent for five write timeouts
	close(release)
	for l := ""; !strings.Contains(l, "event: end"); {
		if l, err = rd.ReadString('\n'); err != nil {
			t.Fatalf("stream cut while quiet: %v", err)
		}
	}
}
