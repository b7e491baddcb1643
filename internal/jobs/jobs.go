// Package jobs implements the server's scheduled jobs: a registry of named
// jobs run on cron schedules (github.com/go-co-op/gocron/v2) and on demand,
// at most one run of a job at a time, each run's log captured from a slog
// logger, kept in the store's job history and streamed live to subscribers.
//
// Cron expressions are kept as settings ("job.<name>") so that an
// administrator's change survives restarts. What a job does is the
// caller's: the server registers the OSV mirror and other jobs here.
//
// Several instances may share one database: a run first takes the job's
// lease in the store (table job_lease), renews it while running and
// releases it at the end, so a job runs on one instance at a time. A
// trigger on an instance while another runs the job fails with
// ErrRunning; a scheduled run there is skipped. When a holder dies its
// lease expires after Options.LeaseTTL and the next run may take it over;
// its run is then recorded as interrupted. A run whose lease cannot be
// renewed for a whole TTL (the database is unreachable, or the lease was
// taken over) is cancelled.
package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/vulngate/vulngate/internal/store"
)

// Func is a job's work. Its log goes to the run's captured log.
type Func func(ctx context.Context, log *slog.Logger) error

// Job describes one job.
type Job struct {
	Name        string // stable identifier, e.g. "osv-mirror"
	Title       string
	Description string
	// DefaultCron is the schedule used until an administrator sets one;
	// "" means the job only runs on demand (and at start-up, see RunAtStart).
	DefaultCron string
	// Enabled says whether scheduled and start-up runs happen; nil means
	// always. Runs requested by a person happen regardless.
	Enabled    func(ctx context.Context) bool
	RunAtStart bool
	Run        Func
}

// Store is what the runner needs from the store.
type Store interface {
	StartJobRun(ctx context.Context, job, cause string, started time.Time) (int64, error)
	FinishJobRun(ctx context.Context, id int64, finished time.Time, status, errText, log string) error
	InterruptOrphanedJobRuns(ctx context.Context, job string, now time.Time) error
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error)
	RenewLease(ctx context.Context, name, holder string, ttl time.Duration, runID int64) error
	ReleaseLease(ctx context.Context, name, holder string) error
	Setting(ctx context.Context, name string, v any) (bool, error)
	PutSetting(ctx context.Context, name string, v any) error
}

// Errors returned by the runner.
var (
	ErrRunning    = errors.New("a run of this job is already in progress")
	ErrUnknownJob = errors.New("no such job")
	ErrStopped    = errors.New("the job runner is stopping")
)

// Options tunes a Runner.
type Options struct {
	Logger *slog.Logger // the server's log; runs also log here
	// OnFinish is called after each run (e.g. to count it in metrics).
	OnFinish func(job, status string, d time.Duration)
	Now      func() time.Time
	// Holder names this instance in job leases; default
	// store.NewLeaseHolder() (host:pid:random).
	Holder string
	// LeaseTTL is how long a job's lease lasts without renewal (it is
	// renewed every third of it while the job runs); default 30s.
	LeaseTTL time.Duration
}

