package ossindex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/source/ossindex/ossindextest"
)

// Failures of the OSS Index API: rate limits, back-off, rejected tokens,
// 5xx answers and partial failure; none is ever reported as clean.

func TestRetryAfter(t *testing.T) {
	ctx := context.Background()
	srv := ossindextest.New(t, testUser, testToken)
	srv.RateLimit(2, "7")
	s, sl := newSource(t, srv, nil, nil)
	a, err := s.Lookup(ctx, pkgs(t, "pkg:npm/lodash@4.17.20"))
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Err != nil || len(a[0].Vulns) != 3 {
		t.Errorf("answer after 429s = %+v", a[0])
	}
	if got := sl.all(); !slices.Equal(got, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Errorf("waits = %v, want Retry-After 7s twice", got)
	}
	if n := srv.Requests(); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}

	// HTTP-date form.
	now := time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC)
	srv.Reset()
	srv.RateLimit(1, now.Add(42*time.Second).Format(http.TimeFormat))
	s, sl = newSource(t, srv, nil, func(o *Options) { o.Now = func() time.Time { return now } })
	if _, err := s.Lookup(ctx, pkgs(t, "pkg:npm/lodash@4.17.20")); err != nil {
		t.Fatal(err)
	}
	if got := sl.all(); !slices.Equal(got, []time.Duration{42 * time.Second}) {
		t.Errorf("waits = %v, want 42s from the HTTP date", got)
	}
}

func TestBackoffWithoutRetryAfter(t *testing.T) {
	ctx := context.Background()
	srv := ossindextest.New(t, testUser, testToken)
	srv.RateLimit(3, "")
	s, sl := newSource(t, srv, nil, func(o *Options) { o.BackoffBase = time.Second; o.MaxBackoff = 3 * time.Second })
	a, err := s.Lookup(ctx, pkgs(t, "pkg:npm/lodash@4.17.20"))
	if err != nil || a[0].Err != nil {
		t.Fatal(err, a[0].Err)
	}
	got := sl.all()
	if len(got) != 3 {
		t.Fatalf("waits = %v", got)
	}
	// Exponential with jitter in [d/2, d], capped at MaxBackoff.
	for i, d := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		if got[i] < d/2 || got[i] > d {
			t.Errorf("wait %d = %v, want within [%v, %v]", i+1, got[i], d/2, d)
		}
	}
}

func TestRateLimitPastDeadline(t *testing.T) {
	srv := ossindextest.New(t, testUser, testToken)
	srv.RateLimit(1, "3600")
	s, sl := newSource(t, srv, nil, func(o *Options) { o.Deadline = time.Minute })
	a, err := s.Lookup(context.Background(), pkgs(t, "pkg:npm/lodash@4.17.20"))
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Err == nil || !strings.Contains(a[0].Err.Error(), "deadline") {
		t.Errorf("answer = %+v, want a deadline error", a[0])
	}
	if len(sl.all()) != 0 || srv.Requests() != 1 {
		t.Errorf("waited %v with %d requests; want no wait past the deadline", sl.all(), srv.Requests())
	}
}

