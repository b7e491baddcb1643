package maven_test

import (
	"os"
	"testing"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil"
)

// TestMavenWords runs the real mvn in the situations a user meets that
// TestMavenClient does not cover and checks the words Maven shows: known
// malware, an unapproved version, the upstream down (a caution download
// is served and Maven shows nothing of it).
func TestMavenWords(t *testing.T) {
	feedtest.Need(t, "mvn")
	if _, err := os.Stat("/usr/share/maven-repo/org/apache/maven/plugins/maven-dependency-plugin/3.5.0"); err != nil {
		testutil.Unavailable(t, "Debian's libmaven-dependency-plugin-java is not installed; CI must install it to run this real-client test")
	}
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"Maven"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "io.github.leetcrunch", "scribejava-core", "8.3.3")
	publish(t, up, "junit", "junit", "4.6", "4.13")
	env.AddFeed(t, store.Feed{Name: "maven", Type: "maven", Upstream: up.URL, Unassessed: "warn"})
	env.AddFeed(t, store.Feed{Name: "approved", Type: "maven", Upstream: up.URL, Unassessed: "allow", RequireApproval: true})

	r := mvn(t, env.URL("maven"), "io.github.leetcrunch:scribejava-core:8.3.3")
	feedtest.Words(t, "mvn", "malicious", r.Out, "status: 403 vulngate blocked io.github.leetcrunch:scribejava-core 8.3.3 (feed maven): known malicious package MAL-2025-2552; no published version fixes it; do not install it")
	r = mvn(t, env.URL("approved"), "junit:junit:4.6")
	feedtest.Words(t, "mvn", "unapproved", r.Out, "status: 403 vulngate: junit:junit 4.6 is not approved for feed approved; approval requested: ask an approver of the feed")
	up.SetDown(true)
	r = mvn(t, env.URL("maven"), "junit:junit:4.13")
	feedtest.Words(t, "mvn", "upstream down", r.Out, "status: 502 vulngate feed: upstream registry unavailable (it answered 503 Service Unavailable)")
}
