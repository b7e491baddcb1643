package npm_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// tarball builds an npm package tarball.
func tarball(t testing.TB, name, version string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		"package/package.json": `{"name":"` + name + `","version":"` + version + `","main":"index.js"}`,
		"package/index.js":     "module.exports = '" + version + "';\n",
	}
	for _, n := range []string{"package/package.json", "package/index.js"} {
		b := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(b))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// registry publishes versions of name on up (packument and tarballs);
// latest is the dist-tag "latest".
func registry(t testing.TB, up *feedtest.Upstream, name, latest string, versions ...string) {
	base := name[strings.LastIndexByte(name, '/')+1:]
	vs := map[string]any{}
	for _, v := range versions {
		tgz := tarball(t, name, v)
		s1 := sha1.Sum(tgz)
		s512 := sha512.Sum512(tgz)
		p := "/" + name + "/-/" + base + "-" + v + ".tgz"
		up.Put(p, "application/octet-stream", tgz)
		vs[v] = map[string]any{"name": name, "version": v, "main": "index.js", "dist": map[string]any{
			"tarball":   up.URL + p,
			"shasum":    hex.EncodeToString(s1[:]),
			"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		}}
	}
	doc, _ := json.Marshal(map[string]any{"name": name, "dist-tags": map[string]string{"latest": latest}, "versions": vs})
	up.Put("/"+strings.Replace(name, "/", "%2f", 1), "application/json", doc)
}

func project(t testing.TB) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"app","version":"1.0.0","private":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func npmEnv(t testing.TB) []string {
	home := t.TempDir()
	return []string{"HOME=" + home, "npm_config_cache=" + filepath.Join(home, "cache"), "npm_config_update_notifier=false", "npm_config_loglevel=notice"}
}

func installedVersion(t testing.TB, dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json"))
	if err != nil {
		return ""
	}
	var p struct{ Version string }
	json.Unmarshal(b, &p)
	return p.Version
}

// TestNPMClient drives the real npm client through a feed whose upstream
// serves @lottiefiles/lottie-player 2.0.4 (clean) and 2.0.7 (MAL-2024-10301
// in the corpus: malicious code), and ansi-html 0.0.7 (GHSA-whgm-jr23-g3j9,
// a ReDoS, unassessed) and 0.0.8 (fixed).
func TestNPMClient(t *testing.T) {
	feedtest.Need(t, "npm")
	feedtest.Need(t, "node")
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"npm"}})
	up := feedtest.NewUpstream(t)
	const pkg = "@lottiefiles/lottie-player"
	registry(t, up, pkg, "2.0.7", "2.0.4", "2.0.7")
	registry(t, up, "ansi-html", "0.0.8", "0.0.7", "0.0.8")
	f := env.AddFeed(t, store.Feed{Name: "npm", Type: "npm", Upstream: up.URL, Unassessed: "allow"})
	reg := "--registry=" + env.URL("npm") + "/"
	args := []string{"--no-audit", "--no-fund", reg}

	// Known malware is refused even though the feed allows unassessed
	// vulnerabilities, and npm says why.
	mal := project(t)
	r := feedtest.Run(t, mal, npmEnv(t), "npm", append([]string{"install", pkg + "@2.0.7"}, args...)...)
	if r.Err == nil || installedVersion(t, mal, pkg) != "" {
		t.Fatal("install of known malware 2.0.7 succeeded")
	}
	for _, want := range []string{"403", "known malicious package", "MAL-2024-10301"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("npm output for malware lacks %q", want)
		}
	}

	// Unassessed and allowed: ansi-html 0.0.7 installs and leaves a lockfile.
	locked := project(t)
	r = feedtest.Run(t, locked, npmEnv(t), "npm", append([]string{"install", "ansi-html@0.0.7"}, args...)...)
	if r.Err != nil || installedVersion(t, locked, "ansi-html") != "0.0.7" {
		t.Fatalf("install of unassessed ansi-html 0.0.7 failed: %v", r.Err)
	}
	lock, _ := os.ReadFile(filepath.Join(locked, "package-lock.json"))
	if !strings.Contains(string(lock), env.URL("npm")+"/ansi-html/-/ansi-html-0.0.7.tgz") {
		t.Fatalf("lockfile does not resolve through the feed:\n%s", lock)
	}

	// A clean version installs.
	clean := project(t)
	if r := feedtest.Run(t, clean, npmEnv(t), "npm", append([]string{"install", pkg + "@2.0.4"}, args...)...); r.Err != nil || installedVersion(t, clean, pkg) != "2.0.4" {
		t.Fatalf("install of clean 2.0.4 failed: %v", r.Err)
	}

	// Assessed Blocked: installing it fails, and npm shows why.
	env.Assess(t, "GHSA-whgm-jr23-g3j9", "Blocked")
	blocked := project(t)
	r = feedtest.Run(t, blocked, npmEnv(t), "npm", append([]string{"install", "ansi-html@0.0.7"}, args...)...)
	if r.Err == nil {
		t.Fatal("install of Blocked ansi-html 0.0.7 succeeded")
	}
	for _, want := range []string{"403", "GHSA-whgm-jr23-g3j9", "Blocked", "reassess", "npm notice"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("npm output lacks %q", want)
		}
	}

	// The lockfile skips metadata, but the tarball request is gated: a
	// package Blocked after it was locked is refused from then on.
	os.RemoveAll(filepath.Join(locked, "node_modules"))
	r = feedtest.Run(t, locked, npmEnv(t), "npm", append([]string{"ci"}, args...)...)
	if r.Err == nil || !strings.Contains(r.Out, "GHSA-whgm-jr23-g3j9") {
		t.Fatalf("npm ci of a locked, now Blocked version: err %v", r.Err)
	}

	// With filtering, a range resolves to the safe version by itself.
	f.FilterBlocked = true
	env.UpdateFeed(t, f)
	ranged := project(t)
	r = feedtest.Run(t, ranged, npmEnv(t), "npm", append([]string{"install", pkg + "@^2.0.4"}, args...)...)
	if r.Err != nil || installedVersion(t, ranged, pkg) != "2.0.4" {
		t.Fatalf("range install with filtering: %v, installed %q", r.Err, installedVersion(t, ranged, pkg))
	}

	env.Proxy.Env().Gate.Flush()
	ds, err := env.Store.FeedDecisions(t.Context(), "npm", 100)
	if err != nil {
		t.Fatal(err)
	}
	var blocks int
	for _, d := range ds {
		if d.Effect == "block" {
			blocks++
		}
	}
	if blocks < 3 {
		t.Errorf("audit has %d block decisions, want at least 3: %+v", blocks, ds)
	}
}

