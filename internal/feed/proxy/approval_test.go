package proxy_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/approval"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// TestApprovalRequired: a feed that requires approval refuses unapproved
// versions with a message saying how to ask, queues them (only versions
// the upstream has), audits the refusal, serves them once approved, and
// refuses them again once revoked; a malicious version is refused as such
// and cannot be approved.
func TestApprovalRequired(t *testing.T) {
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"npm"}})
	up := feedtest.NewUpstream(t)
	up.Put("/left-pad/-/left-pad-1.3.0.tgz", "application/octet-stream", []byte("tgz"))
	up.Put("/@lottiefiles/lottie-player/-/lottie-player-2.0.7.tgz", "application/octet-stream", []byte("tgz"))
	env.AddFeed(t, store.Feed{Name: "npm", Type: "npm", Upstream: up.URL, Unassessed: "allow", RequireApproval: true})
	svc := approval.New(env.Store, env.Proxy.Env().Gate)
	get := func(p string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(env.URL("npm") + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	const tgz = "/left-pad/-/left-pad-1.3.0.tgz"
	res, body := get(tgz)
	if res.StatusCode != 403 || !strings.Contains(body, "not approved for feed") || !strings.Contains(body, "queued for approval") ||
		!strings.Contains(body, "/admin/feeds/npm/approvals") || !strings.Contains(res.Header.Get("npm-notice"), "approval requested") {
		t.Fatalf("unapproved: %s %s %v", res.Status, body, res.Header)
	}
	if n := up.HitCount(tgz); n != 1 {
		t.Errorf("an unapproved version was fetched %d times from the upstream (want one existence check, no download)", n)
	}
	if res, _ := get("/no-such/-/no-such-1.0.0.tgz"); res.StatusCode != 404 {
		t.Errorf("version the upstream does not have: %s", res.Status)
	}
	pending, total, err := svc.List(t.Context(), "npm", store.ApprovalPending, 0, 10)
	if err != nil || total != 1 || pending[0].PURL != "pkg:npm/left-pad@1.3.0" {
		t.Fatalf("queue: %+v %d %v", pending, total, err)
	}

	if _, err := svc.Approve(t.Context(), "npm", []string{"pkg:npm/left-pad@1.3.0"}, "alice", "ok"); err != nil {
		t.Fatal(err)
	}
	if res, body := get(tgz); res.StatusCode != 200 || body != "tgz" {
		t.Fatalf("approved: %s %s", res.Status, body)
	}
	if _, err := svc.Revoke(t.Context(), "npm", []string{"pkg:npm/left-pad@1.3.0"}, "alice", "gone"); err != nil {
		t.Fatal(err)
	}
	if res, _ := get(tgz); res.StatusCode != 403 {
		t.Fatalf("revoked: %s", res.Status)
	}

	// Malware: refused as malware, not queued, and cannot be approved.
	res, body = get("/@lottiefiles/lottie-player/-/lottie-player-2.0.7.tgz")
	if res.StatusCode != 403 || !strings.Contains(body, "known malicious package") {
		t.Fatalf("malware in an approval feed: %s %s", res.Status, body)
	}
	r, err := svc.Approve(t.Context(), "npm", []string{"pkg:npm/%40lottiefiles/lottie-player@2.0.7"}, "alice", "")
	if err == nil || len(r.Refused) != 1 || !strings.Contains(r.Refused[0].Reason, "known malicious package") {
		t.Fatalf("approving malware: %+v %v", r, err)
	}
	env.Proxy.Env().Gate.Flush()
	ds, _ := env.Store.FeedDecisions(t.Context(), "npm", 10)
	effects := map[string]int{}
	for _, d := range ds {
		effects[d.Effect]++
	}
	if effects["unapproved"] != 2 || effects["allow"] != 1 || effects["block"] != 1 {
		t.Errorf("audit effects %v", effects)
	}
}
