package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/robfig/cron/v3"

	"github.com/vulngate/vulngate/internal/store"
)

// wantCron is the schedule of e the store says (r.mu held or e not yet
// shared): the administrator's, else the job's default. An invalid stored
// expression is logged and the default used.
func (r *Runner) wantCron(e *entry, scheds map[string]store.JobSchedule) string {
	js, ok := scheds[e.job.Name]
	if !ok {
		return e.job.DefaultCron
	}
	expr := strings.TrimSpace(js.Cron)
	if expr != "" && ValidateCron(expr) != nil {
		if e.cron != e.job.DefaultCron || e.gjob == nil {
			r.opts.Logger.Warn("stored job schedule is invalid; using the default", "job", e.job.Name, "cron", expr)
		}
		return e.job.DefaultCron
	}
	return expr
}

// schedule installs or replaces the cron trigger of e (r.mu held).
func (r *Runner) schedule(e *entry, expr string) error {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		if e.gjob != nil {
			if err := r.sched.RemoveJob(e.gjob.ID()); err != nil {
				return err
			}
			e.gjob = nil
		}
		e.cron = ""
		return nil
	}
	name := e.job.Name
	task := gocron.NewTask(func() { r.scheduled(name) })
	var j gocron.Job
	var err error
	if e.gjob != nil {
		j, err = r.sched.Update(e.gjob.ID(), gocron.CronJob(expr, false), task, gocron.WithName(name))
	} else {
		j, err = r.sched.NewJob(gocron.CronJob(expr, false), task, gocron.WithName(name))
	}
	if err != nil {
		return fmt.Errorf("cron expression %q: %w", expr, err)
	}
	e.gjob, e.cron = j, expr
	return nil
}

// ValidateCron checks a five-field cron expression.
func ValidateCron(expr string) error {
	if _, err := cron.ParseStandard(expr); err != nil {
		return fmt.Errorf("cron expression %q: want five fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\"", expr)
	}
	return nil
}

// firesAt reports whether a valid cron expression is due at slot (a
// whole minute).
func firesAt(expr string, slot time.Time) bool {
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return false
	}
	return s.Next(slot.Add(-time.Second)).Equal(slot)
}

// SetCron changes a job's schedule ("" for on demand only) and stores it;
// the other instances follow within Options.PollInterval, and before
// that whenever a run is due.
func (r *Runner) SetCron(ctx context.Context, name, expr string) error {
	return r.SetSchedule(ctx, name, expr, "")
}

// SetSchedule is SetCron naming who changed it.
func (r *Runner) SetSchedule(ctx context.Context, name, expr, by string) error {
	expr = strings.TrimSpace(expr)
	if expr != "" {
		if err := ValidateCron(expr); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.jobs[name]
	if !ok {
		return fmt.Errorf("%s: %w", name, ErrUnknownJob)
	}
	if err := r.st.PutJobSchedule(ctx, store.JobSchedule{Job: name, Cron: expr, Updated: r.opts.Now(), UpdatedBy: by}); err != nil {
		return err
	}
	return r.schedule(e, expr)
}

// applySchedules makes the local triggers follow the stored schedules.
func (r *Runner) applySchedules(scheds map[string]store.JobSchedule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, e := range r.jobs {
		want := r.wantCron(e, scheds)
		if want == e.cron {
			continue
		}
		if err := r.schedule(e, want); err != nil {
			r.opts.Logger.Error("applying a changed job schedule failed", "job", name, "cron", want, "err", err)
			continue
		}
		r.opts.Logger.Info("job schedule changed in the database; following it", "job", name, "cron", want)
	}
}

// scheduled runs when a job's trigger fires: the stored schedule is read
// again (another instance may have changed it), the scheduled time is
// claimed so that one instance runs it, and the run starts.
func (r *Runner) scheduled(name string) {
	slot := r.opts.Now().Round(time.Minute)
	ctx, cancel := context.WithTimeout(r.ctx, startTimeout)
	scheds, err := r.st.JobSchedules(ctx)
	cancel()
	if err != nil {
		r.opts.Logger.Warn("scheduled run skipped: the schedule could not be read", "job", name, "err", err)
		return
	}
	r.applySchedules(scheds)
	r.mu.Lock()
	e, ok := r.jobs[name]
	expr := ""
	if ok {
		expr = e.cron
	}
	r.mu.Unlock()
	if expr == "" || !firesAt(expr, slot) {
		r.opts.Logger.Info("scheduled run skipped: the job's schedule changed", "job", name, "cron", expr, "time", slot.Format(time.RFC3339))
		return
	}
	if !r.enabled(name) {
		r.opts.Logger.Debug("scheduled run skipped: job disabled", "job", name)
		return
	}
	id, err := r.trigger(name, "schedule", slot, 0)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrSlotTaken):
		r.opts.Logger.Debug("scheduled run started by another instance", "job", name, "time", slot.Format(time.RFC3339))
	case errors.Is(err, ErrRunning):
		r.opts.Logger.Info("scheduled run skipped: the job is running", "job", name, "run", id, "reason", err.Error())
	default:
		r.opts.Logger.Warn("scheduled run failed to start", "job", name, "err", err)
	}
}

func (r *Runner) pollLoop() {
	defer close(r.pollDone)
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.opts.PollInterval+startTimeout)
		err := r.poll(ctx)
		cancel()
		if err != nil && r.ctx.Err() == nil {
			if !r.pollFailed {
				r.opts.Logger.Warn("reading job schedules and runs failed; retrying", "err", err)
			}
			r.pollFailed = true
		} else if r.pollFailed {
			r.opts.Logger.Info("reading job schedules and runs works again")
			r.pollFailed = false
		}
	}
}

// poll makes the schedules follow the store and deals with orphaned runs:
// an enabled job registered here is run again in their place (one
// instance wins), others are marked interrupted.
func (r *Runner) poll(ctx context.Context) error {
	scheds, err := r.st.JobSchedules(ctx)
	if err != nil {
		return err
	}
	r.applySchedules(scheds)
	orphans, err := r.st.OrphanedJobRuns(ctx)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		r.mu.Lock()
		e, registered := r.jobs[o.Job]
		ours := registered && e.live != nil && e.live.ID == o.ID
		r.mu.Unlock()
		if ours {
			continue // its lease keeper cancels it if the lease is gone
		}
		if registered && !strings.HasPrefix(o.Cause, CauseCLI) && r.enabled(o.Job) {
			id, err := r.trigger(o.Job, fmt.Sprintf("takeover:%d", o.ID), time.Time{}, o.ID)
			switch {
			case err == nil:
				r.opts.Logger.Warn("took over a run whose instance died", "job", o.Job, "run", o.ID, "instance", store.LeaseHolderName(o.Holder), "new_run", id)
			case errors.Is(err, ErrRunning), errors.Is(err, store.ErrNotOrphaned), errors.Is(err, ErrStopped):
			default:
				return err
			}
			continue
		}
		if done, err := r.st.InterruptOrphanedRun(ctx, o, r.opts.Now()); err != nil {
			return err
		} else if done {
			r.opts.Logger.Warn("marked a run whose instance died as interrupted", "job", o.Job, "run", o.ID, "instance", store.LeaseHolderName(o.Holder))
		}
	}
	return nil
}
