package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// Tests of what instances sharing one database agree on, with several
// runners (instances) in this process over one store. The same defects
// are tested with "vulngate serve" processes in internal/cli.

func newRunner(t *testing.T, st *store.Store, opts Options, jobs ...Job) *Runner {
	t.Helper()
	r, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if err := r.Register(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { r.Shutdown(context.Background()) })
	return r
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never happened: %s", what)
}

// TestScheduleChangeReachesEveryInstance: a schedule changed or disabled
// on A is followed by B (polling), and B's trigger firing on the old
// schedule reads the stored one first and does not run.
func TestScheduleChangeReachesEveryInstance(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		runs := make(chan string, 10)
		job := func(who string) Job {
			return Job{Name: "mirror", DefaultCron: "0 2 * * *", Run: func(context.Context, *slog.Logger) error {
				runs <- who
				return nil
			}}
		}
		a := newRunner(t, st, Options{Holder: "A", PollInterval: 50 * time.Millisecond}, job("A"))
		b := newRunner(t, st, Options{Holder: "B", PollInterval: 50 * time.Millisecond}, job("B"))
		a.StartSchedulesOnly(ctx)
		b.StartSchedulesOnly(ctx)
		if err := a.SetCron(ctx, "mirror", "*/2 * * * *"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "B follows A's schedule", func() bool {
			inf, _ := b.Job("mirror")
			return inf.Cron == "*/2 * * * *" && !inf.NextRun.IsZero()
		})
		if err := a.SetCron(ctx, "mirror", ""); err != nil {
			t.Fatal(err)
		}
		eventually(t, "B follows A disabling the schedule", func() bool {
			inf, _ := b.Job("mirror")
			return inf.Cron == "" && inf.NextRun.IsZero()
		})

		// C polls rarely: its trigger still fires on "0 2 * * *", but the
		// stored schedule says 03:00, so it does not run at 02:00.
		if err := a.SetCron(ctx, "mirror", "0 3 * * *"); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2030, 1, 2, 2, 0, 0, 0, time.Local)
		c := newRunner(t, st, Options{Holder: "C", PollInterval: time.Hour, Now: func() time.Time { return at }}, job("C"))
		c.mu.Lock()
		c.schedule(c.jobs["mirror"], "0 2 * * *") // as if set before A's change
		c.mu.Unlock()
		c.scheduled("mirror")
		c.Wait()
		if inf, _ := c.Job("mirror"); inf.Cron != "0 3 * * *" {
			t.Fatalf("C's schedule after its trigger fired: %q", inf.Cron)
		}
		select {
		case who := <-runs:
			t.Fatalf("%s ran at 02:00 though the schedule says 03:00", who)
		default:
		}
	})
}

// TestScheduledTimeRunsOnce: every instance's trigger fires at the same
// scheduled time; one runs it, however quickly it finishes.
func TestScheduledTimeRunsOnce(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		at := time.Date(2030, 1, 2, 2, 0, 0, 0, time.Local)
		var mu sync.Mutex
		ran := 0
		var rs []*Runner
		for i := range 3 {
			now := at.Add(time.Duration(i*150) * time.Millisecond) // triggers fire a little apart
			r := newRunner(t, st, Options{Holder: fmt.Sprint("R", i), Now: func() time.Time { return now }}, Job{Name: "sweep", DefaultCron: "0 2 * * *",
				Run: func(context.Context, *slog.Logger) error {
					mu.Lock()
					ran++
					mu.Unlock()
					return nil
				}})
			r.StartSchedulesOnly(ctx)
			rs = append(rs, r)
		}
		for _, r := range rs {
			r.scheduled("sweep") // one after the other: each run ends before the next fires
			r.Wait()
		}
		if ran != 1 {
			t.Fatalf("the 02:00 run ran %d times", ran)
		}
		runs, _ := st.JobRuns(ctx, "sweep", 10)
		if len(runs) != 1 || runs[0].Cause != "schedule" {
			t.Fatalf("runs: %+v", runs)
		}
	})
}

