package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		take := func(key string, at time.Time) (bool, time.Duration) {
			t.Helper()
			ok, wait, err := s.RateLimit(ctx, key, at, time.Minute, 3)
			if err != nil {
				t.Fatal(err)
			}
			return ok, wait
		}
		for i := range 3 {
			if ok, _ := take("a", now); !ok {
				t.Fatalf("attempt %d refused within the burst", i+1)
			}
		}
		ok, wait := take("a", now)
		if ok || wait != time.Minute {
			t.Fatalf("4th attempt: allowed %v, wait %s; want refused, 1m", ok, wait)
		}
		if ok, _ := take("b", now); !ok {
			t.Fatal("another key is limited")
		}
		if ok, _ := take("a", now.Add(59*time.Second)); ok {
			t.Fatal("refilled early")
		}
		if ok, _ := take("a", now.Add(time.Minute)); !ok {
			t.Fatal("not refilled after the interval")
		}
		// Concurrent attempts (several instances): exactly the burst passes.
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				ok, _, err := s.RateLimit(ctx, "c", now, time.Minute, 5)
				if err != nil {
					t.Error(err)
				}
				if ok {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != 5 {
			t.Fatalf("%d of 20 concurrent attempts allowed, want 5", n)
		}
		// Full buckets are forgotten; the others stay.
		n, err := s.PruneRateLimits(ctx, now.Add(2*time.Minute))
		if err != nil || n != 1 { // "b": one attempt at now, full again at now+1m
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		if ok, _ := take("c", now.Add(2*time.Minute)); ok {
			t.Fatal("a pruned bucket was not full")
		}
	})
}
