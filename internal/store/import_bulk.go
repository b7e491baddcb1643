package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vulngate/vulngate/internal/cpushare"
)

// The connection SQLite imports write through. Imports of several
// partitions may run at once (a mirror syncs two ecosystems at a time):
// they share one connection and take turns at it, one transaction at a
// time, holding bulkWriter.mu. One connection because SQLite drops a
// connection's page cache whenever another connection has written since
// its last transaction: with a connection per import, each batch would
// read again the index pages the previous one had cached. Taking turns
// here, not at SQLite's write lock, because a writer waiting for that lock
// polls it in SQLite's busy handler, sleeping between tries.

// SQLite settings of the imports' writer connection. Its page cache is
// bulkCacheKiB until an import's generation grows past importGrowAfter
// records, and bulkLargeCacheKiB from then on: a large cache keeps the
// index pages of a large growing generation in memory, but it is also
// filled with the pages of the documents written, which an import never
// reads again, and every page the cache adds is memory touched for the
// first time (a page fault) and allocated by SQLite. The corpus import
// (no partition larger than 7,444 records) took 0.96-0.99x the time with
// 8 MiB than with 32 MiB in four runs of 10-14 interleaved rounds (4 MiB:
// 0.981x, 16 MiB: 0.981x), peak RSS 115 -> 88-96 MiB; the synthetic
// 1,000,000-record import with 8 MiB throughout took 1.00-1.07x the time
// (and with the large cache past importGrowAfter, 0.99-1.01x).
//
// The connection does not checkpoint the WAL: a checkpointer on a
// connection of its own does, after each commit (see checkpointer). The
// connection gets the defaults back when the last import using it ends,
// and the WAL is checkpointed then.
const (
	bulkCacheKiB      = 8192
	bulkLargeCacheKiB = 32768
	defaultCacheKiB   = 8192 // Options.PageCacheKiB's default
)

// bulkWriter is a store's shared import connection (SQLite).
type bulkWriter struct {
	ref   sync.Mutex // guards conn and users
	conn  *sql.Conn
	users int
	// The checkpointer (see checkpointer) is woken through wake after each
	// commit and closes stopped when wake closes.
	wake    chan struct{}
	stopped chan struct{}
	// ckpt is held for each checkpoint pass; walFrames is the WAL's size
	// in frames at the last one (see tx).
	ckpt      sync.Mutex
	walFrames atomic.Int64
	// restartFrames is walRestartBytes in frames of the database's pages.
	restartFrames int64
	// largeCache is set once the connection's page cache was raised to
	// bulkLargeCacheKiB (see growCache).
	largeCache atomic.Bool
	// room is the store's room for queued import records (importRoom).
	roomOnce sync.Once
	room     chan struct{}
}

// walRestartBytes bounds the WAL of imports: a transaction that would
// begin with a WAL of more frames than that many bytes of the database's
// pages (restartFrames: 4,096 of 16 KiB pages, 16,384 of 4 KiB) first has it
// copied to the database completely, and so starts it over. The
// checkpointer's passes run behind the writer: when the writer commits
// again before a pass ends, the WAL cannot start over (SQLite restarts it
// only at a transaction that begins with every frame copied), and with
// parsing fast enough to keep the writer busy it grew without end: 1.7 GB
// in the synthetic 1,000,000-record import, whose rate then fell with the
// WAL's size (pages are looked up through an index per 4,096 frames) and
// whose peak RSS rose to 180 MB. A reader that keeps the WAL from being
// copied completely (the server's) only makes such transactions wait for
// the checkpointer's pass in progress.
var walRestartBytes int64 = 64 << 20 // tests lower it

// checkpointDelay holds each checkpoint pass back (a test sets it to have
// the passes run behind the writer's commits, as in a long import).
var checkpointDelay time.Duration