// TestProtocol checks the npm surface without the client: scoped names in
// both spellings, abbreviated metadata, rewritten tarball URLs, filtered
// dist-tags, bad names.
func TestProtocol(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"npm"}})
	up := feedtest.NewUpstream(t)
	registry(t, up, "@lottiefiles/lottie-player", "2.0.7", "2.0.4", "2.0.7")
	registry(t, up, "ansi-html", "0.0.8", "0.0.7", "0.0.8")
	env.AddFeed(t, store.Feed{Name: "npmf", Type: "npm", Upstream: up.URL, FilterBlocked: true, Unassessed: "allow"})
	env.Assess(t, "MAL-2024-10301", "Blocked")
	base := env.URL("npmf")

	get := func(path, accept string) (int, http.Header, []byte) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	for _, p := range []string{"/@lottiefiles%2flottie-player", "/@lottiefiles%2Flottie-player", "/@lottiefiles/lottie-player"} {
		code, _, body := get(p, "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
		if code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
		var doc struct {
			DistTags map[string]string `json:"dist-tags"`
			Versions map[string]struct {
				Deprecated string
				Dist       struct{ Tarball string }
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		// The blocked version stays, deprecated with vulngate's reason.
		if dep := doc.Versions["2.0.7"].Deprecated; !strings.Contains(dep, "known malicious package MAL-2024-10301") || doc.DistTags["latest"] != "2.0.4" || doc.Versions["2.0.4"].Deprecated != "" {
			t.Errorf("%s: blocked version not marked: deprecated %q, tags %v", p, dep, doc.DistTags)
		}
		if got, want := doc.Versions["2.0.4"].Dist.Tarball, base+"/@lottiefiles/lottie-player/-/lottie-player-2.0.4.tgz"; got != want {
			t.Errorf("%s: tarball %q, want %q", p, got, want)
		}
	}
	if code, _, _ := get("/ansi-html/-/ansi-html-0.0.8.tgz", ""); code != 200 {
		t.Errorf("unscoped tarball: %d", code)
	}
	if code, _, _ := get("/ansi-html", ""); code != 200 {
		t.Errorf("unscoped packument: %d", code)
	}
	code, h, body := get("/@lottiefiles/lottie-player/-/lottie-player-2.0.7.tgz", "")
	if code != 403 || !strings.Contains(string(body), `"error"`) || !strings.Contains(h.Get("npm-notice"), "MAL-2024-10301") {
		t.Errorf("blocked tarball: %d %v %s", code, h, body)
	}
	for _, p := range []string{"/..%2f..%2fetc%2fpasswd", "/../x", "/@scope%2f..", "/ansi-html/-/..%2f..%2fx.tgz", "/ansi-html/-/ansi-html-..%2f0.tgz", "/.hidden"} {
		if code, _, _ := get(p, ""); code != 400 && code != 404 {
			t.Errorf("%s: %d, want 400 or 404", p, code)
		}
	}
	// Upstream down: cached metadata is served stale, cached tarballs too.
	f, _ := env.Store.FeedByName(t.Context(), "npmf")
	f.MetadataTTL = 0
	env.UpdateFeed(t, f)
	up.SetDown(true)
	code, h, _ = get("/ansi-html", "")
	if code != 200 || h.Get("X-Vulngate-Cache") != "stale" {
		t.Errorf("stale packument: %d %v", code, h)
	}
	if code, _, _ := get("/ansi-html/-/ansi-html-0.0.8.tgz", ""); code != 200 {
		t.Errorf("cached tarball with upstream down: %d", code)
	}
	if code, _, _ := get("/never-seen", ""); code != 502 {
		t.Errorf("uncached packument with upstream down: %d, want 502", code)
	}
}
