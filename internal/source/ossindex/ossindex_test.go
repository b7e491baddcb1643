package ossindex

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/source/ossindex/ossindextest"
	"github.com/vulngate/vulngate/internal/store"
)

const (
	testUser  = "dev@example.com"
	testToken = "test-token-0123456789abcdef"
)

// sleeps records back-off waits instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newSource(t testing.TB, srv *ossindextest.Server, cache Cache, mod func(*Options)) (*Source, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	opts := Options{
		BaseURL:  srv.URL,
		Username: testUser,
		Token:    testToken,
		Cache:    cache,
		sleep:    sl.sleep,
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, sl
}

func pkgs(t testing.TB, purls ...string) []purl.Package {
	t.Helper()
	out := make([]purl.Package, len(purls))
	for i, p := range purls {
		var err error
		if out[i], err = purl.Parse(p); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// manyPackages returns n distinct npm packages, lodash@4.17.20 first.
func manyPackages(t testing.TB, n int) []purl.Package {
	list := []string{"pkg:npm/lodash@4.17.20"}
	for i := 1; i < n; i++ {
		list = append(list, fmt.Sprintf("pkg:npm/test-pkg-%04d@1.%d.0?vcs_url=x#lib", i, i%7))
	}
	return pkgs(t, list...)
}

func TestCoordinate(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"pkg:npm/%40angular/core@v12.0.1?repository_url=https://x.invalid#sub", "pkg:npm/%40angular/core@12.0.1", ""},
		{"pkg:npm/lodash@4.17.20", "pkg:npm/lodash@4.17.20", ""},
		{"pkg:pypi/Django@3.2.0", "pkg:pypi/django@3.2.0", ""},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar&classifier=sources", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", ""},
		{"pkg:nuget/Newtonsoft.Json@13.0.1", "pkg:nuget/Newtonsoft.Json@13.0.1", ""},
		{"pkg:golang/github.com/gorilla/websocket@v1.4.0#examples", "pkg:golang/github.com/gorilla/websocket@v1.4.0", ""},
		{"pkg:golang/github.com/docker/docker@v20.10.7+incompatible", "pkg:golang/github.com/docker/docker@v20.10.7", ""},
		{"pkg:gem/rails@7.0.0?platform=ruby", "pkg:gem/rails@7.0.0", ""},
		{"pkg:cargo/serde@1.0.130", "pkg:cargo/serde@1.0.130", ""},
		{"pkg:composer/symfony/http-kernel@v5.4.0", "pkg:composer/symfony/http-kernel@5.4.0", ""},
		{"pkg:conan/openssl@3.0.0?user=_&channel=_", "pkg:conan/openssl@3.0.0", ""},
		{"pkg:deb/debian/openssl@1.1.1n-0+deb11u3?distro=debian-11", "", "unsupported type (deb)"},
		{"pkg:npm/left-pad", "", "no version"},
	}
	for _, c := range cases {
		p := pkgs(t, c.in)[0]
		got, err := Coordinate(p)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("Coordinate(%s) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Coordinate(%s) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestAuthHeaders(t *testing.T) {
	ctx := context.Background()
	basic := ossindextest.New(t, testUser, testToken)
	s, _ := newSource(t, basic, nil, nil)
	if _, err := s.Lookup(ctx, pkgs(t, "pkg:npm/lodash@4.17.20")); err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testToken))
	if got := basic.Authorizations(); len(got) != 1 || got[0] != want {
		t.Errorf("basic auth headers = %q", got)
	}

	// No user name: Bearer.
	bearer := ossindextest.New(t, "", testToken)
	s, _ = newSource(t, bearer, nil, func(o *Options) { o.Username = "" })
	if _, err := s.Lookup(ctx, pkgs(t, "pkg:npm/lodash@4.17.20")); err != nil {
		t.Fatal(err)
	}
	if got := bearer.Authorizations(); len(got) != 1 || got[0] != "Bearer "+testToken {
		t.Errorf("bearer headers = %q", got)
	}

	// A Sonatype Guide personal access token is a Bearer token even with
	// a user name configured.
	const pat = "sonatype_pat_test0123456789"
	guide := ossindextest.New(t, "", pat)
	s, _ = newSource(t, guide, nil, func(o *Options) { o.Token = pat })
	if _, err := s.Lookup(ctx, pkgs(t, "pkg:npm/lodash@4.17.20")); err != nil {
		t.Fatal(err)
	}
	if got := guide.Authorizations(); len(got) != 1 || got[0] != "Bearer "+pat {
		t.Errorf("guide headers = %q", got)
	}
}

func TestColdWarmCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := ossindextest.New(t, testUser, testToken)
	st := openStore(t, dir)
	s, _ := newSource(t, srv, st, nil)
	in := manyPackages(t, 1000)
	// Duplicates are asked about once.
	in = append(in, in[0], in[1])

	answers, err := s.Lookup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n > 8 {
		t.Errorf("cold lookup of 1,000 components made %d requests, want <= 8", n)
	}
	var sent int
	for _, batch := range srv.Received() {
		if len(batch) > MaxBatch {
			t.Errorf("batch of %d coordinates", len(batch))
		}
		for _, c := range batch {
			sent++
			if strings.ContainsAny(c, "?#") {
				t.Errorf("coordinate %q is not minimal", c)
			}
		}
	}
	if sent != 1000 {
		t.Errorf("sent %d coordinates, want 1000 (each once)", sent)
	}
	if got := ids(answers[0].Vulns); !slices.Equal(got, []string{"CVE-2020-28500", "CVE-2021-23337", "sonatype-2019-0873"}) {
		t.Errorf("lodash answer = %v", got)
	}
	if got := ids(answers[1000].Vulns); !slices.Equal(got, ids(answers[0].Vulns)) {
		t.Errorf("duplicate answer = %v", got)
	}
	for i, a := range answers[1:1000] {
		if a.Err != nil || len(a.Vulns) != 0 {
			t.Fatalf("answer %d = %+v", i+1, a)
		}
	}

	// Warm: no request.
	srv.Reset()
	s2, _ := newSource(t, srv, st, nil)
	warm, err := s2.Lookup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("warm lookup made %d requests, want 0", n)
	}
	if got := ids(warm[0].Vulns); !slices.Equal(got, ids(answers[0].Vulns)) {
		t.Errorf("warm lodash answer = %v", got)
	}
	if st := s2.Stats(); st.Cached != 1000 || st.Fetched != 0 {
		t.Errorf("warm stats = %+v", st)
	}

	// Still warm after reopening the store.
	st.Close()
	st2 := openStore(t, dir)
	s3, _ := newSource(t, srv, st2, nil)
	reopened, err := s3.Lookup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("lookup after reopening the store made %d requests, want 0", n)
	}
	v := findVuln(reopened[0].Vulns, "CVE-2021-23337")
	if v == nil || len(v.Severity) != 1 || v.Severity[0].Type != osv.SeverityCVSSv3 {
		t.Errorf("cached record = %+v", v)
	}
}

func TestTTLExpiry(t *testing.T) {
	ctx := context.Background()
	srv := ossindextest.New(t, testUser, testToken)
	st := openStore(t, t.TempDir())
	now := time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, _ := newSource(t, srv, st, func(o *Options) { o.Now = clock })
	in := pkgs(t, "pkg:npm/lodash@4.17.20", "pkg:pypi/requests@2.25.0")
	if _, err := s.Lookup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 1 {
		t.Fatalf("cold: %d requests", n)
	}
	now = now.Add(11*time.Hour + 59*time.Minute)
	if _, err := s.Lookup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("within the TTL: %d requests, want still 1", n)
	}
	now = now.Add(2 * time.Minute) // 12h01m after the fetch
	a, err := s.Lookup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 2 {
		t.Errorf("after the TTL: %d requests, want 2", n)
	}
	if len(a[0].Vulns) != 3 {
		t.Errorf("refetched answer = %v", ids(a[0].Vulns))
	}
	// The refetch reset the clock for the entry.
	now = now.Add(time.Hour)
	if _, err := s.Lookup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 2 {
		t.Errorf("after refetch: %d requests, want 2", n)
	}
	// A configured TTL applies.
	short, _ := newSource(t, srv, st, func(o *Options) { o.Now = clock; o.CacheTTL = 30 * time.Minute })
	if _, err := short.Lookup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 3 {
		t.Errorf("with a 30m TTL an hour later: %d requests, want 3", n)
	}
}

func TestTooManyCoordinatesRejectedByFake(t *testing.T) {
	// The fake enforces the documented limit; the client never exceeds it.
	srv := ossindextest.New(t, testUser, testToken)
	s, _ := newSource(t, srv, nil, func(o *Options) { o.BatchSize = 500 })
	if s.opts.BatchSize != MaxBatch {
		t.Fatalf("batch size %d accepted", s.opts.BatchSize)
	}
	s.opts.BatchSize = 129 // bypass the guard: the fake must answer 400
	a, err := s.Lookup(context.Background(), manyPackages(t, 129))
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Err == nil || !strings.Contains(a[0].Err.Error(), "HTTP 400") {
		t.Errorf("answer = %+v, want HTTP 400", a[0])
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("400 retried: %d requests", n)
	}
}

