package nuget_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// TestNuGetWords checks, at protocol level (there is no dotnet here), the
// X-NuGet-Warning header and reason phrase NuGet shows in each
// situation: blocked, known malware, caution (a warning on a served
// package), a filtered version (gone from the version list, refused by
// name), unapproved, the upstream down; and IDs in any letter case.
func TestNuGetWords(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"NuGet"}})
	up := feedtest.NewUpstream(t)
	publish(up, "Google.Protobuf", "3.14.0", "3.15.0")
	publish(up, "Bunifu.Form", "1.0.1")
	publish(up, "BouncyCastle.Cryptography", "2.3.0")
	idx := up.URL + "/v3/index.json"
	env.AddFeed(t, store.Feed{Name: "nuget", Type: "nuget", Upstream: idx, Unassessed: "warn"})
	env.AddFeed(t, store.Feed{Name: "filtered", Type: "nuget", Upstream: idx, Unassessed: "warn", FilterBlocked: true})
	env.AddFeed(t, store.Feed{Name: "approved", Type: "nuget", Upstream: idx, Unassessed: "allow", RequireApproval: true})
	env.Assess(t, "GHSA-77rm-9x9h-xj3g", "Blocked")
	get := func(feed, p string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(env.URL(feed) + "/v3-flatcontainer/" + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	words := func(situation string, res *http.Response, status int, want string) {
		t.Helper()
		w := res.Header.Get("X-NuGet-Warning")
		if res.StatusCode != status || !strings.Contains(w, want) || (status >= 400 && !strings.Contains(res.Status, want)) {
			t.Errorf("nuget %s: %s, X-NuGet-Warning %q; want %d and %q", situation, res.Status, w, status, want)
		}
		t.Logf("WORDS nuget %s: %s | X-NuGet-Warning: %s", situation, res.Status, w)
	}
	res, _ := get("nuget", "google.protobuf/3.14.0/google.protobuf.3.14.0.nupkg")
	// The version list was not asked for: the refusal reads it upstream.
	words("blocked", res, 403, "vulngate blocked google.protobuf 3.14.0 (feed nuget): CVE-2021-22570 Blocked; upgrade to 3.15.0 (minor) or have it reassessed in vulngate")
	res, _ = get("nuget", "bunifu.form/1.0.1/bunifu.form.1.0.1.nupkg")
	words("malicious", res, 403, "known malicious package MAL-2024-11505")
	res, _ = get("nuget", "bouncycastle.cryptography/2.3.0/bouncycastle.cryptography.2.3.0.nupkg")
	// A served download reads only what is cached: nothing here, so the
	// advisories' fix is named, as such.
	words("caution", res, 200, "vulngate warns about bouncycastle.cryptography 2.3.0 (feed nuget): CVE-2024-29857")
	words("caution", res, 200, "; fixed in 2.3.1 (patch)")
	// Restore reads the version list first: then it is the upstream's.
	get("nuget", "bouncycastle.cryptography/index.json")
	env.Proxy.Env().Gate.Invalidate()
	res, _ = get("nuget", "bouncycastle.cryptography/2.3.0/bouncycastle.cryptography.2.3.0.nupkg")
	words("caution, list read", res, 200, "; no published version fixes")
	_, list := get("filtered", "google.protobuf/index.json")
	if strings.Contains(list, "3.14.0") || !strings.Contains(list, "3.15.0") {
		t.Errorf("filtered version list: %s", list)
	}
	res, _ = get("filtered", "google.protobuf/3.14.0/google.protobuf.3.14.0.nupkg")
	words("filtered", res, 403, "vulngate blocked google.protobuf 3.14.0 (feed filtered)")
	res, _ = get("approved", "Google.Protobuf/3.15.0/Google.Protobuf.3.15.0.nupkg")
	words("unapproved", res, 403, "vulngate: google.protobuf 3.15.0 is not approved for feed approved; approval requested")
	up.SetDown(true)
	env.Proxy.Forget("nuget")
	res, _ = get("nuget", "bouncycastle.cryptography/2.4.0/bouncycastle.cryptography.2.4.0.nupkg")
	words("upstream down", res, 502, "vulngate feed: upstream registry unavailable")
}