// Runner schedules and runs jobs.
type Runner struct {
	st    Store
	opts  Options
	sched gocron.Scheduler

	mu      sync.Mutex
	jobs    map[string]*entry
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

type entry struct {
	job  Job
	cron string
	gjob gocron.Job
	live *Live
	last *store.JobRun
}

type cronSetting struct {
	Cron string `json:"cron"`
}

// New returns a runner; register jobs, then Start it.
func New(st Store, opts Options) (*Runner, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Holder == "" {
		opts.Holder = store.NewLeaseHolder()
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 30 * time.Second
	}
	s, err := gocron.NewScheduler()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{st: st, opts: opts, sched: s, jobs: map[string]*entry{}, ctx: ctx, cancel: cancel}, nil
}

// Register adds a job; its schedule is read from the settings.
func (r *Runner) Register(ctx context.Context, j Job) error {
	if j.Name == "" || j.Run == nil {
		return errors.New("jobs: a job needs a name and a function")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.jobs[j.Name]; dup {
		return fmt.Errorf("jobs: %s registered twice", j.Name)
	}
	e := &entry{job: j, cron: j.DefaultCron}
	var cs cronSetting
	if ok, err := r.st.Setting(ctx, settingName(j.Name), &cs); err != nil {
		return err
	} else if ok {
		e.cron = cs.Cron
	}
	if err := r.schedule(e, e.cron); err != nil {
		r.opts.Logger.Warn("stored job schedule is invalid; using the default", "job", j.Name, "cron", e.cron, "err", err)
		e.cron = j.DefaultCron
		if err := r.schedule(e, e.cron); err != nil {
			return err
		}
	}
	r.jobs[j.Name] = e
	return nil
}

func settingName(job string) string { return "job." + job }

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
	e.gjob = j
	return nil
}

// ValidateCron checks a five-field cron expression.
func ValidateCron(expr string) error {
	s, err := gocron.NewScheduler()
	if err != nil {
		return err
	}
	defer s.Shutdown()
	if _, err := s.NewJob(gocron.CronJob(expr, false), gocron.NewTask(func() {})); err != nil {
		return fmt.Errorf("cron expression %q: want five fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\"", expr)
	}
	return nil
}

// SetCron changes a job's schedule ("" for on demand only) and stores it.
func (r *Runner) SetCron(ctx context.Context, name, expr string) error {
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
	if err := r.st.PutSetting(ctx, settingName(name), cronSetting{Cron: expr}); err != nil {
		return err
	}
	if err := r.schedule(e, expr); err != nil {
		return err
	}
	e.cron = expr
	return nil
}

// Start marks runs left over by a stopped instance as interrupted (runs
// of jobs another instance holds the lease of are left alone), starts the
// schedules and triggers the start-up runs of enabled jobs.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.st.InterruptOrphanedJobRuns(ctx, "", r.opts.Now()); err != nil {
		return err
	}
	r.sched.Start()
	r.mu.Lock()
	var startup []string
	for name, e := range r.jobs {
		if e.job.RunAtStart {
			startup = append(startup, name)
		}
	}
	r.mu.Unlock()
	sort.Strings(startup)
	for _, name := range startup {
		if r.enabled(name) {
			if _, err := r.Trigger(name, "startup"); err != nil && !errors.Is(err, ErrRunning) {
				return err
			}
		}
	}
	return nil
}

func (r *Runner) enabled(name string) bool {
	r.mu.Lock()
	e, ok := r.jobs[name]
	r.mu.Unlock()
	return ok && (e.job.Enabled == nil || e.job.Enabled(r.ctx))
}

func (r *Runner) scheduled(name string) {
	if !r.enabled(name) {
		r.opts.Logger.Debug("scheduled run skipped: job disabled", "job", name)
		return
	}
	if _, err := r.Trigger(name, "schedule"); err != nil {
		r.opts.Logger.Info("scheduled run skipped", "job", name, "reason", err.Error())
	}
}

// Trigger starts a run of the job now and returns its ID. cause says who
// or what asked ("schedule", "startup", "manual:<user>").
func (r *Runner) Trigger(name, cause string) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return 0, ErrStopped
	}
	e, ok := r.jobs[name]
	if !ok {
		return 0, fmt.Errorf("%s: %w", name, ErrUnknownJob)
	}
	if e.live != nil {
		return e.live.ID, fmt.Errorf("%s (run %d): %w", name, e.live.ID, ErrRunning)
	}
	l, err := r.st.AcquireLease(r.ctx, leaseName(name), r.opts.Holder, r.opts.LeaseTTL)
	if errors.Is(err, store.ErrLeaseHeld) {
		return l.RunID, fmt.Errorf("%s is running on another instance (%s, run %d): %w", name, l.Holder, l.RunID, ErrRunning)
	}
	if err != nil {
		return 0, err
	}
	id, err := r.startRun(name, cause)
	if err != nil {
		r.release(name)
		return 0, err
	}
	started := r.opts.Now()
	lv := newLive(id, name)
	e.live = lv
	runCtx, cancel := context.WithCancelCause(r.ctx)
	stop, stopped := make(chan struct{}), make(chan struct{})
	r.wg.Add(1)
	go r.keepLease(runCtx, cancel, name, id, stop, stopped)
	go r.execute(runCtx, cancel, e, lv, cause, started, func() { close(stop); <-stopped })
	return id, nil
}

