package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/store"
)

// TestPublicURL (issue 12 item 9): with a configured public URL, absolute
// URLs in feed metadata use it whatever Host the client sends; without
// one, the PyPI redirect is relative (never built from Host) and every
// such redirect carries Cache-Control.
func TestPublicURL(t *testing.T) {
	get := func(url, host string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = host
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	for _, public := range []string{"", "https://vulngate.example.com/pkgs"} {
		env := feedtest.New(t, feedtest.Options{Proxy: proxy.Options{PublicURL: public}})
		up := feedtest.NewUpstream(t)
		up.Put("/left-pad", "application/json", []byte(`{"name":"left-pad","dist-tags":{"latest":"1.3.0"},"versions":{"1.3.0":{"name":"left-pad","version":"1.3.0","dist":{"tarball":"`+up.URL+`/left-pad/-/left-pad-1.3.0.tgz"}}}}`))
		env.AddFeed(t, store.Feed{Name: "npm", Type: "npm", Upstream: up.URL})
		env.AddFeed(t, store.Feed{Name: "pypi", Type: "pypi", Upstream: up.URL + "/simple"})

		res, body := get(env.URL("npm")+"/left-pad", "evil.example")
		var doc struct {
			Versions map[string]struct{ Dist struct{ Tarball string } }
		}
		json.Unmarshal(body, &doc)
		tarball := doc.Versions["1.3.0"].Dist.Tarball
		if res.StatusCode != 200 {
			t.Fatalf("packument: %s", res.Status)
		}
		if public != "" && tarball != public+"/feeds/npm/left-pad/-/left-pad-1.3.0.tgz" {
			t.Errorf("public %q: tarball URL %q", public, tarball)
		}
		if public == "" && !strings.HasPrefix(tarball, "http://evil.example/feeds/npm/") {
			t.Errorf("no public URL: tarball URL %q, want it from the request's Host", tarball)
		}

		for _, p := range []string{"/simple/Django", "/simple/Django/", "/simple/django"} {
			res, _ := get(env.URL("pypi")+p, "evil.example")
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Cache-Control") == "" || strings.Contains(loc, "evil.example") {
				t.Errorf("public %q: %s: %s Location %q Cache-Control %q", public, p, res.Status, loc, res.Header.Get("Cache-Control"))
			}
			want := public + "/feeds/pypi/simple/django/"
			if public == "" {
				want = env.URL("pypi") + "/simple/django/"
			}
			if got := res.Request.URL.ResolveReference(mustParse(t, loc)).String(); got != want {
				t.Errorf("public %q: %s redirects to %s, want %s", public, p, got, want)
			}
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
