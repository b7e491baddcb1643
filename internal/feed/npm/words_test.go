package npm_test

import (
	"testing"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// TestNPMUnapprovedWords runs the real npm against a feed that requires
// approval (the other situations are in TestNPMClient and
// TestNPMWhatTheUserSees).
func TestNPMUnapprovedWords(t *testing.T) {
	feedtest.Need(t, "npm")
	feedtest.Need(t, "node")
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"npm"}})
	up := feedtest.NewUpstream(t)
	registry(t, up, "left-pad", "1.3.0", "1.3.0")
	env.AddFeed(t, store.Feed{Name: "approved", Type: "npm", Upstream: up.URL, Unassessed: "allow", RequireApproval: true})
	r := feedtest.Run(t, project(t), npmEnv(t), "npm", "install", "--no-audit", "--no-fund", "--registry="+env.URL("approved")+"/", "left-pad@1.3.0")
	feedtest.Words(t, "npm", "unapproved", r.Out,
		"npm notice vulngate: left-pad 1.3.0 is not approved for feed approved; approval requested: ask an approver of the feed",
		"403 Forbidden", "It is queued for approval", "/admin/feeds/approved/approvals")
}
