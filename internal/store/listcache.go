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
	mu    sync.Mutex
	m     map[string]countEntry
	epoch uint64 // bumped by writes; entries of older epochs are void
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

func newCountCache() *countCache { return &countCache{m: map[string]countEntry{}} }

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
func (c *countCache) get(_ context.Context, where string, args []any, count func() (int, error)) (int, error) {
	if c == nil {
		return count()
	}
	key := where + "\x00" + fmt.Sprint(args...)
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	epoch := c.epoch
	c.mu.Unlock()
	if ok && e.epoch == epoch && now.Sub(e.at) < countTTL {
		return e.n, nil
	}
	n, err := count()
	if err != nil || time.Since(now) < countCacheAfter {
		return n, err
	}
	c.mu.Lock()
	if c.epoch == epoch {
		if len(c.m) >= maxCountEntries {
			clear(c.m)
		}
		c.m[key] = countEntry{n: n, at: now, epoch: epoch}
	}
	c.mu.Unlock()
	return n, nil
}
