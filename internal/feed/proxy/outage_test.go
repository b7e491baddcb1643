package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// TestFeedsDuringDatabaseOutage: PostgreSQL stops while feeds serve.
//   - A download whose decision is cached is served by a feed that buffers
//     its audit, and its audit row is written once the database is back
//     (none is lost, also across a restart of the proxy meanwhile: the
//     rows wait in the spool file).
//   - A feed that requires its audit refuses the same download.
//   - A download the gate cannot decide is refused.
//
// Refusals are 503 problem+json with Retry-After, never 500 text/plain.
func TestFeedsDuringDatabaseOutage(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DSN: pgtest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	up := feedtest.NewUpstream(t)
	for _, v := range []string{"1.0.0", "2.0.0"} {
		up.Put(fmt.Sprintf("/demo/-/demo-%s.tgz", v), "application/octet-stream", []byte("tarball "+v))
	}
	up.Put("/demo", "application/json", fmt.Appendf(nil, `{"name":"demo","dist-tags":{"latest":"2.0.0"},"versions":{"1.0.0":{"name":"demo","version":"1.0.0","dist":{"tarball":%q}},"2.0.0":{"name":"demo","version":"2.0.0","dist":{"tarball":%q}}}}`,
		up.URL+"/demo/-/demo-1.0.0.tgz", up.URL+"/demo/-/demo-2.0.0.tgz"))
	for _, f := range []store.Feed{
		{Name: "npm", Type: "npm", Upstream: up.URL, Sources: []string{"osv"}, Unassessed: "allow", MetadataTTL: time.Hour},
		{Name: "npm-strict", Type: "npm", Upstream: up.URL, Sources: []string{"osv"}, Unassessed: "allow", MetadataTTL: time.Hour, AuditRequired: true},
	} {
		if err := st.CreateFeed(ctx, f, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := t.TempDir()
	serve := func() (*proxy.Handler, *httptest.Server) {
		h, err := proxy.New(proxy.Options{Store: st, DataDir: dataDir})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle(proxy.Prefix, h)
		return h, httptest.NewServer(mux)
	}
	h, srv := serve()
	type answer struct {
		code              int
		ctype, retryAfter string
		body              string
	}
	get := func(srv *httptest.Server, path string) answer {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return answer{res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Retry-After"), string(b)}
	}
	unavailable := func(a answer) bool {
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		return a.code == 503 && a.ctype == "application/problem+json" && a.retryAfter != "" && json.Unmarshal([]byte(a.body), &p) == nil && p.Status == 503 && p.Detail != ""
	}
	decisions := func(name string) int {
		t.Helper()
		ds, err := st.FeedDecisions(ctx, name, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	// Warm both feeds: metadata, artifact and decision cached.
	for _, f := range []string{"npm", "npm-strict"} {
		get(srv, "/feeds/"+f+"/demo")
		if a := get(srv, "/feeds/"+f+"/demo/-/demo-1.0.0.tgz"); a.code != 200 {
			t.Fatalf("warming %s: %+v", f, a)
		}
	}
	h.Env().Gate.Flush()
	before := decisions("npm")

	pgtest.Pause(t)
	resumed := false
	defer func() {
		if !resumed {
			pgtest.Resume(t)
		}
	}()
	const served = 3
	for i := range served {
		if a := get(srv, "/feeds/npm/demo/-/demo-1.0.0.tgz"); a.code != 200 || a.body != "tarball 1.0.0" {
			t.Fatalf("buffered feed, download %d during the outage: %+v", i, a)
		}
	}
	if a := get(srv, "/feeds/npm-strict/demo/-/demo-1.0.0.tgz"); !unavailable(a) {
		t.Fatalf("feed requiring its audit during the outage: %+v", a)
	}
	if a := get(srv, "/feeds/npm/demo/-/demo-2.0.0.tgz"); !unavailable(a) {
		t.Fatalf("undecidable download during the outage: %+v", a)
	}
	if a := get(srv, "/feeds/npm/demo"); a.code != 200 {
		t.Fatalf("cached metadata during the outage: %+v", a)
	}
	// The proxy stops (a restart) while the database is still down: the
	// rows wait in the spool file.
	h.Env().Gate.Flush()
	srv.Close()
	h.Close()
	if b, err := os.ReadFile(filepath.Join(dataDir, "spool", feed.AuditSpoolFile)); err != nil || bytes.Count(b, []byte("\n")) != served {
		t.Fatalf("audit spool after stopping during the outage: %v %q", err, b)
	}
	pgtest.Resume(t)
	resumed = true
	h, srv = serve()
	defer func() { srv.Close(); h.Close() }()
	h.Env().Gate.Flush()
	if got := decisions("npm"); got != before+served {
		t.Fatalf("audit rows of the buffered feed after the outage: %d, want %d", got, before+served)
	}
	var a answer
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if a = get(srv, "/feeds/npm-strict/demo/-/demo-1.0.0.tgz"); a.code == 200 {
			break
		}
	}
	if a.code != 200 {
		t.Fatalf("feed requiring its audit after the outage: %+v", a)
	}
}
