package approval_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/approval"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fakeGate blocks the versions it lists.
type fakeGate map[string]string

func (g fakeGate) Blocked(_ context.Context, _ store.Feed, p purl.Package) (bool, string, error) {
	why, ok := g[p.PURL]
	return ok, why, nil
}

func pkg(t *testing.T, s string) purl.Package {
	t.Helper()
	p, err := purl.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestApprovalLifecycle runs request, approve, revoke and the bounds on
// both engines.
func TestApprovalLifecycle(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		if err := st.CreateFeed(ctx, store.Feed{Name: "npm", Type: "npm", Upstream: "http://127.0.0.1:1", Sources: []string{"osv"}, RequireApproval: true, MetadataTTL: time.Minute}, now); err != nil {
			t.Fatal(err)
		}
		if f, _ := st.FeedByName(ctx, "npm"); !f.RequireApproval {
			t.Fatal("require_approval not stored")
		}
		gate := fakeGate{"pkg:npm/evil@1.0.0": "block: MAL-2024-1 (known malicious package)"}
		s := approval.New(st, gate)
		s.Now = func() time.Time { return now }
		s.MaxPending = 2

		for _, p := range []string{"pkg:npm/a@1.0.0", "pkg:npm/b@1.0.0", "pkg:npm/c@1.0.0", "pkg:npm/a@1.0.0"} {
			queued, err := s.Request(ctx, "npm", pkg(t, p), "127.0.0.1 npm/11")
			if err != nil {
				t.Fatal(err)
			}
			if want := p != "pkg:npm/c@1.0.0"; queued != want {
				t.Errorf("request %s: queued %v, want %v (queue bound 2)", p, queued, want)
			}
		}
		page, total, err := s.List(ctx, "npm", store.ApprovalPending, 0, 10)
		if err != nil || total != 2 || page[0].PURL != "pkg:npm/a@1.0.0" || page[0].Requests != 2 {
			t.Fatalf("pending %+v %d %v", page, total, err)
		}
		if ok, _ := s.Approved(ctx, "npm", "pkg:npm/a@1.0.0"); ok {
			t.Fatal("pending counts as approved")
		}

		res, err := s.Approve(ctx, "npm", []string{"pkg:npm/a@1.0.0", "pkg:npm/evil@1.0.0", "pkg:pypi/django@1.0", "pkg:npm/nover", "pkg:npm/d@2.0.0"}, "alice", "reviewed")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Approved) != 2 || len(res.Refused) != 3 || !strings.Contains(res.Refused[0].Reason+res.Refused[1].Reason+res.Refused[2].Reason, "cannot be approved: block: MAL-2024-1") {
			t.Fatalf("approve: %+v", res)
		}
		for _, p := range []string{"pkg:npm/a@1.0.0", "pkg:npm/d@2.0.0"} {
			if ok, err := s.Approved(ctx, "npm", p); !ok || err != nil {
				t.Errorf("%s not approved: %v", p, err)
			}
		}
		if _, err := s.Approve(ctx, "npm", []string{"pkg:npm/evil@1.0.0"}, "alice", ""); !errors.Is(err, approval.ErrNothingApproved) || !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("approving only a blocked version: %v", err)
		}

		if _, err := s.Revoke(ctx, "npm", []string{"pkg:npm/a@1.0.0"}, "bob", "no longer needed"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.Approved(ctx, "npm", "pkg:npm/a@1.0.0"); ok {
			t.Fatal("revoked still approved")
		}
		if _, err := s.Revoke(ctx, "npm", []string{"pkg:npm/never@1.0.0"}, "bob", ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking what has no approval: %v", err)
		}
		// A revoked version asked for again is pending again.
		if queued, err := s.Request(ctx, "npm", pkg(t, "pkg:npm/a@1.0.0"), "ci"); err != nil || !queued {
			t.Fatalf("re-request after revoke: %v %v", queued, err)
		}
		evs, err := s.Events(ctx, "npm", "pkg:npm/a@1.0.0", 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action+":"+e.Actor)
		}
		if got := strings.Join(actions, ","); got != "request:ci,revoke:bob,approve:alice,request:127.0.0.1 npm/11" {
			t.Errorf("audit of a: %s", got)
		}
		if _, _, err := s.List(ctx, "npm", "bogus", 0, 10); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad status: %v", err)
		}
		if _, err := st.DeleteFeed(ctx, "npm"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := st.FeedApproval(ctx, "npm", "pkg:npm/d@2.0.0"); ok {
			t.Error("approvals outlive their feed")
		}
	})
}
