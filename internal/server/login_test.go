package server

// Login and password-change limits (issue 12 items 2 and 8, issue 17
// item 7).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// tryLogin posts a login to base and returns the status.
func tryLogin(t *testing.T, base, user, pw string) (int, http.Header) {
	t.Helper()
	b, _ := json.Marshal(loginRequest{Username: user, Password: pw})
	res, err := http.Post(base+"/api/v1/session", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header
}

// TestLoginLimitedPerClient: one client trying a new user name each time
// is refused after the per-client burst, before any hashing.
func TestLoginLimitedPerClient(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.LoginClientBurst = 10 })
	for i := range 10 {
		if code, _ := tryLogin(t, e.http.URL, fmt.Sprintf("random-%d", i), "wrong password!!"); code != 401 {
			t.Fatalf("attempt %d: %d, want 401", i+1, code)
		}
	}
	code, h := tryLogin(t, e.http.URL, "random-x", "wrong password!!")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("11th name from one client: %d (Retry-After %q), want 429", code, h.Get("Retry-After"))
	}
	// The right password does not get through either: the client waits.
	if code, _ := tryLogin(t, e.http.URL, "admin", adminPassword); code != http.StatusTooManyRequests {
		t.Fatalf("admin from the limited client: %d", code)
	}
}

// TestLoginHashingBounded: a flood of logins with new names runs at most
// MaxHashes argon2id computations at once; the rest wait or get 503 with
// Retry-After, never a 500.
func TestLoginHashingBounded(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.LoginClientBurst = 1000
		o.MaxHashes = 1
		o.HashQueue = 2
		o.Argon2 = auth.Argon2Params{Time: 2, Memory: 16 * 1024, Threads: 1}
	})
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			code, h := tryLogin(t, e.http.URL, fmt.Sprintf("flood-%d", i), "wrong password!!")
			if code == 503 && h.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[401]+codes[503] != 40 || codes[401] == 0 {
		t.Fatalf("answers %v: want only 401 and 503", codes)
	}
	if p := e.srv.auth.Gate.Peak(); p != 1 {
		t.Fatalf("%d hashes ran at once, want at most 1", p)
	}
}

// TestPasswordChangeLimited: wrong current passwords are limited per
// account like logins.
func TestPasswordChangeLimited(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.LoginBurst = 5 })
	var codes []int
	for range 12 {
		res := e.do(auth.Viewer, "PUT", "/api/v1/me/password", passwordChange{Current: "not the password", New: "a-new-password-123"})
		codes = append(codes, res.status)
	}
	for i, c := range codes {
		want := 422
		if i >= 5 {
			want = 429
		}
		if c != want {
			t.Fatalf("attempt statuses %v: want five 422 then 429", codes)
		}
	}
}

// TestLoginLimitsSharedByInstances: two instances on one PostgreSQL
// database share the login limit; attempts alternating between them are
// refused after one burst, not two (issue 17 item 7).
func TestLoginLimitsSharedByInstances(t *testing.T) {
	dsn := pgtest.DSN(t)
	var bases []string
	for range 2 {
		ctx := context.Background()
		st, err := store.Open(ctx, store.Options{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		srv, err := New(ctx, Options{Store: st, DataDir: t.TempDir(), AdminPassword: adminPassword, Argon2: fastArgon2, NoStartupJobs: true, Version: "test", LoginBurst: 3})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(func() { hs.Close(); srv.Shutdown(context.Background()) })
		bases = append(bases, hs.URL)
	}
	var codes []int
	for i := range 6 {
		code, _ := tryLogin(t, bases[i%2], "admin", "wrong password!!")
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[401 401 401 429 429 429]" {
		t.Fatalf("alternating instances: %v, want three 401 then 429", codes)
	}
}