func TestAnswerCaseInsensitive(t *testing.T) {
	srv := ossindextest.New(t, testUser, testToken)
	srv.Echo(strings.ToUpper)
	s, _ := newSource(t, srv, nil, nil)
	a, err := s.Lookup(context.Background(), pkgs(t, "pkg:npm/lodash@4.17.20", "pkg:npm/%40types/node@v18.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Err != nil || len(a[0].Vulns) != 3 || a[1].Err != nil {
		t.Errorf("answers = %+v", a)
	}
}

func TestConversion(t *testing.T) {
	srv := ossindextest.New(t, testUser, testToken)
	s, _ := newSource(t, srv, nil, nil)
	a, err := s.Lookup(context.Background(), pkgs(t, "pkg:npm/lodash@4.17.20", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10.1"))
	if err != nil {
		t.Fatal(err)
	}
	cve := findVuln(a[0].Vulns, "CVE-2021-23337")
	if cve == nil {
		t.Fatal("CVE-2021-23337 missing")
	}
	if cve.Summary == "" || !strings.Contains(cve.Details, "Command Injection") || len(cve.Aliases) != 0 {
		t.Errorf("CVE record = %+v", cve)
	}
	sc := severity.ForVulnerability(cve)
	if sc.Type != osv.SeverityCVSSv3 || sc.Score != 7.2 || sc.Rating != severity.High {
		t.Errorf("CVE severity = %+v", sc)
	}
	if len(cve.References) != 3 || cve.References[0].Type != "ADVISORY" {
		t.Errorf("references = %+v", cve.References)
	}
	var ds map[string]any
	json.Unmarshal(cve.DatabaseSpecific, &ds)
	if ds["source"] != "OSSINDEX" || ds["cwe"] != "CWE-77" || ds["cvssScore"] != 7.2 {
		t.Errorf("database_specific = %s", cve.DatabaseSpecific)
	}

	son := findVuln(a[0].Vulns, "sonatype-2019-0873")
	if son == nil {
		t.Fatal("sonatype-2019-0873 missing")
	}
	sc = severity.ForVulnerability(son)
	if sc.Type != osv.SeverityCVSSv2 || sc.Rating != severity.Medium {
		t.Errorf("sonatype severity = %+v", sc)
	}

	// No vector (as Sonatype Guide may answer): rated from cvssScore.
	jd := findVuln(a[1].Vulns, "CVE-2020-8840")
	if jd == nil {
		t.Fatal("CVE-2020-8840 missing")
	}
	if sc := severity.ForVulnerability(jd); sc.Rating != severity.Critical {
		t.Errorf("vector-less severity = %+v", sc)
	}
	if err := jd.Validate(); err != nil {
		t.Error(err)
	}

	// displayName differs from cve: the CVE becomes an alias.
	v := vulnerability{ID: "sonatype-2021-4242", DisplayName: "sonatype-2021-4242", CVE: "CVE-2021-4242", CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
	r := v.toOSV(time.Now())
	if r.ID != "sonatype-2021-4242" || !slices.Equal(r.Aliases, []string{"CVE-2021-4242"}) {
		t.Errorf("record %s aliases %v", r.ID, r.Aliases)
	}
	if sc := severity.ForVulnerability(r); sc.Score != 9.8 {
		t.Errorf("score recomputed from the vector = %v", sc.Score)
	}
	// An old-style opaque id is not an alias.
	v = vulnerability{ID: "7e1a3bd6-95f3-4b5a-8c1d-3c1a0c4a1111", DisplayName: "CVE-2019-10744", CVE: "CVE-2019-10744"}
	if r := v.toOSV(time.Now()); r.ID != "CVE-2019-10744" || len(r.Aliases) != 0 {
		t.Errorf("record %s aliases %v", r.ID, r.Aliases)
	}
}

// TestAliasMergeWithOSV: a CVE reported by OSS Index and by an OSV record
// aliasing it is one finding listing both sources.
func TestAliasMergeWithOSV(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	im, err := st.BeginImport(ctx, "npm", "OSV")
	if err != nil {
		t.Fatal(err)
	}
	rec := `{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2021-23337"],"summary":"Command Injection in lodash",
"affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}],
"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}]}`
	if err := im.Add(ctx, store.Record{ID: "GHSA-35jh-r3h4-6jhm", Modified: time.Now(), Aliases: []string{"CVE-2021-23337"},
		Packages: []store.PackageKey{{Ecosystem: "npm", Name: "lodash"}}, Data: []byte(rec)}); err != nil {
		t.Fatal(err)
	}
	if _, err := im.Commit(ctx, store.PartitionState{LastSync: time.Now()}); err != nil {
		t.Fatal(err)
	}
	srv := ossindextest.New(t, testUser, testToken)
	s, _ := newSource(t, srv, st, nil)
	res, err := match.NewScanner(st, nil).WithSources(true, s).Scan(ctx, []match.Component{{Input: "pkg:npm/lodash@4.17.20"}})
	if err != nil {
		t.Fatal(err)
	}
	var merged *match.Scored
	for i, f := range res[0].Findings {
		if slices.Contains(f.IDs, "CVE-2021-23337") {
			if merged != nil {
				t.Fatalf("CVE-2021-23337 in two findings")
			}
			merged = &res[0].Findings[i]
		}
	}
	if merged == nil {
		t.Fatalf("findings = %+v", res[0].Findings)
	}
	if !slices.Equal(merged.Sources, []string{"OSSINDEX", "OSV"}) || merged.ID != "CVE-2021-23337" ||
		!slices.Equal(merged.IDs, []string{"CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"}) || !slices.Equal(merged.Fixed, []string{"4.17.21"}) {
		t.Errorf("merged finding = %+v", merged.Finding)
	}
	if len(res[0].Findings) != 3 {
		t.Errorf("findings = %d, want 3 (one merged, two OSS Index only)", len(res[0].Findings))
	}
}

func TestTokenRedactedFromErrors(t *testing.T) {
	// A server that echoes the Authorization header in an error body, for
	// a token sent as Bearer (no user name) and as Basic (user:token).
	for _, user := range []string{"", "alice@example.com"} {
		srv := ossindextest.New(t, "", testToken)
		srv.Config.Handler = &echoServer{}
		var logs bytes.Buffer
		s, _ := newSource(t, srv, nil, func(o *Options) {
			o.Username = user
			o.MaxRetries = 1
			o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		a, err := s.Lookup(context.Background(), pkgs(t, "pkg:npm/lodash@4.17.20"))
		if err != nil {
			t.Fatal(err)
		}
		if a[0].Err == nil || !strings.Contains(a[0].Err.Error(), "HTTP 500") {
			t.Errorf("error = %v", a[0].Err)
		}
		// Neither the token in any form nor the upstream's body gets out.
		for _, out := range []string{a[0].Err.Error(), logs.String()} {
			for _, f := range append(secret.Forms(user, testToken), "internal error for") {
				if strings.Contains(out, f) {
					t.Errorf("user %q: %q leaked: %s", user, f, out)
				}
			}
		}
	}
}

type echoServer struct{}

func (echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "internal error for "+r.Header.Get("Authorization"), http.StatusInternalServerError)
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{
		{},
		{Token: "x", BaseURL: "ftp://example.invalid"},
		{Token: "x", BaseURL: "https://user:pw@example.invalid"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	s, err := New(Options{Token: "x", BaseURL: GuideBaseURL + "/"})
	if err != nil || s.endpoint != "https://api.guide.sonatype.com/api/v3/authorized/component-report" {
		t.Errorf("guide endpoint = %q, %v", s.endpoint, err)
	}
}

// TestLatencyFigure reports the time a cold lookup of 1,000 components
// takes when every request costs 100 ms (no timed assertion).
func TestLatencyFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("latency figure")
	}
	srv := ossindextest.New(t, testUser, testToken)
	srv.SetLatency(100 * time.Millisecond)
	st := openStore(t, t.TempDir())
	s, _ := newSource(t, srv, st, nil)
	s.sleep = sleepCtx
	in := manyPackages(t, 1000)
	start := time.Now()
	if _, err := s.Lookup(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	coldReq := srv.Requests()
	start = time.Now()
	if _, err := s.Lookup(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	warm := time.Since(start)
	t.Logf("1,000 components, 100 ms per request: cold %v (%d requests), warm %v (%d requests)",
		cold.Round(time.Millisecond), coldReq, warm.Round(time.Millisecond), srv.Requests()-coldReq)
}

func BenchmarkLookupCold1000Latency100ms(b *testing.B) {
	srv := ossindextest.New(b, testUser, testToken)
	srv.SetLatency(100 * time.Millisecond)
	in := manyPackages(b, 1000)
	for b.Loop() {
		st := openStore(b, b.TempDir())
		s, _ := newSource(b, srv, st, nil)
		if _, err := s.Lookup(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func ids(vs []*osv.Vulnerability) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID)
	}
	slices.Sort(out)
	return out
}

func findVuln(vs []*osv.Vulnerability, id string) *osv.Vulnerability {
	for _, v := range vs {
		if v.ID == id {
			return v
		}
	}
	return nil
}
