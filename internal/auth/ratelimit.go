package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimiter limits login attempts per key (client address and user
// name): a burst, then one attempt per interval.
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

// Allow reports whether an attempt for key may proceed now, and if not,
// how long to wait.
func (l *LoginLimiter) Allow(key string) (bool, time.Duration) {
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
		return false, d
	}
	return true, 0
}
