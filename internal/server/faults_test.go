package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestDatabaseRestartWhileServing: the PostgreSQL server restarts while
// vulngate serves. During the outage /readyz and API requests fail with
// 503 problem+json (not 500, not 401); afterwards the same server process
// answers normally again.
func TestDatabaseRestartWhileServing(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DSN: pgtest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := New(ctx, Options{Store: st, DataDir: t.TempDir(), AdminPassword: adminPassword, Argon2: fastArgon2, NoStartupJobs: true, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Shutdown(context.Background()) })
	admin, _ := st.UserByName(ctx, "admin")
	key, prefix, hash := auth.NewAPIKey()
	if _, err := st.CreateAPIKey(ctx, admin.ID, "test", prefix, hash); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		path   string
		status int
		ctype  string
		body   string
	}
	get := func(path string) answer {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return answer{path: path, body: err.Error()}
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return answer{path, res.StatusCode, res.Header.Get("Content-Type"), string(b)}
	}
	paths := []string{"/readyz", "/api/v1/stats", "/api/v1/advisories?limit=5", "/api/v1/jobs"}
	for _, p := range paths {
		if a := get(p); a.status != 200 {
			t.Fatalf("before the restart: %+v", a)
		}
	}

	var mu sync.Mutex
	var during []answer
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, p := range paths {
				a := get(p)
				mu.Lock()
				during = append(during, a)
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	pgtest.Restart(t, 1500*time.Millisecond)
	close(stop)
	wg.Wait()

	failed := map[string]int{}
	for _, a := range during {
		if a.status == 200 {
			continue
		}
		if a.status != http.StatusServiceUnavailable || a.ctype != "application/problem+json" {
			t.Errorf("during the outage %s answered %d %s: %s", a.path, a.status, a.ctype, a.body)
			continue
		}
		if a.path != "/readyz" && !strings.Contains(a.body, "database is unavailable") {
			t.Errorf("unclear outage answer for %s: %s", a.path, a.body)
		}
		failed[a.path]++
	}
	if failed["/readyz"] == 0 || failed["/api/v1/stats"] == 0 {
		t.Fatalf("no request saw the outage (%d answers): %v", len(during), failed)
	}
	t.Logf("%d requests during the restart; refused with 503: %v", len(during), failed)

	// The same process recovers by itself.
	for _, p := range paths {
		var a answer
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if a = get(p); a.status == 200 {
				break
			}
		}
		if a.status != 200 {
			t.Fatalf("after the restart: %+v", a)
		}
	}
}
