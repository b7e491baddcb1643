package maven_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/testutil"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// publish serves group:artifact versions (pom, jar, sha1 files and
// maven-metadata.xml) on up in the Maven 2 layout.
func publish(t testing.TB, up *feedtest.Upstream, group, artifact string, versions ...string) {
	dir := "/" + strings.ReplaceAll(group, ".", "/") + "/" + artifact
	put := func(p string, b []byte) {
		up.Put(p, "application/octet-stream", b)
		s := sha1.Sum(b)
		up.Put(p+".sha1", "text/plain", []byte(hex.EncodeToString(s[:])))
	}
	var vs strings.Builder
	for _, v := range versions {
		pom := `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>` + group + `</groupId><artifactId>` + artifact + `</artifactId><version>` + v + `</version><packaging>jar</packaging></project>
`
		var jar bytes.Buffer
		zw := zip.NewWriter(&jar)
		w, _ := zw.Create("META-INF/MANIFEST.MF")
		w.Write([]byte("Manifest-Version: 1.0\r\n\r\n"))
		zw.Close()
		put(dir+"/"+v+"/"+artifact+"-"+v+".pom", []byte(pom))
		put(dir+"/"+v+"/"+artifact+"-"+v+".jar", jar.Bytes())
		vs.WriteString("      <version>" + v + "</version>\n")
	}
	last := versions[len(versions)-1]
	md := `<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>` + group + `</groupId>
  <artifactId>` + artifact + `</artifactId>
  <versioning>
    <latest>` + last + `</latest>
    <release>` + last + `</release>
    <versions>
` + vs.String() + `    </versions>
    <lastUpdated>20240601000000</lastUpdated>
  </versioning>
</metadata>
`
	put(dir+"/maven-metadata.xml", []byte(md))
}

const settings = `<settings>
  <localRepository>%LOCAL%</localRepository>
  <mirrors>
    <mirror><id>vulngate</id><mirrorOf>*,!debian</mirrorOf><url>%FEED%</url></mirror>
  </mirrors>
  <profiles>
    <profile>
      <id>debian</id>
      <pluginRepositories>
        <pluginRepository><id>debian</id><url>file:///usr/share/maven-repo</url><releases><checksumPolicy>ignore</checksumPolicy></releases></pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>debian</activeProfile></activeProfiles>
</settings>
`

const plugin = "org.apache.maven.plugins:maven-dependency-plugin:3.5.0:get"

func mvn(t testing.TB, feedURL, artifact string) feedtest.Result {
	return mvnIn(t, t.TempDir(), feedURL, plugin, "-Dartifact="+artifact, "-Dtransitive=false")
}

// rangePOM is a project depending on a version range.
const rangePOM = `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>example</groupId><artifactId>app</artifactId><version>1</version><packaging>pom</packaging>
<dependencies><dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>[4.0,4.13]</version></dependency></dependencies>
</project>
`

