package jobs

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// blockingJob returns a job that signals started and waits for release.
func blockingJob(name string, started chan<- string, release <-chan struct{}, who string) Job {
	return Job{Name: name, Run: func(ctx context.Context, log *slog.Logger) error {
		started <- who
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}}
}

// TestOneInstanceRunsAJob: two runners (instances) on one database; while
// A runs a job, B's trigger fails with ErrRunning naming A's run; when A
// is done, B may run it.
func TestOneInstanceRunsAJob(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		started := make(chan string, 2)
		release := make(chan struct{})
		a, _ := New(st, Options{Holder: "A"})
		b, _ := New(st, Options{Holder: "B"})
		for _, r := range []struct {
			r   *Runner
			who string
		}{{a, "A"}, {b, "B"}} {
			if err := r.r.Register(ctx, blockingJob("mirror", started, release, r.who)); err != nil {
				t.Fatal(err)
			}
			if err := r.r.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer r.r.Shutdown(ctx)
		}
		id, err := a.Trigger("mirror", "manual:test")
		if err != nil {
			t.Fatal(err)
		}
		<-started
		other, err := b.Trigger("mirror", "manual:test")
		if !errors.Is(err, ErrRunning) || other != id {
			t.Fatalf("B's trigger while A runs: run %d, %v; want ErrRunning with run %d", other, err, id)
		}
		// A third instance starting up must not mark A's run interrupted.
		c, _ := New(st, Options{Holder: "C"})
		c.Register(ctx, blockingJob("mirror", started, release, "C"))
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer c.Shutdown(ctx)
		if run, _ := st.JobRun(ctx, "mirror", id); run.Status != store.RunRunning {
			t.Fatalf("A's run after C started: %+v", run)
		}
		close(release)
		a.Wait()
		if _, err := b.Trigger("mirror", "manual:test"); err != nil {
			t.Fatalf("B's trigger after A finished: %v", err)
		}
		if who := <-started; who != "B" {
			t.Fatalf("started on %s", who)
		}
		b.Wait()
		runs, _ := st.JobRuns(ctx, "mirror", 10)
		if len(runs) != 2 || runs[0].Status != store.RunSucceeded || runs[1].Status != store.RunSucceeded {
			t.Fatalf("runs: %+v", runs)
		}
	})
}

// TestDeadHolderLeaseExpires: an instance that died holding a lease (its
// lease is never renewed) blocks the job until the lease expires; then
// another instance runs it and records the dead run as interrupted.
func TestDeadHolderLeaseExpires(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		if _, err := st.AcquireLease(ctx, leaseName("sweep"), "dead", ttl); err != nil {
			t.Fatal(err)
		}
		dead, _ := st.StartJobRun(ctx, "sweep", "schedule", time.Now())
		if err := st.RenewLease(ctx, leaseName("sweep"), "dead", ttl, dead); err != nil {
			t.Fatal(err)
		}
		ran := make(chan string, 1)
		release := make(chan struct{})
		close(release)
		b, _ := New(st, Options{Holder: "B", LeaseTTL: ttl})
		b.Register(ctx, blockingJob("sweep", ran, release, "B"))
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer b.Shutdown(ctx)
		if _, err := b.Trigger("sweep", "manual:test"); !errors.Is(err, ErrRunning) {
			t.Fatalf("trigger under a live lease: %v", err)
		}
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, err = b.Trigger("sweep", "manual:test"); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("lease never expired: %v", err)
		}
		<-ran
		b.Wait()
		run, _ := st.JobRun(ctx, "sweep", dead)
		if run.Status != store.RunInterrupted {
			t.Fatalf("dead holder's run: %+v", run)
		}
		if _, held, _ := st.LeaseState(ctx, leaseName("sweep")); held {
			t.Fatal("lease not released after the run")
		}
	})
}

// TestLostLeaseCancelsRun: when another holder takes the lease over (here
// by deleting it and taking it, as after an expiry), the running instance
// notices at its next renewal and cancels its run.
func TestLostLeaseCancelsRun(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		started := make(chan string, 1)
		a, _ := New(st, Options{Holder: "A", LeaseTTL: ttl})
		a.Register(ctx, blockingJob("long", started, make(chan struct{}), "A"))
		a.Start(ctx)
		defer a.Shutdown(ctx)
		id, err := a.Trigger("long", "manual:test")
		if err != nil {
			t.Fatal(err)
		}
		<-started
		if err := st.ReleaseLease(ctx, leaseName("long"), "A"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AcquireLease(ctx, leaseName("long"), "thief", time.Hour); err != nil {
			t.Fatal(err)
		}
		a.Wait()
		run, _ := st.JobRun(ctx, "long", id)
		if run.Status != store.RunFailed || run.Error == "" {
			t.Fatalf("run after its lease was lost: %+v", run)
		}
		if l, held, _ := st.LeaseState(ctx, leaseName("long")); !held || l.Holder != "thief" {
			t.Fatalf("the new holder's lease was touched: %+v %v", l, held)
		}
	})
}
