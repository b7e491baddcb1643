package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// JobRun is one run of a scheduled job.
type JobRun struct {
	ID       int64
	Job      string
	Cause    string // "schedule", "startup", "manual:<user>"
	Started  time.Time
	Finished time.Time
	Status   string // running, succeeded, failed, interrupted
	Error    string
	Log      string
}

// Job run statuses.
const (
	RunRunning     = "running"
	RunSucceeded   = "succeeded"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// StartJobRun records a run as running and returns its ID.
func (s *Store) StartJobRun(ctx context.Context, job, cause string, started time.Time) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, s.Rebind(`INSERT INTO job_run (job, cause, started, status) VALUES (?, ?, ?, ?) RETURNING id`),
		job, cause, fmtTime(started), RunRunning).Scan(&id)
	return id, err
}

// FinishJobRun records the outcome and captured log of a run.
func (s *Store) FinishJobRun(ctx context.Context, id int64, finished time.Time, status, errText, log string) error {
	_, err := s.exec(ctx, s.Rebind(`UPDATE job_run SET finished = ?, status = ?, error = ?, log = ? WHERE id = ?`),
		fmtTime(finished), status, errText, log, id)
	return err
}

const jobRunCols = `id, job, cause, started, finished, status, error`

func scanJobRun(r scanner, withLog bool) (JobRun, error) {
	var jr JobRun
	var started, finished string
	dest := []any{&jr.ID, &jr.Job, &jr.Cause, &started, &finished, &jr.Status, &jr.Error}
	if withLog {
		dest = append(dest, &jr.Log)
	}
	err := r.Scan(dest...)
	jr.Started, jr.Finished = parseTime(started), parseTime(finished)
	return jr, err
}

// JobRuns lists a job's runs, newest first, without their logs.
func (s *Store) JobRuns(ctx context.Context, job string, limit int) ([]JobRun, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT `+jobRunCols+` FROM job_run WHERE job = ? ORDER BY id DESC LIMIT ?`), job, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []JobRun{}
	for rows.Next() {
		jr, err := scanJobRun(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, jr)
	}
	return out, rows.Err()
}

// JobRun returns one run of a job with its log.
func (s *Store) JobRun(ctx context.Context, job string, id int64) (JobRun, error) {
	jr, err := scanJobRun(s.db.QueryRowContext(ctx, s.Rebind(`SELECT `+jobRunCols+`, log FROM job_run WHERE job = ? AND id = ?`), job, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return JobRun{}, fmt.Errorf("run %d of job %s: %w", id, job, ErrNotFound)
	}
	return jr, err
}
