// Package runstats holds what the bench commands read to report a run:
// the CPU time of another process (from /proc/<pid>/stat), of a process
// with its children (a PostgreSQL server) and of a child that has exited
// (its rusage), the load average, and the median of repeated runs. It is
// for Linux, as the bench commands are; it times nothing itself and does
// not read the calling process's own CPU time (internal/cputime does).
package runstats

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of /proc's CPU times (USER_HZ on Linux).
const userHZ = 100

// statFields is /proc/<pid>/stat from its third field (the state) on; nil
// when it cannot be read.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold anything
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// ticks adds up fields from to to of a statFields answer, numbered as in
// proc(5) (14 is utime); fields it lacks count as 0.
func ticks(f []string, from, to int) (n int64) {
	for i := from; i <= to && i-3 < len(f); i++ {
		v, _ := strconv.ParseInt(f[i-3], 10, 64)
		n += v
	}
	return n
}

// CPU is the CPU time (user + system) process pid has used so far; 0 when
// pid is not positive or its stat cannot be read.
func CPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	f := statFields(pid)
	if len(f) < 13 {
		return 0
	}
	return time.Duration(ticks(f, 14, 15)) * time.Second / userHZ
}

// TreeCPU is the CPU time (user + system) of a process, of its children it
// has waited for, and of its live children; -1 when unknown: a PostgreSQL
// postmaster's total, backends that came and went included.
func TreeCPU(pid int) time.Duration {
	f := statFields(pid)
	if f == nil {
		return -1
	}
	total := ticks(f, 14, 17) // utime, stime, cutime, cstime
	if kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
		for _, k := range strings.Fields(string(kids)) {
			if c, err := strconv.Atoi(k); err == nil {
				total += ticks(statFields(c), 14, 15)
			}
		}
	}
	return time.Duration(total) * time.Second / userHZ
}

// Exited is the CPU time (user + system) and peak RSS (KiB on Linux) of a
// child that has exited; ok is false where the platform does not say.
func Exited(ps *os.ProcessState) (cpu time.Duration, maxRSSKiB int64, ok bool) {
	if ps == nil { // it did not start
		return 0, 0, false
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Maxrss), true
}

// LoadAvg is the first n figures of the load average (1, 5 and 15
// minutes), space-separated; "?" when it cannot be read. Other work on the
// machine inflates wall times (CPU times less).
func LoadAvg(n int) string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return strings.Join(f[:min(n, len(f))], " ")
}

// Median is the middle of xs once sorted (the upper one of an even
// count); the zero value for none.
func Median[T cmp.Ordered](xs []T) T {
	if len(xs) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// MedianFunc is Median with the order cmp.
func MedianFunc[T any](xs []T, cmp func(a, b T) int) T {
	if len(xs) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(xs)
	slices.SortFunc(s, cmp)
	return s[len(s)/2]
}

// Renice sets the nice value of every thread of process pid (Linux nice
// values are per thread; /proc/<pid>/task lists them) and returns how many
// it set. Raising a process's own user's nice value needs no privilege;
// lowering it again does, so the caller leaves it raised.
func Renice(pid, nice int) (int, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil {
			return n, fmt.Errorf("thread %d of process %d: %w", tid, pid, err)
		}
		n++
	}
	return n, nil
}
