package jobs

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Live is the log of a run in progress. It implements io.Writer for a slog
// text handler: each write is one line.
type Live struct {
	ID  int64
	Job string

	mu     sync.Mutex
	lines  []string
	subs   map[chan string]struct{}
	done   chan struct{}
	status string
}

func newLive(id int64, job string) *Live {
	return &Live{ID: id, Job: job, subs: map[chan string]struct{}{}, done: make(chan struct{})}
}

const maxLiveLines = 100000

// Write appends log lines and sends them to subscribers.
func (l *Live) Write(p []byte) (int, error) {
	stamp := time.Now().UTC().Format("15:04:05")
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(p, []byte("?"))), "\n"), "\n") {
		line := stamp + " " + ln
		if len(l.lines) < maxLiveLines {
			l.lines = append(l.lines, line)
		}
		for ch := range l.subs {
			select {
			case ch <- line:
			default: // a slow subscriber misses lines rather than stalling the job
			}
		}
	}
	return len(p), nil
}

// Text returns the whole log.
func (l *Live) Text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return ""
	}
	return strings.Join(l.lines, "\n") + "\n"
}

// Subscribe returns the lines so far and a channel of the lines that
// follow; done is closed when the run ends. Call cancel when finished.
func (l *Live) Subscribe() (backlog []string, lines <-chan string, done <-chan struct{}, cancel func()) {
	ch := make(chan string, 1024)
	l.mu.Lock()
	backlog = append([]string(nil), l.lines...)
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return backlog, ch, l.done, func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.mu.Unlock()
	}
}

// Status returns the final status once done is closed.
func (l *Live) Status() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func (l *Live) finish(status string) {
	l.mu.Lock()
	l.status = status
	l.mu.Unlock()
	close(l.done)
}

// Len is the number of lines so far.
func (l *Live) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}
