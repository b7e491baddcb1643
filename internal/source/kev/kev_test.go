package kev

import (
	"bytes"
	"compress/gzip"
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

func catalogue(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	c, err := Parse(bytes.NewReader(catalogue(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "2026.11.30" || len(c.Entries) != 4 {
		t.Fatalf("version %q, %d entries", c.Version, len(c.Entries))
	}
	log4j := c.Entries[0]
	if log4j.CVE != "CVE-2021-44228" || log4j.Vendor != "Apache" || log4j.DateAdded != "2021-12-10" || log4j.DueDate != "2021-12-24" || log4j.Ransomware != "Known" {
		t.Errorf("first entry %+v", log4j)
	}
	want := []string{`entry 5: cveID "CVE-BAD-1" is not a CVE ID`, `CVE-2024-0001: dateAdded "01/02/2024" is not YYYY-MM-DD`}
	if strings.Join(c.Malformed, "|") != strings.Join(want, "|") {
		t.Errorf("malformed %q, want %q", c.Malformed, want)
	}
	for _, bad := range []string{``, `[]`, `{"title":"x"}`, `{"vulnerabilities": 3}`, `not json`} {
		if _, err := Parse(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "not a KEV catalogue") {
			t.Errorf("Parse(%q) = %v, want a clear error", bad, err)
		}
	}
}

// A sync from a local server (gzip-compressed on the wire, as a mirror may
// serve it) and from a file:// copy replaces the stored catalogue; a file
// that is not a catalogue, or lists nothing valid, leaves it as it was.
func TestSync(t *testing.T) {
	plain := catalogue(t)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain)
	zw.Close()
	body := zipped.Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != "vulngate/test" {
			http.Error(w, "no user agent", http.StatusBadRequest)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		body = zipped.Bytes()
		rep, err := Sync(ctx, st, srv.URL+"/kev.json?key=secret", remote.Options{UserAgent: "vulngate/test"})
		if err != nil || rep.Records != 4 || len(rep.Malformed) != 2 || rep.Version != "2026.11.30" {
			t.Fatalf("sync: %+v %v", rep, err)
		}
		facts, err := st.VulnFacts(ctx, []string{"CVE-2023-44487", "CVE-2022-42889", "GHSA-qppj-fm5r-hxr3"})
		if err != nil {
			t.Fatal(err)
		}
		if k := facts["CVE-2023-44487"].KEV; k == nil || k.Name != "HTTP/2 Rapid Reset Attack Vulnerability" || k.DueDate != "2023-10-31" {
			t.Errorf("stored entry %+v", k)
		}
		if _, ok := facts["CVE-2022-42889"]; ok {
			t.Error("a CVE the catalogue does not list has facts")
		}
		state, ok, err := st.EnrichmentStateOf(ctx, Name)
		if err != nil || !ok || state.Records != 4 || state.Malformed != 2 || strings.Contains(state.URL, "secret") {
			t.Errorf("state %+v %v (the URL's query must not be kept)", state, err)
		}

		for _, bad := range [][]byte{[]byte("<html>maintenance</html>"), []byte(`{"vulnerabilities":[]}`), []byte(`{"vulnerabilities":[{"cveID":"nope"}]}`)} {
			body = bad
			if _, err := Sync(ctx, st, srv.URL, remote.Options{UserAgent: "vulngate/test"}); err == nil {
				t.Errorf("sync of %q succeeded", bad)
			}
		}
		facts, _ = st.VulnFacts(ctx, []string{"CVE-2021-44228"})
		if facts["CVE-2021-44228"].KEV == nil {
			t.Error("a failed sync cleared the stored catalogue")
		}

		// Offline: a file:// copy, a smaller catalogue replacing the larger.
		dir := t.TempDir()
		one := strings.Replace(string(plain), `"cveID": "CVE-2021-44228"`, `"cveID": "CVE-2021-44229"`, 1)
		os.WriteFile(filepath.Join(dir, "kev.json"), []byte(one), 0o644)
		if rep, err := Sync(ctx, st, "file://"+filepath.Join(dir, "kev.json"), remote.Options{}); err != nil || rep.Records != 4 {
			t.Fatalf("file sync: %+v %v", rep, err)
		}
		facts, _ = st.VulnFacts(ctx, []string{"CVE-2021-44228", "CVE-2021-44229"})
		if facts["CVE-2021-44228"].KEV != nil || facts["CVE-2021-44229"].KEV == nil {
			t.Error("the catalogue was not replaced as a whole")
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add(catalogue(f))
	f.Add([]byte(`{"vulnerabilities":[{"cveID":"CVE-2024-1234","dateAdded":"2024-02-30"}]}`))
	f.Add([]byte(`{"vulnerabilities":[null, 1, "x", {"cveID": 5}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range c.Entries {
			if !cveRE.MatchString(e.CVE) || !isDate(e.DateAdded) {
				t.Fatalf("accepted entry %+v", e)
			}
		}
	})
}
