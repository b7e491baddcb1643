package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/source/enrich"
)

// "vulngate mirror kev|epss|nvd" read their sources (a local server and
// file:// copies), "mirror status" shows them, and a scan shows what they
// said: the table's EXPLOIT column and severity from NVD, the JSON's
// known_exploited and epss. The NVD key from the environment is sent and
// never printed.
func TestMirrorEnrichmentAndScan(t *testing.T) {
	data := mirrored(t, "crates.io")
	dir := t.TempDir()
	kev := `{"catalogVersion":"2026.11.30","vulnerabilities":[{"cveID":"CVE-2021-25900","vendorProject":"servo","product":"smallvec","vulnerabilityName":"smallvec insert_many buffer overflow","dateAdded":"2026-11-02","dueDate":"2026-11-23","knownRansomwareCampaignUse":"Unknown"}]}`
	var gotKey string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/kev.json":
			w.Write([]byte(kev))
		case "/rest/json/cves/2.0":
			gotKey = r.Header.Get("apiKey")
			w.Write([]byte(`{"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE","version":"2.0","vulnerabilities":[{"cve":{"id":"CVE-2021-25900","published":"2021-01-26T18:16:22.123","lastModified":"2024-11-21T05:54:45.000","vulnStatus":"Modified","descriptions":[{"lang":"en","value":"An issue was discovered in the smallvec crate."}],"metrics":{"cvssMetricV31":[{"source":"nvd@nist.gov","type":"Primary","cvssData":{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}]},"weaknesses":[{"source":"nvd@nist.gov","type":"Primary","description":[{"lang":"en","value":"CWE-787"}]}]}}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	os.WriteFile(filepath.Join(dir, "epss.csv"), []byte("cve,epss,percentile\nCVE-2021-25900,0.01,0.8312\n"), 0o644)

	t.Setenv("VULNGATE_NVD_API_KEY", "nvd-secret-key")
	out, stderr, err := run(t, "--data-dir", data, "mirror", "kev", "--url", srv.URL+"/kev.json")
	if err != nil || !strings.Contains(out, "CISA KEV catalogue: 1 records read, 1 held, version 2026.11.30") {
		t.Fatalf("mirror kev: %v\n%s\n%s", err, out, stderr)
	}
	mustRun(t, "--data-dir", data, "mirror", "epss", "--url", "file://"+filepath.Join(dir, "epss.csv"))
	out, stderr, err = run(t, "--data-dir", data, "-v", "mirror", "nvd", "--url", srv.URL+"/rest/json/cves/2.0")
	if err != nil || gotKey != "nvd-secret-key" || strings.Contains(out+stderr, "nvd-secret-key") {
		t.Fatalf("mirror nvd: key sent %q, err %v\n%s\n%s", gotKey, err, out, stderr)
	}
	out = mustRun(t, "--data-dir", data, "mirror", "status")
	for _, want := range []string{"ENRICHMENT", "NVD CVE records", "EPSS scores", "CISA KEV catalogue"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := run(t, "--data-dir", data, "mirror", "kev", "--url", "ftp://x"); err == nil {
		t.Error("a bad URL was accepted")
	}

	table := mustRun(t, "--data-dir", data, "scan", "pkg:cargo/smallvec@1.6.0")
	for _, want := range []string{"EXPLOIT", "KEV EPSS 83%", "CVE-2021-25900"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	out = mustRun(t, "--data-dir", data, "scan", "--format", "json", "pkg:cargo/smallvec@1.6.0")
	var doc struct {
		Components []struct {
			Findings []struct {
				ID             string          `json:"id"`
				KnownExploited json.RawMessage `json:"known_exploited"`
				EPSS           struct {
					Percentile float64 `json:"percentile"`
				} `json:"epss"`
				CWEs []string `json:"cwes"`
			} `json:"findings"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	f := doc.Components[0].Findings[0]
	if f.ID != "CVE-2021-25900" || !strings.Contains(string(f.KnownExploited), `"date_added": "2026-11-02"`) || f.EPSS.Percentile != 0.8312 || len(f.CWEs) != 1 || f.CWEs[0] != "CWE-787" {
		t.Errorf("JSON finding %+v %s", f, f.KnownExploited)
	}
	if len(enrich.Sources) != 3 {
		t.Errorf("sources %v", enrich.Sources)
	}
}