func mvnIn(t testing.TB, home, feedURL string, args ...string) feedtest.Result {
	local := filepath.Join(home, "repo")
	s := strings.NewReplacer("%LOCAL%", local, "%FEED%", feedURL).Replace(settings)
	sp := filepath.Join(home, "settings.xml")
	if err := os.WriteFile(sp, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return feedtest.Run(t, home, []string{"HOME=" + home, "MAVEN_OPTS=-Xmx256m"}, "mvn", append([]string{"-B", "--no-transfer-progress", "-s", sp}, args...)...)
}

// TestMavenClient drives "mvn dependency:get" (Debian's plugin) through a
// feed whose upstream serves junit:junit 4.6 (clean), 4.13
// (GHSA-269g-pwp5-87pp for 4.7 <= v < 4.13.1) and 4.13.1.
func TestMavenClient(t *testing.T) {
	feedtest.Need(t, "mvn")
	if _, err := os.Stat("/usr/share/maven-repo/org/apache/maven/plugins/maven-dependency-plugin/3.5.0"); err != nil {
		testutil.Unavailable(t, "Debian's libmaven-dependency-plugin-java is not installed; CI must install it to run this real-client test")
	}
	if _, err := os.Stat("/usr/share/maven-repo/junit/junit/4.x"); err != nil {
		testutil.Unavailable(t, "Debian's junit4 (a dependency of the dependency plugin) is not installed; CI must install it")
	}
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"Maven"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "junit", "junit", "4.6", "4.13", "4.13.1")
	f := env.AddFeed(t, store.Feed{Name: "maven", Type: "maven", Upstream: up.URL, Unassessed: "warn"})
	env.Assess(t, "GHSA-269g-pwp5-87pp", "Blocked")
	url := env.URL("maven")

	if r := mvn(t, url, "junit:junit:4.6"); r.Err != nil || !strings.Contains(r.Out, "BUILD SUCCESS") {
		t.Fatalf("clean junit 4.6: %v", r.Err)
	}
	r := mvn(t, url, "junit:junit:4.13")
	if r.Err == nil {
		t.Fatal("Blocked junit 4.13 was resolved")
	}
	// Maven asked for the version's files only: the refusal read the
	// versions the upstream publishes from maven-metadata.xml, once.
	feedtest.Words(t, "mvn", "blocked", r.Out, "status: 403 vulngate blocked junit:junit 4.13 (feed maven): CVE-2020-15250 Blocked; upgrade to 4.13.1 (patch) or have it reassessed in vulngate")
	if n := up.HitCount("/junit/junit/maven-metadata.xml"); n != 1 {
		t.Errorf("maven-metadata.xml asked for %d times upstream, want 1", n)
	}
	f.FilterBlocked = true
	env.UpdateFeed(t, f)
	proj := t.TempDir()
	os.WriteFile(filepath.Join(proj, "pom.xml"), []byte(rangePOM), 0o644)
	r = mvnIn(t, proj, url, "org.apache.maven.plugins:maven-dependency-plugin:3.5.0:resolve")
	if r.Err != nil || !strings.Contains(r.Out, "junit:junit:jar:4.6") {
		t.Fatalf("range with filtering: %v", r.Err)
	}
}

// TestLayout checks metadata filtering with recomputed checksums, gated
// artifacts, sidecar files and bad paths without the client.
func TestLayout(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"Maven"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "junit", "junit", "4.6", "4.13")
	env.AddFeed(t, store.Feed{Name: "mvnf", Type: "maven", Upstream: up.URL, FilterBlocked: true})
	env.Assess(t, "GHSA-269g-pwp5-87pp", "Blocked")
	get := func(p string) (*http.Response, string) {
		resp, err := http.Get(env.URL("mvnf") + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	_, md := get("/junit/junit/maven-metadata.xml")
	if strings.Contains(md, "4.13") || !strings.Contains(md, "<latest>4.6</latest>") || !strings.Contains(md, "<release>4.6</release>") {
		t.Errorf("filtered metadata:\n%s", md)
	}
	_, sum := get("/junit/junit/maven-metadata.xml.sha1")
	s := sha1.Sum([]byte(md))
	if sum != hex.EncodeToString(s[:]) {
		t.Errorf("metadata sha1 %q does not match the served metadata", sum)
	}
	if resp, _ := get("/junit/junit/4.6/junit-4.6.jar.sha1"); resp.StatusCode != 200 {
		t.Errorf("sidecar: %d", resp.StatusCode)
	}
	resp, _ := get("/junit/junit/4.13/junit-4.13.jar")
	if resp.StatusCode != 403 || !strings.Contains(resp.Status, "CVE-2020-15250") {
		t.Errorf("blocked jar: %s", resp.Status)
	}
	for _, p := range []string{"/junit/../../etc/passwd", "/junit/junit/4.6/..%2f..%2fx.jar", "/junit/junit/4.6/other-4.6.jar", "/junit/junit/../maven-metadata.xml"} {
		if resp, _ := get(p); resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}
