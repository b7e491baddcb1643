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
type countCache struct {
	mu       sync.Mutex
	m        map[string]countEntry
	epoch    uint64 // bumped by writes; entries of older epochs are void
	inflight map[string]*countCall
}

// countCall is a total being computed; concurrent requests for the same
// total wait for it instead of counting too (200 clients opening the
// same list at once would otherwise all count).
type countCall struct {
	done chan struct{}
	n    int
	err  error
}

type countEntry struct {
	n     int
	at    time.Time
	epoch uint64
}

const (
	countTTL        = 2 * time.Second
	countStale      = 4 * countTTL          // an older total is never served
	countCacheAfter = 10 * time.Millisecond // counts faster than this are not kept...
	countCacheFrom  = 1000                  // ...unless they are at least this large
	maxCountEntries = 512
)

func newCountCache() *countCache {
	return &countCache{m: map[string]countEntry{}, inflight: map[string]*countCall{}}
}

// invalidate voids every cached total.
func (c *countCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.epoch++
	clear(c.m)
	c.mu.Unlock()
}

// get returns the cached total of the query named by key (its where
// clause and the arguments it depends on) or computes it with count.
func (c *countCache) get(ctx context.Context, key string, count func() (int, error)) (int, error) {
	if c == nil {
		return count()
	}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	epoch := c.epoch
	ok = ok && e.epoch == epoch
	if ok && now.Sub(e.at) < countTTL {
		c.mu.Unlock()
		return e.n, nil
	}
	if call, inflight := c.inflight[key]; inflight {
		c.mu.Unlock()
		if ok && now.Sub(e.at) < countStale {
			return e.n, nil // being counted afresh by another request
		}
		select {
		case <-call.done:
			return call.n, call.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	call := &countCall{done: make(chan struct{})}
	c.inflight[key] = call
	c.mu.Unlock()

	call.n, call.err = count()
	c.mu.Lock()
	delete(c.inflight, key)
	if call.err == nil && (time.Since(now) >= countCacheAfter || call.n >= countCacheFrom) && c.epoch == epoch {
		if len(c.m) >= maxCountEntries {
			clear(c.m)
		}
		c.m[key] = countEntry{n: call.n, at: now, epoch: epoch}
	} else {
		delete(c.m, key) // a stale total is not served again
	}
	c.mu.Unlock()
	close(call.done)
	return call.n, call.err
}
