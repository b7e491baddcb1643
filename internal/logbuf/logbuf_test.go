package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for concurrent use that counts the
// writes it receives.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines written by many goroutines all come out, each goroutine's in its
// order, in far fewer writes than lines; nothing waits past Close.
func TestWriterKeepsEveryLineInOrder(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Millisecond, 4096)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range lines {
		var g string
		var i int
		if _, err := fmt.Sscanf(l, "%s line %d", &g, &i); err != nil {
			t.Fatalf("mangled line %q: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("%s: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if len(lines) != 8000 {
		t.Fatalf("%d lines, want 8000", len(lines))
	}
	if out.writes >= 8000/10 {
		t.Errorf("%d writes for 8,000 lines: not buffered", out.writes)
	}
	// After Close, writes go straight through.
	fmt.Fprintln(w, "late")
	if !strings.HasSuffix(out.String(), "late\n") {
		t.Error("a write after Close was not written")
	}
}

// A buffered line goes out within the interval without any further write,
// and a full buffer is written out by the write that filled it.
func TestWriterFlushesOnTimeAndSize(t *testing.T) {
	var out syncBuffer
	w := New(&out, 20*time.Millisecond, 1<<20)
	defer w.Close()
	fmt.Fprintln(w, "quiet")
	for deadline := time.Now().Add(5 * time.Second); out.String() == ""; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was not written out within the interval")
		}
	}

	var big syncBuffer
	b := New(&big, time.Hour, 100)
	defer b.Close()
	fmt.Fprintln(b, strings.Repeat("x", 60))
	if big.String() != "" {
		t.Fatal("written before the buffer was full")
	}
	fmt.Fprintln(b, strings.Repeat("y", 60))
	if n := len(big.String()); n != 122 {
		t.Fatalf("after the buffer filled: %d bytes out, want 122", n)
	}
}

// Through Handler, an INFO record waits in the buffer and a WARN record
// goes out at once with it, in order; attributes and groups keep that.
func TestHandlerWritesWarningsThrough(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour, 1<<20)
	defer w.Close()
	log := slog.New(Handler(slog.NewJSONHandler(w, nil), w)).With("job", "x").WithGroup("g")
	log.Info("request", "status", 200)
	if out.String() != "" {
		t.Fatal("an INFO record was written through")
	}
	log.Warn("slow", "ms", 900)
	got := out.String()
	if i, j := strings.Index(got, `"msg":"request"`), strings.Index(got, `"msg":"slow"`); i < 0 || j < i {
		t.Fatalf("after a warning: %q", got)
	}
	if !strings.Contains(got, `"job":"x"`) || !strings.Contains(got, `"g":{"ms":900}`) {
		t.Fatalf("attributes or group lost: %q", got)
	}
}
