package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// CauseCLI starts the cause of runs made from the command line
// ("cli:<user>"). Servers do not run such a run again when its process
// dies: they mark it interrupted.
const CauseCLI = "cli"

// ExclusiveOptions tunes RunExclusive.
type ExclusiveOptions struct {
	Logger   *slog.Logger
	Holder   string        // default store.NewLeaseHolder()
	LeaseTTL time.Duration // default 30s
	// Wait is how long to wait for a run of the job in progress (on a
	// server or another command) to finish; 0 refuses at once.
	Wait time.Duration
	// PollEvery is how often the lease is tried again while waiting;
	// default 2s.
	PollEvery time.Duration
	// OnWait is called once when the job is busy and Wait > 0, with the
	// error saying which run holds it.
	OnWait func(busy error)
}

// RunExclusive runs fn as a run of the job outside a server: under the
// job's lease, recorded in the job's history with cause (and its log), so
// it never overlaps a run of the job on any instance sharing the store.
// When the job is running elsewhere it waits up to opts.Wait, then
// returns an error wrapping ErrRunning that names the run. Cancelling
// ctx interrupts fn. It returns fn's error.
func RunExclusive(ctx context.Context, st Store, job, cause string, opts ExclusiveOptions, fn Func) error {
	r, err := New(st, Options{Logger: opts.Logger, Holder: opts.Holder, LeaseTTL: opts.LeaseTTL})
	if err != nil {
		return err
	}
	var runErr error
	// No schedule: this runner only ever runs this one call.
	r.jobs[job] = &entry{job: Job{Name: job, Run: func(ctx context.Context, log *slog.Logger) error {
		runErr = fn(ctx, log)
		return runErr
	}}}
	if opts.PollEvery <= 0 {
		opts.PollEvery = 2 * time.Second
	}
	deadline := time.Now().Add(opts.Wait)
	for told := false; ; {
		_, err := r.Trigger(job, cause)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrRunning) || opts.Wait <= 0 || time.Now().After(deadline) {
			return err
		}
		if !told && opts.OnWait != nil {
			opts.OnWait(err)
			told = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opts.PollEvery):
		}
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			r.cancel() // the run records itself as interrupted
		case <-done:
		}
	}()
	r.Wait()
	close(done)
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.cancel()
	return runErr
}
