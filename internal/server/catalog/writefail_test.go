package catalog_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// failingWrites fails the second batch of summaries written.
type failingWrites struct {
	*store.Store
	writes atomic.Int32
}

var errDiskFull = errors.New("disk full")

func (f *failingWrites) ReplaceSummaries(ctx context.Context, part string, deleteAll bool, deletes []string, upserts []store.AdvisorySummary) error {
	if f.writes.Add(1) == 2 {
		return errDiskFull
	}
	return f.Store.ReplaceSummaries(ctx, part, deleteAll, deletes, upserts)
}

// TestRefreshReportsFailedWrite: summaries are written while the next
// batch is parsed; a failed write ends the refresh with its error, and the
// batches written before it stay.
func TestRefreshReportsFailedWrite(t *testing.T) {
	st, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sync(t, st, "file://"+corpus.Dir(t), "Go") // 4,301 records: three batches
	f := &failingWrites{Store: st}
	if _, err := catalog.RefreshChanged(context.Background(), f, quiet, nil); !errors.Is(err, errDiskFull) {
		t.Fatalf("RefreshChanged = %v, want the failed write's error", err)
	}
	_, n, err := st.ListSummaries(context.Background(), store.SummaryFilter{Limit: 1, Withdrawn: true})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2000 {
		t.Errorf("%d summaries after the failed second batch, want the first batch's 2000", n)
	}
	if got := f.writes.Load(); got != 2 {
		t.Errorf("%d batches written, want 2 (none after the failure)", got)
	}
}

// fewerRecords pretends that only keep of the partition's records are
// still stored, and records the deletes of each summaries write.
type fewerRecords struct {
	*store.Store
	keep              int
	replaced, deleted []int
}

func (f *fewerRecords) RecordVersions(ctx context.Context, part string) (map[string]time.Time, error) {
	all, err := f.Store.RecordVersions(ctx, part)
	if err != nil {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(all))
	kept := make(map[string]time.Time, f.keep)
	for _, id := range ids[:f.keep] {
		kept[id] = all[id]
	}
	return kept, nil
}

func (f *fewerRecords) ReplaceSummaries(ctx context.Context, part string, deleteAll bool, deletes []string, upserts []store.AdvisorySummary) error {
	f.replaced = append(f.replaced, len(deletes))
	return f.Store.ReplaceSummaries(ctx, part, deleteAll, deletes, upserts)
}

func (f *fewerRecords) DeleteSummaries(ctx context.Context, part string, ids []string) error {
	f.deleted = append(f.deleted, len(ids))
	return f.Store.DeleteSummaries(ctx, part, ids)
}

// TestRefreshDeletesApart: the summaries of records no longer stored are
// deleted by DeleteSummaries (a statement per thousand, each a transaction
// of its own), not in the transaction of the first batch written.
func TestRefreshDeletesApart(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sync(t, st, "file://"+corpus.Dir(t), "Go") // 4,301 records
	if err := catalog.Refresh(ctx, st, quiet); err != nil {
		t.Fatal(err)
	}
	f := &fewerRecords{Store: st, keep: 300}
	if err := catalog.Refresh(ctx, f, quiet); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.deleted, []int{4001}) || slices.ContainsFunc(f.replaced, func(n int) bool { return n > 0 }) {
		t.Errorf("deleted %v apart and %v with the written batches; want [4001] and none", f.deleted, f.replaced)
	}
	if _, n, err := st.ListSummaries(ctx, store.SummaryFilter{Limit: 1, Withdrawn: true}); err != nil || n != 300 {
		t.Errorf("%d summaries left (%v), want 300", n, err)
	}
}
