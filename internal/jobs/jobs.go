// Package jobs implements the server's scheduled jobs: a registry of named
// jobs run on cron schedules (github.com/go-co-op/gocron/v2) and on demand,
// at most one run of a job at a time, each run's log captured from a slog
// logger, kept in the store's job history and streamed live to subscribers.
// What a job does is the caller's: the server registers the OSV mirror and
// other jobs here, and the command line runs work under a job's lease with
// RunExclusive.
//
// Several instances may share one database, and the database is the one
// truth about jobs:
//   - Schedules are stored (table job_schedule) and every instance polls
//     them (Options.PollInterval) and reads them again when a run is due,
//     so a changed or disabled schedule is honoured by all instances. A
//     scheduled time is claimed in the store (job_slot): one run per
//     scheduled time however many instances fire.
//   - A run starts by taking the job's lease and recording the run in one
//     transaction, so a refused "run now" always names the run in progress.
//     The lease is renewed while the run lasts (and the log so far is saved
//     with it) and released at the end.
//   - A job's last run and whether it is running are read from the store.
//   - A run's outcome is recorded once the database is reachable again
//     when it is not at the end of the run (until Shutdown gives up).
//   - A run whose instance died (its lease expired, or its process on this
//     host is gone) is marked interrupted with that cause and, when the
//     job is enabled, run again by one of the instances (cause
//     "takeover:<run id>"); start-up runs do the same at once.
//
// A run whose lease cannot be renewed for a whole TTL (the database is
// unreachable, or the lease was taken over) is cancelled. Left out: runs
// spread over instances by load, retries of failed runs, time zones other
// than the process's.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
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
	// Enabled says whether scheduled, start-up and take-over runs
	// happen; nil means always. Runs requested by a person happen
	// regardless.
	Enabled    func(ctx context.Context) bool
	RunAtStart bool
	Run        Func
}

// Store is what the runner needs from the store.
type Store interface {
	StartLeasedRun(ctx context.Context, req store.RunRequest) (int64, store.Lease, error)
	FinishJobRun(ctx context.Context, id int64, finished time.Time, status, errText, log string) error
	SaveJobRunLog(ctx context.Context, id int64, log string) error
	OrphanedJobRuns(ctx context.Context) ([]store.OrphanedRun, error)
	InterruptOrphanedRun(ctx context.Context, o store.OrphanedRun, now time.Time) (bool, error)
	LatestJobRuns(ctx context.Context) (map[string]store.JobRun, error)
	RenewLease(ctx context.Context, name, holder string, ttl time.Duration, runID int64) error
	ReleaseLease(ctx context.Context, name, holder string) error
	JobSchedules(ctx context.Context) (map[string]store.JobSchedule, error)
	PutJobSchedule(ctx context.Context, js store.JobSchedule) error
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
	// store.NewLeaseHolder() (host:pid:token:random).
	Holder string
	// LeaseTTL is how long a job's lease lasts without renewal (it is
	// renewed every third of it while the job runs); default 30s.
	LeaseTTL time.Duration
	// PollInterval is how often the runner reads the stored schedules
	// and looks for runs whose instance died; default 5s.
	PollInterval time.Duration
}

// Runner schedules and runs jobs.
type Runner struct {
	st    Store
	opts  Options
	sched gocron.Scheduler

	mu      sync.Mutex
	jobs    map[string]*entry
	ctx     context.Context // cancelled by Shutdown: runs stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
	// giveUp is cancelled when Shutdown stops waiting: runs stop trying
	// to record their outcome.
	giveUp     context.Context
	giveUpNow  context.CancelFunc
	pollDone   chan struct{}
	pollFailed bool // the last poll failed (logged once per outage)
}

type entry struct {
	job  Job
	cron string
	gjob gocron.Job
	live *Live
	// starting is closed when a start in flight is decided.
	starting chan struct{}
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
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	s, err := gocron.NewScheduler()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	giveUp, giveUpNow := context.WithCancel(context.Background())
	return &Runner{st: st, opts: opts, sched: s, jobs: map[string]*entry{}, ctx: ctx, cancel: cancel, giveUp: giveUp, giveUpNow: giveUpNow}, nil
}

