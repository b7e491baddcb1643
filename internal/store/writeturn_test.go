package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// TestWritesTakeTurns: on SQLite a transaction and a single statement
// that writes wait for the turn a writer of the same process holds, and go
// on once it is given back; PostgreSQL's writes take none.
func TestWritesTakeTurns(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	release := s.writes.take(ctx)
	done := make(chan string, 2)
	go func() {
		if err := s.tx(ctx, func(*sql.Tx) error { return nil }); err != nil {
			t.Error(err)
		}
		done <- "transaction"
	}()
	go func() {
		if err := s.DeleteExpiredSessions(ctx, time.Now()); err != nil {
			t.Error(err)
		}
		done <- "statement"
	}()
	select {
	case w := <-done:
		t.Fatalf("the %s wrote while another writer held the turn", w)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	for range 2 {
		<-done
	}
	if newWriteTurn(Postgres) != nil {
		t.Error("PostgreSQL's writes take turns")
	}
}

// TestWriteTurnWaitBounded: a write that waits longer than turnWait goes
// on to SQLite's own lock, so that a path asking for the turn while it
// holds one is slow, not deadlocked.
func TestWriteTurnWaitBounded(t *testing.T) {
	defer func(d time.Duration) { turnWait = d }(turnWait)
	turnWait = 50 * time.Millisecond
	ctx := context.Background()
	s := openSQLite(t)
	release := s.writes.take(ctx)
	defer release()
	if err := s.DeleteExpiredSessions(ctx, time.Now()); err != nil {
		t.Fatalf("a write past its turn's wait: %v", err)
	}
	// An ended context ends the wait too, and the write fails with it.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.DeleteExpiredSessions(cctx, time.Now()); err == nil {
		t.Fatal("a write with an ended context succeeded")
	}
}
