package feed

import (
	"errors"
	"sync"
	"time"
)

// NegativeTTL is how long an upstream's "no such document" (404, 410) is
// remembered, so that clients probing many paths (the go command tries
// every prefix of a module path) do not each reach the upstream. It is
// never longer than the feed's metadata TTL.
const NegativeTTL = time.Minute

// negCache remembers recent 404/410 answers by key, bounded in entries.
type negCache struct {
	mu  sync.Mutex
	max int
	m   map[string]negEntry
}

type negEntry struct {
	err   *UpstreamError
	until time.Time
}

func newNegCache(max int) *negCache { return &negCache{max: max, m: map[string]negEntry{}} }

// get returns the remembered answer for k, if still fresh at now.
func (n *negCache) get(k string, now time.Time) (*UpstreamError, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.m[k]
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) {
		delete(n.m, k)
		return nil, false
	}
	return e.err, true
}

// put remembers err under k for ttl when it says "no such document".
func (n *negCache) put(k string, err error, now time.Time, ttl time.Duration) {
	var ue *UpstreamError
	if ttl <= 0 || !errors.As(err, &ue) || !ue.NotFound() {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.m) >= n.max {
		// Drop what expired; if that is not enough, start over (a burst
		// of misses must not grow memory).
		for k, e := range n.m {
			if !now.Before(e.until) {
				delete(n.m, k)
			}
		}
		if len(n.m) >= n.max {
			clear(n.m)
		}
	}
	n.m[k] = negEntry{err: ue, until: now.Add(ttl)}
}

// forget drops what is remembered for keys starting with prefix.
func (n *negCache) forget(prefix string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k := range n.m {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(n.m, k)
		}
	}
}

// negativeTTL is how long a feed remembers a 404/410.
func negativeTTL(f Feed) time.Duration { return min(NegativeTTL, f.MetadataTTL) }
