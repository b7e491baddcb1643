package osvmirror

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestFailedImportKeepsPreviousDataBothEngines: a truncated all.zip fails
// the Go import and leaves the previous Go data queryable, on SQLite and
// on PostgreSQL; the next good run completes.
func TestFailedImportKeepsPreviousDataBothEngines(t *testing.T) {
	dir := corpus.Dir(t)
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		doSync(t, st, "file://"+dir, "Go")
		before, _ := st.CountAdvisories(ctx)
		bad := t.TempDir()
		data, _ := os.ReadFile(filepath.Join(dir, "Go", "all.zip"))
		os.MkdirAll(filepath.Join(bad, "Go"), 0o755)
		os.WriteFile(filepath.Join(bad, "ecosystems.txt"), []byte("Go\n"), 0o644)
		os.WriteFile(filepath.Join(bad, "Go", "all.zip"), data[:len(data)/2], 0o644)
		os.WriteFile(filepath.Join(bad, "Go", "modified_id.csv"), []byte("not a csv line\n"), 0o644)
		rep := doSync(t, st, "file://"+bad, "Go")
		if rep.Ecosystems[0].Err == nil || !strings.Contains(rep.Ecosystems[0].Err.Error(), "zip") {
			t.Fatalf("Go sync with truncated zip: %+v", rep.Ecosystems[0])
		}
		if after, _ := st.CountAdvisories(ctx); after != before {
			t.Fatalf("advisories %d -> %d after a failed import", before, after)
		}
		if got := ids(t, st, "Go", "toolchain"); !contains(got, "GO-2022-0247") {
			t.Fatal("previous Go data lost")
		}
		m, _ := New(st, Options{BaseURL: "file://" + dir, Ecosystems: []string{"Go"}, ForceFull: true, TempDir: t.TempDir()})
		if rep, err := m.Sync(ctx); err != nil || rep.Failed() {
			t.Fatalf("next run: %v %+v", err, rep)
		}
		if after, _ := st.CountAdvisories(ctx); after != before {
			t.Fatalf("advisories %d -> %d after the next run", before, after)
		}
	})
}

// stallingServer serves the corpus; while stalling, responses under
// "<eco>/" send their headers and half the body, then hang until the
// client gives up.
func stallingServer(t *testing.T, dir, eco string) (*httptest.Server, *atomic.Bool, *atomic.Int64) {
	var stall atomic.Bool
	var hits atomic.Int64
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !stall.Load() || !strings.HasPrefix(r.URL.Path, "/"+eco+"/") {
			files.ServeHTTP(w, r)
			return
		}
		hits.Add(1)
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, &stall, &hits
}

// TestSourceTimeoutKeepsPreviousData: the OSV bucket stalls in the middle
// of a download; the client's timeout ends each attempt, the sync reports
// the timeout, and the previous data stays queryable. When the bucket
// answers again the next sync completes.
func TestSourceTimeoutKeepsPreviousData(t *testing.T) {
	dir := corpus.Dir(t)
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv, stall, hits := stallingServer(t, dir, "CRAN")
		doSync(t, st, srv.URL, "CRAN")
		before, _ := st.CountAdvisories(ctx)
		stall.Store(true)
		client := &http.Client{Timeout: 300 * time.Millisecond}
		m, _ := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"CRAN"}, ForceFull: true, HTTPClient: client, TempDir: t.TempDir()})
		rep, err := m.Sync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e := rep.Ecosystems[0].Err; e == nil || !strings.Contains(e.Error(), "Timeout") && !strings.Contains(e.Error(), "deadline") {
			t.Fatalf("stalled sync: %+v", rep.Ecosystems[0])
		}
		if hits.Load() < 1 {
			t.Fatal("the stalling bucket was not asked")
		}
		if after, _ := st.CountAdvisories(ctx); after != before || before == 0 {
			t.Fatalf("advisories %d -> %d after a timed-out sync", before, after)
		}
		stall.Store(false)
		if rep, err := m.Sync(ctx); err != nil || rep.Failed() {
			t.Fatalf("sync after the bucket recovered: %v %+v", err, rep)
		}
	})
}

// TestStalledBodyIsAbortedByIdleTimeout: with the default client (no
// overall timeout, so large all.zip downloads can take as long as they
// flow), a body that stops delivering data is aborted after IdleTimeout.
func TestStalledBodyIsAbortedByIdleTimeout(t *testing.T) {
	dir := corpus.Dir(t)
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/CRAN/all.zip" {
			http.ServeFile(w, r, filepath.Join(dir, filepath.FromSlash(r.URL.Path)))
			return
		}
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		select { // stall until the client gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	st := openStore(t)
	m, err := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"CRAN"}, IdleTimeout: 300 * time.Millisecond, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.Ecosystems[0].Err; e == nil || !strings.Contains(e.Error(), "no data for") {
		t.Fatalf("stalled download: %v", rep.Ecosystems[0].Err)
	}
	if time.Since(start) > time.Minute {
		t.Fatalf("gave up only after %v", time.Since(start))
	}
}
