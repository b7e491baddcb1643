package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vulngate/vulngate/internal/cpushare"
)

// importBatch is how many records an Import writes per transaction at
// first; past importGrowAfter records it writes importBatchLarge. A
// transaction writes each index page it changed once more to the WAL (and
// the checkpoint once more to the file); in a large generation a batch's
// alias rows (GHSA IDs: random keys) land on as many different pages as
// there are rows, so a larger transaction writes fewer pages per record:
// the synthetic 1,000,000-record import took 29.1-30.6 s with 2,000 per
// transaction and 21.2-22.0 s with 8,000 (4,000: 26.3 s; 16,000: no faster,
// peak RSS 191 MB), its system CPU time halved, peak RSS 140 -> 141-143
// MiB. Small ecosystems keep 2,000: the writer waits for the first batch
// of each to be parsed, and the corpus's largest holds ~10,000 records.
const (
	importBatch      = 2000
	importBatchLarge = 8000
	importGrowAfter  = 32000
	queuedRecords    = importBatchLarge // see Import
	queueRoom        = queuedRecords / importBatch
	sharedRoom       = 3 * queueRoom // all of a store's imports together (see Import)
)

// queueUnits is the room a batch of n records takes in an import's queue:
// a unit per importBatch records, at most all of it.
func queueUnits(n int) int {
	return min((n+importBatch-1)/importBatch, queueRoom)
}

// batchSize is how many records the next transaction takes.
func (im *Import) batchSize() int {
	if im.added > importGrowAfter {
		return importBatchLarge
	}
	return importBatch
}

// staleAfter is how long a pending generation may go without a heartbeat
// before it is considered abandoned (its import process died).
const staleAfter = 10 * time.Minute

// Import writes a complete new generation of one partition. Nothing it
// writes is visible to readers until Commit; if the process dies first, the
// rows are collected as garbage by a later CollectGarbage. Batches are
// written by a background goroutine so that the caller can prepare the
// next batch meanwhile; write errors surface from a later Add or Commit.
// Batches queue for the writer within a bound of queuedRecords records,
// the batch being written included (see queueUnits): a large import's
// 8,000-record batches are handed over one at a time, when the writer
// takes one (with a third batch waiting in a buffer, the 1,000,000-record
// import kept up to 36 MB of records live, which sometimes ended the
// mirror command's rare collections (cli/mirror.go) and let its heap
// double: peak RSS 170-180 MiB in five of six runs against 136 MiB with
// at most two held), while up to four 2,000-record batches may queue, so
// that a mirror's parsing runs ahead of a busy writer (which the imports
// in flight share) and the next ecosystem starts parsing before the
// writer has caught up.
//
// All of a store's imports together queue at most sharedRoom units (three
// imports' worth, 24,000 records), so that a mirror may have many imports
// in flight without holding more records than three: the corpus's small
// ecosystems (3 to 32 records), each waiting for the writer, had kept the
// larger ones behind them from being parsed meanwhile.
type Import struct {
	s          *Store
	part       string
	source     string
	generation int64
	allocated  bool // generation allocated (see allocate)
	buf        []Record
	done       bool
	skipped    []Skipped
	added      int // records given to Add

	batches chan []Record
	room    chan struct{} // a unit per importBatch records queued or being written (queueUnits)
	shared  chan struct{} // the store's room, taken with room (Store.importRoom)
	werr    chan error    // the writer's result, sent once when it stops
	// wfail is closed when a write fails (wfailErr is its error): Add
	// stops queueing, while the writer takes what was queued unwritten,
	// giving its room back.
	wfail    chan struct{}
	wfailErr error
	failed   error
	conn     *sql.Conn       // the writer's connection (SQLite), tuned for bulk writes
	aliases  deferredAliases // alias rows held until Commit (import_alias.go)
	// The writer's count of the advisory rows it inserted and of the
	// withdrawn ones among them.
	written, writtenWithdrawn int
	cpus                      *cpushare.Tokens // see ShareCPUs
	// The sketch of the IDs the writer inserted (nil once one
	// could not be held).
	sketch *IDSketch
}

// ImportStats is what a committed import changed.
type ImportStats struct {
	Records   int // live records after the import
	Withdrawn int
	Added     int // IDs not in the replaced generation
	Updated   int // IDs whose modified time changed
	Removed   int // IDs of the replaced generation not imported again
}

