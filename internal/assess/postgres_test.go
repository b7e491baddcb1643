package assess

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestPostgresLifecycle runs the store side of assessments (types, set,
// record, auto-assess, expire, history) on PostgreSQL.
func TestPostgresLifecycle(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DSN: pgtest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mirror(t, st, "file://"+corpus.Dir(t), false, "Maven")
	c := &clock{t: t0}
	s := New(st)
	s.Now = c.Now
	res := scan(t, st, textPURL, junitPURL)
	rep, err := s.RecordScan(ctx, "project:ci", res)
	if err != nil || rep.New == 0 || len(rep.Auto) == 0 {
		t.Fatalf("record %+v %v", rep, err)
	}
	if _, err := s.Set(ctx, SetRequest{VulnID: "CVE-2020-15250", Type: Caution, Scope: "project:ci", By: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateType(ctx, Type{Name: "Review", Effect: Warn, Auto: &Range{40, 69}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy(ctx, Global, Block, "bob"); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Evaluate(ctx, "project:ci", res)
	if err != nil || ds[0].Effect != Block || ds[1].Effect != Warn {
		t.Fatalf("decisions %v", err)
	}
	if _, err := s.SetBulk(ctx, BulkFilter{Ratings: []string{"MEDIUM"}, Ecosystem: "Maven"}, SetRequest{Type: Ignore, By: "carol"}); err != nil {
		t.Fatal(err)
	}
	c.Add(31 * 24 * time.Hour)
	swept, err := s.Expire(ctx)
	// The auto Blocked and alice's Caution (30 days) expire; the bulk
	// Ignore (90 days) does not.
	if err != nil || len(swept) != len(rep.Auto)+1 {
		t.Fatalf("expire %d %v", len(swept), err)
	}
	rep2, err := s.RecordScan(ctx, "project:ci", scan(t, st, junitPURL))
	if err != nil || rep2.Updated == 0 {
		t.Fatalf("re-record %+v %v", rep2, err)
	}
	h, err := s.History(ctx, "CVE-2022-42889")
	if err != nil || len(h) != 2 {
		t.Fatalf("history %+v %v", h, err)
	}
}
