package feed

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// The gate's audit trail: every download decision becomes a feed_decision
// row. Rows are written in batches by one goroutine. When the database
// cannot take them they are not dropped: they wait (in a spool file in
// the data directory when the gate has one, else in memory) and are
// written once the database is back, oldest first. A download is served
// only once its row is accepted: queued, or, for a feed that requires its
// audit (Feed.AuditRequired), written. When the rows waiting reach
// GateOptions.AuditBacklog, or a required row cannot be written, the
// download is refused with ErrAuditUnavailable. Refusals (Blocked) are
// always queued: refusing cannot be made safer by waiting.
//
// Left out: rows of a batch being gathered (at most 200ms) are lost when
// the process is killed; the spool file is this instance's alone (one data
// directory per instance).

// ErrAuditUnavailable is returned by Gate.Check when the decision cannot
// be recorded in the audit trail as the feed requires; the download is
// refused (503, try again later).
var ErrAuditUnavailable = errors.New("the decision could not be recorded in the audit trail (the database is unavailable)")

// errRecentlyDown refuses rows while a retry is not yet due.
var errRecentlyDown = errors.New("the database was unavailable moments ago")

// AuditSpoolFile is the spool file's name in GateOptions.AuditSpoolDir.
const AuditSpoolFile = "feed-audit-spool.jsonl"

type auditMsg struct {
	d store.FeedDecision
	// written, when set, receives the result of writing d.
	written chan error
	// flushed, when set (and d empty), is closed once everything queued
	// before was written or set aside.
	flushed chan struct{}
}

// auditWriter is what the audit trail needs from the store.
type auditWriter interface {
	RecordFeedDecisions(ctx context.Context, ds []store.FeedDecision) error
}

type auditTrail struct {
	st  auditWriter
	log *slog.Logger
	// written is called (by the loop goroutine) after rows are written.
	written func(ctx context.Context, rows []store.FeedDecision)
	spool   string // spool file path; "" keeps waiting rows in memory
	max     int64
	done    chan struct{}
	waiting atomic.Int64 // rows accepted and not yet written

	// mu guards pending and closed. Rows are appended to pending by the
	// downloads and taken by the loop goroutine, which wakes on the tick
	// or on wake: a full batch, a caller waiting for its row, a flush or
	// close. A download that needs nothing of the loop does not wake it
	// (no goroutine switch per download).
	mu      sync.Mutex
	pending []auditMsg
	spare   []auditMsg // the loop's last taken slice, reused
	closed  bool
	wake    chan struct{} // capacity 1

	closeOnce sync.Once

	// Owned by the loop goroutine.
	backlog  []store.FeedDecision // rows set aside in memory
	spooled  int                  // rows in the spool file
	failing  bool
	retryAt  time.Time
	retryGap time.Duration
}

func newAuditTrail(st auditWriter, log *slog.Logger, spoolDir string, max int, written func(context.Context, []store.FeedDecision)) *auditTrail {
	a := &auditTrail{st: st, log: log, written: written, max: int64(max), wake: make(chan struct{}, 1), done: make(chan struct{})}
	if spoolDir != "" {
		if err := os.MkdirAll(spoolDir, 0o700); err != nil {
			log.Error("feed gate: no audit spool directory; unwritten audit rows wait in memory", "dir", spoolDir, "err", err)
		} else {
			a.spool = filepath.Join(spoolDir, AuditSpoolFile)
			a.spooled = countLines(a.spool)
			a.waiting.Add(int64(a.spooled))
			if a.spooled > 0 {
				log.Info("feed gate: audit rows left unwritten by the previous run will be written", "rows", a.spooled)
			}
		}
	}
	go a.loop()
	return a
}

