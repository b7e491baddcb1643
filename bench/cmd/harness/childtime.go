package main

// What the measuring children (the raw limits) share: timing themselves as
// vulngate's "synced in" line does, and keeping the first error of their
// goroutines.

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vulngate/vulngate/internal/cputime"
)

// timeItself runs work, the whole of a child's job, and prints line, its
// own wall and CPU time and work's detail, as ownTime reads them ("<line>
// 12.3ms, 10.1ms CPU (<detail>)"); exit code 0. An error goes to stderr
// after what, exit code 1.
func timeItself(out io.Writer, what, line string, work func() (detail string, err error)) int {
	cpu0, _ := cputime.Process()
	start := time.Now()
	detail, err := work()
	wall := time.Since(start)
	cpu1, _ := cputime.Process()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		return 1
	}
	fmt.Fprintf(out, "%s%s, %s CPU (%s)\n", line, wall, cpu1-cpu0, detail)
	return 0
}

// firstError keeps the first error its goroutines set.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}
