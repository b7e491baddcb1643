package gomod_test

import (
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/store"
)

// TestGoWords runs the real go command in the situations TestGoClient
// does not cover and checks the words it shows: known malware, a
// filtered version asked for by name, an unapproved version, the
// upstream down. (go shows nothing of a download it gets, so a caution
// is not seen there; the audit and the UI record it.)
func TestGoWords(t *testing.T) {
	feedtest.Need(t, "go")
	env := feedtest.New(t, feedtest.Options{Ecosystems: []string{"Go"}})
	up := feedtest.NewUpstream(t)
	publish(t, up, "github.com/boltdb-go/bolt", "v1.3.1")
	publish(t, up, "github.com/containernetworking/plugins", "v1.5.1", "v1.6.0")
	// v0.53.2 fixes v0.46.0's findings but has one of its own (GO-2025-3755).
	publish(t, up, "github.com/CosmWasm/wasmd", "v0.46.0", "v0.53.2", "v0.53.3", "v0.54.0-rc.1")
	env.AddFeed(t, store.Feed{Name: "go", Type: "go", Upstream: up.URL, Unassessed: "warn"})
	env.AddFeed(t, store.Feed{Name: "strict", Type: "go", Upstream: up.URL, Unassessed: "block"})
	env.AddFeed(t, store.Feed{Name: "filtered", Type: "go", Upstream: up.URL, Unassessed: "warn", FilterBlocked: true})
	env.AddFeed(t, store.Feed{Name: "approved", Type: "go", Upstream: up.URL, Unassessed: "allow", RequireApproval: true})
	env.Assess(t, "GO-2025-4222", "Blocked")
	download := func(feed, mod string) feedtest.Result {
		return feedtest.Run(t, project(t), goEnv(t, env.URL(feed)), "go", "mod", "download", mod)
	}
	r := download("go", "github.com/boltdb-go/bolt@v1.3.1")
	feedtest.Words(t, "go", "malicious", r.Out, "403 Forbidden", "vulngate: github.com/boltdb-go/bolt v1.3.1 is blocked by feed \"go\".", "MAL-2025-2545", "known malicious package",
		"No version published by the upstream fixes GO-2025-3451, MAL-2025-2545.")
	// The go command asked for the version's .info and .zip only: the
	// refusal read the module's version list from the upstream once.
	r = download("filtered", "github.com/containernetworking/plugins@v1.6.0")
	feedtest.Words(t, "go", "filtered", r.Out, "403 Forbidden", "is blocked by feed \"filtered\"", "CVE-2025-67499",
		"No version published by the upstream fixes CVE-2025-67499.", "or choose a version without them.")
	r = download("strict", "github.com/CosmWasm/wasmd@v0.46.0")
	feedtest.Words(t, "go", "blocked, upgrade", r.Out, "403 Forbidden", "vulngate: github.com/CosmWasm/wasmd v0.46.0 is blocked by feed \"strict\".",
		"Upgrade to v0.53.3 (minor step): the nearest version published by the upstream without known vulnerabilities.", "or upgrade as advised above.")
	if strings.Contains(r.Out, "Truncated") {
		t.Errorf("the go command truncated vulngate's message:\n%s", r.Out)
	}
	// Blocked for GO-2024-3319 only (fixed in v0.53.2) where unassessed
	// findings are warned about: v0.53.2 is served (with GO-2025-3755),
	// v0.53.3 has no finding.
	env.Assess(t, "GO-2024-3319", "Blocked")
	r = download("go", "github.com/CosmWasm/wasmd@v0.46.0")
	feedtest.Words(t, "go", "blocked, served with warnings", r.Out, "403 Forbidden", "vulngate: github.com/CosmWasm/wasmd v0.46.0 is blocked by feed \"go\".",
		"Upgrade to v0.53.3 (minor step): the nearest version published by the upstream without known vulnerabilities.",
		"v0.53.2 (minor step) is the lowest version above it that the feed serves, with warnings.", "GO-2024-3319", "or upgrade as advised above.")
	if strings.Contains(r.Out, "Truncated") {
		t.Errorf("the go command truncated vulngate's message:\n%s", r.Out)
	}
	r = download("approved", "github.com/containernetworking/plugins@v1.5.1")
	feedtest.Words(t, "go", "unapproved", r.Out, "403 Forbidden", "is not approved for feed \"approved\"", "It is queued for approval", "vulngate feed approve approved pkg:golang/github.com/containernetworking/plugins@v1.5.1")
	up.SetDown(true)
	r = download("go", "github.com/containernetworking/plugins@v1.6.0")
	feedtest.Words(t, "go", "upstream down", r.Out, "502 Bad Gateway", "vulngate feed: upstream registry unavailable (it answered 503 Service Unavailable)")
}
