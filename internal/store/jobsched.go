package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// What instances sharing one database agree on about jobs: schedules
// (table job_schedule), the scheduled times already run (job_slot), and
// runs started under the job's lease in one transaction, so that a run
// never exists without its lease naming it and a lease never names no run.

// JobSchedule is an administrator's schedule of a job.
type JobSchedule struct {
	Job       string
	Cron      string // "" = on demand only
	Updated   time.Time
	UpdatedBy string
}

// JobSchedules returns the schedules administrators set, by job.
func (s *Store) JobSchedules(ctx context.Context) (map[string]JobSchedule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT job, cron, updated, updated_by FROM job_schedule`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]JobSchedule{}
	for rows.Next() {
		var js JobSchedule
		var updated string
		if err := rows.Scan(&js.Job, &js.Cron, &updated, &js.UpdatedBy); err != nil {
			return nil, err
		}
		js.Updated = parseTime(updated)
		out[js.Job] = js
	}
	return out, rows.Err()
}

// PutJobSchedule stores a job's schedule.
func (s *Store) PutJobSchedule(ctx context.Context, js JobSchedule) error {
	_, err := s.exec(ctx, s.Rebind(`INSERT INTO job_schedule (job, cron, updated, updated_by) VALUES (?, ?, ?, ?)
ON CONFLICT (job) DO UPDATE SET cron = excluded.cron, updated = excluded.updated, updated_by = excluded.updated_by`),
		js.Job, js.Cron, fmtTime(js.Updated), js.UpdatedBy)
	return err
}

// Errors of StartLeasedRun besides ErrLeaseHeld.
var (
	// ErrSlotTaken: a run was already started for this scheduled time
	// (or a later one), by this or another instance.
	ErrSlotTaken = errors.New("a run was already started for this scheduled time")
	// ErrNotOrphaned: the run to take over is no longer running.
	ErrNotOrphaned = errors.New("the run to take over is no longer running")
)

// RunRequest asks StartLeasedRun for a run.
type RunRequest struct {
	Job    string
	Holder string // see NewLeaseHolder
	Cause  string // "schedule", "startup", "manual:<user>", ...
	TTL    time.Duration
	Now    time.Time
	// Slot, when set, is the scheduled time the run is for: the run
	// starts only if no run was started for it (or a later one) yet.
	Slot time.Time
	// TakeOver, when not 0, is an orphaned run this run replaces: the
	// run starts only while that one is still recorded as running.
	TakeOver int64
}

// StartLeasedRun takes the job's lease (named after the job) and records
// a new running run under it, in one transaction. The lease is free when
// nobody holds it, when it expired, or when its holder is a process of
// this host that is gone. Runs of the job still recorded as running are
// marked interrupted, with what is known of why. When another holder has
// the lease it returns that lease (naming its run) and ErrLeaseHeld.
func (s *Store) StartLeasedRun(ctx context.Context, req RunRequest) (int64, Lease, error) {
	now := s.nowMillis()
	var id int64
	var held Lease
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if !req.Slot.IsZero() {
			var slot int64
			err := tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO job_slot (job, slot) VALUES (?, ?)
ON CONFLICT (job) DO UPDATE SET slot = excluded.slot WHERE job_slot.slot < excluded.slot RETURNING slot`), req.Job, req.Slot.Unix()).Scan(&slot)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrSlotTaken
			}
			if err != nil {
				return err
			}
		}
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var prev Lease
		var exp int64
		var expired bool
		err := tx.QueryRowContext(ctx, s.Rebind(`SELECT holder, expires_at, run_id, CASE WHEN expires_at < `+now+` THEN 1 ELSE 0 END FROM job_lease WHERE name = ?`+lock), req.Job).
			Scan(&prev.Holder, &exp, &prev.RunID, &expired)
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		prev.Name, prev.ExpiresAt = req.Job, time.UnixMilli(exp).UTC()
		dead := found && !expired && prev.Holder != req.Holder && ownerDead(prev.Holder)
		if found && !expired && prev.Holder != req.Holder && !dead {
			held = prev
			return ErrLeaseHeld
		}
		deadHolder := ""
		if dead {
			deadHolder = prev.Holder
		}
		err = tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO job_lease (name, holder, expires_at, acquired_at, run_id) VALUES (?, ?, `+now+` + ?, `+now+`, 0)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, acquired_at = excluded.acquired_at, run_id = 0