// BeginImport starts an import of a new generation of the partition. On
// PostgreSQL the generation is allocated here; on SQLite by the import's
// first transaction (its first batch, or Commit), which writes its
// pending_generation row with its first rows: BeginImport then neither
// writes nor waits. Its write, through a connection of its own, waited for
// SQLite's write lock while another import wrote a batch (polling it,
// sleeping between tries: 0.1-11 ms, 2-25 ms per corpus import), and made
// the imports' connection drop its page cache at its next transaction
// (SQLite discards a connection's cache when another one wrote since).
func (s *Store) BeginImport(ctx context.Context, part, source string) (*Import, error) {
	im := &Import{s: s, part: part, source: source, room: make(chan struct{}, queueRoom), shared: s.importRoom(), sketch: NewIDSketch()}
	if s.dialect != SQLite {
		if err := s.tx(ctx, func(tx *sql.Tx) error { return im.allocate(ctx, tx) }); err != nil {
			return nil, fmt.Errorf("store: begin import of %s: %w", part, err)
		}
	}
	var err error
	if im.conn, err = s.bulk.acquire(ctx, s); err != nil {
		return nil, fmt.Errorf("store: begin import of %s: %w", part, err)
	}
	im.startWriter(ctx)
	return im, nil
}

// allocate allocates the import's generation in tx (once) and records it
// as pending, to be collected if the process dies before Commit.
func (im *Import) allocate(ctx context.Context, tx *sql.Tx) error {
	if im.allocated {
		return nil
	}
	s := im.s
	if err := tx.QueryRowContext(ctx, `UPDATE generation_seq SET next = next + 1 WHERE id = 1 RETURNING next - 1`).Scan(&im.generation); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO pending_generation (generation, part, owner, heartbeat) VALUES (?, ?, ?, ?)`), im.generation, im.part, processOwner(), fmtTime(time.Now())); err != nil {
		return err
	}
	if s.dialect == SQLite {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM partition_state WHERE name = ?`, im.part).Scan(&n); err != nil {
			return err
		}
		im.aliases.on = n > 0
	}
	im.allocated = true
	return nil
}

// startWriter starts the goroutine that writes the batches queued.
func (im *Import) startWriter(ctx context.Context) {
	im.batches, im.werr, im.wfail = make(chan []Record, queueRoom), make(chan error, 1), make(chan struct{})
	go im.writer(ctx, im.batches, im.werr, im.wfail)
}

// writer writes queued batches until the channel closes. After a failed
// write it writes no more but still takes the batches queued, giving their
// room back. It takes the channels as arguments: finish clears them,
// possibly before this goroutine first runs.
func (im *Import) writer(ctx context.Context, batches <-chan []Record, werr chan<- error, wfail chan<- struct{}) {
	var err error
	for batch := range batches {
		if err == nil {
			if err = im.write(ctx, batch); err != nil {
				im.wfailErr = err
				close(wfail)
			}
		}
		im.giveRoom(queueUnits(len(batch)))
	}
	werr <- err
}

// takeRoom takes a unit of the import's room and of the store's, unless
// the writer failed (its error) or ctx ends first.
func (im *Import) takeRoom(ctx context.Context) error {
	select {
	case im.room <- struct{}{}:
	case <-im.wfail:
		return im.wfailErr
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case im.shared <- struct{}{}:
		return nil
	case <-im.wfail:
		<-im.room
		return im.wfailErr
	case <-ctx.Done():
		<-im.room
		return ctx.Err()
	}
}

// giveRoom gives n units back, of the import's room and of the store's.
func (im *Import) giveRoom(n int) {
	for range n {
		<-im.shared
		<-im.room
	}
}

// importRoom is the store's room for the records its imports queue (see
// Import).
func (s *Store) importRoom() chan struct{} {
	s.bulk.roomOnce.Do(func() { s.bulk.room = make(chan struct{}, sharedRoom) })
	return s.bulk.room
}

// Add queues a record, handing a batch to the writer when enough are
// queued.
func (im *Import) Add(ctx context.Context, r Record) error {
	if im.done {
		return errors.New("store: import already finished")
	}
	if im.failed != nil {
		return im.failed
	}
	im.buf = append(im.buf, r)
	im.added++
	if len(im.buf) >= im.batchSize() {
		return im.send(ctx)
	}
	return nil
}

