package store

import (
	"context"
	"testing"
	"time"
)

// A total past countTTL is served while it is counted afresh in the
// background, once; past countStale requests wait for the new one.
func TestCountCacheServesStaleWhileRecounting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := newCountCache()
	c.m["k"] = countEntry{v: 5, at: time.Now().Add(-countTTL - time.Second)}
	started, release := make(chan struct{}), make(chan struct{})
	n, err := c.get(ctx, "k", func(ctx context.Context) (int, error) {
		close(started)
		<-release
		time.Sleep(countCacheAfter)
		return 7, ctx.Err()
	})
	if err != nil || n != 5 {
		t.Fatalf("the request finding the total stale: %d, %v; want the old total 5 at once", n, err)
	}
	cancel() // the request ends; its recount goes on
	<-started
	n, err = c.get(context.Background(), "k", func(context.Context) (int, error) {
		t.Error("counted twice while a count was in flight")
		return 0, nil
	})
	if err != nil || n != 5 {
		t.Fatalf("during the recount: %d, %v; want the old total 5", n, err)
	}
	close(release)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		_, busy := c.inflight["k"]
		c.mu.Unlock()
		if !busy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background recount did not finish")
		}
	}
	if n, _ := c.get(context.Background(), "k", func(context.Context) (int, error) { t.Error("fresh total counted again"); return 0, nil }); n != 7 {
		t.Fatalf("after the recount: %d, want 7", n)
	}
	ctx = context.Background()
	done := make(chan int)

	// Too old to serve: a second request waits for the count.
	c.m["old"] = countEntry{v: 1, at: time.Now().Add(-countStale - time.Second)}
	started, release = make(chan struct{}), make(chan struct{})
	go func() {
		n, _ := c.get(ctx, "old", func(context.Context) (int, error) { close(started); <-release; return 2, nil })
		done <- n
	}()
	<-started
	waited := make(chan int)
	go func() {
		n, _ := c.get(ctx, "old", func(context.Context) (int, error) { return 3, nil })
		waited <- n
	}()
	select {
	case n := <-waited:
		t.Fatalf("a total older than countStale was served: %d", n)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if a, b := <-done, <-waited; a != 2 || b != 2 {
		t.Fatalf("totals %d and %d, want 2 and 2", a, b)
	}

	// A write voids the old total: nothing stale after it.
	c.m["w"] = countEntry{v: 1, at: time.Now().Add(-countTTL - time.Second)}
	c.invalidate()
	if n, _ := c.get(ctx, "w", func(context.Context) (int, error) { return 4, nil }); n != 4 {
		t.Fatalf("after a write: %d, want 4", n)
	}
}

// The cache key of a list total leaves out the time it is asked at (the
// assessment filter's now), and keeps everything else.
func TestSummaryCountKeyLeavesOutNow(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	f := SummaryFilter{Assessment: AssessedNone, Now: at}
	g := f
	g.Now = at.Add(1500 * time.Millisecond)
	for _, d := range []Dialect{SQLite, Postgres} {
		_, fa := f.where(d)
		_, ga := g.where(d)
		if countKey("", fa) == countKey("", ga) {
			t.Fatalf("%v: the where arguments do not carry now", d)
		}
		if f.countKey(d) != g.countKey(d) {
			t.Errorf("%v: count keys differ by the time asked", d)
		}
		h := f
		h.AssessScope = "project:app"
		if h.countKey(d) == f.countKey(d) {
			t.Errorf("%v: count key ignores the scope", d)
		}
		h = f
		h.Assessment = AssessedAny
		if h.countKey(d) == f.countKey(d) {
			t.Errorf("%v: count key ignores the assessment filter", d)
		}
	}
}

// A total slow to count stays fresh longer (recountShare times its count,
// at most maxFresh): it is served as it is where a quick one is recounted.
func TestSlowTotalsStayFreshLonger(t *testing.T) {
	for took, want := range map[time.Duration]time.Duration{0: countTTL, 50 * time.Millisecond: countTTL, 250 * time.Millisecond: 5 * time.Second, time.Minute: maxFresh} {
		if got := freshFor(took); got != want {
			t.Errorf("freshFor(%v) = %v, want %v", took, got, want)
		}
	}
	c := newCountCache()
	age := time.Now().Add(-4 * time.Second)
	c.m["slow"] = countEntry{v: 5, at: age, took: 400 * time.Millisecond}
	c.m["quick"] = countEntry{v: 6, at: age, took: 20 * time.Millisecond}
	if n, err := c.get(context.Background(), "slow", func(context.Context) (int, error) {
		t.Error("a total fresh for 8 s recounted at 4 s")
		return 0, nil
	}); err != nil || n != 5 {
		t.Fatalf("slow total: %d, %v", n, err)
	}
	recounted := make(chan struct{})
	if n, err := c.get(context.Background(), "quick", func(context.Context) (int, error) {
		close(recounted)
		return 7, nil
	}); err != nil || n != 6 {
		t.Fatalf("quick total: %d, %v; want the old 6 served while recounted", n, err)
	}
	select {
	case <-recounted:
	case <-time.After(10 * time.Second):
		t.Fatal("a total fresh for 2 s was not recounted at 4 s")
	}
	// Past its freshness and the stale margin, a slow total is counted
	// before it is served.
	c.m["slow"] = countEntry{v: 5, at: time.Now().Add(-maxFresh - countStale), took: time.Minute}
	if n, _ := c.get(context.Background(), "slow", func(context.Context) (int, error) { return 8, nil }); n != 8 {
		t.Fatalf("too old a slow total: %d, want 8 counted", n)
	}
}