// TestConcurrentTriggersNameTheRun: "run now" on two instances at once:
// one starts, every refusal names that run (never run 0).
func TestConcurrentTriggersNameTheRun(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		release := make(chan struct{})
		job := Job{Name: "mirror", Run: func(ctx context.Context, _ *slog.Logger) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}}
		a := newRunner(t, st, Options{Holder: "A"}, job)
		b := newRunner(t, st, Options{Holder: "B"}, job)
		a.StartSchedulesOnly(ctx)
		b.StartSchedulesOnly(ctx)
		for round := range 5 {
			ids := make([]int64, 16)
			errs := make([]error, 16)
			var wg sync.WaitGroup
			for i := range ids {
				r := a
				if i%2 == 1 {
					r = b
				}
				wg.Go(func() { ids[i], errs[i] = r.Trigger("mirror", "manual:test") })
			}
			wg.Wait()
			var winner int64
			for i, err := range errs {
				if err == nil {
					if winner != 0 {
						t.Fatalf("round %d: two runs started: %d and %d", round, winner, ids[i])
					}
					winner = ids[i]
				}
			}
			for i, err := range errs {
				if err != nil && (!errors.Is(err, ErrRunning) || ids[i] != winner || !strings.Contains(err.Error(), fmt.Sprint("run ", winner))) {
					t.Fatalf("round %d: refusal %d: run %d, %v; want ErrRunning naming run %d", round, i, ids[i], err, winner)
				}
			}
			release <- struct{}{}
			a.Wait()
			b.Wait()
		}
	})
}

// TestLastRunFromTheDatabase: every instance reports the job's newest
// run as the database records it, whoever ran it.
func TestLastRunFromTheDatabase(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		release := make(chan struct{}, 1)
		fail := false
		job := Job{Name: "mirror", Run: func(ctx context.Context, _ *slog.Logger) error {
			<-release
			if fail {
				return errors.New("boom")
			}
			return nil
		}}
		a := newRunner(t, st, Options{Holder: "A"}, job)
		b := newRunner(t, st, Options{Holder: "B"}, job)
		a.StartSchedulesOnly(ctx)
		b.StartSchedulesOnly(ctx)
		first, _ := a.Trigger("mirror", "manual:test")
		release <- struct{}{}
		a.Wait()
		fail = true
		second, err := b.Trigger("mirror", "manual:test")
		if err != nil {
			t.Fatal(err)
		}
		// While B runs, A says it is running, naming B's run.
		if inf, _ := a.Job("mirror"); inf.Running != second || inf.Last == nil || inf.Last.ID != second || inf.Last.Status != store.RunRunning {
			t.Fatalf("A during B's run: %+v (last %+v)", inf, inf.Last)
		}
		release <- struct{}{}
		b.Wait()
		for _, r := range []*Runner{a, b} {
			inf, _ := r.Job("mirror")
			if inf.Running != 0 || inf.Last == nil || inf.Last.ID != second || inf.Last.Status != store.RunFailed || inf.Last.ID == first {
				t.Fatalf("%s after B's failed run: %+v (last %+v)", r.opts.Holder, inf, inf.Last)
			}
		}
	})
}

// TestDeadRunTakenOver: an instance died mid-run (its lease is never
// renewed). Once the lease expires another instance marks the run
// interrupted, saying why, and runs the job again by itself.
func TestDeadRunTakenOver(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		dead, _, err := st.StartLeasedRun(ctx, store.RunRequest{Job: "mirror", Holder: "otherhost:1:x:y", Cause: "schedule", TTL: ttl, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		ran := make(chan struct{}, 1)
		b := newRunner(t, st, Options{Holder: "B", LeaseTTL: ttl, PollInterval: 50 * time.Millisecond}, Job{Name: "mirror", Run: func(context.Context, *slog.Logger) error {
			ran <- struct{}{}
			return nil
		}})
		if err := b.StartSchedulesOnly(ctx); err != nil {
			t.Fatal(err)
		}
		<-ran
		b.Wait()
		runs, _ := st.JobRuns(ctx, "mirror", 10)
		if len(runs) != 2 || runs[1].ID != dead || runs[1].Status != store.RunInterrupted ||
			!strings.Contains(runs[1].Error, "otherhost pid 1") || !strings.Contains(runs[1].Error, "stopped renewing") ||
			runs[0].Cause != fmt.Sprint("takeover:", dead) || runs[0].Status != store.RunSucceeded {
			t.Fatalf("runs: %+v", runs)
		}
	})
}