func (im *Import) send(ctx context.Context) error {
	if len(im.buf) == 0 {
		return nil
	}
	units := queueUnits(len(im.buf))
	for i := range units {
		if err := im.takeRoom(ctx); err != nil {
			im.giveRoom(i)
			if ctx.Err() == nil { // the writer failed
				im.failed = err
			}
			return err
		}
	}
	im.batches <- im.buf // never blocks: the room taken is its place
	im.buf = make([]Record, 0, im.batchSize())
	return nil
}

// finish stops the writer and returns its result.
func (im *Import) finish() error {
	if im.batches == nil {
		return im.failed
	}
	close(im.batches)
	im.batches = nil
	err := <-im.werr
	if im.failed == nil {
		im.failed = err
	}
	return im.failed
}

// txOn runs fn in a transaction on conn, committing when fn returns nil.
func txOn(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (im *Import) write(ctx context.Context, batch []Record) error {
	kept, err := im.writeBatch(ctx, batch)
	if err != nil {
		return fmt.Errorf("store: import %s: %w", im.part, err)
	}
	im.written += len(kept)
	for _, r := range kept {
		if im.sketch != nil && !im.sketch.Add(r.ID) {
			im.sketch = nil
		}
		if r.Withdrawn {
			im.writtenWithdrawn++
		}
	}
	return nil
}

// writeBatch writes one batch and returns the records it wrote (the first
// copy of an ID repeated in the generation is kept whole).
func (im *Import) writeBatch(ctx context.Context, batch []Record) ([]Record, error) {
	if im.s.dialect == Postgres {
		return copyRecords(ctx, im.conn, im.part, im.generation, batch)
	}
	var kept []Record
	err := im.s.bulk.tx(ctx, im.s, im.conn, im.cpus, func(tx *sql.Tx) error {
		if err := im.allocate(ctx, tx); err != nil {
			return err
		}
		if len(batch) > importBatch { // past importGrowAfter (batchSize)
			if err := im.s.bulk.growCache(ctx, tx); err != nil {
				return err
			}
		}
		var err error
		if kept, err = writeRecords(ctx, im.s, tx, im.part, im.generation, batch, im.aliases.on); err != nil {
			return err
		}
		if flush := im.aliases.take(kept); flush != nil {
			if err := insertAliasRows(ctx, tx, im.part, im.generation, flush); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, im.s.Rebind(`UPDATE pending_generation SET heartbeat = ? WHERE generation = ?`), fmtTime(time.Now()), im.generation)
		return err
	})
	return kept, err
}

// Flush writes the records added so far as a batch of their own and waits
// for them to be written (to the pending generation: still invisible to
// readers). Imports need not call it; tests and fixtures that want an
// import's rows on disk before it ends do.
func (im *Import) Flush(ctx context.Context) error {
	if err := im.send(ctx); err != nil {
		return err
	}
	if err := im.finish(); err != nil {
		return err
	}
	im.startWriter(ctx)
	return nil
}

// Commit writes what is queued, counts what changed against the generation
// it replaces, makes the new generation live in one transaction, and then
// deletes the replaced generation. st's Records and Withdrawn are set from
// what was written, and its Malformed counts also the records given to Add
// that were not written (repeating an ID written before), as the mirror
// reports them.
func (im *Import) Commit(ctx context.Context, st PartitionState) (ImportStats, error) {
	defer im.releaseConn()
	var stats ImportStats
	if im.done {
		return stats, errors.New("store: import already finished")
	}
	if err := im.send(ctx); err != nil {
		return stats, err
	}
	if err := im.finish(); err != nil {
		return stats, err
	}
	if im.s.dialect == Postgres {
		// Freshly written rows have no planner statistics until autovacuum
		// gets to them; without them PostgreSQL compares and deletes whole
		// generations with nested loops (quadratic in the partition size),
		// and batched package lookups after a first import took a minute
		// instead of milliseconds. ANALYZE samples, so it costs little
		// once (~150 ms of server CPU for the three tables of the corpus);
		// but an OSV mirror imports 19 or more partitions, and analyzing
		// after each one that was a tenth of the known rows still cost the
		// server more CPU than writing the rows. It runs when this import
		// is at least as large as the rows the statistics know of (always
		// on a never-analyzed table): the planner scales the known row
		// counts to the tables' current size, the rows of later, smaller
		// partitions are estimated as rare (index probes, which is what
		// their lookups want), and autovacuum's own ANALYZE follows once
		// a tenth of the rows changed since this one.
		if err := im.s.analyzeGrown(ctx, "advisory", int64(im.added), 1, `advisory, advisory_package, advisory_alias`, importStatisticsTarget); err != nil {
			return stats, fmt.Errorf("store: commit import of %s: analyze: %w", im.part, err)
		}
	}
	var old int64 = -1
	flip := im.s.tx
	if im.s.dialect == SQLite {
		// Through the imports' connection, in turn with the other imports
		// (its page cache stays valid for them).
		flip = func(ctx context.Context, fn func(*sql.Tx) error) error {
			defer im.s.listsChanged()
			return im.s.bulk.tx(ctx, im.s, im.conn, nil, fn)
		}
	}
	err := flip(ctx, func(tx *sql.Tx) error {
		if err := im.allocate(ctx, tx); err != nil { // nothing was written
			return err
		}
		if err := im.s.wholeGenerationPlans(ctx, tx); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, im.s.Rebind(`SELECT generation FROM partition_state WHERE name = ?`), im.part).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := im.aliases.commit(ctx, tx, im.part, im.generation, old); err != nil {
			return err
		}
		// The writer counted the rows (counting them again read every row
		// of the generation: 3% of a corpus import's CPU on SQLite; on
		// PostgreSQL 87-156 ms of the server's statement time for the corpus).
		stats.Records, stats.Withdrawn = im.written, im.writtenWithdrawn
		if err := im.s.countImport(ctx, tx, im.part, im.generation, old, &stats); err != nil {
			return err
		}
		if err := im.s.journalGeneration(ctx, tx, im.part, im.generation, old); err != nil {
			return err
		}
		st.Name, st.Source, st.Generation = im.part, im.source, im.generation
		st.Records, st.Withdrawn = stats.Records, stats.Withdrawn
		st.Malformed += max(0, im.added-stats.Records)
		st.Sketch = im.sketch
		if err := upsertPartition(ctx, im.s, tx, st); err != nil {
			return err
		}
		if err := replaceSkipped(ctx, im.s, tx, im.part, true, nil, im.skipped); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, im.s.Rebind(`DELETE FROM pending_generation WHERE generation = ?`), im.generation)
		return err
	})
	if err != nil {
		return stats, fmt.Errorf("store: commit import of %s: %w", im.part, err)
	}
	im.done = true
	if im.s.dialect == Postgres {
		// Lookups start from partition_state; with its statistics the
		// planner probes the package index per partition instead of
		// scanning it. Best effort: the import is committed already.
		im.s.analyze(ctx, `partition_state`, 0)
	}
	if old >= 0 {
		if err := im.s.deleteGeneration(ctx, im.part, old); err != nil {
			return stats, err
		}
		return stats, im.s.reclaim(ctx)
	}
	return stats, nil
}

