package cli

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"

	"github.com/vulngate/vulngate/internal/hugeheap"
)

// scanHeapBudget is how large the Go heap of a scan may grow before its
// first garbage collection, and scanSoftLimit the Go memory a large scan
// is held to afterwards (see collectRarely).
const (
	scanHeapBudget = 88 << 20
	scanSoftLimit  = 110 << 20
)

// A scan of at most scanSmallComponents components collects rarely under
// scanSmallBudget instead (see raiseBudget): it allocates ~80 MB in all
// (the 1,000 generated components of the bench harness: 79 MB) and keeps
// ~10 MB, and under 88 MiB it collected once, near its end: ~10 ms of
// CPU, and the collector's work beside the scan's, for memory the process
// gives back a moment later by exiting. Such a scan's RSS is then about
// what it allocates plus ~30 MiB (~120 MiB for 1,000 components), at
// most the budget plus that; larger scans keep scanHeapBudget, which
// bounds their memory before the soft limit takes over.
const (
	scanSmallComponents = 2000
	scanSmallBudget     = 112 << 20
)

// collectRarely makes the garbage collector wait until the heap reaches
// budget instead of running each time the heap doubles from the runtime's
// 4 MiB start. A scan allocates far more than it keeps (a 1,000-component
// scan allocated ~100 MB and kept ~30 MB when this was added; ~80 MB and
// ~10 MB now, see scanSmallBudget), and the default pacing ran a dozen
// collections, a sixth of the scan's CPU time. The budget is a
// memory limit with GOGC off; once a collection leaves more than half the
// budget live (a large scan), the usual pacing (the previous GOGC, no
// limit) resumes for good, so the limit never makes the collector run back
// to back. With softLimit > 0 the usual pacing resumes under that memory
// limit instead, until a collection leaves more than softLimitLive of it
// live: a 10,000-component scan keeps 65-85 MB live while it advises, and
// the usual pacing let its heap reach twice that (RSS ~210 MiB; under a
// 116 MiB limit ~145 MiB, for ~20% more CPU: ~17 collections instead of 8;
// 120 MiB: 146-150 MiB; 140 MiB: ~167 MiB for ~5%). The process's RSS is
// about the limit plus ~30 MiB (the binary's pages, SQLite's cache): 110
// MiB once the scan's records lost at parse what it never reads
// (match.ReportOnly), memory profiling is off (cmd/vulngate) and the
// records' lists are kept at their length (osv.Parse): 133-138 MiB at 2%
// less CPU than 116 MiB before those (112 MiB: 138-141 MiB).
// GOGC or GOMEMLIMIT set in the
// environment leave the collector alone. The returned function puts the
// previous settings back; calls may overlap (commands run concurrently in
// tests): the settings change with the first and are restored with the
// last.
func collectRarely(budget, softLimit int64) (restore func()) {
	return collectRarelyUpTo(budget, budget/2, softLimit)
}

// collectRarelyUpTo is collectRarely resuming the usual pacing only once a
// collection leaves more than keepLive live (collectRarely: half the
// budget).
func collectRarelyUpTo(budget, keepLive, softLimit int64) (restore func()) {
	if gcSetByUser() {
		return func() {}
	}
	rarely.mu.Lock()
	defer rarely.mu.Unlock()
	rarely.users++
	if rarely.users == 1 {
		rarely.state = &gcState{budget: budget, keepLive: keepLive, softLimit: softLimit}
		rarely.state.start()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			rarely.mu.Lock()
			defer rarely.mu.Unlock()
			if rarely.users--; rarely.users == 0 {
				rarely.state.resume()
				rarely.state = nil
			}
		})
	}
}

// raiseBudget raises the budget of the period of rare collections in
// progress to budget: not when no collection period is on (GOGC or
// GOMEMLIMIT set by the user), when commands of this process overlap
// (tests), once a collection has ended the period's floor (the usual
// pacing resumed), or when the budget is already as high.
func raiseBudget(budget int64) {
	rarely.mu.Lock()
	defer rarely.mu.Unlock()
	g := rarely.state
	if g == nil || rarely.users != 1 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done || g.limited || budget <= g.budget {
		return
	}
	g.budget = budget
	debug.SetMemoryLimit(budget)
}

// reserveHugeHeap has the next n bytes of the heap backed by huge pages
// (hugeheap.Reserve) in a period of rare collections that this command
// alone started: not when GOGC or GOMEMLIMIT are the user's, when
// commands of this process overlap (tests), or once the usual pacing
// resumed. n stays well under the period's budget, a memory limit the
// reserved stretch counts against until the collection frees it.
func reserveHugeHeap(n int) bool {
	rarely.mu.Lock()
	defer rarely.mu.Unlock()
	g := rarely.state
	if g == nil || rarely.users != 1 {
		return false
	}
	g.mu.Lock()
	ok := !g.done && !g.limited && int64(n) <= g.budget*7/8
	g.mu.Unlock()
	return ok && hugeheap.Reserve(n)
}

