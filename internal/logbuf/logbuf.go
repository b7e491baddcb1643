// Package logbuf buffers a busy server's log output: lines are appended to
// memory and written out by a goroutine of its own, every interval or as
// soon as size bytes are waiting, instead of one write(2) per line. A
// server logs every request; with one write per line, slog's handler held
// its lock through each system call, and requests logging at the same
// time queued behind it.
//
// Warnings and errors are written through at once (Handler), and Close
// writes out what is left; the lines of INFO and below from the last
// interval are lost if the process dies without closing. It leaves out
// rotation and any destination but one io.Writer.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer buffers writes to an io.Writer (see the package comment). Its
// methods are safe for concurrent use; writes come out in the order they
// were made.
type Writer struct {
	out  io.Writer
	size int

	mu     sync.Mutex // guards buf and closed
	buf    []byte
	closed bool

	flushMu sync.Mutex // held while a buffer is written out, so that buffers go out in order
	spare   []byte     // the buffer written out last, reused (under flushMu)

	stop chan struct{}
	done chan struct{}
}

// New returns a Writer writing to out every interval, or as soon as size
// bytes are buffered; a write that finds size bytes waiting writes them
// out itself, so memory stays bounded whatever the rate.
func New(out io.Writer, interval time.Duration, size int) *Writer {
	w := &Writer{out: out, size: size, buf: make([]byte, 0, size), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(interval)
	return w
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write buffers p (a copy). After Close it writes p through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.flushMu.Lock()
		defer w.flushMu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= w.size
	w.mu.Unlock()
	if full {
		w.Flush()
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	out := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	var err error
	if len(out) > 0 {
		_, err = w.out.Write(out)
	}
	if cap(out) <= 4*w.size { // a burst's oversized buffer is not kept
		w.spare = out[:0]
	} else {
		w.spare = nil
	}
	return err
}

// Close stops the background writes and writes out what is buffered;
// later writes go straight through.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return w.Flush()
}

// Handler wraps h, whose output goes to w, so that a record at
// slog.LevelWarn or above is written out at once with what came before it.
func Handler(h slog.Handler, w *Writer) slog.Handler { return flushing{h, w} }

type flushing struct {
	slog.Handler
	w *Writer
}

func (f flushing) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := f.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (f flushing) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushing{f.Handler.WithAttrs(attrs), f.w}
}

func (f flushing) WithGroup(name string) slog.Handler {
	return flushing{f.Handler.WithGroup(name), f.w}
}
