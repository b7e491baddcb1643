package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/vulngate/vulngate/internal/store"
)

// flakyWriter records audit rows, or fails like an unreachable database
// while down; failAfter > 0 lets that many more writes succeed first.
type flakyWriter struct {
	mu        sync.Mutex
	down      bool
	failAfter int
	rows      []store.FeedDecision
}

func (w *flakyWriter) RecordFeedDecisions(_ context.Context, ds []store.FeedDecision) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down {
		if w.failAfter == 0 {
			return fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED)
		}
		w.failAfter--
	}
	w.rows = append(w.rows, ds...)
	return nil
}

func (w *flakyWriter) set(down bool, failAfter int) {
	w.mu.Lock()
	w.down, w.failAfter = down, failAfter
	w.mu.Unlock()
}

func (w *flakyWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.rows)
}

func row(i int) store.FeedDecision {
	return store.FeedDecision{Feed: "npm", PURL: fmt.Sprintf("pkg:npm/p%d@1.0.0", i), Effect: "allow"}
}

// TestAuditTrailKeepsRowsUntilWritten: rows that cannot be written wait in
// the spool file, survive a restart of the trail, and are written once
// the writer works again; a required row is refused while it does not;
// beyond the backlog bound rows are refused.
func TestAuditTrailKeepsRowsUntilWritten(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := &flakyWriter{}
	w.set(true, 0)
	a := newAuditTrail(w, slog.New(slog.DiscardHandler), dir, 5, nil)
	for i := range 5 {
		if err := a.record(ctx, row(i), false); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	a.flush()
	if err := a.record(ctx, row(5), false); !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("a row beyond the backlog bound: %v", err)
	}
	if err := a.record(ctx, row(6), true); !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("a required row while the writer fails: %v", err)
	}
	a.close()
	// A new trail over the same spool, the writer back.
	w.set(false, 0)
	a = newAuditTrail(w, slog.New(slog.DiscardHandler), dir, 5, nil)
	defer a.close()
	if err := a.record(ctx, row(7), true); err != nil {
		t.Fatalf("a required row once the writer works: %v", err)
	}
	a.flush()
	if got := w.count(); got != 6 {
		t.Fatalf("%d rows written, want the 5 that waited and the required one", got)
	}
	if _, err := os.Stat(filepath.Join(dir, AuditSpoolFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spool file left after all rows were written: %v", err)
	}
}

// TestAuditSpoolReplayStopsHalfway: the writer fails after some chunks of
// a long spool; the rows written are not written again, the others stay,
// and a line torn by a crash is skipped.
func TestAuditSpoolReplayStopsHalfway(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditSpoolFile)
	var rows []store.FeedDecision
	for i := range 2500 {
		rows = append(rows, row(i))
	}
	if err := appendSpool(path, rows); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"Feed":"npm","PURL":"pkg:npm/torn`)
	f.Close()
	w := &flakyWriter{}
	w.set(true, 1) // one chunk of 1000, then down
	put := func(ds []store.FeedDecision) error { return w.RecordFeedDecisions(context.Background(), ds) }
	n, err := replaySpool(path, put)
	if err == nil || n != 1000 {
		t.Fatalf("first replay: %d written, %v", n, err)
	}
	w.set(false, 0)
	n, err = replaySpool(path, put)
	if err != nil || n != 1500 {
		t.Fatalf("second replay: %d written, %v", n, err)
	}
	if got := w.count(); got != 2500 {
		t.Fatalf("%d rows written in all, want 2500", got)
	}
	for i, r := range w.rows {
		if r.PURL != rows[i].PURL {
			t.Fatalf("row %d: %s, want %s (order or duplicates)", i, r.PURL, rows[i].PURL)
		}
	}
}
