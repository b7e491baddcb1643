package store

import (
	"context"
	"time"
)

// Writes of one process to a SQLite database take turns. SQLite lets one
// transaction write at a time, and a writer that finds the lock taken
// polls for it (the busy handler: sleeps of up to 100 ms between tries,
// until busy_timeout). Two writers that each commit back to back leave the
// lock free only between one's commit and its next begin, which a poll
// seldom hits: a server starting on 300,000 mirrored advisories, its
// advisory index being built in batches while the mirror job re-imported
// the partition, failed the import with SQLITE_BUSY after the 10 s
// timeout, and the job leases' renewals timed out meanwhile. The writes
// of this process (transactions, and the single statements written
// without one) therefore queue for a turn first (writeTurn: a channel,
// whose waiters are served in order) and meet SQLite's lock only after
// it; other processes (a command run beside the server) still meet at the
// lock. PostgreSQL's writes take no turn (a nil writeTurn): its row locks
// queue.

// turnWait is how long a write waits for its turn before it goes on to
// SQLite's lock regardless (as it did before writes took turns): a path
// that asks for a turn while it holds one is slow, not deadlocked.
var turnWait = 10 * time.Second

// writeTurn is a store's queue of writes (SQLite); nil for PostgreSQL.
type writeTurn chan struct{}

func newWriteTurn(d Dialect) writeTurn {
	if d != SQLite {
		return nil
	}
	return make(writeTurn, 1)
}

// take waits for the turn, at most turnWait or until ctx ends, and returns
// the function that gives it back (one that does nothing when the turn was
// not had).
func (w writeTurn) take(ctx context.Context) (done func()) {
	if w == nil {
		return func() {}
	}
	select {
	case w <- struct{}{}:
		return func() { <-w }
	default:
	}
	t := time.NewTimer(turnWait)
	defer t.Stop()
	select {
	case w <- struct{}{}:
		return func() { <-w }
	case <-ctx.Done():
	case <-t.C:
	}
	return func() {}
}
