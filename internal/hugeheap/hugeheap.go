// Package hugeheap backs the next stretch of a short-lived command's Go
// heap with transparent huge pages where the kernel gives them only on
// request.
//
// A process touching memory for the first time takes a page fault per 4
// KiB page. On a bare machine that is a fraction of a microsecond; on
// some virtual machines each fault leaves the guest, and issue 16's
// measurements found ~10 µs per page: a scan of 1,000 components, which
// allocates ~80 MB it never gives back before exiting, spent a third of
// its CPU time faulting. One fault per 2 MiB page costs little more than
// the zeroing (64 MiB touched: 167 ms in 4 KiB pages, 4-60 ms in huge
// pages on that machine).
//
// Linux gives anonymous memory huge pages on every fault when
// /sys/kernel/mm/transparent_hugepage/enabled is "always", never when it
// is "never", and, when it is "madvise" (the default of many
// distributions), only in ranges advised MADV_HUGEPAGE. The Go runtime
// does not advise its heap: it did during the Go 1.21 cycle and stopped
// (no marking at all since Go 1.21.4), because a fault in advised memory
// may stall while the kernel compacts memory to find a free huge page
// (golang/go#61718), and huge pages raised long-running processes'
// memory use (golang/go#64332). Reserve advises a stretch of heap up
// front, for a command that ends soon, and only where a first touch of a
// 4 KiB page is dear enough (dearTouch) that an occasional stall costs
// less than the faults it saves: on bare hardware a fault costs a
// fraction of a microsecond, and huge pages would save little there.
//
// Left out: long-running processes (the server does not call it); memory
// outside the Go heap (SQLite's page cache and buffers, allocated by
// modernc's libc); other operating systems, where Reserve does nothing.
package hugeheap

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Reserve grows the Go heap by n bytes now, advises the new stretch for
// huge pages, and starts a garbage collection in the background that
// returns it to the heap free, where the command's next allocations land.
// It does so only where Available, and reports whether it did. Call it once,
// early, from a command that will allocate at least tens of megabytes
// and exits when done, under a memory limit above n: the collection it
// starts costs a few milliseconds of CPU, a loss for a command that
// allocates little. The advice applies to the virtual range, so pages
// the runtime later returns to the kernel and faults in again keep it.
// The stretch is free once that collection ends (milliseconds: on the
// machine of issue 16's session 16, a collection of a near-empty heap
// took 1.3-7 ms); allocations before then take fresh memory elsewhere,
// so a caller with other work to do first (the scan opens its store)
// gives the collection that time.
func Reserve(n int) bool { return n > 0 && Available() && reserve(n) }

// reserve is Reserve wherever the advice can be given.
func reserve(n int) bool {
	b := make([]byte, n)
	if !advise(b) {
		return false
	}
	// Nothing keeps b: the collection frees its pages without touching
	// them (a large object's fresh memory is not zeroed), and the page
	// allocator, first fit by address, hands them out next.
	go runtime.GC()
	return true
}

// Available reports whether Reserve does anything here: the kernel's
// setting is "madvise", GODEBUG does not hold disablethp=1, and a first
// touch of memory is dear (dearTouch, measured once per process).
func Available() bool { return advisable() && touchIsDear() }

// advisable reports whether the kernel gives huge pages on request and
// the user has not turned them off.
func advisable() bool {
	return !thpDisabledByUser(os.Getenv("GODEBUG")) && mode(readSetting()) == "madvise"
}

// dearTouch is the cost of a first touch of a 4 KiB page above which
// Reserve pays: ~0.1-0.5 µs on bare hardware and in most virtual machines,
// ~10 µs on issue 16's session-16 machine (a PVM guest), where 64 MiB
// reserved took a third off a 1,000-component scan.
const dearTouch = 2 * time.Microsecond

// touchIsDear measures, once, what a first touch of a 4 KiB page costs
// (FirstTouch: 32 pages, ~0.4 ms where it is dear) and compares it with
// dearTouch.
var touchIsDear = sync.OnceValue(func() bool {
	d, err := FirstTouch(32, false)
	return err == nil && d > dearTouch
})

// pageBytes is the page size FirstTouch steps by.
const pageBytes = 4096

// settingFile is the kernel's transparent huge page setting.
const settingFile = "/sys/kernel/mm/transparent_hugepage/enabled"

func readSetting() string {
	b, err := os.ReadFile(settingFile)
	if err != nil {
		return ""
	}
	return string(b)
}

// mode is the word in brackets of a setting such as
// "always [madvise] never", or "" when there is none.
func mode(setting string) string {
	_, rest, ok := strings.Cut(setting, "[")
	if !ok {
		return ""
	}
	m, _, ok := strings.Cut(rest, "]")
	if !ok {
		return ""
	}
	return m
}

// thpDisabledByUser reports whether a GODEBUG value asks the runtime to
// keep huge pages off its heap (disablethp=1): Reserve then honours it.
func thpDisabledByUser(godebug string) bool {
	disabled := false
	for _, kv := range strings.Split(godebug, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "disablethp" {
			disabled = v == "1" // the last setting wins, as in the runtime
		}
	}
	return disabled
}
