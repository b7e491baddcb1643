package server

import (
	"context"
	"net/http"
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
