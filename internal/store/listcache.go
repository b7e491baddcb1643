package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// countCache keeps the totals of list queries for a short while. A page of
// 50 is cheap with the list indexes, but its total must count every match:
// at 300,000 advisories that is tens of milliseconds, which under 200
// concurrent clients was most of each request. Only totals that were slow
// to compute are kept (small stores always count afresh), for countTTL,
// and any write transaction of this process empties the cache, so a total
// is at most countTTL stale only after writes by another process or
// instance.
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
	countCacheAfter = 10 * time.Millisecond // counts faster than this are not kept
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

// get returns the cached total of the query (where clause and arguments)
// or computes it with count.
func (c *countCache) get(ctx context.Context, where string, args []any, count func() (int, error)) (int, error) {
	if c == nil {
		return count()
	}
	key := where + "\x00" + fmt.Sprint(args...)
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	epoch := c.epoch
	if ok && e.epoch == epoch && now.Sub(e.at) < countTTL {
		c.mu.Unlock()
		return e.n, nil
	}
	if call, ok := c.inflight[key]; ok {
		c.mu.Unlock()
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
	if call.err == nil && time.Since(now) >= countCacheAfter && c.epoch == epoch {
		if len(c.m) >= maxCountEntries {
			clear(c.m)
		}
		c.m[key] = countEntry{n: call.n, at: now, epoch: epoch}
	}
	c.mu.Unlock()
	close(call.done)
	return call.n, call.err
}
