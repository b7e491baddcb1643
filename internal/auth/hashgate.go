package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrBusy is returned when too many password checks are in progress or
// waiting: the caller should retry shortly (HTTP 503).
var ErrBusy = errors.New("too many password checks in progress; retry in a moment")

// HashGate bounds argon2id work: each hash holds its memory parameter
// (64 MiB by default) and the CPU for a while, so a flood of logins must
// queue for a few slots rather than run at once. Waiters beyond the queue
// length, or waiting longer than the maximum wait, are refused with
// ErrBusy instead of piling up.
type HashGate struct {
	slots   chan struct{}
	queue   int64
	maxWait time.Duration
	waiting atomic.Int64
	active  atomic.Int64
	peak    atomic.Int64
}

// NewHashGate allows concurrent hashes at once, queue more waiting (for at
// most maxWait each).
func NewHashGate(concurrent, queue int, maxWait time.Duration) *HashGate {
	return &HashGate{slots: make(chan struct{}, max(concurrent, 1)), queue: int64(max(queue, 0)), maxWait: maxWait}
}

// Do runs fn in a slot, or returns ErrBusy (or ctx's error).
func (g *HashGate) Do(ctx context.Context, fn func()) error {
	if g == nil {
		fn()
		return nil
	}
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.queue {
			g.waiting.Add(-1)
			return ErrBusy
		}
		t := time.NewTimer(g.maxWait)
		select {
		case g.slots <- struct{}{}:
			t.Stop()
			g.waiting.Add(-1)
		case <-t.C:
			g.waiting.Add(-1)
			return ErrBusy
		case <-ctx.Done():
			t.Stop()
			g.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	n := g.active.Add(1)
	defer g.active.Add(-1)
	for {
		if p := g.peak.Load(); n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	fn()
	return nil
}

// Peak is the most hashes that ran at once.
func (g *HashGate) Peak() int { return int(g.peak.Load()) }
