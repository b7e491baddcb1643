package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/store"
)

type ctxKey int

const principalKey ctxKey = 1

// principal returns the authenticated caller, or nil.
func principal(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(principalKey).(*auth.Principal)
	return p
}

const sessionCookie = "vulngate_session"

// wrap adds, outermost first: panic recovery, metrics and request logs,
// body and write timeouts, load shedding per route class, security
// headers, CSRF protection and authentication.
func (s *Server) wrap(mux *http.ServeMux) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem(w, r, http.StatusForbidden, "cross-origin request refused (CSRF protection)")
	}))
	h := s.authenticate(routed(mux))
	h = cop.Handler(h)
	h = securityHeaders(h)
	h = s.shed(h)
	h = s.timeouts(h)
	return s.observe(mux, h)
}

// authenticate resolves the caller from an API key ("Authorization:
// Bearer vg_...") or the session cookie. A bad API key is refused
// outright; a stale session cookie is ignored. Package feeds (/feeds/)
// need no caller: package clients send credentials meant for other
// registries (npm sends its configured "Bearer" token), so feed requests
// skip authentication and their Authorization header is neither checked
// nor logged. /metrics checks its own token (Options.MetricsToken).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, proxy.Prefix) || r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		var p *auth.Principal
		if h := r.Header.Get("Authorization"); h != "" {
			key, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				problem(w, r, http.StatusUnauthorized, "unsupported Authorization scheme: send \"Authorization: Bearer vg_...\"")
				return
			}
			var err error
			p, err = s.auth.APIKey(r.Context(), strings.TrimSpace(key))
			if err != nil {
				if !errors.Is(err, auth.ErrBadCredentials) {
					s.log.Error("api key lookup failed", "err", err)
				}
				if store.IsUnavailable(err) {
					w.Header().Set("Retry-After", "5")
					problem(w, r, http.StatusServiceUnavailable, "the API key could not be checked: the database is unavailable; retry shortly")
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="vulngate", error="invalid_token"`)
				problem(w, r, http.StatusUnauthorized, "invalid or revoked API key")
				return
			}
		} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			if sp, err := s.auth.Session(r.Context(), c.Value); err == nil {
				p = sp
			} else if store.IsUnavailable(err) {
				w.Header().Set("Retry-After", "5")
				if !strings.HasPrefix(r.URL.Path, "/api/") {
					// A page: the browser shows an error page, not JSON.
					s.renderError(w, r, http.StatusServiceUnavailable, "The database is unavailable; this page will work again shortly.")
					return
				}
				problem(w, r, http.StatusServiceUnavailable, "the session could not be checked: the database is unavailable; retry shortly")
				return
			}
		}
		if p != nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		}
		next.ServeHTTP(w, r)
	})
}

// The security headers' values, shared by every response (net/http only
// reads them; Header.Set and Add replace or copy, never write into them).
var (
	hdrNosniff    = []string{"nosniff"}
	hdrSameOrigin = []string{"same-origin"}
	hdrDeny       = []string{"DENY"}
	hdrCSP        = []string{"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"}
)

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Canonical keys assigned directly: what Header.Set stores,
		// without a new value slice per response.
		h := w.Header()
		h["X-Content-Type-Options"] = hdrNosniff
		h["Referrer-Policy"] = hdrSameOrigin
		h["X-Frame-Options"] = hdrDeny
		h["Content-Security-Policy"] = hdrCSP
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	// pattern and handler are the mux's answer for the request, looked
	// up once by Server.observe for the metrics, the load class (shed)
	// and the dispatch (routed).
	pattern string
	handler http.Handler
	// rc and idle, set by Server.timeouts, move the write deadline
	// forward as the response progresses.
	rc       *http.ResponseController
	idle     time.Duration
	extended time.Time
}

// extend moves the write deadline to idle from now (at most every
// quarter of idle, and every second), so that a write stalls at most
// about idle, however long the handler worked before it.
func (w *statusWriter) extend() {
	if w.rc != nil && w.idle > 0 {
		if now := time.Now(); now.Sub(w.extended) > min(time.Second, w.idle/4) {
			w.rc.SetWriteDeadline(now.Add(w.idle))
			w.extended = now
		}
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.extend()
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.extend()
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// readFromChunk is the most one ReadFrom step sends before the write
// deadline moves forward again: as much as one write of io.Copy's buffer,
// so that a slow download is held to the same pace through either path.
const readFromChunk = 32 << 10

// ReadFrom lets responses copied from a reader (http.ServeContent: the
// feeds' cached files) reach the connection's ReadFrom, which sends a file
// with sendfile(2) and copies anything else through a pooled buffer,
// instead of a read and a write through a new 32 KiB buffer per response
// (most of a cached download's garbage). The write deadline moves before
// every step of at most readFromChunk bytes, as it does on every Write.
func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	// The steps limit the reader at the level of io.CopyN's own
	// *io.LimitedReader, the one sendfile looks through to the file.
	lr, limited := src.(*io.LimitedReader)
	if !limited {
		lr = &io.LimitedReader{R: src, N: 1<<63 - 1}
	}
	var total int64
	for lr.N > 0 {
		w.extend()
		step := min(lr.N, readFromChunk)
		n, err := rf.ReadFrom(&io.LimitedReader{R: lr.R, N: step})
		total += n
		w.bytes += int(n)
		lr.N -= n
		if err != nil || n < step {
			return total, err
		}
	}
	return total, nil
}

// Unwrap lets http.ResponseController reach Flush.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe recovers panics, counts requests by route pattern and logs them.
func (s *Server) observe(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		handler, pattern := mux.Handler(r)
		sw.pattern, sw.handler = pattern, handler
		route := "unmatched"
		if pattern != "" {
			route = pattern
			if _, p, ok := strings.Cut(pattern, " "); ok {
				route = p
			}
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", "method", methodLabel(r.Method), "route", route, "panic", v)
				if sw.status == 0 {
					problem(sw, r, http.StatusInternalServerError, "internal error")
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			method := methodLabel(r.Method)
			s.metrics.observe(route, method, sw.status, d)
			level := slog.LevelInfo
			if route == "/healthz" || route == "/readyz" || route == "/metrics" || strings.HasPrefix(route, "/static/") {
				level = slog.LevelDebug
			}
			if s.log.Enabled(r.Context(), level) {
				s.log.LogAttrs(r.Context(), level, "request", slog.String("method", method), slog.String("path", r.URL.Path), slog.String("route", route),
					slog.Int("status", sw.status), slog.Int("bytes", sw.bytes), slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("remote", clientIP(r)))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// routedPattern is the mux's pattern for the request whose response w
// writes, when Server.observe looked it up.
func routedPattern(w http.ResponseWriter) (string, bool) {
	sw, ok := w.(*statusWriter)
	if !ok || sw.handler == nil {
		return "", false
	}
	return sw.pattern, true
}

// routed serves a request with the handler Server.observe looked up for
// it, as mux.ServeHTTP would, when its pattern has no wildcards (nothing
// for PathValue to answer); else, or without that lookup, through mux.
func routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, ok := w.(*statusWriter)
		if !ok || sw.handler == nil || sw.pattern == "" || strings.Contains(sw.pattern, "{") || r.RequestURI == "*" {
			mux.ServeHTTP(w, r)
			return
		}
		r.Pattern = sw.pattern
		sw.handler.ServeHTTP(w, r)
	})
}

// clientIP is the address of the peer (proxies' headers are not trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