// record queues d. With wait it returns once d is written, or
// ErrAuditUnavailable (d is then dropped: the caller refuses the
// download). Without, it fails only when too many rows wait already.
func (a *auditTrail) record(ctx context.Context, d store.FeedDecision, wait bool) error {
	m := auditMsg{d: d}
	if wait {
		m.written = make(chan error, 1)
	} else if a.waiting.Load() >= a.max {
		return fmt.Errorf("%w: %d decisions wait to be recorded already", ErrAuditUnavailable, a.waiting.Load())
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return fmt.Errorf("%w: the gate is shutting down", ErrAuditUnavailable)
	}
	a.waiting.Add(1)
	a.pending = append(a.pending, m)
	now := wait || len(a.pending) >= auditBatch
	a.mu.Unlock()
	if now {
		a.signal()
	}
	if !wait {
		return nil
	}
	select {
	case err := <-m.written:
		return err
	case <-ctx.Done():
		// The row is written or dropped by the loop; the client left.
		return ctx.Err()
	}
}

// signal wakes the loop goroutine (at once if it sleeps, else after the
// work in hand).
func (a *auditTrail) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *auditTrail) close() {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		a.signal()
		<-a.done
	})
}

// flush waits until the rows queued so far are written or set aside.
func (a *auditTrail) flush() {
	ch := make(chan struct{})
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.pending = append(a.pending, auditMsg{flushed: ch})
	a.mu.Unlock()
	a.signal()
	<-ch
}

const (
	auditBatch     = 256
	auditTick      = 200 * time.Millisecond
	auditWriteTime = 5 * time.Second
)

// loop writes the queued rows: on the tick, or at once when woken. Rows
// are written in order, at most auditBatch per transaction (a caller
// waiting for its row shares the transaction of the rows queued before
// it: group commit).
func (a *auditTrail) loop() {
	defer close(a.done)
	tick := time.NewTicker(auditTick)
	defer tick.Stop()
	for {
		ticked := false
		select {
		case <-a.wake:
		case <-tick.C:
			ticked = true
		}
		a.mu.Lock()
		taken, closed := a.pending, a.closed
		a.pending = a.spare[:0]
		a.spare = nil
		a.mu.Unlock()
		from := 0 // taken[from:i] is the batch in hand
		for i, m := range taken {
			if m.flushed != nil {
				a.write(taken[from:i])
				from = i + 1
				a.retry(true)
				close(m.flushed)
				continue
			}
			if i+1-from == auditBatch {
				a.write(taken[from : i+1])
				from = i + 1
			}
		}
		a.write(taken[from:])
		clear(taken)
		a.mu.Lock()
		if a.spare == nil && cap(taken) <= 4*auditBatch {
			a.spare = taken[:0]
		}
		a.mu.Unlock()
		switch {
		case closed:
			a.retry(true)
			a.finalWords()
			return
		case ticked:
			a.retry(false)
		}
	}
}

// write writes a batch in one transaction. Rows of callers waiting for
// them are dropped when that fails (the callers refuse); others are set
// aside for later.
func (a *auditTrail) write(batch []auditMsg) {
	if len(batch) == 0 {
		return
	}
	rows := make([]store.FeedDecision, len(batch))
	for i, m := range batch {
		rows[i] = m.d
	}
	// While the database is failing, rows are not sent before the next
	// retry is due: callers waiting are refused at once.
	err := errRecentlyDown
	tried := !a.failing || !time.Now().Before(a.retryAt)
	if tried {
		err = a.put(rows)
	}
	if err == nil {
		a.waiting.Add(-int64(len(rows)))
		for _, m := range batch {
			if m.written != nil {
				m.written <- nil
			}
		}
		if a.failing {
			a.retry(true) // it is back: write what waits
		}
		return
	}
	if tried {
		a.fail(err)
	}
	var keep []store.FeedDecision
	for _, m := range batch {
		if m.written != nil {
			a.waiting.Add(-1)
			m.written <- fmt.Errorf("%w: %v", ErrAuditUnavailable, err)
			continue
		}
		keep = append(keep, m.d)
	}
	a.setAside(keep)
}

func (a *auditTrail) put(rows []store.FeedDecision) error {
	ctx, cancel := context.WithTimeout(context.Background(), auditWriteTime)
	defer cancel()
	if err := a.st.RecordFeedDecisions(ctx, rows); err != nil {
		return err
	}
	if a.written != nil {
		a.written(ctx, rows)
	}
	return nil
}

