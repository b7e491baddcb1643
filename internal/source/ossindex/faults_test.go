package ossindex

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/source/ossindex/ossindextest"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestTimeoutThenRecovery: OSS Index stalls; each request is ended by
// RequestTimeout and retried, the answers carry a clear timeout error and
// nothing is cached; once the service answers again, lookups succeed and
// are cached. It runs with the cache on both engines.
func TestTimeoutThenRecovery(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := ossindextest.New(t, testUser, testToken)
		srv.SetLatency(2 * time.Second) // the fake notices no disconnect before reading the body: keep it short
		s, _ := newSource(t, srv, st, func(o *Options) {
			o.RequestTimeout = 200 * time.Millisecond
			o.MaxRetries = 2
		})
		in := pkgs(t, "pkg:npm/lodash@4.17.20")
		a, err := s.Lookup(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if a[0].Err == nil || !strings.Contains(strings.ToLower(a[0].Err.Error()), "timeout") && !strings.Contains(a[0].Err.Error(), "deadline") {
			t.Fatalf("answer while stalled = %+v, want a timeout error", a[0])
		}
		if n := srv.Requests(); n != 3 {
			t.Errorf("requests while stalled = %d, want 3 (1 + 2 retries)", n)
		}
		if c, err := st.OSSIndexComponents(ctx, []string{"pkg:npm/lodash@4.17.20"}); err != nil || len(c) != 0 {
			t.Fatalf("a failed lookup was cached: %v %v", c, err)
		}
		srv.SetLatency(0)
		srv.Reset()
		if a, err = s.Lookup(ctx, in); err != nil || a[0].Err != nil || len(a[0].Vulns) != 3 {
			t.Fatalf("after recovery: %v %+v", err, a[0])
		}
		// Cached now: a stalled service no longer matters for it.
		srv.SetLatency(2 * time.Second) // the fake notices no disconnect before reading the body: keep it short
		if a, err = s.Lookup(ctx, in); err != nil || a[0].Err != nil || len(a[0].Vulns) != 3 {
			t.Fatalf("cached answer while stalled: %v %+v", err, a[0])
		}
	})
}

// TestServerErrorsBothEngines: 5xx answers are retried, reported, and not
// cached, with the cache on SQLite and on PostgreSQL.
func TestServerErrorsBothEngines(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := ossindextest.New(t, testUser, testToken)
		srv.Fail(1000, http.StatusServiceUnavailable)
		s, _ := newSource(t, srv, st, func(o *Options) { o.MaxRetries = 1 })
		in := pkgs(t, "pkg:npm/lodash@4.17.20")
		a, err := s.Lookup(ctx, in)
		if err != nil || a[0].Err == nil || !strings.Contains(a[0].Err.Error(), "HTTP 503") {
			t.Fatalf("answer = %+v %v, want an HTTP 503 error", a[0], err)
		}
		srv.Fail(0, 0)
		if a, err = s.Lookup(ctx, in); err != nil || a[0].Err != nil || len(a[0].Vulns) != 3 {
			t.Fatalf("after recovery: %v %+v", err, a[0])
		}
	})
}
