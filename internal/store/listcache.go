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
// stores always count afresh), for countTTL or, for a total slow to count,
// recountShare times as long as counting took (at most maxFresh), and any
// write transaction of this process empties the cache, so a total is that
// stale only after writes by another process or instance (or assessments
// expiring: the key leaves out the time a list is asked at, see
// SummaryFilter.countKey). Past that the old total is served, for up to
// countStale-countTTL more, while it is counted afresh in the background:
// otherwise every client asking in the meantime would wait for that count.
type countCache = listCache[int]

// listCache keeps values of list queries (counts, sets of IDs) by key for
// countTTL, voided by any write of this process (invalidate), with
// concurrent requests for a missing value waiting for the one computing
// it. keep says whether a computed value is worth keeping.
type listCache[V any] struct {
	mu        sync.Mutex
	m         map[string]listEntry[V]
	epoch     uint64 // bumped by writes; entries of older epochs are void
	inflight  map[string]*listCall[V]
	keep      func(v V, took time.Duration) bool
	max       int           // entries kept at most
	refreshes chan struct{} // a token per background computation (see get)
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
	took  time.Duration // to compute (0: unknown)
	epoch uint64
}

// fresh is how long the entry is served as it is (see freshFor).
func (e listEntry[V]) fresh() time.Duration { return freshFor(e.took) }

// servable tells whether the entry, age old, may be served while it is
// computed afresh.
func (e listEntry[V]) servable(age time.Duration) bool {
	return age < e.fresh()+countStale-countTTL
}

// freshFor is how long a value that took took to compute is served as it
// is: countTTL, or recountShare times took when that is longer (at most
// maxFresh), so that recounting a total keeps at most a twentieth of a CPU
// busy. At 300,000 advisories a total of 200 clients' list took 0.25-0.5 s
// to count under their load: every 2 s, one of two CPUs spent a quarter of
// the time counting while the requests queued on the other.
func freshFor(took time.Duration) time.Duration {
	return min(max(countTTL, recountShare*took), maxFresh)
}

type countEntry = listEntry[int]

const (
	countTTL        = 2 * time.Second
	countStale      = 4 * countTTL          // an older total is never served (plus freshFor's extension)
	recountShare    = 20                    // a value is kept fresh this many times as long as it took
	maxFresh        = 10 * time.Second      // but never longer
	countCacheAfter = 10 * time.Millisecond // counts faster than this are not kept...
	countCacheFrom  = 1000                  // ...unless they are at least this large
	maxCountEntries = 512
	maxRefreshes    = 2                // values computed afresh in the background at once
	refreshTimeout  = 30 * time.Second // for one of them
)

func newCountCache() *countCache {
	return newListCache(maxCountEntries, func(n int, took time.Duration) bool { return took >= countCacheAfter || n >= countCacheFrom })
}

func newListCache[V any](max int, keep func(V, time.Duration) bool) *listCache[V] {
	return &listCache[V]{m: map[string]listEntry[V]{}, inflight: map[string]*listCall[V]{}, keep: keep, max: max, refreshes: make(chan struct{}, maxRefreshes)}
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
// A value past its freshness (freshFor) but still servable (for
// countStale-countTTL more) is served while it is computed afresh in the
// background, by at most maxRefreshes goroutines
// at a time (beyond that the request computes it, as a missing value):
// the request that happened to find it stale used to wait for the
// recount, at 300,000 advisories a fifth of a second, and made the list's
// slowest requests.
func (c *listCache[V]) get(ctx context.Context, key string, compute func(context.Context) (V, error)) (V, error) {
	if c == nil {
		return compute(ctx)
	}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	epoch := c.epoch
	ok = ok && e.epoch == epoch
	if ok && now.Sub(e.at) < e.fresh() {
		c.mu.Unlock()
		return e.v, nil
	}
	servable := ok && e.servable(now.Sub(e.at)) // while computed afresh
	if call, inflight := c.inflight[key]; inflight {
		c.mu.Unlock()
		if servable {
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
	if servable {
		select {
		case c.refreshes <- struct{}{}:
			c.mu.Unlock()
			go func() {
				defer func() { <-c.refreshes }()
				bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
				defer cancel()
				call.v, call.err = compute(bctx)
				c.settle(key, call, epoch, now)
			}()
			return e.v, nil
		default:
		}
	}
	c.mu.Unlock()
	call.v, call.err = compute(ctx)
	c.settle(key, call, epoch, now)
	return call.v, call.err
}

// settle ends call, the computation of key's value begun at start in
// epoch: the value is kept if worth it and no write came meanwhile.
func (c *listCache[V]) settle(key string, call *listCall[V], epoch uint64, start time.Time) {
	c.mu.Lock()
	delete(c.inflight, key)
	took := time.Since(start)
	if call.err == nil && c.keep(call.v, took) && c.epoch == epoch {
		if len(c.m) >= c.max {
			clear(c.m)
		}
		c.m[key] = listEntry[V]{v: call.v, at: start, took: took, epoch: epoch}
	} else {
		delete(c.m, key) // a stale value is not served again
	}
	c.mu.Unlock()
	close(call.done)
}
