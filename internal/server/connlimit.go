package server

import (
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// limitPerClient caps the connections one client address holds at once:
// a connection beyond the cap gets a 503 (written with a short deadline)
// and is closed, without reaching the HTTP server. max < 0: no cap.
func limitPerClient(l net.Listener, max int, log *slog.Logger) net.Listener {
	if max < 0 {
		return l
	}
	return &clientLimitListener{Listener: l, max: max, open: map[string]int{}, log: log}
}

type clientLimitListener struct {
	net.Listener
	max  int
	log  *slog.Logger
	mu   sync.Mutex
	open map[string]int
	// warned rate-limits the log line about refused connections.
	warned time.Time
}

// overCap is the answer to a connection beyond the cap.
const overCap = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 46\r\n\r\ntoo many connections from your address; retry\n"

func (l *clientLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := c.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		l.mu.Lock()
		if l.open[ip] >= l.max {
			now := time.Now()
			warn := now.Sub(l.warned) > time.Minute
			if warn {
				l.warned = now
			}
			l.mu.Unlock()
			if warn {
				l.log.Warn("connection refused: too many from one client", "remote", ip, "max", l.max)
			}
			go func() {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write([]byte(overCap))
				c.Close()
			}()
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() {
			l.mu.Lock()
			if l.open[ip]--; l.open[ip] <= 0 {
				delete(l.open, ip)
			}
			l.mu.Unlock()
		}}, nil
	}
}

// countedConn gives its slot back once, when it is closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// ReadFrom keeps the connection's own ReadFrom reachable, through which
// the HTTP server sends files (cached feed artifacts) with sendfile(2).
func (c *countedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
