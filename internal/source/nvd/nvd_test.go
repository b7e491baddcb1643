package nvd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func sample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "nvdcve-2.0-sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	var recs []store.NVDRecord
	p, err := Parse(bytes.NewReader(sample(t)), func(r store.NVDRecord) error { recs = append(recs, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if p.TotalResults != 5 || p.Format != "NVD_CVE" || p.Records != 3 || len(recs) != 3 {
		t.Fatalf("page %+v, %d records", p, len(recs))
	}
	want := []string{`CVE-2023-99999: lastModified "yesterday" is not a time`, `vulnerabilities[4]: id "GHSA-xxxx-yyyy-zzzz" is not a CVE ID`}
	if strings.Join(p.Malformed, "|") != strings.Join(want, "|") {
		t.Errorf("malformed %q", p.Malformed)
	}
	go1 := recs[0]
	if go1.ID != "CVE-2021-38297" || !go1.Published.Equal(time.Date(2021, 10, 18, 6, 15, 7, 123e6, time.UTC)) || go1.Status != "Modified" ||
		!strings.HasPrefix(go1.Description, "Go before 1.16.9") || len(go1.Metrics) != 2 || go1.Metrics[0].Version != "3.1" || go1.Metrics[1].Version != "2.0" ||
		strings.Join(go1.CWEs, ",") != "CWE-120" {
		t.Errorf("record %+v", go1)
	}
	if got := strings.Join(recs[1].CWEs, ","); got != "CWE-770" {
		t.Errorf("NVD-CWE-noinfo must be left out: %s", got)
	}
	if got := strings.Join(recs[2].CWEs, ","); got != "CWE-1333" {
		t.Errorf("CWEs deduplicated: %s", got)
	}
	sc, ok := match.NVDSeverity(recs[2])
	if !ok || sc.Score != 6.9 || sc.Type != "CVSS_V4" || sc.Record != "CVE-2024-45338" {
		t.Errorf("v4.0 preferred: %+v", sc)
	}
	for _, bad := range []string{``, `[]`, `{"resultsPerPage": 1}`, `{"vulnerabilities": {}}`, `{"vulnerabilities": [`, `{"vulnerabilities": [{"cve": 3}]}`} {
		if _, err := Parse(strings.NewReader(bad), func(store.NVDRecord) error { return nil }); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// fakeAPI serves the sample's records like the CVE API 2.0: pages by
// startIndex/resultsPerPage, and only records modified in the window when
// lastModStartDate/lastModEndDate are given.
type fakeAPI struct {
	mu      sync.Mutex
	recs    []json.RawMessage
	mods    []time.Time
	queries []string
	keys    []string
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	var doc struct {
		Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(sample(t), &doc); err != nil {
		t.Fatal(err)
	}
	f := &fakeAPI{}
	for _, r := range doc.Vulnerabilities[:3] { // the valid ones
		var it struct {
			CVE struct {
				LastModified string `json:"lastModified"`
			} `json:"cve"`
		}
		json.Unmarshal(r, &it)
		m, _ := parseTime(it.CVE.LastModified)
		f.recs, f.mods = append(f.recs, r), append(f.mods, m)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	f.queries = append(f.queries, r.URL.RawQuery)
	f.keys = append(f.keys, r.Header.Get("apiKey"))
	start, _ := strconv.Atoi(q.Get("startIndex"))
	size, _ := strconv.Atoi(q.Get("resultsPerPage"))
	var from, to time.Time
	if s := q.Get("lastModStartDate"); s != "" {
		var err1, err2 error
		from, err1 = time.Parse(apiTimeLayout, s)
		to, err2 = time.Parse(apiTimeLayout, q.Get("lastModEndDate"))
		if err1 != nil || err2 != nil || to.Sub(from) > maxWindow {
			http.Error(w, "bad dates", http.StatusNotFound)
			return
		}
	}
	var sel []json.RawMessage
	for i, r := range f.recs {
		if from.IsZero() || (!f.mods[i].Before(from) && !f.mods[i].After(to)) {
			sel = append(sel, r)
		}
	}
	page := sel[min(start, len(sel)):min(start+size, len(sel))]
	fmt.Fprintf(w, `{"resultsPerPage":%d,"startIndex":%d,"totalResults":%d,"format":"NVD_CVE","version":"2.0","timestamp":"2026-11-30T08:00:00.000","vulnerabilities":[`, len(page), start, len(sel))
	for i, r := range page {
		if i > 0 {
			w.Write([]byte(","))
		}
		w.Write(r)
	}
	w.Write([]byte("]}"))
}

// The API is paged, the key sent in its header, and a later sync asks only
// for what changed since the last one; records land on both engines.
func TestSyncAPI(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		api, srv := newFakeAPI(t)
		now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		o := Options{URL: srv.URL + "/rest/json/cves/2.0", APIKey: "k-123", Delay: time.Millisecond, PageSize: 2, Now: func() time.Time { return now }}
		rep, err := Sync(ctx, st, o)
		if err != nil || rep.Mode != "full" || rep.Requests != 2 || rep.Records != 3 || rep.Total != 3 {
			t.Fatalf("first sync %+v %v", rep, err)
		}
		if api.keys[0] != "k-123" || strings.Contains(strings.Join(api.queries, "&"), "k-123") {
			t.Errorf("the key goes in the header only: %q %q", api.keys, api.queries)
		}
		if !strings.Contains(api.queries[1], "startIndex=2") || !strings.Contains(api.queries[1], "resultsPerPage=2") {
			t.Errorf("second page query %q", api.queries[1])
		}
		facts, err := st.VulnFacts(ctx, []string{"CVE-2021-38297"})
		if err != nil {
			t.Fatal(err)
		}
		n := facts["CVE-2021-38297"].NVD
		if n == nil || len(n.Metrics) != 2 || n.Metrics[0].Source != "nvd@nist.gov" || n.Metrics[0].Type != "Primary" || n.CWEs[0] != "CWE-120" {
			t.Errorf("stored record %+v", n)
		}
		state, _, _ := st.EnrichmentStateOf(ctx, Name)
		if state.Version != now.Format(time.RFC3339Nano) || state.Records != 3 {
			t.Errorf("state %+v", state)
		}

		// Ten days later: only CVEs modified since the last sync started.
		api.queries = nil
		now = now.Add(10 * 24 * time.Hour)
		rep, err = Sync(ctx, st, o)
		if err != nil || rep.Mode != "incremental" || rep.Records != 0 || rep.Total != 3 {
			t.Fatalf("incremental sync %+v %v", rep, err)
		}
		if q := api.queries[0]; !strings.Contains(q, "lastModStartDate=2026-11-30T09%3A00%3A00.000%2B00%3A00") || !strings.Contains(q, "lastModEndDate=2026-12-10T09%3A00%3A00.000%2B00%3A00") {
			t.Errorf("incremental query %q", q)
		}
		// More than 120 days later: a full sync again.
		now = now.Add(200 * 24 * time.Hour)
		if rep, err = Sync(ctx, st, o); err != nil || rep.Mode != "full" || rep.Records != 3 {
			t.Fatalf("sync after 200 days %+v %v", rep, err)
		}
	})
}

// An API answering 5xx is retried and then reported, naming the URL
// without its query; nothing of the sync's state changes.
func TestSyncAPIFails(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Error(w, "upstream secret detail", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	st := storetest.SQLite(t)
	o := Options{URL: srv.URL + "/rest/json/cves/2.0", APIKey: "k-123", Delay: time.Millisecond}
	o.Remote.Backoff = time.Millisecond
	_, err := Sync(context.Background(), st, o)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "k-123") || hits != 3 {
		t.Fatalf("err %v after %d requests", err, hits)
	}
	if _, ok, _ := st.EnrichmentStateOf(context.Background(), Name); ok {
		t.Error("a failed sync recorded a state")
	}
}

// Feed files (gzipped or not, file:// or http) are read in turn.
func TestSyncFeeds(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nvdcve-2.0-2021.json"), sample(t), 0o644)
	other := strings.Replace(string(sample(t)), "CVE-2022-41717", "CVE-2022-41718", 1)
	os.WriteFile(filepath.Join(dir, "nvdcve-2.0-modified.json"), []byte(other), 0o644)
	st := storetest.SQLite(t)
	o := Options{URL: "file://" + filepath.Join(dir, "nvdcve-2.0-2021.json") + ", file://" + filepath.Join(dir, "nvdcve-2.0-modified.json")}
	rep, err := Sync(context.Background(), st, o)
	if err != nil || rep.Mode != "feeds" || rep.Requests != 2 || rep.Records != 6 || rep.Total != 4 || len(rep.Malformed) != 4 {
		t.Fatalf("feeds %+v %v", rep, err)
	}
	state, _, _ := st.EnrichmentStateOf(context.Background(), Name)
	if state.Version != "2025-02-21T18:15:17.717Z" {
		t.Errorf("version %q, want the newest lastModified", state.Version)
	}
	if !IsFeed("https://nvd.example/feeds/json/cve/2.0/nvdcve-2.0-modified.json.gz") || IsFeed(DefaultURL) {
		t.Error("IsFeed")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample(f))
	f.Add([]byte(`{"vulnerabilities":[{"cve":{"id":"CVE-2020-0001","lastModified":"2020-01-01T00:00:00","metrics":{"cvssMetricV31":[{"cvssData":{"vectorString":"x"}}]}}}]}`))
	f.Add([]byte(`{"totalResults":"x","vulnerabilities":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(bytes.NewReader(data), func(r store.NVDRecord) error {
			if !cveRE.MatchString(r.ID) || r.LastModified.IsZero() {
				t.Fatalf("accepted %+v", r)
			}
			match.NVDSeverity(r)
			return nil
		})
	})
}
