package ossindex

import (
	"context"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/source/ossindex/ossindextest"
)

func TestRefreshAndPrune(t *testing.T) {
	ctx := context.Background()
	srv := ossindextest.New(t, testUser, testToken)
	st := openStore(t, t.TempDir())
	now := time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, _ := newSource(t, srv, st, func(o *Options) { o.Now = clock })
	in := pkgs(t, "pkg:npm/lodash@4.17.20", "pkg:pypi/requests@2.25.0")
	if _, err := s.Lookup(ctx, in); err != nil {
		t.Fatal(err)
	}
	// Nothing is stale yet: no request, nothing pruned.
	rep, err := s.Refresh(ctx, 30*24*time.Hour)
	if err != nil || rep.Refreshed != 0 || rep.Pruned != 0 || srv.Requests() != 1 {
		t.Fatalf("fresh cache: %+v %v, %d requests", rep, err, srv.Requests())
	}
	// After the TTL the job asks again in one batch, and the next lookup
	// is answered from the refreshed cache.
	now = now.Add(13 * time.Hour)
	rep, err = s.Refresh(ctx, 30*24*time.Hour)
	if err != nil || rep.Refreshed != 2 || srv.Requests() != 2 {
		t.Fatalf("stale cache: %+v %v, %d requests", rep, err, srv.Requests())
	}
	if _, err := s.Lookup(ctx, in); err != nil || srv.Requests() != 2 {
		t.Fatalf("lookup after refresh made a request (%d) or failed: %v", srv.Requests(), err)
	}
	// Entries not refreshed for the prune age are deleted.
	now = now.Add(31 * 24 * time.Hour)
	s2, _ := newSource(t, srv, st, func(o *Options) { o.Now = clock; o.CacheTTL = 1000 * time.Hour })
	rep, err = s2.Refresh(ctx, 30*24*time.Hour)
	if err != nil || rep.Pruned == 0 {
		t.Fatalf("prune: %+v %v", rep, err)
	}
	left, _ := st.OSSIndexComponents(ctx, []string{"pkg:npm/lodash@4.17.20", "pkg:pypi/requests@2.25.0"})
	if len(left) != 0 {
		t.Fatalf("%d entries left after pruning", len(left))
	}
}
