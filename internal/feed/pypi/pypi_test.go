package pypi_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/testutil"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/feed/pypi"
	"github.com/vulngate/vulngate/internal/store"
)

// wheel builds a pure-Python wheel of project (its dist name) version.
func wheel(t testing.TB, dist, version string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	info := dist + "-" + version + ".dist-info/"
	files := []struct{ name, body string }{
		{strings.ToLower(dist) + "_stub/__init__.py", "VERSION = '" + version + "'\n"},
		{info + "METADATA", "Metadata-Version: 2.1\nName: " + dist + "\nVersion: " + version + "\n"},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: vulngate-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		w, _ := zw.Create(f.name)
		w.Write([]byte(f.body))
		fmt.Fprintf(&record, "%s,,\n", f.name)
	}
	record.WriteString(info + "RECORD,,\n")
	w, _ := zw.Create(info + "RECORD")
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// publish serves a project page on up: HTML (PEP 503) or JSON (PEP 691).
func publish(t testing.TB, up *feedtest.Upstream, project, dist string, asJSON bool, versions ...string) {
	var links strings.Builder
	var files []map[string]any
	for _, v := range versions {
		name := dist + "-" + v + "-py3-none-any.whl"
		b := wheel(t, dist, v)
		sum := sha256.Sum256(b)
		// Files live on another path, as on real indexes.
		up.Put("/packages/"+name, "application/octet-stream", b)
		fmt.Fprintf(&links, "<a href=\"../../packages/%s#sha256=%s\" data-requires-python=\"&gt;=3.6\">%s</a><br>\n", name, hex.EncodeToString(sum[:]), name)
		files = append(files, map[string]any{"filename": name, "url": up.URL + "/packages/" + name, "hashes": map[string]string{"sha256": hex.EncodeToString(sum[:])}, "requires-python": ">=3.6"})
	}
	if asJSON {
		b, _ := json.Marshal(map[string]any{"meta": map[string]string{"api-version": "1.0"}, "name": project, "files": files})
		up.Put("/simple/"+project+"/", pypi.JSONType, b)
		return
	}
	up.Put("/simple/"+project+"/", "text/html", []byte("<!DOCTYPE html><html><body>\n"+links.String()+"</body></html>"))
}

func python(t testing.TB) string {
	feedtest.Need(t, "python3")
	out, err := exec.Command("python3", "-c", "import sys, pip; print(sys.executable)").Output()
	if err != nil {
		testutil.Unavailable(t, "python3 with pip is not usable (%v); CI must install python3-pip", err)
	}
	return strings.TrimSpace(string(out))
}

func pip(t testing.TB, py, index string, args ...string) (feedtest.Result, string) {
	dest := t.TempDir()
	home := t.TempDir()
	env := []string{"HOME=" + home, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_CONFIG_FILE=/dev/null"}
	full := append([]string{"-m", "pip", "download", "--no-cache-dir", "--no-deps", "--index-url", index, "-d", dest}, args...)
	return feedtest.Run(t, dest, env, py, full...), dest
}

func downloaded(dir string) []string {
	es, _ := os.ReadDir(dir)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestPipClient drives pip through a feed whose upstream serves jinja2
// 2.11.2 (PYSEC-2021-66) and 2.11.3 as PEP 503 HTML, and django 2.0.13 and
// 2.1.1 (PYSEC-2018-3 for 2.1 <= v < 2.1.2) as PEP 691 JSON.
func TestPipClient(t *testing.T) {
	py := python(t)
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"PyPI"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "jinja2", "Jinja2", false, "2.11.2", "2.11.3")
	publish(t, up, "django", "Django", true, "2.0.13", "2.1.1")
	f := env.AddFeed(t, store.Feed{Name: "pypi", Type: "pypi", Upstream: up.URL + "/simple", Unassessed: "warn"})
	env.Assess(t, "PYSEC-2021-66", "Blocked")
	env.Assess(t, "PYSEC-2018-3", "Blocked")
	index := env.URL("pypi") + "/simple/"

	r, dir := pip(t, py, index, "jinja2==2.11.3")
	if r.Err != nil || len(downloaded(dir)) != 1 {
		t.Fatalf("clean jinja2 2.11.3: %v %v", r.Err, downloaded(dir))
	}
	r, _ = pip(t, py, index, "Jinja2==2.11.2")
	if r.Err == nil {
		t.Fatal("Blocked jinja2 2.11.2 was downloaded")
	}
	for _, want := range []string{"403", "CVE-2020-28493", "Blocked", "reassessed"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("pip output lacks %q", want)
		}
	}
	// Without filtering pip picks the highest match, which is Blocked.
	if r, _ := pip(t, py, index, "django<2.1.2"); r.Err == nil || !strings.Contains(r.Out, "CVE-2018-16984") {
		t.Errorf("unfiltered range: err %v", r.Err)
	}
	f.FilterBlocked = true
	env.UpdateFeed(t, f)
	r, dir = pip(t, py, index, "django<2.1.2")
	if got := downloaded(dir); r.Err != nil || len(got) != 1 || !strings.Contains(got[0], "2.0.13") {
		t.Fatalf("filtered range resolved to %v: %v", got, r.Err)
	}
}

// TestSimpleAPI checks negotiation, hashes, redirects and bad names.
func TestSimpleAPI(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"PyPI"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "jinja2", "Jinja2", false, "2.11.2", "2.11.3")
	env.AddFeed(t, store.Feed{Name: "py", Type: "pypi", Upstream: up.URL + "/simple", FilterBlocked: true})
	env.Assess(t, "PYSEC-2021-66", "Blocked")
	get := func(path, accept string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", env.URL("py")+path, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, body := get("/simple/Jinja2", "text/html")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/feeds/py/simple/jinja2/" {
		t.Fatalf("redirect to normalized name: %d %s", resp.StatusCode, resp.Request.URL)
	}
	// The blocked version stays listed, yanked with vulngate's reason.
	if !strings.Contains(body, env.URL("py")+"/files/jinja2/Jinja2-2.11.3-py3-none-any.whl#sha256=") ||
		!strings.Contains(body, `data-yanked="vulngate blocked jinja2 2.11.2 (feed py): CVE-2020-28493 Blocked`) {
		t.Errorf("HTML page:\n%s", body)
	}
	if !strings.Contains(body, `data-requires-python="&gt;=3.6"`) {
		t.Errorf("requires-python lost:\n%s", body)
	}
	resp, body = get("/simple/jinja2/", pypi.JSONType+", "+pypi.HTMLType+"; q=0.1")
	if resp.Header.Get("Content-Type") != pypi.JSONType {
		t.Fatalf("JSON negotiation: %s", resp.Header.Get("Content-Type"))
	}
	var doc struct {
		Files []pypi.File `json:"files"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc.Files) != 2 || doc.Files[1].Hashes["sha256"] == "" || doc.Files[1].Yanked != nil ||
		!strings.Contains(fmt.Sprint(doc.Files[0].Yanked), "CVE-2020-28493") {
		t.Errorf("JSON page: %v %s", err, body)
	}
	resp, _ = get("/files/jinja2/Jinja2-2.11.2-py3-none-any.whl", "*/*")
	if resp.StatusCode != 403 || !strings.Contains(resp.Status, "CVE-2020-28493") {
		t.Errorf("blocked file: %s", resp.Status)
	}
	for _, p := range []string{"/files/jinja2/..%2f..%2fetc%2fpasswd", "/files/jinja2/Other-1.0-py3-none-any.whl", "/simple/..%2f/", "/files/../x"} {
		if resp, _ := get(p, "*/*"); resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

func TestVersionOf(t *testing.T) {
	for _, c := range []struct{ project, file, want string }{
		{"jinja2", "Jinja2-2.11.3-py2.py3-none-any.whl", "2.11.3"},
		{"django", "Django-2.0.13.tar.gz", "2.0.13"},
		{"zope-interface", "zope.interface-5.0.0.zip", "5.0.0"},
		{"python-dateutil", "python-dateutil-2.8.2.tar.gz", "2.8.2"},
		{"django", "Jinja2-2.11.3.tar.gz", ""},
	} {
		got, _ := pypi.VersionOf(c.project, c.file)
		if got != c.want {
			t.Errorf("VersionOf(%s, %s) = %q, want %q", c.project, c.file, got, c.want)
		}
	}
}

// TestCoreMetadata: PEP 658 metadata files are served without the gate
// (a blocked version's too), fetched once, and from the cache while the
// upstream is down.
func TestCoreMetadata(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"PyPI"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "jinja2", "Jinja2", false, "2.11.2", "2.11.3")
	env.AddFeed(t, store.Feed{Name: "py", Type: "pypi", Upstream: up.URL + "/simple"})
	env.Assess(t, "PYSEC-2021-66", "Blocked")
	for _, v := range []string{"2.11.2", "2.11.3"} {
		name := "Jinja2-" + v + "-py3-none-any.whl.metadata"
		want := "Metadata-Version: 2.1\nName: Jinja2\nVersion: " + v + "\n"
		up.Put("/packages/"+name, "text/plain", []byte(want))
		for _, down := range []bool{false, true} {
			up.SetDown(down)
			resp, err := http.Get(env.URL("py") + "/files/jinja2/" + name)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != want || resp.Header.Get("Content-Type") != "application/octet-stream" {
				t.Errorf("%s (upstream down %v): %s %s %q", name, down, resp.Status, resp.Header.Get("Content-Type"), b)
			}
		}
		up.SetDown(false)
		if n := up.HitCount("/packages/" + name); n != 1 {
			t.Errorf("%s fetched %d times from the upstream, want once", name, n)
		}
	}
}