// acquire returns the connection an import writes through: on SQLite the
// shared one (opened and tuned by its first user), on PostgreSQL a
// connection of the import's own.
func (b *bulkWriter) acquire(ctx context.Context, s *Store) (*sql.Conn, error) {
	if s.dialect != SQLite {
		return s.db.Conn(ctx)
	}
	b.ref.Lock()
	defer b.ref.Unlock()
	if b.conn == nil {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		ck, err := s.db.Conn(ctx)
		if err != nil {
			conn.Close()
			return nil, err
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = 0`, bulkCacheKiB)); err != nil {
			conn.Close()
			ck.Close()
			return nil, err
		}
		var pageSize int64
		if err := conn.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil || pageSize <= 0 {
			pageSize = PageSize
		}
		b.restartFrames = max(1, walRestartBytes/pageSize)
		b.conn = conn
		b.largeCache.Store(false)
		b.wake, b.stopped = make(chan struct{}, 1), make(chan struct{})
		b.walFrames.Store(0)
		go b.checkpointer(ck, b.wake, b.stopped)
	}
	b.users++
	return b.conn, nil
}

// release gives back a connection acquire returned. The last user of the
// shared SQLite connection checkpoints the WAL and returns the connection
// to the pool with default settings.
func (b *bulkWriter) release(s *Store, conn *sql.Conn) {
	if s.dialect != SQLite {
		conn.Close()
		return
	}
	b.ref.Lock()
	defer b.ref.Unlock()
	if b.users--; b.users > 0 {
		return
	}
	close(b.wake)
	<-b.stopped
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA wal_checkpoint(PASSIVE); PRAGMA wal_autocheckpoint = 1000; PRAGMA cache_size = -%d`, s.cacheKiB))
	conn.Close()
	b.conn = nil
}

// tx runs fn in a transaction on conn, in the store's write turn
// (writeturn.go). With cpus (see Import.ShareCPUs) it holds one of them
// meanwhile.
func (b *bulkWriter) tx(ctx context.Context, s *Store, conn *sql.Conn, cpus *cpushare.Tokens, fn func(*sql.Tx) error) error {
	defer s.writes.take(ctx)()
	if cpus != nil {
		if err := cpus.Acquire(ctx, true); err != nil {
			return err
		}
		defer cpus.Release()
	}
	if b.walFrames.Load() > b.restartFrames {
		// Copy what the checkpointer has not (after its pass in progress)
		// so that this transaction starts the WAL over.
		b.ckpt.Lock()
		b.walFrames.Store(checkpointPassive(ctx, conn))
		b.ckpt.Unlock()
	}
	if err := txOn(ctx, conn, fn); err != nil {
		return err
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return nil
}

// growCache raises the page cache of the import connection, in tx on it,
// for a large generation (see bulkCacheKiB).
func (b *bulkWriter) growCache(ctx context.Context, tx *sql.Tx) error {
	if b.largeCache.Load() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -%d`, bulkLargeCacheKiB)); err != nil {
		return err
	}
	b.largeCache.Store(true)
	return nil
}

// checkpointer copies the WAL's committed pages into the database file,
// on a connection of its own, whenever wake says a transaction committed,
// until wake closes. The writer's connection does not checkpoint: copying
// the pages (reading them back from the WAL, writing and syncing the
// database file) was a sixth of its time, on the import's critical path;
// here it overlaps the next transaction. The WAL starts over from its
// beginning when a transaction begins after a checkpoint copied all of it
// (see walRestartBytes).
func (b *bulkWriter) checkpointer(conn *sql.Conn, wake <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	defer conn.Close()
	for range wake {
		time.Sleep(checkpointDelay)
		b.ckpt.Lock()
		b.walFrames.Store(checkpointPassive(context.Background(), conn))
		b.ckpt.Unlock()
	}
}

// checkpointPassive runs a passive checkpoint on conn and returns the
// WAL's size in frames (0 when unknown).
func checkpointPassive(ctx context.Context, conn *sql.Conn) int64 {
	var busy, frames, copied int64
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return 0
	}
	return frames
}

// releaseConn gives the writer's connection back once the writer is done.
func (im *Import) releaseConn() {
	if im.conn == nil {
		return
	}
	im.finish() // the writer is done with the connection
	im.s.bulk.release(im.s, im.conn)
	im.conn = nil
}

// ShareCPUs makes the import's writer hold one of cpus (one token per CPU
// in use) while it writes a batch (SQLite), asking for it with high
// priority. The caller's workers that read and parse the records take a
// token, with low priority, for each chunk of records: while the writer
// writes, they leave it a CPU of its own. Without this the writer, whose
// work is serial and on the import's critical path, got the share of a
// CPU Go's scheduler gives any one of three busy goroutines on two CPUs;
// and with a channel as the semaphore it queued for its token behind
// every worker of both imports asking before it (the corpus import was
// 1.3-2.5% slower, its writer idle more often).
func (im *Import) ShareCPUs(cpus *cpushare.Tokens) { im.cpus = cpus }
