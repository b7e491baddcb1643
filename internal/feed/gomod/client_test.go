package gomod_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/feed/gomod"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/store"
)

// goSums computes the go.sum lines of published module versions, as a
// checksum database records them.
type goSums map[string][]byte // "path@version" -> lines

// publishSummed publishes mod@version (module proxy layout) on up and
// records its go.sum lines.
func (g goSums) publishSummed(t *testing.T, up *feedtest.Upstream, mod, version string) {
	t.Helper()
	gomodFile := "module " + mod + "\n\ngo 1.21\n"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	pkg := filepath.Base(mod)
	for name, body := range map[string]string{"go.mod": gomodFile, "lib.go": "package " + strings.ReplaceAll(pkg, "-", "") + "\n\nconst Version = \"" + version + "\"\n"} {
		w, _ := zw.Create(mod + "@" + version + "/" + name)
		w.Write([]byte(body))
	}
	zw.Close()
	zipFile := filepath.Join(t.TempDir(), "m.zip")
	if err := os.WriteFile(zipFile, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	h1, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	modH1, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(gomodFile)), nil })
	if err != nil {
		t.Fatal(err)
	}
	g[mod+"@"+version] = []byte(mod + " " + version + " " + h1 + "\n" + mod + " " + version + "/go.mod " + modH1 + "\n")
	esc, _ := module.EscapePath(mod)
	ev, _ := module.EscapeVersion(version)
	up.Put("/"+esc+"/@v/"+ev+".zip", "application/zip", buf.Bytes())
	up.Put("/"+esc+"/@v/"+ev+".mod", "text/plain", []byte(gomodFile))
	up.Put("/"+esc+"/@v/"+ev+".info", "application/json", []byte(`{"Version":"`+version+`","Time":"2024-06-01T00:00:00Z"}`))
	up.Put("/"+esc+"/@v/list", "text/plain", []byte(version+"\n"))
}

// TestGoClientCapitalsAndChecksumDatabase drives the real go command
// through a feed for modules whose paths have capital letters (the go
// command sends "!" as "%21"), with a checksum database that only the
// feed can reach (GOSUMDB names a host that does not resolve), and with a
// first GOPROXY entry whose upstream answers 404 or 410, which go must be
// able to step over.
func TestGoClientCapitalsAndChecksumDatabase(t *testing.T) {
	feedtest.Need(t, "go")
	skey, vkey, err := note.GenerateKey(rand.Reader, "sum.vulngate.test")
	if err != nil {
		t.Fatal(err)
	}
	sums := goSums{}
	var sumdbHits atomic.Int64
	ts := sumdb.NewTestServer(skey, func(path, vers string) ([]byte, error) {
		if b, ok := sums[path+"@"+vers]; ok {
			return b, nil
		}
		return nil, os.ErrNotExist
	})
	sdb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sumdbHits.Add(1)
		sumdb.NewServer(ts).ServeHTTP(w, r)
	}))
	t.Cleanup(sdb.Close)

	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"Go"},
		Proxy: proxy.Options{GoSumDB: gomod.SumDB{Name: "sum.vulngate.test", URL: sdb.URL}}})
	up := feedtest.NewUpstream(t)
	for _, mv := range [][2]string{{"github.com/BurntSushi/toml", "v1.3.2"}, {"github.com/Azure/go-ansiterm", "v0.0.0-20230124172434-306776ec8161"}} {
		sums.publishSummed(t, up, mv[0], mv[1])
	}
	env.AddFeed(t, store.Feed{Name: "go", Type: "go", Upstream: up.URL, Unassessed: "allow"})
	empty := feedtest.NewUpstream(t)
	env.AddFeed(t, store.Feed{Name: "empty", Type: "go", Upstream: empty.URL})
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) }))
	t.Cleanup(gone.Close)
	env.AddFeed(t, store.Feed{Name: "gone", Type: "go", Upstream: gone.URL})

	goEnv := func(proxyList string) []string {
		home := t.TempDir()
		return []string{"HOME=" + home, "GOPATH=" + filepath.Join(home, "go"), "GOMODCACHE=" + filepath.Join(home, "modcache"),
			"GOCACHE=" + filepath.Join(home, "cache"), "GOPROXY=" + proxyList, "GOFLAGS=-mod=mod", "GOSUMDB=" + vkey,
			"GONOSUMDB=", "GONOSUMCHECK=", "GOPRIVATE=", "GONOPROXY=", "GOTOOLCHAIN=local", "GO111MODULE=on"}
	}
	for _, proxyList := range []string{env.URL("go"), env.URL("empty") + "," + env.URL("go"), env.URL("gone") + "," + env.URL("go")} {
		dir := project(t)
		r := feedtest.Run(t, dir, goEnv(proxyList), "go", "get", "github.com/BurntSushi/toml@v1.3.2", "github.com/Azure/go-ansiterm@v0.0.0-20230124172434-306776ec8161")
		if r.Err != nil {
			t.Fatalf("GOPROXY=%s: go get of modules with capitals failed: %v", proxyList, r.Err)
		}
		sum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
		for _, want := range []string{"github.com/BurntSushi/toml v1.3.2 h1:", "github.com/Azure/go-ansiterm v0.0.0-20230124172434-306776ec8161/go.mod h1:"} {
			if !strings.Contains(string(sum), want) {
				t.Errorf("GOPROXY=%s: go.sum lacks %q:\n%s", proxyList, want, sum)
			}
		}
	}
	if sumdbHits.Load() == 0 {
		t.Fatal("the checksum database was never asked through the feed")
	}
	// A 404 is remembered briefly: asking again does not reach the upstream.
	before := empty.HitCount("/github.com/!burnt!sushi/toml/@v/list")
	for range 3 {
		res, err := http.Get(env.URL("empty") + "/github.com/%21burnt%21sushi/toml/@v/list")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("missing module: %s", res.Status)
		}
	}
	if n := empty.HitCount("/github.com/!burnt!sushi/toml/@v/list") - before; n > 1 {
		t.Errorf("upstream asked %d times for a path it answered 404 to", n)
	}
}

// TestUpstreamErrorsPassedOn: 401, 403, 404 and 410 from the upstream
// reach the client as they are; other failures are 502.
func TestUpstreamErrorsPassedOn(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{})
	var status atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream says no", int(status.Load()))
	}))
	t.Cleanup(up.Close)
	env.AddFeed(t, store.Feed{Name: "go", Type: "go", Upstream: up.URL})
	for i, c := range []struct{ upstream, want int }{{401, 401}, {403, 403}, {404, 404}, {410, 410}, {500, 502}, {429, 502}} {
		status.Store(int64(c.upstream))
		res, err := http.Get(env.URL("go") + "/example.com/m" + string(rune('a'+i)) + "/@v/list")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("upstream %d: answered %d %s, want %d", c.upstream, res.StatusCode, body, c.want)
		}
		if strings.Contains(string(body), "upstream says no") {
			t.Errorf("upstream %d: the upstream's body is passed through: %s", c.upstream, body)
		}
	}
	// The checksum database of another name is not proxied (go then asks
	// it directly); the configured one says it is supported.
	for p, want := range map[string]int{"/sumdb/sum.golang.org/supported": 200, "/sumdb/other.example/supported": 404, "/sumdb/sum.golang.org/lookup/..%2f@v1": 400, "/sumdb/sum.golang.org/tile/8/0/../x": 404} {
		res, err := http.Get(env.URL("go") + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d", p, res.StatusCode, want)
		}
	}
}