// leaseName is the job_lease row of a job: its name (the store's
// InterruptOrphanedJobRuns relies on that).
func leaseName(job string) string { return job }

// startRun records a new run once the lease is held: runs another
// instance left running are interrupted first (none can be running now).
func (r *Runner) startRun(name, cause string) (int64, error) {
	now := r.opts.Now()
	if err := r.st.InterruptOrphanedJobRuns(r.ctx, name, now); err != nil {
		return 0, err
	}
	id, err := r.st.StartJobRun(r.ctx, name, cause, now)
	if err != nil {
		return 0, err
	}
	if err := r.st.RenewLease(r.ctx, leaseName(name), r.opts.Holder, r.opts.LeaseTTL, id); err != nil {
		r.st.FinishJobRun(context.Background(), id, r.opts.Now(), store.RunFailed, err.Error(), "")
		return 0, err
	}
	return id, nil
}

func (r *Runner) release(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.st.ReleaseLease(ctx, leaseName(name), r.opts.Holder); err != nil {
		// It expires by itself after LeaseTTL.
		r.opts.Logger.Warn("releasing a job lease failed", "job", name, "err", err)
	}
}

// errLeaseLost cancels a run whose lease could not be kept.
var errLeaseLost = errors.New("the job's lease was lost (database unreachable or taken over by another instance); run cancelled")

// keepLease renews the run's lease every third of its TTL until stop is
// closed, then closes stopped. When renewal fails for a whole TTL, or the
// lease was taken over, it cancels the run.
func (r *Runner) keepLease(ctx context.Context, cancel context.CancelCauseFunc, name string, id int64, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	ttl := r.opts.LeaseTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if ctx.Err() != nil {
			continue // cancelled: the run is ending; wait for stop
		}
		rctx, rcancel := context.WithTimeout(ctx, ttl/3)
		err := r.st.RenewLease(rctx, leaseName(name), r.opts.Holder, ttl, id)
		rcancel()
		switch {
		case err == nil:
			last = time.Now()
		case errors.Is(err, store.ErrLeaseLost) || time.Since(last) >= ttl:
			r.opts.Logger.Error("job lease lost; cancelling the run", "job", name, "run", id, "err", err)
			cancel(errLeaseLost)
			<-stop
			return
		default:
			r.opts.Logger.Warn("renewing a job lease failed; retrying", "job", name, "run", id, "err", err)
		}
	}
}

func (r *Runner) execute(ctx context.Context, cancel context.CancelCauseFunc, e *entry, lv *Live, cause string, started time.Time, stopRenewing func()) {
	defer r.wg.Done()
	defer cancel(nil)
	runLog := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(lv, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: dropTime}),
		r.opts.Logger.With("job", e.job.Name, "run", lv.ID).Handler(),
	))
	runLog.Info("run started", "cause", cause)
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
	status, errText := store.RunSucceeded, ""
	if err != nil {
		status, errText = store.RunFailed, err.Error()
		if r.ctx.Err() != nil {
			status = store.RunInterrupted
		} else if errors.Is(context.Cause(ctx), errLeaseLost) {
			errText = errLeaseLost.Error() + ": " + errText
		}
		runLog.Error("run failed", "err", err, "duration", finished.Sub(started).Round(time.Millisecond).String())
	} else {
		runLog.Info("run finished", "duration", finished.Sub(started).Round(time.Millisecond).String())
	}
	if ferr := r.st.FinishJobRun(context.Background(), lv.ID, finished, status, errText, lv.Text()); ferr != nil {
		r.opts.Logger.Error("recording job run failed", "job", e.job.Name, "run", lv.ID, "err", ferr)
	}
	stopRenewing()
	if !errors.Is(context.Cause(ctx), errLeaseLost) {
		r.release(e.job.Name)
	}
	if r.opts.OnFinish != nil {
		r.opts.OnFinish(e.job.Name, status, finished.Sub(started))
	}
	r.mu.Lock()
	e.live = nil
	e.last = &store.JobRun{ID: lv.ID, Job: e.job.Name, Cause: cause, Started: started, Finished: finished, Status: status, Error: errText}
	r.mu.Unlock()
	lv.finish(status)
}