// TestCrashRestartRecoversLease (issue 12 item 4): the process holding a
// job's lease on this host was killed; a new process starting within the
// lease's TTL recovers it at once, marks the killed run interrupted and
// makes its start-up run.
func TestCrashRestartRecoversLease(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		host, _ := os.Hostname()
		killed := host + ":999999999:0badf00d:1"
		dead, _, err := st.StartLeasedRun(ctx, store.RunRequest{Job: "mirror", Holder: killed, Cause: "startup", TTL: time.Hour, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		r := newRunner(t, st, Options{}, Job{Name: "mirror", RunAtStart: true, Run: func(context.Context, *slog.Logger) error { return nil }})
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		r.Wait()
		runs, _ := st.JobRuns(ctx, "mirror", 10)
		if len(runs) != 2 || runs[0].Cause != "startup" || runs[0].Status != store.RunSucceeded ||
			runs[1].ID != dead || runs[1].Status != store.RunInterrupted || !strings.Contains(runs[1].Error, "is gone") {
			t.Fatalf("runs: %+v", runs)
		}
	})
}

// TestRunExclusiveWaitsForTheServer: a command-line run under the job's
// lease refuses, or waits for, a server's run in progress.
func TestRunExclusiveWaitsForTheServer(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		release := make(chan struct{})
		started := make(chan struct{}, 1)
		srv := newRunner(t, st, Options{Holder: "server"}, Job{Name: "mirror", Run: func(ctx context.Context, _ *slog.Logger) error {
			started <- struct{}{}
			<-release
			return nil
		}})
		srv.StartSchedulesOnly(ctx)
		id, _ := srv.Trigger("mirror", "manual:test")
		<-started
		ran := false
		err := RunExclusive(ctx, st, "mirror", "cli:test", ExclusiveOptions{}, func(context.Context, *slog.Logger) error {
			ran = true
			return nil
		})
		if !errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), fmt.Sprint("run ", id)) || ran {
			t.Fatalf("without waiting: ran %v, %v", ran, err)
		}
		var told error
		go func() { time.Sleep(200 * time.Millisecond); close(release) }()
		err = RunExclusive(ctx, st, "mirror", "cli:test", ExclusiveOptions{Wait: time.Minute, PollEvery: 50 * time.Millisecond, OnWait: func(e error) { told = e }},
			func(_ context.Context, log *slog.Logger) error {
				ran = true
				log.Info("imported")
				return errors.New("one ecosystem failed")
			})
		if err == nil || err.Error() != "one ecosystem failed" || !ran || told == nil {
			t.Fatalf("waiting: ran %v, told %v, %v", ran, told, err)
		}
		runs, _ := st.JobRuns(ctx, "mirror", 10)
		if len(runs) != 2 || runs[0].Cause != "cli:test" || runs[0].Status != store.RunFailed || runs[1].Status != store.RunSucceeded {
			t.Fatalf("runs: %+v", runs)
		}
	})
}

// TestOutcomeRecordedAfterDatabaseOutage: PostgreSQL restarts while a
// run is in progress, and is still down when the run ends. The outcome
// is recorded once it is back, with the database as the cause and the
// run's log kept.
func TestOutcomeRecordedAfterDatabaseOutage(t *testing.T) {
	st := storetest.Postgres(t)
	ctx := context.Background()
	started, stopped := make(chan struct{}), make(chan struct{})
	r := newRunner(t, st, Options{Holder: "A", LeaseTTL: time.Hour}, Job{Name: "mirror", Run: func(ctx context.Context, log *slog.Logger) error {
		log.Info("importing", "ecosystem", "npm")
		close(started)
		<-stopped
		_, err := st.Partitions(ctx)
		return err
	}})
	r.StartSchedulesOnly(ctx)
	id, err := r.Trigger("mirror", "manual:test")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	pgtest.Pause(t)
	close(stopped)
	time.Sleep(2 * time.Second) // the run ends and fails to record its outcome meanwhile
	pgtest.Resume(t)
	r.Wait()
	run, err := st.JobRun(ctx, "mirror", id)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.RunFailed || !strings.HasPrefix(run.Error, "the database became unavailable during the run") ||
		!strings.Contains(run.Log, "importing") || !strings.Contains(run.Log, "run failed") {
		t.Fatalf("run after the outage: %+v", run)
	}
}
