package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limiter admits attempts per key (a client address, an address and user
// name, a user): a burst, then one per interval. Login and password
// changes go through one; so a guessing client is slowed whatever names
// it tries, and each account is slowed whatever addresses try it.
type Limiter interface {
	// Allow takes an attempt for key; when it is refused, wait says when
	// the next one will be admitted. err is set when the state cannot be
	// read (a store limiter whose database is down): refuse then.
	Allow(ctx context.Context, key string) (ok bool, wait time.Duration, err error)
}

// LoginLimiter is a Limiter kept in memory: right for one instance.
type LoginLimiter struct {
	mu       sync.Mutex
	every    time.Duration
	burst    int
	limiters map[string]*limiterEntry
	now      func() time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLoginLimiter allows burst attempts, then one per every.
func NewLoginLimiter(burst int, every time.Duration) *LoginLimiter {
	return &LoginLimiter{every: every, burst: burst, limiters: map[string]*limiterEntry{}, now: time.Now}
}

// Allow implements Limiter.
func (l *LoginLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.limiters) > 10000 {
		for k, e := range l.limiters { // forget idle clients
			if now.Sub(e.seen) > time.Duration(l.burst+1)*l.every {
				delete(l.limiters, k)
			}
		}
	}
	e, ok := l.limiters[key]
	if !ok {
		e = &limiterEntry{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.limiters[key] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// RateStore keeps limiter state in the database (store.Store).
type RateStore interface {
	RateLimit(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (bool, time.Duration, error)
	PruneRateLimits(ctx context.Context, now time.Time) (int64, error)
}

// StoreLimiter is a Limiter whose state is in the database, so that the
// instances sharing one database share the limits: N instances do not
// allow N times the attempts.
type StoreLimiter struct {
	st    RateStore
	name  string
	burst int
	every time.Duration
	now   func() time.Time
	calls atomic.Int64
}

// NewStoreLimiter allows burst attempts, then one per every; name keeps
// the keys of different limiters apart.
func NewStoreLimiter(st RateStore, name string, burst int, every time.Duration) *StoreLimiter {
	return &StoreLimiter{st: st, name: name, burst: burst, every: every, now: time.Now}
}

// pruneEvery is how many attempts pass between deletions of full buckets.
const pruneEvery = 1000

// Allow implements Limiter.
func (l *StoreLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	now := l.now()
	if l.calls.Add(1)%pruneEvery == 0 {
		l.st.PruneRateLimits(ctx, now) // best effort: rows of full buckets change nothing
	}
	// Keys carry what clients sent (user names): stored as a digest, of
	// fixed length and free of bytes the database refuses.
	sum := sha256.Sum256([]byte(key))
	return l.st.RateLimit(ctx, l.name+":"+hex.EncodeToString(sum[:16]), now, l.every, l.burst)
}

// ClientKey is the rate limit key of a client address: the address, or
// its /64 network for IPv6 (one host usually holds a whole /64).
func ClientKey(ip string) string {
	a := net.ParseIP(ip)
	if a == nil || a.To4() != nil {
		return ip
	}
	return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
