package catalog_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

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
