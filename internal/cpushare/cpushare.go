// Package cpushare implements a counting semaphore of CPU tokens whose
// waiters are served by priority: work on a critical path (a serial
// writer) takes the next token released before any work that only keeps
// a CPU busy (parsing ahead of it), however long that work has waited.
// A Go channel used as a semaphore serves its waiters in order of
// arrival, so a writer asking for a CPU waited behind every parsing
// goroutine queued before it.
//
// It does not preempt: a token is given back only by Release, and a
// waiter of high priority waits for the next one.
package cpushare

import (
	"context"
	"sync"
)

// Tokens is a counting semaphore with two priorities. Its zero value has
// no tokens; use New.
type Tokens struct {
	mu     sync.Mutex
	free   int
	hi, lo []chan struct{}
}

// New returns a semaphore of n tokens.
func New(n int) *Tokens { return &Tokens{free: n} }

// Acquire takes a token, waiting for one until ctx ends. Waiters with
// high set are served first.
func (t *Tokens) Acquire(ctx context.Context, high bool) error {
	t.mu.Lock()
	if t.free > 0 && (high || len(t.hi) == 0) {
		t.free--
		t.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if high {
		t.hi = append(t.hi, ch)
	} else {
		t.lo = append(t.lo, ch)
	}
	t.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, q := range []*[]chan struct{}{&t.hi, &t.lo} {
		for i, c := range *q {
			if c == ch {
				*q = append((*q)[:i], (*q)[i+1:]...)
				return ctx.Err()
			}
		}
	}
	// Granted as ctx ended: pass the token on.
	t.releaseLocked()
	return ctx.Err()
}

// Release gives a token back.
func (t *Tokens) Release() {
	t.mu.Lock()
	t.releaseLocked()
	t.mu.Unlock()
}

func (t *Tokens) releaseLocked() {
	switch {
	case len(t.hi) > 0:
		close(t.hi[0])
		t.hi = t.hi[1:]
	case len(t.lo) > 0:
		close(t.lo[0])
		t.lo = t.lo[1:]
	default:
		t.free++
	}
}