WHERE job_lease.expires_at < `+now+` OR job_lease.holder = excluded.holder OR job_lease.holder = ?
RETURNING expires_at`), req.Job, req.Holder, req.TTL.Milliseconds(), deadHolder).Scan(&exp)
		if errors.Is(err, sql.ErrNoRows) {
			// Taken by another instance since we looked (SQLite
			// serializes writers, so only PostgreSQL gets here).
			l, ok, lerr := leaseState(ctx, s, tx, req.Job)
			if lerr != nil {
				return lerr
			}
			if !ok {
				return fmt.Errorf("lease %s: changed while being taken; try again", req.Job)
			}
			held = l
			return ErrLeaseHeld
		}
		if err != nil {
			return err
		}
		why := orphanCause(prev.Holder, found, expired, dead) + "; recovered by " + LeaseHolderName(req.Holder)
		if req.TakeOver != 0 {
			res, err := tx.ExecContext(ctx, s.Rebind(`UPDATE job_run SET status = ?, finished = ?, error = ? WHERE id = ? AND job = ? AND status = ?`),
				RunInterrupted, fmtTime(req.Now), why, req.TakeOver, req.Job, RunRunning)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNotOrphaned
			}
		}
		if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE job_run SET status = ?, finished = ?, error = ? WHERE job = ? AND status = ?`),
			RunInterrupted, fmtTime(req.Now), why, req.Job, RunRunning); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO job_run (job, cause, started, status) VALUES (?, ?, ?, ?) RETURNING id`),
			req.Job, req.Cause, fmtTime(req.Now), RunRunning).Scan(&id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.Rebind(`UPDATE job_lease SET run_id = ? WHERE name = ?`), id, req.Job)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrLeaseHeld) {
			return 0, held, fmt.Errorf("%s: %w (%s, run %d)", req.Job, ErrLeaseHeld, held.Holder, held.RunID)
		}
		return 0, Lease{}, fmt.Errorf("job %s: starting a run: %w", req.Job, err)
	}
	return id, Lease{}, nil
}

// orphanCause says why a run still recorded as running did not record
// its outcome, from the job's lease as it was: its holder, whether there
// was one, whether it had expired, whether its process is known gone.
func orphanCause(holder string, found, expired, dead bool) string {
	switch {
	case dead:
		return fmt.Sprintf("interrupted: the process running it (%s) is gone", LeaseHolderName(holder))
	case found && expired:
		return fmt.Sprintf("interrupted: the instance running it (%s) stopped renewing the job's lease", LeaseHolderName(holder))
	}
	return "interrupted: the instance running it stopped without recording the outcome"
}

// LeaseHolderName shortens a lease holder (host:pid:token:random) to
// "host pid N" for messages.
func LeaseHolderName(h string) string {
	parts := strings.Split(h, ":")
	if len(parts) >= 2 {
		return parts[0] + " pid " + parts[1]
	}
	return h
}

func leaseState(ctx context.Context, s *Store, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (Lease, bool, error) {
	var l Lease
	var exp int64
	err := q.QueryRowContext(ctx, s.Rebind(`SELECT name, holder, expires_at, run_id FROM job_lease WHERE name = ? AND expires_at >= `+s.nowMillis()), name).
		Scan(&l.Name, &l.Holder, &exp, &l.RunID)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("lease %s: %w", name, err)
	}
	l.ExpiresAt = time.UnixMilli(exp).UTC()
	return l, true, nil
}

// OrphanedRun is a run recorded as running that no live lease covers:
// its instance died or lost the database before recording the outcome.
type OrphanedRun struct {
	JobRun
	// Holder is the holder of the job's lease when it was last seen
	// ("" when there is none), and whether that lease had expired.
	Holder       string
	LeaseExpired bool
}

// OrphanedJobRuns lists the runs recorded as running whose job's lease
// expired, was released, names another run, or is held by a process of
// this host that is gone.
func (s *Store) OrphanedJobRuns(ctx context.Context) ([]OrphanedRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.job, r.cause, r.started, r.finished, r.status, r.error,
 COALESCE(l.holder, ''), COALESCE(l.run_id, 0), CASE WHEN l.expires_at IS NULL OR l.expires_at < `+s.nowMillis()+` THEN 1 ELSE 0 END
FROM job_run r LEFT JOIN job_lease l ON l.name = r.job WHERE r.status = 'running' ORDER BY r.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OrphanedRun
	for rows.Next() {
		var o OrphanedRun
		var started, finished string
		var runID int64
		if err := rows.Scan(&o.ID, &o.Job, &o.Cause, &started, &finished, &o.Status, &o.Error, &o.Holder, &runID, &o.LeaseExpired); err != nil {
			return nil, err
		}
		o.Started, o.Finished = parseTime(started), parseTime(finished)
		if o.LeaseExpired || runID != o.ID || ownerDead(o.Holder) {
			out = append(out, o)
		}
	}
	return out, rows.Err()
}

// InterruptOrphanedRun marks an orphaned run interrupted (when no run is
// to replace it) unless it finished or a live lease covers it meanwhile.
// It reports whether it did.
func (s *Store) InterruptOrphanedRun(ctx context.Context, o OrphanedRun, now time.Time) (bool, error) {
	var done bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		l, held, err := leaseState(ctx, s, tx, o.Job)
		if err != nil {
			return err
		}
		if held && l.RunID == o.ID && !ownerDead(l.Holder) {
			return nil
		}
		why := orphanCause(o.Holder, o.Holder != "", o.LeaseExpired, ownerDead(o.Holder))
		res, err := tx.ExecContext(ctx, s.Rebind(`UPDATE job_run SET status = ?, finished = ?, error = ? WHERE id = ? AND status = ?`),
			RunInterrupted, fmtTime(now), why, o.ID, RunRunning)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		done = n > 0
		return nil
	})
	return done, err
}

// LatestJobRuns returns each job's newest run (without its log).
func (s *Store) LatestJobRuns(ctx context.Context) (map[string]JobRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobRunCols+` FROM job_run WHERE id IN (SELECT MAX(id) FROM job_run GROUP BY job)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]JobRun{}
	for rows.Next() {
		jr, err := scanJobRun(rows, false)
		if err != nil {
			return nil, err
		}
		out[jr.Job] = jr
	}
	return out, rows.Err()
}

// SaveJobRunLog stores the log of a run in progress so far, so that other
// instances show it and it survives the instance.
func (s *Store) SaveJobRunLog(ctx context.Context, id int64, log string) error {
	_, err := s.exec(ctx, s.Rebind(`UPDATE job_run SET log = ? WHERE id = ? AND status = ?`), log, id, RunRunning)
	return err
}
