package cpushare

import (
	"context"
	"sync"
	"testing"
	"time"
)

// waitQueued waits until t has n waiters of each priority.
func waitQueued(t *testing.T, tk *Tokens, hi, lo int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tk.mu.Lock()
		h, l := len(tk.hi), len(tk.lo)
		tk.mu.Unlock()
		if h == hi && l == lo {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiters: %d high, %d low; want %d, %d", h, l, hi, lo)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHighPriorityServedFirst(t *testing.T) {
	ctx := context.Background()
	tk := New(1)
	if err := tk.Acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	take := func(name string, high bool) {
		defer wg.Done()
		if err := tk.Acquire(ctx, high); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
		tk.Release()
	}
	wg.Add(3)
	go take("low1", false)
	waitQueued(t, tk, 0, 1)
	go take("low2", false)
	waitQueued(t, tk, 0, 2)
	go take("high", true)
	waitQueued(t, tk, 1, 2)
	tk.Release()
	wg.Wait()
	want := []string{"high", "low1", "low2"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("served %v, want %v", order, want)
		}
	}
}

func TestLowWaitsWhileHighQueued(t *testing.T) {
	// A free token goes to a queued high waiter, not to a low newcomer.
	tk := New(0)
	got := make(chan struct{})
	go func() {
		tk.Acquire(context.Background(), true)
		close(got)
	}()
	waitQueued(t, tk, 1, 0)
	tk.Release()
	<-got
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := tk.Acquire(ctx, false); err == nil {
		t.Fatal("acquired a token none was free for")
	}
}

func TestCancelledWaiterLeavesQueue(t *testing.T) {
	tk := New(1)
	if err := tk.Acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- tk.Acquire(ctx, true) }()
	waitQueued(t, tk, 1, 0)
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a cancelled Acquire returned nil")
	}
	waitQueued(t, tk, 0, 0)
	tk.Release()
	// The token released is free again: two acquires in a row, one must wait.
	if err := tk.Acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := tk.Acquire(short, false); err == nil {
		t.Fatal("two tokens taken from a semaphore of one")
	}
}

func TestConcurrentUseNeverExceedsTokens(t *testing.T) {
	const n = 3
	tk := New(n)
	var mu sync.Mutex
	inUse, peak := 0, 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if err := tk.Acquire(context.Background(), i%4 == 0); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inUse++
				peak = max(peak, inUse)
				mu.Unlock()
				mu.Lock()
				inUse--
				mu.Unlock()
				tk.Release()
			}
		}()
	}
	wg.Wait()
	if peak > n {
		t.Fatalf("%d tokens in use at once, want at most %d", peak, n)
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.free != n {
		t.Fatalf("%d tokens free after all released, want %d", tk.free, n)
	}
}