// countImport fills the rest of stats, which holds the generation's
// records and withdrawn records, by comparing generation gen with old (-1:
// none).
func (s *Store) countImport(ctx context.Context, tx *sql.Tx, part string, gen, old int64, stats *ImportStats) error {
	if old < 0 {
		stats.Added = stats.Records
		return nil
	}
	const anti = `SELECT COUNT(*) FROM advisory a WHERE a.part = ? AND a.generation = ?
  AND NOT EXISTS (SELECT 1 FROM advisory b WHERE b.part = a.part AND b.generation = ? AND b.id = a.id)`
	if err := tx.QueryRowContext(ctx, s.Rebind(anti), part, gen, old).Scan(&stats.Added); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, s.Rebind(anti), part, old, gen).Scan(&stats.Removed); err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM advisory a JOIN advisory b ON b.part = a.part AND b.id = a.id AND b.generation = ?
WHERE a.part = ? AND a.generation = ? AND a.modified <> b.modified`), old, part, gen).Scan(&stats.Updated)
}

// Abort discards everything the import wrote, waiting for the database
// when it is unavailable.
func (im *Import) Abort(ctx context.Context) error {
	defer im.releaseConn()
	if im.done {
		return nil
	}
	im.done = true
	im.buf = nil
	im.finish()
	if !im.allocated { // nothing was written
		return nil
	}
	// The database may be what failed the import: the rows are deleted
	// as soon as it is back (until ctx ends), not by a later run.
	return Retry(ctx, func(ctx context.Context) error {
		if err := im.s.deleteGeneration(ctx, im.part, im.generation); err != nil {
			return err
		}
		_, err := im.s.exec(ctx, im.s.Rebind(`DELETE FROM pending_generation WHERE generation = ?`), im.generation)
		return err
	})
}
