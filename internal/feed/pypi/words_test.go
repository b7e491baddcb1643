package pypi_test

import (
	"testing"

	"github.com/vulngate/vulngate/internal/approval"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// TestPipWords runs the real pip in each situation a user meets and
// checks the words pip shows: blocked, known malware, caution (pip shows
// nothing for a download it gets), a filtered version asked for by name,
// an unapproved version, the upstream down.
func TestPipWords(t *testing.T) {
	py := python(t)
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"PyPI"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "jinja2", "Jinja2", false, "2.11.2", "2.11.3")
	publish(t, up, "django", "Django", true, "2.0.13", "2.1.1")
	publish(t, up, "django-pyyaml", "django_pyyaml", false, "20.17.15")
	env.AddFeed(t, store.Feed{Name: "pypi", Type: "pypi", Upstream: up.URL + "/simple", Unassessed: "warn"})
	env.AddFeed(t, store.Feed{Name: "filtered", Type: "pypi", Upstream: up.URL + "/simple", Unassessed: "warn", FilterBlocked: true})
	env.AddFeed(t, store.Feed{Name: "approved", Type: "pypi", Upstream: up.URL + "/simple", Unassessed: "allow", RequireApproval: true})
	env.Assess(t, "PYSEC-2021-66", "Blocked")
	index := func(feed string) string { return env.URL(feed) + "/simple/" }

	// Refusals name the nearest version the upstream publishes that fixes
	// every finding (read from the project page pip fetched first).
	r, _ := pip(t, py, index("pypi"), "Jinja2==2.11.2")
	feedtest.Words(t, "pip", "blocked", r.Out, "403 Client Error: vulngate blocked jinja2 2.11.2 (feed pypi): CVE-2020-28493 Blocked; upgrade to 2.11.3 (patch) or have it reassessed in vulngate for url")
	r, _ = pip(t, py, index("pypi"), "django-pyyaml==20.17.15")
	feedtest.Words(t, "pip", "malicious", r.Out, "403 Client Error: vulngate blocked django-pyyaml 20.17.15 (feed pypi): known malicious package MAL-2023-1362; no published version fixes it; do not install it")
	r, dir := pip(t, py, index("pypi"), "django==2.1.1")
	if r.Err != nil || len(downloaded(dir)) != 1 {
		t.Errorf("caution: pip failed: %v", r.Err)
	}
	// Filtered: a range skips the yanked version; asked for by name, the
	// download is refused with the reason (not "no matching distribution").
	r, dir = pip(t, py, index("filtered"), "jinja2<2.12")
	if got := downloaded(dir); r.Err != nil || len(got) != 1 || got[0] != "Jinja2-2.11.3-py3-none-any.whl" {
		t.Errorf("filtered range resolved to %v: %v", got, r.Err)
	}
	r, _ = pip(t, py, index("filtered"), "jinja2==2.11.2")
	feedtest.Words(t, "pip", "filtered", r.Out, "403 Client Error: vulngate blocked jinja2 2.11.2 (feed filtered): CVE-2020-28493 Blocked; upgrade to 2.11.3 (patch) or have it reassessed")
	r, _ = pip(t, py, index("approved"), "jinja2==2.11.3")
	feedtest.Words(t, "pip", "unapproved", r.Out, "403 Client Error: vulngate: jinja2 2.11.3 is not approved for feed approved; approval requested: ask an approver of the feed for url")
	// In a feed that requires approval, the fix is named to be approved
	// first (PYSEC-2021-66 is Blocked globally); once it is approved,
	// plainly.
	r, _ = pip(t, py, index("approved"), "jinja2==2.11.2")
	feedtest.Words(t, "pip", "blocked, approval feed", r.Out, "403 Client Error: vulngate blocked jinja2 2.11.2 (feed approved): CVE-2020-28493 Blocked; upgrade to 2.11.3 (patch, once approved) or have it reassessed in vulngate for url")
	if _, err := approval.New(env.Store, env.Proxy.Env().Gate).Approve(t.Context(), "approved", []string{"pkg:pypi/jinja2@2.11.3"}, "test", ""); err != nil {
		t.Fatal(err)
	}
	r, _ = pip(t, py, index("approved"), "jinja2==2.11.2")
	feedtest.Words(t, "pip", "blocked, approval feed, fix approved", r.Out, "403 Client Error: vulngate blocked jinja2 2.11.2 (feed approved): CVE-2020-28493 Blocked; upgrade to 2.11.3 (patch) or have it reassessed in vulngate for url")
	// Upstream down: a file not cached yet is refused with the reason
	// (its project page is cached); pip keeps an index page's error for
	// -vv, and says only that no version matched.
	up.SetDown(true)
	r, _ = pip(t, py, index("pypi"), "jinja2==2.11.3")
	feedtest.Words(t, "pip", "upstream down", r.Out, "HTTP error 502 Server Error: vulngate feed: upstream registry unavailable (it answered 503 Service Unavailable)")
	r, _ = pip(t, py, index("pypi"), "-vv", "never-seen==1.0")
	feedtest.Words(t, "pip -vv", "upstream down", r.Out, "502 Server Error: vulngate feed: upstream registry unavailable", "from versions: none")
}
