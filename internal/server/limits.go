package server

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// setLimiters builds the login and password-change limiters. On
// PostgreSQL their state is in the database, so that the instances sharing
// it share the limits (N instances must not allow N times the guesses);
// on SQLite, with one instance, it is kept in memory.
func (s *Server) setLimiters() {
	o := s.opts
	limiter := func(name string, burst int, every time.Duration) auth.Limiter {
		if s.st.Dialect() == store.Postgres {
			return auth.NewStoreLimiter(s.st, name, burst, every)
		}
		return auth.NewLoginLimiter(burst, every)
	}
	s.loginClient = limiter("login-client", o.LoginClientBurst, o.LoginClientEvery)
	s.loginUser = limiter("login-user", o.LoginBurst, o.LoginEvery)
	s.passwordLimit = limiter("password", o.LoginBurst, o.LoginEvery)
}

// admit takes an attempt for key from l, or returns a 429 error saying
// when to retry.
func admit(ctx context.Context, l auth.Limiter, key, what string) error {
	ok, wait, err := l.Allow(ctx, key)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	secs := int(wait.Seconds()) + 1
	return errStatus(http.StatusTooManyRequests, "too many %s; try again in %d seconds", what, secs).with("Retry-After", strconv.Itoa(secs))
}

// Limits bounds the requests in flight per route class (see route.Class):
// beyond its bound a request waits up to QueueWait for a turn, then gets
// 503 with Retry-After, so that latency stays bounded under a flood
// instead of every request queueing. Probes, metrics and static files are
// never shed. Zero fields take DefaultLimits.
type Limits struct {
	Read, Write, Scan, Stream, Feed int
	QueueWait                       time.Duration
}

// DefaultLimits: scans are CPU-bound, so their bound follows the CPUs.
var DefaultLimits = Limits{Read: 64, Write: 32, Scan: max(2, runtime.NumCPU()), Stream: 256, Feed: 128, QueueWait: time.Second}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	for _, p := range []struct{ v, d *int }{{&l.Read, &d.Read}, {&l.Write, &d.Write}, {&l.Scan, &d.Scan}, {&l.Stream, &d.Stream}, {&l.Feed, &d.Feed}} {
		if *p.v <= 0 {
			*p.v = *p.d
		}
	}
	if l.QueueWait <= 0 {
		l.QueueWait = d.QueueWait
	}
	return l
}

// newSlots makes the in-flight slots of each bounded class.
func newSlots(l Limits) map[class]chan struct{} {
	return map[class]chan struct{}{
		classRead: make(chan struct{}, l.Read), classWrite: make(chan struct{}, l.Write), classScan: make(chan struct{}, l.Scan),
		classStream: make(chan struct{}, l.Stream), classFeed: make(chan struct{}, l.Feed),
	}
}

// shed runs a request in a slot of its route's class, or answers 503.
func (s *Server) shed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pattern, ok := routedPattern(w)
		if !ok {
			_, pattern = s.mux.Handler(r)
		}
		c, ok := s.classes[pattern]
		if !ok {
			c = classOf(r.Method, "")
		}
		slots := s.slots[c]
		if slots == nil {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			t := time.NewTimer(s.opts.Limits.QueueWait)
			select {
			case slots <- struct{}{}:
				t.Stop()
			case <-t.C:
				s.metrics.shed.WithLabelValues(string(c)).Inc()
				w.Header().Set("Retry-After", "2")
				problem(w, r, http.StatusServiceUnavailable, fmt.Sprintf("the server is busy (%s requests at their limit); retry shortly", c))
				return
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		defer func() { <-slots }()
		next.ServeHTTP(w, r)
	})
}

// timeouts bounds the time a request may take to send its body
// (Options.BodyTimeout: a slow-body client cannot hold a connection and a
// goroutine for minutes) and, with the statusWriter, how long one write of
// the response may stall (Options.WriteTimeout: each write moves the
// deadline forward). Event streams and large downloads run as long as
// they make progress: nothing bounds a whole response.
func (s *Server) timeouts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body != nil && r.Body != http.NoBody {
			// Reading the body to its end starts the server's background
			// read, which clears this deadline.
			rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
		}
		rc.SetWriteDeadline(time.Time{}) // none left from an earlier request
		if sw, ok := w.(*statusWriter); ok {
			sw.rc, sw.idle = rc, s.opts.WriteTimeout
		}
		next.ServeHTTP(w, r)
	})
}
