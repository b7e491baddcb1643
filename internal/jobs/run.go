package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// Why a run's context was cancelled besides Shutdown.
var (
	// errLeaseLost: another instance took the lease over.
	errLeaseLost = errors.New("the job's lease was taken over by another instance; run cancelled")
	// errLeaseUnrenewable: the database could not be reached to renew
	// the lease for a whole TTL, so another instance may take it over.
	errLeaseUnrenewable = errors.New("the database was unreachable for longer than the job's lease; run cancelled")
)

// runState is what the lease keeper tells the run about the database.
type runState struct {
	// unavailable is set when the database could not be reached during
	// the run (a renewal failed that way).
	unavailable atomic.Bool
}

// keepLease renews the run's lease every third of its TTL (at most every
// 2s) until stop is closed, then closes stopped. Each renewal also saves
// the log so far when it grew.
// When renewal fails for a whole TTL, or the lease was taken over, it
// cancels the run; after a failure for lack of database it keeps trying,
// so that a lease nobody took over in the meantime stays this run's
// while its outcome waits to be recorded.
func (r *Runner) keepLease(ctx context.Context, cancel context.CancelCauseFunc, name string, lv *Live, rs *runState, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	ttl := r.opts.LeaseTTL
	t := time.NewTicker(min(ttl/3, 2*time.Second))
	defer t.Stop()
	last := time.Now()
	saved, cancelled, failing := -1, false, false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		rctx, rcancel := context.WithTimeout(context.Background(), ttl/3)
		err := r.st.RenewLease(rctx, leaseName(name), r.opts.Holder, ttl, lv.ID)
		if err == nil {
			if n := lv.Len(); n != saved {
				if err := r.st.SaveJobRunLog(rctx, lv.ID, lv.Text()); err == nil {
					saved = n
				}
			}
		}
		rcancel()
		switch {
		case err == nil:
			last = time.Now()
			if failing {
				r.opts.Logger.Info("job lease renewed again", "job", name, "run", lv.ID)
				failing = false
			}
		case errors.Is(err, store.ErrLeaseLost):
			r.opts.Logger.Error("job lease lost; cancelling the run", "job", name, "run", lv.ID, "err", err)
			cancel(errLeaseLost)
			<-stop
			return
		default:
			if store.IsUnavailable(err) {
				rs.unavailable.Store(true)
			}
			if !cancelled && time.Since(last) >= ttl {
				r.opts.Logger.Error("job lease could not be renewed for a whole TTL; cancelling the run", "job", name, "run", lv.ID, "ttl", ttl.String(), "err", err)
				cancel(errLeaseUnrenewable)
				cancelled = true
			} else if !failing {
				r.opts.Logger.Warn("renewing a job lease failed; retrying", "job", name, "run", lv.ID, "err", err)
			}
			failing = true
		}
	}
}

func (r *Runner) execute(ctx context.Context, cancel context.CancelCauseFunc, e *entry, lv *Live, rs *runState, cause string, started time.Time, stopRenewing func()) {
	defer r.wg.Done()
	defer cancel(nil)
	runLog := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(lv, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: dropTime}),
		r.opts.Logger.With("job", e.job.Name, "run", lv.ID).Handler(),
	))
	runLog.Info("run started", "cause", cause, "instance", store.LeaseHolderName(r.opts.Holder))
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
				r.opts.Logger.Error("job panicked", "job", e.job.Name, "panic", p, "stack", string(debug.Stack()))
			}
		}()
		return e.job.Run(ctx, runLog)
	}()
	finished := r.opts.Now()
	took := finished.Sub(started).Round(time.Millisecond).String()
	status, errText := outcome(err, context.Cause(ctx), r.ctx.Err() != nil, rs.unavailable.Load())
	if err != nil {
		runLog.Error("run failed", "err", errText, "duration", took)
	} else {
		runLog.Info("run finished", "duration", took)
	}
	r.record(runLog, lv, finished, status, errText)
	stopRenewing()
	if !errors.Is(context.Cause(ctx), errLeaseLost) {
		r.release(e.job.Name)
	}
	if r.opts.OnFinish != nil {
		r.opts.OnFinish(e.job.Name, status, finished.Sub(started))
	}
	r.mu.Lock()
	e.live = nil
	r.mu.Unlock()
	lv.finish(status)
}

// outcome is a run's status and error text: interrupted when this
// instance is stopping, failed with the cause first when the lease was
// lost or the database was unreachable during the run.
func outcome(err, cause error, stopping, unavailable bool) (status, errText string) {
	if err == nil {
		return store.RunSucceeded, ""
	}
	switch {
	case stopping:
		return store.RunInterrupted, "interrupted: this instance was shut down during the run (" + err.Error() + ")"
	case errors.Is(cause, errLeaseLost), errors.Is(cause, errLeaseUnrenewable):
		return store.RunFailed, cause.Error() + ": " + err.Error()
	case store.IsUnavailable(err) || unavailable:
		return store.RunFailed, "the database became unavailable during the run: " + err.Error()
	}
	return store.RunFailed, err.Error()
}

// record stores the run's outcome, retrying while the database is
// unavailable until it is back or Shutdown gives up.
func (r *Runner) record(runLog *slog.Logger, lv *Live, finished time.Time, status, errText string) {
	write := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return r.st.FinishJobRun(ctx, lv.ID, finished, status, errText, lv.Text())
	}
	err := write(r.giveUp)
	if err == nil {
		return
	}
	if store.IsUnavailable(err) && status == store.RunFailed && !isDatabaseCause(errText) {
		errText = "the database became unavailable during the run: " + errText
	}
	runLog.Warn("recording the outcome failed; retrying until the database is back", "err", err.Error())
	waited := time.Now()
	if err := store.Retry(r.giveUp, write); err != nil {
		r.opts.Logger.Error("the run's outcome could not be recorded; the next instance to look marks it interrupted",
			"job", lv.Job, "run", lv.ID, "status", status, "err", err)
		return
	}
	r.opts.Logger.Info("run outcome recorded after the database came back", "job", lv.Job, "run", lv.ID, "status", status,
		"waited", time.Since(waited).Round(time.Millisecond).String())
}

func isDatabaseCause(errText string) bool { return strings.HasPrefix(errText, "the database") }

// dropTime keeps run logs short: lines are timestamped by the Live buffer.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