// Register adds a job; its schedule is read from the store.
func (r *Runner) Register(ctx context.Context, j Job) error {
	if j.Name == "" || j.Run == nil {
		return errors.New("jobs: a job needs a name and a function")
	}
	scheds, err := r.st.JobSchedules(ctx)
	if err != nil {
		return fmt.Errorf("jobs: reading the schedules: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.jobs[j.Name]; dup {
		return fmt.Errorf("jobs: %s registered twice", j.Name)
	}
	e := &entry{job: j}
	if err := r.schedule(e, r.wantCron(e, scheds)); err != nil {
		return err
	}
	r.jobs[j.Name] = e
	return nil
}

// Start starts the schedules, triggers the start-up runs of enabled jobs
// (taking over their leases when the instance that held them died) and
// starts watching the store for schedule changes and orphaned runs.
func (r *Runner) Start(ctx context.Context) error {
	return r.start(ctx, true)
}

// StartSchedulesOnly is Start without the start-up runs.
func (r *Runner) StartSchedulesOnly(ctx context.Context) error {
	return r.start(ctx, false)
}

func (r *Runner) start(ctx context.Context, startup bool) error {
	r.sched.Start()
	if startup {
		r.mu.Lock()
		var names []string
		for name, e := range r.jobs {
			if e.job.RunAtStart {
				names = append(names, name)
			}
		}
		r.mu.Unlock()
		sort.Strings(names)
		for _, name := range names {
			if !r.enabled(name) {
				continue
			}
			id, err := r.Trigger(name, "startup")
			switch {
			case errors.Is(err, ErrRunning):
				r.opts.Logger.Info("start-up run skipped: the job is running elsewhere", "job", name, "run", id, "reason", err.Error())
			case err != nil:
				return err
			}
		}
	}
	// Runs left by instances that died are taken over now, not a poll
	// interval later.
	if err := r.poll(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.pollDone = make(chan struct{})
	r.mu.Unlock()
	go r.pollLoop()
	return nil
}

func (r *Runner) enabled(name string) bool {
	r.mu.Lock()
	e, ok := r.jobs[name]
	r.mu.Unlock()
	return ok && (e.job.Enabled == nil || e.job.Enabled(r.ctx))
}

// Trigger starts a run of the job now and returns its ID. cause says who
// or what asked ("schedule", "startup", "manual:<user>"). When the job is
// running (here or on another instance) it returns that run's ID and an
// error wrapping ErrRunning.
func (r *Runner) Trigger(name, cause string) (int64, error) {
	return r.trigger(name, cause, time.Time{}, 0)
}

// startTimeout bounds how long starting a run may wait for the database.
const startTimeout = 15 * time.Second

func (r *Runner) trigger(name, cause string, slot time.Time, takeOver int64) (int64, error) {
	r.mu.Lock()
	e, ok := r.jobs[name]
	for ok && e.starting != nil && !r.stopped {
		ch := e.starting
		r.mu.Unlock()
		<-ch
		r.mu.Lock()
	}
	if r.stopped {
		r.mu.Unlock()
		return 0, ErrStopped
	}
	if !ok {
		r.mu.Unlock()
		return 0, fmt.Errorf("%s: %w", name, ErrUnknownJob)
	}
	if e.live != nil {
		id := e.live.ID
		r.mu.Unlock()
		return id, fmt.Errorf("%s (run %d): %w", name, id, ErrRunning)
	}
	e.starting = make(chan struct{})
	r.wg.Add(1) // before Shutdown can wait; Done when the run ends or does not start
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(r.ctx, startTimeout)
	started := r.opts.Now()
	id, held, err := r.st.StartLeasedRun(ctx, store.RunRequest{Job: leaseName(name), Holder: r.opts.Holder, Cause: cause,
		TTL: r.opts.LeaseTTL, Now: started, Slot: slot, TakeOver: takeOver})
	cancel()

	r.mu.Lock()
	defer r.mu.Unlock()
	close(e.starting)
	e.starting = nil
	if err != nil {
		r.wg.Done()
		if errors.Is(err, store.ErrLeaseHeld) {
			return held.RunID, fmt.Errorf("%s is running on another instance (%s, run %d): %w", name, store.LeaseHolderName(held.Holder), held.RunID, ErrRunning)
		}
		return 0, err
	}
	lv := newLive(id, name)
	e.live = lv
	runCtx, runCancel := context.WithCancelCause(r.ctx)
	stop, stopped := make(chan struct{}), make(chan struct{})
	rs := &runState{}
	go r.keepLease(runCtx, runCancel, name, lv, rs, stop, stopped)
	go r.execute(runCtx, runCancel, e, lv, rs, cause, started, func() { close(stop); <-stopped })
	return id, nil
}

// leaseName is the job_lease row of a job: its name (the store's
// StartLeasedRun and OrphanedJobRuns rely on that).
func leaseName(job string) string { return job }

func (r *Runner) release(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.st.ReleaseLease(ctx, leaseName(name), r.opts.Holder); err != nil {
		// It expires by itself after LeaseTTL.
		r.opts.Logger.Warn("releasing a job lease failed", "job", name, "err", err)
	}
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
	// Running is the ID of the run in progress on any instance, 0 when
	// idle.
	Running int64
	// Last is the newest run recorded (running or finished); nil when
	// there is none or the store could not be read.
	Last *store.JobRun
}

// JobsContext lists the registered jobs by name, with their runs as the
// store records them.
func (r *Runner) JobsContext(ctx context.Context) ([]Info, error) {
	latest, err := r.st.LatestJobRuns(ctx)
	r.mu.Lock()
	names := make([]string, 0, len(r.jobs))
	for n := range r.jobs {
		names = append(names, n)
	}
	r.mu.Unlock()
	sort.Strings(names)
	out := make([]Info, 0, len(names))
	for _, n := range names {
		if inf, ok := r.info(n, latest); ok {
			out = append(out, inf)
		}
	}
	return out, err
}

// JobContext describes one job, with its runs as the store records them.
func (r *Runner) JobContext(ctx context.Context, name string) (Info, bool, error) {
	r.mu.Lock()
	_, ok := r.jobs[name]
	r.mu.Unlock()
	if !ok {
		return Info{}, false, nil
	}
	latest, err := r.st.LatestJobRuns(ctx)
	inf, ok := r.info(name, latest)
	return inf, ok, err
}

// Jobs is JobsContext with a short deadline of its own; when the store
// cannot be read, Last is nil and Running only knows this instance.
func (r *Runner) Jobs() []Info {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	out, _ := r.JobsContext(ctx)
	return out
}

// Job is JobContext with a short deadline of its own.
func (r *Runner) Job(name string) (Info, bool) {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	inf, ok, _ := r.JobContext(ctx, name)
	return inf, ok
}

func (r *Runner) info(name string, latest map[string]store.JobRun) (Info, bool) {
	r.mu.Lock()
	e, ok := r.jobs[name]
	if !ok {
		r.mu.Unlock()
		return Info{}, false
	}
	inf := Info{Name: e.job.Name, Title: e.job.Title, Description: e.job.Description, Cron: e.cron, DefaultCron: e.job.DefaultCron}
	if e.live != nil {
		inf.Running = e.live.ID
	}
	gj := e.gjob
	r.mu.Unlock()
	if jr, ok := latest[name]; ok {
		inf.Last = &jr
		if jr.Status == store.RunRunning {
			inf.Running = jr.ID
		}
	}
	if gj != nil {
		inf.NextRun, _ = gj.NextRun()
	}
	inf.Enabled = e.job.Enabled == nil || e.job.Enabled(r.ctx)
	return inf, true
}

// Live returns the live log of a run in progress on this instance, or nil
// (finished runs, and runs on other instances, are read from the store).
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
// them to record their outcome, at most until ctx ends (then runs stop
// trying to record: the next instance marks them interrupted).
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	pollDone := r.pollDone
	r.mu.Unlock()
	r.cancel()
	if pollDone != nil {
		<-pollDone
	}
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
		r.giveUpNow()
		return ctx.Err()
	}
}