// gcSetByUser reports whether GOGC or GOMEMLIMIT is set in the
// environment: the user's settings are then left alone.
func gcSetByUser() bool { return os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" }

var rarely struct {
	mu    sync.Mutex
	users int
	state *gcState
	// hold is the start-up hold (holdStartup), when held.
	hold *startupHold
}

// startupHeapLimit bounds the Go memory of a command line being set up
// while holdStartup keeps the collector off (start-up needs ~3 MB).
const startupHeapLimit = 64 << 20

// startupHold is the collector's setting before holdStartup.
type startupHold struct {
	pct   int
	limit int64
}

// holdStartup keeps the garbage collector from running while the command
// line is set up: package initialisation leaves ~2.6 MB allocated, close
// to the runtime's first goal (4 MiB), and building the command tree and
// parsing the flags took the heap past it in a third to half of the
// scans and mirror runs, a collection (~1.3 ms of CPU, every P woken)
// just before the command's own setting (collectRarely) would have made
// it unnecessary. The hold ends with releaseStartup, or is taken over by
// the command's collectRarely, which keeps the collector off without a
// collection in between. A command of this process already collecting
// rarely (tests run commands side by side), or GOGC or GOMEMLIMIT in the
// environment, leave the collector alone.
func holdStartup() {
	if gcSetByUser() {
		return
	}
	rarely.mu.Lock()
	defer rarely.mu.Unlock()
	if rarely.users > 0 || rarely.hold != nil {
		return
	}
	h := &startupHold{pct: debug.SetGCPercent(-1)}
	h.limit = debug.SetMemoryLimit(startupHeapLimit)
	rarely.hold = h
}

// releaseStartup ends holdStartup's hold, if it has not been taken over:
// the collector's setting from before it is back.
func releaseStartup() {
	rarely.mu.Lock()
	defer rarely.mu.Unlock()
	if h := rarely.hold; h != nil {
		rarely.hold = nil
		debug.SetGCPercent(h.pct)
		debug.SetMemoryLimit(h.limit)
	}
}

// softLimitLive is the share of collectRarely's soft limit a collection
// may leave live before the limit is lifted: closer to it, the collector
// would run almost back to back.
const softLimitLive = 0.8

// gcState is one period of rare collections.
type gcState struct {
	budget, keepLive, softLimit int64

	mu       sync.Mutex
	done     bool // usual pacing resumed (or stopped)
	limited  bool // usual pacing under softLimit
	oldPct   int
	oldLimit int64
}

// start turns the pacing off under the budget (rarely.mu held); it takes
// over the start-up hold, whose setting is the one to put back.
func (g *gcState) start() {
	if h := rarely.hold; h != nil {
		rarely.hold = nil
		g.oldPct = h.pct
		debug.SetMemoryLimit(g.budget)
		g.oldLimit = h.limit
	} else {
		g.oldPct = debug.SetGCPercent(-1)
		g.oldLimit = debug.SetMemoryLimit(g.budget)
	}
	afterEachGC(g.afterGC)
}

// resume puts the usual pacing back (also when the last user stops).
func (g *gcState) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resumeLocked()
}

func (g *gcState) resumeLocked() {
	if !g.done {
		g.done = true
		debug.SetGCPercent(g.oldPct)
		debug.SetMemoryLimit(g.oldLimit)
	}
}

// afterGC follows the live heap a collection left: more than keepLive
// puts the usual pacing back, under the soft limit when there is
// one, and more than softLimitLive of that limit lifts it. It reports
// whether to look again after the next collection.
func (g *gcState) afterGC() bool {
	live := liveHeap()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.done:
		return false
	case g.limited:
		if float64(live) <= softLimitLive*float64(g.softLimit) {
			return true
		}
	case live <= g.keepLive:
		return true
	case g.softLimit > 0 && float64(live) <= softLimitLive*float64(g.softLimit):
		g.limited = true
		debug.SetGCPercent(g.oldPct)
		debug.SetMemoryLimit(g.softLimit)
		return true
	}
	g.resumeLocked()
	return false
}

// gcSentinel is collected by each garbage collection: its cleanup, run
// after the collection, calls afterEachGC's function and arms the next
// one. (32 bytes: the runtime's tiny allocator would batch a smaller
// object with others, delaying its collection.)
type gcSentinel struct{ _ [32]byte }

// afterEachGC calls next after each garbage collection (on the runtime's
// cleanup goroutine) until it returns false: the scan's and the server's
// GC settings follow the live heap this way.
func afterEachGC(next func() bool) {
	runtime.AddCleanup(new(gcSentinel), func(next func() bool) {
		if next() {
			afterEachGC(next)
		}
	}, next)
}

// gcPercentNow is the GOGC in effect (-1: off), read without setting it:
// reading it with debug.SetGCPercent sets it for a moment, and a collection's
// cleanup (arm) can change it in between, leaving the wrong value behind.
func gcPercentNow() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	return int(int64(s[0].Value.Uint64()))
}

// liveHeap is the heap the last collection marked live.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return math.MaxInt64 // unknown: resume the usual pacing
	}
	return int64(s[0].Value.Uint64())
}