func TestUnauthorized(t *testing.T) {
	srv := ossindextest.New(t, testUser, "the-right-token")
	var logs bytes.Buffer
	s, sl := newSource(t, srv, nil, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	a, err := s.Lookup(context.Background(), manyPackages(t, 1000))
	var ae *AuthError
	if !errors.As(err, &ae) || a != nil {
		t.Fatalf("Lookup = %v, %v; want an *AuthError", a, err)
	}
	if !strings.HasPrefix(err.Error(), "OSS Index rejected the token (HTTP 401") {
		t.Errorf("error = %q", err)
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("requests = %d, want exactly 1 (no retry storm)", n)
	}
	if len(sl.all()) != 0 {
		t.Errorf("waited %v after 401", sl.all())
	}
	for _, out := range []string{err.Error(), logs.String(), fmt.Sprintf("%v %+v %#v", s.opts, s.opts, s.opts)} {
		if strings.Contains(out, testToken) {
			t.Errorf("token leaked in %q", out)
		}
	}

	srv403 := ossindextest.New(t, testUser, testToken)
	srv403.Fail(1, http.StatusForbidden)
	s, _ = newSource(t, srv403, nil, nil)
	if _, err := s.Lookup(context.Background(), manyPackages(t, 300)); !errors.As(err, &ae) || ae.Status != 403 {
		t.Errorf("403: %v", err)
	}
	if n := srv403.Requests(); n != 1 {
		t.Errorf("403: requests = %d, want 1", n)
	}
}

func TestServerErrorsExhausted(t *testing.T) {
	ctx := context.Background()
	srv := ossindextest.New(t, testUser, testToken)
	srv.Fail(1000, http.StatusBadGateway)
	st := openStore(t, t.TempDir())
	s, sl := newSource(t, srv, st, func(o *Options) { o.MaxRetries = 2 })
	in := manyPackages(t, 200) // two batches
	a, err := s.Lookup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, ans := range a {
		if ans.Err == nil || !strings.Contains(ans.Err.Error(), "HTTP 502") || len(ans.Vulns) != 0 {
			t.Fatalf("answer %d = %+v, want an HTTP 502 error", i, ans)
		}
	}
	if n := srv.Requests(); n != 2*3 {
		t.Errorf("requests = %d, want 6 (2 batches x 3 attempts)", n)
	}
	if n := len(sl.all()); n != 2*2 {
		t.Errorf("waits = %d, want 4", n)
	}
	// Failures are not cached: a healthy server is asked again.
	srv.Fail(0, 0)
	srv.Reset()
	a, err = s.Lookup(ctx, in)
	if err != nil || a[0].Err != nil || len(a[0].Vulns) != 3 {
		t.Fatalf("after recovery: %v %+v", err, a[0])
	}
	if n := srv.Requests(); n != 2 {
		t.Errorf("after recovery: %d requests, want 2", n)
	}
}

func TestPartialFailure(t *testing.T) {
	srv := ossindextest.New(t, testUser, testToken)
	srv.FailIf("pkg:npm/test-pkg-0200@1.4.0")
	in := manyPackages(t, 300) // batches [0,128) [128,256) [256,300)
	s, _ := newSource(t, srv, nil, func(o *Options) { o.MaxRetries = 1 })
	a, err := s.Lookup(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	for i, ans := range a {
		failed := i >= 128 && i < 256
		if failed != (ans.Err != nil) {
			t.Errorf("answer %d: err = %v, want failed=%v", i, ans.Err, failed)
		}
	}
	if st := s.Stats(); st.Failed != 128 || st.Fetched != 172 {
		t.Errorf("stats = %+v", st)
	}

	// Through the scanner, the failed components carry "not checked by".
	s, _ = newSource(t, srv, nil, func(o *Options) { o.MaxRetries = 1; o.BatchSize = 1 })
	sc := match.NewScanner(nil, nil).WithSources(false, s)
	comps := []match.Component{{Input: "pkg:npm/test-pkg-0200@1.4.0"}, {Input: "pkg:npm/lodash@4.17.20"}, {Input: "pkg:deb/debian/openssl@1.1.1?distro=debian-11"}}
	res, err := sc.Scan(context.Background(), comps)
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].Errors) != 1 || !strings.HasPrefix(res[0].Errors[0], "not checked by OSS Index: ") || !strings.Contains(res[0].Errors[0], "HTTP 503") {
		t.Errorf("failed component errors = %q", res[0].Errors)
	}
	if len(res[1].Findings) != 3 || len(res[1].Errors) != 0 {
		t.Errorf("lodash = %+v", res[1])
	}
	if len(res[2].Errors) != 1 || res[2].Errors[0] != "not checked by OSS Index: unsupported type (deb)" {
		t.Errorf("deb errors = %q", res[2].Errors)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"0":  0,
		"12": 12 * time.Second,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got, ok := parseRetryAfter(in, now); !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "soon", "-3"} {
		if _, ok := parseRetryAfter(in, now); ok {
			t.Errorf("parseRetryAfter(%q) accepted", in)
		}
	}
}
