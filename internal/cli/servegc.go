package cli

import (
	"runtime/debug"
	"sync"
)

// serveHeapFloor is the heap size below which the server's garbage
// collector does not run (see collectAboveFloor).
const serveHeapFloor = 64 << 20

// collectAboveFloor keeps a long-running server's collector from running
// while its heap is small: after each collection it sets GOGC so that the
// next one starts when the heap reaches floor, or when it has grown by
// the usual GOGC over what is live, whichever is later. A busy server
// keeps ~6 MB live and allocates ~6.7 KB per feed download: with the
// runtime's default pacing (a collection each time the heap doubles) it
// collected ~10 times a second under download load, each time with one
// of two CPUs given to marking for 4-17 ms, the largest part of the feed
// gate's p99 (issue 16: GOGC=off measured p99 3.5-4.1 -> 2.2-2.7 ms).
// Unlike collectRarely (a command that ends) there is no memory limit: a
// large live heap (a big scan through the API) gets the usual pacing, and
// the floor returns when the heap is small again. GOGC or GOMEMLIMIT set
// in the environment leave the collector alone. The returned function
// puts the previous setting back.
//
// While GOGC is raised for the floor, a memory limit of twice the floor
// (floorBackstop) bounds the heap: the pacing is set by a cleanup after
// each collection, which re-arms itself for the next one, and a cleanup
// that runs late misses a cycle. At start-up the first collection's
// cleanup raised GOGC to 3,463 (1.9 MB live) while the admin password's
// Argon2 hash allocated 64 MiB and so started the second collection: the
// sentinel it re-armed was allocated during that collection's marking,
// survived it, and nothing re-paced the heap, now 65 MB live with a goal
// of 2.3 GB. It grew to 730-880 MB while the advisory index was built, in
// half of the server starts after an import.
func collectAboveFloor(floor int64) (stop func()) {
	if gcSetByUser() {
		return func() {}
	}
	base := gcPercentNow()
	if base < 0 {
		return func() {}
	}
	f := &gcFloor{floor: floor, base: base, limit: debug.SetMemoryLimit(-1)}
	afterEachGC(f.afterGC)
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.done = true
			debug.SetGCPercent(f.base)
			debug.SetMemoryLimit(f.limit)
		})
	}
}

// gcFloor is one server's floor.
type gcFloor struct {
	floor int64
	base  int   // the GOGC of the usual pacing
	limit int64 // the memory limit outside the floor (the runtime's)

	mu   sync.Mutex
	done bool
}

// afterGC sets the pacing for the next collection; it reports whether to
// do so again after that one (false once stopped).
func (f *gcFloor) afterGC() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return false
	}
	f.pace(liveHeap())
	return true
}

// pace sets GOGC for a heap with live bytes marked live: the usual
// pacing, or a larger GOGC so that the next goal is the floor. While a
// command in this process collects rarely (collectRarely; tests run
// commands side by side) or starts (holdStartup), it is left alone.
func (f *gcFloor) pace(live int64) {
	rarely.mu.Lock()
	defer rarely.mu.Unlock()
	if rarely.users > 0 || rarely.hold != nil {
		return
	}
	pct := floorPercent(f.floor, live, f.base)
	debug.SetGCPercent(pct)
	if pct > f.base {
		debug.SetMemoryLimit(min(f.limit, floorBackstop*f.floor))
	} else {
		debug.SetMemoryLimit(f.limit)
	}
}

// floorBackstop is the memory limit while GOGC is raised for the floor,
// in floors (see collectAboveFloor).
const floorBackstop = 2

// floorPercent is the GOGC that puts the next collection's goal
// (live * (1 + GOGC/100)) at floor, or base when that is already higher.
func floorPercent(floor, live int64, base int) int {
	if live <= 0 || live >= floor {
		return base
	}
	return max(base, int(floor*100/live)-100)
}
