package nuget_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// publish serves a NuGet v3 upstream: service index, flat container and
// registration for id's versions.
func publish(up *feedtest.Upstream, id string, versions ...string) {
	lower := strings.ToLower(id)
	idx, _ := json.Marshal(map[string]any{"version": "3.0.0", "resources": []map[string]string{
		{"@id": up.URL + "/flat/", "@type": "PackageBaseAddress/3.0.0"},
		{"@id": up.URL + "/reg/", "@type": "RegistrationsBaseUrl/3.6.0"},
		{"@id": up.URL + "/query", "@type": "SearchQueryService"},
	}})
	up.Put("/v3/index.json", "application/json", idx)
	vs, _ := json.Marshal(map[string][]string{"versions": versions})
	up.Put("/flat/"+lower+"/index.json", "application/json", vs)
	var items []map[string]any
	for _, v := range versions {
		up.Put("/flat/"+lower+"/"+v+"/"+lower+"."+v+".nupkg", "application/octet-stream", []byte("PK-nupkg-"+id+"-"+v))
		up.Put("/flat/"+lower+"/"+v+"/"+lower+".nuspec", "application/xml", []byte("<package><metadata><id>"+id+"</id><version>"+v+"</version></metadata></package>"))
		items = append(items, map[string]any{"@id": up.URL + "/reg/" + lower + "/" + v + ".json",
			"packageContent": up.URL + "/flat/" + lower + "/" + v + "/" + lower + "." + v + ".nupkg",
			"catalogEntry":   map[string]string{"id": id, "version": v}})
	}
	reg, _ := json.Marshal(map[string]any{"count": 1, "items": []map[string]any{{"@id": up.URL + "/reg/" + lower + "/index.json#page", "count": len(items), "items": items}}})
	up.Put("/reg/"+lower+"/index.json", "application/json", reg)
}

// TestRestoreWalk walks the feed as NuGet restore does (the dotnet CLI is
// not in Debian's packages): service index -> flat container versions ->
// the lowest version satisfying [3.14.0, ) -> .nuspec and .nupkg. The
// upstream serves Google.Protobuf 3.14.0 (GHSA-77rm-9x9h-xj3g) and 3.15.0.
func TestRestoreWalk(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"NuGet"}})
	up := feedtest.NewUpstream(t)
	publish(up, "Google.Protobuf", "3.14.0", "3.15.0")
	f := env.AddFeed(t, store.Feed{Name: "nuget", Type: "nuget", Upstream: up.URL + "/v3/index.json", Unassessed: "warn"})
	env.Assess(t, "GHSA-77rm-9x9h-xj3g", "Blocked")

	get := func(u string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("User-Agent", "NuGet Command Line/6.8.0 (Unix)")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}
	restore := func() (*http.Response, []byte, string) {
		_, b := get(env.URL("nuget") + "/v3/index.json")
		var idx struct {
			Resources []struct {
				ID   string `json:"@id"`
				Type string `json:"@type"`
			} `json:"resources"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			t.Fatal(err)
		}
		flat := ""
		for _, r := range idx.Resources {
			if r.Type == "PackageBaseAddress/3.0.0" {
				flat = r.ID
			}
		}
		if !strings.HasPrefix(flat, env.URL("nuget")) {
			t.Fatalf("service index points elsewhere: %q", flat)
		}
		resp, b := get(flat + "google.protobuf/index.json")
		var vs struct{ Versions []string }
		if resp.StatusCode != 200 || json.Unmarshal(b, &vs) != nil || len(vs.Versions) == 0 {
			t.Fatalf("versions: %d %s", resp.StatusCode, b)
		}
		v := vs.Versions[0] // lowest applicable version of [3.14.0, )
		if resp, _ := get(flat + "google.protobuf/" + v + "/google.protobuf.nuspec"); resp.StatusCode != 200 {
			t.Fatalf("nuspec: %d", resp.StatusCode)
		}
		resp, b = get(flat + "google.protobuf/" + v + "/google.protobuf." + v + ".nupkg")
		return resp, b, v
	}

	resp, _, v := restore()
	if v != "3.14.0" || resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("X-NuGet-Warning"), "CVE-2021-22570") || !strings.Contains(resp.Status, "CVE-2021-22570") {
		t.Fatalf("Blocked 3.14.0: %s %v", resp.Status, resp.Header)
	}
	f.FilterBlocked = true
	env.UpdateFeed(t, f)
	resp, body, v := restore()
	if v != "3.15.0" || resp.StatusCode != 200 || !bytes.Equal(body, []byte("PK-nupkg-Google.Protobuf-3.15.0")) {
		t.Fatalf("filtered restore: %s %s %q", v, resp.Status, body)
	}
	resp, body = get(env.URL("nuget") + "/v3/registration/google.protobuf/index.json")
	if resp.StatusCode != 200 || bytes.Contains(body, []byte(up.URL)) || !bytes.Contains(body, []byte(env.URL("nuget")+"/v3-flatcontainer/google.protobuf/3.15.0/")) {
		t.Errorf("registration not rewritten: %s", body)
	}
	for _, p := range []string{"/v3-flatcontainer/..%2f..%2fx/index.json", "/v3-flatcontainer/google%20protobuf/index.json", "/v3-flatcontainer/google.protobuf/3.15.0/other.3.15.0.nupkg", "/v3/registration/../../etc/passwd"} {
		if resp, _ := get(env.URL("nuget") + p); resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}
