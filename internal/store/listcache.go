package store

import (
	"context"
	"sync"
	"time"
)

// countCache keeps the totals of list queries for a short while. A page of
// 50 is cheap with the list indexes, but its total must count every match:
// at 300,000 advisories that is tens of milliseconds, which under 200
// concurrent clients was most of each request; a project's 10,000
// findings take a millisecond or two to count, more than their page. Only
// totals that were slow to compute or count many matches are kept (small
// stores always count afresh), for countTTL,
// and any write transaction of this process empties the cache, so a total
// is at most countTTL stale only after writes by another process or
// instance (or assessments expiring: the key leaves out the time a list is
// asked at, see SummaryFilter.countKey). Past countTTL one request counts
// afresh while the others keep the old total, up to countStale: otherwise
// every client asking in the meantime would wait for that count.
type countCache = listCache[int]

// listCache keeps values of list queries (counts, sets of IDs) by key for
// countTTL, voided by any write of this process (invalidate), with
// concurrent requests for a missing value waiting for the one computing
// it. keep says whether a computed value is worth keeping.
type listCache[V any] struct {
	mu       sync.Mutex
	m        map[string]listEntry[V]
	epoch    uint64 // bumped by writes; entries of older epochs are void
	inflight map[string]*listCall[V]
	keep     func(v V, took time.Duration) bool
	max      int // entries kept at most
}

// listCall is a value being computed; concurrent requests for the same
// key wait for it instead of computing it too (200 clients opening the
// same list at once would otherwise all count).
type listCall[V any] struct {
	done chan struct{}
	v    V
	err  error
}

type listEntry[V any] struct {
	v     V
	at    time.Time
	epoch uint64
}

type countEntry = listEntry[int]

const (
	countTTL        = 2 * time.Second
	countStale      = 4 * countTTL          // an older total is never served
	countCacheAfter = 10 * time.Millisecond // counts faster than this are not kept...
	countCacheFrom  = 1000                  // ...unless they are at least this large
	maxCountEntries = 512
)

func newCountCache() *countCache {
	return newListCache(maxCountEntries, func(n int, took time.Duration) bool { return took >= countCacheAfter || n >= countCacheFrom })
}

func newListCache[V any](max int, keep func(V, time.Duration) bool) *listCache[V] {
	return &listCache[V]{m: map[string]listEntry[V]{}, inflight: map[string]*listCall[V]{}, keep: keep, max: max}
}

// invalidate voids every cached value.
func (c *listCache[V]) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.epoch++
	clear(c.m)
	c.mu.Unlock()
}

// get returns the cached value of the query named by key (its where
// clause and the arguments it depends on) or computes it with compute.
func (c *listCache[V]) get(ctx context.Context, key string, compute func() (V, error)) (V, error) {
	if c == nil {
		return compute()
	}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	epoch := c.epoch
	ok = ok && e.epoch == epoch
	if ok && now.Sub(e.at) < countTTL {
		c.mu.Unlock()
		return e.v, nil
	}
	if call, inflight := c.inflight[key]; inflight {
		c.mu.Unlock()
		if ok && now.Sub(e.at) < countStale {
			return e.v, nil // being computed afresh by another request
		}
		select {
		case <-call.done:
			return call.v, call.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	call := &listCall[V]{done: make(chan struct{})}
	c.inflight[key] = call
	c.mu.Unlock()

	call.v, call.err = compute()
	c.mu.Lock()
	delete(c.inflight, key)
	if call.err == nil && c.keep(call.v, time.Since(now)) && c.epoch == epoch {
		if len(c.m) >= c.max {
			clear(c.m)
		}
		c.m[key] = listEntry[V]{v: call.v, at: now, epoch: epoch}
	} else {
		delete(c.m, key) // a stale value is not served again
	}
	c.mu.Unlock()
	close(call.done)
	return call.v, call.err
}
