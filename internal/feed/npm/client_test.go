package npm_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// TestNPMWhatTheUserSees drives the real npm through a filtering feed
// and checks the words npm prints: the caution notice, why a filtered
// version is refused, upstream failures; that one install makes one
// upstream metadata request; version manifests; and npm audit answered
// from vulngate's store with the feed's assessments.
func TestNPMWhatTheUserSees(t *testing.T) {
	feedtest.Need(t, "npm")
	feedtest.Need(t, "node")
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"npm"}})
	up := feedtest.NewUpstream(t)
	const mal = "@lottiefiles/lottie-player"
	registry(t, up, mal, "2.0.7", "2.0.4", "2.0.7", "2.0.8")
	registry(t, up, "ansi-html", "0.0.8", "0.0.7", "0.0.8")
	env.AddFeed(t, store.Feed{Name: "npm", Type: "npm", Upstream: up.URL, Unassessed: "warn", FilterBlocked: true})
	reg := "--registry=" + env.URL("npm") + "/"
	args := []string{"--no-fund", reg}

	// Caution: installed, and npm prints the notice, with the nearest
	// version the upstream publishes that fixes the finding.
	dir := project(t)
	r := feedtest.Run(t, dir, npmEnv(t), "npm", append([]string{"install", "--no-audit", "ansi-html@0.0.7"}, args...)...)
	if r.Err != nil || installedVersion(t, dir, "ansi-html") != "0.0.7" {
		t.Fatalf("install of a caution version failed: %v", r.Err)
	}
	for _, want := range []string{"npm notice vulngate warns about ansi-html 0.0.7 (feed npm): CVE-2021-23424 Caution; upgrade to 0.0.8 (patch)\n"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("npm output lacks %q", want)
		}
	}
	if n := up.HitCount("/ansi-html"); n != 1 {
		t.Errorf("one install made %d upstream metadata requests for ansi-html, want 1", n)
	}

	// A filtered (here: malicious) version asked for by name: it is in
	// the packument (deprecated, so ranges avoid it), so npm asks for the
	// tarball and prints why it is refused (not "No matching version").
	r = feedtest.Run(t, project(t), npmEnv(t), "npm", append([]string{"install", "--no-audit", mal + "@2.0.7"}, args...)...)
	if r.Err == nil {
		t.Fatal("install of a filtered version succeeded")
	}
	for _, want := range []string{"npm notice vulngate blocked @lottiefiles/lottie-player 2.0.7 (feed npm): known malicious package MAL-2024-10301; upgrade to 2.0.8 (patch); do not install it",
		"403 Forbidden", "Upgrade to 2.0.8 (patch step): the nearest version published by the upstream without known vulnerabilities."} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("npm output for a filtered version lacks %q", want)
		}
	}
	env.Proxy.Env().Gate.Flush()
	ds, err := env.Store.FeedDecisions(t.Context(), "npm", 100)
	if err != nil {
		t.Fatal(err)
	}
	hidden := false
	for _, d := range ds {
		hidden = hidden || (d.Effect == "hidden" && d.PURL == "pkg:npm/%40lottiefiles/lottie-player@2.0.7")
	}
	if !hidden {
		t.Errorf("no audit row for the hidden version: %+v", ds)
	}

	// Version manifests.
	for p, want := range map[string]string{"/ansi-html/0.0.8": "0.0.8", "/ansi-html/latest": "0.0.8", "/@lottiefiles/lottie-player/latest": "2.0.8"} {
		res, err := http.Get(env.URL("npm") + p)
		if err != nil {
			t.Fatal(err)
		}
		var man struct {
			Version string
			Dist    struct{ Tarball string }
		}
		json.NewDecoder(res.Body).Decode(&man)
		res.Body.Close()
		if res.StatusCode != 200 || man.Version != want || !strings.HasPrefix(man.Dist.Tarball, env.URL("npm")+"/") {
			t.Errorf("%s: %s version %q tarball %q", p, res.Status, man.Version, man.Dist.Tarball)
		}
	}

	// npm audit, answered by vulngate: the unassessed finding is reported;
	// once assessed Ignore for this feed, it is not.
	r = feedtest.Run(t, dir, npmEnv(t), "npm", "audit", reg)
	if r.Err == nil || !strings.Contains(r.Out, "ansi-html") || !strings.Contains(r.Out, "GHSA-whgm-jr23-g3j9") {
		t.Errorf("npm audit did not report ansi-html 0.0.7: %v", r.Err)
	}
	if _, err := env.Assessments.Set(t.Context(), assess.SetRequest{VulnID: "GHSA-whgm-jr23-g3j9", Scope: "feed:npm", Type: "Ignore", By: "test", Never: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the gate notice
	r = feedtest.Run(t, dir, npmEnv(t), "npm", "audit", reg)
	if r.Err != nil || !strings.Contains(r.Out, "found 0 vulnerabilities") {
		t.Errorf("npm audit after Ignore in feed:npm: %v", r.Err)
	}

	// Upstream down, nothing cached: npm prints vulngate's message.
	up.SetDown(true)
	r = feedtest.Run(t, project(t), npmEnv(t), "npm", append([]string{"install", "--no-audit", "--fetch-retries=0", "never-seen"}, args...)...)
	if r.Err == nil || !strings.Contains(r.Out, "vulngate feed: upstream registry unavailable") {
		t.Errorf("npm output with the upstream down lacks vulngate's message: %v", r.Err)
	}
}

// TestAuditEndpoints checks the bulk and quick audit answers' shape and
// bounds without the client.
func TestAuditEndpoints(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"npm"}})
	env.AddFeed(t, store.Feed{Name: "npm", Type: "npm", Upstream: "http://127.0.0.1:1"})
	post := func(path, body string) (int, []byte) {
		res, err := http.Post(env.URL("npm")+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	code, body := post("/-/npm/v1/security/advisories/bulk", `{"ansi-html":["0.0.7","0.0.8"],"@lottiefiles/lottie-player":["2.0.7"],"../x":["1"]}`)
	var bulk map[string][]struct {
		ID                 uint32
		Title, Severity    string
		URL                string
		VulnerableVersions string `json:"vulnerable_versions"`
	}
	if err := json.Unmarshal(body, &bulk); code != 200 || err != nil {
		t.Fatalf("bulk: %d %s", code, body)
	}
	if a := bulk["ansi-html"]; len(a) != 1 || a[0].VulnerableVersions != ">=0.0.0 <0.0.8" || a[0].Severity != "high" || !strings.HasSuffix(a[0].URL, "/GHSA-whgm-jr23-g3j9") {
		t.Errorf("ansi-html: %+v", a)
	}
	if a := bulk["@lottiefiles/lottie-player"]; len(a) != 1 || a[0].Severity != "critical" || !strings.Contains(a[0].Title, "known malicious package") || a[0].VulnerableVersions != "=2.0.5 || =2.0.6 || =2.0.7" {
		t.Errorf("malware: %+v", a)
	}
	if len(bulk) != 2 {
		t.Errorf("bulk answered for %d packages: %s", len(bulk), body)
	}
	code, body = post("/-/npm/v1/security/audits/quick", `{"name":"app","version":"1.0.0","dependencies":{"ansi-html":{"version":"0.0.7"}}}`)
	var quick struct {
		Advisories map[string]struct {
			ModuleName string `json:"module_name"`
			Findings   []struct {
				Version string
				Paths   []string
			}
		}
		Metadata struct{ Vulnerabilities map[string]int }
	}
	if err := json.Unmarshal(body, &quick); code != 200 || err != nil || len(quick.Advisories) != 1 || quick.Metadata.Vulnerabilities["high"] != 1 {
		t.Fatalf("quick: %d %s", code, body)
	}
	for _, a := range quick.Advisories {
		if a.ModuleName != "ansi-html" || len(a.Findings) != 1 || a.Findings[0].Paths[0] != "ansi-html" {
			t.Errorf("quick advisory: %+v", a)
		}
	}
	if code, _ := post("/-/npm/v1/security/advisories/bulk", `not json`); code != 400 {
		t.Errorf("bad body: %d", code)
	}
	if code, _ := post("/ansi-html", `{}`); code != http.StatusMethodNotAllowed {
		t.Errorf("POST elsewhere: %d", code)
	}
	if code, _ := post("/-/npm/v1/security/advisories/bulk", `{"ansi-html":["0.0.7"]}`); code != 200 {
		t.Errorf("again: %d", code)
	}
	// Nothing was recorded by audits.
	env.Proxy.Env().Gate.Flush()
	if ds, _ := env.Store.FeedDecisions(t.Context(), "npm", 10); len(ds) != 0 {
		t.Errorf("audits left audit rows: %+v", ds)
	}
}
