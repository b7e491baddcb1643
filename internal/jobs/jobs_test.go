package jobs

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestRunCapturesLogAndHistory(t *testing.T) {
	storetest.Engines(t, testRunCapturesLogAndHistory)
}

func testRunCapturesLogAndHistory(t *testing.T, st *store.Store) {
	ctx := context.Background()
	r, err := New(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	started := make(chan struct{})
	err = r.Register(ctx, Job{Name: "demo", Title: "Demo", DefaultCron: "0 2 * * *", Run: func(ctx context.Context, log *slog.Logger) error {
		log.Info("hello from the job", "n", 1)
		close(started)
		<-release
		log.Warn("second line")
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(ctx)
	id, err := r.Trigger("demo", "manual:test")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if _, err := r.Trigger("demo", "manual:test"); !errors.Is(err, ErrRunning) {
		t.Fatalf("second trigger: %v, want ErrRunning", err)
	}
	lv := r.Live("demo", id)
	if lv == nil {
		t.Fatal("no live log for the running run")
	}
	backlog, lines, done, cancel := lv.Subscribe()
	defer cancel()
	if !strings.Contains(strings.Join(backlog, "\n"), "hello from the job") {
		t.Fatalf("backlog %q lacks the first line", backlog)
	}
	close(release)
	var got []string
	for waiting := true; waiting; {
		select {
		case l := <-lines:
			got = append(got, l)
		case <-done:
			waiting = false
		}
	}
	r.Wait()
	if !strings.Contains(strings.Join(got, "\n"), "second line") {
		t.Fatalf("streamed %q lacks the second line", got)
	}
	run, err := st.JobRun(ctx, "demo", id)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.RunSucceeded || !strings.Contains(run.Log, "hello from the job") || !strings.Contains(run.Log, "run finished") {
		t.Fatalf("stored run: %+v", run)
	}
	if inf, _ := r.Job("demo"); inf.NextRun.IsZero() || inf.Cron != "0 2 * * *" {
		t.Fatalf("job info: %+v", inf)
	}
}

func TestFailureAndCronSetting(t *testing.T) {
	storetest.Engines(t, testFailureAndCronSetting)
}

func testFailureAndCronSetting(t *testing.T, st *store.Store) {
	ctx := context.Background()
	r, _ := New(st, Options{})
	r.Register(ctx, Job{Name: "bad", DefaultCron: "0 2 * * *", Run: func(ctx context.Context, log *slog.Logger) error {
		return errors.New("boom")
	}})
	r.Start(ctx)
	defer r.Shutdown(ctx)
	id, _ := r.Trigger("bad", "manual:test")
	r.Wait()
	run, _ := st.JobRun(ctx, "bad", id)
	if run.Status != store.RunFailed || run.Error != "boom" {
		t.Fatalf("run: %+v", run)
	}
	if err := r.SetCron(ctx, "bad", "not a cron"); err == nil {
		t.Fatal("invalid cron accepted")
	}
	if err := r.SetCron(ctx, "bad", "*/5 * * * *"); err != nil {
		t.Fatal(err)
	}
	// A new runner over the same store reads the stored schedule.
	r2, _ := New(st, Options{})
	r2.Register(ctx, Job{Name: "bad", DefaultCron: "0 2 * * *", Run: func(context.Context, *slog.Logger) error { return nil }})
	if inf, _ := r2.Job("bad"); inf.Cron != "*/5 * * * *" {
		t.Fatalf("stored cron not used: %+v", inf)
	}
	if _, err := r.Trigger("nope", "x"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestStartupRunAndInterrupted(t *testing.T) {
	storetest.Engines(t, testStartupRunAndInterrupted)
}

func testStartupRunAndInterrupted(t *testing.T, st *store.Store) {
	ctx := context.Background()
	stale, _ := st.StartJobRun(ctx, "boot", "schedule", time.Now())
	r, _ := New(st, Options{})
	enabled := true
	r.Register(ctx, Job{Name: "boot", RunAtStart: true, Enabled: func(context.Context) bool { return enabled }, Run: func(ctx context.Context, log *slog.Logger) error {
		log.Info("booted")
		return nil
	}})
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	r.Shutdown(ctx)
	runs, _ := st.JobRuns(ctx, "boot", 10)
	if len(runs) != 2 || runs[0].Cause != "startup" || runs[0].Status != store.RunSucceeded || runs[1].ID != stale || runs[1].Status != store.RunInterrupted {
		t.Fatalf("runs: %+v", runs)
	}
}