func (a *auditTrail) fail(err error) {
	if !a.failing {
		a.log.Error("feed gate: writing the decision audit failed; decisions wait to be written (feeds that require their audit refuse downloads meanwhile)", "err", err)
		a.failing, a.retryGap = true, 500*time.Millisecond
	} else {
		a.retryGap = min(2*a.retryGap, time.Second)
	}
	a.retryAt = time.Now().Add(a.retryGap)
}

// setAside keeps rows that could not be written: appended to the spool
// file, else in memory.
func (a *auditTrail) setAside(rows []store.FeedDecision) {
	if len(rows) == 0 {
		return
	}
	if a.spool != "" {
		err := appendSpool(a.spool, rows)
		if err == nil {
			a.spooled += len(rows)
			return
		}
		a.log.Error("feed gate: writing the audit spool failed; keeping the rows in memory", "file", a.spool, "err", err)
	}
	a.backlog = append(a.backlog, rows...)
}

// retry writes the rows set aside, oldest first, when due (or now).
func (a *auditTrail) retry(now bool) {
	if a.spooled == 0 && len(a.backlog) == 0 {
		return
	}
	if !now && a.failing && time.Now().Before(a.retryAt) {
		return
	}
	if a.spooled > 0 {
		n, err := replaySpool(a.spool, a.put)
		a.spooled -= n
		a.waiting.Add(-int64(n))
		if err != nil {
			a.fail(err)
			return
		}
		a.spooled = 0
	}
	for len(a.backlog) > 0 {
		chunk := a.backlog[:min(len(a.backlog), 1000)]
		if err := a.put(chunk); err != nil {
			a.fail(err)
			return
		}
		a.waiting.Add(-int64(len(chunk)))
		a.backlog = a.backlog[len(chunk):]
	}
	a.backlog = nil
	if a.failing {
		a.log.Info("feed gate: the decision audit is written again; the rows that waited are recorded")
		a.failing = false
	}
}

// finalWords runs at close: rows still in memory go to the spool file,
// or are reported lost.
func (a *auditTrail) finalWords() {
	if len(a.backlog) == 0 {
		return
	}
	if a.spool != "" && appendSpool(a.spool, a.backlog) == nil {
		a.log.Warn("feed gate: audit rows not yet written are kept in the spool file for the next start", "rows", len(a.backlog), "file", a.spool)
		return
	}
	a.log.Error("feed gate: audit rows lost at shutdown: the database was unavailable", "rows", len(a.backlog))
}

func appendSpool(path string, rows []store.FeedDecision) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replaySpool writes the spool file's rows with put in chunks and removes
// the file when all are written. On failure the rows not written stay in
// the file. It returns how many rows were written.
func replaySpool(path string, put func([]store.FeedDecision) error) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var chunk []store.FeedDecision
	var offset, chunkEnd int64
	written := 0
	flushChunk := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := put(chunk); err != nil {
			return err
		}
		written += len(chunk)
		offset, chunk = chunkEnd, nil
		return nil
	}
	for sc.Scan() {
		line := sc.Bytes()
		chunkEnd += int64(len(line)) + 1
		var d store.FeedDecision
		if json.Unmarshal(line, &d) != nil || d.Feed == "" {
			continue // a line torn by a crash while it was written
		}
		chunk = append(chunk, d)
		if len(chunk) == 1000 {
			if err := flushChunk(); err != nil {
				return written, keepRest(path, f, offset, err)
			}
		}
	}
	if err := flushChunk(); err != nil {
		return written, keepRest(path, f, offset, err)
	}
	if err := sc.Err(); err != nil {
		return written, keepRest(path, f, offset, err)
	}
	f.Close()
	return written, os.Remove(path)
}

// keepRest rewrites the spool file without its first offset bytes (the
// rows written), atomically, and returns cause.
func keepRest(path string, f *os.File, offset int64, cause error) error {
	if offset == 0 {
		return cause
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return errors.Join(cause, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".spool-*")
	if err != nil {
		return errors.Join(cause, err)
	}
	_, err = io.Copy(tmp, f)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return errors.Join(cause, err)
	}
	return cause
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}
