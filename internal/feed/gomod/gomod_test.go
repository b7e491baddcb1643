package gomod_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// publish serves versions of module on up in the module proxy layout.
func publish(t testing.TB, up *feedtest.Upstream, mod string, versions ...string) {
	esc, err := module.EscapePath(mod)
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module " + mod + "\n\ngo 1.21\n"
	for _, v := range versions {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, body := range map[string]string{"go.mod": gomod, "lib.go": "package plugins\n\nconst Version = \"" + v + "\"\n"} {
			w, _ := zw.Create(mod + "@" + v + "/" + name)
			w.Write([]byte(body))
		}
		zw.Close()
		ev, err := module.EscapeVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		up.Put("/"+esc+"/@v/"+ev+".zip", "application/zip", buf.Bytes())
		up.Put("/"+esc+"/@v/"+ev+".mod", "text/plain", []byte(gomod))
		up.Put("/"+esc+"/@v/"+ev+".info", "application/json", []byte(`{"Version":"`+v+`","Time":"2024-06-01T00:00:00Z"}`))
	}
	up.Put("/"+esc+"/@v/list", "text/plain", []byte(strings.Join(versions, "\n")+"\n"))
	up.Put("/"+esc+"/@latest", "application/json", []byte(`{"Version":"`+versions[len(versions)-1]+`","Time":"2024-06-01T00:00:00Z"}`))
}

func goEnv(t testing.TB, proxy string) []string {
	home := t.TempDir()
	return []string{"HOME=" + home, "GOPATH=" + filepath.Join(home, "go"), "GOMODCACHE=" + filepath.Join(home, "modcache"),
		"GOCACHE=" + filepath.Join(home, "cache"), "GOPROXY=" + proxy, "GOFLAGS=-mod=mod", "GONOSUMDB=*", "GOSUMDB=off",
		"GOTOOLCHAIN=local", "GO111MODULE=on", "GONOPROXY=", "GOPRIVATE="}
}

func project(t testing.TB) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.21\n"), 0o644)
	return dir
}

// TestGoClient drives "go mod download" through a feed whose upstream
// serves github.com/containernetworking/plugins v1.5.1 (clean) and v1.6.0
// (GO-2025-4222 for 1.6.0 <= v < 1.9.0).
func TestGoClient(t *testing.T) {
	feedtest.Need(t, "go")
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"Go"}})
	up := feedtest.NewUpstream(t)
	const mod = "github.com/containernetworking/plugins"
	publish(t, up, mod, "v1.5.1", "v1.6.0")
	f := env.AddFeed(t, store.Feed{Name: "go", Type: "go", Upstream: up.URL, Unassessed: "warn"})
	env.Assess(t, "GO-2025-4222", "Blocked")
	proxy := env.URL("go")

	r := feedtest.Run(t, project(t), goEnv(t, proxy), "go", "mod", "download", "-json", mod+"@v1.5.1")
	if r.Err != nil || !strings.Contains(r.Out, `"Zip"`) {
		t.Fatalf("clean v1.5.1: %v", r.Err)
	}
	r = feedtest.Run(t, project(t), goEnv(t, proxy), "go", "mod", "download", "-json", mod+"@v1.6.0")
	if r.Err == nil {
		t.Fatal("Blocked v1.6.0 was downloaded")
	}
	for _, want := range []string{"403 Forbidden", "GO-2025-4222", "Blocked", "reassess"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("go output lacks %q", want)
		}
	}
	f.FilterBlocked = true
	env.UpdateFeed(t, f)
	r = feedtest.Run(t, project(t), goEnv(t, proxy), "go", "mod", "download", "-json", mod+"@latest")
	var got struct{ Version string }
	json.Unmarshal([]byte(r.Out), &got)
	if r.Err != nil || got.Version != "v1.5.1" {
		t.Fatalf("@latest with filtering resolved to %q: %v", got.Version, r.Err)
	}
}

// TestProxyProtocol checks case-encoded paths, @latest filtering and bad
// paths without the client.
func TestProxyProtocol(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"Go"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "github.com/Example/Mod", "v1.0.0", "v1.1.0-RC1")
	publish(t, up, "github.com/containernetworking/plugins", "v1.5.1", "v1.6.0")
	env.AddFeed(t, store.Feed{Name: "gof", Type: "go", Upstream: up.URL, FilterBlocked: true})
	env.Assess(t, "GO-2025-4222", "Blocked")
	get := func(p string) (int, string) {
		resp, err := http.Get(env.URL("gof") + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, body := get("/github.com/!example/!mod/@v/list"); code != 200 || !strings.Contains(body, "v1.1.0-RC1") {
		t.Errorf("case-encoded list: %d %q", code, body)
	}
	if code, _ := get("/github.com/!example/!mod/@v/v1.1.0-!r!c1.zip"); code != 200 {
		t.Errorf("case-encoded version zip: %d", code)
	}
	if code, body := get("/github.com/containernetworking/plugins/@v/list"); code != 200 || body != "v1.5.1\n" {
		t.Errorf("filtered list: %d %q", code, body)
	}
	if code, body := get("/github.com/containernetworking/plugins/@latest"); code != 200 || !strings.Contains(body, "v1.5.1") {
		t.Errorf("filtered @latest: %d %q", code, body)
	}
	code, body := get("/github.com/containernetworking/plugins/@v/v1.6.0.zip")
	if code != 403 || !strings.Contains(body, "GO-2025-4222") || strings.Count(body, "\n") > 8 {
		t.Errorf("blocked zip: %d %q", code, body)
	}
	for _, p := range []string{"/github.com/Example/Mod/@v/list", "/github.com/..%2f/@v/list", "/../x/@v/list", "/github.com/x/y/@v/..%2f.zip", "/github.com/x/y/@v/v1.0.0.exe", "/nodomain/@v/list"} {
		if code, _ := get(p); code != 400 && code != 404 {
			t.Errorf("%s: %d, want 400 or 404", p, code)
		}
	}
}
