package epss

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/source/remote"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	s, err := Parse(bytes.NewReader(testdata(t, "epss_scores-2026-11-30.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if s.Model != "v2025.03.14" || s.ScoreDate != "2026-11-30T12:55:00Z" || len(s.Scores) != 7 || s.Skipped != 4 {
		t.Fatalf("model %q date %q scores %d skipped %d", s.Model, s.ScoreDate, len(s.Scores), s.Skipped)
	}
	if got := s.Scores[2]; got != (store.EPSSScore{CVE: "CVE-2021-44228", EPSS: 0.944, Percentile: 0.99972}) {
		t.Errorf("row %+v", got)
	}
	want := []string{
		`line 10: CVE-2024-99999: epss "not-a-number" is not a number from 0 to 1`,
		`line 11: "NOT-A-CVE" is not a CVE ID`,
		`line 12: CVE-2021-44228: listed twice, the first kept`,
		`line 13: CVE-2023-0001: epss "1.5" is not a number from 0 to 1`,
	}
	if strings.Join(s.Malformed, "|") != strings.Join(want, "|") {
		t.Errorf("malformed\n%q\nwant\n%q", s.Malformed, want)
	}
	// Columns are found by name, not position; a file without the header
	// is refused.
	s, err = Parse(strings.NewReader("percentile,cve,epss\n0.5,CVE-2020-1234,0.25\n"))
	if err != nil || len(s.Scores) != 1 || s.Scores[0].EPSS != 0.25 || s.Scores[0].Percentile != 0.5 {
		t.Errorf("reordered columns: %+v %v", s, err)
	}
	for _, bad := range []string{"", "#model_version:v1\n", "cve,score\nCVE-2020-1234,0.1\n", "<html></html>\n"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "not an EPSS scores file") {
			t.Errorf("Parse(%q) = %v", bad, err)
		}
	}
}

func TestSync(t *testing.T) {
	body := testdata(t, "epss_scores-2026-11-30.csv.gz")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		body = testdata(t, "epss_scores-2026-11-30.csv.gz")
		rep, err := Sync(ctx, st, srv.URL+"/epss_scores-current.csv.gz", remote.Options{})
		if err != nil || rep.Records != 7 || rep.Skipped != 4 || rep.Version != "v2025.03.14 2026-11-30T12:55:00Z" {
			t.Fatalf("sync %+v %v", rep, err)
		}
		facts, err := st.VulnFacts(ctx, []string{"CVE-2022-42889", "CVE-2024-99999"})
		if err != nil {
			t.Fatal(err)
		}
		if e := facts["CVE-2022-42889"].EPSS; e == nil || e.EPSS != 0.94145 || e.Percentile != 0.99912 {
			t.Errorf("stored score %+v", e)
		}
		if _, ok := facts["CVE-2024-99999"]; ok {
			t.Error("a skipped row was stored")
		}
		// A response that is not a scores file keeps the stored scores.
		body = []byte("<html>rate limited</html>")
		if _, err := Sync(ctx, st, srv.URL, remote.Options{}); err == nil {
			t.Error("sync of an HTML page succeeded")
		}
		body = []byte("cve,epss,percentile\n")
		if _, err := Sync(ctx, st, srv.URL, remote.Options{}); err == nil {
			t.Error("sync of an empty file succeeded")
		}
		// Offline from a plain CSV copy; the scores are replaced as a whole.
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "scores.csv"), []byte("cve,epss,percentile\nCVE-2020-15250,0.1,0.9\n"), 0o644)
		if rep, err := Sync(ctx, st, "file://"+filepath.Join(dir, "scores.csv"), remote.Options{}); err != nil || rep.Records != 1 {
			t.Fatalf("file sync %+v %v", rep, err)
		}
		facts, _ = st.VulnFacts(ctx, []string{"CVE-2022-42889", "CVE-2020-15250"})
		if facts["CVE-2022-42889"].EPSS != nil || facts["CVE-2020-15250"].EPSS == nil || facts["CVE-2020-15250"].EPSS.EPSS != 0.1 {
			t.Errorf("scores not replaced: %+v", facts)
		}
	})
}

// A body larger than the limit stops the sync rather than filling memory.
func TestSyncBounded(t *testing.T) {
	big := "cve,epss,percentile\n" + strings.Repeat("CVE-2020-1234,0.1,0.2\n", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big)) }))
	defer srv.Close()
	st := storetest.SQLite(t)
	if _, err := Sync(context.Background(), st, srv.URL, remote.Options{MaxBytes: 1000}); err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Errorf("oversized body: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(testdata(f, "epss_scores-2026-11-30.csv"))
	f.Add([]byte("cve,epss,percentile\nCVE-2020-1234,1e-3,0.5\n"))
	f.Add([]byte("#\ncve,epss,percentile\n,,,\n"))
	f.Add([]byte("cve,epss,percentile\nCVE-2020-1234,NaN,0.5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, sc := range s.Scores {
			if !cveRE.MatchString(sc.CVE) || !(sc.EPSS >= 0 && sc.EPSS <= 1) || !(sc.Percentile >= 0 && sc.Percentile <= 1) {
				t.Fatalf("accepted %+v", sc)
			}
		}
	})
}