// dropTime keeps run logs short: lines are timestamped by the Live buffer.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// Info describes a job for listings.
type Info struct {
	Name        string
	Title       string
	Description string
	Cron        string
	DefaultCron string
	Enabled     bool
	NextRun     time.Time
	Running     int64 // ID of the run in progress, 0 when idle
	Last        *store.JobRun
}

// Jobs lists the registered jobs by name.
func (r *Runner) Jobs() []Info {
	r.mu.Lock()
	names := make([]string, 0, len(r.jobs))
	for n := range r.jobs {
		names = append(names, n)
	}
	r.mu.Unlock()
	sort.Strings(names)
	out := make([]Info, 0, len(names))
	for _, n := range names {
		if inf, ok := r.Job(n); ok {
			out = append(out, inf)
		}
	}
	return out
}

// Job describes one job.
func (r *Runner) Job(name string) (Info, bool) {
	r.mu.Lock()
	e, ok := r.jobs[name]
	if !ok {
		r.mu.Unlock()
		return Info{}, false
	}
	inf := Info{Name: e.job.Name, Title: e.job.Title, Description: e.job.Description, Cron: e.cron, DefaultCron: e.job.DefaultCron, Last: e.last}
	if e.live != nil {
		inf.Running = e.live.ID
	}
	gj := e.gjob
	r.mu.Unlock()
	if gj != nil {
		inf.NextRun, _ = gj.NextRun()
	}
	inf.Enabled = e.job.Enabled == nil || e.job.Enabled(r.ctx)
	return inf, true
}

// Live returns the live log of a run in progress, or nil when the run is
// not in progress (finished runs are read from the store).
func (r *Runner) Live(name string, id int64) *Live {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.jobs[name]
	if !ok || e.live == nil || e.live.ID != id {
		return nil
	}
	return e.live
}

// Wait blocks until no run is in progress (for tests).
func (r *Runner) Wait() { r.wg.Wait() }

// Shutdown stops the schedules, cancels runs in progress and waits for
// them to record their outcome, at most until ctx ends.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.cancel()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	serr := r.sched.ShutdownWithContext(ctx)
	select {
	case <-done:
		return serr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Live is the log of a run in progress. It implements io.Writer for a slog
// text handler: each write is one line.
type Live struct {
	ID  int64
	Job string

	mu     sync.Mutex
	lines  []string
	subs   map[chan string]struct{}
	done   chan struct{}
	status string
}

func newLive(id int64, job string) *Live {
	return &Live{ID: id, Job: job, subs: map[chan string]struct{}{}, done: make(chan struct{})}
}

const maxLiveLines = 100000

// Write appends log lines and sends them to subscribers.
func (l *Live) Write(p []byte) (int, error) {
	stamp := time.Now().UTC().Format("15:04:05")
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(p, []byte("?"))), "\n"), "\n") {
		line := stamp + " " + ln
		if len(l.lines) < maxLiveLines {
			l.lines = append(l.lines, line)
		}
		for ch := range l.subs {
			select {
			case ch <- line:
			default: // a slow subscriber misses lines rather than stalling the job
			}
		}
	}
	return len(p), nil
}

// Text returns the whole log.
func (l *Live) Text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return ""
	}
	return strings.Join(l.lines, "\n") + "\n"
}

// Subscribe returns the lines so far and a channel of the lines that
// follow; done is closed when the run ends. Call cancel when finished.
func (l *Live) Subscribe() (backlog []string, lines <-chan string, done <-chan struct{}, cancel func()) {
	ch := make(chan string, 1024)
	l.mu.Lock()
	backlog = append([]string(nil), l.lines...)
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return backlog, ch, l.done, func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.mu.Unlock()
	}
}

// Status returns the final status once done is closed.
func (l *Live) Status() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func (l *Live) finish(status string) {
	l.mu.Lock()
	l.status = status
	l.mu.Unlock()
	close(l.done)
}

// StartSchedulesOnly is Start without the start-up runs.
func (r *Runner) StartSchedulesOnly(ctx context.Context) error {
	if err := r.st.InterruptOrphanedJobRuns(ctx, "", r.opts.Now()); err != nil {
		return err
	}
	r.sched.Start()
	return nil
}
